"""Decides whether retrieved passages can answer a question: a logistic model over retrieval signals.

Three cheap, model-free signals are computed: the best dense cosine, whether BM25 and the dense search
agree on the top passage, and how much of the question's vocabulary the top passages cover. The model
uses the features in `FEATURES`; `python -m bot eval relevance` fits them on the labelled dev set
(balanced logistic regression) and reports leave-one-out figures for every feature subset. On the
Python FAQ dev set the best dense cosine alone generalised best (the other two added false refusals),
so `relevance()` is a calibrated probability that the question is answerable from the best cosine, and
`settings.rag.min_relevance` (default 0.5) is the refusal threshold on it: a cosine of about 0.45.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import Hit
from bot.rag.citations import content_words

SIGNAL_NAMES = ("dense_top", "agreement", "coverage")
FEATURES: tuple[str, ...] = ("dense_top",)

# Fitted with `python -m bot eval relevance --questions python-faq-dev.jsonl --source python-faq` on the
# embedded hybrid KB (68 questions, 8 unanswerable). Order: intercept, then FEATURES.
WEIGHTS: tuple[float, ...] = (-2.2, 4.94)


@dataclass(frozen=True)
class Signals:
    dense_top: float  # best cosine between the question and any retrieved passage (0 when unknown)
    agreement: float  # 1 when BM25 and dense both rank the top passage first, decaying with their ranks
    coverage: float  # share of the question's content words found in the top three passages

    def vector(self, features: Sequence[str] = FEATURES) -> tuple[float, ...]:
        return tuple(float(getattr(self, name)) for name in features)


def signals(question: str, hits: Sequence[Hit]) -> Signals:
    if not hits:
        return Signals(0.0, 0.0, 0.0)
    dense_top = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    top = hits[0]
    ranks = [r for r in (top.bm25_rank, top.dense_rank) if r is not None]
    agreement = 0.0 if len(ranks) < 2 else 1.0 / max(ranks)
    words = set(content_words(question))
    if words:
        seen: set[str] = set()
        for hit in hits[:3]:
            seen |= set(content_words(hit.chunk.heading + " " + hit.chunk.text))
        coverage = len(words & seen) / len(words)
    else:
        coverage = 0.0
    return Signals(float(dense_top), float(agreement), float(coverage))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def score(sig: Signals, weights: Sequence[float] = WEIGHTS, features: Sequence[str] = FEATURES) -> float:
    """Probability (0..1) that the passages answer the question."""
    z = weights[0] + sum(w * x for w, x in zip(weights[1:], sig.vector(features), strict=True))
    return _sigmoid(z)


def relevance(question: str, hits: Sequence[Hit], weights: Sequence[float] = WEIGHTS) -> float:
    return score(signals(question, hits), weights)

