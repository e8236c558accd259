"""Personal data never reaches customers through an approved answer, and `forget` takes it out of them."""

from __future__ import annotations

from bot.store.redact import Redactor
from bot.store.repo import SqlConversationLog
from bot.store.retention import forget
from tests.store.test_log_contract import answer

QUESTION = "Where is my return label?"
# An operator's reply during a handoff: written to one customer, with their details.
REPLY = "Hi John, I sent the label to john.smith@example.com; questions: +49 30 12345678."
DETAILS = ("john.smith@example.com", "12345678")
SUPPORT = "Write to support@shop.example or call +49 30 87654321, Monday to Friday."


async def _asked(log: SqlConversationLog, user: str = "2301") -> tuple[int, int]:
    conv = await log.open_conversation(channel="telegram", external_user_id=user, external_chat_id=user)
    q = await log.log_user_message(conv.id, QUESTION)
    a = await log.log_answer(conv.id, q, answer("Wrong answer [1]."))
    return conv.id, a


def _has_details(text: str) -> bool:
    return any(detail in text for detail in DETAILS)


async def test_an_operator_reply_is_kept_as_a_candidate_without_the_customers_details(
    log: SqlConversationLog,
) -> None:
    conversation_id, _ = await _asked(log)
    candidate = await log.add_candidate(conversation_id, REPLY, "operator:sam")
    assert candidate is not None
    assert candidate.text == "Hi John, I sent the label to <EMAIL>; questions: <PHONE>."
    # A second reply to the same question joins it, redacted too.
    again = await log.add_candidate(conversation_id, "Or mail jane@example.org.", "operator:sam")
    assert again is not None
    assert again.id == candidate.id
    assert again.text.endswith("\nOr mail <EMAIL>.")


async def test_a_served_text_loses_personal_data_unless_the_admin_keeps_it(log: SqlConversationLog) -> None:
    _, answer_id = await _asked(log)
    # A Telegram or web correction: the store's default takes the details out of what is served.
    corrected = await log.add_approved(
        question=QUESTION, text=REPLY, approved_by="telegram:1", corrects_answer_id=answer_id
    )
    assert not _has_details(corrected.text)
    assert "<EMAIL>" in corrected.text
    replaced = await log.update_approved(corrected.id, text=REPLY, status="active", approved_by="1")
    assert not _has_details(replaced.text)
    # A public support address, confirmed by the admin, stays; and a later review does not strip it.
    public = await log.add_approved(
        question="How do I reach you?", text=SUPPORT, approved_by="1", keep_personal_data=True
    )
    assert public.text == SUPPORT
    flagged = await log.update_approved(public.id, status="needs_review", review_reason="article changed")
    assert (await log.update_approved(flagged.id, status="active")).text == SUPPORT
    # Retiring one changes no text.
    retired = await log.update_approved(public.id, status="retired")
    assert retired.text == SUPPORT


async def test_approving_a_candidate_stored_with_details_serves_it_without_them(
    log: SqlConversationLog,
) -> None:
    # A candidate as one was stored before replies were redacted (or as an admin edited it).
    candidate = await log.add_approved(
        question=QUESTION, text="x", approved_by="operator:sam", status="candidate"
    )
    edited = await log.update_approved(candidate.id, text=REPLY, status="candidate")
    assert edited.text == REPLY  # not served yet
    approved = await log.update_approved(candidate.id, status="active", approved_by="console:admin")
    assert approved.status == "active"
    assert not _has_details(approved.text)


async def test_forgetting_a_user_redacts_the_served_answer_built_on_their_question(
    log: SqlConversationLog,
) -> None:
    _, answer_id = await _asked(log, "2301")
    # Approved as the operator wrote it, details and all (before this was refused, or with the admin's
    # --allow-personal-data): it is served to everyone asking the same thing.
    served = await log.add_approved(
        question=QUESTION,
        text=REPLY,
        approved_by="console:admin",
        corrects_answer_id=answer_id,
        keep_personal_data=True,
    )
    other = await log.add_approved(
        question="How do I reach you?", text=SUPPORT, approved_by="1", keep_personal_data=True
    )
    await forget(log, "2301", Redactor(known_user_ids=["2301"]))
    rows = {row.id: row for row in await log.list_approved()}
    assert rows[served.id].status == "active"  # the admin's answer stays served
    assert not _has_details(rows[served.id].text)
    assert rows[served.id].text == "Hi John, I sent the label to <EMAIL>; questions: <PHONE>."
    assert rows[other.id].text == SUPPORT  # nothing of theirs: left alone
