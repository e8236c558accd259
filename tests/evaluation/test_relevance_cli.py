"""`eval relevance --json` and `--compare`: each question's decision, and two runs' agreement on them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.services import Services
from tests.cli import cli_runner
from tests.fakes import FakeEmbedder

DOCS = {
    "shipping.md": "# Shipping\n\n## Sending a parcel abroad\n\nInternational parcels need a customs "
    "declaration form, filled in online before you drop the parcel off.\n\n## Parcel size limits\n\n"
    "The maximum weight is 25 kilograms and the longest side may be 120 centimetres.\n",
    "account.md": "# Account\n\n## Resetting your password\n\nOpen the app, tap Forgot password and follow "
    "the link we email you.\n\n## Deleting your account\n\nWrite to support from the address of the account; "
    "we delete it within 30 days.\n",
}
QUESTIONS = [
    {
        "qid": "abroad",
        "question": "Do I need a customs declaration to send a parcel abroad?",
        "file": "shipping.md",
        "heading": "Sending a parcel abroad",
    },
    {
        "qid": "weight",
        "question": "What is the maximum weight of a parcel?",
        "file": "shipping.md",
        "heading": "Parcel size limits",
    },
    {
        "qid": "password",
        "question": "How do I reset my password?",
        "file": "account.md",
        "heading": "Resetting your password",
    },
    {"qid": "weather", "question": "Will it rain in Lisbon tomorrow?", "file": None, "heading": None},
    {
        "qid": "nextcloud",
        "question": "How do I sync my parcels with Nextcloud?",
        "file": None,
        "heading": None,
    },
]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    embedder = FakeEmbedder()
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    with cli_runner() as runner:
        yield runner


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "docs"
    source.mkdir()
    for name, text in DOCS.items():
        (source / name).write_text(text, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return source, questions


def _report(cli: CliRunner, source: Path, questions: Path, *extra: str) -> dict[str, Any]:
    args = ["eval", "relevance", "--questions", str(questions), "--source", str(source), "--json", *extra]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("{")]
    report: dict[str, Any] = json.loads(line)
    return report


def test_json_report_holds_each_decision(cli: CliRunner, inputs: tuple[Path, Path]) -> None:
    source, questions = inputs
    report = _report(cli, source, questions)

    assert report["backend"] == "embedded"
    assert (report["total"], report["unanswerable"], report["threshold"]) == (5, 2, 0.5)
    assert "comparison" not in report
    rows = report["questions"]
    assert [row["qid"] for row in rows] == [q["qid"] for q in QUESTIONS]
    assert [row["answerable"] for row in rows] == [True, True, True, False, False]
    for row in rows:
        expected = "refuse" if row["unknown_names"] or row["probability"] < 0.5 else "answer"
        assert row["decision"] == expected, row
    # The knowledge base never mentions Nextcloud: refused whatever the cosines.
    assert rows[4]["unknown_names"] == ["Nextcloud"]
    assert (rows[4]["decision"], rows[4]["probability"]) == ("refuse", 0.0)

    in_use = report["in_use"]
    assert in_use["unanswerable_refused"] == sum(
        1 for row in rows if not row["answerable"] and row["decision"] == "refuse"
    )
    assert in_use["answerable_refused"] == sum(
        1 for row in rows if row["answerable"] and row["decision"] == "refuse"
    )
    assert in_use["refusal_recall"] == round(in_use["unanswerable_refused"] / 2, 4)
    assert in_use["false_refusals"] == round(in_use["answerable_refused"] / 3, 4)
    assert [fit["features"][0] for fit in report["fits"]] == ["dense_top"] * len(report["fits"])


def test_compare_names_the_disagreements(cli: CliRunner, inputs: tuple[Path, Path], tmp_path: Path) -> None:
    source, questions = inputs
    first = _report(cli, source, questions)
    # Another run that answered the first question this one refused or refused the one it answered.
    other = json.loads(json.dumps(first))
    flipped = other["questions"][0]
    flipped["decision"] = "answer" if flipped["decision"] == "refuse" else "refuse"
    del other["questions"][3]  # and did not ask "weather"
    earlier = tmp_path / "other.json"
    earlier.write_text(json.dumps(other), encoding="utf-8")

    report = _report(cli, source, questions, "--compare", str(earlier))
    comparison = report["comparison"]
    assert (comparison["compared"], comparison["same"]) == (4, 3)
    direction = "refused_here_only" if first["questions"][0]["decision"] == "refuse" else "answered_here_only"
    opposite = "answered_here_only" if direction == "refused_here_only" else "refused_here_only"
    assert [row["qid"] for row in comparison[direction]] == ["abroad"]
    assert comparison[opposite] == []
    assert (comparison["missing_there"], comparison["missing_here"]) == (["weather"], [])
    assert comparison["other"] == str(earlier)

    result = cli.invoke(
        app,
        [
            "eval",
            "relevance",
            "--questions",
            str(questions),
            "--source",
            str(source),
            "--compare",
            str(earlier),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "same decision on 3 of 4 questions" in text
    assert "abroad (answerable)" in text
    assert "not compared: 1 asked only here, 0 only there" in text


def test_compare_refuses_a_file_that_is_not_a_report(
    cli: CliRunner, inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    source, questions = inputs
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"total": 5}', encoding="utf-8")
    result = cli.invoke(
        app,
        [
            "eval",
            "relevance",
            "--questions",
            str(questions),
            "--source",
            str(source),
            "--compare",
            str(wrong),
        ],
    )
    assert result.exit_code == 2
    assert "no `questions` list of decisions" in " ".join(result.output.split())


def test_a_file_with_no_labelled_question_is_warned_about(
    cli: CliRunner, inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    # One written for `ask --questions`: every question would be scored as one to refuse, silently.
    source, _ = inputs
    unlabelled = tmp_path / "ask.jsonl"
    unlabelled.write_text(json.dumps({"qid": "a", "question": "How do I reset my password?"}) + "\n")
    args = ["eval", "relevance", "--questions", str(unlabelled), "--source", str(source)]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "has no answerable question" in result.stderr
    _, labelled = inputs
    result = cli.invoke(app, [*args[:3], str(labelled), *args[4:]])
    assert "has no answerable question" not in result.stderr
