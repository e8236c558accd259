"""The admin console's export form filters by channel, as `python -m bot export --channel` does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.channels.web.deps import EXPORT_CHANNELS, ExportFilters
from bot.config import Settings
from bot.domain import Answer, Hit, Timings
from bot.services import Services
from bot.store.export import CHANNELS
from tests.fakes import make_chunk
from tests.web.conftest import BASE, WebFactory, events
from tests.web.test_admin_console import alert_of, csrf_of


async def test_the_form_offers_the_clis_channels_and_sends_the_checked_ones(make_web: WebFactory) -> None:
    asked: list[ExportFilters] = []

    async def export(out: Path, filters: ExportFilters) -> str:
        asked.append(filters)
        await asyncio.to_thread(out.write_text, '{"messages": []}\n')
        return "1 samples from 1 conversations"

    web = await make_web(export=export)
    await web.admin_login()
    page = (await web.client.get("/admin/export")).text
    assert EXPORT_CHANNELS == CHANNELS
    for name in CHANNELS:
        assert f"<input name='channel' type='checkbox' value='{name}'>" in page
    csrf = csrf_of(page)

    async def download(*channels: str) -> None:
        sent = {"csrf": csrf, "channel": list(channels)}
        response = await web.client.post("/admin/export", data=sent, headers={"origin": BASE})
        assert response.status_code == 200, response.text

    # In the CLI's order, each once, whatever order (and how often) the browser sends them.
    await download("web", "console", "web")
    await download()
    assert asked == [ExportFilters(channels=("console", "web")), ExportFilters()]


async def test_an_unknown_channel_gives_the_form_back_with_the_reason(make_web: WebFactory) -> None:
    asked: list[ExportFilters] = []

    async def export(out: Path, filters: ExportFilters) -> str:
        asked.append(filters)
        return "nothing"

    web = await make_web(export=export)
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/export")).text)
    refused = await web.client.post(
        "/admin/export",
        data={"csrf": csrf, "channel": ["telegram", "whatsapp"]},
        headers={"origin": BASE},
    )
    assert refused.status_code == 400
    assert alert_of(refused) == "'whatsapp' is not a channel; choose from telegram, console, web"
    assert "<input name='channel' type='checkbox' value='web'>" in refused.text  # the form, to try again
    assert asked == []


def _answer(text: str) -> Answer:
    hit = Hit(make_chunk("faq/shipping.md", "Lockers", "Locker to locker takes 3 days.", 0), 0.9, 1)
    return Answer(text, (), True, Timings(total_ms=10.0), outcome="answered", hits=(hit,), model="m")


async def test_a_channel_chosen_on_the_form_exports_only_its_conversations(
    make_web: WebFactory, tmp_path: Path
) -> None:
    """Through the real composition (`Services.run_filtered_export`) over the web fixture's log."""
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    async with Services(settings) as services:
        web = await make_web(export=services.run_filtered_export)
        # A visitor's question in the widget (channel "web") and an engineer's on the console.
        session = await web.session()
        asked = await web.post("/api/ask", {"text": "How long do refunds take?"}, session["csrf"])
        assert events(asked.text)[-1][1]["kind"] == "answer"
        console = await web.log.open_conversation(
            channel="console", external_user_id="engineer", external_chat_id="engineer"
        )
        question = await web.log.log_user_message(console.id, "How long does a locker take?")
        await web.log.log_answer(console.id, question, _answer("Answer of the model under test."))

        await web.admin_login()
        csrf = csrf_of((await web.client.get("/admin/export")).text)

        async def questions(*channels: str) -> list[str]:
            sent = {"csrf": csrf, "channel": list(channels)}
            response = await web.client.post("/admin/export", data=sent, headers={"origin": BASE})
            assert response.status_code == 200, response.text
            # Each sample's question: the user's message the answer (the sample's last message) replies to.
            return [json.loads(line)["messages"][-2]["content"] for line in response.text.splitlines()]

        web_question, console_question = "How long do refunds take?", "How long does a locker take?"
        assert sorted(await questions()) == sorted([web_question, console_question])
        assert await questions("web") == [web_question]
        assert await questions("console") == [console_question]
        assert await questions("web", "console") == await questions()
        empty = await web.client.post(
            "/admin/export", data={"csrf": csrf, "channel": "telegram"}, headers={"origin": BASE}
        )
        assert alert_of(empty) == "The export is empty: 0 samples from 0 conversations."
