"""What people and clients send reaches the log as text and ids it can keep, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.ids import MAX_ID, parse_id
from bot.store.insights_sql import SqlInsights
from bot.store.repo import SqlConversationLog
from tests.store.test_log_contract import answer


async def test_text_with_nul_is_stored_without_it(log: SqlConversationLog) -> None:
    # PostgreSQL refuses NUL in text: {"text": "hi\u0000"} from a web visitor read "database unavailable",
    # the question unlogged. Every text the store writes drops it, on both databases alike.
    conv = await log.open_conversation(channel="web", external_user_id="v-\x001", external_chat_id="v-\x001")
    q = await log.log_user_message(conv.id, "hi\x00 there", external_message_id="m\x001")
    a = await log.log_answer(conv.id, q, answer("It \x00works."))
    await log.add_feedback(a, "down", "wrong\x00!")
    await log.add_correction(a, "console:ad\x00min", "Better\x00.")
    approved = await log.add_approved(question="hi\x00?", text="Hel\x00lo.", approved_by="console:ad\x00min")
    operator = await log.log_operator_message(conv.id, "on my\x00 way")

    assert [turn.text for turn in await log.history(conv.id, 10)] == ["hi there", "It works.", "on my way"]
    assert operator > a
    logged = await log.logged_answer(a)
    assert logged is not None
    assert (logged.question, logged.text) == ("hi there", "It works.")
    assert (approved.question, approved.text, approved.approved_by) == ("hi?", "Hello.", "console:admin")
    # Names and ids are looked up as they came in: the same person, the same message.
    again = await log.open_conversation(channel="web", external_user_id="v-\x001", external_chat_id="v-\x001")
    assert again.id == conv.id
    assert await log.known_external_user_ids() == {"v-1"}
    found = await log.find_message("web", "v-\x001", "m\x001")
    assert found is not None
    assert (found.id, found.external_user_id) == (q, "v-1")


async def test_ids_past_the_integer_columns_are_not_found(log: SqlConversationLog) -> None:
    # The id columns are int4 on PostgreSQL: /correct 3000000000 and /admin/conversations/3000000000
    # read "database unavailable". The largest id an admin can type now fits the columns and finds nothing.
    assert parse_id("3000000000") is None
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert await log.get_conversation(MAX_ID) is None
    assert await log.logged_answer(MAX_ID) is None
    assert await log.get_approved(MAX_ID) is None
    with pytest.raises(ValueError, match="does not exist"):
        await log.add_feedback(MAX_ID, "up")
    with pytest.raises(ValueError, match="does not exist"):
        await log.add_correction(MAX_ID, "console:admin", "text")
    with pytest.raises(LookupError):
        await log.update_approved(MAX_ID, text="t.")
    # The admin console's search reads a number past the largest id as text only.
    conv = await log.open_conversation(channel="web", external_user_id="v-2", external_chat_id="v-2")
    await log.log_user_message(conv.id, "tracking 3000000000 shows nothing")
    found = await SqlInsights(log).conversations("3000000000")
    assert [row.id for row in found] == [conv.id]
