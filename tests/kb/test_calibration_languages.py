"""The refusal gate in the languages a knowledge base is written in: off-topic questions in each of them, and
a gate that reads the question's words where the embedder's cosines say nothing."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from bot.chinese import to_traditional
from bot.config import RAGSettings
from bot.domain import Chunk, Hit
from bot.kb.analysis import question_language
from bot.kb.calibration import (
    DEFAULT_GATE,
    LEXICAL_GATE,
    MIN_FIT_QUESTIONS,
    MIN_QUESTIONS,
    OFF_TOPIC_FILE,
    SearchFn,
    Signals,
    fit_calibration,
    held_words,
    off_topic_for,
    off_topic_questions,
    question_words,
    signals,
)
from bot.kb.fusion import DENSE_WEIGHT
from bot.language import detect_message_language
from tests.fakes import FakeEmbedder, make_chunk

LANGUAGES = ("en", "zh", "ja", "ko", "de", "fr", "es", "it", "pt", "nl", "ru")


def test_each_language_has_its_own_off_topic_questions_written_in_it() -> None:
    seen: set[str] = set()
    for lang in LANGUAGES:
        questions = off_topic_questions(lang)
        assert len(questions) >= 24, lang
        for question in questions:
            assert question_language(question) == lang, question
            assert question not in seen, question
            seen.add(question)
    traditional = off_topic_questions("zh-Hant")
    assert traditional == tuple(to_traditional(q) for q in off_topic_questions("zh"))
    # Detected as Traditional, but for a question written alike in both scripts (光速是多少？).
    assert all(detect_message_language(q) == "zh-Hant" or to_traditional(q) == q for q in traditional)
    assert sum(detect_message_language(q) == "zh-Hant" for q in traditional) >= len(traditional) - 2
    assert off_topic_questions("pl") == ()


def test_the_off_topic_questions_asked_are_english_and_the_knowledge_base_languages() -> None:
    asked = off_topic_for(["ja", "zh"])
    langs = {lang for lang, _ in asked}
    assert langs == {"en", "ja", "zh"}
    texts = [text for _, text in asked]
    assert len(texts) == len(set(texts))
    assert set(off_topic_questions("ja")) <= set(texts)
    # Chinese in both scripts: a Simplified help center is asked in Traditional characters too.
    assert set(off_topic_questions("zh")) | set(off_topic_questions("zh-Hant")) <= set(texts)
    assert not set(off_topic_questions("de")) & set(texts)
    assert {lang for lang, _ in off_topic_for(["und"])} == {"en"}


def test_japanese_words_are_runs_of_kanji_and_katakana_not_kana_bigrams() -> None:
    passage = make_chunk(
        "ja/apt.html",
        "パッケージのインストール",
        "パッケージをインストールするにはどうすればよいですか。apt コマンドを使えば、必要なものはすべて"
        "自動的にダウンロードされます。",
    )
    # As character bigrams, "どう", "です", "すか" were words, and every Japanese passage holds them.
    assert question_words("明日の東京の天気はどうですか？", "ja") == ["明日", "東京", "天気"]
    assert held_words("明日の東京の天気はどうですか？", passage, "ja") == 0
    assert held_words("パッケージを入れる方法を教えてください", passage, "ja") == 1  # パッケージ
    assert held_words("apt でインストールできない", passage, "ja") == 2  # インストール, apt


def test_korean_words_are_their_stems_without_question_words() -> None:
    passage = make_chunk(
        "ko/apt.html",
        "패키지 설치",
        "패키지를 설치하는 방법은 간단합니다. 터미널에서 apt 명령을 입력하면 필요한 파일을 내려받습니다.",
    )
    assert question_words("내일 서울 날씨는 어때요?", "ko") == ["내일", "서울", "날씨"]
    assert held_words("내일 서울 날씨는 어때요?", passage, "ko") == 0
    assert held_words("패키지를 어떻게 설치하나요?", passage, "ko") == 2  # 패키(지), 설치(하나요)


def sections(lang: str, count: int = 20) -> list[Chunk]:
    """`count` sections of made-up words, each section its own ("alpha3 beta3 ..."), labelled `lang`; another
    language than English, French or Japanese has its code before every word ("dealpha3")."""
    p = "" if lang in ("fr", "ja", "en") else lang
    return [
        replace(
            make_chunk(
                f"{lang}/doc{n}.md",
                f"Rubrik {n}",
                f"{p}alpha{n} {p}beta{n} {p}gamma{n} {p}delta{n} {p}epsilon{n} {p}zeta{n}. "
                f"{p}eta{n} {p}theta{n} {p}iota{n} {p}kappa{n}.",
                n,
            ),
            id=f"{lang}{n}",
            lang=lang,
        )
        for n in range(count)
    ]


def weak_embedder_search(chunks: Sequence[Chunk], off_topic_cosine: float, asked: list[str]) -> SearchFn:
    """An embedder half as strong as BM25 in the sections' language (dense search puts a question's own
    section second, BM25 first) whose cosines barely tell the sections apart (0.6 for its own section,
    0.55 for the rest); a question that holds none of their words is at `off_topic_cosine` from the first
    section and 0.05 less from the others, as close as a question of the knowledge base when it is 0.6."""

    async def search(
        query: str, vector: np.ndarray, k: int, mode: str, lang: str, weight: float
    ) -> list[Hit]:
        asked.append(query)
        words = set(query.split())
        own = next((c for c in chunks if words & set(c.text.replace(".", "").split())), None)
        if own is None:
            found = (
                []
                if mode == "bm25"
                else [(c, off_topic_cosine - 0.05 * bool(n)) for n, c in enumerate(chunks)]
            )
        else:
            rest = [(c, 0.55) for c in chunks if c is not own]
            found = [*rest[:1], (own, 0.6), *rest[1:]] if mode == "dense" else [(own, 0.6), *rest]
        return [
            Hit(chunk=c, score=1.0 / r, rank=r, bm25_rank=r, dense_rank=r, dense_score=cosine)
            for r, (c, cosine) in enumerate(found[:k], start=1)
        ]

    return search


async def test_off_topic_questions_in_the_knowledge_base_language_are_asked() -> None:
    asked: list[str] = []
    chunks = sections("ja")
    await fit_calibration(chunks, FakeEmbedder(), weak_embedder_search(chunks, 0.2, asked))
    assert set(off_topic_questions("ja")) <= set(asked)
    assert set(off_topic_questions("en")) <= set(asked)
    assert not set(off_topic_questions("de")) & set(asked)


@pytest.mark.parametrize("lang", ["fr", "ja"])
async def test_a_language_whose_cosines_let_its_off_topic_questions_through_is_judged_by_its_words(
    lang: str,
) -> None:
    # Dense search is weaker than in English but has not collapsed (dense weight between 0 and the
    # default), and the off-topic questions written in the language are as close to every section as its
    # own questions are: a gate on cosines lets them through, their words are nowhere.
    chunks = sections(lang, MIN_FIT_QUESTIONS)
    search = weak_embedder_search(chunks, 0.6, [])
    calibration = await fit_calibration(chunks, FakeEmbedder(), search)
    (fit,) = calibration.languages
    assert 0 < fit.dense_weight < DENSE_WEIGHT
    assert fit.questions >= MIN_QUESTIONS
    assert fit.lexical
    assert fit.refused == 1.0
    assert calibration.gate.for_language(lang) == LEXICAL_GATE
    assert "lexical gate" in calibration.describe()[f"language {lang}"]
    for question in off_topic_questions(lang)[:5]:
        hits = await search(question, np.zeros(1), 5, "hybrid", lang, fit.dense_weight)
        assert calibration.gate.probability(signals(question, hits, lang)) < 0.5, question
    hits = await search("gamma3 kappa3", np.zeros(1), 5, "hybrid", lang, fit.dense_weight)
    assert calibration.gate.probability(signals("gamma3 kappa3", hits, lang)) >= 0.5


async def test_a_help_center_too_small_to_fit_a_gate_keeps_the_default_one_not_its_words() -> None:
    # Its pseudo-questions copy their sections' words, so the words let through all of them and always won
    # the comparison: a 12-section Spanish shop then answered questions about bikes for rent and group rides.
    chunks = sections("fr")
    assert len(chunks) < MIN_FIT_QUESTIONS
    calibration = await fit_calibration(chunks, FakeEmbedder(), weak_embedder_search(chunks, 0.6, []))
    (fit,) = calibration.languages
    assert not fit.lexical
    assert calibration.gate.for_language("fr") == calibration.gate
    assert (calibration.gate.features, calibration.gate.weights) == (
        DEFAULT_GATE.features,
        DEFAULT_GATE.weights,
    )


async def test_cosines_that_refuse_the_off_topic_questions_keep_their_gate_and_english_always_does() -> None:
    for lang, off_topic_cosine in (("fr", 0.2), ("en", 0.6)):
        chunks = sections(lang)
        calibration = await fit_calibration(
            chunks, FakeEmbedder(), weak_embedder_search(chunks, off_topic_cosine, [])
        )
        (fit,) = calibration.languages
        assert not fit.lexical, lang
        assert calibration.gate.for_language(lang) is calibration.gate, lang


def test_the_off_topic_questions_ship_in_the_package() -> None:
    # A wheel (the Docker image installs one) without the file could not calibrate any reload.
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    relative = PurePosixPath("kb") / OFF_TOPIC_FILE
    assert (root / "bot" / relative).is_file()
    assert any(relative.match(pattern) for pattern in patterns), relative


async def test_a_language_gate_learns_from_the_off_topic_questions_in_english_and_in_its_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.kb.calibration as calibration_module

    fitted_on: list[int] = []
    fit_gate = calibration_module._fit_gate

    def recorded(
        rows: Sequence[tuple[float, ...]],
        labels: Sequence[int],
        off_rows: Sequence[tuple[float, ...]],
        started: float,
    ) -> object:
        fitted_on.append(len(off_rows))
        return fit_gate(rows, labels, off_rows, started)

    monkeypatch.setattr(calibration_module, "_fit_gate", recorded)
    chunks = [*sections("fr"), *sections("de")]
    calibration = await fit_calibration(chunks, FakeEmbedder(), weak_embedder_search(chunks, 0.2, []))
    assert {fit.lang for fit in calibration.languages if fit.gate} == {"de", "fr"}
    english, french, german = (len(off_topic_questions(lang)) for lang in ("en", "fr", "de"))
    # The knowledge base's gate on all; each language's on English and its own, not the other's.
    assert fitted_on[0] == english + french + german
    assert sorted(fitted_on[1:]) == sorted([english + french, english + german])


def test_the_lexical_gate_answers_one_word_held_with_doubt_and_more_plainly() -> None:
    # A Korean and a Russian trial: one common word held ("설치", "ssh") was told at 0.993, without doubt.
    rag = RAGSettings()

    def probability(held: int) -> float:
        return LEXICAL_GATE.probability(Signals(0.0, 0.0, 0.0, 0.0, "ko", (), float(held)))

    assert probability(0) < 0.2 < rag.min_relevance
    assert rag.min_relevance <= probability(1) < rag.confident_relevance
    assert rag.confident_relevance <= probability(2) < probability(3)
