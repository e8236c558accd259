"""Text from outside: made encodable (lone UTF-16 surrogates replaced), composed and storable (no NUL),
whether it says anything, its letters without their accents, and whether they are Latin."""

from __future__ import annotations

import re
import unicodedata

# A str can hold surrogate code points that UTF-8 cannot encode: the log, the language detector and every
# channel's output would fail on them. JSON decoding pairs valid surrogate escapes, so any left are lone.
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def encodable(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return _SURROGATE.sub(REPLACEMENT, text)


def composed(text: str) -> str:
    """`text` encodable and in its composed form (NFC): a Vietnamese keyboard or a macOS paste sends
    "muốn hủy" as letters and combining marks, which the language detector read as English (0.47; composed,
    Vietnamese 0.92) and every word list and pattern missed. NFC changes no character's meaning."""
    text = encodable(text)
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def storable(text: str) -> str:
    """`text` as the conversation log can keep it on every database: encodable, and without NUL.

    PostgreSQL's text types refuse U+0000 (error 22021): one NUL in a web visitor's JSON ("hi\\u0000")
    failed the whole write, so the question went unlogged and the visitor read "database unavailable".
    SQLite keeps it, but its text functions stop at it. Dropped, not replaced: a NUL shows nothing, so the
    text reads the same without it, on both databases."""
    return encodable(text).replace("\x00", "")


def has_words(text: str) -> bool:
    """Whether text an admin writes as an answer says anything: a letter or digit, not only emoji or symbols
    ("😀" approved would be served as the whole answer to everyone who asks that question)."""
    return any(ch.isalnum() for ch in text)


def without_accents(text: str) -> str:
    """`text` with its letters' accents left off ("sábado" → "sabado", "Rückgabe" → "Ruckgabe", Turkish
    "kapıda" → "kapida", Vietnamese "đài" → "dai"): customers often type them so."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", plain.translate(_UNDECOMPOSED))


# Letters with no decomposition, typed as a plain letter on other keyboards: Turkish's dotless "ı" is "i",
# Vietnamese "đ" (its stroke is no combining mark) "d": "tổng đài" is "tong dai"; Polish "ł" is "l"
# ("zgubiłem" typed "zgubilem").
_UNDECOMPOSED = str.maketrans({"ı": "i", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L"})


def lowered(text: str, lang: str) -> str:
    """`text` in lower case as `lang` writes it (Turkish and Azerbaijani: `turkish_lowered`). Elsewhere too
    "İ" is "i": `str.lower` makes it "i" and a combining dot, and the dot split "İade" into "i" and "ade"."""
    if lang in DOTTED_I_LANGUAGES:
        return turkish_lowered(text)
    return text.replace("İ", "i").lower()


# The languages whose "I" is the capital of dotless "ı", and "İ" that of "i".
DOTTED_I_LANGUAGES = frozenset({"tr", "az"})


def turkish_lowered(text: str) -> str:
    """`text` in lower case as Turkish writes it: "FATURAMI" is "faturamı", "İADE" is "iade". A word of at
    most four capitals is an acronym read in Latin letters ("API", "SIM", "IBAN"): as "apı" Snowball cut it
    to "ap", which the "api" a customer types never matched."""
    text = _ACRONYM.sub(lambda match: match.group().replace("I", "i"), text)
    return text.replace("I", "ı").replace("İ", "i").lower()


# A word of two to four capitals (and digits) with no "İ" of its own: Turkish words in capitals are rarely so
# short ("MI" is the particle "mı", which reads the same folded).
_ACRONYM = re.compile(r"\b(?=[A-Z0-9]*[A-Z][A-Z0-9]*\b)[A-Z0-9]{2,4}\b")


# The first code point past the Latin script's letters (Latin Extended-B ends at U+024F).
_LATIN_END = 0x250
# Latin Extended Additional: Vietnamese writes its tones with these ("ạ", "ế", "ự"), and a message of them
# was read as not Latin, so neither a Telegram hint nor the help center's language could stand for it.
_LATIN_ADDITIONAL = range(0x1E00, 0x1F00)


def latin(char: str) -> bool:
    """Whether `char` is in the Latin script's blocks (ASCII to Latin Extended-B, and Latin Extended
    Additional): "é" and "ế" are, "д" is not."""
    code = ord(char)
    return code < _LATIN_END or code in _LATIN_ADDITIONAL


def _marks(*blocks: tuple[int, int]) -> str:
    """The combining marks (categories Mn, Mc, Me) in `blocks`, each once, in order."""
    return "".join(
        chr(code)
        for first, last in blocks
        for code in range(first, last + 1)
        if unicodedata.category(chr(code)).startswith("M")
    )


def _character_class(characters: str) -> str:
    """`characters` (in code point order) as the body of a regex character class, runs as ranges."""
    ranges: list[tuple[int, int]] = []
    for code in map(ord, characters):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


# The combining marks of the Latin letters' blocks: decomposed text's accents ("e\u0301"), which NFC and
# NFKC put back on their letters.
LATIN_COMBINING_MARKS = _marks((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF))
# The combining marks other scripts write inside their words: Devanagari's and every Indic script's vowel
# signs and viramas, Thai, Lao, Tibetan, Myanmar and Khmer vowels and tones, Cyrillic titlos, Arabic and
# Hebrew vowel points.
SCRIPT_MARKS = _marks(
    (0x0483, 0x0489), (0x0591, 0x05C7), (0x0610, 0x06ED), (0x0900, 0x0DFF), (0x0E00, 0x0FFF),
    (0x1000, 0x109F), (0x1780, 0x17FF),
)  # fmt: skip
# All of them as the body of a regex character class. Python's `\w` counts none of them ("पासवर्ड" was read
# as three words, "प", "सवर" and "ड", and a Thai sentence fell into pieces at each vowel above or below its
# consonant): each pattern that reads words adds them (`LETTER`, `WORD_CHARACTER`).
MARKS = _character_class("".join(sorted(LATIN_COMBINING_MARKS + SCRIPT_MARKS)))
# A letter with the marks written on it: `rf"{LETTER}+"` is a word's letters.
LETTER = rf"(?:[^\W\d_]|[{MARKS}])"
# A letter or a digit with its marks: `rf"{WORD_CHARACTER}+"` is a word.
WORD_CHARACTER = rf"(?:[^\W_]|[{MARKS}])"


# Ukrainian as customers type it: its apostrophe as "'", "’", "ʼ" (the one Ukrainian spelling prefers, a
# letter to `\w`), "‘", "`" or "´", or left out ("пять" for "п’ять"); and on a Russian keyboard, which has no
# "і" nor "ї", with a Latin "i" or "ï" ("привiт").
_CYRILLIC = "\u0400-\u04ff"
# The Russian keyboard's keys where the Ukrainian one has і, є and ї ("скыльки дныв" for "скільки днів").
RUSSIAN_KEYS, UKRAINIAN_KEYS = "ыэъ", "ієї"
_CYRILLIC_APOSTROPHE = re.compile(f"(?<=[{_CYRILLIC}])['\u2019\u02bc\u2018`\u00b4](?=[{_CYRILLIC}])")
_LATIN_I_IN_CYRILLIC = re.compile(f"(?<=[{_CYRILLIC}])[iï]|[iï](?=[{_CYRILLIC}])")


def cyrillic_apostrophes_left_out(text: str) -> str:
    """`text` without the apostrophes inside its Cyrillic words: "з'єднайте", "зʼєднайте" and "зєднайте" are
    one word."""
    return text if text.isascii() else _CYRILLIC_APOSTROPHE.sub("", text)


def ukrainian_typed(text: str) -> str:
    """`text` (lower case) as Ukrainian is compared however it was typed: without the apostrophes inside its
    Cyrillic words, and a Latin "i" or "ï" in one as "і" or "ї" ("привiт" is "привіт")."""
    if text.isascii():
        return text
    text = _LATIN_I_IN_CYRILLIC.sub(lambda match: "ї" if match.group() == "ï" else "і", text)
    return cyrillic_apostrophes_left_out(text)


# The letters of the scripts written right to left: Hebrew, Arabic and its supplements, Syriac, Thaana, N'Ko,
# Samaritan and Mandaic, and Hebrew's and Arabic's presentation forms.
_RIGHT_TO_LEFT_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_LETTER_WORD = re.compile(rf"[^\W\d_]{LETTER}*")


def right_to_left(text: str) -> bool:
    """Whether `text` reads right to left: three words in ten or more, links aside, are in a right-to-left
    script (Arabic, Hebrew). Not its first letter, as HTML's `dir="auto"` goes by: an Arabic sentence that
    opens with a Latin product name ("Parcelly تعيد المبلغ…") is right to left, and laid out left to right it
    put the name at the sentence's end; an Arabic sentence names products in Latin letters more often than an
    English one writes Arabic ("Apple Pay و STC Pay متاحة" is right to left). The web widget decides the same
    way (`direction` in widget.js)."""
    words = _LETTER_WORD.findall(_LINK.sub(" ", text))
    rtl = sum(1 for word in words if _RIGHT_TO_LEFT_LETTER.match(word))
    return bool(words) and rtl * 10 >= len(words) * 3
