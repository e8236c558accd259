"""A bounded, thread-safe queue that serves waiting jobs round-robin across users."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Generic, TypeVar

T = TypeVar("T")


class QueueFullError(Exception):
    """No room left: the caller answers 'busy' at once instead of waiting."""


class QueueClosedError(Exception):
    """The queue was closed; no more jobs are accepted or handed out."""


class FairQueue(Generic[T]):
    """Round-robin across `user_key`s so one chatty user cannot starve the others.

    Each user has a FIFO of their own jobs; `get` takes the head of the user who has waited longest
    for a turn, and that user goes to the back of the line. Priority items (model reloads) jump the line
    and do not count against `maxsize`, which limits only user work.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._maxsize = maxsize
        self._users: OrderedDict[str, deque[T]] = OrderedDict()
        self._priority: deque[T] = deque()
        self._size = 0
        self._last_served: str | None = None
        self._closed = False
        self._cond = threading.Condition()

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def __len__(self) -> int:
        with self._cond:
            return self._size

    def put(self, user_key: str, item: T) -> None:
        """Enqueue without waiting; raise `QueueFullError` when `maxsize` jobs already wait."""
        with self._cond:
            if self._closed:
                raise QueueClosedError("queue is closed")
            if self._size >= self._maxsize:
                raise QueueFullError(f"{self._size} jobs already waiting")
            self._users.setdefault(user_key, deque()).append(item)
            self._size += 1
            self._cond.notify()

    def put_priority(self, item: T) -> None:
        """Enqueue ahead of all user work (used for reloads, which must not be refused)."""
        with self._cond:
            if self._closed:
                raise QueueClosedError("queue is closed")
            self._priority.append(item)
            self._cond.notify()

    def remove(self, user_key: str, item: T) -> bool:
        """Withdraw a job that has not started (its requester gave up); True if it was waiting."""
        with self._cond:
            jobs = self._users.get(user_key)
            if jobs is None:
                return False
            try:
                jobs.remove(item)
            except ValueError:
                return False
            self._size -= 1
            if not jobs:
                del self._users[user_key]
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """The next job in fair order; None on timeout. Raises `QueueClosedError` once closed and empty."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._priority:
                    return self._priority.popleft()
                if self._users:
                    # The user served last goes behind everyone waiting now, including users who
                    # arrived since: a newcomer never waits for a second job of someone already served.
                    if self._last_served is not None and self._last_served in self._users:
                        self._users.move_to_end(self._last_served)
                    user_key, jobs = next(iter(self._users.items()))
                    item = jobs.popleft()
                    self._size -= 1
                    if not jobs:
                        del self._users[user_key]
                    self._last_served = user_key
                    return item
                if self._closed:
                    raise QueueClosedError("queue is closed")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def drain(self) -> list[T]:
        """Remove and return everything still waiting (priority first), e.g. to fail it on shutdown."""
        with self._cond:
            items = list(self._priority)
            self._priority.clear()
            for jobs in self._users.values():
                items.extend(jobs)
            self._users.clear()
            self._size = 0
            return items

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
