"""Text analysis for lexical search in every script: words, stop words and stems per language.

Both backends index analysed terms: the embedded one writes them into its FTS5 table (whose own tokenizer
then only splits on spaces and folds case and diacritics), Elasticsearch maps each language to one of its
built-in analyzers (`es_analyzer`). Chinese, Japanese and Korean text is indexed and searched as
overlapping character bigrams, as Elasticsearch's `cjk` analyzer does: on the Chinese Debian Reference
questions they beat jieba's words (BM25 MRR 0.70 against 0.69 with `cut`, 0.63 with `cut_for_search`; see
the README's Languages section). Where whole words are wanted (the calibration's pseudo-questions, the
gate's word coverage) Chinese is segmented by jieba (`rjieba`, the Rust port, its dictionary inside the
package); Japanese and Korean words are bigrams there too. Other languages are stemmed with their Snowball
stemmer (PyStemmer) when one exists, after their stop words are dropped; the rest are only lower-cased.
German compounds are indexed and searched as themselves and as their two parts (`compound_parts`, from
wordfreq's word list), embedded backend only: Elasticsearch's built-in `german` analyzer does not split them.
Vietnamese keeps its tones (`TONED`): each marked word is indexed with its marks (`toned_term`, ASCII, so
FTS5's `remove_diacritics` leaves gói and gọi apart) and without them (`toneless_term`), beside each pair of
adjacent words; a question's marked word is searched with its marks, an unmarked one without.
Thai, written without spaces between its words, is indexed and searched as overlapping character trigrams
(`thai_trigrams`; measured against its words, pairs and fours), in any document's language, and segmented
into words by PyThaiNLP's `newmm` where whole words are wanted (`thai_words`); Elasticsearch's built-in
`thai` analyzer segments it by its own dictionary. A word keeps the marks written on its letters (`MARKS`:
Devanagari's vowel signs and viramas, Thai's vowels and tones), which Python's word pattern leaves out.
Latin-script words inside CJK text (commands, product names) are analysed as English. Traditional Chinese is
folded into Simplified (OpenCC) on both sides, index and query, so a customer writing either script finds
passages written in either.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from bot import pii
from bot.arabic import (
    ARABIC_SCRIPT_FOLDED,
    SAME_MEANING,
    arabic_folded,
    arabic_pairs,
    arabic_stem,
    is_arabic,
    meaning_groups,
)
from bot.chinese import to_simplified
from bot.everyday import HEBREW_SAME_MEANING_LINES, UKRAINIAN_SAME_MEANING_LINES
from bot.language import ACCENTS_LEFT_OUT, STOPWORDS, UNDETERMINED, detect_message_language, normalize
from bot.persian import SAME_MEANING_LINES
from bot.stemmers import (
    DICTIONARIES,
    OWN_STEMMERS,
    dictionaries_for,
    dictionaries_needed,
    joined_apostrophes,
    load_dictionaries,
    own_stem,
)
from bot.unicode import DOTTED_I_LANGUAGES, MARKS, lowered, without_accents

CJK_LANGUAGES = frozenset(["zh", "ja", "ko"])
# Snowball stemmers (PyStemmer) by language code.
SNOWBALL = {
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    # English keeps the original Porter algorithm FTS5's `porter` tokenizer used: on the Python FAQ it ranks
    # one question more first than Porter2 ("english"), and no English set measured does better with Porter2.
    "en": "porter",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
# The languages whose words are stemmed: Snowball's, Arabic by Lucene's light stemmer (`bot.arabic`), and
# Ukrainian and Hebrew by `bot.stemmers`.
STEMMED = frozenset({*SNOWBALL, "ar", *OWN_STEMMERS})
# Elasticsearch's built-in language analyzers (default distribution, no plugins) by language code; every
# other language gets `standard`. Chinese, Japanese and Korean share `cjk` (bigrams).
ES_LANGUAGE_ANALYZERS = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "bn": "bengali",
    "pt": "portuguese",
    "bg": "bulgarian",
    "ca": "catalan",
    "zh": "cjk",
    "ja": "cjk",
    "ko": "cjk",
    "cs": "czech",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "gl": "galician",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lv": "latvian",
    "lt": "lithuanian",
    "no": "norwegian",
    "fa": "persian",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "tr": "turkish",
    "th": "thai",
}
ES_DEFAULT_ANALYZER = "standard"


_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = "\u3041-\u30ff\u31f0-\u31ff\uff66-\uff9d"
_HANGUL = "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
_CJK_CLASS = f"{_HAN}{_KANA}{_HANGUL}"
# Thai letters, the vowels and tones written on them, and ๆ (its digits, ฿ and ๏ ๚ ๛ are no part of a word).
_THAI_CLASS = "\u0e01-\u0e3a\u0e40-\u0e4e"
# A run of CJK characters, a run of Thai ones (written without spaces between words, `thai_words`), or a run
# of other word characters (letters, digits and the marks written on them, `MARKS`; underscores split).
_TOKEN = re.compile(
    rf"[{_CJK_CLASS}]+|[{_THAI_CLASS}]+|(?:[^\W_{_CJK_CLASS}{_THAI_CLASS}]|[{MARKS}])+", re.UNICODE
)
# A query word with its underscores kept (`sorted_list`), or a run of CJK or Thai characters.
_IDENTIFIER = re.compile(
    rf"[{_CJK_CLASS}]+|[{_THAI_CLASS}]+|(?:[^\W{_CJK_CLASS}{_THAI_CLASS}]|[{MARKS}])+", re.UNICODE
)
_THAI_CHAR = re.compile(rf"[{_THAI_CLASS}]")
_LEADING_MARKS = re.compile(f"^[{MARKS}]+")
# A run of Thai letters, for `thai_words`.
THAI_RUN = re.compile(rf"[{_THAI_CLASS}]+")
_HAN_RUN = re.compile(rf"[{_HAN}]+")
# A Turkish name's suffixes, after its apostrophe ("Pazaryolu'nda", "iPhone’u").
_TURKISH_SUFFIX = re.compile(r"(?<=\w)['’]\w+")
_CJK_CHAR = re.compile(rf"[{_CJK_CLASS}]")
# Chinese questions of one sentence or two come to 30-50 bigrams, and their key words are often last
# ("…用什么命令？"): 32 cut them off (Chinese Debian Reference BM25 hit@5 0.800 at 32, 0.825 at 64).
MAX_QUERY_TERMS = 64
# Thai's trigrams and Arabic's letter pairs count apart (about one per letter: `thai_trigrams`,
# `bot.arabic.arabic_pairs`), so a Thai or Arabic paragraph's last sentence is searched too: 64 in all cut a
# Thai question after about 66 characters.
MAX_GRAM_QUERY_TERMS = 256
# A query is analysed for its own language and for up to this many of the knowledge base's languages in all.
MAX_QUERY_LANGUAGES = 3

# Languages that write their compounds as one word ("Herstellergarantie", "Versandkosten"): a compound is
# indexed and searched as itself and as its two parts, so "Garantie" finds the manufacturer's warranty and
# "Versandkosten" a passage on "Versand" and "Kosten" (`compound_parts`). German only: the one measured.
DECOMPOUNDED = frozenset(["de"])
# A part has at least this many letters ("Rück|sendung"), and both parts are words of the language at least
# this frequent in wordfreq's list (zipf: 2.5 is about three in a million words), so a word that only looks
# like two ("Bestellung", "Verkalkung") stays whole.
MIN_COMPOUND_PART = 4
MIN_PART_ZIPF = 2.5

_jieba_lock = threading.Lock()

# Thai words left out of a question's search (not of the index): Lucene's Thai stop words, which
# Elasticsearch's `thai` analyzer drops too, and the particles, pronouns and question words of a customer's
# chat (ครับ, ค่ะ, ไหม, ยังไง), which would otherwise be the terms a whole help center shares.
_THAI_STOPWORDS_TEXT = """ไว้ ไม่ ให้ ใน โดย ได้ แห่ง แล้ว และ แต่ เอง เลย เรา เมื่อ เพื่อ เพราะ เป็นการ เป็น เนื่องจาก
    เดียวกัน เดียว เช่น เฉพาะ เคย เขา อีก อาจ อะไร อย่าง อยู่ อยาก หาก หลาย หลังจาก หลัง หรือ หนึ่ง ส่วน สุด สําหรับ
    สำหรับ ว่า ระหว่าง รวม ยัง มี มาก พร้อม บาง น่า นี้ นั้น นอกจาก ทุก ที่สุด ที่ ทําให้ ทำให้ ทั้งนี้ ทั้ง ถ้า ถูก ถึง ต้อง
    ต่างๆ ต่าง ต่อ ตาม ตั้งแต่ ด้วย ดัง ซึ่ง จึง จาก จะ คือ ความ ครั้ง คง ของ ขณะ ก่อน ก็ การ กับ กัน กว่า
    ครับ คับ ค่ะ คะ ค่า นะ น่ะ จ้ะ จ้า จ๊ะ อะ อ่ะ ละ ล่ะ สิ ซิ หน่อย ไหม มั้ย มั๊ย ป่ะ ปะ เหรอ หรอ ยังไง อย่างไร
    ไง ทำไง บ้าง ไหน ทำไม เท่าไร เท่าไหร่ ผม ฉัน ดิฉัน หนู เค้า คุณ ท่าน"""
THAI_STOPWORDS = frozenset(_THAI_STOPWORDS_TEXT.split())

# Languages whose index keeps each word's tone and vowel marks: Vietnamese, where FTS5's `remove_diacritics`
# made one term of gói and gọi ("package", "call"), tiền and tiện, thẻ and thế (124 such terms in a telecom's
# help center), and the merged ones, in more than `MAX_DF_FRACTION` of its passages, were left out of every
# search. Each marked word is indexed twice, with its marks (`toned_term`) and without them (`toneless_term`),
# and each pair of adjacent words once more, joined and unmarked ("nạp tiền" → "naptien": most Vietnamese
# words are two syllables, and "gói cước" is a package where "gói" alone may be a call). A question's word
# typed with marks is searched with them, one typed without (as customers chat: "nap tien", "goi cuoc")
# without them, and each pair of its adjacent words but particles (`VIETNAMESE_PARTICLES`) unmarked.
TONED = frozenset(["vi"])
# A mark as the digit VNI keyboards type it with (tones: sắc 1, huyền 2, hỏi 3, ngã 4, nặng 5; vowels: â ê ô
# 6, ơ ư 7, ă 8); đ is d9. Another language's marks in a Vietnamese passage (ü, ç) are 0.
_VNI_MARKS = {
    "\u0301": "1",
    "\u0300": "2",
    "\u0309": "3",
    "\u0303": "4",
    "\u0323": "5",
    "\u0302": "6",
    "\u031b": "7",
    "\u0306": "8",
}
_VNI_TONES = frozenset("\u0301\u0300\u0309\u0303\u0323")
# What a Vietnamese question says besides its topic, left out of its search (not of the index): particles,
# question words and their chat spellings (ạ, ơi, nhé, vậy, thì, mà, gì, sao, nào, đâu; "ko", "dc" are
# expanded first, `VIETNAMESE_CHAT_WORDS`). Syllables that are also halves of content words stay: có (có thể),
# không (không dây), được, làm (làm lại), muốn; a list with them lost (hybrid MRR 0.682 → 0.633).
_PARTICLES_TEXT = """ạ à ơi ư ừ hả hở nhé nhá nha nhỉ vậy thì mà gì sao nào đâu rồi ak ah ad
    a vay thi ma gi nao dau roi r nhe nhen hen"""
VIETNAMESE_PARTICLES = frozenset(_PARTICLES_TEXT.split())
# Chat abbreviations of Vietnamese customers, searched as the words they stand for ("sdt" → "số điện thoại").
VIETNAMESE_CHAT_WORDS = {
    "ko": "không",
    "k": "không",
    "kh": "không",
    "dc": "được",
    "đc": "được",
    "sdt": "số điện thoại",
    "sđt": "số điện thoại",
    "dt": "điện thoại",
    "đt": "điện thoại",
    "tk": "tài khoản",
    "mk": "mật khẩu",
    "cskh": "chăm sóc khách hàng",
    "dk": "đăng ký",
    "đk": "đăng ký",
}


@cache
def _stemmer(algorithm: str) -> Any:
    import Stemmer  # PyStemmer: the Snowball algorithms in C

    return Stemmer.Stemmer(algorithm)


@lru_cache(maxsize=65_536)
def compound_parts(word: str, lang: str) -> tuple[str, ...]:
    """The two words a lower-case compound of `lang` is made of ("herstellergarantie" → "hersteller",
    "garantie"; "monatsraten" → "monat", "raten", its linking "s" left off), or () for a word that is none.

    Of the ways to cut it in two, the one whose rarer part is most frequent in wordfreq's list for `lang`
    (its data inside the package, read once, about a second for German); both parts at least
    `MIN_COMPOUND_PART` letters and `MIN_PART_ZIPF` frequent, and more frequent than the word itself."""
    if lang not in DECOMPOUNDED or len(word) < 2 * MIN_COMPOUND_PART or not word.isalpha():
        return ()
    from wordfreq import zipf_frequency

    # A word more frequent than its rarer part is a word of its own ("Österreich" is no "österr." + "eich",
    # "innerhalb" no "inn" + "halb").
    best: tuple[float, str, str] = (zipf_frequency(word, lang), "", "")
    for cut in range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_PART + 1):
        head, tail = word[:cut], word[cut:]
        heads = [head, head[:-1]] if head.endswith("s") and len(head) > MIN_COMPOUND_PART else [head]
        for first in heads:
            score = min(zipf_frequency(first, lang), zipf_frequency(tail, lang))
            if score >= MIN_PART_ZIPF and score > best[0]:
                best = (score, first, tail)
    return best[1:] if best[1] else ()


def _jieba() -> Any:
    # rjieba loads its bundled dictionary on first use; one thread at a time builds it.
    with _jieba_lock:
        import rjieba

        return rjieba


def indexed_text(text: str, lang: str | None) -> str:
    """`text` of a document in `lang` as lexical search reads it: its width forms folded (`width_folded`), and
    Traditional Chinese folded into Simplified when the document is Chinese (Japanese kanji are not
    Traditional Chinese); a `TONED` language's text as its index terms, which Elasticsearch's `standard`
    analyzer keeps as they are.

    A text is folded whole (`bot.chinese.to_simplified`): one with any Traditional character is Traditional
    throughout, so its 文件 is Taiwan's "document" (文档). Deciding each run of Han characters on its own
    measured worse on the Traditional Debian Reference with its Traditional questions (hybrid MRR 0.611
    against 0.623)."""
    key = language_key(lang)
    if key in TONED or key in OWN_STEMMERS:
        # Its index terms (`Analyzer.text`): no built-in analyzer keeps a word's marks and drops them too, nor
        # stems Ukrainian or Hebrew.
        return analyzer(key).text(text)
    text = width_folded(text)
    return to_simplified(text) if key == "zh" else text


def width_folded(text: str) -> str:
    """`text` with its compatibility forms as their plain characters (NFKC): half-width katakana, full-width
    Latin letters, digits and punctuation, as Elasticsearch's `cjk_width` reads them. Thai and Lao "am"
    (ำ, ຳ) stay one letter: NFKC writes them as a nikhahit and an "aa", which no dictionary word holds
    ("ทำไม" segmented otherwise, and was no stop word)."""
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFKC", text)
    return folded.replace("\u0e4d\u0e32", "\u0e33").replace("\u0ecd\u0eb2", "\u0eb3")


def toneless_term(word: str) -> str:
    """A lower-case word without its marks, đ as d, as a Vietnamese customer types it without them ("được" →
    "duoc"; FTS5's `remove_diacritics` leaves đ as it is, `without_accents` does not)."""
    return without_accents(word)


def toned_term(word: str) -> str:
    """A lower-case word with its marks as digits (`_VNI_MARKS`): a vowel's after its letter, the tone's last,
    wherever it sits ("gói" → "goi1", "gọi" → "goi5", "được" → "d9u7o7c5"; "khoá" and "khóa", "huỷ" and "hủy",
    both placements in use, are one term). ASCII, so FTS5's `remove_diacritics` and Elasticsearch's
    `standard` analyzer keep it one term of its own."""
    out, tone = [], ""
    for char in unicodedata.normalize("NFD", word):
        if char == "đ":
            out.append("d9")
        elif char in _VNI_TONES:
            tone = _VNI_MARKS[char]
        elif unicodedata.combining(char):
            out.append(_VNI_MARKS.get(char, "0"))
        else:
            out.append(char)
    return "".join(out) + tone


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def language_key(lang: str | None) -> str:
    """The analysis a language gets: its code when it has a stemmer or stop list, is CJK or `TONED`, else
    "und"."""
    code = normalize(lang) if lang else UNDETERMINED
    if code in CJK_LANGUAGES or code in SNOWBALL or code in OWN_STEMMERS or code in STOPWORDS:
        return code
    if code in TONED:
        return code
    return UNDETERMINED


@dataclass(frozen=True, slots=True)
class Analyzer:
    """Turns text of one language into index terms (lower-cased, stop words out, stemmed or segmented)."""

    lang: str  # a `language_key`

    @property
    def name(self) -> str:
        if self.lang == "ar":
            return "ar-light"
        if self.lang in CJK_LANGUAGES:
            return f"{self.lang}-bigram"
        if self.lang in SNOWBALL:
            return f"{self.lang}-snowball"
        if self.lang in TONED:
            return f"{self.lang}-toned"
        if self.lang in OWN_STEMMERS:
            return f"{self.lang}-{'dictionary' if self.lang in DICTIONARIES else 'light'}"
        return "simple"

    def words(self, text: str, also_stop: frozenset[str] = frozenset()) -> list[str]:
        """The surface words of `text` without stop words (nor `also_stop`), in order (Chinese segmented into
        words by jieba, other CJK into bigrams; nothing stemmed)."""
        return self._tokens(text, bigrams=False, also_stop=also_stop)

    def _tokens(
        self,
        text: str,
        *,
        bigrams: bool,
        also_stop: frozenset[str] = frozenset(),
        stop: bool = True,
        fold: bool = True,
    ) -> list[str]:
        out: list[str] = []
        latin_stop = STOPWORDS.get("en" if self.lang in CJK_LANGUAGES else self.lang, frozenset()) | also_stop
        if not stop:
            latin_stop = frozenset()
        cjk_stop = STOPWORDS.get("zh", frozenset())
        if fold:
            # Half-width katakana and full-width letters and digits are the same words ("ｺﾝﾋﾞﾆ" コンビニ,
            # "ＳＯＦＡ－２００" SOFA-200): a Japanese trial's questions typed so found nothing. (Not `fold`:
            # the caller has folded the whole text, `word_terms`.)
            text = width_folded(text)
        # Chinese only: kanji in Japanese text are not Traditional Chinese (and a Japanese question and
        # passage are both read unfolded).
        folded = to_simplified(text) if fold and self.lang == "zh" else text
        if self.lang in DOTTED_I_LANGUAGES:
            # "Pazaryolu'nda", "Papara'ya": the suffixes of a name after its apostrophe are no words (as
            # Elasticsearch's Turkish analyzer reads them): "nda" was a term of 10 of a trial's 81 chunks.
            folded = _TURKISH_SUFFIX.sub("", folded)
        elif self.lang in OWN_STEMMERS:
            # "п’ять" is one word, as "пять" typed without its apostrophe.
            folded = joined_apostrophes(folded)
        for match in _TOKEN.finditer(lowered(folded, self.lang)):
            # A mark with no letter before it ("a \u0301 b") is no word: without its accents, it was "".
            token = _LEADING_MARKS.sub("", match.group())
            if self.lang in ARABIC_SCRIPT_FOLDED:
                # Spelled as Elasticsearch's `arabic` (or `persian`) analyzer folds it, before its stop words
                # are looked up.
                token = arabic_folded(token)
            if not token:
                continue
            if _is_cjk(token[0]):
                if bigrams:
                    out.extend(_bigrams(token))
                    continue
                for word in self._cjk_words(token):
                    if word not in cjk_stop:
                        out.append(word)
            elif _THAI_CHAR.match(token):
                if bigrams:
                    out.extend(thai_trigrams(token))
                    continue
                out.extend(w for w in thai_words(token) if not stop or w not in THAI_STOPWORDS)
            elif token not in latin_stop and not _conjoined_stop_word(token, self.lang, latin_stop):
                out.append(token)
        return out

    def _unaccented(self, stem: str) -> str:
        """`stem` without accents where customers leave them out (`ACCENTS_LEFT_OUT`), as FTS5 reads index
        terms (`remove_diacritics`). Compared in Python (a question's words against a heading or a passage),
        "cai" and "caí" were two words, and a Brazilian trial's "cai num golpe oq eu faço" was refused with
        the section "Caí em um golpe, o que fazer?" first. Stemmed first, then unaccented: Snowball reads
        French participles by their accents ("imprimée"); unaccented first, four of the French Debian
        Reference questions lost rank. A `TONED` language's words without their marks and đ as d, as its
        index holds each word too (`toneless_term`)."""
        if self.lang in TONED:
            return toneless_term(stem)
        return without_accents(stem) if self.lang in ACCENTS_LEFT_OUT else stem

    def _cjk_words(self, run: str) -> list[str]:
        if self.lang == "zh" and _HAN_RUN.fullmatch(run):
            return [w for w in _jieba().cut(run) if w.strip()]
        return _bigrams(run)

    def terms(
        self,
        text: str,
        also_stop: frozenset[str] = frozenset(),
        *,
        stop: bool = True,
        compounds: bool = False,
    ) -> list[str]:
        """Index terms of `text`, every occurrence, in order: CJK runs as character bigrams (in any
        language), other words stemmed for this language without its stop words (nor `also_stop`); with
        `compounds`, each compound followed by its parts (`DECOMPOUNDED`)."""
        words = self._tokens(text, bigrams=True, also_stop=also_stop, stop=stop)
        if compounds and self.lang in DECOMPOUNDED:
            words = [term for word in words for term in (word, *self._parts(word))]
        return [w if _kept_whole(w) else self._stem(w) for w in words]

    def word_terms(self, text: str, also_stop: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
        """Each index term of `text` (as `terms`, stop words out, but Chinese not folded: `query_terms` folds
        the whole question first, as a passage is folded whole) with the surface word it came from.

        An identifier joined by underscores (`sorted_list`) is one phrase term of its stemmed parts
        ("sort list"), stop words kept, as the index keeps every word in order: a question naming an
        identifier means it, not its parts anywhere in a passage (FTS5's tokenizer used to do the same).
        """
        if self.lang in TONED:
            return self._toned_word_terms(text, also_stop)
        out: list[tuple[str, str]] = []
        if self.lang in DOTTED_I_LANGUAGES:
            text = _TURKISH_SUFFIX.sub("", text)  # as `_tokens` reads it
        elif self.lang in OWN_STEMMERS:
            text = joined_apostrophes(text)
        for match in _IDENTIFIER.finditer(lowered(width_folded(text), self.lang)):
            word = match.group()
            if THAI_RUN.fullmatch(word):
                # Its trigrams, each searched for the run as typed: Elasticsearch's `thai` analyzer cuts that
                # into words itself (`query_words`).
                out.extend((word, gram) for gram in thai_trigrams(word))
                continue
            # Not in Arabic: its index holds each stem followed by its letter pairs, so a phrase of stems is
            # never found (each word is searched instead).
            if "_" in word and not _is_cjk(word[0]) and self.lang != "ar":
                parts = [self._stem(part) for part in word.split("_") if part]
                if len(parts) > 1:
                    phrase = " ".join(parts)
                    # Elasticsearch is given the stems where its fields hold them (`indexed_text`).
                    out.append((phrase if self.lang in OWN_STEMMERS else word, phrase))
                    continue
            for w in self._tokens(word, bigrams=True, also_stop=also_stop, fold=False):
                term = w if _kept_whole(w) else self._stem(w)
                # A word stemmed here is given to Elasticsearch as its term, as its index holds it
                # (`indexed_text`): its `standard` analyzer does not stem.
                out.append((term if self.lang in OWN_STEMMERS else w, term))
                if self.lang == "ar":
                    # Its letter pairs, as the index holds them (`text`).
                    out.extend((w, pair) for pair in arabic_pairs(term))
                # The help center's words for a customer's everyday one ("فلوس" is also searched as "مبلغ",
                # "کنسل" as "لغو").
                out.extend((other, other) for other in same_meaning(self.lang).get(term, ()))
                out.extend((part, self._stem(part)) for part in self._parts(w, also_stop))
            # A code typed without its hyphen ("PX110", "E203") is also searched as the parts the index
            # holds for it as written ("PX-110" is indexed as px + 110).
            out.extend((part, part) for part in code_parts(word))
            if (acronym := spelled_acronym(word)) is not None:
                out.append((acronym, self._stem(acronym)))
        return out

    def stem(self, word: str) -> str:
        """The index term of one lower-cased word of this language (itself when there is no stemmer)."""
        return self._stem(word)

    def _stem(self, word: str) -> str:
        if self.lang == "ar":
            # Lucene's light stemmer, as Elasticsearch's `arabic` analyzer (`bot.arabic`); Latin words of an
            # Arabic text (product names, "OTP") as they are.
            return arabic_stem(arabic_folded(word)) if is_arabic(word) else word
        if self.lang in OWN_STEMMERS:
            return own_stem(word, self.lang)
        algorithm = SNOWBALL.get("en" if self.lang in CJK_LANGUAGES else self.lang)
        if self.lang == "fa":
            # As `_tokens` folds it: a word stemmed on its own (`stem`) may come straight from a question.
            word = arabic_folded(word)
        elif self.lang == "el":
            # Unaccented before Snowball's Greek stemmer, which reads "ϊ" as "η": "προϊόντα" (products) was
            # "προηοντ", and "προιοντα", as customers type it without its marks, "προιοντ".
            word = without_accents(word)
        return self._unaccented(word if algorithm is None else str(_stemmer(algorithm).stemWord(word)))

    def _parts(self, word: str, also_stop: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """A compound's parts (`compound_parts`) where compounds are one word, stop words left out."""
        parts = compound_parts(word, self.lang)
        if not parts:
            return ()
        stop = STOPWORDS.get(self.lang, frozenset()) | also_stop
        return tuple(part for part in parts if part not in stop)

    def text(self, text: str) -> str:
        """The index terms joined by spaces: what the embedded index stores for FTS5 to split again, each
        compound followed by its parts (`DECOMPOUNDED`).

        Stop words stay in the index (queries leave them out): they keep BM25's passage lengths what they
        were with FTS5's own tokenizer, which measured better on the English sets (Parcelly hybrid hit@1
        0.705 against 0.682 without them)."""
        if self.lang in TONED:
            return " ".join(self._toned_terms(text))
        terms = self.terms(text, stop=False, compounds=True)
        if self.lang == "ar":
            # Each Arabic stem followed by its letter pairs (`bot.arabic.arabic_pairs`).
            terms = [term for stem in terms for term in (stem, *arabic_pairs(stem))]
        return " ".join(terms)

    def _toned_terms(self, text: str) -> list[str]:
        """A `TONED` text's index terms: each word with its marks and without them (once when it has none),
        and each pair of adjacent words (a space apart, letters only) joined without them."""
        out: list[str] = []
        text = width_folded(text).lower()
        previous: tuple[int, str] | None = None  # where the word before ended, and its unmarked form
        for match in _TOKEN.finditer(text):
            word = match.group()
            if _is_cjk(word[0]):
                out.extend(_bigrams(word))
                previous = None
                continue
            plain, toned = toneless_term(word), toned_term(word)
            out.extend([toned, plain] if toned != plain else [plain])
            if not word.isalpha():
                previous = None
                continue
            if previous is not None and text[previous[0] : match.start()].isspace():
                out.append(previous[1] + plain)
            previous = (match.end(), plain)
        return out

    def _toned_word_terms(self, text: str, also_stop: frozenset[str]) -> list[tuple[str, str]]:
        """A `TONED` question's (term, term) pairs (`word_terms`; Elasticsearch is given the terms, as its
        index holds them): each word typed with marks with them, one typed without without them, and each
        pair of adjacent words (letters only) without them; chat abbreviations as the words they stand for
        (`VIETNAMESE_CHAT_WORDS`), particles (`VIETNAMESE_PARTICLES`) and `also_stop` left out, pairs too."""
        text = width_folded(text).lower()
        words: list[tuple[int, int, str]] = []  # where each word starts and ends, and the word
        for match in _TOKEN.finditer(text):
            word = match.group()
            if word in VIETNAMESE_CHAT_WORDS:
                parts = VIETNAMESE_CHAT_WORDS[word].split()
                # The parts of an abbreviation are adjacent: "sdt" gives the pairs of "số điện thoại".
                words.extend(
                    (match.start() if i == 0 else match.end(), match.end(), p) for i, p in enumerate(parts)
                )
            else:
                words.append((match.start(), match.end(), word))
        stop = VIETNAMESE_PARTICLES | also_stop
        out: list[tuple[str, str]] = []
        previous: tuple[int, str] | None = None
        for start, end, word in words:
            if _is_cjk(word[0]):
                out.extend((pair, pair) for pair in _bigrams(word))
                previous = None
                continue
            if word in stop:
                previous = None
                continue
            plain, toned = toneless_term(word), toned_term(word)
            out.append((toned, toned) if toned != plain else (plain, plain))
            if not word.isalpha():
                previous = None
                continue
            if previous is not None and (previous[0] == start or text[previous[0] : start].isspace()):
                out.append((previous[1] + plain, previous[1] + plain))
            previous = (end, plain)
        return out


def _is_cjk(char: str) -> bool:
    return _CJK_CHAR.match(char) is not None


# The English letters' names as Hindi (and Marathi, Nepali) writes them, with which it spells an acronym:
# "एटीएम" is ATM, "केवाईसी" KYC, "ओटीपी" OTP. Indian help centers write the acronym in Latin letters and their
# customers either way: a trial bank's "दूसरे बैंक के एटीएम से पैसे निकालूँ" found nothing of its "ATM शुल्क".
_DEVANAGARI_LETTER_NAMES = {
    unicodedata.normalize("NFC", name): letter
    for letter, names in {
        "a": "ए", "b": "बी", "c": "सी", "d": "डी", "e": "ई", "f": "एफ", "g": "जी", "h": "एच", "i": "आई",
        "j": "जे", "k": "के", "l": "एल", "m": "एम", "n": "एन", "o": "ओ", "p": "पी", "q": "क्यू", "r": "आर",
        "s": "एस", "t": "टी", "u": "यू", "v": "वी", "w": "डब्ल्यू डबल्यू", "x": "एक्स", "y": "वाई",
        "z": "ज़ेड जेड",
    }.items()
    for name in names.split()
}  # fmt: skip
_LONGEST_LETTER_NAME = max(map(len, _DEVANAGARI_LETTER_NAMES))
_DEVANAGARI_WORD = re.compile(r"[\u0900-\u097f]+")


@lru_cache(maxsize=65_536)
def spelled_acronym(word: str) -> str | None:
    """The lower-case Latin acronym a Devanagari word spells with the English letters' names (at least two:
    "एटीएम" → "atm", "केवाईसी" → "kyc"), or None ("पासवर्ड", and "के", a postposition as much as a "K")."""
    if not _DEVANAGARI_WORD.fullmatch(word):
        return None
    # spelled[i]: the letters of a reading of word[:i] as letter names, or None where it has none.
    spelled: list[str | None] = [""] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _LONGEST_LETTER_NAME), end):
            letter = _DEVANAGARI_LETTER_NAMES.get(word[start:end])
            if letter is not None and (before := spelled[start]) is not None:
                spelled[end] = before + letter
                break
    found = spelled[-1]
    return found if found is not None and len(found) >= 2 else None


def _kept_whole(term: str) -> bool:
    """Whether a term is a CJK bigram or Thai (a trigram or a word): neither is stemmed nor stripped of its
    marks (a Thai vowel or tone is no accent)."""
    return _is_cjk(term[0]) or _THAI_CHAR.match(term) is not None


def thai_trigrams(run: str) -> list[str]:
    """A run of Thai's index terms: its overlapping three-character pieces (vowels and tones count as
    characters), the run itself when shorter. Thai writes no spaces between words. On two trial Thai help
    centers (20 customer questions each, 2026-12-07; hybrid hit@1 / MRR) these put more right sections first
    than its words (`thai_words`) did, at about the same MRR: 0.700 / 0.752 and 0.600 / 0.686 against 0.650 /
    0.762 and 0.500 / 0.679, with search independent of where a dictionary cuts a customer's words ("มั้ย",
    "มากกก"); both together 0.700 / 0.748 and 0.600 / 0.714, character pairs 0.500 / 0.619 and 0.450 /
    0.582."""
    return [run[i : i + 3] for i in range(len(run) - 2)] or [run]


_thai_lock = threading.Lock()
# The segmenters loaded in this process ("zh": jieba's dictionary, "th": newmm's), each 1–2 s the first time.
_SEGMENTERS_LOADED: set[str] = set()


def segmenters_needed(text: str) -> bool:
    """Whether reading `text`'s words would first load a segmenter's dictionary (`load_segmenters`)."""
    return (
        ("th" not in _SEGMENTERS_LOADED and THAI_RUN.search(text) is not None)
        or ("zh" not in _SEGMENTERS_LOADED and _HAN_RUN.search(text) is not None)
        or dictionaries_needed(dictionaries_for(text))
    )


def load_segmenters(text: str) -> None:
    """Load the segmenters `text`'s words need (newmm for Thai, jieba for Chinese, Hebrew's dictionary), once
    per process. Blocking (1–2 s each, more on a busy machine): a search prepares it in a thread
    (`prepare_search`), as the gate reads the question's words on the event loop."""
    load_dictionaries(dictionaries_for(text))
    if THAI_RUN.search(text) is not None:
        thai_words("\u0e01")
        _SEGMENTERS_LOADED.add("th")
    if _HAN_RUN.search(text) is not None:
        _jieba().cut("\u4e2d")
        _SEGMENTERS_LOADED.add("zh")


# Runs up to this long are remembered (`thai_words`): a question's, a heading's, a sentence's. A longer one is
# segmented each time (5,000 characters take 13 ms), so customers' pasted text cannot fill the memory.
THAI_CACHED_RUN = 64


def thai_words(run: str) -> tuple[str, ...]:
    """The words of a run of Thai letters, which Thai writes without spaces between them ("ลืมรหัสผ่าน" →
    "ลืม", "รหัสผ่าน"): PyThaiNLP's `newmm` (maximal matching over its own dictionary, inside the package, and
    Thai character clusters, so no word is cut inside a syllable), as Elasticsearch's `thai` analyzer cuts
    them by its dictionary. The first call loads the dictionary (about 1.5 s; `load_segmenters`)."""
    return _thai_words_cached(run) if len(run) <= THAI_CACHED_RUN else _thai_words(run)


@lru_cache(maxsize=65_536)
def _thai_words_cached(run: str) -> tuple[str, ...]:
    return _thai_words(run)


def _thai_words(run: str) -> tuple[str, ...]:
    return tuple(word for word in _newmm()(run) if word.strip())


_newmm_segment: Callable[[str], list[str]] | None = None


def _newmm() -> Callable[[str], list[str]]:
    """newmm with its dictionary's trie, built once per process under a lock (each thread that came first
    built one of its own: eight took 12 s and 530 MiB)."""
    global _newmm_segment
    if _newmm_segment is not None:
        return _newmm_segment
    with _thai_lock:
        if _newmm_segment is None:
            # Read-only: PyThaiNLP creates ~/pythainlp-data on import otherwise (a read-only home failed
            # the import), and would download corpora on demand; newmm needs neither, its dictionary ships
            # with it. Not where the operator set the older switch: both set, PyThaiNLP refuses to run.
            if "PYTHAINLP_READ_MODE" not in os.environ:
                os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
            from pythainlp.tokenize import word_dict_trie
            from pythainlp.tokenize.newmm import segment

            _newmm_segment = functools.partial(segment, custom_dict=word_dict_trie())
        return _newmm_segment


def analyzer(lang: str | None) -> Analyzer:
    return _analyzer(language_key(lang))


@cache
def _analyzer(key: str) -> Analyzer:
    return Analyzer(key)


def same_meaning(lang: str) -> dict[str, tuple[str, ...]]:
    """Index term → the terms of the words of the same meaning, for a language with such a list: Arabic's
    (`bot.arabic.SAME_MEANING`), and Persian's, Ukrainian's and Hebrew's (`bot.persian`, `bot.everyday`),
    stemmed as its index is."""
    if lang == "ar":
        return SAME_MEANING
    if lang not in _SAME_MEANING_LINES or dictionaries_needed({lang}):
        # Hebrew's lines are stemmed by its dictionary, read once outside a search's deadline (its words
        # need it first): text without Hebrew letters must not wait for it, nor the event loop. Not cached
        # here: {} until then, the lines once it is read (`_meaning_groups` is).
        return {}
    return _meaning_groups(lang)


_SAME_MEANING_LINES = {
    "fa": SAME_MEANING_LINES,
    "uk": UKRAINIAN_SAME_MEANING_LINES,
    "he": HEBREW_SAME_MEANING_LINES,
}


@cache
def _meaning_groups(lang: str) -> dict[str, tuple[str, ...]]:
    return meaning_groups(_SAME_MEANING_LINES[lang], analyzer(lang).stem)


def query_terms(query: str, languages: Iterable[str | None] = ("en",), *, toned: bool = True) -> list[str]:
    """Index terms of a user query analysed for each of `languages` in turn, capped in number.

    Both backends search these as plain terms; no user text is ever parsed as query syntax. A query
    analysed for two languages (its own, first, and the documents') matches the documents of either; the
    stop words of each stay out of every analysis ("de", "les" are not English stop words, and would match
    every French passage of a partly translated English chapter).

    A term comes once per distinct word of the query that analyses to it ("sorted … sort" gives `sort`
    twice), as Elasticsearch's `match` query and FTS5's own tokenizer count it: the words a question
    repeats in other forms are its subject (Python FAQ BM25 MRR 0.805 with one of each, 0.825 with this).

    Without `toned`, a `TONED` language is analysed as before it kept its marks ("und"), for an index written
    before (its FTS5 rows hold the words as written, which FTS5 reads without marks).
    """
    return [term for _, term in _query_word_terms(query, languages, toned=toned)]


def query_words(query: str, languages: Iterable[str | None] = ("en",), *, toned: bool = True) -> list[str]:
    """The words of a user query that `query_terms` comes from, each once, as the analyses read them (lower
    case; CJK text as its character pairs): what Elasticsearch's own analyzers are given, so both backends
    search the same words and leave out the same stop words (the built-in `english` analyzer would keep
    "how", "can", "my" and match them in every passage). A `TONED` language's are its index terms
    (`toned_term`, …), which its Elasticsearch fields hold (`indexed_text`); without `toned`, its words as
    typed.
    """
    return list(dict.fromkeys(word for word, _ in _query_word_terms(query, languages, toned=toned)))


# A run of hiragana alone: in a Japanese question, its pairs are particles and endings (って, ない, どう).
_HIRAGANA = re.compile(r"[\u3041-\u309f]+")

HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
# The endings and particles a Korean question's words end in, longest first. As character pairs they matched
# any passage or FAQ heading with the same ones: "배송비 얼마에요" (how much is delivery?) found "에요" in
# "1년이에요" and was refused, "견적은 어떻게 받아요?" found FAQ headings holding "어떻게" (a Korean grocery's
# trial). An ending of two syllables or more leaves a stem of one (받아요 → 받); a one-syllable one, and a
# particle, only a stem of two (필요 and 추가 stay themselves).
_KOREAN_ENDINGS = tuple(
    sorted(
        {
            "되나요", "되나여", "될까요", "됐어요", "됐는데", "되는데", "되나", "되요", "돼요",
            "되면", "되는", "하나요", "할까요", "했는데", "했어요", "하려면", "해주세요", "해줘요",
            "해줘", "합니다", "하는데", "하고", "하면", "해요", "해야", "해서", "하는",
            "하기", "해여", "했", "있나요", "있어요", "있는데", "있나", "없나요", "없어요",
            "없는데", "싶어요", "싶은데", "싶은", "인가요", "인데요", "이에요", "이예요", "입니다",
            "인데", "예요", "에요", "이죠", "습니까", "습니다", "는데요", "은데요", "으려면",
            "나요", "나여", "가요", "까요", "세요", "어요", "아요", "여요", "데요",
            "는데", "은데", "니다", "니까", "네요", "래요", "대요", "려면", "으면",
            "지요", "고요", "는지", "은지", "인지", "어서", "아서", "에서는", "으로는",
            "에서", "에게", "한테", "으로", "까지", "부터", "이랑", "이나", "보다",
            "처럼", "에는",
            # Verbs that carry no topic, as English "do" and "can" carry none (condense counts a question's
            # topic words by these stems too, `bot.rag.condense`): 가능한가요 was 가능한 + 가요 here.
            "가능한가요", "가능할까요", "가능해요", "가능", "해야되나요", "해야하나요", "해야돼요",
            "해야해요", "하면요", "해도", "합니까", "됩니까", "되는지", "있습니까", "있을까요", "있는지",
            "없는지",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
_KOREAN_SHORT_ENDINGS = tuple("요면죠은는이가을를에로와과도만의랑엔해돼할")
# A verb of one syllable, alone a word ("할 수 있나요", "돼?"): an ending with no stem.
_KOREAN_VERBS_ALONE = frozenset("하해할되돼")


def korean_stem(word: str) -> str:
    """A Hangul word of a question without its ending or particle (`_KOREAN_ENDINGS`); "" for a word that is
    an ending alone ("해요", "되나요"). Question words stay (어떻게, 얼마): a help center's FAQ headings ask
    them too ("…어떻게 되나요?"), and left out they lost more than they gained on a Korean FAQ."""
    if word in _KOREAN_VERBS_ALONE:
        return ""
    for ending in _KOREAN_ENDINGS:
        if word.endswith(ending):
            return word[: -len(ending)]
    for ending in _KOREAN_SHORT_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            return word[: -len(ending)]
    return word


def korean_query(text: str) -> str:
    """`text` (a Korean question) with each Hangul word cut to its stem (`korean_stem`): what is searched for
    it, as character pairs of the stems. The index keeps every pair of the words as written, which hold the
    stems' pairs."""
    return HANGUL_WORD.sub(lambda m: korean_stem(m.group(0)), text)


def _query_word_terms(
    query: str, languages: Iterable[str | None], *, particles: bool = False, toned: bool = True
) -> list[tuple[str, str]]:
    """(surface word, index term) of `query` for `query_terms` and `query_words`, capped in number."""
    seen: dict[tuple[str, str], None] = {}
    original = query
    keys = list(dict.fromkeys(language_key(code) for code in languages))
    if not toned:
        keys = list(dict.fromkeys(UNDETERMINED if key in TONED else key for key in keys))
    # A Japanese question (its own language comes first) leaves out the pairs of hiragana alone, unless it
    # has no other terms: its particles and endings matched any heading with the same ones ("どうして GNU の
    # su は…" came first for three questions). Japanese Debian Reference, 30 questions, 2026-12-05: BM25
    # hit@1/hit@5/MRR 0.533/0.833/0.647 → 0.567/0.933/0.719. A pair with a kanji or katakana holds a word's
    # stem and stays (dropping every pair with hiragana lost, see README); the index keeps them all.
    skip = _HIRAGANA if keys[:1] == ["ja"] and not particles else None
    # Every analysis leaves out the stop words of all of them: the question's own language may be
    # misdetected ("how do i track my parcel" reads as French at 0.54), and English "how", "do", "my"
    # would then be French content words matching every English passage.
    stop = frozenset().union(*(STOPWORDS.get(key, frozenset()) for key in keys))
    # Traditional Chinese is searched folded into Simplified, as indexes are written, and then as typed too,
    # for an index written before folding (its Traditional passages hold the unfolded terms).
    # The question is folded whole, as passages are (one Traditional character makes all of it Traditional).
    if keys[:1] == ["ko"] and not particles:
        # Asked again as written when its stems leave nothing to search.
        query = korean_query(query)
    folded = to_simplified(query)
    counted = {False: 0, True: 0}  # other terms, Thai trigrams and Arabic pairs
    for fold in (True, False) if folded != query else (True,):
        for lang in keys:
            text = folded if fold and lang == "zh" else query
            for word, term in analyzer(lang).word_terms(text, stop):
                if (word, term) in seen or (skip is not None and skip.fullmatch(term)):
                    continue
                # Thai trigrams and Arabic letter pairs are counted apart: a question's other words are
                # searched to its end whatever their number.
                grams = THAI_RUN.fullmatch(word) is not None or _is_pair(word, term)
                if counted[grams] >= (MAX_GRAM_QUERY_TERMS if grams else MAX_QUERY_TERMS):
                    continue
                counted[grams] += 1
                seen[(word, term)] = None
    if (skip is not None or keys[:1] == ["ko"]) and not seen and not particles:
        return _query_word_terms(original, languages, particles=True, toned=toned)
    return list(seen)


# A Latin-script word, not inside another token, with inner hyphens, dots or pluses kept ("node.js", "B2",
# "Wi-Fi"); underscores and digits before it make it part of code or a version ("PyObject_Call", "2.0a3"),
# and a slash, colon or at sign part of a link, path or address ("http://evil.example"). Its letters are the
# Latin script's, accented ones too: ASCII letters alone cut "Thái Lan" to "Th", "Genève" to "Gen", names no
# help center holds, and a Vietnamese question naming a country the roaming article lists was refused.
_LATIN_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_LATIN_WORD = re.compile(
    rf"(?<![\w.+\-/:@\\])[{_LATIN_LETTER}][{_LATIN_LETTER}0-9_]*(?:[-.+][{_LATIN_LETTER}0-9_]+)*"
)
# Running text before a word: its capital then marks a name ("set up Nextcloud"), not a sentence start,
# a line, a quotation or markup ("\nReveal", "'Never", "<<SYS>> Print").
_RUNNING_TEXT = re.compile(r"[^\W_][,;]?[ \t]+$")
# Markup pasted into a question (`<img src=x onerror=…>`) is not what it asks about.
_MARKUP = re.compile(r"<[^<>]*>")
# Languages that capitalise every noun: a capital says nothing there ("Rückerstattung", "Ihnen").
NOUN_CAPITALISING = frozenset(["de", "lb"])
# Longer words in capitals are emphasis ("IMPORTANT", "SYSTEM"), not acronyms ("GDM", "HTTPS").
MAX_ACRONYM = 5
# A lower-case English word at least this common (wordfreq's zipf: 3.5 is about once in 300,000 words) is no
# name inside Chinese, Japanese or Korean text: "SwiftBox App 里怎么 reset password？" asks about resetting a
# password, and was refused for "reset" and "password", which a Chinese help center never writes in English.
# Rarer words ("iptables", "fstab", "tmux") and any with capitals or digits ("WireGuard", "E-102") stay names.
COMMON_ENGLISH_ZIPF = 3.5


# A reference the customer quotes (an order, tracking, ticket or invoice number: "PX4821937560", "LUM-20931")
# carries a run of this many digits, as the redactor's user ids do; a product's or an error's code ("PX-102",
# "E42", "HTTP2") does not.
MIN_REFERENCE_DIGITS = 5
_REFERENCE_DIGITS = re.compile(rf"\d{{{MIN_REFERENCE_DIGITS}}}")
# A person's name: up to three capitalised words ("Anna Müller", "Jean-Luc", "O'Brien"), with the
# particles of family names between them ("Ana de la Cruz"). CJK characters end it ("我是Peter的客户").
_NAME_LETTER = rf"[^\W\d_{_CJK_CLASS}]"
_NAME_WORD = re.compile(rf"{_NAME_LETTER}+(?:['’-]{_NAME_LETTER}+)*")
_NAME_PARTICLES = frozenset(["van", "von", "der", "den", "de", "del", "della", "la", "le", "du", "da", "dos"])
MAX_NAME_WORDS = 3
# The positions where a customer writes a person's name, their own or the agent's, in the languages the
# bot answers in; the words there are no topic. Greetings start the text or a line ("Hi Anna,"); sign-offs
# start a sentence and end the text ("… Thanks, Maria"). "My name is" introduces a name anywhere; "I'm",
# "this is" and their kind only at the start of a clause and when the name ends it ("Hi, I'm John Smith,
# …"; not "I'm Ubuntu user").
_GREETINGS = (
    r"hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|liebe|lieber|guten (?:morgen|tag)|"
    r"bonjour|salut|cher|chère|hola|buen[oa]s (?:días|tardes)|querid[oa]|ciao|salve|buongiorno|olá|oi|"
    r"bom dia|hoi|beste|halo|hai|selamat (?:pagi|siang|sore|malam)"
)
_GREETING = re.compile(rf"(?im)^[ \t]*(?:{_GREETINGS})[ \t]+")
_INTRODUCTION = re.compile(
    r"(?i)(?:\b(?:my name is|my name's|mein name ist|ich hei(?:ß|ss)e|je m['’]appelle|mon nom est|me llamo|"
    r"mi nombre es|mi chiamo|il mio nome è|me chamo|chamo-me|meu nome é|mijn naam is|ik heet|nama saya|"
    # Whose name an account or a transfer is in: "refund to BCA 1234567890 atas nama Budi Santoso".
    r"in the name of|au nom de|a nombre de|auf den namen?|intestat[oa] a|em nome de|"
    r"op naam van|atas nama)|\ba\.n\.|"
    r"我叫|我的名字(?:是|叫)|私の名前は)[ \t]*"
)
_CLAUSE_INTRODUCTION = re.compile(
    rf"(?i)(?:^|[.!?,;:\n。！？，；：]|\b(?:{_GREETINGS})\b)[ \t]*"
    r"(?:\b(?:i['’]m|i am|this is|ich bin|hier ist|je suis|soy|sono|sou|ik ben|saya)\b|我是|私は)[ \t]*"
)
_CLAUSE_END = re.compile(
    r"[ \t]*(?:$|[,.;:!?)\n，。！？、；：]|です|(?:and|und|et|y|e|en|from|aus|de|da|here|hier|ici)\b)"
)
_SIGN_OFF = re.compile(
    r"(?i)(?:^|[.!?\n。！？])[ \t]*(?:thanks(?: a lot| in advance)?|thank you|many thanks|thx|cheers|"
    r"(?:best |kind |warm )?regards|best(?: wishes)?|sincerely|danke(?: schön)?|vielen dank|"
    r"(?:viele |liebe |beste )?gr(?:ü|ue|u)(?:ß|ss)e|mit freundlichen gr(?:ü|ue|u)(?:ß|ss)en|gruß|"
    r"merci(?: beaucoup)?|cordialement|bien à vous|gracias|muchas gracias|saludos|un saludo|atentamente|"
    r"grazie(?: mille)?|(?:cordiali )?saluti|obrigad[oa]|atenciosamente|bedankt|groeten|"
    r"met vriendelijke groet|terima kasih|makasih|salam|谢谢|多谢|感谢)[ \t]*[,!.:\-–—，！。]*\s*"
)
# Each position, and what must follow the name there (None: anything).
_NAME_POSITIONS: tuple[tuple[re.Pattern[str], re.Pattern[str] | None], ...] = (
    (_GREETING, re.compile(r"[ \t]*[,!:.]")),
    (_INTRODUCTION, None),
    (_CLAUSE_INTRODUCTION, _CLAUSE_END),
)


def _name_shaped(word: str) -> bool:
    parts = re.split(r"['’-]", word)
    return len(word) > 1 and all(p[:1].isupper() and (p[1:].islower() or not p[1:]) for p in parts)


# The spaces between the words of a name (matched in place: the question is not copied per word).
_NAME_GAP = re.compile(r"[ \t]+")


def _name_end(text: str, pos: int) -> int:
    """Where a person's name written at `pos` ends; `pos` when none is written there."""
    end, words = pos, 0
    while words < MAX_NAME_WORDS and (match := _NAME_WORD.match(text, pos)) is not None:
        word = match.group()
        if _name_shaped(word):
            end, words = match.end(), words + 1
        elif not (words and word in _NAME_PARTICLES):
            break
        gap = _NAME_GAP.match(text, match.end())
        if gap is None:
            break
        pos = gap.end()
    return end


# The word right before a piece of personal data that says what it is: "IBAN NL91…", "email: a@b.example",
# "my IBAN is NL91…".
_DATA_LABEL = re.compile(
    rf"([^\W\d_{_CJK_CLASS}]{{2,12}})(?:\s*[:：#=]|\s+(?:is|ist|est|es))?\s*$", re.IGNORECASE
)


def _labelled_from(question: str, start: int) -> int:
    """Where the personal data starting at `start` begins with the word that labels it, if one does."""
    found = _DATA_LABEL.search(question, 0, start)
    return found.start() if found is not None else start


def personal_spans(question: str, *, labels: bool = False) -> list[tuple[int, int]]:
    """Where `question` holds the customer's own data rather than a topic: an email address, an IBAN, a
    national ID number or a QQ number or WeChat ID after its label (as the redactor finds them) and a phone
    number, with `labels` the word that labels it ("IBAN" of "refund to IBAN NL91…", which the help center
    need not mention), and a person's name in a greeting, an introduction or a sign-off."""
    out = [(_labelled_from(question, start) if labels else start, end) for start, end in pii.spans(question)]
    # A phone number, without the word before it (a product's name may come just before a number): "pq meu
    # cartao foi bloqueado?" was answered, and refused with the customer's number in front (its digits drew
    # the question's vector away from every section). Spans may overlap: both callers read their union.
    out += pii.phone_like_spans(pii.fold(question))
    for pattern, then in _NAME_POSITIONS:
        for match in pattern.finditer(question):
            end = _name_end(question, match.end())
            if end > match.end() and (then is None or then.match(question, end)):
                out.append((match.end(), end))
    for match in _SIGN_OFF.finditer(question):
        end = _name_end(question, match.end())
        if end > match.end() and not question[end:].strip(" \t\n.!。！"):
            out.append((match.end(), end))
    return out


def searched_text(question: str) -> str:
    """`question` as it is searched: without the customer's own data (`personal_spans`) and the references
    they quote ("PX4821937560", "LUM-20931": a word with letters and a run of `MIN_REFERENCE_DIGITS`
    digits), which no article is about. Dense search put "Where is my parcel PX4821937560?" nearest the
    error codes (PX-301) instead of the parcel-tracking section. The question itself when nothing is left.
    """
    cut = personal_spans(question) + [(m.start(), m.end()) for m in _references(question)]
    if not cut:
        return question
    kept, last = [], 0
    for start, end in sorted(cut):
        if start >= last:
            kept.append(question[last:start])
            last = end
        else:
            last = max(last, end)
    kept.append(question[last:])
    left = " ".join("".join(kept).split())
    return left if any(c.isalnum() for c in left) else question


def references(question: str) -> list[str]:
    """The references `question` quotes: an order, tracking, ticket or invoice number ("PX4821937560",
    "VM-10293847"; `MIN_REFERENCE_DIGITS`)."""
    return [match.group() for match in _references(question)]


def _references(question: str) -> list[re.Match[str]]:
    # A Latin word starts with a letter: one with the digit run is a reference.
    return [m for m in _LATIN_WORD.finditer(question) if _REFERENCE_DIGITS.search(m.group())]


# Letters then digits, as a code typed without its hyphen or space: "px110", "e203", "x86_64" not (an
# identifier), nor "ext4", "mp3" or "python3" (one digit: a version or a name of its own).
_JOINED_CODE = re.compile(r"([a-z]{1,4})([0-9]{2,6})")


def code_parts(word: str) -> list[str]:
    """The letters and the digits of a code typed joined ("PX110" → px, 110), lower-cased; [] for any other
    word. Help centers write codes with a hyphen or a space ("PX-110", "E 203"), which their index holds as
    two words, and customers often type them joined: "what does PX110 mean" was refused for a name the help
    center never mentions."""
    match = _JOINED_CODE.fullmatch(word.lower())
    return [match.group(1), match.group(2)] if match else []


def word_parts(word: str) -> list[str]:
    """The parts the bot's own analysis cuts a joined word into ("mylist.join" -> mylist, join), where
    Elasticsearch's standard tokenizer keeps some whole (UAX #29 does not split letters around a dot)."""
    return [match.group() for match in _TOKEN.finditer(word)]


@cache
def _common_english(word: str) -> bool:
    from wordfreq import zipf_frequency

    return bool(zipf_frequency(word, "en") >= COMMON_ENGLISH_ZIPF)


# Indonesian and Malay write a word said twice (a plural, a repeated act) with a "2" in chat: "masuk2"
# (masuk-masuk), "gara2" (gara-gara), "hati2". An Indonesian trial's "kode otp gak masuk2" and "saldo ilang
# gara2 pesanan gagal" were refused as naming codes the help center lacks.
REDUPLICATING_WITH_TWO = frozenset(["id", "ms"])
_REDUPLICATED = re.compile(r"[a-z]{2,}2")


def named_words(question: str, lang: str | None = None) -> list[str]:
    """The words of a question that name a thing: a product, a command, a place, a company.

    In Chinese, Japanese or Korean text every Latin-script word is one ("怎么配置 WireGuard"); in other
    text a word is one when it mixes case or letters and digits ("WireGuard", "GDM", "ext4"), joins words
    with a dot or plus ("node.js"), or is capitalised in running text ("set up Nextcloud") unless `lang`
    (detected when None) capitalises every noun, as German does. Of a hyphenated word only the parts that
    are names by these rules are ("RAM" of "RAM-Auslastung", "Debian" of "Debian-based"; "Wi-Fi" and
    "PX-102" whole). Stop words, words of one letter ("a3", "x86"), abbreviations ("e.g"), code (words
    with underscores), parts of links and addresses, markup (`<img src=…>`), long words in capitals
    (emphasis) and, in Indonesian and Malay, a word written twice as itself and a "2" ("masuk2") never
    are; nor are lower-case names in Latin text ("kdump"), capitalised ones in German ("Redis") or
    compounds ("time-based"): they look like any other word (`bot.kb.names.uncommon_words` finds the first
    two by word lists). Nor is the customer's own data: a reference with a long run of digits
    (an order or tracking number: "PX4821937560", "LUM-20931"; "PX-102", "E42" stay names), an email
    address or IBAN, and a person's name in a greeting, introduction or sign-off (`personal_spans`).
    """
    question = _MARKUP.sub(" ", question)
    personal = personal_spans(question, labels=True)
    cjk = _CJK_CHAR.search(question) is not None
    shouted = not cjk and _shouted(question)
    language = normalize(lang or question_language(question))
    capitals_mark_names = not cjk and language not in NOUN_CAPITALISING
    reduplicating = language in REDUPLICATING_WITH_TWO
    stop = STOPWORDS["en"]
    out: list[str] = []
    for match in _LATIN_WORD.finditer(question):
        word = match.group().rstrip(".")
        parts = re.split(r"[-.+]", word)
        letters = sum(c.isalpha() for c in word)
        if letters < 2 or "_" in word or word.lower() in stop or word in out or min(map(len, parts)) < 2:
            continue
        if word.isupper() and letters > MAX_ACRONYM:
            continue
        if shouted and not any(c.isdigit() for c in word) and _JOINED.search(word) is None:
            continue  # its capitals are the whole text's, no name's
        if _REFERENCE_DIGITS.search(word) or any(a <= match.start() < b for a, b in personal):
            continue
        if reduplicating and _REDUPLICATED.fullmatch(word):
            continue
        if cjk:
            if not (word.islower() and _common_english(word)):
                out.append(word)
            continue
        running = capitals_mark_names and _RUNNING_TEXT.search(question[: match.start()]) is not None
        for name in _hyphen_names(word, running=running, capitals_mark_names=capitals_mark_names):
            letters = sum(c.isalpha() for c in name)
            if letters < 2 or (name.isupper() and letters > MAX_ACRONYM) or name.lower() in stop:
                continue
            if name not in out:
                out.append(name)
    return out


# A text written in capitals says nothing by them: "I CANT SIGN IN TO MY ACCOUNT" and "WHAT DOES ERROR PX-110
# MEAN" were refused as naming "CANT" and "MEAN" (short words in capitals read as acronyms the help center
# lacks), and a Turkish trial's "İADE KODU NASIL ALINIR" for "NASIL". From this many words with case, all in
# capitals, only digits and joiners make a name ("PX-110", "NODE.JS").
MIN_SHOUTED_WORDS = 3
_CASED_WORD = re.compile(r"[^\W\d_]{2,}")
_JOINED = re.compile(rf"[{_LATIN_LETTER}][.+][{_LATIN_LETTER}]")


def _shouted(text: str) -> bool:
    """Whether `text` is written in capitals: `MIN_SHOUTED_WORDS` words with case or more, none lower-case."""
    cased = [word for word in _CASED_WORD.findall(text) if word.lower() != word.upper()]
    return len(cased) >= MIN_SHOUTED_WORDS and all(word.isupper() for word in cased)


def _hyphen_names(word: str, *, running: bool, capitals_mark_names: bool) -> list[str]:
    """The names in `word`: each run of its hyphen-joined parts that look like names, kept together ("Wi-Fi",
    "PX-102"). A hyphen joins a name to the common word it qualifies ("RAM-Auslastung", "Debian-based"):
    that word is no name, and a knowledge base without it does not lack the name. A part looks like one when
    it mixes case or letters and digits, joins words with a dot or plus, or (where capitals mark names) is
    capitalised after a hyphen or in running text."""
    runs: list[list[str]] = [[]]
    for i, part in enumerate(word.split("-")):
        mixed = any(c.isupper() for c in part[1:]) or any(c.isdigit() for c in part)
        joined = _JOINED.search(part) is not None
        capital = capitals_mark_names and part[0].isupper() and (running or i > 0)
        if mixed or joined or capital:
            runs[-1].append(part)
        elif runs[-1]:
            runs.append([])
    return ["-".join(run) for run in runs if run]


def es_analyzer(lang: str | None) -> str:
    """The Elasticsearch built-in analyzer for a language code ("standard" when it has none)."""
    code = normalize(lang) if lang else UNDETERMINED
    return ES_LANGUAGE_ANALYZERS.get(code, ES_DEFAULT_ANALYZER)


def languages_of(langs: Sequence[str]) -> dict[str, int]:
    """How many chunks have each language, most frequent first."""
    counts: dict[str, int] = {}
    for lang in langs:
        counts[lang] = counts.get(lang, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# A question whose language the detector cannot tell ("ok", "apt-get upgrade") is searched as English:
# the shipped embedder's language and the bot's fallback. Search also analyses it for the documents'
# own languages, so nothing is lost on other knowledge bases.
FALLBACK_QUESTION_LANGUAGE = "en"


def question_language(text: str, kb_languages: Sequence[str] = ()) -> str:
    """The language of a question as search and the gate treat it: a primary subtag (Traditional Chinese is
    searched as Chinese, folded into Simplified). `kb_languages` (`bot.language.prior_languages` of the
    knowledge base's) settle a short question the detector is unsure of, as they do for the pipeline's
    gate and fixed texts."""
    lang = normalize(detect_message_language(text, kb_languages=kb_languages))
    return FALLBACK_QUESTION_LANGUAGE if lang == UNDETERMINED else lang


def describe_languages(counts: Mapping[str, int]) -> str:
    """Chunks per language for `kb stats`: "zh 1271 chunks, en 12 chunks"."""
    return ", ".join(f"{lang} {n} chunks" for lang, n in counts.items()) or "none"


def _is_pair(word: str, term: str) -> bool:
    """Whether `term` is one of the letter pairs an Arabic `word` is searched by (`arabic_pairs`), not its
    stem."""
    return len(term) == 2 and term != word and is_arabic(term)


def _conjoined_stop_word(token: str, lang: str, stop: frozenset[str]) -> bool:
    """Whether `token` is an Arabic stop word with "و" (and) written on it ("وكيف", "وهل", "ولماذا"): the
    light stemmer would cut the "و" and leave the stop word to be searched."""
    return lang == "ar" and len(token) > 2 and token.startswith("و") and token[1:] in stop
