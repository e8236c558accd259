"""Per-user flood control: a user sending too fast gets one notice, not a queue of answers."""

from __future__ import annotations

import logging

from bot.channels.limits import SlidingWindow, Verdict
from bot.channels.telegram.ordering import UpdateState
from bot.store.base import StoreUnavailableError
from bot.store.shared import SharedState

log = logging.getLogger("bot.channels.telegram.flood")


class FloodGate:
    """`limit` messages per `window_s` seconds per Telegram user: the channels' sliding window.

    Within the window the first message over the limit gets "notice" (tell the user once), the rest
    "drop" (stay silent). Times are arrival times, so messages queued behind a slow answer are judged by
    when the user sent them, not by when their turn came. With `shared` (several webhook workers) the
    window lives in the shared state, judged by wall-clock receipt times, so a user's messages count
    together whichever worker receives them.
    """

    def __init__(self, limit: int, window_s: float, shared: SharedState | None = None) -> None:
        self.limit = limit
        self.window_s = window_s
        self._window = SlidingWindow(limit, window_s)
        self._shared = shared

    def check(self, user_id: int, at: float) -> Verdict:
        """This process's own window (monotonic `at`)."""
        return self._window.check(str(user_id), at)

    async def judge(self, user_id: int, state: UpdateState) -> Verdict:
        """The verdict on one update of `user_id`: in the shared window when there is one."""
        if self._shared is None:
            return self.check(user_id, state.arrival)
        try:
            return await self._shared.flood(
                f"tg:{user_id}", state.received, limit=self.limit, window_s=self.window_s
            )
        except StoreUnavailableError as exc:
            # The message is not lost over a counter: this worker's own window judges it instead.
            log.warning("shared flood window unavailable", extra={"error": str(exc)})
            return self.check(user_id, state.arrival)
