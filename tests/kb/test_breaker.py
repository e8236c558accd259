"""BreakerKB: a deadline on every search, a circuit that opens on repeated failures and recovers by itself."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.domain import Chunk, Hit
from bot.kb.base import KBStats, KBUnavailableError, ReloadReport, SearchMode
from bot.kb.breaker import BreakerKB
from tests.fakes import FakeKB, make_chunk


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FlakyKB(FakeKB):
    """A FakeKB that can hang, raise a foreign exception, and counts the calls that reached it."""

    def __init__(self) -> None:
        super().__init__([make_chunk("a.md", "Refunds", "refunds take five days")])
        self.calls = 0
        self.hang = False
        self.crash = False

    async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        self.calls += 1
        if self.hang:
            await asyncio.sleep(30)
        if self.crash:
            raise ConnectionResetError("peer reset")
        return await super().search(query, k, mode)


def _breaker(inner: FlakyKB, clock: Clock, timeout_s: float = 0.05) -> BreakerKB:
    return BreakerKB(inner, timeout_s=timeout_s, failure_threshold=3, cooldown_s=10.0, clock=clock)


async def test_passes_results_through_when_healthy() -> None:
    kb = _breaker(FlakyKB(), Clock())
    hits = await kb.search("refunds")
    assert hits[0].chunk.heading == "Refunds"
    assert kb.state == "closed"
    assert kb.name == "fake"


async def test_deadline_turns_a_hang_into_kb_unavailable_fast() -> None:
    inner = FlakyKB()
    inner.hang = True
    kb = _breaker(inner, Clock(), timeout_s=0.05)
    started = time.perf_counter()
    with pytest.raises(KBUnavailableError, match="timed out"):
        await kb.search("refunds")
    assert time.perf_counter() - started < 1.0
    assert kb.consecutive_failures == 1
    assert kb.state == "closed"


async def test_opens_after_threshold_fails_fast_then_half_open_probe_recovers() -> None:
    inner, clock = FlakyKB(), Clock()
    inner.down = True
    kb = _breaker(inner, clock)
    for _ in range(3):
        with pytest.raises(KBUnavailableError):
            await kb.search("refunds")
    assert kb.state == "open"
    assert inner.calls == 3
    with pytest.raises(KBUnavailableError, match="circuit open"):
        await kb.search("refunds")
    assert inner.calls == 3, "an open circuit does not call the backend"

    clock.now += 10.0
    assert kb.state == "half_open"
    with pytest.raises(KBUnavailableError):
        await kb.search("refunds")  # the probe fails: open again for a full cool-down
    assert inner.calls == 4
    assert kb.state == "open"

    inner.down = False
    clock.now += 5.0
    with pytest.raises(KBUnavailableError, match="circuit open"):
        await kb.search("refunds")
    clock.now += 5.0
    assert (await kb.search("refunds"))[0].chunk.heading == "Refunds"
    assert kb.state == "closed"
    assert kb.consecutive_failures == 0


async def test_only_one_probe_at_a_time_in_half_open() -> None:
    inner, clock = FlakyKB(), Clock()
    inner.crash = True
    kb = BreakerKB(inner, timeout_s=1.0, failure_threshold=1, cooldown_s=10.0, clock=clock)
    with pytest.raises(KBUnavailableError, match="ConnectionResetError"):
        await kb.search("refunds")
    clock.now += 10.0
    inner.crash = False
    inner.hang = True
    probe = asyncio.create_task(kb.search("refunds"))
    await asyncio.sleep(0.01)
    with pytest.raises(KBUnavailableError, match="circuit open"):
        await kb.search("refunds")
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    inner.hang = False
    assert await kb.search("refunds")


async def test_success_resets_the_failure_count() -> None:
    inner = FlakyKB()
    kb = _breaker(inner, Clock())
    for _ in range(5):
        inner.down = True
        with pytest.raises(KBUnavailableError):
            await kb.search("refunds")
        inner.down = False
        await kb.search("refunds")
    assert kb.state == "closed"


async def test_caller_errors_do_not_count() -> None:
    class Strict(FlakyKB):
        async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
            raise ValueError("unknown mode")

    kb = BreakerKB(Strict(), timeout_s=1.0, failure_threshold=1)
    with pytest.raises(ValueError, match="unknown mode"):
        await kb.search("x")
    assert kb.state == "closed"


async def test_ping_and_reload_close_the_circuit_and_stats_show_it(tmp_path: Path) -> None:
    inner, clock = FlakyKB(), Clock()
    inner.down = True
    kb = _breaker(inner, clock)
    for _ in range(3):
        with pytest.raises(KBUnavailableError):
            await kb.search("refunds")
    with pytest.raises(KBUnavailableError):
        await kb.ping()
    inner.down = False
    assert (await kb.stats()).extra["circuit"] == "open"
    report = await kb.reload(tmp_path)
    assert isinstance(report, ReloadReport)
    assert kb.state == "closed"
    inner.down = True
    for _ in range(3):
        with pytest.raises(KBUnavailableError):
            await kb.search("refunds")
    inner.down = False
    clock.now += 10.0
    await kb.ping()
    assert kb.state == "closed"
    await kb.close()


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        BreakerKB(FlakyKB(), timeout_s=0)


async def test_a_failed_vocabulary_check_finds_nothing_missing_and_keeps_the_circuit() -> None:
    class NoVocabulary(FlakyKB):
        async def missing_words(self, words: Sequence[str]) -> frozenset[str]:
            if self.hang:
                await asyncio.sleep(30)
            raise KBUnavailableError("vocabulary lookup failed")

    inner = NoVocabulary()
    kb = _breaker(inner, Clock())
    assert await kb.missing_words(["WireGuard"]) == frozenset()
    inner.hang = True
    assert await kb.missing_words(["WireGuard"]) == frozenset()
    assert kb.state == "closed"
    healthy = _breaker(FlakyKB(), Clock())
    assert await healthy.missing_words(["Refunds", "WireGuard"]) == frozenset({"WireGuard"})


async def test_a_failed_outline_offers_nothing_and_keeps_the_circuit() -> None:
    class NoOutline(FlakyKB):
        async def outline(self, source: str) -> tuple[Chunk, ...]:
            if self.hang:
                await asyncio.sleep(30)
            raise KBUnavailableError("outline failed")

    inner = NoOutline()
    kb = _breaker(inner, Clock())
    assert await kb.outline("a.md") == ()
    inner.hang = True
    assert await kb.outline("a.md") == ()
    assert kb.state == "closed"
    healthy = _breaker(FlakyKB(), Clock())
    assert [c.heading for c in await healthy.outline("a.md")] == ["Refunds"]


async def test_slow_stats_are_kb_unavailable_so_stats_pages_say_so_and_the_circuit_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.admin import Admin
    from tests.fakes_log import MemoryConversationLog

    class SlowStats(FlakyKB):
        async def stats(self) -> KBStats:
            await asyncio.sleep(30)
            return await super().stats()

    monkeypatch.setattr("bot.kb.breaker.STATS_TIMEOUT_S", 0.05)
    kb = _breaker(SlowStats(), Clock())
    with pytest.raises(KBUnavailableError, match=r"stats timed out after 0\.05 s"):
        await kb.stats()
    assert kb.state == "closed"
    assert kb.consecutive_failures == 0
    # What /stats and the console's Overview show instead of a generic error (or an HTTP 500).
    admin = Admin(
        kb,
        MemoryConversationLog(),
        kb_source=tmp_path,
        exports_dir=tmp_path / "exports",
        check_upload=lambda name, data: name,
    )
    assert "Knowledge base: unavailable" in await admin.stats()


class SlowFirstKB(FlakyKB):
    """Its first search opens the index: slower than the per-search deadline; later ones are fast."""

    async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        if self.calls == 0:
            await asyncio.sleep(0.2)
        return await super().search(query, k, mode)


async def test_the_warm_up_opens_the_index_without_the_customers_deadline() -> None:
    # The first question of a process on a busy machine was refused with "I can't look that up right now":
    # opening the index counted in its 3 s.
    cold = _breaker(SlowFirstKB(), Clock(), timeout_s=0.1)
    with pytest.raises(KBUnavailableError):
        await cold.search("refunds")
    warmed = _breaker(SlowFirstKB(), Clock(), timeout_s=0.1)
    await warmed.warm_up()
    assert (await warmed.search("refunds"))[0].chunk.heading == "Refunds"
    assert warmed.state == "closed"


async def test_a_failed_warm_up_only_logs_and_leaves_the_circuit_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.kb")
    down = FlakyKB()
    down.down = True
    kb = _breaker(down, Clock())
    await kb.warm_up()
    hanging = FlakyKB()
    hanging.hang = True
    await _breaker(hanging, Clock()).warm_up(limit_s=0.05)
    crashing = FlakyKB()
    crashing.crash = True
    await _breaker(crashing, Clock()).warm_up()
    assert kb.state == "closed"
    assert kb.consecutive_failures == 0
    assert [r.message for r in caplog.records] == [
        "knowledge base not warmed up",
        "knowledge base not warmed up",
        "knowledge base warm-up failed",
    ]


class PreparingKB(FlakyKB):
    """A FakeKB with once-per-process work before a search (`PreparesSearch`), slow or failing."""

    def __init__(self, seconds: float = 0.0, fail: bool = False) -> None:
        super().__init__()
        self.seconds = seconds
        self.fail = fail
        self.prepared: list[str] = []

    async def prepare_search(self, query: str) -> None:
        self.prepared.append(query)
        if self.fail:
            raise OSError("dictionary unreadable")
        await asyncio.sleep(self.seconds)


async def test_the_work_a_search_needs_once_is_done_before_its_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = PreparingKB(seconds=0.2)
    kb = _breaker(slow, Clock(), timeout_s=0.1)
    assert (await kb.search("refunds"))[0].chunk.heading == "Refunds"
    assert slow.prepared == ["refunds"]
    assert kb.state == "closed"
    # Preparing that fails only logs: the search goes on and reports what is wrong itself.
    caplog.set_level(logging.INFO, logger="bot.kb")
    failing = _breaker(PreparingKB(fail=True), Clock())
    assert (await failing.search("refunds"))[0].chunk.heading == "Refunds"
    assert [r.message for r in caplog.records] == ["preparing a search failed"]
    assert failing.consecutive_failures == 0
