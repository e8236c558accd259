"""LlamaEmbedder: the Embedder contract, batching, truncation, threads and clean failures."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from bot.kb.base import Embedder
from bot.llm.base import ModelError
from bot.llm.embedder import LlamaEmbedder
from tests.llm_models.conftest import PreparedModels

MIXED = [
    "refund",
    "How do I change the e-mail address on my account?",
    " ".join(
        ["The courier left a card saying the parcel is at the depot, but the depot says it is not."] * 4
    ),
    "",
    "Two-factor authentication codes are not arriving by SMS.",
]


def test_implements_the_embedder_protocol(embedder: LlamaEmbedder, prepared_models: PreparedModels) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.model_id == prepared_models.embedder.name  # the file, not its folder
    assert embedder.dim == 384
    assert embedder.max_tokens == 510


def test_vectors_are_float32_and_unit_length(embedder: LlamaEmbedder) -> None:
    vectors = embedder.embed(MIXED)
    assert vectors.shape == (len(MIXED), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_packed_batches_equal_one_at_a_time_in_input_order(embedder: LlamaEmbedder) -> None:
    batched = embedder.embed(MIXED * 3)  # 15 texts: several packed decode calls, sorted internally
    single = np.stack([embedder.embed([text])[0] for text in MIXED])
    for row in range(len(MIXED) * 3):
        assert float(batched[row] @ single[row % len(MIXED)]) > 0.99999
    # Distinct texts stay distinct: order was not scrambled.
    assert float(batched[1] @ batched[2]) < 0.95


def test_semantics_are_sane(embedder: LlamaEmbedder) -> None:
    query, close, far = embedder.embed(
        ["my package never arrived", "The parcel was not delivered", "How do I export invoices as PDF?"]
    )
    assert float(query @ close) > float(query @ far) + 0.2


def test_empty_input_gives_an_empty_matrix(embedder: LlamaEmbedder) -> None:
    out = embedder.embed([])
    assert out.shape == (0, 384)
    assert out.dtype == np.float32


def test_text_longer_than_the_context_is_truncated_not_an_error(embedder: LlamaEmbedder) -> None:
    long_text = "the parcel arrived damaged and the box was open " * 200
    assert embedder.count_tokens(long_text) > embedder.max_tokens
    vector = embedder.embed([long_text, "short"])[0]
    assert np.isfinite(vector).all()
    # Only the first max_tokens tokens count: a longer tail changes nothing.
    longer = embedder.embed([long_text + " completely different words about invoices" * 50])[0]
    assert float(vector @ longer) > 0.99999


def test_count_tokens_excludes_special_tokens(embedder: LlamaEmbedder) -> None:
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("hello world") == 2
    assert embedder.count_tokens("unaffable") == 3  # WordPiece: un ##aff ##able


def test_concurrent_threads_get_the_same_vectors(embedder: LlamaEmbedder) -> None:
    expected = embedder.embed(MIXED)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(embedder.embed(MIXED))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(results) == 12
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_close_is_idempotent_and_final(prepared_models: PreparedModels) -> None:
    instance = LlamaEmbedder(prepared_models.embedder, n_threads=1, batch_size=4)
    assert instance.embed(["x"]).shape == (1, 384)
    instance.close()
    instance.close()
    with pytest.raises(RuntimeError, match="closed"):
        instance.embed(["x"])


def test_a_repeated_question_is_embedded_once(prepared_models: PreparedModels) -> None:
    instance = LlamaEmbedder(prepared_models.embedder, n_threads=1, batch_size=4)
    first = instance.embed_queries(["How do I reset my password?"])
    calls: list[int] = []
    original = instance.embed
    instance.embed = lambda texts: calls.append(len(texts)) or original(texts)  # type: ignore[method-assign]
    again = instance.embed_queries(["How do I reset my password?"])
    np.testing.assert_array_equal(again, first)
    assert calls == []
    again[0, 0] = 9.0  # the caller's copy, not the kept one
    np.testing.assert_array_equal(instance.embed_queries(["How do I reset my password?"]), first)
    instance.close()
    with pytest.raises(RuntimeError, match="closed"):
        instance.embed_queries(["How do I reset my password?"])


def test_small_batch_size_still_embeds_everything(
    prepared_models: PreparedModels, embedder: LlamaEmbedder
) -> None:
    tiny = LlamaEmbedder(prepared_models.embedder, n_threads=1, batch_size=1, pack_tokens=8)
    try:
        # One sequence per decode call and one thread: float rounding differs a little, the vectors do not.
        cosines = (tiny.embed(MIXED) * embedder.embed(MIXED)).sum(axis=1)
        assert cosines.min() > 0.99999
    finally:
        tiny.close()


def test_bad_files_raise_model_error_before_llama_cpp(
    tmp_path: Path, prepared_models: PreparedModels
) -> None:
    with pytest.raises(ModelError, match="not found"):
        LlamaEmbedder(tmp_path / "missing.gguf", n_threads=1, batch_size=4)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(prepared_models.embedder.read_bytes()[:2_000_000])
    with pytest.raises(ModelError, match="truncated"):
        LlamaEmbedder(truncated, n_threads=1, batch_size=4)


@pytest.mark.slow
def test_chat_model_is_refused_as_embedder(tmp_path: Path, prepared_models: PreparedModels) -> None:
    copy = tmp_path / "chat.gguf"
    shutil.copyfile(prepared_models.generator, copy)
    with pytest.raises(ModelError, match="no pooling"):
        LlamaEmbedder(copy, n_threads=1, batch_size=4)
