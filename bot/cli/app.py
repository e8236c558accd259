"""The shared Typer apps and helpers every command module uses."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from bot.config import Settings, SettingsError, load_settings
from bot.ids import parse_id

if TYPE_CHECKING:
    from bot.evaluation.questions import Question

app = typer.Typer(
    name="bot",
    help="Customer-support chat bot: knowledge base, local model, Telegram, logs and fine-tuning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="Provision, list and switch the local GGUF models.", no_args_is_help=True)
kb_app = typer.Typer(help="Reload, search and inspect the knowledge base.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations and retention.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print measured figures.", no_args_is_help=True)
eval_app = typer.Typer(help="Quality evaluations on labelled data.", no_args_is_help=True)
answers_app = typer.Typer(
    help="Approved answers: admins' answers served at once to questions that match them.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
app.add_typer(kb_app, name="kb")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")
app.add_typer(answers_app, name="answers")


class _CliConsole(Console):
    """A console that wraps lines only on a terminal. Piped or redirected, output is not wrapped at rich's
    default 80 columns: a URL or a path cut in two is neither clickable nor greppable, and the reader (a file,
    `less`, a script) wraps for itself. Decided at each print, on the stream written to then."""

    @property
    def soft_wrap(self) -> bool:
        return not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        """Rich's constructor sets it; the stream decides."""


console = _CliConsole()
err_console = _CliConsole(stderr=True)

T = TypeVar("T")


def print_error(message: str) -> None:
    """Print one clear error line to stderr."""
    err_console.print("[bold red]error:[/] ", end="", highlight=False)
    # markup off and soft wrap: messages carry paths and brackets that must print exactly as they are.
    err_console.print(message, highlight=False, markup=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear error line (no traceback) and exit."""
    print_error(message)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """Print one warning line: the command goes on (or has finished), but the user should know."""
    err_console.print("[bold yellow]warning:[/] ", end="", highlight=False)
    err_console.print(message, highlight=False, markup=False, soft_wrap=True)


def id_parser(missing: str) -> Callable[[str], int]:
    """The parser (typer's `parser=`) of every id option and argument: ASCII digits read by
    `bot.ids.parse_id`, so a number no row can have never reaches a query (SQLite raised OverflowError past
    64 bits, PostgreSQL refuses past int4). Such a number names no row: `missing` is the command's own
    line for an unknown id ("there is no … {id}"), exit 2 as for one; anything else is not an id at all."""

    def parse(value: str) -> int:
        text = value.strip()
        number = parse_id(text)
        if number is not None:
            return number
        if text.isascii() and text.isdigit():
            fail(missing.format(id=text))
        raise typer.BadParameter(f"{value!r} is not a valid id: ids are whole numbers such as 42")

    return parse


def operator_errors() -> tuple[type[Exception], ...]:
    """Errors whose message already tells the operator what is wrong and how to fix it.

    Any command that lets one of these escape ends with that one line instead of a traceback; anything
    else is a bug and keeps its traceback.
    """
    from bot.kb.base import KBUnavailableError, ReloadError
    from bot.llm.base import GeneratorError, ModelError
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError
    from bot.store.migrate import MigrationError

    return (
        ModelError,
        GeneratorError,
        KBUnavailableError,
        ReloadError,
        StoreUnavailableError,
        SchemaOutdatedError,
        MigrationError,
    )


def load_questions(path: Path) -> list[Question]:
    """The labelled questions of `path` (`bot.evaluation.questions`), or one clear error line and exit."""
    from bot.evaluation.questions import QuestionsFileError, read_questions

    try:
        return read_questions(path)
    except QuestionsFileError as exc:
        fail(str(exc))


def get_settings(**overrides: Any) -> Settings:
    """Load settings once for a command, turning validation errors into a clean exit."""
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        err_console.print("[bold red]configuration error:[/]", highlight=False)
        for line in str(exc).splitlines():
            err_console.print(f"  {line}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    from bot.logs import configure_logging

    configure_logging(settings)
    _warn_unknown_settings()
    return settings


def _warn_unknown_settings() -> None:
    """One line per BOT_ variable (environment or .env) that names no setting: a typo is ignored otherwise."""
    from dotenv import dotenv_values

    from bot.config import unknown_settings

    names = list(os.environ)
    env_file = Path(".env")
    if env_file.is_file():
        names += [name for name in dotenv_values(env_file) if name]
    for name, close in unknown_settings(names):
        hint = f"; did you mean {close}?" if close else "; see `python -m bot config --env-example`"
        line = f"warning: {name} is not a setting and is ignored{hint}"
        err_console.print(line, highlight=False, markup=False, soft_wrap=True)


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
