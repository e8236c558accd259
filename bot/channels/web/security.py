"""The web channel's guard: allowed origins, CORS, per-address limits, body size and security headers."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import texts
from bot.channels.limits import SlidingWindow
from bot.channels.web import texts as web_texts
from bot.config import WebSettings
from bot.ids import parse_number

log = logging.getLogger("bot.channels.web")

# Our own pages load only our own files; nothing inline, no framing, no plugins.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Every page's icon, inline (`img-src data:` above): a page without one makes the browser ask for
# /favicon.ico, which the app serves too for what is not a page of ours (a PDF, a JSON error).
FAVICON_SVG = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><path fill='#1f6feb' d='M3 1h10a2 2 0 0 1 "
    "2 2v7a2 2 0 0 1-2 2H8l-4 3v-3H3a2 2 0 0 1-2-2V3a2 2 0 0 1 2-2z'/></svg>"
)
FAVICON_PATH = "/favicon.ico"
FAVICON_LINK = f'<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,{quote(FAVICON_SVG)}">'
CSRF_HEADER = "x-csrf-token"
# What another site's page may load or call: the widget's files and its API.
EMBEDDABLE_PREFIXES = ("/api/", "/widget.js", "/static/widget.")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAFE_METHODS = frozenset({"GET", "HEAD"})
ADMIN_FORM_LIMIT = 256 * 1024
ADDRESS_WINDOW_S = 60  # the per-address limit counts this long; a refused address waits as long (Retry-After)
# Files a page needs to show at all (the widget's script, the stylesheets, the icon): not counted by the
# per-address limit, or a visitor who has browsed a while would get pages without the widget or their style.
STATIC_PREFIXES = ("/static/", "/widget.js", FAVICON_PATH)
# How long a browser (or a proxy) may keep them without asking again. Sites embed `/widget.js` by a URL
# without a version, which no deploy can change: a short lifetime, so a fix reaches every visitor within
# minutes, and after it a revalidation (ETag / Last-Modified) costs a 304, not the file.
STATIC_CACHE = b"public, max-age=300"

# The admin console's page for a refusal of one of its pages or forms: (scope, status, reason) -> the page.
AdminPage = Callable[[Scope, int, str], Awaitable[Response]]


def origin_of(url: str) -> str | None:
    """The `scheme://host[:port]` of a URL (lower case); None when it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origin(scope: Scope) -> str:
    """This server's origin as the browser sees it (the scheme after trusted proxy headers)."""
    host = Headers(scope=scope).get("host", "")
    return f"{scope.get('scheme', 'http')}://{host}".lower()


def client_address(scope: Scope) -> str:
    """The client's address (uvicorn has already applied X-Forwarded-For from trusted proxies)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def is_https(scope: Scope) -> bool:
    return scope.get("scheme") == "https"


class Signer:
    """Signs the cookies and derives CSRF tokens from one secret key."""

    def __init__(self, secret_key: str, salt: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=salt)
        self._mac_key = hashlib.sha256(f"{salt}:csrf:{secret_key}".encode()).digest()

    def sign(self, value: str) -> str:
        return self._serializer.dumps(value)

    def unsign(self, token: str | None, max_age_s: float) -> str | None:
        """The signed value, or None when the token is missing, forged or older than `max_age_s`."""
        if not token:
            return None
        try:
            value = self._serializer.loads(token, max_age=int(max_age_s))
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def csrf(self, value: str) -> str:
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, value: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(value), str(token))


class Guard:
    """ASGI middleware in front of every route.

    - per client address: at most `ip_requests_per_minute` requests (static files and `/widget.js` excepted);
    - origins: a request whose Origin (or, without one, Referer) is neither this server nor an allowed
      site is refused; a state-changing request must carry one; the admin console accepts only its own;
    - CORS for the allowed sites on the widget's files and API (credentials included, no wildcard);
    - bodies: a Content-Length is required and capped (uploads have their own cap);
    - every response gets the CSP and the other security headers.

    A refusal is JSON (`{"error": …}`; for the widget's API refused by the address limit, `message` too, in
    the visitor's language), except for a browser on the admin console, which reads it on the console's
    own page (`admin_page`), and a browser refused a help-center page by the address limit, which reads it
    on a page in its language.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: WebSettings,
        upload_path: str,
        upload_limit_bytes: int,
        admin_page: AdminPage | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.admin_page = admin_page
        self.allowed = frozenset(settings.allowed_origins)
        self.body_limit = settings.max_body_kb * 1024
        self.upload_path = upload_path
        # Room for the multipart framing around the file itself.
        self.upload_limit = upload_limit_bytes + 64 * 1024
        self.per_address = SlidingWindow(settings.ip_requests_per_minute, float(ADDRESS_WINDOW_S))
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = Headers(scope=scope)
        own = own_origin(scope)
        embeddable = path.startswith(EMBEDDABLE_PREFIXES)
        request_origin = headers.get("origin")
        cors_origin = request_origin.lower() if request_origin else None
        if not (embeddable and cors_origin in self.allowed):
            cors_origin = None
        send = self._with_headers(send, path, cors_origin)

        async def refuse(
            status: int, text: str, *, retry_after: int | None = None, message: str | None = None
        ) -> None:
            if (
                self.admin_page is not None
                and path.startswith("/admin")
                and "text/html" in headers.get("accept", "")
            ):
                page = await self.admin_page(scope, status, text)
                if retry_after is not None:
                    page.headers["retry-after"] = str(retry_after)
                await page(scope, receive, send)
                return
            await _error(send, status, text, retry_after=retry_after, message=message)

        if not path.startswith(STATIC_PREFIXES) and not self.per_address.allows(
            client_address(scope), self.clock()
        ):
            # Refused before any route, so the widget may not have its labels yet: `message` is what the
            # visitor reads, in their browser's language, and the widget holds back sending for Retry-After.
            # (The console is in English: its pages and scripts show `error`.)
            language = web_texts.browser_language(headers.get("accept-language", ""))
            if _wants_a_page(path, method, headers):
                # A browser opening a help-center page reads a page, not JSON, in its own language.
                await _limited_page(send, language, head=method == "HEAD")
                return
            message = web_texts.address_limited(language) if path.startswith("/api/") else None
            await refuse(
                429, "Too many requests; please wait a minute.", retry_after=ADDRESS_WINDOW_S, message=message
            )
            return
        problem = self._origin_problem(path, method, headers, own, embeddable)
        if problem is not None:
            log.warning(
                "request refused",
                extra={"path": path, "method": method, "reason": problem, "address": client_address(scope)},
            )
            await refuse(403, problem)
            return
        if method == "OPTIONS":
            # A CORS preflight from an allowed site (the headers were added above); nothing else to do.
            await _empty(send, 204 if cors_origin else 403)
            return
        if method in BODY_METHODS:
            length = headers.get("content-length")
            limit = self.upload_limit if path == self.upload_path else self.body_limit
            if path.startswith("/admin") and path != self.upload_path:
                # A correction of a long answer in a non-Latin script, form-encoded, outgrows a chat message.
                limit = max(limit, ADMIN_FORM_LIMIT)
            size = None if length is None else parse_number(length)
            if size is None:
                await refuse(411, "A Content-Length header is required.")
                return
            if size > limit:
                await refuse(413, f"The request is too large (limit {limit // 1024} KB).")
                return
        await self.app(scope, receive, send)

    def _origin_problem(
        self, path: str, method: str, headers: Headers, own: str, embeddable: bool
    ) -> str | None:
        """Why the request's origin is refused, or None."""
        origin = headers.get("origin")
        referer = headers.get("referer")
        source = origin.lower() if origin else (origin_of(referer) if referer else None)
        if origin is not None and origin.lower() == "null":
            source = "null"
        if method in SAFE_METHODS and not embeddable:
            return None  # a page visit (links from anywhere may lead here); no state changes on GET
        accepted = {own} | (self.allowed if embeddable else frozenset())
        if source is None:
            if method in SAFE_METHODS or method == "OPTIONS":
                return None  # direct fetches (curl, the script tag of a no-referrer page) change nothing
            return "a state-changing request must say where it comes from (Origin or Referer)"
        if source not in accepted:
            return f"origin {source} is not allowed"
        return None

    def _with_headers(self, send: Send, path: str, cors_origin: str | None) -> Send:
        embeddable = path.startswith(EMBEDDABLE_PREFIXES)

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                names = {name.lower() for name, _ in raw}
                extra: list[tuple[bytes, bytes]] = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                ]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in names:
                    # Only a static file as it is (or unchanged, 304) may be kept: a refusal (a foreign
                    # Referer's 403) or a missing file kept by a shared cache would be served to others.
                    static = path.startswith(STATIC_PREFIXES) and message["status"] in (200, 304)
                    extra.append((b"cache-control", STATIC_CACHE if static else b"no-store"))
                if embeddable:
                    # The widget's script and style are loaded by other sites' pages.
                    extra.append((b"cross-origin-resource-policy", b"cross-origin"))
                    extra.append((b"vary", b"Origin"))
                else:
                    extra.append((b"cross-origin-resource-policy", b"same-origin"))
                    extra.append((b"x-frame-options", b"DENY"))
                if cors_origin is not None:
                    extra += [
                        (b"access-control-allow-origin", cors_origin.encode()),
                        (b"access-control-allow-credentials", b"true"),
                        (b"access-control-allow-methods", b"GET, POST"),
                        (b"access-control-allow-headers", b"content-type, x-csrf-token"),
                        (b"access-control-max-age", b"600"),
                        # A script on another site reads only "simple" response headers unless told.
                        (b"access-control-expose-headers", b"retry-after"),
                    ]
                message = {**message, "headers": raw + extra}
            await send(message)

        return wrapped


async def _error(
    send: Send, status: int, text: str, *, retry_after: int | None = None, message: str | None = None
) -> None:
    """A JSON refusal: `error` in English for developers, and `message`, when given, for the visitor."""
    content = {"error": text} if message is None else {"error": text, "message": message}
    body = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _wants_a_page(path: str, method: str, headers: Headers) -> bool:
    """A browser's visit of one of our pages (not the API, not the console, which has its own page)."""
    return (
        method in SAFE_METHODS
        and not path.startswith(("/api/", "/admin"))
        and "text/html" in headers.get("accept", "")
    )


async def _limited_page(send: Send, language: str, *, head: bool) -> None:
    """The address limit refusing a page: the visitor's text on a page of its own, with Retry-After."""
    shown = texts.shown_language(language)
    text = html.escape(web_texts.address_limited(language))
    title = html.escape(texts.translate(web_texts.TITLE, language))
    # The stylesheet is a static file, which the limit lets through.
    body = (
        f'<!doctype html><html lang="{html.escape(shown, quote=True)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title>{FAVICON_LINK}<link rel="stylesheet" href="/static/site.css"></head>'
        f"<body><main><p role='alert'>{text}</p></main></body></html>"
    ).encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(ADDRESS_WINDOW_S).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _empty(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
