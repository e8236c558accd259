"""The README's first command, end to end: models, database, knowledge base and a real model answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE


@pytest.mark.integration
@pytest.mark.slow
def test_quickstart_reaches_a_real_answer_and_is_idempotent(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(BOT_DATA_DIR=str(tmp_path / "data"), BOT_KB__SOURCE=str(KNOWLEDGE), COLUMNS="200")
    command = [sys.executable, "-m", "bot", "quickstart", "--no-chat", "-q", "How do I reset my password?"]

    first = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "converted" in out or "prepared" in out or "verified" in out
    assert "indexed" in out
    assert "bot:" in out
    # the answer cites the account help article, by its title as customers read it, with its file
    assert "[1] Managing your Parcelly account › " in out, out
    assert "(account/managing-your-account.md)" in out, out
    # and lists the sections the search found nearly as close (one or two; the account-lockout one at least)
    assert (
        "see also: Managing your Parcelly account › Account locked after failed sign-in attempts "
        "(account/managing-your-account.md)" in out
    ), out
    assert out.count("see also: ") <= 2, out
    assert (tmp_path / "data" / "bot.db").is_file()

    second = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already indexed" in second.stdout
