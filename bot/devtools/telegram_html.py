"""Telegram's HTML parse mode as the Bot API applies it (allowed tags, entities), for the fake Bot API."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.channels.telegram.tg_html import utf16_len

# Tag name -> attributes Telegram accepts on it.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{1,10});")


class ParseError(ValueError):
    """The text is not valid for `parse_mode=HTML`; the message reads like Telegram's."""


@dataclass(frozen=True, slots=True)
class Entity:
    type: str
    offset: int  # UTF-16 code units, as Telegram reports them
    length: int
    url: str = ""


def _entity_type(tag: str, attrs: dict[str, str]) -> str:
    return {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "span": "spoiler",
        "tg-spoiler": "spoiler",
        "a": "text_link",
        "tg-emoji": "custom_emoji",
        "code": "code",
        "pre": "pre",
        "blockquote": "expandable_blockquote" if "expandable" in attrs else "blockquote",
    }[tag]


def parse_html(html: str) -> tuple[str, list[Entity]]:
    """Strip Telegram HTML into plain text and entities, raising `ParseError` where Telegram would refuse."""
    out: list[str] = []
    out_len = 0  # UTF-16 units written so far
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[Entity] = []
    pos = 0
    length = len(html)
    while pos < length:
        ch = html[pos]
        if ch == "<":
            match = _TAG.match(html, pos)
            if match is None:
                raise ParseError(
                    f"Can't parse entities: unsupported start tag at byte offset {_offset(html, pos)}"
                )
            closing, name, raw_attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in ALLOWED_TAGS:
                kind = "end" if closing else "start"
                where = _offset(html, pos)
                raise ParseError(
                    f'Can\'t parse entities: unsupported {kind} tag "{name}" at byte offset {where}'
                )
            if closing:
                if not stack or stack[-1][0] != name:
                    expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
                    raise ParseError(
                        f"Can't parse entities: unmatched end tag at byte offset {_offset(html, pos)}, "
                        f'expected {expected}, found "</{name}>"'
                    )
                tag, attrs, start = stack.pop()
                kind = _entity_type(tag, attrs)
                if out_len > start:
                    entities.append(Entity(kind, start, out_len - start, attrs.get("href", "")))
            else:
                attrs = _parse_attrs(raw_attrs, name, html, pos)
                stack.append((name, attrs, out_len))
            pos = match.end()
        elif ch == "&":
            match = _ENTITY.match(html, pos)
            if match is None:
                raise ParseError(
                    f"Can't parse entities: character '&' must be escaped at byte offset {_offset(html, pos)}"
                )
            decoded = _decode_entity(match.group(1), html, pos)
            out.append(decoded)
            out_len += utf16_len(decoded)
            pos = match.end()
        elif ch == ">":
            # Telegram tolerates a bare '>' but well-formed output escapes it; accept like the server does.
            out.append(ch)
            out_len += 1
            pos += 1
        else:
            nxt = _next_special(html, pos)
            piece = html[pos:nxt]
            out.append(piece)
            out_len += utf16_len(piece)
            pos = nxt
    if stack:
        raise ParseError(
            f"Can't parse entities: can't find end tag corresponding to start tag \"{stack[-1][0]}\""
        )
    return "".join(out), sorted(entities, key=lambda e: (e.offset, -e.length))


def _next_special(text: str, pos: int) -> int:
    best = len(text)
    for special in "<&>":
        found = text.find(special, pos)
        if found != -1 and found < best:
            best = found
    return best


def _offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8", "surrogatepass"))


def _parse_attrs(raw: str, tag: str, html: str, pos: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        name = match.group(1).lower()
        value = next((g for g in match.groups()[1:] if g is not None), "")
        if name not in ALLOWED_TAGS[tag]:
            continue  # Telegram ignores unknown attributes
        attrs[name] = _unescape_attr(value, html, pos)
    if tag == "a" and not attrs.get("href"):
        raise ParseError(f"Can't parse entities: <a> without href at byte offset {_offset(html, pos)}")
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise ParseError(
            f'Can\'t parse entities: unsupported start tag "span" at byte offset {_offset(html, pos)}'
        )
    return attrs


def _unescape_attr(value: str, html: str, pos: int) -> str:
    def repl(match: re.Match[str]) -> str:
        return _decode_entity(match.group(1), html, pos)

    return _ENTITY.sub(repl, value)


def _decode_entity(body: str, html: str, pos: int) -> str:
    if body.startswith("#x"):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    else:
        named = _NAMED_ENTITIES.get(body.lower())
        if named is None:
            raise ParseError(
                f"Can't parse entities: unsupported HTML entity at byte offset {_offset(html, pos)}"
            )
        return named
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise ParseError(
            f"Can't parse entities: invalid character reference at byte offset {_offset(html, pos)}"
        )
    return chr(code)
