"""An in-memory `ConversationLog` for the fuzz test, where 10,000 SQLite round trips would be too slow."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.domain import Answer, Turn
from bot.store.base import Channel, ConversationRef, HandoffState, Rating, Stats, StoreUnavailableError


@dataclass
class _Message:
    conversation_id: int
    role: str
    text: str
    external_id: str = ""


@dataclass
class MemoryConversationLog:
    """Implements the protocol faithfully (claims, conversations, write order) without durability."""

    down: bool = False
    updates: set[int] = field(default_factory=set)
    conversations: dict[int, ConversationRef] = field(default_factory=dict)
    messages: dict[int, _Message] = field(default_factory=dict)
    feedback: dict[int, tuple[Rating | None, str | None]] = field(default_factory=dict)
    corrections: dict[int, str] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    by_conversation: dict[int, list[int]] = field(default_factory=dict)
    by_external: dict[tuple[str, str], int] = field(default_factory=dict)
    open_by_chat: dict[tuple[str, str, int], int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _add(self, message: _Message) -> int:
        message_id = next(self._ids)
        self.messages[message_id] = message
        self.by_conversation.setdefault(message.conversation_id, []).append(message_id)
        return message_id

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailableError("memory store is down (test)")

    async def ping(self) -> None:
        self._check()

    async def claim_update(self, update_id: int) -> bool:
        self._check()
        if update_id in self.updates:
            return False
        self.updates.add(update_id)
        return True

    async def open_conversation(
        self, *, channel: Channel, external_user_id: str, external_chat_id: str, new: bool = False
    ) -> ConversationRef:
        self._check()
        key = (channel, external_chat_id, int(external_user_id))
        if not new and key in self.open_by_chat:
            return self.conversations[self.open_by_chat[key]]
        ref = ConversationRef(next(self._ids), int(external_user_id), channel, external_chat_id, "none")
        self.conversations[ref.id] = ref
        self.open_by_chat[key] = ref.id
        return ref

    async def get_conversation(self, conversation_id: int) -> ConversationRef | None:
        self._check()
        return self.conversations.get(conversation_id)

    async def history(self, conversation_id: int, limit: int) -> list[Turn]:
        self._check()
        ids = self.by_conversation.get(conversation_id, [])[-limit:] if limit else []
        return [Turn(self.messages[i].role, self.messages[i].text) for i in ids]

    async def log_user_message(
        self, conversation_id: int, text: str, *, external_message_id: str = ""
    ) -> int:
        self._check()
        return self._add(_Message(conversation_id, "user", text))

    async def log_answer(self, conversation_id: int, reply_to: int, answer: Answer) -> int:
        self._check()
        if reply_to not in self.messages:
            raise ValueError("answer to an unlogged question")
        self.answers.append(answer)
        return self._add(_Message(conversation_id, "assistant", answer.text))

    async def set_external_id(self, message_id: int, external_message_id: str) -> None:
        self._check()
        message = self.messages[message_id]
        message.external_id = external_message_id
        chat = self.conversations[message.conversation_id].external_chat_id
        self.by_external[(chat, external_message_id)] = message_id

    async def find_message(
        self, channel: Channel, external_chat_id: str, external_message_id: str
    ) -> int | None:
        self._check()
        return self.by_external.get((external_chat_id, external_message_id))

    async def add_feedback(self, message_id: int, rating: Rating | None, comment: str | None = None) -> None:
        self._check()
        old_rating, old_comment = self.feedback.get(message_id, (None, None))
        self.feedback[message_id] = (rating or old_rating, comment or old_comment)

    async def add_correction(self, message_id: int, admin_external_id: str, text: str) -> None:
        self._check()
        self.corrections[message_id] = text

    async def set_handoff(self, conversation_id: int, state: HandoffState) -> None:
        self._check()
        self.conversations[conversation_id] = replace(self.conversations[conversation_id], handoff=state)

    async def log_operator_message(self, conversation_id: int, text: str) -> int:
        self._check()
        return self._add(_Message(conversation_id, "operator", text))

    async def stats(self, now: datetime | None = None) -> Stats:
        self._check()
        ups = sum(1 for r, _ in self.feedback.values() if r == "up")
        downs = sum(1 for r, _ in self.feedback.values() if r == "down")
        return Stats(
            conversations_24h=len(self.conversations),
            conversations_7d=len(self.conversations),
            messages_24h=len(self.messages),
            messages_7d=len(self.messages),
            answers_7d=len(self.answers),
            thumbs_up_7d=ups,
            thumbs_down_7d=downs,
            refusals_7d=sum(1 for a in self.answers if a.outcome == "refused"),
            handoffs_7d=sum(1 for c in self.conversations.values() if c.handoff != "none"),
            latency_p50_ms=None,
            latency_p95_ms=None,
        )

    async def close(self) -> None:
        return None
