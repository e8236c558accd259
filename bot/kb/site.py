"""Crawl a help-center website into documents: robots.txt, sitemaps, conditional requests and page limits."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import io
import json
import logging
import re
import sqlite3
import time
from collections import deque
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from bot.config import CrawlSettings
from bot.kb.base import SkippedFile, SourceKind, SourceReport
from bot.kb.filetypes import decode_declared, decode_text
from bot.kb.loaders import file_title
from bot.kb.parsers import Document, LoadError, Section, parse_html
from bot.kb.sources import LoadedSource, SourceError, now_iso
from bot.kb.validate import UnsafeFileError

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("bot.kb.site")

MAX_REDIRECTS = 10
MAX_SITEMAPS = 50  # sitemap files read per sync (an index may point at many)
MAX_SITEMAP_MB = 50.0  # the sitemap protocol's own limit, uncompressed
MAX_CRAWL_DELAY_S = 30.0  # a robots.txt Crawl-delay above this is capped, or a sync would take days
ROBOTS_MB = 0.5  # Google reads the first 500 KiB of a robots.txt
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Links to files that are never help-center pages: not even asked for.
_SKIP_SUFFIXES = re.compile(
    r"\.(?:png|jpe?g|gif|svg|webp|ico|bmp|css|js|mjs|map|json|woff2?|ttf|eot|otf|zip|gz|tgz|bz2|xz|7z|rar|"
    r"tar|exe|dmg|msi|deb|rpm|iso|mp3|mp4|m4a|wav|ogg|webm|mov|avi|woff|rss|atom)$",
    re.IGNORECASE,
)
_LOC = re.compile(rb"<loc>\s*(.*?)\s*</loc>", re.IGNORECASE | re.DOTALL)
_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_META_ROBOTS = re.compile(r"""<meta\s[^>]*name\s*=\s*["']?robots["']?[^>]*>""", re.IGNORECASE)
_CONTENT = re.compile(r"""content\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


class FetchError(Exception):
    """One request failed; the message is the reason shown in the report."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.transient = transient  # a timeout or a server error: the page may be back next time


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


class Fetcher(Protocol):
    """One HTTP GET without following redirects; bodies above `max_bytes` and slow answers raise."""

    async def get(self, url: str, headers: Mapping[str, str], max_bytes: int) -> Response: ...

    async def close(self) -> None: ...


class HttpFetcher:
    """`Fetcher` over aiohttp, with a whole-request timeout and a streamed size cap."""

    def __init__(self, settings: CrawlSettings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def get(self, url: str, headers: Mapping[str, str], max_bytes: int) -> Response:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._settings.timeout_s),
                headers={"User-Agent": self._settings.user_agent},
                auto_decompress=True,
            )
        session = self._session
        limit_mb = f"{max_bytes / 1e6:g} MB"
        try:
            async with session.get(url, headers=dict(headers), allow_redirects=False) as response:
                declared = response.content_length
                if declared is not None and declared > max_bytes:
                    raise FetchError(f"larger than {limit_mb} ({declared / 1e6:.1f} MB)", transient=False)
                body = bytearray()
                async for piece in response.content.iter_chunked(65536):
                    body += piece
                    if len(body) > max_bytes:
                        raise FetchError(f"larger than {limit_mb}", transient=False)
                return Response(
                    url=url,
                    status=response.status,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=bytes(body),
                )
        except TimeoutError:
            raise FetchError(
                f"no complete answer within {self._settings.timeout_s:g} s", transient=True
            ) from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"request failed ({exc.__class__.__name__}: {exc})", transient=True) from None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


# --------------------------------------------------------------------------------------------- URLs


def normalize(url: str) -> str:
    """The form pages are known by: no fragment, lower-case scheme and host, no default port, a path."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _host(url: str) -> str:
    return urlsplit(url).netloc


def is_sitemap(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith((".xml", ".xml.gz"))


def sitemap_urls(body: bytes) -> tuple[list[str], bool]:
    """The `<loc>`s of a sitemap and whether it is a sitemap index (its locs are further sitemaps).

    A regular expression, not an XML parser: a sitemap is a flat list, and entities or DTDs in a hostile
    one are then never expanded.
    """
    head = body[:2048].lower()
    urls = [html.unescape(m.group(1).decode("utf-8", "replace")) for m in _LOC.finditer(body)]
    return urls, b"<sitemapindex" in head


def page_links(base: str, text: str) -> list[str]:
    out: list[str] = []
    for match in _HREF.finditer(text):
        href = html.unescape(next(group for group in match.groups() if group is not None)).strip()
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
            continue
        out.append(urljoin(base, href))
    return out


def meta_robots(text: str) -> set[str]:
    """The page's `<meta name="robots">` directives (noindex, nofollow, none), lower-cased."""
    found: set[str] = set()
    for tag in _META_ROBOTS.finditer(text[:200_000]):
        content = _CONTENT.search(tag.group(0))
        if content:
            found |= {part.strip().lower() for part in content.group(1).split(",")}
    if "none" in found:
        found |= {"noindex", "nofollow"}
    return found


def decode_page(body: bytes, content_type: str) -> str:
    """The page's text: the charset of the Content-Type header first, then the page's own declaration,
    each read as browsers read it (`codec_for_label`: "gb2312" is GBK, "iso-8859-1" windows-1252)."""
    match = _CHARSET.search(content_type)
    if match and not body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            return decode_declared(body, match.group(1))
        except (LookupError, UnicodeError) as exc:
            raise UnsafeFileError(
                f"not valid {match.group(1)} text, as its Content-Type says ({exc})"
            ) from None
    return decode_text(body, declares_charset=True, website=True)


# -------------------------------------------------------------------------------------------- cache


@dataclass(frozen=True, slots=True)
class CachedPage:
    url: str  # as asked
    final_url: str  # after redirects
    etag: str
    last_modified: str
    document: Document | None  # None: the page had no text worth indexing
    links: tuple[str, ...]


class PageCache:
    """Validators, documents and links of every page of one site, so an unchanged page is one small request.

    A SQLite file beside the index (`data/sites.sqlite`); rows are keyed by the site as configured.
    """

    def __init__(self, path: Path, site: str) -> None:
        self._path = path
        self._site = site

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, timeout=30)
        db.execute(
            "CREATE TABLE IF NOT EXISTS pages (site TEXT NOT NULL, url TEXT NOT NULL, "
            "final_url TEXT NOT NULL, etag TEXT NOT NULL, last_modified TEXT NOT NULL, document TEXT, "
            "links TEXT NOT NULL, "
            "PRIMARY KEY (site, url))"
        )
        return db

    def load(self) -> dict[str, CachedPage]:
        try:
            with closing(self._connect()) as db:
                rows = db.execute(
                    "SELECT url, final_url, etag, last_modified, document, links FROM pages WHERE site = ?",
                    (self._site,),
                ).fetchall()
        except sqlite3.Error as exc:
            log.warning("page cache unreadable; every page is fetched in full", extra={"error": str(exc)})
            return {}
        out: dict[str, CachedPage] = {}
        for url, final_url, etag, last_modified, document, links in rows:
            try:
                out[url] = CachedPage(
                    url,
                    final_url,
                    etag,
                    last_modified,
                    _document_from_json(document),
                    tuple(json.loads(links)),
                )
            except (ValueError, TypeError, KeyError):
                continue  # a damaged row: the page is fetched in full
        return out

    def save(self, pages: Iterable[CachedPage]) -> None:
        """Replace the site's rows with `pages` (pages that left the site leave the cache)."""
        rows = [
            (
                self._site,
                p.url,
                p.final_url,
                p.etag,
                p.last_modified,
                _document_to_json(p.document),
                json.dumps(p.links),
            )
            for p in pages
        ]
        try:
            with closing(self._connect()) as db, db:
                db.execute("DELETE FROM pages WHERE site = ?", (self._site,))
                db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            log.warning("page cache not saved; the next sync fetches every page", extra={"error": str(exc)})


def _document_to_json(document: Document | None) -> str | None:
    if document is None:
        return None
    return json.dumps(
        {
            "source": document.source,
            "title": document.title,
            "url": document.url,
            "sections": [[s.heading, list(s.heading_path), s.text, s.url] for s in document.sections],
        },
        ensure_ascii=False,
    )


def _document_from_json(text: str | None) -> Document | None:
    if text is None:
        return None
    data = json.loads(text)
    sections = tuple(Section(h, tuple(path), body, url) for h, path, body, url in data["sections"])
    return Document(source=data["source"], title=data["title"], sections=sections, url=data["url"])


# ------------------------------------------------------------------------------------------- crawler


@dataclass(slots=True)
class _Tally:
    fetched: int = 0
    not_modified: int = 0
    kept: int = 0
    disallowed: int = 0


class SiteSource:
    """A help-center website: a page (and the pages under it), a site root, or a `sitemap.xml`.

    Only the start URL's host (and `allowed_hosts`) is fetched, robots.txt is obeyed, requests are spaced
    by `delay_s` (or the site's Crawl-delay) with at most `concurrency` at once, and every request has a
    deadline. Unchanged pages cost one conditional request. A broken, slow, oversized or non-HTML page is
    skipped with its reason; only an unreachable site or robots.txt fails the source.
    """

    kind: SourceKind = "site"

    def __init__(
        self,
        url: str,
        settings: CrawlSettings,
        cache_path: Path,
        fetcher: Fetcher | None = None,
        max_page_mb: float | None = None,
    ) -> None:
        self._url = normalize(url)
        self.settings = settings
        self.cache = PageCache(cache_path, self._url)
        self._fetcher = fetcher
        self.max_bytes = int((max_page_mb or settings.max_page_mb) * 1e6)
        start = urlsplit(self._url)
        self.hosts = {start.netloc} | {h.lower() for h in settings.allowed_hosts}
        # A page's own folder bounds the crawl: /docs/start.html crawls /docs/…; a root crawls the site.
        self._prefix = start.path[: start.path.rfind("/") + 1] or "/"
        self.follow_links = not is_sitemap(self._url)

    @property
    def name(self) -> str:
        return self._url

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc not in self.hosts:
            return False
        if _SKIP_SUFFIXES.search(parts.path):
            return False
        return (
            not self.follow_links
            or parts.netloc != urlsplit(self._url).netloc
            or parts.path.startswith(self._prefix)
        )

    async def load(self) -> LoadedSource:
        fetcher = self._fetcher or HttpFetcher(self.settings)
        try:
            return await _Crawl(self, fetcher).run()
        finally:
            if self._fetcher is None:
                await fetcher.close()


class _Crawl:
    """One sync of one site."""

    def __init__(self, source: SiteSource, fetcher: Fetcher) -> None:
        self.source = source
        self.settings = source.settings
        self.fetcher = fetcher
        self.started = time.perf_counter()
        self.tally = _Tally()
        self.skipped: list[SkippedFile] = []
        self.redirects: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.pages: dict[str, CachedPage] = {}  # url asked -> what it gave, for the cache
        self.documents: dict[str, Document] = {}  # final url -> document
        self.digests: dict[str, str] = {}  # text digest -> final url, so a page served twice counts once
        self.previous: dict[str, CachedPage] = {}
        self.robots: object | None = None
        self.delay = self.settings.delay_s
        self._next_slot = 0.0
        self._slot_lock = asyncio.Lock()

    # ------------------------------------------------------------------------------------- requests

    async def _polite(self) -> None:
        """Space requests to the site by the delay, whatever the concurrency."""
        async with self._slot_lock:
            now = time.monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self.delay
        if wait > 0:
            await asyncio.sleep(wait)

    async def _get(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        *,
        site_wide: bool = False,
    ) -> tuple[Response, list[str]]:
        """GET with redirects followed by hand, each hop checked against the scope (the allowed hosts alone
        when `site_wide`: robots.txt and sitemaps); returns the addresses that redirected."""
        hops: list[str] = []
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            await self._polite()
            response = await self.fetcher.get(current, headers or {}, max_bytes or self.source.max_bytes)
            if response.status not in (301, 302, 303, 307, 308):
                return response, hops
            location = response.headers.get("location", "")
            if not location:
                raise FetchError(f"redirect {response.status} without a Location", transient=False)
            target = normalize(urljoin(current, location))
            hops.append(current)
            inside = (
                urlsplit(target).netloc in self.source.hosts if site_wide else self.source.in_scope(target)
            )
            if not inside:
                raise FetchError(f"redirects outside the site, to {target}", transient=False)
            if target in hops or target == current:
                raise FetchError("redirect loop", transient=False)
            current = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects", transient=False)

    # ---------------------------------------------------------------------------------------- robots

    async def _read_robots(self) -> None:
        from protego import Protego

        start = urlsplit(self.source.name)
        robots_url = urlunsplit((start.scheme, start.netloc, "/robots.txt", "", ""))
        try:
            response, _ = await self._get(robots_url, max_bytes=int(ROBOTS_MB * 1e6), site_wide=True)
        except FetchError as exc:
            if not exc.transient:  # too large, or redirected away: as if there were none (RFC 9309)
                self.notes.append(f"robots.txt not used: {exc}")
                return
            raise SourceError(f"{robots_url} could not be read ({exc}); nothing was fetched") from None
        if response.status >= 500:
            # RFC 9309: an unreachable robots.txt means the whole site is disallowed for now.
            raise SourceError(f"{robots_url} answered {response.status}; nothing was fetched (RFC 9309)")
        if response.status != 200:
            return  # 4xx: no rules, everything is allowed
        robots = Protego.parse(response.body.decode("utf-8", "replace"))
        self.robots = robots
        delay = robots.crawl_delay(self.settings.user_agent)
        if delay:
            self.delay = max(self.delay, min(float(delay), MAX_CRAWL_DELAY_S))

    def allowed(self, url: str) -> bool:
        robots = self.robots
        return robots is None or bool(robots.can_fetch(url, self.settings.user_agent))  # type: ignore[attr-defined]

    # -------------------------------------------------------------------------------------- sitemaps

    async def _sitemap_pages(self) -> list[str]:
        todo: deque[str] = deque([self.source.name])
        pages: list[str] = []
        read = 0
        while todo and read < MAX_SITEMAPS:
            url = todo.popleft()
            read += 1
            try:
                response, _ = await self._get(url, max_bytes=int(MAX_SITEMAP_MB * 1e6), site_wide=True)
            except FetchError as exc:
                if url == self.source.name:
                    raise SourceError(f"the sitemap {url} could not be read ({exc})") from None
                self.skipped.append(SkippedFile(url, f"sitemap not read: {exc}"))
                continue
            if response.status != 200:
                if url == self.source.name:
                    raise SourceError(f"the sitemap {url} answered {response.status}")
                self.skipped.append(SkippedFile(url, f"sitemap not read: HTTP {response.status}"))
                continue
            try:
                # Up to 50 MB of XML: read in a worker thread, off the event loop.
                locs, is_index = await asyncio.to_thread(_read_sitemap, response.body)
            except (OSError, EOFError, ValueError) as exc:
                self.skipped.append(SkippedFile(url, f"sitemap not read: {exc}"))
                continue
            for loc in locs:
                target = normalize(loc)
                if not self.source.in_scope(target):
                    continue
                (todo if is_index else pages).append(target)
        if todo:
            self.notes.append(f"more than {MAX_SITEMAPS} sitemaps; {len(todo)} not read")
        return pages

    # ----------------------------------------------------------------------------------------- pages

    async def run(self) -> LoadedSource:
        self.previous = await asyncio.to_thread(self.source.cache.load)
        await self._read_robots()
        if self.source.follow_links:
            seeds = [self.source.name]
        else:
            seeds = await self._sitemap_pages()
            if not seeds:
                raise SourceError(f"the sitemap {self.source.name} lists no page of the site")
        queue: deque[str] = deque()
        seen: set[str] = set()
        limit = self.settings.max_pages
        not_followed = 0
        for url in seeds:
            if url not in seen:
                seen.add(url)
                queue.append(url)
        pending: set[asyncio.Task[list[str]]] = set()
        started = 0
        try:
            while queue or pending:
                while queue and len(pending) < self.settings.concurrency:
                    url = queue.popleft()
                    if not self.allowed(url):
                        self.tally.disallowed += 1
                        continue
                    if started >= limit:
                        not_followed += 1
                        continue
                    started += 1
                    pending.add(asyncio.create_task(self._safe_page(url)))
                if not pending:
                    continue
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    links = task.result()
                    if not self.source.follow_links:
                        continue  # a sitemap lists the pages: links between them are not followed
                    for link in links:
                        target = normalize(link)
                        if target not in seen and self.source.in_scope(target):
                            seen.add(target)
                            queue.append(target)
        finally:
            for task in pending:  # a cancelled sync leaves no request running
                task.cancel()
        if not_followed:
            self.notes.append(f"page limit {limit} reached; {not_followed} more pages not fetched")
        if not self.documents:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in self.skipped[:3])
            raise SourceError(
                f"no page of {self.source.name} could be indexed" + (f" ({reasons})" if reasons else "")
            )
        await asyncio.to_thread(self.source.cache.save, self.pages.values())
        report = SourceReport(
            name=self.source.name,
            kind="site",
            documents=len(self.documents),
            skipped=len(self.skipped),
            seconds=round(time.perf_counter() - self.started, 3),
            refreshed_at=now_iso(),
            fetched=self.tally.fetched,
            not_modified=self.tally.not_modified,
            kept=self.tally.kept,
            disallowed=self.tally.disallowed,
            redirects=tuple(self.redirects),
            notes=tuple(self.notes),
        )
        ordered = tuple(self.documents[url] for url in sorted(self.documents))
        return LoadedSource(ordered, tuple(self.skipped), report)

    async def _safe_page(self, url: str) -> list[str]:
        try:
            return await self._page(url)
        except Exception as exc:  # a bug on one hostile page must not stop the sync
            log.warning("page crawl crashed", exc_info=True, extra={"url": url})
            self.skipped.append(SkippedFile(url, f"could not be read ({exc.__class__.__name__})"))
            return []

    async def _page(self, url: str) -> list[str]:
        """Fetch (or revalidate) one page; returns the links to follow from it."""
        cached = self.previous.get(url)
        headers: dict[str, str] = {}
        if cached is not None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        try:
            response, hops = await self._get(url, headers)
        except FetchError as exc:
            return self._failed(url, str(exc), exc.transient, cached)
        final = response.url
        if hops:
            self.redirects.append((url, final))
            if not self.allowed(final):
                self.tally.disallowed += 1
                return []
        if response.status == 304 and cached is not None:
            self.tally.not_modified += 1
            self._keep(cached)
            return list(cached.links)
        if response.status in (404, 410):
            self.skipped.append(SkippedFile(url, f"HTTP {response.status}: the page is gone"))
            return []
        if response.status != 200:
            transient = response.status >= 500 or response.status == 429
            return self._failed(url, f"HTTP {response.status}", transient, cached)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in HTML_TYPES:
            self.skipped.append(SkippedFile(url, f"not an HTML page ({kind or 'no Content-Type'})"))
            return []
        self.tally.fetched += 1
        try:
            document, links, robots = await asyncio.to_thread(self._parse, final, response)
        except (LoadError, UnsafeFileError) as exc:
            self.skipped.append(SkippedFile(url, str(exc)))
            return []
        except RecursionError:
            self.skipped.append(SkippedFile(url, "the page is nested too deeply to parse"))
            return []
        follow = [] if "nofollow" in robots else links
        if "noindex" in robots:
            self.skipped.append(SkippedFile(url, "the page asks not to be indexed (meta robots noindex)"))
            self.pages[url] = CachedPage(url, final, "", "", None, tuple(follow))
            return follow
        page = CachedPage(
            url=url,
            final_url=final,
            etag=response.headers.get("etag", ""),
            last_modified=response.headers.get("last-modified", ""),
            document=document,
            links=tuple(follow),
        )
        self._keep(page, new=True)
        return follow

    def _parse(self, final: str, response: Response) -> tuple[Document | None, list[str], set[str]]:
        text = decode_page(response.body, response.headers.get("content-type", ""))
        robots = meta_robots(text)
        links = page_links(final, text)
        # A page without a title of its own is titled as a file would be: ".../contact-us.html" "Contact us".
        last = unquote(urlsplit(final).path.rstrip("/").rsplit("/", 1)[-1])
        default_title = file_title(last) if last else urlsplit(final).netloc
        title, sections, _ = parse_html(text, default_title)
        if not sections:
            return None, links, robots
        # The page's address is its citation link: a canonical URL in the page may name another host.
        pieces = tuple(replace(s, url=final) for s in sections)
        return Document(source=final, title=title, sections=pieces, url=final), links, robots

    def _keep(self, page: CachedPage, *, new: bool = False) -> None:
        self.pages[page.url] = page
        document = page.document
        if document is None:
            if new:
                self.skipped.append(SkippedFile(page.url, "no text found"))
            return
        if document.source in self.documents:
            return  # two addresses of one page (a redirect and its target)
        digest = hashlib.sha256("\n".join(s.text for s in document.sections).encode()).hexdigest()
        if digest in self.digests:
            self.skipped.append(SkippedFile(page.url, f"same text as {self.digests[digest]}"))
            return
        self.digests[digest] = document.source
        self.documents[document.source] = document

    def _failed(self, url: str, reason: str, transient: bool, cached: CachedPage | None) -> list[str]:
        """A page that failed: a passing failure keeps the copy indexed last time; otherwise it is skipped."""
        if transient and cached is not None:
            self.tally.kept += 1
            if self.tally.kept <= 5:
                self.notes.append(f"{url}: {reason}; the copy from the previous sync is kept")
            self._keep(cached)
            return list(cached.links)
        self.skipped.append(SkippedFile(url, reason))
        return []


def _read_sitemap(body: bytes) -> tuple[list[str], bool]:
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body, int(MAX_SITEMAP_MB * 1e6))
    return sitemap_urls(body)


def _gunzip(body: bytes, limit: int) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit / 1e6:g} MB uncompressed")
    return data
