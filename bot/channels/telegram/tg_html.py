"""Telegram's message limits as the Bot API counts them: lengths in UTF-16 code units."""

from __future__ import annotations

# From the Bot API documentation; Telegram counts lengths in UTF-16 code units.
MAX_MESSAGE_CHARS = 4096


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP take two units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
