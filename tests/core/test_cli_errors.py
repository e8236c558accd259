"""Commands that hit a known operator error end with one clear line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_bot(args: list[str], tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in a fresh data folder, with only these BOT_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_DATA_DIR"] = str(tmp_path / "data")
    env.update(settings)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "How do I reset my password?"],
        ["chat"],
        ["bench", "load", "--users", "1", "--messages", "1"],
    ],
    ids=["ask", "chat", "bench-load"],
)
def test_a_missing_configured_model_gives_one_actionable_line(args: list[str], tmp_path: Path) -> None:
    # The shipped models are prepared on first use (tests/llm_models); a path the operator set is never
    # replaced by them, so a wrong one stops the command with the setting to fix.
    result = run_bot(args, tmp_path, BOT_EMBEDDINGS__MODEL_PATH=str(tmp_path / "missing.gguf"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"error: embedding model file not found: {tmp_path / 'missing.gguf'}" in result.stderr
    assert "(BOT_EMBEDDINGS__MODEL_PATH)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kb", "sync", "http://[::1"], "error: 'http://[::1' is not a valid URL (Invalid IPv6 URL)"),
        (["kb", "sync", "http://127.0.0.1:99999/"], "is not a valid URL (Port out of range 0-65535)"),
        (["db", "upgrade", ""], "error: give a revision"),
        (["db", "downgrade", " ", "--yes"], "error: give a revision"),
        (["kb", "search", " "], "error: the QUERY is empty"),
        # Checked before a training run, which an unwritable --out used to throw away at its end.
        (
            ["finetune", "--data", "train.jsonl", "--out", "a-file"],
            "error: --out a-file: cannot create this folder",
        ),
        (["finetune", "--data", ".", "--out", "ft"], "error: --data . is a folder"),
        (["finetune", "--data", "train.jsonl", "--out", "ft", "--lr", "0"], "error: --lr must be above 0"),
        (
            ["finetune", "--embedder", "--data", "train.jsonl"],
            "error: --embedder trains the retrieval embedder",
        ),
        (["synth", "--out", "a-file", "--source", "."], "error: --out a-file: cannot create this folder"),
        (
            ["export", "--out", "x.jsonl", "--until", "9999-12-31"],
            "is past the last date this export can filter",
        ),
    ],
    ids=[
        "ipv6",
        "port",
        "upgrade-empty",
        "downgrade-empty",
        "search-empty",
        "finetune-out",
        "finetune-data-folder",
        "finetune-lr",
        "finetune-embedder-data",
        "synth-out",
        "export-until",
    ],
)
def test_bad_arguments_are_one_line_not_a_traceback(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "train.jsonl").write_text('{"messages": []}\n')
    result = run_bot(args, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr
