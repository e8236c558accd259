"""Two webhook workers writing about one answer at once, on PostgreSQL (READ COMMITTED): nothing is lost,
and nothing is done twice. SQLite takes one writer at a time: the log contract's sequential cases cover it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import migrate
from bot.store.base import ReplyPrompt
from bot.store.models import Feedback, utcnow
from bot.store.models import ReplyPrompt as ReplyPromptRow
from bot.store.repo import SqlConversationLog
from tests.conftest import POSTGRES_URL
from tests.store.test_log_contract import answer

T = TypeVar("T")


@pytest.fixture
async def pg_log() -> AsyncIterator[SqlConversationLog]:
    if not POSTGRES_URL:
        pytest.skip("set TEST_POSTGRES_URL to run the PostgreSQL tests")
    if migrate.current_revisions(POSTGRES_URL):
        migrate.downgrade(POSTGRES_URL, "base")
    migrate.upgrade(POSTGRES_URL)
    log = SqlConversationLog(POSTGRES_URL)
    yield log
    await log.close()
    migrate.downgrade(POSTGRES_URL, "base")


async def _an_answer(log: SqlConversationLog) -> int:
    conv = await log.open_conversation(channel="telegram", external_user_id="7", external_chat_id="7")
    q = await log.log_user_message(conv.id, "q")
    return await log.log_answer(conv.id, q, answer())


async def _race(
    log: SqlConversationLog,
    other_write: Callable[[AsyncConnection], Awaitable[None]],
    call: Callable[[], Awaitable[T]],
) -> T:
    """`call` against another worker's write made first and held uncommitted until `call` waits on its lock:
    the interleaving that loses an update, made certain rather than left to chance."""
    written = asyncio.Event()

    async def other_worker() -> None:
        async with log.engine.connect() as conn, conn.begin():
            await other_write(conn)
            written.set()
            for _ in range(500):
                async with log.engine.connect() as probe:
                    waiting = await probe.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                if waiting:
                    return  # commits: the waiting call goes on
                await asyncio.sleep(0.01)
            raise AssertionError("the store's call never waited for the other worker's write")

    async def this_worker() -> T:
        await written.wait()
        return await call()

    _, result = await asyncio.gather(other_worker(), this_worker())
    return result


async def test_a_rating_and_a_comment_at_once_both_stay(pg_log: SqlConversationLog) -> None:
    a = await _an_answer(pg_log)

    async def first_press(conn: AsyncConnection) -> None:
        now = utcnow()
        await conn.execute(
            insert(Feedback).values(message_id=a, rating="down", created_at=now, updated_at=now)
        )

    # Both saw no feedback row; the comment's insert then broke unique(message_id) and was lost as
    # "message N does not exist".
    await _race(pg_log, first_press, lambda: pg_log.add_feedback(a, None, "it was wrong"))
    async with pg_log.transaction() as conn:
        rows = (await conn.execute(select(Feedback.rating, Feedback.comment))).all()
    assert [tuple(row) for row in rows] == [("down", "it was wrong")]


async def test_a_reply_prompt_taken_by_two_workers_at_once_is_applied_once(
    pg_log: SqlConversationLog,
) -> None:
    a = await _an_answer(pg_log)
    await pg_log.add_reply_prompt("telegram", "7", "301", ReplyPrompt("comment", a, "7"))

    async def other_take(conn: AsyncConnection) -> None:
        # The other worker's take: it found the prompt and deleted it, not yet committed.
        await conn.execute(delete(ReplyPromptRow).where(ReplyPromptRow.external_message_id == "301"))

    # Both saw the prompt; the second DELETE waited, removed nothing, and the reply was applied twice.
    taken = await _race(pg_log, other_take, lambda: pg_log.take_reply_prompt("telegram", "7", "301", "7"))
    assert taken is None
