"""Sliding-window rate limits keyed by any text (a visitor, an address): the channels' flood rules."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["ok", "notice", "drop"]

# Above this many keys, keys idle for a whole window are forgotten, so memory stays flat over months.
SWEEP_ABOVE = 10_000


@dataclass
class _Window:
    times: deque[float] = field(default_factory=deque)
    noticed: bool = False


class SlidingWindow:
    """`limit` events per `window_s` seconds per key, judged by arrival time.

    Within the window the first event over the limit gets "notice" (tell the sender once), the rest
    "drop" (stay silent): the same rule as Telegram's flood control.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._keys: dict[str, _Window] = {}

    def check(self, key: str, at: float) -> Verdict:
        window = self._keys.get(key)
        if window is None:
            window = self._keys[key] = _Window()
        while window.times and window.times[0] <= at - self.window_s:
            window.times.popleft()
        if len(window.times) < self.limit:
            window.times.append(at)
            window.noticed = False
            verdict: Verdict = "ok"
        elif window.noticed:
            verdict = "drop"
        else:
            window.noticed = True
            verdict = "notice"
        if len(self._keys) > SWEEP_ABOVE:
            self._sweep(at)
        return verdict

    def allows(self, key: str, at: float) -> bool:
        return self.check(key, at) == "ok"

    def _sweep(self, now: float) -> None:
        idle = [k for k, w in self._keys.items() if not w.times or w.times[-1] <= now - self.window_s]
        for key in idle:
            del self._keys[key]
