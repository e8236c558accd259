"""The knowledge folder's walk: linked folders inside it are read, and a folder left out is reported."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.kb.embedded import EmbeddedKB
from bot.kb.reload import load_documents
from tests.fakes import FakeEmbedder
from tests.kb.conftest import make_settings


def _write(path: Path, heading: str, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {heading}\n\n{text}\n", encoding="utf-8")


def _linked_tree(tmp_path: Path) -> Path:
    """A folder with a link to a folder inside it, one outside it, and one back to a folder holding it."""
    root = tmp_path / "knowledge"
    _write(root / "guide.md", "Guide", "Parcels arrive in two working days.")
    # The real folder is hidden (a release store, say): only the link brings its files in.
    _write(root / ".releases" / "v2" / "returns.md", "Returns", "Returns are free within thirty days.")
    os.symlink(root / ".releases" / "v2", root / "manuals")
    _write(tmp_path / "elsewhere" / "secret.md", "Secret", "The admin password is hunter2.")
    os.symlink(tmp_path / "elsewhere", root / "shared")
    os.symlink(root, root / "manuals" / "loop")
    return root


def test_a_linked_folder_inside_the_knowledge_folder_is_read(tmp_path: Path) -> None:
    root = _linked_tree(tmp_path)
    documents, skipped = load_documents(root, max_file_mb=20)
    assert sorted(d.source for d in documents) == ["guide.md", "manuals/returns.md"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons == {
        "shared": "it is a link that points outside the knowledge folder; its files are not in the index",
        "manuals/loop": "it is a link back to a folder that holds it; its files are indexed there",
    }


async def test_a_reload_reports_a_folder_it_left_out(tmp_path: Path) -> None:
    root = _linked_tree(tmp_path)
    kb = EmbeddedKB(make_settings(tmp_path).kb, tmp_path / "index", FakeEmbedder())
    try:
        report = await kb.reload(root)
        assert "shared" in {s.path for s in report.skipped}
        assert (await kb.search("returns free thirty days", k=1))[0].chunk.source == "manuals/returns.md"
        assert not [
            h for h in await kb.search("admin password hunter2", mode="bm25") if "hunter2" in h.chunk.text
        ]
    finally:
        await kb.close()


def _readable_and_locked(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    _write(root / "open" / "hours.md", "Opening hours", "We open at nine.")
    _write(root / "locked" / "refunds.md", "Refunds", "Refunds take five working days.")
    return root


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a folder whatever its mode")
def test_an_unreadable_folder_is_reported(tmp_path: Path) -> None:
    root = _readable_and_locked(tmp_path)
    (root / "locked").chmod(0)
    try:
        documents, skipped = load_documents(root, max_file_mb=20)
    finally:
        (root / "locked").chmod(0o755)
    assert [d.source for d in documents] == ["open/hours.md"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("locked", "the folder cannot be read (Permission denied); its files are not in the index")
    ]


def test_a_folder_the_walk_cannot_list_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same refusal as a folder of mode 000 gets, for a run as root (which reads any folder)."""
    root = _readable_and_locked(tmp_path)
    locked = os.fspath(root.resolve() / "locked")
    scandir = os.scandir

    def refusing(path: Any = ".") -> Iterator[os.DirEntry[str]]:
        if os.fspath(path) == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), locked)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    documents, skipped = load_documents(root, max_file_mb=20)
    assert [d.source for d in documents] == ["open/hours.md"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("locked", "the folder cannot be read (Permission denied); its files are not in the index")
    ]


def test_an_unreadable_knowledge_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _readable_and_locked(tmp_path)
    scandir = os.scandir

    def refusing(path: Any = ".") -> Any:
        if os.fspath(path) == os.fspath(root.resolve()):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    documents, skipped = load_documents(root, max_file_mb=20)
    assert documents == []
    assert [(s.path, s.reason) for s in skipped] == [
        (str(root), "the folder cannot be read (Permission denied); its files are not in the index")
    ]
