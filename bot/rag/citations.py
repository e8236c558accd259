"""Checks on the model's output done in code: citations, links, and leaks of the prompt or hidden data."""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Callable, Container, Iterable, Sequence, Set
from dataclasses import dataclass, replace
from functools import cache

from bot.chinese import to_simplified
from bot.kb.analysis import (
    STEMMED,
    THAI_RUN,
    THAI_STOPWORDS,
    analyzer,
    language_key,
    thai_words,
    width_folded,
)
from bot.kb.calibration import question_words
from bot.kb.markup import FENCE, TABLE_ROW, TABLE_RULE, is_table_rule
from bot.language import STOPWORDS as LANGUAGE_STOPWORDS
from bot.rag.prompting import Passage
from bot.unicode import MARKS, WORD_CHARACTER, without_accents

# "[1]", "[1, 2]", "[1][3]", "[Passage 2]", "[source 2]": small models vary the form; keep the meaning.
_CITATION_GROUP = re.compile(
    r"\[\s*(?:(?:passage|source|doc(?:ument)?)\s*)?(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]", re.I
)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'\)\]]+", re.IGNORECASE)
# Scheme-less links ("evil.example.com/login"): a host ending in a common top-level domain.
_BARE_DOMAIN = re.compile(
    r"(?<![\w@./-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:com|net|org|io|co|info|biz|app|dev|me|ly|xyz|top|site|online|ru|cn|de|uk|fr|us|eu|gl|to|link|click)"
    r"(?:/[^\s<>\"'\)\]]*)?(?![\w-])",
    re.IGNORECASE,
)
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(\s*([^)\s]+)\s*\)")
_WORD = re.compile(r"[a-z0-9]+")
_TRAILING_PUNCT = ".,;:!?"

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "how",
        "why",
        "when",
        "where",
        "do",
        "does",
        "did",
        "done",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "me",
        "my",
        "your",
        "our",
        "their",
        "them",
        "his",
        "her",
        "not",
        "no",
        "yes",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "only",
        "into",
        "about",
        "over",
        "under",
        "again",
        "more",
        "most",
        "some",
        "any",
        "all",
        "each",
        "other",
        "such",
        "own",
        "same",
        "both",
        "few",
        "has",
        "have",
        "had",
        "having",
        "up",
        "down",
        "out",
        "off",
    ]
)


@dataclass(frozen=True)
class CitationCheck:
    text: str  # the answer with invalid markers removed and valid ones normalised to "[n]"
    cited: tuple[int, ...]  # valid passage numbers in order of first use
    invalid: tuple[int, ...]  # numbers the model used that refer to no passage


def check_citations(text: str, n_passages: int, *, keep: Container[int] | None = None) -> CitationCheck:
    """Keep only `[n]` with 1 ≤ n ≤ n_passages (and, given `keep`, n in keep); drop the rest from the text."""
    cited: list[int] = []
    invalid: list[int] = []

    def replace(match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1))]
        good = [n for n in numbers if 1 <= n <= n_passages and (keep is None or n in keep)]
        invalid.extend(n for n in numbers if not 1 <= n <= n_passages)
        for n in good:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in dict.fromkeys(good))

    cleaned = _CITATION_GROUP.sub(replace, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return CitationCheck(text=cleaned, cited=tuple(cited), invalid=tuple(invalid))


def _normalise_url(url: str) -> str:
    url = url.rstrip(_TRAILING_PUNCT).lower()
    url = re.sub(r"^https?://", "", url)
    url = re.sub(r"^www\.", "", url)
    return url.rstrip("/")


def allowed_urls(passages: Iterable[Passage]) -> set[str]:
    """Every link the sources themselves carry: their `url` and links written in their text."""
    urls: set[str] = set()
    for passage in passages:
        if passage.url:
            urls.add(_normalise_url(passage.url))
        urls.update(_normalise_url(u) for u in _URL.findall(passage.text))
        urls.update(_normalise_url(u) for u in _BARE_DOMAIN.findall(passage.text))
    return urls


def strip_foreign_urls(text: str, allowed: set[str]) -> tuple[str, int]:
    """Remove every link not present in the passages; returns the text and how many were removed."""
    removed = 0

    def markdown(match: re.Match[str]) -> str:
        nonlocal removed
        if _normalise_url(match.group(2)) in allowed:
            return match.group(0)
        removed += 1
        return match.group(1)

    def bare(match: re.Match[str]) -> str:
        nonlocal removed
        url = match.group(0)
        core = url.rstrip(_TRAILING_PUNCT)
        if _normalise_url(core) in allowed:
            return url
        removed += 1
        return url[len(core) :]

    text = _MARKDOWN_LINK.sub(markdown, text)
    text = _URL.sub(bare, text)
    text = _BARE_DOMAIN.sub(bare, text)
    if removed:
        text = re.sub(r"\(\s*\)|\[\s*\]|<\s*>", "", text)
        text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text, removed


def content_words(text: str) -> list[str]:
    """The words an answer's support is judged by: English content words, the words of other alphabets
    (Cyrillic, Greek, Arabic, Devanagari with its vowel signs, Thai as its segmenter cuts it), and the
    character pairs of CJK text (no spaces mark its words; pairs match about as words do). Without the
    pairs a Chinese sentence was judged by its Latin words alone: "Parcelly 会立即全额退款" was "supported"
    by any passage that names Parcelly; without the other alphabets a Hindi or Russian sentence was too."""
    lowered = text.lower()
    words = [w for w in _WORD.findall(lowered) if w not in STOPWORDS and len(w) > 1]
    for run in THAI_RUN.findall(lowered):
        words.extend(w for w in thai_words(run) if w not in THAI_STOPWORDS)
    words.extend(
        w
        for w in _OTHER_ALPHABET_WORD.findall(THAI_RUN.sub(" ", lowered))
        if len(w) > 1 and w not in _OTHER_ALPHABET_STOPWORDS
    )
    for run in _CJK_LETTERS.findall(to_simplified(text, words=False)):
        words.extend(a + b for a, b in zip(run, run[1:], strict=False))
    return words


def overlap_share(answer: str, passage: Passage) -> float:
    """Share of the answer's content words that appear in the passage (heading included)."""
    words = set(content_words(answer))
    if not words:
        return 0.0
    return len(words & set(content_words(passage.heading + " " + passage.text))) / len(words)


# A figure written with digits, separators inside it kept together ("14", "1.50", "10,000"; "3–5" is two).
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
# A list item's own number ("2. Open the app") is not a figure the answer states.
_ITEM_NUMBER = re.compile(r"(?m)^\s*\d{1,3}[.)]\s+")


def figures(text: str) -> set[str]:
    """The numbers written with digits in `text` (list item numbers aside), separators removed, so
    "10,000" and "10000" are one figure."""
    return {re.sub(r"[.,]", "", f) for f in _FIGURE.findall(_ITEM_NUMBER.sub("", text))}


def passage_figures(passage: Passage) -> set[str]:
    return figures(passage.heading + "\n" + passage.text)


# Where a passage's statements end for `figures_bound`: sentences, and the clauses a semicolon or a line
# break sets apart ("Germany takes 2–3 business days; to other EU countries it takes 4–6").
_CLAUSE_END = re.compile(r"[.!?…]+(?=\s)|[;；。！？\n]")


def figures_bound(sentence: str, passage_text: str, given: Set[str] = frozenset()) -> bool:
    """Whether each figure of `sentence` (those of `given`, the question's, aside) comes from the passage's
    statement about what the sentence is about.

    The statement of the passage that shares the most of the sentence's other words is what the sentence
    restates; when that one states figures of its own and not this one, the figure was taken from a
    neighbouring statement: "shipping to other EU countries takes 2–3 business days" from "Germany takes
    2–3 business days; to other EU countries it takes 4–6". Every figure is in the passage, and word
    overlap is high: only where the figure sits tells it wrong (the shipped 135M model writes such
    sentences). Ties pass, and so does a sentence whose closest statement has no figure at all.
    """
    sentence = strip_citation_marks(sentence)
    wanted = figures(sentence) - given
    if not wanted:
        return True
    words = {w for w in stems(sentence) if not w.isdigit()}
    if not words:
        return True
    statements = [
        (len(words & stems(part)), figures(part) - given)
        for part in _CLAUSE_END.split(passage_text)
        if part.strip()
    ]
    best = max((shared for shared, _ in statements), default=0)
    if best == 0:
        return True
    closest = [found for shared, found in statements if shared == best]
    if not any(closest):
        return True
    return all(any(figure in found for found in closest) for figure in wanted)


def _figure_pieces(passage_text: str) -> list[str]:
    """The passage's statements cut at commas too, a piece without figures joined to the next: "iDEAL and
    Bancontact take 3 to 5 business days", "and cards, PayPal, Apple Pay and Google Pay take 5 to 10 business
    days" (the items a figure is stated for stay with it)."""
    pieces: list[str] = []
    for statement in _CLAUSE_END.split(passage_text):
        pending = ""
        for part in re.split(r"[,，、]", statement):
            pending = f"{pending},{part}" if pending else part
            if figures(part):
                pieces.append(pending)
                pending = ""
        if pending.strip():
            pieces.append(pending)
    return pieces


def figures_of_named(
    sentence: str, passage_text: str, names: Sequence[str], given: Set[str] = frozenset()
) -> bool:
    """Whether the figures of `sentence` (the question's, `given`, aside) are those the passage states for
    what the question names (`names`, its `named_words`), where one piece of the passage (`_figure_pieces`)
    names it and states figures:
    "How long does a PayPal refund take?" answered "the refund takes 3 to 5 business days" from "…iDEAL and
    Bancontact take 3 to 5 business days, and cards, PayPal, Apple Pay and Google Pay take 5 to 10 business
    days." Every figure is the passage's, in the same sentence, and the sentence never says PayPal."""
    wanted = figures(strip_citation_marks(sentence)) - given
    if not wanted:
        return True
    pieces = _figure_pieces(passage_text)
    for name in names:
        holding = [piece for piece in pieces if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", piece, re.I)]
        if len(holding) == 1 and figures(holding[0]) and not wanted <= figures(holding[0]):
            return False
    return True


# An amount written with a currency sign before or after it: "€29", "29 €", "£4.99", "70.000 ₫".
_CURRENCY_SIGNS = "€$£¥₹₽₩₫"
_AMOUNT = re.compile(rf"([{_CURRENCY_SIGNS}])\s?(\d+(?:[.,]\d+)*)|(\d+(?:[.,]\d+)*)\s?([{_CURRENCY_SIGNS}])")


def amounts(text: str) -> set[tuple[str, str]]:
    """The amounts of `text` written with a currency sign, as (sign, figure) pairs, figures as `figures`
    writes them ("€1,500" and "1500 €" are one)."""
    found = set()
    for match in _AMOUNT.finditer(text):
        sign = match.group(1) or match.group(4)
        number = match.group(2) or match.group(3)
        found.add((sign, re.sub(r"[.,]", "", number)))
    return found


def currencies_bound(sentence: str, passage_text: str, question: str = "") -> bool:
    """Whether each amount `sentence` writes with a currency sign keeps the sign the passage (or the
    question) writes that figure with, where it writes it with one: "Parcelly Business is £29 per month"
    from "€29 per month" passes the figure check (29 is in the passage) and is still made up."""
    stated = amounts(passage_text) | amounts(question)
    for sign, figure in amounts(strip_citation_marks(sentence)):
        signs = {written for written, number in stated if number == figure}
        if signs and sign not in signs:
            return False
    return True


# A word written like a name or a code: capitals inside it ("iDEAL", "PayPal", "iOS") or two and more
# capitals and digits ("FBA", "PX-102", "E42"). A small model copying a passage misspells these ("iDEAD",
# "iDEADLEREAD") or makes them up ("(FBA)"), and word overlap cannot see it: the rest of the sentence is the
# passage's.
_NAME = re.compile(r"\b(?:[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*|[A-Z][A-Z0-9]*[A-Z0-9](?:-[A-Z0-9]+)*)\b")


# Written in capitals in any answer, named by no passage: not a name.
_NOT_NAMES = frozenset({"ok"})


def names(text: str) -> set[str]:
    """The words of `text` written like names or codes (`_NAME`), lower-cased; citation marks aside."""
    return {found.lower() for found in _NAME.findall(strip_citation_marks(text))} - _NOT_NAMES


# A currency's ISO 4217 code and the signs a help center writes it with: "5 EUR" restates a passage's "€5"
# (a model that writes amounts in codes is not naming anything new), whereas "5 USD" for "€5" is still
# stopped. Only codes with a sign of their own; a code written out in a passage matches as itself.
CURRENCY_SIGNS: dict[str, tuple[str, ...]] = {
    "eur": ("€",),
    "usd": ("$", "us$"),
    "gbp": ("£",),
    "jpy": ("¥", "￥", "円"),
    "cny": ("¥", "￥", "元"),
    "rmb": ("¥", "￥", "元"),
    "inr": ("₹",),
    "rub": ("₽",),
    "krw": ("₩",),
    "try": ("₺",),
    "uah": ("₴",),
    "ils": ("₪",),
    "ngn": ("₦",),
    "php": ("₱",),
    "vnd": ("₫",),
    "pln": ("zł",),
}


def names_only_from(sentence: str, *sources: str) -> bool:
    """Whether every name or code in `sentence` is written in one of `sources` (case aside, as a whole
    word, a currency code also as its sign): a sentence may name what its passage or the question names,
    nothing else."""
    wanted = names(sentence)
    if not wanted:
        return True
    text = "\n".join(sources).lower()
    return all(
        re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text)
        or any(sign in text for sign in CURRENCY_SIGNS.get(name, ()))
        for name in wanted
    )


def best_overlap(answer: str, passages: Sequence[Passage]) -> tuple[int | None, float]:
    """The passage (1-based) sharing the largest share of the answer's content words, and that share."""
    words = set(content_words(answer))
    if not words or not passages:
        return None, 0.0
    best_n, best_share = None, 0.0
    for n, passage in enumerate(passages, start=1):
        share = len(words & set(content_words(passage.heading + " " + passage.text))) / len(words)
        if share > best_share:
            best_n, best_share = n, share
    return best_n, best_share


# -- how much of a sentence is copied ------------------------------------------------------------------

# How a sentence names its source, and a yes or no before the answer: not words it could copy.
_ATTRIBUTION = re.compile(
    r"^\W*(?:(?:according to|based on|as (?:described|stated|explained) in)\b\W*)?(?:(?:yes|no)\b\W*)?",
    re.I,
)


def _copy_tokens(text: str) -> list[str]:
    """Lower-cased words, and each CJK character on its own (no spaces mark CJK words)."""
    out: list[str] = []
    for word in _UNICODE_WORD.findall(text.lower()):
        if THAI_RUN.fullmatch(word):
            out.extend(thai_words(word))  # Thai writes no spaces between its words either
        else:
            out.extend(word if _CJK_RUN.fullmatch(word) else (word,))
    return out


def copied_share(sentence: str, passages: Sequence[Passage], run: int = 4) -> float:
    """The share of the sentence's words that lie in runs of at least `run` words copied from one of the
    passages (heading included); a sentence shorter than `run` words must be copied whole.

    SmolLM2-135M's sentences that are true copy the passage's phrases ("you can open the compartment in
    three ways"); its wrong ones recombine the passage's words ("the student discount is 15% off every
    label" from "no student discount" and "Plus: 15% off every label"), which word overlap cannot tell apart.
    """
    words = _copy_tokens(_ATTRIBUTION.sub("", strip_citation_marks(sentence), count=1))
    if not words:
        return 0.0
    n = min(run, len(words))
    grams: set[tuple[str, ...]] = set()
    for passage in passages:
        source = _copy_tokens(f"{passage.heading}\n{passage.text}")
        grams.update(tuple(source[i : i + n]) for i in range(len(source) - n + 1))
    covered = [False] * len(words)
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) in grams:
            covered[i : i + n] = [True] * n
    return sum(covered) / len(words)


# -- sentences that do not read as sentences --------------------------------------------------------

# English words no statement ends on: an article, a possessive, a conjunction or a preposition that needs
# what follows it ("You should visit the.", "…by using.", "such as and."). Prepositions that can close a
# sentence ("log in", "turn it on", "what it is for") are not listed.
_DANGLING = frozenset(
    ["a", "an", "the", "my", "your", "our", "their", "its"]
    + ["and", "or", "but", "of", "by", "using", "as", "than", "including"]
)
_LAST_WORD = re.compile(r"([A-Za-z]+)[^A-Za-z0-9]*$")
# "…for Android 12 and later, which is." ("Yes, it is." is a sentence; "which is" never ends one.)
_DANGLING_CLAUSE = re.compile(r"\bwhich (?:is|are|was|were)\W*$", re.I)
# A citation mark read as a noun: the subject of a sentence or clause, or after an article, a preposition or
# "is" ("you can use [2] to…", "a shipment of [2]", "the person you mean is [2]", "so [2] will be sent to…",
# "it will appear until [2]."); "according to [1]", "based on [1]" and "as described in [1]" are how a
# sentence names its source.
_MARK_AS_NOUN = re.compile(
    r"^\W*\[\d{1,3}\]|\b(?:the|a|an|with|using|use|by|of|at|via|into|for|is|are|was|were)\s+\[\d{1,3}\]|"
    r"\b(?:so|and|but|because|until|than|about|that|which|if)\s+\[\d{1,3}\]\s+\w|\buntil\s+\[\d{1,3}\]|"
    r"(?<!according )\bto\s+\[\d{1,3}\]|(?<!based )\bon\s+\[\d{1,3}\]",
    re.I,
)
# A mark after "in", "under", "after" or "before" reads as a source only after a participle or "as" ("as
# described in [1]", "as shown in [1]"); the fine-tuned 135M model writes "According to [1], in [1], take
# your parcel…" and "After [1], After 5 wrong codes…", a phrase of the passage broken by the mark.
_MARK_AFTER_PREPOSITION = re.compile(r"(\S+\s+)?\b(?:in|under|after|before)\s+\[\d{1,3}\]", re.I)
_NAMES_A_SOURCE = re.compile(r"(?:as|\w+ed|shown|written|given|said|seen|found)\s+$", re.I)
# The model talking about its prompt, or filling in a template ("[insert file name]", "[your_account]",
# "[address]") rather than answering: a bracket that is neither a citation mark nor a Markdown link.
_PROMPT_TALK = re.compile(r"\b(?:the|this|that|these) passages?\b", re.I)
_PLACEHOLDER = re.compile(r"\[(?!\s*(?:(?:passage|source|doc(?:ument)?)\s*)?\d)[^\[\]\n]{1,60}\](?!\()", re.I)


def garbled(sentence: str, passages: Sequence[Passage], *, english: bool = True) -> str | None:
    """Why `sentence` (the model's own words, citation marks included) does not read as a sentence a
    customer should see, or None.

    A small model's words can be the passage's words and still not be an answer: SmolLM2-135M wrote "You
    should visit the.", "you can use [2] to make the promo emails stop", "The passage is about refunds".
    Word overlap lets these through; each is a pattern no well-formed support answer has (a passage that
    itself speaks of passages is quoted, not flagged). The word patterns are English, and only an English
    answer (`english`) is read with them: German ends sentences on "an" ("Melden Sie sich … an."), French
    says "50 € par an"; a file name or a template placeholder is read in any language.
    """
    if english:
        words = strip_citation_marks(sentence).strip()
        last = _LAST_WORD.search(words)
        if (last is not None and last.group(1).lower() in _DANGLING) or _DANGLING_CLAUSE.search(words):
            return "ends on a word that needs what follows it"
        after_preposition = _MARK_AFTER_PREPOSITION.finditer(sentence)
        if _MARK_AS_NOUN.search(sentence) or any(
            not _NAMES_A_SOURCE.fullmatch(found.group(1) or "") for found in after_preposition
        ):
            return "uses a citation mark as a word"
    lowered = sentence.lower()
    for passage in passages:
        # The prompt titles each passage with its file's name ("(delivery-times-and-tracking.md)"): an answer
        # that names it is reading out its prompt, not answering.
        name = passage.source.rsplit("/", 1)[-1].lower()
        if "." in name and name in lowered and name not in f"{passage.heading} {passage.text}".lower():
            return "names a passage's file"
    for pattern, why in (
        *([(_PROMPT_TALK, "talks about its instructions")] if english else []),
        (_PLACEHOLDER, "fills in a template"),
    ):
        found = pattern.search(sentence)
        if found is not None and not any(
            found.group().lower() in f"{p.heading} {p.text}".lower() for p in passages
        ):
            return why
    return None


# Negation: a small model adds or drops it while copying a passage's words ("the API is not available for
# testing" from "a sandbox … for testing"), and a larger one answering in the customer's language can do the
# same. The unambiguous markers of the catalogs' languages (English; French "pas", whose "ne" is often
# dropped; German; Spanish, whose "no" is English's; Portuguese; Russian), and for Chinese and Japanese, whose
# words have no spaces, the negating characters and endings, less the words they are part of that negate
# nothing ("不过" however, "无论" no matter, "未来" future, "特别" especially, "别人" others, "無料" free of
# charge, "未満" under, "少ない" few).
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|none|nothing|neither|nor"
    r"|pas|jamais|aucune?|rien|nicht|nichts|kein(?:e|en|em|er|es)?|nie|niemals"
    r"|nunca|ningun[oa]|ningún|jamás|tampoco|não|nenhuma?"
    r"|не|нет|никогда|нельзя|ни|ничего|ничто|никто|нигде)\b|n't\b"
    r"|不(?![过過仅僅但管少错錯])|[没沒](?!什么|什麼)|[无無](?![论論料线線])|未(?![来來满満])"
    r"|(?<![特区區类類级級识識分告差个個性辨鉴鑒离離])[别別](?![人的处處名])|勿|(?<![少危])ない|ません",
    re.I,
)


def flips_polarity(sentence: str, passage: Passage) -> bool:
    """Whether `sentence` negates what the passage's closest sentences say, or says what they negate.

    The closest sentences are those sharing the most content words with it; only when every one of them
    differs from it in negation is it a flip (word overlap is blind to "not"). A sentence that shares no
    word with any of them is not judged here.
    """
    words = stems(sentence)
    scored = [(len(words & stems(unit.text)), unit.text) for unit in passage_units(passage.text)]
    best = max((score for score, _ in scored), default=0)
    if best == 0:
        return False
    negated = _NEGATION.search(sentence) is not None
    return all((_NEGATION.search(text) is not None) != negated for score, text in scored if score == best)


# -- sentences of a streamed answer ----------------------------------------------------------------

# Where a sentence can end: terminal punctuation (and closing quotes or brackets) before whitespace or a
# citation mark, or a line break (list items often end without a full stop).
# A full stop before a space or a mark; a CJK full stop anywhere (the next sentence follows it directly).
_SENTENCE_STOP = re.compile(r"[.!?…]+[\"'”’)]*(?=[\s\[])|[。！？]+[」』”’）)]*|\n")
# Citation marks written after the full stop ("… five days. [1]") still belong to that sentence.
_MARKS_AFTER_STOP = re.compile(rf"(?:[ \t]*{_CITATION_GROUP.pattern})*", re.I)
# The beginning of a citation mark that is still being written ("[", "[1", "[Passage 2,").
_PARTIAL_MARK = re.compile(r"\[\s*(?:[a-z]+\s*)?[\d\s,;]*", re.I)
_FINAL_PUNCT = re.compile(r"[.!?…。！？]+[\"'”’)」』）]*$")


def sentence_end(text: str, start: int = 0) -> tuple[int, int] | None:
    """The first complete sentence of `text[start:]` while `text` is still growing.

    Returns (end of that sentence, start of the next one), or None while more text could still change
    where it ends: a sentence is complete only once the next one has begun, so citation marks that follow
    its full stop stay with it. The last sentence of a finished text is whatever remains.
    """
    for match in _SENTENCE_STOP.finditer(text, start):
        if match.group(0) == "\n":
            end = match.start()
            if not text[start:end].strip():
                continue  # a blank line before any words is no sentence
        else:
            marks = _MARKS_AFTER_STOP.match(text, match.end())
            end = marks.end() if marks else match.end()
        following = text[end:]
        begins = end + len(following) - len(following.lstrip())
        if begins >= len(text):
            return None  # the text ends here for now: a citation mark or more words may follow
        if begins == end and match.group(0)[0] not in "。！？":
            continue  # "3.5", "days.[x]": not a sentence boundary (after 。 the next one needs no space)
        rest = text[begins:]
        if "]" not in rest and _PARTIAL_MARK.fullmatch(rest) and len(rest) < 16:
            return None  # a citation mark is being written after the whitespace
        return end, begins
    return None


def add_citation(sentence: str, n: int) -> str:
    """Put `[n]` at the end of a sentence, before its full stop: "Refunds take five days [1]."."""
    body = sentence.rstrip()
    stop = _FINAL_PUNCT.search(body)
    if stop is None:
        return f"{body} [{n}]"
    return f"{body[: stop.start()].rstrip()} [{n}]{body[stop.start() :]}"


# -- extractive answers ----------------------------------------------------------------------------

# Markup of Markdown/RST sources: noise in a quoted answer shown as plain or HTML text.
_MARKUP = re.compile(r"\*\*|__|`+")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_RST_LINK = re.compile(r"`([^`<\n]+?)\s*<([^>\n]+)>`_{1,2}")
_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s+|^\s*(?:=+|-+|~+|\^+)\s*$")
# Tables and code as the loaders write them: `bot.kb.markup`. A "|" in a cell is escaped ("\\|").
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
_SPACED_PIPE = re.compile(r"(?<=\s)\|(?=\s)")
# A table's or figure's caption: "Table 6.8. List of SSH configuration files", "Tabelle 6.8.", "表6.1 …".
_CAPTION = re.compile(r"^([^\W\d_]{1,15})\s?(\d{1,3}(?:[.-]\d{1,3})*)([.:：]?)(?:\s+(\S.*))?$")
_LIST_MARKER = re.compile(r"^\s*((?:[-*+•])|(?:\d{1,3}[.)]))\s+(?=\S)")
# A list run into one line ("… wird geblockt. - Kommunikation …", "… Binärdateien; 7. Ausführen …"), as the
# chunker joins a list longer than a chunk: another item begins after a clause's end.
_INLINE_ITEM = re.compile(r"(?<=[.;:!?…])\s+(?:([-•*+])|(\d{1,3})[.)])\s+(?=\S)")
# A list item's number or bullet with nothing after it ("… im-config. 2."): the next item, cut off.
_BARE_MARKER = re.compile(r"(?:^|(?<=[.;:!?…])\s+)(?:\d{1,3}[.)]|[-•*+])$")
# A full stop, then space, then what can begin a sentence in any alphabet (an upper-case letter, a digit,
# an opening quote); or a CJK full stop (。！？), after which a sentence ends with no space at all.
# The quotes and brackets that close a sentence stay with it: the cut is after them ("…にあります。)", 'said
# "stop."'), each count of them its own fixed-width look-behind.
_PROSE_SENTENCE_END = re.compile(
    r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)»])|(?<=[.!?…][\"'”’)»]{2}))\s+(?=[^\W_a-z]|[\"'(“‘«¿¡])"
    r"|(?:(?<=[。！？])|(?<=[。！？][」』”’）)])|(?<=[。！？][」』”’）)]{2}))(?![」』”’）)])\s*(?=\S)"
)
# A space left before punctuation where lines or markup were joined ("Debian , p. ej.", "the app ."), and
# only there: a dot that begins a path, a name or an argument ("cd ./source", "find . -print0") stays.
_BEFORE_WORD_OR_END = r"(?=$|[\"'”’»)\]]|\s+[^\s\-/.|&<>])"
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)])" + _BEFORE_WORD_OR_END)
# French puts a space before ":", ";", "?" and "!" ("la commande : vous", "oublié ?"): in a French passage
# only the one before a comma, a full stop or a closing bracket is left over from joining.
_SPACE_BEFORE_PUNCT_FRENCH = re.compile(r"\s+([,.)])" + _BEFORE_WORD_OR_END)
# Chinese, Japanese and Korean characters and their punctuation: text in them is written without spaces.
_CJK_CHAR = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
# Korean puts spaces between words: only Chinese and Japanese text (and CJK punctuation) joins without one.
_UNSPACED_CHAR = _CJK_CHAR.replace("\uac00-\ud7af", "")
_SPACE_IN_CJK = re.compile(rf"(?<=[{_UNSPACED_CHAR}])\s+(?=[{_UNSPACED_CHAR}])")
_CJK_RUN = re.compile(rf"[{_CJK_CHAR}]+")
_UNSPACED_RUN = re.compile(rf"[{_UNSPACED_CHAR}]+")
# CJK letters only (Han, kana, Hangul), without their punctuation: what a CJK word is made of.
_CJK_LETTERS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
# A word in any script, with the marks written on its letters ("पासवर्ड" is one word, not three).
_UNICODE_WORD = re.compile(rf"{WORD_CHARACTER}+")
# The function words of every language with a list (only those of other alphabets than Latin and CJK meet
# `_OTHER_ALPHABET_WORD`: Russian's, Hindi's, …).
_OTHER_ALPHABET_STOPWORDS = frozenset().union(*LANGUAGE_STOPWORDS.values())
# A word of an alphabet other than Latin and CJK (Thai runs are taken out first: they are segmented).
_OTHER_ALPHABET_WORD = re.compile(
    rf"(?:[^\W\d_\x00-\u024f\u1e00-\u1eff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
    rf"|[{MARKS}])+"
)


@dataclass(frozen=True)
class PassageUnit:
    """One piece of a passage an extract can quote: a sentence, a list item or table row with its marker, or
    a block of code."""

    text: str
    block: int  # which paragraph, list, table or code block it belongs to
    marker: str = ""  # "-", "1.", …: set for list items and table rows
    label: bool = False  # a heading or a label ("Saturday:"): never quoted on its own
    # "heading", "caption", "header" (a table's), "row", "code" (its lines as written); "" for the rest
    kind: str = ""

    @property
    def item(self) -> bool:
        return bool(self.marker)

    @property
    def line(self) -> str:
        return f"{self.marker} {self.text}" if self.marker else self.text


def plain_text(text: str) -> str:
    """Text without Markdown/RST markup: emphasis, code marks, link syntax (the link itself is kept)."""
    text = _MARKDOWN_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _RST_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _MARKUP.sub("", text)
    return _EMPHASIS.sub(r"\1", text)


def _unwrap(lines: Sequence[str], lang: str | None = None) -> str:
    """Lines of one paragraph or list item (of a passage in `lang`) as one line: the source file's wrapping is
    not a break."""
    joined = " ".join(line.strip() for line in lines if line.strip())
    joined = _SPACE_IN_CJK.sub("", joined)  # a line wrapped inside CJK text gets no space
    before = _SPACE_BEFORE_PUNCT_FRENCH if language_key(lang) == "fr" else _SPACE_BEFORE_PUNCT
    return before.sub(r"\1", re.sub(r"\s{2,}", " ", joined)).strip()


# A sentence that describes the document it is in rather than answering anything.
_ABOUT_THE_ARTICLE = re.compile(
    r"(?:this|the following|in this|on this)\s+"
    r"(?:article|page|section|guide|document|chapter|faq|help article)\b",
    re.I,
)
# The same in the other languages served, and "below you will find" (not a lead-in ending in a colon,
# which is quoted with what it leads into): "아래에서 주문 마감 시간, 배송비… 확인하세요." ("see below for the
# cut-off time, the fee…") was a Korean grocery's whole answer to "by what time must I order?";
# "以下說明費用、支援機型與安裝步驟。" and "Ниже — как оформить заказ…" were quoted the same way.
_ABOUT_WHAT_FOLLOWS = re.compile(
    r"below,?\s+(?:you(?:'ll|\s+will|\s+can)\s+find|we\s+(?:explain|describe|cover|show))"
    # "Dieser Artikel", "cet article", "este artículo" are also the product bought ("Dieser Artikel ist vom
    # Umtausch ausgeschlossen."): only with a verb of telling.
    r"|in\s+(?:diesem|dieser)\s+(?:artikel|beitrag|abschnitt)\s+(?:erfahren|erklären|zeigen|finden|lesen)"
    r"|im\s+folgenden\s+(?:erfahren|erklären|finden)"
    r"|(?:dans\s+)?cet(?:te)?\s+(?:article|page|section),?\s+(?:nous|vous|explique|présente|décrit)"
    r"|ci-dessous,?\s+(?:vous|nous)"
    r"|(?:en\s+)?este\s+artículo,?\s+(?:te\s+|le\s+|les\s+)?(?:explica|explicamos|encontrar|mostramos|describe)"
    r"|a\s+continuación\s+(?:te\s+|le\s+|les\s+)?(?:explicamos|mostramos|encontrar)"
    r"|(?:in\s+)?questo\s+articolo,?\s+(?:ti\s+)?(?:spieg|trov|descriv|vedrai|scopri)"
    r"|di\s+seguito\s+(?:trovi|spieghiamo|ti\s+spieghiamo)"
    r"|(?:n)?este\s+artigo,?\s+(?:explica|explicamos|você\s+vai|mostramos|descreve)"
    r"|a\s+seguir,?\s+(?:explicamos|mostramos|veja)"
    r"|(?:в\s+)?(?:этой|данной)\s+статье\b|эта\s+статья\b|ниже\s*[—–:-]?\s*(?:как|описан|расскаж|вы\s+найд|привед)"
    r"|本文|本篇|以下(?:說明|说明|介紹|介绍|將|将)|下面(?:介紹|介绍|說明|说明|將|将)"
    r"|(?:この|本)(?:記事|ページ)では|以下では"
    r"|이\s*(?:글|문서|페이지|안내)에서는|아래에서\s.*확인하(?:세요|십시오)",
    re.I,
)
# "See" (also) in the languages of the help centers tried: what sends the reader to another article.
_SEE = r"(?:see|read|siehe|voir|véase|consulta|veja|consulte)(?:\s+(?:also|auch|aussi|también|também))?"
# A sentence that only sends the reader to another article ("For lost or damaged parcels, see "Lost or
# damaged parcels".", "See also: Returns"): quoted alone, it was the whole answer to "How do I get a refund?".
_POINTS_ELSEWHERE = re.compile(
    r"(?:(?:for|about|on|if|pour|si|für|bei|wenn|para|sobre)\b[^.;:!?]{1,80},\s*)?(?:please\s+)?"
    + _SEE
    + r"\s*[:\"“«‘'„]"
    # Or to an article by name, without quotes: "Veja os prazos no artigo sobre Pix." (a Brazilian trial's
    # whole answer to a scam report).
    r"|(?:please\s+)?(?:see|siehe|voir|véase|veja|consulte)\b[^.;:!?]{0,60}"
    r"\b(?:in the|on the|the|no|na|em|im|dans|l'|en el|en la|sobre o|sobre a)\s+"
    r"(?:article|artigo|artículo|artikel|section|seção|secção|sección"
    r"|abschnitt)\b[^.;:!?]{0,60}[.!]?$"
    # A quoted title and "see" in Korean, Japanese or Chinese: "“…되나요?” 참조." was a Korean trial's quote.
    r"|[“\"「『《][^”\"」』》]{1,120}[”\"」』》]\s*(?:을|를|を)?\s*(?:참조|참고|参照)"
    r"|(?:请)?(?:参见|参阅|参考|详见)\s*[“\"「『《]",
    re.I,
)


# The quoted title a sentence sends the reader to: "For lost parcels, see "Lost or damaged parcels"."
_POINTED_TITLE = re.compile(r"\b" + _SEE + r"\s*[\"“«‘'„]([^\"”»’'“„\n]{2,120})[\"”»’'“]", re.I)


def pointed_titles(question: str, passage: Passage) -> tuple[str, ...]:
    """The titles `passage`'s pointers send the reader to for `question`: each quoted title after "see" whose
    sentence holds a word of the question that the rest of the passage and its heading lack, so that the
    pointer is what the passage matched the question by ("my parcel is lost, can I get my money back?" and
    "This article explains when you get your money back… For lost or damaged parcels, see "Lost or damaged
    parcels"."). A question the passage answers in its own words sends nowhere ("How do I get a refund?")."""
    wanted = stems(question, passage.lang)
    if not wanted:
        return ()
    units = passage_units(passage.text, passage.lang)
    pointed: list[tuple[int, str, set[str]]] = []
    for i, unit in enumerate(units):
        for match in _POINTED_TITLE.finditer(unit.text):
            title = match.group(1).strip()
            # What the sentence says around the title is when to follow it.
            said = stems(unit.text[: match.start()] + " " + unit.text[match.end() :], passage.lang)
            pointed.append((i, title, said))
    if not pointed:
        return ()
    pointing = {i for i, _, _ in pointed}
    elsewhere = stems(passage.heading, passage.lang).union(
        *(stems(unit.text, passage.lang) for i, unit in enumerate(units) if i not in pointing)
    )
    return tuple(dict.fromkeys(title for _, title, said in pointed if (wanted & said) - elsewhere))


def _says_nothing_itself(text: str) -> bool:
    """A sentence about the article itself, or one that only points to another article."""
    if _ABOUT_WHAT_FOLLOWS.match(text) and not text.endswith((":", "：")):
        return True
    return bool(_ABOUT_THE_ARTICLE.match(text) or _POINTS_ELSEWHERE.match(text))


def _is_label(text: str) -> bool:
    """A label, not a statement: "Talk to a human", "Live chat", "在线客服". ("Saturday: 09:00–17:00" and
    "人工客服热线：400-820-5588" say something; a line ending in a colon leads into the next one and is
    quoted with it.) Chinese and Japanese, written without spaces, count a word per two characters: counted
    by spaces, "人工客服热线：400-820-5588" was one word, a label, and "客服电话是多少" quoted the line
    after the number instead."""
    if ":" in text or "：" in text or re.search(r"[.!?…;。！？；]\W*$", text):
        return False
    unspaced = sum(len(run) for run in _UNSPACED_RUN.findall(text))
    return len(_UNSPACED_RUN.sub(" ", text).split()) + (unspaced + 1) // 2 <= 4


def _labels(sentence: str, before: Sequence[PassageUnit]) -> bool:
    """Whether a line of prose after the units `before` is a label (`_is_label`). What a sentence ending in a
    colon leads into is what it says, however short: "call our 24-hour hotline:" over "0800-018-119" was
    quoted without the number ("We answer within a minute." instead), "計算方式為：" without its
    formula."""
    leads_in = bool(before) and not before[-1].kind and before[-1].text.endswith((":", "："))
    return not leads_in and _is_label(sentence)


def _caption_title(text: str) -> str | None:
    """The title of a table's or figure's caption ("" for a caption that is only its number), None for a line
    that is no caption: a word and a number ("Tabelle 6.8.", "表6.1"), then a title that is no statement
    (it starts with no lower-case letter and ends with no full stop). "Step 2. Open the app." is a step."""
    found = _CAPTION.match(text.strip())
    if found is None:
        return None
    word, number, stop, title = found.groups()
    if word[0].islower() or not (stop or "." in number):
        return None
    if title is None:
        return ""
    return None if title[0].islower() or re.search(r"[.!?…;:。！？；：]$", title) else title


def _table_cells(line: str) -> list[str]:
    """A row's cells, an escaped "\\|" in one a "|" again; their spaces as written, but runs of them."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [" ".join(cell.replace("\\|", "|").split()) for cell in _CELL_SEPARATOR.split(inner)]


def _table_row(line: str) -> str:
    """A row as what it is about and its values: "Small: €3.95; 25 kg" (the cells as written: they often hold
    a command, "find . -print0", whose spaces are not tidied); "不满 59 元：8 元；20 元" with the full-width
    marks of a row in Chinese or Japanese."""
    first, *rest = [cell for cell in _table_cells(line) if cell] or [""]
    colon, semicolon = ("：", "；") if _UNSPACED_RUN.search(line) else (": ", "; ")
    return f"{first}{colon}{semicolon.join(rest)}" if rest else first


def _code_and_text(text: str) -> list[tuple[bool, str]]:
    """A passage as runs of fenced code (True, its lines as written) and of the text between (False).

    A chunk can begin or end inside a code block. An unclosed fence runs to the passage's end; a passage's
    first fence that closes (code right above it, a blank line or nothing below it, no language named) ends
    code that began in the chunk before: the lines above it are code.
    """
    lines = text.split("\n")
    runs: list[tuple[bool, str]] = []
    fence = ""
    start = 0
    for i, line in enumerate(lines):
        found = FENCE.match(line)
        if found is None:
            continue
        mark, language = found.groups()
        if fence:
            if mark[0] == fence[0] and len(mark) >= len(fence) and not language:
                runs.append((True, "\n".join(lines[start:i])))
                fence, start = "", i + 1
            continue
        closes = (
            not runs
            and not language
            and i > 0
            and lines[i - 1].strip() != ""
            and (i + 1 == len(lines) or not lines[i + 1].strip())
        )
        runs.append((closes, "\n".join(lines[start:i])))
        fence, start = ("" if closes else mark), i + 1
    runs.append((bool(fence), "\n".join(lines[start:])))
    return runs


def _segments(paragraph: str) -> list[tuple[str, str, list[str]]]:
    """One paragraph as runs of lines: (kind, list marker, lines), the kind "heading", "caption", "header",
    "row", "item", "code" or "prose".

    A table row is an item that reads "a: b", so a quoted row says what it is about; the header row above
    Markdown's `|---|` line is a label. A line on its own that reads as a table's caption is a label too.
    """
    lines = paragraph.split("\n")
    if len(lines) == 1 and _caption_title(lines[0]) is not None:
        return [("caption", "", lines)]
    # Lines that each hold a " | " and are no table: commands outside a fence, or an HTML table as the loaders
    # wrote it before its rows had outer pipes. Quoted as written, one a line.
    if len(lines) > 1 and all(
        _SPACED_PIPE.search(line) and not (TABLE_RULE.match(line) or TABLE_ROW.match(line)) for line in lines
    ):
        return [("code", "", lines)]
    segments: list[tuple[str, str, list[str]]] = []
    in_table = False  # under a header and its rule: a line with a pipe is a row even without outer pipes
    for n, line in enumerate(lines):
        found = _LIST_MARKER.match(line)
        if is_table_rule(line):
            in_table = True
            if segments and segments[-1][0] == "row":
                segments[-1] = ("header", "", segments[-1][2])
            continue
        following_rule = n + 1 < len(lines) and is_table_rule(lines[n + 1])
        piped = bool(_CELL_SEPARATOR.search(line))
        if TABLE_ROW.match(line) or (piped and (in_table or following_rule)):
            segments.append(("row", "-", [line]))
            continue
        in_table = False
        if TABLE_RULE.match(line) or _HEADING_LINE.search(line):
            if not TABLE_RULE.match(line):
                segments.append(("heading", "", [_HEADING_LINE.sub("", line)]))
        elif _BARE_MARKER.fullmatch(line.strip()):
            continue  # a list item's number alone: the item was cut off where the chunk ends
        elif found:
            segments.append(("item", found.group(1), [line[found.end() :]]))
        elif segments and segments[-1][0] in ("item", "prose"):
            segments[-1][2].append(line)  # a wrapped line: the sentence or list item goes on
        else:
            segments.append(("prose", "", [line]))
    return segments


def _inline_items(marker: str, text: str) -> list[tuple[str, str]]:
    """A list item (or a line of prose, `marker` "") with the items run into it split off again: the next
    bullet after a clause's end, or the next number ("…; 7. Ausführen"), or a "1." after a colon."""
    pieces: list[tuple[str, str]] = []
    number = int(marker[:-1]) if marker[:1].isdigit() else 0
    start = 0
    for found in _INLINE_ITEM.finditer(text):
        bullet, digits = found.groups()
        if digits is not None:
            value = int(digits)
            if not (value == number + 1 and number) and not (value == 1 and text[found.start() - 1] == ":"):
                continue
            number = value
        pieces.append((marker, text[start : found.start()]))
        marker, start = bullet or f"{digits}.", found.end()
    pieces.append((marker, text[start:]))
    # An item cut off after its number ("… im-config. 2.") is no item.
    out = [(m, _BARE_MARKER.sub("", piece).strip()) for m, piece in pieces]
    return [(m, piece) for m, piece in out if piece]


def passage_units(text: str, lang: str | None = None) -> list[PassageUnit]:
    """A passage (in `lang`, its document's language) as sentences, list items, table rows and code blocks, in
    order; wrapped lines joined, markup removed (the language's spacing before punctuation kept), code as
    written. A table row a chunk's start or end cut in two is left out: a quote never starts
    in the middle of a row."""
    units: list[PassageUnit] = []
    block = -1
    last = ""
    previous = ""
    for code, run in _code_and_text(_without_cut_rows(text.replace("\r\n", "\n"))):
        if code:
            lines = textwrap.dedent(run).split("\n")
            kept = "\n".join(line.rstrip() for line in lines if line.strip())
            # Code right under a list item, no blank line between ("- Use tee:" over "$ sh -i | tee log"), is
            # that item's: the list goes on after it.
            in_item = last == "item" and previous.split("\n")[-1].strip() != ""
            if kept:
                block += 0 if in_item else 1
                last = "item" if in_item else "code"
                units.append(PassageUnit(kept, block, kind="code"))
            continue
        previous = run
        for paragraph in re.split(r"\n[ \t]*\n", plain_text(run)):
            for kind, marker, lines in _segments(paragraph):
                if kind == "code":
                    block += 1
                    last = kind
                    verbatim = textwrap.dedent("\n".join(line.rstrip() for line in lines)).strip("\n")
                    units.append(PassageUnit(verbatim, block, kind="code"))
                    continue
                if kind in ("row", "header"):
                    joined = (
                        _table_row(lines[0])
                        if kind == "row"
                        else " / ".join(filter(None, _table_cells(lines[0])))
                    )
                else:
                    joined = _unwrap(lines, lang)
                if not joined:
                    continue
                if not (kind in ("item", "row") and last == kind):
                    block += 1  # items in a row are one list, rows one table, even with blank lines between
                last = kind
                if kind in ("heading", "caption", "header"):
                    units.append(PassageUnit(joined, block, label=True, kind=kind))
                elif kind == "row":
                    units.append(PassageUnit(joined, block, marker=marker, kind="row"))
                else:
                    pieces = _inline_items(marker, joined)
                    for n, (found, piece) in enumerate(pieces):
                        if n == 1 and not marker:
                            block += 1  # the list run into a line of prose
                            last = "item"
                        if found:
                            units.append(PassageUnit(piece, block, marker=found))
                        else:
                            for sentence in _prose_sentences(piece):
                                units.append(PassageUnit(sentence, block, label=_labels(sentence, units)))
    return units


# A reference to a numbered section that a quoted title follows: "See Section 4.4. “How compatible…” for
# details.", "4.4절. “…”을 보세요" (DocBook's cross-references). Its full stop ends no sentence.
_SECTION_NUMBER_END = re.compile(r"\b\d+(?:\.\d+)+(?:절|장|項|节|章)?\.$|\b\d+(?:절|장|項|节|章)\.$")
_OPENING_QUOTE = re.compile(r"^[“「『«]")


# Abbreviations whose full stop ends no sentence, in the languages served (lower case, without their last
# full stop; a single letter, "г." or "z.", is one in any script). "125009, г. Москва, ул. Электрозаводская,
# д. 21" was cut into four "sentences" and quoted to its "ул." for "what is the address for claims?".
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "vs", "approx", "e.g", "i.e", "ca", "cf", "fig", "pp", "ext",
        "tel", "apt", "bzw", "ggf", "inkl", "evtl", "zzgl", "vgl", "sog", "u.a", "str", "ex", "env", "mme",
        "mlle", "av", "bd", "ej", "sr", "sra", "srta", "dra", "ud", "uds", "núm", "pág", "sig", "dott", "pag",
        "ул", "кв", "корп", "стр", "обл", "пер", "просп", "наб", "пос", "руб", "коп", "тыс", "млн", "млрд",
        "тел", "доб", "им", "см", "напр", "вул", "грн", "тис",
    }
)  # fmt: skip
# ... and those that abbreviate only before a number: "No. 5", "Nr. 12", "p. 3" (a letter anyway).
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "nr", "nº", "núm", "art", "abs"})
_ABBREVIATION_END = re.compile(r"(?:^|[\s(«“\"'])([^\W\d_](?:[^\W\d_]|\.)*)\.$")


def _abbreviated(sentence: str, following: str) -> bool:
    """Whether `sentence` ends with an abbreviation's full stop, not its own, before `following`; or
    `following` starts with a lower-case letter, which begins no sentence in any alphabet ("и т. д. по
    вашему выбору")."""
    if following[:1].islower():
        return True
    last = _ABBREVIATION_END.search(sentence)
    if last is None:
        return False
    word = last.group(1).lower()
    if len(word) == 1 or word in _ABBREVIATIONS:
        return True
    return word in _NUMBER_ABBREVIATIONS and following[:1].isdigit()


# A CJK sentence or clause mark: what follows it is written without a space, a Latin word too.
_CJK_MARK_END = re.compile(r"[。！？；：，、][」』”’）)]*$")


def _joint(before: str, after: str) -> str:
    """What joins two sentences of a quote: a space, none between Chinese or Japanese text, and none after a
    CJK full stop or comma ("…每次 NT$300。 iPhone 換…" had one before the Latin word)."""
    if _CJK_MARK_END.search(before) or _SPACE_IN_CJK.search(f"{before[-1:]} {after[:1]}"):
        return ""
    return " "


def _prose_sentences(text: str) -> list[str]:
    """The sentences of a line of prose (`_PROSE_SENTENCE_END`), a section number's full stop before a quoted
    title and an abbreviation's (`_abbreviated`) left inside their sentence."""
    sentences: list[str] = []
    for part in _PROSE_SENTENCE_END.split(text):
        part = part.strip()
        if not part:
            continue
        if sentences and (
            (_OPENING_QUOTE.match(part) and _SECTION_NUMBER_END.search(sentences[-1]))
            or (sentences[-1].endswith(".") and _abbreviated(sentences[-1], part))
        ):
            sentences[-1] += " " + part
        else:
            sentences.append(part)
    return sentences


def _without_cut_rows(text: str) -> str:
    """`text` less a table row cut by the chunk's start or end: a first line that ends with a cell's "|" but
    does not start with one, a last line that starts with one but does not end with one."""
    lines = text.strip("\n").split("\n")
    first, last = lines[0].strip(), lines[-1].strip()
    if re.search(r"\s\|$", first) and not first.startswith("|"):
        lines = lines[1:]
    if lines and last.startswith("|") and not TABLE_ROW.match(last) and not TABLE_RULE.match(last):
        lines = lines[:-1]
    return "\n".join(lines)


def _continued_steps(units: Sequence[PassageUnit]) -> int:
    """How many units at the passage's start are steps of a numbered list that began before it ("6. …",
    "7. …"): the chunk before holds the list's start and the line that leads into it."""
    if not units or not units[0].marker[:1].isdigit() or int(units[0].marker[:-1]) == 1:
        return 0
    number, cut = int(units[0].marker[:-1]), 0
    while cut < len(units) and units[cut].block == units[0].block and units[cut].marker[:-1] == str(number):
        number, cut = number + 1, cut + 1
    return cut


def _stem(word: str) -> str:
    """A crude stem for matching a question to sentences: "notifications" ~ "notification", "opening" ~
    "open", "shipping" ~ "ships", "yearly" ~ "year"."""
    if word.endswith("ly") and len(word) >= 6 and word[-3] not in "eilp":
        # An adjective or adverb made of a word with "-ly" ("yearly", "weekly", "hourly", "costly") is about
        # that word: cut to five letters, "yearl" matched no "$490/year". Not "-ily" ("family", "easily"),
        # "-ply" ("apply", "supply", "simply"), "-ely" ("likely", "timely", "lately") nor "-lly" ("really"),
        # whose "-ly" is no suffix or makes another word of it ("like sqlite" matched "isn't likely").
        word = word[:-2]
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # shipp(ing) ~ ship
    return word[:5]


# Words that carry no answer of their own: a sentence of the question's words and these only says the
# question back ("According to [1], you can apply for a job as a Parcelly courier through."). The words a lead
# announces the answer with are among them: SmolLM2-135M wrote "The answer is: [1] What happens if I miss the
# pickup window?", a heading behind a lead, and "answer" was the one word the question and headings lacked.
_FILLER = (
    *("according", "through", "via", "until", "because", "while", "during", "please", "well", "now"),
    *("still", "even", "already", "simply", "actually", "really", "basically", "however", "therefore"),
    *("answer", "question", "reply", "response", "information"),
)
FILLER_STEMS = frozenset(_stem(word) for word in _FILLER)

# A question's last mark, and the closing quotes and brackets after it ("…window?", "…吗？", "…window?)").
_QUESTION_END = re.compile(r"[?？؟][\"'”’)」』）]*$")


def asks(sentence: str) -> bool:
    """Whether `sentence` asks rather than states (citation marks aside): the customer asked, and a question,
    a passage's heading read out ("What happens if I miss the pickup window?") or one of the model's own,
    tells them nothing."""
    # "…window? [1]." leaves a full stop behind its marks: the sentence still asks.
    return bool(_QUESTION_END.search(strip_citation_marks(sentence).rstrip(" \t\n.")))


def stems(text: str, lang: str | None = None) -> set[str]:
    """Stems of the content words, in any alphabet; CJK runs (no spaces to split words at) as their
    character pairs, which match a question to a sentence about as well as words do.

    Words are stemmed for `lang` (a passage's language) by its stemmer (`STEMMED`), its stop words left out,
    where it has one and is not English; otherwise crudely (`_stem`), which knows English suffixes only and
    cut "borro" and "borrar" (Spanish "I delete", "to delete") to different stems: "¿cómo borro mi cuenta?"
    quoted the password sentence, not the one on deleting the account. Accents are left off first, on both
    sides, so a word typed without them still matches.
    """
    stem, stop = _word_stemmer(lang)
    text = width_folded(text)  # "ｺﾝﾋﾞﾆ" is the passage's コンビニ
    lowered = _CJK_RUN.sub(" ", text.lower())
    found = {
        stem(without_accents(w))
        for w in _UNICODE_WORD.findall(THAI_RUN.sub(" ", lowered))
        if w not in STOPWORDS and w not in stop and len(w) > 1
    }
    # Thai words as its segmenter cuts them, marks kept: a Thai vowel or tone is no accent.
    for run in THAI_RUN.findall(lowered):
        found.update(w for w in thai_words(run) if w not in THAI_STOPWORDS)
    # Traditional characters as Simplified (character by character, so a question and a sentence agree
    # whatever their neighbours): a question in one script picks sentences of a passage in the other.
    for run in _CJK_RUN.findall(to_simplified(text, words=False)):
        chars = [ch for ch in run if ch.isalnum()]
        found.update(a + b for a, b in zip(chars, chars[1:], strict=False))
    return found


@cache
def _word_stemmer(lang: str | None) -> tuple[Callable[[str], str], frozenset[str]]:
    """How `stems` stems a word of `lang`, and that language's stop words (beyond the English ones)."""
    key = language_key(lang)
    if key == "en" or key not in STEMMED:
        # English keeps the crude stem: its quotes were chosen and measured with it, and Porter would join
        # words it keeps apart for no measured gain.
        return _stem, frozenset()
    stop = LANGUAGE_STOPWORDS.get(key, frozenset())
    # "como" typed for "cómo" is as much a stop word.
    return analyzer(key).stem, stop | frozenset(without_accents(w) for w in stop)


def extract_answer(question: str, passage: Passage, max_sentences: int = 3, max_chars: int = 600) -> str:
    """The part of a passage that answers the question, quoted so that it reads as an answer.

    One to three sentences that share the most content words with the question, consecutive where they
    can be; headings, labels and captions are never quoted on their own, nor is a line that leads into a
    list, table or code the passage does not hold. When a list item matches best, the matching items are
    quoted as a list (one per line with its marker; a numbered list from the first to the last matching
    step), after the line that leads into the list; a table's rows likewise, one a line, after its header.
    Code is quoted line by line as written. Wrapped lines are joined and markup is removed. This is the
    extractive fallback for a generated answer the passages do not support.
    """
    units = passage_units(passage.text, passage.lang)
    # Short lines read as labels ("Live chat"); when the passage has nothing else, they are what it says (a
    # run of Chinese text without a full stop reads as one), as headings, captions and lead-ins are not.
    phrase = next((i for i, u in enumerate(units) if not u.kind and not u.text.endswith((":", "："))), None)
    wanted = stems(question, passage.lang)
    # A sentence about the article itself ("This article explains when you get your money back…") shares the
    # question's words and answers nothing: it is never quoted. Nor is a lead-in whose list or table is in
    # the next chunk ("Here are the packages:" over "Table 4.5."): it stops just before the answer.
    units = [replace(u, label=True) if _says_nothing_itself(u.text) else u for u in units]
    units = [replace(u, label=True) if _leads_nowhere(units, i) else u for i, u in enumerate(units)]
    # Steps whose list began in the chunk before ("6. …") are quoted only when the passage has nothing else:
    # a quote from the middle of a procedure, without what leads into it, is no answer.
    steps = _continued_steps(units)
    if any(not u.label for u in units[steps:]):
        units = [replace(u, label=True) if i < steps else u for i, u in enumerate(units)]
    unit_stems = [set() if u.label else stems(u.text, passage.lang) for u in units]
    lead = next((i for i, u in enumerate(units) if not u.label), None)
    if lead is None and phrase is not None and not _says_nothing_itself(units[phrase].text):
        units[phrase] = replace(units[phrase], label=False)
        unit_stems[phrase] = stems(units[phrase].text, passage.lang)
        lead = phrase
    if lead is None:
        return ""  # headings, captions and lead-ins only: a quote of them answers nothing
    # A passage that opens with code opens in the middle of its section (a chunk's cut): its first words
    # lead it, the code where there are none.
    lead = next((i for i, u in enumerate(units) if not u.label and u.kind != "code"), lead)
    if wanted and _titled_with(
        _topic_stems(question, passage.lang, wanted),
        passage.heading,
        stems(passage.heading, passage.lang),
        unit_stems,
    ):
        # The section is titled with the question ("How long does a claim take?"): a help center answers it
        # first, often in words the question does not use ("We decide within 10 business days"), which
        # word overlap would pass over for a later sentence that repeats "claim". A section that opens with
        # a list ("Parcelly Plus": its price, discount, cover…) is answered by the list, not by the items
        # that happen to repeat "parcel".
        if units[lead].item:
            return _quote_list(units, [0.0] * len(units), lead, max_chars)
        if units[lead].kind == "code":
            return _quote_code(units, lead, max_chars)
        return _quote_lead(units, lead, max_sentences, max_chars)
    # A question word found in many sentences of the passage says little about which one answers.
    spread = Counter(stem for found in unit_stems for stem in found & wanted)
    score = [sum(1 / spread[stem] for stem in found & wanted) for found in unit_stems]
    score = _with_their_introductions(units, unit_stems, wanted, spread, score, passage.lang)
    score = _with_what_is_asked(question, units, score)
    best = max(range(len(units)), key=lambda i: (score[i], -i))
    if score[best] == 0:
        # Nothing matches the question words: help-center passages lead with the answer.
        best = lead
    if units[best].item:
        return _quote_list(units, score, best, max_chars)
    if units[best].kind == "code":
        return _quote_code(units, best, max_chars)
    after = _follows(units, best)
    if _leads_on(units[best].text) and after is not None and units[after].item:
        return _quote_list(units, score, after, max_chars)  # the sentence that leads into a list or table
    return _quote_sentences(units, score, best, wanted, max_sentences, max_chars, passage.lang)


# What a question asks for, and what a sentence that gives it holds: a price ("how much", "多少錢",
# "сколько стоит") an amount, a time ("how long", "几天", "며칠") a number of days, hours or minutes.
# "補sim卡要多少錢" was quoted "補卡後原 SIM 卡立即失效…", the sentence after "補卡費 NT$200", which shares
# as many of its words (a Taiwanese carrier's trial).
_ASKS_PRICE = re.compile(
    r"how\s+much|\bcosts?\b|\bprices?\b|\bfees?\b|\bcharges?\b"
    r"|多少[钱錢]|几[块塊]|幾[块塊]|[费費]用|[价價]格|收[费費]|要[钱錢]|いくら|料金|얼마(?!나)|비용|요금"
    r"|сколько\s+стоит|стоимост|цен[аыу]\b|сколько\s+плат|wie\s*viel(?!\s+zeit)|kostet|preis|gebühr"
    r"|combien(?!\s+de\s+temps)|\bprix\b|tarif|co[uû]te?\b|cu[aá]nto(?!\s+(?:tarda|tiempo|dura))|precio|cuesta"
    r"|quanto(?!\s+(?:tempo|dura|ci\s+vuole))|prezzo|costa\b|custa|pre[cç]o|\btaxa\b"
    # Vietnamese, with or without marks ("goi SEN90 gia bao nhieu 1 thang", a Vietnamese telecom's trial);
    # "gia" without its mark only before "bao nhiêu" or after a package's name, as it is also a syllable of
    # "gia hạn" (renew), "tham gia" (join), "quốc gia" (country), "gia đình" (family) and Italian's "già"
    # typed plain; "cuoc" is also "cuộc gọi" (a call).
    r"|bao\s+nhi[eê]u\s+ti[eề]n|m[aấ]y\s+ti[eề]n|\bgiá\b|\bgia\s+(?:bao\s+nhi[eê]u|m[aấ]y)\b"
    r"|\b(?:g[oó]i|goi)\s+\S+\s+gia\b(?!\s+(?:h[aạ]n|đình|dinh))|\bphí\b|m[aấ]t\s+phi\b"
    r"|t[oố]n\s+phi\b|\bcước\b|\bcuoc\b(?!\s+g[oọ]i)",
    re.I,
)
_PRICE = re.compile(
    rf"[{_CURRENCY_SIGNS}]\s?\d|\d\s?[{_CURRENCY_SIGNS}]|(?:NT|R|US|HK|A|C)\$\s?\d"
    r"|\d[\d.,]*\s?(?:원|元|円|[块塊]|руб|р\.|грн|eur\b|euros?\b|usd\b|dollars?\b|reais\b|zł|chf\b|kr\b"
    # Vietnamese đồng: "70.000đ", "70.000 VND", "70k" (thousands, as prices are chatted and posted).
    r"|đ(?!\w)|vnđ\b|vnd\b|đồng\b|k\b)",
    re.I,
)
_ASKS_TIME = re.compile(
    r"how\s+long|how\s+many\s+(?:days|hours|weeks)|when\s+will"
    r"|多久|多长时间|多長時間|[几幾][天日]|[几幾]个?[小工]|何日|どのくらい|いつ(?!も)"
    r"|며칠|얼마나\s*걸|언제|сколько\s+(?:дней|времени|ждать|идет|идёт)|как\s+долго|когда|wie\s+lange|\bwann\b"
    r"|combien\s+de\s+temps|quand|cu[aá]nto\s+tiempo|cu[aá]ndo|quanto\s+tempo|quando"
    r"|bao\s+l[aâ]u|m[aấ]y\s+(?:ng[aà]y|ti[eế]ng|tu[aầ]n|th[aá]ng)|khi\s+n[aà]o|bao\s+gi[oờ]|l[uú]c\s+n[aà]o",
    re.I,
)
_DURATION = re.compile(
    r"\d[\d.,]*\s?(?:[-–~到至]\s?\d+\s?)?(?:business\s+)?(?:days?|hours?|minutes?|weeks?|months?|working\s+days?"
    # Not a date: "3月1日", "3월 1일" (a day of a month) are no durations.
    r"|[个個]?工作[天日]|(?<![月월]\d)(?<![月월]\s\d)(?<![月월]\d\d)(?<![月월]\s\d\d)(?:天|日|일)|小[时時]|分[钟鐘]|[个個]月|週間|時間|営業日"
    r"|시간|분|주|개월|дн|час|мин|недел|месяц|суток"
    r"|tage?n?\b|stunden?|minuten?|wochen?|werktage?n?|jours?|heures?|semaines?|mois\b|d[ií]as?|horas?|minutos?|semanas?"
    r"|meses|giorni|ore\b|minuti|settimane|mesi\b|dias\b"
    # Vietnamese, with or without marks: "30 ngày", "24 giờ", "2 tiếng", "5 phút", "3 tháng".
    r"|ng[aà]y\b|gi[oờ]\b|ti[eế]ng\b|ph[uú]t\b|tu[aầ]n\b|th[aá]ng\b)",
    re.I,
)


def _with_what_is_asked(question: str, units: Sequence[PassageUnit], score: Sequence[float]) -> list[float]:
    """`score` with half the best score added to each sentence that gives what `question` asks for (a price,
    a time: `_ASKS_PRICE`, `_ASKS_TIME`), where any sentence matched its words: of sentences that share
    the question's words alike, the one with the figure answers."""
    best = max(score, default=0.0)
    wanted = [
        given for asks, given in ((_ASKS_PRICE, _PRICE), (_ASKS_TIME, _DURATION)) if asks.search(question)
    ]
    if best <= 0 or not wanted:
        return list(score)
    return [
        s + best / 2 if not u.label and any(g.search(u.text) for g in wanted) else s
        for s, u in zip(score, units, strict=True)
    ]


# A heading that asks a question (an FAQ entry, "How long do I have to collect my parcel?") is the customer's
# question when it holds at least this share of the question's words and the passage has none of the others:
# they say "pick up" where it says "collect", and the answer still opens the entry ("72 hours from the Ready
# for pickup message."). A word of the question the passage does have ("card" in "How long does a refund to
# my card take?") asks for that part of it.
TITLED_QUESTION_SHARE = 0.5
# A heading that is no question titles the question with at least two of its words and this share of them.
TITLED_TASK_SHARE = 2 / 3


def quote_holding(
    question: str, passage: Passage, holds: Callable[[str], bool], max_units: int = 3, max_chars: int = 600
) -> str:
    """A quote of `passage` that `holds` accepts: its `extract_answer` where that does, else the lines that
    hold it (up to `max_units`, list items and table rows with their markers, one a line), "" where none
    does. How to reach the support team is a section's email address or phone number, which its best-matching
    sentence for "How can I contact customer support?" need not hold: "When you need a person, here is how
    to reach our support team." was quoted, and the email two lines below it never shown."""
    quote = extract_answer(question, passage, max_chars=max_chars)
    if quote and holds(quote):
        return quote
    lines = [
        unit.line for unit in passage_units(passage.text, passage.lang) if not unit.label and holds(unit.text)
    ]
    return _clip("\n".join(lines[:max_units]), max_chars) if lines else ""


def _topic_stems(question: str, lang: str | None, wanted: set[str]) -> set[str]:
    """What a heading must hold to be titled with `question` (`wanted`, its stems): in Chinese or Japanese,
    whose stems are character pairs, those of its words less the question words ("怎么", "多少"), and
    none across two words ("么申" of "怎么申请退货", which "如何申请退货" does not hold), or the steps of
    "如何申请退货" were quoted from the first one holding "退货" on, not from step 1."""
    if not _UNSPACED_RUN.search(question):
        return wanted
    return stems(" ".join(question_words(question, lang or "und")), lang) or wanted


def _titled_with(wanted: set[str], heading: str, titled: set[str], unit_stems: Sequence[set[str]]) -> bool:
    """Whether a section titled `heading` (whose stems are `titled`) is titled with the question whose content
    stems are `wanted`: it holds all of them, or, while the passage (`unit_stems`, its sentences' stems) holds
    none of the rest, it is itself a question holding `TITLED_QUESTION_SHARE` of them, or another heading
    holding `TITLED_TASK_SHARE` of them and at least two."""
    rest = wanted - titled
    if not rest:
        return True
    in_text = set().union(*unit_stems) if unit_stems else set()
    if rest & in_text:
        return False
    if heading.rstrip().endswith(("?", "？")):
        return len(wanted & titled) >= TITLED_QUESTION_SHARE * len(wanted)
    # A task's title ("Restore deleted files") holding all but the words the passage never uses ("how do I
    # restore a deleted photo"): its steps were passed over for the later sentence that repeats "restored"
    # and "deleted", and the customer got "Restored files go back to the folder…" without the steps.
    return len(wanted & titled) >= max(2, TITLED_TASK_SHARE * len(wanted))


def _quote_lead(units: Sequence[PassageUnit], lead: int, max_sentences: int, max_chars: int) -> str:
    """The sentences that open the passage's first paragraph, up to `max_sentences` and `max_chars`; when
    the last of them leads into a list ("You choose where the refund goes:"), the list with it."""
    text = units[lead].text
    last = lead
    for i, unit in enumerate(units[lead + 1 : lead + max_sentences], start=lead + 1):
        if (
            unit.block != units[lead].block
            or unit.label
            or unit.item
            or len(text) + len(unit.text) + 1 > max_chars
        ):
            break
        # No space between CJK sentences, as in `_quote_sentences`.
        joint = _joint(text, unit.text)
        text += joint + unit.text
        last = i
    # A quote that stops at the colon stops just before the answer: the whole list it leads into follows.
    return _clip(_with_its_list(text, units, last, [0.0] * len(units), max_chars), max_chars)


# A Japanese or Chinese sentence that leads into what follows it, as an English one does with a colon:
# 「代引手数料は次のとおりです。」 over its table was quoted alone, and
# 「時間帯は、次の３つからお選びいただけます。」 without its three slots.
# Only what announces what follows: not 「次の営業日」 ("the next business day"), 「1万円以下の」 ("up to").
_CJK_LEAD_IN = re.compile(
    r"(?<![0-9０-９万千百円個件歳])(?:次|以下|下記)の"
    r"(?:とおり|通り|[0-9０-９一二三四五六七八九十]+(?:つ|点|種類|項目|件)|場合|もの|方法|手順|条件|項目|内容)"
    r"|如下|下列|以下[几幾]"
)


def _leads_on(text: str) -> bool:
    """Whether a sentence leads into the list, table or code after it: it ends with a colon, or it is a
    Japanese or Chinese one that says so (`_CJK_LEAD_IN`). Asked only where one follows."""
    return text.endswith((":", "：")) or bool(_CJK_LEAD_IN.search(text))


def _follows(units: Sequence[PassageUnit], i: int) -> int | None:
    """The unit after `i`, past a table's caption and header: what a line ending at `i` leads into."""
    after = i + 1
    while after < len(units) and units[after].kind in ("caption", "header"):
        after += 1
    return after if after < len(units) else None


def _leads_nowhere(units: Sequence[PassageUnit], i: int) -> bool:
    """Whether unit `i` leads into what follows it (ends with a colon) and the passage holds nothing that
    follows: it ends there, or with a table's caption, or a heading comes next."""
    if units[i].label or units[i].kind or not units[i].text.endswith((":", "：")):
        return False
    after = _follows(units, i)
    return after is None or units[after].label


def _with_its_list(
    text: str, units: Sequence[PassageUnit], last: int, score: Sequence[float], max_chars: int
) -> str:
    """`text`, a quote ending with unit `last`, followed by the items (`_list_lines` by `score`) of the list
    or table, or by the code, that unit leads into with a colon; `text` alone when it leads into none."""
    after = _follows(units, last)
    if not _leads_on(units[last].text) or after is None:
        return text
    room = max_chars - len(text) - 1
    if units[after].kind == "code":
        return "\n".join([text, *_code_lines(units[after], room)])
    if not units[after].item:
        # A colon leads into a line of its own as well: "計算方式為：" over its formula, quoted without it.
        line = units[after]
        colon = units[last].text.endswith((":", "："))
        return (
            text + "\n" + line.text
            if colon and not (line.label or line.kind) and len(line.text) <= room
            else text
        )
    return "\n".join([text, *_list_lines(units, score, after, room)])


def _code_lines(unit: PassageUnit, room: int) -> list[str]:
    """The lines of a code block that fit in `room` characters, whole and as written (the first one always),
    and "…" when some are left out."""
    lines = unit.text.split("\n")
    kept = lines[:1]
    used = len(lines[0]) + 1
    for line in lines[1:]:
        if used + len(line) + 1 > room - 2:
            return [*kept, "…"]
        kept.append(line)
        used += len(line) + 1
    return kept


def _quote_code(units: Sequence[PassageUnit], best: int, max_chars: int) -> str:
    """A block of code, its lines as written, after the sentence that leads into it ("Run:")."""
    before = best - 1
    lines = []
    lead = before >= 0 and not (units[before].label or units[before].kind)
    if lead and _leads_on(units[before].text):
        lines.append(units[before].line)
    room = max_chars - sum(len(line) + 1 for line in lines)
    return _clip("\n".join([*lines, *_code_lines(units[best], room)]), max_chars)


def _quote_list(units: Sequence[PassageUnit], score: Sequence[float], best: int, max_chars: int) -> str:
    """The matching items of the list that holds `best`, after the line that leads into the list; a table's
    rows after the title of its caption when no line leads into the table."""
    before = _lead_in(units, best)
    lines = [_paragraph_lead(units, before, max_chars // 2)] if before is not None else []
    # Where the passage holds more than one list or table, the heading or label that introduces this one
    # tells it from the others ("Billed annually" over the yearly prices).
    intro = _introduction(units, best) if before is None and len(_lists(units)) > 1 else None
    lines += [units[intro].text] if intro is not None else []
    title = _table_title(units, best) if before is None and units[best].kind == "row" else None
    lines += [title] if title else []
    used = sum(len(line) + 1 for line in lines)
    items = _list_lines(units, score, best, max_chars - used)
    if not lines and len(items) == 1:
        # One item alone is a sentence: "- If it still fails, type the code" reads as a fragment.
        return _clip(_LIST_MARKER.sub("", items[0], count=1), max_chars)
    return _clip("\n".join([*lines, *items]), max_chars)


def _paragraph_lead(units: Sequence[PassageUnit], before: int, budget: int) -> str:
    """The line before a list, with the sentences of its paragraph before it when it does not lead into the
    list itself (no colon) and they fit in `budget`: "We remind you 24 hours before the window ends." ends
    the paragraph that opens "You have 72 hours …", the answer to "how long is my parcel kept?"."""
    text = units[before].text
    if _leads_on(text):
        return text
    start = before
    while start > 0 and units[start - 1].block == units[before].block and not units[start - 1].label:
        start -= 1
    joined = units[start].text
    for unit in units[start + 1 : before + 1]:
        # No space between CJK sentences, as in `_quote_sentences`.
        joint = _joint(joined, unit.text)
        joined += joint + unit.text
    return joined if len(joined) <= budget else text


def _lead_in(units: Sequence[PassageUnit], item: int) -> int | None:
    """The unit that leads into the list holding `item` ("You can pay with:"), if one does (not a heading);
    into a table, past its caption and header, only a line that ends with a colon does."""
    before = min(i for i, u in enumerate(units) if u.block == units[item].block) - 1
    while before >= 0 and units[before].kind in ("caption", "header"):
        before -= 1
    if before < 0 or units[before].item or units[before].kind == "code":
        return None
    colon = _leads_on(units[before].text)
    if (not units[before].label or colon) and (colon or units[item].kind != "row"):
        return before
    return None


def _introduction(units: Sequence[PassageUnit], item: int) -> int | None:
    """The line that introduces the list or table holding `item`: the line that leads into it with a colon
    (`_lead_in`, `_leads_on`; not a paragraph that merely comes before it), or else a heading or a label right
    above it (past a table's caption and header)."""
    lead = _lead_in(units, item)
    if lead is not None:
        return lead if _leads_on(units[lead].text) else None
    before = min(i for i, u in enumerate(units) if u.block == units[item].block) - 1
    while before >= 0 and units[before].kind in ("caption", "header"):
        before -= 1
    if before < 0 or not units[before].label or units[before].item:
        return None
    unit = units[before]
    return before if unit.kind == "heading" or (not unit.kind and _is_label(unit.text)) else None


def _lists(units: Sequence[PassageUnit]) -> set[int]:
    """The blocks of the passage's lists and tables."""
    return {u.block for u in units if u.item}


def _with_their_introductions(
    units: Sequence[PassageUnit],
    unit_stems: Sequence[set[str]],
    wanted: set[str],
    spread: Counter[str],
    score: Sequence[float],
    lang: str | None,
) -> list[float]:
    """`score` with each list item or table row of a passage that holds more than one list or table also
    scored by the words of the line that introduces its list (`_introduction`) it lacks itself: a row never
    carries them. "Billed monthly:" and "Billed annually:" over two tables of the same plans: "growth
    billed annually" matched both Growth rows alike, and the first, the monthly one, was quoted."""
    if len(_lists(units)) < 2:
        return list(score)
    out = list(score)
    for i, unit in enumerate(units):
        if not unit.item or unit.label:
            continue
        intro = _introduction(units, i)
        if intro is None:
            continue
        extra = (stems(units[intro].text, lang) & wanted) - unit_stems[i]
        out[i] += sum(1 / max(spread[stem], 1) for stem in extra)
    return out


def _header_at(units: Sequence[PassageUnit], row: int) -> int | None:
    """Where the header of the table holding `row` is ("Size / Price"), if the passage holds it and it is no
    longer than `SMALL_HEADER_CHARS`, or, for a table of more than two columns, than `WIDE_HEADER_CHARS`:
    such a row cannot be read without its columns' names ("Accountant: Yes; Drafts only; Yes; No; No" was
    quoted without "Role / Uses a seat / Create and send invoices / …", 87 characters)."""
    before = min(i for i, u in enumerate(units) if u.block == units[row].block) - 1
    if before < 0 or units[before].kind != "header":
        return None
    header = units[before].text
    limit = WIDE_HEADER_CHARS if _columns(header) > 2 else SMALL_HEADER_CHARS
    return before if len(header) <= limit else None


def _columns(header: str) -> int:
    return header.count(" / ") + 1


def _table_title(units: Sequence[PassageUnit], row: int) -> str | None:
    """The title of the caption of the table holding `row`, without its number ("Liste von Basis-
    Netzwerkbefehlen" for "Tabelle 5.4. Liste von Basis-Netzwerkbefehlen"), if the passage holds it."""
    before = min(i for i, u in enumerate(units) if u.block == units[row].block) - 1
    if before >= 0 and units[before].kind == "header":
        before -= 1
    return _caption_title(units[before].text) if before >= 0 and units[before].kind == "caption" else None


def _matching_items(units: Sequence[PassageUnit], score: Sequence[float], best: int) -> list[int]:
    """The items of the list holding `best` that answer the question (by `score`), in order: all of them when
    none matches or the line leading into the list with a colon matches better than the best one (the list
    as a whole answers what leads into it), numbered steps from the first to the last that matches (to the
    end when the first is the procedure's first), other items that match at least half as well as the best
    one; and the items under an item that leads into them."""
    members = [i for i, u in enumerate(units) if u.block == units[best].block and u.item and not u.label]
    if best not in members:
        return []
    top = max(score[i] for i in members)
    lead = _lead_in(units, best)
    if top == 0 or (lead is not None and score[lead] > top and units[lead].text.endswith((":", "："))):
        # The list as a whole answers what leads into it: so it does when the line leading into it speaks
        # to the question better than any item ("Para encerrar a conta, você precisa:" over four
        # conditions, of which one repeated "conta" and was quoted alone, a misleading answer).
        matching = members
    elif units[members[0]].marker[:1].isdigit():
        # Numbered steps are one procedure: from the first to the last step that speaks to the question,
        # and to its end when that is its first step (the question asks for the procedure: a Brazilian
        # trial's "cadastrar chave pix" got 3 of the 4 steps, without the one that confirms).
        steps = [i for i in members if score[i] > 0]
        last = members[-1] if steps[0] == members[0] else steps[-1]
        matching = [i for i in members if steps[0] <= i <= last]
    else:
        matching = [i for i in members if score[i] > 0 and score[i] >= top / 2]
    # An item that leads into the items under it ("- Remove (apt remove …):" over its numbered steps) brings
    # them: the chunker runs a nested list into one, and the steps are the answer.
    for i in list(matching):
        if units[i].text.endswith((":", "：")):
            numbered = units[i].marker[:1].isdigit()
            for j in members[members.index(i) + 1 :]:
                if units[j].marker[:1].isdigit() == numbered:
                    break
                matching.append(j)
    return sorted(set(matching))


# At most this many rows of a table are quoted; a two-column table's header longer than `SMALL_HEADER_CHARS`
# is left out (its rows read as "what: value" without it), a wider table's only past `WIDE_HEADER_CHARS`.
MAX_QUOTED_ROWS = 8
SMALL_HEADER_CHARS = 80
WIDE_HEADER_CHARS = 240


def _list_lines(units: Sequence[PassageUnit], score: Sequence[float], best: int, room: int) -> list[str]:
    """The items of the list holding `best` that answer the question, each with its marker; a table's rows
    (at most `MAX_QUOTED_ROWS`) after its header when that is short and the rows need it (more than one, or
    more than two columns)."""
    matching = _matching_items(units, score, best)
    if not matching:
        return []
    rows = units[best].kind == "row"
    at = _header_at(units, best) if rows else None
    header = units[at].text if at is not None else None
    room -= len(header) + 1 if header is not None else 0
    lines: list[str] = []
    used = 0
    for i in matching[:MAX_QUOTED_ROWS] if rows else matching:
        line = units[i].line
        if lines and used + len(line) + 1 > room:
            break
        lines.append(line)
        used += len(line) + 1
        # An item that leads into its own code ("- Use tee:" over "$ sh -i 2>&1 | tee log") brings it.
        code = i + 1 < len(units) and units[i + 1].kind == "code" and units[i + 1].block == units[i].block
        if code and units[i].text.endswith((":", "：")):
            lines.extend(_code_lines(units[i + 1], room - used))
            used = sum(len(kept) + 1 for kept in lines)
    if header is not None and (len(lines) > 1 or _columns(header) > 2):
        lines.insert(0, header)
    return lines


# A sentence whose first words point back at the one before ("It expires …", "You get it from …", "These
# are …"): quoted alone, the pronoun names nothing. "That" is left out: mostly a conjunction ("Check that …").
_POINTS_BACK = re.compile(r"^(?:\S+\s+){0,3}(?:it|its|this|these|those|they|them|their)\b", re.IGNORECASE)


# A quote of one sentence this short that leaves words of the question unanswered takes the next one of its
# paragraph too (`_quote_sentences`).
SHORT_SENTENCE_CHARS = 100


def _quote_sentences(
    units: Sequence[PassageUnit],
    score: Sequence[float],
    best: int,
    wanted: set[str],
    max_sentences: int,
    max_chars: int,
    lang: str,
) -> str:
    def quotable(i: int) -> bool:
        """A sentence: no label, no list item or table row, no code (quoted whole, where it fits, below)."""
        return 0 <= i < len(units) and not units[i].label and not units[i].item and units[i].kind != "code"

    chosen = [best]
    used = len(units[best].text)
    covered = wanted & stems(units[best].text, lang)
    # Grow into the neighbouring sentences of the same paragraph that also speak to the question.
    while len(chosen) < max_sentences:
        low, high = min(chosen) - 1, max(chosen) + 1
        options = [
            i
            for i in (high, low)
            if quotable(i)
            and units[i].block == units[best].block
            and score[i] > 0
            and score[i] >= score[best] / 4  # a word the whole passage shares is not enough
            and used + len(units[i].text) + 1 <= max_chars
        ]
        if not options:
            break
        pick = max(options, key=lambda i: score[i])
        chosen.append(pick)
        used += len(units[pick].text) + 1
        covered |= wanted & stems(units[pick].text, lang)
    # Then a sentence elsewhere in the passage, if it answers a part of the question the others do not; or a
    # list item, with the line that leads into its list: "Can I pay with PayPal or via SEPA?" is answered by
    # the SEPA sentence and by the "PayPal" item of the methods listed above it, which was left out before.
    # The lines a chosen sentence that leads into a list, table or code brings (`_introduced`).
    brought: dict[int, list[str]] = {}
    brought_blocks: set[int] = set()
    for i in sorted(range(len(units)), key=lambda i: (-score[i], i)):
        if sum(units[j].kind != "header" for j in chosen) >= max_sentences:
            break
        new = (wanted & stems(units[i].text, lang)) - covered
        if not new or i in chosen or not (quotable(i) or units[i].item or units[i].kind == "code"):
            continue
        if units[i].block in brought_blocks:
            continue  # an item of a list quoted whole after the line that leads into it
        led = _introduced(units, i) if quotable(i) else None
        if led is not None:
            # A line that leads into a list ("Under Settings → Data → Export you can export:") is quoted with
            # it or not at all: it was quoted over the unrelated sentence that matched best.
            lines = _introduced_lines(units, i, max_chars - used - len(units[i].line) - 1)
            cost = len(units[i].line) + 1 + sum(len(line) + 1 for line in lines)
            if used + cost <= max_chars:
                chosen.append(i)
                brought[i] = lines
                used += cost
                covered |= new
                brought_blocks.add(units[led].block)
            continue
        lead = _lead_in(units, i) if units[i].item else None
        # A table's row with more than two columns needs its header to be read ("V:6, I:113; 93").
        header = _header_at(units, i) if units[i].kind == "row" else None
        header = header if header is not None and _columns(units[header].text) > 2 else None
        # An item brings the items of its list that answer as well: "退款几天到账" took the WeChat Pay
        # line ("1 到 3 个工作日到账") and left out the bank card's ("3 到 7 个工作日到账") under it.
        items = [j for j in _matching_items(units, score, i) if j != i] if units[i].item else []
        items = items[: MAX_QUOTED_ROWS - 1] if units[i].kind == "row" else items
        added = [j for j in (lead, header, *sorted({i, *items})) if j is not None and j not in chosen]
        if used + sum(len(units[j].line) + 1 for j in added) > max_chars:
            added = [j for j in (lead, header, i) if j is not None and j not in chosen]
        cost = sum(len(units[j].line) + 1 for j in added)
        if used + cost <= max_chars:
            chosen.extend(added)
            used += cost
            covered |= new
    # One short sentence, and nothing found elsewhere, often stops just before the answer: "Der Kauf auf
    # Rechnung wird über Klarna abgewickelt." for "kann ich auf Rechnung bestellen", whose next sentence is
    # "Sie bezahlen innerhalb von 30 Tagen nach Versand."; a pharmacy's address for "horaires de la
    # pharmacie", without "Ouverte du lundi au samedi de 8 h 30 à 19 h 30.". Where it leaves words of the
    # question unanswered, the paragraph's next sentence goes with it, whatever its own words.
    after = best + 1
    if (
        len(chosen) == 1
        and covered != wanted
        and len(units[best].text) <= SHORT_SENTENCE_CHARS
        and quotable(after)
        and units[after].block == units[best].block
        and used + len(units[after].text) + 1 <= max_chars
    ):
        chosen.append(after)
    chosen.sort()
    # A line leading into a list that another sentence follows in the quote (a neighbour, the best one) brings
    # its list where it fits, and is left out where it does not (the best sentence is never left out).
    for i in chosen[:-1]:
        led = _introduced(units, i)
        if i in brought or led is None or any(units[j].block == units[led].block for j in chosen):
            continue
        lines = _introduced_lines(units, i, max_chars - used)
        if used + sum(len(line) + 1 for line in lines) <= max_chars:
            brought[i] = lines
            used += sum(len(line) + 1 for line in lines)
        elif i != best:
            chosen.remove(i)
            used -= len(units[i].text) + 1
    first = chosen[0]
    if (
        _POINTS_BACK.match(units[first].text)
        and quotable(first - 1)
        and units[first - 1].block == units[first].block
        and used + len(units[first - 1].text) + 1 <= max_chars
    ):
        # "You get it from refunds …" quoted alone for "Do you sell gift vouchers?" left "it" pointing at
        # nothing: the sentence before says what it is ("Parcelly Credit is balance on your account.").
        chosen.insert(0, first - 1)
    # A sentence that ends in a colon leads into what follows ("We reply within:"): quote that too, with
    # the lines it introduces ("1 business day for Free accounts;").
    while units[chosen[-1]].text.endswith((":", ";", "：", "；")) and quotable(chosen[-1] + 1):
        chosen.append(chosen[-1] + 1)
        if len(chosen) > max_sentences + 2:
            break
    text = "\n".join([units[chosen[0]].line, *brought.get(chosen[0], [])])
    for previous, i in zip(chosen, chosen[1:], strict=False):
        # A list item is a line of its own, with its marker; so is a sentence of another paragraph.
        same_line = units[i].block == units[previous].block and not (units[i].item or units[previous].item)
        joint = _joint(text, units[i].text)
        text += (joint if same_line else "\n") + units[i].line
        if i in brought:
            text += "\n" + "\n".join(brought[i])
    return _clip(_with_its_list(text, units, chosen[-1], score, max_chars), max_chars)


def _introduced(units: Sequence[PassageUnit], i: int) -> int | None:
    """The first item, row or code that unit `i`, a sentence ending with a colon (`_leads_on`), leads into."""
    if units[i].label or units[i].item or units[i].kind or not _leads_on(units[i].text):
        return None
    after = _follows(units, i)
    return after if after is not None and (units[after].item or units[after].kind == "code") else None


def _introduced_lines(units: Sequence[PassageUnit], i: int, room: int) -> list[str]:
    """The lines of the list, table or code that unit `i` leads into (`_introduced`), the list whole (as far
    as `room` and `MAX_QUOTED_ROWS` allow): what leads into it with a colon, it answers as a whole ("…come
    from your billing profile:" over its three steps, of which one repeated "address")."""
    after = _introduced(units, i)
    if after is None:
        return []
    if units[after].kind == "code":
        return _code_lines(units[after], room)
    return _list_lines(units, [0.0] * len(units), after, room)


# Where a text without spaces (Chinese, Japanese) may be cut: after a clause or sentence mark.
_CJK_BREAKS = "。！？；，、"


def _clip(text: str, max_chars: int) -> str:
    """`text` cut to about `max_chars` at a word (or, in CJK text, a clause) boundary, with "…"."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    space = head.rfind(" ")
    mark = max(head.rfind(ch) for ch in _CJK_BREAKS)
    if mark > space and mark >= max_chars // 2:
        cut = head[: mark + 1]
    elif _CJK_RUN.search(head[space + 1 :]):
        # A run of CJK text after the last space ("Parcelly 退款说明：…"): cut in it, not back at the space.
        cut = head
    else:
        cut = head[:space] if space > 0 else head
    return cut.rstrip(",;:，、") + "…"


_CITATION_MARK = re.compile(r"\[\d{1,3}\]")


def supports_correction(text: str, question: str, passages: Sequence[Passage]) -> bool:
    """Whether an admin's correction rests on the passages its training sample is given: it cites one of
    them, and every figure it states (those of the question aside) is in a passage it cites. Admins correct
    from what they know ("72 hours…"), usually citing nothing: such a label, under the wrong answer's
    passages, would teach the model to state facts no passage gave it."""
    if not passages:
        return False
    cited = check_citations(text, len(passages)).cited
    if not cited:
        return False
    known = figures(question).union(*(passage_figures(passages[n - 1]) for n in cited))
    return figures(strip_citation_marks(text)) <= known


def strip_citation_marks(text: str) -> str:
    return _CITATION_MARK.sub("", text)


# A verbatim run of this many words from the hidden prompt counts as a leak.
LEAK_SHINGLE_WORDS = 6


def _shingles(text: str, size: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


class LeakDetector:
    """Finds text in an answer that copies the hidden system prompt or quarantined (poisoned) passages."""

    def __init__(self, hidden_texts: Iterable[str], size: int = LEAK_SHINGLE_WORDS) -> None:
        self._size = size
        self._shingles: set[tuple[str, ...]] = set()
        for text in hidden_texts:
            self._shingles |= _shingles(text, size)

    def leaks(self, answer: str, *, allowed: Iterable[str] = ()) -> bool:
        """True when the answer repeats a run of hidden words not also present in `allowed` texts."""
        found = _shingles(answer, self._size) & self._shingles
        if not found:
            return False
        permitted: set[tuple[str, ...]] = set()
        for text in allowed:
            permitted |= _shingles(text, self._size)
        return bool(found - permitted)


# Identifier-like tokens ("ZX-CANARY-93f1", "a8f3c2d9e1"): the kind of secret a poisoned document carries.
_SECRET_LIKE = re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9_-]{5,}\b")


def secret_like_tokens(text: str) -> set[str]:
    return {m.group(0).lower() for m in _SECRET_LIKE.finditer(text)}
