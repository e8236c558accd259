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


async def test_a_corrected_follow_up_is_approved_with_the_question_it_follows(
    settings: Settings, store: SqlConversationLog
) -> None:
    # Found in a web trial: "and what if I paid by PayPal?" was approved alone, and the refund correction
    # was then served to a new visitor asking it about paying for a label.
    svc, _ = make_service(settings, store)
    await ask(svc, ALICE, "How long does a refund take?")
    follow_up = await ask(svc, ALICE, "and what if I paid by PayPal?")
    assert follow_up.answer_id is not None
    correction = "PayPal refunds take 5 to 10 business days."
    approved = await svc.correct(follow_up.answer_id, "admin-1", correction)
    assert approved is not None
    assert approved.question == "How long does a refund take? and what if I paid by PayPal?"
    # Matched as it is searched: after the same question.
    await ask(svc, BOB, "How long does a refund take?")
    again = await ask(svc, BOB, "and what if I paid by PayPal?")
    assert again.answer is not None
    assert (again.answer.outcome, again.answer.text) == ("approved", correction)
