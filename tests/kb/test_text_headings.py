"""Plain-text headings: the lines a reader takes for one become sections, and nothing else does."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb.loaders import load_bytes
from bot.kb.parsers import Section, parse_text

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"

# As the trials' help centers wrote them: a heading alone between blank lines (Russian, Chinese), or a
# paragraph's first line over its lines (Korean).
RUSSIAN = """\
Возврат товара надлежащего качества

Если товар не подошёл, его можно вернуть в течение 14 дней. Вот условия и порядок.

Условия возврата

Товар не был в употреблении, сохранены упаковка и ярлыки.

Когда вернутся деньги

Деньги возвращаются в течение 10 дней.
"""
KOREAN = """\
고객센터 연락처와 운영 시간

새벽바구니 고객센터는 전화와 채팅으로 문의를 받습니다.

운영 시간
전화 상담: 평일 오전 9시~오후 6시
1:1 채팅: 매일 오전 7시~밤 11시 (공휴일 포함)

전화번호와 이메일
대표번호: 1666-0420
이메일: help@saebyeokbaguni.co.kr
"""
CHINESE = """\
手機或 SIM 卡遺失怎麼辦

1. 立即掛失停話

請立刻撥打 24 小時掛失專線 0800-018-119，或登入 App 點「掛失停話」。

2. 補發 SIM 卡

本人攜帶身分證正本到任一直營門市即可補卡。
"""


def _sections(text: str) -> list[tuple[tuple[str, ...], str]]:
    _, sections, _ = parse_text(text, "Default")
    return [(s.heading_path, s.text) for s in sections]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            RUSSIAN,
            [
                (
                    ("Возврат товара надлежащего качества",),
                    "Если товар не подошёл, его можно вернуть в течение 14 дней. Вот условия и порядок.",
                ),
                (
                    ("Возврат товара надлежащего качества", "Условия возврата"),
                    "Товар не был в употреблении, сохранены упаковка и ярлыки.",
                ),
                (
                    ("Возврат товара надлежащего качества", "Когда вернутся деньги"),
                    "Деньги возвращаются в течение 10 дней.",
                ),
            ],
        ),
        (
            KOREAN,
            [
                (("고객센터 연락처와 운영 시간",), "새벽바구니 고객센터는 전화와 채팅으로 문의를 받습니다."),
                (
                    ("고객센터 연락처와 운영 시간", "운영 시간"),
                    "전화 상담: 평일 오전 9시~오후 6시\n1:1 채팅: 매일 오전 7시~밤 11시 (공휴일 포함)",
                ),
                (
                    ("고객센터 연락처와 운영 시간", "전화번호와 이메일"),
                    "대표번호: 1666-0420\n이메일: help@saebyeokbaguni.co.kr",
                ),
            ],
        ),
        (
            CHINESE,
            [
                (
                    ("手機或 SIM 卡遺失怎麼辦", "1. 立即掛失停話"),
                    "請立刻撥打 24 小時掛失專線 0800-018-119，或登入 App 點「掛失停話」。",
                ),
                (("手機或 SIM 卡遺失怎麼辦", "2. 補發 SIM 卡"), "本人攜帶身分證正本到任一直營門市即可補卡。"),
            ],
        ),
    ],
    ids=["standalone", "first-line", "numbered"],
)
def test_heading_lines_of_a_plain_text_become_sections_under_its_title(
    text: str, expected: list[tuple[tuple[str, ...], str]]
) -> None:
    # Before, the whole file was one section: "…Вот условия и порядок.\n\nУсловия возврата" ended a chunk,
    # and "전화번호와 이메일 대표번호: 1666-0420" ran together in a quote.
    assert _sections(text) == expected


def test_underlined_and_hash_headings_are_read_as_written() -> None:
    text = (
        "# Shipping guide\n\nIntro.\n\nSizes\n=====\n\nUp to 25 kg.\n\n"
        "Limits\n------\nLongest side 120 cm.\n\nPrices\n======\n\nFrom 3.49 euros.\n\n## Fees ##\n\nNone.\n"
    )
    title, sections, _ = parse_text(text, "Default")
    assert title == "Shipping guide"
    assert [(s.heading_path, s.text) for s in sections] == [
        (("Shipping guide",), "Intro."),
        (("Shipping guide", "Sizes"), "Up to 25 kg."),
        (("Shipping guide", "Sizes", "Limits"), "Longest side 120 cm."),
        (("Shipping guide", "Prices"), "From 3.49 euros."),
        (("Shipping guide", "Prices", "Fees"), "None."),
    ]
    underlined = parse_text("Shipping guide\n==============\n\nIntro.\n", "Default")
    assert underlined[0] == "Shipping guide"
    assert [s.text for s in underlined[1]] == ["Intro."]


def test_the_sample_getting_started_guide_is_read_by_its_headings() -> None:
    doc = load_bytes("getting-started.txt", ".txt", (KNOWLEDGE / "getting-started.txt").read_bytes())
    assert doc.title == "Getting started with Parcelly"
    assert [s.heading for s in doc.sections] == [
        "Getting started with Parcelly",
        "What you need",
        "Step 1: Create your account",
        "Step 2: Choose your favourite locker",
        "Step 3: Send your first parcel",
        "Step 4: Pick up your first parcel",
        "Where to go next",
    ]
    assert all(s.heading_path == (doc.title, s.heading) for s in doc.sections[1:])
    assert not any("---" in s.text for s in doc.sections)
    assert doc.sections[-1].text.startswith("- Prices, sizes and the Plus and Business plans")


def test_capitals_and_numbered_headings_take_their_levels_in_the_order_they_appear() -> None:
    text = (
        "Help\n\nIntro.\n\nRETURNS AND REFUNDS\n\nYou can return items.\n\n"
        "How long it takes\n\nFive days.\n\n2) Exchanges\n\nSwap a size in the app.\n\n"
        "DELIVERY\n\nWe deliver daily.\n"
    )
    assert [path for path, _ in _sections(text)] == [
        ("Help",),
        ("Help", "RETURNS AND REFUNDS"),
        ("Help", "RETURNS AND REFUNDS", "How long it takes"),
        ("Help", "RETURNS AND REFUNDS", "How long it takes", "2) Exchanges"),
        ("Help", "DELIVERY"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # A short label line inside a paragraph.
        "Contact\n\nWe are here to help.\nOpening hours\nMon–Fri 9–17.\n\nWrite to us any time.\n",
        # A list item, alone between blank lines.
        "Returns\n\nHow to return:\n\n- Pack the item\n\n- Drop it off at a locker and keep the receipt.\n",
        # What a lead-in ending in a colon introduces.
        "Returns\n\nIntro.\n\nYou need these documents:\n\nA valid ID\n\nBring it to any store.\n",
        # A line ending with a colon that leads into a list.
        "Returns\n\nIntro.\n\nWhat you need:\n\n- an ID\n- the receipt\n",
        # A Chinese sentence without its full stop.
        "退貨說明\n\n商品可於七天內退貨。\n\n如果您的手機遺失，請立即撥打客服專線\n\n客服人員會協助您辦理停話與補卡。\n",
        # A signature, on one line or two.
        "Welcome\n\nThanks for joining Parcelly.\n\nThe Parcelly team\n",
        "Welcome\n\nThanks for joining.\n\nBest regards\nThe Parcelly team\n\nParcelly BV, Amsterdam.\n",
        # A short paragraph that is content: contact details, a label and its text.
        "Contact\n\nIntro.\n\nCall us: 1666-0420\n\nOur lines are open Monday to Friday, nine to five.\n",
        "Contact\n\nIntro.\n\nNote: lockers close early\n\nOn public holidays they close at 18:00.\n",
        "Contact\n\nIntro.\n\nsupport@parcelly.example\n\nWe answer within a day.\n",
        # A numbered list with blank lines between its items.
        "Sending\n\nIntro.\n\n1. Open the app\n\n2. Tap Send\n\n3. Pay for the label.\n",
        # An address, and a label over a paragraph once only.
        "Contact\n\nIntro.\n\nParcelly BV\nKeizersgracht 1\nAmsterdam\n\nVisit us Monday to Friday.\n",
        "Lockers\n\nIntro.\n\nImportant\nDo not leave parcels for three days.\n\nMore text here.\n",
        # A wrapped line's continuation, and a sentence that ends with its question mark.
        "Guide\n\nIntro.\n\nparcelly.example/app\n\nOpen the address in any browser.\n",
        "Guide\n\nIntro.\n\nAny questions left?\n\nChat with us in the app.\n",
    ],
    ids=[
        "label-inside-paragraph",
        "list-item",
        "after-lead-in",
        "lead-in",
        "cjk-sentence",
        "signature",
        "signature-block",
        "contact-details",
        "label-and-text",
        "email",
        "loose-list",
        "address",
        "label-once",
        "continuation",
        "question",
    ],  # fmt: skip
)
def test_lines_that_are_no_headings_stay_in_the_text(text: str) -> None:
    title, _, rest = text.partition("\n\n")
    assert _sections(text) == [((title,), rest.strip())]


def test_a_text_without_a_title_line_heads_its_sections_by_their_headings_alone() -> None:
    text = (
        "Parcels wait in the locker for three days, and you get a reminder after two.\n\nReturns\n\nFree.\n"
    )
    title, sections, _ = parse_text(text, "Lockers")
    assert title == "Lockers"
    assert [(s.heading, s.heading_path) for s in sections] == [("", ()), ("Returns", ("Returns",))]
    # A text of one line is its own body, not a title over nothing.
    assert parse_text("OK\n", "Lockers") == ("Lockers", [Section("", (), "OK")], "")


@pytest.mark.parametrize(
    "text",
    [
        # English hard-wrapped at 60 columns: a first line runs on into the next, or has a sentence end in it.
        "Shipping\n\nOrders placed before 3 pm on a working day are shipped the\nsame day. Orders placed "
        "later are shipped the next working\nday.\n\n"
        "Parcels go by courier to the address in your order, and the\n"
        "courier calls before coming. If you are out, the parcel goes\nto a locker near you.\n\n"
        "Returns are free within 30 days of delivery. Pack the item in\nits box and drop it at any locker.\n",
        # Chinese wrapped inside a sentence: the next line, no longer than the first, goes on with it.
        "退貨說明\n\n商品到貨後七天內可以申請退貨\n退貨時請附上發票。\n\n退款會在收到商品後五個工作天內\n"
        "退回原付款方式。\n\n運費由本公司負擔\n請勿自行寄回。\n",
        # A list with blank lines between its items: the last step heads nothing.
        "Reset your router\n\n1. Unplug the router\n\n2. Wait ten seconds\n\n3. Choose Reset\n\n"
        "The lights blink while the router restarts. It takes about a minute.\n\n"
        "If it still fails, call us.\n",
    ],
    ids=["english-wrapped", "chinese-wrapped", "spaced-list"],
)
def test_a_wrapped_paragraph_or_a_spaced_list_gives_no_heading(text: str) -> None:
    title, _, rest = text.partition("\n\n")
    assert _sections(text) == [((title,), rest.strip())]


# As a Czech trial's pasted documents wrote them: a title over the date it was updated, and each section named
# by a line ending with a colon, its text right under it.
CZECH = """\
Dárkové poukazy
Poslední aktualizace: 3. 2. 2025

Poukaz potěší každého, kdo si rád vybírá sám.

Jak poukaz koupit:
Poukazy prodáváme v hodnotách 500 a 1 000 Kč. Elektronický poukaz přijde e-mailem.

Ztracený poukaz:
Elektronický poukaz vám pošleme znovu. Fyzický poukaz zablokujeme podle čísla z účtenky.
"""


def test_a_line_ending_with_a_colon_over_its_text_names_a_section_where_the_text_names_them_so() -> None:
    title, sections, _ = parse_text(CZECH, "Default")
    assert title == "Dárkové poukazy"
    assert [s.heading for s in sections] == ["Dárkové poukazy", "Jak poukaz koupit", "Ztracený poukaz"]
    assert sections[0].text.startswith("Poslední aktualizace: 3. 2. 2025")
    assert sections[2].text.startswith("Elektronický poukaz vám pošleme znovu.")


@pytest.mark.parametrize(
    "text",
    [
        # Once in a text, it is as likely a lead-in.
        "Poukazy\n\nPoukaz potěší každého.\n\nJak poukaz koupit:\nNa e-shopu nebo na prodejně.\n\nKonec.\n",
        # Over a list, a lead-in to it.
        "Payments\n\nWe take cards.\n\nYou can pay:\n- by card\n- by transfer\n\nRefunds:\n- to the card\n",
        # A sentence leading into the next paragraph.
        "Lockers\n\nIntro text.\n\nIf the parcel is late, you can:\nCall us. Or write.\n\n"
        "If the locker is full, we will:\nSend it to the next one. Then tell you.\n",
    ],
)
def test_a_lead_in_ending_with_a_colon_is_no_heading(text: str) -> None:
    _, sections, _ = parse_text(text, "Default")
    assert len(sections) == 1, [s.heading for s in sections]


def test_callouts_with_a_colon_stay_text_under_a_texts_own_headings() -> None:
    text = (
        "Returns policy\n\nYou can return any item within 30 days of delivery.\n\n"
        "Please note:\nItems must be unused and in their original packaging. We check every parcel.\n\n"
        "Refunds\n\nWe refund to the card you paid with within 5 days.\n\n"
        "Important:\nSale items cannot be returned. Gift cards are not refunded either.\n\n"
        "Exchanges\n\nYou can exchange an item for another size in any store.\n"
    )
    _, sections, _ = parse_text(text, "Default")
    assert [s.heading_path for s in sections] == [
        ("Returns policy",),
        ("Returns policy", "Refunds"),
        ("Returns policy", "Exchanges"),
    ]
    assert "Please note:" in sections[0].text


def test_a_wrapped_first_sentence_with_a_year_in_it_is_no_title() -> None:
    text = (
        "Our shop has been selling phones across Ukraine\nsince 2015 and delivers to every city.\n\n"
        "We accept returns within 14 days.\n"
    )
    assert parse_text(text, "Default")[0] == "Default"
