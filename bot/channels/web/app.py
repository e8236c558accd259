"""Build the web app (widget, demo help center, admin console) and run it with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import secrets
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Generator
from concurrent.futures import Future
from pathlib import Path, PurePosixPath
from typing import Generic, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import NotModifiedResponse, StaticFiles

from bot import texts
from bot.channels.web import texts as web_texts
from bot.channels.web.admin_console import UPLOAD_PATH, AdminConsole
from bot.channels.web.articles import Article, article_title, render_article
from bot.channels.web.chat import WidgetApi, language_hint
from bot.channels.web.deps import WebDeps
from bot.channels.web.sections import article_href
from bot.channels.web.security import FAVICON_LINK, FAVICON_PATH, FAVICON_SVG, Guard
from bot.kb.loaders import is_supported

log = logging.getLogger("bot.channels.web")

T = TypeVar("T")

STATIC = Path(__file__).with_name("static")
_STATIC_FILES = StaticFiles(directory=STATIC)
SECRET_FILE = "web-secret.key"  # noqa: S105 - a file name, not a secret
# Help-center files the demo shows as articles (others are listed but not shown).
TEXT_SUFFIXES = frozenset({".md", ".rst", ".txt", ".html", ".htm", ".csv", ".jsonl", ".yaml", ".yml"})
MAX_ARTICLE_BYTES = 1024 * 1024
# Article pages kept in memory: parsing a large article on every GET of this public route costs seconds of
# GIL-bound CPU that the chat streams share. Bounded by count and by size (an escaped page can be several
# times its file).
ARTICLE_CACHE_ENTRIES = 32
ARTICLE_CACHE_CHARS = 32 * 1024 * 1024
# The home page's titles: one parse per file and version, for every file of the folder.
TITLE_CACHE_ENTRIES = 100_000
TITLE_CACHE_CHARS = 16 * 1024 * 1024


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


def _page(title: str, body: str, language: str) -> str:
    # Arabic, Persian and Hebrew pages read right to left (`texts.direction`).
    return (
        f'<!doctype html><html lang="{html.escape(language, quote=True)}" dir="{texts.direction(language)}">'
        '<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>{FAVICON_LINK}"
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


def _listing(source: Path, titles: TitleCache) -> list[tuple[str, list[tuple[str, str]]]]:
    """The articles by folder (the top folder first, then the folders by name), each folder's by title:
    (folder, [(title, name)])."""
    folders: dict[str, list[tuple[str, str]]] = {}
    for name in _articles(source):
        title = PurePosixPath(name).name
        found = _find_article(source, name)
        if isinstance(found, Path) and is_supported(found):
            try:
                if found.stat().st_size <= MAX_ARTICLE_BYTES:
                    title = titles.get(found, name)
            except OSError:
                pass  # gone since it was listed: shown by its name, its page says it is not there
        folder = str(PurePosixPath(name).parent)
        folders.setdefault("" if folder == "." else folder, []).append((title, name))
    return [
        (folder, sorted(folders[folder], key=lambda item: (item[0].casefold(), item[1])))
        for folder in sorted(folders)
    ]


class HelpCenter:
    """The demo site: the sample help center's articles, with the widget on every page."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.pages = ArticleCache(ARTICLE_CACHE_ENTRIES, ARTICLE_CACHE_CHARS)
        self.titles = TitleCache(TITLE_CACHE_ENTRIES, TITLE_CACHE_CHARS)

    async def home(self, request: Request) -> Response:
        language = language_hint(request)
        folders = await asyncio.to_thread(_listing, self.source, self.titles)
        groups = []
        for folder, articles in folders:
            items = "".join(
                f'<li><a href="{html.escape(article_href(name), quote=True)}" dir="auto">'
                f"{html.escape(title)}</a>"
                f' <small class="path">{html.escape(name)}</small></li>'
                for title, name in articles
            )
            heading = f"<h3>{html.escape(folder)}</h3>" if folder else ""
            groups.append(f"<section>{heading}<ul class='articles'>{items}</ul></section>")
        body = (
            f"<header><h1>{_t(web_texts.HELP_CENTER, language)}</h1>"
            f"<p>{_t(web_texts.HELP_CENTER_INTRO, language)}</p></header>"
            f"<main><h2>{_t(web_texts.ARTICLES, language)}</h2>"
            # The articles' titles and folders are the help center's, in the language it is written in,
            # which the page does not know: "" says so, rather than the visitor's language; the list and
            # each title read in their own direction (an English help center's list on an Arabic page).
            f"<div class='folders' lang='' dir='auto'>{''.join(groups)}</div></main>"
            '<script src="/widget.js" data-open="true" defer></script>'
        )
        return _demo_page(texts.translate(web_texts.HELP_CENTER, language), body, language)

    async def article(self, request: Request) -> Response:
        language = language_hint(request)
        name = str(request.path_params["path"])
        found = await asyncio.to_thread(_find_article, self.source, name)
        if isinstance(found, str):
            response = PlainTextResponse(texts.translate(found, language), status_code=404)
            response.headers["vary"] = "Accept-Language"
            return response
        if found.suffix.lower() == ".pdf":
            return FileResponse(found, media_type="application/pdf")
        article = await asyncio.to_thread(self.pages.get, found, name)
        # Back points to where a line starts: left, and right on a right-to-left page.
        back = "→" if texts.direction(language) == "rtl" else "←"
        body = (
            f"<header><p><a href='/'>{back} {_t(web_texts.HELP_CENTER, language)}</a></p></header>"
            # The article as written, in its own language and direction (see `home`); the page's title is its
            # title.
            f"<main lang='' dir='auto'>{article.html}</main>"
            '<script src="/widget.js" defer></script>'
        )
        return _demo_page(article.title, body, language)


def _t(message: str, language: str) -> str:
    """A demo page's own text in `language`, escaped for the page."""
    return html.escape(texts.translate(message, language))


def _demo_page(title: str, body: str, language: str) -> HTMLResponse:
    """A demo page whose own texts are in the visitor's `language`, as the widget's labels are; `lang` says
    which (English where no catalog has them)."""
    page = _page(title, body, texts.shown_language(language))
    # Its texts follow the browser's Accept-Language: a cache must not serve one visitor's to another.
    return HTMLResponse(page, headers={"vary": "Accept-Language"})


class _FileCache(ABC, Generic[T]):
    """What is made of the files read last, each under its file's version (modification time and size): an
    unchanged file is not parsed again, a changed one is parsed afresh. Two threads that ask for the same
    version at once parse it once: the second waits for the first's result, without a lock held across the
    parse, so other files are made meanwhile."""

    def __init__(self, max_entries: int, max_chars: int) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        # Resolved path → (mtime_ns, size) and what was made of it; least recently used first.
        self._made: OrderedDict[str, tuple[tuple[int, int], T]] = OrderedDict()
        # Resolved path → the version being made now and its result, which later callers wait for.
        self._making: dict[str, tuple[tuple[int, int], Future[T]]] = {}
        self._chars = 0
        self._lock = threading.Lock()  # values are made in worker threads

    @abstractmethod
    def _make(self, path: Path, name: str, data: bytes) -> T:
        """What is made of the file's bytes (in a worker thread)."""

    @abstractmethod
    def _size(self, value: T) -> int:
        """How much of `max_chars` the value takes."""

    def get(self, path: Path, name: str) -> T:
        key = str(path)
        with path.open("rb") as handle:
            # The version of the bytes read: a file replaced later has a new one, and is parsed again.
            stat = os.fstat(handle.fileno())
            version = (stat.st_mtime_ns, stat.st_size)
            with self._lock:
                cached = self._made.get(key)
                if cached is not None and cached[0] == version:
                    self._made.move_to_end(key)
                    return cached[1]
                making = self._making.get(key)
                if making is None or making[0] != version:
                    making = (version, Future())
                    self._making[key] = making
                    data: bytes | None = handle.read()
                else:
                    data = None  # another thread parses this version: its result is this one
        result = making[1]
        if data is None:
            return result.result()
        try:
            value = self._make(path, name, data)
        except BaseException as exc:
            with self._lock:
                if self._making.get(key) is making:
                    del self._making[key]
            result.set_exception(exc)
            raise
        size = self._size(value)
        with self._lock:
            if self._making.get(key) is making:
                del self._making[key]
            old = self._made.pop(key, None)
            self._chars -= self._size(old[1]) if old else 0
            if size <= self.max_chars:
                self._made[key] = (version, value)
                self._chars += size
            while len(self._made) > self.max_entries or self._chars > self.max_chars:
                _, (_, dropped) = self._made.popitem(last=False)
                self._chars -= self._size(dropped)
        result.set_result(value)
        return value


class ArticleCache(_FileCache[Article]):
    """The pages of the articles shown last (`articles.render_article`)."""

    def _make(self, path: Path, name: str, data: bytes) -> Article:
        # Newlines as text mode reads them, so the lines shown are the lines the headings were found on.
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
        return render_article(name, path.suffix, data, text)

    def _size(self, value: Article) -> int:
        return len(value.html) + len(value.title)


class TitleCache(_FileCache[str]):
    """The titles of the articles the home page lists (`articles.article_title`)."""

    def _make(self, path: Path, name: str, data: bytes) -> str:
        return article_title(name, path.suffix, data)

    def _size(self, value: str) -> int:
        return len(value)


def _find_article(source: Path, name: str) -> Path | str:
    """The file of a help-center article, or why there is none to show (in English: `texts.translate`)."""
    root = source.resolve()
    try:
        target = (root / name).resolve()
        # Only files inside the knowledge folder, never a path that climbs out of it.
        if not target.is_relative_to(root) or not target.is_file():
            return web_texts.NO_SUCH_ARTICLE
        size = target.stat().st_size
    except (ValueError, OSError):
        # A NUL byte in the path (ValueError) or a name longer than the file system allows (OSError).
        return web_texts.NO_SUCH_ARTICLE
    if target.suffix.lower() == ".pdf":
        return target
    if target.suffix.lower() not in TEXT_SUFFIXES or size > MAX_ARTICLE_BYTES:
        return web_texts.ARTICLE_NOT_SHOWN
    return target


async def _widget_js(request: Request) -> Response:
    """The widget's script, as the static files are served: a browser that has it (its ETag or date) gets a
    304, which is what keeping it a short while (`security.STATIC_CACHE`) relies on."""
    path = STATIC / "widget.js"
    stat = await asyncio.to_thread(os.stat, path)
    response = FileResponse(path, media_type="text/javascript", stat_result=stat)
    if _STATIC_FILES.is_not_modified(response.headers, request.headers):
        return NotModifiedResponse(response.headers)
    return response


async def _favicon(request: Request) -> Response:
    """The pages' icon, for a browser that asks for it where no page of ours names it (a PDF, an error)."""
    return Response(FAVICON_SVG, media_type="image/svg+xml")


def build_app(deps: WebDeps) -> Starlette:
    """The whole web app behind its guard; the admin console only when an admin token is set."""
    widget = WidgetApi(deps)
    help_center = HelpCenter(deps.admin.kb_source)
    routes: list[BaseRoute] = [
        Route("/", help_center.home, methods=["GET"]),
        Route("/help/{path:path}", help_center.article, methods=["GET"]),
        Route("/widget.js", _widget_js, methods=["GET"]),
        Route(FAVICON_PATH, _favicon, methods=["GET"]),
        Mount("/static", app=_STATIC_FILES, name="static"),
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
