"""Hybrid fusion shared by both backends (normalised score fusion by default, RRF on request)."""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeVar, get_args

from bot.domain import Chunk, Hit
from bot.kb.base import SearchMode

# Candidates each retriever contributes to the fusion: deep enough that a chunk ranked well by one side
# and poorly by the other still gets fused.
FUSION_DEPTH = 50

RRF_K = 60
FusionMethod = Literal["convex", "rrf"]
FUSION_METHODS: tuple[FusionMethod, ...] = get_args(FusionMethod)
# Convex score fusion keeps the score gaps RRF throws away (Bruch et al. 2023, "An Analysis of Fusion
# Functions for Hybrid Retrieval"). Measured on the Python FAQ dev set and the Parcelly questions with the
# embedded backend: it beats RRF (k=60) and both single lists on MRR on both sets; see the README table.
DEFAULT_FUSION: FusionMethod = "convex"
# The dense share of the convex score: the middle of the 0.6-0.8 range that beat both single lists on
# both labelled sets in a coarse grid (0.3 to 0.8 in steps of 0.1); not tuned finer.
DENSE_WEIGHT = 0.7

# An article's introduction (its text under the title, before the first section: "If you are not happy with
# your order, you can return it. Here is how.") names the article's subject, so it ranks high for short
# questions about that subject, yet rarely answers them. Ranked above one of its own sections among the next
# this many hybrid hits, it gives that section its place (and score) and follows it. Measured 2026-12-06
# (hybrid hit@1 / hit@5 / MRR, before → after): sample help center 0.750 / 0.977 / 0.848 → 0.773 / 0.977 /
# 0.863, its customer wording MRR 0.552 → 0.556, a trial English meal-kit help center (Zendesk, Intercom and
# HelpScout pages) 0.629 / 0.914 / 0.742 → 0.657 / 0.943 / 0.769, a trial Spanish shop 0.636 / 0.909 / 0.752
# → 0.667 / 0.909 / 0.776, a trial Chinese shop MRR 0.669 → 0.676; English Debian Reference unchanged. Any
# parent section instead of the introduction only (a chapter's numbered section above its subsections) lost
# two English Debian Reference questions at rank 1, whose parent sections are the answer.
INTRODUCTION_WINDOW = 5

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Fused(Generic[K]):
    key: K
    score: float
    bm25_rank: int | None
    dense_rank: int | None
    bm25_score: float | None
    dense_score: float | None


def _ranks(items: Sequence[tuple[K, float]]) -> dict[K, tuple[int, float]]:
    """1-based rank and score of each key's first appearance in a best-first list."""
    out: dict[K, tuple[int, float]] = {}
    for rank, (key, score) in enumerate(items, start=1):
        out.setdefault(key, (rank, score))
    return out


def _ranked(
    scores: Mapping[K, float],
    order: Mapping[K, int],
    bm25_ranks: Mapping[K, tuple[int, float]],
    dense_ranks: Mapping[K, tuple[int, float]],
    limit: int | None,
) -> list[Fused[K]]:
    ranked = sorted(scores, key=lambda key: (-scores[key], order[key]))
    if limit is not None:
        ranked = ranked[:limit]
    out: list[Fused[K]] = []
    for key in ranked:
        b, d = bm25_ranks.get(key), dense_ranks.get(key)
        out.append(
            Fused(
                key=key,
                score=scores[key],
                bm25_rank=b[0] if b else None,
                dense_rank=d[0] if d else None,
                bm25_score=b[1] if b else None,
                dense_score=d[1] if d else None,
            )
        )
    return out


def _first_seen(*lists: Sequence[tuple[K, float]]) -> dict[K, int]:
    order: dict[K, int] = {}
    for items in lists:
        for key, _ in items:
            order.setdefault(key, len(order))
    return order


def rrf(
    bm25: Sequence[tuple[K, float]],
    dense: Sequence[tuple[K, float]],
    *,
    k: int = RRF_K,
    limit: int | None = None,
) -> list[Fused[K]]:
    """Fuse two best-first ranked lists of (key, score): score = sum of 1 / (k + rank), rank 1-based.

    Ties keep the order of first appearance in the dense list, then the BM25 list, so results are stable.
    """
    bm25_ranks, dense_ranks = _ranks(bm25), _ranks(dense)
    scores: dict[K, float] = {}
    for ranks in (dense_ranks, bm25_ranks):
        for key, (rank, _) in ranks.items():
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return _ranked(scores, _first_seen(dense, bm25), bm25_ranks, dense_ranks, limit)


def convex(
    bm25: Sequence[tuple[K, float]],
    dense: Sequence[tuple[K, float]],
    *,
    dense_weight: float = DENSE_WEIGHT,
    cosine: Mapping[K, float] | None = None,
    limit: int | None = None,
) -> list[Fused[K]]:
    """Fuse by a convex combination of normalised scores: w * cos / max cos + (1 - w) * bm25 / max bm25.

    This is theoretical-min-max normalisation: each score is scaled between its list's floor and the best
    score the query got, so a query's strong match on one side keeps its lead. The floors are 0 for both:
    BM25 cannot go below it, and a cosine at or below 0 carries no evidence with sentence embedders
    (unrelated texts sit near 0), so negative cosines are clamped. Unlike min-max over the candidates, the
    result does not depend on how deep either list was read. A key missing from the BM25 list scores 0
    there; one missing from the dense list uses `cosine[key]` when known, else 0. Ties keep the order of
    first appearance (dense, then BM25), like `rrf`.
    """
    if not 0.0 <= dense_weight <= 1.0:
        raise ValueError(f"dense_weight must be between 0 and 1 (got {dense_weight})")
    bm25_ranks, dense_ranks = _ranks(bm25), _ranks(dense)
    cosine = cosine or {}
    order = _first_seen(dense, bm25)
    best_bm25 = max((score for _, score in bm25_ranks.values()), default=0.0)
    best_cos = max((score for _, score in dense_ranks.values()), default=0.0)
    scores: dict[K, float] = {}
    for key in order:
        d = dense_ranks.get(key)
        cos = d[1] if d else cosine.get(key, 0.0)
        b = bm25_ranks.get(key)
        dense_part = max(0.0, cos) / best_cos if best_cos > 0 else 0.0
        bm25_part = max(0.0, b[1]) / best_bm25 if b and best_bm25 > 0 else 0.0
        scores[key] = dense_weight * dense_part + (1.0 - dense_weight) * bm25_part
    return _ranked(scores, order, bm25_ranks, dense_ranks, limit)


# A small English stop list: keeps BM25 on the words that carry the question, like ES's english analyzer.
_STOPWORD_LINES = (
    "a about above after again against all am an and any are as at be because been before being",
    "below between both but by can cannot could did do does doing down during each few for from",
    "further had has have having he her here hers herself him himself his how i if in into is it its",
    "itself me more most my myself no nor not of off on once only or other ought our ours ourselves",
    "out over own same she should so some such than that the their theirs them themselves then there",
    "these they this those through to too under until up very was we were what when where which",
    "while who whom why with would you your yours yourself yourselves hi hello hey thanks please",
    "just s t m d ll re ve",
)
STOPWORDS = frozenset(word for line in _STOPWORD_LINES for word in line.split())
_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 32


def query_terms(query: str) -> list[str]:
    """Lower-cased distinct English words of a user query without stop words, in order, capped in number.

    Search itself analyses queries per language (`bot.kb.analysis.query_terms`); this plain English form
    is kept for the retrieval benchmark's naive baseline.
    """
    seen: dict[str, None] = {}
    for word in _TOKEN.findall(query.lower()):
        if word in STOPWORDS or word in seen:
            continue
        seen[word] = None
        if len(seen) >= MAX_QUERY_TERMS:
            break
    return list(seen)


def collapse_sections(
    ranked: Sequence[tuple[int, float]], sections: Sequence[Hashable]
) -> list[tuple[int, float]]:
    """Keep only the best-ranked chunk of each section, so one long section cannot fill the results."""
    seen: set[Hashable] = set()
    out: list[tuple[int, float]] = []
    for row, score in ranked:
        key = sections[row]
        if key in seen:
            continue
        seen.add(key)
        out.append((row, score))
    return out


SectionKey = tuple[str, tuple[str, ...]]


def sections_before_introductions(fused: Sequence[Fused[SectionKey]], depth: int) -> list[Fused[SectionKey]]:
    """`fused` (keyed by source and heading path) with each article introduction among its first `depth`
    that ranks above one of its own sections within `INTRODUCTION_WINDOW` hits moved right behind the best
    of them, which takes its place and score."""
    out = list(fused)
    moved: set[SectionKey] = set()
    i = 0
    while i < min(len(out), depth):
        key = out[i].key
        source, path = key
        # An introduction's heading path is its article's title alone (or nothing, untitled).
        if len(path) <= 1 and key not in moved:
            for j in range(i + 1, min(len(out), i + 1 + INTRODUCTION_WINDOW)):
                other_source, other_path = out[j].key
                if other_source == source and len(other_path) > len(path) and other_path[: len(path)] == path:
                    section = out.pop(j)
                    moved.add(key)
                    out.insert(i, replace(section, score=out[i].score))
                    break
        i += 1
    return out


def fuse_hits(
    chunks: Sequence[Chunk],
    bm25: Sequence[tuple[int, float]],
    dense: Sequence[tuple[int, float]],
    k: int,
    mode: SearchMode,
    cosine: Mapping[int, float] | None = None,
    fusion: FusionMethod = DEFAULT_FUSION,
    dense_weight: float = DENSE_WEIGHT,
) -> list[Hit]:
    """Turn ranked (row, score) lists into hits for `mode`; hybrid fuses whole sections by `fusion`.

    Both lists must already be collapsed to one chunk per section. A section found by both sides is
    represented by the chunk dense retrieval preferred. `cosine` gives the query similarity of rows
    whose dense rank is unknown, so every hit can carry it (and convex fusion can use it).
    """
    if fusion not in FUSION_METHODS:
        raise ValueError(f"unknown fusion {fusion!r}; use {' or '.join(FUSION_METHODS)}")
    cosine = cosine or {}
    if mode == "bm25":
        return [
            Hit(chunk=chunks[i], score=s, rank=r, bm25_rank=r, bm25_score=s, dense_score=cosine.get(i))
            for r, (i, s) in enumerate(bm25[:k], start=1)
        ]
    if mode == "dense":
        return [
            Hit(chunk=chunks[i], score=s, rank=r, dense_rank=r, dense_score=s)
            for r, (i, s) in enumerate(dense[:k], start=1)
        ]

    def key_of(row: int) -> SectionKey:
        return chunks[row].source, chunks[row].heading_path

    # A section both sides found is shown by the chunk the side that weighs more preferred: in a language
    # the embedder reads poorly (Japanese with the English MiniLM, dense weight 0.39) its choice was about
    # random, and 「会員ランクってなに？」 quoted a points chunk of the section BM25 found by its rank table.
    representative: dict[SectionKey, int] = {}
    for row, _ in [*dense, *bm25] if dense_weight >= 0.5 or fusion == "rrf" else [*bm25, *dense]:
        representative.setdefault(key_of(row), row)
    bm25_keyed = [(key_of(row), score) for row, score in bm25]
    dense_keyed = [(key_of(row), score) for row, score in dense]
    if fusion == "rrf":
        fused = rrf(bm25_keyed, dense_keyed, k=RRF_K)
    else:
        known = {key: cosine[row] for key, row in representative.items() if row in cosine}
        fused = convex(bm25_keyed, dense_keyed, dense_weight=dense_weight, cosine=known)
    fused = sections_before_introductions(fused, k)[:k]
    hits = []
    for rank, item in enumerate(fused, start=1):
        row = representative[item.key]
        dense_score = item.dense_score if item.dense_score is not None else cosine.get(row)
        hits.append(
            Hit(
                chunk=chunks[row],
                score=item.score,
                rank=rank,
                bm25_rank=item.bm25_rank,
                dense_rank=item.dense_rank,
                dense_score=dense_score,
                bm25_score=item.bm25_score,
            )
        )
    return hits
