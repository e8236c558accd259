"""The one registry of knowledge file types: loading and upload checks both read it; a type is one entry."""

from __future__ import annotations

from dataclasses import dataclass

from bot.kb.parsers import (
    BytesParser,
    TextParser,
    parse_faq_csv,
    parse_faq_jsonl,
    parse_faq_yaml,
    parse_html,
    parse_markdown,
    parse_pdf,
    parse_rst,
    parse_text,
)


def _check_suffixes(name: str, suffixes: tuple[str, ...]) -> None:
    if not suffixes or any(not s.startswith(".") or s != s.lower() or len(s) < 2 for s in suffixes):
        raise ValueError(f"file type {name!r}: suffixes must be lower-case and start with a dot")


@dataclass(frozen=True, slots=True)
class TextType:
    """A text format: decoded (UTF-8, or what a byte-order mark says) and refused when it holds binary."""

    name: str  # the format as named in messages to the admin, e.g. "Markdown"
    suffixes: tuple[str, ...]
    parse: TextParser
    # The document may declare its own encoding (HTML's <meta charset>); that declaration is honoured.
    declares_charset: bool = False

    def __post_init__(self) -> None:
        _check_suffixes(self.name, self.suffixes)


@dataclass(frozen=True, slots=True)
class BinaryType:
    """A binary format, parsed from the raw bytes; its content must start with `magic`."""

    name: str
    suffixes: tuple[str, ...]
    parse: BytesParser
    magic: bytes
    # Must appear near the end: a truncated upload lacks it, and parsers read such files only partly.
    trailer: bytes = b""

    def __post_init__(self) -> None:
        _check_suffixes(self.name, self.suffixes)
        if not self.magic:
            raise ValueError(f"file type {self.name!r}: a binary type needs its magic bytes")


FileType = TextType | BinaryType

# Every supported type. Adding one here makes it loadable, uploadable and listed in messages.
FILE_TYPES: tuple[FileType, ...] = (
    TextType("Markdown", (".md", ".markdown"), parse_markdown),
    TextType("reStructuredText", (".rst",), parse_rst),
    TextType("plain text", (".txt",), parse_text),
    TextType("HTML", (".html", ".htm"), parse_html, declares_charset=True),
    BinaryType("PDF", (".pdf",), parse_pdf, magic=b"%PDF-", trailer=b"%%EOF"),
    TextType("FAQ CSV", (".csv",), parse_faq_csv),
    TextType("FAQ JSONL", (".jsonl",), parse_faq_jsonl),
    TextType("FAQ YAML", (".yaml", ".yml"), parse_faq_yaml),
)


def _index(types: tuple[FileType, ...]) -> dict[str, FileType]:
    by_suffix: dict[str, FileType] = {}
    for file_type in types:
        for suffix in file_type.suffixes:
            if suffix in by_suffix:
                raise ValueError(f"{suffix} is claimed by both {by_suffix[suffix].name} and {file_type.name}")
            by_suffix[suffix] = file_type
    return by_suffix


_BY_SUFFIX = _index(FILE_TYPES)


def file_type(suffix: str) -> FileType | None:
    """The type a file name's suffix (".md", case-insensitive) selects, or None when unsupported."""
    return _BY_SUFFIX.get(suffix.lower())


def supported_list() -> str:
    """The supported extensions for messages, e.g. "csv, htm, html, ..."."""
    return ", ".join(sorted(suffix.lstrip(".") for suffix in _BY_SUFFIX))


__all__ = ["FILE_TYPES", "BinaryType", "FileType", "TextType", "file_type", "supported_list"]
