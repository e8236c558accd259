"""State several bot workers share: the update ledger (claim, per-chat order, leases) and flood windows."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

FloodVerdict = Literal["ok", "notice", "drop"]
# A key (a user) keeps at most this many times: a window never needs more than its limit.
MAX_WINDOW_TIMES = 1000
# An update whose worker died this many times is given up on (logged), not handed round forever.
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class TakenUpdate:
    """An unfinished update whose worker stopped renewing its lease, now leased to this worker."""

    update_id: int
    chat_key: str
    payload: str  # the update's JSON as received
    attempts: int  # how many workers have held it, this one included


@dataclass(frozen=True, slots=True)
class Window:
    """One key's flood window: the accepted events' times (oldest first) and whether it was told."""

    times: tuple[float, ...] = ()
    noticed: bool = False


def slide(window: Window, at: float, limit: int, window_s: float) -> tuple[Window, FloodVerdict]:
    """The sliding-window rule of `bot.channels.limits.SlidingWindow`, as a pure function for stores.

    Within `window_s` the first event over `limit` gets "notice" (tell the sender once), the rest "drop".
    """
    times = tuple(t for t in window.times if t > at - window_s)
    if len(times) < limit:
        return Window((*times, at)[-MAX_WINDOW_TIMES:], False), "ok"
    if window.noticed:
        return Window(times, True), "drop"
    return Window(times, True), "notice"


class SharedState(Protocol):
    """What webhook workers behind one proxy agree on, so each update is handled once and in chat order.

    Times are wall-clock seconds (`time.time()`): workers on different hosts compare them.
    """

    async def register(
        self, update_id: int, chat_key: str, payload: str, *, worker: str, lease_s: float
    ) -> bool:
        """Record a received update leased to `worker`; False when it was already recorded (a redelivery)."""
        ...

    async def blocked(self, update_id: int, chat_key: str) -> bool:
        """Whether an earlier update of the same chat is unfinished and its worker still holds it."""
        ...

    async def renew(self, update_ids: Sequence[int], *, worker: str, lease_s: float) -> None:
        """Extend the leases `worker` holds on these updates (it is alive and still on them)."""
        ...

    async def finish(self, update_id: int) -> None:
        """Mark an update done: later updates of its chat may go; its payload (customer text) is dropped."""
        ...

    async def take_over(self, *, worker: str, lease_s: float, limit: int = 20) -> list[TakenUpdate]:
        """Lease to `worker` unfinished updates whose lease ran out (their worker died), oldest first.

        An update already held `MAX_ATTEMPTS` times is marked done instead and not returned.
        """
        ...

    async def flood(self, key: str, at: float, *, limit: int, window_s: float) -> FloodVerdict:
        """Count an event of `key` at `at` in its sliding window; the verdict as `slide` gives it."""
        ...

    async def purge(self, *, older_than_s: float) -> int:
        """Forget finished updates and idle flood windows older than this; how many rows went."""
        ...


@dataclass
class _Entry:
    chat_key: str
    payload: str
    worker: str
    lease_until: float
    attempts: int = 1
    done_at: float | None = None


@dataclass
class MemorySharedState:
    """`SharedState` in one process's memory: the contract's reference, for tests and a lone worker."""

    clock: Callable[[], float] = time.time
    _updates: dict[int, _Entry] = field(default_factory=dict)
    _windows: dict[str, tuple[Window, float]] = field(default_factory=dict)

    async def register(
        self, update_id: int, chat_key: str, payload: str, *, worker: str, lease_s: float
    ) -> bool:
        if update_id in self._updates:
            return False
        self._updates[update_id] = _Entry(chat_key, payload, worker, self.clock() + lease_s)
        return True

    async def blocked(self, update_id: int, chat_key: str) -> bool:
        now = self.clock()
        return any(
            uid < update_id and e.chat_key == chat_key and e.done_at is None and e.lease_until > now
            for uid, e in self._updates.items()
        )

    async def renew(self, update_ids: Sequence[int], *, worker: str, lease_s: float) -> None:
        until = self.clock() + lease_s
        for uid in update_ids:
            entry = self._updates.get(uid)
            if entry is not None and entry.worker == worker and entry.done_at is None:
                entry.lease_until = until

    async def finish(self, update_id: int) -> None:
        entry = self._updates.get(update_id)
        if entry is not None and entry.done_at is None:
            entry.done_at, entry.payload = self.clock(), ""

    async def take_over(self, *, worker: str, lease_s: float, limit: int = 20) -> list[TakenUpdate]:
        now = self.clock()
        taken: list[TakenUpdate] = []
        for uid in sorted(self._updates):
            entry = self._updates[uid]
            if entry.done_at is not None or entry.lease_until > now:
                continue
            if entry.attempts >= MAX_ATTEMPTS:
                entry.done_at, entry.payload = now, ""
                continue
            entry.worker, entry.lease_until, entry.attempts = worker, now + lease_s, entry.attempts + 1
            taken.append(TakenUpdate(uid, entry.chat_key, entry.payload, entry.attempts))
            if len(taken) >= limit:
                break
        return taken

    async def flood(self, key: str, at: float, *, limit: int, window_s: float) -> FloodVerdict:
        window, _ = self._windows.get(key, (Window(), at))
        window, verdict = slide(window, at, limit, window_s)
        self._windows[key] = (window, at)
        return verdict

    async def purge(self, *, older_than_s: float) -> int:
        cutoff = self.clock() - older_than_s
        done = [uid for uid, e in self._updates.items() if e.done_at is not None and e.done_at < cutoff]
        idle = [key for key, (_, seen) in self._windows.items() if seen < cutoff]
        for uid in done:
            del self._updates[uid]
        for key in idle:
            del self._windows[key]
        return len(done) + len(idle)
