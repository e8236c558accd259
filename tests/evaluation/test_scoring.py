"""The one gold-match rule: the labelled file must match at a path boundary, the heading exactly."""

from __future__ import annotations

import pytest

from bot.domain import Hit
from bot.evaluation.questions import Question
from bot.evaluation.scoring import gold_match, gold_rank
from tests.fakes import make_chunk

GOLD = Question("q1", "How do I pay?", "faq.md", "Payment")


@pytest.mark.parametrize(
    ("source", "heading", "expected"),
    [
        ("faq.md", "Payment", True),
        ("help/faq.md", "Payment", True),
        ("help/old-faq.md", "Payment", False),  # a bare suffix match would count this as gold
        ("billingfaq.md", "Payment", False),
        ("faq.md", "Payments", False),
    ],
)
def test_gold_match(source: str, heading: str, expected: bool) -> None:
    assert gold_match(source, heading, GOLD) is expected


def test_an_unanswerable_question_has_no_gold() -> None:
    assert not gold_match("faq.md", "Payment", Question("q2", "Weather?"))


def test_gold_rank_is_the_first_matching_hit() -> None:
    hits = [
        Hit(chunk=make_chunk("help/old-faq.md", "Payment", "x"), score=0.9, rank=1),
        Hit(chunk=make_chunk("help/faq.md", "Payment", "y"), score=0.8, rank=2),
    ]
    assert gold_rank(hits, GOLD) == 2
    assert gold_rank(hits[:1], GOLD) is None
