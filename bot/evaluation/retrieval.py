"""Retrieval quality per search mode on labelled questions: hit@1, hit@5 and MRR@k, with the misses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.evaluation.questions import Question
from bot.evaluation.scoring import gold_rank
from bot.metrics import percentile

if TYPE_CHECKING:
    from bot.kb.base import Embedder, SearchMode, VectorSearchKB

MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class Miss:
    """An answerable question whose gold section was not the first hit."""

    qid: str
    rank: int | None  # None: not within the top k
    question: str
    expected: str
    top: str | None


@dataclass(frozen=True)
class ModeScores:
    hit1: float
    hit5: float
    mrr: float
    misses: tuple[Miss, ...] = ()


@dataclass(frozen=True)
class RetrievalEval:
    questions: int
    answerable: int
    modes: dict[str, ModeScores]
    search_ms_p50: float


async def evaluate_retrieval(
    kb: VectorSearchKB, embedder: Embedder, questions: Sequence[Question], k: int = 10
) -> RetrievalEval:
    """hit@1, hit@5 and MRR@k of each mode over the answerable questions; misses listed per mode.

    Each question is embedded once and searched with that vector in every mode, so the modes differ only
    in how they rank.
    """
    answerable = [q for q in questions if q.answerable]
    texts = [q.question for q in answerable]
    vectors = await asyncio.to_thread(embedder.embed, texts) if answerable else None
    modes: dict[str, ModeScores] = {}
    timings: list[float] = []
    for mode in MODES:
        hit1 = hit5 = 0
        reciprocal = 0.0
        misses = []
        for row, q in enumerate(answerable):
            started = time.perf_counter()
            hits = await kb.search_vector(q.question, vectors[row] if vectors is not None else None, k, mode)
            timings.append((time.perf_counter() - started) * 1000)
            rank = gold_rank(hits, q)
            if rank is not None:
                reciprocal += 1.0 / rank
                hit1 += rank == 1
                hit5 += rank <= 5
            if rank != 1:
                misses.append(
                    Miss(
                        qid=q.qid,
                        rank=rank,
                        question=q.question,
                        expected=q.expected,
                        top=f"{hits[0].chunk.source} :: {hits[0].chunk.heading}" if hits else None,
                    )
                )
        n = max(1, len(answerable))
        modes[mode] = ModeScores(hit1=hit1 / n, hit5=hit5 / n, mrr=reciprocal / n, misses=tuple(misses))
    return RetrievalEval(
        questions=len(questions),
        answerable=len(answerable),
        modes=modes,
        search_ms_p50=percentile(timings, 50) or 0.0,
    )
