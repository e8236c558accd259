"""The one gold-match rule and the ranking scores built on it (hit@k, reciprocal rank).

A retrieved section answers a labelled question when either
- it comes from the labelled `file` and its normalised heading equals, or contains, the normalised label; or
- its text contains the labelled `anchor` (a phrase copied from the answering section's body), compared with
  whitespace collapsed and case ignored.

Headings are normalised so that section numbers and punctuation do not decide a hit: `9.6.3. Using UUID…`
and `Using UUID` name the same section. Exact equality, the rule of the older question files, is a special
case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.domain import Chunk, Hit, Passage, Source
from bot.evaluation.questions import Question

# A leading section number: `9.6.3.`, `9.6.3`, `12.`, `A.1.`, `A.` — dotted, so `2024 prices` keeps its year.
# A letter counts only with its dot (`A. Appendix`, `A.1.`), never the article in `A quick start`; and the
# number must end where a word ends (`U.S. customs` is no section `U.`), see `_strip_section_number`.
_SECTION_NUMBER = re.compile(r"\s*(?:\d+(?:\.\d+)*\.|\d+(?:\.\d+)+|[A-Z](?:\.\d+)*\.)")
_WHITESPACE = re.compile(r"\s+")

# Anything with a source, a heading and (where known) its text: a chunk, a passage or a cited source.
Section = Chunk | Passage | Source


def normalise_heading(heading: str) -> str:
    """The heading as the gold rule compares it: no leading section number, punctuation and symbols
    (full-width CJK ones, quotes and `$` included) turned into spaces, lowercased, whitespace collapsed.

    One exception to the rule of debian-reference.md: `+` and `#` ending a name stay (`C++`, `C#`), or the
    Python FAQ's "functions in C++?" would be gold for "functions in C?".
    """
    text = unicodedata.normalize("NFKC", heading)
    text = _strip_section_number(text)
    kept: list[str] = []
    for char in text:
        if unicodedata.category(char)[0] not in "PS" or _names_a_language(char, kept):
            kept.append(char)
        else:
            kept.append(" ")
    return _WHITESPACE.sub(" ", "".join(kept).lower()).strip()


def _names_a_language(char: str, before: list[str]) -> bool:
    """`+` or `#` right after a letter (`C++`, `C#`, `F#`): part of the name, or `C++` would equal `C`."""
    return char in "+#" and bool(before) and (before[-1].isalnum() or before[-1] in "+#")


def _strip_section_number(heading: str) -> str:
    match = _SECTION_NUMBER.match(heading)
    if match is None:
        return heading
    rest = heading[match.end() :]
    ends_a_word = not rest or not rest[0].isalnum() or _unspaced(rest[0])
    return rest if ends_a_word else heading


def normalise_text(text: str) -> str:
    """Text as an anchor is looked for in it: every run of whitespace one space, lowercased."""
    return _WHITESPACE.sub(" ", text).strip().lower()


def heading_matches(heading: str, label: str) -> bool:
    """The normalised `heading` equals the normalised `label` or contains it as whole words.

    Whole words in spaced scripts: `Payments` does not contain `Payment`. Next to a CJK character (no spaces
    between words) any position counts.
    """
    wanted = normalise_heading(label)
    if not wanted:
        return False
    have = normalise_heading(heading)
    start = have.find(wanted)
    while start >= 0:
        end = start + len(wanted)
        if _boundary(have, start - 1, start) and _boundary(have, end - 1, end):
            return True
        start = have.find(wanted, start + 1)
    return False


def _boundary(text: str, left: int, right: int) -> bool:
    """Whether the cut between text[left] and text[right] falls between words."""
    if left < 0 or right >= len(text):
        return True
    a, b = text[left], text[right]
    # After normalisation `+` and `#` remain only inside a name such as `C++`.
    in_word = (a.isalnum() or a in "+#") and (b.isalnum() or b in "+#")
    return not in_word or _unspaced(a) or _unspaced(b)


def _unspaced(char: str) -> bool:
    """A character of a script written without spaces between words (CJK: wide or full-width)."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def same_file(source: str, file: str) -> bool:
    """`file` is a path relative to the knowledge folder while a chunk's source may carry a longer prefix, so
    the source must equal it or end with it *at a path boundary*: a bare `endswith` would also count
    `billing/faq.md` as `faq.md`, or `old-faq.md` as `faq.md`, and score a wrong document as gold."""
    return source == file or source.endswith("/" + file)


def gold_match(section: Section, question: Question) -> bool:
    """Whether `section` (a retrieved chunk, a passage or a cited source) answers `question`.

    A `Source` carries no text, so only the heading rule can match it.
    """
    if (
        question.file is not None
        and question.heading is not None
        and same_file(section.source, question.file)
        and heading_matches(section.heading, question.heading)
    ):
        return True
    if question.anchor is None or isinstance(section, Source):
        return False
    anchor = normalise_text(question.anchor)
    return bool(anchor) and anchor in normalise_text(section.text)


def gold_rank(hits: Iterable[Hit], question: Question) -> int | None:
    """The rank of the first hit that matches the gold section, None when none does."""
    return next((h.rank for h in hits if gold_match(h.chunk, question)), None)
