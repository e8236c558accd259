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
    """A folder of knowledge files (Markdown, HTML, PDF, …), walked and parsed in a worker thread."""

    kind: SourceKind = "folder"

    def __init__(self, path: Path, max_file_mb: float) -> None:
        self.path = path
        self._max_file_mb = max_file_mb

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
            out.append(FolderSource(Path(name), settings.max_file_mb))
    return out
