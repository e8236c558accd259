"""Fusion of the BM25 and dense lists: convex score fusion (the default) and RRF, shared by both backends."""

from __future__ import annotations

import pytest

from bot.domain import Chunk
from bot.kb.fusion import (
    DENSE_WEIGHT,
    FUSION_METHODS,
    RRF_K,
    FusionMethod,
    convex,
    fuse_hits,
    rrf,
)
from tests.fakes import make_chunk


def test_convex_combines_scores_normalised_by_each_lists_best() -> None:
    fused = convex([("a", 8.0), ("b", 4.0)], [("b", 0.8), ("c", 0.4)], dense_weight=0.6)
    scores = {f.key: f.score for f in fused}
    assert scores["b"] == pytest.approx(0.6 * 1.0 + 0.4 * 0.5)
    assert scores["a"] == pytest.approx(0.4 * 1.0)  # not in the dense list, no cosine known: 0 there
    assert scores["c"] == pytest.approx(0.6 * 0.5)  # not in the BM25 list: BM25's floor, 0
    assert [f.key for f in fused] == ["b", "a", "c"]
    b = fused[0]
    assert (b.bm25_rank, b.dense_rank, b.bm25_score, b.dense_score) == (2, 1, 4.0, 0.8)
    assert (fused[1].dense_rank, fused[1].dense_score) == (None, None)


def test_convex_keeps_the_score_gaps_rrf_throws_away() -> None:
    # BM25 barely separates the three; the dense side clearly prefers "a". RRF only sees that "b" is
    # first in BM25 and second in dense, and ranks it first; the scores say "a".
    bm25 = [("b", 10.0), ("c", 9.95), ("a", 9.9)]
    dense = [("a", 0.9), ("b", 0.3)]
    assert rrf(bm25, dense)[0].key == "b"
    assert convex(bm25, dense)[0].key == "a"


def test_convex_uses_known_cosines_and_clamps_negative_ones() -> None:
    bm25 = [("x", 5.0), ("y", 5.0)]
    dense = [("d", 0.5)]
    fused = convex(bm25, dense, dense_weight=0.5, cosine={"x": 0.25, "y": -0.7})
    scores = {f.key: f.score for f in fused}
    assert scores["x"] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    assert scores["y"] == pytest.approx(0.5 * 1.0)  # a negative cosine is no evidence, never a penalty
    assert scores["d"] == pytest.approx(0.5 * 1.0)
    assert [f.key for f in fused] == ["x", "d", "y"]  # equal scores: dense list first, then BM25


def test_convex_weights_limits_and_degenerate_lists() -> None:
    bm25 = [("a", 3.0), ("b", 1.0)]
    dense = [("b", 0.9), ("a", 0.1)]
    assert [f.key for f in convex(bm25, dense, dense_weight=0.0)] == ["a", "b"]  # BM25 alone
    assert [f.key for f in convex(bm25, dense, dense_weight=1.0)] == ["b", "a"]  # dense alone
    assert len(convex(bm25, dense, limit=1)) == 1
    assert convex([], []) == []
    only_bm25 = convex(bm25, [])
    assert [f.key for f in only_bm25] == ["a", "b"]
    assert only_bm25[0].score == pytest.approx(1 - DENSE_WEIGHT)
    # nothing similar at all: the dense side adds nothing instead of dividing by a non-positive best
    assert [f.score for f in convex([], [("a", -0.2), ("b", -0.5)])] == [0.0, 0.0]
    assert convex([("a", 2.0), ("a", 1.0)], [])[0].bm25_score == 2.0  # duplicates: first one counts
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dense_weight"):
            convex(bm25, dense, dense_weight=bad)


def test_rrf_still_available_and_unchanged() -> None:
    fused = rrf([("a", 9.0), ("b", 5.0)], [("b", 0.9), ("c", 0.8)])
    assert [f.key for f in fused] == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert fused[2].score == pytest.approx(1 / (RRF_K + 2))


def _section_chunks() -> list[Chunk]:
    return [
        make_chunk("a.md", "A", "A long answer, first part", position=0),
        make_chunk("a.md", "A", "A long answer, second part", position=1),
        make_chunk("b.md", "B", "Another section"),
        make_chunk("c.md", "C", "A third section"),
    ]


@pytest.mark.parametrize("fusion", FUSION_METHODS)
def test_fuse_hits_fuses_sections_with_either_method(fusion: FusionMethod) -> None:
    chunks = _section_chunks()
    bm25 = [(3, 6.0), (1, 5.0)]  # already collapsed: one chunk per section
    dense = [(0, 0.7), (2, 0.6)]
    hits = fuse_hits(chunks, bm25, dense, 3, "hybrid", cosine={3: 0.1, 1: 0.65}, fusion=fusion)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    top = hits[0]
    # section A is found by both; it is represented by the chunk dense retrieval preferred
    assert (top.chunk.source, top.chunk.position) == ("a.md", 0)
    assert (top.bm25_rank, top.dense_rank, top.bm25_score, top.dense_score) == (2, 1, 5.0, 0.7)
    by_source = {h.chunk.source: h for h in hits}
    assert by_source["c.md"].dense_score == pytest.approx(0.1)  # known cosine carried by a BM25-only hit
    if fusion == "convex":
        assert top.score == pytest.approx(DENSE_WEIGHT * 1.0 + (1 - DENSE_WEIGHT) * 5.0 / 6.0)
        assert by_source["c.md"].score == pytest.approx(DENSE_WEIGHT * 0.1 / 0.7 + (1 - DENSE_WEIGHT))
    else:
        assert top.score == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))


def test_fuse_hits_single_modes_ignore_the_fusion_and_bad_fusion_is_refused() -> None:
    chunks = _section_chunks()
    bm25, dense = [(3, 6.0), (1, 5.0)], [(0, 0.7), (2, 0.6)]
    for fusion in FUSION_METHODS:
        assert [h.chunk.source for h in fuse_hits(chunks, bm25, dense, 5, "bm25", fusion=fusion)] == [
            "c.md",
            "a.md",
        ]
        dense_hits = fuse_hits(chunks, bm25, dense, 1, "dense", fusion=fusion)
        assert [(h.chunk.source, h.score) for h in dense_hits] == [("a.md", 0.7)]
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse_hits(chunks, bm25, dense, 5, "hybrid", fusion="sum")  # type: ignore[arg-type]


def _article(source: str, *paths: tuple[str, ...]) -> list[Chunk]:
    return [
        Chunk(
            id=f"{source}#{i}",
            source=source,
            heading=path[-1] if path else "",
            heading_path=path,
            position=i,
            text=f"text {i}",
            content_hash=f"{source}{i}",
        )
        for i, path in enumerate(paths)
    ]


def test_an_article_introduction_follows_its_own_section_it_outranked() -> None:
    # Found in trials: "怎么退货" and "quiero devolver una mesa, cuantos dias tengo?" quoted the returns
    # article's introduction ("…按下面的规则申请退货退款。", "Te explicamos cómo.") above its sections.
    returns = ("Returns",)
    chunks = [
        *_article("returns.md", returns, (*returns, "How to return"), (*returns, "Refund times")),
        *_article("faq.md", ("FAQ", "Shipping costs")),
    ]
    dense = [(0, 0.8), (3, 0.6), (1, 0.5), (2, 0.4)]
    hits = fuse_hits(chunks, [], dense, 3, "hybrid")
    assert [h.chunk.heading_path for h in hits] == [
        (*returns, "How to return"),
        returns,
        ("FAQ", "Shipping costs"),
    ]
    # The section takes the introduction's place and score, so scores still fall.
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].score == hits[1].score
    assert hits[0].dense_score == 0.5


def test_only_an_introduction_gives_way_and_only_to_a_near_section_of_its_own() -> None:
    chapter, section = ("Chapter 3",), ("Chapter 3", "3.1 Boot")
    chunks = [
        *_article("ch03.html", chapter, section, (*section, "3.1.1 BIOS")),
        *_article("other.md", *[("Other", f"S{i}") for i in range(6)]),
    ]
    # A numbered section above its subsection is an answer of its own: it stays first.
    assert fuse_hits(chunks, [], [(1, 0.9), (2, 0.8)], 2, "hybrid")[0].chunk.heading_path == section
    # An introduction's section further down than INTRODUCTION_WINDOW hits does not move up.
    far = [(0, 0.9), *((3 + i, 0.8 - i / 100) for i in range(6)), (1, 0.5)]
    assert fuse_hits(chunks, [], far, 3, "hybrid")[0].chunk.heading_path == chapter
    # Another article's section does not take an introduction's place.
    assert fuse_hits(chunks, [], [(0, 0.9), (3, 0.8)], 2, "hybrid")[0].chunk.heading_path == chapter


def test_a_section_is_shown_by_the_chunk_the_heavier_side_preferred() -> None:
    # Japanese with the English MiniLM (dense weight 0.39): its pick among a section's chunks was about
    # random, and 「会員ランクってなに？」 was refused on a points chunk of the section BM25 found by
    # its table.
    points = make_chunk("points.md", "Ranks", "Points are added 14 days after shipping.", 0)
    table = make_chunk("points.md", "Ranks", "| Rank | Rate |\n| Gold | 3% |", 1)
    chunks = [points, table]
    bm25, dense = [(1, 9.0)], [(0, 0.5), (1, 0.4)]
    weak = fuse_hits(chunks, bm25, dense, 5, "hybrid", dense_weight=0.39)
    assert [hit.chunk for hit in weak] == [table]
    strong = fuse_hits(chunks, bm25, dense, 5, "hybrid", dense_weight=0.7)
    assert [hit.chunk for hit in strong] == [points]
    assert [hit.chunk for hit in fuse_hits(chunks, bm25, dense, 5, "hybrid", fusion="rrf")] == [points]
