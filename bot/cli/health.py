"""`python -m bot health`: each dependency ok or failing, with an exit code to match."""

from __future__ import annotations

import typer

from bot.cli.app import app, console, get_settings, print_json, run_async


@app.command()
def health(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    timeout: float = typer.Option(10.0, help="Seconds allowed for each check."),
) -> None:
    """Check the model files, the database and the knowledge base. Exit code 1 if any check fails (a
    warning, such as an index to rebuild, still exits 0)."""
    settings = get_settings()
    from bot.health import run_checks

    checks = run_async(lambda: run_checks(settings, timeout_s=timeout))
    healthy = all(c.ok for c in checks)
    if json_out:
        print_json(
            {
                "ok": healthy,
                "checks": [
                    {
                        "name": c.name,
                        "ok": c.ok,
                        "warning": c.warning,
                        "detail": c.detail,
                        "ms": round(c.ms, 1),
                    }
                    for c in checks
                ],
            }
        )
    else:
        for c in checks:
            mark = "[yellow]WARN[/]" if c.warning else "[green]ok[/]  " if c.ok else "[red]FAIL[/]"
            console.print(f"{mark} {c.name:<16} {c.detail}  [dim]({c.ms:.0f} ms)[/]", highlight=False)
    raise typer.Exit(0 if healthy else 1)
