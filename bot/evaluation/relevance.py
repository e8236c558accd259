"""The fit behind `eval relevance`: refusal-model weights from labelled questions, leave-one-out figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.evaluation.questions import Question
from bot.kb.analysis import named_words
from bot.kb.calibration import SIGNAL_NAMES, Gate, Signals, signals

if TYPE_CHECKING:
    from bot.kb.base import KnowledgeBase


@dataclass(frozen=True)
class RefusalFigures:
    recall: float  # unanswerable questions refused (nan without any)
    false_refusals: float  # answerable questions refused (nan without any)

    def __str__(self) -> str:
        return f"refusal recall {self.recall:.3f}, false refusals {self.false_refusals:.3f}"


@dataclass(frozen=True)
class SubsetFit:
    features: tuple[str, ...]
    weights: tuple[float, ...]  # fitted on every question: intercept, then one per feature
    leave_one_out: RefusalFigures  # each question scored by weights fitted without it


@dataclass(frozen=True)
class RelevanceFit:
    questions: int
    unanswerable: int
    threshold: float
    subsets: tuple[SubsetFit, ...]
    in_use: RefusalFigures  # the gate the reload fitted, on this set


async def collect_signals(
    kb: KnowledgeBase, questions: Sequence[Question], top_k: int, *, unknown_names: bool = True
) -> tuple[list[Signals], list[int]]:
    """The retrieval signals of each question's search, and its label (1 answerable, 0 should refuse);
    with `unknown_names` (`BOT_RAG__REFUSE_UNKNOWN_NAMES`) the names the knowledge base lacks, as in
    answers."""
    collected: list[Signals] = []
    labels: list[int] = []
    for item in questions:
        hits = await kb.search(item.question, k=top_k)
        names = named_words(item.question) if unknown_names else []
        missing = await kb.missing_words(names) if names and hits else frozenset()
        unknown = [name for name in names if name in missing]
        collected.append(signals(item.question, hits, unknown_names=unknown))
        labels.append(1 if item.answerable else 0)
    return collected, labels


def fit_relevance(
    collected: Sequence[Signals], labels: Sequence[int], threshold: float, in_use: Gate
) -> RelevanceFit:
    """Fit every growing prefix of the signals (and the best cosine with agreement), refusing below
    `threshold`; `in_use` is the gate the knowledge base's reload fitted, judged on the same questions."""

    def figures(predict: Sequence[float]) -> RefusalFigures:
        refuse = [p < threshold for p in predict]
        unans = [r for r, y in zip(refuse, labels, strict=True) if y == 0]
        ans = [r for r, y in zip(refuse, labels, strict=True) if y == 1]
        return RefusalFigures(
            recall=sum(unans) / len(unans) if unans else math.nan,
            false_refusals=sum(ans) / len(ans) if ans else math.nan,
        )

    names = SIGNAL_NAMES
    subsets = [names[: i + 1] for i in range(len(names))] + [(names[0], names[2])]
    fits = []
    for features in subsets:
        rows = [sig.vector(features) for sig in collected]
        fitted = fit_logistic(rows, labels)
        loo = []
        for i in range(len(rows)):
            weights = fit_logistic([*rows[:i], *rows[i + 1 :]], [*labels[:i], *labels[i + 1 :]])
            loo.append(Gate(tuple(features), weights).probability(collected[i]))
        fits.append(SubsetFit(features=tuple(features), weights=fitted, leave_one_out=figures(loo)))
    return RelevanceFit(
        questions=len(labels),
        unanswerable=list(labels).count(0),
        threshold=threshold,
        subsets=tuple(fits),
        in_use=figures([in_use.probability(sig) for sig in collected]),
    )


def fit_logistic(
    rows: Sequence[Sequence[float]],
    labels: Sequence[int],
    *,
    l2: float = 0.01,
    iterations: int = 50,
) -> tuple[float, ...]:
    """Logistic regression by Newton's method (IRLS), L2 on the weights, classes weighted to balance.

    Balancing matters: the dev set has few unanswerable questions, and unweighted fitting would push the
    boundary towards them, refusing too little.
    """
    import numpy as np

    if not rows or len(rows) != len(labels):
        raise ValueError("need as many labels as rows, and at least one row")
    x = np.hstack([np.ones((len(rows), 1)), np.asarray(rows, dtype=np.float64)])
    y = np.asarray(labels, dtype=np.float64)
    positives = max(1.0, float(y.sum()))
    negatives = max(1.0, float(len(y) - y.sum()))
    sample_weight = np.where(y == 1, len(y) / (2 * positives), len(y) / (2 * negatives))
    ridge = np.eye(x.shape[1]) * l2
    ridge[0, 0] = 0.0  # the intercept is not shrunk
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (sample_weight * (p - y)) / len(y) + ridge @ w
        hessian = (x * (sample_weight * p * (1 - p))[:, None]).T @ x / len(y) + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return tuple(round(float(v), 3) for v in w)
