"""The `ask` / `eval answers` helpers: exact JSON shape, input validation, and the report's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from bot.cli.ask import Question, answer_json, read_questions
from bot.cli.evaluate import answers_report, percentile
from bot.domain import Answer, Hit, Source, Timings
from tests.fakes import make_chunk


def answer(outcome: str, sources: tuple[Source, ...] = (), total: float = 100.0) -> Answer:
    chunk = make_chunk("faq/general.rst", "How stable is Python?", "Very stable.")
    return Answer(
        text="text",
        sources=sources,
        grounded=outcome == "answered",
        timings=Timings(retrieval_ms=12.345, ttft_ms=None if outcome == "refused" else 50.0, total_ms=total),
        outcome=outcome,
        hits=(Hit(chunk=chunk, score=1.0, rank=1),),
    )


def test_answer_json_has_the_exact_shape() -> None:
    payload = answer_json(answer("answered", (Source("faq/general.rst", "How stable is Python?", "u"),)), 7)
    assert payload == {
        "answer": "text",
        "grounded": True,
        "sources": [{"source": "faq/general.rst", "heading": "How stable is Python?"}],
        "timings": {"retrieval_ms": 12.3, "ttft_ms": 50.0, "total_ms": 100.0},
        "conversation_id": 7,
    }
    assert answer_json(answer("refused"), None)["timings"]["ttft_ms"] is None


def test_read_questions(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"qid": "a", "question": "one?", "file": "f.rst", "heading": "H"}\n\n{"question": "two?"}\n'
    )
    assert read_questions(path) == [Question("a", "one?", "f.rst", "H"), Question("3", "two?")]


@pytest.mark.parametrize(
    ("content", "message"),
    [("{bad json\n", "not valid JSON"), ('{"qid": 1}\n', '"question" string'), ("", "no questions")],
)
def test_bad_questions_file_is_a_clear_error(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content)
    with pytest.raises(typer.Exit):
        read_questions(path)
    assert message in capsys.readouterr().err


def test_missing_questions_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        read_questions(tmp_path / "nope.jsonl")
    assert "not found" in capsys.readouterr().err


def test_report_arithmetic() -> None:
    gold = Source("faq/general.rst", "How stable is Python?")
    wrong = Source("faq/general.rst", "Other")
    rows = [
        (Question("1", "q", None, None), answer("refused")),
        (Question("2", "q", None, None), answer("ungrounded")),
        (Question("3", "q", "general.rst", "How stable is Python?"), answer("answered", (gold,))),
        (Question("4", "q", "general.rst", "How stable is Python?"), answer("answered", (wrong,))),
        (Question("5", "q", "general.rst", "How stable is Python?"), answer("refused")),
    ]
    report = answers_report(rows)
    assert report["refusal_recall"] == 0.5
    assert report["refusal_precision"] == 0.5
    assert report["false_refusal_rate"] == 0.333
    assert report["citation_accuracy"] == 0.5
    assert report["gold_in_passages"] == 1.0
    assert {m["qid"] for m in report["misses"]} == {"2", "4", "5"}
    assert report["timings_ms"]["ttft_ms"]["p50"] == 50.0


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile(list(range(101)), 95) == 95
