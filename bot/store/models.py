"""SQLAlchemy models of the conversation log; the schema itself is created only by Alembic revisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, get_args

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.domain import Channel, Source
from bot.unicode import storable

# Deterministic constraint names, so migrations can drop/alter them on every backend (SQLite batch mode
# needs names to find constraints again).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# The database refuses a channel the code does not know; a new channel needs a revision widening the check
# (tests/store/test_migrations.py compares the migrated constraint with `bot.domain.Channel`).
CHANNEL_CHECK = "channel IN (" + ", ".join(f"'{name}'" for name in get_args(Channel)) + ")"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type: values are stored as UTC text and given back their tzinfo on read, so
    comparisons and ordering stay correct and callers always see aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the conversation log; use timezone-aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StoredString(TypeDecorator[str]):
    """A VARCHAR the log can always store: every value written goes through `bot.unicode.storable`.

    Here, in the column types, so every text the store writes is covered (messages, comments,
    corrections, approved answers, names, ids from a channel), whoever writes it: PostgreSQL refuses NUL
    in text, and one NUL from a visitor failed the write as "database unavailable". Values compared in a
    query are cleaned the same way, so a lookup with the text as it came in finds what was stored."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable(value)


class StoredText(StoredString):
    """TEXT, cleaned like `StoredString`."""

    impl = Text
    cache_ok = True


class SectionList(TypeDecorator[tuple[Source, ...]]):
    """Sections (source, heading, url, and the document's title when it has one) kept in one TEXT column as a
    JSON list of objects; NULL for none.

    A value that is not such a list (written by hand, cut short) reads as none: it only ever adds links
    under an answer, and a transcript must still load without them. A section without a title (listed
    before titles were kept) reads with "", and is shown by its file path."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: tuple[Source, ...] | None, dialect: Dialect) -> str | None:
        if not value:
            return None
        listed = [
            {
                "source": s.source,
                "heading": s.heading,
                "url": s.url,
                **({"title": s.title} if s.title else {}),
            }
            for s in value
        ]
        return storable(json.dumps(listed, ensure_ascii=False))

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[Source, ...]:
        try:
            listed = json.loads(value) if isinstance(value, str) else []
        except (ValueError, RecursionError):
            return ()
        sections: list[Source] = []
        for item in listed if isinstance(listed, list) else []:
            if not isinstance(item, dict):
                continue
            source, heading, url = (item.get(key, "") for key in ("source", "heading", "url"))
            if isinstance(source, str) and isinstance(heading, str) and isinstance(url, str):
                # A title that is not text only loses the title: the section is still listed.
                title = item.get("title", "")
                sections.append(Source(source, heading, url, title if isinstance(title, str) else ""))
        return tuple(sections)


class Base(DeclarativeBase):
    metadata = metadata


class User(Base):
    """Someone who talked to the bot; `pseudonym` is what exports show instead of the real id."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(StoredString(16))
    external_id: Mapped[str] = mapped_column(StoredString(64))  # the channel's id of the person, as text
    pseudonym: Mapped[str] = mapped_column(StoredString(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(CHANNEL_CHECK, name="channel"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint("handoff IN ('none', 'requested', 'active')", name="handoff"),
        Index("ix_conversations_user_chat_status", "user_id", "external_chat_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(StoredString(16))
    external_chat_id: Mapped[str] = mapped_column(StoredString(64))
    status: Mapped[str] = mapped_column(StoredString(16), default="open")
    handoff: Mapped[str] = mapped_column(StoredString(16), default="none")
    handoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Message(Base):
    """One message of a conversation; assistant rows also carry how the answer was made."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant', 'operator')", name="role"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(StoredString(16))
    text: Mapped[str] = mapped_column(StoredText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    external_message_id: Mapped[str | None] = mapped_column(StoredString(64), nullable=True, index=True)
    # The detected language of a user's message ("en", "zh", …, "und"); NULL on other messages.
    language: Mapped[str | None] = mapped_column(StoredString(16), nullable=True)
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # Answer metadata (NULL on user and operator messages).
    # The standalone question searched.
    question: Mapped[str | None] = mapped_column(StoredText(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(StoredString(32), nullable=True)
    grounded: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    model_name: Mapped[str | None] = mapped_column(StoredString(200), nullable=True)
    model_version: Mapped[str | None] = mapped_column(StoredString(64), nullable=True)
    prompt_version: Mapped[str | None] = mapped_column(StoredString(64), nullable=True)
    citations: Mapped[str | None] = mapped_column(StoredString(200), nullable=True)  # e.g. "1,3"
    retrieval_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    condense_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    queue_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    ttft_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    total_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The approved answer served (outcome "approved"). No foreign key: approved_answers already points at
    # messages, and approved answers are never deleted (only retired), so the id always resolves.
    approved_answer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The sections listed under the answer besides its sources (`Answer.see_also`), best first; NULL when
    # none were, and on every answer logged before revision 0008.
    see_also: Mapped[tuple[Source, ...]] = mapped_column(SectionList(), nullable=True)


class Retrieval(Base):
    """A passage given to the model for an answer (for a refusal by the gate, one the search found, no model
    named): enough to rebuild the prompt exactly."""

    __tablename__ = "retrievals"
    __table_args__ = (UniqueConstraint("message_id", "rank"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    chunk_id: Mapped[str] = mapped_column(StoredString(500))
    source: Mapped[str] = mapped_column(StoredString(500))
    heading: Mapped[str] = mapped_column(StoredText())
    url: Mapped[str] = mapped_column(StoredText())
    text: Mapped[str] = mapped_column(StoredText())
    score: Mapped[float] = mapped_column(Float)
    dense_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The document's title (the first of the chunk's heading path), which the widget shows a cited passage
    # by; NULL when the document has none, and on every passage logged before revision 0009.
    title: Mapped[str | None] = mapped_column(StoredText(), nullable=True)


class Feedback(Base):
    """The user's rating of one answer (the latest press wins) and an optional comment."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating IS NULL OR rating IN ('up', 'down')", name="rating"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    rating: Mapped[str | None] = mapped_column(StoredString(8), nullable=True)
    comment: Mapped[str | None] = mapped_column(StoredText(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Correction(Base):
    """An admin's corrected text for an answer; the latest one replaces the answer in exports."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    admin_external_id: Mapped[str] = mapped_column(StoredString(64))
    text: Mapped[str] = mapped_column(StoredText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReplyPrompt(Base):
    """A question the bot asked under an answer (👎 comment, ✏️ correction) that waits for one person's reply.

    Kept in the log, not in process memory, so a reply after a restart still reaches its answer.
    """

    __tablename__ = "reply_prompts"
    __table_args__ = (CheckConstraint("kind IN ('comment', 'correct')", name="kind"),)

    channel: Mapped[str] = mapped_column(StoredString(16), primary_key=True)
    external_chat_id: Mapped[str] = mapped_column(StoredString(64), primary_key=True)
    external_message_id: Mapped[str] = mapped_column(StoredString(64), primary_key=True)  # the prompt's id
    kind: Mapped[str] = mapped_column(StoredString(8))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    external_user_id: Mapped[str] = mapped_column(StoredString(64))  # only this person's reply counts
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ApprovedAnswer(Base):
    """An admin's approved answer to a question, served at once to questions that match it closely.

    `status`: active (served), needs_review (its article changed or went away: not served until an admin
    edits it), retired (kept for the record, never served), candidate (an operator's reply during a
    handoff, waiting for an admin to approve it).
    """

    __tablename__ = "approved_answers"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'needs_review', 'retired', 'candidate')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(StoredText())
    text: Mapped[str] = mapped_column(StoredText())
    # The cited article: a knowledge-base `source` path (relative to the knowledge folder), or none.
    source: Mapped[str | None] = mapped_column(StoredString(500), nullable=True)
    # sha256 of the article's file when it was approved: a reload that changes it flags the answer.
    source_hash: Mapped[str | None] = mapped_column(StoredString(64), nullable=True)
    status: Mapped[str] = mapped_column(StoredString(16), default="active", index=True)
    review_reason: Mapped[str | None] = mapped_column(StoredText(), nullable=True)
    approved_by: Mapped[str] = mapped_column(StoredString(64))  # who approved (or, for a candidate, wrote) it
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The logged answer it corrects, if any; kept when that answer is purged (only the link goes).
    corrects_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True, index=True
    )


class ProcessedDelivery(Base):
    """Deliveries already handled, by channel and the channel's own id for them (Telegram: the update id),
    so a redelivered message is not answered twice."""

    __tablename__ = "processed_deliveries"

    channel: Mapped[str] = mapped_column(StoredString(16), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(StoredString(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class UpdateLedgerRow(Base):
    """Updates received by webhook workers: claimed once, done in chat order, leased to a live worker."""

    __tablename__ = "update_ledger"
    __table_args__ = (
        Index("ix_update_ledger_chat_key_update_id", "chat_key", "update_id"),
        Index("ix_update_ledger_done_lease", "done_at", "lease_until"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[str] = mapped_column(StoredString(64))
    # The update's JSON, so another worker can take it over.
    payload: Mapped[str] = mapped_column(StoredText())
    worker: Mapped[str] = mapped_column(StoredString(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[float] = mapped_column(Float)  # wall-clock seconds, as the workers compare them
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class FloodWindowRow(Base):
    """Each user's flood window, shared by the workers: accepted message times and whether told."""

    __tablename__ = "flood_windows"

    key: Mapped[str] = mapped_column(StoredString(64), primary_key=True)
    times: Mapped[str] = mapped_column(StoredText())  # JSON list of wall-clock seconds, oldest first
    noticed: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[float] = mapped_column(Float, index=True)


__all__ = [
    "CHANNEL_CHECK",
    "ApprovedAnswer",
    "NAMING_CONVENTION",
    "Base",
    "Conversation",
    "Correction",
    "Feedback",
    "Message",
    "FloodWindowRow",
    "ProcessedDelivery",
    "ReplyPrompt",
    "Retrieval",
    "SectionList",
    "UpdateLedgerRow",
    "User",
    "StoredString",
    "StoredText",
    "UTCDateTime",
    "metadata",
    "utcnow",
]
