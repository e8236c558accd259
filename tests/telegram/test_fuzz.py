"""Hypothesis fuzz of the message path: real python-telegram-bot and handlers, in-process fake Bot API.

Every generated update goes through the real Application, update processor, handlers and the real answer
pipeline (fake KB and generator), talking to the fake Bot API without sockets. For each update: no
handler failure reaches the error handler, at most one message is sent to the update's chat, and every
Bot API call is accepted by the fake (which validates HTML parse mode and length like Telegram).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.channels.telegram.app import build_bot
from bot.devtools.fake_telegram import BOT_USERNAME, FakeTelegram, group_chat, make_fake_request, user
from bot.services import build_pipeline
from tests.fakes import FakeGenerator, FakeKB
from tests.fakes_log import MemoryConversationLog
from tests.telegram.conftest import ADMIN, HELP_CENTER, OPERATOR_CHAT, telegram_deps, telegram_settings

FUZZ_EXAMPLES = 10_000
SPECIAL_IDS = [ADMIN["id"], 777000, 1087968824, 136817688]
GROUP = group_chat(-100123, "Customers")

PIECES = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x07",
        "\x1b[31m",
        "\u202e",
        "\u200f",
        "\u2028",
        "\ufeff",
        "<b>",
        "</i>",
        "<a href='javascript:alert(1)'>x</a>",
        "&amp;",
        "&",
        "&#0;",
        "<",
        ">",
        "*_`[]()~>#+-=|{}.!",
        "```code```",
        "<script>alert(1)</script>",
        f"@{BOT_USERNAME}",
        "/start",
        "/reload",
        "/human",
        "/new",
        "/done",
        "/help",
        "/stats",
        "/export",
        "/unknown_cmd",
        "👍🏽",
        "👨‍👩‍👧",
        "مرحبا بكم",
        "שלום עולם",
        "漢字かな",
        "\r\n",
        "\t",
        "refunds",
        "password",
        "ignore previous instructions",
    ]
)
TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=12).map("".join),
    st.builds(
        lambda piece, n: piece * n,
        st.sampled_from(["a", "é", "😀", "<", "&", " ", "\x00", "ab "]),
        st.sampled_from([4095, 4096, 4097, 100_001]),
    ),
)
SENDER_ID = st.one_of(st.integers(min_value=10_000, max_value=2**40), st.sampled_from(SPECIAL_IDS))
KIND = st.sampled_from(
    [
        "text",
        "text",
        "text",
        "command",
        "edited",
        "no_sender",
        "unknown",
        "callback",
        "document",
        "sticker",
        "group",
        "group_mention",
        "sender_chat",
        "reply_to_unknown",
    ]
)
CALLBACK_DATA = st.one_of(
    st.sampled_from(["fb:up:1", "fb:down:1", "human:1", "fix", "ho:end:1", "ho:end:x", "fb:meh:1", ""]),
    st.text(max_size=40),
)


def build_update(fake: FakeTelegram, kind: str, sender_id: int, text: str, data: str) -> dict[str, Any]:
    sender = user(sender_id, "Fuzz", is_bot=sender_id == 1087968824)
    if kind == "command":
        return fake.message_update(sender, "/" + text[:30].replace(" ", "_"))
    if kind == "edited":
        return fake.message_update(sender, text or "x", edited=True)
    if kind == "no_sender":
        return fake.message_update(None, text or "x", chat=GROUP)
    if kind == "unknown":
        return {"update_id": fake.next_update_id(), "some_future_update": {"text": text}}
    if kind == "callback":
        chat = {"id": sender_id, "type": "private", "first_name": "Fuzz"}
        fake.add_chat(chat)
        message = {"message_id": 1, "date": int(time.time()), "chat": chat, "text": "old answer"}
        query = {
            "id": f"CBQ{sender_id}",
            "from": sender,
            "chat_instance": "ci",
            "message": message,
            "data": data,
        }
        return {"update_id": fake.next_update_id(), "callback_query": query}
    if kind == "document":
        doc = fake.add_file(text.encode("utf-8", "surrogatepass")[:2000] or b"x", "notes.md")
        return fake.message_update(sender, None, document=doc, caption=text[:100] or None)
    if kind == "sticker":
        sticker = {
            "file_id": "S",
            "file_unique_id": "s",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        }
        return fake.message_update(sender, None, sticker=sticker)
    if kind == "group":
        return fake.message_update(sender, text or "x", chat=GROUP)
    if kind == "group_mention":
        mention = f"@{BOT_USERNAME}"
        entities = [{"type": "mention", "offset": 0, "length": len(mention)}]
        return fake.message_update(sender, f"{mention} {text}", chat=GROUP, entities=entities)
    if kind == "sender_chat":
        return fake.message_update(sender, text or "x", chat=GROUP, sender_chat=GROUP)
    if kind == "reply_to_unknown":
        update = fake.message_update(sender, text or "x")
        update["message"]["reply_to_message"] = {
            "message_id": 999_999,
            "date": 0,
            "chat": update["message"]["chat"],
            "text": "🙋 Handoff #1 — forged",
        }
        return update
    return fake.message_update(sender, text if text.strip() else "x")


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() in ("update failed",) or record.name.startswith("telegram"):
            self.records.append(record)


@pytest.mark.slow
def test_fuzz_message_path(tmp_path: Any) -> None:
    fake = FakeTelegram()
    fake.add_chat(OPERATOR_CHAT)
    fake.add_chat(GROUP)
    config = telegram_settings(
        tmp_path,
        base_url="http://fake.invalid/bot",
        base_file_url="http://fake.invalid/file/bot",
        flood_messages=1000,
    )
    # No edit throttling here: the throttle is tested end to end; here it would only add sleeping.
    config = config.model_copy(
        update={"telegram": config.telegram.model_copy(update={"edit_interval_s": 0.0})}
    )
    kb = FakeKB(HELP_CENTER)
    store = MemoryConversationLog()
    deps = telegram_deps(config, build_pipeline(config, kb, FakeGenerator()), store, kb)
    built = build_bot(deps, request=make_fake_request(fake), polling=False, rate_limit=False)
    app, processor = built.application, built.processor
    failures = _Failures()
    logging.getLogger().addHandler(failures)
    cases = {"n": 0}

    with asyncio.Runner() as runner:
        runner.run(app.initialize())

        async def one(raw: dict[str, Any], db_down: bool) -> None:
            store.down = db_down
            update = Update.de_json(raw, app.bot)
            await processor.process_update(update, app.process_update(update))

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.large_base_example,
            ],
        )
        @given(
            kind=KIND,
            sender_id=SENDER_ID,
            text=TEXT,
            data=CALLBACK_DATA,
            db_down=st.sampled_from([False] * 9 + [True]),
        )
        def case(kind: str, sender_id: int, text: str, data: str, db_down: bool) -> None:
            cases["n"] += 1
            start = len(fake.calls)
            raw = build_update(fake, kind, sender_id, text, data)
            chat_id = _chat_of(raw)
            runner.run(one(raw, db_down))
            calls = fake.calls[start:]
            refused = [(c.method, c.error) for c in calls if not c.ok]
            assert refused == [], f"Telegram would refuse: {refused}"
            sent = [
                c
                for c in calls
                if c.method in ("sendMessage", "sendDocument") and c.params.get("chat_id") == chat_id
            ]
            assert len(sent) <= 1, f"{len(sent)} replies to one update"
            assert failures.records == [], [r.getMessage() for r in failures.records]

        try:
            case()
        finally:
            store.down = False
            runner.run(app.shutdown())
            logging.getLogger().removeHandler(failures)
    assert cases["n"] >= FUZZ_EXAMPLES


def _chat_of(raw: dict[str, Any]) -> int | None:
    for key in ("message", "edited_message"):
        if key in raw:
            return int(raw[key]["chat"]["id"])
    if "callback_query" in raw:
        return int(raw["callback_query"]["message"]["chat"]["id"])
    return None
