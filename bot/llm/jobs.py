"""What the engine's worker passes around: generation and reload jobs, events, stats, stop filtering."""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain import ChatMessage

# Sampling beyond what Settings exposes: conservative values that keep a small model on topic.
TOP_K = 40
TOP_P = 0.95
MIN_P = 0.05
REPEAT_PENALTY = 1.1


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """What one generation cost; the bench reads these, the log may too."""

    prompt_tokens: int
    reused_tokens: int  # prompt tokens whose KV cache was kept from an earlier generation
    generated_tokens: int
    queue_s: float
    prompt_s: float  # from start to first token (prompt evaluation + first sample)
    generation_s: float  # from first token to the end
    stop_reason: str  # "eos" | "stop" | "length" | "cancelled"


@dataclass(slots=True)
class Event:
    kind: str  # "text" | "done" | "error"
    text: str = ""
    error: BaseException | None = None
    stats: GenerationStats | None = None


@dataclass(eq=False, slots=True)
class GenerateJob:
    messages: tuple[ChatMessage, ...]
    max_tokens: int
    stop: tuple[str, ...]
    emit: Callable[[Event], None]
    ignore_eos: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)
    enqueued_at: float = field(default_factory=time.monotonic)


@dataclass(eq=False, slots=True)
class ReloadJob:
    model_path: Path
    lora_path: Path | None
    done: Callable[[BaseException | None], None]


Job = GenerateJob | ReloadJob


class StopText:
    """Token bytes in, text out: UTF-8 decoded across token boundaries, cut at the first stop string, and
    a tail that may still grow into a stop string held back until it cannot."""

    def __init__(self, stop: Sequence[str]) -> None:
        self._stop = tuple(stop)
        self._holdback = max((len(s) for s in self._stop), default=0)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, piece: bytes) -> tuple[str, bool]:
        """The text ready to emit, and whether a stop string was reached (the text before it is ready)."""
        self._pending += self._decoder.decode(piece)
        if not self._stop:
            ready, self._pending = self._pending, ""
            return ready, False
        cut = min((i for i in (self._pending.find(s) for s in self._stop) if i >= 0), default=-1)
        if cut >= 0:
            self._pending = self._pending[:cut]
            return "", True
        ready, self._pending = split_for_stops(self._pending, self._stop, self._holdback)
        return ready, False

    def finish(self) -> str:
        """What is left once generation ended (the held-back tail, a partial character)."""
        rest = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return rest


def split_for_stops(text: str, stops: Sequence[str], holdback: int) -> tuple[str, str]:
    """Split `text` into what can be emitted now and a tail that may still grow into a stop string."""
    for keep in range(min(holdback, len(text)), 0, -1):
        tail = text[-keep:]
        if any(s.startswith(tail) for s in stops):
            return text[:-keep], tail
    return text, ""
