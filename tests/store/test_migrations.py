"""Migrations: up/down/up, models equal the migrated schema, upgrades keep rows, schema check at start."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from bot.domain import Answer, Channel, Hit, Source, Timings
from bot.store import migrate
from bot.store.base import ReplyPrompt, SchemaOutdatedError, StoreUnavailableError
from bot.store.insights_sql import SqlInsights
from bot.store.models import metadata
from bot.store.repo import SqlConversationLog
from bot.store.shared_sql import SqlSharedState
from tests.conftest import ROOT
from tests.fakes import HELP_CENTER
from tests.store.conftest import sqlite_url

EXPECTED_TABLES = {
    "users",
    "conversations",
    "messages",
    "retrievals",
    "feedback",
    "corrections",
    "processed_deliveries",
    "reply_prompts",
    "approved_answers",
    "update_ledger",
    "flood_windows",
}


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def _schema_diff(url: str) -> list[object]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()


def test_history_is_linear_with_one_head() -> None:
    history = migrate.revision_history()
    assert [rev for rev, _ in history] == [
        "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009"
    ]  # fmt: skip
    assert migrate.head_revisions() == ("0009",)
    assert migrate.migrations_dir() == ROOT / "migrations"


async def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    assert migrate.current_revisions(db_url) == ()
    migrate.upgrade(db_url)
    assert migrate.current_revisions(db_url) == ("0009",)
    assert await _tables(db_url) == EXPECTED_TABLES

    migrate.downgrade(db_url, "base")
    assert migrate.current_revisions(db_url) == ()
    assert await _tables(db_url) == set()

    migrate.upgrade(db_url)
    assert migrate.current_revisions(db_url) == ("0009",)
    assert await _tables(db_url) == EXPECTED_TABLES


async def test_models_match_migrated_schema(migrated_url: str) -> None:
    assert await _schema_diff(migrated_url) == []


async def test_upgrade_over_populated_database_keeps_rows(db_url: str) -> None:
    migrate.upgrade(db_url, "0001")
    engine = create_async_engine(db_url)
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    if db_url.startswith("sqlite"):
        stamp_value: object = stamp.replace(tzinfo=None).isoformat(sep=" ")
    else:
        stamp_value = stamp
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, channel, external_id, pseudonym, created_at) "
                    "VALUES (1, 'telegram', '4242', 'user-abc', :t)"
                ),
                {"t": stamp_value},
            )
            await conn.execute(
                text(
                    "INSERT INTO conversations (id, user_id, channel, external_chat_id, status, handoff, "
                    "started_at, last_message_at) VALUES (1, 1, 'telegram', '4242', 'open', 'none', :t, :t)"
                ),
                {"t": stamp_value},
            )
            for i in range(1, 11):
                role = "user" if i % 2 else "assistant"
                await conn.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, role, text, created_at, reply_to_id) "
                        "VALUES (:id, 1, :role, :text, :t, :reply)"
                    ),
                    {
                        "id": i,
                        "role": role,
                        "text": f"message {i}",
                        "t": stamp_value,
                        "reply": None if role == "user" else i - 1,
                    },
                )
        if not db_url.startswith("sqlite"):
            async with engine.begin() as conn:
                # Rows were inserted with explicit ids: move the sequences past them.
                for sql in (
                    "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))",
                    "SELECT setval(pg_get_serial_sequence('conversations', 'id'), "
                    "(SELECT max(id) FROM conversations))",
                    "SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT max(id) FROM messages))",
                ):
                    await conn.execute(text(sql))
    finally:
        await engine.dispose()

    migrate.upgrade(db_url)

    store = SqlConversationLog(db_url)
    try:
        await store.check_schema()
        history = await store.history(1, limit=100)
        assert [t.text for t in history] == [f"message {i}" for i in range(1, 11)]
        ref = await store.get_conversation(1)
        assert ref is not None
        assert ref.external_chat_id == "4242"
        # The upgraded table takes the new answer columns.
        answer_id = await store.log_answer(
            1, 9, Answer("new", (), True, Timings(total_ms=5.0), model="m", prompt_version="answer-v1")
        )
        assert answer_id == 11
        async with store.transaction() as conn:
            created = (await conn.execute(text("SELECT created_at FROM messages WHERE id = 1"))).scalar_one()
        assert str(created).startswith("2026-01-02 03:04:05")
    finally:
        await store.close()


def _stamp(db_url: str, moment: datetime) -> object:
    """How a raw INSERT spells a UTC datetime on this backend (SQLite stores naive UTC text)."""
    return moment.replace(tzinfo=None).isoformat(sep=" ") if db_url.startswith("sqlite") else moment


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def test_0003_keeps_telegram_claims_both_ways(db_url: str) -> None:
    migrate.upgrade(db_url, "0002")
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            for update_id in (5, 10**12):
                await conn.execute(
                    text("INSERT INTO processed_updates (update_id, processed_at) VALUES (:u, :t)"),
                    {"u": update_id, "t": _stamp(db_url, stamp)},
                )
    finally:
        await engine.dispose()

    migrate.upgrade(db_url)
    moved = await _rows(db_url, "SELECT channel, delivery_id, processed_at FROM processed_deliveries")
    assert sorted((c, d) for c, d, _ in moved) == [("telegram", "1000000000000"), ("telegram", "5")]
    assert all(str(t).startswith("2026-01-02 03:04:05") for _, _, t in moved)
    store = SqlConversationLog(db_url)
    try:
        await store.check_schema()
        assert await store.claim_delivery("telegram", "5") is False  # still a redelivery after the upgrade
        assert await store.claim_delivery("telegram", "77") is True
        assert await store.claim_delivery("web", "req-1") is True
        assert await store.claim_delivery("console", "88") is True
    finally:
        await store.close()

    migrate.downgrade(db_url, "0002")
    back = await _rows(db_url, "SELECT update_id, processed_at FROM processed_updates ORDER BY update_id")
    # Only Telegram's claims fit the old table; the web and console ones are gone with the new one.
    assert [u for u, _ in back] == [5, 77, 10**12]
    assert str(back[0][1]).startswith("2026-01-02 03:04:05")
    assert "processed_deliveries" not in await _tables(db_url)
    migrate.upgrade(db_url)
    assert len(await _rows(db_url, "SELECT delivery_id FROM processed_deliveries")) == 3


async def test_0004_adds_reply_prompts_and_removes_them_again(migrated_url: str) -> None:
    store = SqlConversationLog(migrated_url)
    try:
        conv = await store.open_conversation(channel="telegram", external_user_id="7", external_chat_id="7")
        q = await store.log_user_message(conv.id, "q")
        a = await store.log_answer(conv.id, q, Answer("ok", (), True, Timings(total_ms=5.0)))
        await store.add_reply_prompt("telegram", "7", "55", ReplyPrompt("comment", a, "7"))
    finally:
        await store.close()
    migrate.downgrade(migrated_url, "0003")
    assert "reply_prompts" not in await _tables(migrated_url)
    assert await _rows(migrated_url, "SELECT text FROM messages ORDER BY id") == [("q",), ("ok",)]
    migrate.upgrade(migrated_url)
    assert await _rows(migrated_url, "SELECT external_message_id FROM reply_prompts") == []


async def test_0005_adds_message_languages_and_removes_them_again(migrated_url: str) -> None:
    store = SqlConversationLog(migrated_url)
    try:
        conv = await store.open_conversation(channel="telegram", external_user_id="7", external_chat_id="7")
        await store.log_user_message(conv.id, "我的包裹丢了", language="zh")
        await store.log_user_message(conv.id, "ok")
        assert await store.last_language(conv.id) == "zh"
    finally:
        await store.close()
    migrate.downgrade(migrated_url, "0004")
    assert await _rows(migrated_url, "SELECT text FROM messages ORDER BY id") == [("我的包裹丢了",), ("ok",)]
    migrate.upgrade(migrated_url)
    rows = await _rows(migrated_url, "SELECT language FROM messages ORDER BY id")
    assert rows == [(None,), (None,)]  # what was detected before the downgrade is gone, nothing else


async def test_0006_adds_approved_answers_and_removes_them_again(migrated_url: str) -> None:
    store = SqlConversationLog(migrated_url)
    try:
        conv = await store.open_conversation(channel="telegram", external_user_id="7", external_chat_id="7")
        q = await store.log_user_message(conv.id, "where is my parcel")
        a = await store.log_answer(conv.id, q, Answer("wrong", (), True, Timings(total_ms=5.0)))
        approved = await store.add_approved(
            question="where is my parcel", text="Track it in the app.", approved_by="1", corrects_answer_id=a
        )
        served = Answer(
            "Track it in the app.", (), True, Timings(), outcome="approved", approved_id=approved.id
        )
        await store.log_answer(conv.id, q, served)
    finally:
        await store.close()
    assert await _rows(migrated_url, "SELECT approved_answer_id FROM messages ORDER BY id") == [
        (None,),
        (None,),
        (approved.id,),
    ]
    migrate.downgrade(migrated_url, "0005")
    assert "approved_answers" not in await _tables(migrated_url)
    assert await _rows(migrated_url, "SELECT text FROM messages ORDER BY id") == [
        ("where is my parcel",),
        ("wrong",),
        ("Track it in the app.",),
    ]
    migrate.upgrade(migrated_url)
    assert await _rows(migrated_url, "SELECT id FROM approved_answers") == []
    assert await _rows(migrated_url, "SELECT approved_answer_id FROM messages") == [(None,)] * 3


async def test_0007_adds_the_shared_worker_state_and_removes_it_again(migrated_url: str) -> None:
    store = SqlConversationLog(migrated_url)
    try:
        conv = await store.open_conversation(channel="telegram", external_user_id="7", external_chat_id="7")
        await store.log_user_message(conv.id, "where is my parcel")
        shared = SqlSharedState(store)
        assert await shared.register(41, "7", '{"update_id": 41}', worker="w1", lease_s=30)
        assert await shared.flood("7", 1000.0, limit=5, window_s=10) == "ok"
    finally:
        await store.close()
    assert await _rows(migrated_url, "SELECT update_id, chat_key FROM update_ledger") == [(41, "7")]
    migrate.downgrade(migrated_url, "0006")
    assert {"update_ledger", "flood_windows"}.isdisjoint(await _tables(migrated_url))
    assert await _rows(migrated_url, "SELECT text FROM messages") == [("where is my parcel",)]
    migrate.upgrade(migrated_url)
    assert await _rows(migrated_url, "SELECT update_id FROM update_ledger") == []
    assert await _rows(migrated_url, "SELECT key FROM flood_windows") == []


async def test_0008_keeps_the_see_also_of_answers_and_removes_it_again(migrated_url: str) -> None:
    listed = (
        Source("shipping/times.md", "Délais de livraison", ""),
        Source("faq.csv", "退款？", "https://x.example/a"),
    )
    store = SqlConversationLog(migrated_url)
    insights = SqlInsights(store)
    try:
        conv = await store.open_conversation(channel="web", external_user_id="7", external_chat_id="7")
        q = await store.log_user_message(conv.id, "how long do refunds take")
        await store.log_answer(conv.id, q, Answer("ok", (), True, Timings(total_ms=5.0), see_also=listed))
        await store.log_answer(conv.id, q, Answer("busy", (), False, Timings(), outcome="busy"))
        assert [m.see_also for m in await insights.transcript(conv.id)] == [(), listed, ()]
    finally:
        await store.close()
    stored = await _rows(migrated_url, "SELECT see_also FROM messages ORDER BY id")
    assert stored[0] == stored[2] == (None,)  # none listed: NULL, as on the rows from before 0008
    assert json.loads(str(stored[1][0])) == [
        {"source": "shipping/times.md", "heading": "Délais de livraison", "url": ""},
        {"source": "faq.csv", "heading": "退款？", "url": "https://x.example/a"},
    ]
    migrate.downgrade(migrated_url, "0007")
    assert migrate.current_revisions(migrated_url) == ("0007",)
    assert await _rows(migrated_url, "SELECT text FROM messages ORDER BY id") == [
        ("how long do refunds take",),
        ("ok",),
        ("busy",),
    ]
    migrate.upgrade(migrated_url)
    # The lists are gone with the column; the answers read as having listed none.
    assert await _rows(migrated_url, "SELECT see_also FROM messages") == [(None,)] * 3
    store = SqlConversationLog(migrated_url)
    try:
        assert [m.see_also for m in await SqlInsights(store).transcript(conv.id)] == [(), (), ()]
    finally:
        await store.close()


async def test_0009_keeps_the_titles_of_passages_and_sections_and_removes_them_again(
    migrated_url: str,
) -> None:
    titled = replace(
        HELP_CENTER[0], heading="Filing a claim", heading_path=("Lost parcels", "Filing a claim")
    )
    untitled = replace(HELP_CENTER[1], heading="", heading_path=())
    hits = tuple(Hit(chunk, 1.0, rank) for rank, chunk in enumerate((titled, untitled), start=1))
    listed = (Source.of(HELP_CENTER[2]), Source("b.md", "B"))
    store = SqlConversationLog(migrated_url)
    try:
        conv = await store.open_conversation(channel="web", external_user_id="7", external_chat_id="7")
        q = await store.log_user_message(conv.id, "my parcel is lost")
        await store.log_answer(
            conv.id, q, Answer("ok", (), True, Timings(total_ms=5.0), hits=hits, see_also=listed)
        )
        (answer,) = [m for m in await SqlInsights(store).transcript(conv.id) if m.role == "assistant"]
    finally:
        await store.close()
    assert [p.title for p in answer.passages] == ["Lost parcels", ""]
    assert [s.title for s in answer.see_also] == ["Shipping times", ""]
    # No title: NULL, as on the passages logged before 0009; a section's title only where it has one.
    assert await _rows(migrated_url, "SELECT title FROM retrievals ORDER BY rank") == [
        ("Lost parcels",),
        (None,),
    ]
    (stored,) = await _rows(migrated_url, "SELECT see_also FROM messages WHERE role = 'assistant'")
    assert [item.get("title") for item in json.loads(str(stored[0]))] == ["Shipping times", None]
    migrate.downgrade(migrated_url, "0008")
    assert migrate.current_revisions(migrated_url) == ("0008",)
    assert await _rows(migrated_url, "SELECT source, heading FROM retrievals ORDER BY rank") == [
        ("billing/refunds.md", "Filing a claim"),
        ("account/password.md", ""),
    ]
    migrate.upgrade(migrated_url)
    # The passages' titles are gone with the column: they read as untitled (shown by file path).
    store = SqlConversationLog(migrated_url)
    try:
        (answer,) = [m for m in await SqlInsights(store).transcript(conv.id) if m.role == "assistant"]
    finally:
        await store.close()
    assert [p.title for p in answer.passages] == ["", ""]
    assert [p.source for p in answer.passages] == ["billing/refunds.md", "account/password.md"]


async def test_0003_downgrade_drops_only_web_conversations(migrated_url: str) -> None:
    store = SqlConversationLog(migrated_url)
    try:
        for channel in ("web", "telegram"):
            conv = await store.open_conversation(
                channel=channel, external_user_id="4242", external_chat_id="1"
            )
            q = await store.log_user_message(conv.id, f"asked on {channel}")
            a = await store.log_answer(conv.id, q, Answer("ok", (), True, Timings(total_ms=5.0)))
            await store.add_feedback(a, "up")
            await store.add_correction(a, "1", "better")
    finally:
        await store.close()
    migrate.downgrade(migrated_url, "0002")
    assert migrate.current_revisions(migrated_url) == ("0002",)
    # 0002 cannot hold the web channel; everything else stays.
    assert await _rows(migrated_url, "SELECT channel FROM conversations") == [("telegram",)]
    assert await _rows(migrated_url, "SELECT channel FROM users") == [("telegram",)]
    assert await _rows(migrated_url, "SELECT text FROM messages ORDER BY id") == [
        ("asked on telegram",),
        ("ok",),
    ]
    for table in ("feedback", "corrections"):
        assert len(await _rows(migrated_url, f"SELECT id FROM {table}")) == 1  # noqa: S608
    migrate.upgrade(migrated_url)


async def test_channel_check_allows_exactly_the_domain_channels(migrated_url: str) -> None:
    engine = create_async_engine(migrated_url)
    try:
        async with engine.connect() as conn:
            checks = await conn.run_sync(lambda c: inspect(c).get_check_constraints("conversations"))
    finally:
        await engine.dispose()
    (channel_check,) = [c["sqltext"] for c in checks if c["name"] == "ck_conversations_channel"]
    # A channel added to bot.domain.Channel needs a revision that widens this check.
    assert set(re.findall(r"'(\w+)'", str(channel_check))) == set(get_args(Channel))


async def test_check_schema_names_the_fix(db_url: str) -> None:
    store = SqlConversationLog(db_url)
    try:
        with pytest.raises(SchemaOutdatedError, match=r"python -m bot db upgrade"):
            await store.check_schema()
        with pytest.raises(StoreUnavailableError, match=r"db upgrade"):
            await store.log_user_message(1, "hello")
        migrate.upgrade(db_url, "0001")
        with pytest.raises(SchemaOutdatedError, match=r"is 0001 but this version needs 0009"):
            await store.check_schema()
        migrate.upgrade(db_url)
        await store.check_schema()
    finally:
        await store.close()


async def test_sqlite_connections_get_wal_foreign_keys_and_busy_timeout(
    sqlite_log: SqlConversationLog,
) -> None:
    async with sqlite_log.transaction() as conn:
        journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
        busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
    assert (journal, foreign_keys, busy) == ("wal", 1, 5000)
    # Enforced, not just declared: a message for a missing conversation is refused.
    with pytest.raises(ValueError, match="conversation 999 does not exist"):
        await sqlite_log.log_user_message(999, "orphan")


def test_cli_upgrade_current_downgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app, register_commands

    register_commands()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 1
    assert "outdated" in result.output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "is at 0009" in result.output
    assert (tmp_path / "data" / "bot.db").is_file()
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0
    assert "up to date" in result.output
    result = runner.invoke(app, ["db", "downgrade", "base"])
    assert result.exit_code == 2
    assert "--yes" in result.output
    result = runner.invoke(app, ["db", "downgrade"])
    assert result.exit_code == 2  # any downgrade can delete rows: it asks for --yes
    assert "going one revision back deletes" in " ".join(result.output.split())
    assert "--yes" in result.output
    result = runner.invoke(app, ["db", "downgrade", "--", "-2"])
    assert "going 2 revisions back deletes" in " ".join(result.output.split())
    result = runner.invoke(app, ["db", "downgrade", "--yes"])
    assert result.exit_code == 0
    assert "is at 0008" in result.output  # one step below the head
    result = runner.invoke(app, ["db", "upgrade", " "])
    assert result.exit_code == 2
    assert "give a revision" in result.output
    result = runner.invoke(app, ["db", "downgrade", "base", "--yes"])
    assert result.exit_code == 0
    assert "is at base" in result.output
    with sqlite3.connect(tmp_path / "data" / "bot.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"alembic_version"}


@pytest.mark.integration
def test_plain_alembic_cli_uses_the_bot_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_DATABASE_URL"] = "sqlite:///" + str(tmp_path / "cli.db")
    alembic = Path(sys.executable).with_name("alembic")
    run = subprocess.run(
        [str(alembic), "-c", str(ROOT / "alembic.ini"), "upgrade", "head"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert migrate.current_revisions(sqlite_url(tmp_path / "cli.db")) == ("0009",)
