"""A reload cancelled while it swaps (Ctrl-C on `kb reload`, a shutdown) leaves a usable index behind."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.kb.base import KBUnavailableError, ReloadProgress
from bot.kb.elastic import ElasticKB
from bot.kb.embedded import POINTER, EmbeddedKB
from tests.fakes import FakeEmbedder
from tests.kb.conftest import make_settings
from tests.kb.fake_es import FakeElasticsearch

QUESTION = "customs declaration abroad"
ANSWER_HEADING = "Sending a parcel abroad"


async def _until(condition: Any, what: str) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_an_embedded_reload_cancelled_during_its_swap_leaves_a_usable_index(
    corpus: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    kb = EmbeddedKB(make_settings(tmp_path).kb, index_dir, FakeEmbedder())
    entered, release, swapped = threading.Event(), threading.Event(), threading.Event()

    def hold_the_swap(progress: ReloadProgress) -> None:
        # Called from the swap's worker thread, just before it writes the pointer, and once it has swapped.
        if progress.stage == "swapping" and progress.done == 0:
            entered.set()
            release.wait(30)
        elif progress.stage == "swapping":
            swapped.set()

    try:
        await kb.reload(corpus)
        reload = asyncio.create_task(kb.reload(corpus, hold_the_swap))
        assert await asyncio.to_thread(entered.wait, 30)
        # Cancelled twice, as a second Ctrl-C would: neither may let the cleanup run beside the swap.
        for _ in range(2):
            reload.cancel()
            await asyncio.sleep(0.05)
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await reload
        # Checked once the swap's thread is done (it is by now when the reload waited for it).
        assert await asyncio.to_thread(swapped.wait, 30)
        serving = json.loads((index_dir / POINTER).read_text(encoding="utf-8"))["file"]
        assert (index_dir / serving).is_file(), "the pointer names a deleted index file"
        assert (await kb.search(QUESTION, k=1))[0].chunk.heading == ANSWER_HEADING
    finally:
        release.set()
        await kb.close()
    # Another process (the bot beside the CLI) opens the index from the pointer.
    other = EmbeddedKB(make_settings(tmp_path).kb, index_dir, FakeEmbedder())
    try:
        assert (await other.search(QUESTION, k=1))[0].chunk.heading == ANSWER_HEADING
    finally:
        await other.close()


async def _elastic(tmp_path: Path) -> tuple[FakeElasticsearch, ElasticKB]:
    server = FakeElasticsearch()
    await server.start()
    settings = make_settings(tmp_path, elasticsearch={"url": server.url})
    return server, ElasticKB(settings.kb, settings.elasticsearch, FakeEmbedder())


def _hold_swaps(server: FakeElasticsearch, monkeypatch: pytest.MonkeyPatch, *, apply: bool) -> asyncio.Event:
    """From now on the fake applies (or, `apply` false, refuses) each `_aliases` request and then holds its
    answer until the returned event is set: a cluster whose answer is slow, the reload cancelled meanwhile."""
    release = asyncio.Event()
    route = server._route

    async def held(method: str, parts: list[str], request: Any, body: Any) -> Any:
        if parts != ["_aliases"] or method != "POST":
            return await route(method, parts, request, body)
        if apply:
            response = server._update_aliases(body)
        else:
            response = server._error(503, "process_cluster_event_timeout_exception", "not applied")
        await release.wait()
        return response

    monkeypatch.setattr(server, "_route", held)
    return release


def _swap_sent(server: FakeElasticsearch, serving: str) -> bool:
    """Whether the fake has received the reload's swap (an `_aliases` request adding another index)."""
    return any(
        r.path == "/_aliases" and {"add": {"index": serving, "alias": "kb"}} not in r.body["actions"]
        for r in server.requests
    )


async def test_an_elastic_reload_cancelled_after_the_cluster_applied_its_swap_keeps_the_new_index(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, kb = await _elastic(tmp_path)
    release = asyncio.Event()
    try:
        first = await kb.reload(corpus)
        release = _hold_swaps(server, monkeypatch, apply=True)
        reload = asyncio.create_task(kb.reload(corpus))
        await _until(lambda: server.aliases.get("kb", {first.index}) != {first.index}, "the swap")
        (serving,) = server.aliases["kb"]
        reload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reload
        assert serving in server.indices, "the index the alias serves was dropped"
        assert server.aliases == {"kb": {serving}}
        release.set()
        assert (await kb.search(QUESTION, k=1))[0].chunk.heading == ANSWER_HEADING
        assert (await kb.stats()).index == serving
    finally:
        release.set()
        await kb.close()
        await server.stop()


async def test_an_elastic_reload_cancelled_before_the_cluster_applied_its_swap_drops_the_new_index(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the check: a swap that did not happen leaves no orphan index behind."""
    server, kb = await _elastic(tmp_path)
    release = asyncio.Event()
    try:
        first = await kb.reload(corpus)
        release = _hold_swaps(server, monkeypatch, apply=False)
        reload = asyncio.create_task(kb.reload(corpus))
        await _until(lambda: _swap_sent(server, first.index), "the swap request")
        reload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reload
        assert server.aliases == {"kb": {first.index}}
        assert set(server.indices) == {first.index}
        release.set()
        assert (await kb.search(QUESTION, k=1))[0].chunk.heading == ANSWER_HEADING
    finally:
        release.set()
        await kb.close()
        await server.stop()


async def test_a_pointer_to_a_missing_index_file_says_to_reload(corpus: Path, tmp_path: Path) -> None:
    """What a swap racing its cleanup used to leave: the bot must say so, not fail with a raw SQLite error."""
    index_dir = tmp_path / "index"
    kb = EmbeddedKB(make_settings(tmp_path).kb, index_dir, FakeEmbedder())
    try:
        report = await kb.reload(corpus)
    finally:
        await kb.close()
    (index_dir / report.index).unlink()
    other = EmbeddedKB(make_settings(tmp_path).kb, index_dir, FakeEmbedder())
    try:
        with pytest.raises(KBUnavailableError, match=f"index {report.index} cannot be opened.*kb reload"):
            await other.search(QUESTION, k=1)
    finally:
        await other.close()
