"""`ask` shows the logged answer's id, which `answers approve --answer-id` needs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from tests.core.test_cli_ask_chat_db import cli, generator

__all__ = ["cli", "generator"]  # the fixtures, shared with test_cli_ask_chat_db

QUESTION = "How long do refunds take?"


def last_answer_id(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "data" / "bot.db") as db:
        row = db.execute("SELECT max(id) FROM messages WHERE role = 'assistant'").fetchone()
    assert isinstance(row[0], int)
    return row[0]


def test_ask_shows_the_answer_id(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    result = cli.invoke(app, ["ask", QUESTION])
    assert result.exit_code == 0, result.output
    assert f"answer {last_answer_id(tmp_path)}" in result.output

    result = cli.invoke(app, ["ask", "--json", QUESTION])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["answer_id"] == last_answer_id(tmp_path)
    assert payload["outcome"] == "answered"
