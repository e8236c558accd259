"""Composition root: the one place that turns `Settings` into concrete, wired components."""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from bot.kb.base import Embedder, KnowledgeBase
    from bot.llm.base import Generator
    from bot.rag.pipeline import Pipeline
    from bot.store.base import ConversationLog

log = logging.getLogger("bot.services")


class Services:
    """Builds each component on first use and closes them in reverse order.

    Commands ask only for what they need, so `kb search` never loads the chat model and `db upgrade`
    never loads either.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedder: Embedder | None = None
        self._kb: KnowledgeBase | None = None
        self._generator: Generator | None = None
        self._log: ConversationLog | None = None
        self._pipeline: Pipeline | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Services:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def embedder(self) -> Embedder:
        if self._embedder is None:
            from bot.llm.embedder import LlamaEmbedder
            from bot.llm.models import resolve_embedder_path

            path = resolve_embedder_path(self.settings)
            self._embedder = LlamaEmbedder(
                path,
                n_threads=self.settings.embeddings.n_threads,
                batch_size=self.settings.embeddings.batch_size,
            )
        return self._embedder

    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            if self.settings.elasticsearch.url:
                from bot.kb.elastic import ElasticKB

                self._kb = ElasticKB(self.settings, self.embedder())
            else:
                from bot.kb.embedded import EmbeddedKB

                self._kb = EmbeddedKB(self.settings, self.embedder())
            from bot.kb.breaker import BreakerKB

            self._kb = BreakerKB(self._kb, timeout_s=self.settings.kb.search_timeout_s)
        return self._kb

    def generator(self) -> Generator:
        if self._generator is None:
            if self.settings.llm.server_url:
                from bot.llm.remote import RemoteGenerator

                self._generator = RemoteGenerator(self.settings.llm)
            else:
                from bot.llm.engine import LlamaEngine
                from bot.llm.models import resolve_generator

                model_path, lora_path = resolve_generator(self.settings)
                self._generator = LlamaEngine(self.settings.llm, model_path=model_path, lora_path=lora_path)
        return self._generator

    async def conversation_log(self, *, check_schema: bool = True) -> ConversationLog:
        async with self._lock:
            if self._log is None:
                from bot.store.repo import SqlConversationLog

                store = SqlConversationLog(self.settings.resolved_database_url)
                if check_schema:
                    await store.check_schema()
                self._log = store
        return self._log

    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            from bot.rag.pipeline import Pipeline

            self._pipeline = Pipeline(self.kb(), self.generator(), self.settings)
        return self._pipeline

    async def aclose(self) -> None:
        for name in ("_log", "_generator", "_kb"):
            component = getattr(self, name)
            if component is None:
                continue
            try:
                await component.close()
            except Exception:
                log.exception("close failed", extra={"component": name.strip("_")})
            setattr(self, name, None)
        if self._embedder is not None:
            close = getattr(self._embedder, "close", None)
            if close is not None:
                close()
            self._embedder = None
        self._pipeline = None
