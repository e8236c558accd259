"""A writer killed with SIGKILL at random points never loses an answer it reported as sent."""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.store.conftest import sqlite_url

TURNS = 200
KILLS = 6


def _start(db: Path, start: int) -> tuple[subprocess.Popen[str], queue.Queue[str | None]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_writer", sqlite_url(db), str(start), str(TURNS)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.strip())
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return proc, lines


def _drain(lines: queue.Queue[str | None], sent: set[int], timeout: float) -> bool:
    """Collect 'sent N' lines until the stream ends; True if the writer said 'done'."""
    finished = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if line is None:
            return finished
        if line.startswith("sent "):
            sent.add(int(line.split()[1]))
        finished = finished or line == "done"
    raise AssertionError("writer output did not end in time")


def _close(proc: subprocess.Popen[str]) -> None:
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.mark.integration
def test_sigkill_at_random_points_loses_no_sent_answer(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> None:
    db = tmp_path / "crash.db"
    migrated_sqlite(db)
    rng = random.Random(20261125)
    sent: set[int] = set()
    kills = 0
    next_turn = 0
    killed_mid_run = 0  # kills that landed after the run had sent something
    while kills < KILLS:
        proc, lines = _start(db, next_turn)
        assert lines.get(timeout=60) == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        before = len(sent)
        _drain(lines, sent, timeout=30)
        _close(proc)
        kills += 1
        killed_mid_run += len(sent) > before
        next_turn = max(sent) + 1 if sent else 0
        if next_turn >= TURNS:
            break
    proc, lines = _start(db, next_turn)
    assert lines.get(timeout=60) == "ready"
    assert _drain(lines, sent, timeout=120)
    assert proc.wait(timeout=30) == 0
    _close(proc)
    assert kills >= 3, "the writer finished before it could be killed several times"
    assert killed_mid_run >= 2, "no kill landed while turns were being written"

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        answered = {
            int(question.split()[1])
            for (question,) in conn.execute(
                "SELECT q.text FROM messages a JOIN messages q ON a.reply_to_id = q.id "
                "WHERE a.role = 'assistant' AND a.text = 'answer ' || substr(q.text, 10)"
            )
        }
        retrievals = conn.execute(
            "SELECT count(*) FROM retrievals r JOIN messages a ON r.message_id = a.id "
            "WHERE a.role = 'assistant'"
        ).fetchone()[0]
        answers = conn.execute("SELECT count(*) FROM messages WHERE role = 'assistant'").fetchone()[0]
    assert sent == set(range(TURNS))
    assert sent <= answered
    # An answer and its retrievals commit together: no answer is stored without its passages.
    assert retrievals == 3 * answers
