"""Reloads of the embedded index that used to fail, or to break the serving index: a short document beside a
long one, two reloads at once, and an index folder that cannot be written."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.domain import Chunk
from bot.kb.analysis import analyzer
from bot.kb.base import ReloadError, ReloadProgress, ReloadRunningError
from bot.kb.chunking import heading_text
from bot.kb.embedded import POINTER, EmbeddedKB, _Snapshot, write_index
from bot.kb.reload import build_corpus
from bot.services import Services
from tests.cli import cli_runner
from tests.fakes import FakeEmbedder
from tests.kb.conftest import make_settings

REPO = Path(__file__).resolve().parents[2]

# A guide of several chunks, all under one title: its title's words are in most chunks of the index.
SECTION = (
    "Open the app and tap the parcel you expect. The locker screen shows the pickup code, the opening hours "
    "of the locker and the walking route from where you are. Lockers keep a parcel for seven days; after "
    "that it goes back to the sender, who is told by email and can send it again from the dashboard. "
)
GUIDE_MD = "# Getting started with Parcelly\n\n" + "".join(
    f"## {title}\n\n{SECTION * 3}\n\n" for title in ("What you need", "Choose a locker", "Where to go next")
)

SHORT_DOCUMENTS = {
    "pay.md": ("pay.md", "# How do I pay?\n\nWith a card.\n", "pay"),
    "hi": ("a.txt", "hi\n", None),  # an English stop word, alone
    "OK": ("a.txt", "OK\n", None),
    "one-row FAQ": ("faq.csv", "question,answer\nHow do I pay?,With a card.\n", "card"),
}


def _kb(tmp_path: Path, embedder: FakeEmbedder | None = None) -> EmbeddedKB:
    settings = make_settings(tmp_path)
    return EmbeddedKB(settings.kb, settings.index_dir, embedder or FakeEmbedder())


def _guide_with(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "getting-started.md").write_text(GUIDE_MD, encoding="utf-8")
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def _served(tmp_path: Path) -> Path:
    """The index file the pointer names (it must exist: a pointer at a deleted file answers nothing)."""
    index_dir = make_settings(tmp_path).index_dir
    served = index_dir / json.loads((index_dir / POINTER).read_text(encoding="utf-8"))["file"]
    assert served.is_file(), f"the pointer names {served.name}, which is gone"
    return served


# ------------------------------------------------------------------------------ short documents (defect 1)


@pytest.mark.parametrize("case", list(SHORT_DOCUMENTS))
async def test_a_short_document_beside_a_long_one_reloads_and_both_are_found(
    tmp_path: Path, case: str
) -> None:
    name, text, word = SHORT_DOCUMENTS[case]
    kb = _kb(tmp_path)
    try:
        report = await kb.reload(_guide_with(tmp_path / "knowledge", name, text))
        assert report.files == 2
        assert report.skipped == ()
        stats = await kb.stats()
        assert stats.documents == 2
        # The guide's title words are in most chunks, and the short document adds a second index language:
        # the search must still find the guide by them.
        hits = await kb.search("getting started", k=3, mode="bm25")
        assert hits
        assert hits[0].chunk.source == "getting-started.md"
        if word is not None:
            hits = await kb.search(word, k=3, mode="bm25")
            assert hits
            assert hits[0].chunk.source == name
        else:
            # Stop words alone are nothing to search by, but the document is indexed (dense search has it).
            hits = await kb.search(text.strip(), k=10, mode="dense")
            assert name in {hit.chunk.source for hit in hits}
    finally:
        await kb.close()


async def test_frequent_words_match_when_the_index_holds_a_second_language(tmp_path: Path) -> None:
    # The search itself, without a reload's checks: the question is analysed for English and for the short
    # document's undetermined language, whose unstemmed forms ("getting") no chunk holds.
    embedder = FakeEmbedder()
    settings = make_settings(tmp_path)
    corpus = await build_corpus(
        _guide_with(tmp_path / "knowledge", "pay.md", "# How do I pay?\n\nWith a card.\n"),
        settings.kb,
        embedder,
    )
    assert {chunk.lang for chunk in corpus.chunks} == {"en", "und"}
    path = tmp_path / "kb-test.sqlite"
    write_index(path, corpus.chunks, corpus.vectors, {"dim": str(embedder.dim)})
    snapshot = _Snapshot(path)
    try:
        rows = snapshot.bm25("getting started parcelly", 5, "en")
        assert rows
        assert corpus.chunks[rows[0][0]].source == "getting-started.md"
    finally:
        snapshot.retire()


async def test_an_index_missing_a_chunks_words_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The self-check must still catch a broken index, and not only in its first chunk.
    import bot.kb.embedded as embedded

    def broken_write(path: Path, chunks: Sequence[Chunk], vectors: Any, meta: dict[str, str]) -> None:
        write_index(path, chunks, vectors, meta)
        # The middle chunk's full-text row goes (a contentless table deletes by the values it was given).
        chunk = chunks[len(chunks) // 2]
        words = analyzer(chunk.lang)
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            conn.execute(
                "INSERT INTO fts(fts, rowid, heading, text) VALUES ('delete', ?, ?, ?)",
                (
                    len(chunks) // 2 + 1,
                    words.text(chunk.heading),
                    words.text(heading_text(chunk.heading_path) + "\n" + chunk.text),
                ),
            )

    kb = _kb(tmp_path)
    folder = _guide_with(tmp_path / "knowledge", "pay.md", "# How do I pay?\n\nWith a card.\n")
    try:
        await kb.reload(folder)
        before = _served(tmp_path)
        monkeypatch.setattr(embedded, "write_index", broken_write)
        chunks = (await kb.stats()).chunks
        with pytest.raises(ReloadError, match=f"does not find chunk {chunks // 2 + 1} "):
            await kb.reload(folder)
        assert _served(tmp_path) == before
    finally:
        await kb.close()


# -------------------------------------------------------------------------------------- `--source ''`


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    embedder = FakeEmbedder()
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    with cli_runner() as runner:
        yield runner


def test_an_empty_source_is_refused_not_read_as_the_current_folder(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_guide_with(tmp_path / "cwd", "pay.md", "# How do I pay?\n\nWith a card.\n"))
    result = cli.invoke(app, ["kb", "reload", "--source", ""])
    assert result.exit_code == 2, result.output
    assert "--source is empty" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "data" / "index" / POINTER).exists()


# ------------------------------------------------------------------------------ two reloads (defect 2)


async def test_two_knowledge_bases_reloading_one_folder_take_turns(tmp_path: Path) -> None:
    folder = _guide_with(tmp_path / "knowledge", "pay.md", "# How do I pay?\n\nWith a card.\n")
    first, second = _kb(tmp_path), _kb(tmp_path)
    try:
        results = await asyncio.gather(first.reload(folder), second.reload(folder), return_exceptions=True)
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(refused) == 1, results
        assert isinstance(refused[0], ReloadRunningError)
        assert isinstance(refused[0], ReloadError)  # so every caller reports it as a failed reload
        assert f"another reload is running (pid {os.getpid()}); try again when it ends" in str(refused[0])
        _served(tmp_path)
        # The lock went with the reload that held it.
        await second.reload(folder)
        assert await second.search("pay", k=1, mode="bm25")
    finally:
        await first.close()
        await second.close()


RELOAD_SCRIPT = """
import asyncio, sys, time
from pathlib import Path
from bot.config import Settings
from bot.domain import Chunk
from bot.kb.analysis import analyzer
from bot.kb.base import ReloadError
from bot.kb.embedded import EmbeddedKB
from tests.fakes import FakeEmbedder

data, source, marker, pause = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])


class SlowEmbedder(FakeEmbedder):
    def embed_passages(self, texts):
        marker.touch()  # the reload is under way
        time.sleep(pause)
        return super().embed_passages(texts)


async def main() -> int:
    settings = Settings(_env_file=None, data_dir=data)
    kb = EmbeddedKB(settings.kb, settings.index_dir, SlowEmbedder())
    try:
        report = await kb.reload(source)
    except ReloadError as exc:
        print(f"refused: {exc}")
        return 3
    finally:
        await kb.close()
    print(f"ok {report.index}")
    return 0


sys.exit(asyncio.run(main()))
"""


def _reload_process(tmp_path: Path, source: Path, marker: Path, pause: float) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen(
        [sys.executable, "-c", RELOAD_SCRIPT, str(tmp_path / "data"), str(source), str(marker), str(pause)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_a_second_process_is_refused_and_a_killed_one_releases_the_lock(tmp_path: Path) -> None:
    folder = _guide_with(tmp_path / "knowledge", "pay.md", "# How do I pay?\n\nWith a card.\n")
    kb = _kb(tmp_path)
    try:
        await kb.reload(folder)
        serving = _served(tmp_path)
        (folder / "pay.md").write_text(
            "# How do I pay?\n\nWith a card or by bank transfer.\n", encoding="utf-8"
        )
        index_dir = serving.parent
        running = _reload_process(tmp_path, folder, tmp_path / "a.started", 60)
        try:
            deadline = time.monotonic() + 60
            while not (tmp_path / "a.started").exists():
                assert running.poll() is None, running.communicate()[0]
                assert time.monotonic() < deadline, "the first reload never started embedding"
                await asyncio.sleep(0.05)
            listing = sorted(p.name for p in index_dir.iterdir())
            second = _reload_process(tmp_path, folder, tmp_path / "b.started", 0)
            output = second.communicate(timeout=60)[0]
            assert second.returncode == 3, output
            assert f"another reload is running (pid {running.pid}); try again when it ends" in output
            # The refused reload changed nothing: same files, the same index serving.
            assert sorted(p.name for p in index_dir.iterdir()) == listing
            assert _served(tmp_path) == serving
        finally:
            running.kill()  # dies holding the lock, as a crashed or killed reload does
            running.communicate(timeout=60)
        report = await kb.reload(folder)
        assert _served(tmp_path).name == report.index
        hits = await kb.search("bank transfer", k=1, mode="bm25")
        assert hits
        assert hits[0].chunk.source == "pay.md"
    finally:
        await kb.close()


# ----------------------------------------------------------------------- an unwritable folder (defect 3)


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Folders made read-only as the OS and SQLite see them (root ignores chmod, so it is simulated)."""
    folders: list[Path] = []

    def inside(path: Any) -> bool:
        text = os.fsdecode(path).removeprefix("file:").split("?")[0]
        return any(Path(text).is_relative_to(folder) for folder in folders)

    real_open, real_mkdir, real_connect = os.open, os.mkdir, sqlite3.connect

    def fake_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    def fake_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if inside(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
        real_mkdir(path, *args, **kwargs)

    def fake_connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if inside(database) and "mode=ro" not in os.fsdecode(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    monkeypatch.setattr(sqlite3, "connect", fake_connect)
    return folders


async def test_an_unwritable_index_folder_is_named_before_anything_is_embedded(
    tmp_path: Path, read_only: list[Path]
) -> None:
    folder = _guide_with(tmp_path / "knowledge", "pay.md", "# How do I pay?\n\nWith a card.\n")
    kb = _kb(tmp_path)
    try:
        await kb.reload(folder)
        serving = _served(tmp_path)
        (folder / "new.md").write_text("# Refunds\n\nRefunds take five days.\n", encoding="utf-8")
        read_only.append(serving.parent)
        stages: list[ReloadProgress] = []
        with pytest.raises(ReloadError) as raised:
            await kb.reload(folder, stages.append)
        assert str(raised.value).startswith(
            f"cannot write the index folder {serving.parent}: Permission denied"
        )
        assert stages == []  # nothing loaded or embedded first
        assert _served(tmp_path) == serving
        assert await kb.search("pay", k=1, mode="bm25")
    finally:
        await kb.close()


async def test_an_unwritable_data_folder_without_an_index_is_named(
    tmp_path: Path, read_only: list[Path]
) -> None:
    folder = _guide_with(tmp_path / "knowledge", "pay.md", "# How do I pay?\n\nWith a card.\n")
    read_only.append(tmp_path / "data")
    kb = _kb(tmp_path)
    try:
        with pytest.raises(ReloadError, match="^cannot write the index folder .*index: Permission denied"):
            await kb.reload(folder)
    finally:
        await kb.close()
