"""The `ConversationLog` contract: the same tests on the in-memory fake, SQLite and PostgreSQL (when set)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest

from bot.domain import NOT_LOOKED_UP, Answer, Channel, Hit, Outcome, Source, Timings
from bot.store import migrate
from bot.store.base import ConversationLog, MessageRef, ReplyPrompt
from bot.store.repo import SqlConversationLog
from tests.conftest import POSTGRES_URL
from tests.fakes import make_chunk
from tests.fakes_log import MemoryConversationLog


def answer(
    text: str = "It works [1].", *, outcome: Outcome = "answered", total_ms: float = 120.0, hits: int = 2
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


def _reset_postgres(url: str) -> None:
    if migrate.current_revisions(url):
        migrate.downgrade(url, "base")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def log(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> AsyncIterator[ConversationLog]:
    if request.param == "memory":
        yield MemoryConversationLog()
        return
    if request.param == "sqlite":
        url = migrated_sqlite(tmp_path / "log.db")
    else:
        if not POSTGRES_URL:
            pytest.skip("set TEST_POSTGRES_URL to run the PostgreSQL tests")
        _reset_postgres(POSTGRES_URL)
        migrate.upgrade(POSTGRES_URL)
        url = POSTGRES_URL
    store = SqlConversationLog(url)
    await store.check_schema()
    try:
        yield store
    finally:
        await store.close()
        if request.param == "postgres":
            _reset_postgres(POSTGRES_URL)


async def test_ping(log: ConversationLog) -> None:
    await log.ping()


async def test_open_conversation_reuses_the_open_one_until_new(log: ConversationLog) -> None:
    first = await log.open_conversation(channel="telegram", external_user_id="111", external_chat_id="111")
    again = await log.open_conversation(channel="telegram", external_user_id="111", external_chat_id="111")
    assert again == first
    assert first.handoff == "none"
    assert first.channel == "telegram"
    assert first.external_chat_id == "111"
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
    # The other chat's conversation stays open.
    assert (
        await log.open_conversation(channel="telegram", external_user_id="111", external_chat_id="-100")
        == other_chat
    )
    console = await log.open_conversation(channel="console", external_user_id="111", external_chat_id="111")
    assert console.user_id != first.user_id  # same id on another channel is another person
    assert await log.get_conversation(first.id) == first
    assert await log.get_conversation(424242) is None


async def test_every_channel_can_hold_conversations(log: ConversationLog) -> None:
    for channel in get_args(Channel):
        ref = await log.open_conversation(channel=channel, external_user_id="alice", external_chat_id="c1")
        assert ref.channel == channel
        assert await log.log_user_message(ref.id, f"hello from {channel}") > 0


async def test_bad_conversation_input_is_a_clear_error(log: ConversationLog) -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        await log.open_conversation(channel="sms", external_user_id="1", external_chat_id="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a user id and a chat id"):
        await log.open_conversation(channel="telegram", external_user_id="", external_chat_id="1")
    with pytest.raises(ValueError, match="conversation 999999 does not exist"):
        await log.log_user_message(999999, "orphan")
    with pytest.raises(ValueError, match="conversation 999999 does not exist"):
        await log.log_operator_message(999999, "orphan")
    conv = await log.open_conversation(channel="telegram", external_user_id="2", external_chat_id="2")
    with pytest.raises(ValueError, match="message 999999 does not exist"):
        await log.log_answer(conv.id, 999999, answer())
    with pytest.raises(ValueError, match="conversation 999999 does not exist"):
        await log.set_handoff(999999, "requested")


async def test_concurrent_first_messages_create_one_user(log: ConversationLog) -> None:
    refs = await asyncio.gather(
        *(
            log.open_conversation(channel="telegram", external_user_id="7", external_chat_id="7")
            for _ in range(8)
        )
    )
    assert len({r.user_id for r in refs}) == 1


async def test_claim_delivery_is_idempotent_per_channel(log: ConversationLog) -> None:
    assert await log.claim_delivery("telegram", str(10**12)) is True
    assert await log.claim_delivery("telegram", str(10**12)) is False
    assert await log.claim_delivery("telegram", "5") is True
    # Another channel's ids are its own: the same text is a different delivery.
    assert await log.claim_delivery("web", "5") is True
    assert await log.claim_delivery("web", "5") is False
    assert await log.claim_delivery("web", "req-7f3a") is True
    with pytest.raises(ValueError, match="unknown channel"):
        await log.claim_delivery("sms", "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delivery id"):
        await log.claim_delivery("web", "")
    with pytest.raises(ValueError, match="delivery id"):
        await log.claim_delivery("web", "x" * 129)


async def test_history_is_oldest_first_limited_and_skips_system_replies(log: ConversationLog) -> None:
    conv = await log.open_conversation(channel="console", external_user_id="me", external_chat_id="term")
    q1 = await log.log_user_message(conv.id, "q1")
    a1 = await log.log_answer(conv.id, q1, answer("a1"))
    q2 = await log.log_user_message(conv.id, "q2")
    await log.log_answer(conv.id, q2, answer("busy, try later", outcome="busy"))
    operator = await log.log_operator_message(conv.id, "operator here")
    q3 = await log.log_user_message(conv.id, "q3")
    history = await log.history(conv.id, limit=10)
    assert [(t.role, t.text) for t in history] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("operator", "operator here"),  # a transcript names the person; the prompt treats it as the assistant
        ("user", "q3"),
    ]
    assert [t.text for t in await log.history(conv.id, limit=2)] == ["operator here", "q3"]
    assert await log.history(conv.id, limit=0) == []
    assert q3 > operator > q2 > a1 > q1
    other = await log.open_conversation(channel="console", external_user_id="you", external_chat_id="term")
    assert await log.history(other.id, limit=10) == []


async def test_a_transcript_keeps_what_the_customer_saw_in_order(log: ConversationLog) -> None:
    # The model is not given fixed replies (`history`); the people a handoff brings in see them all.
    conv = await log.open_conversation(channel="console", external_user_id="me", external_chat_id="term")
    hi = await log.log_user_message(conv.id, "hi")
    await log.log_answer(conv.id, hi, answer("Hello! What can I help you with?", outcome="small_talk"))
    q = await log.log_user_message(conv.id, "q")
    await log.log_answer(conv.id, q, answer("busy, try later", outcome="busy"))
    await log.log_operator_message(conv.id, "operator here")
    assert [(t.role, t.text) for t in await log.transcript(conv.id, limit=10)] == [
        ("user", "hi"),
        ("assistant", "Hello! What can I help you with?"),
        ("user", "q"),
        ("assistant", "busy, try later"),
        ("operator", "operator here"),
    ]
    assert [t.text for t in await log.transcript(conv.id, limit=2)] == ["busy, try later", "operator here"]
    assert await log.transcript(conv.id, limit=0) == []
    assert [t.text for t in await log.history(conv.id, limit=10)] == ["hi", "q", "operator here"]


async def test_external_ids_map_messages_back(log: ConversationLog) -> None:
    conv = await log.open_conversation(channel="telegram", external_user_id="5", external_chat_id="500")
    q = await log.log_user_message(conv.id, "q", external_message_id="76")
    a = await log.log_answer(conv.id, q, answer())
    await log.set_external_id(a, "77")
    assert await log.find_message("telegram", "500", "77") == MessageRef(a, conv.id, "5")
    assert await log.find_message("telegram", "500", "76") == MessageRef(q, conv.id, "5")
    assert await log.find_message("telegram", "501", "77") is None
    assert await log.find_message("console", "500", "77") is None
    assert await log.find_message("telegram", "500", "78") is None
    with pytest.raises(ValueError, match="message 99999 does not exist"):
        await log.set_external_id(99999, "1")


async def test_a_found_answer_carries_the_sections_listed_under_it(log: ConversationLog) -> None:
    # What a Telegram "see also" press asks: the heading logged, whole, not the button's clipped label.
    conv = await log.open_conversation(channel="telegram", external_user_id="5", external_chat_id="500")
    q = await log.log_user_message(conv.id, "q", external_message_id="76")
    listed = (Source("faq/doc1.rst", "Heading 1", "https://help.example/doc1"), Source("b.md", "B"))
    a = await log.log_answer(conv.id, q, replace(answer(), see_also=listed))
    await log.set_external_id(a, "77")
    assert await log.find_message("telegram", "500", "77") == MessageRef(a, conv.id, "5", listed)
    assert await log.find_message("telegram", "500", "76") == MessageRef(q, conv.id, "5")


async def test_a_found_message_names_whose_conversation_it_is_in(log: ConversationLog) -> None:
    # Two people in one group chat: each has a conversation there, and an answer belongs to its asker.
    alice = await log.open_conversation(channel="telegram", external_user_id="2001", external_chat_id="-100")
    bob = await log.open_conversation(channel="telegram", external_user_id="2002", external_chat_id="-100")
    to_alice = await log.log_answer(alice.id, await log.log_user_message(alice.id, "q"), answer())
    to_bob = await log.log_answer(bob.id, await log.log_user_message(bob.id, "q"), answer())
    await log.set_external_id(to_alice, "10")
    await log.set_external_id(to_bob, "11")
    assert await log.find_message("telegram", "-100", "10") == MessageRef(to_alice, alice.id, "2001")
    assert await log.find_message("telegram", "-100", "11") == MessageRef(to_bob, bob.id, "2002")


async def test_feedback_corrections_and_handoff(log: ConversationLog) -> None:
    conv = await log.open_conversation(channel="telegram", external_user_id="9", external_chat_id="9")
    q = await log.log_user_message(conv.id, "q")
    a = await log.log_answer(conv.id, q, answer())
    await log.add_feedback(a, "down")
    await log.add_feedback(a, None, "it was wrong")  # a comment keeps the rating
    stats = await log.stats()
    assert (stats.thumbs_up_7d, stats.thumbs_down_7d) == (0, 1)
    await log.add_feedback(a, "up")  # the latest press wins
    stats = await log.stats()
    assert (stats.thumbs_up_7d, stats.thumbs_down_7d) == (1, 0)
    with pytest.raises(ValueError, match="rating"):
        await log.add_feedback(a, "meh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not exist"):
        await log.add_feedback(123456, "up")

    await log.add_correction(a, "1001", "The right answer.")
    await log.add_correction(a, "1002", "An even better answer.")
    with pytest.raises(ValueError, match="not a bot answer"):
        await log.add_correction(q, "1001", "nope")
    with pytest.raises(ValueError, match="needs the corrected text"):
        await log.add_correction(a, "1001", "  ")
    with pytest.raises(ValueError, match="does not exist"):
        await log.add_correction(123456, "1001", "text")

    await log.set_handoff(conv.id, "requested")
    ref = await log.get_conversation(conv.id)
    assert ref is not None
    assert ref.handoff == "requested"
    assert (
        await log.open_conversation(channel="telegram", external_user_id="9", external_chat_id="9")
    ).handoff == "requested"
    await log.set_handoff(conv.id, "active")
    ref = await log.get_conversation(conv.id)
    assert ref is not None
    assert ref.handoff == "active"
    with pytest.raises(ValueError, match="handoff state"):
        await log.set_handoff(conv.id, "maybe")  # type: ignore[arg-type]
    await log.set_handoff(conv.id, "none")
    assert (await log.stats()).handoffs_7d == 1  # counted by when it was requested
    # A claim changes the state only from the expected one: of two callers, one wins.
    assert await log.set_handoff(conv.id, "requested", expected="none") is True
    assert await log.set_handoff(conv.id, "requested", expected="none") is False
    assert (await log.get_conversation(conv.id)).handoff == "requested"  # type: ignore[union-attr]
    assert await log.set_handoff(conv.id, "none", expected="active") is False
    assert await log.set_handoff(999999, "requested", expected="none") is False


async def test_a_reply_prompt_is_taken_once_by_its_person(log: ConversationLog) -> None:
    conv = await log.open_conversation(channel="telegram", external_user_id="7", external_chat_id="70")
    q = await log.log_user_message(conv.id, "q")
    a = await log.log_answer(conv.id, q, answer())
    await log.add_reply_prompt("telegram", "70", "301", ReplyPrompt("comment", a, "7"))
    assert await log.take_reply_prompt("telegram", "70", "301", "8") is None, "someone else's reply"
    assert await log.take_reply_prompt("telegram", "71", "301", "7") is None, "another chat"
    assert await log.take_reply_prompt("console", "70", "301", "7") is None, "another channel"
    assert await log.take_reply_prompt("telegram", "70", "301", "7") == ReplyPrompt("comment", a, "7")
    assert await log.take_reply_prompt("telegram", "70", "301", "7") is None, "taken once"
    await log.add_reply_prompt("telegram", "70", "302", ReplyPrompt("correct", a, "1001"))
    assert await log.take_reply_prompt("telegram", "70", "302", "1001") == ReplyPrompt("correct", a, "1001")
    with pytest.raises(ValueError, match="message 99999 does not exist"):
        await log.add_reply_prompt("telegram", "70", "303", ReplyPrompt("comment", 99999, "7"))


async def test_stats_counts_and_latency_percentiles(log: ConversationLog) -> None:
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
    await log.log_operator_message(conv.id, "an operator message is not a user message")
    await log.set_handoff(conv.id, "requested")
    # Replies that looked nothing up are no answers, and their time is not answering time.
    for outcome in NOT_LOOKED_UP:
        q = await log.log_user_message(conv.id, f"not a question ({outcome})")
        await log.log_answer(conv.id, q, answer("Hello!", outcome=outcome, total_ms=0.0, hits=0))
    stats = await log.stats()
    assert (stats.conversations_24h, stats.conversations_7d) == (1, 1)
    assert (stats.messages_24h, stats.messages_7d, stats.answers_7d) == (16, 16, 12)
    assert (stats.thumbs_up_7d, stats.thumbs_down_7d, stats.refusals_7d, stats.handoffs_7d) == (3, 1, 1, 1)
    # total_ms of all 12 answers: 1, 100 … 1000, 1100.
    assert stats.latency_p50_ms == pytest.approx(550.0)
    assert stats.latency_p95_ms == pytest.approx(1045.0)
    later = await log.stats(now=datetime.now(UTC) + timedelta(days=3))
    assert (later.conversations_24h, later.messages_24h, later.conversations_7d) == (0, 0, 1)
    empty = await log.stats(now=datetime.now(UTC) + timedelta(days=30))
    assert (empty.answers_7d, empty.latency_p50_ms, empty.latency_p95_ms) == (0, None, None)
    assert (empty.conversations_7d, empty.messages_7d, empty.thumbs_up_7d, empty.handoffs_7d) == (0, 0, 0, 0)


async def test_message_languages_latest_and_counted(log: ConversationLog) -> None:
    conv = await log.open_conversation(channel="telegram", external_user_id="1", external_chat_id="1")
    other = await log.open_conversation(channel="telegram", external_user_id="2", external_chat_id="2")
    assert await log.last_language(conv.id) == ""
    await log.log_user_message(conv.id, "我的包裹丢了怎么办？", language="zh")
    await log.log_user_message(conv.id, "👍")  # nothing detected: the earlier language stays the latest
    await log.log_operator_message(conv.id, "Hello")
    await log.log_user_message(other.id, "Wo ist mein Paket?", language="de")
    await log.log_user_message(other.id, "Danke", language="de")
    await log.log_user_message(other.id, "und", language="und")
    assert await log.last_language(conv.id) == "zh"
    assert await log.last_language(other.id) == "und"
    assert await log.user_language("telegram", "1") == "zh"
    assert await log.user_language("telegram", "2") == "und"
    assert await log.user_language("telegram", "3") == ""
    assert await log.user_language("console", "1") == ""
    stats = await log.stats()
    assert stats.languages_7d == (("de", 2), ("und", 2), ("zh", 1))
    later = await log.stats(now=datetime.now(UTC) + timedelta(days=30))
    assert later.languages_7d == ()
