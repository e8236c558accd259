"""Telegram admin: who is an admin, and /reload (live progress), uploads, /stats, /export rendered in chat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Coroutine
from typing import Any

from telegram import Bot, Message, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError

from bot import texts
from bot.admin import Admin, ReloadBusyError, ReloadResult
from bot.channels.telegram.render import compose, escape
from bot.channels.telegram.streaming import NO_PREVIEW, send_text
from bot.conversation import WaitFigures
from bot.kb.base import ProgressCallback, ReloadProgress
from bot.store.base import StoreUnavailableError

log = logging.getLogger("bot.channels.telegram.admin")

# Accounts Telegram uses for anonymous group admins, channel posts and service notices: they never
# identify a person, so they are never admins, whatever the allowlist says.
ANONYMOUS_ADMIN_ID = 1087968824  # "GroupAnonymousBot"
SERVICE_USER_ID = 777000  # Telegram service notifications
CHANNEL_BOT_ID = 136817688  # "Channel_Bot", sender of messages on behalf of channels
UNTRUSTED_IDS = frozenset({ANONYMOUS_ADMIN_ID, SERVICE_USER_ID, CHANNEL_BOT_ID})
_UPLOAD_TIMEOUT_S = 60.0
_MAX_SEND_BYTES = 45 * 1024 * 1024  # bots may send files up to 50 MB


def admin_refusal(admin_ids: Collection[int], update: Update) -> str | None:
    """None when `update` comes from an allowlisted admin in their private chat; else the reason."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None:
        return "no sender"
    if user.id in UNTRUSTED_IDS:
        return "anonymous-admin or service account"
    if user.is_bot:
        return "bot account"
    message = update.message or update.edited_message
    if message is not None and message.sender_chat is not None:
        return "sent on behalf of a chat"
    if chat is None or chat.type != ChatType.PRIVATE:
        return "not a private chat"
    if chat.id != user.id:
        return "chat is not the sender's private chat"
    if user.id not in admin_ids:
        return "not in BOT_TELEGRAM__ADMIN_IDS"
    return None


def is_admin(admin_ids: Collection[int], update: Update) -> bool:
    return admin_refusal(admin_ids, update) is None


def log_refusal(update: Update, action: str, reason: str) -> None:
    user = update.effective_user
    chat = update.effective_chat
    log.warning(
        "admin action refused",
        extra={
            "action": action,
            "reason": reason,
            "user_id": user.id if user else None,
            "chat_id": chat.id if chat else None,
            "chat_type": chat.type if chat else None,
            "update_id": update.update_id,
        },
    )


def describe_progress(progress: ReloadProgress | None, started: float) -> str:
    elapsed = time.monotonic() - started
    if progress is None:
        return f"⏳ Reloading the knowledge base… ({elapsed:.0f} s)"
    share = f" {progress.done}/{progress.total}" if progress.total else ""
    return f"⏳ Reloading the knowledge base: {progress.stage}{share} ({elapsed:.0f} s)"


class AdminCommands:
    """The admin commands in a chat. Callers have checked `admin_refusal` before calling any of these."""

    def __init__(self, admin: Admin, *, edit_interval_s: float, max_upload_mb: float) -> None:
        self.admin = admin
        self.edit_interval_s = edit_interval_s
        self.max_upload_mb = max_upload_mb

    async def reload(self, bot: Bot, chat_id: int) -> None:
        """Reload the KB, showing progress and then the report in one edited message."""
        if self.admin.reloading:
            await send_text(
                bot, chat_id, "A reload is already running; please try again when it has finished."
            )
            return
        first = describe_progress(None, time.monotonic())
        status = await bot.send_message(chat_id, escape(first), parse_mode=ParseMode.HTML)
        await self._with_progress(bot, status, first, lambda progress: self.admin.reload(progress))

    async def _with_progress(
        self,
        bot: Bot,
        status: Message,
        shown: str,
        start: Callable[[ProgressCallback], Coroutine[Any, Any, ReloadResult]],
    ) -> None:
        started = time.monotonic()
        latest: list[ReloadProgress] = []

        def on_progress(progress: ReloadProgress) -> None:
            # May run on a worker thread: only remember it; the loop below shows it.
            latest[:] = [progress]

        task = asyncio.create_task(start(on_progress))
        interval = max(self.edit_interval_s, 0.5)
        while not task.done():
            await asyncio.wait({task}, timeout=interval)
            if task.done():
                break
            text = describe_progress(latest[-1] if latest else None, started)
            if text != shown:
                try:
                    await _edit(status, text)
                except TelegramError as exc:
                    # Progress is only a courtesy: a failed edit must not leave the reload running unwatched
                    # with its report lost.
                    log.info("progress edit failed", extra={"error": str(exc)})
                shown = text
        try:
            result = task.result()
        except ReloadBusyError as exc:
            await self._show_report(bot, status, str(exc))
            return
        await self._show_report(bot, status, result.text)

    async def _show_report(self, bot: Bot, status: Message, text: str) -> None:
        parts = compose(text)
        try:
            await _edit_html(status, parts[0])
        except TelegramError as exc:
            # The status message was deleted or cannot be edited now: the admin still gets the result.
            log.info("report edit failed; sending it as a new message", extra={"error": str(exc)})
            await bot.send_message(status.chat.id, parts[0], parse_mode=ParseMode.HTML)
        for part in parts[1:]:
            await bot.send_message(status.chat.id, part, parse_mode=ParseMode.HTML)

    async def upload(self, bot: Bot, message: Message) -> None:
        """Check an admin's document, save it into the KB folder and reload; a bad file is refused
        with the reason. Everything after the download is shown in one edited message."""
        from bot.kb.validate import UnsafeFileError

        document = message.document
        chat_id = message.chat.id
        if document is None:
            return
        name = document.file_name or "the file"
        limit_mb = self.max_upload_mb
        if document.file_size is not None and document.file_size > limit_mb * 1_000_000:
            await send_text(
                bot,
                chat_id,
                f"❌ Refused {name}: it is {document.file_size / 1_000_000:.1f} MB, over the "
                f"{limit_mb:g} MB limit (BOT_TELEGRAM__MAX_UPLOAD_MB).",
            )
            return
        if self.admin.reloading:
            await send_text(
                bot, chat_id, "A reload is running; please send the file again when it has finished."
            )
            return
        try:
            file = await document.get_file()
            data = bytes(await asyncio.wait_for(file.download_as_bytearray(), _UPLOAD_TIMEOUT_S))
        except (TelegramError, TimeoutError) as exc:
            log.warning("upload download failed", extra={"error": exc.__class__.__name__})
            if isinstance(exc, TelegramError) and "too big" in exc.message.lower():
                # The cloud Bot API gives bots 20 MB per file at most, whatever MAX_UPLOAD_MB allows.
                problem = f"❌ Refused {name}: Telegram lets bots download files of at most 20 MB."
            else:
                problem = f"❌ Could not download {name} from Telegram; please try again."
            await send_text(bot, chat_id, problem)
            return
        try:
            safe_name = self.admin.check_upload(document.file_name or "", data)
        except UnsafeFileError as exc:
            log.info("upload refused", extra={"reason": str(exc)})
            await send_text(bot, chat_id, f"❌ Refused {name}: {exc}")
            return
        shown = f"📄 Saved {safe_name} into the knowledge folder; indexing it now."
        status = await bot.send_message(chat_id, escape(shown), parse_mode=ParseMode.HTML)
        await self._with_progress(
            bot, status, shown, lambda progress: self.admin.add_document(safe_name, data, progress)
        )

    async def stats(self, bot: Bot, chat_id: int, waiting: WaitFigures | None = None) -> None:
        await send_text(bot, chat_id, await self.admin.stats(waiting))

    async def export(self, bot: Bot, chat_id: int) -> None:
        """Run the training export and send it as one document (or one message saying why not)."""
        with contextlib.suppress(TelegramError):
            await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        try:
            result = await self.admin.export()
        except StoreUnavailableError:
            await send_text(bot, chat_id, texts.DB_DOWN)
            return
        except Exception as exc:
            log.exception("export failed")
            # ExportError messages are written for the operator; anything else shows only its type.
            message = str(exc) if exc.__class__.__name__ == "ExportError" else exc.__class__.__name__
            await send_text(bot, chat_id, f"❌ Export failed: {message}")
            return
        out = result.path
        if out is None:
            await send_text(bot, chat_id, result.text)
            return
        size = await asyncio.to_thread(lambda: out.stat().st_size)
        if size > _MAX_SEND_BYTES:
            await send_text(
                bot, chat_id, f"The export is too large to send ({size / 1e6:.0f} MB); it is at {out}."
            )
            return
        content = await asyncio.to_thread(out.read_bytes)
        caption = escape(result.text)[:1000]
        await bot.send_document(
            chat_id, document=content, filename=out.name, caption=caption, parse_mode=ParseMode.HTML
        )


async def _edit(message: Message, text: str) -> None:
    await _edit_html(message, compose(text)[0])


async def _edit_html(message: Message, html: str) -> None:
    try:
        await message.edit_text(html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise  # a vanished message: the caller decides whether the text matters
