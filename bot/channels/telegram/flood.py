"""Per-user flood control: a user sending too fast gets one notice, not a queue of answers."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["ok", "notice", "drop"]


@dataclass
class _Window:
    times: deque[float] = field(default_factory=deque)
    noticed: bool = False


class FloodGate:
    """Sliding window of `limit` messages per `window_s` seconds per user.

    Within the window the first message over the limit gets "notice" (tell the user once), the rest
    "drop" (stay silent). Times are arrival times, so messages queued behind a slow answer are judged by
    when the user sent them, not by when their turn came.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._users: dict[int, _Window] = {}

    def check(self, user_id: int, at: float) -> Verdict:
        window = self._users.get(user_id)
        if window is None:
            window = self._users[user_id] = _Window()
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
        if len(self._users) > 10_000:
            self._sweep(at)
        return verdict

    def _sweep(self, now: float) -> None:
        """Forget users idle for a whole window so memory stays flat over months."""
        idle = [uid for uid, w in self._users.items() if not w.times or w.times[-1] <= now - self.window_s]
        for uid in idle:
            del self._users[uid]
