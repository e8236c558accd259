"""Scripts whose words carry marks (Devanagari's vowel signs, Thai's vowels and tones) and Thai, written
without spaces between words: read whole, segmented, indexed so, and an older index said to need a reload."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.kb.analysis import (
    analyzer,
    query_terms,
    query_words,
    spelled_acronym,
    thai_trigrams,
    thai_words,
    width_folded,
)
from bot.kb.embedded import WORDS_META, _Snapshot, write_index
from tests.fakes import make_chunk
from tests.kb.conftest import (
    first_heading,
    index_snapshot,
    language_chunks,
    make_settings,
    outdated_without_meta,
)

_SECTIONS = [
    ("hi", "upi.md", "UPI पिन रीसेट करें", "अपना UPI पिन बदलने के लिए डेबिट कार्ड का विवरण डालें।"),
    ("hi", "card.md", "कार्ड ब्लॉक करें", "खोया हुआ कार्ड ऐप में तुरंत ब्लॉक करें।"),
    ("hi", "charges.txt", "ATM शुल्क", "हर महीने 5 ATM ट्रांज़ैक्शन मुफ़्त हैं, उसके बाद ₹21 लगते हैं।"),
    ("th", "pin.md", "ลืมรหัส PIN", "หากลืมรหัสผ่านให้กดลืมรหัสที่หน้าเข้าสู่ระบบ แล้วยืนยันด้วย OTP"),
    ("th", "refund.md", "การคืนเงิน", "เงินคืนจะเข้ากระเป๋าเงินภายในสามวันทำการ"),
]
CHUNKS = language_chunks(_SECTIONS)


def _index(tmp_path: Path) -> _Snapshot:
    return index_snapshot(tmp_path, CHUNKS)


@pytest.mark.parametrize(
    ("lang", "text", "words"),
    [
        # Each vowel sign and virama is part of its word: "पासवर्ड" was "प", "सवर" and "ड" (and "मैं", "अपना",
        # "कैसे" are stop words).
        ("hi", "मैं अपना पासवर्ड कैसे बदलूं", ["पासवर्ड", "बदलूं"]),
        ("ta", "கடவுச்சொல்லை மாற்றுவது எப்படி", ["கடவுச்சொல்லை", "மாற்றுவது", "எப்படி"]),
        ("und", "ຂ້ອຍລືມ", ["ຂ້ອຍລືມ"]),  # Lao: one run (no segmenter), not cut at its marks
    ],
)
def test_a_word_keeps_the_marks_written_on_its_letters(lang: str, text: str, words: list[str]) -> None:
    assert analyzer(lang).words(text) == words


def test_thai_is_cut_into_words_and_indexed_as_its_trigrams() -> None:
    assert thai_words("ลืมรหัสผ่าน") == ("ลืม", "รหัสผ่าน")
    # Its words (for the gate, the vocabulary, the support check) in any analysis language, as CJK runs are
    # read; "ไม่", "ได้", "ครับ" are stop words.
    for lang in ("th", "und", "en"):
        assert analyzer(lang).words("ลืมรหัสผ่านเข้าระบบไม่ได้ครับ") == ["ลืม", "รหัสผ่าน", "เข้า", "ระบบ"]
    # Its index terms are its trigrams, marks counted, in any analysis language, none stemmed or unaccented.
    assert thai_trigrams("ลืมรหัส") == ["ลืม", "ืมร", "มรห", "รหั", "หัส"]
    assert thai_trigrams("ไป") == ["ไป"]
    for lang in ("th", "es", "en"):
        assert analyzer(lang).terms("ลืมรหัส") == thai_trigrams("ลืมรหัส")
    # A Latin word beside Thai letters is a word of its own; Elasticsearch is given each Thai run as typed.
    assert query_terms("รหัสOTPไม่มา", ["th"]) == ["รหั", "หัส", "otp", *thai_trigrams("ไม่มา")]
    assert query_words("รหัสOTPไม่มา", ["th"]) == ["รหัส", "otp", "ไม่มา"]


@pytest.mark.parametrize(
    ("question", "lang", "heading"),
    [
        ("UPI पिन भूल गया, नया कैसे बनाऊं?", "hi", "UPI पिन रीसेट करें"),
        ("मेरा कार्ड खो गया", "hi", "कार्ड ब्लॉक करें"),
        # An acronym spelled in Devanagari finds it written in Latin letters.
        ("दूसरे बैंक के एटीएम से पैसे निकालूँ तो कितना कटेगा?", "hi", "ATM शुल्क"),
        ("ลืมรหัสผ่านครับ", "th", "ลืมรหัส PIN"),
        ("เงินคืนเข้าเมื่อไหร่คะ", "th", "การคืนเงิน"),
    ],
)
def test_questions_in_hindi_and_thai_find_their_passage(
    tmp_path: Path, question: str, lang: str, heading: str
) -> None:
    assert first_heading(tmp_path, CHUNKS, question, lang) == heading


def test_an_index_written_before_words_kept_their_marks_warns_until_reloaded(tmp_path: Path) -> None:
    path = _index(tmp_path).path
    outdated = outdated_without_meta(path, WORDS_META)
    assert outdated is not None
    assert "kb reload" in outdated
    # An older index of Latin text alone reads as it did: nothing to reload.
    latin = tmp_path / "latin.sqlite"
    chunk = replace(make_chunk("a.md", "Refunds", "Refunds take three days.", 0), lang="en")
    write_index(latin, [chunk], np.ones((1, 3), dtype=np.float32), {"dim": "3"})
    assert outdated_without_meta(latin, WORDS_META) is None


@pytest.mark.parametrize("question", ["ลืมรหัสผ่าน", "密码忘了"])
async def test_a_search_loads_the_segmenter_its_question_needs_in_a_thread_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, question: str
) -> None:
    # The gate reads the question's words on the event loop: the dictionary's first load (1–2 s) must
    # already be done, off the loop, before the search's deadline starts.
    from bot.kb import analysis, embedded
    from bot.kb.embedded import EmbeddedKB
    from tests.fakes import FakeEmbedder

    loaded_in: list[int] = []

    def spy(text: str) -> None:
        loaded_in.append(threading.get_ident())
        analysis.load_segmenters(text)

    monkeypatch.setattr(analysis, "_SEGMENTERS_LOADED", set())
    monkeypatch.setattr(embedded, "load_segmenters", spy)
    settings = make_settings(tmp_path)
    kb = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder())
    assert analysis.segmenters_needed(question)
    await kb.prepare_search(question)
    assert loaded_in
    assert loaded_in[0] != threading.get_ident()
    assert not analysis.segmenters_needed(question)
    await kb.prepare_search(question)
    assert len(loaded_in) == 1, "once per process"
    assert not analysis.segmenters_needed("how do I reset my password")


@pytest.mark.parametrize(
    ("word", "acronym"),
    [
        ("एटीएम", "atm"),
        ("केवाईसी", "kyc"),
        ("यूपीआई", "upi"),
        ("डब्ल्यूएचओ", "who"),
        ("ज़ेडपी", "zp"),
        ("पासवर्ड", None),  # a word, not letters
        ("के", None),  # one letter's name is a postposition as much
        ("बीमा", None),
        ("ATM", None),
    ],
)
def test_an_acronym_spelled_in_devanagari_is_read_in_latin_letters(word: str, acronym: str | None) -> None:
    assert spelled_acronym(word) == acronym


_HINDI_SECTIONS = [
    ("पासवर्ड बदलें", "ऐप में सेटिंग खोलें और पासवर्ड बदलें पर टैप करें।"),
    ("पता बदलें", "नया पता प्रोफ़ाइल में डालें।"),
    ("कार्ड ब्लॉक करें", "खोया हुआ कार्ड ऐप में तुरंत ब्लॉक करें।"),
    ("रिफंड", "रिफंड सात दिनों में आपके खाते में आ जाएगा।"),
    ("यूपीआई पिन", "यूपीआई पिन बदलने के लिए डेबिट कार्ड का विवरण डालें।"),
    ("लेनदेन विफल", "विफल लेनदेन की राशि तीन दिनों में वापस आती है।"),
    ("खाता बंद करें", "खाता बंद करने के लिए सहायता टीम से संपर्क करें।"),
    ("मोबाइल नंबर बदलें", "नया मोबाइल नंबर जोड़ने के लिए ओटीपी से पुष्टि करें।"),
    ("ईमेल अपडेट", "प्रोफ़ाइल में जाकर ईमेल पता अपडेट करें।"),
    ("शुल्क", "हर महीने कोई रखरखाव शुल्क नहीं लिया जाता।"),
    ("पैसे भेजें", "पैसे भेजने के लिए पिन डालें।"),
    ("डेबिट कार्ड", "डेबिट कार्ड पाने के लिए पता डालें।"),
    ("पेमेंट", "पेमेंट पूरा होने पर रसीद मिलेगी।"),
    ("डाउनलोड", "ऐप डाउनलोड करें।"),
]


def test_a_marked_words_frequency_is_its_own_not_its_commonest_letters(tmp_path: Path) -> None:
    # FTS5's unicode61 split "पासवर्ड" at its marks into "प", "सवर", "ड": its frequency read as its commonest
    # piece's, it was left out as too common, and "पता बदलें" (change address) came first.
    chunks = [replace(make_chunk(f"h{i}.md", h, t, i), lang="hi") for i, (h, t) in enumerate(_HINDI_SECTIONS)]
    path = tmp_path / "kb-test.sqlite"
    write_index(path, chunks, np.ones((len(chunks), 3), dtype=np.float32), {"dim": "3"})
    snapshot = _Snapshot(path)
    try:
        assert snapshot.document_frequency("पासवर्ड") == 1
        assert snapshot.document_frequency("ผ่า") == 0
        rows = snapshot.bm25("मेरा पासवर्ड कैसे बदलें", 3, "hi")
        assert snapshot.chunks[rows[0][0]].heading == "पासवर्ड बदलें"
    finally:
        snapshot.retire()


def test_a_long_thai_question_is_searched_to_its_end() -> None:
    # Its trigrams (one per character) once filled the 64 terms a question is searched by.
    question = (
        "สวัสดีค่ะ รบกวนสอบถามหน่อยนะคะ พอดีเมื่อวานโอนเงินผ่านแอปไปแล้วแต่ปลายทางยังไม่ได้รับเงินเลยค่ะ "
        "ต้องทำอย่างไรคะ ขอเลขอ้างอิงรายการได้ที่ไหน"
    )
    assert "อ้า" in query_terms(question, ["th", "en"])
    assert query_words(question, ["th", "en"])[-1] == "ขอเลขอ้างอิงรายการได้ที่ไหน"


def test_thai_am_stays_one_letter_through_width_folding() -> None:
    # NFKC writes "ำ" as "ํ" and "า", which no dictionary word holds: "ทำไม" was cut otherwise, no stop word.
    assert width_folded("ทำไม") == "ทำไม"
    assert analyzer("th").words("ทำไมโอนเงินไม่ได้") == ["โอน", "เงิน"]
    assert thai_words("ก" * 5000)  # a long run is segmented, not cached


@pytest.mark.parametrize("lang", ["fr", "es", "en", "hi", "th"])
def test_a_mark_with_no_letter_before_it_is_no_term(lang: str) -> None:
    assert "" not in query_terms("a \u0301 b", [lang])
    assert "" not in analyzer(lang).terms("\u0301\u0301 x")
