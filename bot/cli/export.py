"""`python -m bot export`: the conversation log as redacted fine-tuning data (JSONL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, console, fail, get_settings, run_async
from bot.store.formats import format_help


@app.command("export")
def export_command(
    out: Annotated[
        Path, typer.Option("--out", help="Output FILE.jsonl (written to a temp file, then renamed).")
    ],
    format: str = typer.Option("openai", "--format", help=format_help()),
    since: str | None = typer.Option(
        None, "--since", help="Only questions asked on/after DATE (YYYY-MM-DD, UTC)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Only questions asked up to DATE (that day included)."
    ),
    min_rating: str = typer.Option(
        "any",
        "--min-rating",
        help="any | unrated | up. 'up' keeps only 👍 (and admin-corrected) answers. 👎 answers without a "
        "correction are always left out, so 'any' and 'unrated' differ only in intent.",
    ),
    include_context: bool = typer.Option(
        False,
        "--include-context",
        help="Put the retrieved passages into each prompt, exactly as the bot's prompt.",
    ),
    grounded_only: bool = typer.Option(
        False, "--grounded-only", help="Leave out answers that cite no passage."
    ),
    split: float | None = typer.Option(
        None,
        "--split",
        help="Train fraction, e.g. 0.9: writes FILE.train.jsonl and FILE.eval.jsonl instead of FILE.jsonl, "
        "splitting by whole conversations.",
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Seed of the --split shuffle (same seed, same split; 0 by default)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace output files that already exist."),
) -> None:
    """Export logged answers as fine-tuning data: corrections replace answers, 👎 answers and exact
    duplicates are dropped, and PII (emails, phones, cards, IBANs, @handles, user ids, extra patterns)
    is redacted before anything is written. Prints the stats at the end."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bot.rag.prompting import build_messages
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError
    from bot.store.export import ExportError, ExportOptions, export, parse_date, split_paths

    if seed is not None and split is None:
        fail("--seed only seeds the --split shuffle: give --split too (e.g. --split 0.9 --seed 42)")
    settings = get_settings()
    try:
        options = ExportOptions(
            out=out,
            format=format,
            since=parse_date(since) if since else None,
            until=parse_date(until, end=True) if until else None,
            min_rating=min_rating,  # type: ignore[arg-type]
            include_context=include_context,
            grounded_only=grounded_only,
            split=split,
            seed=seed or 0,
            history_turns=settings.rag.history_turns,
        )
    except ExportError as exc:
        fail(str(exc))
    # An earlier export (maybe the one a fine-tune was trained on) is replaced only when asked to; the rename
    # at the end would otherwise swap it for this one without a word.
    for target in split_paths(out) if split is not None else (out,):
        if target.is_dir():
            fail(f"{target} is a folder; --out must name a file")
        if target.exists() and not force:
            fail(f"{target} exists; pass --force to replace it")

    with Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("conversations"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("export", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            stats = run_async(
                lambda: export(
                    settings.resolved_database_url,
                    options,
                    redaction=settings.redaction,
                    # Admins are named in answers and corrections without ever writing as users.
                    redact_user_ids=[str(a) for a in settings.telegram.admin_ids],
                    build_prompt=build_messages,
                    progress=on_progress,
                )
            )
        except (ExportError, StoreUnavailableError, SchemaOutdatedError) as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}")

    console.print(f"conversations read: {stats.conversations_read}", highlight=False)
    console.print(f"answers seen:       {stats.answers_seen}", highlight=False)
    written = f"samples written:    {stats.samples_written}"
    if split is not None:
        written += f" (train {stats.train_samples}, eval {stats.eval_samples})"
    console.print(written, highlight=False)
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(stats.dropped.items())) or "none"
    console.print(f"dropped:            {dropped}", highlight=False)
    redacted = ", ".join(f"{k} {v}" for k, v in sorted(stats.redactions.items()) if v) or "none"
    console.print(f"redactions:         {redacted}", highlight=False)
    for path in stats.files:
        console.print(f"wrote {path}", highlight=False)
