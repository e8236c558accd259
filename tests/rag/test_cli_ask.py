"""The `ask` / `eval answers` helpers: exact JSON shape, input validation, and the report's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.channels.console import answer_json
from bot.cli import app, register_commands
from bot.domain import Answer, Hit, Source, Timings
from bot.evaluation.answers import answers_report
from bot.evaluation.questions import BadLine, Question, QuestionsFileError, iter_questions, read_questions
from bot.metrics import percentile
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
        "outcome": "answered",
        "grounded": True,
        "sources": [{"source": "faq/general.rst", "heading": "How stable is Python?"}],
        "see_also": [],
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
def test_bad_questions_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content)
    with pytest.raises(QuestionsFileError) as raised:
        read_questions(path)
    assert message in str(raised.value)
    assert str(raised.value).startswith(str(path))
    # The command turns it into one error line and exit code 2, before any model is loaded.
    register_commands()
    result = CliRunner().invoke(app, ["ask", "--questions", str(path)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_questions_file(tmp_path: Path) -> None:
    with pytest.raises(QuestionsFileError, match="not found"):
        read_questions(tmp_path / "nope.jsonl")


def test_bad_lines_can_be_reported_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"qid": "a", "question": "one?", "file": "", "heading": 3}\nnope\n{"qid": 7}\n{}\n')
    items = list(iter_questions(path))
    assert items[0] == Question("a", "one?")
    assert not items[0].answerable
    assert isinstance(items[1], BadLine)
    assert (items[1].line, items[1].qid) == (2, "line-2")
    assert "not valid JSON" in items[1].reason
    assert isinstance(items[2], BadLine)
    assert items[2].qid == "7"
    assert isinstance(items[3], BadLine)
    assert items[3].qid == "line-4"
    with pytest.raises(QuestionsFileError, match=r"q\.jsonl:2: not valid JSON"):
        read_questions(path)


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
