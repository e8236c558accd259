"""Russian words as a Ukrainian help center writes them, and Ukrainian words as a Russian one does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from bot.kb.analysis import analyzer
from bot.language import STOPWORDS
from bot.stemmers import ukrainian_keyed, ukrainian_root

# Many customers of Ukrainian shops write Russian, and the two languages write most roots alike but for
# their vowels: "тревоги" / "тривоги" (alarm), "телевизор" / "телевізор", "курьер" / "кур'єр", "месяцев" /
# "місяців".
# Neither language's stems meet the other's, so a Russian question to a Ukrainian help center found nothing
# by its words (a trial's "Во время воздушной тревоги курьер все равно приедет?" ranked the air-raid section
# nowhere). A question's word the help center never uses is also searched as the help center's word of the
# other language whose root has the same letters, vowels compared by what they become across the two:
# Russian е, э, и and ы as Ukrainian е, є, и, і or ї, Russian о also as Ukrainian і ("способ" / "спосіб").
NEIGHBOURS = {"ru": "uk", "uk": "ru"}
_FRONT_VOWELS = frozenset("еєиіїэы")
_VOWELS = frozenset("аеєиіїоуыэюяё")
# The shortest root compared: shorter ones meet by chance ("код" is no "кід"; at four letters "место", a
# place, was "місто", a city, "платье", a dress, "платити", to pay, "редкий", rare, "рідкий", liquid).
MIN_ROOT = 5
# Roots of five letters or more that the two languages share with other meanings: Ukrainian "питання" (a
# question) is Russian "питание" (food), "неділя" (Sunday) Russian "неделя" (a week), "вміст" (contents)
# Russian "вместо", "вместе" (instead, together).
_FALSE_FRIENDS = frozenset({"питан", "неділ", "недел", "вміст", "вмест"})


def root(word: str, lang: str) -> str:
    """`word`'s root as it is compared across Russian and Ukrainian: Russian by Snowball's stem, Ukrainian
    without its ending (`ukrainian_root`, its apostrophes left out by `ukrainian_keyed`), the soft and hard
    signs left out, ґ as г."""
    lower = word.lower()
    if lang == "uk":
        stem = ukrainian_root(ukrainian_keyed(lower))
    else:
        stem = analyzer("ru").stem(lower.replace("ё", "е"))
    return stem.translate(_SIGNS_LEFT_OUT)


_SIGNS_LEFT_OUT = str.maketrans({"ь": None, "ъ": None, "ґ": "г"})


def same_root(russian: str, ukrainian: str) -> bool:
    """Whether a Russian root and a Ukrainian one (`root`) are one root written by each language."""
    if len(russian) != len(ukrainian) or len(russian) < MIN_ROOT:
        return False
    if russian in _FALSE_FRIENDS or ukrainian in _FALSE_FRIENDS:
        return False
    return all(
        r == u or (r in _FRONT_VOWELS and u in _FRONT_VOWELS) or (r == "о" and u == "і")
        for r, u in zip(russian, ukrainian, strict=True)
    )


@lru_cache(maxsize=4)
def _roots(words: tuple[str, ...], lang: str) -> dict[str, list[tuple[str, str]]]:
    """The help center's `words` (most frequent first) by their roots' outline (`_outline`), each with its
    root."""
    out: dict[str, list[tuple[str, str]]] = {}
    for word in words:
        word_root = root(word, lang)
        if len(word_root) >= MIN_ROOT:
            out.setdefault(_outline(word_root), []).append((word_root, word))
    return out


def _outline(word_root: str) -> str:
    """A root's consonants in place, each vowel as "a": the roots `same_root` may match share it."""
    return "".join("a" if ch in _VOWELS else ch for ch in word_root)


def cognates(words: Sequence[str], lang: str, vocabulary: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each of `words` (a question's, in `lang`) that is one root with a word of the help center's in the
    neighbouring language (`NEIGHBOURS`), with that word (its most frequent); {} where `lang` has no
    neighbour, or the help center has words of its own in `lang` (a bilingual one is searched in both)."""
    neighbour = NEIGHBOURS.get(lang)
    if neighbour is None or vocabulary.get(lang) or not vocabulary.get(neighbour):
        return {}
    index = _roots(tuple(vocabulary[neighbour]), neighbour)
    stop = STOPWORDS.get(lang, frozenset())
    out: dict[str, str] = {}
    for word in words:
        if word.lower() in stop:
            continue
        own = root(word, lang)
        for candidate_root, candidate in index.get(_outline(own), ()):
            if same_root(*((own, candidate_root) if lang == "ru" else (candidate_root, own))):
                out[word] = candidate
                break
    return out
