"""Telegram shows only checked text: no preview ever holds a sentence the passages do not support, and every
preview is the beginning of the final answer."""

from __future__ import annotations

from bot.channels.telegram.render import STREAM_CURSOR
from bot.devtools.telegram_html import parse_html
from tests.fakes import FakeGenerator
from tests.telegram.conftest import ALICE, Harness, HarnessFactory

SUPPORTED = "Refunds are paid back to the original card within five business days [1]."
UNSUPPORTED = "Your bank in Ohio also adds a welcome bonus of fifty dollars to every refund."
AFTER = "Refunds always go back to the original card [1]."


def shown_texts(h: Harness, chat_id: int) -> list[str]:
    """Every text the chat displayed, in order, as plain text (what the customer read)."""
    calls = [
        c
        for c in h.fake.calls
        if c.method in ("sendMessage", "editMessageText") and c.ok and c.params.get("chat_id") == chat_id
    ]
    return [parse_html(str(c.params["text"]))[0] for c in calls]


async def test_an_unsupported_sentence_is_never_shown(make_harness: HarnessFactory) -> None:
    # Slow words and frequent edits: the unsupported sentence is written over many edit intervals, so a
    # preview of the raw model text would show it.
    generator = FakeGenerator(f"{SUPPORTED} {UNSUPPORTED} {AFTER}", delay_s=0.04)
    h = await make_harness(generator=generator, edit_interval_s=0.01)
    final = await h.ask(ALICE, "How long do refunds take?")
    await h.idle()

    shown = shown_texts(h, ALICE["id"])
    assert len(shown) >= 2, "a preview, then the final answer"
    previews, last = shown[:-1], shown[-1]
    assert last == final.data["text"]
    assert all(text.endswith(STREAM_CURSOR.strip()) for text in previews)
    assert any("five business days" in text for text in previews), "the checked sentence streams"
    for text in shown:
        assert "Ohio" not in text
        assert "welcome bonus" not in text
        assert "always go back" not in text, "nothing after the first unsupported sentence is shown"
    for text in previews:
        body = text.removesuffix(STREAM_CURSOR.strip()).rstrip()
        assert last.startswith(body), f"preview {body!r} is not the beginning of the answer {last!r}"
    assert "five business days [1]." in last
    assert "Sources" in last
    # The model stops writing once nothing more of its answer can be shown.
    assert generator.pieces_sent < len(f"{SUPPORTED} {UNSUPPORTED} {AFTER}".split())


async def test_fully_supported_answer_grows_sentence_by_sentence(make_harness: HarnessFactory) -> None:
    h = await make_harness(
        generator=FakeGenerator(f"{SUPPORTED} {AFTER}", delay_s=0.04), edit_interval_s=0.01
    )
    final = await h.ask(ALICE, "How long do refunds take?")
    await h.idle()
    shown = shown_texts(h, ALICE["id"])
    previews = [t.removesuffix(STREAM_CURSOR.strip()).rstrip() for t in shown[:-1]]
    assert previews, "the answer streams"
    for body in previews:
        assert final.data["text"].startswith(body)
        # A preview ends at a sentence end: never half a sentence.
        assert body.endswith(("[1].", "."))
    assert "always go back to the original card [1]." in final.data["text"]
