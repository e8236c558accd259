"""SqlConversationLog behaviour on SQLite (and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain import Answer, Hit, Source, Timings
from bot.store import migrate
from bot.store.base import ConversationLog, StoreUnavailableError
from bot.store.models import Message, Retrieval
from bot.store.repo import SqlConversationLog, percentile
from tests.conftest import POSTGRES_URL
from tests.fakes import make_chunk
from tests.store.conftest import sqlite_url


def answer(
    text: str = "It works [1].", *, outcome: str = "answered", total_ms: float = 120.0, hits: int = 2
) -> Answer:
    chunks = [
        make_chunk(f"faq/doc{i}.rst", f"Heading {i}", f"Passage {i} text.", position=i) for i in range(hits)
    ]
    return Answer(
        text=text,
        sources=tuple(Source(c.source, c.heading) for c in chunks[:1]),
        grounded=outcome == "answered",
        timings=Timings(retrieval_ms=12.5, ttft_ms=40.0, total_ms=total_ms, condense_ms=3.0, queue_ms=1.0),
        outcome=outcome,
        question="standalone question?",
        hits=tuple(Hit(c, score=1.0 - i / 10, rank=i + 1, dense_score=0.8) for i, c in enumerate(chunks)),
        model="SmolLM2-135M-Instruct-Q4_1",
        model_version="abc123",
        prompt_version="answer-v1",
        citations=(1,),
    )


async def test_implements_the_protocol(log: SqlConversationLog) -> None:
    store: ConversationLog = log
    await store.ping()


async def test_open_conversation_reuses_the_open_one_until_new(log: SqlConversationLog) -> None:
    first = await log.open_conversation(channel="telegram", external_user_id="111", external_chat_id="111")
    again = await log.open_conversation(channel="telegram", external_user_id="111", external_chat_id="111")
    assert again == first
    assert first.handoff == "none"
    assert first.channel == "telegram"
    other_chat = await log.open_conversation(
        channel="telegram", external_user_id="111", external_chat_id="-100"
    )
    assert other_chat.id != first.id
    assert other_chat.user_id == first.user_id
    fresh = await log.open_conversation(
        channel="telegram", external_user_id="111", external_chat_id="111", new=True
    )
    assert fresh.id not in (first.id, other_chat.id)
    assert (
        await log.open_conversation(channel="telegram", external_user_id="111", external_chat_id="111")
        == fresh
    )
    console = await log.open_conversation(channel="console", external_user_id="111", external_chat_id="111")
    assert console.user_id != first.user_id  # same id on another channel is another person
    with pytest.raises(ValueError, match="unknown channel"):
        await log.open_conversation(channel="sms", external_user_id="1", external_chat_id="1")  # type: ignore[arg-type]


async def test_concurrent_first_messages_create_one_user(log: SqlConversationLog) -> None:
    refs = await asyncio.gather(
        *(
            log.open_conversation(channel="telegram", external_user_id="7", external_chat_id="7")
            for _ in range(8)
        )
    )
    assert len({r.user_id for r in refs}) == 1


async def test_claim_update_is_idempotent(log: SqlConversationLog) -> None:
    assert await log.claim_update(10**12) is True
    assert await log.claim_update(10**12) is False
    assert await log.claim_update(5) is True


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


async def test_history_is_oldest_first_limited_and_skips_system_replies(log: SqlConversationLog) -> None:
    conv = await log.open_conversation(channel="console", external_user_id="me", external_chat_id="term")
    q1 = await log.log_user_message(conv.id, "q1")
    await log.log_answer(conv.id, q1, answer("a1"))
    q2 = await log.log_user_message(conv.id, "q2")
    await log.log_answer(conv.id, q2, answer("busy, try later", outcome="busy"))
    await log.log_operator_message(conv.id, "operator here")
    q3 = await log.log_user_message(conv.id, "q3")
    history = await log.history(conv.id, limit=10)
    assert [(t.role, t.text) for t in history] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "operator here"),
        ("user", "q3"),
    ]
    assert [t.text for t in await log.history(conv.id, limit=2)] == ["operator here", "q3"]
    assert await log.history(conv.id, limit=0) == []
    assert q3 > q2 > q1


async def test_external_ids_map_buttons_back_to_messages(log: SqlConversationLog) -> None:
    conv = await log.open_conversation(channel="telegram", external_user_id="5", external_chat_id="500")
    q = await log.log_user_message(conv.id, "q")
    a = await log.log_answer(conv.id, q, answer())
    await log.set_external_id(a, "77")
    assert await log.find_message("telegram", "500", "77") == a
    assert await log.find_message("telegram", "501", "77") is None
    assert await log.find_message("console", "500", "77") is None
    with pytest.raises(ValueError, match="message 99999 does not exist"):
        await log.set_external_id(99999, "1")


async def test_feedback_corrections_and_handoff(log: SqlConversationLog) -> None:
    conv = await log.open_conversation(channel="telegram", external_user_id="9", external_chat_id="9")
    q = await log.log_user_message(conv.id, "q")
    a = await log.log_answer(conv.id, q, answer())
    await log.add_feedback(a, "down")
    await log.add_feedback(a, None, "it was wrong")  # a comment keeps the rating
    await log.add_feedback(a, "up")  # the latest press wins
    stats = await log.stats()
    assert (stats.thumbs_up_7d, stats.thumbs_down_7d) == (1, 0)
    with pytest.raises(ValueError, match="rating"):
        await log.add_feedback(a, "meh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not exist"):
        await log.add_feedback(123456, "up")

    await log.add_correction(a, "1001", "The right answer.")
    with pytest.raises(ValueError, match="not a bot answer"):
        await log.add_correction(q, "1001", "nope")
    with pytest.raises(ValueError, match="needs the corrected text"):
        await log.add_correction(a, "1001", "  ")

    await log.set_handoff(conv.id, "requested")
    ref = await log.get_conversation(conv.id)
    assert ref is not None
    assert ref.handoff == "requested"
    assert (
        await log.open_conversation(channel="telegram", external_user_id="9", external_chat_id="9")
    ).handoff == ("requested")
    await log.set_handoff(conv.id, "active")
    with pytest.raises(ValueError, match="handoff state"):
        await log.set_handoff(conv.id, "maybe")  # type: ignore[arg-type]
    assert await log.get_conversation(424242) is None


async def test_stats_counts_and_latency_percentiles(log: SqlConversationLog) -> None:
    conv = await log.open_conversation(channel="telegram", external_user_id="1", external_chat_id="1")
    for ms in range(100, 1100, 100):  # 100 … 1000
        q = await log.log_user_message(conv.id, f"q{ms}")
        a = await log.log_answer(conv.id, q, answer(total_ms=float(ms)))
        if ms <= 300:
            await log.add_feedback(a, "up")
        elif ms == 400:
            await log.add_feedback(a, "down")
    q = await log.log_user_message(conv.id, "unanswerable")
    await log.log_answer(conv.id, q, answer("I don't know.", outcome="refused", total_ms=1100.0))
    q = await log.log_user_message(conv.id, "while overloaded")
    await log.log_answer(conv.id, q, answer("Busy, try again.", outcome="busy", total_ms=1.0, hits=0))
    await log.set_handoff(conv.id, "requested")
    stats = await log.stats()
    assert (stats.conversations_24h, stats.conversations_7d) == (1, 1)
    assert (stats.messages_24h, stats.messages_7d, stats.answers_7d) == (12, 12, 12)
    assert (stats.thumbs_up_7d, stats.thumbs_down_7d, stats.refusals_7d, stats.handoffs_7d) == (3, 1, 1, 1)
    # total_ms of all 12 answers: 1, 100 … 1000, 1100.
    assert stats.latency_p50_ms == pytest.approx(550.0)
    assert stats.latency_p95_ms == pytest.approx(1045.0)
    later = await log.stats(now=datetime.now(UTC) + timedelta(days=3))
    assert (later.conversations_24h, later.messages_24h, later.conversations_7d) == (0, 0, 1)
    empty = await log.stats(now=datetime.now(UTC) + timedelta(days=30))
    assert (empty.answers_7d, empty.latency_p50_ms, empty.latency_p95_ms) == (0, None, None)


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
