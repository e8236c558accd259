"""Ids typed on the command line: one larger than any row can have is "not found" like any unknown id (it
crashed with OverflowError on SQLite), and one that is not a number is a usage error; never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app, register_commands
from bot.services import Services
from tests.fakes import FakeEmbedder, FakeGenerator

HUGE = "99999999999999999999999"
PAST_INT64 = str(2**63)  # the first number SQLite's driver cannot bind (OverflowError)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    register_commands()
    embedder = FakeEmbedder(dim=64)
    generator = FakeGenerator("Refunds take five days. [1]")
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setattr(Services, "generator", lambda self: generator)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    monkeypatch.setenv("BOT_KB__SOURCE", str(knowledge))
    root = logging.getLogger()
    handlers = list(root.handlers)
    runner = CliRunner()
    # The log exists, so an id reaches the query as it would on a working install.
    assert runner.invoke(app, ["answers", "list"]).exit_code == 0
    yield runner
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)


COMMANDS = [
    (["answers", "retire", "{id}"], "error: there is no approved answer {id} (see `answers list --all`)"),
    (["answers", "edit", "{id}", "--text", "New text."], "error: there is no approved answer {id}"),
    (
        ["answers", "approve", "--answer-id", "{id}", "--text", "New text."],
        "error: there is no bot answer {id} in the log",
    ),
    (["answers", "approve", "--candidate", "{id}"], "error: there is no candidate {id}"),
    (["ask", "hello", "--conversation", "{id}"], "error: conversation {id} not found"),
]
IDS = ["retire", "edit", "approve-answer-id", "approve-candidate", "ask-conversation"]


# The same line as an unknown id that fits (`answers retire 999`), which the commands already gave.
# (Past int4 but within 64 bits, SQLite finds no row by itself; `bot.ids` keeps it from PostgreSQL too.)
@pytest.mark.parametrize("number", [HUGE, PAST_INT64], ids=["huge", "past-int64"])
@pytest.mark.parametrize(("args", "message"), COMMANDS, ids=IDS)
def test_an_id_no_row_can_have_is_not_found_like_any_other(
    cli: CliRunner, args: list[str], message: str, number: str
) -> None:
    result = cli.invoke(app, [arg.format(id=number) for arg in args])
    assert isinstance(result.exception, SystemExit), result.exception  # not OverflowError
    assert result.exit_code == 2, result.output
    assert message.format(id=number) in result.output


@pytest.mark.parametrize("value", ["abc", "1.5", "٣", "+7"], ids=["word", "decimal", "arabic-digit", "sign"])
@pytest.mark.parametrize(("args", "message"), COMMANDS, ids=IDS)
def test_an_id_that_is_not_a_number_is_a_usage_error(
    cli: CliRunner, args: list[str], message: str, value: str
) -> None:
    result = cli.invoke(app, [arg.format(id=value) for arg in args])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert "is not a valid id" in result.output
