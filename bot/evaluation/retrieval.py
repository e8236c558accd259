"""Retrieval quality per search mode and per language on labelled questions: hit@1, hit@5 and MRR@k, with
the misses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.evaluation.questions import Question
from bot.evaluation.scoring import gold_rank
from bot.kb.calibration import kb_prior_languages
from bot.metrics import percentile

if TYPE_CHECKING:
    from bot.kb.base import Embedder, SearchMode, VectorSearchKB
    from bot.kb.crosslingual import QueryTranslator

MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class Miss:
    """An answerable question whose gold section was not the first hit."""

    qid: str
    rank: int | None  # None: not within the top k
    question: str
    expected: str
    top: str | None
    lang: str = ""  # the question's language (its `lang` label, else detected)


@dataclass(frozen=True)
class ModeScores:
    hit1: float
    hit5: float
    mrr: float
    misses: tuple[Miss, ...] = ()


@dataclass(frozen=True)
class RetrievalEval:
    questions: int
    answerable: int
    modes: dict[str, ModeScores]
    search_ms_p50: float
    # The same per language of the questions (label, else detected), most answerable questions first.
    languages: dict[str, dict[str, ModeScores]] = field(default_factory=dict)
    # Answerable questions searched in translation: their language is not one the documents are written in.
    translated: int = 0
    # Answerable questions searched with a typing slip corrected (`bot.kb.vocabulary.spelled`).
    corrected: int = 0


def _scores(ranks: Sequence[int | None], misses: Sequence[Miss]) -> ModeScores:
    n = max(1, len(ranks))
    return ModeScores(
        hit1=sum(1 for r in ranks if r == 1) / n,
        hit5=sum(1 for r in ranks if r is not None and r <= 5) / n,
        mrr=sum(1.0 / r for r in ranks if r is not None) / n,
        misses=tuple(misses),
    )


async def evaluate_retrieval(
    kb: VectorSearchKB,
    embedder: Embedder,
    questions: Sequence[Question],
    k: int = 10,
    translator: QueryTranslator | None = None,
) -> RetrievalEval:
    """hit@1, hit@5 and MRR@k of each mode over the answerable questions, overall and per language;
    misses listed per mode.

    Each question is embedded once and searched with that vector in every mode, so the modes differ only
    in how they rank. The backend detects each question's language as it does in production; the report
    groups by the question's `lang` label (detected when it has none, the knowledge base's languages the prior
    as in production). A question in a language the
    documents are not written in is searched through `translator`, as the answer pipeline searches it.
    """
    from bot.evaluation.relevance import chosen_search
    from bot.kb.analysis import question_language
    from bot.kb.crosslingual import crosslingual_query
    from bot.kb.vocabulary import spelled

    answerable = [q for q in questions if q.answerable]
    prior = await kb_prior_languages(kb)
    langs = [
        q.lang if q.lang else await asyncio.to_thread(question_language, q.question, prior)
        for q in answerable
    ]
    texts = []
    translated = corrected = 0
    for q, lang in zip(answerable, langs, strict=True):
        crossed = await crosslingual_query(kb, translator, q.question, lang)
        searched = await chosen_search(kb, q.question, crossed)
        # Typing slips corrected as the answer pipeline corrects them, where it searches the question itself.
        text = await spelled(kb, searched, lang) if searched == q.question else searched
        translated += searched != q.question
        corrected += searched == q.question and text != searched
        texts.append(text)
    vectors = await asyncio.to_thread(embedder.embed_queries, texts) if answerable else None
    modes: dict[str, ModeScores] = {}
    by_language: dict[str, dict[str, ModeScores]] = {}
    timings: list[float] = []
    for mode in MODES:
        ranks: list[int | None] = []
        misses = []
        for row, q in enumerate(answerable):
            started = time.perf_counter()
            hits = await kb.search_vector(texts[row], vectors[row] if vectors is not None else None, k, mode)
            timings.append((time.perf_counter() - started) * 1000)
            rank = gold_rank(hits, q)
            ranks.append(rank)
            if rank != 1:
                misses.append(
                    Miss(
                        qid=q.qid,
                        rank=rank,
                        question=q.question,
                        expected=q.expected,
                        top=f"{hits[0].chunk.source} :: {hits[0].chunk.heading}" if hits else None,
                        lang=langs[row],
                    )
                )
        modes[mode] = _scores(ranks, misses)
        for lang in sorted(set(langs), key=lambda code: (-langs.count(code), code)):
            mine = [r for r, code in zip(ranks, langs, strict=True) if code == lang]
            by_language.setdefault(lang, {})[mode] = _scores(mine, [m for m in misses if m.lang == lang])
    return RetrievalEval(
        questions=len(questions),
        answerable=len(answerable),
        modes=modes,
        search_ms_p50=percentile(timings, 50) or 0.0,
        languages=by_language,
        translated=translated,
        corrected=corrected,
    )
