"""Customers get fixed texts in the language they write in: the detected one; the hint only when unsure."""

from __future__ import annotations

from dataclasses import replace

from bot import texts
from bot.devtools.fake_telegram import user
from bot.rag.pipeline import KB_UNAVAILABLE_TEXT, REFUSAL_TEXT
from tests.fakes import HELP_CENTER, FakeKB, make_chunk
from tests.telegram.conftest import OPERATOR_CHAT, HarnessFactory

from .test_e2e import buttons

LI = user(2101, "Li")
HANS = {**user(2102, "Hans"), "language_code": "de"}
ANNA = {**user(2103, "Anna"), "language_code": "en"}
MEI = {**user(2104, "Mei"), "language_code": "zh-hant"}
YUKI = user(2105, "Yuki")
JOAO = {**user(2106, "João"), "language_code": "pt-br"}
GIULIA = {**user(2108, "Giulia"), "language_code": "it"}
IVAN = {**user(2109, "Ivan"), "language_code": "ru"}
SANNE = {**user(2111, "Sanne"), "language_code": "nl"}
BUDI = {**user(2112, "Budi"), "language_code": "id"}
AYSE = {**user(2114, "Ayşe"), "language_code": "tr"}
LAN = {**user(2117, "Lan"), "language_code": "vi"}
SOMCHAI = {**user(2119, "Somchai"), "language_code": "th"}
PRIYA = {**user(2121, "Priya"), "language_code": "hi"}
AHMED = {**user(2123, "Ahmed"), "language_code": "ar"}
MARYAM = {**user(2126, "Maryam"), "language_code": "fa"}
ELENI = {**user(2128, "Eleni"), "language_code": "el"}
OKSANA = {**user(2130, "Oksana"), "language_code": "uk"}
NOA = {**user(2131, "Noa"), "language_code": "he"}
TEREZA = {**user(2134, "Tereza"), "language_code": "cs"}
ASTRID = {**user(2136, "Astrid"), "language_code": "sv"}
ZSOFIA = {**user(2138, "Zsófia"), "language_code": "hu"}
KASIA = {**user(2140, "Kasia"), "language_code": "pl"}
JA_RETURNS = replace(
    make_chunk("ja/returns.md", "返金", "Parcelly 退款 会員の返金は五営業日以内に行われます。", 1), lang="ja"
)
ZH_RETURNS = replace(
    make_chunk(
        "zh/returns.md",
        "退款需要多长时间",
        "Parcelly 退款 仓库收到退货后五个工作日内退款，钱会退回到原来的付款方式。",
        1,
    ),
    lang="zh",
)


def button_labels(message_data: dict[str, object]) -> list[str]:
    markup = message_data.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return [b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row]


async def test_chinese_question_gets_the_chinese_refusal_and_handoff(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    final = await h.ask(LI, "我的包裹丢了怎么办？")
    refusal = texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "zh")  # the person is asked already
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


async def test_traditional_chinese_gets_traditional_texts_and_quotes(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    # Nothing in the help center: the refusal and handoff in Traditional characters, and buttons that
    # carry the script along.
    final = await h.ask(MEI, "我的包裹遺失了怎麼辦？")
    refusal = texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "zh-Hant")  # the person is asked already
    assert final.data["text"] == f"{refusal}\n\n{texts.translate(texts.HANDOFF_AFTER_REFUSAL, 'zh-Hant')}"
    assert "幫助中心" in final.data["text"]
    assert "帮助中心" not in final.data["text"]
    conversation = await h.store.open_conversation(
        channel="telegram", external_user_id="2104", external_chat_id="2104"
    )
    assert await h.store.last_language(conversation.id) == "zh-Hant"
    transcript = h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]
    assert "Language: Chinese (Traditional) (zh-Hant)" in transcript
    last = h.last_message_id(MEI["id"])
    h.send(MEI, "/help")
    helped = await h.reply_after(MEI["id"], last)
    assert helped.data["text"].startswith("輸入問題")


async def test_a_simplified_passage_is_quoted_in_traditional_characters(make_harness: HarnessFactory) -> None:
    kb = FakeKB([ZH_RETURNS])
    h = await make_harness(kb=kb)
    final = await h.ask(MEI, "Parcelly 退款 要等幾天？")
    text = final.data["text"]
    # The shipped model writes English only: the passage is quoted, in the customer's script, with its source.
    assert "倉庫收到退貨後五個工作日內退款" in text
    assert "仓库" not in text
    assert "退款需要多长时间" in text  # the source keeps the article's own heading
    assert buttons(final.data)[0] == "fb:up:zh-Hant"
    h.fake.inject(h.fake.callback_update(MEI, MEI["id"], final.message_id, "fb:up:zh-Hant"))
    await h.fake.wait_until(lambda: len(h.fake.answered_callbacks) == 1)
    (thanked,) = h.fake.answered_callbacks.values()
    assert thanked["text"] == texts.translate(texts.FEEDBACK_THANKS, "zh-Hant")


async def test_taiwanese_small_talk_is_answered_and_a_goodbye_is_no_follow_up(
    make_harness: HarnessFactory,
) -> None:
    # A Taiwanese trial: "哈囉" and "謝啦" were refused, and "掰掰" after an answer was read as a follow-up
    # and answered with the previous quote again.
    h = await make_harness(kb=FakeKB([ZH_RETURNS]))
    hello = await h.ask(MEI, "哈囉")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "zh-Hant")
    answered = await h.ask(MEI, "Parcelly 退款 要等幾天？")
    assert "倉庫收到退貨後五個工作日內退款" in answered.data["text"]
    bye = await h.ask(MEI, "掰掰")
    assert bye.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "zh-Hant")
    thanks = await h.ask(MEI, "謝啦")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "zh-Hant")


async def test_a_japanese_passage_is_quoted_as_written_to_a_chinese_customer(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(kb=FakeKB([JA_RETURNS]))
    final = await h.ask(MEI, "Parcelly 退款 要等幾天？")
    # Japanese kanji are not Simplified Chinese: the quote keeps them (会員, not 會員).
    assert "会員" in final.data["text"]
    assert "會員" not in final.data["text"]


async def test_portuguese_question_gets_portuguese_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # A Brazilian shop's trial: every refusal, lead and button was English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(JOAO, "Quanto tempo demora o reembolso de vocês?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "pt")
    assert final.data["text"].startswith("Não consigo consultar isso agora")
    assert button_labels(final.data) == ["Falar com uma pessoa"]
    h.fake.inject(h.fake.callback_update(JOAO, JOAO["id"], final.message_id, "human:pt"))
    told = await h.reply_after(JOAO["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "pt")
    assert told.data["text"].startswith("Pedi para uma pessoa")


async def test_italian_question_gets_italian_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # An Italian trial: every refusal, lead, handoff notice and button was English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(GIULIA, "Quanto tempo ci vuole per ricevere il rimborso?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "it")
    assert final.data["text"].startswith("In questo momento non riesco")
    assert button_labels(final.data) == ["Parla con una persona"]
    h.fake.inject(h.fake.callback_update(GIULIA, GIULIA["id"], final.message_id, "human:it"))
    told = await h.reply_after(GIULIA["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "it")
    assert told.data["text"].startswith("Ho chiesto a una persona")


async def test_an_italian_ciao_is_greeted_and_a_grazie_thanked(make_harness: HarnessFactory) -> None:
    # An Italian trial's first message "ciao" was answered "Goodbye, and thanks for getting in touch!".
    h = await make_harness()
    hello = await h.ask(GIULIA, "ciao")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "it")
    assert hello.data["text"].startswith("Ciao! Come posso aiutarti?")
    thanks = await h.ask(GIULIA, "perfetto grazie")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "it")


async def test_russian_small_talk_as_russians_chat_is_answered(make_harness: HarnessFactory) -> None:
    # A Russian trial's "ку" (hi) was refused as a question the help center does not answer.
    h = await make_harness()
    hello = await h.ask(IVAN, "ку")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "ru")
    assert hello.data["text"].startswith("Здравствуйте")
    thanks = await h.ask(IVAN, "понял, спасибо большое")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "ru")


async def test_dutch_question_gets_dutch_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Dutch customers (the Netherlands and Flanders) read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(SANNE, "Hoe lang duurt het voordat ik mijn geld terug krijg?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "nl")
    assert final.data["text"].startswith("Ik kan dat nu niet opzoeken")
    assert button_labels(final.data) == ["Praat met een medewerker"]
    h.fake.inject(h.fake.callback_update(SANNE, SANNE["id"], final.message_id, "human:nl"))
    told = await h.reply_after(SANNE["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "nl")
    assert told.data["text"].startswith("Ik heb een medewerker")


async def test_a_dutch_dag_is_greeted_and_a_dank_je_thanked(make_harness: HarnessFactory) -> None:
    # Looked up, each was a question the help center does not answer.
    h = await make_harness()
    hello = await h.ask(SANNE, "dag")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "nl")
    assert hello.data["text"].startswith("Hallo! Waarmee kan ik je helpen?")
    thanks = await h.ask(SANNE, "top, dank je")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "nl")
    bye = await h.ask(SANNE, "doei")
    assert bye.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "nl")


async def test_a_dutch_request_for_a_person_is_handed_off_at_once(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    asked = await h.ask(SANNE, "ik wil een medewerker spreken")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "nl")
    assert "Language: Dutch (nl)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_dutch_question_without_a_hint_is_refused_in_dutch(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2110, "Bram"), "Mijn pakket is niet aangekomen, wat moet ik doen?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "nl")
    assert final.data["text"].startswith("Het spijt me")


async def test_indonesian_question_gets_indonesian_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # An Indonesian trial (an e-wallet's help center) read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(BUDI, "berapa lama uang saya dikembalikan kalau paket saya hilang?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "id")
    assert final.data["text"].startswith("Saat ini saya tidak bisa mencarinya")
    assert button_labels(final.data) == ["Bicara dengan petugas"]
    h.fake.inject(h.fake.callback_update(BUDI, BUDI["id"], final.message_id, "human:id"))
    told = await h.reply_after(BUDI["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "id")
    assert told.data["text"].startswith("Saya sudah meminta petugas")


async def test_an_indonesian_halo_is_greeted_and_a_makasih_thanked(make_harness: HarnessFactory) -> None:
    # An Indonesian e-wallet's trial: each was refused as a question and handed to a person.
    h = await make_harness()
    hello = await h.ask(BUDI, "halo")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "id")
    assert hello.data["text"].startswith("Halo! Ada yang bisa saya bantu?")
    thanks = await h.ask(BUDI, "makasih kak")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "id")
    bye = await h.ask(BUDI, "dadah")
    assert bye.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "id")


async def test_an_indonesian_request_for_a_person_is_handed_off_at_once(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    asked = await h.ask(BUDI, "mau ngomong sama CS")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "id")
    assert "Language: Indonesian (id)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_an_indonesian_question_without_a_hint_is_refused_in_indonesian(
    make_harness: HarnessFactory,
) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2113, "Sari"), "paket saya belum sampai, apa yang harus saya lakukan?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "id")
    assert final.data["text"].startswith("Mohon maaf")


async def test_turkish_question_gets_turkish_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # A Turkish marketplace's trial read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(AYSE, "iade ettiğim ürünün parası ne zaman hesabıma geçer?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "tr")
    assert final.data["text"].startswith("Şu anda bunu araştıramıyorum")
    assert button_labels(final.data) == ["Temsilciyle görüş"]
    h.fake.inject(h.fake.callback_update(AYSE, AYSE["id"], final.message_id, "human:tr"))
    told = await h.reply_after(AYSE["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "tr")
    assert told.data["text"].startswith("Destek ekibimizden bir temsilcinin")
    assert "Language: Turkish (tr)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_turkish_merhaba_is_greeted_and_a_tesekkurler_thanked(make_harness: HarnessFactory) -> None:
    # A Turkish marketplace's trial: "merhaba", "teşekkürler", "tamam" and "görüşürüz" got the English
    # refusal.
    h = await make_harness()
    hello = await h.ask(AYSE, "merhaba")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "tr")
    assert hello.data["text"].startswith("Merhaba! Size nasıl yardımcı olabilirim?")
    thanks = await h.ask(AYSE, "tesekkurler")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "tr")
    ok = await h.ask(AYSE, "tamam")
    assert ok.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["ok"], "tr")
    bye = await h.ask(AYSE, "görüşürüz")
    assert bye.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "tr")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"


async def test_a_turkish_request_for_a_person_is_handed_off_at_once(make_harness: HarnessFactory) -> None:
    # The trial's "müşteri temsilcisiyle görüşmek istiyorum" was looked up; "canlı destek" alone too.
    h = await make_harness()
    asked = await h.ask(AYSE, "müşteri temsilcisiyle görüşmek istiyorum")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "tr")
    assert "Language: Turkish (tr)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]
    live = await h.ask({**user(2116, "Can"), "language_code": "tr"}, "canlı destek")
    assert live.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "tr")


async def test_a_turkish_question_without_a_hint_is_refused_in_turkish(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2115, "Mehmet"), "kargom hala gelmedi, ne yapmam gerekiyor?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "tr")
    assert final.data["text"].startswith("Üzgünüm")


async def test_vietnamese_question_gets_vietnamese_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # A Vietnamese trial (a telecom's help center) read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(LAN, "gói hàng của tôi bị mất thì bao lâu được hoàn tiền?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "vi")
    assert final.data["text"].startswith("Hiện tại mình chưa tra cứu được")
    assert button_labels(final.data) == ["Gặp nhân viên hỗ trợ"]
    h.fake.inject(h.fake.callback_update(LAN, LAN["id"], final.message_id, "human:vi"))
    told = await h.reply_after(LAN["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "vi")
    assert told.data["text"].startswith("Mình đã mời nhân viên hỗ trợ")
    assert "Language: Vietnamese (vi)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_vietnamese_xin_chao_is_greeted_and_a_cam_on_thanked(make_harness: HarnessFactory) -> None:
    # A Vietnamese telecom's trial: each was refused as a question; customers often type without marks.
    h = await make_harness()
    hello = await h.ask(LAN, "xin chao ad")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "vi")
    assert hello.data["text"].startswith("Xin chào! Mình có thể giúp gì cho bạn?")
    thanks = await h.ask(LAN, "cảm ơn nhiều ạ")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "vi")
    bye = await h.ask(LAN, "tạm biệt")
    assert bye.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "vi")


async def test_a_vietnamese_request_for_a_person_is_handed_off_at_once(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    asked = await h.ask(LAN, "cho em gap nhan vien")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "vi")
    assert "Language: Vietnamese (vi)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_vietnamese_question_without_a_hint_is_refused_in_vietnamese(
    make_harness: HarnessFactory,
) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2118, "Minh"), "gói hàng của tôi chưa tới, tôi phải làm gì?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "vi")
    assert final.data["text"].startswith("Rất tiếc")


async def test_thai_question_gets_thai_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Thai customers read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(SOMCHAI, "พัสดุของฉันหายไป จะได้เงินคืนภายในกี่วัน")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "th")
    assert final.data["text"].startswith("ขณะนี้เรายังค้นหาข้อมูลให้ไม่ได้")
    assert button_labels(final.data) == ["คุยกับเจ้าหน้าที่"]
    h.fake.inject(h.fake.callback_update(SOMCHAI, SOMCHAI["id"], final.message_id, "human:th"))
    told = await h.reply_after(SOMCHAI["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "th")
    assert told.data["text"].startswith("เราขอให้เจ้าหน้าที่ฝ่ายบริการลูกค้าเข้ามาในแชทแล้ว")
    assert "Language: Thai (th)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_thai_sawasdee_is_greeted_and_a_khob_khun_thanked(make_harness: HarnessFactory) -> None:
    # Thai writes no spaces, and its vowels and tones are combining marks: each was looked up as a question.
    h = await make_harness()
    hello = await h.ask(SOMCHAI, "สวัสดีครับ")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "th")
    assert hello.data["text"].startswith("สวัสดี มีอะไรให้เราช่วยไหม")
    thanks = await h.ask(SOMCHAI, "ขอบคุณมากครับ")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "th")
    bye = await h.ask(SOMCHAI, "ขอบคุณครับ สวัสดีครับ")
    assert bye.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "th")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"


async def test_a_thai_request_for_a_person_is_handed_off_at_once(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    asked = await h.ask(SOMCHAI, "ขอคุยกับเจ้าหน้าที่ครับ")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "th")
    assert "Language: Thai (th)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_thai_question_without_a_hint_is_refused_in_thai(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2120, "Malee"), "พัสดุของฉันยังไม่มาถึง ต้องทำอย่างไร")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "th")
    assert final.data["text"].startswith("ขออภัย")


async def test_hindi_question_gets_hindi_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Hindi customers read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(PRIYA, "मेरा पार्सल खो गया है, रिफंड कितने दिन में मिलेगा?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "hi")
    assert final.data["text"].startswith("अभी हम यह जानकारी नहीं ढूँढ पा रहे हैं।")
    assert button_labels(final.data) == ["एजेंट से बात करें"]
    h.fake.inject(h.fake.callback_update(PRIYA, PRIYA["id"], final.message_id, "human:hi"))
    told = await h.reply_after(PRIYA["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "hi")
    assert told.data["text"].startswith("हमने अपनी सपोर्ट टीम के एक सदस्य को")
    assert "Language: Hindi (hi)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_hindi_namaste_is_greeted_and_a_dhanyavad_thanked(make_harness: HarnessFactory) -> None:
    # Devanagari's vowel signs and viramas are combining marks: each was looked up as a question.
    h = await make_harness()
    hello = await h.ask(PRIYA, "नमस्ते जी")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "hi")
    assert hello.data["text"].startswith("नमस्ते! बताइए, हम आपकी क्या मदद कर सकते हैं?")
    thanks = await h.ask(PRIYA, "बहुत बहुत धन्यवाद")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "hi")
    bye = await h.ask(PRIYA, "धन्यवाद, नमस्ते")
    assert bye.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "hi")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"


async def test_a_hindi_request_for_a_person_is_handed_off_at_once(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    asked = await h.ask(PRIYA, "एजेंट से बात करनी है")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "hi")
    assert "Language: Hindi (hi)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_hindi_question_without_a_hint_is_refused_in_hindi(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2122, "Rahul"), "मेरा पार्सल अभी तक नहीं आया, मुझे क्या करना चाहिए?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "hi")
    assert final.data["text"].startswith("माफ़ कीजिए")


async def test_arabic_question_gets_arabic_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Arabic customers read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(AHMED, "فقدت طردي، متى أسترد أموالي؟")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "ar")
    assert final.data["text"].startswith("لا يمكننا البحث عن ذلك الآن.")
    assert button_labels(final.data) == ["التحدث مع موظف"]
    h.fake.inject(h.fake.callback_update(AHMED, AHMED["id"], final.message_id, "human:ar"))
    told = await h.reply_after(AHMED["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "ar")
    assert told.data["text"].startswith("طلبنا من أحد موظفي فريق الدعم الانضمام إلى المحادثة")
    assert "Language: Arabic (ar)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_an_arabic_greeting_is_greeted_and_a_thanks_thanked(make_harness: HarnessFactory) -> None:
    # Each was looked up as a question, and refused.
    h = await make_harness()
    hello = await h.ask(AHMED, "السلام عليكم")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "ar")
    assert hello.data["text"].startswith("مرحبًا! كيف يمكننا مساعدتك؟")
    thanks = await h.ask(AHMED, "شكرًا جزيلًا")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "ar")
    bye = await h.ask(AHMED, "تمام، مع السلامة")
    assert bye.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "ar")
    # An Egyptian greeting without a hint: the model's Egyptian Arabic ("arz") is Arabic.
    egypt = await h.ask(user(2125, "Omar"), "ازيك عامل ايه")
    assert egypt.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "ar")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"


async def test_an_arabic_request_for_a_person_is_handed_off_at_once(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    asked = await h.ask(AHMED, "ابي اكلم موظف")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "ar")
    assert "Language: Arabic (ar)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_an_arabic_question_without_a_hint_is_refused_in_arabic(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2124, "Mona"), "طردي لم يصل بعد، ماذا أفعل؟")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "ar")
    assert final.data["text"].startswith("عذرًا")


async def test_persian_question_gets_persian_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Persian customers read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(MARYAM, "بسته‌ام گم شده، پولم را کی پس می‌گیرم؟")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "fa")
    assert final.data["text"].startswith("در حال حاضر نمی‌توانیم این را جست‌وجو کنیم.")
    assert button_labels(final.data) == ["گفت‌وگو با کارشناس"]
    h.fake.inject(h.fake.callback_update(MARYAM, MARYAM["id"], final.message_id, "human:fa"))
    told = await h.reply_after(MARYAM["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "fa")
    assert told.data["text"].startswith("از یکی از کارشناسان پشتیبانی خواستیم به گفت‌وگو بپیوندد")
    assert "Language: Persian (fa)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_persian_question_without_a_hint_is_refused_in_persian(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2127, "Reza"), "سفارشم هنوز نرسیده، باید چه کار کنم؟")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "fa")
    assert final.data["text"].startswith("متأسفیم")


async def test_a_persian_greeting_is_greeted_and_a_request_for_a_person_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # Each was looked up as a question: the greeting and the thanks were refused, the request answered.
    h = await make_harness()
    hello = await h.ask(MARYAM, "سلام خسته نباشید")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "fa")
    thanks = await h.ask(MARYAM, "خیلی ممنون")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "fa")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"
    asked = await h.ask(MARYAM, "میخوام با یه آدم حرف بزنم")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "fa")
    assert "Language: Persian (fa)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_greek_question_gets_greek_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Greek customers read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(ELENI, "Το δέμα μου χάθηκε, πότε θα πάρω πίσω τα χρήματά μου;")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "el")
    assert final.data["text"].startswith("Δεν μπορούμε να το αναζητήσουμε αυτή τη στιγμή.")
    assert button_labels(final.data) == ["Συνομιλία με εκπρόσωπο"]
    h.fake.inject(h.fake.callback_update(ELENI, ELENI["id"], final.message_id, "human:el"))
    told = await h.reply_after(ELENI["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "el")
    assert told.data["text"].startswith("Ζητήσαμε από έναν εκπρόσωπο της ομάδας υποστήριξης να συνδεθεί.")
    assert "Language: Greek (el)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_greek_question_without_a_hint_is_refused_in_greek(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2129, "Giorgos"), "Το δέμα μου δεν έχει φτάσει ακόμα, τι να κάνω;")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "el")
    assert final.data["text"].startswith("Λυπούμαστε")


async def test_a_greek_greeting_is_greeted_and_a_request_for_a_person_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # A Greek trial: "γεια σας" and "ευχαριστώ πολύ!" were refused, and "θέλω να μιλήσω με έναν άνθρωπο"
    # quoted the support hours.
    h = await make_harness()
    hello = await h.ask(ELENI, "γεια σας")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "el")
    thanks = await h.ask(ELENI, "ευχαριστώ πολύ!")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "el")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"
    asked = await h.ask(ELENI, "θέλω να μιλήσω με έναν άνθρωπο")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "el")
    assert "Language: Greek (el)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_ukrainian_greeting_is_greeted_and_a_request_for_a_person_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # Each was looked up as a question: the greeting and the thanks were refused, the request answered.
    h = await make_harness()
    hello = await h.ask(OKSANA, "Добрий день!")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "uk")
    thanks = await h.ask(OKSANA, "щиро дякую")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "uk")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"
    asked = await h.ask(OKSANA, "зʼєднайте мене з оператором, будь ласка")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "uk")
    assert "Language: Ukrainian (uk)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_hebrew_greeting_is_greeted_and_a_request_for_a_person_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # Each was looked up as a question: the greeting and the thanks were refused, the request answered.
    h = await make_harness()
    hello = await h.ask(NOA, "שלום")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "he")
    thanks = await h.ask(NOA, "תודה רבה אחי")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "he")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"
    asked = await h.ask(NOA, "אני רוצה לדבר עם נציג")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "he")
    assert "Language: Hebrew (he)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_czech_greeting_is_greeted_and_a_request_for_a_person_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # Each was looked up as a question: the greeting and the thanks were refused, the request answered.
    h = await make_harness()
    hello = await h.ask(TEREZA, "Dobrý den!")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "cs")
    thanks = await h.ask(TEREZA, "dekuju moc")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "cs")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"
    asked = await h.ask(TEREZA, "chci mluvit s clovekem")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "cs")
    assert "Language: Czech (cs)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_swedish_greeting_is_greeted_and_a_request_for_a_person_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # Each was looked up as a question: the greeting and the thanks were refused, the request answered.
    h = await make_harness()
    hello = await h.ask(ASTRID, "Hejsan!")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "sv")
    thanks = await h.ask(ASTRID, "tack sa mycket")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "sv")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"
    asked = await h.ask(ASTRID, "jag vill prata med en manniska")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "sv")
    assert "Language: Swedish (sv)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_hungarian_greeting_is_greeted_and_a_request_for_a_person_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # Each was looked up as a question: the greeting and the thanks were refused, the request answered.
    h = await make_harness()
    hello = await h.ask(ZSOFIA, "Jó napot kívánok!")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "hu")
    thanks = await h.ask(ZSOFIA, "koszonom szepen")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "hu")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"
    asked = await h.ask(ZSOFIA, "ugyintezovel szeretnek beszelni")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "hu")
    assert "Language: Hungarian (hu)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_polish_greeting_is_greeted_and_a_request_for_a_person_handed_off(
    make_harness: HarnessFactory,
) -> None:
    # Each was looked up as a question: the greeting and the thanks were refused, the request answered.
    h = await make_harness()
    hello = await h.ask(KASIA, "Dzień dobry!")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "pl")
    thanks = await h.ask(KASIA, "dziekuje bardzo")
    assert thanks.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "pl")
    assert h.fake.bot_messages(OPERATOR_CHAT["id"]) == [], "no person called in for small talk"
    asked = await h.ask(KASIA, "polacz mnie z czlowiekiem")
    assert asked.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "pl")
    assert "Language: Polish (pl)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_ukrainian_question_gets_ukrainian_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Ukrainian customers read every refusal, lead and button in English.
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(OKSANA, "Моя посилка загубилася, коли мені повернуть гроші?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "uk")
    assert final.data["text"].startswith("Зараз ми не можемо виконати пошук.")
    assert button_labels(final.data) == ["Зв’язатися з оператором"]
    h.fake.inject(h.fake.callback_update(OKSANA, OKSANA["id"], final.message_id, "human:uk"))
    told = await h.reply_after(OKSANA["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "uk")
    assert told.data["text"].startswith("Ми попросили оператора служби підтримки приєднатися до чату.")
    assert "Language: Ukrainian (uk)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_ukrainian_question_without_a_hint_is_refused_in_ukrainian(
    make_harness: HarnessFactory,
) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2132, "Taras"), "Моє замовлення досі не прийшло, що мені робити?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "uk")
    assert final.data["text"].startswith("Перепрошуємо, ми не знайшли")


async def test_hebrew_question_gets_hebrew_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Hebrew customers read every refusal, lead and button in English, and operators read "he".
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(NOA, "החבילה שלי אבדה, מתי אקבל את הכסף בחזרה?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "he")
    assert final.data["text"].startswith("כרגע לא ניתן לחפש את המידע. אפשר לנסות שוב בעוד כמה דקות")
    assert button_labels(final.data) == ["שיחה עם נציג"]
    h.fake.inject(h.fake.callback_update(NOA, NOA["id"], final.message_id, "human:he"))
    told = await h.reply_after(NOA["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "he")
    assert told.data["text"].startswith("ביקשנו מנציג מצוות התמיכה להצטרף לשיחה.")
    assert told.data["text"].endswith("אפשר לשלוח \u200e/new.")
    assert "Language: Hebrew (he)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_hebrew_question_without_a_hint_is_refused_in_hebrew(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2133, "Yossi"), "ההזמנה שלי עדיין לא הגיעה, מה עושים?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "he")
    assert final.data["text"].startswith("מצטערים")


async def test_czech_question_gets_czech_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Czech customers read every refusal, lead and button in English, and operators read "cs".
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(TEREZA, "Moje zásilka se ztratila, kdy mi vrátíte peníze?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "cs")
    assert final.data["text"].startswith("Teď to bohužel nemůžeme vyhledat.")
    assert button_labels(final.data) == ["Spojit s operátorem"]
    h.fake.inject(h.fake.callback_update(TEREZA, TEREZA["id"], final.message_id, "human:cs"))
    told = await h.reply_after(TEREZA["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "cs")
    assert told.data["text"].startswith("Požádali jsme operátora zákaznické podpory, aby se připojil.")
    assert "Language: Czech (cs)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_czech_question_without_a_hint_is_refused_in_czech(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2135, "Petr"), "Moje objednávka ještě nedorazila, co mám dělat?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "cs")
    assert final.data["text"].startswith("Omlouváme se, tuto informaci jsme")


async def test_swedish_question_gets_swedish_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Swedish customers read every refusal, lead and button in English, and operators read "sv".
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(ASTRID, "Mitt paket har försvunnit, när får jag tillbaka pengarna?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "sv")
    assert final.data["text"].startswith("Vi kan tyvärr inte söka efter det just nu.")
    assert button_labels(final.data) == ["Prata med en medarbetare"]
    h.fake.inject(h.fake.callback_update(ASTRID, ASTRID["id"], final.message_id, "human:sv"))
    told = await h.reply_after(ASTRID["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "sv")
    assert told.data["text"].startswith("Vi har bett en medarbetare på kundtjänst att ansluta.")
    assert "Language: Swedish (sv)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_swedish_question_without_a_hint_is_refused_in_swedish(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2137, "Erik"), "Min beställning har inte kommit fram, vad ska jag göra?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "sv")
    assert final.data["text"].startswith("Tyvärr hittade vi inte det här")


async def test_hungarian_question_gets_hungarian_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Hungarian customers read every refusal, lead and button in English, and operators read "hu".
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(ZSOFIA, "Elveszett a csomagom, mikor kapom vissza a pénzemet?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "hu")
    assert final.data["text"].startswith("Ezt most sajnos nem tudjuk megkeresni.")
    assert button_labels(final.data) == ["Beszélgetés ügyintézővel"]
    h.fake.inject(h.fake.callback_update(ZSOFIA, ZSOFIA["id"], final.message_id, "human:hu"))
    told = await h.reply_after(ZSOFIA["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "hu")
    assert told.data["text"].startswith("Megkértük ügyfélszolgálatunk egyik ügyintézőjét, hogy csatlakozzon.")
    assert "Language: Hungarian (hu)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_hungarian_question_without_a_hint_is_refused_in_hungarian(
    make_harness: HarnessFactory,
) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2139, "Bence"), "A rendelésem még nem érkezett meg, mit tegyek?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "hu")
    assert final.data["text"].startswith("Sajnáljuk, ezt nem találtuk meg")


async def test_polish_question_gets_polish_texts_and_buttons(make_harness: HarnessFactory) -> None:
    # Polish customers read every refusal, lead and button in English, and operators read "pl".
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(KASIA, "Moja paczka zaginęła, kiedy dostanę zwrot pieniędzy?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "pl")
    assert final.data["text"].startswith("Nie możemy teraz tego wyszukać.")
    assert button_labels(final.data) == ["Porozmawiaj z konsultantem"]
    h.fake.inject(h.fake.callback_update(KASIA, KASIA["id"], final.message_id, "human:pl"))
    told = await h.reply_after(KASIA["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "pl")
    assert told.data["text"].startswith("Poprosiliśmy konsultanta z naszego zespołu obsługi klienta")
    assert "Language: Polish (pl)" in h.fake.bot_messages(OPERATOR_CHAT["id"])[0].data["text"]


async def test_a_polish_question_without_a_hint_is_refused_in_polish(make_harness: HarnessFactory) -> None:
    # No language_code: the detected language alone decides.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2141, "Marek"), "Moje zamówienie jeszcze nie dotarło, co mam zrobić?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "pl")
    assert final.data["text"].startswith("Przepraszamy, nie znaleźliśmy")


async def test_korean_question_gets_korean_fixed_texts(make_harness: HarnessFactory) -> None:
    # A Korean trial of the Debian FAQ: every refusal was English.
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(user(2107, "Minji"), "택배가 안 오면 어떻게 해야 하나요?")
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "ko")
    assert final.data["text"].startswith("죄송합니다")


async def test_japanese_question_gets_japanese_fixed_texts(make_harness: HarnessFactory) -> None:
    h = await make_harness(operator_chat_id=None)
    final = await h.ask(YUKI, "荷物が届かない場合はどうすればいいですか？")
    # No operator chat: the refusal offers no person.
    assert final.data["text"] == texts.translate(texts.WITHOUT_OPERATORS[REFUSAL_TEXT], "ja")
    assert final.data["text"].startswith("申し訳ありません")
    assert button_labels(final.data) == []


async def test_german_question_gets_german_fixed_texts_and_buttons(make_harness: HarnessFactory) -> None:
    h = await make_harness(kb=FakeKB(HELP_CENTER, down=True))
    final = await h.ask(HANS, "Wie lange dauert eine Rückerstattung bei euch?")
    assert final.data["text"] == texts.translate(KB_UNAVAILABLE_TEXT, "de")
    assert final.data["text"].startswith("Ich kann das gerade nicht nachschlagen")
    assert button_labels(final.data) == ["Mit einem Menschen sprechen"]
    assert buttons(final.data) == ["human:de"]
    h.fake.inject(h.fake.callback_update(HANS, HANS["id"], final.message_id, "human:de"))
    told = await h.reply_after(HANS["id"], final.message_id)
    assert told.data["text"] == texts.translate(texts.HANDOFF_REQUESTED, "de")
    assert told.data["text"].startswith("Ich habe eine Person")


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


async def test_the_command_menu_is_registered_in_every_shipped_language() -> None:
    from telegram import Bot

    from bot.channels.telegram.app import set_command_menus
    from bot.devtools.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer

    async with FakeTelegramServer() as server, Bot(DEFAULT_TOKEN, base_url=server.base_url) as bot:
        await set_command_menus(bot)
        menus = server.fake.command_menus
        assert sorted(menus) == [
            "", "ar", "cs", "de", "el", "es", "fa", "fr", "he", "hi", "hu", "id", "it", "ja", "ko", "nl",
            "pl", "pt", "ru", "sv", "th", "tr", "uk", "vi", "zh",
        ]  # fmt: skip
        assert [c["command"] for c in menus["de"]] == ["start", "help", "new", "human"]
        assert menus[""][3]["description"] == "Talk to a person from our team"
        assert menus["de"][3]["description"] == "Mit einer Person aus unserem Team sprechen"
        assert (
            menus["zh"][1]["description"]
            == texts.translate("How to use the bot", "zh")
            != "How to use the bot"
        )
        # What a German app asks for is what it gets back.
        assert [c.description for c in await bot.get_my_commands(language_code="de")][
            0
        ] == "Was dieser Bot kann"


async def test_someone_elses_button_is_refused_in_the_pressers_language(make_harness: HarnessFactory) -> None:
    # Hans (German app) presses the English answer's button in a group: told in German, not in its asker's.
    from bot.channels.telegram import texts as tg_texts
    from bot.devtools.fake_telegram import group_chat
    from tests.telegram.conftest import ALICE

    h = await make_harness()
    group = group_chat(-100901, "Customers")
    mention = [{"type": "mention", "offset": 0, "length": len("@support_test_bot")}]
    final = await h.ask(ALICE, "@support_test_bot how long do refunds take?", chat=group, entities=mention)
    (data,) = [b for b in buttons(final.data) if b.startswith("fb:up:")]
    h.fake.inject(h.fake.callback_update(HANS, group["id"], final.message_id, data))
    await h.fake.wait_until(lambda: len(h.fake.answered_callbacks) == 1)
    (answered,) = h.fake.answered_callbacks.values()
    assert (
        answered.get("text") == texts.translate(tg_texts.BUTTON_NOT_YOURS, "de") != tg_texts.BUTTON_NOT_YOURS
    )


async def test_without_a_language_code_a_short_reply_keeps_the_conversations_language(
    make_harness: HarnessFactory,
) -> None:
    # No `language_code`: "danke" after a German question got "You're welcome!" in English, and /help after
    # it came in English; "ok" after "你好" got the English reply.
    from bot.channels.telegram import texts as tg_texts

    klaus = user(2106, "Klaus")
    h = await make_harness()
    answered = await h.ask(klaus, "Wie lange dauern refunds normalerweise bei Ihnen?")
    assert "\n\nQuellen\n[1] Refunds" in answered.data["text"]
    thanks = await h.ask(klaus, "danke")
    german = texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "de")
    assert thanks.data["text"] == german != texts.SMALL_TALK_REPLIES["thanks"]
    last = h.last_message_id(klaus["id"])
    h.send(klaus, "/help")
    helped = await h.reply_after(klaus["id"], last)
    assert helped.data["text"] == texts.translate(tg_texts.HELP, "de") != tg_texts.HELP
    # A plainly English question still switches.
    english = await h.ask(klaus, "How long do refunds take?")
    assert "\n\nSources\n[1] Refunds" in english.data["text"]

    hello = await h.ask(LI, "你好")
    assert hello.data["text"] == texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "zh")
    ok = await h.ask(LI, "ok")
    assert (
        ok.data["text"]
        == texts.translate(texts.SMALL_TALK_REPLIES["ok"], "zh")
        != texts.SMALL_TALK_REPLIES["ok"]
    )
