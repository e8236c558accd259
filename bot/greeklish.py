"""Greek typed in Latin letters ("Greeklish": "pote tha erthei i paraggelia"), read as the Greek it spells."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.unicode import without_accents

# Greeklish has no one spelling: "η", "ι", "υ", "ει", "οι" are all written "i" (or "h", "y"), "ω" and "ο" "o"
# (or "w"), "χ" "x", "h" or "ch", "θ" "th" or "8", "ξ" "ks". A word's sound key spells Greek and Latin words
# alike by collapsing what Greeklish writers cannot tell apart: the vowels of one sound, doubled letters, and
# the consonant pairs that stand for one sound ("μπ" is "b", "ντ" "d", "γγ"/"γκ" "g"). ("U" is the sound of
# "ου", kept apart from the "u" Greeklish writes for "υ".)
_GREEK_PAIRS = (
    ("ου", "U"),
    ("αι", "e"),
    ("ει", "i"),
    ("οι", "i"),
    ("υι", "i"),
    ("αυ", "av"),
    ("ευ", "ev"),
    ("μπ", "b"),
    ("ντ", "d"),
    ("γγ", "g"),
    ("γκ", "g"),
)
_GREEK_LETTERS = str.maketrans(
    {
        "α": "a",
        "β": "v",
        "γ": "g",
        "δ": "d",
        "ε": "e",
        "ζ": "z",
        "η": "i",
        "θ": "8",
        "ι": "i",
        "κ": "k",
        "λ": "l",
        "μ": "m",
        "ν": "n",
        "ξ": "ks",
        "ο": "o",
        "π": "p",
        "ρ": "r",
        "σ": "s",
        "ς": "s",
        "τ": "t",
        "υ": "i",
        "φ": "v",
        "χ": "h",
        "ψ": "ps",
        "ω": "o",
    }
)
# Each Latin letter or pair with the sounds it may stand for: "oi" is "οι" ("i") or "ο" and "ι" ("oi":
# "proigoumeni" is "προηγούμενη"), "h" is "χ" ("hronia") or "η" ("akyrwsh"), "th" "θ" or "τη" ("thn" is
# "την"). Longest first.
_LATIN_SOUNDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("th", ("8", "ti")),
    ("ch", ("h",)),
    ("kh", ("h",)),
    ("ou", ("U",)),
    ("oi", ("i", "oi")),
    ("ai", ("e", "ai")),
    ("ei", ("i", "ei")),
    ("au", ("av",)),
    ("eu", ("ev",)),
    ("mp", ("b",)),
    ("nt", ("d",)),
    ("gg", ("g",)),
    ("gk", ("g",)),
    ("h", ("h", "i")),
    ("w", ("o",)),
    ("y", ("i",)),
    ("u", ("i",)),
    ("x", ("h",)),
    ("c", ("k",)),
    ("j", ("g",)),
    ("f", ("v",)),
    ("3", ("e",)),
)
_LATIN_SOUND = re.compile("|".join(re.escape(latin) for latin, _ in _LATIN_SOUNDS) + "|.")
_LATIN_SOUND_MAP = dict(_LATIN_SOUNDS)
# The spellings of a word's sounds tried at most: each ambiguous letter doubles them.
MAX_KEYS = 16
_DOUBLED = re.compile(r"(.)\1+")
_GREEK = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")


def is_greek(word: str) -> bool:
    """Whether `word` holds a Greek letter."""
    return _GREEK.search(word) is not None


def sound_key(word: str) -> str:
    """A Greek `word` spelled by its sound, as Greeklish writers cannot tell its letters apart: "παραγγελία"
    is "paragelia", "απόδειξη" "apodiksi" (`latin_keys` spells a Greeklish word so)."""
    text = without_accents(word.lower())
    for pair, sound in _GREEK_PAIRS:
        text = text.replace(pair, sound)
    return _DOUBLED.sub(r"\1", text.translate(_GREEK_LETTERS))


def latin_keys(word: str) -> tuple[str, ...]:
    """The sound keys (`sound_key`) a Greeklish `word` may have, at most `MAX_KEYS`: "paraggelia" is
    "paragelia", "proigoumeni" "prigUmeni" or "proigUmeni", "akyrwsh" "akirosh" or "akirosi"."""
    keys = [""]
    for match in _LATIN_SOUND.finditer(without_accents(word.lower())):
        sounds = _LATIN_SOUND_MAP.get(match.group(), (match.group(),))
        keys = [key + sound for key in keys for sound in sounds][:MAX_KEYS]
    return tuple(dict.fromkeys(_DOUBLED.sub(r"\1", key) for key in keys))


# A Greeklish word and a Greek one are the same word when their sound keys agree on a start of at least this
# many sounds, all of the shorter key but its last two (Greek's endings: "katevaso" for "κατεβάσετε", whose
# key is "katevasete"), and the longer goes on for at most `MAX_TAIL` more; or when the Greeklish key starts
# with the sound key of the Greek word's stem, of at least `MIN_STEM` sounds ("podUs", "pontous", with that of
# "ποντ", the stem of the help center's "πόντων"), followed by at most `MAX_TAIL` more.
MIN_SHARED = 4
MIN_STEM = 3
MAX_TAIL = 4


class GreekWords:
    """A help center's Greek words (the most frequent first), found by the Greeklish that spells them."""

    def __init__(self, words: Sequence[str], stem: Callable[[str], str]) -> None:
        self._by_start: dict[str, list[tuple[str, int, str]]] = {}
        self._by_stem: dict[str, tuple[int, str]] = {}
        for rank, word in enumerate(words):
            if not is_greek(word):
                continue
            key = sound_key(word)
            if len(key) >= MIN_SHARED:
                self._by_start.setdefault(key[:MIN_SHARED], []).append((key, rank, word))
            stem_key = sound_key(stem(word))
            if len(stem_key) >= MIN_STEM:
                self._by_stem.setdefault(stem_key, (rank, word))

    def word_for(self, latin: str) -> str | None:
        """The Greek word `latin` spells (`MIN_SHARED`): of several, the one whose key agrees longest, then
        the one of the closest length, then the most frequent; None when none does."""
        found: list[tuple[int, int, int, str]] = []
        for key in latin_keys(latin):
            for other, rank, word in self._by_start.get(key[:MIN_SHARED], ()):
                shared = next(
                    (i for i, (a, b) in enumerate(zip(key, other, strict=False)) if a != b),
                    min(len(key), len(other)),
                )
                if shared >= min(len(key), len(other)) - 2 and max(len(key), len(other)) - shared <= MAX_TAIL:
                    found.append((-shared, abs(len(key) - len(other)), rank, word))
            for end in range(max(MIN_STEM, len(key) - MAX_TAIL), len(key) + 1):
                if (stemmed := self._by_stem.get(key[:end])) is not None:
                    found.append((-end, len(key) - end, *stemmed))
        return min(found)[3] if found else None
