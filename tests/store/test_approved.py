"""Approved answers in the SQL log: add, list, edit, retire, candidates, revision token, stats, purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import Answer, Outcome, Timings
from bot.store.base import ApprovedAnswer, ApprovedAnswerStore
from bot.store.repo import SqlConversationLog
from tests.store.test_log_contract import answer


async def _asked(log: SqlConversationLog, question: str = "Where is my parcel?") -> tuple[int, int]:
    conv = await log.open_conversation(channel="telegram", external_user_id="42", external_chat_id="42")
    q = await log.log_user_message(conv.id, question)
    a = await log.log_answer(conv.id, q, answer("Wrong answer [1]."))
    return conv.id, a


async def test_add_get_list_edit_retire(log: SqlConversationLog) -> None:
    store: ApprovedAnswerStore = log
    _, answer_id = await _asked(log)
    first = await store.add_approved(
        question="  Where is my parcel?  ",
        text="Track it under Orders.",
        approved_by="1",
        source="tracking.md",
        source_hash="ab" * 32,
        corrects_answer_id=answer_id,
    )
    assert (first.question, first.status, first.corrects_answer_id) == (
        "Where is my parcel?",
        "active",
        answer_id,
    )
    assert first.approved_at.tzinfo is not None
    second = await store.add_approved(question="Can I pay cash?", text="No.", approved_by="1")
    assert [a.id for a in await store.list_approved()] == [first.id, second.id]

    before = await store.approved_revision()
    edited = await store.update_approved(first.id, text="Open Orders, then Track.", approved_by="2")
    assert (edited.text, edited.approved_by, edited.source) == (
        "Open Orders, then Track.",
        "2",
        "tracking.md",
    )
    assert await store.approved_revision() != before

    retired = await store.update_approved(second.id, status="retired")
    assert retired.status == "retired"
    assert [a.id for a in await store.list_approved(["active"])] == [first.id]
    cleared = await store.update_approved(first.id, clear_source=True)
    assert (cleared.source, cleared.source_hash) == (None, None)


async def test_bad_input_is_a_clear_error_and_stores_nothing(log: SqlConversationLog) -> None:
    with pytest.raises(ValueError, match="non-empty text"):
        await log.add_approved(question="q?", text="   ", approved_by="1")
    with pytest.raises(ValueError, match="non-empty question"):
        await log.add_approved(question="", text="t", approved_by="1")
    with pytest.raises(ValueError, match="no answer 999"):
        await log.add_approved(question="q?", text="t", approved_by="1", corrects_answer_id=999)
    conv = await log.open_conversation(channel="telegram", external_user_id="4", external_chat_id="4")
    user_message = await log.log_user_message(conv.id, "hi")
    with pytest.raises(ValueError, match="not a bot answer"):
        await log.add_approved(question="q?", text="t", approved_by="1", corrects_answer_id=user_message)
    assert await log.list_approved() == []
    with pytest.raises(LookupError, match="no approved answer 5"):
        await log.update_approved(5, text="x")


async def test_review_flag_keeps_its_reason_until_the_status_changes(log: SqlConversationLog) -> None:
    added = await log.add_approved(question="q?", text="t", approved_by="1", source="a.md")
    flagged = await log.update_approved(added.id, status="needs_review", review_reason="a.md changed")
    assert (flagged.status, flagged.review_reason) == ("needs_review", "a.md changed")
    back = await log.update_approved(added.id, status="active", approved_by="1")
    assert (back.status, back.review_reason) == ("active", "")


async def test_logged_answer_gives_question_text_and_sources(log: SqlConversationLog) -> None:
    _, answer_id = await _asked(log, "Where is my parcel?")
    found = await log.logged_answer(answer_id)
    assert found is not None
    assert (found.question, found.text, found.sources) == (
        "Where is my parcel?",
        "Wrong answer [1].",
        ("faq/doc0.rst", "faq/doc1.rst"),
    )
    assert await log.logged_answer(answer_id - 1) is None  # the question, not an answer
    assert await log.logged_answer(10_000) is None


async def test_operator_replies_become_one_candidate_per_question(log: SqlConversationLog) -> None:
    conversation_id, answer_id = await _asked(log, "My locker won't open")
    await log.log_operator_message(conversation_id, "Hold the button for 3 s.")
    first = await log.add_candidate(conversation_id, "Hold the button for 3 s.", "operator")
    again = await log.add_candidate(conversation_id, "Then scan the code again.", "operator")
    assert first is not None
    assert again is not None
    assert again.id == first.id
    assert again.text == "Hold the button for 3 s.\nThen scan the code again."
    assert (again.status, again.question, again.corrects_answer_id) == (
        "candidate",
        "My locker won't open",
        answer_id,
    )
    assert await log.list_approved(["active"]) == []
    empty = await log.open_conversation(channel="telegram", external_user_id="5", external_chat_id="5")
    assert await log.add_candidate(empty.id, "hello", "operator") is None


async def test_operator_reply_is_filed_under_the_last_real_question(log: SqlConversationLog) -> None:
    # Alice's question was refused and handed off; she then asked for a person, said thanks and typed a
    # command, all forwarded to the operators (during a handoff the bot answers nothing). The operator's
    # reply answers the question, not those.
    conversation_id, refusal = await _asked(log, "what does error E42 mean?")
    await log.set_handoff(conversation_id, "requested")
    await log.log_user_message(conversation_id, "I want to talk to a person")
    await log.log_user_message(conversation_id, "thanks")
    await log.log_user_message(conversation_id, "/start")
    candidate = await log.add_candidate(conversation_id, "E42 is an old code: update the app.", "operator")
    assert candidate is not None
    assert (candidate.question, candidate.corrects_answer_id) == ("what does error E42 mean?", refusal)
    # Nothing asked yet: no candidate rather than one filed under a request for a person.
    only = await log.open_conversation(channel="telegram", external_user_id="6", external_chat_id="6")
    asked = await log.log_user_message(only.id, "can I talk to a human")
    await log.log_answer(only.id, asked, answer("Connecting you…", outcome="person_asked", hits=0))
    assert await log.add_candidate(only.id, "Hi, how can I help?", "operator") is None


async def _exchange(log: SqlConversationLog, conversation_id: int, text: str, outcome: Outcome) -> int:
    """The customer's message and the bot's answer to it; returns the answer's id."""
    asked = await log.log_user_message(conversation_id, text)
    return await log.log_answer(conversation_id, asked, answer(f"Reply to {text!r}.", outcome=outcome))


async def _operator(log: SqlConversationLog, conversation_id: int, text: str) -> ApprovedAnswer | None:
    """An operator's reply during the handoff, logged and kept as `operator_reply` does."""
    await log.log_operator_message(conversation_id, text)
    return await log.add_candidate(conversation_id, text, "operator")


async def test_a_bare_request_for_a_person_is_about_the_question_before_it(log: SqlConversationLog) -> None:
    # Bob was answered, wrote only "human", and a person took over: they answer that question.
    conversation_id, answered = await _asked(log, "How do I pair the scanner?")
    await _exchange(log, conversation_id, "human", "person_asked")
    await log.set_handoff(conversation_id, "requested")
    candidate = await _operator(log, conversation_id, "Hold its button for five seconds.")
    assert candidate is not None
    assert (candidate.question, candidate.corrects_answer_id) == ("How do I pair the scanner?", answered)


async def test_a_later_handoff_never_files_under_an_earlier_handoffs_question(
    log: SqlConversationLog,
) -> None:
    # Carol's question was refused and handed off, and answered by the operator; the handoff ended. Later
    # she asked for a person again without asking anything: the new handoff is not about the old question.
    conversation_id = (
        await log.open_conversation(channel="web", external_user_id="c", external_chat_id="c")
    ).id
    await _exchange(log, conversation_id, "what does error E42 mean?", "refused")
    await log.set_handoff(conversation_id, "requested")
    first = await _operator(log, conversation_id, "E42 is an old code: update the app.")
    assert first is not None
    assert first.question == "what does error E42 mean?"
    await log.set_handoff(conversation_id, "none")

    # Asked for in words: the bot's answer to the request comes after the earlier handoff's reply.
    await _exchange(log, conversation_id, "human", "person_asked")
    await log.set_handoff(conversation_id, "requested")
    assert await _operator(log, conversation_id, "Hi Carol, how can I help?") is None
    await log.set_handoff(conversation_id, "none")
    # With the button (nothing logged): the new handoff began after the earlier replies were written.
    await log.set_handoff(conversation_id, "requested")
    assert await _operator(log, conversation_id, "Hello again, what do you need?") is None
    (kept,) = await log.list_approved(["candidate"])
    assert (kept.id, kept.text) == (first.id, "E42 is an old code: update the app.")

    # What she then asks the operators is the handoff's question; it corrects no answer from before.
    await log.log_user_message(conversation_id, "Can I change my delivery address?")
    second = await _operator(log, conversation_id, "Yes, under Orders › Address.")
    assert second is not None
    assert (second.question, second.corrects_answer_id) == ("Can I change my delivery address?", None)


async def test_a_handoff_is_not_about_a_question_the_customer_moved_on_from(log: SqlConversationLog) -> None:
    # Dan was answered, said thanks, and only later asked for a person: not about that question.
    conversation_id, _ = await _asked(log, "How do I pair the scanner?")
    await _exchange(log, conversation_id, "thanks!", "small_talk")
    await _exchange(log, conversation_id, "I want to talk to a person", "person_asked")
    await log.set_handoff(conversation_id, "requested")
    assert await _operator(log, conversation_id, "Hi Dan, how can I help?") is None
    # Once he asks the operators something, that is what their replies answer.
    await log.log_user_message(conversation_id, "Is the scanner covered by the warranty?")
    candidate = await _operator(log, conversation_id, "Yes, for two years.")
    assert candidate is not None
    assert candidate.question == "Is the scanner covered by the warranty?"


async def test_stats_count_approved_answers_and_list_recent_answer_ids(log: SqlConversationLog) -> None:
    conversation_id, wrong = await _asked(log, "Where is my parcel?")
    approved = await log.add_approved(question="Where is my parcel?", text="Track it.", approved_by="1")
    q = await log.log_user_message(conversation_id, "where's my parcel")
    served = await log.log_answer(
        conversation_id,
        q,
        Answer("Track it.", (), True, Timings(), outcome="approved", approved_id=approved.id),
    )
    logged = await log.logged_answer(served)
    assert logged is not None
    assert (logged.outcome, logged.approved_id) == ("approved", approved.id)
    stats = await log.stats()
    assert stats.approved_7d == 1
    assert [(r.id, r.outcome, r.question) for r in stats.recent_answers] == [
        (served, "approved", "where's my parcel"),
        (wrong, "answered", "Where is my parcel?"),
    ]


async def test_the_latest_answers_leave_out_replies_that_looked_nothing_up(log: SqlConversationLog) -> None:
    """`/stats` lists answers to correct by id: "You're welcome!" or the notice that a person was asked are
    no answers, and filled the list (a web customer's "talk to a human" did)."""
    conversation_id, answer_id = await _asked(log, "Where is my parcel?")
    for text, outcome in (("thanks", "small_talk"), ("a person please", "person_asked")):
        q = await log.log_user_message(conversation_id, text)
        await log.log_answer(conversation_id, q, Answer("…", (), False, Timings(), outcome=outcome))
    assert [r.id for r in (await log.stats()).recent_answers] == [answer_id]


async def test_purging_the_corrected_answer_keeps_the_approved_answer(log: SqlConversationLog) -> None:
    _, answer_id = await _asked(log)
    added = await log.add_approved(question="q?", text="t", approved_by="1", corrects_answer_id=answer_id)
    await log.delete_older_than(datetime.now(UTC) + timedelta(days=1))
    kept = await log.get_approved(added.id)
    assert kept is not None
    assert (kept.text, kept.corrects_answer_id) == ("t", None)
