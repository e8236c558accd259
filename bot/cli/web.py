"""`python -m bot web`: the web chat widget, the demo help center and the admin console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import app, console, fail, get_settings

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

log = logging.getLogger("bot.web")


@app.command("web")
def web(
    host: Annotated[str | None, typer.Option(help="Bind address (default BOT_WEB__HOST).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default BOT_WEB__PORT).")] = None,
) -> None:
    """Serve the web channel: the widget (`/widget.js`), a demo help center (`/`) and, with
    BOT_WEB__ADMIN_TOKEN set, the admin console (`/admin`). Ctrl+C stops; SIGHUP reloads the chat model and
    the retrieval embedder (`models use`, `models use --embedder`) without a restart."""
    settings = get_settings()
    asyncio.run(
        _web(settings, host=host or settings.web.host, port=settings.web.port if port is None else port)
    )


async def prepare(services: Services) -> None:
    """What `serve` checks before it takes messages: the log (degraded if down), the KB, the model."""
    from bot.kb.base import KBUnavailableError
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError

    try:
        await services.conversation_log()
    except SchemaOutdatedError as exc:
        fail(str(exc))
    except StoreUnavailableError as exc:
        log.error("database unavailable at start; running degraded", extra={"error": str(exc)})
    try:
        await services.kb().ping()
    except KBUnavailableError as exc:
        log.error("knowledge base unavailable at start; running degraded", extra={"error": str(exc)})
    try:
        await asyncio.to_thread(services.pipeline)
    except Exception as exc:
        fail(f"cannot load the model: {exc}")


async def _web(settings: Settings, *, host: str, port: int) -> None:
    from bot.channels.web.app import run_web
    from bot.cli.serve import reload_models
    from bot.services import Services

    async with Services(settings) as services:
        await prepare(services)
        deps = await services.web_deps()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        reloads: set[asyncio.Task[None]] = set()

        def on_hup() -> None:
            task = loop.create_task(reload_models(services))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        with contextlib.suppress(AttributeError, NotImplementedError):  # no SIGHUP on Windows
            loop.add_signal_handler(signal.SIGHUP, on_hup)
        admin = "on" if settings.web.admin_token is not None else "off (set BOT_WEB__ADMIN_TOKEN)"
        console.print(
            f"serving the web chat on http://{host}:{port}/ (admin console {admin}); Ctrl+C stops",
            highlight=False,
        )
        try:
            await run_web(deps, stop=stop, host=host, port=port)
        except OSError as exc:
            fail(f"the web server cannot listen on {host}:{port}: {exc}")
        for task in list(reloads):
            await task
