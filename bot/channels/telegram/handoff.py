"""The Telegram operator chat as the service's operator desk: transcripts out, operator replies back."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TypeGuard

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, User
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.channels.telegram.render import clean, escape, split_text
from bot.channels.telegram.streaming import NO_PREVIEW, send_text
from bot.conversation import ConversationService, Customer
from bot.domain import Turn
from bot.language import UNDETERMINED, language_name

log = logging.getLogger("bot.channels.telegram.handoff")

# Every message the bot posts in the operator chat about a handoff starts with one of these headers, so an
# operator's reply finds its conversation even after a restart, on any worker. Only the bot's own messages are
# trusted for this. A reply to an ended handoff's notice (✅ Handoff #8 ended, ↩️ #8 … started over) finds it
# too, and is told that it has ended rather than nothing.
_HEADER = re.compile(r"^(?:🙋 Handoff|💬|✅ Sent to|✅ Handoff|↩️) #(\d+)\b")
END_PREFIX = "ho:end:"
# How many transcripts' ✅ buttons a desk remembers, to take away when their handoffs end. More can only be
# handoffs left open for good: the oldest are forgotten (such a button still works when pressed).
MAX_END_BUTTONS = 10_000
# How many header-less operator-chat messages the bot wrote (copies of customers' files) a desk remembers the
# handoff of, and how many operators' delivered replies; the oldest are forgotten, and a reply to one of those
# is warned about.
MAX_HANDOFF_MESSAGES = 10_000
# After each delivered reply, as a reply to it: the message to reply to for follow-ups. A reply to the
# operator's own earlier reply is not delivered (see COLLEAGUES_NOTE); with Telegram's privacy mode on (the
# default), a bot in a group does not even see it, as it sees only replies to its own messages.
SENT = "✅ Sent to #{id}. Reply to this message to send them more."
NOT_A_HANDOFF = (
    "⚠️ Not sent to any customer: the message you replied to is not part of a handoff. To answer a customer, "
    "reply to their 🙋 or 💬 message, or to a ✅ Sent to #… confirmation."
)
# A reply to an operator's own delivered reply is never delivered: with privacy mode off, colleagues reply to
# each other's messages with remarks meant for the team ("don't promise a refund"), not for the customer.
COLLEAGUES_NOTE = (
    "⚠️ Not sent: you replied to an operator's message, which I take for a note to colleagues. To send #{id} "
    "more, reply to my ✅ Sent to #{id} confirmation."
)


def conversation_of(message: Message | None, bot_id: int) -> int | None:
    """The conversation id a bot-written operator-chat message is about, if it is one."""
    if not _written_by(message, bot_id):
        return None
    match = _HEADER.match(message.text or "")
    return int(match.group(1)) if match else None


def _written_by(message: Message | None, user_id: int) -> TypeGuard[Message]:
    return message is not None and message.from_user is not None and message.from_user.id == user_id


def replied_to(message: Message) -> Message | None:
    """The message `message` replies to; None for none, and for a forum topic's opening message, which
    Telegram gives as the replied-to message of every message written in that topic."""
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        return None
    return replied


def describe_user(user: User) -> str:
    handle = f" @{user.username}" if user.username else ""
    return f"{user.full_name}{handle} (id {user.id})"


def render_transcript(
    conversation_id: int, who: str, reason: str, turns: Sequence[Turn], language: str = UNDETERMINED
) -> str:
    lines = [
        f"🙋 Handoff #{conversation_id} — {who}",
        f"Language: {language_name(language)}",
        f"Reason: {reason}",
        "",
    ]
    for turn in turns:
        speaker = {"user": "User", "assistant": "Bot", "operator": "Agent"}.get(turn.role, turn.role)
        lines.append(f"{speaker}: {turn.text}")
    lines += ["", "Reply to this message to answer the user. Reply /done (or press the button) to hand back."]
    return "\n".join(lines)


def end_keyboard(conversation_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tg_texts.BUTTON_END_HANDOFF, callback_data=f"{END_PREFIX}{conversation_id}")]]
    )


def button_with(message: Message | None, data: str) -> InlineKeyboardButton | None:
    """The inline button of `message` whose callback data is `data`; None when it has none (or no longer)."""
    if message is None or message.reply_markup is None:
        return None
    buttons = (button for row in message.reply_markup.inline_keyboard for button in row)
    return next((button for button in buttons if button.callback_data == data), None)


def end_button_on(message: Message | None, conversation_id: int) -> int | None:
    """The id of `message` when it carries the ✅ button of that handoff (an operator replied /done to the
    transcript), else None."""
    if message is None or button_with(message, f"{END_PREFIX}{conversation_id}") is None:
        return None
    return message.message_id


def _remember(messages: dict[int, int], message_id: int, conversation_id: int) -> None:
    """`messages[message_id] = conversation_id`, forgetting the oldest beyond MAX_HANDOFF_MESSAGES."""
    messages[message_id] = conversation_id
    if len(messages) > MAX_HANDOFF_MESSAGES:
        del messages[next(iter(messages))]


class TelegramDesk:
    """`bot.conversation.OperatorDesk` on a Telegram group: the operator chat."""

    def __init__(self, bot: Bot, operator_chat_id: int | None) -> None:
        self.bot = bot
        self.operator_chat_id = operator_chat_id
        # The operator-chat message carrying each open handoff's ✅ button, by conversation, to take the
        # button away however the handoff ends. In memory only: after a restart, or where another webhook
        # worker posted the transcript, it stays until pressed (or /done is replied to it).
        self._end_buttons: dict[int, int] = {}
        # The handoff of operator-chat messages the bot wrote that carry no header (see `remember`). In memory
        # only: after a restart, or on another webhook worker, a reply to one is warned about; the headed ones
        # always work.
        self._handoff_messages: dict[int, int] = {}
        # The handoff each operator's delivered reply went to, only to tell a reply to it why it was not sent.
        self._delivered: dict[int, int] = {}

    @property
    def available(self) -> bool:
        return self.operator_chat_id is not None

    def remember(self, message_id: int, conversation_id: int) -> None:
        """Operator-chat message `message_id`, which the bot wrote, belongs to that handoff though it carries
        no header (a copy of the customer's file): a reply to it reaches the customer too, where the bot sees
        such a reply (privacy mode off, or the bot an admin of the operator chat). Never an operator's."""
        _remember(self._handoff_messages, message_id, conversation_id)

    def delivered(self, message_id: int, conversation_id: int) -> None:
        """Operator's message `message_id` was delivered to that handoff's customer (see `not_sent_note`)."""
        _remember(self._delivered, message_id, conversation_id)

    def handoff_of(self, message: Message | None, bot_id: int) -> int | None:
        """The conversation an operator-chat message belongs to: by the bot's header, else as remembered. Only
        the bot's own messages count: a reply to an operator's message is not for the customer."""
        found = conversation_of(message, bot_id)
        if found is None and _written_by(message, bot_id):
            found = self._handoff_messages.get(message.message_id)
        return found

    def not_sent_note(self, message: Message | None) -> str:
        """What an operator's reply to `message`, which belongs to no handoff, is told: why it reached no one,
        and where to reply instead."""
        conversation_id = self._delivered.get(message.message_id) if message is not None else None
        if conversation_id is None:
            return NOT_A_HANDOFF
        return COLLEAGUES_NOTE.format(id=conversation_id)

    async def open_handoff(
        self,
        conversation_id: int,
        customer: Customer,
        reason: str,
        transcript: Sequence[Turn],
        *,
        language: str = UNDETERMINED,
    ) -> bool:
        if self.operator_chat_id is None:
            return False
        who = customer.about or customer.name or customer.user_id
        text = render_transcript(conversation_id, who, reason, transcript, language)
        try:
            last = await self._post(
                self.operator_chat_id,
                text,
                f"🙋 Handoff #{conversation_id} (continued)\n",
                end_keyboard(conversation_id),
            )
        except TelegramError as exc:
            log.error("could not reach the operator chat", extra={"error": exc.__class__.__name__})
            return False
        if last is not None:
            self._end_buttons.pop(conversation_id, None)  # re-inserted as the newest
            self._end_buttons[conversation_id] = last.message_id
            if len(self._end_buttons) > MAX_END_BUTTONS:
                del self._end_buttons[next(iter(self._end_buttons))]
        return True

    async def forward(
        self, conversation_id: int, customer: Customer, text: str, *, language: str = UNDETERMINED
    ) -> None:
        if self.operator_chat_id is None:
            return
        await self._post(
            self.operator_chat_id,
            f"💬 #{conversation_id} {customer.name} [{language}]: {text}",
            f"💬 #{conversation_id} (continued)\n",
        )

    async def _post(
        self, chat_id: int, text: str, header: str, last_markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        """Post `text` in the operator chat, split at Telegram's limit; every part after the first starts with
        `header` (an operator may reply to any part, and a reply finds its conversation by it), and the last
        (returned) carries `last_markup`."""
        pieces = split_text(clean(text), 3900)
        sent: Message | None = None
        for index, piece in enumerate(pieces):
            sent = await self.bot.send_message(
                chat_id,
                escape(piece if index == 0 else header + piece),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=last_markup if index == len(pieces) - 1 else None,
            )
        return sent

    async def remove_end_button(self, conversation_id: int, message_id: int | None = None) -> None:
        """The handoff has ended: take its ✅ button off the transcript this desk posted, and off
        `message_id` (a message known to carry it: the one pressed or replied /done to)."""
        targets = {self._end_buttons.pop(conversation_id, None), message_id}
        if self.operator_chat_id is None:
            return
        for target in sorted(t for t in targets if t is not None):
            try:
                await self.bot.edit_message_reply_markup(self.operator_chat_id, target, reply_markup=None)
            except TelegramError as exc:
                # Deleted, or too old to edit: a press then answers "already closed", as before.
                log.info(
                    "end button not removed",
                    extra={"conversation_id": conversation_id, "error": exc.__class__.__name__},
                )

    async def handoff_left(self, conversation_id: int, customer: Customer) -> None:
        if self.operator_chat_id is None:
            return
        try:
            await send_text(
                self.bot,
                self.operator_chat_id,
                f"↩️ #{conversation_id} {customer.name} started over with the bot (/new): this handoff has "
                "ended, and replies to it no longer reach them.",
            )
        finally:
            await self.remove_end_button(conversation_id)


class OperatorChat:
    """What operators do in the operator chat: reply to a customer, and hand the conversation back."""

    def __init__(self, conversations: ConversationService, desk: TelegramDesk) -> None:
        self.conversations = conversations
        self.desk = desk
        self.operator_chat_id = desk.operator_chat_id

    async def reply(self, bot: Bot, message: Message, conversation_id: int) -> None:
        """Deliver an operator's reply to the user (or end the handoff on /done)."""
        text = (message.text or "").strip()
        if text.split("@")[0] == "/done":
            await self.end(bot, conversation_id, end_button_on(message.reply_to_message, conversation_id))
            return
        operator = str(message.from_user.id) if message.from_user else "operator"
        delivery = await self.conversations.operator_reply(conversation_id, text, operator=operator)
        if delivery.conversation is None:
            await message.reply_text(delivery.problem)
            return
        # Not Telegram: logged with the conversation, where its channel picks it up; this adapter reaches
        # Telegram chats only.
        if delivery.conversation.channel == "telegram":
            try:
                await send_text(bot, int(delivery.conversation.external_chat_id), delivery.text)
            except TelegramError as exc:
                log.warning("operator reply not delivered", extra={"error": exc.__class__.__name__})
                await message.reply_text(
                    f"Could not deliver the reply to #{conversation_id} ({exc.__class__.__name__})."
                )
                return
        self.desk.delivered(message.message_id, conversation_id)
        try:
            await message.reply_text(SENT.format(id=conversation_id), do_quote=True)
        except TelegramError as exc:
            # Delivered all the same; only the confirmation (and replying to it) is missing.
            log.info("delivery confirmation not posted", extra={"error": exc.__class__.__name__})

    async def end(self, bot: Bot, conversation_id: int, button_message_id: int | None = None) -> bool:
        """Hand the conversation back to the bot and take the ✅ button away (from `button_message_id` too,
        when given); returns False when it was not in a handoff."""
        conversation = await self.conversations.end_handoff(conversation_id)
        # Also when it had ended already (by the customer's /new, or on another worker): a button still
        # on screen only answers "already closed".
        await self.desk.remove_end_button(conversation_id, button_message_id)
        if conversation is None:
            return False
        language = await self.conversations.conversation_language(conversation.id)
        try:
            if conversation.channel == "telegram":
                await bot.send_message(
                    int(conversation.external_chat_id),
                    escape(texts.translate(texts.HANDOFF_ENDED_USER, language)),
                    parse_mode=ParseMode.HTML,
                )
        except TelegramError as exc:
            log.warning("handoff end not delivered", extra={"error": exc.__class__.__name__})
        if self.operator_chat_id is not None:
            await bot.send_message(
                self.operator_chat_id, f"✅ Handoff #{conversation.id} ended; the bot answers again."
            )
        return True
