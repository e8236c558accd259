"""`ask` with an empty question and `chat` with an unknown slash command log nothing; `db downgrade` on a
database that has no schema says so."""

from __future__ import annotations

import sqlite3
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
        yield runner


def logged(tmp_path: Path) -> tuple[int, list[str]]:
    """Conversations in the log, and the texts of its messages."""
    with sqlite3.connect(tmp_path / "data" / "bot.db") as db:
        conversations = db.execute("SELECT count(*) FROM conversations").fetchone()[0]
        texts = [row[0] for row in db.execute("SELECT text FROM messages ORDER BY id")]
    assert isinstance(conversations, int)
    return conversations, texts


@pytest.mark.parametrize("question", ["", "   "], ids=["empty", "blank"])
def test_an_empty_question_is_a_usage_error_and_logs_nothing(
    cli: CliRunner, tmp_path: Path, question: str
) -> None:
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = cli.invoke(app, ["ask", question])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert "error: the question is empty" in result.output
    assert logged(tmp_path) == (0, [])


def test_chat_answers_an_unknown_command_with_the_commands(
    cli: CliRunner, tmp_path: Path, generator: FakeGenerator
) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    result = cli.invoke(app, ["chat"], input="/bogus\n/new please\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "/bogus is unknown. Chat commands: /new starts a new conversation; /quit or /exit" in result.output
    assert "/new takes nothing after it. Chat commands:" in result.output
    assert MODEL_SAYS not in result.output
    assert generator.prompts == []  # never sent to the model
    assert logged(tmp_path)[1] == []  # nor logged as a customer's question


def test_chat_still_sends_questions_that_start_with_a_slash(cli: CliRunner, tmp_path: Path) -> None:
    # A path is a question, not a command: only "/" and a name as the first word is one.
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    result = cli.invoke(app, ["chat"], input="/bogus\n/etc/refunds is missing, how long do refunds take?\n")
    assert result.exit_code == 0, result.output
    assert "/bogus is unknown" in result.output
    assert logged(tmp_path)[1][0] == "/etc/refunds is missing, how long do refunds take?"


@pytest.mark.parametrize("revision", [[], ["0003"]], ids=["one-step", "revision"])
@pytest.mark.parametrize("exists", [False, True], ids=["no-file", "empty-file"])
def test_downgrading_a_database_without_a_schema_says_so(
    cli: CliRunner, tmp_path: Path, revision: list[str], exists: bool
) -> None:
    database = tmp_path / "data" / "bot.db"
    if exists:
        database.parent.mkdir()
        sqlite3.connect(database).close()
    result = cli.invoke(app, ["db", "downgrade", *revision, "--yes"])  # no revision: "-1", one step back
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert "has no schema yet; nothing to downgrade" in result.output
    assert database.exists() == exists  # a missing SQLite file is not created just to say so


def test_downgrading_an_empty_database_to_base_is_already_done(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["db", "downgrade", "base", "--yes"])
    assert result.exit_code == 0, result.output
    assert "has no schema yet; nothing to downgrade" in result.output
    assert not (tmp_path / "data" / "bot.db").exists()
