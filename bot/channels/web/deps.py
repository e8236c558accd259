"""What the web channel is given: its settings, the conversation service, the admin actions and log views."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, get_args

from bot.admin import Admin
from bot.config import WebSettings
from bot.conversation import ConversationService
from bot.domain import Channel
from bot.kb.base import Embedder
from bot.store.insights import LogInsights

MinRating = Literal["any", "unrated", "up"]
# The channels the export form offers: the CLI's `--channel` names (`bot.store.export.CHANNELS`).
EXPORT_CHANNELS: tuple[str, ...] = get_args(Channel)


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """The CLI's `export` filters, as the admin console's export form sends them."""

    format: str = "openai"
    since: date | None = None
    until: date | None = None
    min_rating: MinRating = "any"
    include_context: bool = False
    grounded_only: bool = False
    channels: tuple[str, ...] = ()  # the conversations' channels to export (`EXPORT_CHANNELS`); () = all


# Runs the training export with those filters into the given file; returns a one-line summary.
FilteredExport = Callable[[Path, ExportFilters], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class FloodRule:
    """The same flood rule as Telegram's: `messages` per `window_s` seconds per person."""

    messages: int = 5
    window_s: float = 10.0


@dataclass(frozen=True)
class WebDeps:
    """Everything the web app calls; built by `bot.services.Services`, over fakes in tests."""

    settings: WebSettings
    conversations: ConversationService
    admin: Admin
    insights: LogInsights
    secret_key: str  # signs cookies and CSRF tokens
    flood: FloodRule = field(default_factory=FloodRule)
    upload_limit_bytes: int = 10 * 1024 * 1024
    export: FilteredExport | None = None
    # Groups content gaps by meaning, the embedder held for the grouping (a SIGHUP that switches embedders
    # closes the old one only after it); None groups identical questions only.
    embedder: Callable[[], AbstractAsyncContextManager[Embedder]] | None = None
    export_formats: tuple[str, ...] = ("openai",)
