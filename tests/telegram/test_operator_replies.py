"""Which operator-chat replies reach a handoff's customer, and that every other reply gets a word back."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.channels.telegram.handoff import NOT_A_HANDOFF
from bot.devtools.fake_telegram import StoredMessage, user
from tests.telegram.conftest import ALICE, OPERATOR, OPERATOR_CHAT, Harness, HarnessFactory

OPS = OPERATOR_CHAT["id"]
COLLEAGUE = user(3002, "Max")
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


@pytest.mark.parametrize("follow_up_to", ["own reply", "confirmation"])
async def test_an_operators_follow_up_reaches_the_customer(
    make_harness: HarnessFactory, follow_up_to: str
) -> None:
    # Handoff #8 of the trial: the operator answered the transcript, then replied to their own answer.
    h = await make_harness()
    transcript = await _handed_off(h)
    first, confirmation = await _operator_says(h, "Standardversand dauert 2 Tage.", transcript.message_id)
    assert confirmation.data["text"].startswith("✅ Sent to #1.")
    assert confirmation.reply_to == first, "the confirmation quotes what was sent"
    target = first if follow_up_to == "own reply" else confirmation.message_id
    _, second = await _operator_says(h, "Und Express kostet 9,90 EUR.", target)
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
    assert warning.data["text"] == "Handoff #1 has ended; the user is back with the bot."
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
