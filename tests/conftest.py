"""Shared fixtures: isolated settings per test, and paths to the real data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PYTHON_FAQ = SHARED / "datasets" / "python-faq"
FAQ_DEV = SHARED / "eval" / "python-faq-dev.jsonl"
KNOWLEDGE = ROOT / "knowledge"
# Read once, before the autouse fixture clears BOT_ variables: the contract suite runs against a real
# cluster only when this is set, and PostgreSQL tests only when TEST_POSTGRES_URL is.
REAL_ES_URL = os.environ.get("BOT_ELASTICSEARCH__URL", "")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")
# As `python -m bot` does at start-up (bot/cli/__init__.py): tests build Telegram bots in-process.
os.environ.setdefault("PTB_TIMEDELTA", "true")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env or real BOT_ variables (cwd is a fresh temp dir)."""
    for key in list(os.environ):
        if key.startswith("BOT_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data dir; the KB source is the sample knowledge folder. Answers never open
    with the unconfident gate's lead (`confident_relevance` 0): the fake knowledge base's scores are not
    calibrated probabilities, and the lead's own tests set it."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        kb={"source": KNOWLEDGE},
        rag={"confident_relevance": 0.0},
    )


def shared_data_available() -> bool:
    return PYTHON_FAQ.is_dir() and FAQ_DEV.is_file()
