"""The command line under test: a runner that leaves the root logger as it found it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import register_commands
from bot.services import Services
from tests.fakes import FakeEmbedder, FakeGenerator


@contextlib.contextmanager
def cli_runner() -> Iterator[CliRunner]:
    """A `CliRunner` for `bot.cli.app`, with every command registered.

    `get_settings()` installs a stderr handler on the root logger, bound to the runner's captured stream: it
    is taken away again afterwards, or later tests would log into a closed stream."""
    register_commands()
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        yield CliRunner()
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)


@contextlib.contextmanager
def refunds_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, generator: FakeGenerator
) -> Iterator[CliRunner]:
    """`cli_runner` on a data folder of its own, with a one-article knowledge base about refunds, fake models
    (`generator` writes the answers) and no relevance gate."""
    embedder = FakeEmbedder(dim=64)
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setattr(Services, "generator", lambda self: generator)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "refunds.md").write_text(
        "# Refunds\n\nRefunds are paid back to the original card within five business days.\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BOT_KB__SOURCE", str(knowledge))
    monkeypatch.setenv("BOT_RAG__MIN_RELEVANCE", "0")
    with cli_runner() as runner:
        yield runner
