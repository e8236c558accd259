"""Read-only views of the conversation log for the admin console: figures per day, gaps, transcripts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.domain import Source


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One UTC day of answers: how they ended, how they were rated, and how long they took."""

    day: date
    answers: int = 0
    refusals: int = 0
    handoffs: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    latency_p50_ms: float | None = None


@dataclass(frozen=True, slots=True)
class GapQuestion:
    """A question the bot refused, or whose answer got 👎: what to fix first."""

    answer_id: int
    conversation_id: int
    question: str  # what the customer wrote
    outcome: str
    rating: str | None
    comment: str | None
    source: str  # the best retrieved passage's document ("" when nothing was retrieved)
    heading: str
    asked_at: datetime
    # The language the question was read in when asked (its detection, with the channel's hint), "und"
    # when unknown (a message logged before languages were kept).
    language: str = "und"


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: int
    channel: str
    started_at: datetime
    last_message_at: datetime
    handoff: str
    messages: int
    first_question: str


@dataclass(frozen=True, slots=True)
class RetrievedPassage:
    rank: int
    source: str
    heading: str
    url: str
    text: str
    score: float
    title: str = ""  # the document's title; "" when it has none, and on passages logged before revision 0009


@dataclass(frozen=True, slots=True)
class TranscriptMessage:
    """One logged message; answers carry how they were made and what the customer and admins said."""

    id: int
    role: str  # user, assistant, operator
    text: str
    created_at: datetime
    outcome: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    prompt_version: str | None = None
    total_ms: float | None = None
    rating: str | None = None
    comment: str | None = None
    correction: str | None = None
    citations: tuple[int, ...] = ()  # the [n] of `passages` the answer cites
    passages: tuple[RetrievedPassage, ...] = ()
    # The other sections listed under the answer ("See also"), best first; none on answers logged before
    # revision 0008.
    see_also: tuple[Source, ...] = ()


class LogInsights(Protocol):
    """The queries the admin console (and the widget's history) read the log with."""

    async def daily(self, days: int, now: datetime | None = None) -> list[DayFigures]:
        """The last `days` UTC days, oldest first, every day present (zeros when nothing happened)."""
        ...

    async def gap_questions(self, days: int, limit: int) -> list[GapQuestion]:
        """Refused and 👎 answers of the last `days` days with their questions, newest first."""
        ...

    async def conversations(
        self, query: str = "", *, limit: int = 50, offset: int = 0
    ) -> list[ConversationSummary]:
        """Conversations, latest activity first; `query` keeps those with a message containing it."""
        ...

    async def transcript(self, conversation_id: int, *, after_id: int = 0) -> list[TranscriptMessage]:
        """Every message of a conversation after message `after_id`, oldest first."""
        ...
