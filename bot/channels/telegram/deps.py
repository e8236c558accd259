"""What the Telegram channel needs from the rest of the bot, as small Protocols and one bundle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from bot.config import Settings
from bot.domain import Answer, Delta, Turn
from bot.kb.base import KnowledgeBase
from bot.store.base import ConversationLog, StoreUnavailableError

T = TypeVar("T")

# Every database call gets a deadline: a hung database must read as "down", not hang a chat forever.
STORE_TIMEOUT_S = 10.0


class AnswerStream(Protocol):
    """The part of `bot.rag.pipeline.Pipeline` the channel uses."""

    def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str
    ) -> AsyncIterator[Delta | Answer]: ...


# Runs the training export into the given file; returns a one-line summary for the admin.
ExportRunner = Callable[[Path], Awaitable[str]]


@dataclass
class BotDeps:
    """Everything the handlers call; built by `bot.services.Services` in production, from fakes in tests."""

    settings: Settings
    pipeline: AnswerStream
    store: ConversationLog
    kb: KnowledgeBase
    export: ExportRunner | None = None


async def db_call(awaitable: Awaitable[T], timeout_s: float = STORE_TIMEOUT_S) -> T:
    """Await a store call with a deadline; a timeout means the database is unavailable."""
    try:
        return await asyncio.wait_for(awaitable, timeout_s)
    except TimeoutError:
        raise StoreUnavailableError(f"database did not answer within {timeout_s:g} s") from None


async def default_export(settings: Settings, out: Path) -> str:
    """The training export (`bot.store.export`) in OpenAI chat format, as `/export` sends it."""
    from bot.store.export import ExportOptions, export

    stats = await export(settings, ExportOptions(out=out, format="openai"))
    dropped = sum(stats.dropped.values())
    return (
        f"{stats.samples_written} samples from {stats.conversations_read} conversations "
        f"({dropped} dropped, {sum(stats.redactions.values())} redactions)"
    )
