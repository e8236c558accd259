"""The answer pipeline on labelled questions: refusal precision/recall, citation accuracy and timings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain import Answer
from bot.evaluation.questions import Question
from bot.evaluation.scoring import gold_match
from bot.metrics import percentile

TIMINGS = ("retrieval_ms", "ttft_ms", "total_ms")


def cites_gold(question: Question, answer: Answer) -> bool:
    """Whether the answer cites the gold section: a cited source by its file and heading, or a cited passage
    (the `[n]`-th hit given to the model) by those or by the anchor in its text."""
    cited = [answer.hits[n - 1].chunk for n in answer.citations if 0 < n <= len(answer.hits)]
    return any(gold_match(s, question) for s in answer.sources) or any(gold_match(c, question) for c in cited)


def answers_report(rows: Sequence[tuple[Question, Answer]]) -> dict[str, Any]:
    """The `eval answers` report (its JSON shape) for each question and the pipeline's answer to it.

    A question without a gold section should be refused. Citation accuracy counts answered, answerable
    questions whose gold section is among the cited sources (see `cites_gold`). `languages` holds the
    quality figures again for each language label of the questions ("und" when unlabelled; `eval answers`
    labels an unlabelled question with the language it was answered in).
    """
    report = _quality(rows)
    by_language: dict[str, list[tuple[Question, Answer]]] = {}
    for question, answer in rows:
        by_language.setdefault(question.lang or "und", []).append((question, answer))
    report["languages"] = {
        lang: {key: value for key, value in _quality(part).items() if key in LANGUAGE_FIGURES}
        for lang, part in sorted(by_language.items(), key=lambda item: -len(item[1]))
    }
    return report


LANGUAGE_FIGURES = (
    "questions",
    "refusal_recall",
    "false_refusal_rate",
    "citation_accuracy",
    "gold_shown",
    "unsure",
    "outcomes",
)


def _quality(rows: Sequence[tuple[Question, Answer]]) -> dict[str, Any]:
    unanswerable = [(q, a) for q, a in rows if not q.answerable]
    answerable = [(q, a) for q, a in rows if q.answerable]
    refused_unanswerable = sum(1 for _, a in unanswerable if a.refused)
    refused_answerable = sum(1 for _, a in answerable if a.refused)
    refused_total = refused_unanswerable + refused_answerable
    answered = [(q, a) for q, a in answerable if not a.refused]
    correct = [(q, a) for q, a in answered if cites_gold(q, a)]
    retrieved = [(q, a) for q, a in answered if any(gold_match(h.chunk, q) for h in a.hits)]
    # What a customer finds on screen: the cited sections and those listed under "see also".
    shown = [(q, a) for q, a in answered if cites_gold(q, a) or any(gold_match(s, q) for s in a.see_also)]

    def ratio(num: int, den: int) -> float | None:
        return round(num / den, 3) if den else None

    def timing(name: str) -> dict[str, float | None]:
        present = [v for v in (getattr(a.timings, name) for _, a in rows) if v is not None]
        p50, p95 = percentile(present, 50), percentile(present, 95)
        return {"p50": None if p50 is None else round(p50, 1), "p95": None if p95 is None else round(p95, 1)}

    outcomes: dict[str, int] = {}
    for _, a in rows:
        outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
    return {
        "questions": len(rows),
        "unanswerable": len(unanswerable),
        "answerable": len(answerable),
        "refusal_recall": ratio(refused_unanswerable, len(unanswerable)),
        "refusal_precision": ratio(refused_unanswerable, refused_total),
        "false_refusal_rate": ratio(refused_answerable, len(answerable)),
        "citation_accuracy": ratio(len(correct), len(answered)),
        "gold_in_passages": ratio(len(retrieved), len(answered)),
        "gold_shown": ratio(len(shown), len(answered)),
        "inferred_citations": sum(1 for _, a in answered if a.citations_inferred),
        # How often an answer said it may not be what was asked (`Answer.unsure`): of the unanswerable
        # questions answered anyway, of the answers citing a wrong section, and of those citing the right one.
        "unsure": {
            "unanswerable_answered": ratio(
                sum(1 for _, a in unanswerable if not a.refused and a.unsure),
                sum(1 for _, a in unanswerable if not a.refused),
            ),
            "wrong_citation": ratio(
                sum(1 for q, a in answered if a.unsure and (q, a) not in correct),
                len(answered) - len(correct),
            ),
            "right_citation": ratio(sum(1 for _, a in correct if a.unsure), len(correct)),
        },
        "outcomes": outcomes,
        "timings_ms": {name: timing(name) for name in TIMINGS},
        "misses": [
            {
                "qid": q.qid,
                "why": why,
                "outcome": a.outcome,
                "cited": [f"{s.source} › {s.heading}" for s in a.sources],
            }
            for q, a, why in (
                [(q, a, "not refused") for q, a in unanswerable if not a.refused]
                + [(q, a, "refused") for q, a in answerable if a.refused]
                + [(q, a, "wrong citation") for q, a in answered if (q, a) not in correct]
            )
        ],
    }
