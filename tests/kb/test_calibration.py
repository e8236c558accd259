"""The refusal gate a reload fits for its own knowledge base: signals, the fit, storage with the index."""

from __future__ import annotations

import json
import math
import random
import re
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.domain import Chunk, Hit
from bot.kb.calibration import (
    DEFAULT_GATE,
    IN_DOMAIN_SHARE,
    LEXICAL_GATE,
    MIN_FIT_QUESTIONS,
    MIN_QUESTIONS,
    Calibration,
    FitReport,
    Gate,
    LanguageFit,
    SearchFn,
    Signals,
    dense_weight,
    example_weights,
    fit_calibration,
    fit_logistic,
    off_topic_for,
    pseudo_questions,
    signals,
)
from bot.kb.elastic import ElasticKB
from bot.kb.embedded import EmbeddedKB
from bot.kb.fusion import DENSE_WEIGHT
from tests.fakes import FakeEmbedder, make_chunk
from tests.kb.conftest import KBFactory, make_settings
from tests.kb.fake_es import FakeElasticsearch


def hit(text: str, rank: int, dense: float, bm25_rank: int | None, dense_rank: int | None) -> Hit:
    return Hit(
        chunk=make_chunk("doc.md", "Heading", text, position=rank),
        score=1.0 / rank,
        rank=rank,
        bm25_rank=bm25_rank,
        dense_rank=dense_rank,
        dense_score=dense,
    )


def write_topics(root: Path, sections: int, *, seed: int = 1) -> Path:
    """A help center of `sections` sections, each about its own made-up vocabulary."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ru", "te", "po", "ze", "an", "or", "ul", "vi", "sa"]
    root.mkdir(parents=True, exist_ok=True)
    lines = ["# Help center", ""]
    for n in range(sections):
        words = ["".join(rng.choices(syllables, k=3)) + str(n) for _ in range(12)]
        lines += [f"## Topic {n} {words[0]}", "", " ".join(words[:8]) + ".", " ".join(words[4:]) + ".", ""]
    (root / "help.md").write_text("\n".join(lines), encoding="utf-8")
    return root


def test_signals_from_hits() -> None:
    hits = [
        hit("refunds take five days", 1, 0.8, 1, 2),
        hit("shipping", 2, 0.5, 2, 1),
        hit("lockers", 3, 0.3, 3, 3),
    ]
    sig = signals("how long do refunds take", hits)
    assert sig.dense_top == pytest.approx(0.8)
    assert sig.dense_margin == pytest.approx(0.8 - 0.4)  # the mean of the next hits' cosines
    assert sig.agreement == pytest.approx(0.5)
    assert sig.coverage == pytest.approx(2 / 3)  # "long" is missing; "how"/"do" are stop words


def test_no_hits_is_refused_by_every_gate() -> None:
    assert signals("anything", [], "en") == Signals(0.0, 0.0, 0.0, 0.0, "en")
    assert DEFAULT_GATE.probability(signals("anything", [])) < 0.5


def test_default_gate_rises_with_the_best_cosine() -> None:
    assert DEFAULT_GATE.probability(Signals(0.7, 0.2, 0.2, 0.3)) > 0.5
    assert DEFAULT_GATE.probability(Signals(0.3, 0.2, 0.2, 0.3)) < 0.5
    cut = DEFAULT_GATE.cosine_cut()
    assert cut is not None
    assert 0.4 < cut < 0.5


def test_gate_rejects_what_it_cannot_use() -> None:
    with pytest.raises(ValueError, match="unknown gate features"):
        Gate(("bm25_top",), (0.0, 1.0))
    with pytest.raises(ValueError, match="needs 3 weights"):
        Gate(("dense_top", "dense_margin"), (0.0, 1.0))
    with pytest.raises(ValueError, match="finite"):
        Gate(("dense_top",), (0.0, math.inf))


def test_fit_separates_and_balances_rare_negatives() -> None:
    x = np.array([[0.8, 0.3]] * 9 + [[0.7, 0.25], [0.2, 0.01], [0.3, 0.02]])
    y = np.array([1.0] * 10 + [0.0, 0.0])
    gate = Gate(("dense_top", "dense_margin"), fit_logistic(x, y))
    assert gate.probability(Signals(0.75, 0.28, 0, 0)) > 0.5
    assert gate.probability(Signals(0.25, 0.01, 0, 0)) < 0.5


def test_pseudo_questions_are_a_few_words_of_one_section_and_reproducible() -> None:
    chunks = [
        make_chunk(
            "a.md", f"Topic {n}", f"alpha{n} beta{n} gamma{n} delta{n} epsilon{n} zeta{n}.", position=n
        )
        for n in range(30)
    ]
    first = pseudo_questions(chunks)
    assert first == pseudo_questions(chunks)
    assert len(first) == 30
    for question in first:
        words = question.text.split()
        assert 3 <= len(words) <= 6
        n = question.section[1][-1].split()[-1]
        assert all(word.endswith(n) for word in words)


def test_calibration_survives_json_and_refuses_garbage() -> None:
    fitted = Calibration(
        gate=Gate(("dense_top", "dense_margin"), (-5.0, 8.0, 3.0)),
        fitted=True,
        reason="",
        report=FitReport(answerable=40, unanswerable=79, accepted=0.9, refused=0.8, seconds=1.5),
        fitted_at="2026-12-03T00:00:00+00:00",
    )
    assert Calibration.from_json(fitted.to_json()) == fitted
    for bad in ("", "{}", '{"gate": {"features": ["nope"], "weights": [1, 2]}, "fitted": true}', "[1]"):
        with pytest.raises(ValueError, match=r"unreadable calibration|unknown gate features"):
            Calibration.from_json(bad)


def test_each_language_has_its_gate_and_dense_weight_and_old_calibrations_still_load() -> None:
    zh_gate = Gate(("dense_top",), (-10.0, 10.0))
    fitted = Calibration(
        gate=Gate(("dense_top", "dense_margin"), (-5.0, 8.0, 3.0), {"zh": zh_gate}),
        fitted=True,
        reason="",
        languages=(
            LanguageFit("en", 120, 0.6, 0.9, 0.7, gate=False),
            LanguageFit("zh", 80, 0.2, 0.9, 0.1, gate=True, accepted=0.7, refused=0.6),
        ),
    )
    assert Calibration.from_json(fitted.to_json()) == fitted
    assert fitted.dense_weight_for("zh") == 0.1
    assert fitted.dense_weight_for("en") == 0.7
    assert fitted.dense_weight_for("de") == DENSE_WEIGHT  # a language the knowledge base does not have
    # A cosine of 0.8 is a match for the English gate, not for the Chinese one.
    assert fitted.gate.probability(Signals(0.8, 0.1, 0, 0, "en")) > 0.5
    assert fitted.gate.probability(Signals(0.8, 0.1, 0, 0, "zh")) < 0.5
    assert fitted.gate.for_language("zh") == zh_gate
    assert fitted.gate.for_language("fr") == fitted.gate
    described = fitted.describe()
    assert "dense weight 0.10" in described["language zh"]
    assert "own gate" in described["language zh"]
    assert "the knowledge base's gate" in described["language en"]
    # Stored before languages existed: no per-language gates or weights, everything default.
    old = json.loads(fitted.to_json())
    del old["languages"]
    del old["gate"]["languages"]
    loaded = Calibration.from_json(json.dumps(old))
    assert loaded.languages == ()
    assert loaded.dense_weight_for("zh") == DENSE_WEIGHT
    assert loaded.gate.probability(Signals(0.8, 0.1, 0, 0, "zh")) > 0.5


def test_dense_weight_follows_the_embedder_strength_relative_to_english() -> None:
    # English keeps the default chosen on real questions, whatever its pseudo-questions say.
    assert dense_weight("en", 0.1, 0.9, None) == DENSE_WEIGHT
    # As strong as English relative to BM25: the default; collapsed (under half as strong): BM25 alone.
    assert dense_weight("fr", 0.72, 0.9, 0.8) == DENSE_WEIGHT
    assert dense_weight("zh", 0.2, 0.9, 0.6) == 0.0
    assert dense_weight("zh", 0.0, 0.9, None) == 0.0
    assert dense_weight("fr", 0.42, 0.92, 0.6) == pytest.approx(0.7 * 0.42 / 0.92 / 0.6, abs=0.01)
    assert dense_weight("ko", 0.5, 0.0, None) == DENSE_WEIGHT  # nothing to compare with
    assert 0.1 < dense_weight("fr", 0.45, 0.9, 0.8) < DENSE_WEIGHT


def test_pseudo_questions_of_a_chinese_section_are_its_words() -> None:
    text = "仓库收到退货后五个工作日内退款，钱会退回到原来的付款方式。信用卡退款可能还需要三天才能到账。"
    chunks = [replace(make_chunk(f"zh{n}.md", f"退款 {n}", text, position=n), lang="zh") for n in range(3)]
    questions = pseudo_questions(chunks)
    assert len(questions) == 3
    for question in questions:
        assert question.lang == "zh"
        words = question.text.split()
        assert 3 <= len(words) <= 6
        assert all(word in text for word in words)


async def test_reload_fits_a_gate_that_tells_its_topics_from_anything_else(
    kb_factory: KBFactory, tmp_path: Path
) -> None:
    kb = kb_factory(FakeEmbedder(dim=256))
    await kb.reload(write_topics(tmp_path / "kb", 40))
    calibration = await kb.calibration()
    assert calibration.fitted, calibration.reason
    assert calibration.gate.features == ("dense_top", "dense_margin")
    assert calibration.report is not None
    assert calibration.report.answerable >= 30
    langs = [fit.lang for fit in calibration.languages]
    assert calibration.report.unanswerable == calibration.report.answerable + len(off_topic_for(langs))
    gate = calibration.gate
    # A customer using some words of one section is let through; questions about anything else are not.
    text = (tmp_path / "kb" / "help.md").read_text(encoding="utf-8")
    bodies = [line for line in text.splitlines() if line.endswith(".")][::2]
    for body in bodies[:8]:
        question = " ".join(body.split()[1:7])
        assert gate.probability(signals(question, await kb.search(question))) >= 0.5
    for question in ("What's the weather like in Paris tomorrow?", "Tell me a joke"):
        assert gate.probability(signals(question, await kb.search(question))) < 0.5
    stats = await kb.stats()
    assert stats.extra["gate"].startswith("fitted at reload: intercept")
    assert "pseudo-questions" in stats.extra["gate fit"]


async def test_a_small_knowledge_base_keeps_the_default_gate_and_says_why(
    kb_factory: KBFactory, tmp_path: Path
) -> None:
    kb = kb_factory(FakeEmbedder())
    await kb.reload(write_topics(tmp_path / "kb", MIN_QUESTIONS - 2))
    calibration = await kb.calibration()
    assert not calibration.fitted
    assert calibration.gate == DEFAULT_GATE
    assert f"{MIN_QUESTIONS} needed" in calibration.reason
    assert (await kb.stats()).extra["gate"].startswith("default: intercept")
    # Its sections' language is known all the same, measured but not fitted (its made-up words are of none).
    assert [(fit.lang, fit.questions, fit.gate) for fit in calibration.languages] == [
        ("und", MIN_QUESTIONS - 2, False)
    ]
    assert calibration.languages[0].dense_weight == DENSE_WEIGHT


async def test_a_gate_fitted_on_too_few_sections_gives_way_to_the_default_except_in_cjk(
    kb_factory: KBFactory, tmp_path: Path
) -> None:
    """Twenty sections are enough to measure the knowledge base's languages and dense weights, not to fit a
    cosine gate that transfers to customers' questions: the default gate judges, and `kb stats` says why.
    A help center written in Chinese keeps its fit: the default gate's cut-off is an English cosine."""
    sections = (MIN_QUESTIONS + MIN_FIT_QUESTIONS) // 2
    kb = kb_factory(FakeEmbedder(dim=256))
    await kb.reload(write_topics(tmp_path / "kb", sections))
    calibration = await kb.calibration()
    assert calibration.fitted
    assert (calibration.gate.features, calibration.gate.weights) == (
        DEFAULT_GATE.features,
        DEFAULT_GATE.weights,
    )
    assert calibration.report is not None
    assert calibration.report.answerable == sections
    assert f"{MIN_FIT_QUESTIONS} needed" in calibration.reason
    stats = (await kb.stats()).extra
    assert stats["gate"].startswith("default: intercept")
    assert stats["gate fit"].endswith(
        f"the default cosine gate: {sections} answerable pseudo-questions, "
        f"{MIN_FIT_QUESTIONS} needed to fit one"
    )

    chinese = tmp_path / "zh"
    chinese.mkdir()
    characters = "退款运费发票包裹快递门店营业时间保修自行车配送周末会员积分优惠"
    lines = ["# 帮助中心", ""]
    for n in range(sections):
        words = [
            characters[(n * 7 + k * 3) % len(characters)] + characters[(n + k) % len(characters)]
            for k in range(8)
        ]
        lines += [f"## 第{n}节 {words[0]}", "", "，".join(words) + f"，编号{n}。", ""]
    (chinese / "help.md").write_text("\n".join(lines), encoding="utf-8")
    await kb.reload(chinese)
    fitted = await kb.calibration()
    assert [fit.lang for fit in fitted.languages] == ["zh"]
    assert fitted.reason == ""
    assert (await kb.stats()).extra["gate"].startswith("fitted at reload: intercept")


async def test_a_small_help_center_knows_its_language(kb_factory: KBFactory, tmp_path: Path) -> None:
    # A ten-section English help center recorded no language: a Chinese question to it was never translated
    # and its refusal did not say the help center is written in English.
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "help.md").write_text(
        "# Help\n\n## Refunds\n\nRefunds are paid back to the original card within five business days "
        "after we receive the returned item.\n\n## Passwords\n\nTo reset your password, open the sign-in "
        "page, choose forgot password and follow the link we email to you.\n",
        encoding="utf-8",
    )
    kb = kb_factory(FakeEmbedder())
    await kb.reload(folder)
    calibration = await kb.calibration()
    assert not calibration.fitted
    assert [(fit.lang, fit.gate) for fit in calibration.languages] == [("en", False)]
    assert calibration.prior_languages() == ("en",)
    assert "language en" in (await kb.stats()).extra


async def test_a_help_center_written_in_traditional_chinese_is_zh_hant_to_its_customers(
    kb_factory: KBFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "sim.md").write_text(
        "# 手機遺失\n\n## 掛失停話\n\n手機或 SIM 卡遺失時，請立即撥打客服專線掛失停話，避免被盜用。\n\n"
        "## 補發 SIM 卡\n\n補發 SIM 卡需本人攜帶身分證正本到任一直營門市辦理，補卡費新臺幣兩百元。\n",
        encoding="utf-8",
    )
    kb = kb_factory(FakeEmbedder())
    await kb.reload(folder)
    calibration = await kb.calibration()
    assert [(fit.lang, fit.script) for fit in calibration.languages] == [("zh", "Hant")]
    assert calibration.prior_languages() == ("zh-Hant",)
    assert Calibration.from_json(calibration.to_json()) == calibration
    assert (await kb.stats()).extra["language zh"].endswith("; written in Traditional script")


async def test_the_gate_is_stored_in_the_index_file_and_read_by_another_process(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    builder = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder(dim=256))
    await builder.reload(write_topics(tmp_path / "kb", 30))
    fitted = await builder.calibration()
    reader = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder(dim=256))
    try:
        assert await reader.calibration() == fitted
        # A calibration this version cannot read falls back to the default gate, with the reason shown.
        path = next(settings.index_dir.glob("kb-*.sqlite"))
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'calibration'", (json.dumps({"gate": 1}),))
        conn.close()
        third = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder(dim=256))
        broken = await third.calibration()
        assert broken.gate == DEFAULT_GATE
        assert "unreadable" in broken.reason
        await third.close()
    finally:
        await builder.close()
        await reader.close()


async def test_the_gate_travels_in_the_elasticsearch_mapping(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, elasticsearch={"url": fake_es.url, "alias": "kb"})
    kb = ElasticKB(settings.kb, settings.elasticsearch, FakeEmbedder(dim=256))
    try:
        await kb.reload(write_topics(tmp_path / "kb", 30))
        puts = [r for r in fake_es.requests if r.method == "PUT" and r.path.endswith("/_mapping")]
        assert len(puts) == 1
        stored = Calibration.from_json(puts[0].body["_meta"]["calibration"])
        assert stored.fitted
        # The index behind the alias holds it: a fresh client (another process) reads the same gate.
        other = ElasticKB(settings.kb, settings.elasticsearch, FakeEmbedder(dim=256))
        assert await other.calibration() == stored
        await other.close()
        # An index built before per-language analysis has no BM25 fields: stats say to reload, loudly.
        (index,) = fake_es.aliases["kb"]
        mappings = fake_es.indices[index].mappings
        saved = dict(mappings)
        mappings.pop("_meta")
        mappings["properties"] = {
            k: v for k, v in mappings["properties"].items() if not k.startswith("bm25_text_")
        }
        old = ElasticKB(settings.kb, settings.elasticsearch, FakeEmbedder(dim=256))
        assert "kb reload" in (await old.calibration()).reason
        assert "predates" in (await old.stats()).extra["gate fit"]
        await old.close()
        fake_es.indices[index].mappings = saved
        # Unreachable mappings never fail a question: the default gate answers, with the reason logged.
        fake_es.indices.clear()
        fake_es.aliases.clear()
        third = ElasticKB(settings.kb, settings.elasticsearch, FakeEmbedder(dim=256))
        assert (await third.calibration()).gate == DEFAULT_GATE
        await third.close()
    finally:
        await kb.close()


@pytest.mark.parametrize(("dense_finds", "in_domain"), [(True, True), (False, False)])
async def test_a_language_whose_dense_search_collapsed_fits_its_gate_on_off_topic_negatives_only(
    dense_finds: bool, in_domain: bool
) -> None:
    chunks = [
        replace(
            make_chunk("a.md", f"主题 {n}", f"alpha{n} beta{n} gamma{n} delta{n} epsilon{n} zeta{n}.", n),
            lang="zh",
        )
        for n in range(20)
    ]

    async def search(
        query: str, vector: np.ndarray, k: int, mode: str, lang: str, weight: float
    ) -> list[Hit]:
        # An off-topic question finds the first two sections, weakly.
        own = next((c for c in chunks if query.split()[0] in c.text), chunks[0])
        other = next(c for c in chunks if c is not own)
        found = [other] if mode == "dense" and not dense_finds else [own, other]
        return [
            Hit(chunk=c, score=1.0 / r, rank=r, bm25_rank=r, dense_rank=r, dense_score=0.9 / r)
            for r, c in enumerate(found, start=1)
        ]

    calibration = await fit_calibration(chunks, FakeEmbedder(), search)
    (fit,) = calibration.languages
    assert (fit.dense_weight == 0.0) is not dense_finds
    assert calibration.report is not None
    # With the section left out, an in-domain question looks answered to collapsed cosines: only the
    # off-topic questions are negatives then.
    asked = off_topic_for(["zh"])  # English, and Chinese in both scripts
    assert {lang for lang, _ in asked} == {"en", "zh"}
    assert calibration.report.unanswerable == len(asked) + (len(chunks) if in_domain else 0)
    if not dense_finds:
        # Its cosines judge nothing in it then, however many sections it has: its words do.
        assert fit.lexical
        assert calibration.gate.for_language("zh") == LEXICAL_GATE


def articles(documents: int, sections: int) -> list[Chunk]:
    """`documents` articles of `sections` sections each; the sections of one article share its words."""
    return [
        make_chunk(
            f"doc{d}.md",
            f"Section {d}.{s}",
            f"alpha{d} beta{d} gamma{d} delta{d} epsilon{d} detail{d}x{s} more{d}x{s}.",
            d * sections + s,
        )
        for d in range(documents)
        for s in range(sections)
    ]


def sibling_search(chunks: Sequence[Chunk], calls: list[tuple[str, int]]) -> SearchFn:
    """A search where a question finds its whole article (cosine 0.9, its own section first), then the
    other articles (0.3); an off-topic question finds anything at 0.2."""

    async def search(
        query: str, vector: np.ndarray, k: int, mode: str, lang: str, weight: float
    ) -> list[Hit]:
        calls.append((query, k))
        # Every word of an article names it ("beta3", "detail3x1"); "x1" names the section.
        article = next((m[1] for w in query.split() if (m := re.fullmatch(r"[a-z]+(\d+)(x\d+)?", w))), None)
        own = [c for c in chunks if article is not None and f"alpha{article} " in c.text]
        own.sort(key=lambda c: not any(w in c.text.split() for w in query.split() if "x" in w[1:]))
        rest = [c for c in chunks if c not in own]
        ranked = [(c, 0.9) for c in own] + [(c, 0.3 if own else 0.2) for c in rest]
        return [
            Hit(chunk=c, score=cos, rank=r, bm25_rank=r, dense_rank=r, dense_score=cos)
            for r, (c, cos) in enumerate(ranked[:k], start=1)
        ]

    return search


async def test_in_domain_negatives_leave_the_whole_article_out() -> None:
    # Every section's article-mates answer its questions as well as it does (cosine 0.9): with only the
    # section left out, an "unanswerable" example would look exactly like an answerable one.
    chunks = articles(documents=6, sections=6)
    calls: list[tuple[str, int]] = []
    calibration = await fit_calibration(chunks, FakeEmbedder(), sibling_search(chunks, calls))
    assert calibration.fitted, calibration.reason
    assert calibration.report is not None
    assert calibration.report.accepted == 1.0
    assert calibration.report.refused == 1.0
    assert calibration.gate.probability(Signals(0.9, 0.0, 0, 0)) > 0.9
    assert calibration.gate.probability(Signals(0.3, 0.0, 0, 0)) < 0.1
    # The negatives were searched deep enough to find five hits outside the article.
    assert any(k >= 6 + 5 for _, k in calls)


async def test_one_big_document_still_gets_in_domain_negatives_from_its_other_sections() -> None:
    # All sections in one file: leaving the document out would leave nothing, so the section is left out.
    chunks = [replace(c, source="faq.html") for c in articles(documents=4, sections=6)]
    calibration = await fit_calibration(chunks, FakeEmbedder(), sibling_search(chunks, []))
    assert calibration.report is not None
    off_topic = len(off_topic_for([]))  # the chunks' language is undetermined: English ones only
    assert calibration.report.unanswerable == len(chunks) + off_topic
    # Those negatives keep the article-mates' 0.9, as the answerable examples do: the gate refuses only
    # the off-topic questions, and its report says so.
    assert calibration.report.accepted == 1.0
    assert calibration.report.refused == round(off_topic / (len(chunks) + off_topic), 3)


def test_in_domain_and_off_topic_negatives_each_weigh_half_of_the_unanswerable_class() -> None:
    labels = [1] * 30 + [0] * 30
    weights = example_weights(labels, off_topic=10)
    assert weights.mean() == pytest.approx(1.0)
    answerable, in_domain, off_topic = weights[:30].sum(), weights[30:60].sum(), weights[60:].sum()
    assert answerable == pytest.approx(in_domain + off_topic)
    assert in_domain == pytest.approx(off_topic * IN_DOMAIN_SHARE / (1 - IN_DOMAIN_SHARE))
    # Without in-domain negatives (a language whose dense search collapsed) off-topic is all of it.
    only_off = example_weights([1] * 30, off_topic=10)
    assert only_off[:30].sum() == pytest.approx(only_off[30:].sum())


async def test_the_sections_analysis_the_signals_and_the_fits_run_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A reload or the scheduled refresh calibrates while the same loop answers customers.
    import bot.kb.calibration as calibration_module

    ran_on: dict[str, set[int]] = {}

    def on_thread(name: str) -> None:
        original = getattr(calibration_module, name)

        def recorded(*args: object, **kwargs: object) -> object:
            ran_on.setdefault(name, set()).add(threading.get_ident())
            return original(*args, **kwargs)

        monkeypatch.setattr(calibration_module, name, recorded)

    for name in ("pseudo_questions", "signals", "fit_logistic"):
        on_thread(name)
    chunks = articles(documents=6, sections=6)
    calibration = await fit_calibration(chunks, FakeEmbedder(), sibling_search(chunks, []))

    assert calibration.fitted, calibration.reason
    assert set(ran_on) == {"pseudo_questions", "signals", "fit_logistic"}
    loop_thread = threading.get_ident()
    assert all(loop_thread not in threads for threads in ran_on.values()), ran_on


def test_a_gate_signal_fitted_backwards_is_left_out_and_the_gate_refitted() -> None:
    from bot.kb.calibration import GATE_FEATURES, _fit_gate

    rng = random.Random(3)
    # Answerable pseudo-questions: high best cosines with small margins; the unanswerable ones the reverse
    # (an unlucky sample): the margin would be fitted with a negative weight.
    answerable = [(0.7 + rng.uniform(-0.05, 0.05), 0.02 + rng.uniform(0, 0.02)) for _ in range(40)]
    negatives = [(0.45 + rng.uniform(-0.05, 0.05), 0.08 + rng.uniform(0, 0.02)) for _ in range(40)]
    off_topic = [(0.2 + rng.uniform(-0.05, 0.05), 0.09 + rng.uniform(0, 0.02)) for _ in range(10)]
    assert GATE_FEATURES == ("dense_top", "dense_margin")
    gate, report = _fit_gate([*answerable, *negatives], [1] * 40 + [0] * 40, off_topic, 0.0)
    assert gate.features == ("dense_top",)
    assert gate.weights[1] > 0
    assert report.accepted > 0.9
    assert report.refused > 0.9
    # Both signals pointing the right way: both kept.
    agreeing = [(top, 0.1 - margin) for top, margin in negatives]
    gate, _ = _fit_gate([*answerable, *agreeing], [1] * 40 + [0] * 40, off_topic, 0.0)
    assert gate.features == GATE_FEATURES
    assert all(w > 0 for w in gate.weights[1:])
