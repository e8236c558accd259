"""Retention: purge by age with a dry-run count first, and forgetting one user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from bot.domain import Answer, Timings
from bot.store.models import Conversation, Correction, Feedback, Message, ProcessedDelivery, Retrieval, User
from bot.store.repo import SqlConversationLog
from bot.store.retention import forget, parse_age, purge
from tests.fakes import make_chunk

NOW = datetime.now(UTC)


async def _conversation(log: SqlConversationLog, user: str, *, age_days: int) -> int:
    from bot.domain import Hit

    conv = await log.open_conversation(channel="telegram", external_user_id=user, external_chat_id=user)
    q = await log.log_user_message(conv.id, f"question from {user}")
    hit = Hit(make_chunk("a.md", "A", "text"), 1.0, 1)
    a = await log.log_answer(conv.id, q, Answer("answer", (), True, Timings(), hits=(hit,)))
    await log.add_feedback(a, "up")
    await log.add_correction(a, "777000777", "better answer")
    when = NOW - timedelta(days=age_days)
    async with log.transaction(write=True) as conn:
        await conn.execute(
            update(Conversation).where(Conversation.id == conv.id).values(last_message_at=when)
        )
    return conv.id


async def _count(log: SqlConversationLog, model: type) -> int:
    async with log.transaction() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


def test_parse_age() -> None:
    assert parse_age("180d") == timedelta(days=180)
    assert parse_age("26w") == timedelta(weeks=26)
    assert parse_age(" 12H ") == timedelta(hours=12)
    for bad in ("180", "d", "0d", "1.5d", "180 days", "-3d"):
        with pytest.raises(ValueError, match="such as 180d"):
            parse_age(bad)


async def test_purge_counts_first_then_deletes_only_old_conversations(log: SqlConversationLog) -> None:
    old = await _conversation(log, "111111", age_days=200)
    await _conversation(log, "222222", age_days=10)
    await log.claim_delivery("telegram", "1")
    dry = await purge(log, timedelta(days=180))
    assert (dry.conversations, dry.messages, dry.deleted) == (1, 2, False)
    assert await _count(log, Conversation) == 2  # a dry run deletes nothing

    done = await purge(log, timedelta(days=180), dry_run=False)
    assert (done.conversations, done.messages, done.deleted) == (1, 2, True)
    assert await log.get_conversation(old) is None
    assert await _count(log, Conversation) == 1
    assert await _count(log, Message) == 2
    assert await _count(log, Retrieval) == 1
    assert await _count(log, Feedback) == 1
    assert await _count(log, Correction) == 1
    assert await _count(log, User) == 1  # the user left with no conversation is gone too
    assert await _count(log, ProcessedDelivery) == 1  # recent delivery claims stay for redelivery checks


async def test_forget_removes_one_users_data(log: SqlConversationLog) -> None:
    await _conversation(log, "333333", age_days=1)
    await _conversation(log, "333333", age_days=1)  # same open conversation, second turn
    keep = await _conversation(log, "444444", age_days=1)
    report = await forget(log, "333333")
    assert (report.users, report.conversations, report.messages) == (1, 1, 4)
    assert await log.get_conversation(keep) is not None
    assert await log.known_external_user_ids() == {"444444"}
    assert (await forget(log, "333333")).users == 0
    # An admin's corrections outlive them, without their id.
    await forget(log, "777000777")
    async with log.transaction() as conn:
        admins = set((await conn.scalars(select(Correction.admin_external_id))).all())
    assert admins == {"forgotten"}
    with pytest.raises(ValueError, match="--user"):
        await forget(log, " ")


async def test_cli_purge_and_forget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_sqlite: Callable[[Path], str]
) -> None:
    from bot.cli import app, register_commands

    register_commands()
    data = tmp_path / "data"
    url = migrated_sqlite(data / "bot.db")
    log = SqlConversationLog(url)
    await _conversation(log, "555555", age_days=400)
    await _conversation(log, "666666", age_days=1)
    await log.close()
    monkeypatch.setenv("BOT_DATA_DIR", str(data))
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = runner.invoke(app, list(args), input=stdin)
        return result.exit_code, result.output

    code, output = await asyncio.to_thread(invoke, "db", "purge", "--older-than", "180d", stdin="n\n")
    assert code == 0
    assert "1 conversations (2 messages) have had no message since" in output
    assert "nothing deleted" in output
    code, output = await asyncio.to_thread(invoke, "db", "purge", "--older-than", "180d", "--yes")
    assert code == 0
    assert "deleted 1 conversations (2 messages)" in output
    code, output = await asyncio.to_thread(invoke, "db", "purge", "--older-than", "soon")
    assert code == 2
    assert "such as 180d" in output
    # CHANNEL:ID, as approved answers name their approver, is the same user.
    code, output = await asyncio.to_thread(invoke, "db", "forget", "--user", "telegram:666666", "--yes")
    assert code == 0
    assert "deleted user 666666: 1 conversations, 2 messages" in output
    code, output = await asyncio.to_thread(invoke, "db", "forget", "--user", "666666", "--yes")
    assert "nothing to delete" in output


@pytest.mark.parametrize("age", ["99999999999d", "999999d", "9999999999999999999h", "1" + "0" * 5000 + "w"])
async def test_cli_purge_refuses_an_age_before_the_year_1(
    age: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_sqlite: Callable[[Path], str]
) -> None:
    # timedelta() overflowed on the first, the cutoff's subtraction inside the run on the second: both
    # were tracebacks. Now one clear line, and nothing is deleted.
    from bot.cli import app, register_commands

    register_commands()
    data = tmp_path / "data"
    url = migrated_sqlite(data / "bot.db")
    log = SqlConversationLog(url)
    await _conversation(log, "555555", age_days=400)
    await log.close()
    monkeypatch.setenv("BOT_DATA_DIR", str(data))

    result = await asyncio.to_thread(CliRunner().invoke, app, ["db", "purge", "--older-than", age, "--yes"])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "reaches back before the year 1" in result.output
    assert "Traceback" not in result.output
    log = SqlConversationLog(url)
    assert await _count(log, Conversation) == 1
    await log.close()


def test_the_oldest_age_still_has_a_cutoff() -> None:
    oldest = datetime.now(UTC) - datetime.min.replace(tzinfo=UTC) - timedelta(days=1)
    assert parse_age(f"{oldest.days}d") == timedelta(days=oldest.days)
    with pytest.raises(ValueError, match="before the year 1"):
        parse_age(f"{oldest.days + 2}d")


async def test_forgetting_a_user_redacts_the_approved_answers_built_on_their_questions(
    log: SqlConversationLog,
) -> None:
    from bot.store.redact import Redactor

    conv = await log.open_conversation(
        channel="telegram", external_user_id="888888", external_chat_id="888888"
    )
    question = "I am jane.doe@example.com, phone +1 415 555 0100, how do I get a refund?"
    q = await log.log_user_message(conv.id, question)
    a = await log.log_answer(conv.id, q, Answer("answer", (), True, Timings()))
    corrected = await log.add_approved(
        question=question, text="Report it missing.", approved_by="console:admin", corrects_answer_id=a
    )
    candidate = await log.add_candidate(
        conv.id, "Jane, write to jane.doe@example.com for it.", "operator:sam"
    )
    assert candidate is not None
    other = await log.add_approved(question="How long do refunds take?", text="Five days.", approved_by="x")

    await forget(log, "888888", Redactor(known_user_ids=["888888"]))
    kept = {row.id: row for row in await log.list_approved()}
    assert set(kept) == {corrected.id, candidate.id, other.id}  # admins' work stays
    for row in (kept[corrected.id], kept[candidate.id]):
        assert "jane.doe@example.com" not in row.question + row.text
        assert "555 0100" not in row.question
        assert row.question.endswith("how do I get a refund?")
    assert kept[corrected.id].text == "Report it missing."  # the admin's own text is theirs
    assert kept[other.id].question == "How long do refunds take?"

    # A generic answer that merely asks what they once asked stays an answer, its question redacted only.
    conv = await log.open_conversation(channel="web", external_user_id="v-1", external_chat_id="v-1")
    await log.log_user_message(conv.id, "How long do refunds take?")
    await forget(log, "v-1")
    assert {row.id for row in await log.list_approved()} == set(kept)


async def test_forgetting_an_admin_removes_their_name_bare_or_with_its_channel(
    log: SqlConversationLog,
) -> None:
    # A customer's answer, corrected by the admin alice from the console.
    conv = await log.open_conversation(
        channel="telegram", external_user_id="999999", external_chat_id="999999"
    )
    q = await log.log_user_message(conv.id, "question")
    a = await log.log_answer(conv.id, q, Answer("answer", (), True, Timings()))
    await log.add_correction(a, "console:alice", "better")
    approved = await log.add_approved(question="q?", text="t.", approved_by="console:alice")
    other = await log.add_approved(question="r?", text="u.", approved_by="console:bob")
    await forget(log, "alice")
    async with log.transaction() as conn:
        assert set((await conn.scalars(select(Correction.admin_external_id))).all()) == {"forgotten"}
    by = {row.id: row.approved_by for row in await log.list_approved()}
    assert by == {approved.id: "forgotten", other.id: "console:bob"}
