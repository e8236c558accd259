"""Vietnamese keyword search: tones kept apart, found typed without them, pairs of words, chat words."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bot.domain import Chunk
from bot.kb.analysis import analyzer, indexed_text, query_terms, query_words, toned_term, toneless_term
from bot.kb.embedded import TONED_META, _Snapshot, write_index
from tests.kb.fake_es import analyze


def test_a_words_marks_are_kept_and_left_off_as_customers_type_it() -> None:
    assert toned_term("gói") == "goi1"
    assert toned_term("gọi") == "goi5"
    assert toned_term("được") == "d9u7o7c5"
    # Both tone placements in use ("khoá", "khóa"; "huỷ", "hủy") are one word.
    assert toned_term("khoá") == toned_term("khóa") == "khoa1"
    assert toned_term("huỷ") == toned_term("hủy")
    assert toneless_term("được") == "duoc"
    assert toneless_term("đăng ký") == "dang ky"


def test_vietnamese_is_indexed_with_and_without_its_marks_and_by_pairs_of_words() -> None:
    vi = analyzer("vi")
    assert vi.name == "vi-toned"
    assert vi.text("Gói cước SEN70, gọi điện") == (
        "goi1 goi cu7o7c1 cuoc goicuoc sen70 goi5 goi d9ie6n5 dien goidien"
    )
    # gói (package) and gọi (call) are two terms, where FTS5's remove_diacritics read one.
    assert "goi1" in vi.text("gói cước").split()
    assert "goi1" not in vi.text("gọi điện").split()


def test_a_question_is_searched_with_the_marks_it_was_typed_with() -> None:
    assert query_terms("gói cước", ["vi"]) == ["goi1", "cu7o7c1", "goicuoc"]
    assert query_terms("goi cuoc", ["vi"]) == ["goi", "cuoc", "goicuoc"]
    # Particles out, chat abbreviations as the words they stand for.
    assert query_terms("sdt minh dang xai goi gi vay", ["vi"]) == [
        "so61",
        "d9ie6n5",
        "sodien",
        "thoai5",
        "dienthoai",
        "minh",
        "thoaiminh",
        "dang",
        "minhdang",
        "xai",
        "dangxai",
        "goi",
        "xaigoi",
    ]
    # Elasticsearch is given the same terms, which its `standard` analyzer keeps whole.
    assert query_words("nạp tiền", ["vi"]) == ["nap5", "tie6n2", "naptien"]
    assert analyze(indexed_text("Nạp tiền", "vi"), "standard") == ["nap5", "nap", "tie6n2", "tien", "naptien"]
    # An index written before is searched as it was (FTS5 drops the marks of the words as typed).
    assert query_terms("nạp tiền", ["vi"], toned=False) == ["nạp", "tiền"]
    # Other languages are analysed as before.
    assert query_terms("gói cước", ["en"]) == ["gói", "cước"]


def _chunk(i: int, heading: str, text: str) -> Chunk:
    return Chunk(
        id=f"faq.md#{i}",
        source="faq.md",
        heading=heading,
        heading_path=(heading,),
        position=i,
        text=text,
        content_hash=str(i),
        url="",
        lang="vi",
    )


CHUNKS = [
    _chunk(0, "Gói cước data", "Đăng ký gói cước data 4G: soạn DK tên gói gửi 191."),
    _chunk(1, "Cước gọi nội mạng", "Gọi nội mạng miễn phí 10 phút đầu, sau đó tính cước theo phút."),
    _chunk(2, "Nạp tiền", "Nạp tiền bằng thẻ cào hoặc qua ví điện tử."),
    _chunk(3, "Khoá SIM khi bị mất", "Gọi tổng đài để khoá SIM ngay khi mất điện thoại."),
]


def _index(tmp_path: Path, chunks: list[Chunk]) -> _Snapshot:
    path = tmp_path / "kb-test.sqlite"
    write_index(path, chunks, np.ones((len(chunks), 3), dtype=np.float32), {"dim": "3"})
    return _Snapshot(path)


def _first(snapshot: _Snapshot, question: str) -> str:
    rows = snapshot.bm25(question, 5, "vi")
    assert rows, question
    return snapshot.chunks[rows[0][0]].heading


def test_an_unaccented_question_finds_the_accented_passage_and_tones_keep_words_apart(tmp_path: Path) -> None:
    snapshot = _index(tmp_path, CHUNKS)
    try:
        assert snapshot.toned
        assert _first(snapshot, "gói cước") == "Gói cước data"
        assert _first(snapshot, "goi cuoc") == "Gói cước data"
        # đ is d: "dang ky" finds "Đăng ký".
        assert _first(snapshot, "dang ky goi data sao vay") == "Gói cước data"
        assert _first(snapshot, "gọi nội mạng") == "Cước gọi nội mạng"
        assert _first(snapshot, "nap tien bang the cao") == "Nạp tiền"
        # "khóa" finds "Khoá": the tone's place on the vowels does not matter.
        assert _first(snapshot, "khóa sim") == "Khoá SIM khi bị mất"
        # gói (package) finds no passage that only calls (gọi).
        rows = snapshot.bm25("gói", 5, "vi")
        assert {snapshot.chunks[row].heading for row, _ in rows} == {"Gói cước data"}
    finally:
        snapshot.retire()


def test_an_index_written_before_tones_were_kept_is_searched_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.kb.embedded as embedded

    # As an index from before: its rows hold the words as written (FTS5 drops their marks), and it records
    # no toned terms.
    with monkeypatch.context() as patch:
        patch.setattr(embedded, "analyzer", lambda lang: analyzer("und"))
        snapshot = _index(tmp_path, CHUNKS)
    path = snapshot.path
    snapshot.retire()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (TONED_META,))
    old = _Snapshot(path)
    try:
        assert not old.toned
        assert _first(old, "nạp tiền") == "Nạp tiền"
        assert _first(old, "gói cước") == "Gói cước data"
    finally:
        old.retire()
