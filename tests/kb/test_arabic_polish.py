"""Arabic and Polish help centers: Arabic folded and light-stemmed as Elasticsearch's `arabic` analyzer reads
it, Polish found whether its marks are typed or not, and an older index said to need a reload."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.arabic import SAME_MEANING, arabic_folded, arabic_pairs, arabic_stem
from bot.kb.analysis import analyzer, query_terms
from bot.kb.embedded import FOLDED_META, _Snapshot, write_index
from bot.kb.vocabulary import corrected, vocabulary_words
from bot.language import STOPWORDS
from bot.unicode import without_accents
from tests.fakes import make_chunk
from tests.kb.conftest import first_heading, index_snapshot, language_chunks, outdated_without_meta

_SECTIONS = [
    ("ar", "orders.md", "تأخر وصول الطلب", "إذا تأخّر وصول طلبك عن الموعد المتوقع، تواصل مع خدمة العملاء."),
    ("ar", "gift.md", "تفعيـل بطاقة الهدية", "أدخِل رمز البطاقة في صفحة المحفظة لتفعيلها."),
    ("ar", "refunds.md", "استرداد المبلغ", "يعود المبلغ إلى بطاقتك خلال ٥ أيام عمل."),
    ("ar", "returns.md", "سياسة الاسترجاع", "يمكنك استرجاع المنتج خلال ١٤ يوما من الاستلام."),
    ("pl", "sim.md", "Zgubienie karty SIM", "Zablokować kartę SIM możesz w aplikacji Moje Konto."),
    ("pl", "roaming.md", "Roaming w UE", "W krajach Unii Europejskiej płacisz jak w Polsce."),
]
CHUNKS = language_chunks(_SECTIONS)


def _index(tmp_path: Path) -> _Snapshot:
    return index_snapshot(tmp_path, CHUNKS)


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("إرجاع", "ارجاع"),  # the hamza under the alef left off
        ("الفاتورة", "الفاتوره"),  # ta marbuta typed as ha
        ("مستشفى", "مستشفي"),  # alef maqsura typed with dots
        ("التحقُّق", "التحقق"),  # vowel points
        ("تفعيـل", "تفعيل"),  # tatweel
        ("٥ أيام", "5 ايام"),  # Arabic-Indic digits
    ],
)
def test_arabic_is_folded_as_customers_type_it(written: str, folded: str) -> None:
    assert arabic_folded(written) == folded


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("والطلبات", "طلب"),  # conjunction and article, then the plural
        ("بالطلب", "طلب"),
        ("فلوسي", "فلوس"),  # an initial "ف" of the word itself stays: Snowball read "لوس"
        ("بطاقه", "بطاق"),  # as "بطاقة" is folded; Snowball kept "بطاقه" and cut "بطاقة" to "طاق"
        ("وصل", "وصل"),  # a three-letter word keeps its "و"
        ("لي", "لي"),  # nothing is cut to fewer than two letters
    ],
)
def test_arabic_light_stems_as_lucene_does(word: str, stem: str) -> None:
    assert arabic_stem(word) == stem


def test_arabic_analysis_folds_then_stems_and_leaves_out_function_and_chat_words() -> None:
    arabic = analyzer("ar")
    assert arabic.name == "ar-light"
    # "وين", "ما", "في", "ابي" (where, not, in, I want) are no content words; "بطاقة" and "بطاقه" are one.
    assert arabic.terms("وين الطلب ما وصل في الموعد؟ ابي بطاقة") == ["طلب", "وصل", "موعد", "بطاق"]
    assert arabic.terms("بطاقه") == arabic.terms("بطاقة") == arabic.terms("البطاقة")
    # Latin words of an Arabic text are kept as they are.
    assert arabic.terms("رمز OTP") == ["رمز", "otp"]
    assert {"ما", "في", "انا", "وين", "ابي"} <= STOPWORDS["ar"]


def test_arabic_stems_are_indexed_and_searched_with_their_letter_pairs() -> None:
    assert arabic_pairs("ترجع") == ["تر", "رج", "جع"]
    assert arabic_pairs("لي") == arabic_pairs("otp") == []
    assert analyzer("ar").text("فلوسي OTP") == "فلوس فل لو وس otp"
    # The pairs count apart from the question's other terms: a long question is searched to its end.
    words = " ".join(f"كلمه{chr(0x0628 + n // 20)}{chr(0x0628 + n % 20)}" for n in range(40))
    assert "استرجاع" in query_terms(f"{words} الاسترجاع", ["ar"])


def test_a_stop_word_with_and_written_on_it_is_no_term_and_automatic_is_no_stop_word() -> None:
    terms = query_terms("وكيف اغير الرقم وهل يمكنني الدفع ولماذا لم يصل", ["ar"])
    assert not {"كيف", "هل", "لماذا", "لم"} & set(terms)
    assert {"رقم", "دفع", "يصل"} <= set(terms)
    # "إلى" (to) folded is "الي", as "آلي" (automatic) is: an ATM is "صراف آلي".
    assert len(analyzer("ar").terms("صراف آلي")) == 2


def test_same_meaning_words_are_of_one_meaning() -> None:
    # "تلفون" (phone) stems to "تلف" (damage), "فيزا" is also a visa, "بلوك" also an address's block.
    assert not {"تلف", "فيز", "بلوك"} & set(SAME_MEANING)
    assert "مبلغ" in SAME_MEANING["فلوس"]


def test_arabic_words_joined_by_an_underscore_are_found(tmp_path: Path) -> None:
    chunks = language_chunks([("ar", "order.md", "رقم الطلب", "تجد رقم_الطلب في رسالة التأكيد.")])
    snapshot = index_snapshot(tmp_path, chunks)
    try:
        assert snapshot.bm25("رقم_الطلب", 5, "ar")
    finally:
        snapshot.retire()


def test_polish_stop_words_count_with_and_without_their_marks() -> None:
    assert {"się", "sie", "mogę", "moge", "żeby", "zeby", "jak", "czy"} <= STOPWORDS["pl"]
    assert without_accents("Zgubiłem ŁADOWARKĘ") == "Zgubilem LADOWARKE"  # "ł" is typed "l"


@pytest.mark.parametrize(
    ("question", "lang", "heading"),
    [
        ("وين طلبي؟ تأخر كثير", "ar", "تأخر وصول الطلب"),
        ("جاتني بطاقه هديه ابي افعلها", "ar", "تفعيـل بطاقة الهدية"),
        ("متى يرجع المبلغ للبطاقه", "ar", "استرداد المبلغ"),
        # The customer's everyday word is searched as the help center's too ("فلوس" as "مبلغ"), and a stem
        # that is not the page's by its letter pairs ("ارجع" shares "رج", "جع" with "استرجاع").
        ("ابي فلوسي", "ar", "استرداد المبلغ"),
        ("ابي ارجع الجزمه", "ar", "سياسة الاسترجاع"),
        ("zgubilem karte sim co robic", "pl", "Zgubienie karty SIM"),
        ("ZGUBIŁEM KARTĘ SIM", "pl", "Zgubienie karty SIM"),
        ("ile place za roaming w unii", "pl", "Roaming w UE"),
    ],
)
def test_arabic_and_polish_questions_as_customers_type_them_find_their_passage(
    tmp_path: Path, question: str, lang: str, heading: str
) -> None:
    assert first_heading(tmp_path, CHUNKS, question, lang) == heading


def test_a_word_typed_without_its_marks_is_the_help_centers_word_not_a_slip() -> None:
    vocabulary = vocabulary_words(CHUNKS, ["pl"])
    # "zablokowac" is "zablokować", whose stem Polish's stemmer reads by its marks.
    # "karte" and "kartę" stem alike: it is no word the help center lacks.
    assert corrected("jak zablokowac karte", vocabulary, "pl") == "jak zablokować karte"


def test_only_a_latin_word_typed_without_any_marks_is_given_the_help_centers_marks() -> None:
    from bot.kb.vocabulary import _slip_of, _Spelling

    thai = _Spelling("th", ("ข่าว", "ข้อมูล"))
    # Thai "ข้าว" (rice) and "ขาว" (white) are no "ข่าว" (news) typed without its tone mark.
    assert _slip_of("ข้าว", thai, analyzer("th").stem) == _slip_of("ขาว", thai, analyzer("th").stem) == ()
    spanish = _Spelling("es", ("año", "envío"))
    assert _slip_of("ano", spanish, analyzer("es").stem) == ("año",)
    # Typed with other accents, a word is its own (or a slip), not the help center's by its letters.
    assert _slip_of("anõ", spanish, analyzer("es").stem) != ("año",)


def test_a_slip_is_not_read_by_a_stem_of_three_letters() -> None:
    chunk = replace(make_chunk("pin.md", "Kod PIN", "Kod PIN zmienisz w aplikacji.", 0), lang="pl")
    vocabulary = vocabulary_words([chunk], ["pl"])
    # "pisze" (writes) with an "n" put in is "pinsze", which Polish's stemmer cuts to "pin".
    assert corrected("ktoś pisze do mnie", vocabulary, "pl") == "ktoś pisze do mnie"


def test_an_index_written_before_arabic_and_polish_were_folded_warns_until_reloaded(tmp_path: Path) -> None:
    outdated = outdated_without_meta(_index(tmp_path).path, FOLDED_META)
    assert outdated is not None
    assert "kb reload" in outdated
    # An older index of English text alone reads as it did.
    latin = tmp_path / "latin.sqlite"
    chunk = replace(make_chunk("a.md", "Refunds", "Refunds take three days.", 0), lang="en")
    write_index(latin, [chunk], np.ones((1, 3), dtype=np.float32), {"dim": "3"})
    assert outdated_without_meta(latin, FOLDED_META) is None
    # A Spanish index holding "ł" ("Wrocław"), which questions now search as "l".
    spanish = tmp_path / "spanish.sqlite"
    chunk = replace(make_chunk("a.md", "Envíos", "Enviamos a Wrocław en dos días.", 0), lang="es")
    write_index(spanish, [chunk], np.ones((1, 3), dtype=np.float32), {"dim": "3"})
    assert outdated_without_meta(spanish, FOLDED_META) is not None
