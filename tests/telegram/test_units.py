"""Unit tests of the Telegram channel's pure parts: HTML rules, rendering, splitting, flood and ordering."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.admin import describe_report
from bot.channels.telegram.admin import admin_refusal
from bot.channels.telegram.app import secret_matches
from bot.channels.telegram.flood import FloodGate
from bot.channels.telegram.ordering import ChatOrderedProcessor
from bot.channels.telegram.render import STREAM_CURSOR, compose, render_answer, render_partial, split_text
from bot.channels.telegram.tg_html import MAX_MESSAGE_CHARS, utf16_len
from bot.devtools.telegram_html import ParseError, parse_html
from bot.domain import Answer, Source, Timings
from bot.kb.base import ReloadReport, SkippedFile
from tests.telegram.conftest import ADMIN, telegram_settings


def answer(
    text: str, *, sources: tuple[Source, ...] = (), outcome: str = "answered", citations: tuple[int, ...] = ()
) -> Answer:
    return Answer(
        text=text, sources=sources, grounded=True, timings=Timings(), outcome=outcome, citations=citations
    )


@pytest.mark.parametrize(
    ("html", "why"),
    [
        ("<b>bold", "can't find end tag"),
        ("<b>x</i>", "unmatched end tag"),
        ("<script>x</script>", 'unsupported start tag "script"'),
        ("a < b", "unsupported start tag"),
        ("fish & chips", "'&' must be escaped"),
        ("&nbsp;", "unsupported HTML entity"),
        ("<span>x</span>", 'unsupported start tag "span"'),
        ("<a>x</a>", "without href"),
    ],
)
def test_parse_html_rejects_what_telegram_rejects(html: str, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        parse_html(html)


def test_parse_html_strips_tags_and_counts_utf16() -> None:
    text, entities = parse_html('<b>Hi</b> &lt;you&gt; 😀 <a href="https://x.io/?a=1&amp;b=2">link</a>')
    assert text == "Hi <you> 😀 link"
    assert [(e.type, e.offset, e.length) for e in entities] == [("bold", 0, 2), ("text_link", 12, 4)]
    assert entities[1].url == "https://x.io/?a=1&b=2"
    assert utf16_len("😀") == 2


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=6000))
def test_any_text_renders_to_valid_html_parts_that_keep_the_words(text: str) -> None:
    parts = compose(text)
    plain = []
    for part in parts:
        shown, _ = parse_html(part)
        assert 0 < utf16_len(shown) <= MAX_MESSAGE_CHARS
        assert shown.strip()
        plain.append(shown)
    # Nothing is lost or reordered (a word longer than a whole message may be cut in two).
    assert "".join("".join(plain).split()) == ("".join(compose_words(text)) or "…")


def compose_words(text: str) -> list[str]:
    from bot.channels.telegram.render import clean

    return clean(text).split()


def test_long_answer_splits_on_paragraphs_and_keeps_sources_last() -> None:
    paragraph = ("The quick brown fox jumps over the lazy dog. " * 20).strip()
    text = "\n\n".join(f"{i}: {paragraph}" for i in range(12))
    sources = (Source("billing/refunds.md", "Refunds", "https://help.example.com/refunds", "Billing"),)
    parts = render_answer(answer(text, sources=sources, citations=(1,)))
    assert len(parts) == 3
    for part in parts:
        shown, _ = parse_html(part)
        assert len(shown) <= MAX_MESSAGE_CHARS
    first, _ = parse_html(parts[0])
    assert first.endswith(paragraph), "cut at a paragraph boundary"
    last, entities = parse_html(parts[-1])
    assert last.endswith("Sources\n[1] Billing › Refunds")
    assert entities[-1].url == "https://help.example.com/refunds"


def test_sources_never_become_unsafe_links_and_text_is_escaped() -> None:
    sources = (Source("a.md", "<b>Bold</b>", "javascript:alert(1)"), Source("b.md", "B & C", ""))
    html = render_answer(answer("1 < 2 & <i>not italic</i>", sources=sources))[0]
    shown, entities = parse_html(html)
    assert "1 < 2 & <i>not italic</i>" in shown
    assert "• a.md › <b>Bold</b>" in shown  # no title: the file path stands in for it
    assert all(e.type != "text_link" for e in entities)


def test_partial_render_is_clipped_and_marked() -> None:
    html = render_partial("x" * 10_000)
    shown, _ = parse_html(html)
    assert shown.endswith(STREAM_CURSOR)
    assert len(shown) < MAX_MESSAGE_CHARS
    final = render_answer(answer("ends with a cursor ▍"))[0]
    assert not final.endswith("▍")


def test_split_text_never_cuts_surrogate_pairs() -> None:
    parts = split_text("😀" * 5000, 4096)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts) == "😀" * 5000


def test_flood_gate_gives_one_notice_per_burst() -> None:
    gate = FloodGate(limit=3, window_s=10)
    verdicts = [gate.check(1, t) for t in (0, 1, 2, 3, 4, 5)]
    assert verdicts == ["ok", "ok", "ok", "notice", "drop", "drop"]
    assert gate.check(2, 5) == "ok", "other users are not affected"
    assert gate.check(1, 10.5) == "ok", "the window slides"
    assert gate.check(1, 10.6) == "notice", "a new burst gets a new notice"


def test_admin_refusal_covers_untrusted_senders(tmp_path: Any) -> None:
    config = telegram_settings(
        tmp_path,
        base_url="http://x/bot",
        base_file_url="http://x/file/bot",
        admin_ids=[ADMIN["id"], 1087968824, 777000],
    )

    def update(sender: dict[str, Any], chat: dict[str, Any], **extra: Any) -> Update:
        message = {"message_id": 1, "date": 0, "chat": chat, "from": sender, "text": "/reload", **extra}
        return Update.de_json({"update_id": 1, "message": message}, None)

    private = {"id": ADMIN["id"], "type": "private"}
    group = {"id": -100, "type": "supergroup", "title": "g"}
    assert admin_refusal(config.telegram.admin_ids, update(ADMIN, private)) is None
    assert admin_refusal(config.telegram.admin_ids, update(ADMIN, group)) == "not a private chat"
    anon = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    assert (
        admin_refusal(config.telegram.admin_ids, update(anon, group, sender_chat=group))
        == "anonymous-admin or service account"
    )
    service = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
    assert admin_refusal(config.telegram.admin_ids, update(service, {"id": 777000, "type": "private"})) == (
        "anonymous-admin or service account"
    )
    other = {"id": 42, "is_bot": False, "first_name": "Eve"}
    assert (
        admin_refusal(config.telegram.admin_ids, update(other, {"id": 42, "type": "private"}))
        == "not in BOT_TELEGRAM__ADMIN_IDS"
    )


def test_secret_comparison() -> None:
    assert secret_matches("abc-123", "abc-123")
    assert not secret_matches("abc-12", "abc-123")
    assert not secret_matches(None, "abc-123")
    assert not secret_matches("", "abc-123")


def test_reload_report_text_lists_skipped_files() -> None:
    report = ReloadReport(files=4, chunks=12, skipped=(SkippedFile("x.pdf", "truncated PDF"),), seconds=2.5)
    assert describe_report(report).splitlines() == [
        "✅ Knowledge base reloaded in 2.5 s",
        "Files: 4 · chunks: 12 · skipped: 1",
        "Skipped files:",
        "• x.pdf: truncated PDF",
    ]


async def test_processor_orders_one_chat_and_runs_chats_concurrently() -> None:
    processor = ChatOrderedProcessor(16)
    log: list[str] = []

    def update(update_id: int, chat_id: int) -> Update:
        message = {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
            "text": "x",
        }
        return Update.de_json({"update_id": update_id, "message": message}, None)

    async def work(name: str, delay: float) -> None:
        log.append(f"start {name}")
        await asyncio.sleep(delay)
        log.append(f"end {name}")

    await asyncio.gather(
        processor.process_update(update(1, 10), work("a1", 0.05)),
        processor.process_update(update(2, 10), work("a2", 0.0)),
        processor.process_update(update(3, 20), work("b1", 0.0)),
    )
    assert log.index("end a1") < log.index("start a2"), "one chat: strictly in order"
    assert log.index("end b1") < log.index("end a1"), "another chat does not wait"
    assert processor.active_chats == 0, "idle chats leave no state behind"
