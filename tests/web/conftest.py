"""The web app over the real SQLite log and a fake pipeline, called in-process through httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.web.app import build_app
from bot.channels.web.deps import FilteredExport, FloodRule, WebDeps
from bot.config import Settings
from bot.conversation import ConversationService, OperatorDesk
from bot.domain import ChatMessage
from bot.services import build_admin, build_approved, build_conversations, build_pipeline
from bot.store.insights_sql import SqlInsights
from bot.store.migrate import upgrade
from bot.store.repo import SqlConversationLog
from tests.fakes import HELP_CENTER, FakeEmbedder, FakeGenerator, FakeKB

ADMIN_TOKEN = "correct-horse-battery-staple"
SHOP = "https://shop.example.com"
BASE = "http://testserver"
SUPPORTED = "Refunds are paid back to the original card within five business days. [1]"


@dataclass
class Web:
    client: httpx.AsyncClient
    log: SqlConversationLog
    conversations: ConversationService
    deps: WebDeps

    async def session(self) -> dict[str, Any]:
        response = await self.client.get("/api/session")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def post(self, path: str, body: Any, csrf: str, **headers: str) -> httpx.Response:
        sent = {"origin": BASE, "x-csrf-token": csrf, **headers}
        return await self.client.post(path, json=body, headers=sent)

    async def admin_login(self, token: str = ADMIN_TOKEN) -> httpx.Response:
        return await self.client.post("/admin/login", data={"token": token}, headers={"origin": BASE})


WebFactory = Callable[..., Awaitable[Web]]


class GatedGenerator(FakeGenerator):
    """Writes the first sentence of its reply and the first word of the next (with which the pipeline shows
    the first), then waits for `gate` before the rest: an answer caught in the middle of its stream.
    `paused` is set when it waits."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.gate = asyncio.Event()
        self.paused = asyncio.Event()

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        user_key: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str]:
        ended = False  # the first sentence
        async for piece in super().stream(messages, user_key=user_key, max_tokens=max_tokens, stop=stop):
            yield piece
            if ended and not self.gate.is_set():
                self.paused.set()
                await self.gate.wait()
            ended = ended or piece.rstrip().endswith(".")


def events(stream: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a Server-Sent Events body."""
    import json

    found = []
    for block in stream.strip().split("\n\n"):
        name, data = "message", ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
        found.append((name, json.loads(data)))
    return found


@pytest.fixture
async def make_web(tmp_path: Path) -> AsyncIterator[WebFactory]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    store = SqlConversationLog(url)
    clients: list[httpx.AsyncClient] = []

    async def factory(
        *,
        generator: FakeGenerator | None = None,
        desk: OperatorDesk | None = None,
        flood: FloodRule | None = None,
        export: FilteredExport | None = None,
        approved: bool = False,
        **web: Any,
    ) -> Web:
        web.setdefault("allowed_origins", [SHOP])
        web.setdefault("admin_token", ADMIN_TOKEN)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            kb={"source": tmp_path / "knowledge"},
            rag={"min_relevance": 0.0, "confident_relevance": 0.0},
            web=web,
        )
        (tmp_path / "knowledge").mkdir(exist_ok=True)
        (tmp_path / "knowledge" / "refunds.md").write_text("# Refunds\n\nPaid back in five days.\n")
        kb = FakeKB(HELP_CENTER)
        pipeline = build_pipeline(settings, kb, generator or FakeGenerator(SUPPORTED))
        # Approved answers on (`approved`), as `Services` wires them, with the fake embedder.
        embedder = FakeEmbedder(dim=1024)
        matcher = build_approved(store, lambda: embedder, kb) if approved else None
        conversations = build_conversations(settings, pipeline, store, approved=matcher)
        conversations.desk = desk
        deps = WebDeps(
            settings=settings.web,
            conversations=conversations,
            admin=build_admin(settings, kb, store, approved=store if approved else None),
            insights=SqlInsights(store),
            secret_key="k" * 48,
            flood=flood or FloodRule(5, 10.0),
            upload_limit_bytes=1024 * 1024,
            export=export,
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(deps)), base_url=BASE)
        clients.append(client)
        return Web(client, store, conversations, deps)

    yield factory
    for client in clients:
        await client.aclose()
    await store.close()
