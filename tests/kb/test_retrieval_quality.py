"""Retrieval quality on the Python FAQ with the real embedder: the issue's "done when" thresholds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.kb import RetrievalEval, evaluate_retrieval, load_questions
from bot.config import Settings
from tests.conftest import FAQ_DEV, PYTHON_FAQ, shared_data_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.skipif(
        not shared_data_available(), reason="the shared Python FAQ data is not beside the checkout"
    ),
]


@pytest.fixture(scope="module")
def faq_eval(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RetrievalEval]:
    from bot.kb.embedded import EmbeddedKB
    from bot.llm.embedder import LlamaEmbedder
    from bot.llm.models import prepare_models, resolve_embedder_path

    data_dir: Path = tmp_path_factory.mktemp("faq-eval")
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    prepare_models(settings)
    embedder = LlamaEmbedder(resolve_embedder_path(settings), n_threads=0, batch_size=32)
    kb = EmbeddedKB(settings, embedder)
    try:
        report = asyncio.run(kb.reload(PYTHON_FAQ))
        assert report.chunks > 150
        assert report.skipped == ()
        yield evaluate_retrieval(kb, embedder, load_questions(FAQ_DEV), k=10)
    finally:
        asyncio.run(kb.close())
        embedder.close()


def test_hybrid_meets_the_thresholds_and_beats_bm25(faq_eval: RetrievalEval) -> None:
    hybrid, bm25 = faq_eval.modes["hybrid"], faq_eval.modes["bm25"]
    assert faq_eval.answerable == 60
    assert hybrid.hit5 >= 0.95
    assert hybrid.mrr >= 0.85
    assert hybrid.mrr > bm25.mrr


@pytest.mark.xfail(
    strict=False,
    reason="measured: dense alone (heading-prefixed MiniLM) has MRR 0.910, RRF hybrid 0.892 (see README)",
)
def test_hybrid_beats_dense_on_mrr(faq_eval: RetrievalEval) -> None:
    assert faq_eval.modes["hybrid"].mrr > faq_eval.modes["dense"].mrr
