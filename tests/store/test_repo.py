"""SqlConversationLog specifics (stored rows, locking, outages); the contract is in test_log_contract.py."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.metrics import percentile
from bot.store import migrate
from bot.store.base import ConversationLog, StoreUnavailableError
from bot.store.models import Message, Retrieval
from bot.store.repo import SqlConversationLog
from tests.conftest import POSTGRES_URL
from tests.store.conftest import sqlite_url
from tests.store.test_log_contract import answer


async def test_implements_the_protocol(log: SqlConversationLog) -> None:
    store: ConversationLog = log
    await store.ping()


async def test_turn_is_logged_with_answer_metadata_and_retrievals(log: SqlConversationLog) -> None:
    conv = await log.open_conversation(channel="telegram", external_user_id="42", external_chat_id="42")
    before = datetime.now(UTC)
    user_id = await log.log_user_message(conv.id, "How do I X?", external_message_id="900")
    answer_id = await log.log_answer(conv.id, user_id, answer(total_ms=321.0))
    async with log.transaction() as conn:
        row = (await conn.execute(select(Message).where(Message.id == answer_id))).one()
        retrievals = (
            await conn.execute(
                select(Retrieval).where(Retrieval.message_id == answer_id).order_by(Retrieval.rank)
            )
        ).all()
        question = (await conn.execute(select(Message).where(Message.id == user_id))).one()
    assert row.role == "assistant"
    assert row.reply_to_id == user_id
    assert (row.model_name, row.model_version, row.prompt_version) == (
        "SmolLM2-135M-Instruct-Q4_1",
        "abc123",
        "answer-v1",
    )
    assert (row.outcome, row.grounded, row.citations, row.question) == (
        "answered",
        True,
        "1",
        "standalone question?",
    )
    assert (row.retrieval_ms, row.ttft_ms, row.total_ms, row.condense_ms, row.queue_ms) == (
        12.5,
        40.0,
        321.0,
        3.0,
        1.0,
    )
    assert row.created_at.tzinfo is not None
    assert row.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= question.created_at <= row.created_at
    assert question.external_message_id == "900"
    assert [(r.rank, r.source, r.heading, r.text, r.url) for r in retrievals] == [
        (1, "faq/doc0.rst", "Heading 0", "Passage 0 text.", ""),
        (2, "faq/doc1.rst", "Heading 1", "Passage 1 text.", ""),
    ]
    assert retrievals[0].score == pytest.approx(1.0)
    assert retrievals[1].score == pytest.approx(0.9)


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)


async def test_concurrent_writes_on_sqlite_all_commit(sqlite_log: SqlConversationLog) -> None:
    conv = await sqlite_log.open_conversation(channel="telegram", external_user_id="3", external_chat_id="3")
    ids = await asyncio.gather(*(sqlite_log.log_user_message(conv.id, f"m{i}") for i in range(40)))
    assert len(set(ids)) == 40
    assert len(await sqlite_log.history(conv.id, limit=100)) == 40


async def test_locked_sqlite_gives_store_unavailable_then_recovers(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> None:
    url = migrated_sqlite(tmp_path / "log.db")
    store = SqlConversationLog(url, timeout_s=2.0, sqlite_busy_timeout_ms=200)
    try:
        conv = await store.open_conversation(channel="telegram", external_user_id="1", external_chat_id="1")
        # Another process holds the write lock (e.g. a long maintenance job).
        blocker = sqlite3.connect(tmp_path / "log.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreUnavailableError, match="database unavailable: database is locked"):
                await store.log_user_message(conv.id, "while locked")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        message_id = await store.log_user_message(conv.id, "after the lock is gone")
        assert message_id > 0
        await store.ping()
    finally:
        await store.close()


async def test_unreachable_postgres_gives_store_unavailable() -> None:
    # Port 1 on localhost: nothing listens, the connection is refused at once.
    store = SqlConversationLog("postgresql+asyncpg://bot:secret@127.0.0.1:1/bot", connect_timeout_s=2.0)
    try:
        with pytest.raises(StoreUnavailableError, match="database unavailable") as info:
            await store.ping()
        assert "secret" not in str(info.value)
        with pytest.raises(StoreUnavailableError):
            await store.log_user_message(1, "hello")
    finally:
        await store.close()


async def test_missing_sqlite_directory_gives_store_unavailable(tmp_path: Path) -> None:
    store = SqlConversationLog(sqlite_url(tmp_path / "missing" / "log.db"))
    try:
        with pytest.raises(StoreUnavailableError, match="unable to open database file"):
            await store.ping()
    finally:
        await store.close()


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        SqlConversationLog("mysql+aiomysql://u@h/db")
    with pytest.raises(ValueError, match="invalid database URL"):
        SqlConversationLog("not a url")


class _Proxy:
    """A TCP forwarder to PostgreSQL that the test can cut and restore, like a network outage."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.pipes: set[asyncio.Task[None]] = set()
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        for task in list(self.pipes):
            task.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)
        await self.server.wait_closed()
        self.writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(pipe(src, dst))
            self.pipes.add(task)
            task.add_done_callback(self.pipes.discard)


@pytest.mark.integration
async def test_postgres_outage_gives_store_unavailable_then_recovers() -> None:
    if not POSTGRES_URL:
        pytest.skip("set TEST_POSTGRES_URL to run the PostgreSQL tests")
    from sqlalchemy.engine import make_url

    target = make_url(POSTGRES_URL)
    migrate.upgrade(POSTGRES_URL)
    proxy = _Proxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    store = SqlConversationLog(url, timeout_s=3.0, connect_timeout_s=1.0)
    try:
        conv = await store.open_conversation(channel="telegram", external_user_id="8", external_chat_id="8")
        await proxy.stop()
        with pytest.raises(StoreUnavailableError):
            await store.log_user_message(conv.id, "during the outage")
        await proxy.start()  # same port: the database is back
        message_id = await store.log_user_message(conv.id, "after the outage")
        history = await store.history(conv.id, limit=10)
        assert [t.text for t in history] == ["after the outage"]
        assert message_id > 0
    finally:
        await store.close()
        await proxy.stop()
        migrate.downgrade(POSTGRES_URL, "base")
