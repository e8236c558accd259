"""Answers as Telegram HTML: everything escaped, sources listed, long text split at clean boundaries."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

from bot.channels.telegram.tg_html import MAX_MESSAGE_CHARS, utf16_len
from bot.domain import Answer, Source
from bot.texts import NO_ANSWER, SOURCE_LANGUAGE, SOURCES, translate

# Room kept free in every part so markers such as "(1/3)" never push a part over the limit.
_PART_MARGIN = 32
_STREAM_LIMIT = MAX_MESSAGE_CHARS - 200
# Marks a preview as unfinished; final messages never end with it (how tests and benches tell them apart).
STREAM_CURSOR = " ▍"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text: str) -> str:
    """Text safe to show: no control characters or lone surrogates, which Telegram rejects or garbles."""
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = "".join(" " if unicodedata.category(ch) == "Cs" else ch for ch in text)
    return text


def escape(text: str) -> str:
    """Escape text for `parse_mode=HTML` (Telegram needs only <, > and & escaped in text)."""
    return html.escape(clean(text), quote=False)


def escape_attr(text: str) -> str:
    return html.escape(clean(text), quote=True)


def safe_url(url: str) -> str | None:
    """Only plain http(s) links become clickable; anything else is shown as text, never as a link."""
    url = url.strip()
    if re.fullmatch(r"https?://[^\s<>\"']+", url):
        return url
    return None


def render_partial(text: str) -> str:
    """A streaming preview: the text so far, escaped, clipped below the limit, with a 'more coming' cursor."""
    text = clean(text).strip()
    if utf16_len(text) > _STREAM_LIMIT:
        text = _clip(text, _STREAM_LIMIT)
    return escape(text) + STREAM_CURSOR if text else "…"


def render_sources(
    sources: Sequence[Source], labels: Sequence[str], title: str = "Sources"
) -> tuple[str, int]:
    """HTML for the sources block (headed `title`, each source by its `Source.display_name` after its label)
    and its visible length."""
    if not sources:
        return "", 0
    lines_html = [f"<b>{escape(title)}</b>"]
    visible = utf16_len(title)
    for label, src in zip(labels, sources, strict=True):
        name = clean(src.display_name)
        url = safe_url(src.url)
        shown = f'<a href="{escape_attr(url)}">{escape(name)}</a>' if url else escape(name)
        lines_html.append(f"{escape(label)} {shown}")
        visible += 1 + utf16_len(label) + 1 + utf16_len(name)
    return "\n".join(lines_html), visible


def render_answer(answer: Answer, language: str = SOURCE_LANGUAGE) -> list[str]:
    """The final answer as one or more HTML messages, each within Telegram's 4096-character limit; its
    labels in `language` (the answer's own text is already in the customer's language)."""
    body = clean(answer.text).strip().rstrip("▍").rstrip() or translate(NO_ANSWER, language)
    # The pipeline already puts its caveat for ungrounded answers into the text.
    tail_parts: list[tuple[str, int]] = []
    sources_html, sources_len = render_sources(
        answer.sources, answer.source_labels, translate(SOURCES, language)
    )
    if sources_html:
        tail_parts.append((sources_html, sources_len))
    return compose(body, tail_parts)


def compose(body: str, tail_parts: Sequence[tuple[str, int]] = ()) -> list[str]:
    """Split plain `body` into escaped parts and append the HTML tail blocks after it, splitting if needed."""
    limit = MAX_MESSAGE_CHARS - _PART_MARGIN
    # Clean before splitting: a part made only of control characters would become an empty message.
    pieces = split_text(clean(body), limit)
    parts = [escape(p) for p in pieces]
    last_len = utf16_len(pieces[-1]) if pieces else 0
    for block_html, block_len in tail_parts:
        if block_len + 2 > limit:
            # A tail block can only be this long with absurd source lists; show it as plain split text.
            for extra in split_text(_strip_tags(block_html), limit):
                parts.append(escape(extra))
                last_len = utf16_len(extra)
            continue
        if parts and last_len + 2 + block_len <= limit:
            parts[-1] += "\n\n" + block_html
            last_len += 2 + block_len
        else:
            parts.append(block_html)
            last_len = block_len
    return parts or ["…"]


def _strip_tags(block_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", block_html))


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split plain text into parts of at most `limit` UTF-16 units, preferring paragraph, line, sentence,
    then word boundaries, and never cutting a character in half."""
    text = text.strip()
    if not text:
        return []
    parts: list[str] = []
    while utf16_len(text) > limit:
        window = _clip(text, limit)
        cut = _best_cut(window)
        head, text = text[:cut].rstrip(), text[cut:].lstrip()
        if head.strip():
            parts.append(head)
    if text.strip():
        parts.append(text)
    return parts


def _clip(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 units."""
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def _best_cut(window: str) -> int:
    floor = len(window) // 2  # never make tiny parts just to honour a boundary
    for pattern in ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " "):
        found = window.rfind(pattern, floor)
        if found != -1:
            return found + len(pattern)
    return len(window)
