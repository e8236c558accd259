"""The labelled question sets about the sample help center: each label names a section the loader produces."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bot.domain import Source
from bot.evaluation.questions import read_questions
from bot.evaluation.scoring import gold_match
from bot.kb.reload import load_documents
from tests.conftest import KNOWLEDGE, ROOT

DATA = ROOT / "tests" / "data"
QUESTION_FILES = [DATA / "parcelly-questions.jsonl", DATA / "parcelly-customer-questions.jsonl"]


@cache
def sections() -> frozenset[tuple[str, str]]:
    """Every (source, heading) of the sample knowledge base, exactly as the loader produces them."""
    documents, skipped = load_documents(KNOWLEDGE, max_file_mb=10)
    assert not skipped
    return frozenset((d.source, s.heading) for d in documents for s in d.sections)


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.name)
def test_every_label_names_a_section_of_the_sample_kb(path: Path) -> None:
    questions = read_questions(path)
    assert len({q.qid for q in questions}) == len(questions), "a qid is repeated"
    missing = [
        f"{q.qid}: {q.file} :: {q.heading}"
        for q in questions
        if q.answerable and (q.file, q.heading) not in sections()
    ]
    assert not missing, f"labels that are no section of knowledge/: {missing}"


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.name)
def test_each_question_is_labelled_or_unanswerable(path: Path) -> None:
    for q in read_questions(path):
        assert (q.file is None) == (q.heading is None), q.qid
        assert q.anchor is None, q.qid


def test_the_customer_set_is_new_and_spread_over_the_help_center() -> None:
    old, new = (read_questions(path) for path in QUESTION_FILES)
    assert not {q.question.lower() for q in old} & {q.question.lower() for q in new}
    assert not {q.qid for q in old} & {q.qid for q in new}
    answerable = [q for q in new if q.answerable]
    assert len(answerable) == 30
    assert len(new) - len(answerable) == 8
    assert len({q.file for q in answerable}) >= 15
    # The README's example question, labelled with the section that says how to get the money back.
    refund = next(q for q in new if q.question == "How do I get a refund for a parcel that never arrived?")
    assert (refund.file, refund.heading) == ("claims/lost-or-damaged-parcels.md", "Filing a claim")


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.name)
def test_each_label_is_judged_gold_on_its_own_section_only(path: Path) -> None:
    """The normalised heading rule (equals or contains) must not make a second section of the file gold."""
    for q in read_questions(path):
        if q.answerable:
            golds = [(src, heading) for src, heading in sections() if gold_match(Source(src, heading), q)]
            assert golds == [(q.file, q.heading)], q.qid
