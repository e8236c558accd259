"""The private index evaluations build from a folder: the configured knowledge base is never reindexed."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot.kb.embedded import EmbeddedKB

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.kb.base import Embedder


@contextlib.asynccontextmanager
async def scratch_kb(settings: Settings, embedder: Embedder) -> AsyncIterator[EmbeddedKB]:
    """An empty embedded index in a temporary folder, with the configured KB settings; closed and deleted
    on exit. Whatever the configured backend, an evaluation never touches its index (or an alias)."""
    with tempfile.TemporaryDirectory(prefix="bot-eval-") as tmp:
        kb = EmbeddedKB(settings.kb, Path(tmp), embedder, embed_batch=settings.embeddings.batch_size)
        try:
            yield kb
        finally:
            await kb.close()
