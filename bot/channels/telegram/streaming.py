"""Stream an answer into one Telegram message: throttled edits, RetryAfter honoured, a typing indicator, and
the place-in-line notice shown while the answer waits."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.channels.telegram.render import compose, escape, render_partial

log = logging.getLogger("bot.channels.telegram.streaming")

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_TYPING_EVERY_S = 4.5  # Telegram shows "typing…" for about 5 s per chat action
# A quick first piece needs no indicator; skipping it saves a request under the 30/s global limit.
_TYPING_AFTER_S = 0.3
_MAX_RETRY_WAIT_S = 300.0


async def send_text(bot: Bot, chat_id: int, text: str) -> None:
    """Send plain text as HTML messages, split at Telegram's length limit, without link previews."""
    for part in compose(text):
        await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)


def retry_seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


class StreamEditor:
    """Shows a growing answer in one message, editing it at most once per `interval_s`.

    The first piece is sent as a new message (replying to the question); later pieces edit it when the
    interval has passed and the text changed. A `RetryAfter` from Telegram pushes the next edit back by
    the time Telegram asked for. Intermediate edits are best effort; `finish` always delivers.
    """

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        interval_s: float,
        reply_to: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.interval_s = interval_s
        self.reply_to = reply_to
        self.clock = clock
        self.message_id: int | None = None
        self._shown_html: str | None = None
        self._shown_markup: InlineKeyboardMarkup | None = None
        self._next_at = 0.0

    async def update(self, text: str) -> None:
        """Show `text` (the answer so far) if an edit is due; never raises for Telegram trouble."""
        if self.clock() < self._next_at:
            return
        html = render_partial(text)
        if html == self._shown_html:
            return
        try:
            await self._show(html, None)
        except RetryAfter as exc:
            self._backoff(exc)
        except (BadRequest, NetworkError) as exc:
            # A lost preview edit is harmless: the final edit carries the whole answer.
            log.info("preview edit skipped", extra={"chat_id": self.chat_id, "error": exc.__class__.__name__})
            self._next_at = self.clock() + self.interval_s

    async def finish(self, parts: Sequence[str], markup: InlineKeyboardMarkup | None = None) -> int:
        """Deliver the final answer: the streamed message becomes part 1, further parts follow.

        Buttons go on the last part. Returns the id of the message carrying the buttons.
        """
        if not parts:
            raise ValueError("finish() needs at least one part")
        last_id = 0
        for index, part in enumerate(parts):
            part_markup = markup if index == len(parts) - 1 else None
            if index:
                self.message_id = None  # further parts are new messages
            last_id = await self._deliver(part, part_markup)
        return last_id

    async def _deliver(self, html: str, markup: InlineKeyboardMarkup | None) -> int:
        for _attempt in range(3):
            wait = self._next_at - self.clock()
            if wait > 0:
                await asyncio.sleep(min(wait, _MAX_RETRY_WAIT_S))
            try:
                await self._show(html, markup)
            except RetryAfter as exc:
                self._backoff(exc)
                continue
            except BadRequest as exc:
                if "not found" in exc.message.lower() and self.message_id is not None:
                    # The preview was deleted by the user: send the answer as a new message instead.
                    self.message_id = None
                    continue
                raise
            if self.message_id is not None:
                return self.message_id
        raise RuntimeError("Telegram kept refusing the final message")

    async def _show(self, html: str, markup: InlineKeyboardMarkup | None) -> None:
        if self.message_id is None:
            reply = (
                ReplyParameters(message_id=self.reply_to, allow_sending_without_reply=True)
                if self.reply_to is not None
                else None
            )
            message = await self.bot.send_message(
                self.chat_id,
                html,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_parameters=reply,
                reply_markup=markup,
            )
            self.message_id = message.message_id
        else:
            if html == self._shown_html and markup == self._shown_markup:
                return  # Telegram refuses an edit that changes nothing
            try:
                await self.bot.edit_message_text(
                    html,
                    chat_id=self.chat_id,
                    message_id=self.message_id,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup,
                )
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    raise
        self._shown_html = html
        self._shown_markup = markup
        self._next_at = self.clock() + self.interval_s

    def _backoff(self, exc: RetryAfter) -> None:
        seconds = retry_seconds(exc)
        self._next_at = max(self._next_at, self.clock() + seconds)
        log.warning("telegram asked to slow down", extra={"chat_id": self.chat_id, "retry_after_s": seconds})


class WaitNotice:
    """The customer's place in line while their answer waits: one message, replying to the question.

    The conversation service says when to show it and when an update is worth an edit (rarely: Telegram
    limits edits); every call here is best effort, since the answer itself does not depend on it. When the
    answer starts the notice is deleted rather than edited into the answer: a new message notifies the
    customer, an edit would not, and they may have stopped watching during a long wait.
    """

    def __init__(self, bot: Bot, chat_id: int, *, reply_to: int | None = None) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.reply_to = reply_to
        self.message_id: int | None = None
        self._html = ""
        self._done = False

    @property
    def shown(self) -> bool:
        return self.message_id is not None

    async def show(self, text: str) -> None:
        """Send the notice, or edit it to `text`; nothing once the answer has started."""
        html = escape(text)
        if self._done or html == self._html:
            return
        try:
            if self.message_id is None:
                reply = (
                    ReplyParameters(message_id=self.reply_to, allow_sending_without_reply=True)
                    if self.reply_to is not None
                    else None
                )
                message = await self.bot.send_message(
                    self.chat_id, html, parse_mode=ParseMode.HTML, reply_parameters=reply
                )
                self.message_id = message.message_id
            else:
                await self.bot.edit_message_text(
                    html, chat_id=self.chat_id, message_id=self.message_id, parse_mode=ParseMode.HTML
                )
        except TelegramError as exc:
            # A lost notice costs only the information; the next update (or the answer) follows anyway.
            log.info("wait notice skipped", extra={"chat_id": self.chat_id, "error": exc.__class__.__name__})
            return
        self._html = html

    async def remove(self) -> None:
        """The answer has started: delete the notice (once), and show no more."""
        self._done = True
        message_id, self.message_id = self.message_id, None
        if message_id is None:
            return
        try:
            await self.bot.delete_message(self.chat_id, message_id)
        except TelegramError as exc:
            error = exc.__class__.__name__
            log.info("wait notice not deleted", extra={"chat_id": self.chat_id, "error": error})


@contextlib.asynccontextmanager
async def typing_indicator(bot: Bot, chat_id: int, until: Callable[[], bool]) -> AsyncIterator[None]:
    """Keep "typing…" visible while waiting, until `until()` says a message is shown (the answer, or the
    place-in-line notice: a long wait shows the notice, not an endless "typing…")."""

    async def loop() -> None:
        await asyncio.sleep(_TYPING_AFTER_S)
        while not until():
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as exc:
                log.debug("chat action failed", extra={"chat_id": chat_id, "error": exc.__class__.__name__})
            await asyncio.sleep(_TYPING_EVERY_S)

    task = asyncio.create_task(loop(), name=f"typing-{chat_id}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
