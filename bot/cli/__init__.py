"""Command-line interface: `python -m bot <command>`. Each area registers its commands in its own module."""

from __future__ import annotations

import importlib
import os
import sys

from bot.cli.app import app, operator_errors, print_error

# Importing a module registers its commands on the shared Typer apps. Heavy libraries are imported
# inside the command functions, so `--help` stays fast and light.
_COMMAND_MODULES = (
    "bot.cli.health",
    "bot.cli.settings_cmd",
    "bot.cli.models",
    "bot.cli.kb",
    "bot.cli.ask",
    "bot.cli.evaluate",
    "bot.cli.bench_generation",
    "bot.cli.db",
    "bot.cli.export",
    "bot.cli.serve",
    "bot.cli.finetune",
    "bot.cli.quickstart",
    "bot.cli.answers",
    "bot.cli.web",
)


def register_commands() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name)


def main() -> None:
    # The process decides its environment once, here: python-telegram-bot 22 warns on every RetryAfter
    # unless it may hand out durations as timedeltas (the Telegram channel reads both forms).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    register_commands()
    try:
        app()
    except operator_errors() as exc:
        print_error(str(exc))
        sys.exit(2)


__all__ = ["app", "main", "register_commands"]
