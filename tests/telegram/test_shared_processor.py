"""The shared-state processor and flood gate in one process: two 'workers' over one MemorySharedState."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from telegram import Update

from bot.channels.telegram.app import shared_secret
from bot.channels.telegram.flood import FloodGate
from bot.channels.telegram.ordering import UpdateState
from bot.channels.telegram.workers import SharedOrderedProcessor
from bot.devtools.fake_telegram import FakeTelegram, user
from bot.store.base import StoreUnavailableError
from bot.store.shared import MemorySharedState

ALICE = user(501, "Alice")
BOB = user(502, "Bob")


def _update(fake: FakeTelegram, sender: dict[str, Any], text: str) -> tuple[Update, str]:
    data = fake.message_update(sender, text)
    return Update.de_json(data, None), json.dumps(data)


class _Down:
    """A shared state whose database is gone."""

    async def register(self, *args: Any, **kwargs: Any) -> bool:
        raise StoreUnavailableError("database unavailable: test")

    async def blocked(self, *args: Any, **kwargs: Any) -> bool:
        raise StoreUnavailableError("database unavailable: test")

    async def finish(self, *args: Any, **kwargs: Any) -> None:
        raise StoreUnavailableError("database unavailable: test")

    async def flood(self, *args: Any, **kwargs: Any) -> str:
        raise StoreUnavailableError("database unavailable: test")


async def test_a_redelivery_to_either_worker_is_dropped() -> None:
    shared = MemorySharedState()
    a = SharedOrderedProcessor(shared, lease_s=30, worker="a")
    b = SharedOrderedProcessor(shared, lease_s=30, worker="b")
    update, payload = _update(FakeTelegram(), ALICE, "hi")
    assert await a.admit(update, payload)
    assert not await b.admit(update, payload)
    assert not await a.admit(update, payload)


async def test_a_chats_later_update_on_another_worker_waits_for_the_earlier_one() -> None:
    shared = MemorySharedState()
    a = SharedOrderedProcessor(shared, lease_s=30, worker="a")
    b = SharedOrderedProcessor(shared, lease_s=30, worker="b")
    fake = FakeTelegram()
    first, first_json = _update(fake, ALICE, "one")
    second, second_json = _update(fake, ALICE, "two")
    other, other_json = _update(fake, BOB, "three")
    events: list[str] = []
    release = asyncio.Event()

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        events.append(f"{name} start")
        if wait is not None:
            await wait.wait()
        events.append(f"{name} end")

    for processor, update, payload in (
        (a, first, first_json),
        (b, second, second_json),
        (b, other, other_json),
    ):
        assert await processor.admit(update, payload)
    running = asyncio.create_task(a.do_process_update(first, handle("first", release)))
    waiting = asyncio.create_task(b.do_process_update(second, handle("second")))
    await asyncio.sleep(0.1)
    await b.do_process_update(other, handle("other"))  # another chat does not wait
    await asyncio.sleep(0.2)
    assert events == ["first start", "other start", "other end"]
    release.set()
    await asyncio.wait_for(asyncio.gather(running, waiting), 5)
    assert events[3:] == ["first end", "second start", "second end"]
    assert not await shared.blocked(second.update_id + 100, str(ALICE["id"])), "all finished"


async def test_without_the_database_updates_still_run() -> None:
    processor = SharedOrderedProcessor(_Down(), lease_s=30, worker="a")  # type: ignore[arg-type]
    update, payload = _update(FakeTelegram(), ALICE, "hi")
    assert await processor.admit(update, payload), "not recorded, but not lost"
    done: list[int] = []

    async def handle() -> None:
        done.append(update.update_id)

    await processor.do_process_update(update, handle())
    assert done == [update.update_id]


class _App:
    """What the processor needs of an Application to hand it a taken-over update."""

    def __init__(self) -> None:
        self.bot = None
        self.update_queue: asyncio.Queue[object] = asyncio.Queue()


def _two_workers(
    gone: str, receiver: str, lease_s: float
) -> tuple[list[float], SharedOrderedProcessor, SharedOrderedProcessor, _App]:
    """Two workers sharing one in-memory ledger on a settable clock; `receiver` hands updates to the app."""
    clock = [1000.0]
    shared = MemorySharedState(clock=lambda: clock[0])
    first = SharedOrderedProcessor(shared, lease_s=lease_s, worker=gone)
    second = SharedOrderedProcessor(shared, lease_s=lease_s, worker=receiver)
    app = _App()
    second.attach(app)  # type: ignore[arg-type]
    return clock, first, second, app


async def test_a_silent_workers_update_is_taken_over_and_queued() -> None:
    clock, dead, alive, app = _two_workers("dead", "alive", lease_s=3)
    update, payload = _update(FakeTelegram(), ALICE, "hi")
    assert await dead.admit(update, payload)
    await alive._take_over()
    assert app.update_queue.empty(), "the lease still runs"
    clock[0] += 4
    await alive._take_over()
    taken = app.update_queue.get_nowait()
    assert isinstance(taken, Update)
    assert taken.update_id == update.update_id
    assert taken.message is not None
    assert taken.message.text == "hi"
    assert alive.taken_over == 1
    ran: list[int] = []

    async def handle() -> None:
        ran.append(taken.update_id)

    await alive.do_process_update(taken, handle())
    assert ran == [update.update_id]
    clock[0] += 10
    await alive._take_over()
    assert app.update_queue.empty(), "finished: not taken over again"


async def test_flood_windows_are_shared_between_workers() -> None:
    shared = MemorySharedState()
    workers = [FloodGate(2, 60, shared), FloodGate(2, 60, shared)]
    verdicts = [await workers[i % 2].judge(ALICE["id"], UpdateState()) for i in range(5)]
    assert verdicts == ["ok", "ok", "notice", "drop", "drop"]
    alone = [FloodGate(2, 60), FloodGate(2, 60)]
    verdicts = [await alone[i % 2].judge(ALICE["id"], UpdateState()) for i in range(4)]
    assert verdicts == ["ok"] * 4, "each process alone counts only what it saw"


async def test_flood_falls_back_to_the_workers_own_window_without_the_database(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = FloodGate(1, 60, _Down())  # type: ignore[arg-type]
    assert [await gate.judge(ALICE["id"], UpdateState()) for _ in range(3)] == ["ok", "notice", "drop"]
    assert "shared flood window unavailable" in caplog.text


async def test_a_taken_over_update_does_not_wait_behind_the_later_one_waiting_for_it() -> None:
    """The survivor runs the chat's update 2 (waiting in the ledger for update 1 of a dead worker) when it
    takes update 1 over: 1 must not queue behind 2 on the chat's local lock."""
    clock, dead, alive, app = _two_workers("dead", "alive", lease_s=3)
    fake = FakeTelegram()
    first, first_json = _update(fake, ALICE, "one")
    second, second_json = _update(fake, ALICE, "two")
    assert await dead.admit(first, first_json)
    assert await alive.admit(second, second_json)
    events: list[str] = []

    async def handle(name: str) -> None:
        events.append(name)

    later = asyncio.create_task(alive.do_process_update(second, handle("second")))
    await asyncio.sleep(0.2)
    assert events == [], "the second waits for the first"
    clock[0] += 4  # the dead worker's lease runs out; the survivor's own is renewed
    await alive.shared.renew([second.update_id], worker="alive", lease_s=3)
    await alive._take_over()
    taken = app.update_queue.get_nowait()
    assert isinstance(taken, Update)
    await asyncio.wait_for(asyncio.gather(alive.do_process_update(taken, handle("first")), later), 5)
    assert events == ["first", "second"]


def test_workers_derive_one_webhook_secret_from_the_token() -> None:
    secret = shared_secret("123:ABC")
    assert secret == shared_secret("123:ABC")
    assert secret != shared_secret("123:ABD")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret), "what Telegram accepts as secret_token"
    assert "123" not in secret


async def test_a_stopping_worker_hands_its_waiting_updates_on_at_once() -> None:
    clock, stopping, other, app = _two_workers("stopping", "other", lease_s=30)
    update, payload = _update(FakeTelegram(), ALICE, "hi")
    await stopping.initialize()
    assert await stopping.admit(update, payload)
    await stopping.shutdown()
    await other._take_over()
    taken = app.update_queue.get_nowait()
    assert isinstance(taken, Update)
    assert taken.update_id == update.update_id, "taken over without waiting 30 s for the lease"
