"""What the Telegram channel is given: its settings section, the conversation service, the admin actions."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admin import Admin
from bot.config import TelegramSettings
from bot.conversation import ConversationService
from bot.store.shared import SharedState


@dataclass(frozen=True)
class TelegramDeps:
    """Everything the handlers call; built by `bot.services.Services` in production, over fakes in tests."""

    settings: TelegramSettings
    conversations: ConversationService
    admin: Admin
    # Set when several webhook workers answer one bot (`bot.services.Services.shared_state`); None: this
    # process alone orders its updates and counts flood windows in memory.
    shared: SharedState | None = None
