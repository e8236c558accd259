"""Full-width forms and other digits: PII typed on a CJK keyboard is redacted as its ASCII spelling is."""

from __future__ import annotations

import random
import unicodedata

import pytest

from bot.config import RedactionSettings
from bot.store.redact import Redactor
from tests.store import pii

N = 60


def wide(text: str) -> str:
    """`text` as a CJK keyboard in full-width mode types it: ASCII as full-width forms, spaces ideographic."""
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text
    )


def ascii_spelling(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize(
    ("text", "redacted", "kind"),
    [
        ("卡号４１１１ １１１１ １１１１ １１１１", "卡号<CARD>", "CARD"),
        ("卡号４１１１１１１１１１１１１１１１，谢谢", "卡号<CARD>，谢谢", "CARD"),
        ("カード番号は４１１１－１１１１－１１１１－１１１１です", "カード番号は<CARD>です", "CARD"),
        ("卡号４１１１\u3000１１１１\u3000１１１１\u3000１１１１", "卡号<CARD>", "CARD"),
        ("card ٤١١١١١١١١١١١١١١١ please", "card <CARD> please", "CARD"),  # Arabic-Indic digits
        ("邮箱ｗａｎｇ＠ｑｑ．ｃｏｍ谢谢", "邮箱<EMAIL>谢谢", "EMAIL"),
        ("邮箱wang.xm＠qq.com谢谢", "邮箱<EMAIL>谢谢", "EMAIL"),
        (
            "我的IBAN是ＤＥ８９ ３７０４ ００４４ ０５３２ ０１３０ ００，谢谢",
            "我的IBAN是<IBAN>，谢谢",
            "IBAN",
        ),
        ("用户ID：１２３４５６７８９", "用户ID：１２３４５６７８９", ""),  # no English label: as in ASCII
        ("user id １２３４５６７８９", "user id <USER_ID>", "USER_ID"),
        ("请联系 ＠support_team", "请联系 <HANDLE>", "HANDLE"),
        # Only the PII goes: the full-width words around it stay as the customer wrote them.
        ("ｃａｌｌ ＋４４ ２０ ７９４６ ０９５８ ｐｌｅａｓｅ", "ｃａｌｌ <PHONE> ｐｌｅａｓｅ", "PHONE"),
    ],
)
def test_full_width_pii_is_redacted(text: str, redacted: str, kind: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == ({kind: 1} if kind else {})
    assert Redactor().redact(result.text).text == result.text


@pytest.mark.parametrize(
    "text",
    [
        "我的电话是１３８１２３４５６７８",
        "我的电话是13812345678",
        "电话：１３８－１２３４－５６７８",
        "电话 １３８\u3000１２３４\u3000５６７８",
        "手机＋８６ １３８ １２３４ ５６７８",
    ],
)
def test_chinese_mobile_numbers_in_either_width(text: str) -> None:
    with_cn = Redactor(RedactionSettings(phone_regions=["US", "CN"])).redact(text)
    assert with_cn.counts == {"PHONE": 1}, with_cn.text
    assert not any(ch.isdigit() for ch in with_cn.text), with_cn.text
    # A national number is read by the regions configured: without CN it is no phone number, in ASCII
    # digits as in full-width ones. Written in international form (+86) it is one whatever the regions.
    without = Redactor(RedactionSettings(phone_regions=["US"])).redact(text)
    ascii_without = Redactor(RedactionSettings(phone_regions=["US"])).redact(ascii_spelling(text))
    assert ascii_spelling(without.text) == ascii_without.text
    assert bool(without.counts) == ("＋" in text)


def test_japanese_number_with_full_width_dashes() -> None:
    text = "連絡先は ０３－１２３４－５６７８ です"
    assert Redactor(RedactionSettings(phone_regions=["JP"])).redact(text).text == "連絡先は <PHONE> です"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # A Japanese trial: typed with the IME's long-vowel mark, the number reached the export as written.
        ("電話番号は「０８０ー１２３４ー５６７８」です", "電話番号は「<PHONE>」です"),
        ("「090ー1234ー5678」に折り返してください", "「<PHONE>」に折り返してください"),
        ("携帯 090ｰ1234ｰ5678 まで", "携帯 <PHONE> まで"),  # the mark's half-width form
        # The hyphens and dashes of U+2010-2015, and the minus sign.
        ("tel 090‐1234‐5678", "tel <PHONE>"),
        ("tel 090‑1234‑5678", "tel <PHONE>"),
        ("tel 090–1234–5678", "tel <PHONE>"),
        ("tel 090—1234—5678", "tel <PHONE>"),
        ("tel 090―1234―5678", "tel <PHONE>"),
        ("tel 090−1234−5678", "tel <PHONE>"),
        # Only the number goes: the marks of the words around it stay as written.
        ("コーヒーの件は「090ー1234ー5678」へ。ラーメン", "コーヒーの件は「<PHONE>」へ。ラーメン"),
    ],
)
def test_dashes_between_a_phone_numbers_digits_are_hyphens(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"PHONE": 1}


@pytest.mark.parametrize("text", ["2024ー01ー15に注文", "2023–2024年度", "3–5営業日", "pages 10–20"])
def test_dates_and_ranges_written_with_dashes_stay(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize("kind", ["CARD", "EMAIL", "IBAN", "HANDLE", "PHONE"])
def test_full_width_spelling_is_redacted_as_the_ascii_one(kind: str) -> None:
    generate = {
        "CARD": pii.cards,
        "EMAIL": pii.emails,
        "IBAN": pii.ibans,
        "HANDLE": pii.handles,
        "PHONE": pii.phones,
    }[kind]
    redactor = Redactor()
    items = generate(N, random.Random(f"wide {kind}"))
    for i, item in enumerate(items):
        template = pii.TEMPLATES[i % len(pii.TEMPLATES)]
        plain, typed = (
            redactor.redact(template.format(x=item)),
            redactor.redact(template.format(x=wide(item))),
        )
        assert (ascii_spelling(typed.text), typed.counts) == (plain.text, plain.counts), typed.text
        if plain.counts == {kind: 1}:
            assert wide(item) not in typed.text


def test_full_width_look_alikes_stay() -> None:
    redactor = Redactor()
    corpus = pii.false_positive_corpus(random.Random("wide fp"))
    hits = [
        (wide(text), redactor.redact(wide(text)).text)
        for text in corpus
        if redactor.redact(wide(text)).counts
    ]
    assert hits == []
    # Superscripts and circled numbers are not folded to digits: no number is written with them.
    for text in ("10¹² ways, ⁴¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹", "steps ④①①①①①①①①①①①①①①①"):
        assert Redactor().redact(text).text == text
