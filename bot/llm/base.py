"""The llm boundary: chat messages in, streamed text out, typed failures of generation and of model files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.domain import ChatMessage


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str  # e.g. "SmolLM2-135M-Instruct-Q4_1"
    version: str  # short content hash of model (+ adapter), recorded with every answer
    path: str = ""
    adapter: str = ""
    n_ctx: int = 0
    n_params: int = 0  # 0: not known (a server that does not say)


class ModelError(Exception):
    """A model file is missing, not a GGUF, corrupt, or of the wrong kind; the message says how to fix it."""


class GeneratorError(Exception):
    """Generation failed; the engine stays usable for the next request."""


class GeneratorBusyError(GeneratorError):
    """The queue is full: answer 'busy' at once instead of waiting."""


class GeneratorTimeoutError(GeneratorError):
    """Generation ran past its wall-clock limit and was stopped."""


class Generator(Protocol):
    """A chat model that streams text. Implementations never block the event loop."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def n_ctx(self) -> int: ...

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's own tokenizer (no special tokens)."""
        ...

    def count_chat_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the whole prompt after the model's chat template is applied."""
        ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        user_key: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str]:
        """Yield text pieces as they are generated; cancelling the iterator stops generation."""
        ...

    async def reload(self) -> ModelInfo:
        """Switch to the model the configuration chooses now (after `models use`), without a restart.

        Answers already being generated finish on the old model; on failure the old model keeps serving
        and `GeneratorError` is raised.
        """
        ...

    async def close(self) -> None: ...


def resolve_threads(n_threads: int) -> int:
    """0 means every core this process may use (llama-cpp-python's default of half costs ~25%)."""
    if n_threads > 0:
        return n_threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
