"""One contract for every backend: embedded always, Elasticsearch via a fake at the HTTP boundary, and a real
cluster when BOT_ELASTICSEARCH__URL is set."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bot.domain import Hit
from bot.kb.base import KBUnavailableError, ReloadError, SearchMode, VectorSearchKB
from bot.kb.elastic import ElasticKB
from bot.kb.embedded import EmbeddedKB
from bot.kb.fusion import DENSE_WEIGHT, FUSION_METHODS, FusionMethod
from tests.fakes import FakeEmbedder
from tests.kb.conftest import KBFactory, write_corpus

MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")
HOSTILE_QUERIES = (
    '"',
    '""unbalanced',
    "AND OR NOT",
    "customs* NEAR(parcel abroad)",
    "heading:customs OR text:parcel",
    "\\ / : ^ ( ) { } [ ] ~ ! - +",
    "-customs +declaration",
    "SELECT * FROM chunks; --",
    "😀 مرحبا עברית 中文 customs",
    "customs " * 400,
    "\x00\x01 customs",
)


class FailingEmbedder(FakeEmbedder):
    """Embeds queries, but fails once a reload asks for more than `fail_after` texts in total."""

    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.fail_after = fail_after
        self.seen = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if len(texts) > 1:
            self.seen += len(texts)
            if self.seen > self.fail_after:
                raise RuntimeError("embedder crashed")
        return super().embed(texts)


def _find(hits: Sequence[Hit], heading: str) -> int | None:
    return next((h.rank for h in hits if h.chunk.heading == heading), None)


async def test_reload_reports_files_chunks_and_skips(kb_factory: KBFactory, corpus: Path) -> None:
    kb = kb_factory(FakeEmbedder())
    report = await kb.reload(corpus)
    assert report.files == 5
    assert report.chunks >= 8
    assert report.index
    assert [s.path for s in report.skipped] == ["broken.md"]
    assert "ZIP archive" in report.skipped[0].reason
    stats = await kb.stats()
    assert stats.chunks == report.chunks
    assert stats.documents == 5
    assert stats.index == report.index
    await kb.ping()


@pytest.mark.parametrize("mode", MODES)
async def test_search_finds_the_right_section_in_every_mode(
    kb_factory: KBFactory, corpus: Path, mode: SearchMode
) -> None:
    kb = kb_factory(FakeEmbedder())
    await kb.reload(corpus)
    hits = await kb.search("customs declaration for international parcels abroad", k=3, mode=mode)
    assert hits, mode
    top = hits[0].chunk
    assert top.heading == "Sending a parcel abroad"
    assert top.source == "guide/shipping.md"
    assert top.heading_path == ("Shipping guide", "Sending a parcel abroad")
    assert "customs declaration" in top.text
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({(h.chunk.source, h.chunk.heading_path) for h in hits}) == len(hits), "one chunk per section"
    if mode != "bm25":
        assert hits[0].dense_score is not None
        assert 0.0 < hits[0].dense_score <= 1.0001


async def test_each_format_is_searchable_by_its_heading(kb_factory: KBFactory, corpus: Path) -> None:
    kb = kb_factory(FakeEmbedder())
    await kb.reload(corpus)
    cases = {
        "reset my password link": ("faq.csv", "How do I reset my password?"),
        "how many requests per minute before 429": ("api.rst", "Rate limits"),
        "support opening hours on saturday": ("help.html", "Opening hours"),
        "locker door does not open green help button": ("notes.txt", "Locker troubleshooting"),
    }
    for query, (source, heading) in cases.items():
        hits = await kb.search(query, k=3)
        assert hits, query
        assert (hits[0].chunk.source, hits[0].chunk.heading) == (source, heading), query


@pytest.mark.parametrize("fusion", FUSION_METHODS)
async def test_hybrid_fuses_both_retrievers(
    kb_factory: KBFactory, corpus: Path, fusion: FusionMethod
) -> None:
    kb = kb_factory(FakeEmbedder())
    assert isinstance(kb, EmbeddedKB | ElasticKB)
    kb.fusion = fusion
    await kb.reload(corpus)
    hits = await kb.search("maximum weight kilograms", k=5, mode="hybrid")
    top = hits[0]
    assert top.chunk.heading == "Parcel size limits"
    assert top.bm25_rank is not None
    assert top.dense_rank is not None
    best_bm25 = max(h.bm25_score for h in hits if h.bm25_score is not None)
    best_cos = max(h.dense_score for h in hits if h.dense_rank is not None and h.dense_score is not None)

    def fused(hit: Hit) -> float:
        if fusion == "rrf":
            return sum(1 / (60 + r) for r in (hit.bm25_rank, hit.dense_rank) if r is not None)
        cos = max(0.0, hit.dense_score or 0.0) / best_cos
        return DENSE_WEIGHT * cos + (1 - DENSE_WEIGHT) * (hit.bm25_score or 0.0) / best_bm25

    for hit, after in zip(hits, [*hits[1:], None], strict=True):
        # A section that took its article introduction's place has that introduction's score, and the
        # introduction follows it (`bot.kb.fusion.sections_before_introductions`).
        took_place = (
            after is not None
            and after.chunk.source == hit.chunk.source
            and len(after.chunk.heading_path) <= 1
            and hit.score == pytest.approx(fused(after))
        )
        assert hit.score == pytest.approx(fused(hit)) or took_place


@pytest.mark.parametrize("mode", MODES)
async def test_search_vector_matches_search_in_every_backend(
    kb_factory: KBFactory, corpus: Path, mode: SearchMode
) -> None:
    embedder = FakeEmbedder()
    made = kb_factory(embedder)
    assert isinstance(made, EmbeddedKB | ElasticKB)
    kb: VectorSearchKB = made  # both backends satisfy the protocol (checked by mypy)
    await kb.reload(corpus)
    query = "customs declaration for international parcels abroad"
    vector = embedder.embed_queries([query])[0] if mode != "bm25" else None
    pending = kb.search_vector(query, vector, 3, mode)
    assert asyncio.iscoroutine(pending), "search_vector is async in every backend"
    by_vector = await pending
    assert [(h.chunk.id, h.rank) for h in by_vector] == [
        (h.chunk.id, h.rank) for h in await kb.search(query, k=3, mode=mode)
    ]
    if mode != "bm25":
        with pytest.raises(ValueError, match="needs the query vector"):
            await kb.search_vector(query, None, 3, mode)
    with pytest.raises(ValueError, match="unknown search mode"):
        await kb.search_vector(query, vector, 3, "fuzzy")  # type: ignore[arg-type]


async def test_k_and_empty_queries(kb_factory: KBFactory, corpus: Path) -> None:
    kb = kb_factory(FakeEmbedder())
    await kb.reload(corpus)
    assert len(await kb.search("parcel", k=2)) <= 2
    assert await kb.search("", k=5) == []
    assert await kb.search("   ", k=5) == []
    assert await kb.search("the and of", k=5, mode="bm25") == []


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
async def test_query_syntax_in_user_text_is_never_parsed(
    kb_factory: KBFactory, corpus: Path, query: str
) -> None:
    kb = kb_factory(FakeEmbedder())
    await kb.reload(corpus)
    for mode in MODES:
        hits = await kb.search(query, k=3, mode=mode)
        assert isinstance(hits, list)
        if "customs" in query and mode == "bm25":
            assert hits
            assert hits[0].chunk.heading == "Sending a parcel abroad"


async def test_search_before_any_reload_is_unavailable(kb_factory: KBFactory) -> None:
    kb = kb_factory(FakeEmbedder())
    with pytest.raises(KBUnavailableError):
        await kb.search("parcel")
    with pytest.raises(KBUnavailableError):
        await kb.ping()


async def test_indexed_sources_are_the_documents_of_the_serving_index(
    kb_factory: KBFactory, corpus: Path
) -> None:
    """What an approved answer may cite: the reload's documents, not a file it skipped, nor one put in the
    folder after it; nothing before the first reload."""
    kb = kb_factory(FakeEmbedder())
    with pytest.raises(KBUnavailableError):
        await kb.indexed_sources()
    await kb.reload(corpus)
    expected = {"guide/shipping.md", "api.rst", "help.html", "faq.csv", "notes.txt"}
    (corpus / "later.md").write_text("# Later\n\nAdded after the reload.\n", encoding="utf-8")
    assert await kb.indexed_sources() == expected  # broken.md skipped, later.md not reloaded yet
    await kb.reload(corpus)
    assert await kb.indexed_sources() == expected | {"later.md"}


async def test_indexed_sources_pages_past_one_request(
    kb_factory: KBFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Elasticsearch lists the documents in pages (a composite aggregation): none is lost between pages."""
    import bot.kb.elastic

    monkeypatch.setattr(bot.kb.elastic, "SOURCES_PAGE", 3)
    folder = tmp_path / "many"
    folder.mkdir()
    names = {f"topic-{i:02d}.md" for i in range(7)}
    for name in names:
        (folder / name).write_text(f"# {name}\n\nText about {name}.\n", encoding="utf-8")
    kb = kb_factory(FakeEmbedder())
    await kb.reload(folder)
    assert await kb.indexed_sources() == names


async def test_outline_lists_a_documents_sections_in_order_once_each(
    kb_factory: KBFactory, tmp_path: Path
) -> None:
    """What an article's opening offers when it says nothing itself: each section once (a long one is cut into
    several chunks), in the document's order; nothing for a document the index does not hold."""
    folder = tmp_path / "outlined"
    folder.mkdir()
    long_body = " ".join(f"Sentence {i} about late parcels and what happens to them." for i in range(120))
    (folder / "refunds.md").write_text(
        "# Refunds\n\nThis article explains refunds.\n\n## Cancelling a label\n\nCancel it in the app.\n\n"
        f"## Late delivery\n\n{long_body}\n\n### Exceptions\n\nOutages.\n\n## Refund window\n\n30 days.\n",
        encoding="utf-8",
    )
    (folder / "other.md").write_text("# Other\n\nSomething else entirely.\n", encoding="utf-8")
    kb = kb_factory(FakeEmbedder())
    await kb.reload(folder)
    outline = await kb.outline("refunds.md")
    assert [c.heading_path for c in outline] == [
        ("Refunds",),
        ("Refunds", "Cancelling a label"),
        ("Refunds", "Late delivery"),
        ("Refunds", "Late delivery", "Exceptions"),
        ("Refunds", "Refund window"),
    ]
    assert {c.source for c in outline} == {"refunds.md"}
    assert (await kb.stats()).chunks > len(outline) + 1  # "Late delivery" is cut into several chunks
    assert [c.position for c in outline] == sorted(c.position for c in outline)
    assert await kb.outline("missing.md") == ()


async def test_empty_reload_keeps_the_old_kb(kb_factory: KBFactory, corpus: Path, tmp_path: Path) -> None:
    kb = kb_factory(FakeEmbedder())
    first = await kb.reload(corpus)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "junk.md").write_bytes(b"\x7fELF" + b"\x00" * 100)
    with pytest.raises(ReloadError, match="keeps serving"):
        await kb.reload(empty)
    with pytest.raises(ReloadError, match="does not exist"):
        await kb.reload(tmp_path / "missing")
    assert (await kb.stats()).index == first.index
    hits = await kb.search("customs declaration", k=1)
    assert hits[0].chunk.heading == "Sending a parcel abroad"


async def test_failure_midway_keeps_the_old_kb(kb_factory: KBFactory, corpus: Path) -> None:
    embedder = FailingEmbedder(fail_after=10_000)
    kb = kb_factory(embedder)
    first = await kb.reload(corpus)
    sections = "".join(f"## Topic {i}\n\nNew text number {i} about topic {i}.\n\n" for i in range(40))
    (corpus / "new.md").write_text("# New\n\n" + sections, encoding="utf-8")
    embedder.seen, embedder.fail_after = 0, 1
    with pytest.raises(ReloadError, match="embedding failed"):
        await kb.reload(corpus)
    assert (await kb.stats()).index == first.index
    assert (await kb.search("customs declaration", k=1))[0].chunk.heading == "Sending a parcel abroad"


async def test_reload_swaps_to_new_content_and_drops_the_old_index(
    kb_factory: KBFactory, corpus: Path, tmp_path: Path
) -> None:
    kb = kb_factory(FakeEmbedder())
    first = await kb.reload(corpus)
    changed = write_corpus(tmp_path / "v2", with_bad=False)
    (changed / "guide" / "shipping.md").unlink()
    (changed / "pets.md").write_text(
        "# Pets\n\n## Sending live animals\n\nLive animals are never accepted.\n"
    )
    second = await kb.reload(changed)
    assert second.index != first.index
    assert second.skipped == ()
    hits = await kb.search("live animals", k=3)
    assert hits[0].chunk.heading == "Sending live animals"
    assert all(
        h.chunk.source != "guide/shipping.md" for h in await kb.search("customs declaration abroad", k=5)
    )
    stats = await kb.stats()
    assert stats.index == second.index
    assert stats.documents == 5


async def test_searches_during_a_reload_never_fail(
    kb_factory: KBFactory, corpus: Path, tmp_path: Path
) -> None:
    kb = kb_factory(FakeEmbedder())
    await kb.reload(corpus)
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)

    async def searches() -> list[list[Hit]]:
        out = []
        for _ in range(15):
            out.append(await kb.search("customs declaration abroad", k=2))
            await asyncio.sleep(0)
        return out

    _, results = await asyncio.gather(kb.reload(copy), searches())
    assert all(r and r[0].chunk.heading == "Sending a parcel abroad" for r in results)


ZH_RETURNS_MD = """# 退货与退款

## 如何退回包裹

在订单页面点击"申请退货"，打印退货标签，然后把包裹交到任意快递柜。我们收到包裹后会检查商品。

## 退款需要多长时间

仓库收到退货后五个工作日内退款，钱会退回到原来的付款方式。信用卡退款可能还需要三天才能到账。
"""
FR_LOCKERS_MD = """# Consignes automatiques

## Ouvrir une consigne

Scannez le code QR reçu par courriel sur l'écran de la consigne. La porte s'ouvre automatiquement et
vous disposez de soixante secondes pour retirer votre colis.

## Colis non retiré

Les colis non retirés après sept jours sont renvoyés à l'expéditeur, qui est remboursé des frais.
"""


def write_multilingual(root: Path) -> Path:
    write_corpus(root, with_bad=False)
    (root / "zh").mkdir()
    (root / "zh" / "returns.md").write_text(ZH_RETURNS_MD, encoding="utf-8")
    (root / "fr").mkdir()
    (root / "fr" / "consignes.md").write_text(FR_LOCKERS_MD, encoding="utf-8")
    return root


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
async def test_a_chinese_and_a_french_document_are_searchable_in_their_language(
    kb_factory: KBFactory, tmp_path: Path, mode: SearchMode
) -> None:
    kb = kb_factory(FakeEmbedder())
    await kb.reload(write_multilingual(tmp_path / "multi"))
    stats = await kb.stats()
    assert "zh 2 chunks" in stats.extra["languages"]
    assert "fr 2 chunks" in stats.extra["languages"]
    assert stats.extra["languages"].startswith("en ")
    # No space in the question, words the document writes differently: bigrams still match.
    hits = await kb.search("退款要多久才能到账？", k=3, mode=mode)
    assert hits, mode
    assert (hits[0].chunk.source, hits[0].chunk.heading) == ("zh/returns.md", "退款需要多长时间")
    assert hits[0].chunk.lang == "zh"
    hits = await kb.search("怎么退回包裹", k=3, mode=mode)
    assert hits[0].chunk.heading == "如何退回包裹"
    # A customer writing Traditional Chinese finds the Simplified passages (both folded into Simplified).
    # None of these question's words is written the same in the passages' script.
    hits = await kb.search("怎樣申請退貨", k=3, mode=mode)
    assert hits, mode
    assert hits[0].chunk.heading == "如何退回包裹"
    hits = await kb.search("信用卡的錢幾天到賬？", k=3, mode=mode)
    assert hits[0].chunk.heading == "退款需要多长时间"
    # French: stemmed ("retirés" / "retiré"), stop words out, diacritics folded.
    hits = await kb.search("Que deviennent les colis qui ne sont pas retirés ?", k=3, mode=mode)
    assert (hits[0].chunk.source, hits[0].chunk.heading) == ("fr/consignes.md", "Colis non retiré")
    assert hits[0].chunk.lang == "fr"
    # The English documents answer English questions as before.
    hits = await kb.search("customs declaration for international parcels abroad", k=3, mode=mode)
    assert hits[0].chunk.heading == "Sending a parcel abroad"
    assert hits[0].chunk.lang == "en"
