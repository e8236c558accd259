"""The file-type registry is the one source for loading, upload names and the messages that list types."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb import filetypes
from bot.kb.filetypes import FILE_TYPES, BinaryType, TextType, file_type, supported_list
from bot.kb.loaders import is_supported
from bot.kb.parsers import parse_pdf, parse_text
from bot.kb.validate import UnsafeFileError, check_content, safe_file_name


def test_every_registered_suffix_is_loadable_and_uploadable() -> None:
    suffixes = [suffix for kind in FILE_TYPES for suffix in kind.suffixes]
    assert len(suffixes) == len(set(suffixes))
    for suffix in suffixes:
        assert file_type(suffix.upper()) is file_type(suffix) is not None
        assert is_supported(Path(f"doc{suffix.upper()}"))
        assert safe_file_name(f"doc{suffix}") == f"doc{suffix}"
        assert suffix.lstrip(".") in supported_list().split(", ")
    assert not is_supported(Path("doc.docx"))
    assert file_type(".docx") is None


def test_messages_name_the_registered_formats() -> None:
    expected = f"unsupported file type '.docx'; supported: {supported_list()}"
    with pytest.raises(UnsafeFileError, match=expected):
        check_content(".docx", b"hello")
    with pytest.raises(UnsafeFileError, match="the content is a PDF, not FAQ YAML; rename it to .pdf"):
        check_content(".yml", b"%PDF-1.7\n")
    with pytest.raises(UnsafeFileError, match="not a PDF: the content is something else"):
        check_content(".pdf", b"plain words")


def test_the_registry_refuses_ambiguous_or_malformed_entries() -> None:
    with pytest.raises(ValueError, match="lower-case"):
        TextType("Notes", (".TXT",), parse_text)
    with pytest.raises(ValueError, match="start with a dot"):
        TextType("Notes", ("txt",), parse_text)
    with pytest.raises(ValueError, match="magic"):
        BinaryType("PDF", (".pdf",), parse_pdf, magic=b"")
    with pytest.raises(ValueError, match=r"\.txt is claimed by both plain text and Notes"):
        filetypes._index((*FILE_TYPES, TextType("Notes", (".txt",), parse_text)))


def test_a_binary_file_renamed_as_text_is_called_binary_not_badly_encoded() -> None:
    # A model file renamed .md was refused as "not valid UTF-8 (byte 0x80 at offset 136); save it as UTF-8".
    with pytest.raises(UnsafeFileError, match="the content is a GGUF model file, not Markdown"):
        check_content(".md", b"GGUF\x03\x00\x00\x00" + bytes(range(256)))
    with pytest.raises(UnsafeFileError, match=r"binary content \(NUL bytes\), not plain text"):
        check_content(".txt", b"\x01\x02\x00\x00\x80\x81 data")
    # UTF-16 text holds NUL bytes and is text.
    check_content(".txt", "\ufeffhello world".encode("utf-16-le"))
