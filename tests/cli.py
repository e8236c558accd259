"""The command line under test: a runner that leaves the root logger as it found it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from typer.testing import CliRunner

from bot.cli import register_commands


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
