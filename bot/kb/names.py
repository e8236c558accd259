"""Names in a question the knowledge base never mentions: the sign that it asks about something else."""

from __future__ import annotations

import asyncio
import re
from functools import cache
from typing import TYPE_CHECKING

from bot.kb.analysis import CJK_LANGUAGES, language_key, named_words
from bot.language import STOPWORDS

if TYPE_CHECKING:
    from bot.kb.base import KnowledgeBase

# Shorter lower-case words are too often abbreviations, units or typing slips ("pls", "thx", "cm").
MIN_UNCOMMON_LETTERS = 4
# Punctuation around a word; anything else in it (a dot, a slash, an apostrophe) makes it no plain word.
_EDGE = "\"'“”‘’«»„‚()[]{}<>,.;:!?¿¡…*_~"
_MARKUP = re.compile(r"<[^<>]*>|`[^`]*`")
# At most this many names and uncommon words are asked per question: on Elasticsearch each is a search (an
# uncommon word ~10-20 with its variants), and a pasted log or gibberish must not fan out into thousands.
MAX_NAMES = 16
MAX_UNCOMMON = 4
# From this length a typing slip may also drop a letter ("segfaul"); in shorter words a dropped letter
# is too often another word ("kdump" → "dump").
MIN_DELETION_LETTERS = 6


@cache
def _wordlist_languages() -> frozenset[str]:
    from wordfreq import available_languages

    return frozenset(available_languages("best"))


def _known(word: str, lang: str) -> bool:
    """Whether `word` is in wordfreq's list for `lang`: a word of that language (or a common misspelling of
    one: the lists come from running text), rather than a product, a command or a project. A plural in -s
    passes when its singular is listed ("segfaults"); a stem would not do: Porter reads "preseed" as
    "prese" + "ed", and "prese" is an English word."""
    from wordfreq import zipf_frequency

    if lang not in _wordlist_languages():
        return False
    forms = [word, word[:-1]] if word.endswith("s") and len(word) > MIN_UNCOMMON_LETTERS else [word]
    return any(zipf_frequency(form, lang) > 0 for form in forms)


def uncommon_words(question: str, lang: str | None) -> list[str]:
    """Lower-case words of a question that are in no word list of its language nor of English ("kdump",
    "hostapd", "certbot"), which `named_words` cannot tell from other words by their shape.

    Only for a language with a word list (an unknown language would make every word uncommon) and not
    for CJK text (every Latin word in it is a name already); stop words, short words, words with digits,
    joiners or markup ("ext4", "node.js", paths: names or code) and capitalised ones are not asked. Word
    lists: wordfreq's (its data inside the package; English and the question's language are loaded once,
    about 40 MB each).
    """
    key = language_key(lang)
    if key in CJK_LANGUAGES or key not in _wordlist_languages():
        return []
    stop = STOPWORDS.get(key, frozenset()) | STOPWORDS["en"]
    out: list[str] = []
    for token in _MARKUP.sub(" ", question).split():
        word = token.strip(_EDGE)
        if (
            len(word) < MIN_UNCOMMON_LETTERS
            or not (word.isalpha() and word.islower())
            or word in stop
            or word in out
        ):
            continue
        if not any(_known(word, code) for code in dict.fromkeys([key, "en"])):
            out.append(word)
    return out


def typo_variants(word: str) -> list[str]:
    """The words one typing slip away that `word` may have meant: two neighbouring letters swapped
    ("pyhton" → "python", "lsit" → "list") and, in longer words, one letter too many."""
    swapped = [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)]
    long_enough = len(word) >= MIN_DELETION_LETTERS
    dropped = [word[:i] + word[i + 1 :] for i in range(len(word))] if long_enough else []
    return [v for v in dict.fromkeys([*swapped, *dropped]) if v != word]


async def unknown_names(kb: KnowledgeBase, question: str, lang: str | None) -> tuple[str, ...]:
    """The names in `question` the knowledge base never mentions: `named_words`, and `uncommon_words`
    unless the knowledge base has a word one typing slip away (then the customer mistyped that word).

    One `missing_words` call asks for all of them (the first `MAX_NAMES` names and `MAX_UNCOMMON` uncommon
    words); it raises what the knowledge base raises."""
    names = named_words(question, lang)[:MAX_NAMES]
    rare = [w for w in await asyncio.to_thread(uncommon_words, question, lang) if w not in names]
    rare = rare[:MAX_UNCOMMON]
    if not names and not rare:
        return ()
    variants = {word: typo_variants(word) for word in rare}
    asked = list(dict.fromkeys([*names, *rare, *(v for vs in variants.values() for v in vs)]))
    missing = await kb.missing_words(asked)
    unknown = [name for name in names if name in missing]
    unknown += [w for w in rare if w in missing and all(v in missing for v in variants[w])]
    return tuple(unknown)
