"""`SqlConversationLog`: the durable, async conversation log on SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import and_, delete, event, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Row, make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import aliased

from bot.config import RedactionSettings
from bot.domain import NOT_LOOKED_UP, SYSTEM_OUTCOMES, Answer, Channel, Source, Turn
from bot.metrics import percentile
from bot.small_talk import asks_for_person, small_talk
from bot.store.base import (
    APPROVED_STATUSES,
    ApprovedAnswer,
    ApprovedStatus,
    ConversationRef,
    HandoffState,
    LoggedAnswer,
    MessageRef,
    PromptKind,
    Rating,
    RecentAnswer,
    ReplyPrompt,
    SchemaOutdatedError,
    Stats,
    StoreUnavailableError,
)
from bot.store.migrate import UPGRADE_HINT, create_sqlite_file
from bot.store.models import ApprovedAnswer as ApprovedRow
from bot.store.models import (
    Conversation,
    Correction,
    Feedback,
    Message,
    ProcessedDelivery,
    Retrieval,
    User,
    utcnow,
)
from bot.store.models import ReplyPrompt as ReplyPromptRow
from bot.store.redact import PLACEHOLDER, Redactor

log = logging.getLogger("bot.store")

CHANNELS: tuple[Channel, ...] = get_args(Channel)
HANDOFF_STATES = ("none", "requested", "active")
RATINGS = ("up", "down")

SQLITE_BUSY_TIMEOUT_MS = 5000
DELIVERY_ID_MAX = 128  # processed_deliveries.delivery_id
SOURCE_MAX = 500  # approved_answers.source
RECENT_ANSWERS = 10  # answers /stats lists by id
# How far back an operator's reply looks for the customer's question (past person requests, thanks, …).
CANDIDATE_LOOKBACK = 20
# Answers to messages that asked nothing to look up: an operator's reply is not filed under those.
NOT_QUESTIONS = frozenset({"small_talk", "person_asked", "empty"})


class SqlConversationLog:
    """Implements `bot.store.base.ConversationLog`. Every public method commits before returning.

    Database failures (refused connection, lock timeout, disk I/O) surface as `StoreUnavailableError`;
    the pool pings connections before use, so the log recovers by itself once the database is back.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 15.0,
        connect_timeout_s: float = 5.0,
        sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        redaction: RedactionSettings | None = None,
    ) -> None:
        """`redaction`: the deployment's rules (phone regions, extra patterns) for the personal data kept out
        of served answers and operators' candidates; the defaults when None."""
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ValueError(f"invalid database URL: {exc}") from None
        self._url = url
        self._timeout_s = timeout_s
        self._dialect = parsed.get_backend_name()
        if self._dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self._dialect!r}: use SQLite or PostgreSQL")
        connect_args: dict[str, Any] = {}
        if self._dialect == "sqlite":
            # aiosqlite's own lock wait; the busy_timeout pragma below covers the rest.
            connect_args["timeout"] = sqlite_busy_timeout_ms / 1000
        else:
            connect_args["timeout"] = connect_timeout_s
            connect_args["command_timeout"] = timeout_s
        self._engine: AsyncEngine = create_async_engine(
            url, pool_pre_ping=True, connect_args=connect_args, pool_timeout=timeout_s
        )
        # SQLite allows one writer; serialising our own writes here avoids busy-waiting inside SQLite.
        self._write_lock: asyncio.Lock | None = None
        if self._dialect == "sqlite":
            _install_sqlite_pragmas(self._engine, sqlite_busy_timeout_ms)
            self._write_lock = asyncio.Lock()
        self._write_engine = self._engine.execution_options(bot_write=True)
        self._redactor = Redactor(redaction)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._dialect

    @property
    def url(self) -> str:
        return self._url

    # ------------------------------------------------------------------ plumbing

    @contextlib.asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that commits on success; DB failures become StoreUnavailableError."""
        lock = self._write_lock if write and self._write_lock is not None else contextlib.nullcontext()
        engine = self._write_engine if write else self._engine
        failure: StoreUnavailableError | None = None
        try:
            async with asyncio.timeout(self._timeout_s), lock, engine.begin() as conn:
                yield conn
        except (IntegrityError, DataError):
            raise
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            failure = _unavailable(exc)
        if failure is not None:
            if self._dialect == "sqlite":
                # A failed aiosqlite connect leaves a worker thread that stops only when its connection
                # object is collected; collect now, inside the event loop, not after it has closed.
                gc.collect()
            # Raised outside the except block, so the caller's traceback does not keep the driver's
            # exception (and the half-open connection it references) alive.
            raise failure

    async def ping(self) -> None:
        async with self.transaction() as conn:
            await conn.execute(select(1))

    async def check_schema(self) -> None:
        """Raise `SchemaOutdatedError` unless the database is migrated to the code's head revision."""
        from alembic.runtime.migration import MigrationContext

        from bot.store.migrate import head_revisions

        async with self.transaction() as conn:
            current = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
        heads = head_revisions()
        if set(current) != set(heads):
            shown = ", ".join(current) if current else "empty (no tables)"
            raise SchemaOutdatedError(
                f"database schema is {shown} but this version needs {', '.join(heads)}; run `{UPGRADE_HINT}`"
            )

    async def close(self) -> None:
        await self._engine.dispose()

    # ------------------------------------------------------------------ writes

    async def claim_delivery(self, channel: Channel, delivery_id: str) -> bool:
        _check_channel(channel)
        if not delivery_id or len(delivery_id) > DELIVERY_ID_MAX:
            raise ValueError(f"a delivery id is 1 to {DELIVERY_ID_MAX} characters, got {len(delivery_id)}")
        try:
            async with self.transaction(write=True) as conn:
                await conn.execute(
                    insert(ProcessedDelivery).values(
                        channel=channel, delivery_id=delivery_id, processed_at=utcnow()
                    )
                )
        except IntegrityError:
            return False
        return True

    async def open_conversation(
        self, *, channel: Channel, external_user_id: str, external_chat_id: str, new: bool = False
    ) -> ConversationRef:
        _check_channel(channel)
        if not external_user_id or not external_chat_id:
            raise ValueError("a conversation needs a user id and a chat id")
        # A concurrent first message of the same user can win the insert race; the retry then finds it.
        for attempt in range(3):
            try:
                return await self._open_conversation(channel, external_user_id, external_chat_id, new)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _open_conversation(
        self, channel: Channel, external_user_id: str, external_chat_id: str, new: bool
    ) -> ConversationRef:
        now = utcnow()
        async with self.transaction(write=True) as conn:
            user_id = await conn.scalar(
                select(User.id).where(User.channel == channel, User.external_id == external_user_id)
            )
            if user_id is None:
                result = await conn.execute(
                    insert(User).values(
                        channel=channel,
                        external_id=external_user_id,
                        pseudonym=new_pseudonym(),
                        created_at=now,
                    )
                )
                user_id = _new_id(result)
            open_where = and_(
                Conversation.user_id == user_id,
                Conversation.external_chat_id == external_chat_id,
                Conversation.status == "open",
            )
            if new:
                await conn.execute(update(Conversation).where(open_where).values(status="closed"))
            else:
                row = (
                    await conn.execute(
                        select(Conversation.id, Conversation.handoff)
                        .where(open_where)
                        .order_by(Conversation.id.desc())
                        .limit(1)
                    )
                ).first()
                if row is not None:
                    return ConversationRef(row.id, user_id, channel, external_chat_id, row.handoff)
            result = await conn.execute(
                insert(Conversation).values(
                    user_id=user_id,
                    channel=channel,
                    external_chat_id=external_chat_id,
                    status="open",
                    handoff="none",
                    started_at=now,
                    last_message_at=now,
                )
            )
            conversation_id = _new_id(result)
        log.debug("conversation opened", extra={"conversation_id": conversation_id, "channel": channel})
        return ConversationRef(conversation_id, user_id, channel, external_chat_id, "none")

    async def _insert_message(self, conn: AsyncConnection, conversation_id: int, **values: Any) -> int:
        now = utcnow()
        bumped = await conn.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(last_message_at=now)
        )
        if bumped.rowcount == 0:
            raise ValueError(f"conversation {conversation_id} does not exist")
        result = await conn.execute(
            insert(Message).values(conversation_id=conversation_id, created_at=now, **values)
        )
        return _new_id(result)

    async def log_user_message(
        self, conversation_id: int, text: str, *, external_message_id: str = "", language: str = ""
    ) -> int:
        async with self.transaction(write=True) as conn:
            return await self._insert_message(
                conn,
                conversation_id,
                role="user",
                text=text,
                external_message_id=external_message_id or None,
                language=language or None,
            )

    async def last_language(self, conversation_id: int) -> str:
        async with self.transaction() as conn:
            found = await conn.scalar(
                select(Message.language)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.role == "user",
                    Message.language.is_not(None),
                )
                .order_by(Message.id.desc())
                .limit(1)
            )
        return str(found or "")

    async def user_language(self, channel: Channel, external_user_id: str) -> str:
        async with self.transaction() as conn:
            found = await conn.scalar(
                select(Message.language)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(User, User.id == Conversation.user_id)
                .where(
                    User.channel == channel,
                    User.external_id == external_user_id,
                    Message.role == "user",
                    Message.language.is_not(None),
                )
                .order_by(Message.id.desc())
                .limit(1)
            )
        return str(found or "")

    async def log_answer(self, conversation_id: int, reply_to: int, answer: Answer) -> int:
        try:
            return await self._log_answer(conversation_id, reply_to, answer)
        except IntegrityError as exc:  # the question it answers is not in the log
            raise ValueError(f"message {reply_to} does not exist") from exc

    async def _log_answer(self, conversation_id: int, reply_to: int, answer: Answer) -> int:
        timings = answer.timings
        async with self.transaction(write=True) as conn:
            message_id = await self._insert_message(
                conn,
                conversation_id,
                role="assistant",
                text=answer.text,
                reply_to_id=reply_to,
                question=answer.question or None,
                outcome=answer.outcome,
                grounded=answer.grounded,
                model_name=answer.model or None,
                model_version=answer.model_version or None,
                prompt_version=answer.prompt_version or None,
                citations=",".join(str(n) for n in answer.citations) or None,
                retrieval_ms=timings.retrieval_ms,
                condense_ms=timings.condense_ms,
                queue_ms=timings.queue_ms,
                ttft_ms=timings.ttft_ms,
                total_ms=timings.total_ms,
                approved_answer_id=answer.approved_id,
                see_also=answer.see_also,
            )
            if answer.hits:
                await conn.execute(
                    insert(Retrieval),
                    [
                        {
                            "message_id": message_id,
                            "rank": position,
                            "chunk_id": hit.chunk.id,
                            "source": hit.chunk.source,
                            "heading": hit.chunk.heading,
                            "url": hit.chunk.url,
                            "text": hit.chunk.text,
                            "score": float(hit.score),
                            "dense_score": hit.dense_score,
                            "title": Source.of(hit.chunk).title or None,
                        }
                        # The order given to the model, which is what the prompt rebuild needs.
                        for position, hit in enumerate(answer.hits, start=1)
                    ],
                )
        return message_id

    async def log_operator_message(self, conversation_id: int, text: str) -> int:
        async with self.transaction(write=True) as conn:
            return await self._insert_message(conn, conversation_id, role="operator", text=text)

    async def set_external_id(self, message_id: int, external_message_id: str) -> None:
        async with self.transaction(write=True) as conn:
            result = await conn.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(external_message_id=external_message_id)
            )
        if result.rowcount == 0:
            raise ValueError(f"message {message_id} does not exist")

    async def add_feedback(self, message_id: int, rating: Rating | None, comment: str | None = None) -> None:
        """Record a rating (the latest press wins) and/or a comment; None leaves that part unchanged."""
        if rating is not None and rating not in RATINGS:
            raise ValueError(f"rating must be 'up', 'down' or None, not {rating!r}")
        now = utcnow()
        # One statement, not a look then an insert: two first presses on one answer at once (two webhook
        # workers, a double tap, a rating and a comment) both saw no row under READ COMMITTED, and the
        # second insert broke unique(message_id) and was reported as a missing message, its rating or
        # comment lost. ON CONFLICT waits for the other insert and then updates the row it made.
        dialect_insert = postgresql_insert if self._dialect == "postgresql" else sqlite_insert
        stmt = dialect_insert(Feedback).values(
            message_id=message_id, rating=rating, comment=comment, created_at=now, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[Feedback.message_id],
            set_={
                # None leaves that part as it was.
                "rating": func.coalesce(stmt.excluded.rating, Feedback.rating),
                "comment": func.coalesce(stmt.excluded.comment, Feedback.comment),
                "updated_at": stmt.excluded.updated_at,
            },
        )
        try:
            async with self.transaction(write=True) as conn:
                await conn.execute(stmt)
        except IntegrityError as exc:  # the foreign key: no such message
            raise ValueError(f"message {message_id} does not exist") from exc

    async def add_correction(self, message_id: int, admin_external_id: str, text: str) -> None:
        if not text.strip():
            raise ValueError("a correction needs the corrected text")
        try:
            async with self.transaction(write=True) as conn:
                role = await conn.scalar(select(Message.role).where(Message.id == message_id))
                if role is None:
                    raise ValueError(f"message {message_id} does not exist")
                if role != "assistant":
                    raise ValueError(
                        f"message {message_id} is not a bot answer; only answers can be corrected"
                    )
                await conn.execute(
                    insert(Correction).values(
                        message_id=message_id,
                        admin_external_id=admin_external_id,
                        text=text,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError as exc:
            raise ValueError(f"message {message_id} does not exist") from exc

    async def add_reply_prompt(
        self, channel: Channel, external_chat_id: str, external_message_id: str, prompt: ReplyPrompt
    ) -> None:
        _check_channel(channel)
        try:
            async with self.transaction(write=True) as conn:
                # A channel reuses no message id in a chat; replacing keeps a retried send harmless.
                await conn.execute(
                    delete(ReplyPromptRow).where(
                        ReplyPromptRow.channel == channel,
                        ReplyPromptRow.external_chat_id == external_chat_id,
                        ReplyPromptRow.external_message_id == external_message_id,
                    )
                )
                await conn.execute(
                    insert(ReplyPromptRow).values(
                        channel=channel,
                        external_chat_id=external_chat_id,
                        external_message_id=external_message_id,
                        kind=prompt.kind,
                        message_id=prompt.answer_id,
                        external_user_id=prompt.external_user_id,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError as exc:
            raise ValueError(f"message {prompt.answer_id} does not exist") from exc

    async def take_reply_prompt(
        self, channel: Channel, external_chat_id: str, external_message_id: str, external_user_id: str
    ) -> ReplyPrompt | None:
        where = (
            ReplyPromptRow.channel == channel,
            ReplyPromptRow.external_chat_id == external_chat_id,
            ReplyPromptRow.external_message_id == external_message_id,
            ReplyPromptRow.external_user_id == external_user_id,
        )
        async with self.transaction(write=True) as conn:
            row = (
                await conn.execute(select(ReplyPromptRow.kind, ReplyPromptRow.message_id).where(*where))
            ).first()
            if row is None:
                return None
            taken = await conn.execute(delete(ReplyPromptRow).where(*where))
            if taken.rowcount == 0:
                # Another worker took it between our look and our delete (PostgreSQL's DELETE waits for
                # its commit, then finds nothing): the reply is theirs to apply, once.
                return None
        kind: PromptKind = "comment" if row.kind == "comment" else "correct"
        return ReplyPrompt(kind, int(row.message_id), external_user_id)

    async def set_handoff(
        self, conversation_id: int, state: HandoffState, *, expected: HandoffState | None = None
    ) -> bool:
        if state not in HANDOFF_STATES:
            raise ValueError(f"handoff state must be one of {', '.join(HANDOFF_STATES)}, not {state!r}")
        values: dict[str, Any] = {"handoff": state}
        if state == "requested":
            values["handoff_at"] = utcnow()
        stmt = update(Conversation).where(Conversation.id == conversation_id)
        if expected is not None:
            # One conditional UPDATE: of two writers that both read `expected`, the database lets one win.
            stmt = stmt.where(Conversation.handoff == expected)
        async with self.transaction(write=True) as conn:
            result = await conn.execute(stmt.values(**values))
        if result.rowcount == 0 and expected is None:
            raise ValueError(f"conversation {conversation_id} does not exist")
        return bool(result.rowcount)

    # ------------------------------------------------------------------ reads

    async def get_conversation(self, conversation_id: int) -> ConversationRef | None:
        async with self.transaction() as conn:
            row = (
                await conn.execute(
                    select(
                        Conversation.id,
                        Conversation.user_id,
                        Conversation.channel,
                        Conversation.external_chat_id,
                        Conversation.handoff,
                    ).where(Conversation.id == conversation_id)
                )
            ).first()
        if row is None:
            return None
        return ConversationRef(row.id, row.user_id, row.channel, row.external_chat_id, row.handoff)

    async def history(self, conversation_id: int, limit: int) -> list[Turn]:
        return await self._turns(conversation_id, limit, system_replies=False)

    async def transcript(self, conversation_id: int, limit: int) -> list[Turn]:
        return await self._turns(conversation_id, limit, system_replies=True)

    async def _turns(self, conversation_id: int, limit: int, *, system_replies: bool) -> list[Turn]:
        if limit <= 0:
            return []
        stmt = select(Message.role, Message.text).where(Message.conversation_id == conversation_id)
        if not system_replies:
            stmt = stmt.where(or_(Message.outcome.is_(None), Message.outcome.not_in(SYSTEM_OUTCOMES)))
        async with self.transaction() as conn:
            rows = (await conn.execute(stmt.order_by(Message.id.desc()).limit(limit))).all()
        # An operator keeps the role: the model sees it as the assistant, a transcript names the person.
        return [Turn(_turn_role(row.role), row.text) for row in reversed(rows)]

    async def find_message(
        self, channel: Channel, external_chat_id: str, external_message_id: str
    ) -> MessageRef | None:
        async with self.transaction() as conn:
            row = (
                await conn.execute(
                    select(Message.id, Message.conversation_id, User.external_id, Message.see_also)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .join(User, User.id == Conversation.user_id)
                    .where(
                        Message.external_message_id == external_message_id,
                        Conversation.channel == channel,
                        Conversation.external_chat_id == external_chat_id,
                    )
                    .order_by(Message.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        return MessageRef(int(row.id), int(row.conversation_id), str(row.external_id), row.see_also or ())

    async def known_external_user_ids(self) -> set[str]:
        """Every user id in the log (for redacting them from exported text)."""
        async with self.transaction() as conn:
            return {str(v) for v in (await conn.scalars(select(User.external_id))).all()}

    async def stats(self, now: datetime | None = None) -> Stats:
        now = now or utcnow()
        day, week = now - timedelta(days=1), now - timedelta(days=7)
        async with self.transaction() as conn:

            async def count(stmt: Any) -> int:
                return int(await conn.scalar(stmt) or 0)

            conversations_24h = await count(
                select(func.count()).select_from(Conversation).where(Conversation.started_at >= day)
            )
            conversations_7d = await count(
                select(func.count()).select_from(Conversation).where(Conversation.started_at >= week)
            )
            user_messages = select(func.count()).select_from(Message).where(Message.role == "user")
            messages_24h = await count(user_messages.where(Message.created_at >= day))
            messages_7d = await count(user_messages.where(Message.created_at >= week))
            answers = (
                select(func.count())
                .select_from(Message)
                .where(Message.role == "assistant", Message.created_at >= week, looked_up())
            )
            answers_7d = await count(answers)
            refusals_7d = await count(answers.where(Message.outcome == "refused"))
            approved_7d = await count(answers.where(Message.outcome == "approved"))
            rated = select(func.count()).select_from(Feedback).where(Feedback.updated_at >= week)
            thumbs_up_7d = await count(rated.where(Feedback.rating == "up"))
            thumbs_down_7d = await count(rated.where(Feedback.rating == "down"))
            handoffs_7d = await count(
                select(func.count()).select_from(Conversation).where(Conversation.handoff_at >= week)
            )
            latencies = [
                float(v)
                for v in (
                    await conn.scalars(
                        select(Message.total_ms).where(
                            Message.role == "assistant",
                            Message.created_at >= week,
                            Message.total_ms.is_not(None),
                            looked_up(),
                        )
                    )
                ).all()
                if v is not None
            ]
            by_language: Counter[str] = Counter()
            for code, n in await conn.execute(
                select(Message.language, func.count())
                .where(Message.role == "user", Message.created_at >= week)
                .group_by(Message.language)
            ):
                by_language[str(code or "und")] += int(n)
            question = Message.__table__.alias("question")
            recent = [
                RecentAnswer(
                    int(row.id),
                    str(row.outcome or ""),
                    str(row.question or ""),
                    row.created_at,
                    int(row.conversation_id),
                )
                for row in await conn.execute(
                    select(
                        Message.id,
                        Message.outcome,
                        Message.created_at,
                        Message.conversation_id,
                        question.c.text.label("question"),
                    )
                    .outerjoin(question, question.c.id == Message.reply_to_id)
                    # Answers an admin can correct: a greeting's reply or a handoff notice is no answer.
                    .where(Message.role == "assistant", looked_up())
                    .order_by(Message.id.desc())
                    .limit(RECENT_ANSWERS)
                )
            ]
        return Stats(
            conversations_24h=conversations_24h,
            conversations_7d=conversations_7d,
            messages_24h=messages_24h,
            messages_7d=messages_7d,
            answers_7d=answers_7d,
            thumbs_up_7d=thumbs_up_7d,
            thumbs_down_7d=thumbs_down_7d,
            refusals_7d=refusals_7d,
            handoffs_7d=handoffs_7d,
            latency_p50_ms=percentile(latencies, 50),
            latency_p95_ms=percentile(latencies, 95),
            languages_7d=_by_count(by_language.items()),
            approved_7d=approved_7d,
            recent_answers=tuple(recent),
        )

    # ------------------------------------------------------------------ approved answers

    async def _without_personal_data(self, text: str) -> str:
        """`text` with emails, phone, card and IBAN numbers, handles, user ids and the deployment's extra
        patterns replaced by placeholders (`<EMAIL>`, …). In a thread: the phone matcher is slow on long
        texts."""
        return (await asyncio.to_thread(self._redactor.redact, text)).text

    async def add_approved(
        self,
        *,
        question: str,
        text: str,
        approved_by: str,
        source: str | None = None,
        source_hash: str | None = None,
        status: ApprovedStatus = "active",
        corrects_answer_id: int | None = None,
        keep_personal_data: bool = False,
    ) -> ApprovedAnswer:
        question, text = _approved_text(question, "question"), _approved_text(text, "text")
        _check_approved(status, source)
        if status == "active" and not keep_personal_data:
            text = await self._without_personal_data(text)
        now = utcnow()
        try:
            async with self.transaction(write=True) as conn:
                if corrects_answer_id is not None:
                    await _check_answer(conn, corrects_answer_id)
                result = await conn.execute(
                    insert(ApprovedRow).values(
                        question=question,
                        text=text,
                        source=source,
                        source_hash=source_hash,
                        status=status,
                        approved_by=approved_by,
                        approved_at=now,
                        updated_at=now,
                        corrects_message_id=corrects_answer_id,
                    )
                )
                approved_id = _new_id(result)
        except IntegrityError as exc:
            raise ValueError(f"answer {corrects_answer_id} does not exist") from exc
        found = await self.get_approved(approved_id)
        if found is None:
            raise RuntimeError(f"approved answer {approved_id} vanished after it was stored")
        return found

    async def get_approved(self, approved_id: int) -> ApprovedAnswer | None:
        async with self.transaction() as conn:
            row = (await conn.execute(select(ApprovedRow).where(ApprovedRow.id == approved_id))).first()
        return None if row is None else _approved(row)

    async def list_approved(self, statuses: Collection[ApprovedStatus] = ()) -> list[ApprovedAnswer]:
        query = select(ApprovedRow).order_by(ApprovedRow.id)
        if statuses:
            query = query.where(ApprovedRow.status.in_(list(statuses)))
        async with self.transaction() as conn:
            rows = (await conn.execute(query)).all()
        return [_approved(row) for row in rows]

    async def update_approved(
        self,
        approved_id: int,
        *,
        question: str | None = None,
        text: str | None = None,
        source: str | None = None,
        clear_source: bool = False,
        source_hash: str | None = None,
        status: ApprovedStatus | None = None,
        approved_by: str | None = None,
        review_reason: str | None = None,
        keep_personal_data: bool = False,
    ) -> ApprovedAnswer:
        values: dict[str, Any] = {"updated_at": utcnow()}
        if question is not None:
            values["question"] = _approved_text(question, "question")
        if text is not None:
            values["text"] = _approved_text(text, "text")
        if not keep_personal_data and (text is not None or status == "active"):
            # A text starts being served: a new one, or a candidate's (an operator's reply) approved as it is.
            # One approved before keeps what it was approved with.
            current = await self.get_approved(approved_id)
            if (
                current is not None
                and (status or current.status) == "active"
                and (text is not None or current.status == "candidate")
            ):
                values["text"] = await self._without_personal_data(values.get("text", current.text))
        if clear_source:
            values["source"] = None
            values["source_hash"] = None
        elif source is not None:
            values["source"] = source
            values["source_hash"] = source_hash
        elif source_hash is not None:
            values["source_hash"] = source_hash
        if status is not None:
            values["status"] = status
            # A status other than needs_review has no open review.
            values["review_reason"] = review_reason if status == "needs_review" else None
        elif review_reason is not None:
            values["review_reason"] = review_reason
        if approved_by is not None:
            values["approved_by"] = approved_by
            values["approved_at"] = values["updated_at"]
        _check_approved(status or "active", values.get("source"))
        async with self.transaction(write=True) as conn:
            result = await conn.execute(
                update(ApprovedRow).where(ApprovedRow.id == approved_id).values(**values)
            )
        if result.rowcount == 0:
            raise LookupError(f"there is no approved answer {approved_id}")
        found = await self.get_approved(approved_id)
        if found is None:
            raise LookupError(f"there is no approved answer {approved_id}")
        return found

    async def approved_revision(self) -> str:
        async with self.transaction() as conn:
            row = (
                await conn.execute(
                    select(func.count(), func.max(ApprovedRow.updated_at), func.max(ApprovedRow.id))
                )
            ).first()
        if row is None:
            return "0"
        count, latest, top = row
        return f"{count}:{top}:{latest.isoformat() if isinstance(latest, datetime) else latest}"

    async def logged_answer(self, answer_id: int) -> LoggedAnswer | None:
        async with self.transaction() as conn:
            return await _logged_answer(conn, answer_id)

    async def add_candidate(self, conversation_id: int, text: str, operator: str) -> ApprovedAnswer | None:
        # An operator's reply is written to one customer ("Hi John, … sent to john@…"): kept redacted, so
        # approving it can never serve their details to everyone else.
        text = await self._without_personal_data(_approved_text(text, "text"))
        async with self.transaction(write=True) as conn:
            # Nothing at or before an earlier handoff's replies is what this handoff is about.
            after = await _earlier_handoff_end(conn, conversation_id)
            reply = aliased(Message)
            recent = await conn.execute(
                select(Message.id, Message.text, reply.outcome)
                .outerjoin(reply, and_(reply.reply_to_id == Message.id, reply.role == "assistant"))
                .where(
                    Message.conversation_id == conversation_id,
                    Message.role == "user",
                    Message.id > after,
                )
                .order_by(Message.id.desc())
                .limit(CANDIDATE_LOOKBACK)
            )
            question = _handoff_question(recent)
            if question is None:
                return None
            # The customer's words ("refund to my IBAN DE89 …"): an approved candidate's question is matched
            # against every later customer's and listed to admins, so it is kept redacted too.
            asked = await self._without_personal_data(question.text)
            answer_id = await conn.scalar(
                select(Message.id).where(Message.reply_to_id == question.id, Message.role == "assistant")
            )
            if answer_id is None:  # the question was forwarded: the operator answers the bot's last answer
                answer_id = await conn.scalar(
                    select(Message.id)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.role == "assistant",
                        Message.id > after,
                    )
                    .order_by(Message.id.desc())
                    .limit(1)
                )
            now = utcnow()
            # Several replies to the same question are one answer in pieces.
            same = (
                await conn.execute(
                    select(ApprovedRow.id, ApprovedRow.text)
                    .where(
                        ApprovedRow.status == "candidate",
                        ApprovedRow.question == asked,
                        ApprovedRow.approved_by == operator,
                        ApprovedRow.corrects_message_id.is_(None)
                        if answer_id is None
                        else ApprovedRow.corrects_message_id == answer_id,
                    )
                    .order_by(ApprovedRow.id.desc())
                    .limit(1)
                )
            ).first()
            if same is not None:
                candidate_id = int(same.id)
                await conn.execute(
                    update(ApprovedRow)
                    .where(ApprovedRow.id == candidate_id)
                    .values(text=f"{same.text}\n{text}", updated_at=now)
                )
            else:
                result = await conn.execute(
                    insert(ApprovedRow).values(
                        question=asked,
                        text=text,
                        status="candidate",
                        approved_by=operator,
                        approved_at=now,
                        updated_at=now,
                        corrects_message_id=answer_id,
                    )
                )
                candidate_id = _new_id(result)
        return await self.get_approved(candidate_id)

    # ------------------------------------------------------------------ retention

    async def count_older_than(self, cutoff: datetime) -> tuple[int, int]:
        """(conversations, messages) whose last activity is before `cutoff`."""
        old = select(Conversation.id).where(Conversation.last_message_at < cutoff)
        async with self.transaction() as conn:
            conversations = int(await conn.scalar(select(func.count()).select_from(old.subquery())) or 0)
            messages = await _count_messages(conn, old)
        return conversations, messages

    async def delete_older_than(self, cutoff: datetime) -> tuple[int, int]:
        """Delete conversations idle since before `cutoff` (with everything hanging off them), users left
        with no conversation, and delivery claims older than `cutoff`.

        Returns (conversations, messages) deleted."""
        old = select(Conversation.id).where(Conversation.last_message_at < cutoff)
        async with self.transaction(write=True) as conn:
            messages = await _count_messages(conn, old)
            conversations = await _delete_conversations(conn, old)
            await conn.execute(
                delete(User).where(~select(Conversation.id).where(Conversation.user_id == User.id).exists())
            )
            await conn.execute(delete(ProcessedDelivery).where(ProcessedDelivery.processed_at < cutoff))
            await conn.execute(delete(ReplyPromptRow).where(ReplyPromptRow.created_at < cutoff))
        return conversations, messages

    async def forget_user(self, external_user_id: str, scrub: Callable[[str], str]) -> tuple[int, int, int]:
        """Remove one person's data on every channel; returns (users, conversations, messages) deleted.

        Corrections they wrote and answers they approved as an admin stay (they are the bot's training
        data and served answers), but lose their name, bare or as CHANNEL:ID. Approved answers (and
        operators' candidates) built on one of their questions outlive them too, as admins' work, with
        the question's text passed through `scrub` (the PII redactor). A candidate's or a linked answer's
        text (an operator's reply to them, a correction of an answer to them) loses only their data: what
        `scrub` finds in their messages and in operators' replies to them, and user ids; a public contact
        an admin approved (the support address) stays.
        """
        names = [external_user_id, *(f"{channel}:{external_user_id}" for channel in CHANNELS)]
        async with self.transaction(write=True) as conn:
            user_ids = select(User.id).where(User.external_id == external_user_id)
            users = int(await conn.scalar(select(func.count()).select_from(user_ids.subquery())) or 0)
            theirs = select(Conversation.id).where(Conversation.user_id.in_(user_ids))
            await _scrub_approved(conn, theirs, scrub)
            messages = await _count_messages(conn, theirs)
            conversations = await _delete_conversations(conn, theirs)
            await conn.execute(delete(User).where(User.external_id == external_user_id))
            await conn.execute(
                update(Correction)
                .where(Correction.admin_external_id.in_(names))
                .values(admin_external_id="forgotten")
            )
            await conn.execute(
                update(ApprovedRow).where(ApprovedRow.approved_by.in_(names)).values(approved_by="forgotten")
            )
        return users, conversations, messages


async def _scrub_approved(conn: AsyncConnection, conversation_ids: Any, scrub: Callable[[str], str]) -> None:
    """Approved answers and candidates built on these conversations' questions (linked to one of their
    answers, or asking one of their questions word for word): the question (their words) scrubbed. The
    text is scrubbed only where it can hold this person's data, in a candidate or in one linked to their
    conversation (an operator's reply to them, a correction of an answer to them), and then loses only what
    is theirs (`_their_data_removed`): an admin-approved public contact, such as the support address in an
    answer to the same question, stays served."""
    their_messages = select(Message.id).where(Message.conversation_id.in_(conversation_ids))
    their_questions = select(Message.text).where(
        Message.conversation_id.in_(conversation_ids), Message.role == "user"
    )
    rows = (
        await conn.execute(
            select(
                ApprovedRow.id,
                ApprovedRow.question,
                ApprovedRow.text,
                ApprovedRow.status,
                ApprovedRow.corrects_message_id.in_(their_messages).label("linked"),
            ).where(
                or_(
                    ApprovedRow.corrects_message_id.in_(their_messages),
                    ApprovedRow.question.in_(their_questions),
                )
            )
        )
    ).all()
    texts = {int(row.id): row.text for row in rows if row.status == "candidate" or row.linked}
    said: list[str] = []
    if texts:
        # What they wrote and what operators wrote to them: the values of theirs an answer's text may hold.
        said = list(
            (
                await conn.execute(
                    select(Message.text).where(
                        Message.conversation_id.in_(conversation_ids), Message.role.in_(("user", "operator"))
                    )
                )
            ).scalars()
        )
    # In a thread: the phone matcher is slow on long texts, and a person may have written many.
    scrubbed = await asyncio.to_thread(_their_data_removed, texts, said, scrub)
    for row in rows:
        values: dict[str, Any] = {"question": scrub(row.question) or "(forgotten)", "updated_at": utcnow()}
        if int(row.id) in scrubbed:
            values["text"] = scrubbed[int(row.id)] or "(forgotten)"
        # updated_at moves the approved-answers revision: every worker's matcher drops the old question.
        await conn.execute(update(ApprovedRow).where(ApprovedRow.id == row.id).values(**values))


def _redacted_spans(
    text: str, redacted: str, scrub: Callable[[str], str]
) -> list[tuple[str, int, int]] | None:
    """(placeholder, start, end) in `text` of each value `scrub` replaced, `redacted` being its output for
    `text`; None when the two do not line up.

    The redactor only substitutes, so the text between placeholders is the same in both; where a value
    ends is not (a phone number holds spaces, "<PHONE> <PHONE>"): it is the first end at which the value is
    one whole item by itself, as `scrub` sees it."""
    pieces = PLACEHOLDER.split(redacted)  # literal, kind, literal, kind, …, literal
    literals, kinds = pieces[::2], pieces[1::2]
    if not text.startswith(literals[0]):
        return None
    spans: list[tuple[str, int, int]] = []
    pos = len(literals[0])
    for index, kind in enumerate(kinds):
        after, last = literals[index + 1], index == len(kinds) - 1
        # The text's own placeholder ("<EMAIL>" redacted before) is kept as it is: no value.
        kept = pos + len(kind) + 2
        if (
            text.startswith(f"<{kind}>", pos)
            and text.startswith(after, kept)
            and not (last and kept + len(after) != len(text))
        ):
            pos = kept + len(after)
            continue
        ends = [len(text) - len(after)] if last else range(pos + 1, len(text) - len(after) + 1)
        end = next(
            (
                end
                for end in ends
                if end > pos and text.startswith(after, end) and _one_item(kind, text, pos, end, scrub)
            ),
            None,
        )
        if end is None:
            return None
        spans.append((kind, pos, end))
        pos = end + len(after)
    return spans if pos == len(text) else None


def _one_item(kind: str, text: str, start: int, end: int, scrub: Callable[[str], str]) -> bool:
    """Whether text[start:end] is one whole value of this kind. A user id is one by its context ("user id:
    …"), not by itself: a whole run of digits. So is a value redacted only after its label ("P.IVA
    00743110157"): one after the text before it."""
    if kind == "USER_ID":
        return text[start:end].isdigit() and not text[end : end + 1].isdigit()
    if scrub(text[start:end]) == f"<{kind}>":
        return True
    return scrub(text[:end]) == scrub(text[:start]) + f"<{kind}>"


def _value_key(kind: str, value: str) -> str:
    """A value as compared with another: "John@Example.com" is "john@example.com", "+49 30 1234567" is
    "49301234567" (and matches "030 1234567", see `_same_value`)."""
    if kind in ("EMAIL", "HANDLE"):
        return value.casefold()
    if kind == "CUSTOM":
        return value.strip()
    return "".join(char for char in value if char.isalnum()).upper().lstrip("0")


def _same_value(key: str, known: str) -> bool:
    """Equal, or the same number with and without its country code."""
    if key == known:
        return True
    short, long = sorted((key, known), key=len)
    return short.isdigit() and long.isdigit() and len(short) >= 7 and long.endswith(short)


def _their_data_removed(
    texts: dict[int, str], said: list[str], scrub: Callable[[str], str]
) -> dict[int, str]:
    """Each text with the personal data of the person who wrote or was sent `said` replaced by placeholders:
    the values `scrub` finds in `said`, and user ids. Other values (the support address) stay."""
    theirs: set[str] = set()
    for message in said:
        for kind, start, end in _redacted_spans(message, scrub(message), scrub) or ():
            theirs.add(_value_key(kind, message[start:end]))
    theirs.discard("")
    out: dict[int, str] = {}
    for approved_id, text in texts.items():
        redacted = scrub(text)
        spans = _redacted_spans(text, redacted, scrub)
        if spans is None:  # its values cannot be told apart: all go, as some may be theirs
            out[approved_id] = redacted
            continue
        kept: list[str] = []
        last = 0
        for kind, start, end in spans:
            key = _value_key(kind, text[start:end])
            # A user id is nobody's public contact.
            if kind == "USER_ID" or any(_same_value(key, known) for known in theirs):
                kept.append(f"{text[last:start]}<{kind}>")
                last = end
        out[approved_id] = "".join(kept) + text[last:]
    return out


async def _count_messages(conn: AsyncConnection, conversation_ids: Any) -> int:
    query = select(func.count()).select_from(Message).where(Message.conversation_id.in_(conversation_ids))
    return int(await conn.scalar(query) or 0)


async def _delete_conversations(conn: AsyncConnection, conversation_ids: Any) -> int:
    """Delete child rows explicitly: SQLite only cascades with foreign_keys on, and other tools' connections
    (sqlite3 shell, old clients) may not turn it on."""
    message_ids = select(Message.id).where(Message.conversation_id.in_(conversation_ids))
    for table in (Retrieval, Feedback, Correction, ReplyPromptRow):
        await conn.execute(delete(table).where(table.message_id.in_(message_ids)))
    # Approved answers outlive the answers they corrected: only the link goes.
    await conn.execute(
        update(ApprovedRow)
        .where(ApprovedRow.corrects_message_id.in_(message_ids))
        .values(corrects_message_id=None)
    )
    # Self-references first, so no row points at a message being removed.
    await conn.execute(update(Message).where(Message.reply_to_id.in_(message_ids)).values(reply_to_id=None))
    await conn.execute(delete(Message).where(Message.conversation_id.in_(conversation_ids)))
    result = await conn.execute(delete(Conversation).where(Conversation.id.in_(conversation_ids)))
    return int(result.rowcount)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise RuntimeError("the database returned no id for an inserted row")
    return int(key[0])


def new_pseudonym() -> str:
    """A random, stable handle for exports: not derived from the real id, so it cannot be reversed."""
    return "user-" + secrets.token_hex(6)


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")


def _unavailable(exc: BaseException) -> StoreUnavailableError:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = reason[0][:200] if reason else type(exc).__name__
    lowered = detail.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        detail += f" (the schema is missing; run `{UPGRADE_HINT}`)"
    log.warning("database unavailable", extra={"error": type(exc).__name__, "detail": detail})
    return StoreUnavailableError(f"database unavailable: {detail}")


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """WAL, enforced foreign keys and a busy timeout on every new connection, and BEGIN IMMEDIATE for
    writes (a deferred transaction that later needs the write lock can fail at once in WAL mode). A
    database file the first connection would create is created readable by its owner alone."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _on_do_connect(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if cargs and isinstance(cargs[0], str) and not cparams.get("uri"):
            create_sqlite_file(cargs[0])

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver, so the `begin` hook below decides how to begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # FULL: a committed answer survives power loss too, not only a process crash.
            cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("bot_write") else "BEGIN")


def _approved_text(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"an approved answer needs a non-empty {what}")
    return value


def _check_approved(status: str, source: str | None) -> None:
    if status not in APPROVED_STATUSES:
        raise ValueError(f"status must be one of {', '.join(APPROVED_STATUSES)}, not {status!r}")
    if source is not None and not 0 < len(source) <= SOURCE_MAX:
        raise ValueError(f"a source path is 1 to {SOURCE_MAX} characters")


def _approved(row: Any) -> ApprovedAnswer:
    return ApprovedAnswer(
        id=int(row.id),
        question=row.question,
        text=row.text,
        source=row.source,
        source_hash=row.source_hash,
        status=row.status,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        updated_at=row.updated_at,
        corrects_answer_id=row.corrects_message_id,
        review_reason=row.review_reason or "",
    )


def looked_up() -> Any:
    """The bot's messages that answered by looking something up (`NOT_LOOKED_UP` aside; a message logged
    without an outcome counts, as before)."""
    return or_(Message.outcome.is_(None), Message.outcome.not_in(NOT_LOOKED_UP))


async def _check_answer(conn: AsyncConnection, answer_id: int) -> None:
    role = await conn.scalar(select(Message.role).where(Message.id == answer_id))
    if role is None:
        raise ValueError(f"there is no answer {answer_id} in the log")
    if role != "assistant":
        raise ValueError(f"message {answer_id} is not a bot answer")


async def _earlier_handoff_end(conn: AsyncConnection, conversation_id: int) -> int:
    """The id of the conversation's last operator reply written before its current handoff was requested
    (`handoff_at`): that reply belongs to an earlier handoff, and so does everything before it. 0 when
    there is none."""
    handoff_at = await conn.scalar(select(Conversation.handoff_at).where(Conversation.id == conversation_id))
    if handoff_at is None:
        return 0
    found = await conn.scalar(
        select(func.max(Message.id)).where(
            Message.conversation_id == conversation_id,
            Message.role == "operator",
            Message.created_at < handoff_at,
        )
    )
    return int(found or 0)


def _handoff_question(recent: Iterable[Row[int, str, str | None]]) -> Row[int, str, str | None] | None:
    """The question a handoff is about, from the customer's messages since any earlier handoff (newest
    first, each with its answer's outcome): the latest that asks something, looking past requests for a
    person, commands and what they said to the operators meanwhile; None when there is none.

    Small talk the bot answered ("thanks", "ok", "bye", "hi") ends the look: the customer had moved on from
    the question before it, so a person asked for afterwards is not about that one. (During a handoff
    the bot answers nothing: "thanks" said to the operators has no answer and is looked past.)"""
    for row in recent:
        if row.outcome == "small_talk":
            return None
        if _asks_something(row.text, row.outcome):
            return row
    return None


def _asks_something(text: str, outcome: str | None) -> bool:
    """Whether a customer's message is a question an operator's reply can answer for everyone: not a request
    for a person, small talk or a command. "I want to talk to a person" sent after a refused question is
    what the operator then answers: filed under it, the reply would be an approved answer to that request."""
    text = text.strip()
    if outcome in NOT_QUESTIONS or text.startswith("/"):
        return False
    return small_talk(text) is None and not asks_for_person(text)


async def _logged_answer(conn: AsyncConnection, answer_id: int) -> LoggedAnswer | None:
    row = (
        await conn.execute(
            select(
                Message.id,
                Message.conversation_id,
                Message.text,
                Message.outcome,
                Message.reply_to_id,
                Message.approved_answer_id,
                Message.question,
            ).where(Message.id == answer_id, Message.role == "assistant")
        )
    ).first()
    if row is None:
        return None
    question = ""
    if row.reply_to_id is not None:
        question = str(await conn.scalar(select(Message.text).where(Message.id == row.reply_to_id)) or "")
    sources = (
        await conn.scalars(
            select(Retrieval.source).where(Retrieval.message_id == answer_id).order_by(Retrieval.rank)
        )
    ).all()
    return LoggedAnswer(
        id=int(row.id),
        conversation_id=int(row.conversation_id),
        question=question,
        text=row.text,
        outcome=str(row.outcome or ""),
        sources=tuple(dict.fromkeys(str(s) for s in sources)),
        approved_id=row.approved_answer_id,
        searched=str(row.question or ""),
    )


__all__ = ["CHANNELS", "SqlConversationLog", "new_pseudonym"]


def _by_count(counts: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """Language counts, most first (ties by code), so /stats reads the same on every database."""
    return tuple(sorted(counts, key=lambda item: (-item[1], item[0])))


def _turn_role(role: str) -> Literal["user", "assistant", "operator"]:
    """A logged message's role as a history turn (a system notice counts as the bot's)."""
    if role == "user":
        return "user"
    return "operator" if role == "operator" else "assistant"
