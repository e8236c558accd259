"""Commands that hit a known operator error end with one clear line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "How do I reset my password?"],
        ["chat"],
        ["bench", "load", "--users", "1", "--messages", "1"],
    ],
    ids=["ask", "chat", "bench-load"],
)
def test_unprepared_models_give_one_actionable_line(args: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "error: the embedding model is not prepared yet" in result.stderr
    assert "python -m bot models prepare" in result.stderr
