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


def break_index(cli: CliRunner, tmp_path: Path) -> None:
    """Build the index, then take its file away: the knowledge base is there but cannot be searched."""
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    for index in (tmp_path / "data").rglob("kb-*.sqlite"):
        index.unlink()


def test_a_knowledge_base_never_built_is_an_error_that_says_to_reload(cli: CliRunner) -> None:
    # An admin's first `ask` before `kb reload`: told what to run, not "try again in a few minutes", and no
    # conversation is logged for it.
    for command in (["ask", "How long do refunds take?"], ["chat"]):
        result = cli.invoke(app, command, input="How long do refunds take?\n")
        assert result.exit_code == 2, result.output
        assert "has not been built yet: run `python -m bot kb reload`" in result.output
        assert "try again" not in result.output.lower()
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    first = cli.invoke(app, ["ask", "How long do refunds take?", "--json"]).stdout.splitlines()[-1]
    assert json.loads(first)["conversation_id"] == 1  # the refused asks logged nothing


def test_a_knowledge_base_that_cannot_be_searched_exits_3(cli: CliRunner, tmp_path: Path) -> None:
    break_index(cli, tmp_path)
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
    break_index(cli, tmp_path)
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"qid": "a", "question": "How long do refunds take?"}\n{"qid": "b", "question": "Refund time?"}\n',
        encoding="utf-8",
    )
    result = cli.invoke(app, ["ask", "--questions", str(questions), "--json"])
    assert outcomes(result.stdout) == ["kb_unavailable", "kb_unavailable"]
    assert result.exit_code == 3, result.output
