"""Fixtures for the conversation-log tests: migrated SQLite (always) and PostgreSQL (when configured)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.store import migrate
from bot.store.repo import SqlConversationLog
from tests.conftest import POSTGRES_URL


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; tests copy it instead of running Alembic each time."""
    path = tmp_path_factory.mktemp("template") / "head.db"
    migrate.upgrade(sqlite_url(path))
    return path


@pytest.fixture
def migrated_sqlite(sqlite_template: Path) -> Callable[[Path], str]:
    """Copy the migrated template to `path`; returns its URL."""

    def make(path: Path) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sqlite_template, path)
        return sqlite_url(path)

    return make


def _reset_postgres(url: str) -> None:
    """Drop everything the migrations created, so each test starts from an empty database."""
    if migrate.current_revisions(url):
        migrate.downgrade(url, "base")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend (PostgreSQL only when TEST_POSTGRES_URL is set)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "log.db")
        return
    if not POSTGRES_URL:
        pytest.skip("set TEST_POSTGRES_URL to run the PostgreSQL tests")
    _reset_postgres(POSTGRES_URL)
    yield POSTGRES_URL
    _reset_postgres(POSTGRES_URL)


@pytest.fixture
def migrated_url(db_url: str, migrated_sqlite: Callable[[Path], str], tmp_path: Path) -> str:
    if db_url.startswith("sqlite"):
        return migrated_sqlite(tmp_path / "log.db")
    migrate.upgrade(db_url)
    return db_url


@pytest.fixture
async def log(migrated_url: str) -> AsyncIterator[SqlConversationLog]:
    store = SqlConversationLog(migrated_url)
    await store.check_schema()
    yield store
    await store.close()


@pytest.fixture
async def sqlite_log(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> AsyncIterator[SqlConversationLog]:
    url = migrated_sqlite(tmp_path / "log.db")
    store = SqlConversationLog(url)
    yield store
    await store.close()
