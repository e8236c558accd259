"""Logging: structured fields, user text hidden by default, secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging

import pytest

from bot.config import Settings
from bot.logs import configure_logging, user_text

TOKEN = "123456:AAE-very-secret-token-value"


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, telegram={"token": TOKEN}, **kw)  # type: ignore[arg-type]


def test_json_lines_carry_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(_settings(log_format="json"))
    logging.getLogger("bot.test").info("answered", extra={"chat": 42, "latency_ms": 12.5})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "answered"
    assert record["chat"] == 42
    assert record["latency_ms"] == 12.5


def test_secrets_scrubbed_from_message_args_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(_settings())
    logger = logging.getLogger("bot.test")
    logger.warning("GET https://api.telegram.org/bot%s/getMe failed", TOKEN, extra={"url": f"/bot{TOKEN}/x"})
    # A library logger (not under bot.) goes through the same handler.
    logging.getLogger("httpx").warning("request to /bot%s", TOKEN)
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert err.count("***") >= 3


def test_user_text_redacted_unless_enabled() -> None:
    configure_logging(_settings())
    assert user_text("my card is 4111") == "<15 chars redacted>"
    configure_logging(_settings(log_user_text=True))
    assert user_text("my card is 4111") == "my card is 4111"
    configure_logging(_settings())


def test_the_elasticsearch_client_logs_no_tracebacks_and_no_retries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The bot's own line says what failed and what to check; the client's retries and tracebacks: noise."""
    configure_logging(_settings())
    try:
        raise ConnectionError("Connection error caused by: ClientConnectorError(...)")
    except ConnectionError as exc:
        logging.getLogger("elastic_transport.transport").warning("Retrying request", exc_info=exc)
        logging.getLogger("elastic_transport.node_pool").warning("Node has failed for 1 times in a row")
        logging.getLogger("elasticsearch.helpers").warning("Retrying bulk after 429", exc_info=exc)
    err = capsys.readouterr().err
    assert "Retrying request" not in err
    assert "Node has failed" not in err
    assert "Retrying bulk after 429" in err, "the bulk back-off on 429 stays a warning"
    assert "Traceback" not in err
