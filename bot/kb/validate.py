"""Safety checks on knowledge files: size, real type versus extension, encoding, and safe upload names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

# Decoding lives with the file types (site pages use it too); re-exported for its callers.
from bot.kb.filetypes import FILE_TYPES, BinaryType, decode_text, file_type, supported_list

if TYPE_CHECKING:
    from bot.config import KBSettings

# Magic numbers of containers and binaries that sometimes arrive renamed as documents.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"GGUF", "a GGUF model file"),
)
# The byte-order marks of UTF-16 and UTF-32 text, whose characters hold NUL bytes.
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
)
MAX_NAME_CHARS = 120
# A binary type's trailer must lie within this many bytes of the end.
TRAILER_WINDOW = 2048


class UnsafeFileError(ValueError):
    """A knowledge file or upload was refused; the message says why, for the admin who sent it."""


def _human_mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def sniff_binary(head: bytes) -> str | None:
    """Name the binary format `head` starts with, or None when it is not a known one."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def check_size(size: int, limit_mb: float, setting: str) -> None:
    if size == 0:
        raise UnsafeFileError("file is empty")
    if size > limit_mb * 1_000_000:
        raise UnsafeFileError(f"file is {_human_mb(size)}, over the {limit_mb:g} MB limit ({setting})")


def check_content(suffix: str, data: bytes) -> None:
    """Refuse content that does not match its extension: archives and binaries renamed, truncated PDFs."""
    suffix = suffix.lower()
    kind = file_type(suffix)
    if kind is None:
        raise UnsafeFileError(f"unsupported file type {suffix or '(none)'!r}; supported: {supported_list()}")
    head = data[:64]
    if isinstance(kind, BinaryType):
        if not head.lstrip(b"\r\n\t ").startswith(kind.magic):
            found = sniff_binary(head)
            raise UnsafeFileError(f"not {_a(kind.name)}: the content is {found or 'something else'}")
        if kind.trailer and kind.trailer not in data[-TRAILER_WINDOW:]:
            marker = kind.trailer.decode("ascii", "replace")
            raise UnsafeFileError(f"truncated {kind.name}: the end-of-file marker {marker} is missing")
        return
    found = sniff_binary(head)
    if found is not None:
        raise UnsafeFileError(f"the content is {found}, not {kind.name}")
    for other in FILE_TYPES:
        if isinstance(other, BinaryType) and head.startswith(other.magic):
            raise UnsafeFileError(
                f"the content is {_a(other.name)}, not {kind.name}; rename it to {other.suffixes[0]}"
            )
    if b"\x00" in data[:65536] and not data.startswith(_WIDE_BOMS):
        # Before decoding: a binary file's first byte that is no UTF-8 was reported as a text to re-save
        # ("not valid UTF-8 (byte 0x80 at offset 136)" for a model file renamed .md).
        raise UnsafeFileError(f"binary content (NUL bytes), not {kind.name}")
    text = decode_text(data, declares_charset=kind.declares_charset)
    _check_text_is_text(text, kind.name)


def _a(name: str) -> str:
    return f"an {name}" if name[:1].upper() in "AEIOU" else f"a {name}"


def _check_text_is_text(text: str, kind: str) -> None:
    sample = text[:65536]
    if "\x00" in sample:
        raise UnsafeFileError(f"binary content (NUL bytes), not {kind}")
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    if sample and controls / len(sample) > 0.01:
        raise UnsafeFileError(f"binary content ({controls} control characters), not {kind}")


def safe_file_name(name: str) -> str:
    """Reduce an uploaded name to one harmless file name in the knowledge folder, or refuse it."""
    if not name or not name.strip():
        raise UnsafeFileError("the file has no name")
    if "\x00" in name:
        raise UnsafeFileError("the file name contains a NUL byte")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise UnsafeFileError("the file name contains control characters")
    # Anything that looks like a path is refused, not stripped: the sender tried to choose a location.
    if "/" in name or "\\" in name or ":" in name:
        raise UnsafeFileError("the file name must not contain a path (/, \\ or :)")
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive:
        raise UnsafeFileError("the file name must not be an absolute path")
    cleaned = unicodedata.normalize("NFC", name.strip())
    if ".." in cleaned:
        raise UnsafeFileError("the file name must not contain '..'")
    if cleaned.startswith("."):
        raise UnsafeFileError("hidden file names (starting with '.') are not allowed")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not stem:
        raise UnsafeFileError(f"the file name needs an extension; supported: {supported_list()}")
    if file_type(f".{suffix}") is None:
        raise UnsafeFileError(f"unsupported file type '.{suffix}'; supported: {supported_list()}")
    if stem.split(".")[0].lower() in _WINDOWS_RESERVED:
        raise UnsafeFileError(f"{cleaned!r} is a reserved device name")
    stem = re.sub(r"[^\w.\- ]+", "_", stem, flags=re.UNICODE).strip(" .") or "document"
    stem = re.sub(r"[\s_]+", "_", stem)
    safe = f"{stem}.{suffix.lower()}"
    if len(safe) > MAX_NAME_CHARS:
        keep = MAX_NAME_CHARS - len(suffix) - 1
        safe = f"{stem[:keep]}.{suffix.lower()}"
    return safe


@dataclass(frozen=True, slots=True)
class SizeLimit:
    """A cap on a file's size and the setting that raises it, which a refusal names."""

    mb: float
    setting: str


UPLOAD_CHARS_SETTING = "BOT_KB__MAX_UPLOAD_CHARS"


def check_upload_chars(chars: int, limit: int, setting: str = UPLOAD_CHARS_SETTING) -> None:
    """Refuse an upload whose text is over `limit` characters (0: no limit). Checked before it is saved or
    embedded: an upload is embedded while the admin waits, with no way to stop it (a 5 MB text file kept a
    2-core server busy for about ten minutes), whereas a reload from the folder is an operator's job."""
    if limit and chars > limit:
        raise UnsafeFileError(
            f"its text is {chars:,} characters, over the {limit:,} one upload may add ({setting}): embedding "
            f"it would keep the knowledge base busy for minutes. Raise {setting}, or copy the file into the "
            "knowledge folder and run `python -m bot kb reload` (or /reload)"
        )


def validate_upload(name: str, data: bytes, kb: KBSettings, *, upload_limit: SizeLimit | None = None) -> str:
    """Check an admin's uploaded document; return the safe file name to save it under.

    `upload_limit` is the channel's own cap (checked first); the knowledge base's file limit always applies.
    Raises `UnsafeFileError` with a reason fit to show the admin.
    """
    safe = safe_file_name(name)
    if upload_limit is not None:
        check_size(len(data), upload_limit.mb, upload_limit.setting)
    check_size(len(data), kb.max_file_mb, "BOT_KB__MAX_FILE_MB")
    check_content(Path(safe).suffix, data)
    return safe


def check_file(path: Path, root: Path, max_file_mb: float) -> bytes:
    """Read one knowledge file after the checks that need no parsing; return its bytes.

    Refuses links that leave the knowledge folder, oversized files (before reading them) and content that
    does not match the extension.
    """
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise UnsafeFileError(f"cannot be opened: {exc.__class__.__name__}") from None
    if not resolved.is_relative_to(root.resolve()):
        raise UnsafeFileError("it is a link that points outside the knowledge folder")
    if not resolved.is_file():
        raise UnsafeFileError("not a regular file")
    size = resolved.stat().st_size
    check_size(size, max_file_mb, "BOT_KB__MAX_FILE_MB")
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        raise UnsafeFileError(f"cannot be read: {exc.strerror or exc.__class__.__name__}") from None
    check_content(path.suffix, data)
    return data
