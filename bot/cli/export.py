"""`python -m bot export`: the conversation log as redacted fine-tuning data (JSONL)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, get_args

import typer

from bot.cli.app import app, console, fail, get_settings, run_async, warn
from bot.domain import Channel
from bot.store.formats import format_help

# The channel names without the export's imports (SQLAlchemy), which the CLI loads only when it runs.
CHANNELS: tuple[str, ...] = get_args(Channel)
CHANNEL_HELP = (
    f"Only conversations of this channel ({', '.join(CHANNELS)}); repeat for several. All channels by "
    "default, console included: the `ask`/`chat` sessions of admins and testers, with the answers of any "
    "model under test."
)

if TYPE_CHECKING:
    from bot.store.export import ExportStats


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
        help="Put the retrieved passages into each prompt, exactly as the bot's prompt. Answers then open "
        "with the prompt's prefill, as the bot serves them: quotes and corrections get it too "
        "('According to [1], ...', naming the passage they cite).",
    ),
    channel: Annotated[list[str] | None, typer.Option("--channel", help=CHANNEL_HELP)] = None,
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
    duplicates are dropped, and PII (emails, phones, cards, IBANs, @handles, user ids, API keys, extra
    patterns) is redacted before anything is written. Prints the stats at the end."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bot.services import Services
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError
    from bot.store.export import ExportError, ExportOptions, parse_date, split_paths

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
            channels=tuple(dict.fromkeys(channel or ())),
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

    if not settings.database_url and not settings.data_dir.is_dir():
        # The embedded log lives in the data folder: a missing one is a wrong BOT_DATA_DIR, not an empty log.
        fail(f"no data folder {settings.data_dir} (BOT_DATA_DIR): no conversation log to export")

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

        async def run() -> ExportStats:
            # Opened as `ask` and `serve` open the log: the embedded SQLite log migrates itself (a fresh data
            # folder exports nothing rather than failing), PostgreSQL must be at the code's schema.
            async with Services(settings) as services:
                return await services.export_log(options, on_progress)

        try:
            stats = run_async(run)
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
    if stats.by_channel:
        by_channel = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_channel.items()))
        console.print(f"by channel:         {by_channel}", highlight=False)
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(stats.dropped.items())) or "none"
    console.print(f"dropped:            {dropped}", highlight=False)
    redacted = ", ".join(f"{k} {v}" for k, v in sorted(stats.redactions.items()) if v) or "none"
    console.print(f"redactions:         {redacted}", highlight=False)
    for path in stats.files:
        console.print(f"wrote {path}", highlight=False)
    for message in export_warnings(
        stats,
        dated=since is not None or until is not None,
        split=split is not None,
        channels=options.channels,
    ):
        warn(message)


def export_warnings(
    stats: ExportStats, *, dated: bool, split: bool, channels: Sequence[str] = ()
) -> list[str]:
    """What makes the files unfit to train on as they are: no samples at all, and why; an empty side of a
    split (`finetune` refuses an empty file)."""
    in_range = " in the --since/--until range" if dated else ""
    if channels:
        in_range += f" in the channel{'s' if len(channels) > 1 else ''} {', '.join(channels)}"
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(stats.dropped.items()))
    if stats.samples_written == 0:
        if stats.conversations_read == 0:
            why = f"the log holds no questions{in_range}"
        elif stats.answers_seen == 0:
            why = f"none of the {stats.conversations_read} conversations read has an answer{in_range}"
        else:
            why = f"every answer was left out: {dropped}"
        return [f"0 samples written, nothing to train on: {why}"]
    if split and (stats.train_samples == 0 or stats.eval_samples == 0):
        empty = "train" if stats.train_samples == 0 else "eval"
        return [
            f"the {empty} file has no samples (its conversations had no answer to export); "
            "try another --seed, or more data"
        ]
    return []
