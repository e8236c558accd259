"""A photo or file sent with a question as its caption: the caption is answered; the file is not read."""

from __future__ import annotations

from typing import Any

import pytest

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.channels.telegram.render import STREAM_CURSOR
from bot.devtools.fake_telegram import StoredMessage, group_chat
from tests.telegram.conftest import ALICE, OPERATOR_CHAT, Harness, HarnessFactory

PHOTO = [{"file_id": "P1", "file_unique_id": "p1", "width": 90, "height": 90}]
VOICE = {"file_id": "V1", "file_unique_id": "v1", "duration": 3}


async def _send_and_wait(h: Harness, sender: dict[str, Any], **fields: Any) -> StoredMessage:
    """Send a message and wait for the bot's final reply to it (not a preview)."""
    sent = h.send(sender, None, **fields)["message"]
    chat_id, message_id = sent["chat"]["id"], sent["message_id"]

    def final() -> StoredMessage | None:
        for m in h.fake.bot_messages(chat_id):
            if m.reply_to == message_id and not m.data.get("text", "").endswith(STREAM_CURSOR):
                return m
        return None

    await h.fake.wait_until(lambda: final() is not None)
    found = final()
    assert found is not None
    return found


@pytest.mark.parametrize("kind", ["photo", "document", "voice"])
async def test_a_question_in_a_caption_is_answered(make_harness: HarnessFactory, kind: str) -> None:
    h = await make_harness()
    media: dict[str, Any] = {
        "photo": {"photo": PHOTO},
        "document": {"document": h.fake.add_file(b"%PDF-1.4 receipt", "receipt.pdf", "application/pdf")},
        "voice": {"voice": VOICE},
    }[kind]
    final = await _send_and_wait(h, ALICE, caption="How long do refunds take?", **media)
    assert final.data["text"].startswith("Refunds are paid back to the original card within five")
    assert "Sources" in final.data["text"]
    assert "reply_markup" in final.data, "an answer like any other: 👍/👎 and a person"
    await h.idle()
    assert len(h.fake.bot_messages(ALICE["id"])) == 1, "one reply: the answer"
    turns = await h.store.history(1, 10)
    assert [(t.role, t.text) for t in turns][0] == ("user", "How long do refunds take?")
    assert [t.role for t in turns] == ["user", "assistant"]


async def test_a_caption_that_mentions_the_bot_in_a_group_is_answered(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    group = group_chat(-100903, "Customers")
    caption = "@support_test_bot how long do refunds take?"
    mention = [{"type": "mention", "offset": 0, "length": len("@support_test_bot")}]
    final = await _send_and_wait(h, ALICE, chat=group, photo=PHOTO, caption=caption, caption_entities=mention)
    assert final.data["text"].startswith("Refunds are paid back to the original card within five")
    assert [t.text for t in await h.store.history(1, 10)][0] == "how long do refunds take?"


async def test_a_file_without_a_question_still_gets_the_polite_reply(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    group = group_chat(-100904, "Customers")
    mention = [{"type": "mention", "offset": 0, "length": len("@support_test_bot")}]
    only_a_mention = await _send_and_wait(
        h, ALICE, chat=group, photo=PHOTO, caption="@support_test_bot", caption_entities=mention
    )
    assert only_a_mention.data["text"] == tg_texts.MEDIA
    h.send(ALICE, None, photo=PHOTO)
    no_caption = await h.reply_after(ALICE["id"], 0)  # in a private chat, fixed texts quote nothing
    assert no_caption.data["text"] == tg_texts.MEDIA


async def test_a_caption_the_bot_cannot_answer_hands_off_with_the_file(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    ops = OPERATOR_CHAT["id"]
    final = await _send_and_wait(h, ALICE, photo=PHOTO, caption="zzqx wvut ploff")
    assert final.data["text"].endswith(texts.HANDOFF_AFTER_REFUSAL)
    await h.fake.wait_until(lambda: len(h.fake.bot_messages(ops)) == 2)
    transcript, copy = h.fake.bot_messages(ops)
    assert "User: zzqx wvut ploff" in transcript.data["text"]
    assert (copy.data["photo"], copy.data["caption"]) == (PHOTO, "zzqx wvut ploff")
    assert not [c for c in h.fake.calls if not c.ok]
