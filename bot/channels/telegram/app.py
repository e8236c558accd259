"""Build the python-telegram-bot Application and run it by long polling or behind our own webhook server."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.channels.telegram.deps import TelegramDeps
from bot.channels.telegram.handlers import SupportHandlers
from bot.channels.telegram.handoff import TelegramDesk
from bot.channels.telegram.ordering import ChatOrderedProcessor
from bot.channels.telegram.workers import SharedOrderedProcessor

log = logging.getLogger("bot.channels.telegram.app")

MAX_CONCURRENT_UPDATES = 256
RATE_LIMIT_RETRIES = 3
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
_MAX_WEBHOOK_BODY = 1024 * 1024
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
_COMMANDS = (
    ("start", tg_texts.COMMAND_START),
    ("help", tg_texts.COMMAND_HELP),
    ("new", tg_texts.COMMAND_NEW),
    ("human", tg_texts.COMMAND_HUMAN),
)
BOT_COMMANDS = [BotCommand(name, description) for name, description in _COMMANDS]


def bot_commands(language: str) -> list[BotCommand]:
    """The command menu with its descriptions in `language` (English where no catalog translates them)."""
    return [BotCommand(name, texts.translate(description, language)) for name, description in _COMMANDS]


def menu_languages() -> list[str]:
    """The languages the menu is registered for besides the default (English): Telegram picks a menu by the
    two-letter code of the user's app language, so Traditional Chinese (no code of its own there) shares
    "zh", the Simplified one, with mainland users."""
    return [lang for lang in texts.LANGUAGES if lang != "en" and len(lang) == 2]


async def set_command_menus(bot: Any) -> None:
    """Register the command menu in English (the default) and in every shipped language."""
    try:
        await bot.set_my_commands(BOT_COMMANDS)
        for language in menu_languages():
            await bot.set_my_commands(bot_commands(language), language_code=language)
    except TelegramError as exc:
        log.warning("could not set the command list", extra={"error": exc.__class__.__name__})


@dataclass
class BuiltBot:
    application: Application  # type: ignore[type-arg]
    handlers: SupportHandlers
    processor: ChatOrderedProcessor


def build_bot(
    deps: TelegramDeps,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    polling: bool = True,
    rate_limit: bool = True,
) -> BuiltBot:
    """The Application with our handlers: concurrent across chats, ordered within a chat, rate limited.

    `rate_limit=False` is for in-process fuzzing against the fake API, where Telegram's limits only sleep.
    """
    tg = deps.settings
    if tg.token is None:
        raise ValueError(
            "BOT_TELEGRAM__TOKEN is not set: create a bot with @BotFather and put its token there"
        )
    processor = (
        # Webhook workers behind one proxy share the ledger; long polling has one consumer by design.
        SharedOrderedProcessor(
            deps.shared, lease_s=tg.update_lease_s, max_concurrent_updates=MAX_CONCURRENT_UPDATES
        )
        if deps.shared is not None and not polling
        else ChatOrderedProcessor(MAX_CONCURRENT_UPDATES)
    )
    builder: Any = (
        ApplicationBuilder()
        .token(tg.token.get_secret_value())
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .concurrent_updates(processor)
    )
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    else:
        timeout = tg.request_timeout_s
        builder = (
            builder.connect_timeout(timeout)
            .read_timeout(timeout)
            .write_timeout(timeout)
            .pool_timeout(timeout)
            .get_updates_read_timeout(timeout + 30)
        )
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    if isinstance(processor, SharedOrderedProcessor):
        processor.attach(application)
    # Handoffs from any channel go to this bot's operator chat.
    desk = TelegramDesk(application.bot, tg.operator_chat_id)
    deps.conversations.desk = desk
    handlers = SupportHandlers(deps, processor, desk)
    handlers.register(application)
    return BuiltBot(application, handlers, processor)


def shared_secret(token: str) -> str:
    """A webhook secret every worker of one bot derives alike from its token (set by none of them).

    Each worker registers the webhook at start; a random secret per worker would make Telegram use the last
    one's and the others refuse every delivery. Derived with HMAC, it tells nothing about the token.
    """
    return hmac.new(token.encode("utf-8"), b"support-bot webhook secret", "sha256").hexdigest()


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so the secret cannot be guessed byte by byte from response times."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class WebhookServer:
    """Receives Telegram's webhook POSTs (aiohttp) and queues the updates for the Application.

    A request without the right `X-Telegram-Bot-Api-Secret-Token` gets 403 and nothing is processed. An
    update is admitted by the processor before the 200 (with several workers: recorded in the shared
    ledger), so a redelivery is acknowledged and dropped.
    """

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        *,
        secret: str,
        listen: str,
        port: int,
        path: str,
        processor: ChatOrderedProcessor | None = None,
    ) -> None:
        self.application = application
        self.processor = processor
        self.secret = secret
        self.listen = listen
        self.port = port
        self.path = path if path.startswith("/") else "/" + path
        self._runner: Any = None

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application(client_max_size=_MAX_WEBHOOK_BODY)
        app.router.add_post(self.path, self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info(
            "webhook server listening", extra={"listen": self.listen, "port": self.port, "path": self.path}
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        if not secret_matches(request.headers.get(SECRET_HEADER), self.secret):
            # The given value is never logged: it may be a near-miss of the real secret.
            log.warning("webhook request refused: missing or wrong secret", extra={"remote": request.remote})
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict):
                raise ValueError("not an object")
            if not isinstance(data.get("update_id"), int) or isinstance(data["update_id"], bool):
                raise ValueError("update_id is not an integer")
            update = Update.de_json(data, self.application.bot)
        # AttributeError: PTB reads a field of the wrong type ("message": "str") as an object.
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            log.warning("webhook body is not an update", extra={"error": exc.__class__.__name__})
            return web.Response(status=400, text="bad update")
        if self.processor is not None and not await self.processor.admit(update, json.dumps(data)):
            return web.Response(status=200, text="ok")
        await self.application.update_queue.put(update)
        return web.Response(status=200, text="ok")


async def run_bot(
    built: BuiltBot,
    *,
    stop: asyncio.Event,
    webhook_url: str = "",
    listen: str = "0.0.0.0",  # noqa: S104 - the webhook must be reachable from Telegram
    port: int = 8443,
    secret: str | None = None,
) -> None:
    """Run until `stop` is set: long polling by default, or a webhook when `webhook_url` is given."""
    application = built.application
    async with application:
        await set_command_menus(application.bot)
        await application.start()
        server: WebhookServer | None = None
        try:
            if webhook_url:
                secret = secret or secrets.token_urlsafe(32)
                path = urlsplit(webhook_url).path or "/"
                server = WebhookServer(
                    application, secret=secret, listen=listen, port=port, path=path, processor=built.processor
                )
                await server.start()
                await application.bot.set_webhook(
                    webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, max_connections=40
                )
                log.info("serving by webhook", extra={"url": webhook_url})
            else:
                if application.updater is None:
                    raise RuntimeError("long polling needs the Application built with polling=True")
                await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0.0)
                log.info("serving by long polling")
            await stop.wait()
        finally:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if server is not None:
                await server.stop()
            await application.stop()
