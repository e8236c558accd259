"""Turns a follow-up into a standalone search query, in code (no model call), only when there is history."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.domain import Turn

_WORD = re.compile(r"[\w']+", re.UNICODE)
# Words that point back at something said before: "how do I install it", "what about that one".
_ANAPHORA = frozenset(
    [
        "it",
        "its",
        "it's",
        "that",
        "this",
        "these",
        "those",
        "they",
        "them",
        "their",
        "there",
        "he",
        "she",
        "him",
        "her",
        "one",
        "ones",
        "same",
        "such",
    ]
)
_CONTINUATIONS = ("and ", "also ", "but ", "so ", "what about", "how about", "and what", "then ", "or ")
SHORT_FOLLOW_UP_WORDS = 4


def needs_context(question: str) -> bool:
    """A follow-up that cannot be searched on its own: short, starts as a continuation, or uses a pronoun."""
    text = question.strip().lower()
    words = _WORD.findall(text)
    if not words:
        return False
    if len(words) <= SHORT_FOLLOW_UP_WORDS:
        return True
    if text.startswith(_CONTINUATIONS):
        return True
    return any(word in _ANAPHORA for word in words)


def condense(question: str, history: Sequence[Turn]) -> str:
    """The query to search for.

    A small model rewriting the question would cost a whole generation (and evict the KV cache the answer
    reuses), so this stays in code: a self-contained question is searched as is; a dependent follow-up is
    searched together with the user's previous question, which names the topic the pronoun points to.
    """
    question = question.strip()
    if not history or not needs_context(question):
        return question
    previous = next((t.text.strip() for t in reversed(history) if t.role == "user" and t.text.strip()), "")
    if not previous:
        return question
    return f"{previous} {question}"
