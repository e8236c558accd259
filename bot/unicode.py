"""Text from outside: made encodable (lone UTF-16 surrogates replaced), and whether it says anything."""

from __future__ import annotations

import re

# A str can hold surrogate code points that UTF-8 cannot encode: the log, the language detector and every
# channel's output would fail on them. JSON decoding pairs valid surrogate escapes, so any left are lone.
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def encodable(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return _SURROGATE.sub(REPLACEMENT, text)


def has_words(text: str) -> bool:
    """Whether text an admin writes as an answer says anything: a letter or digit, not only emoji or symbols
    ("😀" approved would be served as the whole answer to everyone who asks that question)."""
    return any(ch.isalnum() for ch in text)
