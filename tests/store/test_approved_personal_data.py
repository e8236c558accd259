"""Personal data never reaches customers through an approved answer, and `forget` takes it out of them."""

from __future__ import annotations

from bot.config import RedactionSettings
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
    # A direct store call with the default: the details are taken out of what is served (chat corrections
    # pass keep_personal_data, being the admin's own text: tests/conversation/test_approved_corrections.py).
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
    conversation_id, answer_id = await _asked(log, "2301")
    # The operator's reply to them during the handoff, with their details (logged as every reply is).
    await log.log_operator_message(conversation_id, REPLY)
    # Approved as the operator wrote it, details and all (before this was refused, or with the admin's
    # --allow-personal-data): it is served to everyone asking the same thing.
    served = await log.add_approved(
        question=QUESTION,
        text=REPLY,
        approved_by="console:admin",
        corrects_answer_id=answer_id,
        keep_personal_data=True,
    )
    # Stored before replies were redacted, and never approved.
    candidate = await log.add_approved(
        question=QUESTION, text=f"Or mail me: {REPLY}", approved_by="operator:sam", status="candidate"
    )
    other = await log.add_approved(
        question="How do I reach you?", text=SUPPORT, approved_by="1", keep_personal_data=True
    )
    await forget(log, "2301", Redactor(known_user_ids=["2301"]))
    rows = {row.id: row for row in await log.list_approved()}
    assert rows[served.id].status == "active"  # the admin's answer stays served
    assert rows[served.id].text == "Hi John, I sent the label to <EMAIL>; questions: <PHONE>."
    assert rows[candidate.id].text == "Or mail me: Hi John, I sent the label to <EMAIL>; questions: <PHONE>."
    assert rows[other.id].text == SUPPORT  # nothing of theirs: left alone


async def test_forgetting_takes_out_a_value_redacted_only_after_its_label(log: SqlConversationLog) -> None:
    # A Partita IVA is one only after "P.IVA", and by itself "00743110157" is none: the values of a text
    # holding one could not be told apart, and the support address was redacted with the customer's data.
    conversation_id, answer_id = await _asked(log, "2301")
    await log.log_user_message(conversation_id, "Fattura alla P.IVA 00743110157, mail mario@example.it")
    served = await log.add_approved(
        question=QUESTION,
        text="Invoice for P.IVA 00743110157 sent to mario@example.it; questions: support@shop.example.",
        approved_by="console:admin",
        corrects_answer_id=answer_id,
        keep_personal_data=True,
    )
    await forget(log, "2301", Redactor(known_user_ids=["2301"]))
    row = await log.get_approved(served.id)
    assert row is not None
    assert row.text == "Invoice for P.IVA <ID_NUMBER> sent to <EMAIL>; questions: support@shop.example."


async def test_forgetting_takes_their_wechat_id_out_and_leaves_the_shops(log: SqlConversationLog) -> None:
    conversation_id, answer_id = await _asked(log, "2301")
    await log.log_user_message(conversation_id, "我的微信是 zhangwei_1990，邮箱 zw@example.com")
    served = await log.add_approved(
        question=QUESTION,
        text="已加微信 zhangwei_1990，标签发到 zw@example.com；客服微信号：shop_service01",
        approved_by="console:admin",
        corrects_answer_id=answer_id,
        keep_personal_data=True,
    )
    await forget(log, "2301", Redactor(known_user_ids=["2301"]))
    row = await log.get_approved(served.id)
    assert row is not None
    assert row.text == "已加微信 <HANDLE>，标签发到 <EMAIL>；客服微信号：shop_service01"


async def test_forgetting_takes_out_an_account_number_given_after_the_banks_name(
    log: SqlConversationLog,
) -> None:
    # A Korean account number is one only after its bank or a label, as a Partita IVA only after its own.
    conversation_id, answer_id = await _asked(log, "2302")
    await log.log_user_message(conversation_id, "국민은행 123456-01-234567 으로 환불해주세요")
    served = await log.add_approved(
        question=QUESTION,
        text="국민은행 123456-01-234567 으로 환불했습니다. 회사 계좌: 신한 110-123-456789",
        approved_by="console:admin",
        corrects_answer_id=answer_id,
        keep_personal_data=True,
    )
    await forget(log, "2302", Redactor(known_user_ids=["2302"]))
    row = await log.get_approved(served.id)
    assert row is not None
    assert row.text == "국민은행 <BANK_ACCOUNT> 으로 환불했습니다. 회사 계좌: 신한 110-123-456789"


PUBLIC = "Write to support@shop.example or call +1 212 555 0100."


async def test_forgetting_a_visitor_keeps_the_public_contact_approved_for_their_question(
    log: SqlConversationLog,
) -> None:
    public = await log.add_approved(
        question="How do I contact support?",
        text=PUBLIC,
        approved_by="console:admin",
        keep_personal_data=True,
    )
    # A visitor asks exactly that, and writes their own details (theirs to have forgotten) and the support
    # address (nothing of theirs: the answer is not about them).
    conv = await log.open_conversation(channel="web", external_user_id="v-1", external_chat_id="v-1")
    q = await log.log_user_message(conv.id, "How do I contact support?")
    await log.log_answer(conv.id, q, answer(PUBLIC, outcome="approved"))
    await log.log_user_message(
        conv.id, "I wrote to support@shop.example already! jane.doe@example.org, +1 212 555 0199"
    )
    await forget(log, "v-1", Redactor(known_user_ids=["v-1"]))
    (row,) = await log.list_approved()
    assert row.id == public.id
    assert row.question == "How do I contact support?"
    assert row.text == PUBLIC  # an admin-approved public contact: served to everyone as before


async def test_forgetting_takes_only_their_details_out_of_a_correction_of_an_answer_to_them(
    log: SqlConversationLog,
) -> None:
    conversation_id, answer_id = await _asked(log, "2301555")
    await log.log_user_message(conversation_id, "I am John.Smith@Example.com, call me on 030 12345678.")
    # The operator's reply adds a number the customer never wrote.
    await log.log_operator_message(
        conversation_id, "Your parcel: +49 30 7654321, label john.smith@example.com"
    )
    correction = (
        "Hi John (user id 2301555), the label went to john.smith@example.com; we call +49 30 12345678 or "
        "+49 30 7654321. Questions: support@shop.example or +1 212 555 0100."
    )
    served = await log.add_approved(
        question=QUESTION,
        text=correction,
        approved_by="console:admin",
        corrects_answer_id=answer_id,
        keep_personal_data=True,
    )
    await forget(log, "2301555", Redactor(known_user_ids=["2301555"]))
    row = await log.get_approved(served.id)
    assert row is not None
    assert row.text == (
        "Hi John (user id <USER_ID>), the label went to <EMAIL>; we call <PHONE> or <PHONE>. Questions: "
        "support@shop.example or +1 212 555 0100."
    )


async def test_a_log_given_the_deployments_rules_keeps_what_they_match_out_of_served_answers(
    migrated_url: str,
) -> None:
    # Order references are the deployment's own pattern (a Chinese mobile number is one in the default
    # regions since a Chinese shop's customers wrote theirs).
    text = "Hi Li, we will call 13812345678 about ORD-123456."
    redacted = "Hi Li, we will call <PHONE> about <CUSTOM>."
    configured = SqlConversationLog(
        migrated_url, redaction=RedactionSettings(phone_regions=["US", "CN"], extra_patterns=[r"ORD-\d{6}"])
    )
    try:
        conversation_id, answer_id = await _asked(configured)
        candidate = await configured.add_candidate(conversation_id, text, "operator:ann")
        assert candidate is not None
        assert candidate.text == redacted
        corrected = await configured.add_approved(
            question="Will you call me?", text=text, approved_by="telegram:1", corrects_answer_id=answer_id
        )
        assert corrected.text == redacted
        replaced = await configured.update_approved(corrected.id, text=f"{text} ", approved_by="web:1")
        assert replaced.text == redacted
    finally:
        await configured.close()
    default = SqlConversationLog(migrated_url)
    try:
        kept = await default.add_approved(question="And you?", text=text, approved_by="telegram:1")
        # Without the settings, the defaults: which is why the bot passes them.
        assert kept.text == "Hi Li, we will call <PHONE> about ORD-123456."
    finally:
        await default.close()
