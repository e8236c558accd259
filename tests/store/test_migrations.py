"""Migrations: up/down/up, models equal the migrated schema, upgrades keep rows, schema check at start."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from bot.domain import Answer, Timings
from bot.store import migrate
from bot.store.base import SchemaOutdatedError, StoreUnavailableError
from bot.store.models import metadata
from bot.store.repo import SqlConversationLog
from tests.conftest import ROOT
from tests.store.conftest import sqlite_url

EXPECTED_TABLES = {
    "users",
    "conversations",
    "messages",
    "retrievals",
    "feedback",
    "corrections",
    "processed_updates",
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
    assert [rev for rev, _ in history] == ["0001", "0002"]
    assert migrate.head_revisions() == ("0002",)
    assert migrate.migrations_dir() == ROOT / "migrations"


async def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    assert migrate.current_revisions(db_url) == ()
    migrate.upgrade(db_url)
    assert migrate.current_revisions(db_url) == ("0002",)
    assert await _tables(db_url) == EXPECTED_TABLES

    migrate.downgrade(db_url, "base")
    assert migrate.current_revisions(db_url) == ()
    assert await _tables(db_url) == set()

    migrate.upgrade(db_url)
    assert migrate.current_revisions(db_url) == ("0002",)
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


async def test_check_schema_names_the_fix(db_url: str) -> None:
    store = SqlConversationLog(db_url)
    try:
        with pytest.raises(SchemaOutdatedError, match=r"python -m bot db upgrade"):
            await store.check_schema()
        with pytest.raises(StoreUnavailableError, match=r"db upgrade"):
            await store.log_user_message(1, "hello")
        migrate.upgrade(db_url, "0001")
        with pytest.raises(SchemaOutdatedError, match=r"is 0001 but this version needs 0002"):
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
    from bot.cli import _register, app

    _register()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 1
    assert "outdated" in result.output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "is at 0002" in result.output
    assert (tmp_path / "data" / "bot.db").is_file()
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0
    assert "up to date" in result.output
    result = runner.invoke(app, ["db", "downgrade", "base"])
    assert result.exit_code == 2
    assert "--yes" in result.output
    result = runner.invoke(app, ["db", "downgrade"])
    assert result.exit_code == 0
    assert "is at 0001" in result.output
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
    assert migrate.current_revisions(sqlite_url(tmp_path / "cli.db")) == ("0002",)
