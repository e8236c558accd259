"""How much one admin upload may add (`BOT_KB__MAX_UPLOAD_CHARS`): an upload is embedded while the admin
waits and cannot be stopped, so one too large is refused before anything is saved or embedded, with the
setting to raise and the way around it (the folder and `kb reload`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from bot.admin import Admin
from bot.config import KBSettings
from bot.kb.embedded import EmbeddedKB
from bot.kb.sources import FolderSource
from bot.services import build_admin
from tests.fakes import FakeEmbedder
from tests.fakes_log import MemoryConversationLog
from tests.kb.conftest import folder_admin, make_settings
from tests.kb.pdfs import raw_pdf

LIMIT = 2_000


def _admin(tmp_path: Path, corpus: Path, **kb: Any) -> tuple[Admin, EmbeddedKB, FakeEmbedder]:
    """The admin actions as `serve` builds them (the configured upload check and sources)."""
    settings = make_settings(tmp_path, kb={"source": corpus, **kb})
    embedder = FakeEmbedder()
    index = EmbeddedKB(settings.kb, settings.index_dir, embedder)
    return build_admin(settings, index, MemoryConversationLog()), index, embedder


def _listing(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def _markdown(chars: int) -> bytes:
    paragraph = "Lockers open with the pickup code from the app. " * 20 + "\n\n"
    body = "".join(f"## Part {i}\n\n{paragraph}" for i in range(chars // len(paragraph) + 1))
    return ("# Locker manual\n\n" + body).encode()


async def test_an_upload_over_the_limit_is_refused_before_anything_is_saved_or_embedded(
    tmp_path: Path, corpus: Path
) -> None:
    admin, kb, embedder = _admin(tmp_path, corpus, max_upload_chars=LIMIT)
    first = await admin.reload()
    assert first.ok, first.text
    serving, embedded, listing = (await kb.stats()).index, len(embedder.passages), _listing(corpus)

    data = _markdown(LIMIT * 3)
    safe = admin.check_upload("manual.md", data)  # the channel's checks pass: type, size, encoding
    result = await admin.add_document(safe, data)

    assert not result.ok
    text = " ".join(result.text.split())
    assert text.startswith("❌ manual.md was not added: its text is ")
    assert f"over the {LIMIT:,} one upload may add (BOT_KB__MAX_UPLOAD_CHARS)" in text
    assert "Raise BOT_KB__MAX_UPLOAD_CHARS, or copy the file into the knowledge folder" in text
    assert "`python -m bot kb reload`" in text
    assert text.endswith("The knowledge folder is unchanged.")
    assert _listing(corpus) == listing
    assert len(embedder.passages) == embedded, "nothing was embedded"
    assert (await kb.stats()).index == serving, "no reload ran"
    assert not admin.reloading


async def test_an_upload_within_the_limit_is_added(tmp_path: Path, corpus: Path) -> None:
    admin, kb, _ = _admin(tmp_path, corpus, max_upload_chars=LIMIT)
    result = await admin.add_document("manual.md", _markdown(LIMIT // 2))
    assert result.ok, result.text
    assert "manual.md" in await kb.indexed_sources()


async def test_the_text_counts_not_the_bytes(tmp_path: Path, corpus: Path) -> None:
    """Markup and a PDF's structure cost nothing to embed: the limit is on the text the reload reads."""
    admin, kb, _ = _admin(tmp_path, corpus, max_upload_chars=LIMIT)
    words = "Parcels wait seven days in the locker."
    page = f"<html><body><main><h1>Pickup</h1><p>{words}</p>{'<div></div>' * 1000}</main></body></html>"
    assert len(page) > 5 * LIMIT
    assert (await admin.add_document("pickup.html", page.encode())).ok
    pdf = raw_pdf([[words] * 5])
    assert (await admin.add_document("pickup.pdf", pdf)).ok
    refused = await admin.add_document("manual.pdf", raw_pdf([[words] * 40] * 3))
    assert not refused.ok
    assert "BOT_KB__MAX_UPLOAD_CHARS" in refused.text
    assert {"pickup.html", "pickup.pdf"} <= await kb.indexed_sources()


async def test_zero_means_no_limit_and_the_default_is_half_a_million(tmp_path: Path, corpus: Path) -> None:
    assert KBSettings().max_upload_chars == 500_000
    admin, _, _ = _admin(tmp_path, corpus, max_upload_chars=0)
    assert (await admin.add_document("manual.md", _markdown(LIMIT * 3))).ok


async def test_the_check_runs_off_the_event_loop(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing a large PDF takes seconds: other chats are answered meanwhile."""
    threads: list[threading.Thread] = []
    check = FolderSource.check_upload

    def recording(self: FolderSource, name: str, data: bytes) -> None:
        threads.append(threading.current_thread())
        check(self, name, data)

    monkeypatch.setattr(FolderSource, "check_upload", recording)
    admin, _, _ = _admin(tmp_path, corpus, max_upload_chars=LIMIT)
    assert not (await admin.add_document("manual.md", _markdown(LIMIT * 3))).ok
    assert threads
    assert threads[0] is not threading.main_thread()


async def test_an_admin_for_one_folder_has_the_default_limit(tmp_path: Path, corpus: Path) -> None:
    admin, kb = folder_admin(tmp_path, corpus)
    refused = await admin.add_document("big.txt", b"Lockers open with the code. " * 20_000)
    assert not refused.ok
    assert "over the 500,000 one upload may add" in refused.text
    assert not (corpus / "big.txt").exists()
    await kb.close()
