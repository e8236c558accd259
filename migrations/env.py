"""Alembic environment: runs revisions on an async engine, in batch mode on SQLite."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.models import StoredString, StoredText, UTCDateTime, metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("url") is None:
    # Only the plain `alembic` CLI (alembic.ini) configures logging; the bot has its own.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url") or ""
    if not url:
        # The plain `alembic` CLI: use the bot's own settings (BOT_DATABASE_URL or SQLite in the data dir).
        from bot.config import load_settings

        url = load_settings().resolved_database_url
    return str(url)


def _render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions spell the portable column type, not the Python-side UTC wrapper around it.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, StoredText):  # before StoredString: a subclass of it
        return "sa.Text()"
    if type_ == "type" and isinstance(obj, StoredString):
        length = getattr(obj.impl_instance, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    return False


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    dialect = connection.dialect.name if connection is not None else (url or "").split(":", 1)[0]
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table (with foreign keys off, which
        # is the default on a fresh connection, so a rebuild never cascades deletes).
        render_as_batch=dialect.startswith("sqlite"),
        compare_type=True,
        render_item=_render_item,
        literal_binds=connection is None,
    )


def run_migrations_offline() -> None:
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
