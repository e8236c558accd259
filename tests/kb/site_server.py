"""A help-center website on loopback for the sync tests: robots.txt, sitemaps, ETags, redirects, bad pages."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

CHROME_TOP = """\
<header class="site-header"><a href="/">Parcelly Help</a>
<nav><a href="/help/shipping.html">Shipping</a> | <a href="/help/returns.html">Returns</a> |
<a href="/help/changing.html">Notices</a> | <a href="/private/staff.html">Staff</a> |
<a href="/help/old-claims">Claims</a> | <a href="/help/missing.html">Old page</a> |
<a href="/help/slow.html">Slow</a> | <a href="/help/huge.html">Huge</a> |
<a href="/help/labels.pdf">Labels</a>
</nav></header>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div>
"""
CHROME_BOTTOM = '<footer class="site-footer">© Parcelly Ltd · Imprint · Privacy</footer>'


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title} · Parcelly Help</title></head>"
        f"<body>{CHROME_TOP}<main><h1>{title}</h1>{body}</main>{CHROME_BOTTOM}</body></html>"
    )


PAGES = {
    "/help/shipping.html": page(
        "Shipping",
        "<h2>Sending a parcel abroad</h2><p>International parcels need a customs declaration form, filled in "
        "online before you drop the parcel off.</p><h2>Parcel size limits</h2><p>The maximum weight is 25 "
        "kilograms and the longest side may be 120 centimetres.</p>",
    ),
    "/help/returns.html": page(
        "Returns",
        "<h2>Sending it back</h2><p>Print the return label from your account and drop the parcel at any "
        "locker within 30 days.</p>",
    ),
    "/help/claims.html": page(
        "Lost or damaged parcels",
        "<h2>Filing a claim</h2><p>If your parcel never arrived, file a claim within 60 days and we refund "
        "the postage and the declared value.</p>",
    ),
    "/private/staff.html": page(
        "Staff handbook", "<h2>Internal</h2><p>The staff discount code is ZEBRA-WAFFLE-42.</p>"
    ),
}


@dataclass
class HelpSite:
    """The site's state; tests change it between syncs and read what was asked."""

    notice: str = "Lockers in Springfield close at 22:00 from Monday."
    robots_status: int = 200
    failing: set[str] = field(default_factory=set)  # paths answering 500
    gone: set[str] = field(default_factory=set)  # paths answering 404
    slow_s: float = 1.5  # past the tests' 1 s deadline; short, as the server waits for it on stop
    requests: Counter[str] = field(default_factory=Counter)
    not_modified: Counter[str] = field(default_factory=Counter)
    url: str = ""
    _runner: web.AppRunner | None = None

    def body(self, path: str) -> str | None:
        if path == "/help/changing.html":
            return page("Service notices", f"<h2>Lockers</h2><p>{self.notice}</p>")
        return PAGES.get(path)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def sitemap_index(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{self.url}/sitemap-help.xml</loc></sitemap></sitemapindex>"
        )

    def sitemap(self) -> str:
        paths = [
            "/help/shipping.html",
            "/help/returns.html",
            "/help/changing.html",
            "/help/old-claims",
            "/help/missing.html",
            "/help/slow.html",
            "/help/huge.html",
            "/help/labels.pdf",
            "/private/staff.html",
            "https://elsewhere.example/help/outside.html",
        ]
        locs = "".join(f"<url><loc>{p if p.startswith('http') else self.url + p}</loc></url>" for p in paths)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests[path] += 1
        if path == "/robots.txt":
            if self.robots_status != 200:
                return web.Response(status=self.robots_status, text="down")
            return web.Response(text="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        if path == "/sitemap.xml":
            return web.Response(text=self.sitemap_index(), content_type="application/xml")
        if path == "/sitemap-help.xml":
            return web.Response(text=self.sitemap(), content_type="application/xml")
        if path in self.failing:
            return web.Response(status=500, text="internal error")
        if path in self.gone or path == "/help/missing.html":
            return web.Response(status=404, text="not found")
        if path == "/help/old-claims":
            raise web.HTTPMovedPermanently("/help/claims.html")
        if path == "/help/slow.html":
            await asyncio.sleep(self.slow_s)
            return web.Response(text=page("Slow", "<p>Too late.</p>"), content_type="text/html")
        if path == "/help/huge.html":
            # 20 MB streamed without a Content-Length: the size cap must hold while reading.
            response = web.StreamResponse(headers={"Content-Type": "text/html"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            block = b"<p>" + b"padding " * 8000 + b"</p>"
            try:
                for _ in range(20_000_000 // len(block) + 1):
                    await response.write(block)
                await response.write_eof()
            except ConnectionError:
                pass  # the crawler hung up at its size cap, as it should
            return response
        if path == "/help/labels.pdf":
            return web.Response(body=b"%PDF-1.4 not html", content_type="application/pdf")
        if path in ("/", "/help/", "/help/index.html"):
            return web.Response(
                text=page("Help center", "<p>Browse the topics above.</p>"), content_type="text/html"
            )
        body = self.body(path)
        if body is None:
            return web.Response(status=404, text="not found")
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            self.not_modified[path] += 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=body, content_type="text/html", headers={"ETag": etag})


def debian_reference_pages(folder: Path, lang: str = "en") -> dict[str, bytes]:
    """The Debian Reference manual's HTML as a site: `/index.html`, `/ch02.en.html`, …"""
    return {f"/{path.name}": path.read_bytes() for path in sorted(folder.glob(f"*.{lang}.html"))}
