"""Thin Telegram handlers: parse the update, call the conversation service, render; plus the error handler."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence

from telegram import (
    Bot,
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.channels.telegram.admin import AdminCommands, admin_refusal, is_admin, log_refusal
from bot.channels.telegram.deps import TelegramDeps
from bot.channels.telegram.flood import FloodGate
from bot.channels.telegram.handoff import (
    END_PREFIX,
    OperatorChat,
    TelegramDesk,
    button_with,
    describe_user,
    end_button_on,
    replied_to,
)
from bot.channels.telegram.ordering import ChatOrderedProcessor, UpdateState
from bot.channels.telegram.render import compose, escape, render_answer
from bot.channels.telegram.streaming import NO_PREVIEW, StreamEditor, WaitNotice, typing_indicator
from bot.conversation import Customer, Reply, Waiting
from bot.domain import Delta, Source
from bot.ids import parse_id
from bot.language import UNDETERMINED, language_tag
from bot.store.base import MessageRef, ReplyPrompt, StoreUnavailableError
from bot.unicode import has_words

# Operators write English in their chat (the customers' texts are translated, theirs are not).
OPERATOR_CHAT_HINT = (
    "To answer a customer, reply to their 💬 or 🙋 message here (or to a ✅ Sent to #… confirmation); "
    "I don't answer questions in this chat."
)
OPERATOR_MEDIA_HINT = "Only text replies reach the customer: this was not sent. Type your reply instead."
# A language code as buttons carry it ("en", "zh", "zh-Hant").
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-Hant)?")
# A "see also" button: this mark, then the section's heading, clipped (Telegram shows about 60 characters of a
# button's label on a phone).
SEE_ALSO_MARK = "📄 "
SEE_ALSO_LABEL_CHARS = 60

log = logging.getLogger("bot.channels.telegram")

Context = ContextTypes.DEFAULT_TYPE
ADMIN_COMMANDS = ("reload", "stats", "export", "correct")


def customer_of(user: User, chat_id: int) -> Customer:
    return Customer(
        "telegram",
        str(user.id),
        str(chat_id),
        name=user.full_name,
        about=describe_user(user),
        language_hint=user.language_code or "",
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section_title(section: Source) -> str:
    """What a "see also" button names and its press asks: the heading, else the file's name."""
    return section.heading.strip() or section.source.rsplit("/", 1)[-1]


def _see_also_title(listed: Sequence[Source], data: str) -> str:
    """The title of the section a `see:<k>:<language>` press means among those logged; "" when unknown."""
    number = data.split(":")[1] if data.count(":") >= 1 else ""
    if not number.isdigit() or not 1 <= int(number) <= len(listed):
        return ""
    return _section_title(listed[int(number) - 1])


def hint_of(update: Update) -> str:
    """Telegram's idea of the user's language, for replies that have no text of theirs to read."""
    user = update.effective_user
    return language_tag(user.language_code) if user is not None and user.language_code else UNDETERMINED


def answer_keyboard(reply: Reply, *, admin: bool) -> InlineKeyboardMarkup | None:
    """The buttons under an answer, labelled in the answer's language, which their data carries along
    (`fb:up:<language>`), so what a button answers is in that language too.

    Who may press them is not in the data (the client sends it back, and a modified client can send
    anything): the log says whose answer it is (`ConversationService.shown_message`)."""
    rows: list[list[InlineKeyboardButton]] = []
    language = texts.shown_language(reply.language)
    if reply.rateable:
        rows.append(
            [
                InlineKeyboardButton(tg_texts.BUTTON_UP, callback_data=f"fb:up:{language}"),
                InlineKeyboardButton(tg_texts.BUTTON_DOWN, callback_data=f"fb:down:{language}"),
            ]
        )
    if reply.answer is not None:
        # The other sections the search found, one tap each: the article the customer meant is often second
        # or third. The press asks the section's heading as logged with the answer (`_see_also_press`).
        for k, section in enumerate(reply.answer.see_also, start=1):
            label = f"{SEE_ALSO_MARK}{_clip(_section_title(section), SEE_ALSO_LABEL_CHARS)}"
            rows.append([InlineKeyboardButton(label, callback_data=f"see:{k}:{language}")])
    if reply.offer_human:
        label = texts.translate(tg_texts.BUTTON_HUMAN, language)
        rows.append([InlineKeyboardButton(label, callback_data=f"human:{language}")])
    if admin and reply.rateable:
        label = texts.translate(tg_texts.BUTTON_CORRECT, language)
        rows.append([InlineKeyboardButton(label, callback_data=f"fix:{language}")])
    return InlineKeyboardMarkup(rows) if rows else None


class SupportHandlers:
    """All update handlers of the bot, sharing the dependencies and per-process state."""

    def __init__(self, deps: TelegramDeps, processor: ChatOrderedProcessor, desk: TelegramDesk) -> None:
        self.settings = deps.settings
        self.conversations = deps.conversations
        self.processor = processor
        self.admin_ids = frozenset(self.settings.admin_ids)
        # Shared by the webhook workers when there are several (deps.shared), else this process's own.
        self.flood = FloodGate(self.settings.flood_messages, self.settings.flood_window_s, deps.shared)
        self.admin = AdminCommands(
            deps.admin,
            edit_interval_s=self.settings.edit_interval_s,
            max_upload_mb=self.settings.max_upload_mb,
        )
        # The operator chat's desk (the service hands off to it), so that ending a handoff here takes
        # its ✅ button off the transcript the desk posted.
        self.operators = OperatorChat(deps.conversations, desk)

    # -- registration --------------------------------------------------------------------------------

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        application.add_handler(TypeHandler(Update, self.gate), group=-1)
        message = filters.UpdateType.MESSAGE
        application.add_handler(CommandHandler("start", self.cmd_start, filters=message))
        application.add_handler(CommandHandler("help", self.cmd_help, filters=message))
        application.add_handler(CommandHandler("new", self.cmd_new, filters=message))
        application.add_handler(CommandHandler("human", self.cmd_human, filters=message))
        application.add_handler(CommandHandler("done", self.cmd_done, filters=message))
        application.add_handler(CommandHandler(list(ADMIN_COMMANDS), self.cmd_admin, filters=message))
        application.add_handler(MessageHandler(message & filters.COMMAND, self.cmd_unknown))
        application.add_handler(MessageHandler(message & filters.TEXT, self.on_text))
        application.add_handler(MessageHandler(message & filters.Document.ALL, self.on_document))
        application.add_handler(MessageHandler(message & ~filters.StatusUpdate.ALL, self.on_media))
        application.add_handler(CallbackQueryHandler(self.on_callback))
        application.add_error_handler(self.on_error)

    # -- gate: idempotency and the database check ----------------------------------------------------

    async def gate(self, update: Update, context: Context) -> None:
        """Claim the update id before anything else: a redelivered update is dropped here."""
        try:
            fresh = await self.conversations.claim("telegram", str(update.update_id))
        except StoreUnavailableError as exc:
            log.error("database unavailable", extra={"update_id": update.update_id, "error": str(exc)})
            await self._tell_db_down(update, context.bot)
            raise ApplicationHandlerStop from None
        if not fresh:
            log.info("duplicate update ignored", extra={"update_id": update.update_id})
            raise ApplicationHandlerStop

    async def _tell_db_down(self, update: Update, bot: Bot) -> None:
        try:
            down = texts.translate(texts.DB_DOWN, hint_of(update))
            if update.callback_query is not None:
                await update.callback_query.answer(down, show_alert=True)
                return
            message = update.message
            if message is None or message.from_user is None or not self._addressed(message, bot)[0]:
                return
            await self._reply(update, bot, down)
        except TelegramError as exc:
            log.warning(
                "could not tell the user the database is down", extra={"error": exc.__class__.__name__}
            )

    # -- commands ----------------------------------------------------------------------------------

    async def _language(self, update: Update) -> str:
        """The language to answer a command or a button in: the user's latest message's, else the hint."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return hint_of(update)
        try:
            return await self.conversations.language_of(customer_of(user, chat.id))
        except StoreUnavailableError:
            return hint_of(update)

    async def cmd_start(self, update: Update, context: Context) -> None:
        user = update.effective_user
        if user is None:
            return
        language = await self._language(update)
        text = texts.translate(tg_texts.START, language).format(name=user.first_name or "👋")
        if is_admin(self.admin_ids, update):
            text += texts.translate(tg_texts.ADMIN_HELP, language)
            text += texts.translate(tg_texts.ADMIN_HELP_CORRECT, language)
        await self._reply(update, context.bot, text)

    async def cmd_help(self, update: Update, context: Context) -> None:
        language = await self._language(update)
        text = texts.translate(tg_texts.HELP, language)
        if is_admin(self.admin_ids, update):
            text += texts.translate(tg_texts.ADMIN_HELP, language)
            text += texts.translate(tg_texts.ADMIN_HELP_CORRECT, language)
        await self._reply(update, context.bot, text)

    async def cmd_new(self, update: Update, context: Context) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot:
            return
        language = await self._language(update)
        try:
            await self.conversations.start_over(customer_of(user, chat.id))
        except StoreUnavailableError:
            await self._reply(update, context.bot, texts.translate(texts.DB_DOWN, language))
            return
        await self._reply(update, context.bot, texts.translate(texts.NEW_CONVERSATION, language))

    async def cmd_human(self, update: Update, context: Context) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot:
            return
        try:
            reply = await self.conversations.request_handoff(
                customer_of(user, chat.id), "the user asked for a human (/human)"
            )
        except StoreUnavailableError:
            reply = texts.translate(texts.DB_DOWN, hint_of(update))
        await self._reply(update, context.bot, reply)

    async def cmd_done(self, update: Update, context: Context) -> None:
        """/done as a reply in the operator chat ends that handoff."""
        message = update.message
        chat = update.effective_chat
        if message is None or chat is None or chat.id != self.settings.operator_chat_id:
            await self.cmd_unknown(update, context)
            return
        conversation_id = self.operators.desk.handoff_of(replied_to(message), context.bot.id)
        if conversation_id is None:
            await message.reply_text("Reply /done to a handoff message to end that handoff.")
            return
        button = end_button_on(message.reply_to_message, conversation_id)
        if not await self.operators.end(context.bot, conversation_id, button):
            await message.reply_text(f"Handoff #{conversation_id} is not active.")

    async def cmd_admin(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None or message.text is None:
            return
        command = message.text.split()[0].lstrip("/").split("@")[0].lower()
        refusal = admin_refusal(self.admin_ids, update)
        if refusal is not None:
            log_refusal(update, f"/{command}", refusal)
            await self._reply(update, context.bot, texts.translate(texts.NOT_ALLOWED, hint_of(update)))
            return
        chat_id = message.chat.id
        log.info(
            "admin command",
            extra={"command": command, "user_id": message.from_user.id if message.from_user else None},
        )
        state = self.processor.state(update)
        state.reply_chat_id = chat_id
        if command == "reload":
            await self.admin.reload(context.bot, chat_id)
        elif command == "stats":
            try:
                await self.admin.stats(context.bot, chat_id, self.conversations.waiting_figures())
            except StoreUnavailableError:
                await self._reply(update, context.bot, texts.translate(texts.DB_DOWN, hint_of(update)))
        elif command == "export":
            await self.admin.export(context.bot, chat_id)
        elif command == "correct":
            await self._correct(update, context.bot, message)
            return  # like a reply: an error after the prompt should still be shown
        state.reply_message_id = -1  # admin output is complete; an error after this must not add a reply

    async def _correct(self, update: Update, bot: Bot, message: Message) -> None:
        """/correct ANSWER_ID: show that logged answer (anyone's) and ask the admin for the corrected one."""
        language = await self._language(update)
        parts = (message.text or "").split()
        answer_id = parse_id(parts[1].lstrip("#")) if len(parts) == 2 else None
        if answer_id is None:
            await self._reply(update, bot, texts.translate(tg_texts.CORRECT_USAGE, language))
            return
        try:
            found = await self.conversations.logged_answer(answer_id)
            if found is None:
                unknown = texts.translate(tg_texts.CORRECT_UNKNOWN, language).format(id=answer_id)
                await self._reply(update, bot, unknown)
                return
            question, answer = found
            # Clipped: the prompt must fit one Telegram message whatever the logged texts' length.
            ask = texts.translate(tg_texts.CORRECT_ASK_ANSWER, language).format(
                id=answer_id, question=_clip(question, 500), answer=_clip(answer, 3000)
            )
            user_id = message.from_user.id if message.from_user else 0
            await self._ask(
                bot,
                message.chat.id,
                message.message_id,
                ask,
                ReplyPrompt("correct", answer_id, str(user_id)),
            )
        except StoreUnavailableError:
            await self._reply(update, bot, texts.translate(texts.DB_DOWN, language))

    async def cmd_unknown(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None or not self._addressed(message, context.bot)[0]:
            return
        language = await self._language(update)
        await self._reply(update, context.bot, texts.translate(tg_texts.UNKNOWN_COMMAND, language))

    # -- messages ----------------------------------------------------------------------------------

    async def on_text(self, update: Update, context: Context) -> None:
        message = update.message
        user = update.effective_user
        if message is None or user is None or message.text is None:
            return  # channel posts and messages without a sender are not questions
        bot = context.bot
        chat_id = message.chat.id
        if user.is_bot:
            return
        operator_chat = chat_id == self.settings.operator_chat_id
        replied = replied_to(message)
        if operator_chat:
            conversation_id = self.operators.desk.handoff_of(replied, bot.id)
            if conversation_id is not None:
                await self.operators.reply(bot, message, conversation_id)
                return
        if await self._prompt_reply(update, message, user, bot):
            return
        if operator_chat and replied is not None:
            # An operator's reply is meant for someone: never let it vanish without a word (a customer's
            # follow-up that reaches no one is worse than a warning too many between colleagues).
            await message.reply_text(self.operators.desk.not_sent_note(replied), do_quote=True)
            return
        addressed, text = self._addressed(message, bot)
        if not addressed:
            return
        if operator_chat:
            # The operators' room is never a customer conversation: no answer, no handoff of itself.
            await message.reply_text(OPERATOR_CHAT_HINT)
            return
        state = self.processor.state(update)
        verdict = await self.flood.judge(user.id, state)
        if verdict != "ok":
            log.info("flood control", extra={"user_id": user.id, "verdict": verdict})
            if verdict == "notice":
                customer = customer_of(user, chat_id)
                language = self.conversations.language_of_text(text, customer)
                await self._reply(update, bot, await self._flood_notice(customer, language))
            return
        await self._answer(update, bot, message, user, text, state)

    async def _answer(
        self,
        update: Update,
        bot: Bot,
        message: Message,
        user: User,
        text: str,
        state: UpdateState,
        *,
        external_message_id: str | None = None,
        standalone: bool = False,
    ) -> Reply:
        """Answer `text` for `user` under `message`, which is the customer's own message (its id is logged
        with the question) unless `external_message_id` says otherwise; `standalone`: see
        `ConversationService.ask`."""
        chat_id = message.chat.id
        editor = StreamEditor(
            bot,
            chat_id,
            interval_s=self.settings.edit_interval_s,
            reply_to=message.message_id,
        )
        state.reply_chat_id = chat_id
        reply: Reply | None = None
        so_far: list[str] = []
        events = self.conversations.ask(
            customer_of(user, chat_id),
            text,
            external_message_id=str(message.message_id)
            if external_message_id is None
            else external_message_id,
            standalone=standalone,
        )
        notice = WaitNotice(bot, chat_id, reply_to=message.message_id)

        def shown() -> bool:
            return editor.message_id is not None or notice.shown

        async with typing_indicator(bot, chat_id, until=shown):
            async for item in events:
                if isinstance(item, Delta):
                    so_far.append(item.text)
                    await editor.update("".join(so_far))
                    if editor.message_id is not None:
                        state.reply_message_id = editor.message_id
                        await notice.remove()
                elif isinstance(item, Waiting):
                    await notice.show(item.text)
                    # Until the answer starts, an error replaces the notice (see `on_error`).
                    state.reply_message_id = notice.message_id
                else:
                    reply = item
        if reply is None:
            raise RuntimeError("the conversation service ended without a Reply")
        if reply.kind == "forwarded":
            await notice.remove()
            return reply
        if reply.answer is None:
            # A fixed notice (nothing was answered): replace any preview, or send it as the reply.
            if editor.message_id is not None:
                await editor.finish(compose(reply.text))
                state.reply_message_id = editor.message_id
            else:
                await self._reply(update, bot, reply.text)
            await notice.remove()
            return reply
        markup = answer_keyboard(reply, admin=is_admin(self.admin_ids, update))
        last_id = await editor.finish(render_answer(reply.answer, reply.language), markup)
        state.reply_message_id = last_id
        await notice.remove()
        if reply.answer_id is not None:
            await self.conversations.record_delivery(reply.answer_id, str(last_id))
        return reply

    async def on_document(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None or message.from_user is None:
            return
        refusal = admin_refusal(self.admin_ids, update)
        if refusal is not None:
            log_refusal(update, "upload", refusal)
            # Not an upload to the knowledge base: a customer's file, which reaches the operators during a
            # handoff and otherwise gets the polite "I read text only".
            await self.on_media(update, context)
            return
        self.processor.state(update).reply_chat_id = message.chat.id
        await self.admin.upload(context.bot, message)
        self.processor.state(update).reply_message_id = -1

    async def on_media(self, update: Update, context: Context) -> None:
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        bot = context.bot
        if message.chat.id == self.settings.operator_chat_id:
            if self.operators.desk.handoff_of(replied_to(message), bot.id) is not None:
                # An operator's photo or file would never reach the customer: say so, in English.
                await message.reply_text(OPERATOR_MEDIA_HINT)
            return
        addressed, caption = self._addressed(message, bot)
        if not addressed:
            return
        state = self.processor.state(update)
        customer = customer_of(message.from_user, message.chat.id)
        verdict = await self.flood.judge(message.from_user.id, state)
        if verdict != "ok":
            log.info("flood control", extra={"user_id": message.from_user.id, "verdict": verdict})
            if verdict == "notice" and (caption or self.settings.operator_chat_id is not None):
                # A caption is a question the bot would have answered, and during a handoff the file would
                # have gone to a person: either is said, not dropped in silence. A file without a caption out
                # of a handoff could not have been read anyway (an album's sixth photo needs no notice).
                if caption:
                    language = self.conversations.language_of_text(caption, customer)
                else:
                    language = await self._language(update)
                notice = await self._flood_notice(customer, language, handoff_only=not caption)
                if notice:
                    await self._reply(update, bot, notice)
            return
        try:
            conversation = await self.conversations.conversation(customer)
        except StoreUnavailableError:
            conversation = None
        operator_chat = self.settings.operator_chat_id
        if conversation is not None and conversation.handoff != "none" and operator_chat:
            # A person owns the conversation: the file goes to the operators with its caption (logged as
            # text), where the bot could only say it reads text.
            await self._forward_media(update, bot, message, customer, caption)
            return
        if caption.strip():
            # The caption is a question like a typed one (logged and answered as its text), whatever the
            # file: only the file itself goes unread, as a file without a caption does.
            reply = await self._answer(update, bot, message, message.from_user, caption, state)
            if operator_chat is not None and (reply.handed_off or reply.kind == "forwarded"):
                # The operators now own the conversation: they get the file, as during a handoff. The
                # question's answer may well have been in it (a screenshot of an error).
                with contextlib.suppress(TelegramError):
                    copy = await bot.copy_message(operator_chat, message.chat.id, message.message_id)
                    self._copied(copy.message_id, reply.conversation_id)
            return
        language = await self._language(update)
        await self._reply(update, bot, texts.translate(tg_texts.MEDIA, language))

    async def _forward_media(
        self, update: Update, bot: Bot, message: Message, customer: Customer, caption: str
    ) -> None:
        kinds = ("photo", "document", "video", "voice", "audio", "sticker")
        kind = next((name for name in kinds if getattr(message, name)), "file")
        text = f"[{kind}] {caption}".strip()
        final: Reply | None = None
        async for item in self.conversations.ask(customer, text, external_message_id=str(message.message_id)):
            if isinstance(item, Reply):
                final = item
        operator_chat = self.settings.operator_chat_id
        if final is not None and final.kind == "forwarded" and operator_chat is not None:
            # Forwarded and logged as text; the customer gets no reply, as for any forwarded message.
            with contextlib.suppress(TelegramError):
                copy = await bot.copy_message(operator_chat, message.chat.id, message.message_id)
                self._copied(copy.message_id, final.conversation_id)
            return
        # The log was down, or the handoff ended between the check and the question: the file reached no
        # one, and the customer is told so rather than left without a reply.
        reply_text = final.text if final is not None and final.kind in ("unavailable", "notice") else ""
        language = final.language if final is not None else UNDETERMINED
        await self._reply(update, bot, reply_text or texts.translate(tg_texts.MEDIA, language))

    async def _flood_notice(self, customer: Customer, language: str, *, handoff_only: bool = False) -> str:
        """The notice for the first message over the flood limit, true for where the ones before it went: to
        the operators during a handoff (the bot answers none of them), else to the bot. `handoff_only`: ""
        out of a handoff."""
        try:
            handoff = (await self.conversations.conversation(customer)).handoff != "none"
        except StoreUnavailableError:
            # The log cannot say whether a person has the conversation: the plain notice, as before.
            handoff = False
        if handoff:
            return texts.translate(tg_texts.FLOOD_HANDOFF, language)
        return "" if handoff_only else texts.translate(tg_texts.FLOOD, language)

    def _copied(self, message_id: int, conversation_id: int | None) -> None:
        """A customer's file copied to the operator chat carries no header: an operator's reply to the copy
        still reaches that customer."""
        if conversation_id is not None:
            self.operators.desk.remember(message_id, conversation_id)

    async def _prompt_reply(self, update: Update, message: Message, user: User, bot: Bot) -> bool:
        """A reply to one of our ForceReply prompts (👎 comment or ✏️ correction); True when handled."""
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or replied.from_user.id != bot.id:
            return False
        text = (message.text or "").strip()
        if not text:
            return False
        language = self.conversations.language_of_text(text, customer_of(user, message.chat.id))
        try:
            # Prompts live in the log, so a reply after a restart still reaches its answer.
            prompt = await self.conversations.take_reply(
                "telegram", str(message.chat.id), str(replied.message_id), str(user.id)
            )
            if prompt is None:
                return False
            if prompt.kind == "comment":
                await self.conversations.comment(prompt.answer_id, text)
                await self._reply(update, bot, texts.translate(texts.FEEDBACK_COMMENT_SAVED, language))
            else:
                refusal = admin_refusal(self.admin_ids, update)
                if refusal is not None:
                    log_refusal(update, "correction", refusal)
                    await self._reply(update, bot, texts.translate(texts.NOT_ALLOWED, language))
                    return True
                if not has_words(text):
                    # The prompt was taken: put it back, so the admin's next reply still reaches the answer.
                    await self.conversations.await_reply(
                        "telegram", str(message.chat.id), str(replied.message_id), prompt
                    )
                    await self._reply(update, bot, texts.translate(texts.CORRECTION_NEEDS_WORDS, language))
                    return True
                approved = await self.conversations.correct(prompt.answer_id, str(user.id), text)
                if approved is None:
                    saved = texts.translate(texts.CORRECTION_SAVED, language)
                else:
                    saved = texts.translate(texts.APPROVED_SAVED, language).format(id=approved.id)
                await self._reply(update, bot, saved)
        except StoreUnavailableError:
            await self._reply(update, bot, texts.translate(texts.DB_DOWN, language))
        return True

    # -- buttons -----------------------------------------------------------------------------------

    async def on_callback(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        origin = query.message if isinstance(query.message, Message) else None
        bot = context.bot
        user = query.from_user
        if data.startswith(END_PREFIX):
            await self._end_from_button(query, origin, data, bot)
            return
        kind, _, rest = data.partition(":")
        # fb:<rating>[:<owner>][:<language>], human[:<owner>][:<language>], fix[:<language>]: buttons sent
        # before languages had none and answer in the user's hint; an owner (buttons sent before the log
        # decided whose an answer is) is ignored.
        fields = rest.split(":") if rest else []
        rating = fields.pop(0) if kind == "fb" and fields else ""
        language = hint_of(update)
        # The client sends the data back: only a language code is taken as one (it reaches operators).
        if fields and _LANGUAGE_CODE.fullmatch(fields[-1]):
            language = fields[-1]

        def t(message: str) -> str:
            return texts.translate(message, language)

        if origin is None or kind not in ("fb", "human", "fix", "see"):
            await query.answer(t(tg_texts.BUTTON_EXPIRED))
            return
        chat_id = origin.chat.id
        try:
            if kind == "fix":
                # Callback data comes from the client: authorization is checked again here, not trusted.
                refusal = admin_refusal(self.admin_ids, update)
                if refusal is not None:
                    log_refusal(update, "correct-button", refusal)
                    await query.answer(t(texts.NOT_ALLOWED), show_alert=True)
                    return
                found = await self._answer_behind(query, origin, language)
                if found is None:
                    return
                await self._ask(
                    bot,
                    chat_id,
                    origin.message_id,
                    t(tg_texts.CORRECTION_ASK),
                    ReplyPrompt("correct", found.id, str(user.id)),
                )
                await query.answer()
                return
            if chat_id == self.settings.operator_chat_id or (kind == "fb" and rating not in ("up", "down")):
                # Not data this bot sent (or a customer's button copied into the operator chat).
                await query.answer(t(tg_texts.BUTTON_EXPIRED))
                return
            if kind == "human":
                await self._human_from_button(update, query, origin, bot, language)
                return
            if kind == "see":
                await self._see_also_press(update, query, origin, bot, data, language)
                return
            found = await self._answer_behind(query, origin, language)
            if found is None:
                return
            if found.external_user_id != str(user.id):
                # In a group everyone sees the buttons: only the asker rates their answer (and comments).
                await query.answer(texts.translate(tg_texts.BUTTON_NOT_YOURS, hint_of(update)))
                return
            await self.conversations.rate(found.id, "up" if rating == "up" else "down")
            if rating == "up":
                await query.answer(t(texts.FEEDBACK_THANKS))
            else:
                await self._ask(
                    bot,
                    chat_id,
                    origin.message_id,
                    t(tg_texts.FEEDBACK_ASK_COMMENT),
                    ReplyPrompt("comment", found.id, str(user.id)),
                )
                await query.answer()
        except StoreUnavailableError:
            await query.answer(t(texts.DB_DOWN), show_alert=True)

    async def _see_also_press(
        self, update: Update, query: CallbackQuery, origin: Message, bot: Bot, data: str, language: str
    ) -> None:
        """A "see also" button: its section's heading is the asker's next question, answered under the answer
        like a typed one (logged, streamed, with its own buttons).

        The heading is the one logged with the answer (`MessageRef.see_also`, whole where the button clips a
        long one), else, for an answer logged before the list was, the pressed button's text; never the
        data (64 bytes cannot hold a long heading). A forged press can only ask a question its presser
        could type, and only the asker may press, as for the other buttons."""
        pressed = button_with(origin, data)
        if pressed is None:
            await query.answer(texts.translate(tg_texts.BUTTON_EXPIRED, language))
            return
        found = await self._answer_behind(query, origin, language)
        if found is None:
            return
        shown = pressed.text.removeprefix(SEE_ALSO_MARK).removesuffix("…").strip()
        title = _see_also_title(found.see_also, data) or shown
        if not title:
            await query.answer(texts.translate(tg_texts.BUTTON_EXPIRED, language))
            return
        user = query.from_user
        if found.external_user_id != str(user.id):
            await query.answer(texts.translate(tg_texts.BUTTON_NOT_YOURS, hint_of(update)))
            return
        state = self.processor.state(update)
        verdict = await self.flood.judge(user.id, state)
        if verdict != "ok":
            log.info("flood control", extra={"user_id": user.id, "verdict": verdict})
            customer = customer_of(user, origin.chat.id)
            flood = await self._flood_notice(customer, language) if verdict == "notice" else None
            await query.answer(flood)
            return
        await query.answer()
        await self._answer(update, bot, origin, user, title, state, external_message_id="", standalone=True)

    async def _human_from_button(
        self, update: Update, query: CallbackQuery, origin: Message, bot: Bot, language: str
    ) -> None:
        """The "Talk to a human" button under an answer: the presser's own conversation goes to the operators.

        Not an authorization check: it hands off the presser themselves, which anyone may do with /human,
        so a forged press gains nothing. Only the asker may press it all the same: in a group, someone who
        presses it under another's answer most likely means that person, and would instead be handed off
        themselves, announced to the operators in the asker's language. An answer no longer in the log (or
        never mapped to its message) does not stop it: the presser is handed off in their own
        conversation's language, as /human would do.
        """
        chat_id, user = origin.chat.id, query.from_user
        found = await self.conversations.shown_message("telegram", str(chat_id), str(origin.message_id))
        if found is not None and found.external_user_id != str(user.id):
            await query.answer(texts.translate(tg_texts.BUTTON_NOT_YOURS, hint_of(update)))
            return
        reply = await self.conversations.request_handoff(
            customer_of(user, chat_id),
            'the user pressed "Talk to a human"',
            language=language if found is not None else None,
        )
        await query.answer()
        await bot.send_message(chat_id, escape(reply), parse_mode=ParseMode.HTML)

    async def _answer_behind(self, query: CallbackQuery, origin: Message, language: str) -> MessageRef | None:
        """The logged answer a button sits under; None (and the user told) once it is gone from the log."""
        found = await self.conversations.shown_message(
            "telegram", str(origin.chat.id), str(origin.message_id)
        )
        if found is None:
            await query.answer(texts.translate(texts.FEEDBACK_EXPIRED, language))
        return found

    async def _end_from_button(
        self, query: CallbackQuery, origin: Message | None, data: str, bot: Bot
    ) -> None:
        answer_query = query.answer
        operator_chat = self.settings.operator_chat_id
        if origin is None or operator_chat is None or origin.chat.id != operator_chat:
            log.warning(
                "end-handoff button outside the operator chat refused",
                extra={"chat_id": origin.chat.id if origin else None},
            )
            await answer_query(texts.NOT_ALLOWED, show_alert=True)  # the operator chat is English
            return
        conversation_id = parse_id(data[len(END_PREFIX) :])
        if conversation_id is None:
            await answer_query(tg_texts.BUTTON_EXPIRED)
            return
        ended = await self.operators.end(bot, conversation_id, origin.message_id)
        await answer_query("Handoff ended." if ended else "This handoff was already closed.")

    async def _ask(self, bot: Bot, chat_id: int, reply_to: int, text: str, prompt: ReplyPrompt) -> None:
        """Send a ForceReply prompt and remember it; the prompt is taken back when it cannot be remembered.

        Sent first, since the prompt is keyed by its own message id. Left on screen unremembered, it would
        take the user's comment or correction as a new question for the model."""
        sent = await bot.send_message(
            chat_id,
            escape(text),
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(selective=True),
            reply_parameters=ReplyParameters(message_id=reply_to, allow_sending_without_reply=True),
        )
        try:
            await self.conversations.await_reply("telegram", str(chat_id), str(sent.message_id), prompt)
        except StoreUnavailableError:
            with contextlib.suppress(TelegramError):
                await bot.delete_message(chat_id, sent.message_id)
            raise

    # -- errors ------------------------------------------------------------------------------------

    async def on_error(self, update: object, context: Context) -> None:
        """Log the exception; show the user one fixed, friendly message (never the exception's text)."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error(
            "update failed",
            exc_info=context.error,
            extra={"update_id": update_id, "error": context.error.__class__.__name__},
        )
        if not isinstance(update, Update):
            return
        error_text = texts.translate(texts.ERROR, hint_of(update))
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(error_text, show_alert=True)
                return
            state = self.processor.state(update)
            chat = update.effective_chat
            if chat is None or update.message is None:
                return
            if state.reply_message_id == -1:
                return  # the admin already got complete output for this update
            if state.reply_message_id is not None and state.reply_chat_id is not None:
                await context.bot.edit_message_text(
                    escape(error_text),
                    chat_id=state.reply_chat_id,
                    message_id=state.reply_message_id,
                    parse_mode=ParseMode.HTML,
                )
                return
            if not self._addressed(update.message, context.bot)[0]:
                return
            await self._reply(update, context.bot, error_text)
        except TelegramError as exc:
            log.warning("could not show the error message", extra={"error": exc.__class__.__name__})

    # -- helpers -----------------------------------------------------------------------------------

    def _addressed(self, message: Message, bot: Bot) -> tuple[bool, str]:
        """Whether a message is meant for the bot (always in private; in groups when mentioned or replied
        to), and its text with the mention removed."""
        text = message.text or message.caption or ""
        if message.chat.type == ChatType.PRIVATE:
            return True, text
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
            return True, text
        username = (bot.username or "").lower()
        if not username:
            return False, text
        mentioned = False
        # A caption mentions the bot in its own entities ("@bot what is this error?" under a screenshot).
        entities = (
            message.parse_entities([MessageEntity.MENTION])
            if message.text is not None
            else message.parse_caption_entities([MessageEntity.MENTION])
        )
        for value in entities.values():
            if value.lower() == f"@{username}":
                mentioned = True
        if not mentioned and text.startswith("/"):
            # Commands reach a group bot only when addressed to it (privacy mode) or as /cmd@bot.
            mentioned = f"@{username}" in text.split()[0].lower()
        if not mentioned:
            return False, text
        cleaned = " ".join(part for part in text.split(" ") if part.lower() != f"@{username}")
        return True, cleaned

    async def _reply(self, update: Update, bot: Bot, text: str) -> None:
        """Send a fixed text as this update's (single) reply."""
        chat = update.effective_chat
        if chat is None:
            return
        state = self.processor.state(update)
        message = update.message
        reply = (
            ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
            if message is not None and chat.type != ChatType.PRIVATE
            else None
        )
        parts = compose(text)
        sent: Message | None = None
        for index, part in enumerate(parts):
            sent = await bot.send_message(
                chat.id,
                part,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_parameters=reply if index == 0 else None,
            )
        if sent is not None:
            state.reply_chat_id = chat.id
            state.reply_message_id = sent.message_id
