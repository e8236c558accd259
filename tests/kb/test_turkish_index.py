"""A Turkish help center's index: written as questions are read, and an older one said to need a reload."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.kb.analysis import analyzer
from bot.kb.embedded import TURKISH_META, _Snapshot, write_index
from tests.fakes import make_chunk
from tests.kb.conftest import outdated_without_meta

CHUNKS = [
    replace(make_chunk("odeme.md", "Kapıda ödeme", "Kapıda ödeme nakit veya kartla yapılır.", 0), lang="tr"),
    replace(make_chunk("api.md", "API anahtarı", "API anahtarınızı Ayarlar sayfasından alın.", 1), lang="tr"),
]


def _index(tmp_path: Path) -> _Snapshot:
    path = tmp_path / "kb-test.sqlite"
    write_index(path, CHUNKS, np.ones((len(CHUNKS), 3), dtype=np.float32), {"dim": "3"})
    return _Snapshot(path)


def test_turkish_questions_in_any_case_and_without_turkish_letters_find_their_passage(tmp_path: Path) -> None:
    snapshot = _index(tmp_path)
    try:
        assert snapshot.outdated is None
        for question, heading in [
            ("kapida odeme var mi", "Kapıda ödeme"),
            ("KAPIDA ÖDEME VAR MI", "Kapıda ödeme"),
            # "API" in capitals is an acronym, not "apı" (which Snowball cut to "ap").
            ("api anahtarı nereden alınır", "API anahtarı"),
        ]:
            rows = snapshot.bm25(question, 5, "tr")
            assert rows, question
            assert snapshot.chunks[rows[0][0]].heading == heading, question
    finally:
        snapshot.retire()
    assert analyzer("tr").terms("API") == analyzer("tr").terms("api")


def test_an_index_written_before_turkish_was_folded_warns_until_reloaded(tmp_path: Path) -> None:
    outdated = outdated_without_meta(_index(tmp_path).path, TURKISH_META)
    assert outdated is not None
    assert "kb reload" in outdated
