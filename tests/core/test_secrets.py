"""Secrets never reach logs, `health` output, `config` output or error messages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SECRETS = {
    "BOT_TELEGRAM__TOKEN": "987654:AAH-telegram-token-canary",
    "BOT_TELEGRAM__WEBHOOK_SECRET": "webhook-secret-canary-xyz",
    "BOT_ELASTICSEARCH__API_KEY": "ZXNhcGlrZXktY2FuYXJ5OnNlY3JldA==",
    "BOT_ELASTICSEARCH__PASSWORD": "es-password-canary",
    "BOT_LLM__SERVER_API_KEY": "llm-server-key-canary",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], tmp_path: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(SECRETS)
    env.update(extra)
    env["BOT_DATA_DIR"] = str(tmp_path / "data")
    env["BOT_LOG_LEVEL"] = "DEBUG"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    for name, value in SECRETS.items():
        assert value not in output, f"{name} leaked:\n{output}"


@pytest.mark.integration
def test_health_with_failing_dependencies_leaks_nothing(tmp_path: Path) -> None:
    port = _closed_port()
    result = _run(
        ["health", "--json", "--timeout", "5"],
        tmp_path,
        {
            "BOT_ELASTICSEARCH__URL": f"http://127.0.0.1:{port}",
            "BOT_LLM__SERVER_URL": f"http://127.0.0.1:{port}",
            "BOT_DATABASE_URL": f"postgresql://bot:db-password-canary@127.0.0.1:{port}/bot",
        },
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"ok": false' in result.stdout
    assert "db-password-canary" not in result.stdout + result.stderr
    _assert_clean(result)


def test_config_output_masks_secrets(tmp_path: Path) -> None:
    result = _run(["config"], tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert "BOT_TELEGRAM__TOKEN=**********" in result.stdout
    _assert_clean(result)


def test_invalid_config_error_leaks_nothing(tmp_path: Path) -> None:
    result = _run(["config"], tmp_path, {"BOT_TELEGRAM__WEBHOOK_PORT": "99999"})
    assert result.returncode == 2
    assert "BOT_TELEGRAM__WEBHOOK_PORT" in result.stderr
    _assert_clean(result)


@pytest.mark.parametrize("json_out", [False, True])
def test_config_output_masks_passwords_inside_urls(tmp_path: Path, json_out: bool) -> None:
    result = _run(
        ["config", *(["--json"] if json_out else [])],
        tmp_path,
        {
            # A raw "/" in the password: SQLAlchemy reads it, so the mask must cover it too.
            "BOT_DATABASE_URL": "postgresql://bot:db-pass/word-canary@db.example:5432/bot",
            "BOT_LLM__SERVER_URLS": '["http://user:llm-url-canary@10.0.0.1:8080", "http://10.0.0.2:8080"]',
        },
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "word-canary" not in output
    assert "llm-url-canary" not in output
    assert "postgresql://bot:***@db.example:5432/bot" in output
    assert "http://10.0.0.2:8080" in output
    _assert_clean(result)
