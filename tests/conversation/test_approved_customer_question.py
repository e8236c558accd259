"""A chat correction's approved question and an operator's candidate keep the customer's details out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.store.repo import SqlConversationLog
from tests.conversation.test_approved import ALICE, ask, make_service, store

__all__ = ["store"]  # the fixture, shared with test_approved

IBAN = "DE89 3704 0044 0532 0130 00"
ORDER = "ORD-482913"  # the deployment's own pattern (REDACTION__EXTRA_PATTERNS)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        rag={"min_relevance": 0.0, "confident_relevance": 0.0},
        redaction={"extra_patterns": [r"ORD-\d{6}"]},
    )


async def test_a_chat_correction_approves_the_question_without_the_customers_details(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, _ = make_service(settings, store)
    asked = await ask(svc, ALICE, f"Can you refund order {ORDER} to my IBAN {IBAN} instead of the card?")
    assert asked.answer_id is not None
    text = "Refunds go back to the card you paid with; we cannot pay them to a bank account."
    approved = await svc.correct(asked.answer_id, "admin-1", text)
    assert approved is not None
    question = "Can you refund order <CUSTOM> to my IBAN <IBAN> instead of the card?"
    assert (approved.question, approved.text) == (question, text)
    assert [(a.question, a.text) for a in await store.list_approved()] == [(question, text)]
    # Correcting it again replaces that answer: its question is the same once redacted.
    again = await svc.correct(asked.answer_id, "admin-2", "Refunds go back to the card you paid with.")
    assert again is not None
    assert (again.id, again.question) == (approved.id, question)


async def test_an_operator_reply_is_kept_under_the_question_without_the_customers_details(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, _ = make_service(settings, store)
    await ask(svc, ALICE, "Could you send the return label to ada.lovelace@example.com instead?")
    conversation = await svc.conversation(ALICE)
    await store.set_handoff(conversation.id, "requested")
    await svc.operator_reply(
        conversation.id, "Done, it is on its way to ada.lovelace@example.com.", operator="777"
    )
    # A second reply to the same question joins the same candidate.
    await svc.operator_reply(conversation.id, "Print it and stick it on the parcel.", operator="777")
    (candidate,) = await store.list_approved(["candidate"])
    assert candidate.question == "Could you send the return label to <EMAIL> instead?"
    assert candidate.text == "Done, it is on its way to <EMAIL>.\nPrint it and stick it on the parcel."
