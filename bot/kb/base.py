"""The knowledge-base boundary: chunks, hits, reload reports and the Protocols backends implement."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args, runtime_checkable

import numpy as np
import numpy.typing as npt

from bot.domain import Chunk, Hit

if TYPE_CHECKING:
    from bot.kb.calibration import Calibration
    from bot.kb.sources import DocumentSource

SearchMode = Literal["hybrid", "bm25", "dense"]
SourceKind = Literal["folder", "site"]
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)
# The most chunks of one document `KnowledgeBase.outline` reads: a manual's chapter of hundreds of chunks is
# outlined by its first sections, and a customer offered more than a screenful would not read them anyway.
OUTLINE_CHUNKS = 200
# The steps of a reload, in order, as reported to progress displays.
ReloadStage = Literal["loading", "embedding", "indexing", "verifying", "swapping"]


@dataclass(frozen=True, slots=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChangeCounts:
    """Files or chunks of a reload against the index it replaced."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class ReloadChanges:
    """What a reload changed: files by path, chunks by id (path and position), both by content hash."""

    files: ChangeCounts
    chunks: ChangeCounts
    embedded: int  # chunks the embedder ran on (the others reused the replaced index's vectors)
    # The documents (paths or page URLs) that changed or went away, for the review of approved answers.
    changed_sources: frozenset[str] = frozenset()
    removed_sources: frozenset[str] = frozenset()
    # False when there was no readable index to compare with (the first reload, a broken or vanished one):
    # everything then counts as added, and no document is known to have changed or stayed the same.
    compared: bool = True


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one source gave the last reload: for people in `kb stats` and `/stats`, and in the index."""

    name: str  # the folder or URL as configured
    kind: SourceKind
    documents: int
    skipped: int
    seconds: float
    refreshed_at: str  # ISO 8601, UTC
    fetched: int = 0  # pages downloaded in full (sites)
    not_modified: int = 0  # pages the site answered "304 Not Modified" for: their previous copy was used
    kept: int = 0  # pages that failed this time (timeout, 5xx) and kept their previous copy
    disallowed: int = 0  # links robots.txt forbids, not fetched
    redirects: tuple[tuple[str, str], ...] = ()  # (asked, landed on) for every page that redirected
    notes: tuple[str, ...] = field(default=())  # e.g. "page limit 1000 reached; 40 links not followed"

    def describe(self) -> str:
        """One line: "https://help.example.com/ (site): 120 pages, 3 skipped, 115 not modified; 12.3 s"."""
        unit = "pages" if self.kind == "site" else "files"
        parts = [f"{self.documents} {unit}", f"{self.skipped} skipped"]
        if self.kind == "site":
            parts += [f"{self.fetched} fetched", f"{self.not_modified} not modified"]
            parts += [f"{n} {what}" for n, what in ((self.kept, "kept from before"),) if n]
            parts += [f"{n} {what}" for n, what in ((self.disallowed, "disallowed by robots.txt"),) if n]
            parts += [f"{len(self.redirects)} redirected"] if self.redirects else []
        when = self.refreshed_at.replace("T", " ").replace("+00:00", " UTC")
        line = f"{self.name} ({self.kind}): {', '.join(parts)}; refreshed {when} in {self.seconds:.1f} s"
        return line + "".join(f"; {note}" for note in self.notes)


def reports_to_json(reports: Sequence[SourceReport]) -> str:
    return json.dumps([asdict(report) for report in reports], ensure_ascii=False)


def reports_from_json(text: str | None) -> tuple[SourceReport, ...]:
    """The reports an index recorded; nothing for an index built before sources were recorded, or garbage."""
    if not text:
        return ()
    try:
        rows = json.loads(text)
        return tuple(
            SourceReport(
                **{
                    **row,
                    "redirects": tuple(tuple(pair) for pair in row.get("redirects", ())),
                    "notes": tuple(row.get("notes", ())),
                }
            )
            for row in rows
        )
    except (ValueError, TypeError, AttributeError):
        return ()


@dataclass(frozen=True, slots=True)
class ReloadReport:
    files: int
    chunks: int
    skipped: tuple[SkippedFile, ...]
    seconds: float
    index: str = ""  # the physical index that now serves (file name or ES index)
    changes: ReloadChanges | None = None
    sources: tuple[SourceReport, ...] = ()  # one per folder or site, in the configured order


@dataclass(frozen=True, slots=True)
class KBStats:
    backend: str
    index: str
    documents: int
    chunks: int
    built_at: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    sources: tuple[SourceReport, ...] = ()  # what each source gave the reload that built this index


@dataclass(frozen=True, slots=True)
class ReloadProgress:
    stage: ReloadStage
    done: int
    total: int


ProgressCallback = Callable[[ReloadProgress], None]


class KBUnavailableError(Exception):
    """The knowledge base cannot answer right now (down, slow, circuit open, or never built)."""


class KBNotBuiltError(KBUnavailableError):
    """No index has been built yet: nothing serves until `kb reload` builds one (waiting will not help)."""


class ReloadError(Exception):
    """A reload was refused or failed; the previous index keeps serving."""


class ReloadRunningError(ReloadError):
    """Another reload of the same index is running (say, `kb reload` while the bot refreshes); this one
    changed nothing. The cross-process twin of `bot.admin.ReloadBusyError`, which serialises one process's
    reloads; a `ReloadError`, so every caller that reports a failed reload reports this one too."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors. Synchronous and CPU-bound: callers use a thread.

    Questions and knowledge-base passages are embedded apart: models such as e5 expect a different prefix on
    each side (`BOT_EMBEDDINGS__QUERY_PREFIX` / `__PASSAGE_PREFIX`), and the embedder adds them.
    """

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def model_id(self) -> str:
        """Names the vector space (model file, pooling, prefixes); "" when the class says it all.

        An index stores it, so vectors of one space are never reused or searched from another.
        """
        ...

    def count_tokens(self, text: str) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Questions: what a user asks, and calibration's pseudo-questions. One row per text."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Passages of the knowledge base, as indexed. One row per text."""
        ...

    def close(self) -> None:
        """Free the model; further use may raise. Closing twice is harmless."""
        ...


@runtime_checkable
class PreparesSearch(Protocol):
    """A knowledge base whose first question of a kind needs work done once per process (the embedder's
    dictionary read), which `BreakerKB` does before the search's deadline starts."""

    async def prepare_search(self, query: str) -> None:
        """Do what searching `query` needs done once; quick when it is done already."""
        ...


@runtime_checkable
class SwapsEmbedder(Protocol):
    """A component that embeds with an embedder it can change while it serves (the knowledge-base backends,
    the approved-answer matcher): SIGHUP after `models use --embedder` hands each the new one."""

    async def use_embedder(self, embedder: Embedder) -> None:
        """Embed with `embedder` from now on; returns once no work of this component uses the previous one,
        which its owner may then close. Work already running finishes on the embedder it started with."""
        ...


class EmbedderUsers:
    """Counts the work running on each embedder, so that one replaced while the bot serves is closed only
    when the last search, reload or fit that took it has finished, never under it.

    Event-loop only: work takes its embedder in a coroutine (`hold`), around the threads it embeds in.
    """

    def __init__(self) -> None:
        self._running: dict[int, int] = {}
        self._idle: dict[int, asyncio.Event] = {}

    @contextlib.contextmanager
    def hold(self, embedder: Embedder) -> Iterator[Embedder]:
        """`embedder`, counted as in use until the block ends."""
        key = id(embedder)  # alive while held, so its id names it
        self._running[key] = self._running.get(key, 0) + 1
        try:
            yield embedder
        finally:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]
                idle = self._idle.pop(key, None)
                if idle is not None:
                    idle.set()

    async def released(self, embedder: Embedder) -> None:
        """Return once no work holds `embedder` (at once when none does)."""
        key = id(embedder)
        if key in self._running:
            await self._idle.setdefault(key, asyncio.Event()).wait()


class KnowledgeBase(Protocol):
    """What the pipeline and admin paths need from a knowledge base backend."""

    name: str

    async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        """The best `k` sections for `query` (the backends detect its language, for analysis and fusion)."""
        ...

    async def reload(
        self, source: Path | Sequence[DocumentSource], progress: ProgressCallback | None = None
    ) -> ReloadReport:
        """Build a new index from a folder, or from the configured folders and sites, verify it and swap it
        in; raise `ReloadError` (the current index keeps serving) when that cannot be done."""
        ...

    async def stats(self) -> KBStats: ...

    async def indexed_sources(self) -> frozenset[str]:
        """The documents the serving index holds, by their chunks' `source` (a file's path relative to its
        folder, a page's URL): the ones a customer can be shown and an approved answer may cite. A file put
        in a knowledge folder after the last reload is not among them. Raises `KBUnavailableError` when
        there is no index to read (never built, or built by another embedder)."""
        ...

    async def calibration(self) -> Calibration:
        """The refusal gate fitted for the index that serves now (the default gate when there is none)."""
        ...

    async def outline(self, source: str) -> tuple[Chunk, ...]:
        """The first chunk of each section of the document `source`, in the document's order (at most
        `OUTLINE_CHUNKS` chunks of it are read): what a customer is offered when its opening answers
        nothing. Empty for a document the serving index does not hold."""
        ...

    async def missing_words(self, words: Sequence[str]) -> frozenset[str]:
        """The words of `words` that no indexed chunk contains, analysed as search analyses them (every
        part of a joined word like "cloud-init" must be somewhere); the gate refuses questions naming them."""
        ...

    async def ping(self) -> None:
        """Raise `KBUnavailableError` when the backend cannot serve searches."""
        ...

    async def close(self) -> None: ...


class VectorSearchKB(KnowledgeBase, Protocol):
    """A backend that also searches with a query vector embedded beforehand (evaluation embeds in batches)."""

    async def search_vector(
        self,
        query: str,
        vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: SearchMode = "hybrid",
        lang: str | None = None,
    ) -> list[Hit]:
        """Like `search`, with `vector` the embedded query; it may be None only in bm25 mode. `lang` is the
        query's language (None: detected)."""
        ...


def outline_of(chunks: Iterable[Chunk]) -> tuple[Chunk, ...]:
    """The first chunk of each section among one document's `chunks` (its first `OUTLINE_CHUNKS` by
    position), in order: a section cut into several chunks is one entry."""
    seen: set[tuple[str, ...]] = set()
    first: list[Chunk] = []
    for chunk in sorted(chunks, key=lambda c: c.position)[:OUTLINE_CHUNKS]:
        if chunk.heading_path not in seen:
            seen.add(chunk.heading_path)
            first.append(chunk)
    return tuple(first)


def check_search_mode(mode: str) -> None:
    """Raise `ValueError` for a mode no backend knows (the CLI and tests pass plain strings)."""
    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}; use hybrid, bm25 or dense")
