"""`python -m bot quickstart`: prepare models, database and knowledge base, then answer a real question."""

from __future__ import annotations

import os
import sys
import time

import typer

from bot.cli.app import app, console, fail, get_settings, run_async
from bot.domain import Source

DEFAULT_QUESTION = "How do I get a refund for a parcel that never arrived?"


@app.command()
def quickstart(
    question: str = typer.Option(DEFAULT_QUESTION, "--question", "-q", help="The first question to ask."),
    chat: bool = typer.Option(
        True, "--chat/--no-chat", help="Open the interactive console chat afterwards (only on a terminal)."
    ),
) -> None:
    """Set everything up on embedded defaults (no servers) and answer a first question with the local model.

    Idempotent: models are converted once, migrations run only when needed, and the knowledge base is rebuilt
    only when it is empty.
    """
    settings = get_settings()
    from bot.channels.console import ConsoleChannel
    from bot.kb.base import KBUnavailableError, ReloadError
    from bot.llm.base import ModelError
    from bot.llm.registry import ModelRegistry
    from bot.services import Services
    from bot.store.migrate import upgrade

    started = time.perf_counter()
    console.print("[bold]1/4[/] models", highlight=False)
    try:
        prepared = ModelRegistry(settings.models_dir).prepare(settings.llm, settings.embeddings)
    except ModelError as exc:
        fail(str(exc))
    for line in prepared.describe():
        console.print(f"    {line}", highlight=False)

    console.print("[bold]2/4[/] database", highlight=False)
    upgrade(settings.resolved_database_url)
    console.print(f"    schema at head ({settings.resolved_database_url.split('://')[0]})", highlight=False)

    async def _rest() -> None:
        async with Services(settings) as services:
            kb = services.kb()
            console.print("[bold]3/4[/] knowledge base", highlight=False)
            try:
                stats = await kb.stats()
                chunks = stats.chunks
            except KBUnavailableError:
                chunks = 0
            if chunks == 0:
                try:
                    report = await kb.reload(settings.kb.source)
                except ReloadError as exc:
                    fail(str(exc))
                console.print(
                    f"    indexed {report.files} files, {report.chunks} chunks from {settings.kb.source} "
                    f"in {report.seconds:.1f} s ({len(report.skipped)} skipped)",
                    highlight=False,
                )
            else:
                console.print(f"    {chunks} chunks already indexed ({stats.index})", highlight=False)

            console.print("[bold]4/4[/] ask the local model", highlight=False)
            console.print(f"    [cyan]you:[/] {question}", highlight=False, markup=True)
            channel = ConsoleChannel(await services.conversations())
            await channel.start()
            reply = await channel.ask_once(question)
            console.print(f"    [green]bot:[/] {reply.text}", highlight=False)
            answer = reply.answer
            if answer is None:
                return
            # As customers read them (the article's title), with the file for whoever set the bot up.
            for label, source in zip(answer.source_labels, answer.sources, strict=True):
                console.print(f"      {label} {_named(source)}", highlight=False, markup=False)
            for source in answer.see_also:
                console.print(f"      see also: {_named(source)}", highlight=False, markup=False)
            console.print(
                f"    [dim]grounded={answer.grounded} retrieval {answer.timings.retrieval_ms:.0f} ms, "
                f"first token {answer.timings.ttft_ms or 0:.0f} ms, "
                f"total {answer.timings.total_ms:.0f} ms, logged as conversation {reply.conversation_id}[/]",
                highlight=False,
            )

    run_async(_rest)
    console.print(f"ready in {time.perf_counter() - started:.1f} s", highlight=False)
    if chat and sys.stdin.isatty() and sys.stdout.isatty():
        console.print("Opening the console chat (/new starts over, Ctrl-D quits)…", highlight=False)
        os.execv(sys.executable, [sys.executable, "-m", "bot", "chat"])  # noqa: S606


def _named(source: Source) -> str:
    """A source's customer-facing name, and its file where the name does not already show it."""
    shown = source.display_name
    return shown if not source.source or source.source in shown else f"{shown} ({source.source})"
