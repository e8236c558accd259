"""The answerability score: signals from retrieval, a logistic model, and its fitting."""

from __future__ import annotations

import pytest

from bot.domain import Hit
from bot.evaluation.relevance import fit_logistic
from bot.rag.relevance import Signals, relevance, score, signals
from tests.fakes import make_chunk


def hit(text: str, rank: int, dense: float, bm25_rank: int | None, dense_rank: int | None) -> Hit:
    chunk = make_chunk("doc.md", "Heading", text, position=rank)
    return Hit(
        chunk=chunk,
        score=1.0 / rank,
        rank=rank,
        bm25_rank=bm25_rank,
        dense_rank=dense_rank,
        dense_score=dense,
    )


def test_signals_from_hits() -> None:
    hits = [hit("refunds take five days", 1, 0.8, 1, 2), hit("shipping", 2, 0.5, 2, 1)]
    sig = signals("how long do refunds take", hits)
    assert sig.dense_top == pytest.approx(0.8)
    assert sig.agreement == pytest.approx(0.5)
    assert sig.coverage == pytest.approx(2 / 3)  # "long" is missing; "how"/"do" are stopwords


def test_no_hits_scores_low() -> None:
    assert signals("anything", []) == Signals(0.0, 0.0, 0.0)
    assert relevance("anything", []) < 0.5


def test_score_in_use_rises_with_the_best_cosine() -> None:
    assert score(Signals(0.7, 0.2, 0.3)) > 0.5 > score(Signals(0.3, 0.2, 0.3))
    assert score(Signals(0.6, 0.0, 0.0)) > score(Signals(0.5, 0.0, 0.0))


def test_score_with_other_features() -> None:
    features = ("dense_top", "agreement", "coverage")
    weights = (-3.0, 2.0, 2.0, 2.0)
    base = Signals(0.4, 0.2, 0.3)
    assert score(Signals(0.4, 1.0, 0.3), weights, features) > score(base, weights, features)
    assert score(Signals(0.4, 0.2, 0.9), weights, features) > score(base, weights, features)


def test_fit_separates_a_separable_set() -> None:
    features = ("dense_top", "agreement", "coverage")
    signals_ = [
        Signals(0.2, 0.0, 0.1),
        Signals(0.3, 0.1, 0.2),
        Signals(0.8, 1.0, 0.9),
        Signals(0.7, 0.5, 0.8),
    ]
    weights = fit_logistic([s.vector(features) for s in signals_], [0, 0, 1, 1])
    assert score(signals_[0], weights, features) < 0.5 < score(signals_[2], weights, features)


def test_fit_balances_rare_negatives() -> None:
    # Nine answerable at high cosine, one unanswerable low: the boundary still falls between them.
    rows = [(0.8,)] * 9 + [(0.2,)]
    weights = fit_logistic(rows, [1] * 9 + [0])
    boundary = -weights[0] / weights[1]
    assert 0.3 < boundary < 0.7


def test_fit_rejects_mismatched_input() -> None:
    with pytest.raises(ValueError, match="labels"):
        fit_logistic([(1.0, 0.0, 0.0)], [])
