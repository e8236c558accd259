"""The widget's refusals during a handoff: no text says the bot will answer what went to a person."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.channels.web import texts as web_texts
from bot.channels.web.deps import FloodRule
from bot.conversation import Customer
from bot.domain import Turn
from tests.web.conftest import WebFactory, events


class SlowDesk:
    """An operator desk that accepts every handoff and holds each forwarded message until `gate` opens."""

    available = True

    def __init__(self) -> None:
        self.forwarded: list[str] = []
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def open_handoff(
        self, conversation_id: int, customer: Customer, reason: str, transcript: Sequence[Turn], **_: str
    ) -> bool:
        return True

    async def forward(self, conversation_id: int, customer: Customer, text: str, **_: str) -> None:
        self.entered.set()
        await self.gate.wait()
        self.forwarded.append(text)

    async def handoff_left(self, conversation_id: int, customer: Customer) -> None:
        return None


async def test_a_message_sent_while_the_last_is_passed_on_is_not_promised_an_answer(
    make_web: WebFactory,
) -> None:
    desk = SlowDesk()
    web = await make_web(desk=desk, flood=FloodRule(50, 60.0))
    session = await web.session()
    await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])
    handoff = await web.post("/api/handoff", {}, session["csrf"])
    assert handoff.json() == {"text": texts.HANDOFF_REQUESTED, "handoff": "requested"}
    first = asyncio.create_task(web.post("/api/ask", {"text": "hello?"}, session["csrf"]))
    await asyncio.wait_for(desk.entered.wait(), 30)
    busy = await asyncio.wait_for(web.post("/api/ask", {"text": "anyone there?"}, session["csrf"]), 30)
    assert busy.status_code == 429
    # Telegram's text ("I'll answer the ones before this one") is not true: a person has the conversation.
    assert busy.json()["message"] == web_texts.FLOOD != tg_texts.FLOOD
    desk.gate.set()
    assert events((await first).text)[-1][1]["kind"] == "forwarded"
    assert desk.forwarded == ["hello?"]


async def test_the_flood_rule_during_a_handoff_asks_to_send_this_one_again(make_web: WebFactory) -> None:
    desk = SlowDesk()
    desk.gate.set()
    web = await make_web(desk=desk, flood=FloodRule(2, 60.0))
    session = await web.session()
    await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])  # the first of two
    await web.post("/api/handoff", {}, session["csrf"])
    forwarded = events((await web.post("/api/ask", {"text": "hello?"}, session["csrf"])).text)
    assert forwarded[-1][1]["kind"] == "forwarded"
    notice = events((await web.post("/api/ask", {"text": "anyone there?"}, session["csrf"])).text)
    # The web's own text promises no answer: it is as true with a person as with the bot.
    assert notice[-1][1] == {"kind": "notice", "text": web_texts.FLOOD, "sources": [], "refused": True}
    assert desk.forwarded == ["hello?"]
