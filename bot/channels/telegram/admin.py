"""Admin authorization and admin commands: /reload with live progress, uploads, /stats, /export."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import time
from pathlib import Path

from telegram import Bot, Message, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError

from bot.config import Settings
from bot.kb.base import KBUnavailableError, ReloadError, ReloadProgress, ReloadReport
from bot.store.base import Stats, StoreUnavailableError
from bot.channels.telegram import texts
from bot.channels.telegram.deps import BotDeps, db_call
from bot.channels.telegram.render import compose, escape
from bot.channels.telegram.streaming import NO_PREVIEW, send_text

log = logging.getLogger("bot.channels.telegram.admin")

# Accounts Telegram uses for anonymous group admins, channel posts and service notices: they never
# identify a person, so they are never admins, whatever the allowlist says.
ANONYMOUS_ADMIN_ID = 1087968824  # "GroupAnonymousBot"
SERVICE_USER_ID = 777000  # Telegram service notifications
CHANNEL_BOT_ID = 136817688  # "Channel_Bot", sender of messages on behalf of channels
UNTRUSTED_IDS = frozenset({ANONYMOUS_ADMIN_ID, SERVICE_USER_ID, CHANNEL_BOT_ID})
_UPLOAD_TIMEOUT_S = 60.0
_MAX_SEND_BYTES = 45 * 1024 * 1024  # bots may send files up to 50 MB


def admin_refusal(settings: Settings, update: Update) -> str | None:
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
    if user.id not in settings.telegram.admin_ids:
        return "not in BOT_TELEGRAM__ADMIN_IDS"
    return None


def is_admin(settings: Settings, update: Update) -> bool:
    return admin_refusal(settings, update) is None


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


def describe_report(report: ReloadReport) -> str:
    lines = [
        f"✅ Knowledge base reloaded in {report.seconds:.1f} s",
        f"Files: {report.files} · chunks: {report.chunks} · skipped: {len(report.skipped)}",
    ]
    if report.skipped:
        lines.append("Skipped files:")
        lines.extend(f"• {s.path}: {s.reason}" for s in report.skipped)
    return "\n".join(lines)


def describe_stats(stats: Stats, kb_line: str) -> str:
    rated = stats.thumbs_up_7d + stats.thumbs_down_7d
    feedback = f"{stats.thumbs_up_7d / rated:.0%} 👍 of {rated} rated" if rated else "no ratings yet"
    refusal = f"{stats.refusals_7d / stats.answers_7d:.0%}" if stats.answers_7d else "n/a"
    handoff = f"{stats.handoffs_7d / stats.conversations_7d:.0%}" if stats.conversations_7d else "n/a"

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f} ms"

    return "\n".join(
        [
            "📊 Stats",
            kb_line,
            f"Conversations: {stats.conversations_24h} (24 h) · {stats.conversations_7d} (7 d)",
            f"Messages: {stats.messages_24h} (24 h) · {stats.messages_7d} (7 d)",
            f"Answers (7 d): {stats.answers_7d} · feedback: {feedback}",
            f"Refusal rate (7 d): {refusal} · handoff rate (7 d): {handoff}",
            f"Latency p50 / p95: {ms(stats.latency_p50_ms)} / {ms(stats.latency_p95_ms)}",
        ]
    )


class AdminActions:
    """The admin commands. Callers have checked `admin_refusal` before calling any of these."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps
        self.settings = deps.settings
        self._reload_lock = asyncio.Lock()

    async def reload(
        self, bot: Bot, chat_id: int, *, status: Message | None = None, show_report: bool = True
    ) -> ReloadReport | None:
        """Reload the KB, showing progress and then the report in one edited message.

        `status` reuses a message already sent for this request; with `show_report=False` the caller
        shows the outcome itself.
        Returns the report, or None when the reload failed (the old KB keeps serving).
        """
        if self._reload_lock.locked():
            text = "A reload is already running; please try again when it has finished."
            if status is None:
                await send_text(bot, chat_id, text)
            else:
                await _edit(status, text)
            return None
        async with self._reload_lock:
            started = time.monotonic()
            first = describe_progress(None, started)
            if status is None:
                status = await bot.send_message(chat_id, escape(first), parse_mode=ParseMode.HTML)
            else:
                await _edit(status, first)
            latest: list[ReloadProgress] = []

            def on_progress(progress: ReloadProgress) -> None:
                # May run on a worker thread: only remember it; the loop below shows it.
                latest[:] = [progress]

            task = asyncio.create_task(self.deps.kb.reload(self.settings.kb.source, on_progress))
            shown = first
            interval = max(self.settings.telegram.edit_interval_s, 0.5)
            while not task.done():
                await asyncio.wait({task}, timeout=interval)
                if task.done():
                    break
                text = describe_progress(latest[-1] if latest else None, started)
                if text != shown:
                    await _edit(status, text)
                    shown = text
            try:
                report = task.result()
            except (ReloadError, KBUnavailableError) as exc:
                log.warning("reload failed", extra={"error": str(exc)})
                await _edit(status, f"❌ Reload failed: {exc}\nThe previous knowledge base keeps serving.")
                return None
            except Exception as exc:
                log.exception("reload crashed")
                await _edit(
                    status,
                    f"❌ Reload failed ({exc.__class__.__name__}). The previous knowledge base keeps "
                    "serving; see the bot's log for details.",
                )
                return None
            log.info(
                "knowledge base reloaded",
                extra={"files": report.files, "chunks": report.chunks, "skipped": len(report.skipped)},
            )
            if show_report:
                await self._show_report(bot, status, describe_report(report))
            return report

    async def _show_report(self, bot: Bot, status: Message, text: str) -> None:
        parts = compose(text)
        await _edit_html(status, parts[0])
        for part in parts[1:]:
            await bot.send_message(status.chat.id, part, parse_mode=ParseMode.HTML)

    async def upload(self, bot: Bot, message: Message) -> None:
        """Validate an admin's document, save it into the KB folder and reload; a bad file is refused
        with the reason. Everything is shown in one edited message."""
        from bot.kb.validate import UnsafeFileError, validate_upload

        document = message.document
        chat_id = message.chat.id
        if document is None:
            return
        name = document.file_name or "the file"
        limit_mb = self.settings.telegram.max_upload_mb
        if document.file_size is not None and document.file_size > limit_mb * 1_000_000:
            await send_text(
                bot,
                chat_id,
                f"❌ Refused {name}: it is {document.file_size / 1_000_000:.1f} MB, over the "
                f"{limit_mb:g} MB limit (BOT_TELEGRAM__MAX_UPLOAD_MB).",
            )
            return
        if self._reload_lock.locked():
            await send_text(
                bot, chat_id, "A reload is running; please send the file again when it has finished."
            )
            return
        try:
            file = await document.get_file()
            data = bytes(await asyncio.wait_for(file.download_as_bytearray(), _UPLOAD_TIMEOUT_S))
        except (TelegramError, TimeoutError) as exc:
            log.warning("upload download failed", extra={"error": exc.__class__.__name__})
            await send_text(bot, chat_id, f"❌ Could not download {name} from Telegram; please try again.")
            return
        try:
            safe_name = validate_upload(document.file_name or "", data, self.settings)
        except UnsafeFileError as exc:
            log.info("upload refused", extra={"reason": str(exc)})
            await send_text(bot, chat_id, f"❌ Refused {name}: {exc}")
            return
        source = self.settings.kb.source
        target = source / safe_name
        backup = await asyncio.to_thread(_save_atomically, source, target, data)
        status = await bot.send_message(
            chat_id,
            escape(f"📄 Saved {safe_name} into the knowledge folder; indexing it now."),
            parse_mode=ParseMode.HTML,
        )
        report = await self.reload(bot, chat_id, status=status, show_report=False)
        skipped = {s.path: s.reason for s in report.skipped} if report else {}
        reason = skipped.get(safe_name) or next(
            (r for p, r in skipped.items() if p.endswith("/" + safe_name)), None
        )
        if report is None or reason is not None:
            await asyncio.to_thread(_restore, target, backup)
            why = reason or "the reload failed"
            text = f"❌ {safe_name} was not added: {why}. The knowledge folder is unchanged."
            if report is not None:
                text += "\n\n" + describe_report(report)
            await self._show_report(bot, status, text)
            return
        if backup is not None:
            await asyncio.to_thread(backup.unlink, missing_ok=True)
        await self._show_report(
            bot, status, f"✅ {safe_name} is now in the knowledge base.\n\n{describe_report(report)}"
        )

    async def stats(self, bot: Bot, chat_id: int) -> None:
        try:
            kb_stats = await self.deps.kb.stats()
            kb_line = (
                f"Knowledge base: {kb_stats.documents} documents, {kb_stats.chunks} chunks "
                f"({kb_stats.backend})"
            )
        except KBUnavailableError:
            kb_line = "Knowledge base: unavailable"
        stats = await db_call(self.deps.store.stats())
        await send_text(bot, chat_id, describe_stats(stats, kb_line))

    async def export(self, bot: Bot, chat_id: int) -> None:
        """Run the training export and send it as one document (or one message saying why not)."""
        if self.deps.export is None:
            await send_text(bot, chat_id, "The export is not configured for this bot.")
            return
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out = self.settings.data_dir / "exports" / f"export-{stamp}.jsonl"
        await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
        with contextlib.suppress(TelegramError):
            await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        try:
            summary = await self.deps.export(out)
        except StoreUnavailableError:
            await send_text(bot, chat_id, texts.DB_DOWN)
            return
        except Exception as exc:
            log.exception("export failed")
            # ExportError messages are written for the operator; anything else shows only its type.
            message = str(exc) if exc.__class__.__name__ == "ExportError" else exc.__class__.__name__
            await send_text(bot, chat_id, f"❌ Export failed: {message}")
            return
        size = await asyncio.to_thread(lambda: out.stat().st_size if out.exists() else 0)
        if size == 0:
            await send_text(bot, chat_id, f"The export is empty: {summary}.")
            return
        if size > _MAX_SEND_BYTES:
            await send_text(
                bot, chat_id, f"The export is too large to send ({size / 1e6:.0f} MB); it is at {out}."
            )
            return
        content = await asyncio.to_thread(out.read_bytes)
        caption = escape(f"✅ Export ready: {summary}.")[:1000]
        await bot.send_document(
            chat_id, document=content, filename=out.name, caption=caption, parse_mode=ParseMode.HTML
        )


def _save_atomically(source: Path, target: Path, data: bytes) -> Path | None:
    """Write `data` to `target` via a temp file and rename; keep the old file as a backup to restore."""
    source.mkdir(parents=True, exist_ok=True)
    backup: Path | None = None
    if target.exists():
        backup = target.with_name(f".{target.name}.previous")
        os.replace(target, backup)
    tmp = target.with_name(f".{target.name}.uploading")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return backup


def _restore(target: Path, backup: Path | None) -> None:
    if backup is not None and backup.exists():
        os.replace(backup, target)
    else:
        target.unlink(missing_ok=True)


async def _edit(message: Message, text: str) -> None:
    await _edit_html(message, compose(text)[0])


async def _edit_html(message: Message, html: str) -> None:
    with contextlib.suppress(BadRequest):  # "not modified" and vanished messages are harmless here
        await message.edit_text(html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
