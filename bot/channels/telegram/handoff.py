"""Human handoff: transcripts to the operator chat, operator replies back to the user, and the way back."""

from __future__ import annotations

import logging
import re

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, User
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.domain import Turn
from bot.store.base import ConversationRef
from bot.channels.telegram import texts
from bot.channels.telegram.deps import BotDeps, db_call
from bot.channels.telegram.render import clean, escape, split_text
from bot.channels.telegram.streaming import NO_PREVIEW, send_text

log = logging.getLogger("bot.channels.telegram.handoff")

TRANSCRIPT_TURNS = 20
# Every message the bot posts in the operator chat starts with one of these headers, so an operator's
# reply finds its conversation even after a restart. Only the bot's own messages are trusted for this.
_HEADER = re.compile(r"^(?:🙋 Handoff|💬) #(\d+)\b")
END_PREFIX = "ho:end:"


def conversation_of(message: Message | None, bot_id: int) -> int | None:
    """The conversation id a bot-written operator-chat message is about, if it is one."""
    if message is None or message.from_user is None or message.from_user.id != bot_id:
        return None
    match = _HEADER.match(message.text or "")
    return int(match.group(1)) if match else None


def describe_user(user: User) -> str:
    handle = f" @{user.username}" if user.username else ""
    return f"{user.full_name}{handle} (id {user.id})"


def render_transcript(conversation_id: int, who: str, reason: str, turns: list[Turn]) -> str:
    lines = [f"🙋 Handoff #{conversation_id} — {who}", f"Reason: {reason}", ""]
    for turn in turns:
        speaker = {"user": "User", "assistant": "Bot", "operator": "Agent"}.get(turn.role, turn.role)
        lines.append(f"{speaker}: {turn.text}")
    lines += ["", "Reply to this message to answer the user. Reply /done (or press the button) to hand back."]
    return "\n".join(lines)


def end_keyboard(conversation_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.BUTTON_END_HANDOFF, callback_data=f"{END_PREFIX}{conversation_id}")]]
    )


class Handoff:
    """Moves a conversation between the bot and a human operator."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps
        self.operator_chat_id = deps.settings.telegram.operator_chat_id

    async def start(self, bot: Bot, conversation: ConversationRef, user: User, reason: str) -> str:
        """Send the transcript to the operator chat and mark the conversation; return the user's notice."""
        if self.operator_chat_id is None:
            return texts.HANDOFF_UNAVAILABLE
        if conversation.handoff != "none":
            return texts.HANDOFF_ALREADY
        turns = await db_call(self.deps.store.history(conversation.id, TRANSCRIPT_TURNS))
        transcript = render_transcript(conversation.id, describe_user(user), reason, turns)
        header = f"🙋 Handoff #{conversation.id} (continued)\n"
        try:
            pieces = split_text(clean(transcript), 3900)
            for index, piece in enumerate(pieces):
                text = piece if index == 0 else header + piece
                markup = end_keyboard(conversation.id) if index == len(pieces) - 1 else None
                await bot.send_message(
                    self.operator_chat_id,
                    escape(text),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup,
                )
        except TelegramError as exc:
            log.error("could not reach the operator chat", extra={"error": exc.__class__.__name__})
            return texts.HANDOFF_UNAVAILABLE
        await db_call(self.deps.store.set_handoff(conversation.id, "requested"))
        log.info("handoff started", extra={"conversation_id": conversation.id, "reason": reason})
        return texts.HANDOFF_REQUESTED

    async def forward_from_user(self, bot: Bot, conversation: ConversationRef, user: User, text: str) -> None:
        """While a human owns the conversation, the user's messages go to the operators, not the model."""
        if self.operator_chat_id is None:
            return
        await send_text(bot, self.operator_chat_id, f"💬 #{conversation.id} {user.full_name}: {text}")

    async def operator_reply(self, bot: Bot, message: Message, conversation_id: int) -> None:
        """Deliver an operator's reply to the user (or end the handoff on /done)."""
        text = (message.text or "").strip()
        if text.split("@")[0] == "/done":
            await self.end(bot, conversation_id)
            return
        conversation = await db_call(self.deps.store.get_conversation(conversation_id))
        if conversation is None:
            await message.reply_text(f"Conversation #{conversation_id} no longer exists.")
            return
        if conversation.handoff == "none":
            await message.reply_text(f"Handoff #{conversation_id} has ended; the user is back with the bot.")
            return
        if not text:
            await message.reply_text("Only text replies are forwarded to the user.")
            return
        await db_call(self.deps.store.log_operator_message(conversation.id, text))
        if conversation.handoff == "requested":
            await db_call(self.deps.store.set_handoff(conversation.id, "active"))
        try:
            await send_text(bot, int(conversation.external_chat_id), texts.OPERATOR_PREFIX + text)
        except TelegramError as exc:
            log.warning("operator reply not delivered", extra={"error": exc.__class__.__name__})
            await message.reply_text(
                f"Could not deliver the reply to #{conversation_id} ({exc.__class__.__name__})."
            )

    async def end(self, bot: Bot, conversation_id: int) -> bool:
        """Hand the conversation back to the bot; returns False when it was not in a handoff."""
        conversation = await db_call(self.deps.store.get_conversation(conversation_id))
        if conversation is None or conversation.handoff == "none":
            return False
        await db_call(self.deps.store.set_handoff(conversation.id, "none"))
        log.info("handoff ended", extra={"conversation_id": conversation.id})
        try:
            await bot.send_message(
                int(conversation.external_chat_id),
                escape(texts.HANDOFF_ENDED_USER),
                parse_mode=ParseMode.HTML,
            )
        except TelegramError as exc:
            log.warning("handoff end not delivered", extra={"error": exc.__class__.__name__})
        if self.operator_chat_id is not None:
            await bot.send_message(
                self.operator_chat_id, f"✅ Handoff #{conversation.id} ended; the bot answers again."
            )
        return True
