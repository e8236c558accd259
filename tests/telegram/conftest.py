"""Harness for the Telegram tests: the fake Bot API, a real SQLite log, the real pipeline over fakes.

`make_harness` runs the real python-telegram-bot Application in one of two transports:
- "in_process" (the default): the bot's Bot API requests go to the fake through `make_fake_request` (no
  sockets) and updates are put straight on the Application's update queue, where its own update fetcher
  and `ChatOrderedProcessor` handle them, so per-chat ordering and cross-chat concurrency stay real (much
  as python-telegram-bot's own tests feed updates).
- "http": the fake Bot API is served over HTTP (`FakeTelegramServer`) and the bot long-polls it through
  python-telegram-bot's real HTTP client. Only a few end-to-end tests use it (they pass `transport="http"`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

import pytest
from telegram import Update
from telegram.ext import Application

from bot.admin import ExportRunner
from bot.channels.telegram.app import BuiltBot, build_bot
from bot.channels.telegram.deps import TelegramDeps
from bot.channels.telegram.render import STREAM_CURSOR
from bot.config import Settings
from bot.conversation import AnswerStream
from bot.devtools.fake_telegram import (
    DEFAULT_TOKEN,
    FakeTelegram,
    FakeTelegramServer,
    StoredMessage,
    group_chat,
    make_fake_request,
    user,
)
from bot.kb.base import KnowledgeBase
from bot.services import Services, build_admin, build_approved, build_conversations, build_pipeline
from bot.store.base import ApprovedAnswerStore, ConversationLog, StoreUnavailableError
from bot.store.migrate import upgrade
from bot.store.repo import SqlConversationLog
from tests.conftest import KNOWLEDGE
from tests.fakes import HELP_CENTER, FakeEmbedder, FakeGenerator, FakeKB

ADMIN = user(1001, "Ada", username="ada_admin")
ALICE = user(2001, "Alice", username="alice")
BOB = user(2002, "Bob")
OPERATOR = user(3001, "Olga")
OPERATOR_CHAT = group_chat(-100500, "Support team")

Transport = Literal["in_process", "http"]
# In-process the URLs are never dialled: `make_fake_request` serves them, downloads included.
IN_PROCESS_BASE_URL = "http://fake.invalid/bot"
IN_PROCESS_BASE_FILE_URL = "http://fake.invalid/file/bot"


def telegram_settings(tmp_path: Path, *, base_url: str, base_file_url: str, **telegram: Any) -> Settings:
    values: dict[str, Any] = {
        "token": DEFAULT_TOKEN,
        "base_url": base_url,
        "base_file_url": base_file_url,
        "admin_ids": [ADMIN["id"]],
        "operator_chat_id": OPERATOR_CHAT["id"],
        "edit_interval_s": 0.05,
        "flood_messages": 50,
    }
    values.update(telegram)
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir(exist_ok=True)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        kb={"source": kb_dir},
        # The fake KB's scores are not calibrated: answer whenever a passage matches; no match refuses.
        rag={"min_relevance": 0.0, "confident_relevance": 0.0},
        telegram=values,
    )


def telegram_deps(
    settings: Settings,
    pipeline: AnswerStream,
    log: ConversationLog,
    kb: KnowledgeBase,
    export: ExportRunner | None = None,
) -> TelegramDeps:
    """The Telegram channel's dependencies over the given parts, wired as `Services` wires them (approved
    answers on, with the fake embedder, when the log keeps them)."""
    embedder = FakeEmbedder(dim=1024)
    # The SQL log keeps approved answers; the in-memory one (fuzz tests) does not, so they run without.
    store = cast("ApprovedAnswerStore", log) if hasattr(log, "list_approved") else None
    approved = None if store is None else build_approved(store, lambda: embedder, kb)
    conversations = build_conversations(settings, pipeline, log, approved=approved)
    admin = build_admin(settings, kb, log, export=export, approved=store)
    return TelegramDeps(settings.telegram, conversations, admin)


class SwitchableStore:
    """A real store that can be switched 'down': every call then fails as the real one does when the
    database is unreachable (StoreUnavailableError)."""

    def __init__(self, inner: SqlConversationLog) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target) or name == "close":
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StoreUnavailableError("database is down (test)")
            return await target(*args, **kwargs)

        return call


class InProcessTelegram(FakeTelegram):
    """The fake Bot API for the in-process transport: `inject` hands each update to the Application's
    update queue, as the long-polling Updater would after getUpdates, instead of holding it for getUpdates.

    The update makes the same JSON round trip as over HTTP, so the bot never shares the fake's dicts.
    Until an application is attached (and while a webhook is set) it behaves like `FakeTelegram`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.application: Application | None = None  # type: ignore[type-arg]

    def inject(self, update: Mapping[str, Any]) -> int:
        app = self.application
        if app is None or self.webhook.get("url"):
            return super().inject(update)
        payload = json.loads(json.dumps(dict(update)))
        if "update_id" not in payload:
            payload["update_id"] = self.next_update_id()
        app.update_queue.put_nowait(Update.de_json(payload, app.bot))
        self._notify()
        return int(payload["update_id"])


class Harness:
    """A running bot against the fake Bot API, with helpers to act as users and wait for replies."""

    def __init__(
        self, fake: FakeTelegram, built: BuiltBot, store: SwitchableStore, kb: FakeKB, settings: Settings
    ):
        self.fake = fake
        self.built = built
        self.store = store
        self.kb = kb
        self.settings = settings

    def send(self, sender: dict[str, Any] | None, text: str | None = None, **kwargs: Any) -> dict[str, Any]:
        update = self.fake.message_update(sender, text, **kwargs)
        self.fake.inject(update)
        return update

    async def ask(
        self, sender: dict[str, Any], text: str, within_s: float = 10.0, **kwargs: Any
    ) -> StoredMessage:
        """Send a question and wait for the final answer (the reply that is no longer a preview)."""
        update = self.send(sender, text, **kwargs)
        message = update["message"]
        chat_id, question_id = message["chat"]["id"], message["message_id"]

        def final() -> StoredMessage | None:
            for m in self.fake.bot_messages(chat_id):
                if m.reply_to == question_id and not m.data.get("text", "").endswith(STREAM_CURSOR):
                    return m
            return None

        await self.fake.wait_until(lambda: final() is not None, within_s)
        found = final()
        assert found is not None
        return found

    async def reply_after(self, chat_id: int, after: int, within_s: float = 10.0) -> StoredMessage:
        """The first bot message in `chat_id` with an id above `after`."""

        def first() -> StoredMessage | None:
            newer = [m for m in self.fake.bot_messages(chat_id) if m.message_id > after]
            return newer[0] if newer else None

        await self.fake.wait_until(lambda: first() is not None, within_s)
        found = first()
        assert found is not None
        return found

    def last_message_id(self, chat_id: int) -> int:
        ids = [mid for (cid, mid) in self.fake.messages if cid == chat_id]
        return max(ids, default=0)

    async def idle(self, within_s: float = 10.0) -> None:
        """Wait until every queued update has been processed."""
        app = self.built.application
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            await asyncio.sleep(0.05)
            busy = app.update_queue.qsize() or self.built.processor.current_concurrent_updates
            if not busy and not self.fake._pending:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("bot did not become idle")


@pytest.fixture
async def sql_store(tmp_path: Path) -> AsyncIterator[SqlConversationLog]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    store = SqlConversationLog(url)
    yield store
    await store.close()


HarnessFactory = Callable[..., Any]


@pytest.fixture
async def make_harness(tmp_path: Path, sql_store: SqlConversationLog) -> AsyncIterator[HarnessFactory]:
    """Start a bot against the fake Bot API, in-process by default (`transport="http"`: long polling over
    HTTP against a fake Bot API server); other keyword arguments override Telegram settings."""
    stack = contextlib.AsyncExitStack()

    async def factory(
        *,
        transport: Transport = "in_process",
        kb: FakeKB | None = None,
        generator: FakeGenerator | None = None,
        pipeline: AnswerStream | None = None,
        kb_source: Path | None = None,
        **telegram: Any,
    ) -> Harness:
        fake: FakeTelegram
        if transport == "http":
            server = await stack.enter_async_context(FakeTelegramServer())
            fake = server.fake
            base_url, base_file_url = server.base_url, server.base_file_url
        elif transport == "in_process":
            fake = InProcessTelegram()
            stack.push_async_callback(fake.aclose)
            base_url, base_file_url = IN_PROCESS_BASE_URL, IN_PROCESS_BASE_FILE_URL
        else:
            raise ValueError(f"unknown transport {transport!r}")
        fake.add_chat(OPERATOR_CHAT)
        settings = telegram_settings(tmp_path, base_url=base_url, base_file_url=base_file_url, **telegram)
        if kb_source is not None:
            settings = settings.model_copy(
                update={"kb": settings.kb.model_copy(update={"source": kb_source})}
            )
        the_kb = kb or FakeKB(HELP_CENTER)
        the_pipeline = pipeline or build_pipeline(settings, the_kb, generator or FakeGenerator(delay_s=0.01))
        store = SwitchableStore(sql_store)
        # The export runs as in production: the composition root's runner over the same database.
        services = Services(settings)
        stack.push_async_callback(services.aclose)
        deps = telegram_deps(settings, the_pipeline, store, the_kb, export=services.run_export)
        if transport == "http":
            built = build_bot(deps)
        else:
            # Same Application, handlers, processor and rate limiter; only the transport differs.
            built = build_bot(deps, request=make_fake_request(fake), polling=False)
        app = built.application
        await app.initialize()
        await app.start()
        if transport == "http":
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=0.5)
        else:
            assert isinstance(fake, InProcessTelegram)
            fake.application = app

        async def shutdown() -> None:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            await app.stop()
            await app.shutdown()

        stack.push_async_callback(shutdown)
        return Harness(fake, built, store, the_kb, settings)

    yield factory
    await stack.aclose()


@pytest.fixture
def knowledge_dir() -> Path:
    return KNOWLEDGE


@pytest.fixture
def in_process_fake() -> FakeTelegram:
    fake = FakeTelegram()
    fake.add_chat(OPERATOR_CHAT)
    return fake


__all__ = ["make_fake_request"]
