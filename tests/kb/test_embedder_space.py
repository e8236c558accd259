"""Questions and passages reach the embedder on their own side; an index serves only its embedder's space."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bot.kb.base import KBUnavailableError, ReloadError, SwapsEmbedder
from bot.kb.reload import same_embedder
from tests.fakes import FakeEmbedder
from tests.kb.conftest import KBFactory
from tests.kb.test_calibration import write_topics


async def test_passages_questions_and_pseudo_questions_each_get_their_prefix(
    kb_factory: KBFactory, tmp_path: Path
) -> None:
    embedder = FakeEmbedder(dim=256, query_prefix="Q> ", passage_prefix="P> ")
    kb = kb_factory(embedder)
    await kb.reload(write_topics(tmp_path / "kb", 20))
    assert embedder.passages
    assert all(t.startswith("P> ") for t in embedder.passages)
    assert any("Topic 3" in t for t in embedder.passages), "the chunks themselves were embedded as passages"
    # The reload's calibration embeds its pseudo-questions (and off-topic questions) as questions.
    assert (await kb.calibration()).fitted
    calibration_queries = list(embedder.queries)
    assert len(calibration_queries) >= 20
    assert all(t.startswith("Q> ") and not t.startswith("Q> P> ") for t in calibration_queries)
    await kb.search("how do I cancel", k=3)
    # Only the question: these made-up topics are in no known language, so there is no vocabulary to use.
    assert embedder.queries[len(calibration_queries) :] == ["Q> how do I cancel"]
    assert not any(t.startswith("P> ") and "cancel" in t for t in embedder.passages)


@pytest.mark.parametrize(
    "other",
    [
        FakeEmbedder(query_prefix="query: ", passage_prefix="passage: "),
        FakeEmbedder(query_prefix="query: "),
        FakeEmbedder(passage_prefix="passage: "),
    ],
    ids=["both", "query-only", "passage-only"],
)
async def test_an_index_from_another_embedder_asks_for_a_reload(
    kb_factory: KBFactory, corpus: Path, other: FakeEmbedder
) -> None:
    await kb_factory(FakeEmbedder()).reload(corpus)
    assert await kb_factory(FakeEmbedder()).search("delivery", k=3), "the same space serves"
    stale = kb_factory(other)  # same dimension, so nothing but the recorded space tells them apart
    for attempt in (stale.search("delivery", k=3), stale.stats(), stale.ping()):
        with pytest.raises(KBUnavailableError, match=r"built with the embedder .*kb reload"):
            await attempt
    # The reload that message asks for builds the index anew, in the configured space.
    await stale.reload(corpus)
    assert await stale.search("delivery", k=3)
    assert other.passages, "nothing was reused from the other space's vectors"


async def test_an_index_that_names_its_model_by_path_stays_valid(tmp_path: Path, corpus: Path) -> None:
    """Indexes built before the space was recorded by file name held the whole path: still the same model."""
    from bot.kb.embedded import EmbeddedKB
    from tests.kb.conftest import make_settings

    class Named(FakeEmbedder):
        @property
        def model_id(self) -> str:
            return "model.gguf"

    settings = make_settings(tmp_path)
    builder = EmbeddedKB(settings.kb, settings.index_dir, Named())
    await builder.reload(corpus)
    await builder.close()
    (index,) = settings.index_dir.glob("kb-*.sqlite")
    with sqlite3.connect(index) as conn:
        conn.execute("UPDATE meta SET value = 'Named:64:data/models/model.gguf' WHERE key = 'embedder'")
    conn.close()
    reader = EmbeddedKB(settings.kb, settings.index_dir, Named())
    try:
        assert await reader.search("delivery", k=3)
    finally:
        await reader.close()


def test_same_embedder() -> None:
    assert same_embedder("LlamaEmbedder:384:e5.gguf", "LlamaEmbedder:384:e5.gguf")
    assert same_embedder("LlamaEmbedder:384:data/models/e5.gguf", "LlamaEmbedder:384:e5.gguf")
    assert same_embedder("LlamaEmbedder:384:C:\\bot\\data\\e5.gguf", "LlamaEmbedder:384:e5.gguf")
    assert not same_embedder("LlamaEmbedder:384:data/models/e5.gguf", "LlamaEmbedder:384:minilm.gguf")
    assert not same_embedder(
        "LlamaEmbedder:384:data/models/e5.gguf", "LlamaEmbedder:384:e5.gguf query='query: '"
    )
    assert not same_embedder("LlamaEmbedder:384:e5.gguf", "LlamaEmbedder:384:e5.gguf pooling=cls")
    assert not same_embedder("LlamaEmbedder:768:data/e5.gguf", "LlamaEmbedder:384:e5.gguf")
    assert not same_embedder("", "LlamaEmbedder:384:e5.gguf")


# ------------------------------------------------------------------------- another embedder while serving


class GatedEmbedder(FakeEmbedder):
    """Stops in `embed_queries` (or `embed_passages`) once `gated`, until `gate` is set; `entered` tells a
    search (or reload) has got there."""

    def __init__(self, *, passages: bool = False) -> None:
        super().__init__()
        self.gated = False
        self.passages_too = passages
        self.entered = threading.Event()
        self.gate = threading.Event()

    def _wait(self) -> None:
        if self.gated:
            self.entered.set()
            assert self.gate.wait(10), "the test never opened the gate"

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self._wait()
        return super().embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self.passages_too:
            self._wait()
        return super().embed_passages(texts)


async def test_a_backend_takes_another_embedder_and_never_mixes_their_vectors(
    kb_factory: KBFactory, corpus: Path
) -> None:
    """SIGHUP after `models use --embedder`: the backend searches with the new embedder from then on. Its
    index is the old one's until re-embedded, so it is refused (not searched with the new vectors); once
    re-embedded it serves, and the old embedder is no longer used."""
    old, new = FakeEmbedder(), FakeEmbedder(passage_prefix="passage: ")  # same dimension, another space
    kb = kb_factory(old)
    await kb.reload(corpus)
    assert await kb.search("delivery", k=3)
    assert isinstance(kb, SwapsEmbedder)
    await kb.use_embedder(new)
    with pytest.raises(KBUnavailableError, match=r"built with the embedder .*kb reload"):
        await kb.search("delivery", k=3)
    await kb.reload(corpus)
    used = old.calls
    assert await kb.search("delivery", k=3)
    assert old.calls == used, "the old embedder embeds nothing any more"
    assert new.passages
    assert new.queries


async def test_a_search_running_when_the_embedder_changes_finishes_on_the_old_one(
    kb_factory: KBFactory, corpus: Path
) -> None:
    old, new = GatedEmbedder(), FakeEmbedder(passage_prefix="passage: ")
    kb = kb_factory(old)
    await kb.reload(corpus)
    assert isinstance(kb, SwapsEmbedder)
    old.gated = True
    search = asyncio.create_task(kb.search("delivery", k=3))
    assert await asyncio.to_thread(old.entered.wait, 10)
    switch = asyncio.create_task(kb.use_embedder(new))
    await asyncio.sleep(0.2)
    assert not switch.done(), "the switch waits for the search holding the old embedder"
    old.gate.set()
    assert await search, "it finished on the old embedder and the index it took"
    await asyncio.wait_for(switch, 10)


async def test_a_reload_running_when_the_embedder_changes_is_not_swapped_in(
    kb_factory: KBFactory, corpus: Path, tmp_path: Path
) -> None:
    """Its index holds the old embedder's vectors, which the new one could not search."""
    old, new = GatedEmbedder(passages=True), FakeEmbedder(passage_prefix="passage: ")
    kb = kb_factory(old)
    await kb.reload(corpus)
    (corpus / "extra.md").write_text("# Returns\n\nReturns are free within thirty days.\n", encoding="utf-8")
    assert isinstance(kb, SwapsEmbedder)
    old.gated = True
    reload = asyncio.create_task(kb.reload(corpus))
    assert await asyncio.to_thread(old.entered.wait, 10)
    switch = asyncio.create_task(kb.use_embedder(new))
    await asyncio.sleep(0.2)
    assert not switch.done(), "the switch waits for the reload holding the old embedder"
    old.gate.set()
    with pytest.raises(ReloadError, match="the embedder changed during the reload"):
        await reload
    await asyncio.wait_for(switch, 10)
    await kb.reload(corpus)
    assert [hit.chunk.source for hit in await kb.search("free returns", k=1)] == ["extra.md"]
