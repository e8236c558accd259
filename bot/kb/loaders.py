"""Loading knowledge files: pick the file type, check and decode the bytes, parse them into a `Document`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bot.kb.filetypes import BinaryType, file_type
from bot.kb.parsers import Document, LoadError, Section, char_budget
from bot.kb.validate import UnsafeFileError, check_file, decode_text


def relative_source(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def load_bytes(source: str, suffix: str, data: bytes) -> Document:
    """Parse already-validated bytes; raise `LoadError`/`UnsafeFileError` with a reason."""
    default_title = Path(source).stem.replace("_", " ").replace("-", " ").strip() or source
    kind = file_type(suffix)
    if kind is None:
        raise LoadError(f"unsupported file type {suffix.lower()!r}")
    try:
        if isinstance(kind, BinaryType):
            title, sections, url = kind.parse(data, default_title)
        else:
            text = decode_text(data, declares_charset=kind.declares_charset)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if len(text) > char_budget(data):
                raise LoadError("the text is larger than the file allows")
            title, sections, url = kind.parse(text, default_title)
    except RecursionError:
        raise LoadError("the document is nested too deeply to parse") from None
    if url:
        sections = [s if s.url else Section(s.heading, s.heading_path, s.text, url) for s in sections]
    return Document(source=source, title=title, sections=tuple(sections), url=url)


def load_file(path: Path, root: Path, max_file_mb: float) -> Document:
    """Check, read and parse one knowledge file."""
    data = check_file(path, root, max_file_mb)
    return load_bytes(relative_source(path, root), path.suffix, data)


def iter_files(root: Path) -> Iterator[Path]:
    """Every candidate file under `root` in a stable order, hidden files and folders excluded."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_dir():
            continue
        yield path


def is_supported(path: Path) -> bool:
    return file_type(path.suffix) is not None


# The document types and errors are re-exported: callers load files through this module alone.
__all__ = [
    "Document",
    "LoadError",
    "Section",
    "UnsafeFileError",
    "is_supported",
    "iter_files",
    "load_bytes",
    "load_file",
]
