"""The web channel's security rules: origins, CSRF, rate limits, CSP, body size, admin sessions."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from bot import texts
from bot.channels.web import texts as web_texts
from bot.channels.web.security import FAVICON_SVG
from tests.web.conftest import ADMIN_TOKEN, BASE, SHOP, WebFactory


async def test_every_response_carries_the_csp_and_no_sniffing(make_web: WebFactory) -> None:
    web = await make_web()
    for path in ("/", "/api/session", "/widget.js", "/admin/login"):
        response = await web.client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_every_page_has_an_icon_and_favicon_ico_is_served(make_web: WebFactory) -> None:
    # Without one a browser asks every page's /favicon.ico, which was a 404 and an error in its console.
    web = await make_web(ip_requests_per_minute=6)
    pages = [await web.client.get(path) for path in ("/", "/help/refunds.md", "/admin/login")]
    await web.admin_login()
    pages += [await web.client.get(path) for path in ("/admin", "/admin/gaps")]
    for page in pages:
        assert page.status_code == 200, page.url
        icon = re.search(
            r'<link rel="icon" type="image/svg\+xml" href="data:image/svg\+xml,([^"]*)"', page.text
        )
        assert icon is not None, page.url
        assert unquote(icon[1]) == FAVICON_SVG
        assert "img-src 'self' data:" in page.headers["content-security-policy"], "which lets it load"
    limited = await web.client.get("/", headers={"accept": "text/html"})
    assert limited.status_code == 429
    assert '<link rel="icon"' in limited.text, "the address limit's own page too"
    # What is not one of our pages (a PDF, a JSON error) leaves the browser asking for /favicon.ico; it is
    # served like a static file, not counted by the limit that just refused the page.
    favicon = await web.client.get("/favicon.ico")
    assert favicon.status_code == 200
    assert favicon.headers["content-type"].startswith("image/svg+xml")
    assert favicon.headers["cache-control"] == "public, max-age=300"
    assert favicon.text == FAVICON_SVG
    assert FAVICON_SVG.startswith("<svg xmlns='http://www.w3.org/2000/svg'")
    assert FAVICON_SVG.endswith("</svg>")


async def test_the_visitor_cookie_is_signed_and_httponly(make_web: WebFactory) -> None:
    web = await make_web()
    response = await web.client.get("/api/session")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    web.client.cookies.set("bot_visitor", "forged-visitor-id")
    forged = await web.client.post(
        "/api/ask", json={"text": "hi"}, headers={"origin": BASE, "x-csrf-token": "x"}
    )
    assert forged.status_code == 401


async def test_state_changes_need_the_csrf_token(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    missing = await web.client.post("/api/ask", json={"text": "hi"}, headers={"origin": BASE})
    assert missing.status_code == 403
    wrong = await web.post("/api/ask", {"text": "hi"}, "0" * 64)
    assert wrong.status_code == 403
    assert (await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])).status_code == 200


async def test_origins_outside_the_allow_list_are_refused(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    evil = await web.post("/api/ask", {"text": "hi"}, session["csrf"], origin="https://evil.example")
    assert evil.status_code == 403
    by_referer = await web.client.get("/api/session", headers={"referer": "https://evil.example/page"})
    assert by_referer.status_code == 403
    script = await web.client.get("/widget.js", headers={"referer": "https://evil.example/"})
    assert script.status_code == 403
    nowhere = await web.client.post(
        "/api/ask", json={"text": "hi"}, headers={"x-csrf-token": session["csrf"]}
    )
    assert nowhere.status_code == 403, "a state change must say where it comes from"


async def test_allowed_sites_get_cors_with_credentials(make_web: WebFactory) -> None:
    web = await make_web()
    preflight = await web.client.options(
        "/api/ask",
        headers={"origin": SHOP, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in preflight.headers["access-control-allow-headers"]
    session = await web.client.get("/api/session", headers={"origin": SHOP})
    assert session.headers["access-control-allow-origin"] == SHOP
    csrf = session.json()["csrf"]
    asked = await web.post("/api/ask", {"text": "refunds?"}, csrf, origin=SHOP)
    assert asked.status_code == 200
    admin = await web.client.get("/admin/login", headers={"origin": SHOP})
    assert "access-control-allow-origin" not in admin.headers
    login = await web.client.post("/admin/login", data={"token": ADMIN_TOKEN}, headers={"origin": SHOP})
    assert login.status_code == 403, "the console accepts only its own origin"


async def test_bodies_are_capped(make_web: WebFactory) -> None:
    web = await make_web(max_body_kb=1)
    session = await web.session()
    big = await web.post("/api/ask", {"text": "x" * 2000}, session["csrf"])
    assert big.status_code == 413


async def test_requests_per_address_are_limited(make_web: WebFactory) -> None:
    web = await make_web(ip_requests_per_minute=3)
    for _ in range(3):
        assert (await web.client.get("/api/session")).status_code == 200
    limited = await web.client.get("/api/session")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"
    assert (await web.client.get("/static/widget.css")).status_code == 200, "static files are not counted"


async def test_a_limited_address_is_told_in_its_language_and_for_how_long(make_web: WebFactory) -> None:
    # Refused before any route, when the widget may have no labels yet: the refusal carries its own text,
    # in the browser's language, and the widget holds back sending for Retry-After (a minute: not the
    # flood text's "a few seconds").
    web = await make_web(ip_requests_per_minute=1)
    assert (await web.client.get("/api/session")).status_code == 200
    german = await web.client.get(
        "/api/session", headers={"accept-language": "de-DE,de;q=0.9", "origin": SHOP}
    )
    assert (german.status_code, german.headers["retry-after"]) == (429, "60")
    assert german.json()["error"] == "Too many requests; please wait a minute."  # for developers
    message = german.json()["message"]
    assert message == texts.translate(web_texts.ADDRESS_LIMITED, "de") != web_texts.ADDRESS_LIMITED
    # The widget on another site may read Retry-After: CORS shows its script only the simple headers.
    assert german.headers["access-control-allow-origin"] == SHOP
    assert german.headers["access-control-expose-headers"] == "retry-after"
    english = await web.client.post("/api/ask", json={"text": "hi"}, headers={"origin": BASE})
    assert (english.status_code, english.json()["message"]) == (429, web_texts.ADDRESS_LIMITED)


async def test_admin_routes_refuse_without_a_session(make_web: WebFactory) -> None:
    web = await make_web()
    for path in ("/admin", "/admin/gaps", "/admin/conversations", "/admin/kb", "/admin/export"):
        assert (await web.client.get(path)).status_code == 401, path
        page = await web.client.get(path, headers={"accept": "text/html"})
        assert (page.status_code, page.headers["location"]) == (303, "/admin/login")
    for path in ("/admin/kb/reload", "/admin/export", "/admin/answers/1/correct", "/admin/logout"):
        response = await web.client.post(path, data={"csrf": "x"}, headers={"origin": BASE})
        assert response.status_code == 401, path


async def test_admin_login_checks_the_token_and_is_rate_limited(make_web: WebFactory) -> None:
    web = await make_web()
    wrong = await web.admin_login("not-the-token-at-all")
    assert wrong.status_code == 401
    assert "bot_admin" not in wrong.headers.get("set-cookie", "")
    right = await web.admin_login()
    assert (right.status_code, right.headers["location"]) == (303, "/admin")
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/admin" in cookie
    assert (await web.client.get("/admin")).status_code == 200
    for _ in range(3):
        await web.admin_login("still-wrong-token-x")
    assert (await web.admin_login()).status_code == 429, "the sixth attempt in a minute is refused"


async def test_admin_forms_need_the_csrf_token(make_web: WebFactory) -> None:
    web = await make_web()
    await web.admin_login()
    response = await web.client.post("/admin/kb/reload", data={"csrf": "forged"}, headers={"origin": BASE})
    assert response.status_code == 403


async def test_logout_ends_the_session(make_web: WebFactory) -> None:
    web = await make_web()
    await web.admin_login()
    page = await web.client.get("/admin")
    csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    out = await web.client.post("/admin/logout", data={"csrf": csrf}, headers={"origin": BASE})
    assert out.status_code == 303
    assert (await web.client.get("/admin")).status_code == 401


async def test_console_is_off_without_a_token(make_web: WebFactory) -> None:
    web = await make_web(admin_token=None)
    assert (await web.client.get("/admin")).status_code == 404
    assert (await web.admin_login("anything-at-all-long")).status_code == 404


async def test_help_pages_never_leave_the_knowledge_folder(make_web: WebFactory) -> None:
    web = await make_web()
    assert (await web.client.get("/help/refunds.md")).status_code == 200
    assert (await web.client.get("/help/../bot.db")).status_code == 404
    assert (await web.client.get("/help/%2e%2e/bot.db")).status_code == 404


async def test_a_visitors_button_presses_are_limited(make_web: WebFactory) -> None:
    from bot.channels.web.chat import ACTIONS_PER_MINUTE

    web = await make_web()
    session = await web.session()
    for _ in range(ACTIONS_PER_MINUTE):
        assert (
            await web.post("/api/feedback", {"answer_id": 1, "rating": "up"}, session["csrf"])
        ).status_code == 404
    limited = await web.post("/api/feedback", {"answer_id": 1, "rating": "up"}, session["csrf"])
    assert limited.status_code == 429
    assert limited.json()["message"] == web_texts.TOO_MANY_PRESSES


@pytest.mark.parametrize("path", ["/help/%00", "/help/a%00b.md", "/help/" + "a" * 5000])
async def test_help_paths_the_file_system_refuses_are_not_found(make_web: WebFactory, path: str) -> None:
    web = await make_web()
    response = await web.client.get(path)
    assert response.status_code == 404
    assert response.text == "No such article."


async def test_the_widgets_script_and_static_files_are_neither_counted_nor_kept_when_refused(
    make_web: WebFactory,
) -> None:
    # A visitor who browsed a while still gets the widget's script: without it the page's "ask the
    # assistant" points at nothing.
    web = await make_web(ip_requests_per_minute=2)
    for _ in range(2):
        assert (await web.client.get("/api/session")).status_code == 200
    limited = await web.client.get("/api/session")
    assert (limited.status_code, limited.headers["cache-control"]) == (429, "no-store")
    for path in ("/widget.js", "/static/widget.css", "/static/site.css"):
        response = await web.client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "public, max-age=300", path
        again = await web.client.get(path, headers={"if-none-match": response.headers["etag"]})
        assert (again.status_code, again.headers["cache-control"]) == (304, "public, max-age=300"), path
    # A refusal of the script is never kept, by the browser or a proxy shared with other visitors.
    foreign = await web.client.get("/widget.js", headers={"referer": "https://evil.example/"})
    assert (foreign.status_code, foreign.headers["cache-control"]) == (403, "no-store")
    missing = await web.client.get("/static/nothing-here.js")
    assert (missing.status_code, missing.headers["cache-control"]) == (404, "no-store")


@pytest.mark.parametrize("path", ["/", "/help/refunds.md"])
async def test_a_limited_page_is_a_page_in_the_browsers_language(make_web: WebFactory, path: str) -> None:
    web = await make_web(ip_requests_per_minute=1)
    assert (await web.client.get(path)).status_code == 200
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8", "accept-language": "de-DE,de;q=0.9"}
    page = await web.client.get(path, headers=browser)
    assert (page.status_code, page.headers["retry-after"]) == (429, "60")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    german = texts.translate(web_texts.ADDRESS_LIMITED, "de")
    assert german != web_texts.ADDRESS_LIMITED
    assert german in page.text
    assert '<html lang="de">' in page.text
    assert "Too many requests" not in page.text
    head = await web.client.head(path, headers=browser)
    assert (head.status_code, head.headers["retry-after"], head.content) == (429, "60", b"")
    # A language without a catalog reads English, and says so.
    other = await web.client.get(path, headers={**browser, "accept-language": "fi-FI"})
    assert web_texts.ADDRESS_LIMITED in other.text
    assert '<html lang="en">' in other.text
    # What is not a browser's page visit keeps the JSON refusal.
    script = await web.client.get(path)
    assert script.json()["error"] == "Too many requests; please wait a minute."
