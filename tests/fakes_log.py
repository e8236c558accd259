"""An in-memory `ConversationLog` that behaves like the SQL log (tests/store/test_log_contract.py checks), and
the approved answers as a reload's review sees them."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from bot.domain import NOT_LOOKED_UP, SYSTEM_OUTCOMES, Answer, Channel, Turn
from bot.metrics import percentile
from bot.store.base import (
    ApprovedAnswer,
    ApprovedStatus,
    ConversationRef,
    HandoffState,
    MessageRef,
    Rating,
    ReplyPrompt,
    Stats,
    StoreUnavailableError,
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Message:
    conversation_id: int
    role: str
    text: str
    created_at: datetime
    external_id: str = ""
    answer: Answer | None = None
    language: str = ""


@dataclass
class _Feedback:
    rating: Rating | None
    comment: str | None
    updated_at: datetime


@dataclass
class _Conversation:
    ref: ConversationRef
    user_key: tuple[str, str]  # (channel, external user id)
    open: bool
    started_at: datetime
    handoff_at: datetime | None = None


@dataclass
class MemoryConversationLog:
    """The SQL log's behaviour (claims, conversations, history, errors, stats) without durability.

    For tests where thousands of SQLite round trips would be too slow; `down = True` makes every call fail
    the way an unreachable database does.
    """

    down: bool = False
    deliveries: set[tuple[str, str]] = field(default_factory=set)
    users: dict[tuple[str, str], int] = field(default_factory=dict)
    conversations: dict[int, _Conversation] = field(default_factory=dict)
    messages: dict[int, _Message] = field(default_factory=dict)
    feedback: dict[int, _Feedback] = field(default_factory=dict)
    corrections: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # id → [(admin, text)]
    prompts: dict[tuple[str, str, str], ReplyPrompt] = field(default_factory=dict)  # (channel, chat, msg)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailableError("memory store is down (test)")

    def _conversation(self, conversation_id: int) -> _Conversation:
        found = self.conversations.get(conversation_id)
        if found is None:
            raise ValueError(f"conversation {conversation_id} does not exist")
        return found

    def _add(
        self, conversation_id: int, role: str, text: str, external_id: str = "", answer: Answer | None = None
    ) -> int:
        self._conversation(conversation_id)
        message_id = next(self._ids)
        self.messages[message_id] = _Message(conversation_id, role, text, _now(), external_id, answer)
        return message_id

    async def ping(self) -> None:
        self._check()

    async def claim_delivery(self, channel: Channel, delivery_id: str) -> bool:
        self._check()
        _check_channel(channel)
        if not delivery_id or len(delivery_id) > 128:
            raise ValueError(f"a delivery id is 1 to 128 characters, got {len(delivery_id)}")
        if (channel, delivery_id) in self.deliveries:
            return False
        self.deliveries.add((channel, delivery_id))
        return True

    async def open_conversation(
        self, *, channel: Channel, external_user_id: str, external_chat_id: str, new: bool = False
    ) -> ConversationRef:
        self._check()
        _check_channel(channel)
        if not external_user_id or not external_chat_id:
            raise ValueError("a conversation needs a user id and a chat id")
        user_key = (channel, external_user_id)
        user_id = self.users.setdefault(user_key, next(self._ids))
        open_here = [
            c
            for c in self.conversations.values()
            if c.user_key == user_key and c.ref.external_chat_id == external_chat_id and c.open
        ]
        if new:
            for conversation in open_here:
                conversation.open = False
        elif open_here:
            return max(open_here, key=lambda c: c.ref.id).ref
        ref = ConversationRef(next(self._ids), user_id, channel, external_chat_id, "none")
        self.conversations[ref.id] = _Conversation(ref, user_key, True, _now())
        return ref

    async def get_conversation(self, conversation_id: int) -> ConversationRef | None:
        self._check()
        found = self.conversations.get(conversation_id)
        return None if found is None else found.ref

    async def history(self, conversation_id: int, limit: int) -> list[Turn]:
        return self._turns(conversation_id, limit, system_replies=False)

    async def transcript(self, conversation_id: int, limit: int) -> list[Turn]:
        return self._turns(conversation_id, limit, system_replies=True)

    def _turns(self, conversation_id: int, limit: int, *, system_replies: bool) -> list[Turn]:
        self._check()
        if limit <= 0:
            return []
        kept = [
            m
            for _, m in sorted(self.messages.items())
            if m.conversation_id == conversation_id
            and (system_replies or m.answer is None or m.answer.outcome not in SYSTEM_OUTCOMES)
        ]
        # An operator keeps the role: the model sees it as the assistant, a transcript names the person.
        return [
            Turn("user" if m.role == "user" else "operator" if m.role == "operator" else "assistant", m.text)
            for m in kept[-limit:]
        ]

    async def log_user_message(
        self, conversation_id: int, text: str, *, external_message_id: str = "", language: str = ""
    ) -> int:
        self._check()
        message_id = self._add(conversation_id, "user", text, external_id=external_message_id)
        self.messages[message_id].language = language
        return message_id

    async def last_language(self, conversation_id: int) -> str:
        self._check()
        for message in reversed(list(self.messages.values())):
            if message.conversation_id == conversation_id and message.role == "user" and message.language:
                return message.language
        return ""

    async def user_language(self, channel: Channel, external_user_id: str) -> str:
        self._check()
        mine = {c.ref.id for c in self.conversations.values() if c.user_key == (channel, external_user_id)}
        for message in reversed(list(self.messages.values())):
            if message.conversation_id in mine and message.role == "user" and message.language:
                return message.language
        return ""

    async def log_answer(self, conversation_id: int, reply_to: int, answer: Answer) -> int:
        self._check()
        if reply_to not in self.messages:
            raise ValueError(f"message {reply_to} does not exist")
        return self._add(conversation_id, "assistant", answer.text, answer=answer)

    async def set_external_id(self, message_id: int, external_message_id: str) -> None:
        self._check()
        message = self.messages.get(message_id)
        if message is None:
            raise ValueError(f"message {message_id} does not exist")
        message.external_id = external_message_id

    async def find_message(
        self, channel: Channel, external_chat_id: str, external_message_id: str
    ) -> MessageRef | None:
        self._check()
        found = [
            message_id
            for message_id, m in self.messages.items()
            if m.external_id == external_message_id
            and self.conversations[m.conversation_id].ref.channel == channel
            and self.conversations[m.conversation_id].ref.external_chat_id == external_chat_id
        ]
        if not found or not external_message_id:
            return None
        message_id = max(found)
        message = self.messages[message_id]
        conversation = self.conversations[message.conversation_id]
        see_also = message.answer.see_also if message.answer is not None else ()
        return MessageRef(message_id, conversation.ref.id, conversation.user_key[1], see_also)

    async def add_feedback(self, message_id: int, rating: Rating | None, comment: str | None = None) -> None:
        self._check()
        if rating is not None and rating not in ("up", "down"):
            raise ValueError(f"rating must be 'up', 'down' or None, not {rating!r}")
        if message_id not in self.messages:
            raise ValueError(f"message {message_id} does not exist")
        old = self.feedback.get(message_id)
        self.feedback[message_id] = _Feedback(
            rating if rating is not None else (old.rating if old else None),
            comment if comment is not None else (old.comment if old else None),
            _now(),
        )

    async def add_correction(self, message_id: int, admin_external_id: str, text: str) -> None:
        self._check()
        if not text.strip():
            raise ValueError("a correction needs the corrected text")
        message = self.messages.get(message_id)
        if message is None:
            raise ValueError(f"message {message_id} does not exist")
        if message.role != "assistant":
            raise ValueError(f"message {message_id} is not a bot answer; only answers can be corrected")
        self.corrections.setdefault(message_id, []).append((admin_external_id, text))

    async def add_reply_prompt(
        self, channel: Channel, external_chat_id: str, external_message_id: str, prompt: ReplyPrompt
    ) -> None:
        self._check()
        _check_channel(channel)
        if prompt.answer_id not in self.messages:
            raise ValueError(f"message {prompt.answer_id} does not exist")
        self.prompts[(channel, external_chat_id, external_message_id)] = prompt

    async def take_reply_prompt(
        self, channel: Channel, external_chat_id: str, external_message_id: str, external_user_id: str
    ) -> ReplyPrompt | None:
        self._check()
        key = (channel, external_chat_id, external_message_id)
        prompt = self.prompts.get(key)
        if prompt is None or prompt.external_user_id != external_user_id:
            return None
        del self.prompts[key]
        return prompt

    async def set_handoff(
        self, conversation_id: int, state: HandoffState, *, expected: HandoffState | None = None
    ) -> bool:
        self._check()
        if state not in ("none", "requested", "active"):
            raise ValueError(f"handoff state must be one of none, requested, active, not {state!r}")
        if expected is not None and (
            conversation_id not in self.conversations
            or self.conversations[conversation_id].ref.handoff != expected
        ):
            return False
        conversation = self._conversation(conversation_id)
        conversation.ref = replace(conversation.ref, handoff=state)
        if state == "requested":
            conversation.handoff_at = _now()
        return True

    async def log_operator_message(self, conversation_id: int, text: str) -> int:
        self._check()
        return self._add(conversation_id, "operator", text)

    async def stats(self, now: datetime | None = None) -> Stats:
        self._check()
        now = now or _now()
        day, week = now - timedelta(days=1), now - timedelta(days=7)
        started = [c.started_at for c in self.conversations.values()]
        asked = [m.created_at for m in self.messages.values() if m.role == "user"]
        answers = [
            m
            for m in self.messages.values()
            if m.answer is not None and m.created_at >= week and m.answer.outcome not in NOT_LOOKED_UP
        ]
        rated = [f.rating for f in self.feedback.values() if f.updated_at >= week]
        latencies = [m.answer.timings.total_ms for m in answers if m.answer is not None]
        return Stats(
            conversations_24h=sum(1 for t in started if t >= day),
            conversations_7d=sum(1 for t in started if t >= week),
            messages_24h=sum(1 for t in asked if t >= day),
            messages_7d=sum(1 for t in asked if t >= week),
            answers_7d=len(answers),
            thumbs_up_7d=rated.count("up"),
            thumbs_down_7d=rated.count("down"),
            refusals_7d=sum(1 for m in answers if m.answer is not None and m.answer.outcome == "refused"),
            handoffs_7d=sum(
                1 for c in self.conversations.values() if c.handoff_at is not None and c.handoff_at >= week
            ),
            latency_p50_ms=percentile(latencies, 50),
            latency_p95_ms=percentile(latencies, 95),
            languages_7d=tuple(
                sorted(
                    Counter(
                        m.language or "und"
                        for m in self.messages.values()
                        if m.role == "user" and m.created_at >= week
                    ).items(),
                    key=lambda item: (-item[1], item[0]),
                )
            ),
        )

    async def close(self) -> None:
        return None


def _check_channel(channel: str) -> None:
    channels = get_args(Channel)
    if channel not in channels:
        raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(channels)}")


class ApprovedAnswersToReview:
    """The approved answers' store, as far as the review after a reload uses it (list and flag)."""

    def __init__(self, answers: list[ApprovedAnswer]) -> None:
        self.answers = {a.id: a for a in answers}

    async def list_approved(self, statuses: Collection[ApprovedStatus] = ()) -> list[ApprovedAnswer]:
        return [a for a in self.answers.values() if not statuses or a.status in statuses]

    async def update_approved(self, approved_id: int, **changes: Any) -> ApprovedAnswer:
        self.answers[approved_id] = replace(self.answers[approved_id], **changes)
        return self.answers[approved_id]
