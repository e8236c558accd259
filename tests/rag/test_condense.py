"""Follow-up condensation is cheap, in code, and only with history."""

from __future__ import annotations

from bot.domain import Turn
from bot.rag.condense import condense, needs_context

HISTORY = [Turn("user", "How do I reset my password?"), Turn("assistant", "Use the link [1].")]


def test_no_history_means_no_change() -> None:
    assert condense("  and for admins?  ", ()) == "and for admins?"


def test_self_contained_question_is_searched_as_is() -> None:
    question = "How long does shipping to Canada take?"
    assert not needs_context(question)
    assert condense(question, HISTORY) == question


def test_dependent_follow_up_gets_the_previous_question() -> None:
    for follow_up in ("and for admins?", "what if it does not arrive?", "why?"):
        assert needs_context(follow_up)
        assert condense(follow_up, HISTORY) == f"How do I reset my password? {follow_up}"


def test_history_without_user_turns() -> None:
    assert condense("and this?", [Turn("assistant", "hello")]) == "and this?"
