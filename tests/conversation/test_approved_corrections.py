"""Admins' corrections become approved answers as typed, personal data included (the admin's own text)."""

from __future__ import annotations

from bot.config import Settings
from bot.store.repo import SqlConversationLog
from tests.conversation.test_approved import ALICE, BOB, QUESTION, ask, make_service, settings, store

__all__ = ["settings", "store"]  # the fixtures, shared with test_approved

TYPED = "Email help@parcelly.example with your tracking number, or call +44 20 7946 0958."


async def test_a_correction_with_an_email_address_is_stored_and_served_as_typed(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, _ = make_service(settings, store)
    first = await ask(svc, ALICE, QUESTION)
    assert first.answer_id is not None
    approved = await svc.correct(first.answer_id, "admin-1", TYPED)
    assert approved is not None
    assert approved.text == TYPED
    assert [a.text for a in await store.list_approved(["active"])] == [TYPED]
    served = await ask(svc, BOB, QUESTION)
    assert served.answer is not None
    assert (served.answer.outcome, served.answer.text) == ("approved", TYPED)
    # Correcting the served approved answer replaces its text, as typed too.
    assert served.answer_id is not None
    again = "Write to claims@parcelly.example."
    replaced = await svc.correct(served.answer_id, "admin-2", again)
    assert replaced is not None
    assert (replaced.id, replaced.text) == (approved.id, again)
