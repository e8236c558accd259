"""The extractive fallback in any script: CJK sentence ends (。！？), no spaces inserted in CJK text."""

from __future__ import annotations

from bot.domain import Passage
from bot.rag.citations import extract_answer, passage_units

ZH = """如果包裹丢失，请先在应用中查看
物流状态。若七天内仍未送达，您可以提交索赔！我们会在三个工作日内回复索赔。退款将原路返回。
另外，储物柜的取件码有效期为三天。"""


def test_chinese_sentences_split_at_cjk_stops_and_wrapped_lines_join_without_spaces() -> None:
    assert [u.text for u in passage_units(ZH)] == [
        "如果包裹丢失，请先在应用中查看物流状态。",
        "若七天内仍未送达，您可以提交索赔！",
        "我们会在三个工作日内回复索赔。",
        "退款将原路返回。",
        "另外，储物柜的取件码有效期为三天。",
    ]
    assert not any(u.label for u in passage_units(ZH)), "a CJK sentence is a statement, not a label"


def test_chinese_question_quotes_the_matching_sentences_without_spaces() -> None:
    passage = Passage("claims.md", "丢失的包裹", ZH)
    assert extract_answer("取件码有效期多久？", passage) == "另外，储物柜的取件码有效期为三天。"
    quoted = extract_answer("索赔多久回复？", passage)
    assert quoted == "若七天内仍未送达，您可以提交索赔！我们会在三个工作日内回复索赔。"
    assert " " not in quoted


def test_a_traditional_question_quotes_the_matching_simplified_sentences() -> None:
    passage = Passage("claims.md", "丢失的包裹", ZH)
    # 儲物櫃: no character pair of the question is written the same in the passage's script.
    assert extract_answer("儲物櫃號碼呢？", passage) == "另外，储物柜的取件码有效期为三天。"


def test_japanese_sentence_ends() -> None:
    ja = "ロッカーは24時間利用できます。受け取りコードはアプリに表示されます？はい。"
    units = [u.text for u in passage_units(ja)]
    assert units[0] == "ロッカーは24時間利用できます。"
    assert len(units) == 3


def test_other_alphabets_split_before_any_upper_case_letter() -> None:
    ru = (
        "Посылка хранится три дня. После этого она возвращается отправителю. Код можно получить в приложении."
    )
    assert len(passage_units(ru)) == 3
    assert extract_answer("Где получить код?", Passage("a.md", "", ru)) == "Код можно получить в приложении."
    fr = "Le colis est conservé trois jours. Écrivez-nous si le délai est dépassé."
    assert [u.text for u in passage_units(fr)] == [
        "Le colis est conservé trois jours.",
        "Écrivez-nous si le délai est dépassé.",
    ]


def test_english_is_split_as_before() -> None:
    en = "Refunds take five days. Call us at 555. e.g. this is fine."
    assert [u.text for u in passage_units(en)] == [
        "Refunds take five days.",
        "Call us at 555. e.g. this is fine.",
    ]


def test_mixed_text_keeps_spaces_between_latin_words() -> None:
    mixed = "使用 apt-get install 命令\n安装软件包。"
    assert [u.text for u in passage_units(mixed)] == ["使用 apt-get install 命令安装软件包。"]


def test_korean_keeps_the_spaces_between_its_words() -> None:
    # Korean is written with spaces between words, Chinese and Japanese without: a wrapped Korean line
    # joins with one, and no space inside a sentence is lost.
    text = (
        "로그인 화면에서 비밀번호 찾기를 누르세요.\n"
        "이메일로 링크가 전송됩니다. 링크는 한 시간 동안\n유효합니다."
    )
    units = [u.text for u in passage_units(text)]
    assert units == [
        "로그인 화면에서 비밀번호 찾기를 누르세요.",
        "이메일로 링크가 전송됩니다.",
        "링크는 한 시간 동안 유효합니다.",
    ]


def test_a_sentence_keeps_the_brackets_and_quotes_that_close_it() -> None:
    # The cut comes after the closing bracket or quote, in Japanese as in English: "…にあります。)" was
    # quoted without its ")" and the next sentence began with it.
    text = (
        '(類似の ip コマンドは "/bin" にあります。)次の文です。「例です。」終わり。'
        '\n\nHe said "stop." Then he left.'
    )
    assert [u.text for u in passage_units(text)] == [
        '(類似の ip コマンドは "/bin" にあります。)',
        "次の文です。",
        "「例です。」",
        "終わり。",
        'He said "stop."',
        "Then he left.",
    ]


def test_a_chinese_line_with_a_full_width_colon_says_something() -> None:
    # Counted by spaces, "人工客服热线：400-820-5588" was one word and so a label, and the number was
    # never quoted for "客服电话是多少".
    text = "人工客服热线：400-820-5588\n\n拨通后按 1 查询订单，按 2 办理售后，按 0 转人工。"
    units = passage_units(text, "zh")
    assert [u.label for u in units] == [False, False]
    passage = Passage("contact.md", "客服电话", text, lang="zh")
    assert extract_answer("客服电话是多少", passage) == "人工客服热线：400-820-5588"
    # A short run of Chinese without a full stop still reads as a label, as "Live chat" does.
    assert [u.label for u in passage_units("在线客服", "zh")] == [True]
    assert [u.label for u in passage_units("高峰期可能需要排队请耐心等待", "zh")] == [False]


def test_a_chinese_question_titled_by_the_heading_gets_every_step() -> None:
    # "怎么" and the character pair across it ("么申") are no topic a heading must hold: the section is
    # titled with the question, and its procedure is quoted from step 1, not from the first step that
    # repeats "退货".
    text = (
        "1. 打开 App，进入“我的订单”；\n2. 找到要退的商品，点击“申请售后”，选择“退货退款”；\n"
        "3. 填写退货原因并上传照片；\n4. 审核通过后，按页面上的地址寄回商品，并填写快递单号。"
    )
    passage = Passage("returns.md", "如何申请退货", text, lang="zh")
    quoted = extract_answer("怎么申请退货", passage)
    assert quoted.splitlines()[0].startswith("1. 打开 App")
    assert quoted.splitlines()[-1].startswith("4. 审核通过后")


def test_the_items_of_a_list_that_answer_alike_are_quoted_together() -> None:
    # The WeChat Pay line was quoted and the bank card's, which answers the same, left out: a card payer
    # read "1 到 3 个工作日". The line ending in "；" no longer stops the list either.
    text = (
        "仓库收到退货并检查无误后，会在 1 个工作日内为您办理退款。退款原路返回：\n\n"
        "- 微信支付、支付宝：1 到 3 个工作日到账；\n- 银行卡：3 到 7 个工作日到账，具体以银行为准；\n"
        "- 积分和优惠券按下单时的使用情况退回账户。"
    )
    passage = Passage("returns.md", "退款到账时间", text, lang="zh")
    quoted = extract_answer("退款几天到账", passage)
    assert "- 微信支付、支付宝：1 到 3 个工作日到账；" in quoted
    assert "- 银行卡：3 到 7 个工作日到账，具体以银行为准；" in quoted
    assert "积分" not in quoted


def test_a_chinese_table_row_reads_with_full_width_marks() -> None:
    text = (
        "| 订单实付金额 | 普通地区运费 | 偏远地区运费 |\n| --- | --- | --- |\n| 不满 59 元 | 8 元 | 20 元 |"
    )
    rows = [u.text for u in passage_units(text, "zh") if u.kind == "row"]
    assert rows == ["不满 59 元：8 元；20 元"]
    english = "| Size | Price | Weight |\n| --- | --- | --- |\n| Small | €3.95 | 25 kg |"
    assert [u.text for u in passage_units(english) if u.kind == "row"] == ["Small: €3.95; 25 kg"]


def test_no_space_after_a_chinese_full_stop_before_a_latin_word() -> None:
    # Was "…每次 NT$300。 iPhone 換 iPhone…" (a Taiwanese carrier's trial).
    passage = Passage(
        "esim.md",
        "轉移 eSIM",
        "換機時可線上轉移 eSIM，每次 NT$300。iPhone 換 iPhone 可用快速轉移，不收費。",
        lang="zh-Hant",
    )
    assert extract_answer("換手機 eSIM 轉移要錢嗎", passage) == (
        "換機時可線上轉移 eSIM，每次 NT$300。iPhone 換 iPhone 可用快速轉移，不收費。"
    )
