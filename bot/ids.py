"""Ids people type or clients send back (answers, conversations, messages): ASCII digits a database holds."""

from __future__ import annotations

import re

# The largest row id: the log's id columns are INTEGER, which PostgreSQL stores as int4 (the migrations
# create them so). A larger number names no row, and must not reach a query: PostgreSQL's driver refuses to
# bind it, which read as "database unavailable" instead of "not found".
MAX_ID = 2**31 - 1
# The largest number `parse_number` takes: a signed 64-bit integer (Telegram user ids have up to 52 bits).
MAX_NUMBER = 2**63 - 1
# ASCII digits only: str.isdigit() also accepts "²" and "٣", which int() refuses or reads as 3. Nineteen
# digits hold MAX_NUMBER, and keep int() away from texts long enough to be slow or refused.
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_number(text: str) -> int | None:
    """`text` as a non-negative number that is not a row id (a Telegram user id, a Content-Length), or
    None when it is not ASCII digits or exceeds MAX_NUMBER."""
    if _DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= MAX_NUMBER else None


def parse_id(text: str) -> int | None:
    """`text` as a stored row id, or None when it is not one (not ASCII digits, or larger than any row id
    the database can hold)."""
    value = parse_number(text)
    return storable_id(value) if value is not None else None


def storable_id(value: int) -> int | None:
    """An id that came in as a number (a route's `{id:int}`, a JSON number): None when no row can have it."""
    return value if 0 <= value <= MAX_ID else None
