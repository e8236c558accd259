"""Programmatic Alembic: upgrade, downgrade and inspect the conversation-log schema."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

UPGRADE_HINT = "python -m bot db upgrade"


class MigrationError(Exception):
    """A migration could not run; the message says why and what to do."""


def migrations_dir() -> Path:
    """The `migrations/` folder: next to the `bot` package (checkout and Docker image), else in the cwd."""
    package_root = Path(__file__).resolve().parent.parent.parent
    for candidate in (package_root / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise MigrationError(
        f"cannot find the migrations folder (looked in {package_root / 'migrations'} and "
        f"{Path.cwd() / 'migrations'}); run from the project checkout or copy migrations/ next to bot/"
    )


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # The URL travels as an attribute, not an ini option, so '%' in passwords needs no escaping.
    config.attributes["url"] = url
    return config


def _run_outside_loop(func: Callable[[], T]) -> T:
    """Alembic's env.py drives an async engine with asyncio.run, which cannot nest in a running loop."""
    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    if not in_loop:
        return func()
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(func())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="alembic")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def create_sqlite_file(database: str) -> None:
    """Create the SQLite file `database` readable and writable by its owner alone, when it is missing.

    The conversation log holds customers' unredacted messages. SQLite would create the file with the
    umask's mode (often 0644: every local user may read it), and gives its -wal and -shm files the database
    file's mode. An existing file keeps its mode: an admin may have chosen another.
    """
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # it exists, or SQLite will say why it cannot be made (a missing folder, no permission)
    os.close(fd)


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision` (creates the schema on an empty database)."""
    from alembic import command
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        create_sqlite_file(parsed.database or "")  # a new database: the owner's alone
    _run_outside_loop(lambda: command.upgrade(alembic_config(url), revision))


def downgrade(url: str, revision: str) -> None:
    """Migrate down to `revision` ("base" removes every table; "-1" goes one step back)."""
    from alembic import command

    _run_outside_loop(lambda: command.downgrade(alembic_config(url), revision))


def head_revisions() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(""))
    return tuple(script.get_heads())


def revision_history() -> list[tuple[str, str]]:
    """(revision, message) from base to head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(""))
    revisions = list(script.walk_revisions("base", "heads"))
    revisions.reverse()
    return [(rev.revision, rev.doc or "") for rev in revisions]


async def current_revisions_async(url: str) -> tuple[str, ...]:
    """The revisions the database at `url` is stamped with (empty for a fresh database)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine

    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    engine = create_async_engine(url)
    failure: MigrationError | None = None
    heads: tuple[str, ...] = ()
    try:
        async with engine.connect() as conn:
            heads = await conn.run_sync(lambda c: tuple(MigrationContext.configure(c).get_current_heads()))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        failure = MigrationError(f"cannot read the schema version: {str(exc).splitlines()[0][:300]}")
    finally:
        await engine.dispose()
    if failure is not None:
        if is_sqlite:
            gc.collect()  # release a failed aiosqlite connection's thread inside the loop (see repo.py)
        raise failure
    return heads


def _sqlite_file_missing(url: str) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    return (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not os.path.exists(database)
    )


def current_revisions(url: str) -> tuple[str, ...]:
    if _sqlite_file_missing(url):
        return ()  # do not create an empty file just to say it is empty
    return _run_outside_loop(lambda: asyncio.run(current_revisions_async(url)))


__all__ = [
    "UPGRADE_HINT",
    "MigrationError",
    "alembic_config",
    "create_sqlite_file",
    "current_revisions",
    "current_revisions_async",
    "downgrade",
    "head_revisions",
    "migrations_dir",
    "revision_history",
    "upgrade",
]
