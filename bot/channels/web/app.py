"""Build the web app (widget, demo help center, admin console) and run it with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.channels.web.admin_console import UPLOAD_PATH, AdminConsole
from bot.channels.web.chat import WidgetApi
from bot.channels.web.deps import WebDeps
from bot.channels.web.sections import anchored_html, article_href
from bot.channels.web.security import Guard

log = logging.getLogger("bot.channels.web")

STATIC = Path(__file__).with_name("static")
SECRET_FILE = "web-secret.key"  # noqa: S105 - a file name, not a secret
# Help-center files the demo shows as text (others are listed but not shown).
TEXT_SUFFIXES = frozenset({".md", ".rst", ".txt", ".html", ".htm", ".csv", ".jsonl", ".yaml", ".yml"})
MAX_ARTICLE_BYTES = 1024 * 1024
# Anchored article pages kept in memory: parsing a large article on every GET of this public route costs
# seconds of GIL-bound CPU that the chat streams share. Bounded by count and by size (an escaped page can be
# several times its file).
ARTICLE_CACHE_ENTRIES = 32
ARTICLE_CACHE_CHARS = 32 * 1024 * 1024


def load_or_create_secret(data_dir: Path) -> str:
    """The cookie signing key kept in the data dir (created once, readable by its owner only), for when
    BOT_WEB__SECRET_KEY is not set: cookies then survive restarts without any configuration."""
    path = data_dir / SECRET_FILE
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    os.replace(tmp, path)
    log.info("generated the web cookie signing key", extra={"path": str(path)})
    return key


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="stylesheet" href="/static/site.css"></head>'
        f"<body>{body}</body></html>"
    )


def _articles(source: Path) -> list[str]:
    if not source.is_dir():
        return []
    return sorted(
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts)
    )


class HelpCenter:
    """The demo site: the sample help center's articles, with the widget on every page."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.pages = ArticleCache(ARTICLE_CACHE_ENTRIES, ARTICLE_CACHE_CHARS)

    async def home(self, request: Request) -> Response:
        names = await asyncio.to_thread(_articles, self.source)
        items = "".join(
            f'<li><a href="{html.escape(article_href(name), quote=True)}">{html.escape(name)}</a></li>'
            for name in names
        )
        body = (
            "<header><h1>Help center</h1><p>Browse the articles, or ask the assistant "
            "(bottom right): it answers from these articles and links the ones it used.</p></header>"
            f"<main><h2>Articles</h2><ul class='articles'>{items}</ul></main>"
            '<script src="/widget.js" data-open="true" defer></script>'
        )
        return HTMLResponse(_page("Help center", body))

    async def article(self, request: Request) -> Response:
        name = str(request.path_params["path"])
        found = await asyncio.to_thread(_find_article, self.source, name)
        if isinstance(found, str):
            return PlainTextResponse(found, status_code=404)
        if found.suffix.lower() == ".pdf":
            return FileResponse(found, media_type="application/pdf")
        article = await asyncio.to_thread(self.pages.article_html, found, name)
        body = (
            f"<header><p><a href='/'>← Help center</a></p><h1>{html.escape(name)}</h1></header>"
            f"<main><pre class='article'>{article}</pre></main>"
            '<script src="/widget.js" defer></script>'
        )
        return HTMLResponse(_page(name, body))


class ArticleCache:
    """The anchored HTML of the articles shown last, each under its file's version (modification time and
    size): a GET of an unchanged article does not parse it again, a changed one is parsed afresh."""

    def __init__(self, max_entries: int, max_chars: int) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        # Resolved path → (mtime_ns, size) and the page; least recently shown first.
        self._pages: OrderedDict[str, tuple[tuple[int, int], str]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()  # pages are made in worker threads

    def article_html(self, path: Path, name: str) -> str:
        """The article's text, escaped, with an id on every section heading (`sections.anchored_html`)."""
        key = str(path)
        with path.open("rb") as handle:
            # The version of the bytes read: a file replaced later has a new one, and is parsed again.
            stat = os.fstat(handle.fileno())
            version = (stat.st_mtime_ns, stat.st_size)
            with self._lock:
                cached = self._pages.get(key)
                if cached is not None and cached[0] == version:
                    self._pages.move_to_end(key)
                    return cached[1]
            data = handle.read()
        # Newlines as text mode reads them, so the lines shown are the lines the headings were found on.
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
        page = anchored_html(name, path.suffix, data, text)
        with self._lock:
            old = self._pages.pop(key, None)
            self._chars -= len(old[1]) if old else 0
            if len(page) <= self.max_chars:
                self._pages[key] = (version, page)
                self._chars += len(page)
            while len(self._pages) > self.max_entries or self._chars > self.max_chars:
                _, (_, dropped) = self._pages.popitem(last=False)
                self._chars -= len(dropped)
        return page


def _find_article(source: Path, name: str) -> Path | str:
    """The file of a help-center article, or why there is none to show."""
    root = source.resolve()
    try:
        target = (root / name).resolve()
        # Only files inside the knowledge folder, never a path that climbs out of it.
        if not target.is_relative_to(root) or not target.is_file():
            return "No such article."
        size = target.stat().st_size
    except (ValueError, OSError):
        # A NUL byte in the path (ValueError) or a name longer than the file system allows (OSError).
        return "No such article."
    if target.suffix.lower() == ".pdf":
        return target
    if target.suffix.lower() not in TEXT_SUFFIXES or size > MAX_ARTICLE_BYTES:
        return "This article cannot be shown here."
    return target


async def _widget_js(request: Request) -> Response:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript")


def build_app(deps: WebDeps) -> Starlette:
    """The whole web app behind its guard; the admin console only when an admin token is set."""
    widget = WidgetApi(deps)
    help_center = HelpCenter(deps.admin.kb_source)
    routes: list[BaseRoute] = [
        Route("/", help_center.home, methods=["GET"]),
        Route("/help/{path:path}", help_center.article, methods=["GET"]),
        Route("/widget.js", _widget_js, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        *widget.routes(),
    ]
    console = AdminConsole(deps)
    routes += console.routes()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # Answers go on being written when their visitor reloads; the server's stop ends them.
        await widget.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(
        Guard,
        settings=deps.settings,
        upload_path=UPLOAD_PATH,
        upload_limit_bytes=deps.upload_limit_bytes,
        # A browser refused on a console page or form reads why on the console's own page, not as JSON.
        admin_page=console.refusal,
    )
    return app


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the command that runs it owns SIGINT/SIGTERM/SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def run_web(deps: WebDeps, *, stop: asyncio.Event, host: str, port: int) -> None:
    """Serve until `stop` is set; in-flight answers get a few seconds to finish."""
    config = uvicorn.Config(
        build_app(deps),
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=deps.settings.forwarded_allow_ips,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        server.should_exit = True
        await task
    else:
        stopping.cancel()
        task.result()  # a failed start (port in use) surfaces here
        if not server.started:
            raise OSError(f"the web server could not start on {host}:{port}")
