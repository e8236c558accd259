"""SIGHUP's embedder reload: after another process switched embedders and re-embedded the index, a running
bot searches with the new one; a failed load keeps the old one serving."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.config import Settings
from bot.kb import embedded
from bot.kb.base import KBUnavailableError
from bot.llm.base import ModelError
from bot.llm.registry import ModelRegistry
from bot.services import Services
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.llm_models.gguf_files import write_gguf

QUESTION = "How long does a refund for a lost parcel take?"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "refunds.md").write_text(
        "# Refunds for lost parcels\n\nA parcel lost by the courier is refunded to the card in five days.\n",
        encoding="utf-8",
    )
    (knowledge / "lockers.md").write_text(
        "# Locker door does not open\n\nPress the green button and wait thirty seconds.\n", encoding="utf-8"
    )
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        kb={"source": knowledge},
    )
    settings.models_dir.mkdir(parents=True)
    return settings


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeEmbedder]:
    """Every embedder the bot loads, by file name: a fake whose space names the file (so an index of one
    refuses the others), as the real one's does; a file named broken*.gguf fails to load."""
    made: dict[str, FakeEmbedder] = {}

    def load(self: Services, path: Path) -> FakeEmbedder:
        if path.name.startswith("broken"):
            raise ModelError(f"llama.cpp could not load the embedder {path}: unknown model architecture")
        made[path.name] = FakeEmbedder(dim=64, passage_prefix=f"{path.stem}: ")
        return made[path.name]

    monkeypatch.setattr(Services, "_load_embedder", load)
    # Every search looks at the index pointer, as a bot does after its first second.
    monkeypatch.setattr(embedded, "POINTER_CHECK_S", 0.0)
    return made


async def _switch_elsewhere(settings: Settings, gguf: Path) -> None:
    """What `models use --embedder` does in another process: record the choice, re-embed the index."""
    ModelRegistry(settings.models_dir).use_embedder(gguf)
    async with Services(settings) as other:
        await other.kb().reload(other.kb_sources())


async def test_reload_embedder_makes_the_re_embedded_index_answer_again(
    settings: Settings, loaded: dict[str, FakeEmbedder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_gguf(tmp_path / "first.f16.gguf", arch="bert")
    tuned = write_gguf(tmp_path / "tuned.f16.gguf", arch="bert")
    ModelRegistry(settings.models_dir).use_embedder(first)
    monkeypatch.setattr(Services, "generator", lambda self: FakeGenerator())
    async with Services(settings) as services:
        kb = services.kb()
        await kb.reload(services.kb_sources())
        assert await kb.search(QUESTION, k=1)
        matcher = (await services.conversations()).approved
        assert matcher is not None
        store = await services.approved_store()
        await store.add_approved(question=QUESTION, text="Five days, to the card.", approved_by="admin")
        assert await matcher.match(QUESTION)
        await _switch_elsewhere(settings, tuned)
        with pytest.raises(KBUnavailableError, match="built with the embedder"):
            await kb.search(QUESTION, k=1)

        assert await services.reload_embedder() is True
        hits = await kb.search(QUESTION, k=1)
        assert [hit.chunk.source for hit in hits] == ["refunds.md"]
        assert services.embedder() is loaded["tuned.f16.gguf"]
        assert loaded["first.f16.gguf"].closed, "the old embedder is closed once nothing uses it"
        assert not loaded["tuned.f16.gguf"].closed
        # The approved-answer matcher refitted with it: the approved question's vector is the new embedder's.
        assert QUESTION in loaded["tuned.f16.gguf"].queries
        used = loaded["first.f16.gguf"].calls
        match = await matcher.match(QUESTION)
        assert match is not None
        assert match.score == pytest.approx(1.0)
        assert loaded["first.f16.gguf"].calls == used
        assert await services.reload_embedder() is False, "the same choice again changes nothing"


async def test_a_failed_embedder_load_keeps_the_old_one_serving(
    settings: Settings, loaded: dict[str, FakeEmbedder], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = write_gguf(tmp_path / "first.f16.gguf", arch="bert")
    ModelRegistry(settings.models_dir).use_embedder(first)
    async with Services(settings) as services:
        kb = services.kb()
        await kb.reload(services.kb_sources())
        # Recorded, but not loadable (a file the header check passes and llama.cpp refuses).
        ModelRegistry(settings.models_dir).use_embedder(write_gguf(tmp_path / "broken.gguf", arch="bert"))
        caplog.set_level(logging.ERROR, logger="bot.services")
        assert await services.reload_embedder() is False
        (record,) = [r for r in caplog.records if r.getMessage().startswith("embedder reload failed")]
        assert "the current embedder keeps serving" in record.getMessage()
        assert "unknown model architecture" in record.__dict__["error"]
        assert services.embedder() is loaded["first.f16.gguf"]
        assert not loaded["first.f16.gguf"].closed
        assert await kb.search(QUESTION, k=1)
        # A choice that is no embedding file at all is refused before any load, and said why as well.
        ModelRegistry(settings.models_dir).active_file.write_text(
            f'{{"embedder": "{tmp_path / "gone.gguf"}"}}', encoding="utf-8"
        )
        caplog.clear()
        assert await services.reload_embedder() is False
        assert "gone.gguf" in caplog.records[-1].__dict__["error"]
        assert await kb.search(QUESTION, k=1)


async def test_work_holding_the_embedder_keeps_it_open_through_a_reload(
    settings: Settings, loaded: dict[str, FakeEmbedder], tmp_path: Path
) -> None:
    # The console's gap grouping embeds with the embedder itself, in a worker thread: a SIGHUP meanwhile
    # must not close it under the grouping.
    first = write_gguf(tmp_path / "first.f16.gguf", arch="bert")
    tuned = write_gguf(tmp_path / "tuned.f16.gguf", arch="bert")
    ModelRegistry(settings.models_dir).use_embedder(first)
    async with Services(settings) as services:
        await services.kb().reload(services.kb_sources())
        async with services.held_embedder() as held:
            assert held is loaded["first.f16.gguf"]
            await _switch_elsewhere(settings, tuned)
            reload = asyncio.create_task(services.reload_embedder())
            for _ in range(500):  # the new one loads in a worker thread
                if services.embedder() is not held:
                    break
                await asyncio.sleep(0.01)
            for _ in range(20):
                await asyncio.sleep(0)
            assert services.embedder() is loaded["tuned.f16.gguf"], "new work gets the new embedder at once"
            assert not held.closed, "closed while the grouping still embeds with it"
            assert not reload.done()
        assert await reload is True
        assert held.closed
