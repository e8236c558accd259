"""What the Telegram channel is given: its settings section, the conversation service, the admin actions."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admin import Admin
from bot.config import TelegramSettings
from bot.conversation import ConversationService


@dataclass(frozen=True)
class TelegramDeps:
    """Everything the handlers call; built by `bot.services.Services` in production, over fakes in tests."""

    settings: TelegramSettings
    conversations: ConversationService
    admin: Admin
