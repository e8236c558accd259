"""The SQLite conversation log holds customers' unredacted messages: a new file is the owner's alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import migrate
from bot.store.repo import SqlConversationLog

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture(autouse=True)
def _umask() -> Iterator[None]:
    """The usual umask, under which SQLite alone would create the file 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _write_and_check(db: Path, expected: int) -> None:
    """Log a message and, while the connection holds the -wal and -shm files, check every file's mode."""
    log = SqlConversationLog(f"sqlite+aiosqlite:///{db}")
    try:
        conv = await log.open_conversation(channel="console", external_user_id="u", external_chat_id="c")
        await log.log_user_message(conv.id, "my card is 4111 1111 1111 1111")
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: oct(_mode(f)) for f in files} == {f.name: oct(expected) for f in files}
    finally:
        await log.close()


async def test_db_upgrade_creates_the_log_for_its_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{db}")
    assert _mode(db) == 0o600
    await _write_and_check(db, 0o600)


async def test_a_log_opened_before_its_schema_exists_is_created_for_its_owner_only(tmp_path: Path) -> None:
    """The bot opening a missing database (which then asks for `db upgrade`) creates it 0600 too."""
    db = tmp_path / "bot.db"
    log = SqlConversationLog(f"sqlite+aiosqlite:///{db}")
    try:
        await log.ping()
    finally:
        await log.close()
    assert _mode(db) == 0o600
    migrate.upgrade(f"sqlite+aiosqlite:///{db}")
    assert _mode(db) == 0o600


async def test_an_existing_files_mode_is_left_as_the_admin_chose(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{db}")
    db.chmod(0o640)  # say, for a backup group
    migrate.upgrade(f"sqlite+aiosqlite:///{db}")
    assert _mode(db) == 0o640
    await _write_and_check(db, 0o640)


def test_no_file_is_made_for_a_memory_database_or_a_missing_folder(tmp_path: Path) -> None:
    migrate.create_sqlite_file(":memory:")
    migrate.create_sqlite_file("")
    migrate.create_sqlite_file(str(tmp_path / "missing" / "bot.db"))  # SQLite reports it, not this
    assert not (tmp_path / "missing").exists()
    assert not Path(":memory:").exists()
