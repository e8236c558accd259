"""The conversation-log boundary the channels and the pipeline write through."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, get_args

from bot.domain import Answer, Channel, Source, Turn

Rating = Literal["up", "down"]
HandoffState = Literal["none", "requested", "active"]
PromptKind = Literal["comment", "correct"]
# active: served; needs_review: its article changed, not served until an admin edits it; retired: kept,
# never served; candidate: an operator's handoff reply waiting for an admin's approval.
ApprovedStatus = Literal["active", "needs_review", "retired", "candidate"]
APPROVED_STATUSES: tuple[ApprovedStatus, ...] = get_args(ApprovedStatus)


class StoreUnavailableError(Exception):
    """The database cannot be reached; callers must not answer unlogged."""


class SchemaOutdatedError(Exception):
    """The database schema is not at the migrations' head; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class ConversationRef:
    id: int
    user_id: int  # internal users.id
    channel: Channel
    external_chat_id: str
    handoff: HandoffState


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A logged message found by the channel's id for it, with whose conversation it is in."""

    id: int
    conversation_id: int
    # The conversation's person, in the channel's ids: for an answer, who asked. Everyone in a group chat
    # sees an answer's buttons, and the client sends their data back, so this is how a press is checked.
    external_user_id: str
    # For an answer, the sections listed under it ("See also"), as logged (none before revision 0008).
    see_also: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplyPrompt:
    """A question the bot asked under an answer, waiting for one person's reply."""

    kind: PromptKind
    answer_id: int  # the logged answer the reply is about
    external_user_id: str  # only this person's reply counts


@dataclass(frozen=True, slots=True)
class RecentAnswer:
    """One logged answer as /stats lists it, so an admin can correct it by id."""

    id: int
    outcome: str
    question: str
    created_at: datetime
    conversation_id: int | None = None  # where the web console links it


@dataclass(frozen=True, slots=True)
class Stats:
    conversations_24h: int
    conversations_7d: int
    messages_24h: int
    messages_7d: int
    answers_7d: int
    thumbs_up_7d: int
    thumbs_down_7d: int
    refusals_7d: int
    handoffs_7d: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    # Customer messages per detected language over 7 days, most first ("und" when it could not be told).
    languages_7d: tuple[tuple[str, int], ...] = ()
    approved_7d: int = 0  # answers served from approved answers
    recent_answers: tuple[RecentAnswer, ...] = ()  # the latest answers, newest first


@dataclass(frozen=True, slots=True)
class ApprovedAnswer:
    """An admin's approved answer (or an operator's candidate) as the store keeps it."""

    id: int
    question: str
    text: str
    source: str | None  # the cited article: a knowledge-base source path, or None
    source_hash: str | None  # sha256 of the article's file when approved
    status: ApprovedStatus
    approved_by: str
    approved_at: datetime
    updated_at: datetime
    corrects_answer_id: int | None = None  # the logged answer it corrects
    review_reason: str = ""  # why it needs review


@dataclass(frozen=True, slots=True)
class LoggedAnswer:
    """A logged bot answer with the question it answered, for corrections by answer id."""

    id: int
    conversation_id: int
    question: str
    text: str
    outcome: str
    sources: tuple[str, ...]  # the retrieved passages' sources, best first, without repeats
    approved_id: int | None = None  # the approved answer it served (outcome "approved")
    # The standalone question searched: a follow-up ("and what if I paid by PayPal?") with the question
    # it follows; the customer's question otherwise, and "" where none was logged.
    searched: str = ""

    @property
    def standalone(self) -> str:
        """The question as it was searched where that was a follow-up with the question it follows (it ends
        with the customer's words), else the customer's question."""
        asked = self.question.strip()
        searched = self.searched.strip()
        return searched if asked and searched != asked and searched.endswith(asked) else self.question


class ApprovedAnswerStore(Protocol):
    """Approved answers and candidates, kept with the conversation log. Every method commits."""

    async def add_approved(
        self,
        *,
        question: str,
        text: str,
        approved_by: str,
        source: str | None = None,
        source_hash: str | None = None,
        status: ApprovedStatus = "active",
        corrects_answer_id: int | None = None,
        keep_personal_data: bool = False,
    ) -> ApprovedAnswer:
        """Store one; `ValueError` for an empty question or text, or an unknown `corrects_answer_id`.

        An active one is served to every customer who asks its question: personal data in its text (emails,
        phone, card and IBAN numbers, handles, the deployment's extra patterns, by its `BOT_REDACTION__*`
        rules) is replaced by placeholders (`<EMAIL>`, …) unless `keep_personal_data` (the admin confirmed
        a public contact, such as the support address)."""
        ...

    async def get_approved(self, approved_id: int) -> ApprovedAnswer | None: ...

    async def list_approved(self, statuses: Collection[ApprovedStatus] = ()) -> list[ApprovedAnswer]:
        """Those with one of `statuses` (all when empty), oldest first."""
        ...

    async def update_approved(
        self,
        approved_id: int,
        *,
        question: str | None = None,
        text: str | None = None,
        source: str | None = None,
        clear_source: bool = False,
        source_hash: str | None = None,
        status: ApprovedStatus | None = None,
        approved_by: str | None = None,
        review_reason: str | None = None,
        keep_personal_data: bool = False,
    ) -> ApprovedAnswer:
        """Change the given fields (None keeps one); `LookupError` for an unknown id, `ValueError` for an
        empty question or text. A text that starts being served (a new text of an active answer, or a
        candidate made active) loses its personal data as in `add_approved`, unless `keep_personal_data`."""
        ...

    async def approved_revision(self) -> str:
        """A token that changes whenever any approved answer is added or changed."""
        ...

    async def logged_answer(self, answer_id: int) -> LoggedAnswer | None:
        """The bot answer with that id and its question; None when it is not a logged bot answer."""
        ...

    async def add_candidate(self, conversation_id: int, text: str, operator: str) -> ApprovedAnswer | None:
        """Keep an operator's handoff reply as a candidate answer to the question the handoff is about:
        the customer's latest message that asks something, past requests for a person and commands, but
        never one from before an earlier handoff's replies, nor one the customer had moved on from (small
        talk the bot answered came after it). Several replies in a row to the same question become one
        candidate; None when there is no such question. The reply is written to one customer, and the
        question is one customer's words: the personal data of both (emails, phone numbers, …) is kept as
        placeholders (`<EMAIL>`, …)."""
        ...


class ConversationLog(Protocol):
    """Async, durable log of conversations. Every method commits before it returns."""

    async def ping(self) -> None:
        """Raise `StoreUnavailableError` if the database cannot be used."""
        ...

    async def claim_delivery(self, channel: Channel, delivery_id: str) -> bool:
        """Record the channel's id of an incoming delivery (Telegram: the update id); False if that
        delivery was already claimed, i.e. it is a redelivery to drop."""
        ...

    async def open_conversation(
        self, *, channel: Channel, external_user_id: str, external_chat_id: str, new: bool = False
    ) -> ConversationRef:
        """The user's open conversation in that chat, or a new one when `new` or none is open."""
        ...

    async def get_conversation(self, conversation_id: int) -> ConversationRef | None: ...

    async def history(self, conversation_id: int, limit: int) -> list[Turn]:
        """The last `limit` messages, oldest first, without the fixed system replies (busy, small talk, …):
        the turns the model is given."""
        ...

    async def transcript(self, conversation_id: int, limit: int) -> list[Turn]:
        """The last `limit` messages as the customer saw them, oldest first: `history` with the fixed system
        replies in their places, for the people a handoff brings in."""
        ...

    async def log_user_message(
        self, conversation_id: int, text: str, *, external_message_id: str = "", language: str = ""
    ) -> int:
        """Commit the user's message (and its detected language) before anything is generated; returns
        the message id."""
        ...

    async def last_language(self, conversation_id: int) -> str:
        """The detected language of the conversation's latest user message that has one; "" when none."""
        ...

    async def user_language(self, channel: Channel, external_user_id: str) -> str:
        """The detected language of the person's latest message in any conversation; "" when none.
        Reads only: unlike `open_conversation`, it creates nothing."""
        ...

    async def log_answer(self, conversation_id: int, reply_to: int, answer: Answer) -> int:
        """Commit the answer, its retrievals, model and timings before it is sent; returns its id."""
        ...

    async def set_external_id(self, message_id: int, external_message_id: str) -> None:
        """Remember the channel's id of a sent message (to map button presses back)."""
        ...

    async def find_message(
        self, channel: Channel, external_chat_id: str, external_message_id: str
    ) -> MessageRef | None:
        """The logged message shown as that channel message (the latest, should an id repeat), and whose
        conversation it is in; None when there is none."""
        ...

    async def add_feedback(
        self, message_id: int, rating: Rating | None, comment: str | None = None
    ) -> None: ...

    async def add_reply_prompt(
        self, channel: Channel, external_chat_id: str, external_message_id: str, prompt: ReplyPrompt
    ) -> None:
        """Remember a prompt the bot sent (its channel message id) until the person replies to it."""
        ...

    async def take_reply_prompt(
        self, channel: Channel, external_chat_id: str, external_message_id: str, external_user_id: str
    ) -> ReplyPrompt | None:
        """The prompt that message is, removed now; None when it is none, or someone else replied to it."""
        ...

    async def add_correction(self, message_id: int, admin_external_id: str, text: str) -> None: ...

    async def set_handoff(
        self, conversation_id: int, state: HandoffState, *, expected: HandoffState | None = None
    ) -> bool:
        """Set the conversation's handoff state; with `expected`, only while it is in that state (a claim
        that two concurrent callers cannot both win). Returns whether it changed; an unknown conversation
        raises ValueError unless `expected` is given (then False)."""
        ...

    async def log_operator_message(self, conversation_id: int, text: str) -> int: ...

    async def stats(self, now: datetime | None = None) -> Stats: ...

    async def close(self) -> None: ...


__all__ = [
    "APPROVED_STATUSES",
    "ApprovedAnswer",
    "ApprovedAnswerStore",
    "ApprovedStatus",
    "ConversationLog",
    "LoggedAnswer",
    "MessageRef",
    "RecentAnswer",
    "ConversationRef",
    "HandoffState",
    "PromptKind",
    "Rating",
    "ReplyPrompt",
    "SchemaOutdatedError",
    "Stats",
    "StoreUnavailableError",
]
