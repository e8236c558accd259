"""Patterns of personal data shared by the redactor and the names check: emails and IBANs, full-width too."""

from __future__ import annotations

import re
import unicodedata

# CJK scripts write no spaces: "我的卡号是4111…" puts a card number right after a Han character, which `\w`
# counts as a word character. Boundaries are judged with `WORD_CHAR`, a word character of any other script.
_CJK = "\u2e80-\u2fff\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
WORD_CHAR = "[^\\W" + _CJK + "]"
_W = WORD_CHAR
_LOCAL = "(?:" + _W + "|[!#$%&'*+^`{|}~-])+(?:\\.(?:" + _W + "|[!#$%&'*+^`{|}~-])+)*"
EMAIL = re.compile(
    # The local part: in Latin (or any non-CJK) letters, bounded by the script change ("邮箱wang.xm@…" is the
    # word 邮箱 and an address), or wholly CJK after a space or punctuation ("张三@example.com").
    "(?<![.+-])(?:(?<![\\w])[" + _CJK + "]+|(?<!" + _W + ")" + _LOCAL + ")"
    # A top-level domain in Latin letters, or in another script (.рф, .中国), not both: "qq.com谢谢".
    "@(?:[^\\W_](?:[\\w-]*[^\\W_])?\\.)+(?:[A-Za-z]{2,63}|[^\\W\\dA-Za-z_]{2,63})(?!" + _W + "|-)",
)
# Country code, check digits, then 11-30 alphanumerics, optionally in groups of four.
IBAN = re.compile("(?<!-)(?<!" + _W + ")[A-Z]{2}\\d{2}(?: ?[A-Z0-9]){11,30}(?!" + _W + "|-)", re.IGNORECASE)
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27,
    "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24,
    "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def iban_span(candidate: str) -> int:
    """How many leading characters of an `IBAN` match are a valid IBAN (0: none)."""
    # The greedy match may have swallowed a following word; try the longest valid prefix.
    for end in range(len(candidate), 14, -1):
        prefix = candidate[:end]
        if prefix.endswith(" "):
            continue
        if end < len(candidate) and candidate[end].isalnum() and candidate[end - 1].isalnum():
            continue  # never cut a group in the middle
        if iban_valid(prefix):
            return end
    return 0


class _Folding(dict[int, int]):
    """The `str.translate` table of `fold`, filled as characters are met."""

    def __missing__(self, code: int) -> int:
        char = chr(code)
        folded = code
        if unicodedata.decomposition(char).startswith("<wide>"):
            # NFKC of a full-width form; the few it makes two characters of (U+FFE3, a macron) stay.
            normal = unicodedata.normalize("NFKC", char)
            folded = ord(normal) if len(normal) == 1 else code
        elif char.isdecimal():
            folded = ord(str(unicodedata.decimal(char)))
        self[code] = folded
        return folded


_FOLDING = _Folding()


def fold(text: str) -> str:
    """`text` as the patterns read it: full-width forms (and the ideographic space) as their ASCII
    characters, every decimal digit as an ASCII digit, as CJK keyboards type "４１１１ １１１１…",
    "ｗａｎｇ＠ｑｑ．ｃｏｍ" and "０３－１２３４－５６７８". One character for one, so a span found in
    the folded text is the same span of the text, whose other characters are kept as written. Not all of
    NFKC: it also makes "10²" "102" and "①" "1", which no one writes a number with."""
    return text if text.isascii() else text.translate(_FOLDING)


def spans(text: str) -> list[tuple[int, int]]:
    """Where `text` holds an email address or an IBAN, as the redactor finds them (full-width too)."""
    text = fold(text)
    out = [match.span() for match in EMAIL.finditer(text)]
    pos = 0
    while (match := IBAN.search(text, pos)) is not None:
        length = iban_span(match.group())
        if length:
            out.append((match.start(), match.start() + length))
            pos = match.start() + length
        else:
            pos = match.start() + 1  # the real IBAN may start inside this candidate
    return sorted(out)


__all__ = ["EMAIL", "IBAN", "WORD_CHAR", "fold", "iban_span", "iban_valid", "spans"]
