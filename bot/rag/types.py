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
# Model outcomes carry text the model (or a quote of a passage) produced; system outcomes are fixed replies,
# kept in the log but left out of the model's history and of training data.
MODEL_OUTCOMES = ("answered", "extracted", "ungrounded")
SYSTEM_OUTCOMES = ("kb_unavailable", "busy", "model_error", "empty", "too_long")
OUTCOMES = (*MODEL_OUTCOMES, "refused", *SYSTEM_OUTCOMES)


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
        return self.outcome not in MODEL_OUTCOMES


@dataclass(frozen=True, slots=True)
class Delta:
    """A streamed piece of the answer text, before citation checks."""

    text: str
