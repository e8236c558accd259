"""Customers get fixed texts in the language they write in: the detected one; the hint only when unsure."""

from __future__ import annotations

from bot import texts
from bot.devtools.fake_telegram import user
from bot.rag.pipeline import KB_UNAVAILABLE_TEXT, REFUSAL_TEXT
from tests.fakes import HELP_CENTER, FakeKB
from tests.telegram.conftest import OPERATOR_CHAT, HarnessFactory

from .test_e2e import buttons

LI = user(2101, "Li")
HANS = {**user(2102, "Hans"), "language_code": "de"}
ANNA = {**user(2103, "Anna"), "language_code": "en"}


def button_labels(message_data: dict[str, object]) -> list[str]:
    markup = message_data.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return [b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row]


async def test_chinese_question_gets_the_chinese_refusal_and_handoff(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    final = await h.ask(LI, "我的包裹丢了怎么办？")
    refusal = texts.translate(REFUSAL_TEXT, "zh")
    assert final.data["text"] == f"{refusal}\n\n{texts.translate(texts.HANDOFF_AFTER_REFUSAL, 'zh')}"
    assert final.data["text"].startswith("抱歉")
    # The log keeps what was shown, and the question's language.
    conversation = await h.store.open_conversation(
        channel="telegram", external_user_id="2101", external_chat_id="2101"
    )
    assert [t.text for t in await h.store.history(conversation.id, 10)] == ["我的包裹丢了怎么办？", refusal]
    assert await h.store.last_language(conversation.id) == "zh"
    # The operators are told the customer's language.
    transcript = h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]
    assert "Language: Chinese (zh)" in transcript
    assert f"Bot: {refusal}" in transcript
    # A command afterwards (no text to read) answers in the conversation's language.
    last = h.last_message_id(LI["id"])
    h.send(LI, "/help")
    helped = await h.reply_after(LI["id"], last)
    assert helped.data["text"].startswith("输入问题")


async def test_german_question_gets_german_fixed_texts_and_buttons(make_harness: HarnessFactory) -> None:
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True), operator_chat_id=None)
    final = await h.ask(HANS, "Wie lange dauert eine Rückerstattung bei euch?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "de")
    assert final.data["text"].startswith("Ich kann das gerade nicht nachschlagen")
    assert button_labels(final.data) == ["Mit einem Menschen sprechen"]
    assert buttons(final.data) == ["human:2102:de"]
    h.fake.inject(h.fake.callback_update(HANS, HANS["id"], final.message_id, "human:2102:de"))
    told = await h.reply_after(HANS["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_UNAVAILABLE, "de")
    assert told.data["text"].startswith("Entschuldigung")


async def test_answers_label_their_sources_in_the_question_language(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    # "refunds" matches the English help center; the question is plainly German.
    final = await h.ask(HANS, "Wie lange dauern refunds normalerweise bei Ihnen?")
    # (The shipped English model answers in English; telling it the language is the pipeline's part.)
    assert "\n\nQuellen\n[1] Refunds" in final.data["text"]
    assert "Sources" not in final.data["text"]
    assert button_labels(final.data)[-1] == "Mit einem Menschen sprechen"


async def test_the_hint_decides_only_what_text_cannot(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    h.send(HANS, "/start")  # nothing written yet: Telegram's language_code is all there is
    hello = await h.reply_after(HANS["id"], 0)
    assert hello.data["text"].startswith("Hallo Hans!")
    # A German client writing plain English gets English: the hint never overrides a sure detection.
    final = await h.ask(HANS, "How long do refunds take?")
    assert "\n\nSources\n[1] Refunds" in final.data["text"]
    assert "Talk to a human" in button_labels(final.data)
    # Too short to tell ("danke", small talk): the client's language decides.
    final = await h.ask(ANNA, "danke")
    assert final.data["text"] == texts.SMALL_TALK_REPLIES["thanks"]
