"""`ask`'s exit code tells a script that the bot could not answer for a technical reason (3) from an answer
or a refusal (0)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.cli import refunds_cli
from tests.fakes import FakeGenerator

MODEL_SAYS = "Refunds are paid back to the original card within five business days. [1]"


@pytest.fixture
def generator() -> FakeGenerator:
    return FakeGenerator(MODEL_SAYS)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, generator: FakeGenerator) -> Iterator[CliRunner]:
    with refunds_cli(monkeypatch, tmp_path, generator) as runner:
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        yield runner


def outcomes(output: str) -> list[str]:
    return [json.loads(line)["outcome"] for line in output.splitlines() if line.startswith("{")]


def test_an_answer_exits_0(cli: CliRunner) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    result = cli.invoke(app, ["ask", "How long do refunds take?", "--json"])
    assert outcomes(result.stdout) == ["answered"]
    assert result.exit_code == 0, result.output


def test_a_knowledge_base_that_cannot_be_searched_exits_3(cli: CliRunner) -> None:
    # No `kb reload`: there is no index to search.
    result = cli.invoke(app, ["ask", "How long do refunds take?", "--json"])
    assert outcomes(result.stdout) == ["kb_unavailable"]
    assert result.exit_code == 3, result.output
    result = cli.invoke(app, ["ask", "How long do refunds take?"])
    assert "kb_unavailable" in result.stdout  # the reply is still printed
    assert result.exit_code == 3, result.output


def test_a_failing_model_exits_3(cli: CliRunner, generator: FakeGenerator) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    generator.fail = True
    result = cli.invoke(app, ["ask", "How long do refunds take?", "--json"])
    assert outcomes(result.stdout) == ["model_error"]
    assert result.exit_code == 3, result.output


def test_a_batch_answers_every_question_and_exits_3_when_one_was_not_answered(
    cli: CliRunner, tmp_path: Path
) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"qid": "a", "question": "How long do refunds take?"}\n{"qid": "b", "question": "Refund time?"}\n',
        encoding="utf-8",
    )
    result = cli.invoke(app, ["ask", "--questions", str(questions), "--json"])
    assert outcomes(result.stdout) == ["kb_unavailable", "kb_unavailable"]
    assert result.exit_code == 3, result.output
