"""Greek and Persian help centers: questions typed as their customers type them (Greek without accents or in
capitals, Persian on an Arabic keyboard, without its non-joiner, with chat's clitics) find their passage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.greeklish import GreekWords, latin_keys, sound_key
from bot.kb.analysis import analyzer, query_terms, same_meaning
from bot.kb.embedded import GREEK_PERSIAN_META, write_index
from bot.kb.names import uncommon_words
from bot.kb.vocabulary import corrected, slips, vocabulary_words
from bot.language import STOPWORDS, detect_message_language
from tests.fakes import make_chunk
from tests.kb.conftest import first_heading, index_snapshot, language_chunks, outdated_without_meta

_SECTIONS = [
    (
        "el",
        "products.md",
        "Προϊόντα εκτός αποθέματος",
        "Αν ένα προϊόν τελειώσει, το αντικαθιστούμε με παρόμοιο.",
    ),
    ("el", "fees.md", "Κόστος αποστολής", "Η αποστολή κοστίζει 2,90€ και είναι δωρεάν από 60€."),
    ("el", "frozen.md", "Λιωμένα παγωτά", "Αν τα παγωτά έφτασαν λιωμένα, στείλτε φωτογραφία μέσα σε 3 ώρες."),
    ("fa", "wallet.md", "شارژ کیف‌پول", "حداکثر مبلغ شارژ کیف‌پول ۵ میلیون تومان در هر پرداخت است."),
    (
        "fa",
        "lost.md",
        "وسایل جامانده در خودرو",
        "اگر کیف یا گوشی شما در خودرو جا ماند، از بخش سفرها با راننده تماس بگیرید.",
    ),
    (
        "fa",
        "invite.md",
        "دعوت از دوستان",
        "با دعوت از هر دوست و اولین سفر او، ۵۰ هزار تومان اعتبار هدیه می‌گیرید.",
    ),
    ("fa", "cancel.md", "لغو سفر", "تا دو دقیقه پس از پذیرش راننده، لغو سفر رایگان است."),
    ("fa", "sim.md", "تغییر سیم‌کارت", "اگر سیم‌کارت شما عوض شده است، شماره جدید را در حساب کاربری ثبت کنید."),
]
CHUNKS = language_chunks(_SECTIONS)


def test_greek_words_are_one_term_with_or_without_accents_or_in_capitals() -> None:
    greek = analyzer("el")
    # Snowball's Greek stemmer read "ϊ" as "η": "προϊόντα" was "προηοντ", "προιοντα" "προιοντ".
    assert greek.terms("προϊόντα") == greek.terms("προιοντα") == greek.terms("ΠΡΟΪΟΝΤΑ") == ["προιοντ"]
    assert greek.terms("Κόστος αποστολής") == greek.terms("κοστος αποστολης")


def test_greek_function_words_are_no_terms_with_or_without_accents() -> None:
    # "να", "η", "για", "μου", "πώς" typed "πως" and with a final "σ" mistyped: none is searched.
    assert query_terms("πώς να δω την παραγγελία μου για αύριο;", ["el"]) == query_terms(
        "πωσ να δω την παραγγελια μου για αυριο", ["el"]
    )
    assert query_terms("πώς να δω την παραγγελία μου για αύριο;", ["el"]) == ["δω", "παραγγελ", "αυρι"]
    assert {"να", "η", "για", "μου", "πως", "πώς", "πωσ", "θελω", "θέλω"} <= STOPWORDS["el"]


def test_persian_is_folded_as_elasticsearchs_persian_analyzer_reads_it() -> None:
    persian = analyzer("fa")
    # An Arabic keyboard's "ي" and "ك", Persian digits, and the pieces of a word the non-joiner cuts.
    assert persian.terms("كيف پول") == persian.terms("کیف پول")
    assert persian.terms("۲۰۰ تومان") == persian.terms("200 تومان")
    assert persian.terms("می‌خوام کیف‌پول رو شارژ کنم") == persian.terms("کیف پول شارژ")
    # "که", "رو", "تو", "چطور", "میخوام": no content words, however they are typed.
    assert persian.terms("چطوری میخوام که تو رو") == persian.terms("چطوري ميخوام كه تو رو") == []
    assert {"که", "كه", "رو", "چطور", "میخوام", "ميخوام", "ها", "می"} <= STOPWORDS["fa"]


def test_persian_chat_clitics_are_cut_only_to_a_word_of_the_help_center() -> None:
    vocabulary = vocabulary_words(CHUNKS, ["fa"])
    # The help center's words as its index spells them (`arabic_folded`: "ي" and "ك").
    # "کیفمو" (my bag, as object): a pronoun and the object marker written on.
    assert slips("راننده کیفمو پیدا کرده", vocabulary, "fa") == {"کیفمو": "كيف"}
    assert slips("رفيقمو دعوت كنم", vocabulary, "fa") == {}  # "رفیق" (friend) is not the help center's word
    assert corrected("دوستمو دعوت کنم", vocabulary, "fa") == "دوست دعوت کنم"
    # A compound the help center writes with a non-joiner, typed as one word with a pronoun on it.
    assert corrected("سیمکارتم عوض شده", vocabulary, "fa") == "سيم كارت عوض شده"
    # A word of the help center keeps its letters: "سفرها" is "سفر" and the plural, which the stemmer reads.
    assert slips("سفرها", vocabulary, "fa") == {}


def test_a_persian_customers_everyday_word_is_also_searched_as_the_help_centers() -> None:
    # "کنسل" (cancel, the loanword) is searched as "لغو" too, and "تومن" as "تومان"; the table's words are
    # stemmed as the index is.
    assert same_meaning("fa")[analyzer("fa").stem("کنسل")] == (analyzer("fa").stem("کنسلی"), "لغو")
    assert set(query_terms("تومن", ["fa"])) == {analyzer("fa").stem("تومن"), analyzer("fa").stem("تومان")}
    assert same_meaning("de") == {}


@pytest.mark.parametrize(
    ("question", "lang", "heading"),
    [
        ("ΤΑ ΠΑΓΩΤΑ ΗΡΘΑΝ ΛΙΩΜΕΝΑ, ΤΙ ΚΑΝΩ;", "el", "Λιωμένα παγωτά"),
        ("ποσο κοστιζει η αποστολη", "el", "Κόστος αποστολής"),
        ("τελειωσε το προιον που ηθελα", "el", "Προϊόντα εκτός αποθέματος"),
        ("سقف شارژ كيف پول چقدره؟", "fa", "شارژ کیف‌پول"),
        ("گوشیم تو ماشین جا مونده چیکار کنم", "fa", "وسایل جامانده در خودرو"),
        ("سفرو کنسل کنم هزینه داره؟", "fa", "لغو سفر"),
    ],
)
def test_greek_and_persian_questions_as_customers_type_them_find_their_passage(
    tmp_path: Path, question: str, lang: str, heading: str
) -> None:
    assert first_heading(tmp_path, CHUNKS, question, lang) == heading


@pytest.mark.parametrize(
    "text",
    [
        "ميخوام اكانتمو كلا پاك كنم، پولي كه تو كيف پولم هست چي ميشه؟",
        "كد تخفيفي كه برام اس ام اس اومده رو ميزنم ميگه نامعتبره، چرا قبول نميكنه؟",
        "ميخوام براي مادرم ماشين بگيرم ولي خودم باهاش نيستم، ميشه؟",
    ],
)
def test_persian_typed_on_an_arabic_keyboard_is_persian(text: str) -> None:
    # The detector scores each Arabic (0.77-0.91).
    assert detect_message_language(text) == "fa"


@pytest.mark.parametrize(
    "text",
    [
        "شلونك شكو ماكو چان زين",
        "گلت له ما اريد",
        "وين طلبي؟ ابي اعرف",
        # Words Persian and Arabic both write ("الان", "يا", "ما") are no Persian ones here.
        "الطلب ما وصل لحد الان، شلون اگدر الغيه؟",
        "يا جماعة الطلب ما وصل الان، چيف اسوي؟",
    ],
)
def test_arabic_written_with_a_persian_letter_stays_arabic(text: str) -> None:
    # Iraqi and Gulf Arabic write "چ" and "گ": their function words are Arabic's.
    assert detect_message_language(text) == "ar"


@pytest.mark.parametrize(
    ("latin", "greek"),
    [
        ("paraggelia", "παραγγελία"),
        ("apodeiksi", "απόδειξη"),
        ("proigoumeni", "προηγούμενη"),  # "oi" is "ο" and "η" here, not "οι"
        ("akyrwsh", "ακύρωση"),  # "h" for "η", "y" for "υ", "w" for "ω"
        ("thelw", "θέλω"),
        ("euxaristw", "ευχαριστώ"),
        ("xronia", "χρόνια"),  # "x" for "χ"
    ],
)
def test_greeklish_spells_the_greek_words_sounds(latin: str, greek: str) -> None:
    assert sound_key(greek) in latin_keys(latin)


def test_a_greeklish_word_is_the_help_centers_greek_word_it_spells_whatever_its_ending() -> None:
    words = GreekWords(
        ("παραγγελία", "απόδειξη", "πόντων", "κατεβάσετε", "ποσό", "πόλης"), analyzer("el").stem
    )
    assert words.word_for("paraggelia") == "παραγγελία"
    assert words.word_for("katevasw") == "κατεβάσετε"  # another ending
    assert words.word_for("pontous") == "πόντων"  # by the stem "ποντ"
    assert words.word_for("xiaomi") is None
    assert words.word_for("delivery") is None


def test_a_greeklish_question_is_greek_to_a_greek_help_center_and_searched_in_greek(tmp_path: Path) -> None:
    question = "pote tha erthoun ta pagwta pou ekana paraggelia? irthan liwmena"
    assert detect_message_language(question, kb_languages=("el",)) == "el"
    # English stays English: its "to", "me" and "I" sound like Greek's "το", "με", "η", but fewer of them.
    assert detect_message_language("I want to send it to me", kb_languages=("el",)) == "en"
    assert detect_message_language(question, kb_languages=("en",)) != "el"
    vocabulary = vocabulary_words(CHUNKS, ["el"])
    searched = corrected(question, vocabulary, "el")
    # Its words the help center writes are searched in Greek; its function words ("pote", "pou") stay.
    assert "παγωτά" in searched
    assert "pote" in searched
    assert first_heading(tmp_path, CHUNKS, searched, "el") == "Λιωμένα παγωτά"
    # A Latin name in a question written in Greek is a name, not Greeklish.
    assert corrected("Το Xiaomi κολλάει", vocabulary, "el") == "Το Xiaomi κολλάει"


@pytest.mark.parametrize(
    "text",
    [
        "Kdy mi přijde objednávka? Zaplatil jsem to na kartu",  # Czech, 0.96
        "Jak se mi to vrati na ucet?",
        "Da li mi se novac vraca na karticu?",
        "Nu mi-a ajuns comanda de o saptamana",
        "mono to stereo adapter",
        "anti virus mono license",
    ],
)
def test_latin_text_of_other_languages_is_no_greeklish(text: str) -> None:
    # Their "mi", "se", "to", "na", "de" sound like Greek function words, and are their own.
    assert detect_message_language(text, kb_languages=("el",)) != "el"
    assert detect_message_language(text, "cs", kb_languages=("el", "cs")) != "el"


def test_common_persian_words_are_not_cut_to_another_word_of_the_help_center() -> None:
    chunks = language_chunks([("fa", "work.md", "ساعت کار", "ساعت کار پشتیبانی و نقش کارشناس و حساب کاربری")])
    vocabulary = vocabulary_words(chunks, ["fa"])
    # "کارت" (card) is no "کار" (work) with "ت" (your), "نقشه" (map) no "نقش", "حسابی" (really) no "حساب";
    # "کارتم" (my card) is no "کار" with two endings.
    for text in ("کارت بانکی", "نقشه", "حسابی اذیت شدم", "کارتم گم شده"):
        assert corrected(text, vocabulary, "fa") == text, text
    assert corrected("حسابمو ببندم", vocabulary, "fa") == "حساب ببندم"


def test_a_stop_word_whose_letters_spell_a_content_word_is_kept_as_typed() -> None:
    # "ποσο" (amount, typed without its accent) is no "πόσο" (how much); "پس" is "back" in "پس دادن".
    assert query_terms("ποσο επιστροφης", ["el"]) == ["ποσ", "επιστροφ"]
    assert query_terms("πόσο επιστροφής", ["el"]) == ["επιστροφ"]
    assert "پس" in query_terms("چطور کالا رو پس بدم؟", ["fa"])


def test_greeklish_words_are_no_names_the_help_center_lacks() -> None:
    # Every word of Greek in Latin letters is in neither Greek's word list nor English's: a Greeklish
    # question was refused for naming "mporw" and "thelw" (I can, I want).
    assert uncommon_words("pou mporw na vrw tin apodeiksi? thelw na tin katevasw", "el") == []
    # A Latin word in a question written in Greek still is one.
    assert uncommon_words("Το kdump δεν δουλεύει στον server", "el") == ["kdump"]


def test_an_index_written_before_greek_and_persian_were_refolded_warns_until_reloaded(tmp_path: Path) -> None:
    snapshot = index_snapshot(tmp_path, CHUNKS)
    path = snapshot.path
    snapshot.retire()
    outdated = outdated_without_meta(path, GREEK_PERSIAN_META)
    assert outdated is not None
    assert "kb reload" in outdated
    latin = tmp_path / "latin.sqlite"
    chunk = replace(make_chunk("a.md", "Refunds", "Refunds take three days.", 0), lang="en")
    write_index(latin, [chunk], np.ones((1, 3), dtype=np.float32), {"dim": "3"})
    assert outdated_without_meta(latin, GREEK_PERSIAN_META) is None
