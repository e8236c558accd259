"""Russian questions to a Ukrainian help center (and Ukrainian ones to a Russian one) find the passages the
other language's words of one root answer."""

from __future__ import annotations

from pathlib import Path

from bot.kb.cognates import cognates, root, same_root
from bot.kb.vocabulary import corrected, spelled, vocabulary_words
from tests.kb.conftest import first_heading, index_snapshot, language_chunks

_UKRAINIAN = language_chunks(
    [
        (
            "uk",
            "alarm.md",
            "Що відбувається під час повітряної тривоги",
            "Під час повітряної тривоги кур'єр зупиняє доставку і продовжує її після відбою.",
        ),
        (
            "uk",
            "delivery.md",
            "Доставка кур'єром",
            "Кур'єр привозить телевізори та холодильники до дверей протягом 2 днів.",
        ),
        (
            "uk",
            "installments.md",
            "Оплата частинами",
            "Оплата частинами доступна на строк від 3 до 24 місяців без переплат.",
        ),
        (
            "uk",
            "returns.md",
            "Повернення товару",
            "Товар належної якості можна повернути протягом 14 днів, зберігши чек і упаковку.",
        ),
    ]
)


def test_russian_and_ukrainian_roots_meet_by_their_letters_vowels_compared_across_the_languages() -> None:
    assert same_root(root("тревоги", "ru"), root("тривоги", "uk"))
    assert same_root(root("курьером", "ru"), root("кур'єр", "uk"))
    assert same_root(root("месяцев", "ru"), root("місяців", "uk"))
    assert same_root(root("способ", "ru"), root("спосіб", "uk"))  # Russian о, Ukrainian і
    assert not same_root(root("равно", "ru"), root("рівні", "uk"))  # "equally" is no "levels": а is no і
    assert not same_root(root("приедет", "ru"), root("продають", "uk"))
    assert not same_root("код", "кід")  # too short to tell
    # False friends: food is no question, a week no Sunday, a dress no paying, a place no city.
    for russian, ukrainian in [
        ("питания", "питання"),
        ("неделю", "неділю"),
        ("вместо", "вміст"),
        ("платье", "платити"),
        ("место", "місту"),
    ]:
        assert not same_root(root(russian, "ru"), root(ukrainian, "uk")), (russian, ukrainian)


def test_a_russian_question_is_searched_with_the_ukrainian_help_centers_words(tmp_path: Path) -> None:
    question = "Во время воздушной тревоги курьер все равно приедет?"
    for name in ("own", "read", "months"):
        (tmp_path / name).mkdir()
    vocabulary = vocabulary_words(_UKRAINIAN, ["uk"])
    searched = corrected(question, vocabulary, "ru")
    assert "тревоги" not in searched
    assert "курьер" not in searched
    # Its own words find nothing: no Ukrainian passage writes "тревоги" or "курьер".
    snapshot = index_snapshot(tmp_path / "own", _UKRAINIAN)
    try:
        assert snapshot.bm25(question, 5, "ru") == []
    finally:
        snapshot.retire()
    assert first_heading(tmp_path / "read", _UKRAINIAN, searched, "ru") == _UKRAINIAN[0].heading
    months = corrected("рассрочка на сколько месяцев", vocabulary, "ru")
    assert first_heading(tmp_path / "months", _UKRAINIAN, months, "ru") == "Оплата частинами"


def test_a_ukrainian_question_is_searched_with_a_russian_help_centers_words() -> None:
    russian = language_chunks(
        [("ru", "tv.md", "Телевизоры", "Телевизор можно вернуть в течение 14 дней, если сохранился чек.")]
    )
    vocabulary = vocabulary_words(russian, ["ru"])
    assert cognates(["телевізор", "чек"], "uk", vocabulary) == {"телевізор": "телевизоры"}


def test_a_help_center_written_in_both_keeps_each_questions_own_words() -> None:
    both = [
        *_UKRAINIAN,
        *language_chunks([("ru", "ru.md", "Доставка", "Курьер привозит заказ за два дня.")]),
    ]
    vocabulary = vocabulary_words(both, ["uk", "ru"])
    assert set(vocabulary) == {"uk", "ru"}
    assert cognates(["тревоги", "курьер"], "ru", vocabulary) == {}
    # Nor any other language's question.
    assert cognates(["тревоги"], "pl", vocabulary_words(_UKRAINIAN, ["uk"])) == {}


async def test_a_russian_word_the_index_holds_is_left_as_written() -> None:
    from bot.kb.calibration import Calibration
    from tests.fakes import FakeKB

    kb = FakeKB(_UKRAINIAN)
    kb.gate = Calibration(vocabulary=vocabulary_words(_UKRAINIAN, ["uk"]))
    # "доставка" is the help center's word as written ("доставку" its most frequent form); "тревоги" one it
    # never writes.
    searched = await spelled(kb, "доставка и тревоги", "ru")
    assert searched.startswith("доставка и ")
    assert "тревоги" not in searched
