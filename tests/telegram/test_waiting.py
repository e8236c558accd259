"""Telegram's place-in-line notice: one message while the answer waits, no endless "typing…", then gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from bot.channels.telegram import streaming
from bot.conversation import WAIT_MARK
from bot.domain import Answer, Delta, Source, Timings, Turn
from tests.telegram.conftest import ADMIN, ALICE, BOB, HarnessFactory


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


async def test_a_waiting_customer_is_told_their_place_once_then_gets_the_answer(
    make_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_LLM__WAIT_NOTICE_S", "0.5")
    monkeypatch.setattr(streaming, "_TYPING_EVERY_S", 0.1)
    pipeline = GatedPipeline()
    h = await make_harness(pipeline=pipeline)
    h.send(ALICE, "How long do refunds take?")
    await asyncio.sleep(0.1)
    question = h.send(BOB, "How long do refunds take?")["message"]["message_id"]
    bob = BOB["id"]

    def notices() -> list[str]:
        return [
            str(c.params["text"])
            for c in h.fake.calls_of("sendMessage")
            if c.params["chat_id"] == bob and str(c.params["text"]).startswith(WAIT_MARK.strip())
        ]

    await h.fake.wait_until(lambda: bool(notices()), 5.0)
    assert notices() == [
        f"{WAIT_MARK}You're number 2 in line. I'll start on your answer as soon as it's your turn."
    ]
    notice = next(m for m in h.fake.bot_messages(bob) if m.data["text"].startswith(WAIT_MARK.strip()))
    assert notice.reply_to == question

    def typing(chat_id: int) -> int:
        return sum(1 for c in h.fake.calls_of("sendChatAction") if c.params["chat_id"] == chat_id)

    shown_typing = typing(bob)
    assert shown_typing >= 1, "typing… was shown until the notice"
    await asyncio.sleep(0.6)
    assert typing(bob) == shown_typing, "no typing… while the notice is shown"
    assert typing(ALICE["id"]) > shown_typing, "next in line: no notice, typing… goes on"
    assert not [m for m in h.fake.bot_messages(ALICE["id"]) if m.data["text"].startswith(WAIT_MARK.strip())]

    pipeline.gate(ALICE["id"]).set()
    pipeline.gate(bob).set()
    await h.idle()
    messages = h.fake.bot_messages(bob)
    assert len(messages) == 1, "the notice is deleted once the answer is there"
    assert "five business days" in messages[0].data["text"]
    assert messages[0].reply_to == question
    assert len(notices()) == 1
    assert [c.params["message_id"] for c in h.fake.calls_of("deleteMessage")] == [notice.message_id]
    assert all(c.ok for c in h.fake.calls)

    h.send(ADMIN, "/stats")
    stats = await h.reply_after(ADMIN["id"], 0)
    assert "Waiting now: 0" in stats.data["text"]
    assert "place-in-line notices: 1" in stats.data["text"]
