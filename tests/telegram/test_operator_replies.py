"""Which operator-chat replies reach a handoff's customer, and that every other reply gets a word back."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest
from telegram import Bot, Message

from bot.channels.telegram.handoff import COLLEAGUES_NOTE, NOT_A_HANDOFF, TelegramDesk
from bot.devtools.fake_telegram import StoredMessage, user
from tests.telegram.conftest import ALICE, OPERATOR, OPERATOR_CHAT, Harness, HarnessFactory

OPS = OPERATOR_CHAT["id"]
COLLEAGUE = user(3002, "Max")
BOT = user(9000, "Support bot", is_bot=True)
PHOTO = [{"file_id": "P1", "file_unique_id": "p1", "width": 90, "height": 90}]


async def _handed_off(h: Harness) -> StoredMessage:
    """Alice asks, then asks for a person; returns the transcript the operators got."""
    await h.ask(ALICE, "How long do refunds take?")
    before = h.last_message_id(ALICE["id"])
    h.send(ALICE, "/human")
    await h.reply_after(ALICE["id"], before)
    await h.fake.wait_until(lambda: bool(h.fake.bot_messages(OPS)))
    return h.fake.bot_messages(OPS)[-1]


async def _operator_says(h: Harness, text: str, reply_to: int) -> tuple[int, StoredMessage]:
    """The operator replies `text` to message `reply_to` of the operator chat; returns the id of their
    message and the bot's answer to it in the operator chat."""
    last = h.last_message_id(OPS)
    sent = h.send(OPERATOR, text, chat=OPERATOR_CHAT, reply_to=reply_to)
    answer = await h.reply_after(OPS, last)
    return int(sent["message"]["message_id"]), answer


def _told_alice(h: Harness) -> list[str]:
    return [m.data["text"] for m in h.fake.bot_messages(ALICE["id"]) if "text" in m.data]


async def test_an_operators_follow_up_to_the_confirmation_reaches_the_customer(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness()
    transcript = await _handed_off(h)
    first, confirmation = await _operator_says(h, "Standardversand dauert 2 Tage.", transcript.message_id)
    assert confirmation.data["text"].startswith("✅ Sent to #1.")
    assert confirmation.reply_to == first, "the confirmation quotes what was sent"
    _, second = await _operator_says(h, "Und Express kostet 9,90 EUR.", confirmation.message_id)
    assert _told_alice(h)[-2:] == [
        "👤 Support: Standardversand dauert 2 Tage.",
        "👤 Support: Und Express kostet 9,90 EUR.",
    ]
    assert second.data["text"].startswith("✅ Sent to #1.")
    assert [t.text for t in await h.store.history(1, 20)][-2:] == [
        "Standardversand dauert 2 Tage.",
        "Und Express kostet 9,90 EUR.",
    ]
    assert not [c for c in h.fake.calls if not c.ok]


@pytest.mark.parametrize("author", ["same operator", "colleague"])
async def test_a_reply_to_an_operators_delivered_reply_stays_in_the_operator_chat(
    make_harness: HarnessFactory, author: str
) -> None:
    # With privacy mode off the bot sees replies to operators' messages too: a colleague's remark under a
    # delivered reply is for the team, and the operator who wants to send more is told where to reply.
    h = await make_harness()
    transcript = await _handed_off(h)
    first, _ = await _operator_says(h, "Standardversand dauert 2 Tage.", transcript.message_id)
    shown_to_alice = _told_alice(h)
    last = h.last_message_id(OPS)
    remark = h.send(
        OPERATOR if author == "same operator" else COLLEAGUE,
        "Don't promise a refund.",
        chat=OPERATOR_CHAT,
        reply_to=first,
    )
    note = await h.reply_after(OPS, last)
    assert note.data["text"] == COLLEAGUES_NOTE.format(id=1)
    assert "✅ Sent to #1" in note.data["text"]
    assert note.reply_to == remark["message"]["message_id"]
    await h.idle()
    assert _told_alice(h) == shown_to_alice, "nothing reached Alice"
    assert [t.text for t in await h.store.history(1, 20)][-1] == "Standardversand dauert 2 Tage."
    assert (await h.store.get_conversation(1)).handoff == "active"  # type: ignore[union-attr]
    # /done replied to an operator's message ends nothing either.
    _, refused = await _operator_says(h, "/done", first)
    assert refused.data["text"] == "Reply /done to a handoff message to end that handoff."
    assert (await h.store.get_conversation(1)).handoff == "active"  # type: ignore[union-attr]


async def test_a_reply_to_a_copy_of_the_customers_file_reaches_them(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    await _handed_off(h)
    h.send(ALICE, None, photo=PHOTO, caption="my screenshot")
    await h.fake.wait_until(lambda: len(h.fake.bot_messages(OPS)) == 3)
    await h.idle()
    copy = h.fake.bot_messages(OPS)[-1]
    assert copy.data["photo"] == PHOTO
    _, confirmation = await _operator_says(h, "Thanks, I see the error.", copy.message_id)
    assert confirmation.data["text"].startswith("✅ Sent to #1.")
    assert _told_alice(h)[-1] == "👤 Support: Thanks, I see the error."


async def test_a_reply_to_a_message_of_no_handoff_is_warned(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    await _handed_off(h)
    shown_to_alice = len(h.fake.bot_messages(ALICE["id"]))
    chat = h.send(COLLEAGUE, "Who takes the next one?", chat=OPERATOR_CHAT)
    _, warning = await _operator_says(h, "Und Express kostet 9,90 EUR.", chat["message"]["message_id"])
    assert warning.data["text"] == NOT_A_HANDOFF
    await h.idle()
    assert len(h.fake.bot_messages(ALICE["id"])) == shown_to_alice, "nothing reached Alice"
    assert (await h.store.get_conversation(1)).handoff == "requested"  # type: ignore[union-attr]


@pytest.mark.parametrize("target", ["transcript", "own reply", "confirmation", "ended notice"])
async def test_a_reply_after_the_handoff_ended_says_so(make_harness: HarnessFactory, target: str) -> None:
    h = await make_harness()
    transcript = await _handed_off(h)
    first, confirmation = await _operator_says(h, "Standardversand dauert 2 Tage.", transcript.message_id)
    _, ended = await _operator_says(h, "/done", transcript.message_id)
    assert ended.data["text"].startswith("✅ Handoff #1 ended")
    shown_to_alice = len(h.fake.bot_messages(ALICE["id"]))
    replied = {
        "transcript": transcript.message_id,
        "own reply": first,
        "confirmation": confirmation.message_id,
        "ended notice": ended.message_id,
    }[target]
    _, warning = await _operator_says(h, "Und Express kostet 9,90 EUR.", replied)
    ended_text = "Handoff #1 has ended; the user is back with the bot."
    # A reply to an operator's message is never the customer's, ended handoff or not.
    assert warning.data["text"] == (COLLEAGUES_NOTE.format(id=1) if target == "own reply" else ended_text)
    await h.idle()
    assert len(h.fake.bot_messages(ALICE["id"])) == shown_to_alice


async def test_a_message_in_a_forum_topic_is_no_reply(make_harness: HarnessFactory) -> None:
    # In a forum, Telegram gives every message of a topic the topic's opening message as the one replied to:
    # operators talking in a topic are not replying to anything.
    h = await make_harness()
    await _handed_off(h)
    before = len(h.fake.bot_messages(OPS))
    opening: dict[str, Any] = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": dict(OPERATOR_CHAT),
        "from": dict(COLLEAGUE),
        "message_thread_id": 1,
        "forum_topic_created": {"name": "Refunds", "icon_color": 7322096},
    }
    h.send(
        OPERATOR,
        "Who takes the next one?",
        chat=OPERATOR_CHAT,
        reply_to_message=opening,
        message_thread_id=1,
        is_topic_message=True,
    )
    await h.idle()
    assert len(h.fake.bot_messages(OPS)) == before, "no warning for a message that replies to nothing"


def test_only_the_bots_own_messages_lead_to_a_handoff() -> None:
    # Whatever is remembered under a message id, a reply to an operator's message is not for the customer.
    desk = TelegramDesk(cast(Bot, None), OPS)
    desk.remember(50, 1)

    def sent_by(sender: dict[str, Any]) -> Message:
        data = {"message_id": 50, "date": int(time.time()), "chat": dict(OPERATOR_CHAT), "from": dict(sender)}
        return Message.de_json(data, None)  # type: ignore[arg-type,return-value]

    assert desk.handoff_of(sent_by(BOT), BOT["id"]) == 1
    assert desk.handoff_of(sent_by(OPERATOR), BOT["id"]) is None
