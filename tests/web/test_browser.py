"""End to end in headless Chromium against the real server, the shipped model and the sample help center.

Needs Debian's `chromium` (`apt-get install chromium`; `.ci/run` installs it) and Playwright's Python package,
pointed at that browser (Playwright's own browser downloads are impossible here). One server for the module.
Set WEB_SCREENSHOTS=DIR to save the README's screenshots there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from tests.conftest import KNOWLEDGE, ROOT

CHROMIUM = "/usr/bin/chromium"
TOKEN = "browser-test-admin-token"
QUESTION = "How do I reset my password?"
COMMENT = "It did not say where the reset link is."

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "chromium is not installed (apt-get install -y chromium): the browser tests need it"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is missing (pip install -e '.[dev]')"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[str], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/widget.js", timeout=2):  # noqa: S310 - our own server
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise TimeoutError("the web server did not come up")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    home = tmp_path_factory.mktemp("web")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(
        BOT_DATA_DIR=str(home / "data"),
        BOT_KB__SOURCE=str(KNOWLEDGE),
        BOT_WEB__PORT=str(port),
        BOT_WEB__ADMIN_TOKEN=TOKEN,
        BOT_WEB__IP_REQUESTS_PER_MINUTE="100000",
        BOT_LOG_LEVEL="WARNING",
    )
    reload = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "reload"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert reload.returncode == 0, reload.stdout + reload.stderr
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "web"],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        assert process.returncode == 0, (home / "server.log").read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _shoot(page: Any, name: str, **options: Any) -> None:
    folder = os.environ.get("WEB_SCREENSHOTS")
    if folder:
        # Relative to the checkout: every test runs in its own temporary directory.
        page.screenshot(path=str(ROOT / folder / name), **options)


def test_ask_reload_rate_and_find_it_under_content_gaps(server: str, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1000, "height": 720})
    page = context.new_page()
    page.goto(server + "/")
    log = page.get_by_role("log")
    expect(log).to_be_visible()
    message = page.get_by_role("textbox", name="Message")
    expect(page.get_by_role("button", name="Send")).to_be_visible()

    # Keyboard only: type and press Enter.
    message.focus()
    page.keyboard.type(QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/api/ask")) as asked:
        page.keyboard.press("Enter")
    assert asked.value.headers["content-type"].startswith("text/event-stream")
    answer = page.locator(".sbw-assistant").last
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=120_000)
    source = answer.locator(".sbw-sources a").first
    # Named by its article's title; the link still leads to the file's page.
    expect(source).not_to_have_text(re.compile(r"account/|\.md"))
    assert source.get_attribute("href", timeout=1000).startswith(server + "/help/account/")
    source_title = source.inner_text()
    # The other sections the search found, under their own title, as links too.
    expect(answer.locator(".sbw-see-also .sbw-sources-title")).to_have_text("See also")
    # One or two: only sections nearly as close as the best are listed (`SEE_ALSO_COSINE_DROP`).
    expect(answer.locator(".sbw-see-also li a").first).to_be_visible()
    assert 1 <= answer.locator(".sbw-see-also li a").count() <= 2
    answer_text = answer.locator(".sbw-text").inner_text()
    assert answer_text.strip()
    see_also = [(a.inner_text(), a.get_attribute("href")) for a in answer.locator(".sbw-see-also a").all()]
    _shoot(page, "web-widget.png")

    # The conversation survives a reload of the page.
    page.reload()
    expect(page.locator(".sbw-user")).to_have_text([QUESTION])
    again = page.locator(".sbw-assistant").last
    expect(again.locator(".sbw-text")).to_have_text(answer_text)
    expect(again.locator(".sbw-sources a").first).to_have_text(source_title)
    # "See also" too, logged with the answer: the same sections and links.
    expect(again.locator(".sbw-see-also a")).to_have_text([title for title, _ in see_also])
    assert [a.get_attribute("href") for a in again.locator(".sbw-see-also a").all()] == [
        h for _, h in see_also
    ]

    # 👎 with a comment, through the same feedback path as Telegram.
    again.get_by_role("button", name="Not helpful").click()
    expect(again.get_by_role("status")).to_have_text("Thanks for the feedback!")
    comment_box = again.get_by_role("textbox", name="What was wrong? (optional)")
    comment_box.fill(COMMENT)
    comment_box.press("Enter")  # as in the message box (the "Send comment" button does the same)
    expect(again.get_by_role("status")).to_have_text("Thanks, your comment was saved.")

    # The admin finds it under content gaps.
    admin = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    admin.goto(server + "/admin")
    admin.get_by_label("Admin token").fill(TOKEN)
    admin.get_by_role("button", name="Log in").click()
    expect(admin.get_by_role("heading", name="Overview")).to_be_visible()
    expect(admin.locator("svg.chart").first).to_be_visible()
    _shoot(admin, "web-admin.png", full_page=False)
    admin.get_by_role("link", name="Content gaps").click()
    gap = admin.locator("section.gap", has_text=QUESTION)
    expect(gap).to_be_visible()
    expect(gap).to_contain_text(COMMENT)
    expect(gap).to_contain_text("account/")
    context.close()


def test_a_refused_question_is_told_in_the_visitors_language(server: str, browser: Any) -> None:
    # The API's `error` is English for developers; the widget shows its own label for the status.
    from playwright.sync_api import expect

    context = browser.new_context(locale="de-DE", extra_http_headers={"Accept-Language": "de-DE"})
    page = context.new_page()
    outage = json.dumps({"error": "database unavailable"})
    page.route(
        "**/api/ask",
        lambda route: route.fulfill(status=503, content_type="application/json", body=outage),
    )
    page.goto(server + "/")
    # The accessible names are the visitor's language too.
    page.get_by_role("textbox", name="Nachricht").fill("Wie lange dauern Erstattungen?")
    page.get_by_role("button", name="Senden").click()
    notice = page.locator(".sbw-notice").last
    expect(notice).to_have_text(texts.translate(texts.DB_DOWN, "de"))
    expect(page.locator(".sbw")).to_have_attribute("lang", "de")
    assert "database unavailable" not in page.locator("body").inner_text()
    context.close()


def test_the_widgets_labels_follow_the_language_the_visitor_writes(server: str, browser: Any) -> None:
    # Found in a trial: an English browser's visitor who wrote Chinese got a Chinese answer under "Sources"
    # and beside "Send" until the page was reloaded.
    from playwright.sync_api import expect

    context = browser.new_context(locale="en-US", extra_http_headers={"Accept-Language": "en-US"})
    page = context.new_page()
    page.goto(server + "/")
    page.get_by_role("textbox", name="Message").fill("我的包裹丢了怎么办？")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("button", name="发送")).to_be_visible(timeout=120_000)
    expect(page.locator(".sbw")).to_have_attribute("lang", "zh")
    expect(page.get_by_role("textbox", name="消息")).to_be_visible()
    context.close()


def test_console_refuses_a_wrong_token_and_a_missing_session(server: str, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    page.goto(server + "/admin/gaps")
    assert page.url == server + "/admin/login", "no session: the login page"
    assert context.request.get(server + "/admin/gaps").status == 401
    page.get_by_label("Admin token").fill("wrong-token-wrong-token")
    with page.expect_response(lambda r: r.url.endswith("/admin/login")) as response:
        page.get_by_role("button", name="Log in").click()
    assert response.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("Wrong token.")
    page.goto(server + "/admin")
    assert page.url == server + "/admin/login"
    context.close()


HOSTILE_PASSAGE = 'Refunds <b>are</b> paid back <img src=x onerror="window.pwned=1"> within five days.'
HOSTILE_HEADING = '<img src=x onerror="window.pwned=2">Refunds'


@contextlib.contextmanager
def _serve_in_thread(
    home: Path,
    kb: Any,
    generator: Any,
    *,
    source: Path | None = None,
    upload_limit_bytes: int = 10 * 1024 * 1024,
    **web: Any,
) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """The web app in-process (a thread of its own, its own event loop) over a fake help center and model,
    with `web` settings; yields its address and its loop. The demo pages show the files in `source`
    (default `home`)."""
    import threading

    from bot.channels.web.app import run_web
    from bot.channels.web.deps import WebDeps
    from bot.config import Settings
    from bot.services import build_admin, build_conversations, build_pipeline
    from bot.store.insights_sql import SqlInsights
    from bot.store.migrate import upgrade
    from bot.store.repo import SqlConversationLog

    url = f"sqlite+aiosqlite:///{home / 'bot.db'}"
    upgrade(url)
    port = _free_port()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=home / "data",
        kb={"source": source or home},
        rag={"min_relevance": 0.0, "confident_relevance": 0.0},
        web={"port": port, **web},
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        store = SqlConversationLog(url)
        pipeline = build_pipeline(settings, kb, generator)
        deps = WebDeps(
            settings=settings.web,
            conversations=build_conversations(settings, pipeline, store),
            admin=build_admin(settings, kb, store),
            insights=SqlInsights(store),
            secret_key="s" * 48,
            upload_limit_bytes=upload_limit_bytes,
        )
        try:
            await run_web(deps, stop=stop, host="127.0.0.1", port=port)
        finally:
            await store.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(base + "/widget.js", timeout=2):  # noqa: S310 - our own server
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        yield base, loop
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web app over a help center whose text and headings carry HTML."""
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from tests.fakes import FakeGenerator, FakeKB, make_chunk

    kb = FakeKB([make_chunk("billing/refunds.md", HOSTILE_HEADING, HOSTILE_PASSAGE)])
    home = tmp_path_factory.mktemp("hostile")
    with _serve_in_thread(home, kb, FakeGenerator(HOSTILE_PASSAGE + " [1]")) as (base, _):
        yield base


def test_html_in_answers_sources_and_questions_is_shown_as_text(hostile_server: str, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    page.goto(hostile_server + "/")
    question = 'How long do refunds take? <img src=x onerror="window.pwned=3">'
    page.get_by_role("textbox", name="Message").fill(question)
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".sbw-assistant").last
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=30_000)
    expect(answer.locator(".sbw-text")).to_contain_text("<b>are</b>")
    expect(answer.locator(".sbw-sources a")).to_contain_text(HOSTILE_HEADING)
    expect(page.locator(".sbw-user")).to_have_text([question])
    page.reload()
    expect(page.locator(".sbw-assistant .sbw-text").last).to_contain_text("<b>are</b>")
    assert page.locator(".sbw-log img, .sbw-log b").count() == 0, "no HTML of theirs became elements"
    assert page.evaluate("window.pwned") is None, "no handler of theirs ran"
    context.close()


FIRST_SENTENCE = "Refunds are paid back to the original card."
GATED_REPLY = FIRST_SENTENCE + " It takes five business days from the return. [1]"


def test_an_answer_still_streaming_when_the_page_is_reloaded_is_shown_after_it(
    tmp_path: Path, browser: Any
) -> None:
    from playwright.sync_api import expect

    from tests.fakes import HELP_CENTER, FakeKB
    from tests.web.conftest import GatedGenerator

    generator = GatedGenerator(GATED_REPLY)
    with _serve_in_thread(tmp_path, FakeKB(HELP_CENTER), generator) as (base, loop):
        context = browser.new_context()
        page = context.new_page()
        page.goto(base + "/")
        question = "How long do refunds take?"
        page.get_by_role("textbox", name="Message").fill(question)
        page.get_by_role("button", name="Send").click()
        streaming = page.locator(".sbw-assistant").last
        # The first sentence is shown; the rest is not written yet.
        expect(streaming.locator(".sbw-text")).to_contain_text(FIRST_SENTENCE)
        expect(streaming.locator(".sbw-text")).not_to_contain_text("five business days")
        expect(streaming).to_have_attribute("aria-busy", "true")

        page.reload()
        expect(page.locator(".sbw-user")).to_have_text([question])
        answer = page.locator(".sbw-assistant").last
        expect(answer).to_have_attribute("aria-busy", "true")
        expect(page.get_by_role("button", name="Send")).to_be_disabled()
        loop.call_soon_threadsafe(generator.gate.set)  # the model writes the rest
        expect(answer).not_to_have_attribute("aria-busy", "true")
        shown = answer.locator(".sbw-text")
        expect(shown).to_contain_text(FIRST_SENTENCE)
        expect(shown).to_contain_text("five business days")
        expect(answer.locator(".sbw-sources a")).to_have_text("Refunds")
        expect(answer.get_by_role("button", name="Helpful", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Send")).to_be_enabled()

        # And it is in the history from then on.
        text = shown.inner_text()
        page.reload()
        expect(page.locator(".sbw-assistant .sbw-text")).to_have_text([text])
        context.close()


# Articles long enough that a section below their top has to be scrolled to.
FILLER = "A paragraph about something else.\n\n" * 60
FRENCH_ARTICLE = (
    "# Remboursements\n\n" + FILLER + "## Quand suis-je remboursé ?\n\nSous cinq jours.\n\n" + FILLER
)
CHINESE_ARTICLE = "# 退款\n\n" + FILLER + "## 多久能退款？\n\n五个工作日。\n\n" + FILLER


def test_a_source_link_opens_its_article_at_the_section_and_see_also_survives_a_reload(
    tmp_path: Path, browser: Any
) -> None:
    from playwright.sync_api import expect

    from tests.fakes import FakeGenerator, FakeKB, make_chunk

    knowledge = tmp_path / "knowledge"
    (knowledge / "fr").mkdir(parents=True)
    (knowledge / "zh").mkdir()
    (knowledge / "fr" / "remboursements.md").write_text(FRENCH_ARTICLE, encoding="utf-8")
    (knowledge / "zh" / "退款.md").write_text(CHINESE_ARTICLE, encoding="utf-8")
    kb = FakeKB(
        [
            make_chunk(
                "fr/remboursements.md", "Quand suis-je remboursé ?", "Refunds are paid within five days."
            ),
            make_chunk("zh/退款.md", "多久能退款？", "Late refunds are paid within five days too.", 1),
        ]
    )
    generator = FakeGenerator("Refunds are paid within five days. [1]")
    home = tmp_path / "home"
    home.mkdir()
    with _serve_in_thread(home, kb, generator, source=knowledge) as (base, _):
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        page = context.new_page()
        page.goto(base + "/")
        page.get_by_role("textbox", name="Message").fill("How long do refunds take?")
        page.get_by_role("button", name="Send").click()
        answer = page.locator(".sbw-assistant").last
        expect(answer).not_to_have_attribute("aria-busy", "true")
        source = answer.locator(".sbw-sources:not(.sbw-see-also) a")
        expect(source).to_have_text(["Quand suis-je remboursé ?"])
        see_also = answer.locator(".sbw-see-also a")
        expect(see_also).to_have_text(["多久能退款？"])
        links = [source.get_attribute("href"), see_also.get_attribute("href")]

        # "See also" is shown again after a reload, with the same links.
        page.reload()
        again = page.locator(".sbw-assistant").last
        expect(again.locator(".sbw-see-also .sbw-sources-title")).to_have_text("See also")
        expect(again.locator(".sbw-see-also a")).to_have_text(["多久能退款？"])
        assert again.locator(".sbw-see-also a").get_attribute("href") == links[1]

        # Each link opens its article scrolled to the section's heading, which is marked.
        for link, heading in zip(links, ("Quand suis-je remboursé ?", "多久能退款？"), strict=True):
            assert link is not None
            assert "#" in link
            assert link.isascii(), "the fragment is percent-encoded"
            article = context.new_page()
            article.goto(link)
            target = article.locator(".section:target")
            expect(target).to_have_text(heading)
            expect(target).to_be_in_viewport()
            assert article.evaluate("window.scrollY") > 500, "scrolled down to the section"
            assert target.evaluate("e => e.getBoundingClientRect().top") < 100, "the heading is at the top"
            article.close()
        context.close()


def test_console_failures_are_told_on_its_pages_and_keep_the_token_out_of_urls(
    tmp_path: Path, browser: Any
) -> None:
    from playwright.sync_api import expect

    from bot.channels.web.admin_console import UNVERIFIED_FORM
    from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB

    generator = FakeGenerator("Refunds are paid back to the original card within five business days. [1]")
    home = tmp_path / "home"
    home.mkdir()
    big = tmp_path / "big.md"
    big.write_text("# Big\n\n" + "x" * 200_000)
    with _serve_in_thread(
        home, FakeKB(HELP_CENTER), generator, upload_limit_bytes=100 * 1024, admin_token=TOKEN
    ) as (base, _):
        context = browser.new_context(viewport={"width": 1000, "height": 800})
        visitor = context.new_page()
        visitor.goto(base + "/")
        visitor.get_by_role("textbox", name="Message").fill("How long do refunds take?")
        visitor.get_by_role("button", name="Send").click()
        expect(visitor.locator(".sbw-assistant").last).not_to_have_attribute("aria-busy", "true")

        admin = context.new_page()
        admin.goto(base + "/admin/login")
        admin.get_by_label("Admin token").fill(TOKEN)
        admin.get_by_role("button", name="Log in").click()
        expect(admin.get_by_role("heading", name="Overview")).to_be_visible()

        def told(message: str, heading: str) -> None:
            expect(admin.get_by_role("alert")).to_have_text(message)
            expect(admin.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            expect(admin.get_by_role("navigation", name="Admin")).to_be_visible()
            assert "csrf" not in admin.url
            assert "{" not in admin.locator("body").inner_text()

        # A file over the upload limit.
        admin.goto(base + "/admin/kb")
        admin.get_by_label("Document").set_input_files(str(big))
        with admin.expect_request(lambda r: r.method == "POST") as upload:
            admin.get_by_role("button", name="Upload").click()
        assert upload.value.url == base + "/admin/kb/upload", "the token travels in the body"
        told("The file is too large: a document is at most 100 KB.", "Knowledge base")

        # A correction with no words, on its transcript, the text kept.
        admin.goto(base + "/admin/conversations/1")
        admin.get_by_text("Correct this answer").click()
        admin.get_by_label("Corrected answer").fill("👍")
        admin.get_by_role("button", name="Save correction").click()
        told("A correction needs words, not only emoji or symbols.", "Conversation #1")
        expect(admin.get_by_label("Corrected answer")).to_have_value("👍")

        # A form shown before the admin logged in again elsewhere.
        admin.goto(base + "/admin/kb")
        other = context.new_page()
        other.goto(base + "/admin/login")
        other.get_by_label("Admin token").fill(TOKEN)
        other.get_by_role("button", name="Log in").click()
        expect(other.get_by_role("heading", name="Overview")).to_be_visible()
        admin.get_by_role("button", name="Reload the knowledge base").click()
        told(UNVERIFIED_FORM, "Knowledge base")
        context.close()


PHONE = {"width": 375, "height": 667}
# The elements that stick out of the viewport (or of the widget's panel), for the failure message.
STICKING_OUT = """(selector) => {
  const box = selector ? document.querySelector(selector).getBoundingClientRect()
                       : { left: 0, right: window.innerWidth };
  const out = [];
  for (const e of document.querySelectorAll(selector ? selector + ' *' : 'body *')) {
    const r = e.getBoundingClientRect();
    if (r.width && (r.right > box.right + 0.5 || r.left < box.left - 0.5)) out.push(e.outerHTML.slice(0, 80));
  }
  return out;
}"""


def _fits_a_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), (page.url, page.evaluate(STICKING_OUT, None))


# The words of an element's text that the layout broke across lines (a word's pieces on two lines).
BROKEN_WORDS = """(element) => {
  const broken = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (lines.size > 1) broken.push(word[0]);
    }
  }
  return broken;
}"""


def _header_words_whole(page: Any, title: str) -> None:
    """The open widget's header at this width: its title and buttons break between words only, never
    inside one, nothing in it is cut off, and no style would allow a break inside a word."""
    from playwright.sync_api import expect

    heading = page.locator(".sbw-title")
    expect(heading).to_have_text(title)
    for selector in (".sbw-title", ".sbw-new"):
        assert page.locator(selector).evaluate(BROKEN_WORDS) == [], (selector, title)
    style = heading.evaluate(
        "e => { const s = getComputedStyle(e); return [s.overflowWrap, s.wordBreak, s.hyphens]; }"
    )
    assert style == ["normal", "normal", "manual"], style
    assert heading.evaluate("e => e.scrollWidth <= e.clientWidth"), title
    assert page.locator(".sbw-header").evaluate("e => e.scrollWidth <= e.clientWidth"), title
    assert page.evaluate(STICKING_OUT, ".sbw-header") == [], title
    expect(page.locator(".sbw-close")).to_be_in_viewport()


def test_nothing_is_wider_than_a_phone(tmp_path: Path, browser: Any) -> None:
    from playwright.sync_api import expect

    from tests.fakes import FakeGenerator, FakeKB, make_chunk

    generator = FakeGenerator("Refunds are paid back to the original card within five business days. [1]")
    # A source whose name has no place to break (the widget breaks it anyway, on any site).
    source = "billing/refunds_and_returns_for_online_orders_paid_by_credit_card_or_bank_transfer.md"
    # Untitled, so the widget names it by that path.
    chunk = make_chunk(source, "Refunds", "Refunds are paid back to the original card within five days.")
    kb = FakeKB([replace(chunk, heading_path=())])
    home = tmp_path / "home"
    home.mkdir()
    with _serve_in_thread(home, kb, generator, source=KNOWLEDGE, admin_token=TOKEN) as (base, _):
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        # The sample help center: the list of articles, and articles with long lines, URLs and tables.
        for path in ("/", *(f"/help/{p.relative_to(KNOWLEDGE).as_posix()}" for p in KNOWLEDGE.rglob("*.*"))):
            if path.endswith(".pdf"):
                continue
            page.goto(base + path)
            expect(page.locator(".sbw-launcher")).to_be_visible()
            _fits_a_phone(page)

        # The widget, open, with an answer, its sources, 👍/👎 and the comment box.
        page.goto(base + "/")
        page.get_by_role("textbox", name="Message").fill("How long do refunds take?")
        page.get_by_role("button", name="Send").click()
        answer = page.locator(".sbw-assistant").last
        expect(answer).not_to_have_attribute("aria-busy", "true")
        expect(answer.locator(".sbw-sources a")).to_contain_text(source)
        answer.get_by_role("button", name="Not helpful").click()
        expect(answer.get_by_role("textbox", name="What was wrong? (optional)")).to_be_visible()
        _fits_a_phone(page)
        assert page.evaluate(STICKING_OUT, ".sbw-panel") == []
        assert page.evaluate(STICKING_OUT, ".sbw-assistant:last-child") == []
        log = page.get_by_role("log")
        assert log.evaluate("e => e.scrollWidth <= e.clientWidth")
        _header_words_whole(page, "Support")

        # The title in French ("Assistance", beside "Nouvelle conversation") once broke as "Assistanc/e";
        # the other shipped languages' labels are checked the same way.
        # Arabic's, right to left, too.
        for locale, title in (("fr-FR", "Assistance"), ("de-DE", "Support"), ("es-ES", "Soporte"),
                              ("ru-RU", "Поддержка"), ("ja-JP", "サポート"), ("zh-CN", "客服"),
                              ("ar-SA", "الدعم")):  # fmt: skip
            localized = browser.new_context(
                viewport=PHONE, locale=locale, extra_http_headers={"Accept-Language": locale}
            ).new_page()
            localized.goto(base + "/")
            _header_words_whole(localized, title)
            _fits_a_phone(localized)
            localized.context.close()

        # The console: every page, and a refused form's page.
        page.goto(base + "/admin/login")
        _fits_a_phone(page)
        page.get_by_label("Admin token").fill(TOKEN)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        for path in ("/admin", "/admin/gaps", "/admin/conversations", "/admin/conversations/1", "/admin/kb"):
            page.goto(base + path)
            _fits_a_phone(page)
        page.goto(base + "/admin/export")
        _fits_a_phone(page)
        page.get_by_role("button", name="Download").click()  # no export here: the page says so
        expect(page.get_by_role("alert")).to_be_visible()
        _fits_a_phone(page)
        context.close()


def test_a_limited_address_is_told_so_in_its_language_and_sending_waits(tmp_path: Path, browser: Any) -> None:
    # The per-address limit refuses before any route: the widget shows the refusal's own text (a minute,
    # not the flood text's "a few seconds"), in the visitor's language, and holds back sending until the
    # refusal's Retry-After has passed.
    from playwright.sync_api import expect

    from bot.channels.web import texts as web_texts
    from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB

    generator = FakeGenerator("Refunds are paid back to the original card within five business days. [1]")
    with _serve_in_thread(tmp_path, FakeKB(HELP_CENTER), generator, ip_requests_per_minute=8) as (base, _):
        context = browser.new_context(locale="de-DE", extra_http_headers={"Accept-Language": "de-DE"})
        page = context.new_page()
        page.clock.install()
        page.goto(base + "/")
        message = page.get_by_role("textbox", name="Nachricht")  # the session's labels are in
        expect(message).to_be_visible()
        # The rest of this minute's requests from the address (the page's own count too).
        refused = next(
            (n for n in range(20) if context.request.get(base + "/api/session").status == 429), None
        )
        assert refused is not None, "the address limit never applied"
        send = page.get_by_role("button", name="Senden")
        message.fill("Wie lange dauern Erstattungen?")
        send.click()
        expect(page.locator(".sbw-notice").last).to_have_text(
            texts.translate(web_texts.ADDRESS_LIMITED, "de")
        )
        expect(send).to_be_disabled()
        # Enter sends nothing while refused, and what was typed stays in the box.
        message.fill("Und wie lange dauert der Versand?")
        message.press("Enter")
        expect(message).to_have_value("Und wie lange dauert der Versand?")
        assert page.locator(".sbw-user").count() == 1
        page.clock.run_for(61_000)
        expect(send).to_be_enabled()
        context.close()


def test_a_widget_refused_its_session_asks_again_once_the_wait_is_over(tmp_path: Path, browser: Any) -> None:
    # Refused at its start (the per-address limit's 429, as the server words it), the widget has no session
    # to send with: it says why, and asks for one again once Retry-After has passed.
    from playwright.sync_api import expect

    from bot.channels.web import texts as web_texts
    from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB

    generator = FakeGenerator("Refunds are paid back to the original card within five business days. [1]")
    refusal = json.dumps(
        {"error": "Too many requests; please wait a minute.", "message": web_texts.ADDRESS_LIMITED}
    )
    refused: list[bool] = []

    def refuse_once(route: Any) -> None:
        if refused:
            route.continue_()
            return
        refused.append(True)
        route.fulfill(
            status=429, headers={"Retry-After": "60"}, content_type="application/json", body=refusal
        )

    with _serve_in_thread(tmp_path, FakeKB(HELP_CENTER), generator) as (base, _):
        context = browser.new_context()
        page = context.new_page()
        page.clock.install()
        page.route("**/api/session", refuse_once)
        page.goto(base + "/")
        send = page.get_by_role("button", name="Send")
        expect(page.locator(".sbw-notice")).to_have_text([web_texts.ADDRESS_LIMITED])
        expect(send).to_be_disabled()
        page.clock.run_for(61_000)
        expect(page.locator(".sbw-notice").last).to_have_text(web_texts.GREETING)
        expect(send).to_be_enabled()
        page.get_by_role("textbox", name="Message").fill("How long do refunds take?")
        send.click()
        answer = page.locator(".sbw-assistant").last
        expect(answer).not_to_have_attribute("aria-busy", "true")
        expect(answer.locator(".sbw-text")).to_contain_text("five business days")
        context.close()


def test_a_question_sent_before_the_session_is_ready_waits_for_it(tmp_path: Path, browser: Any) -> None:
    # A visitor who types and sends while /api/session is still on its way: the question had no CSRF token
    # yet, was refused, and read "Sorry, something went wrong". It now waits for the session, then is sent.
    from playwright.sync_api import expect

    from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB

    generator = FakeGenerator("Refunds are paid back to the original card within five business days. [1]")
    held: list[Any] = []
    with _serve_in_thread(tmp_path, FakeKB(HELP_CENTER), generator) as (base, _):
        context = browser.new_context()
        page = context.new_page()

        def hold(route: Any) -> None:
            held.append(route)

        page.route("**/api/session", hold)
        page.goto(base + "/")
        box = page.get_by_role("textbox", name="Message")
        box.fill("How long do refunds take?")
        box.press("Enter")
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the widget never asked for its session"
        page.wait_for_timeout(300)  # the question, sent, waits meanwhile
        held[0].continue_()
        answer = page.locator(".sbw-assistant").last
        expect(answer.locator(".sbw-text")).to_contain_text("five business days")
        expect(page.locator(".sbw-user")).to_have_text(["How long do refunds take?"])
        context.close()


def test_a_question_sent_after_the_session_failed_asks_for_one_again(tmp_path: Path, browser: Any) -> None:
    # The database was down when the page opened (503, not a wait of 429): Enter did nothing, silently,
    # until the page was reloaded. The send asks for a session again and goes with it.
    from playwright.sync_api import expect

    from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB

    generator = FakeGenerator("Refunds are paid back to the original card within five business days. [1]")
    failed: list[bool] = []

    def fail_once(route: Any) -> None:
        if failed:
            route.continue_()
            return
        failed.append(True)
        route.fulfill(status=503, content_type="application/json", body='{"error": "database unavailable"}')

    with _serve_in_thread(tmp_path, FakeKB(HELP_CENTER), generator) as (base, _):
        context = browser.new_context()
        page = context.new_page()
        page.route("**/api/session", fail_once)
        page.goto(base + "/")
        expect(page.locator(".sbw-notice")).to_have_count(1)
        box = page.get_by_role("textbox", name="Message")
        box.fill("How long do refunds take?")
        box.press("Enter")
        answer = page.locator(".sbw-assistant").last
        expect(answer.locator(".sbw-text")).to_contain_text("five business days")
        context.close()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE], ids=["1280", "375"])
def test_the_help_center_stays_at_its_top_when_the_widget_opens_itself(
    tmp_path: Path, browser: Any, viewport: dict[str, int]
) -> None:
    # The home page opens the widget at once (data-open="true"): the visitor stays at the top of the
    # articles, and on a phone no keyboard comes up over a page they have not seen yet.
    from playwright.sync_api import expect

    from bot.channels.web import texts as web_texts
    from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB

    phone = viewport["width"] < 600
    with _serve_in_thread(tmp_path, FakeKB(HELP_CENTER), FakeGenerator(), source=KNOWLEDGE) as (base, _):
        context = browser.new_context(viewport=viewport, has_touch=phone, is_mobile=phone)
        page = context.new_page()
        page.goto(base + "/")
        expect(page.locator(".sbw-panel")).to_be_visible()
        expect(page.locator(".sbw-notice")).to_have_text([web_texts.GREETING])
        page.wait_for_load_state("networkidle")
        tall = page.evaluate("document.documentElement.scrollHeight - window.innerHeight")
        assert tall > 200, "the page is too short to show a jump"
        assert page.evaluate("window.scrollY") == 0
        message = page.get_by_role("textbox", name="Message")
        if phone:
            expect(message).not_to_be_focused()
        else:
            expect(message).to_be_focused()
        # Opened by the visitor, the box is theirs to type in, on a phone too, still without a jump.
        page.get_by_role("button", name="Close chat").click()
        expect(page.locator(".sbw-panel")).to_be_hidden()
        page.locator(".sbw-launcher").click()
        expect(message).to_be_focused()
        assert page.evaluate("window.scrollY") == 0
        context.close()


@pytest.mark.parametrize("locale", ["en-US", "de-DE"])
def test_a_question_refused_by_a_limit_stays_in_the_box(tmp_path: Path, browser: Any, locale: str) -> None:
    # The refusal says "then send this one again": the question is still there to send. Under a German
    # browser the English questions' notice is in English, not the widget's German: the server marks it.
    from playwright.sync_api import expect

    from bot.channels.web import texts as web_texts
    from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB

    generator = FakeGenerator("Refunds are paid back to the original card within five business days. [1]")
    with _serve_in_thread(tmp_path, FakeKB(HELP_CENTER), generator) as (base, _):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        page.goto(base + "/")
        message = page.locator(".sbw-input")
        send = page.locator(".sbw-send")
        expect(page.locator(".sbw-notice")).to_have_count(1)  # the greeting
        # The flood rule's allowance (5 in 10 s): answered questions leave the box empty.
        for n in range(5):
            message.fill(f"How long do refunds take? ({n})")
            send.click()
            expect(page.locator(".sbw-assistant")).to_have_count(n + 1)
            expect(page.locator(".sbw-assistant").last).not_to_have_attribute("aria-busy", "true")
            expect(send).to_be_enabled()
            expect(message).to_have_value("")
        # Past it: first the rule's notice (in the answer's stream), then a 429 with the same text.
        for refused in ("And how long does shipping take?", "And can I pay by bank transfer?"):
            message.fill(refused)
            send.click()
            expect(page.locator(".sbw-notice").last).to_have_text(web_texts.FLOOD)
            expect(send).to_be_enabled()
            expect(message).to_have_value(refused)
            expect(message).to_be_focused()
        assert page.locator(".sbw-notice").count() == 3
        context.close()


# The x of `word` (its first occurrence) in the text of the element `selector` matches last.
WORD_X = """([selector, word]) => {
  const nodes = document.querySelectorAll(selector);
  const walker = document.createTreeWalker(nodes[nodes.length - 1], NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(word);
    if (at === -1) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + word.length);
    return range.getBoundingClientRect().x;
  }
  return null;
}"""


def test_an_arabic_visitor_reads_the_widget_and_its_answers_right_to_left(
    tmp_path: Path, browser: Any
) -> None:
    # Arabic answers and fixed texts were laid out left to right: a sentence that opens with a Latin product
    # name showed the name at its end, and "؟" and "." at its start.
    from playwright.sync_api import expect

    from tests.fakes import FakeGenerator, FakeKB, make_chunk

    arabic = "Parcelly تعيد المبلغ إلى بطاقتك خلال 5 أيام عمل من استلام المرتجع."
    english = "Refunds go back to the original card."
    chunk = replace(make_chunk("ar/refunds.md", "استرداد المبلغ", f"{arabic} {english}"), lang="ar")
    reply = f"{arabic} [1]\n{english} [1]"
    generator = FakeGenerator(reply)
    with _serve_in_thread(tmp_path, FakeKB([chunk]), generator, source=KNOWLEDGE) as (base, _):
        arabic_browser = {"Accept-Language": "ar-SA,ar;q=0.9"}
        context = browser.new_context(locale="ar-SA", extra_http_headers=arabic_browser)
        page = context.new_page()
        page.goto(base + "/")
        # The demo page and the widget's own words, right to left.
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator(".sbw")).to_have_attribute("dir", "rtl")
        expect(page.locator(".sbw")).to_have_attribute("lang", "ar")
        expect(page.locator(".sbw-notice")).to_have_attribute("dir", "rtl")
        # At the end of the page's lines, bottom left, as it sits bottom right on a left-to-right page: there
        # it hid the start of the help center's lines.
        launcher = page.locator(".sbw-launcher").bounding_box()
        assert launcher is not None
        assert launcher["x"] < 100
        # The help center's English article titles keep their own direction on the Arabic page.
        expect(page.locator(".folders")).to_have_attribute("dir", "auto")
        assert page.locator(".folders").evaluate("e => getComputedStyle(e).direction") == "ltr"
        page.get_by_role("textbox", name="الرسالة").fill("كم يستغرق استرداد المبلغ؟")
        page.get_by_role("button", name="إرسال", exact=True).click()
        answer = page.locator(".sbw-assistant").last
        expect(answer).not_to_have_attribute("aria-busy", "true")
        expect(answer).to_have_attribute("dir", "rtl")
        # "Parcelly" opens the sentence: at its right, before the Arabic words, and the full stop at its left.
        rtl = ".sbw-assistant .sbw-text span[dir='rtl']"
        expect(answer.locator("span[dir='rtl']")).to_have_count(1)
        assert page.evaluate(WORD_X, [rtl, "Parcelly"]) > page.evaluate(WORD_X, [rtl, "تعيد"])
        assert page.evaluate(WORD_X, [rtl, "."]) < page.evaluate(WORD_X, [rtl, "المرتجع"])
        # The English line under it keeps its own direction, its full stop at its end.
        ltr = ".sbw-assistant .sbw-text span[dir='ltr']"
        expect(answer.locator("span[dir='ltr']")).to_have_text(f"{english} [1]")
        assert page.evaluate(WORD_X, [ltr, "card"]) < page.evaluate(WORD_X, [ltr, "."])
        # The text is the answer's, as it was written.
        assert answer.locator(".sbw-text").evaluate("e => e.textContent") == reply
        expect(answer.locator(".sbw-sources-title")).to_have_text("المصادر")
        # The visitor's own message on the left, as Arabic chat apps put one's own, the answer on the right.
        log = page.locator(".sbw-log").bounding_box()
        question = page.locator(".sbw-user").bounding_box()
        shown = answer.bounding_box()
        assert log is not None
        assert question is not None
        assert shown is not None
        assert question["x"] - log["x"] < 20
        assert log["x"] + log["width"] - (shown["x"] + shown["width"]) < 20
        context.close()


def test_a_command_in_an_arabic_fixed_text_keeps_its_slash_in_front(browser: Any) -> None:
    # Right to left, the slash of "/new" took the line's direction and showed as "new/": the Arabic catalog
    # puts a left-to-right mark before each command.
    from bot.channels.telegram import texts as tg_texts

    page = browser.new_page()
    for message in (texts.HANDOFF_REQUESTED, tg_texts.START, tg_texts.HELP, tg_texts.UNKNOWN_COMMAND):
        text = texts.translate(message, "ar")
        page.set_content("<p dir='rtl' style='white-space: pre-wrap; width: 30em'></p>")
        page.locator("p").evaluate("(e, text) => { e.textContent = text; }", text)
        for command in re.findall(r"/[a-z]+", text):
            slash, first = page.evaluate(
                """([command]) => {
                  const node = document.querySelector('p').firstChild;
                  const at = node.data.indexOf(command);
                  const range = document.createRange();
                  const x = (i) => { range.setStart(node, i); range.setEnd(node, i + 1);
                                     return range.getBoundingClientRect().x; };
                  return [x(at), x(at + 1)];
                }""",
                [command],
            )
            assert slash < first, (command, message)
    page.close()
