"""Arabic words as search compares them: their spelling folded and their affixes stripped, as Elasticsearch's
`arabic` analyzer reads them (Lucene's normalization and light stemmer)."""

from __future__ import annotations

import re
from collections.abc import Callable

# Vowel points (harakat, tanwin, shadda, sukun, the dagger alef) and the tatweel that stretches a word: a
# writer adds them or leaves them out ("التحقُّق", "تفعيـل"), the word is the same. (Lucene's normalizer
# leaves out U+064B–U+0652 and the tatweel: the other marks here and the alef wasla "ٱ" are folded on this
# side only, and a word written with them can differ between the embedded index and Elasticsearch.)
_UNWRITTEN = re.compile("[\u064b-\u065f\u0670\u0640]")
# Customers leave the hamza off an alef ("ارجاع" for "إرجاع"), write the final "ى" with dots and "ة" as "ه"
# ("الفاتوره", "مستشفي"), and type "ی" and "ک" on a Persian keyboard; Arabic-Indic digits are the digits
# ("٥ ايام" is "5 أيام").
_SPELLING = str.maketrans(
    {
        "\u0622": "\u0627",  # آ
        "\u0623": "\u0627",  # أ
        "\u0625": "\u0627",  # إ
        "\u0671": "\u0627",  # ٱ
        "\u0649": "\u064a",  # ى → ي
        "\u0629": "\u0647",  # ة → ه
        "\u06cc": "\u064a",  # Persian ی → ي
        "\u06a9": "\u0643",  # Persian ک → ك
        # Persian's heh with yeh ("خانهٔ", "ۀ"), and the heh forms Lucene's Persian normalizer folds as "ه".
        "\u06c0": "\u0647",
        "\u06c1": "\u0647",
        "\u06d5": "\u0647",
        **{chr(0x0660 + digit): str(digit) for digit in range(10)},
        **{chr(0x06F0 + digit): str(digit) for digit in range(10)},
    }
)
_ARABIC_LETTER = re.compile("[\u0621-\u064a]")

# Lucene's light stemmer (Larkey, Ballesteros and Connell's "light10"), on folded words: the article and the
# conjunctions written onto a word, then the suffixes of plurals, duals and attached pronouns, each cut only
# where at least two letters stay. The same rules as Elasticsearch's `arabic` analyzer, so both backends read
# a word alike. Snowball's Arabic stemmer, used before, cut any initial "ب" or "ف" as a particle: "بطاقة"
# (card) was "طاق" while "بطاقه" stayed "بطاقه", and "فلوسي" (my money) "لوس". (Both cut an initial "و" from a
# word of four letters or more: "وصول" is "صول", as Elasticsearch reads it too.)
_PREFIXES = ("ال", "وال", "بال", "كال", "فال", "لل", "و")
_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي")
# A word keeps at least this many letters after a prefix or suffix is cut (a lone "و" needs a word of four).
_MIN_STEM = 2
_MIN_WAW_WORD = 4


# The languages whose words are folded so (`arabic_folded`) before their stop words are looked up and they
# are stemmed: Arabic, and Persian, which Lucene's `persian` analyzer folds with Arabic's normalization and
# its own (a Persian customer on an Arabic keyboard types "ي" and "ك" for "ی" and "ک").
ARABIC_SCRIPT_FOLDED = frozenset({"ar", "fa"})


def is_arabic(word: str) -> bool:
    """Whether `word` holds an Arabic letter."""
    return _ARABIC_LETTER.search(word) is not None


def arabic_folded(text: str) -> str:
    """`text` with its Arabic spelling folded as Lucene's `arabic_normalization` does: vowel points and
    tatweel left out, "أ إ آ ٱ" as "ا", "ى" as "ي", "ة" as "ه", Arabic-Indic digits as "0"–"9"."""
    return _UNWRITTEN.sub("", text).translate(_SPELLING)


def arabic_stem(word: str) -> str:
    """The light stem of one folded Arabic word (`arabic_folded`): one prefix of `_PREFIXES` cut, then each
    suffix of `_SUFFIXES` in turn ("والطلبات" → "طلب", "فلوسي" → "فلوس", "بطاقتي" → "بطاقت")."""
    for prefix in _PREFIXES:
        shortest = _MIN_WAW_WORD if len(prefix) == 1 else len(prefix) + _MIN_STEM
        if len(word) >= shortest and word.startswith(prefix):
            word = word[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if len(word) >= len(suffix) + _MIN_STEM and word.endswith(suffix):
            word = word[: -len(suffix)]
    return word


# Where a light stem is not the help center's ("بترجعون" is "بترجع", the page's "استرجاع" is "استرجاع"), its
# letter pairs still share the root's ("رج", "جع"): an Arabic stem of three letters or more is indexed and
# searched with its pairs beside it, in the embedded index (`bot.kb.analysis.Analyzer.text`).
MIN_PAIRED_STEM = 3


def arabic_pairs(stem: str) -> list[str]:
    """The letter pairs of an Arabic light stem of at least `MIN_PAIRED_STEM` letters ("ترجع" → "تر", "رج",
    "جع"); [] for a shorter one or a word of another script."""
    if len(stem) < MIN_PAIRED_STEM or not is_arabic(stem):
        return []
    return [stem[i : i + 2] for i in range(len(stem) - 1)]


# Everyday words of Arab customers (loanwords written in Arabic letters, dialect words) beside the words help
# centers write for the same thing, one meaning a line: a question with one is also searched for the others.
# Only words of one meaning, whose light stems are no other word's: "تلفون" (phone) stems to "تلف" (damage),
# "فيزا" is also a travel visa, "بلوك" also an address's block.
_SAME_MEANING = """
فلوس مصاري مبلغ اموال
كاش نقدا نقدي نقد
كود رمز
باسورد باسوورد مرور
اكاونت اكونت حساب
ابلكيشن ابليكيشن تطبيق
اوردر طلب
كارت بطاقه
لينك رابط
ايميل اميل بريد
مسج رساله
كنسل كنسلت الغاء
ريفند استرداد
ديليفري دليفري توصيل
موبايل جوال هاتف
ترانسفير تحويل
"""


def meaning_groups(lines: str, stem: Callable[[str], str]) -> dict[str, tuple[str, ...]]:
    """Each word's stem → the stems of the other words of its line (one meaning a line, `_SAME_MEANING`)."""
    out: dict[str, list[str]] = {}
    for line in lines.strip().splitlines():
        stems = list(dict.fromkeys(stem(word) for word in line.split()))
        for one in stems:
            others = out.setdefault(one, [])
            others.extend(other for other in stems if other != one and other not in others)
    return {one: tuple(others) for one, others in out.items()}


# Light stem → the light stems of the words of the same meaning.
SAME_MEANING = meaning_groups(_SAME_MEANING, lambda word: arabic_stem(arabic_folded(word)))
