"""`SqlInsights`: the admin console's read-only queries over the SQLAlchemy conversation log."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from bot.ids import parse_id
from bot.metrics import percentile
from bot.store.insights import (
    ConversationSummary,
    DayFigures,
    GapQuestion,
    RetrievedPassage,
    TranscriptMessage,
)
from bot.store.models import Conversation, Correction, Feedback, Message, Retrieval, utcnow
from bot.store.repo import SqlConversationLog, looked_up

MAX_DAYS = 366
MAX_ROWS = 500


def _like(query: str) -> str:
    """A LIKE pattern matching `query` literally (its % and _ escaped with backslash)."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlInsights:
    """Implements `bot.store.insights.LogInsights` on the log's own engine, timeouts and error mapping."""

    def __init__(self, log: SqlConversationLog) -> None:
        self._log = log

    async def daily(self, days: int, now: datetime | None = None) -> list[DayFigures]:
        days = max(1, min(days, MAX_DAYS))
        now = utcnow() if now is None else now
        first = (now - timedelta(days=days - 1)).date()
        since = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
        answers: dict[date, list[Any]] = defaultdict(list)
        async with self._log.transaction() as conn:
            # Grouped in Python: day truncation differs between SQLite and PostgreSQL, and the console asks
            # for weeks of answers, not millions.
            for row in await conn.execute(
                select(Message.created_at, Message.outcome, Message.total_ms).where(
                    Message.role == "assistant", Message.created_at >= since, looked_up()
                )
            ):
                answers[row.created_at.date()].append(row)
            ratings = (
                await conn.execute(
                    select(Feedback.updated_at, Feedback.rating).where(
                        Feedback.updated_at >= since, Feedback.rating.is_not(None)
                    )
                )
            ).all()
            handoffs = (
                await conn.scalars(select(Conversation.handoff_at).where(Conversation.handoff_at >= since))
            ).all()
        up: dict[date, int] = defaultdict(int)
        down: dict[date, int] = defaultdict(int)
        for at, rating in ratings:
            (up if rating == "up" else down)[at.date()] += 1
        handed: dict[date, int] = defaultdict(int)
        for handed_at in handoffs:
            if handed_at is not None:
                handed[handed_at.date()] += 1
        out = []
        for n in range(days):
            day = first + timedelta(days=n)
            rows = answers.get(day, [])
            latencies = [float(r.total_ms) for r in rows if r.total_ms is not None]
            out.append(
                DayFigures(
                    day=day,
                    answers=len(rows),
                    refusals=sum(1 for r in rows if r.outcome == "refused"),
                    handoffs=handed[day],
                    thumbs_up=up[day],
                    thumbs_down=down[day],
                    latency_p50_ms=percentile(latencies, 50),
                )
            )
        return out

    async def gap_questions(self, days: int, limit: int) -> list[GapQuestion]:
        since = utcnow() - timedelta(days=max(1, min(days, MAX_DAYS)))
        question = Message.__table__.alias("question")
        async with self._log.transaction() as conn:
            rows = (
                await conn.execute(
                    select(
                        Message.id,
                        Message.conversation_id,
                        Message.outcome,
                        Message.created_at,
                        question.c.text.label("question"),
                        question.c.language.label("language"),
                        Feedback.rating,
                        Feedback.comment,
                    )
                    .join(question, question.c.id == Message.reply_to_id)
                    .outerjoin(Feedback, Feedback.message_id == Message.id)
                    .where(
                        Message.role == "assistant",
                        Message.created_at >= since,
                        or_(Message.outcome == "refused", Feedback.rating == "down"),
                    )
                    .order_by(Message.id.desc())
                    .limit(max(1, min(limit, MAX_ROWS)))
                )
            ).all()
            ids = [row.id for row in rows]
            best: dict[int, tuple[str, str]] = {}
            if ids:
                for hit in await conn.execute(
                    select(Retrieval.message_id, Retrieval.source, Retrieval.heading).where(
                        Retrieval.message_id.in_(ids), Retrieval.rank == 1
                    )
                ):
                    best[hit.message_id] = (hit.source, hit.heading)
        return [
            GapQuestion(
                answer_id=row.id,
                conversation_id=row.conversation_id,
                question=row.question,
                outcome=row.outcome or "",
                rating=row.rating,
                comment=row.comment,
                source=best.get(row.id, ("", ""))[0],
                heading=best.get(row.id, ("", ""))[1],
                asked_at=row.created_at,
                language=row.language or "und",
            )
            for row in rows
        ]

    async def conversations(
        self, query: str = "", *, limit: int = 50, offset: int = 0
    ) -> list[ConversationSummary]:
        counts = (
            select(Message.conversation_id, func.count().label("n"), func.min(Message.id).label("first"))
            .group_by(Message.conversation_id)
            .subquery()
        )
        stmt = (
            select(
                Conversation.id,
                Conversation.channel,
                Conversation.started_at,
                Conversation.last_message_at,
                Conversation.handoff,
                counts.c.n,
                counts.c.first,
            )
            .join(counts, counts.c.conversation_id == Conversation.id)
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(max(1, min(limit, MAX_ROWS)))
            .offset(max(0, offset))
        )
        query = query.strip()
        if query:
            matching = select(Message.conversation_id).where(Message.text.ilike(_like(query), escape="\\"))
            # "12" is also a conversation number; "²", or a number past the largest id, only text.
            number = parse_id(query)
            if number is not None:
                stmt = stmt.where(or_(Conversation.id == number, Conversation.id.in_(matching)))
            else:
                stmt = stmt.where(Conversation.id.in_(matching))
        async with self._log.transaction() as conn:
            rows = (await conn.execute(stmt)).all()
            firsts = {
                row.id: row.text
                for row in await conn.execute(
                    select(Message.id, Message.text).where(Message.id.in_([r.first for r in rows]))
                )
            }
        return [
            ConversationSummary(
                id=row.id,
                channel=row.channel,
                started_at=row.started_at,
                last_message_at=row.last_message_at,
                handoff=row.handoff,
                messages=int(row.n),
                first_question=firsts.get(row.first, ""),
            )
            for row in rows
        ]

    async def transcript(self, conversation_id: int, *, after_id: int = 0) -> list[TranscriptMessage]:
        async with self._log.transaction() as conn:
            rows = (
                await conn.execute(
                    select(
                        Message.id,
                        Message.role,
                        Message.text,
                        Message.created_at,
                        Message.outcome,
                        Message.model_name,
                        Message.model_version,
                        Message.prompt_version,
                        Message.total_ms,
                        Message.citations,
                        Message.see_also,
                        Feedback.rating,
                        Feedback.comment,
                    )
                    .outerjoin(Feedback, Feedback.message_id == Message.id)
                    .where(Message.conversation_id == conversation_id, Message.id > after_id)
                    .order_by(Message.id)
                    .limit(MAX_ROWS)
                )
            ).all()
            answer_ids = [row.id for row in rows if row.role == "assistant"]
            passages: dict[int, list[RetrievedPassage]] = defaultdict(list)
            corrections: dict[int, str] = {}
            if answer_ids:
                for hit in await conn.execute(
                    select(Retrieval)
                    .where(Retrieval.message_id.in_(answer_ids))
                    .order_by(Retrieval.message_id, Retrieval.rank)
                ):
                    passages[hit.message_id].append(
                        RetrievedPassage(
                            hit.rank, hit.source, hit.heading, hit.url, hit.text, hit.score, hit.title or ""
                        )
                    )
                # The latest correction wins, as in the export.
                for fix in await conn.execute(
                    select(Correction.message_id, Correction.text)
                    .where(Correction.message_id.in_(answer_ids))
                    .order_by(Correction.id)
                ):
                    corrections[fix.message_id] = fix.text
        return [
            TranscriptMessage(
                id=row.id,
                role=row.role,
                text=row.text,
                created_at=row.created_at,
                outcome=row.outcome,
                model_name=row.model_name,
                model_version=row.model_version,
                prompt_version=row.prompt_version,
                total_ms=row.total_ms,
                rating=row.rating,
                comment=row.comment,
                correction=corrections.get(row.id),
                citations=tuple(int(n) for n in (row.citations or "").split(",") if n.strip().isdigit()),
                passages=tuple(passages.get(row.id, ())),
                see_also=row.see_also or (),
            )
            for row in rows
        ]
