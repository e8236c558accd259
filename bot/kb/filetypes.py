"""The one registry of knowledge file types: loading and upload checks both read it; a type is one entry."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from bot.kb.parsers import (
    BytesParser,
    TextParser,
    parse_faq_csv,
    parse_faq_jsonl,
    parse_faq_yaml,
    parse_html,
    parse_markdown,
    parse_pdf,
    parse_rst,
    parse_text,
)


def _check_suffixes(name: str, suffixes: tuple[str, ...]) -> None:
    if not suffixes or any(not s.startswith(".") or s != s.lower() or len(s) < 2 for s in suffixes):
        raise ValueError(f"file type {name!r}: suffixes must be lower-case and start with a dot")


@dataclass(frozen=True, slots=True)
class TextType:
    """A text format: decoded (UTF-8, or what a byte-order mark says) and refused when it holds binary."""

    name: str  # the format as named in messages to the admin, e.g. "Markdown"
    suffixes: tuple[str, ...]
    parse: TextParser
    # The document may declare its own encoding (HTML's <meta charset>); that declaration is honoured.
    declares_charset: bool = False

    def __post_init__(self) -> None:
        _check_suffixes(self.name, self.suffixes)


@dataclass(frozen=True, slots=True)
class BinaryType:
    """A binary format, parsed from the raw bytes; its content must start with `magic`."""

    name: str
    suffixes: tuple[str, ...]
    parse: BytesParser
    magic: bytes
    # Must appear near the end: a truncated upload lacks it, and parsers read such files only partly.
    trailer: bytes = b""

    def __post_init__(self) -> None:
        _check_suffixes(self.name, self.suffixes)
        if not self.magic:
            raise ValueError(f"file type {self.name!r}: a binary type needs its magic bytes")


FileType = TextType | BinaryType

# Every supported type. Adding one here makes it loadable, uploadable and listed in messages.
FILE_TYPES: tuple[FileType, ...] = (
    # .mdx: Docusaurus writes MDX, read as Markdown with its markup left out (`parsers._mdx_markup`).
    TextType("Markdown", (".md", ".markdown", ".mdx"), parse_markdown),
    TextType("reStructuredText", (".rst",), parse_rst),
    TextType("plain text", (".txt",), parse_text),
    TextType("HTML", (".html", ".htm"), parse_html, declares_charset=True),
    BinaryType("PDF", (".pdf",), parse_pdf, magic=b"%PDF-", trailer=b"%%EOF"),
    TextType("FAQ CSV", (".csv",), parse_faq_csv),
    TextType("FAQ JSONL", (".jsonl",), parse_faq_jsonl),
    TextType("FAQ YAML", (".yaml", ".yml"), parse_faq_yaml),
)


def _index(types: tuple[FileType, ...]) -> dict[str, FileType]:
    by_suffix: dict[str, FileType] = {}
    for file_type in types:
        for suffix in file_type.suffixes:
            if suffix in by_suffix:
                raise ValueError(f"{suffix} is claimed by both {by_suffix[suffix].name} and {file_type.name}")
            by_suffix[suffix] = file_type
    return by_suffix


_BY_SUFFIX = _index(FILE_TYPES)


def file_type(suffix: str) -> FileType | None:
    """The type a file name's suffix (".md", case-insensitive) selects, or None when unsupported."""
    return _BY_SUFFIX.get(suffix.lower())


def supported_list() -> str:
    """The supported extensions for messages, e.g. "csv, htm, html, ..."."""
    return ", ".join(sorted(suffix.lstrip(".") for suffix in _BY_SUFFIX))


# ------------------------------------------------------------------------------------------- decoding

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _labels(codec: str, *labels: str) -> dict[str, str]:
    return dict.fromkeys(labels, codec)


# Declared charsets mean what they mean to browsers: the WHATWG Encoding Standard's labels
# (https://encoding.spec.whatwg.org/#names-and-labels), where Python's codec of the same name differs or
# Python lacks the label. A page declaring "gb2312" is GBK and read by the gb18030 decoder (a name with 镕 or
# 喆 is not GB2312), "iso-8859-1" and "ascii" are windows-1252, "big5" is Big5-HKSCS, "shift_jis" is
# windows-31j (Python's cp932), "euc-kr" is windows-949. Labels not listed go to Python's codec registry.
_WHATWG_LABELS: dict[str, str] = {
    **_labels(
        "gb18030",
        "chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58",
        "x-gbk", "gb18030",
    ),
    **_labels("big5hkscs", "big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    **_labels(
        "cp932", "csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"
    ),
    **_labels(
        "cp949",
        "cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989",
        "ksc5601", "ksc_5601", "windows-949",
    ),
    **_labels("euc_jp", "cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    **_labels(
        "windows-1252",
        "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100",
        "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii",
        "windows-1252", "x-cp1252",
    ),
    **_labels(
        "cp1254",
        "cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9",
        "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254",
    ),
    **_labels("cp874", "dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"),
    **_labels("iso8859_8", "csiso88598i", "iso-8859-8-i", "logical"),
    **_labels(
        "utf-8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"
    ),
}  # fmt: skip
# WHATWG's windows-1252 maps the five bytes Python's cp1252 leaves undefined to the C1 controls of the same
# value; surrogateescape carries them through as U+DC81 … and this puts them back.
_CP1252_HOLES = {0xDC00 + byte: byte for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}

# Undeclared bytes that are no UTF-8 are refused, not guessed (a wrong guess puts mojibake into answers),
# but the refusal says what they look like: (what to call them, the label to declare, Python's codec).
_CJK_GUESSES: tuple[tuple[str, str, str], ...] = (
    ("Japanese text in Shift_JIS", "Shift_JIS", "cp932"),
    ("Korean text in EUC-KR", "EUC-KR", "cp949"),
    ("Chinese text in GBK/GB18030", "GBK", "gb18030"),
    ("Chinese text in Big5", "Big5", "big5hkscs"),
)
_GUESS_SAMPLE = 65536
_LOCAL_ADVICE = "save it as UTF-8"


def codec_for_label(label: str) -> str:
    """The Python codec a declared charset label (Content-Type or <meta>) names, as a browser reads it."""
    key = label.strip(" \t\n\f\r").lower()
    return _WHATWG_LABELS.get(key, key)


def decode_declared(data: bytes, label: str) -> str:
    """Decode `data` in the charset `label` declares; `LookupError` or `UnicodeError` as `bytes.decode`."""
    codec = codec_for_label(label)
    if codec == "windows-1252":
        return data.decode("cp1252", "surrogateescape").translate(_CP1252_HOLES)
    return data.decode(codec)


def decode_text(data: bytes, *, declares_charset: bool = False, website: bool = False) -> str:
    """Decode a text file: UTF-8 (BOMs for UTF-8/16/32 honoured; HTML may declare its charset).

    Anything else is refused rather than guessed: a wrong guess puts mojibake into answers. The refusal
    says what the bytes look like and what to do: save it as UTF-8, or for a `website` page (whose
    bytes the admin cannot re-save) have the site declare its charset.
    """
    from bot.kb.validate import UnsafeFileError  # validate imports this module: imported on use

    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UnsafeFileError(
                    f"invalid {encoding} text after its byte-order mark: {exc.reason}"
                ) from None
    if declares_charset:
        match = _HTML_CHARSET.search(data[:4096])
        if match:
            declared = match.group(1).decode("ascii", "replace")
            label = declared
            if codec_for_label(declared).startswith("utf-16"):
                # The HTML standard's rule: a <meta> found by reading the bytes as ASCII cannot be UTF-16.
                label = "utf-8"
            try:
                codecs.lookup(codec_for_label(label))
            except LookupError:
                raise UnsafeFileError(f"the HTML declares an unknown charset {declared!r}") from None
            try:
                return decode_declared(data, label)
            except UnicodeDecodeError as exc:
                raise UnsafeFileError(
                    f"the HTML declares charset {declared!r} but byte 0x{data[exc.start]:02X} at offset "
                    f"{exc.start} is not valid in it"
                ) from None
            except (LookupError, UnicodeError):
                # codecs.lookup also finds codecs that are no page encoding: bytes-to-bytes ones (base64, hex,
                # zlib) refuse to decode with LookupError, `undefined` always and `idna` on a bad "xn--" label
                # with a bare UnicodeError. Either would reach the admin's upload as a server error.
                advice = "the site should serve it as UTF-8" if website else _LOCAL_ADVICE
                raise UnsafeFileError(
                    f"the HTML declares charset {declared!r}, which is not a text encoding; {advice}"
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        what, label = guess_encoding(data)
        hint = f", looks like {what}" if what else ""
        if website:
            declare = label or "…"
            # A <meta> cannot declare UTF-16 (see above): only the header can.
            meta = "" if label == "UTF-16" else f', or <meta charset="{declare}"> in the page'
            advice = (
                "the page declares no charset: its site must declare the one it is written in "
                f"(charset={declare} in the Content-Type header{meta}) or serve UTF-8"
            )
        else:
            advice = _LOCAL_ADVICE
        raise UnsafeFileError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at offset {exc.start}){hint}; {advice}"
        ) from None


def guess_encoding(data: bytes) -> tuple[str, str]:
    """What bytes that are no UTF-8 look like, for a refusal: (a description, the charset label to declare);
    ("", "") when nothing fits. Only a hint: nothing is decoded by it."""
    sample = data[:_GUESS_SAMPLE]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "UTF-16 without a byte-order mark", "UTF-16"
    found = [(what, label) for what, label, codec in _CJK_GUESSES if _reads_as_cjk(sample, codec)]
    if found:
        # Most specific first: Japanese bytes read as Korean hangul or as Chinese, Korean as Chinese, but
        # not the other way round. The two Chinese encodings overlap too much to tell apart.
        if found[0][1] in ("Shift_JIS", "EUC-KR"):
            del found[1:]
        return " or ".join(what for what, _ in found), found[0][1]
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return "", ""
    return "Latin-1/Windows-1252", "windows-1252"


def _script(char: str) -> str:
    """The CJK script of `char`: han, kana, hangul, punct (CJK punctuation, full-width forms) or ""."""
    code = ord(char)
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF or code >= 0x20000:
        return "han"
    if 0x3040 <= code <= 0x30FF:
        return "kana"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF60 or 0xFFE0 <= code <= 0xFFEF:
        return "punct"
    return ""  # half-width katakana included: GBK bytes read as Shift_JIS turn into those


def _reads_as_cjk(sample: bytes, codec: str) -> bool:
    """Whether `sample` decodes strictly in `codec` into mostly CJK writing of that codec's language.

    Any double-byte codec reads most byte strings somehow: Latin-1 "Größe" is valid GBK. Real CJK text is
    runs of CJK characters, nearly all its non-ASCII characters; Japanese has kana and Korean hangul."""
    try:
        # Incremental, so a character cut at the sample's end is no error.
        text = codecs.getincrementaldecoder(codec)().decode(sample, final=len(sample) < _GUESS_SAMPLE)
    except UnicodeDecodeError:
        return False
    scripts = [_script(ch) for ch in text if ord(ch) >= 0x80 and not ch.isspace()]
    cjk = [s for s in scripts if s]
    if len(cjk) < 2 or len(cjk) < 0.9 * len(scripts):
        return False
    marks = [bool(_script(ch)) for ch in text]
    beside = sum(
        1
        for i, mark in enumerate(marks)
        if mark and ((i and marks[i - 1]) or (i + 1 < len(marks) and marks[i + 1]))
    )
    if beside < 0.6 * len(cjk):
        return False  # single CJK characters among Latin words: accented letters read as double bytes
    if codec == "cp932":
        return cjk.count("kana") >= 0.1 * len(cjk)
    if codec == "cp949":
        return cjk.count("hangul") >= 0.5 * len(cjk)
    return cjk.count("kana") + cjk.count("hangul") < 0.05 * len(cjk)


__all__ = [
    "FILE_TYPES",
    "BinaryType",
    "FileType",
    "TextType",
    "codec_for_label",
    "decode_declared",
    "decode_text",
    "file_type",
    "guess_encoding",
    "supported_list",
]
