"""What the answer pipeline returns: frozen dataclasses, never raw strings."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.kb.base import Hit


@dataclass(frozen=True, slots=True)
class Source:
    source: str
    heading: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Timings:
    retrieval_ms: float = 0.0
    ttft_ms: float | None = None  # None when no model was called (refusal, failure)
    total_ms: float = 0.0
    condense_ms: float = 0.0
    queue_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Turn:
    """One past message of the conversation, as the pipeline needs it."""

    role: str  # "user" | "assistant"
    text: str


# Why an answer is what it is; logged, counted in /stats and used by the export filters.
OUTCOMES = (
    "answered",
    "extracted",
    "ungrounded",
    "refused",
    "kb_unavailable",
    "busy",
    "model_error",
    "empty",
    "too_long",
)


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    sources: tuple[Source, ...]
    grounded: bool
    timings: Timings
    outcome: str = "answered"  # one of OUTCOMES
    question: str = ""  # the standalone question actually searched
    hits: tuple[Hit, ...] = ()  # every passage given to the model, for the log
    model: str = ""
    model_version: str = ""
    prompt_version: str = ""
    citations: tuple[int, ...] = field(default=())  # valid [n] numbers used in the text
    citations_inferred: bool = False  # the model cited nothing; the pipeline added the best-overlap [n]

    @property
    def refused(self) -> bool:
        return self.outcome not in ("answered", "extracted", "ungrounded")


@dataclass(frozen=True, slots=True)
class Delta:
    """A streamed piece of the answer text, before citation checks."""

    text: str
