"""The shared worker state: one contract run on memory, SQLite and PostgreSQL; the window rule itself."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.channels.limits import SlidingWindow
from bot.store import migrate
from bot.store.repo import SqlConversationLog
from bot.store.shared import MAX_ATTEMPTS, MemorySharedState, SharedState, Window, slide
from bot.store.shared_sql import SqlSharedState
from tests.conftest import POSTGRES_URL
from tests.store.conftest import _reset_postgres


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The CI's PostgreSQL, emptied and migrated (skipped without TEST_POSTGRES_URL, like the store tests)."""
    if not POSTGRES_URL:
        pytest.skip("set TEST_POSTGRES_URL to run the PostgreSQL tests")
    _reset_postgres(POSTGRES_URL)
    migrate.upgrade(POSTGRES_URL)
    yield POSTGRES_URL
    _reset_postgres(POSTGRES_URL)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def shared(
    request: pytest.FixtureRequest, migrated_sqlite: Callable[[Path], str], tmp_path: Path
) -> AsyncIterator[tuple[SharedState, Clock]]:
    clock = Clock()
    if request.param == "memory":
        yield MemorySharedState(clock=clock), clock
        return
    if request.param == "sqlite":
        url = migrated_sqlite(tmp_path / "log.db")
    else:
        url = request.getfixturevalue("postgres_url")
    log = SqlConversationLog(url)
    yield SqlSharedState(log, clock=clock), clock
    await log.close()


async def test_an_update_is_registered_once(shared: tuple[SharedState, Clock]) -> None:
    state, _ = shared
    assert await state.register(10, "7", '{"update_id": 10}', worker="a", lease_s=30)
    assert not await state.register(10, "7", '{"update_id": 10}', worker="b", lease_s=30)


async def test_a_chat_waits_for_its_earlier_unfinished_updates_only(
    shared: tuple[SharedState, Clock],
) -> None:
    state, _ = shared
    await state.register(10, "7", "{}", worker="a", lease_s=30)
    await state.register(11, "8", "{}", worker="a", lease_s=30)
    await state.register(12, "7", "{}", worker="b", lease_s=30)
    assert not await state.blocked(10, "7")
    assert await state.blocked(12, "7")
    assert not await state.blocked(11, "8"), "another chat does not wait"
    await state.finish(10)
    assert not await state.blocked(12, "7")


async def test_a_dead_workers_update_stops_blocking_and_is_taken_over(
    shared: tuple[SharedState, Clock],
) -> None:
    state, clock = shared
    await state.register(10, "7", '{"update_id": 10}', worker="a", lease_s=30)
    await state.register(11, "7", '{"update_id": 11}', worker="b", lease_s=30)
    clock.now += 20
    await state.renew([11], worker="b", lease_s=30)
    await state.renew([10], worker="b", lease_s=30)  # not b's: no effect
    assert await state.take_over(worker="b", lease_s=30) == []
    clock.now += 15  # a's lease ran out; b's renewed one did not
    assert not await state.blocked(11, "7")
    taken = await state.take_over(worker="b", lease_s=30)
    assert [(t.update_id, t.payload, t.attempts) for t in taken] == [(10, '{"update_id": 10}', 2)]
    assert await state.take_over(worker="c", lease_s=30) == [], "taken once"
    assert await state.blocked(11, "7"), "held again, by a live worker"


async def test_an_update_that_keeps_killing_workers_is_given_up(shared: tuple[SharedState, Clock]) -> None:
    state, clock = shared
    await state.register(10, "7", "{}", worker="a", lease_s=5)
    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock.now += 6
        assert [t.attempts for t in await state.take_over(worker=f"w{attempt}", lease_s=5)] == [attempt]
    clock.now += 6
    assert await state.take_over(worker="last", lease_s=5) == []
    assert not await state.blocked(11, "7")


async def _payloads(state: SharedState) -> dict[int, str]:
    if isinstance(state, MemorySharedState):
        return {uid: entry.payload for uid, entry in state._updates.items()}
    assert isinstance(state, SqlSharedState)
    async with state._log.transaction() as conn:
        rows = (await conn.execute(text("SELECT update_id, payload FROM update_ledger"))).all()
    return {int(uid): str(payload) for uid, payload in rows}


async def test_a_finished_or_given_up_update_keeps_no_customer_text(
    shared: tuple[SharedState, Clock],
) -> None:
    state, clock = shared
    await state.register(10, "7", '{"text": "my card number is"}', worker="a", lease_s=5)
    await state.register(11, "8", '{"text": "where is my parcel"}', worker="a", lease_s=5)
    await state.register(12, "9", '{"text": "still waiting"}', worker="a", lease_s=500)
    await state.finish(10)
    for _ in range(MAX_ATTEMPTS):
        clock.now += 6
        await state.take_over(worker="b", lease_s=5)
    assert await _payloads(state) == {10: "", 11: "", 12: '{"text": "still waiting"}'}


async def test_finished_updates_and_idle_windows_are_purged(shared: tuple[SharedState, Clock]) -> None:
    state, clock = shared
    await state.register(10, "7", "{}", worker="a", lease_s=30)
    await state.register(11, "7", "{}", worker="a", lease_s=30)
    await state.finish(10)
    assert await state.flood("u1", clock.now, limit=2, window_s=10) == "ok"
    clock.now += 100
    await state.renew([11], worker="a", lease_s=30)  # still being answered
    assert await state.purge(older_than_s=50) == 2
    assert await state.blocked(12, "7"), "the unfinished one stays"
    assert await state.register(10, "7", "{}", worker="a", lease_s=30), "gone from the ledger"


async def test_flood_windows_notice_once_then_drop_then_recover(shared: tuple[SharedState, Clock]) -> None:
    state, clock = shared
    t = clock.now
    verdicts = [await state.flood("u1", t + i * 0.1, limit=2, window_s=10) for i in range(5)]
    assert verdicts == ["ok", "ok", "notice", "drop", "drop"]
    assert await state.flood("u2", t, limit=2, window_s=10) == "ok", "per key"
    assert await state.flood("u1", t + 10.05, limit=2, window_s=10) == "ok"


async def test_concurrent_flood_checks_of_one_key_count_every_event(
    shared: tuple[SharedState, Clock],
) -> None:
    state, clock = shared
    verdicts = await asyncio.gather(
        *(state.flood("u1", clock.now + i * 0.001, limit=3, window_s=10) for i in range(8))
    )
    assert sorted(verdicts) == ["drop"] * 4 + ["notice"] + ["ok"] * 3


def test_slide_is_the_channels_sliding_window() -> None:
    rng = random.Random(7)
    for _ in range(50):
        limit, window_s = rng.randint(1, 4), rng.choice([1.0, 2.5, 10.0])
        reference = SlidingWindow(limit, window_s)
        window, at = Window(), 0.0
        for _ in range(40):
            at += rng.choice([0.01, 0.3, 1.0, 3.0])
            window, verdict = slide(window, at, limit, window_s)
            assert verdict == reference.check("k", at)


async def test_two_logs_on_one_postgres_database_register_each_update_once(postgres_url: str) -> None:
    """Two workers' engines race for the same ids: every id is won by exactly one."""
    logs = [SqlConversationLog(postgres_url), SqlConversationLog(postgres_url)]
    try:
        states = [SqlSharedState(log) for log in logs]
        wins = await asyncio.gather(
            *(
                state.register(uid, "7", "{}", worker=f"w{n}", lease_s=30)
                for uid in range(100, 140)
                for n, state in enumerate(states)
            )
        )
        assert sum(wins) == 40
    finally:
        for log in logs:
            await log.close()
    assert migrate.current_revisions(postgres_url) == migrate.head_revisions()
