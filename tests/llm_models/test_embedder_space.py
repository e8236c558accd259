"""The real MiniLM embedder with prefixes and pooling: each reaches llama.cpp, and each names the space."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.kb.glossing import GlossingEmbedder
from bot.llm.embedder import LlamaEmbedder
from bot.llm.gguf_file import inspect_gguf
from bot.services import Services
from tests.llm_models.conftest import PreparedModels

TEXTS = ["How do I reset my password?", "Refunds are paid within 14 days of the return reaching us."]
KEY = b"bert.pooling_type"


def pooling_copy(source: Path, target: Path, pooling: int | None) -> Path:
    """The shipped MiniLM GGUF with its header's `bert.pooling_type` changed, or (None) renamed away.

    The value is patched in place (same length), so tensors and the rest of the header stay as they are.
    """
    shutil.copyfile(source, target)
    with target.open("r+b") as handle:
        head = handle.read(1 << 20)
        at = head.index(KEY)
        assert int.from_bytes(head[at - 8 : at], "little") == len(KEY), "the key's length prefix"
        assert int.from_bytes(head[at + len(KEY) : at + len(KEY) + 4], "little") == 4, "a uint32 value"
        if pooling is None:
            handle.seek(at)
            handle.write(b"bert.pooling_xxxx")  # same length: an unknown key llama.cpp ignores
        else:
            handle.seek(at + len(KEY) + 4)
            handle.write(pooling.to_bytes(4, "little"))
    return target


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


def test_prefixes_reach_the_model_on_their_own_side(
    prepared_models: PreparedModels, embedder: LlamaEmbedder
) -> None:
    e5 = LlamaEmbedder(
        prepared_models.embedder,
        n_threads=1,
        batch_size=4,
        query_prefix="query: ",
        passage_prefix="passage: ",
    )
    try:
        queries, passages = e5.embed_queries(TEXTS), e5.embed_passages(TEXTS)
        np.testing.assert_allclose(queries, embedder.embed([f"query: {t}" for t in TEXTS]), atol=1e-5)
        np.testing.assert_allclose(passages, embedder.embed([f"passage: {t}" for t in TEXTS]), atol=1e-5)
        assert cosines(queries, embedder.embed(TEXTS)).max() < 0.999, "the prefix changed the vectors"
        assert cosines(queries, passages).max() < 0.999, "each side got its own prefix"
        np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
        # Chunks are sized so that the prefix still fits: "passage: " is two MiniLM tokens.
        assert e5.max_tokens == embedder.max_tokens - e5.count_tokens("passage: ") == 508
        assert e5.model_id == f"{prepared_models.embedder.name} query='query: ' passage='passage: '"
    finally:
        e5.close()
    # With no prefix both sides are the text itself.
    np.testing.assert_allclose(embedder.embed_queries(TEXTS), embedder.embed_passages(TEXTS), atol=1e-6)


def test_pooling_comes_from_the_gguf_metadata_unless_set(
    prepared_models: PreparedModels,
    embedder: LlamaEmbedder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert inspect_gguf(prepared_models.embedder).pooling == "mean"
    assert (embedder.pooling.name, embedder.pooling.source) == ("mean", "GGUF metadata")
    mean = embedder.embed(TEXTS)
    made: list[LlamaEmbedder] = []
    try:
        cls_file = pooling_copy(prepared_models.embedder, tmp_path / "minilm-cls.gguf", 2)
        from_metadata = LlamaEmbedder(cls_file, n_threads=1, batch_size=4)
        made.append(from_metadata)
        assert (from_metadata.pooling.name, from_metadata.pooling.source) == ("cls", "GGUF metadata")
        cls_vectors = from_metadata.embed(TEXTS)
        assert cosines(cls_vectors, mean).max() < 0.99, "CLS pooling gives other vectors than mean"
        np.testing.assert_allclose(np.linalg.norm(cls_vectors, axis=1), 1.0, atol=1e-5)
        # An explicit setting overrides the file either way, and says so in the space.
        overridden = LlamaEmbedder(cls_file, n_threads=1, batch_size=4, pooling="mean")
        made.append(overridden)
        np.testing.assert_allclose(overridden.embed(TEXTS), mean, atol=1e-5)
        assert overridden.model_id == "minilm-cls.gguf pooling=mean"
        forced = LlamaEmbedder(prepared_models.embedder, n_threads=1, batch_size=4, pooling="cls")
        made.append(forced)
        np.testing.assert_allclose(forced.embed(TEXTS), cls_vectors, atol=1e-5)
        # No pooling in the metadata: mean, with a warning naming the setting.
        bare = pooling_copy(prepared_models.embedder, tmp_path / "minilm-bare.gguf", None)
        with caplog.at_level(logging.WARNING, logger="bot.llm.embedder"):
            defaulted = LlamaEmbedder(bare, n_threads=1, batch_size=4)
        made.append(defaulted)
        assert (defaulted.pooling.name, defaulted.pooling.source) == ("mean", "default")
        assert any("BOT_EMBEDDINGS__POOLING" in r.getMessage() for r in caplog.records)
        np.testing.assert_allclose(defaulted.embed(TEXTS), mean, atol=1e-5)
        assert defaulted.model_id == "minilm-bare.gguf pooling=mean"
    finally:
        for instance in made:
            instance.close()


async def test_services_build_the_embedder_from_the_settings(prepared_models: PreparedModels) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=prepared_models.data_dir,
        embeddings={"query_prefix": "query: ", "passage_prefix": "passage: ", "pooling": "cls"},
    )
    async with Services(settings) as services:
        glossed = services.embedder()
        # The shipped English model reads Chinese through the dictionary (`bot.kb.glossing`).
        assert isinstance(glossed, GlossingEmbedder)
        embedder = glossed.inner
        assert isinstance(embedder, LlamaEmbedder)
        assert (embedder.pooling.name, embedder.query_prefix, embedder.passage_prefix) == (
            "cls",
            "query: ",
            "passage: ",
        )
        assert embedder.model_id == (
            f"{prepared_models.embedder.name} pooling=cls query='query: ' passage='passage: '"
        )
