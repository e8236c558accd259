"""What an admin's reload, an upload and the scheduled refresh do when something unforeseen fails."""

from __future__ import annotations

import asyncio
import errno
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.admin import ReloadResult
from bot.refresh import refresh_every
from bot.store.base import ApprovedAnswer
from tests.fakes_log import ApprovedAnswersToReview
from tests.kb.conftest import NOTES_TXT, folder_admin


def _approved(answer_id: int, source: str) -> ApprovedAnswer:
    now = datetime.now(UTC)
    return ApprovedAnswer(answer_id, "q", "a", source, "0" * 64, "active", "admin", now, now)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _unreadable(folder: Path, source: str) -> str | None:
    # As `open` fails on a file the bot's user may no longer read (root ignores chmod, so it is simulated).
    raise PermissionError(errno.EACCES, "Permission denied", str(folder / source))


async def test_an_unreadable_cited_file_is_named_and_the_reload_still_serves(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ApprovedAnswersToReview([_approved(1, "notes.txt")])
    admin, kb = folder_admin(tmp_path, corpus, store)
    monkeypatch.setattr("bot.admin.source_hash", _unreadable)

    result = await admin.reload()

    assert result.ok  # the new index was swapped in before the review: it serves
    assert f"cannot read {corpus / 'notes.txt'} (Permission denied)" in result.text
    assert "Traceback" not in result.text
    assert admin.last_refresh is not None
    assert admin.last_refresh.ok
    assert (await kb.stats()).chunks > 0
    await kb.close()


async def test_the_schedule_keeps_running_after_a_refresh_crashes(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    admin, kb = folder_admin(tmp_path, corpus)
    calls = 0

    async def refresh() -> ReloadResult | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("unforeseen")
        return ReloadResult(None, "❌ Reload failed: still broken")

    monkeypatch.setattr(admin, "refresh", refresh)
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="bot.refresh"):
        task = asyncio.create_task(refresh_every(admin, 0.01, notify, stop))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if calls >= 3 or task.done():
                break
        assert not task.done(), task.exception() if task.done() else None
        assert calls >= 3
        # Shutdown still ends it: cancellation is not swallowed.
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    crash = [r for r in caplog.records if r.message.startswith("scheduled refresh crashed")]
    assert crash
    assert crash[0].exc_info is not None  # logged with its traceback, for the operator
    assert told[0] == "⚠️ Scheduled knowledge-base refresh failed (RuntimeError); see the bot's log."
    await kb.close()


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "replaced-file"])
async def test_an_upload_whose_reload_raises_leaves_the_folder_as_it_was(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    admin, kb = folder_admin(tmp_path, corpus)
    name = "notes.txt" if existing else "new.md"
    before = _listing(corpus)

    async def crash(*args: Any, **kwargs: Any) -> ReloadResult:
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(admin, "_reload", crash)
    with pytest.raises(RuntimeError):
        await admin.add_document(name, b"# Uploaded\n\nReplacement text of the upload.\n")

    assert _listing(corpus) == before  # no upload, no backup left behind
    if existing:
        assert _text(corpus / name) == NOTES_TXT
    await kb.close()


async def test_an_upload_that_cannot_be_written_says_so_and_keeps_the_old_file(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, kb = folder_admin(tmp_path, corpus)
    before = _listing(corpus)

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    result = await admin.add_document("notes.txt", b"new text")

    assert not result.ok
    assert result.text == (
        f"❌ notes.txt was not added: cannot write it to {corpus} (No space left on device). "
        "The knowledge folder is unchanged."
    )
    assert _listing(corpus) == before
    assert _text(corpus / "notes.txt") == NOTES_TXT
    await kb.close()


async def test_a_scheduled_refresh_skips_while_another_process_reloads(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `kb reload` from a shell, or another webhook worker, holds the index folder's lock: the schedule's
    # turn is skipped (None, as for a reload in this process), while an admin's own reload says why it failed.
    from bot.kb.base import ReloadRunningError

    admin, kb = folder_admin(tmp_path, corpus)

    async def held(*args: object, **kwargs: object) -> object:
        raise ReloadRunningError("another reload is running (pid 4242); try again when it ends")

    monkeypatch.setattr(kb, "reload", held)
    assert await admin.refresh() is None
    assert admin.last_refresh is None, "a skipped turn is no failed refresh"
    result = await admin.reload()
    assert not result.ok
    assert "another reload is running (pid 4242)" in result.text
    await kb.close()
