"""Whose an answer's buttons are: the log says (who asked), never the callback data a client sends back."""

from __future__ import annotations

from typing import Any

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.devtools.fake_telegram import StoredMessage, group_chat
from tests.fakes import FakeKB, make_chunk
from tests.telegram.conftest import ALICE, BOB, OPERATOR_CHAT, Harness, HarnessFactory

GROUP = group_chat(-100902, "Customers")
MENTION = "@support_test_bot "


async def _ask_in_group(h: Harness, sender: dict[str, Any], question: str) -> StoredMessage:
    entities = [{"type": "mention", "offset": 0, "length": len(MENTION) - 1}]
    return await h.ask(sender, MENTION + question, chat=GROUP, entities=entities)


async def _press(h: Harness, sender: dict[str, Any], message: StoredMessage, data: str) -> dict[str, Any]:
    """Press a button (with whatever data the client sends) and return how the press was answered."""
    before = len(h.fake.answered_callbacks)
    h.fake.inject(h.fake.callback_update(sender, message.chat_id, message.message_id, data))
    await h.fake.wait_until(lambda: len(h.fake.answered_callbacks) == before + 1)
    await h.idle()
    return list(h.fake.answered_callbacks.values())[-1]


async def test_a_forged_owner_cannot_rate_or_comment_on_someone_elses_answer(
    make_harness: HarnessFactory,
) -> None:
    # Bob's client rewrites the data of the buttons under Alice's answer to carry his own id, as the
    # buttons did before (`fb:down:<owner>:<language>`): the log says the answer is Alice's.
    h = await make_harness()
    await _ask_in_group(h, BOB, "how do I track my parcel?")
    alices = await _ask_in_group(h, ALICE, "how long do refunds take?")
    shown = len(h.fake.bot_messages(GROUP["id"]))
    bob = str(BOB["id"])
    for data in (f"fb:down:{bob}:en", f"fb:up:{bob}:en", "fb:down:en", f"fb:down:{bob}"):
        answered = await _press(h, BOB, alices, data)
        assert answered.get("text") == tg_texts.BUTTON_NOT_YOURS, data
    stats = await h.store.stats()
    assert (stats.thumbs_up_7d, stats.thumbs_down_7d) == (0, 0)
    assert len(h.fake.bot_messages(GROUP["id"])) == shown, "no 'What was wrong?' prompt for Bob"

    # Alice's own press counts, and her comment prompt is hers.
    assert (await _press(h, ALICE, alices, "fb:down:en")).get("text") is None
    prompt = h.fake.bot_messages(GROUP["id"])[-1]
    assert prompt.data["text"] == tg_texts.FEEDBACK_ASK_COMMENT
    assert (await h.store.stats()).thumbs_down_7d == 1


async def test_a_forged_talk_to_a_human_press_hands_off_no_one(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    alices = await _ask_in_group(h, ALICE, "the parcel machine ate my parcel, what now?")
    answered = await _press(h, BOB, alices, f"human:{BOB['id']}:en")
    assert answered.get("text") == tg_texts.BUTTON_NOT_YOURS
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no handoff: the button was Alice's"

    assert (await _press(h, ALICE, alices, "human:en")).get("text") is None
    await h.fake.wait_until(lambda: bool(h.fake.bot_messages(OPERATOR_CHAT["id"])))
    transcript = h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]
    assert transcript.startswith("🙋 Handoff #1 — Alice @alice (id 2001)")


async def test_buttons_sent_before_the_log_decided_whose_they_are_still_work(
    make_harness: HarnessFactory,
) -> None:
    # Data of older buttons: with the asker's id (and a language, or not), or with neither.
    h = await make_harness()
    alices = await _ask_in_group(h, ALICE, "how long do refunds take?")
    alice = str(ALICE["id"])
    assert (await _press(h, ALICE, alices, f"fb:up:{alice}:en")).get("text") == texts.FEEDBACK_THANKS
    assert (await _press(h, ALICE, alices, f"fb:up:{alice}")).get("text") == texts.FEEDBACK_THANKS
    assert (await _press(h, ALICE, alices, "fb:up")).get("text") == texts.FEEDBACK_THANKS
    assert (await _press(h, BOB, alices, f"fb:up:{alice}:en")).get("text") == tg_texts.BUTTON_NOT_YOURS
    assert (await _press(h, ALICE, alices, "fb:meh:en")).get("text") == tg_texts.BUTTON_EXPIRED
    assert (await h.store.stats()).thumbs_up_7d == 1


async def test_a_see_also_button_asks_its_section_and_only_for_the_asker(
    make_harness: HarnessFactory,
) -> None:
    """The other sections the search found are buttons under the answer; a press asks that section's
    heading as the asker's next question, answered under the answer and logged like a typed one."""
    h = await make_harness()
    alices = await _ask_in_group(h, ALICE, "how long do refunds or shipping take?")
    rows = alices.data["reply_markup"]["inline_keyboard"]
    see = [button for row in rows for button in row if button["callback_data"].startswith("see:")]
    assert [button["text"] for button in see] == ["📄 Shipping times"]
    assert see[0]["callback_data"] == "see:1:en"

    # Not Bob's to press; and data that names no button of the message is no question.
    assert (await _press(h, BOB, alices, "see:1:en")).get("text") == tg_texts.BUTTON_NOT_YOURS
    assert (await _press(h, ALICE, alices, "see:7:en")).get("text") == tg_texts.BUTTON_EXPIRED
    shown = len(h.fake.bot_messages(GROUP["id"]))
    assert shown == 1

    assert (await _press(h, ALICE, alices, "see:1:en")).get("text") is None
    answer = await h.reply_after(GROUP["id"], alices.message_id)
    await h.idle()
    for m in h.fake.bot_messages(GROUP["id"]):
        print(m.message_id, m.reply_to, repr(m.data.get("text")))
    final = h.fake.bot_messages(GROUP["id"])[-1]
    assert answer.reply_to == alices.message_id
    assert "Shipping times" in final.data["text"]  # its source
    history = await h.store.history(1, 10)  # Alice's, the only conversation
    assert [turn.text for turn in history if turn.role == "user"][-1] == "Shipping times"


async def test_a_see_also_press_asks_the_whole_heading_the_button_clips(make_harness: HarnessFactory) -> None:
    # A button shows 60 characters; the heading logged with the answer is asked whole, as the customer would
    # type it (the clipped label used to be the question, and searched on half its words).
    long_heading = "Shipping times to the islands, the Alps and other remote areas of Germany and Austria"
    refunds = make_chunk("billing/refunds.md", "Refunds", "How long do refunds take? Five business days.")
    remote = make_chunk("delivery/remote.md", long_heading, "How long does remote shipping take? Days.", 1)
    kb = FakeKB([refunds, remote])
    h = await make_harness(kb=kb)
    alices = await _ask_in_group(h, ALICE, "how long do refunds or remote shipping take?")
    rows = alices.data["reply_markup"]["inline_keyboard"]
    see = [button for row in rows for button in row if button["callback_data"].startswith("see:")]
    assert [button["text"] for button in see] == ["📄 " + long_heading[:59] + "…"]
    assert (await _press(h, ALICE, alices, see[0]["callback_data"])).get("text") is None
    await h.reply_after(GROUP["id"], alices.message_id)
    await h.idle()
    history = await h.store.history(1, 10)
    assert [turn.text for turn in history if turn.role == "user"][-1] == long_heading
