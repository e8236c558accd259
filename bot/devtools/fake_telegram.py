"""A fake Telegram Bot API server: a test and benchmark double, never used to talk to real users.

`FakeTelegram` holds the state (chats, messages, files, pending updates, webhook) and answers Bot API
methods the way Telegram does, including its refusals: HTML parse-mode entities are validated (unsupported
or unbalanced tags are rejected), texts over 4096 UTF-16 units and empty texts are rejected, a no-op edit
fails with "message is not modified", callback data is limited to 64 bytes. Every call is recorded with a
timestamp, so tests and `bench telegram`/`bench load` can check what users saw and when.

Two ways in:
- `FakeTelegramServer` serves it over HTTP (aiohttp) at `base_url`/`base_file_url`, for end-to-end runs
  through python-telegram-bot's real HTTP client, including long polling and webhook delivery.
- `FakeRequest` is a python-telegram-bot request object that calls the same state machine in-process, for
  fuzzing thousands of updates without sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.channels.telegram.tg_html import MAX_MESSAGE_CHARS, utf16_len
from bot.devtools.telegram_html import ParseError, parse_html

log = logging.getLogger("bot.devtools.fake_telegram")

MAX_CALLBACK_DATA_BYTES = 64  # the Bot API's limit on a button's callback data

BOT_ID = 7_000_000_001
BOT_USERNAME = "support_test_bot"
DEFAULT_TOKEN = "123456:TEST-TOKEN-fake"  # noqa: S105 - a fake server's token, not a secret
_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses larger files, like the real Bot API
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Parameters whose wire value is a plain string even when it looks like JSON or a number.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "file_id",
        "action",
        "description",
        "short_description",
        "name",
        "language_code",
        "ip_address",
        "inline_message_id",
        "document",
        "message_thread_id_str",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class ApiError(Exception):
    """A Bot API refusal: becomes `{"ok": false, "error_code": ..., "description": ...}`."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class ApiCall:
    """One recorded Bot API request."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic()
    ok: bool = True
    error: str = ""
    result: Any = None
    done_at: float = 0.0  # when the answer was ready: what the user saw, and when


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    from_bot: bool
    data: dict[str, Any]  # the message object as Telegram would return it
    html: str | None = None  # what the bot sent, before entity parsing
    reply_to: int | None = None
    edits: int = 0
    sent_at: float = field(default_factory=time.monotonic)
    edited_at: float | None = None


@dataclass
class _Failure:
    code: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class StoredFile:
    file_id: str
    unique_id: str
    data: bytes
    file_path: str
    file_name: str = ""
    mime_type: str = ""


def user(
    user_id: int, first_name: str = "Test", *, username: str | None = None, is_bot: bool = False
) -> dict[str, Any]:
    """A Telegram `User` object."""
    out: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if username:
        out["username"] = username
    return out


def private_chat(of_user: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": of_user["id"], "type": "private", "first_name": of_user.get("first_name", "")}


def group_chat(chat_id: int, title: str = "Test group", *, supergroup: bool = True) -> dict[str, Any]:
    if chat_id >= 0:
        raise ValueError("group chat ids are negative")
    return {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}


class FakeTelegram:
    """State and method implementations of the fake Bot API. Use from one event loop."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_id: int = BOT_ID,
        bot_username: str = BOT_USERNAME,
        keep_calls: bool = True,
    ) -> None:
        self.token = token
        # Long benches turn the call list off: it grows with every request and would show up as the bot's
        # memory. Counters and listeners still see every call.
        self.keep_calls = keep_calls
        self.me = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Support",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[ApiCall] = []
        self.call_counts: Counter[str] = Counter()
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.files: dict[str, StoredFile] = {}
        self.documents_sent: list[tuple[int, str, bytes]] = []  # (chat_id, file name, content)
        # Per language code ("" is the default menu), as Telegram keeps them.
        self.command_menus: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {}
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self.answered_callbacks: dict[str, dict[str, Any]] = {}
        self.latency_s = 0.0
        # Called with every recorded call after it completes: how benches observe without polling.
        self.listeners: list[Callable[[ApiCall], None]] = []
        self._pending: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._failures: dict[str, list[_Failure]] = {}
        self._changed: asyncio.Event | None = None
        self._delivery_tasks: set[asyncio.Task[None]] = set()
        self._session: Any = None  # aiohttp.ClientSession for webhook delivery, created on demand

    # -- test and bench controls -----------------------------------------------------------------

    def add_chat(self, chat: Mapping[str, Any]) -> None:
        self.chats[int(chat["id"])] = dict(chat)

    def fail_next(
        self,
        method: str,
        *,
        code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail like Telegram (429 gets `retry_after`)."""
        if code == 429 and retry_after is None:
            retry_after = 1
        text = description or (
            f"Too Many Requests: retry after {retry_after or 0}" if code == 429 else "Error"
        )
        self._failures.setdefault(method, []).append(_Failure(code, text, retry_after, times))

    def add_file(
        self, data: bytes, file_name: str, mime_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Store a file as if a user uploaded it; returns the `Document` object to put in a message."""
        number = next(self._file_ids)
        stored = StoredFile(
            file_id=f"FILE{number:06d}",
            unique_id=f"U{number:06d}",
            data=data,
            file_path=f"documents/file_{number}{_suffix(file_name)}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def message_update(
        self,
        sender: Mapping[str, Any] | None,
        text: str | None = None,
        *,
        chat: Mapping[str, Any] | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        edited: bool = False,
        update_id: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A `message` (or `edited_message`) update from `sender` in `chat` (their private chat by default).

        Extra keyword arguments become message fields (`document=`, `sticker=`, `photo=`, `sender_chat=` ...).
        """
        if chat is None:
            if sender is None:
                raise ValueError("a message without a sender needs an explicit chat")
            chat = private_chat(sender)
        self.add_chat(chat)
        chat_id = int(chat["id"])
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": dict(chat),
        }
        if sender is not None:
            message["from"] = dict(sender)
        if text is not None:
            message["text"] = text
            if entities:
                message["entities"] = entities
            elif text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        if reply_to is not None:
            replied = self.messages.get((chat_id, reply_to))
            if replied is not None:
                message["reply_to_message"] = dict(replied.data)
        message.update(extra)
        stored = StoredMessage(chat_id, message["message_id"], False, message, reply_to=reply_to)
        self.messages[(chat_id, message["message_id"])] = stored
        kind = "edited_message" if edited else "message"
        if edited:
            message["edit_date"] = int(time.time())
        return {"update_id": update_id if update_id is not None else self.next_update_id(), kind: message}

    def callback_update(
        self,
        sender: Mapping[str, Any],
        chat_id: int,
        message_id: int,
        data: str,
        *,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A button press on message `message_id` of `chat_id`."""
        stored = self.messages.get((chat_id, message_id))
        if stored is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        query_id = f"CBQ{next(self._callback_ids)}"
        query = {
            "id": query_id,
            "from": dict(sender),
            "chat_instance": f"ci{chat_id}",
            "message": dict(stored.data),
            "data": data,
        }
        return {
            "update_id": update_id if update_id is not None else self.next_update_id(),
            "callback_query": query,
        }

    def inject(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates, or deliver it to the webhook when one is set."""
        payload = dict(update)
        if "update_id" not in payload:
            payload["update_id"] = self.next_update_id()
        if self.webhook.get("url"):
            task = asyncio.get_running_loop().create_task(self._deliver(payload))
            self._delivery_tasks.add(task)
            task.add_done_callback(self._delivery_tasks.discard)
        else:
            self._pending.append(payload)
        self._notify()
        return int(payload["update_id"])

    def bot_messages(self, chat_id: int) -> list[StoredMessage]:
        """Messages the bot sent to `chat_id`, in order."""
        found = [m for (cid, _), m in self.messages.items() if cid == chat_id and m.from_bot]
        return sorted(found, key=lambda m: m.message_id)

    def forget_messages(self, chat_id: int, *, before: int) -> int:
        """Drop the stored messages of `chat_id` with ids below `before` (a bench's finished turns)."""
        old = [key for key in self.messages if key[0] == chat_id and key[1] < before]
        for key in old:
            del self.messages[key]
        return len(old)

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_until(self, predicate: Callable[[], bool], within_s: float = 10.0) -> None:
        """Wait until `predicate()` holds, re-checking after every recorded call; raise TimeoutError."""
        deadline = time.monotonic() + within_s
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not reached in time")
            event = self._event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.25))

    async def aclose(self) -> None:
        for task in list(self._delivery_tasks):
            task.cancel()
        for task in list(self._delivery_tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- dispatch ----------------------------------------------------------------------------------

    async def call(
        self, method: str, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]] | None = None
    ) -> dict[str, Any]:
        """Run one Bot API method; returns the JSON response body (ok or error)."""
        record = ApiCall(method=method, params=dict(params), at=time.monotonic())
        self.call_counts[method] += 1
        if self.keep_calls:
            self.calls.append(record)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            self._maybe_fail(method)
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(dict(params), dict(files or {}))
        except ApiError as exc:
            record.ok, record.error = False, exc.description
            self._finish(record)
            return exc.payload()
        record.result = result
        self._finish(record)
        return {"ok": True, "result": result}

    def _finish(self, record: ApiCall) -> None:
        record.done_at = time.monotonic()
        for listener in self.listeners:
            try:
                listener(record)
            except Exception:
                log.exception("fake API listener failed")
        self._notify()

    def _maybe_fail(self, method: str) -> None:
        queue = self._failures.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        raise ApiError(failure.code, failure.description, failure.retry_after)

    # -- methods -----------------------------------------------------------------------------------

    async def _m_getme(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return dict(self.me)

    async def _m_logout(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return True

    async def _m_close(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return True

    async def _m_getupdates(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, min(50.0, float(params.get("timeout") or 0)))
        if offset:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while True:
            ready = [u for u in self._pending if u["update_id"] >= offset][:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return ready
            event = self._event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _m_setwebhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if url and not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": params.get("allowed_updates")}
        if url:
            for update in self._pending:
                self.inject(update)
            self._pending.clear()
        return True

    async def _m_deletewebhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _m_setmycommands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands must be a list")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("command description is invalid")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("language code is invalid")  # Telegram takes two-letter ISO 639-1 codes only
        self.command_menus[language] = list(commands)
        return True

    async def _m_getmycommands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return list(self.command_menus.get(str(params.get("language_code") or ""), []))

    async def _m_deletemycommands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self.command_menus.pop(str(params.get("language_code") or ""), None)
        return True

    async def _m_setmydescription(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return True

    async def _m_setmyshortdescription(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return True

    async def _m_getchat(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return dict(self._chat(params))

    async def _m_sendchataction(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _m_sendmessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._chat(params)
        text, entities = _parse_text(params, "text")
        markup = _check_markup(params.get("reply_markup"))
        return self._store_bot_message(
            chat, {"text": text, **({"entities": entities} if entities else {})}, params, markup
        )

    async def _m_editmessagetext(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the fake")
        chat = self._chat(params)
        stored = self.messages.get((int(chat["id"]), int(params.get("message_id") or 0)))
        if stored is None:
            raise _bad("message to edit not found")
        if not stored.from_bot:
            raise _bad("message can't be edited")
        text, entities = _parse_text(params, "text")
        markup = _inline_only(_check_markup(params.get("reply_markup")))
        if (
            stored.data.get("text") == text
            and stored.data.get("entities", []) == entities
            and stored.data.get("reply_markup") == markup
        ):
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        stored.data["text"] = text
        stored.data.pop("entities", None)
        if entities:
            stored.data["entities"] = entities
        stored.data.pop("reply_markup", None)
        if markup is not None:
            stored.data["reply_markup"] = markup
        stored.data["edit_date"] = int(time.time())
        stored.html = str(params.get("text")) if params.get("parse_mode") == "HTML" else None
        stored.edits += 1
        stored.edited_at = time.monotonic()
        return dict(stored.data)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._chat(params)
        stored = self.messages.get((int(chat["id"]), int(params.get("message_id") or 0)))
        if stored is None or not stored.from_bot:
            raise _bad("message to edit not found")
        markup = _inline_only(_check_markup(params.get("reply_markup")))
        if stored.data.get("reply_markup") == markup:
            raise _bad("message is not modified")
        stored.data.pop("reply_markup", None)
        if markup is not None:
            stored.data["reply_markup"] = markup
        stored.edits += 1
        stored.edited_at = time.monotonic()
        return dict(stored.data)

    async def _m_deletemessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._chat(params)
        if self.messages.pop((int(chat["id"]), int(params.get("message_id") or 0)), None) is None:
            raise _bad("message to delete not found")
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if not query_id.startswith("CBQ"):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.answered_callbacks[query_id] = dict(params)
        return True

    async def _m_copymessage(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._chat(params)
        source = self._chat({"chat_id": params.get("from_chat_id")})
        original = self.messages.get((int(source["id"]), int(params.get("message_id") or 0)))
        if original is None:
            raise _bad("message to copy not found")
        copied_fields = ("text", "entities", "caption", "caption_entities", "photo", "document", "video")
        content = {k: v for k, v in original.data.items() if k in copied_fields or k in ("sticker", "voice")}
        stored = self._store_bot_message(chat, content, params, _check_markup(params.get("reply_markup")))
        return {"message_id": stored["message_id"]}  # copyMessage returns a MessageId, not the Message

    async def _m_senddocument(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        chat = self._chat(params)
        upload = files.get("document")
        if upload is not None:
            name, content = upload
        else:
            ref = str(params.get("document") or "")
            stored_file = self.files.get(ref)
            if stored_file is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            name, content = stored_file.file_name, stored_file.data
        if not content:
            raise _bad("file must be non-empty")
        if len(content) > 50 * 1024 * 1024:
            raise ApiError(413, "Request Entity Too Large")
        caption_fields: dict[str, Any] = {}
        if params.get("caption"):
            caption, entities = _parse_text(params, "caption", limit=1024)
            caption_fields = {"caption": caption, **({"caption_entities": entities} if entities else {})}
        document = self.add_file(content, name or "document")
        self.documents_sent.append((int(chat["id"]), name, content))
        markup = _check_markup(params.get("reply_markup"))
        return self._store_bot_message(chat, {"document": document, **caption_fields}, params, markup)

    async def _m_getfile(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > _MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def download(self, file_path: str) -> bytes | None:
        for stored in self.files.values():
            if stored.file_path == file_path:
                return stored.data
        return None

    # -- helpers -----------------------------------------------------------------------------------

    def _chat(self, params: Mapping[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        try:
            chat_id = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _store_bot_message(
        self, chat: Mapping[str, Any], content: dict[str, Any], params: Mapping[str, Any], markup: Any
    ) -> dict[str, Any]:
        chat_id = int(chat["id"])
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": dict(chat),
            "from": dict(self.me),
            **content,
        }
        reply_to = _reply_target(params)
        if reply_to is not None:
            replied = self.messages.get((chat_id, reply_to))
            if replied is not None:
                message["reply_to_message"] = {
                    k: v for k, v in replied.data.items() if k != "reply_to_message"
                }
            elif not _allow_without_reply(params):
                raise _bad("message to be replied not found")
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes only inline keyboards back
        html = str(params.get("text")) if params.get("parse_mode") == "HTML" and "text" in params else None
        self.messages[(chat_id, message["message_id"])] = StoredMessage(
            chat_id, message["message_id"], True, message, html=html, reply_to=reply_to
        )
        return message

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _deliver(self, update: dict[str, Any]) -> None:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        headers = {"Content-Type": "application/json"}
        secret = self.webhook.get("secret_token")
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(secret)
        try:
            async with self._session.post(
                self.webhook["url"], data=json.dumps(update), headers=headers
            ) as resp:
                self.webhook_deliveries.append((int(update["update_id"]), resp.status))
        except aiohttp.ClientError as exc:
            log.warning("webhook delivery failed", extra={"error": exc.__class__.__name__})
            self.webhook_deliveries.append((int(update["update_id"]), 0))
        self._notify()


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 and re.fullmatch(r"\.[A-Za-z0-9]{1,8}", name[dot:]) else ""


def _reply_target(params: Mapping[str, Any]) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, Mapping) and reply.get("message_id") is not None:
        return int(reply["message_id"])
    if params.get("reply_to_message_id") is not None:
        return int(params["reply_to_message_id"])
    return None


def _allow_without_reply(params: Mapping[str, Any]) -> bool:
    reply = params.get("reply_parameters")
    if isinstance(reply, Mapping):
        return bool(reply.get("allow_sending_without_reply"))
    return bool(params.get("allow_sending_without_reply"))


def _parse_text(
    params: Mapping[str, Any], key: str, limit: int = MAX_MESSAGE_CHARS
) -> tuple[str, list[dict[str, Any]]]:
    raw = params.get(key)
    if raw is None:
        raise _bad(f"message {key} is empty")
    raw = str(raw)
    mode = params.get("parse_mode")
    if mode == "HTML":
        try:
            text, entities = parse_html(raw)
        except ParseError as exc:
            raise _bad(str(exc)) from None
        entity_dicts = [
            {"type": e.type, "offset": e.offset, "length": e.length, **({"url": e.url} if e.url else {})}
            for e in entities
        ]
    elif mode in (None, ""):
        text, entity_dicts = raw, []
    elif mode in ("MarkdownV2", "Markdown"):
        text, entity_dicts = raw, []  # the bot never uses Markdown; accepted verbatim
    else:
        raise _bad(f"unsupported parse_mode {mode!r}")
    if not text.strip():
        raise _bad(f"message {key} is empty")
    if utf16_len(text) > limit:
        raise _bad("message is too long" if key == "text" else "message caption is too long")
    return text, entity_dicts


def _check_markup(markup: Any) -> Any:
    if markup is None:
        return None
    if not isinstance(markup, Mapping):
        raise _bad("can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is not None:
        if not isinstance(keyboard, list):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
        for row in keyboard:
            if not isinstance(row, list):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
            for button in row:
                if not isinstance(button, Mapping) or not str(button.get("text", "")).strip():
                    raise _bad("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad("BUTTON_DATA_INVALID")
                if data is None and not button.get("url"):
                    raise _bad("inline keyboard button needs callback_data or url")
    return dict(markup)


def _inline_only(markup: Any) -> Any:
    return markup if isinstance(markup, Mapping) and "inline_keyboard" in markup else None


def decode_params(raw: Mapping[str, str]) -> dict[str, Any]:
    """Decode python-telegram-bot's wire form: strings stay strings, everything else is JSON."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _STRING_PARAMS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except (ValueError, TypeError):
            params[key] = value
    return params


class FakeTelegramServer:
    """Serves a `FakeTelegram` over HTTP on 127.0.0.1 (port 0 = any free port)."""

    def __init__(self, fake: FakeTelegram | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake or FakeTelegram()
        self.host = host
        self.port = port
        self._runner: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> FakeTelegramServer:
        from aiohttp import web

        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        await self.fake.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _api(self, request: Any) -> Any:
        from aiohttp import web

        if request.match_info["token"] != self.fake.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return web.json_response(
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid JSON"}, status=400
                )
            params = dict(body) if isinstance(body, dict) else {}
        elif request.method == "POST":
            form = await request.post()
            raw: dict[str, str] = {}
            for key, value in form.items():
                if hasattr(value, "file"):
                    files[key] = (str(value.filename or key), value.file.read())
                else:
                    raw[key] = str(value)
            params = decode_params(raw)
        else:
            params = decode_params(dict(request.query))
        response = await self.fake.call(request.match_info["method"], params, files)
        status = 200 if response.get("ok") else int(response.get("error_code", 400))
        return web.json_response(response, status=status)

    async def _file(self, request: Any) -> Any:
        from aiohttp import web

        if request.match_info["token"] != self.fake.token:
            return web.Response(status=401)
        data = self.fake.download(request.match_info["path"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data)


def make_fake_request(fake: FakeTelegram) -> Any:
    """A python-telegram-bot request object that serves calls from `fake` in-process (no sockets)."""
    from telegram.request import BaseRequest, RequestData

    class FakeRequest(BaseRequest):
        @property
        def read_timeout(self) -> float | None:
            return 5.0

        async def initialize(self) -> None:
            return None

        async def shutdown(self) -> None:
            return None

        async def do_request(
            self,
            url: str,
            method: str,
            request_data: RequestData | None = None,
            read_timeout: Any = None,
            write_timeout: Any = None,
            connect_timeout: Any = None,
            pool_timeout: Any = None,
        ) -> tuple[int, bytes]:
            marker = "/file/bot"
            if marker in url:
                data = fake.download(url.split(marker, 1)[1].split("/", 1)[1])
                return (200, data) if data is not None else (404, b"")
            api_method = url.rsplit("/", 1)[-1]
            raw = request_data.json_parameters if request_data is not None else {}
            files: dict[str, tuple[str, bytes]] = {}
            if request_data is not None and request_data.contains_files:
                for name, value in (request_data.multipart_data or {}).items():
                    if isinstance(value, tuple):
                        content = value[1]
                        files[name] = (
                            str(value[0]),
                            content if isinstance(content, bytes) else content.read(),
                        )
                raw = {k: v for k, v in raw.items() if k not in files}
            response = await fake.call(api_method, decode_params(raw), files)
            status = 200 if response.get("ok") else int(response.get("error_code", 400))
            return status, json.dumps(response).encode("utf-8")

    return FakeRequest()
