"""Reciprocal Rank Fusion, shared by both backends so hybrid results mean the same everywhere."""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.kb.base import Chunk, Hit, SearchMode

RRF_K = 60

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Fused(Generic[K]):
    key: K
    score: float
    bm25_rank: int | None
    dense_rank: int | None
    bm25_score: float | None
    dense_score: float | None


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
    scores: dict[K, float] = {}
    bm25_ranks: dict[K, tuple[int, float]] = {}
    dense_ranks: dict[K, tuple[int, float]] = {}
    order: dict[K, int] = {}
    for rank, (key, score) in enumerate(dense, start=1):
        if key in dense_ranks:
            continue
        dense_ranks[key] = (rank, score)
        scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
        order.setdefault(key, len(order))
    for rank, (key, score) in enumerate(bm25, start=1):
        if key in bm25_ranks:
            continue
        bm25_ranks[key] = (rank, score)
        scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
        order.setdefault(key, len(order))
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
    """Lower-cased distinct words of a user query without stop words, in order, capped in number.

    Both backends search these as plain terms; no user text is ever parsed as query syntax.
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


def fuse_hits(
    chunks: Sequence[Chunk],
    bm25: Sequence[tuple[int, float]],
    dense: Sequence[tuple[int, float]],
    k: int,
    mode: SearchMode,
    cosine: Mapping[int, float] | None = None,
) -> list[Hit]:
    """Turn ranked (row, score) lists into hits for `mode`; hybrid fuses whole sections by RRF.

    Both lists must already be collapsed to one chunk per section. A section found by both sides is
    represented by the chunk dense retrieval preferred. `cosine` gives the query similarity of rows
    whose dense rank is unknown, so every hit can carry it.
    """
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

    def key_of(row: int) -> tuple[str, tuple[str, ...]]:
        return chunks[row].source, chunks[row].heading_path

    representative: dict[tuple[str, tuple[str, ...]], int] = {}
    for row, _ in [*dense, *bm25]:
        representative.setdefault(key_of(row), row)
    fused = rrf(
        [(key_of(row), score) for row, score in bm25],
        [(key_of(row), score) for row, score in dense],
        k=RRF_K,
        limit=k,
    )
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
