"""Retention: delete conversations past their age limit, and forget one user on request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.store.models import utcnow
from bot.store.redact import Redactor
from bot.store.repo import SqlConversationLog

_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_EARLIEST = datetime.min.replace(tzinfo=UTC)  # the earliest cutoff a datetime can hold


def parse_age(text: str) -> timedelta:
    """`180d`, `26w` or `12h` → a timedelta; anything else raises ValueError with the expected form."""
    match = _DURATION.match(text)
    # Nineteen digits already overflow timedelta; int() of thousands of digits would raise its own error.
    number = int(match.group(1)) if match and len(match.group(1)) <= 19 else None
    if not match or number == 0:
        raise ValueError(f"{text!r} is not an age; use a positive number with h, d or w, such as 180d")
    try:
        age = None if number is None else timedelta(**{_UNITS[match.group(2).lower()]: number})
    except OverflowError:  # past timedelta's 999999999 days
        age = None
    # An age reaching back before the year 1 has no cutoff date: timedelta() or the subtraction in `purge`
    # raised OverflowError, a traceback instead of this message. Time only moves on before `purge`
    # subtracts, so an age that fits now still fits then.
    if age is None or age > utcnow() - _EARLIEST:
        raise ValueError(f"{text!r} reaches back before the year 1; use a smaller age, such as 180d")
    return age


@dataclass(frozen=True, slots=True)
class PurgeReport:
    cutoff: datetime
    conversations: int
    messages: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class ForgetReport:
    users: int
    conversations: int
    messages: int


async def purge(
    log: SqlConversationLog, older_than: timedelta, *, dry_run: bool = True, now: datetime | None = None
) -> PurgeReport:
    """Count (dry run) or delete the conversations whose last message is older than `older_than`."""
    cutoff = (now or utcnow()) - older_than
    if dry_run:
        conversations, messages = await log.count_older_than(cutoff)
        return PurgeReport(cutoff, conversations, messages, deleted=False)
    conversations, messages = await log.delete_older_than(cutoff)
    return PurgeReport(cutoff, conversations, messages, deleted=True)


async def forget(
    log: SqlConversationLog, external_user_id: str, redactor: Redactor | None = None
) -> ForgetReport:
    """Delete every conversation, message, rating and retrieval of one user (GDPR erasure); approved
    answers to their questions keep their question redacted (`redactor`, by default the export's rules
    with this user's id)."""
    user = external_user_id.strip()
    if not user:
        raise ValueError("give the user's id, e.g. --user 123456789")
    chosen = redactor or Redactor(known_user_ids=[user])
    users, conversations, messages = await log.forget_user(user, lambda text: chosen.redact(text).text)
    return ForgetReport(users, conversations, messages)


__all__ = ["ForgetReport", "PurgeReport", "forget", "parse_age", "purge"]
