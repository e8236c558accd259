"""The flood notice during a handoff: the messages before it went to a person, not to the bot to answer."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.channels.telegram import texts as tg_texts
from bot.devtools.fake_telegram import StoredMessage
from tests.telegram.conftest import ALICE, OPERATOR_CHAT, Harness, HarnessFactory

PHOTO = [{"file_id": "P1", "file_unique_id": "p1", "width": 90, "height": 90}]
FLOODS = (tg_texts.FLOOD, tg_texts.FLOOD_HANDOFF)


async def _hand_off(h: Harness) -> StoredMessage:
    """Alice asks for a person (/human is no message the flood rule counts); returns the bot's notice."""
    before = h.last_message_id(ALICE["id"])
    h.send(ALICE, "/human")
    notice = await h.reply_after(ALICE["id"], before)
    await h.fake.wait_until(lambda: bool(h.fake.bot_messages(OPERATOR_CHAT["id"])))
    return notice


def _shown_after(h: Harness, after: int) -> list[str]:
    return [m.data.get("text", "") for m in h.fake.bot_messages(ALICE["id"]) if m.message_id > after]


async def _settled(h: Harness) -> None:
    await h.idle()
    await asyncio.sleep(0.1)


async def test_a_flood_during_a_handoff_says_the_messages_went_to_the_team(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(flood_messages=3, flood_window_s=60)
    ops = OPERATOR_CHAT["id"]
    await h.ask(ALICE, "How long do refunds take?")  # the first of three
    notice = await _hand_off(h)
    for i in range(4):  # two forwarded, the third told, the fourth dropped in silence
        h.send(ALICE, f"Hello? My order is 12{i}")
    await h.fake.wait_until(lambda: any(text in FLOODS for text in _shown_after(h, notice.message_id)))
    await _settled(h)
    # Not "I'll answer the ones before this one": the bot answers none of them, a person reads them.
    assert _shown_after(h, notice.message_id) == [tg_texts.FLOOD_HANDOFF]
    to_operators = "\n".join(m.data.get("text", "") for m in h.fake.bot_messages(ops))
    assert "My order is 120" in to_operators
    assert "My order is 121" in to_operators
    # The one that tripped the limit (and the one after it) reached no one and are not logged: the notice
    # asks for them again.
    assert "My order is 122" not in to_operators
    assert "My order is 123" not in to_operators
    said = [turn.text for turn in await h.store.history(1, 20) if turn.role == "user"]
    assert said[-2:] == ["Hello? My order is 120", "Hello? My order is 121"]


async def test_a_flood_out_of_a_handoff_still_promises_answers(make_harness: HarnessFactory) -> None:
    h = await make_harness(flood_messages=1, flood_window_s=60)
    first = await h.ask(ALICE, "How long do refunds take?")
    h.send(ALICE, "And shipping?")
    await h.fake.wait_until(lambda: any(text in FLOODS for text in _shown_after(h, first.message_id)))
    await _settled(h)
    assert _shown_after(h, first.message_id) == [tg_texts.FLOOD]


async def test_files_over_the_limit_during_a_handoff_are_not_dropped_in_silence(
    make_harness: HarnessFactory,
) -> None:
    # An album is one message per photo: past the limit the rest reached no one, and the customer, who
    # believed they had, is told once.
    h = await make_harness(flood_messages=2, flood_window_s=60)
    ops = OPERATOR_CHAT["id"]
    notice = await _hand_off(h)
    for _ in range(4):
        h.send(ALICE, None, photo=PHOTO)
    await h.fake.wait_until(lambda: any(text in FLOODS for text in _shown_after(h, notice.message_id)))
    await _settled(h)
    assert _shown_after(h, notice.message_id) == [tg_texts.FLOOD_HANDOFF]
    assert sum("photo" in m.data for m in h.fake.bot_messages(ops)) == 2


async def test_files_over_the_limit_out_of_a_handoff_stay_unanswered(make_harness: HarnessFactory) -> None:
    # Out of a handoff the bot could not have read them anyway: no notice asks to send them again.
    h = await make_harness(flood_messages=1, flood_window_s=60)
    for _ in range(3):
        h.send(ALICE, None, photo=PHOTO)
    await h.fake.wait_until(lambda: tg_texts.MEDIA in _shown_after(h, 0))
    await _settled(h)
    assert _shown_after(h, 0) == [tg_texts.MEDIA]


async def test_a_question_in_a_caption_over_the_limit_gets_the_notice(make_harness: HarnessFactory) -> None:
    # The caption would have been answered like a typed question: it is not dropped in silence either.
    h = await make_harness(flood_messages=1, flood_window_s=60)
    first = await h.ask(ALICE, "How long do refunds take?")
    h.send(ALICE, None, photo=PHOTO, caption="And how long does shipping take?")
    await h.fake.wait_until(lambda: any(text in FLOODS for text in _shown_after(h, first.message_id)))
    await _settled(h)
    assert _shown_after(h, first.message_id) == [tg_texts.FLOOD]


async def test_a_see_also_press_over_the_limit_during_a_handoff_says_where_the_rest_went(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(flood_messages=1, flood_window_s=60)
    answer = await h.ask(ALICE, "how long do refunds or shipping take?")
    rows = answer.data["reply_markup"]["inline_keyboard"]
    assert any(button["callback_data"] == "see:1:en" for row in rows for button in row)
    await _hand_off(h)
    h.fake.inject(h.fake.callback_update(ALICE, ALICE["id"], answer.message_id, "see:1:en"))
    await h.fake.wait_until(lambda: len(h.fake.answered_callbacks) == 1)
    pressed: dict[str, Any] = list(h.fake.answered_callbacks.values())[0]
    assert pressed.get("text") == tg_texts.FLOOD_HANDOFF
