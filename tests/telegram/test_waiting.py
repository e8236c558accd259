"""Telegram's place-in-line notice: one message while the answer waits, no endless "typing…", then gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from bot.channels.telegram import streaming
from bot.conversation import WAIT_MARK
from bot.domain import Answer, Delta, Source, Timings, Turn
from tests.telegram.conftest import ADMIN, ALICE, BOB, Harness, HarnessFactory


class GatedPipeline:
    """Each user's answer waits until the test opens their gate."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}

    def gate(self, user_id: int) -> asyncio.Event:
        return self.gates.setdefault(f"telegram:{user_id}", asyncio.Event())

    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = "und"
    ) -> AsyncIterator[Delta | Answer]:
        await self.gates.setdefault(user_key, asyncio.Event()).wait()
        text = "Refunds are paid back within five business days. [1]"
        yield Delta(text)
        yield Answer(
            text=text,
            sources=(Source("billing/refunds.md", "Refunds"),),
            grounded=True,
            timings=Timings(ttft_ms=5.0, total_ms=20.0),
            citations=(1,),
            question=question,
        )


def _notices(h: Harness, chat_id: int) -> list[str]:
    return [
        str(c.params["text"])
        for c in h.fake.calls_of("sendMessage")
        if c.params["chat_id"] == chat_id and str(c.params["text"]).startswith(WAIT_MARK.strip())
    ]


def _typing(h: Harness, chat_id: int) -> int:
    return sum(1 for c in h.fake.calls_of("sendChatAction") if c.params["chat_id"] == chat_id)


async def test_a_waiting_customer_is_told_their_place_once_then_gets_the_answer(
    make_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_LLM__WAIT_NOTICE_S", "0.5")
    monkeypatch.setattr(streaming, "_TYPING_EVERY_S", 0.1)
    pipeline = GatedPipeline()
    h = await make_harness(pipeline=pipeline)
    alice, bob = ALICE["id"], BOB["id"]
    try:
        h.send(ALICE, "How long do refunds take?")
        await asyncio.sleep(0.1)
        question = h.send(BOB, "How long do refunds take?")["message"]["message_id"]
        await h.fake.wait_until(lambda: bool(_notices(h, bob)), 5.0)
        assert _notices(h, bob) == [
            f"{WAIT_MARK}You're number 2 in line. I'll start on your answer as soon as it's your turn."
        ]
        notice = next(m for m in h.fake.bot_messages(bob) if m.data["text"].startswith(WAIT_MARK.strip()))
        assert notice.reply_to == question
        assert _typing(h, bob) >= 1, "typing… was shown until the notice"
        # A typing call already on its way when the notice went out may still land: count from after it.
        await asyncio.sleep(0.3)
        bob_typing, alice_typing = _typing(h, bob), _typing(h, alice)
        await asyncio.sleep(0.6)
        assert _typing(h, bob) == bob_typing, "no typing… while the notice is shown"
        assert _typing(h, alice) > alice_typing, "next in line: no notice, typing… goes on"
        assert not [m for m in h.fake.bot_messages(alice) if m.data["text"].startswith(WAIT_MARK.strip())]
    finally:
        # Opened whatever happened above: a closed gate would hold the harness's teardown (and CI) forever.
        pipeline.gate(alice).set()
        pipeline.gate(bob).set()
    await h.idle()
    messages = h.fake.bot_messages(bob)
    assert len(messages) == 1, "the notice is deleted once the answer is there"
    assert "five business days" in messages[0].data["text"]
    assert messages[0].reply_to == question
    assert len(_notices(h, bob)) == 1
    assert [c.params["message_id"] for c in h.fake.calls_of("deleteMessage")] == [notice.message_id]
    assert all(c.ok for c in h.fake.calls)

    h.send(ADMIN, "/stats")
    stats = await h.reply_after(ADMIN["id"], 0)
    assert "Waiting now: 0" in stats.data["text"]
    assert "place-in-line notices: 1" in stats.data["text"]
