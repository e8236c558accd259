"""`python -m bot config`: the effective settings (secrets masked), or the `.env.example` reference."""

from __future__ import annotations

import re
from typing import Any

import typer

from bot.cli.app import app, console, get_settings, print_json


@app.command("config")
def show_config(
    env_example: bool = typer.Option(
        False, "--env-example", help="Print every setting as a .env.example file."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the effective settings as JSON."),
) -> None:
    """Show the effective configuration, with secrets masked."""
    from bot.config import render_env_example

    if env_example:
        typer.echo(render_env_example(), nl=False)
        return
    settings = get_settings()
    # SecretStr dumps as "**********"; a password inside a URL (BOT_DATABASE_URL, …) is masked here.
    data = _masked(settings.model_dump(mode="json"))
    if json_out:
        print_json(data)
        return

    def walk(prefix: str, node: dict[str, object]) -> None:
        for key, value in node.items():
            name = f"{prefix}{key.upper()}"
            if isinstance(value, dict):
                walk(name + "__", value)
            else:
                console.print(f"{name}={'' if value is None else value}", highlight=False, markup=False)

    walk("BOT_", data)


# scheme://user:password@host: the password part, up to the "@" that ends the user info.
# Greedy to the last "@": a password may hold a raw "/" (SQLAlchemy reads it), and masking more is safe.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)\S*@", re.IGNORECASE)


def _masked(node: Any) -> Any:
    """The dumped settings with every password inside a URL replaced by ***, as `db current` shows it."""
    if isinstance(node, dict):
        return {key: _masked(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_masked(value) for value in node]
    if isinstance(node, str):
        return _URL_PASSWORD.sub(r"\g<head>***@", node)
    return node
