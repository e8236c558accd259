"""`serve` (the Telegram bot: long polling or webhook) and the `bench telegram` / `bench load` commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import app, bench_app, console, fail, get_settings, load_questions

if TYPE_CHECKING:
    from telegram import Bot

    from bot.config import Settings
    from bot.devtools.load_bench import BenchResult
    from bot.refresh import Notify
    from bot.services import Services

log = logging.getLogger("bot.serve")


@app.command("serve")
def serve(
    webhook: Annotated[
        str,
        typer.Option(
            "--webhook",
            help="Public HTTPS URL for Telegram's webhook; default: BOT_TELEGRAM__WEBHOOK_URL, "
            "or long polling when both are empty.",
        ),
    ] = "",
    port: Annotated[
        int | None, typer.Option(help="Webhook port (default BOT_TELEGRAM__WEBHOOK_PORT).")
    ] = None,
    listen: Annotated[
        str | None, typer.Option(help="Webhook bind address (default BOT_TELEGRAM__WEBHOOK_LISTEN).")
    ] = None,
) -> None:
    """Run the Telegram bot (and the web chat when BOT_WEB__ENABLED=true). Long polling by default; SIGHUP
    reloads the generator model and the retrieval embedder (`models use`, `models use --embedder`) without a
    restart."""
    settings = get_settings()
    if settings.telegram.token is None and not settings.web.enabled:
        fail("BOT_TELEGRAM__TOKEN is not set: create a bot with @BotFather and put its token in .env")
    url = webhook or settings.telegram.webhook_url
    if url and not url.startswith(("https://", "http://")):
        fail(f"--webhook must be an http(s) URL, got {url!r}")
    asyncio.run(
        _serve(
            settings,
            webhook_url=url,
            listen=listen or settings.telegram.webhook_listen,
            port=port or settings.telegram.webhook_port,
        )
    )


async def _serve(settings: Settings, *, webhook_url: str, listen: str, port: int) -> None:
    from bot.channels.telegram.app import build_bot, run_bot, shared_secret
    from bot.channels.telegram.deps import TelegramDeps
    from bot.channels.telegram.workers import SharedOrderedProcessor
    from bot.kb.base import KBUnavailableError
    from bot.services import Services
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError

    async with Services(settings) as services:
        try:
            await services.conversation_log()
        except SchemaOutdatedError as exc:
            fail(str(exc))
        except StoreUnavailableError as exc:
            # Start degraded rather than crash-loop: users are told the bot cannot take messages, and the
            # log recovers by itself when the database is back.
            log.error("database unavailable at start; running degraded", extra={"error": str(exc)})
        kb = services.kb()
        try:
            await kb.ping()
        except KBUnavailableError as exc:
            log.error("knowledge base unavailable at start; running degraded", extra={"error": str(exc)})
        try:
            await asyncio.to_thread(services.pipeline)
        except Exception as exc:
            # Model files are checked by bot.llm, whose errors say what to fix.
            fail(f"cannot load the model: {exc}")
        stop = asyncio.Event()
        built = None
        if settings.telegram.token is not None:
            deps = TelegramDeps(
                settings.telegram,
                await services.conversations(),
                await services.admin(),
                shared=await services.shared_state(webhook=bool(webhook_url)),
            )
            if deps.shared is not None:
                console.print("update order and flood windows shared through the database (several workers)")
            # Built first: it makes the Telegram operator chat the desk of the one conversation service.
            built = build_bot(deps, polling=not webhook_url)
        web_task: asyncio.Task[None] | None = None
        if settings.web.enabled:
            from bot.channels.web.app import run_web

            web = settings.web
            web_deps = await services.web_deps()
            web_task = asyncio.create_task(run_web(web_deps, stop=stop, host=web.host, port=web.port))
            console.print(f"serving the web chat on http://{web.host}:{web.port}/", highlight=False)
        loop = asyncio.get_running_loop()
        reloads: set[asyncio.Task[None]] = set()
        refresher: asyncio.Task[None] | None = None
        if settings.kb.refresh_interval:
            from bot.refresh import refresh_every

            admin = await services.admin()
            notify = _admin_notifier(settings, built.application.bot if built is not None else None)
            refresher = asyncio.create_task(refresh_every(admin, settings.kb.refresh_interval, notify, stop))
            console.print(
                f"refreshing {len(settings.kb.source_list())} knowledge source(s) every "
                f"{settings.kb.refresh_interval:g} s",
                highlight=False,
            )

        def on_hup() -> None:
            task = loop.create_task(reload_models(services))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        with contextlib.suppress(AttributeError, NotImplementedError):  # no SIGHUP on Windows
            loop.add_signal_handler(signal.SIGHUP, on_hup)
        secret = (
            settings.telegram.webhook_secret.get_secret_value() if settings.telegram.webhook_secret else None
        )
        if secret is None and built is not None and isinstance(built.processor, SharedOrderedProcessor):
            # Several workers: one secret for all of them (see `shared_secret`).
            secret = shared_secret(built.application.bot.token)
        try:
            if built is not None:
                how = "webhook " + webhook_url if webhook_url else "long polling"
                console.print(f"serving Telegram by {how}; Ctrl+C stops")
                await run_bot(
                    built, stop=stop, webhook_url=webhook_url, listen=listen, port=port, secret=secret
                )
        finally:
            if web_task is not None:
                if built is not None:
                    stop.set()  # Telegram has stopped (a signal or a failure): the web channel stops with it
                await web_task
        for task in list(reloads):
            await task
        if refresher is not None:
            stop.set()
            await refresher


def _admin_notifier(settings: Settings, bot: Bot | None) -> Notify:
    """Tells the Telegram admins (BOT_TELEGRAM__ADMIN_IDS) in their private chats; with no Telegram, the log
    (where the failure is already written) and the web console's stats are where admins see it."""

    async def notify(text: str) -> None:
        if bot is None:
            return
        from telegram.error import TelegramError

        for admin_id in settings.telegram.admin_ids:
            try:
                await bot.send_message(admin_id, text)
            except TelegramError as exc:
                log.warning("admin not told", extra={"admin_id": admin_id, "error": str(exc)})

    return notify


async def reload_models(services: Services) -> None:
    """SIGHUP: the retrieval embedder, then the chat model, that the settings and `models use` choose now,
    each without a restart; a failed load keeps that one's old model serving (logged). The embedder first:
    after a switch re-embedded the index elsewhere, searches refuse until it is in."""
    await services.reload_embedder()
    await reload_generator(services)


async def reload_generator(services: Services) -> None:
    """Switch to the model chosen by `models use` (or the settings) without a restart.

    In-flight answers finish on the old model; a failed load keeps the old one serving.
    """
    try:
        info = await services.generator().reload()
    except Exception as exc:
        log.error("model reload failed; the current model keeps serving", extra={"error": str(exc)})
        return
    log.info("model reloaded on SIGHUP", extra={"model": info.name, "version": info.version})


@bench_app.command("telegram")
def bench_telegram(
    users: Annotated[int, typer.Option(min=1, max=10_000, help="Simulated users, all at once.")] = 50,
    messages: Annotated[
        int, typer.Option(min=1, max=1000, help="Questions per user, one after another.")
    ] = 5,
    token_ms: Annotated[float, typer.Option(min=0, help="Synthetic time per streamed token, ms.")] = 8.0,
    runs: Annotated[int, typer.Option(min=1, max=20, help="Repeat and report each run.")] = 1,
) -> None:
    """The Telegram layer alone: simulated users, a synthetic streaming answer, the fake Bot API over HTTP.

    Prints time to first edit and to the final answer (p50/p95/p99), errors (must be 0) and whether
    per-chat order held. The answer pipeline is replaced by a fixed-rate stream so only the channel is
    measured; `bench load` runs the real pipeline.
    """
    from bot.devtools.load_bench import NoKnowledgeBase, SyntheticPipeline, run_bench

    settings = get_settings()
    _quiet_logs()

    async def main() -> int:
        bad = 0
        for run in range(runs):
            result = await run_bench(
                settings,
                SyntheticPipeline(token_ms=token_ms),
                NoKnowledgeBase(),
                users=users,
                messages=messages,
            )
            bad += _print_bench(f"[bold]bench telegram[/] run {run + 1}/{runs}", result)
        return bad

    if asyncio.run(main()):
        raise typer.Exit(1)


@bench_app.command("load")
def bench_load(
    users: Annotated[int, typer.Option(min=1, max=10_000, help="Simulated users, all at once.")] = 100,
    messages: Annotated[
        int, typer.Option(min=1, max=1000, help="Questions per user, one after another.")
    ] = 10,
    questions: Annotated[
        Path | None,
        typer.Option(help="JSONL file with a 'question' per line (default: built-in support questions)."),
    ] = None,
    timeout_s: Annotated[
        float, typer.Option(min=1, help="Give up on an answer after this many seconds.")
    ] = 900.0,
    duration: Annotated[
        float | None,
        typer.Option(
            min=10,
            max=86_400,
            help="Soak: users keep asking until this many seconds have passed (replaces --messages).",
        ),
    ] = None,
    channel: Annotated[
        str,
        typer.Option(help="telegram (through the fake Bot API) or web (the web channel over HTTP)."),
    ] = "telegram",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            help="Above 1: that many real `serve --webhook` processes behind a round-robin proxy, sharing "
            "one database, with --model-servers llama-servers.",
        ),
    ] = 1,
    model_servers: Annotated[
        int, typer.Option(min=1, max=8, help="llama-servers the workers pool (with --workers above 1).")
    ] = 2,
    kill_model_server: Annotated[
        bool, typer.Option(help="With --workers: kill one model server when half the questions are answered.")
    ] = False,
    database_url: Annotated[
        str,
        typer.Option(
            help="With --workers: a bench database for the workers to share (migrated, its update ledger "
            "emptied; never production's); default a fresh SQLite."
        ),
    ] = "",
) -> None:
    """The full pipeline under load: real embedded KB and real default model, through the fake Bot API.

    Prints throughput, p50/p95/p99 time to first token (first edit) and full answer, max queue wait,
    fairness, errors (must be 0), per-chat order, and RSS memory over time with its trend after warm-up
    (a soak passes when that trend is flat). A progress line is printed every minute.
    """
    from bot.devtools.load_bench import DEFAULT_QUESTIONS, run_bench

    if channel not in ("telegram", "web"):
        fail(f"--channel must be telegram or web, got {channel!r}")
    settings = get_settings()
    asked = (
        [item.question for item in load_questions(questions)]
        if questions is not None
        else list(DEFAULT_QUESTIONS)
    )
    _quiet_logs()
    if workers > 1:
        if channel != "telegram" or duration is not None:
            fail("--workers runs the Telegram webhook path with --messages (no --duration, no --channel web)")
        _bench_workers(
            settings,
            workers=workers,
            model_servers=model_servers,
            users=users,
            messages=messages,
            questions=asked,
            timeout_s=timeout_s,
            kill_model_server=kill_model_server,
            database_url=database_url,
        )
        return

    async def main() -> int:
        from bot.kb.base import KBUnavailableError
        from bot.services import Services

        # Room in the generation queue for every simulated user: the bench measures waiting, not "busy".
        llm = settings.llm.model_copy(update={"queue_size": max(settings.llm.queue_size, users + 1)})
        async with Services(settings.model_copy(update={"llm": llm})) as services:
            kb = services.kb()
            try:
                await kb.ping()
            except KBUnavailableError:
                console.print(f"building the knowledge base from {settings.kb.source} first…")
                await kb.reload(settings.kb.source)
            pipeline = await asyncio.to_thread(services.pipeline)
            if channel == "web":
                from bot.devtools.web_bench import run_web_bench as run

                title = "[bold]bench load --channel web[/] (real pipeline over HTTP)"
            else:
                run = run_bench
                title = "[bold]bench load[/] (real pipeline: embedded KB + default model)"
            result = await run(
                settings,
                pipeline,
                kb,
                users=users,
                messages=messages,
                questions=asked,
                timeout_s=timeout_s,
                duration_s=duration,
                progress=lambda line: console.print("  … " + line, highlight=False, markup=False),
            )
        return _print_bench(title, result)

    if asyncio.run(main()):
        raise typer.Exit(1)


def _bench_workers(
    settings: Settings,
    *,
    workers: int,
    model_servers: int,
    users: int,
    messages: int,
    questions: list[str],
    timeout_s: float,
    kill_model_server: bool,
    database_url: str,
) -> None:
    from bot.devtools.workers_bench import WorkersBenchError, run_workers_bench

    try:
        result = asyncio.run(
            run_workers_bench(
                settings,
                workers=workers,
                model_servers=model_servers,
                users=users,
                messages=messages,
                questions=questions,
                timeout_s=timeout_s,
                kill_model_server=kill_model_server,
                database_url=database_url,
                progress=lambda line: console.print("  … " + line, highlight=False, markup=False),
            )
        )
    except WorkersBenchError as exc:
        fail(str(exc))
    console.print(f"[bold]bench load --workers {workers}[/] (real workers, webhook, shared database)")
    for line in result.lines():
        console.print("  " + line, highlight=False, markup=False)
    if result.problems:
        raise typer.Exit(1)


def _print_bench(title: str, result: BenchResult) -> int:
    """Print a bench's figures; return how many problems it found (errors, plus one for broken order)."""
    console.print(title)
    for line in result.lines():
        console.print("  " + line, highlight=False, markup=False)
    return result.error_count + (0 if result.order_held else 1)


def _quiet_logs() -> None:
    # Per-answer info lines would swamp the figures; warnings and errors still show.
    logging.getLogger("bot").setLevel(logging.WARNING)
