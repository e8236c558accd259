"""Loading knowledge files: pick the file type, check and decode the bytes, parse them into a `Document`."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.kb.filetypes import BinaryType, decode_text, file_type
from bot.kb.parsers import Document, LoadError, Section, char_budget
from bot.kb.validate import UnsafeFileError, check_file

log = logging.getLogger("bot.kb")

# Words a file name writes in lower case that a title spells otherwise ("shipping-faq.csv": "Shipping FAQ").
# Only words that are nothing else: "us" (contact-us) and "it" stay words.
_TITLE_WORDS = (
    "FAQ", "FAQs", "API", "APIs", "PDF", "SMS", "URL", "URLs", "ID", "IDs", "QR", "PIN", "VAT", "IBAN",
    "GDPR", "EU", "UK", "USA", "SDK", "CLI", "CSV", "JSON", "HTML", "HTTP", "HTTPS", "SSH", "DNS", "VPN",
    "SSO", "2FA", "USB", "iOS", "macOS", "iPhone", "iPad",
)  # fmt: skip
_TITLE_SPELLINGS = {word.lower(): word for word in _TITLE_WORDS}


def file_title(source: str) -> str:
    """The title of a document without one of its own (an FAQ file, a page without headings): its file name
    as a title, dashes and underscores as spaces, the first letter capitalised and acronyms in capitals
    ("shipping-faq.csv": "Shipping FAQ", "api_keys.md": "API keys"). Other words stay as written."""
    words = [
        _TITLE_SPELLINGS.get(word.lower(), word) if word.islower() or word.istitle() else word
        for word in Path(source).stem.replace("_", " ").replace("-", " ").split()
    ]
    if not words:
        return source
    first = words[0]
    if first.islower():
        words[0] = first[0].upper() + first[1:]
    return " ".join(words)


def relative_source(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def load_bytes(source: str, suffix: str, data: bytes) -> Document:
    """Parse already-validated bytes; raise `LoadError`/`UnsafeFileError` with a reason."""
    default_title = file_title(source)
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


def iter_files(root: Path, on_skip: Callable[[Path, str], None] | None = None) -> Iterator[Path]:
    """Every candidate file under `root` in a stable order, hidden files and folders excluded.

    A link to a folder is followed when it resolves inside `root`, as `check_file` treats a link to a file.
    A folder left out (unreadable, a link outside `root` or back to a folder holding it) goes to `on_skip`
    with the reason, `root` itself included: its files must not leave the index unnoticed.
    """
    real_root = Path(os.path.realpath(root))
    # Depth first, each folder's entries sorted by name: the order of the sorted paths, which keeps the
    # index stable. An explicit stack, as a deep tree must not reach the recursion limit. Each folder
    # carries the real paths of the folders above it (None marks a file), to stop at a link loop.
    stack: list[tuple[Path, tuple[Path, ...] | None]] = [(root, (real_root,))]
    while stack:
        path, above = stack.pop()
        if above is None:
            yield path
            continue
        try:
            with os.scandir(path) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            _skip(on_skip, path, f"the folder cannot be read ({reason}); its files are not in the index")
            continue
        children: list[tuple[Path, tuple[Path, ...] | None]] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = path / entry.name
            if not _is_folder(entry):
                children.append((child, None))  # links and odd files too: `check_file` says what is wrong
                continue
            real = Path(os.path.realpath(child))
            if not real.is_relative_to(real_root):
                _skip(
                    on_skip,
                    child,
                    "it is a link that points outside the knowledge folder; its files are not in the index",
                )
            elif real in above:
                _skip(
                    on_skip, child, "it is a link back to a folder that holds it; its files are indexed there"
                )
            else:
                children.append((child, (*above, real)))
        stack.extend(reversed(children))


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows a link, as the files it leads to are read through it
    except OSError:
        return False


def _skip(on_skip: Callable[[Path, str], None] | None, folder: Path, reason: str) -> None:
    if on_skip is not None:
        on_skip(folder, reason)
    else:
        log.warning("knowledge folder skipped", extra={"folder": str(folder), "reason": reason})


def is_supported(path: Path) -> bool:
    return file_type(path.suffix) is not None


# The document types and errors are re-exported: callers load files through this module alone.
__all__ = [
    "Document",
    "LoadError",
    "Section",
    "UnsafeFileError",
    "file_title",
    "is_supported",
    "iter_files",
    "load_bytes",
    "load_file",
]
