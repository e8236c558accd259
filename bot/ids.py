"""Ids people type or clients send back (answers, conversations, messages): ASCII digits a database holds."""

from __future__ import annotations

import re

# The largest id SQLite and PostgreSQL (BIGINT) store; a longer number names nothing that exists.
MAX_ID = 2**63 - 1
# ASCII digits only: str.isdigit() also accepts "²" and "٣", which int() refuses or reads as 3.
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: str) -> int | None:
    """`text` as a stored id, or None when it is not one (not ASCII digits, or too large to exist)."""
    if _DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def storable_id(value: int) -> int | None:
    """An id that came in as a number (a route's `{id:int}`, a JSON number): None when no row can have it."""
    return value if 0 <= value <= MAX_ID else None
