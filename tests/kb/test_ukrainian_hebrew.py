"""Ukrainian and Hebrew help centers, which Snowball has no stemmer for: a question finds its passage whatever
form its words take (Ukrainian endings, Hebrew's prefixes), typed as customers type it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import stemmers
from bot.kb.analysis import analyzer, indexed_text, language_key, query_terms, query_words, segmenters_needed
from bot.kb.elastic import bm25_query
from bot.kb.embedded import STEMMED_META
from bot.kb.vocabulary import corrected, vocabulary_words
from bot.language import STOPWORDS
from bot.services import Services
from bot.stemmers import own_stem, ukrainian_stem
from tests.kb.conftest import first_heading, index_snapshot, language_chunks, outdated_without_meta

_SECTIONS = [
    (
        "uk",
        "returns.md",
        "Повернення коштів",
        "Кошти за повернений товар ми зараховуємо на картку протягом 3 банківських днів.",
    ),
    (
        "uk",
        "lockers.md",
        "Термін зберігання",
        "Посилка зберігається в поштоматі 5 днів, після чого повертається на склад.",
    ),
    (
        "uk",
        "orders.md",
        "Скасування замовлення",
        "Замовлення можна скасувати в застосунку, доки його не передано службі доставки.",
    ),
    ("he", "router.md", "החזרת ציוד", "לאחר ביטול המנוי יש להחזיר את הראוטר לאחד ממוקדי השירות."),
    ("he", "invoices.md", "חשבונית מס", 'החשבונית נשלחת לכתובת הדוא"ל שבחשבון בתחילת כל חודש.'),
    ("he", "porting.md", "ניוד מספר", "ניוד המספר שלכם מחברה אחרת נמשך עד יום עסקים אחד."),
]
CHUNKS = language_chunks(_SECTIONS)


def test_ukrainian_forms_of_one_word_are_one_term() -> None:
    # Nouns in their cases, and the verb a noun is made of ("повернути", "повернення"): to return.
    assert {ukrainian_stem(w) for w in ("замовлення", "замовленням", "замовлень")} == {"замовл"}
    assert {ukrainian_stem(w) for w in ("повернення", "повернути", "повернуть")} == {"поверн"}
    assert {ukrainian_stem(w) for w in ("зберігається", "зберігання")} == {"зберіг"}
    # A stem keeps a vowel and three letters: "кіт" and "дім" are no endings.
    assert ukrainian_stem("кіт") == "кіт"
    # A noun's ending is no verb's: "оплати" (of a payment) is no "опл" + "ати", "файли" no "фай" + "ли".
    for forms in (
        ("оплата", "оплати", "оплатити"),
        ("файл", "файли"),
        ("система", "систему"),
        ("кошти", "коштів"),
    ):
        assert len({ukrainian_stem(w) for w in forms}) == 1, forms
    # A Latin name keeps its letters: "Chromebook" and "Chromecast" are no "chrome".
    assert own_stem("chromebook", "uk") == "chromebook"
    assert own_stem("днiв", "uk") == own_stem("днів", "uk")  # a Latin "i" for "і"


def test_ukrainian_is_read_without_its_apostrophe_and_as_typed_on_a_russian_keyboard() -> None:
    ukrainian = analyzer("uk")
    assert ukrainian.terms("п’ять") == ukrainian.terms("п'ять") == ukrainian.terms("пять") == ["пят"]
    # The Russian layout's "ы", "э" and "ъ" are the Ukrainian one's "і", "є" and "ї".
    assert ukrainian.terms("скыльки дныв зберыгаэться") == ukrainian.terms("скільки днів зберігається")


def test_ukrainian_and_hebrew_function_words_are_no_terms() -> None:
    assert query_terms("а що мені робити з моїм замовленням?", ["uk"]) == ["замовл"]
    cancel, subscription = own_stem("מבטל", "he"), own_stem("מנוי", "he")
    assert query_terms("איך אני מבטל את המנוי שלי?", ["he"]) == [cancel, subscription]
    assert {"що", "як", "мені", "можна", "шо"} <= STOPWORDS["uk"]
    assert {"של", "את", "איך", "שלי", "אפשר", "ומה"} <= STOPWORDS["he"]
    # "How much" too, as in Greek and Persian: a trial's "כמה עולה…" and "скільки…" questions ranked first
    # the FAQ rows whose headings ask "כמה…" or "Скільки…" about something else. Typed on a Russian
    # keyboard as well ("скыльки").
    cost, move = own_stem("עולה", "he"), own_stem("להעביר", "he")
    assert query_terms("כמה עולה להעביר את ה-eSIM?", ["he"])[:3] == [cost, move, "esim"]
    assert query_terms("скільки коштує доставка?", ["uk"]) == query_terms("скыльки коштує доставка?", ["uk"])
    assert "скільк" not in query_terms("скільки коштує доставка?", ["uk"])
    assert "сколько" in STOPWORDS["ru"]


def test_hebrew_prefixes_are_read_off_a_word_of_the_dictionary() -> None:
    # "in the account", "the account"; "and the parcel", "the parcels".
    assert own_stem("בחשבון", "he") == own_stem("החשבון", "he") == own_stem("חשבון", "he")
    assert own_stem("והחבילה", "he") == own_stem("החבילות", "he") == own_stem("חבילה", "he")
    # "And" before a word that begins with a prefix's letter: "ומספר" (and the number) is no "ספר" (a book).
    assert own_stem("ומספר", "he") == own_stem("מספר", "he")
    assert own_stem("ומערכת", "he") == own_stem("מערכת", "he")
    # A word beginning with a prefix's letter is no prefixed word: "משלוח" (a shipment) is no "שלוח".
    assert own_stem("משלוח", "he") == own_stem("המשלוח", "he") != own_stem("שלוח", "he")
    # A geresh or gershayim inside a word, typed or left out ("חו"ל", abroad; "מע"מ", VAT; "צ'אט").
    assert query_terms('גלישה בחו"ל, מע"מ, צ\'אט', ["he"]) == query_terms("גלישה בחול, מעמ, צאט", ["he"])
    assert len(query_terms('גלישה בחו"ל', ["he"])) == 2
    # An English word keeps its letters ("לiPhone" is cut at the script).
    assert own_stem("iphone", "he") == "iphone"


def test_a_loanword_the_dictionary_lacks_loses_its_prefix_where_hebrew_writes_it_without() -> None:
    # "the router", "to the router": wordfreq's Hebrew writes "ראוטר" more often than either.
    assert own_stem("הראוטר", "he") == own_stem("לראוטר", "he") == own_stem("ראוטר", "he")


@pytest.mark.parametrize(
    ("question", "lang", "heading"),
    [
        ("коли гроші повернуть на карту після повернення?", "uk", "Повернення коштів"),
        ("скыльки дныв зберыгаэться посилка в поштоматы?", "uk", "Термін зберігання"),
        ("хочу скасувати замовленя", "uk", "Скасування замовлення"),
        ("ביטלתי את המנוי, מה עושים עם הראוטר?", "he", "החזרת ציוד"),
        ("איפה אני רואה את החשבונית שלי", "he", "חשבונית מס"),
        ("כמה זמן לוקח לנייד את המספר", "he", "ניוד מספר"),
    ],
)
def test_ukrainian_and_hebrew_questions_as_customers_type_them_find_their_passage(
    tmp_path: Path, question: str, lang: str, heading: str
) -> None:
    assert first_heading(tmp_path, CHUNKS, question, lang) == heading


def test_elasticsearch_holds_and_is_asked_the_stemmed_terms(tmp_path: Path) -> None:
    # Its `standard` analyzer stems neither language: the index's text is the terms, as the embedded
    # index's, and so are the query's words.
    heading = "Повернення коштів"
    assert indexed_text(heading, "uk") == analyzer("uk").text(heading) == "поверн кошт"
    assert query_words("коли гроші повернуть?", ["uk"]) == query_terms("коли гроші повернуть?", ["uk"])
    words = bm25_query("коли гроші повернуть?", "uk")["bool"]["should"][0]["multi_match"]["query"]
    # With the help center's words for the customer's (`bot.everyday`): "кошти" for "гроші".
    assert words.split() == ["грош", "кошт", "поверн", "вернут"]
    assert (analyzer("uk").name, analyzer("he").name) == ("uk-light", "he-dictionary")
    assert language_key("uk") == "uk"
    assert language_key("he-IL") == "he"


def test_an_index_written_before_ukrainian_and_hebrew_were_stemmed_asks_for_a_reload(tmp_path: Path) -> None:
    snapshot = index_snapshot(tmp_path, CHUNKS)
    assert snapshot.outdated is None
    snapshot.retire()
    reason = outdated_without_meta(tmp_path / "kb-test.sqlite", STEMMED_META)
    assert reason is not None
    assert "Ukrainian or Hebrew" in reason


@pytest.mark.parametrize(("lang", "read"), [("he", True), ("uk", False), ("en", False)])
async def test_a_hebrew_help_centers_dictionaries_are_read_before_its_first_customer(
    monkeypatch: pytest.MonkeyPatch, lang: str, read: bool
) -> None:
    # About 8 s on 2 cores (wordfreq's large Hebrew list, then simplemma's): the first Hebrew question of a
    # process waited that long ("retrieval 8931 ms" in `chat`).
    loaded: list[frozenset[str]] = []
    monkeypatch.setattr(stemmers, "_LOADED", set())
    monkeypatch.setattr(stemmers, "load_dictionaries", loaded.append)
    await Services._warm_dictionaries(frozenset({lang}))
    assert loaded == ([frozenset({"he"})] if read else [])


def test_hebrew_text_is_prepared_outside_the_search_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stemmers, "_LOADED", set())
    assert segmenters_needed("כמה עולה חבילת גלישה?")
    assert not segmenters_needed("скільки коштує доставка?")  # Ukrainian reads no dictionary
    assert not segmenters_needed("how much is shipping?")


def test_no_typing_slips_are_read_in_ukrainian_or_hebrew() -> None:
    # A slip is judged by its stem, six letters or a dictionary form here: "виведення" (withdrawal) read as
    # "введення" (entry), "להשלים" (complete) as "לשלם" (pay).
    chunks = language_chunks(
        [
            ("uk", "a.md", "Введення коштів", "Введення коштів на рахунок займає 5 хвилин."),
            ("he", "b.md", "תשלום", "אפשר לשלם בכרטיס אשראי."),
        ]
    )
    vocabulary = vocabulary_words(chunks, ["uk", "he"])
    assert corrected("як зробити виведення коштів?", vocabulary, "uk") == "як зробити виведення коштів?"
    assert corrected("איך להשלים את ההרשמה?", vocabulary, "he") == "איך להשלים את ההרשמה?"


@pytest.mark.parametrize(
    ("question", "lang", "heading"),
    [
        ("гроші на карту коли прийдуть?", "uk", "Повернення коштів"),
        ("додаток не пускає, як змінити пароль", "uk", "Пароль у застосунку"),
        ("גנבו לי את הפלאפון, מה עושים?", "he", "טלפון שנגנב"),
        ("איך מעבירים את האיסים?", "he", "העברת eSIM"),
    ],
)
def test_customers_everyday_words_find_the_help_centers_words(
    tmp_path: Path, question: str, lang: str, heading: str
) -> None:
    # "гроші" (money) where the help center writes "кошти", "додаток" (app) for "застосунок", "פלאפון" (a
    # cellphone) for "טלפון", "איסים" for "eSIM" (`bot.everyday`).
    chunks = language_chunks(
        [
            ("uk", "refunds.md", "Повернення коштів", "Кошти зараховуємо на картку протягом 3 днів."),
            ("uk", "app.md", "Пароль у застосунку", "Пароль змінюють у застосунку в розділі «Профіль»."),
            ("uk", "site.md", "Пароль на сайті", "На сайті пароль змінюють у кабінеті."),
            ("he", "stolen.md", "טלפון שנגנב", "אם הטלפון נגנב, יש לחסום את הקו מיד במוקד."),
            ("he", "esim.md", "העברת eSIM", "העברת ה-eSIM למכשיר חדש נעשית באפליקציה."),
            ("he", "sim.md", "החלפת כרטיס SIM", "כרטיס SIM חדש נשלח בדואר תוך יומיים, מה עושים עד אז."),
        ]
    )
    assert first_heading(tmp_path, chunks, question, lang) == heading


def test_an_everyday_words_line_holds_no_stem_of_another_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    # "додатку" (of an app) is six letters of "додаткова" (additional): an extra fee is no app.
    assert "застос" not in query_terms("чи є додаткова плата за доставку?", ["uk"])
    # Hebrew's lines wait for its dictionary, read outside a search's deadline: a question with no Hebrew
    # letters reads none.
    monkeypatch.setattr(stemmers, "_LOADED", set())
    loaded: list[frozenset[str]] = []
    monkeypatch.setattr(stemmers, "load_dictionaries", loaded.append)
    assert query_terms("eSIM price", ["en", "he"])
    assert loaded == []
