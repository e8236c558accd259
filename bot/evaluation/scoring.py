"""The one gold-match rule and the ranking scores built on it (hit@k, reciprocal rank)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain import Hit
from bot.evaluation.questions import Question


def gold_match(source: str, heading: str, question: Question) -> bool:
    """A section answers `question` when it is the labelled file and its heading equals the labelled one.

    `file` is a path relative to the knowledge folder while a chunk's source may carry a longer prefix, so
    the source must equal it or end with it *at a path boundary*: a bare `endswith` would also count
    `billing/faq.md` as `faq.md`, or `old-faq.md` as `faq.md`, and score a wrong document as gold.
    """
    if question.file is None or question.heading is None:
        return False
    return (source == question.file or source.endswith("/" + question.file)) and heading == question.heading


def gold_rank(hits: Iterable[Hit], question: Question) -> int | None:
    """The rank of the first hit that matches the gold section, None when none does."""
    return next((h.rank for h in hits if gold_match(h.chunk.source, h.chunk.heading, question)), None)
