"""What the operator chat shows of a handoff: the transcript as the customer saw it, and a ✅ button only
while the handoff is open."""

from __future__ import annotations

import pytest
from telegram import Message

from bot import texts
from bot.channels.telegram.handoff import end_button_on, end_keyboard
from bot.devtools.fake_telegram import StoredMessage, user
from bot.kb.calibration import Calibration, LanguageFit
from bot.rag.pipeline import REFUSAL_TEXT
from tests.fakes import HELP_CENTER, FakeKB
from tests.telegram.conftest import ALICE, OPERATOR, OPERATOR_CHAT, Harness, HarnessFactory
from tests.telegram.test_e2e import buttons


async def _handed_off(h: Harness) -> StoredMessage:
    """Alice asks, then asks for a person; returns the transcript the operators got."""
    await h.ask(ALICE, "How long do refunds take?")
    before = h.last_message_id(ALICE["id"])
    h.send(ALICE, "/human")
    await h.reply_after(ALICE["id"], before)
    await h.fake.wait_until(lambda: bool(h.fake.bot_messages(OPERATOR_CHAT["id"])))
    transcript = h.fake.bot_messages(OPERATOR_CHAT["id"])[-1]
    assert transcript.data["reply_markup"] == end_keyboard(1).to_dict()
    return transcript


async def test_the_transcript_holds_the_small_talk_the_customer_saw(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    hello = await h.ask(ALICE, "Hi!")
    assert hello.data["text"] == texts.SMALL_TALK_REPLIES["greeting"]
    answer = await h.ask(ALICE, "How long do refunds take?")
    thanks = await h.ask(ALICE, "Thank you!")
    before = h.last_message_id(ALICE["id"])
    h.send(ALICE, "/human")
    await h.reply_after(ALICE["id"], before)
    await h.fake.wait_until(lambda: bool(h.fake.bot_messages(OPERATOR_CHAT["id"])))
    transcript = h.fake.bot_messages(OPERATOR_CHAT["id"])[-1].data["text"]
    said = [line for line in transcript.splitlines() if line.startswith(("User: ", "Bot: "))]
    assert said == [
        "User: Hi!",
        f"Bot: {texts.SMALL_TALK_REPLIES['greeting']}",
        "User: How long do refunds take?",
        "Bot: Refunds are paid back to the original card within five business days. [1]",
        "User: Thank you!",
        f"Bot: {texts.SMALL_TALK_REPLIES['thanks']}",
    ]
    assert answer.data["text"].startswith("Refunds are paid back to the original card within five")
    assert thanks.data["text"] == texts.SMALL_TALK_REPLIES["thanks"]


@pytest.mark.parametrize("how", ["button", "done to a forwarded message", "done to the transcript", "new"])
async def test_the_end_button_goes_when_the_handoff_ends(make_harness: HarnessFactory, how: str) -> None:
    h = await make_harness()
    ops = OPERATOR_CHAT["id"]
    transcript = await _handed_off(h)
    if how == "button":
        h.fake.inject(h.fake.callback_update(OPERATOR, ops, transcript.message_id, "ho:end:1"))
        await h.fake.wait_until(lambda: len(h.fake.answered_callbacks) == 1)
        assert [c.get("text") for c in h.fake.answered_callbacks.values()] == ["Handoff ended."]
    elif how == "done to a forwarded message":
        h.send(ALICE, "Hello? My order is 1234")
        forwarded = await h.reply_after(ops, transcript.message_id)
        h.send(OPERATOR, "/done", chat=OPERATOR_CHAT, reply_to=forwarded.message_id)
    elif how == "done to the transcript":
        h.send(OPERATOR, "/done", chat=OPERATOR_CHAT, reply_to=transcript.message_id)
    else:
        h.send(ALICE, "/new")
    await h.fake.wait_until(
        lambda: any(m.data["text"].startswith(("✅", "↩️")) for m in h.fake.bot_messages(ops))
    )
    await h.idle()
    assert (await h.store.get_conversation(1)).handoff == "none"  # type: ignore[union-attr]
    assert "reply_markup" not in transcript.data, f"the ✅ button stayed after ending it by {how}"
    assert not [c for c in h.fake.calls if not c.ok]


async def test_a_stale_end_button_says_so_and_goes(make_harness: HarnessFactory) -> None:
    # The handoff ended where this process could not take the button away (another worker, a restart).
    h = await make_harness()
    ops = OPERATOR_CHAT["id"]
    transcript = await _handed_off(h)
    assert await h.built.handlers.conversations.end_handoff(1) is not None
    assert "reply_markup" in transcript.data
    h.fake.inject(h.fake.callback_update(OPERATOR, ops, transcript.message_id, "ho:end:1"))
    await h.fake.wait_until(lambda: len(h.fake.answered_callbacks) == 1)
    await h.idle()
    assert [c.get("text") for c in h.fake.answered_callbacks.values()] == ["This handoff was already closed."]
    assert "reply_markup" not in transcript.data


def test_a_reply_to_the_transcript_names_the_button_it_carries() -> None:
    # /done replied to the transcript after a restart: the button is taken off the message replied to.
    def message(**fields: object) -> Message:
        data = {"message_id": 42, "date": 0, "chat": {"id": -100500, "type": "supergroup"}, **fields}
        return Message.de_json(data, None)  # type: ignore[arg-type]

    assert end_button_on(message(text="🙋 Handoff #7", reply_markup=end_keyboard(7).to_dict()), 7) == 42
    assert end_button_on(message(text="🙋 Handoff #7", reply_markup=end_keyboard(7).to_dict()), 8) is None
    assert end_button_on(message(text="💬 #7 Alice [en]: hi"), 7) is None
    assert end_button_on(None, 7) is None


async def test_told_to_ask_again_in_english_the_customer_is_answered_not_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # The refusal said "ask me again in English" and then "I've passed your question to a person": the
    # customer's English re-ask was only forwarded to the operators.
    kb = FakeKB(HELP_CENTER)
    kb.gate = Calibration(languages=(LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),))
    h = await make_harness(kb=kb)
    li = {**user(2107, "Li"), "language_code": "zh-hans"}
    refused = await h.ask(li, "我的包裹丢了怎么办？")
    refusal = texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "zh")
    assert refused.data["text"] == f"{refusal}\n\n{texts.kb_language_hint(('en',), 'zh')}"
    assert "human:zh" in buttons(refused.data), "the person is offered, not asked"
    again = await h.ask(li, "How long do refunds take?")
    assert "five business days" in again.data["text"]
    assert "\n\nSources\n[1] Refunds" in again.data["text"]
    await h.idle()
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "nothing went to the operators"
    # The offered button still brings a person in.
    h.fake.inject(h.fake.callback_update(li, li["id"], refused.message_id, "human:zh"))
    told = await h.reply_after(li["id"], again.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "zh")
    await h.fake.wait_until(lambda: bool(h.fake.bot_messages(OPERATOR_CHAT["id"])))
