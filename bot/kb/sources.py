"""Where knowledge comes from: folders and websites, each loaded into documents with its own report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bot.config import KBSettings
from bot.kb.base import SkippedFile, SourceKind, SourceReport
from bot.kb.parsers import Document


class SourceError(Exception):
    """A whole source could not be read (a missing folder, an unreachable site); the reload fails."""


@dataclass(frozen=True, slots=True)
class LoadedSource:
    """One source's documents and the files or pages it skipped, with the reason each."""

    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]
    report: SourceReport


class DocumentSource(Protocol):
    """A folder or a website the knowledge base is built from."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> SourceKind: ...

    async def load(self) -> LoadedSource:
        """Every document it holds now; raise `SourceError` when the source as a whole cannot be read."""
        ...


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FolderSource:
    """A folder of knowledge files (Markdown, HTML, PDF, …), walked and parsed in a worker thread.

    `max_upload_chars` bounds what one admin upload saved into it may add (0: no bound): it is embedded
    while the admin waits. Files put in the folder by hand and reloaded are bounded by `max_file_mb` only.
    """

    kind: SourceKind = "folder"

    def __init__(self, path: Path, max_file_mb: float, max_upload_chars: int = 0) -> None:
        self.path = path
        self._max_file_mb = max_file_mb
        self.max_upload_chars = max_upload_chars

    @property
    def name(self) -> str:
        return str(self.path)

    async def load(self) -> LoadedSource:
        from bot.kb.base import ReloadError
        from bot.kb.reload import load_documents

        started = time.perf_counter()
        try:
            documents, skipped = await asyncio.to_thread(load_documents, self.path, self._max_file_mb)
        except ReloadError as exc:
            raise SourceError(str(exc)) from exc
        report = SourceReport(
            name=self.name,
            kind=self.kind,
            documents=len(documents),
            skipped=len(skipped),
            seconds=round(time.perf_counter() - started, 3),
            refreshed_at=now_iso(),
        )
        return LoadedSource(tuple(documents), tuple(skipped), report)

    def check_upload(self, name: str, data: bytes) -> None:
        """Refuse an upload to be saved here as `name` whose text, parsed as the reload parses it, is over
        `max_upload_chars` (`UnsafeFileError`, saying so). Synchronous and CPU-bound (a PDF is parsed):
        callers use a thread. A file that cannot be parsed passes: the reload skips it with its reason."""
        from bot.kb.loaders import load_bytes
        from bot.kb.validate import check_upload_chars

        if not self.max_upload_chars:
            return
        try:
            document = load_bytes(name, Path(name).suffix, data)
        except Exception:  # a parse failure is the reload's to report (`load_one` catches the same)
            return
        check_upload_chars(sum(len(section.text) for section in document.sections), self.max_upload_chars)


def is_site(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def configured_sources(
    settings: KBSettings, cache_path: Path, extra: Sequence[str] = ()
) -> list[DocumentSource]:
    """The sources of `settings` (`BOT_KB__SOURCES`, or the `source` folder alone), then `extra` ones not
    already listed; sites keep their pages' validators in `cache_path`."""
    from bot.kb.site import SiteSource

    names = settings.source_list()
    names += [name for name in extra if name not in names]
    out: list[DocumentSource] = []
    for name in names:
        if is_site(name):
            out.append(SiteSource(name, settings.crawl, cache_path))
        else:
            out.append(folder_source(Path(name), settings))
    return out


def folder_source(path: Path, settings: KBSettings) -> FolderSource:
    """The knowledge folder `path`, read with the limits of `settings`."""
    return FolderSource(path, settings.max_file_mb, settings.max_upload_chars)
