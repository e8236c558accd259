"""`eval relevance`'s per-question decisions and the agreement of two runs (two backends) on them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.evaluation.questions import Question
from bot.evaluation.relevance import (
    QuestionDecision,
    compare_decisions,
    decide,
    decisions_from_report,
    fit_relevance,
    refusal_counts,
)
from bot.kb.calibration import Gate, Signals

# p = sigmoid(10 * dense_top - 5): 0.5 at a cosine of 0.5.
GATE = Gate(("dense_top",), (-5.0, 10.0))


def _signals(dense_top: float, *unknown: str) -> Signals:
    return Signals(dense_top, 0.0, 0.0, 0.0, "en", tuple(unknown))


def _question(qid: str, answerable: bool) -> Question:
    return Question(
        qid, f"question {qid}?", "faq.md" if answerable else None, "Heading" if answerable else None
    )


def _decision(
    qid: str, refused: bool, *, answerable: bool = True, probability: float = 0.5
) -> QuestionDecision:
    return QuestionDecision(qid, answerable, probability, refused)


def test_decide_follows_the_threshold_and_refuses_unknown_names_at_any_threshold() -> None:
    items = [_question("a", True), _question("b", True), _question("c", False)]
    collected = [_signals(0.9), _signals(0.3), _signals(0.9, "WireGuard")]

    decisions = decide(items, collected, GATE, 0.5)
    assert [d.decision for d in decisions] == ["answer", "refuse", "refuse"]
    assert decisions[0].probability == pytest.approx(0.982, abs=1e-3)
    assert decisions[2].probability == 0.0
    assert decisions[2].unknown_names == ("WireGuard",)
    assert [d.answerable for d in decisions] == [True, True, False]

    # At threshold 0 the low cosine is answered, the unknown name still refused (as the answer pipeline does).
    assert [d.refused for d in decide(items, collected, GATE, 0.0)] == [False, False, True]

    counts = refusal_counts(decisions)
    assert (counts.unanswerable, counts.unanswerable_refused) == (1, 1)
    assert (counts.answerable, counts.answerable_refused) == (2, 1)
    assert str(counts) == "unanswerable refused 1/1, answerable refused 1/2"


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.9])
def test_fit_in_use_figures_are_the_decisions(threshold: float) -> None:
    labels = [1, 1, 1, 1, 0, 0, 0]
    tops = [0.95, 0.7, 0.55, 0.45, 0.52, 0.2, 0.8]
    items = [_question(str(i), y == 1) for i, y in enumerate(labels)]
    collected = [_signals(top) for top in tops]
    collected[-1] = _signals(0.8, "Nextcloud")  # refused whatever the threshold

    fit = fit_relevance(collected, labels, threshold, GATE)
    counts = refusal_counts(decide(items, collected, GATE, threshold))
    assert fit.in_use.recall == counts.unanswerable_refused / counts.unanswerable
    assert fit.in_use.false_refusals == counts.answerable_refused / counts.answerable
    assert counts.unanswerable_refused >= 1


def test_compare_counts_both_directions_and_the_questions_one_run_lacks() -> None:
    here = [
        _decision("same-answer", False),
        _decision("same-refuse", True, answerable=False),
        _decision("refused-here", True, probability=0.3),
        _decision("answered-here", False, answerable=False, probability=0.7),
        _decision("only-here", True),
    ]
    there = [
        _decision("answered-here", True, answerable=False, probability=0.4),
        _decision("same-refuse", True, answerable=False),
        _decision("refused-here", False, probability=0.6),
        _decision("same-answer", False),
        _decision("only-there", False),
    ]

    agreement = compare_decisions(here, there)
    assert (agreement.compared, agreement.same) == (4, 2)
    ((refused,),) = (agreement.refused_here_only,)
    assert (refused.qid, refused.answerable, refused.here.probability, refused.there.probability) == (
        "refused-here",
        True,
        0.3,
        0.6,
    )
    assert [d.qid for d in agreement.answered_here_only] == ["answered-here"]
    assert agreement.missing_there == ("only-here",)
    assert agreement.missing_here == ("only-there",)
    assert str(agreement) == "same decision on 2 of 4 questions; refused here only 1, answered here only 1"
    as_dict = agreement.to_dict()
    assert as_dict["refused_here_only"] == [
        {"qid": "refused-here", "answerable": True, "probability_here": 0.3, "probability_there": 0.6}
    ]
    assert as_dict["answered_here_only"][0]["answerable"] is False

    # The other way round, the directions swap.
    reverse = compare_decisions(there, here)
    assert [d.qid for d in reverse.refused_here_only] == ["answered-here"]
    assert [d.qid for d in reverse.answered_here_only] == ["refused-here"]


def test_compare_refuses_runs_on_different_questions() -> None:
    with pytest.raises(ValueError, match="labelled differently"):
        compare_decisions([_decision("q1", False)], [_decision("q1", False, answerable=False)])
    with pytest.raises(ValueError, match="appears twice"):
        compare_decisions([_decision("q1", False)], [_decision("q1", False), _decision("q1", True)])


def test_decisions_survive_the_json_report() -> None:
    decisions = [
        QuestionDecision("q1", True, 0.8125, False),
        QuestionDecision("q2", False, 0.0, True, ("Nextcloud",)),
    ]
    report = {"questions": [d.to_dict() for d in decisions]}
    assert report["questions"][1] == {
        "qid": "q2",
        "answerable": False,
        "decision": "refuse",
        "probability": 0.0,
        "unknown_names": ["Nextcloud"],
    }
    assert decisions_from_report(report) == decisions


@pytest.mark.parametrize(
    "report",
    [
        {},
        [],
        {"questions": []},
        {"questions": [{"qid": "q1", "answerable": True, "decision": "maybe", "probability": 0.5}]},
        {"questions": [{"qid": "q1", "answerable": "yes", "decision": "answer", "probability": 0.5}]},
        {"questions": [{"qid": "q1", "answerable": True, "decision": "answer"}]},
        {"questions": ["q1"]},
    ],
)
def test_a_report_without_decisions_is_refused(report: object) -> None:
    with pytest.raises(ValueError, match="not"):
        decisions_from_report(report)


@pytest.mark.parametrize("labels", [[1, 1, 1, 1], [0, 0, 0], [1, 1, 1, 0]])
def test_a_set_without_two_of_each_class_judges_only_the_gate_in_use(labels: list[int]) -> None:
    # Leave-one-out fits need both classes in every fold; before, a singular matrix or a label error.
    collected = [_signals(0.3 + 0.1 * i) for i in range(len(labels))]
    fit = fit_relevance(collected, labels, 0.5, GATE)
    assert fit.subsets == ()
    assert fit.questions == len(labels)


async def test_names_are_checked_in_the_language_the_question_is_labelled_and_searched_in() -> None:
    """As the answer pipeline checks names in the language it answers in: detected alone, the informal Spanish
    of "kiero devolver unas zapatillas" read as Portuguese (now as English: Spanish 0.41, unsure, and none of
    its words a Spanish function word), whose word list lacks both words, and a help center that never says
    "zapatillas" refused it for two unknown names. ("… q no me valen" is Spanish since its "q", "no" and
    "me" bear the unsure guess out.)"""
    from bot.evaluation.relevance import collect_signals
    from tests.fakes import FakeKB, make_chunk

    kb = FakeKB([make_chunk("devoluciones.md", "Devoluciones", "Tienes 30 días para devolver un producto.")])
    asked = "kiero devolver unas zapatillas"
    spanish = Question("es-1", asked, "devoluciones.md", "Devoluciones", lang="es")
    collected, labels = await collect_signals(kb, [spanish], top_k=5)
    assert labels == [1]
    assert collected[0].unknown_names == ()
    unlabelled, _ = await collect_signals(kb, [replace(spanish, lang=None)], top_k=5)
    assert unlabelled[0].unknown_names  # what the question's own detection makes of it
