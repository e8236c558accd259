"""`export --out` never replaces an earlier export unless told to (`--force`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

OLD = '{"messages": [{"role": "user", "content": "kept"}]}\n'


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_sqlite: Callable[[Path], str]) -> CliRunner:
    from bot.cli import register_commands

    register_commands()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOT_DATABASE_URL", migrated_sqlite(tmp_path / "log.db"))
    return CliRunner()


def test_an_existing_out_is_refused_and_kept(cli: CliRunner, tmp_path: Path) -> None:
    from bot.cli import app

    out = tmp_path / "existing.jsonl"
    out.write_text(OLD)
    result = cli.invoke(app, ["export", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"{out} exists; pass --force to replace it" in " ".join(result.output.split())
    assert out.read_text() == OLD


def test_either_split_file_existing_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    from bot.cli import app

    (tmp_path / "chats.eval.jsonl").write_text(OLD)
    result = cli.invoke(app, ["export", "--out", str(tmp_path / "chats.jsonl"), "--split", "0.9"])
    assert result.exit_code == 2, result.output
    assert "chats.eval.jsonl exists; pass --force" in " ".join(result.output.split())
    assert not (tmp_path / "chats.train.jsonl").exists()


def test_force_replaces_it(cli: CliRunner, tmp_path: Path) -> None:
    from bot.cli import app

    out = tmp_path / "existing.jsonl"
    out.write_text(OLD)
    result = cli.invoke(app, ["export", "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert out.read_text() == ""  # the empty log's export
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".existing")] == []


def test_a_folder_as_out_is_a_clear_error(cli: CliRunner, tmp_path: Path) -> None:
    from bot.cli import app

    (tmp_path / "dir.jsonl").mkdir()
    result = cli.invoke(app, ["export", "--out", str(tmp_path / "dir.jsonl"), "--force"])
    assert result.exit_code == 2, result.output
    assert "dir.jsonl is a folder; --out must name a file" in " ".join(result.output.split())
