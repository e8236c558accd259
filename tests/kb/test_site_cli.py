"""`kb sync URL`: the same report as `kb reload`, incremental, and sources in `kb stats`."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.kb.site_server import HelpSite
from tests.kb.test_cli import cli  # noqa: F401 - the CLI fixture with the fake embedder


@pytest.fixture
def threaded_site() -> Iterator[HelpSite]:
    """The help site on its own event loop in a thread: the CLI runs `asyncio.run` in the test's thread."""
    site = HelpSite()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(site.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield site
    asyncio.run_coroutine_threadsafe(site.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def _json(output: str) -> dict[str, object]:
    (line,) = [line for line in output.splitlines() if line.startswith("{")]
    payload = json.loads(line)
    assert isinstance(payload, dict)
    return payload


def test_kb_sync_indexes_a_site_beside_the_folder_and_a_second_sync_embeds_nothing(
    cli: CliRunner,  # noqa: F811
    corpus: Path,
    threaded_site: HelpSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_KB__SOURCE", str(corpus))
    monkeypatch.setenv("BOT_KB__CRAWL__DELAY_S", "0")
    monkeypatch.setenv("BOT_KB__CRAWL__TIMEOUT_S", "1")
    url = threaded_site.url + "/sitemap.xml"

    first = cli.invoke(app, ["kb", "sync", url, "--json"])
    assert first.exit_code == 0, first.output
    report = _json(first.stdout)
    assert set(report) >= {"files", "chunks", "embedded", "skipped", "sources", "needs_review"}
    assert report["files"] == {"total": 9, "added": 9, "changed": 0, "removed": 0, "unchanged": 0}
    sources = report["sources"]
    assert isinstance(sources, list)
    assert [(s["name"], s["kind"], s["documents"]) for s in sources] == [
        (str(corpus), "folder", 5),
        (url, "site", 4),
    ]
    assert sources[1]["redirects"] == [
        [f"{threaded_site.url}/help/old-claims", f"{threaded_site.url}/help/claims.html"]
    ]
    assert "is not in BOT_KB__SOURCES: the next reload or scheduled refresh drops its pages" in first.stderr

    monkeypatch.setenv("BOT_KB__SOURCES", f"{corpus},{url}")
    again = cli.invoke(app, ["kb", "sync"])
    assert again.exit_code == 0, again.output
    assert "Embedded 0 chunks" in again.stdout
    assert (
        f"Source {url} (site): 4 pages, 4 skipped, 0 fetched, 4 not modified, 1 disallowed by" in again.stdout
    )
    assert "not in BOT_KB__SOURCES" not in again.stderr

    stats = cli.invoke(app, ["kb", "stats"])
    assert stats.exit_code == 0, stats.output
    assert f"source     {url} (site): 4 pages" in stats.stdout
    # One line per source (the folder and the site): the bare list of their names was printed above them too.
    assert sum(line.startswith("source ") for line in stats.stdout.splitlines()) == 2

    hits = _json(cli.invoke(app, ["kb", "search", "customs declaration abroad", "--json"]).stdout)["hits"]
    assert isinstance(hits, list)
    sources_hit = {hit["source"] for hit in hits}
    assert f"{threaded_site.url}/help/shipping.html" in sources_hit
    assert "guide/shipping.md" in sources_hit


def test_kb_sync_refuses_what_is_not_a_web_address(cli: CliRunner) -> None:  # noqa: F811
    result = cli.invoke(app, ["kb", "sync", "help.example.com"])
    assert result.exit_code != 0
    assert "URL must start with http:// or https://" in result.output
