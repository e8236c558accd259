"""Questions and passages reach the embedder on their own side; an index serves only its embedder's space."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.kb.base import KBUnavailableError
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
