"""The generation queue: bounded, round-robin across users, priority for reloads."""

from __future__ import annotations

import threading

import pytest

from bot.llm.fairqueue import FairQueue, QueueClosedError, QueueFullError


def drain(queue: FairQueue[str]) -> list[str]:
    out = []
    while (item := queue.get(timeout=0)) is not None:
        out.append(item)
    return out


def test_round_robin_across_users() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=10)
    for i in range(4):
        queue.put("alice", f"a{i}")
    queue.put("bob", "b0")
    queue.put("carol", "c0")
    queue.put("bob", "b1")
    assert drain(queue) == ["a0", "b0", "c0", "a1", "b1", "a2", "a3"]


def test_a_flooding_user_cannot_starve_a_newcomer() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=100)
    for i in range(50):
        queue.put("flood", f"f{i}")
    assert queue.get(timeout=0) == "f0"
    queue.put("newcomer", "n0")
    assert queue.get(timeout=0) == "n0"


def test_full_queue_refuses_at_once_and_frees_on_get() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=2)
    queue.put("a", "1")
    queue.put("b", "2")
    with pytest.raises(QueueFullError):
        queue.put("c", "3")
    assert len(queue) == 2
    queue.get(timeout=0)
    queue.put("c", "3")
    assert len(queue) == 2


def test_priority_jumps_the_line_and_does_not_count() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    queue.put("a", "user-job")
    queue.put_priority("reload")
    assert drain(queue) == ["reload", "user-job"]


def test_remove_withdraws_a_waiting_job() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=3)
    queue.put("a", "x")
    queue.put("a", "y")
    assert queue.remove("a", "x")
    assert not queue.remove("a", "x")
    assert not queue.remove("nobody", "x")
    assert drain(queue) == ["y"]
    assert len(queue) == 0


def test_get_times_out_and_close_wakes_waiters() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    assert queue.get(timeout=0.01) is None
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            queue.get()
        except QueueClosedError as exc:
            errors.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    queue.close()
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1
    with pytest.raises(QueueClosedError):
        queue.put("a", "late")


def test_drain_returns_everything() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=5)
    queue.put("a", "1")
    queue.put("b", "2")
    queue.put_priority("p")
    assert queue.drain() == ["p", "1", "2"]
    assert len(queue) == 0


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FairQueue(0)
