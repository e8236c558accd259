"""A language with too few sections for a gate of its own, whose cosines cannot be trusted, is judged by its
words: a mostly-English help center with one Chinese page."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bot.domain import Chunk, Hit
from bot.kb.calibration import (
    LEXICAL_GATE,
    MIN_QUESTIONS,
    Calibration,
    SearchFn,
    fit_calibration,
    held_words,
    signals,
)
from bot.kb.fusion import DENSE_WEIGHT
from tests.fakes import FakeEmbedder, make_chunk

CHINESE_FAQ = {
    "发货需要多长时间？": "工作日14:00（欧洲中部时间）之前下的订单当天从仓库发出。"
    "德国境内标准配送需要2到3个工作日，其他欧盟国家需要4到6个工作日。",
    "如何退货？": "您可以在收货后30天内退回任何灯具。登录您的账户，打开“订单”，选择订单并点击“退货”。"
    "打印我们通过电子邮件发送的退货标签，然后把包裹送到任意网点。",
    "如何重置密码？": "在登录页面点击“忘记密码”，输入您的电子邮件地址。"
    "我们会发送一个有效期为1小时的重置链接。如果没有收到邮件，请检查垃圾邮件文件夹。",
    "灯具无法连接到应用怎么办？": "灯具只支持2.4 GHz的无线网络。"
    "如果您的路由器对两个频段使用同一个网络名称，请暂时启用单独的网络。配对时请让手机与灯具的距离保持在5米以内。",
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def mixed_help_center(english_articles: int = 6, other: str = "zh", sections: int = 4) -> list[Chunk]:
    """English articles of six sections each (every word names its article), and one page in `other`:
    the first `sections` of the Chinese FAQ, or for "fr" four sections of made-up words as the English
    ones are."""
    chunks = [
        replace(
            make_chunk(
                f"doc{d}.md",
                f"Section {d}.{s}",
                f"alpha{d} beta{d} gamma{d} delta{d} epsilon{d} detail{d}x{s} more{d}x{s}.",
                d * 6 + s,
            ),
            lang="en",
        )
        for d in range(english_articles)
        for s in range(6)
    ]
    if other == "zh":
        page = list(CHINESE_FAQ.items())[:sections]
    else:
        words = ("lune", "soleil", "etoile", "nuage", "pluie", "vent")
        page = [(f"Rubrique {s}", " ".join(f"{w}{s}" for w in words) + ".") for s in range(4)]
    for n, (heading, text) in enumerate(page):
        chunks.append(replace(make_chunk(f"{other}/faq.html", heading, text, 100 + n), lang=other))
    return chunks


def _hit(chunk: Chunk, rank: int, cosine: float) -> Hit:
    return Hit(chunk=chunk, score=cosine, rank=rank, bm25_rank=rank, dense_rank=rank, dense_score=cosine)


def english_embedder_search(chunks: Sequence[Chunk], across: float = 0.3) -> SearchFn:
    """Searches as the shipped English embedder does on such a help center. English, and French words
    here: a question finds its article (cosine 0.9, its own section first), then the rest (0.3); an
    off-topic one anything at 0.2. Chinese: every Chinese text is close to every other (0.8 down to 0.65,
    the same order whatever the question), and only BM25 tells the sections apart; the other sections are
    at `across`."""
    chinese = [c for c in chunks if c.lang == "zh"]
    collapsed = {c.id: 0.8 - 0.05 * n for n, c in enumerate(chinese)}

    async def search(
        query: str, vector: np.ndarray, k: int, mode: str, lang: str, weight: float
    ) -> list[Hit]:
        if _CJK.search(query):
            dense = sorted(chinese, key=lambda c: -collapsed[c.id])
            overlap = {
                c.id: sum(query[i : i + 2] in c.heading + c.text for i in range(len(query) - 1))
                for c in chinese
            }
            lexical = sorted((c for c in chinese if overlap[c.id]), key=lambda c: -overlap[c.id])
            ranked = dense if mode == "dense" else lexical if mode == "bm25" else lexical or dense
            ranked += [c for c in dense if c not in ranked and mode != "bm25"]
            rest = [c for c in chunks if c.lang != "zh"] if mode != "bm25" else []
            found = [(c, collapsed[c.id]) for c in ranked] + [(c, across) for c in rest]
        else:
            words = set(query.split())
            own_doc = next((c.source for c in chunks if words & set(c.text.rstrip(".").split())), None)
            own = [c for c in chunks if c.source == own_doc]
            own.sort(key=lambda c: -len(words & set(c.text.rstrip(".").split())))
            found = [(c, 0.9) for c in own] + [(c, 0.3 if own else 0.2) for c in chunks if c not in own]
        return [_hit(c, r, cos) for r, (c, cos) in enumerate(found[:k], start=1)]

    return search


async def test_a_few_chinese_sections_are_judged_by_their_words_not_by_english_cosines() -> None:
    chunks = mixed_help_center()
    search = english_embedder_search(chunks)
    calibration = await fit_calibration(chunks, FakeEmbedder(), search)
    assert calibration.fitted, calibration.reason

    async def decide(question: str) -> float:
        hits = await search(question, np.zeros(1), 5, "hybrid", "zh", 0.0)
        return calibration.gate.probability(signals(question, hits, coverage=False))

    # The English gate would take the weather for the shipping section: the collapsed cosine is 0.8.
    for off_topic in ("今天天气怎么样？", "你们接受比特币付款吗？", "可以开发票吗？"):
        assert await decide(off_topic) < 0.5, off_topic
    for answerable in ("忘记密码了，怎么重置？", "退货标签在哪里打印？", "寄到德国要几个工作日？"):
        assert await decide(answerable) >= 0.5, answerable
    fits = {fit.lang: fit for fit in calibration.languages}
    assert fits["zh"].questions < MIN_QUESTIONS
    assert not fits["zh"].gate
    assert fits["zh"].lexical
    assert fits["zh"].accepted == 1.0
    assert not fits["en"].lexical

    # English questions keep a gate fitted on English cosines.
    assert calibration.gate.for_language("en").features[0] == "dense_top"
    assert calibration.gate.for_language("zh") == LEXICAL_GATE
    # Stored with the index and read back, the lexical gate and its reason travel along.
    stored = Calibration.from_json(calibration.to_json())
    assert stored == calibration
    assert "lexical gate" in stored.describe()["language zh"]
    assert json.loads(calibration.to_json())["gate"]["languages"]["zh"]["features"] == ["held"]


async def test_one_chinese_section_is_judged_by_its_words_though_dense_search_finds_it() -> None:
    # One section: dense search cannot miss it (the full dense weight), but the English sections' gate
    # lets the Chinese off-topic questions through (here a Chinese question is at 0.8 from any passage),
    # so it does not judge Chinese.
    chunks = mixed_help_center(sections=1)
    search = english_embedder_search(chunks, across=0.8)
    calibration = await fit_calibration(chunks, FakeEmbedder(), search)
    fits = {fit.lang: fit for fit in calibration.languages}
    assert fits["zh"].dense_weight == DENSE_WEIGHT
    assert fits["zh"].lexical
    hits = await search("今天天气怎么样？", np.zeros(1), 5, "hybrid", "zh", DENSE_WEIGHT)
    assert calibration.gate.probability(signals("今天天气怎么样？", hits)) < 0.5


async def test_a_few_sections_in_a_language_the_embedder_knows_keep_the_knowledge_base_gate() -> None:
    chunks = mixed_help_center(other="fr")
    calibration = await fit_calibration(chunks, FakeEmbedder(), english_embedder_search(chunks))
    fits = {fit.lang: fit for fit in calibration.languages}
    assert fits["fr"].questions < MIN_QUESTIONS
    assert not fits["fr"].lexical
    assert calibration.gate.for_language("fr") is calibration.gate


def test_held_words_counts_the_question_words_the_passage_holds() -> None:
    passage = make_chunk("zh/faq.html", "如何重置密码？", CHINESE_FAQ["如何重置密码？"])
    assert held_words("忘记密码了，怎么重置？", passage, "zh") == 3  # 忘记, 密码, 重置
    assert held_words("今天天气怎么样？", passage, "zh") == 0
    # A question word the heading shares is no topic.
    wifi = make_chunk("zh/faq.html", "灯具无法连接到应用怎么办？", CHINESE_FAQ["灯具无法连接到应用怎么办？"])
    assert held_words("我的灯坏了怎么办？", wifi, "zh") == 0
    english = make_chunk("a.md", "Refunds", "Refunds are paid back within five business days.")
    assert held_words("when do I get my refund", english, "en") == 1  # "refund" yes, "get" no
