"""Names in a question the knowledge base never mentions: the sign that it asks about something else."""

from __future__ import annotations

import asyncio
import re
from functools import cache
from typing import TYPE_CHECKING

from bot.kb.analysis import (
    CJK_LANGUAGES,
    NOUN_CAPITALISING,
    analyzer,
    code_parts,
    language_key,
    named_words,
)
from bot.kb.base import KBUnavailableError
from bot.language import STOPWORDS, UNDETERMINED
from bot.unicode import latin, without_accents

if TYPE_CHECKING:
    from bot.kb.base import KnowledgeBase

# Shorter lower-case words are too often abbreviations, units or typing slips ("pls", "thx", "cm").
MIN_UNCOMMON_LETTERS = 4
# Punctuation around a word; anything else in it (a dot, a slash, an apostrophe) makes it no plain word.
_EDGE = "\"'“”‘’«»„‚()[]{}<>,.;:!?¿¡…*_~"
_MARKUP = re.compile(r"<[^<>]*>|`[^`]*`")
# At most this many names and uncommon words are asked per question: on Elasticsearch each is a search (an
# uncommon word ~10-30 with its variants), and a pasted log or gibberish must not fan out into thousands.
MAX_NAMES = 16
MAX_UNCOMMON = 4
# Words rarer than this (zipf: 3 is once per million words, where the Zipf scale's low-frequency words end)
# in a language that capitalises every noun are no common word of it when English uses them more: "Redis",
# "Zabbix" (in wordfreq's German list from technical text); "Server", "Datei" and "Tools" are German words.
MAX_FOREIGN_ZIPF = 3.0
# From this length a typing slip may also drop a letter ("segfaul"); in shorter words a dropped letter
# is too often another word ("kdump" → "dump").
MIN_DELETION_LETTERS = 6
# From this length a vowel written otherwise is the same word (`respelled_variants`).
MIN_RESPELLED_LETTERS = 6
_VOWELS = "aeiou"
# And a letter left out only in a word of five letters or more: a shorter one is a short word of its own more
# often than another's slip.
MIN_MISSING_LETTER_LETTERS = 5


# Languages that make a word of a root and a chain of suffixes ("yollattım", "kesilsin", chat's
# "atıyomusunuz"): no word list holds their forms, nor is a form's Snowball stem always a listed word, and a
# Turkish marketplace trial had 8 of its 24 questions refused for ordinary verbs, 6 of them with the right
# section first. Their lower-case words are not asked; names by their shape still are. Hungarian too: a
# Hungarian provider's trial had 16 of its 25 answerable questions refused, most for words such as
# "husegidobol" (from the loyalty period, typed without its accents, which its stemmer reads its endings by),
# "routeremet" (my router) and "utalgatni" (to keep transferring). (Finnish's forms pass by their stems.)
SUFFIXING = frozenset({"hu", "tr"})

# Neighbours whose customers write to a help center in their own language, and whose questions are read in
# the help center's (`bot.language.prior_languages`): a question read as Swedish may be Norwegian or Danish,
# and a word in their word lists is a word, not a name. A Swedish help center's Norwegian and Danish questions
# ("når trekkes pengene", "jordnødder") were refused for naming what it never mentions. (Asked after the
# question's language and English, so a neighbour's list, about 40 MB, is read only for a word in neither.)
KINDRED = {"sv": ("nb", "da"), "da": ("nb", "sv"), "cs": ("sk",)}


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
    if any(zipf_frequency(form, lang) > 0 for form in forms):
        return True
    # Typed without its accents ("ruckgabe", "creer", "telefono") or with German's umlauts spelled out
    # ("rueckgabe"), a word of the language is no name: "ruckgabe kostenlos?" was refused as asking about
    # something the help center never mentions, while "Rückgabe kostenlos?" was answered.
    plain = _accents_left_off(lang)
    lowered = [form.lower() for form in forms]
    if lang == "de":
        lowered += [_UMLAUT_SPELLED.sub(lambda m: m.group()[0], form) for form in lowered]
    if any(form in plain for form in lowered):
        return True
    # A listed word with affixes the list lacks is a form of it: chat Indonesian's "balikinnya", "dibalikin"
    # and "kepotong" (balik, potong) had their questions refused as naming things the help center lacks.
    # Not in English, whose Porter stems are often other words ("preseed" → "prese"), nor stems too short to
    # be more than a syllable.
    if lang == "en":
        return False
    stem = analyzer(lang).stem(word.lower())
    return stem != word.lower() and len(stem) >= MIN_UNCOMMON_LETTERS and zipf_frequency(stem, lang) > 0


# German's umlauts as they are typed without them: "ue" for "ü" ("rueckgabe"), "ae", "oe".
_UMLAUT_SPELLED = re.compile("[aou]e")


@cache
def _accents_left_off(lang: str) -> frozenset[str]:
    """The words of wordfreq's list for `lang` that carry accents, as they read without them (German:
    95,000 of 635,000 words, read once in about a second)."""
    from wordfreq import iter_wordlist

    return frozenset(
        plain for word in iter_wordlist(lang, "best") if (plain := without_accents(word)) != word
    )


def _foreign(word: str, lang: str) -> bool:
    """Whether `word` is no common word of `lang` but one English uses more: rarer in `lang` than
    `MAX_FOREIGN_ZIPF` and more frequent in English. A word in neither list is not: in German that is
    mostly a compound ("Netzwerkeinstellung"), which no word list holds."""
    from wordfreq import zipf_frequency

    folded = word.lower()
    own = zipf_frequency(folded, lang)
    return own < MAX_FOREIGN_ZIPF and zipf_frequency(folded, "en") > own


# Languages of another script whose customers type them in Latin letters, where the language detection says
# so (`bot.language`: Greek's Greeklish).
LATIN_TYPED = frozenset({"el"})


def uncommon_words(question: str, lang: str | None) -> list[str]:
    """Words of a question that name a thing although `named_words` cannot tell them from other words by
    their shape: lower-case words in no word list of its language nor of English ("kdump", "hostapd",
    "certbot"); and, in a language that capitalises every noun (`NOUN_CAPITALISING`), capitalised words and
    the parts of hyphenated words that are no common word of it but more of English ("Redis", "Zabbix" in
    "Zabbix-Agent", "systemd" in "systemd-Dienst": `_foreign`).

    Only for a language with a word list (an unknown language would make every word uncommon) whose words
    the list can hold (not `SUFFIXING` ones), and not for CJK text (every Latin word in it is a name
    already); stop words, short words, words with digits, joiners or markup ("ext4", "node.js", paths: names
    or code) and words in capitals or mixed case (`named_words`' names) are not asked, nor capitalised ones
    where capitals mark names, nor words in another script than the Latin one. Word lists: wordfreq's (its
    data inside the package; English and the question's language are loaded once, about 40 MB each).
    """
    key = language_key(lang)
    if key in CJK_LANGUAGES or key in SUFFIXING or key not in _wordlist_languages():
        return []
    if key in LATIN_TYPED and all(latin(ch) for ch in question if ch.isalpha()):
        # Greek typed in Latin letters (`bot.greeklish`): every word is in neither list, names or not
        # ("thelw", "mporw", "erthei"), and a Greeklish question was refused for naming them.
        return []
    stop = STOPWORDS.get(key, frozenset()) | STOPWORDS["en"]
    capitals = key in NOUN_CAPITALISING
    # The word lists a lower-case word is looked up in, in order (a neighbour's read only when needed).
    lists = dict.fromkeys([key, "en", *KINDRED.get(key, ())])
    out: list[str] = []
    for token in _MARKUP.sub(" ", question).split():
        word = token.strip(_EDGE)
        # Where a capital says nothing, a hyphen's parts are judged alone ("RAM-Auslastung").
        parts = word.split("-") if capitals else [word]
        for part in parts:
            if (
                len(part) < MIN_UNCOMMON_LETTERS
                or not (part.isalpha() and part[1:].islower())
                or part.lower() in stop
                or part in out
                # Names of software and products are written in Latin letters; a Cyrillic (Greek, …) word
                # missing from the word list is slang, a rare form or a spelling: a Russian trial's
                # "видюха", "сетевуха", "доустановить" and "дебьян" had their questions refused.
                or not all(latin(ch) for ch in part)
            ):
                continue
            lower = part[0].islower()
            unlisted = lower and not any(_known(part, code) for code in lists)
            # A lower-case word alone is a verb or an adjective there; one before a hyphen qualifies a noun
            # as a name does ("systemd-Dienst").
            if unlisted or (capitals and (len(parts) > 1 or not lower) and _foreign(part, key)):
                out.append(part)
    return out


def typo_variants(word: str) -> list[str]:
    """The words one typing slip away that `word` may have meant: two neighbouring letters swapped
    ("pyhton" → "python", "lsit" → "list") and, in longer words, one letter too many."""
    return [v for v in dict.fromkeys([*swapped_variants(word), *dropped_variants(word)]) if v != word]


def respelled_variants(word: str) -> list[str]:
    """`word` with one vowel written as another, from `MIN_RESPELLED_LETTERS` letters on: chat writes words
    as they are said ("pesenan" for Indonesian "pesanan" was refused as a name the help center lacks). Not
    a typing slip, which `typo_variants` covers; in shorter words another vowel too often makes another
    word ("cost", "cast")."""
    if len(word) < MIN_RESPELLED_LETTERS:
        return []
    return [
        word[:i] + vowel + word[i + 1 :]
        for i, letter in enumerate(word)
        if letter in _VOWELS
        for vowel in _VOWELS
        if vowel != letter
    ]


def swapped_variants(word: str) -> list[str]:
    """`word` with two neighbouring letters swapped, at each place ("pyhton" → "python" among them)."""
    return [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)]


def dropped_variants(word: str) -> list[str]:
    """`word` with one letter dropped, at each place, from `MIN_DELETION_LETTERS` letters on."""
    return [word[:i] + word[i + 1 :] for i in range(len(word))] if len(word) >= MIN_DELETION_LETTERS else []


def missing_letter_variants(word: str) -> list[str]:
    """The words `word` is with one letter left out ("pasword" → "password", "ariving" → "arriving"), the
    commonest typing slip: 26 letters at every place, so looked up among the knowledge base's own words
    (`Calibration.vocabulary`), never asked of the index one by one. None for a word shorter than
    `MIN_MISSING_LETTER_LETTERS`."""
    if len(word) < MIN_MISSING_LETTER_LETTERS:
        return []
    letters = "abcdefghijklmnopqrstuvwxyz"
    return list(
        dict.fromkeys(word[:i] + letter + word[i:] for i in range(len(word) + 1) for letter in letters)
    )


async def unknown_names(kb: KnowledgeBase, question: str, lang: str | None) -> tuple[str, ...]:
    """The names in `question` the knowledge base never mentions: `named_words`, and `uncommon_words`
    unless the knowledge base has a word one typing slip or one vowel away (the customer mistyped that
    word, or wrote it as it is said).

    One `missing_words` call asks for all of them (the first `MAX_NAMES` names and `MAX_UNCOMMON` uncommon
    words); it raises what the knowledge base raises."""
    # Off the event loop: the first Latin word of a CJK question reads wordfreq's English list (about a
    # second, `named_words`), which stalled every other chat while it loaded.
    names = (await asyncio.to_thread(named_words, question, lang))[:MAX_NAMES]
    rare = [w for w in await asyncio.to_thread(uncommon_words, question, lang) if w not in names]
    rare = rare[:MAX_UNCOMMON]
    if not names and not rare:
        return ()
    variants = {word: [*typo_variants(word), *respelled_variants(word)] for word in rare}
    # A code typed joined ("PX110") is known when the help center holds its parts ("PX-110").
    parts = {name: code_parts(name) for name in names}
    asked = list(
        dict.fromkeys(
            [
                *names,
                *rare,
                *(v for vs in variants.values() for v in vs),
                *(p for ps in parts.values() for p in ps),
            ]
        )
    )
    missing = await kb.missing_words(asked)
    unknown = [
        name
        for name in names
        if name in missing and not (parts[name] and all(part not in missing for part in parts[name]))
    ]
    lost = [w for w in rare if w in missing and all(v in missing for v in variants[w])]
    if lost:
        # A letter left out ("pasword", "refnd") is the commonest slip, and its variants are too many to ask
        # the index about (26 letters at every place): they are looked up among the knowledge base's own
        # words, which the reload stores (`Calibration.vocabulary`), as the search corrects them.
        from bot.kb.vocabulary import corrected

        try:
            vocabulary = (await kb.calibration()).vocabulary
        except KBUnavailableError:
            vocabulary = {}
        if vocabulary:
            spelled = await asyncio.to_thread(
                lambda: {w: corrected(w, vocabulary, lang or UNDETERMINED) for w in lost}
            )
            lost = [w for w in lost if spelled[w] == w]
    return tuple([*unknown, *lost])
