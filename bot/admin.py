"""Admin actions every channel renders the same way: reload, add a document, stats, export."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config import KBSettings
from bot.conversation import WaitFigures, db_call
from bot.kb.base import (
    KBStats,
    KBUnavailableError,
    KnowledgeBase,
    ProgressCallback,
    ReloadError,
    ReloadReport,
    ReloadRunningError,
)
from bot.kb.reload import describe_changes, report_progress
from bot.kb.sources import DocumentSource, FolderSource, folder_source, is_site
from bot.kb.validate import UnsafeFileError
from bot.language import language_name
from bot.store.base import (
    ApprovedAnswer,
    ApprovedAnswerStore,
    ConversationLog,
    RecentAnswer,
    Stats,
    StoreUnavailableError,
)

log = logging.getLogger("bot.admin")

# Runs the training export into the given file; returns a one-line summary for the admin.
ExportRunner = Callable[[Path], Awaitable[str]]
# Checks an uploaded document and returns the safe file name to save it under; raises `UnsafeFileError`.
UploadCheck = Callable[[str, bytes], str]
# The /stats lines of the model servers in use (one per pooled server; none for a single backend).
ServerLines = Callable[[], list[str]]
# The knowledge sources a reload reads (folders and sites, built afresh for each reload).
SourceList = Callable[[], Sequence[DocumentSource]]


RELOAD_BUSY = "A reload is already running; please try again when it has finished."
UPLOAD_BUSY = "A reload is running; please send the file again when it has finished."


class ReloadBusyError(Exception):
    """A reload is already running; the caller should say so rather than queue a second one."""


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """A finished reload: the report, or None with `summary` saying why the old index keeps serving."""

    report: ReloadReport | None
    summary: str
    # The approved answers this reload flagged `needs_review`, and the report's line about the review
    # (`describe_review`, or why it could not be done): kept apart, so a channel with its own pages can
    # render the flagged ones its own way.
    flagged: tuple[ApprovedAnswer, ...] = ()
    review: str = ""

    @property
    def ok(self) -> bool:
        return self.report is not None

    @property
    def text(self) -> str:
        """The whole text to send: the summary, then the review's line."""
        return f"{self.summary}\n{self.review}" if self.review else self.summary


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """The latest reload of this process (by an admin or the schedule), for /stats."""

    at: dt.datetime
    scheduled: bool
    ok: bool
    text: str

    def describe(self) -> str:
        how = "scheduled refresh" if self.scheduled else "reload"
        when = self.at.strftime("%Y-%m-%d %H:%M UTC")
        if self.ok:
            return f"Last {how}: {when}, succeeded"
        reason = self.text.removeprefix("❌ ").splitlines()[0]
        return f"Last {how}: {when}, FAILED ({reason}); the previous index keeps serving"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A finished export: the file to send (None when there is nothing to send) and what to tell the admin."""

    path: Path | None
    text: str


def describe_report(report: ReloadReport) -> str:
    lines = [
        f"✅ Knowledge base reloaded in {report.seconds:.1f} s",
        f"Files: {report.files} · chunks: {report.chunks} · skipped: {len(report.skipped)}",
    ]
    if report.changes is not None:
        lines.append(f"Changes: {describe_changes(report.changes)}")
    if report.skipped:
        lines.append("Skipped files:")
        lines.extend(f"• {s.path}: {s.reason}" for s in report.skipped)
    return "\n".join(lines)


def describe_stats(stats: Stats, kb_line: str, waiting_line: str = "", *, recent: bool = True) -> str:
    """The /stats text; without the latest answers' lines when `recent` is False (the web console lists
    them itself, as links)."""
    rated = stats.thumbs_up_7d + stats.thumbs_down_7d
    feedback = f"{stats.thumbs_up_7d / rated:.0%} 👍 of {rated} rated" if rated else "no ratings yet"
    refusal = f"{stats.refusals_7d / stats.answers_7d:.0%}" if stats.answers_7d else "n/a"
    handoff = f"{stats.handoffs_7d / stats.conversations_7d:.0%}" if stats.conversations_7d else "n/a"

    languages = (
        " · ".join(f"{language_name(code)} {n}" for code, n in stats.languages_7d)
        if stats.languages_7d
        else "no messages yet"
    )

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f} ms"

    latest = [f"#{a.id} {a.outcome or '?'} — {snippet(a.question)}" for a in stats.recent_answers] or [
        "none yet"
    ]
    return "\n".join(
        [
            "📊 Stats",
            kb_line,
            f"Conversations: {stats.conversations_24h} (24 h) · {stats.conversations_7d} (7 d)",
            f"Messages: {stats.messages_24h} (24 h) · {stats.messages_7d} (7 d)",
            f"Answers (7 d): {stats.answers_7d} · feedback: {feedback}",
            f"Refusal rate (7 d): {refusal} · handoff rate (7 d): {handoff}",
            f"Latency p50 / p95: {ms(stats.latency_p50_ms)} / {ms(stats.latency_p95_ms)}",
            *([waiting_line] if waiting_line else []),
            f"Customer languages (7 d): {languages}",
            f"Approved answers served (7 d): {stats.approved_7d}",
            *(["Latest answers (/correct ID to correct one):", *latest] if recent else []),
        ]
    )


def describe_waiting(figures: WaitFigures) -> str:
    """The /stats line of the waiting line: answers waiting for their first text now, and how long recent
    ones waited (from the question to the first text the customer saw)."""

    def s(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} s"

    now = f"Waiting now: {figures.waiting}"
    if figures.waiting:
        now += f" (longest {figures.longest_s:.0f} s)"
    rate = f" · one answer per {s(figures.per_answer_s)}" if figures.per_answer_s is not None else ""
    honest = ""
    if figures.estimate_ratio_p50 is not None and figures.estimate_ratio_p90 is not None:
        honest = (
            f" · wait after a notice / its estimate: p50 ×{figures.estimate_ratio_p50:.2f}, "
            f"p90 ×{figures.estimate_ratio_p90:.2f} (last {figures.estimates})"
        )
    return (
        f"{now}{rate} · wait p50 / p95 (last {figures.measured}): {s(figures.p50_s)} / {s(figures.p95_s)}"
        f" · place-in-line notices: {figures.notices}{honest}"
    )


def snippet(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def source_hash(folder: Path, source: str) -> str | None:
    """sha256 of the knowledge document `source` (relative to `folder`); None when it is not a file there."""
    root = folder.resolve()
    path = (root / source).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_hash(folders: Sequence[Path], source: str) -> str | None:
    """The hash of `source` in the first of `folders` that holds it (as the reload kept the first)."""
    for folder in folders:
        digest = source_hash(folder, source)
        if digest is not None:
            return digest
    return None


async def review_approved(
    store: ApprovedAnswerStore, folders: Path | Sequence[Path], report: ReloadReport
) -> list[ApprovedAnswer]:
    """After a reload of `folders` (and sites): flag `needs_review` every active approved answer whose
    cited article changed (a file's sha256 differs from the one approved; a page's text changed in this
    reload) or is gone (deleted, skipped or left the site). Returns those flagged. An answer already waiting
    for review gets its reason brought up to date: a file that came back as it was approved is no longer
    "no longer in the knowledge base" (it stays flagged: only an admin serves it again)."""
    roots = [folders] if isinstance(folders, Path) else list(folders)
    skipped = {s.path for s in report.skipped}
    changes = report.changes
    flagged: list[ApprovedAnswer] = []
    for approved in await db_call(store.list_approved(["active", "needs_review"])):
        if not approved.source:
            continue
        if approved.status == "needs_review":
            if not is_site(approved.source):
                await _refresh_review_reason(store, approved, roots, skipped)
            continue
        # A page has no file to hash: only the replaced index says whether it changed. With none to read,
        # the answer is reviewed rather than trusted.
        unknown = False
        if is_site(approved.source):
            unknown = changes is None or not changes.compared
            gone = approved.source in skipped or bool(changes and approved.source in changes.removed_sources)
            edited = bool(changes and approved.source in changes.changed_sources)
        else:
            current = await asyncio.to_thread(_folder_hash, roots, approved.source)
            gone = current is None or approved.source in skipped
            edited = approved.source_hash is not None and current != approved.source_hash
        if gone:
            reason = f"{approved.source} is no longer in the knowledge base"
        elif edited:
            reason = f"{approved.source} changed"
        elif unknown:
            reason = f"{approved.source} could not be compared with the previous index"
        else:
            continue
        flagged.append(
            await db_call(store.update_approved(approved.id, status="needs_review", review_reason=reason))
        )
        log.info("approved answer needs review", extra={"approved_id": approved.id, "reason": reason})
    return flagged


async def _refresh_review_reason(
    store: ApprovedAnswerStore, approved: ApprovedAnswer, roots: Sequence[Path], skipped: set[str]
) -> None:
    """The reason of a file's answer waiting for review, as the folder stands now (see `review_approved`)."""
    if approved.source is None:
        return
    current = await asyncio.to_thread(_folder_hash, roots, approved.source)
    if current is None or approved.source in skipped:
        reason = f"{approved.source} is no longer in the knowledge base"
    elif approved.source_hash is not None and current != approved.source_hash:
        reason = f"{approved.source} changed"
    elif approved.review_reason == f"{approved.source} changed":
        reason = f"{approved.source} changed and is back as it was approved"
    else:
        reason = f"{approved.source} was missing from a reload and is back as it was approved"
    if reason != approved.review_reason:
        await db_call(store.update_approved(approved.id, review_reason=reason))


def describe_review(flagged: list[ApprovedAnswer]) -> str:
    """The reload report's line about approved answers whose article changed ("" when none did)."""
    if not flagged:
        return ""
    ids = ", ".join(f"#{a.id}" for a in flagged)
    return (
        f"⚠️ {len(flagged)} approved answer(s) cite an article that changed or went away and are not "
        f"served until reviewed: {ids} (`python -m bot answers list`, then `answers edit ID`)."
    )


class Admin:
    """The admin actions. Channels check who is an admin before calling any of these, and render the text."""

    def __init__(
        self,
        kb: KnowledgeBase,
        log: ConversationLog,
        *,
        kb_source: Path,
        exports_dir: Path,
        check_upload: UploadCheck,
        export: ExportRunner | None = None,
        approved: ApprovedAnswerStore | None = None,
        model_servers: ServerLines | None = None,
        sources: SourceList | None = None,
    ) -> None:
        self.kb = kb
        self.log = log
        self.approved = approved
        self.kb_source = kb_source  # where uploads are saved
        self._sources = sources
        self.last_refresh: RefreshRecord | None = None
        self.exports_dir = exports_dir
        self._check_upload = check_upload
        self._export = export
        self._model_servers = model_servers
        self._reload_lock = asyncio.Lock()

    @property
    def reloading(self) -> bool:
        return self._reload_lock.locked()

    async def reload(self, progress: ProgressCallback | None = None) -> ReloadResult:
        """Rebuild the knowledge base from its folder; a failure leaves the previous index serving.

        Raises `ReloadBusyError` when a reload is already running. `progress` may be called from a worker
        thread: it should only remember the value.
        """
        if self._reload_lock.locked():
            raise ReloadBusyError(RELOAD_BUSY)
        async with self._reload_lock:
            return await self._reload(progress)

    async def refresh(self) -> ReloadResult | None:
        """The scheduled refresh of every source: a reload, unless one is running (then None)."""
        if self._reload_lock.locked():
            return None
        async with self._reload_lock:
            try:
                return await self._reload(None, scheduled=True, busy_skips=True)
            except ReloadRunningError:
                # Another process (`kb reload`, another webhook worker) is reloading the same index: the
                # schedule skips this turn as it does for a reload in this process; nothing failed.
                log.info("scheduled refresh skipped: another process is reloading")
                return None

    def _folders(self, sources: Sequence[DocumentSource]) -> list[Path]:
        return [s.path for s in sources if isinstance(s, FolderSource)]

    def uploads_indexed(self) -> bool:
        """Whether a reload reads the knowledge folder uploads are saved to."""
        return self._upload_folder() is not None

    def _upload_folder(self) -> FolderSource | None:
        """The knowledge source uploads are saved into, with its limits; None when no reload reads it.
        Without configured sources (an Admin built for one folder) it is that folder with the default
        limits."""
        if self._sources is None:
            return folder_source(self.kb_source, KBSettings())
        folder = self.kb_source.resolve()
        return next(
            (s for s in self._sources() if isinstance(s, FolderSource) and s.path.resolve() == folder), None
        )

    async def _reload(
        self, progress: ProgressCallback | None, *, scheduled: bool = False, busy_skips: bool = False
    ) -> ReloadResult:
        result = await self._reload_once(progress, busy_skips=busy_skips)
        self.last_refresh = RefreshRecord(dt.datetime.now(dt.UTC), scheduled, result.ok, result.text)
        return result

    async def _reload_once(
        self, progress: ProgressCallback | None, *, busy_skips: bool = False
    ) -> ReloadResult:
        sources = self._sources() if self._sources is not None else None
        try:
            report = await self.kb.reload(self.kb_source if sources is None else sources, progress)
        except (ReloadError, KBUnavailableError) as exc:
            if busy_skips and isinstance(exc, ReloadRunningError):
                raise  # the schedule's turn is skipped, not failed
            log.warning("reload failed", extra={"error": str(exc)})
            return ReloadResult(None, f"❌ Reload failed: {exc}\nThe previous knowledge base keeps serving.")
        except Exception as exc:
            log.exception("reload crashed")
            return ReloadResult(
                None,
                f"❌ Reload failed ({exc.__class__.__name__}). The previous knowledge base keeps "
                "serving; see the bot's log for details.",
            )
        log.info(
            "knowledge base reloaded",
            extra={"files": report.files, "chunks": report.chunks, "skipped": len(report.skipped)},
        )
        text = describe_report(report)
        folders = self._folders(sources) if sources is not None else [self.kb_source]
        review, flagged = await self._review_approved(report, folders)
        return ReloadResult(report, text, flagged, review)

    async def _review_approved(
        self, report: ReloadReport, folders: Sequence[Path]
    ) -> tuple[str, tuple[ApprovedAnswer, ...]]:
        """Flag approved answers whose article the reload changed; the new index serves either way.
        Returns the report's line about them and those flagged."""
        if self.approved is None:
            return "", ()
        try:
            flagged = tuple(await review_approved(self.approved, folders, report))
            return describe_review(list(flagged)), flagged
        except (StoreUnavailableError, LookupError, ValueError) as exc:
            log.warning("approved answers not reviewed after the reload", extra={"error": str(exc)})
            return (
                "⚠️ Approved answers could not be checked against the new articles (database unavailable).",
                (),
            )
        except OSError as exc:
            # A cited file that cannot be read (permissions, a vanished mount): the new index is already
            # serving, so this is the admin's to fix, named, not a crash of the reload or the schedule.
            where = exc.filename or "a cited article"
            why = exc.strerror or exc.__class__.__name__
            log.warning(
                "approved answers not reviewed after the reload", extra={"file": str(where), "error": why}
            )
            return (
                f"⚠️ Approved answers could not be checked against the new articles: cannot read {where} "
                f"({why}). Fix the file and reload.",
                (),
            )
        except Exception as exc:
            # The review only flags answers; whatever else goes wrong in it must not turn a reload that
            # already swapped the new index in into an error (nor stop the scheduled refresh).
            log.exception("approved answers not reviewed after the reload")
            return (
                f"⚠️ Approved answers could not be checked against the new articles "
                f"({exc.__class__.__name__}); see the bot's log.",
                (),
            )

    def check_upload(self, file_name: str, data: bytes) -> str:
        """The safe name to save an uploaded document under; raises `UnsafeFileError` with the reason."""
        return self._check_upload(file_name, data)

    async def add_document(
        self, safe_name: str, data: bytes, progress: ProgressCallback | None = None
    ) -> ReloadResult:
        """Save a checked document into the knowledge folder and reload; on any failure the folder is
        restored exactly as it was. A document with more text than one upload may add
        (`BOT_KB__MAX_UPLOAD_CHARS`) is refused first, with nothing saved or embedded: the reload that
        embeds it cannot be stopped. Raises `ReloadBusyError` when a reload is running."""
        if self._reload_lock.locked():
            raise ReloadBusyError(UPLOAD_BUSY)
        folder = self._upload_folder()
        if folder is None:
            return ReloadResult(
                None,
                f"❌ {safe_name} was not added: uploads are saved to {self.kb_source} (BOT_KB__SOURCE), "
                "which is not one of the knowledge sources (BOT_KB__SOURCES). Add that folder there.",
            )
        async with self._reload_lock:
            # Before anything is saved or embedded, and off the event loop (a PDF is parsed for its text):
            # an upload too large to embed while the admin waits is refused with the limit to raise.
            report_progress(progress, "loading", 0, 0)
            try:
                await asyncio.to_thread(folder.check_upload, safe_name, data)
            except UnsafeFileError as exc:
                log.info("upload refused", extra={"file": safe_name, "reason": str(exc)})
                return ReloadResult(
                    None, f"❌ {safe_name} was not added: {exc}. The knowledge folder is unchanged."
                )
            found = await asyncio.to_thread(_upload_target, self.kb_source, safe_name)
            if isinstance(found, str):
                log.info("upload refused", extra={"file": safe_name, "reason": found})
                return ReloadResult(
                    None, f"❌ {safe_name} was not added: {found}. The knowledge folder is unchanged."
                )
            target = found
            shown = target.relative_to(self.kb_source).as_posix()
            try:
                backup = await asyncio.to_thread(_save_atomically, self.kb_source, target, data)
            except OSError as exc:
                log.warning("upload not saved", extra={"file": str(target), "error": str(exc)})
                return ReloadResult(
                    None,
                    f"❌ {safe_name} was not added: cannot write it to {self.kb_source} "
                    f"({exc.strerror or exc.__class__.__name__}). The knowledge folder is unchanged.",
                )
            kept = False
            try:
                result = await self._reload(progress)
                report = result.report
                skipped = {s.path: s.reason for s in report.skipped} if report else {}
                reason = skipped.get(safe_name) or next(
                    (r for p, r in skipped.items() if p.endswith("/" + safe_name)), None
                )
                if report is None or reason is not None:
                    why = reason or "the reload failed"
                    text = f"❌ {safe_name} was not added: {why}. The knowledge folder is unchanged."
                    if report is not None:
                        text += "\n\n" + describe_report(report)
                    return ReloadResult(None, text)
                kept = True
            finally:
                # Also when the reload raised or was cancelled: the admin was not told the file is in,
                # so it must not stay in the folder for the next reload to pick up unannounced.
                if not kept:
                    await asyncio.to_thread(_restore, target, backup)
            if backup is not None:
                await asyncio.to_thread(backup.unlink, missing_ok=True)
            done = f"✅ {shown} was replaced by the upload" if backup is not None else f"✅ {shown} is now"
            return ReloadResult(
                report,
                f"{done} in the knowledge base.\n\n{result.summary}",
                result.flagged,
                result.review,
            )

    async def stats(self, waiting: WaitFigures | None = None) -> str:
        """The /stats text: knowledge base size, the log's 24 h / 7 d figures and, given the conversation
        service's `waiting` figures, the waiting line."""
        text, _ = await self._stats(waiting, recent=True)
        return text

    async def stats_and_latest(
        self, waiting: WaitFigures | None = None
    ) -> tuple[str, tuple[RecentAnswer, ...]]:
        """The /stats text without its latest answers, and those answers: for a channel that links each one
        to its conversation rather than naming a command."""
        return await self._stats(waiting, recent=False)

    async def _stats(
        self, waiting: WaitFigures | None, *, recent: bool
    ) -> tuple[str, tuple[RecentAnswer, ...]]:
        # Read once: a slow backend makes each read wait out its whole deadline.
        kb_stats: KBStats | None
        try:
            kb_stats = await self.kb.stats()
            kb_line = (
                f"Knowledge base: {kb_stats.documents} documents, {kb_stats.chunks} chunks "
                f"({kb_stats.backend})"
            )
        except KBUnavailableError:
            kb_stats = None
            kb_line = "Knowledge base: unavailable"
        stats = await db_call(self.log.stats())
        waiting_line = describe_waiting(waiting) if waiting is not None else ""
        text = describe_stats(stats, kb_line, waiting_line, recent=recent)
        servers = self._model_servers() if self._model_servers is not None else []
        text = "\n".join([text, "Model servers:", *servers]) if servers else text
        return "\n".join([text, *self._source_lines(kb_stats)]), stats.recent_answers

    async def approved_answers(self) -> list[ApprovedAnswer] | None:
        """Every approved answer and operator's candidate, oldest first; None when this bot keeps none.
        Store failures raise `StoreUnavailableError`."""
        if self.approved is None:
            return None
        return await db_call(self.approved.list_approved())

    def _source_lines(self, kb_stats: KBStats | None) -> list[str]:
        """/stats' lines on the knowledge sources: each one's last reload report, and this process's last
        reload or scheduled refresh (a failure is shown until one succeeds)."""
        recorded = kb_stats.sources if kb_stats is not None else ()
        lines = ["Knowledge sources:", *(f"• {s.describe()}" for s in recorded)] if recorded else []
        if self.last_refresh is not None:
            lines.append(self.last_refresh.describe())
        return lines

    async def export(self) -> ExportResult:
        """Run the training export into a new file under the exports folder.

        Store failures raise `StoreUnavailableError` (the channel shows its "database down" text).
        """
        if self._export is None:
            return ExportResult(None, "The export is not configured for this bot.")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out = self.exports_dir / f"export-{stamp}.jsonl"
        await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
        summary = await self._export(out)
        size = await asyncio.to_thread(lambda: out.stat().st_size if out.exists() else 0)
        if size == 0:
            return ExportResult(None, f"The export is empty: {summary}.")
        return ExportResult(out, f"✅ Export ready: {summary}.")


def _upload_target(folder: Path, name: str) -> Path | str:
    """Where an upload named `name` goes: the article of that name it updates, wherever in the folder it is
    (an admin uploading an edited `refunds.md` means `billing/refunds.md`: saved beside it, both were
    indexed and the bot cited the old and the new text side by side), else the folder itself. A name that
    several articles share is why it is refused (str)."""
    top = folder / name
    if top.exists():
        return top
    same = sorted(
        path
        for path in folder.rglob(name)
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    if len(same) > 1:
        named = ", ".join(path.relative_to(folder).as_posix() for path in same)
        return (
            f"several articles are named {name} ({named}); rename the upload, or remove the one it replaces"
        )
    return same[0] if same else top


def _save_atomically(source: Path, target: Path, data: bytes) -> Path | None:
    """Write `data` to `target` via a temp file and rename; keep the old file as a backup to restore."""
    source.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.uploading")
    # The new bytes are written before the old file moves aside: a full disk leaves the folder as it was.
    try:
        tmp.write_bytes(data)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    backup: Path | None = None
    if target.exists():
        backup = target.with_name(f".{target.name}.previous")
        os.replace(target, backup)
    os.replace(tmp, target)
    return backup


def _restore(target: Path, backup: Path | None) -> None:
    if backup is not None and backup.exists():
        os.replace(backup, target)
    else:
        target.unlink(missing_ok=True)
