"""Per-user flood control: a user sending too fast gets one notice, not a queue of answers."""

from __future__ import annotations

from bot.channels.limits import SlidingWindow, Verdict


class FloodGate:
    """`limit` messages per `window_s` seconds per Telegram user: the channels' sliding window.

    Within the window the first message over the limit gets "notice" (tell the user once), the rest
    "drop" (stay silent). Times are arrival times, so messages queued behind a slow answer are judged by
    when the user sent them, not by when their turn came.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self._window = SlidingWindow(limit, window_s)

    def check(self, user_id: int, at: float) -> Verdict:
        return self._window.check(str(user_id), at)
