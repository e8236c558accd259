"""Training-data export by channel: `--channel` keeps only those conversations; the counts are per channel."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.config import RedactionSettings
from bot.domain import Answer, Channel, Hit, Timings
from bot.store.export import ExportError, ExportOptions, ExportStats, export
from bot.store.repo import SqlConversationLog
from tests.fakes import make_chunk


def _answer(text: str) -> Answer:
    hit = Hit(make_chunk("faq/shipping.md", "Lockers", "Locker to locker takes 3 days.", 0), 0.9, 1)
    return Answer(text, (), True, Timings(total_ms=10.0), outcome="answered", hits=(hit,), model="m")


async def _conversation(
    log: SqlConversationLog, channel: Channel, user: str, *pairs: tuple[str, str]
) -> None:
    conv = await log.open_conversation(channel=channel, external_user_id=user, external_chat_id=user)
    for question, answer in pairs:
        asked = await log.log_user_message(conv.id, question)
        await log.log_answer(conv.id, asked, _answer(answer))


@pytest.fixture
async def two_channels(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> AsyncIterator[SqlConversationLog]:
    """Customers on Telegram (3 answers), and an engineer trying a model on the console (2 answers)."""
    log = SqlConversationLog(migrated_sqlite(tmp_path / "data" / "bot.db"))
    await _conversation(
        log,
        "telegram",
        "100100100",
        ("How long does a locker take?", "3 days [1]."),
        ("And to another country?", "5 days [1]."),
    )
    await _conversation(log, "telegram", "100200200", ("Can I track it?", "Yes, in the app [1]."))
    await _conversation(
        log,
        "console",
        "engineer",
        ("How long does a locker take?", "A week, I think."),
        ("Test question", "Answer of the model under test."),
    )
    yield log
    await log.close()


async def _export(log: SqlConversationLog, out: Path, *channels: str) -> ExportStats:
    return await export(log, ExportOptions(out=out, channels=channels), redaction=RedactionSettings())


def _targets(path: Path) -> list[str]:
    return [json.loads(line)["messages"][-1]["content"] for line in path.read_text("utf-8").splitlines()]


async def test_channel_keeps_only_its_conversations_and_counts_per_channel(
    two_channels: SqlConversationLog, tmp_path: Path
) -> None:
    everything = await _export(two_channels, tmp_path / "all.jsonl")
    # All channels by default, as before: the console's test answers are in it.
    assert everything.samples_written == 5
    assert everything.by_channel == Counter(telegram=3, console=2)
    assert "Answer of the model under test." in _targets(tmp_path / "all.jsonl")

    customers = await _export(two_channels, tmp_path / "telegram.jsonl", "telegram")
    assert customers.samples_written == 3
    assert customers.conversations_read == 2
    assert customers.by_channel == Counter(telegram=3)
    assert customers.as_dict()["by_channel"] == {"telegram": 3}
    assert sorted(_targets(tmp_path / "telegram.jsonl")) == [
        "3 days [1].",
        "5 days [1].",
        "Yes, in the app [1].",
    ]

    both = await _export(two_channels, tmp_path / "both.jsonl", "telegram", "console")
    assert both.by_channel == Counter(telegram=3, console=2)
    web = await _export(two_channels, tmp_path / "web.jsonl", "web")
    assert (web.conversations_read, web.samples_written, dict(web.by_channel)) == (0, 0, {})


def test_an_unknown_channel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ExportError, match=r"unknown --channel 'whatsapp'; choose from telegram, console, web"
    ):
        ExportOptions(out=tmp_path / "x.jsonl", channels=("telegram", "whatsapp"))


def _cli(data_dir: Path, out: Path, *args: str) -> Any:
    from bot.cli import app, register_commands

    register_commands()
    return CliRunner().invoke(app, ["export", "--out", str(out), *args], env={"BOT_DATA_DIR": str(data_dir)})


async def test_cli_channel_option_prints_samples_per_channel(
    two_channels: SqlConversationLog, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    # The CLI runs its own event loop; run it in a thread so it does not nest in the test's loop.
    result = await asyncio.to_thread(_cli, data, tmp_path / "a.jsonl")
    assert result.exit_code == 0, result.output
    assert "by channel:         console 2, telegram 3" in result.output
    result = await asyncio.to_thread(
        _cli, data, tmp_path / "b.jsonl", "--channel", "telegram", "--channel", "telegram"
    )
    assert result.exit_code == 0, result.output
    assert "samples written:    3" in result.output
    assert "by channel:         telegram 3" in result.output
    assert len(_targets(tmp_path / "b.jsonl")) == 3
    result = await asyncio.to_thread(_cli, data, tmp_path / "c.jsonl", "--channel", "web")
    assert result.exit_code == 0, result.output
    assert "nothing to train on: the log holds no questions in the channel web" in result.output
    result = await asyncio.to_thread(_cli, data, tmp_path / "d.jsonl", "--channel", "sms")
    assert result.exit_code != 0
    assert "unknown --channel 'sms'" in result.output
    assert not (tmp_path / "d.jsonl").exists()


def test_help_says_every_channel_is_exported_by_default() -> None:
    import typer.main

    from bot.cli import app, register_commands

    register_commands()
    command = typer.main.get_command(app).commands["export"]  # type: ignore[attr-defined]
    (option,) = [p for p in command.params if p.name == "channel"]
    assert option.multiple
    assert "All channels by default, console included" in option.help
