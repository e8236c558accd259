"""The composition root's conversation log: the embedded SQLite log migrates itself, a probe only looks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.services import Services
from bot.store.base import SchemaOutdatedError
from bot.store.migrate import current_revisions, head_revisions


def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )


async def test_the_embedded_log_migrates_itself_on_first_use(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    async with Services(settings) as services:
        log = await services.conversation_log()
        conversation = await log.open_conversation(
            channel="console", external_user_id="ada", external_chat_id="console:ada"
        )
        assert conversation.id > 0
    assert set(current_revisions(settings.resolved_database_url)) == set(head_revisions())


async def test_a_probe_never_migrates(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    async with Services(settings) as services:
        with pytest.raises(SchemaOutdatedError, match="db upgrade"):
            await services.conversation_log(migrate=False)
    assert current_revisions(settings.resolved_database_url) == ()


@pytest.mark.parametrize(
    ("mode", "database", "webhook", "shared"),
    [
        ("auto", "postgresql://bot:pw@db/bot", True, True),
        ("auto", "postgresql://bot:pw@db/bot", False, False),  # long polling: one consumer by design
        ("auto", "", True, False),  # the embedded SQLite log: one process, memory is fastest
        ("memory", "postgresql://bot:pw@db/bot", True, False),
        ("database", "", False, True),
    ],
)
def test_telegram_shares_state_through_the_database_only_where_workers_can_be_several(
    tmp_path: Path, mode: str, database: str, webhook: bool, shared: bool
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=database,
        telegram={"shared_state": mode},
    )
    assert Services(settings).shares_state(webhook=webhook) is shared


async def test_the_shared_state_lives_on_the_logs_database(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path).model_copy(
        update={"telegram": Settings().telegram.model_copy(update={"shared_state": "database"})}
    )
    async with Services(settings) as services:
        shared = await services.shared_state(webhook=True)
        assert shared is not None
        assert await shared.register(1, "7", "{}", worker="w", lease_s=30)
        assert not await shared.register(1, "7", "{}", worker="v", lease_s=30)
        assert await Services(sqlite_settings(tmp_path)).shared_state(webhook=True) is None
