"""Declared charsets read as browsers read them (WHATWG labels); undeclared CJK pages diagnosed as such."""

from __future__ import annotations

import pytest

from bot.kb.loaders import load_bytes
from bot.kb.site import decode_page
from bot.kb.validate import UnsafeFileError

# Names with GBK-only characters (镕, 喆): not in GB2312, yet on pages that declare gb2312.
ZH = "朱镕基和张喆是我们的客户。请问退货需要多长时间？我们会在三个工作日内处理您的申请。"
ZH_HANT = "請問退貨需要多長時間？我們會在三個工作日內處理您的申請，謝謝您的耐心等候。嘅"
JA = "ご注文ありがとうございます。返品は三営業日以内に処理いたします。お問い合わせください。"
KO = "주문해 주셔서 감사합니다. 반품은 영업일 기준 삼일 이내에 처리됩니다. 문의해 주세요."
DE = "Die Größe der Straße über dem Fluss ist schön. Ärger mit Öl? Café, été, naïve Grüße."


def page(body: str, charset: str | None = None) -> str:
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if charset else ""
    return f"<html><head>{meta}<title>Returns</title></head><body><h1>Returns</h1><p>{body}</p></body></html>"


def text_of(data: bytes) -> str:
    return "\n".join(s.text for s in load_bytes("returns.html", ".html", data).sections)


GBK_LABELS = ["gb2312", "GB2312", "gbk", "x-gbk", "chinese", "csgb2312", "iso-ir-58", "gb_2312", "gb_2312-80"]


@pytest.mark.parametrize("label", GBK_LABELS)
def test_every_gbk_label_reads_gbk_only_characters(label: str) -> None:
    data = page(ZH, label).encode("gbk")
    assert ZH in text_of(data)  # a knowledge file or upload declaring it in <meta>
    assert ZH in decode_page(page(ZH).encode("gbk"), f"text/html; charset={label}")  # a site's header
    assert ZH in decode_page(data, "text/html")  # a site's page declaring it in <meta>


@pytest.mark.parametrize(
    ("label", "text", "encoding"),
    [
        ("big5", ZH_HANT, "big5hkscs"),  # 嘅: Hong Kong's Big5 extension, which browsers read as Big5
        ("shift_jis", JA + "髙橋①", "cp932"),  # Windows' additions browsers read as Shift_JIS
        ("euc-kr", KO + "갂", "cp949"),  # a hangul syllable of Windows-949 only
        ("iso-8859-1", "“Größe” – 5 €", "cp1252"),  # windows-1252's quotes, dash and euro sign
        ("latin1", "“Größe” – 5 €", "cp1252"),
        ("us-ascii", "Café", "cp1252"),
    ],
)
def test_labels_mean_what_they_mean_to_browsers(label: str, text: str, encoding: str) -> None:
    assert text in text_of(page(text, label).encode(encoding))
    assert text in decode_page(page(text).encode(encoding), f"text/html; charset={label}")


def test_windows_1252_keeps_the_bytes_it_leaves_undefined() -> None:
    # WHATWG maps 0x81 to U+0081 where Python's cp1252 refuses it: one stray byte loses no page.
    data = page("").encode() + b"\x93a\x81b\x94"  # “a, an undefined byte, b”
    assert decode_page(data, "text/html; charset=windows-1252").endswith("“a\x81b”")


def test_a_meta_declaring_utf16_is_read_as_utf8() -> None:
    # The HTML standard's rule: a <meta> read from the bytes as ASCII cannot be UTF-16.
    assert "Größe" in text_of(page("Größe", "utf-16").encode("utf-8"))


def test_a_wrong_declaration_is_still_refused() -> None:
    with pytest.raises(UnsafeFileError, match="declares charset 'gb2312' but byte 0x"):
        text_of(page("plain text", "gb2312").encode("ascii") + b"\xff\xff")


@pytest.mark.parametrize(
    ("text", "encoding", "looks_like", "label"),
    [
        (ZH, "gbk", "Chinese text in GBK/GB18030", "GBK"),
        (ZH, "gb18030", "Chinese text in GBK/GB18030", "GBK"),
        (ZH_HANT, "big5hkscs", "Chinese text in Big5", "Big5"),
        (JA, "shift_jis", "Japanese text in Shift_JIS", "Shift_JIS"),
        (KO, "euc-kr", "Korean text in EUC-KR", "EUC-KR"),
    ],
)
def test_an_undeclared_cjk_page_is_diagnosed_and_the_advice_fits_where_it_is(
    text: str, encoding: str, looks_like: str, label: str
) -> None:
    data = page(text).encode(encoding)
    with pytest.raises(UnsafeFileError) as site:
        decode_page(data, "text/html")
    reason = str(site.value)
    assert f"looks like {looks_like};" in reason
    assert "Latin-1" not in reason
    # A site's admin cannot re-save someone else's page: the site has to declare what it is written in.
    assert f"charset={label} in the Content-Type header" in reason
    assert f'<meta charset="{label}">' in reason
    assert "save it as UTF-8" not in reason
    with pytest.raises(UnsafeFileError) as local:
        text_of(data)
    assert f"looks like {looks_like}; save it as UTF-8" in str(local.value)


def test_latin_text_still_looks_like_windows_1252() -> None:
    # Accented letters before ASCII ones pair up as valid GBK ("Gr\xf6\xdfe"), but not as running CJK text.
    data = page(DE).encode("cp1252")
    with pytest.raises(
        UnsafeFileError, match="looks like Latin-1/Windows-1252; the page declares no charset"
    ):
        decode_page(data, "text/html")
    with pytest.raises(UnsafeFileError, match="looks like Latin-1/Windows-1252; save it as UTF-8"):
        text_of(data)
