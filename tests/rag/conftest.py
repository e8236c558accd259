"""Fixtures for the answer pipeline tests: a small fake help center and fake generators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from bot.config import Settings
from bot.domain import ChatMessage
from bot.llm.base import GeneratorBusyError, GeneratorTimeoutError
from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB
from tests.llm.conftest import model_path  # noqa: F401 - the shipped model, for the slow injection test


@pytest.fixture
def kb() -> FakeKB:
    return FakeKB(HELP_CENTER)


def with_rag(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"rag": settings.rag.model_copy(update=changes)})


def with_llm(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=changes)})


class RaisingGenerator(FakeGenerator):
    """Fails the way the real engine does: busy queue or timeout after some text."""

    def __init__(self, error: Exception, *, partial: str = "") -> None:
        super().__init__()
        self.error = error
        self.partial = partial

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        user_key: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str]:
        self.prompts.append(list(messages))
        if self.partial:
            yield self.partial
        raise self.error


def busy_generator() -> RaisingGenerator:
    return RaisingGenerator(GeneratorBusyError("full"))


def timeout_generator() -> RaisingGenerator:
    return RaisingGenerator(GeneratorTimeoutError("too slow"), partial="Refunds are")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Threshold 0 so these tests exercise the pipeline, not the calibrated weights (tested on their own)."""
    return with_rag(settings, min_relevance=0.0)
