"""Checks on the model's output done in code: citations, links, and leaks of the prompt or hidden data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.rag.prompting import Passage

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


def check_citations(text: str, n_passages: int) -> CitationCheck:
    """Keep only `[n]` with 1 ≤ n ≤ n_passages; drop the rest from the text."""
    cited: list[int] = []
    invalid: list[int] = []

    def replace(match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1))]
        good = [n for n in numbers if 1 <= n <= n_passages]
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
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def overlap_share(answer: str, passage: Passage) -> float:
    """Share of the answer's content words that appear in the passage (heading included)."""
    words = set(content_words(answer))
    if not words:
        return 0.0
    return len(words & set(content_words(passage.heading + " " + passage.text))) / len(words)


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


# Emphasis and code marks of Markdown/RST sources: noise in a quoted answer shown as plain or HTML text.
_MARKUP = re.compile(r"\*\*|__|`+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n{2,}")


def extract_answer(question: str, passage: Passage, max_chars: int = 420) -> str:
    """The passage's sentences that best match the question, in document order, within `max_chars`.

    This is the extractive fallback for a generated answer the passages do not support: a verbatim quote of
    the best-ranked passage is always grounded, where a small model's paraphrase may not be.
    """
    plain = _MARKUP.sub("", passage.text.strip())
    sentences = [s.strip() for s in _SENTENCE_END.split(plain) if s and s.strip()]
    if not sentences:
        return ""
    wanted = set(content_words(question))
    scored = sorted(
        range(len(sentences)),
        key=lambda i: (-len(wanted & set(content_words(sentences[i]))), i),
    )
    chosen: list[int] = []
    used = 0
    for i in scored:
        length = len(sentences[i]) + 1
        if chosen and used + length > max_chars:
            continue
        chosen.append(i)
        used += length
        if used >= max_chars * 0.6:
            break
    text = " ".join(sentences[i] for i in sorted(chosen))
    if len(text) > max_chars:
        cut = text[:max_chars].rsplit(" ", 1)[0]
        text = cut.rstrip(",;:") + "…"
    return text


_CITATION_MARK = re.compile(r"\[\d{1,3}\]")


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
