"""Structured logging: key=value or JSON lines on stderr, with secrets and user text kept out."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from bot.config import Settings

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_user_text_visible = False
_secrets: set[str] = set()


class _SecretFilter(logging.Filter):
    """Last line of defence: scrub known secret values from every rendered record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        scrubbed = message
        for secret in _secrets:
            scrubbed = scrubbed.replace(secret, "***")
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        for key, value in list(record.__dict__.items()):
            if key not in _RESERVED and isinstance(value, str):
                for secret in _secrets:
                    value = value.replace(secret, "***")
                record.__dict__[key] = value
        return True


# The Elasticsearch client's loggers: their warnings are retries and node health marks, each with the whole
# traceback of a failure the bot reports itself in one line (with the URL and the setting to check).
_CLIENT_LOGGERS = ("elastic_transport", "elasticsearch")


class _NoClientTracebacks(logging.Filter):
    """Records of the client libraries go out as their one line, without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in _CLIENT_LOGGERS and record.exc_info:
            record.exc_info, record.exc_text = None, None
        return True


def register_secrets(settings: Settings) -> None:
    """Remember every configured secret value so no log line can print it."""
    values = [
        settings.telegram.token,
        settings.telegram.webhook_secret,
        settings.elasticsearch.api_key,
        settings.elasticsearch.password,
        settings.llm.server_api_key,
    ]
    for value in values:
        if value is not None and len(value.get_secret_value()) >= 4:
            _secrets.add(value.get_secret_value())


class _Formatter(logging.Formatter):
    def __init__(self, fmt: str) -> None:
        super().__init__()
        self._json = fmt == "json"

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")}
        if self._json:
            payload: dict[str, Any] = {
                "ts": round(record.created, 3),
                "level": record.levelname.lower(),
                "logger": record.name,
                "event": record.getMessage(),
                **fields,
            }
            if record.exc_info:
                payload["exc"] = self.formatException(record.exc_info)
            return json.dumps(payload, ensure_ascii=False, default=str)
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        extras = " ".join(f"{k}={_short(v)}" for k, v in fields.items())
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += " " + extras
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _short(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def configure_logging(settings: Settings) -> None:
    """Install one stderr handler on the root logger (so library records are scrubbed too); idempotent."""
    global _user_text_visible
    _user_text_visible = settings.log_user_text
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_bot_handler", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(settings.log_format))
    handler.addFilter(_SecretFilter())
    handler.addFilter(_NoClientTracebacks())
    handler._bot_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("bot").setLevel(settings.log_level)
    register_secrets(settings)
    # Request logs of these libraries print URLs that carry the Telegram token.
    for noisy in ("httpx", "httpcore", "elasticsearch", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Its warnings ("Retrying request after failure", "Node … has failed") come before the error the bot
    # reports; the bulk helper's 429 back-off (`elasticsearch.helpers`) stays a warning.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)


def user_text(text: str) -> str:
    """What a log line may show of user text: the text when enabled, else only its length."""
    if _user_text_visible:
        return text
    return f"<{len(text)} chars redacted>"
