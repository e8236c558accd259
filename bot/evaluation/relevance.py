"""The fit behind `eval relevance`: refusal-model weights from labelled questions, leave-one-out figures, the
gate's decision on each question, and the agreement of two runs' decisions (two backends, two versions)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from bot.evaluation.questions import Question
from bot.kb.analysis import question_language
from bot.kb.calibration import (
    SIGNAL_NAMES,
    Gate,
    Signals,
    kb_prior_languages,
    signals,
    translated_gate_key,
)
from bot.kb.names import unknown_names as names_missing

if TYPE_CHECKING:
    from bot.domain import Hit
    from bot.kb.base import KnowledgeBase
    from bot.kb.crosslingual import CrossLingualQuery, QueryTranslator


@dataclass(frozen=True)
class RefusalFigures:
    recall: float  # unanswerable questions refused (nan without any)
    false_refusals: float  # answerable questions refused (nan without any)

    def __str__(self) -> str:
        return f"refusal recall {self.recall:.3f}, false refusals {self.false_refusals:.3f}"


@dataclass(frozen=True)
class QuestionDecision:
    """The gate's decision on one labelled question, taken as the answer pipeline takes it: refused when the
    question names something the knowledge base lacks, or when the probability is below the threshold."""

    qid: str
    answerable: bool  # the label: False when the knowledge base does not answer it
    probability: float
    refused: bool
    unknown_names: tuple[str, ...] = ()

    @property
    def decision(self) -> Literal["answer", "refuse"]:
        return "refuse" if self.refused else "answer"

    def to_dict(self) -> dict[str, Any]:
        return {
            "qid": self.qid,
            "answerable": self.answerable,
            "decision": self.decision,
            "probability": round(self.probability, 4),
            "unknown_names": list(self.unknown_names),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionDecision:
        """One entry of `eval relevance --json`'s `questions`; raises ValueError when it is not one."""
        try:
            decision = data["decision"]
            if decision not in ("answer", "refuse") or not isinstance(data["answerable"], bool):
                raise ValueError(f"not a decision: {dict(data)!r}")
            return cls(
                qid=str(data["qid"]),
                answerable=data["answerable"],
                probability=float(data["probability"]),
                refused=decision == "refuse",
                unknown_names=tuple(str(name) for name in data.get("unknown_names", ())),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a decision: {data!r}") from exc


@dataclass(frozen=True)
class RefusalCounts:
    unanswerable: int
    unanswerable_refused: int
    answerable: int
    answerable_refused: int

    def __str__(self) -> str:
        return (
            f"unanswerable refused {self.unanswerable_refused}/{self.unanswerable}, "
            f"answerable refused {self.answerable_refused}/{self.answerable}"
        )


def decide(
    questions: Sequence[Question], collected: Sequence[Signals], gate: Gate, threshold: float
) -> list[QuestionDecision]:
    """The decision of `gate` at `threshold` on each question, from its signals (`collect_signals`)."""
    decisions = []
    for item, sig in zip(questions, collected, strict=True):
        probability = gate.probability(sig)
        decisions.append(
            QuestionDecision(
                qid=item.qid,
                answerable=item.answerable,
                probability=probability,
                refused=bool(sig.unknown_names) or probability < threshold,
                unknown_names=sig.unknown_names,
            )
        )
    return decisions


def refusal_counts(decisions: Sequence[QuestionDecision]) -> RefusalCounts:
    return RefusalCounts(
        unanswerable=sum(not d.answerable for d in decisions),
        unanswerable_refused=sum(not d.answerable and d.refused for d in decisions),
        answerable=sum(d.answerable for d in decisions),
        answerable_refused=sum(d.answerable and d.refused for d in decisions),
    )


def decisions_from_report(report: Any) -> list[QuestionDecision]:
    """The `questions` of an `eval relevance --json` report; raises ValueError when there are none."""
    items = report.get("questions") if isinstance(report, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError("not an `eval relevance --json` report: no `questions` list of decisions")
    return [QuestionDecision.from_dict(item) for item in items]


@dataclass(frozen=True)
class Disagreement:
    qid: str
    answerable: bool
    here: QuestionDecision
    there: QuestionDecision


@dataclass(frozen=True)
class Agreement:
    """Two runs' decisions on the questions both asked: this run ("here") against an earlier one ("there")."""

    compared: int  # questions in both runs
    same: int
    refused_here_only: tuple[Disagreement, ...]  # this run refuses, the other answers
    answered_here_only: tuple[Disagreement, ...]  # this run answers, the other refuses
    missing_there: tuple[str, ...]  # qids the other run did not ask
    missing_here: tuple[str, ...]  # qids only the other run asked

    def __str__(self) -> str:
        return (
            f"same decision on {self.same} of {self.compared} questions; "
            f"refused here only {len(self.refused_here_only)}, "
            f"answered here only {len(self.answered_here_only)}"
        )

    def to_dict(self) -> dict[str, Any]:
        def rows(items: Sequence[Disagreement]) -> list[dict[str, Any]]:
            return [
                {
                    "qid": d.qid,
                    "answerable": d.answerable,
                    "probability_here": round(d.here.probability, 4),
                    "probability_there": round(d.there.probability, 4),
                }
                for d in items
            ]

        return {
            "compared": self.compared,
            "same": self.same,
            "refused_here_only": rows(self.refused_here_only),
            "answered_here_only": rows(self.answered_here_only),
            "missing_there": list(self.missing_there),
            "missing_here": list(self.missing_here),
        }


def compare_decisions(here: Sequence[QuestionDecision], there: Sequence[QuestionDecision]) -> Agreement:
    """Question by question (by qid), where two runs decided alike and where not. Raises ValueError when a
    qid is labelled differently in the two runs, or repeated in one: they did not ask the same questions."""

    def by_qid(decisions: Sequence[QuestionDecision], which: str) -> dict[str, QuestionDecision]:
        found: dict[str, QuestionDecision] = {}
        for d in decisions:
            if d.qid in found:
                raise ValueError(f"qid {d.qid!r} appears twice in {which} run")
            found[d.qid] = d
        return found

    mine, theirs = by_qid(here, "this"), by_qid(there, "the other")
    same = 0
    refused: list[Disagreement] = []
    answered: list[Disagreement] = []
    for qid, d in mine.items():
        other = theirs.get(qid)
        if other is None:
            continue
        if other.answerable != d.answerable:
            raise ValueError(f"qid {qid!r} is labelled differently in the two runs")
        if d.refused == other.refused:
            same += 1
        else:
            (refused if d.refused else answered).append(Disagreement(qid, d.answerable, d, other))
    return Agreement(
        compared=sum(qid in theirs for qid in mine),
        same=same,
        refused_here_only=tuple(refused),
        answered_here_only=tuple(answered),
        missing_there=tuple(qid for qid in mine if qid not in theirs),
        missing_here=tuple(qid for qid in theirs if qid not in mine),
    )


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
    kb: KnowledgeBase,
    questions: Sequence[Question],
    top_k: int,
    *,
    unknown_names: bool = True,
    translator: QueryTranslator | None = None,
) -> tuple[list[Signals], list[int]]:
    """The retrieval signals of each question's search, and its label (1 answerable, 0 should refuse);
    with `unknown_names` (`BOT_RAG__REFUSE_UNKNOWN_NAMES`) the names the knowledge base lacks, as in
    answers. A question in a language the knowledge base is not written in is searched and judged in
    translation (`translator`), its names looked up as written, as the answer pipeline does."""
    from bot.kb.crosslingual import crosslingual_query
    from bot.kb.vocabulary import spelled

    collected: list[Signals] = []
    labels: list[int] = []
    prior = await kb_prior_languages(kb)
    for item in questions:
        language = item.lang or question_language(item.question, prior)
        crossed = await crosslingual_query(kb, translator, item.question, language)
        # Typing slips corrected as the answer pipeline corrects them (`spelled`).
        searched = crossed.text if crossed is not None else await spelled(kb, item.question, language)
        hits = await kb.search(searched, k=top_k)
        # In the language it is searched in, as the pipeline checks names in the language it answers: detected
        # alone, "kiero devolver unas zapatillas" read as Portuguese, whose word list lacks both words.
        unknown = list(await names_missing(kb, item.question, language)) if unknown_names and hits else []
        labels.append(1 if item.answerable else 0)
        _, found = await _likelier(kb, item.question, searched, crossed, hits, unknown, top_k)
        collected.append(found)
    return collected, labels


async def chosen_search(
    kb: KnowledgeBase, question: str, crossed: CrossLingualQuery | None, top_k: int = 5
) -> str:
    """What the answer pipeline searches for `question`: its translation (`crossed`), or the question as
    written where it is not translated, or where it is also searched as written (`alongside`) and the gate
    finds that search likelier to answer."""
    if crossed is None:
        return question
    if not crossed.alongside:
        return crossed.text
    hits = await kb.search(crossed.text, k=top_k)
    chosen, _ = await _likelier(kb, question, crossed.text, crossed, hits, [], top_k)
    return chosen


async def _likelier(
    kb: KnowledgeBase,
    question: str,
    searched: str,
    crossed: CrossLingualQuery | None,
    hits: Sequence[Hit],
    unknown: Sequence[str],
    top_k: int,
) -> tuple[str, Signals]:
    """The searched text and the signals the pipeline judges: `hits`, of `searched` (the translation when
    `crossed`), and where a translated question is also searched as written (`alongside`), the search of
    the two the gate finds likelier to answer."""
    found = await _judged(kb, searched, hits, crossed, unknown)
    if crossed is None or not crossed.alongside:
        return searched, found
    own = await _judged(kb, question, await kb.search(question, k=top_k), None, unknown)
    gate = (await kb.calibration()).gate
    return (question, own) if gate.probability(own) >= gate.probability(found) else (searched, found)


async def _judged(
    kb: KnowledgeBase,
    searched: str,
    hits: Sequence[Hit],
    crossed: CrossLingualQuery | None,
    unknown: Sequence[str],
) -> Signals:
    """The gate's signals of one search: a translation's judged by the gate the reload fitted for
    translations, where it fitted one (as the pipeline judges it)."""
    if crossed is None:
        return signals(searched, hits, unknown_names=unknown)
    found = signals(searched, hits, crossed.target, unknown_names=unknown)
    key = translated_gate_key(crossed.source, crossed.target)
    gates = (await kb.calibration()).gate.languages
    return replace(found, lang=key) if key in gates else found


def fit_relevance(
    collected: Sequence[Signals], labels: Sequence[int], threshold: float, in_use: Gate
) -> RelevanceFit:
    """Fit every growing prefix of the signals (and the best cosine with agreement), refusing below
    `threshold`; `in_use` is the gate the knowledge base's reload fitted, judged on the same questions."""

    def figures(predict: Sequence[float]) -> RefusalFigures:
        # As `decide`: a question naming something the knowledge base lacks is refused at any threshold.
        refuse = [bool(sig.unknown_names) or p < threshold for p, sig in zip(predict, collected, strict=True)]
        unans = [r for r, y in zip(refuse, labels, strict=True) if y == 0]
        ans = [r for r, y in zip(refuse, labels, strict=True) if y == 1]
        return RefusalFigures(
            recall=sum(unans) / len(unans) if unans else math.nan,
            false_refusals=sum(ans) / len(ans) if ans else math.nan,
        )

    names = SIGNAL_NAMES
    subsets = [names[: i + 1] for i in range(len(names))] + [(names[0], names[2])]
    # Leave-one-out needs both classes in every fold: two of each at least. Fewer, and only the gate in
    # use is judged (a file of answerable questions alone is a fair check of false refusals).
    if min(list(labels).count(0), list(labels).count(1)) < MIN_PER_CLASS:
        subsets = []
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


MIN_PER_CLASS = 2


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
