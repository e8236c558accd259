"""Stemmers for languages Snowball lacks: Ukrainian's endings cut, Hebrew read by its dictionary forms."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from bot.unicode import RUSSIAN_KEYS, UKRAINIAN_KEYS, cyrillic_apostrophes_left_out, ukrainian_typed

# The languages stemmed here: Snowball has no stemmer for either, and without one "замовлення", "замовленням"
# and "замовлень" (an order) were three words, "בחשבון" (in the account) and "חשבון" two.
OWN_STEMMERS = frozenset({"uk", "he"})
# The languages whose words are read by their dictionary forms (simplemma's dictionaries, inside its package).
DICTIONARIES = frozenset({"he"})

_lock = threading.Lock()
# The languages whose dictionaries this process has read (`load_dictionaries`).
_LOADED: set[str] = set()

# Hebrew's geresh and gershayim inside a word ("צ'אט", "חו"ל", "מע"מ"), which customers leave out ("חול",
# "מעמ"), typed as quotes or as their own marks.
_HEBREW_INNER_MARK = re.compile("(?<=[\u05d0-\u05ea])['\"\u2019\u05f3\u05f4](?=[\u05d0-\u05ea])")

# Ukrainian inflectional endings, longest first (nouns, adjectives, participles; after Porter's Russian
# algorithm, with Ukrainian's і, ї, є): a word loses the longest one that leaves a stem with a vowel and at
# least `_MIN_STEM` letters, and the stem is then cut to `_UKRAINIAN_STEM` letters. Of the verbs' endings only
# the infinitive's "-ити": the others are nouns' too ("оплати", of a payment, is no "опл" + "ати"; "файли" no
# "фай" + "ли"), and the six letters kept join a long verb's forms anyway ("отримали", "отримати").
_ENDINGS = tuple(
    sorted(
        {
            # adjectives and participles
            "ими", "іми", "ого", "ому", "ьому", "ього", "ій", "ий", "ої", "ою", "ею", "єю", "им", "ім",
            "их", "іх", "ая", "яя", "ее", "еє", "ую", "юю", "ові", "еві", "єві",
            # nouns
            "ами", "ями", "ах", "ях", "ам", "ям", "ів", "їв", "ей", "ом", "ем", "єм",
            "а", "я", "о", "е", "є", "у", "ю", "і", "ї", "и", "ь", "й",
            # the infinitive
            "ити",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
# Reflexive verbs' endings, left off first ("зареєструватися", "зареєструвався").
_REFLEXIVE = ("ся", "сь")
_VOWELS = frozenset("аеиоуюяіїє")
_CYRILLIC_WORD = re.compile("[\u0400-\u04ff]+")
_RUSSIAN_KEYS = str.maketrans(RUSSIAN_KEYS, UKRAINIAN_KEYS)
_MIN_STEM = 3
# A Ukrainian stem keeps at most this many letters: a verb and the noun made of it end otherwise
# ("повернути" and "повернення", "зберігається" and "зберігання": to return, to store), as words of the same
# stem in any language of many endings, where cutting every word to its first letters finds as much as a
# stemmer (McNamee and Mayfield, 2004-2009). Measured 2026-12-07 on a trial Ukrainian electronics shop (25
# questions, hybrid hit@1 / hit@5 / MRR), with a first list of endings that cut the verbs' too: endings cut
# 0.240 / 0.640 / 0.426, then 5 letters kept 0.240 / 0.640 / 0.443, 6 letters 0.280 / 0.640 / 0.465;
# simplemma's dictionary forms (64 MB) before the endings 0.200 / 0.640 / 0.406, alone 0.200 / 0.640 / 0.376.
# With this list and 6 letters, 0.320 / 0.680 / 0.481.
_UKRAINIAN_STEM = 6

# Hebrew's one-letter prefixes (and, the, in, to, from, that, as) and their usual runs ("וה", "שב", "כשה"),
# shortest first: a word no dictionary holds is read without one (`_hebrew_rest`).
_HEBREW_PREFIXES = tuple(
    sorted(
        {
            "ו", "ה", "ב", "ל", "מ", "ש", "כ", "וה", "וב", "ול", "ומ", "וש", "וכ", "שה", "שב", "של",
            "שמ", "בה", "לה", "מה", "כה", "כש", "כשה", "ושה", "וכש", "מש", "לכ",
        },
        key=len,
    )
)  # fmt: skip
_HEBREW_LETTER = re.compile("[\u05d0-\u05ea]")
# What is left of a Hebrew word without its prefix has at least this many letters.
_MIN_HEBREW_REST = 2


def load_dictionaries(languages: set[str] | frozenset[str]) -> None:
    """Read the dictionaries of `languages` (those in `DICTIONARIES`) once per process: simplemma's, and
    wordfreq's word list of the language (`_hebrew_rest`). Blocking (about 8 s for Hebrew on 2 cores, 6 of
    them wordfreq's large list): a search prepares it in a thread (`bot.kb.analysis.load_segmenters`), and
    a serving process for a knowledge base in the language before its first customer
    (`bot.services.Services.warmed_kb`)."""
    for lang in sorted(set(languages) & DICTIONARIES - _LOADED):
        with _lock:
            if lang in _LOADED:
                continue
            import simplemma
            from wordfreq import zipf_frequency

            simplemma.lemmatize("a", lang=lang)
            zipf_frequency("a", lang)
            _LOADED.add(lang)


def joined_apostrophes(text: str) -> str:
    """`text` without the apostrophes inside its Cyrillic words ("п’ять" → "пять") and the geresh and
    gershayim inside its Hebrew ones ("חו\"ל" → "חול"), which would cut a word in two."""
    return text if text.isascii() else _HEBREW_INNER_MARK.sub("", cyrillic_apostrophes_left_out(text))


def dictionaries_for(text: str) -> frozenset[str]:
    """The `DICTIONARIES` languages whose letters `text` holds (Hebrew's): reading its words may need them."""
    return frozenset({"he"}) if _HEBREW_LETTER.search(text) is not None else frozenset()


def dictionaries_needed(languages: set[str] | frozenset[str]) -> bool:
    """Whether reading words of `languages` would first read a dictionary (`load_dictionaries`)."""
    return bool(set(languages) & DICTIONARIES - _LOADED)


@lru_cache(maxsize=65_536)
def own_stem(word: str, lang: str) -> str:
    """The index term of a lower-cased word of `lang` (one of `OWN_STEMMERS`): Ukrainian without its ending
    (`ukrainian_stem`), Hebrew by its dictionary form (or without its prefix, `_hebrew_rest`)."""
    if lang == "uk":
        # Typed on a Russian keyboard, Ukrainian's і, є and ї are the keys' ы, э and ъ ("скыльки дныв"), or a
        # Latin "i" (`ukrainian_typed`).
        return ukrainian_stem(ukrainian_keyed(word))
    if lang == "he" and _HEBREW_LETTER.match(word):
        if not _is_known(word, "he") and (rest := _hebrew_rest(word)) is not None:
            word = rest
        return _lemma(word, "he")
    return word


def ukrainian_keyed(word: str) -> str:
    """A lower-case Ukrainian word with the Russian keyboard's ы, э and ъ, and a Latin "i", as the і, є and ї
    they stand for, its apostrophes left out (`ukrainian_typed`)."""
    return ukrainian_typed(word.translate(_RUSSIAN_KEYS))


def _lemma(word: str, lang: str) -> str:
    import simplemma

    load_dictionaries(frozenset({lang}))
    return str(simplemma.lemmatize(word, lang=lang)).lower()


def _is_known(word: str, lang: str) -> bool:
    import simplemma

    load_dictionaries(frozenset({lang}))
    return bool(simplemma.is_known(word, lang=lang))


def _hebrew_rest(word: str) -> str | None:
    """`word`, which the dictionary lacks, without its prefixes: the shortest prefix that leaves a word the
    dictionary holds ("ומספר", and the number, is "מספר", not "ספר", a book), else the one that leaves the
    word Hebrew writes most often (wordfreq's list) if that is more often than `word` itself: "הראוטר" (the
    router) and "והראוטר" are "ראוטר". None when no prefix leaves one.

    Measured and not kept (2026-12-07, a trial Israeli operator's 25 questions): plurals the dictionary lacks
    read as a singular Hebrew writes ("חשבוניות", invoices, as "חשבונית"), hybrid hit@1 / hit@5 / MRR 0.440 /
    0.680 / 0.556 → 0.480 / 0.600 / 0.553 ("שירותים", services, came out "שירה", a poem, where "-ות" was read
    as a plural too)."""
    from wordfreq import zipf_frequency

    best, best_frequency = None, zipf_frequency(word, "he")
    for prefix in _HEBREW_PREFIXES:
        rest = word[len(prefix) :]
        if not word.startswith(prefix) or len(rest) < _MIN_HEBREW_REST:
            continue
        if _is_known(rest, "he"):
            return rest
        if (frequency := zipf_frequency(rest, "he")) > best_frequency:
            best, best_frequency = rest, frequency
    return best


def ukrainian_stem(word: str) -> str:
    """A lower-case Ukrainian word without its inflectional ending (`_ENDINGS`), "нн" as "н", and at most its
    first `_UKRAINIAN_STEM` letters ("повернення", "повернути", "повернуть" → "поверн")."""
    root = ukrainian_root(word)
    # A Latin name in Ukrainian text ("Samsung", "Chromebook") keeps its letters.
    return root[:_UKRAINIAN_STEM] if _CYRILLIC_WORD.fullmatch(root) else root


def ukrainian_root(word: str) -> str:
    """A lower-case Ukrainian word without its inflectional ending (`_ENDINGS`) and with "нн" as "н", whole:
    `ukrainian_stem` before its cut ("телевізорами" → "телевізор")."""
    if not _CYRILLIC_WORD.fullmatch(word):
        return word
    for ending in _REFLEXIVE:
        if word.endswith(ending) and _stem_ok(word[: -len(ending)]):
            word = word[: -len(ending)]
            break
    for ending in _ENDINGS:
        if word.endswith(ending) and _stem_ok(word[: -len(ending)]):
            word = word[: -len(ending)]
            break
    if word.endswith("нн"):
        word = word[:-1]
    return word


def _stem_ok(stem: str) -> bool:
    return len(stem) >= _MIN_STEM and any(ch in _VOWELS for ch in stem)
