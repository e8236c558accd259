"""The gettext catalogs: complete in every shipped language, placeholders kept, compiled, up to date."""

from __future__ import annotations

import gettext
import io
import re
import string
import tomllib
import unicodedata
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.chinese import is_traditional, to_traditional
from bot.rag import pipeline

ROOT = Path(__file__).resolve().parents[2]
LOCALES = texts.LOCALE_DIR
SHIPPED = [code for code in texts.LANGUAGES if code != texts.SOURCE_LANGUAGE]


def _po(code: str) -> Catalog:
    path = LOCALES / texts.CATALOGS[code] / "LC_MESSAGES" / f"{texts.DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle)


def _placeholders(text: str) -> list[str]:
    return sorted(field for _, field, _, _ in string.Formatter().parse(text) if field is not None)


def _extracted() -> set[str]:
    found = extract_from_dir(
        ROOT / "bot", method_map=[("**.py", "python")], keywords={"N_": None}, comment_tags=()
    )
    return {str(message) for _, _, message, _, _ in found}


def test_every_text_is_translated_in_every_shipped_language() -> None:
    assert set(texts.CATALOGS) == set(SHIPPED)
    marked = _extracted()
    assert len(marked) >= 30
    for code in SHIPPED:
        catalog = _po(code)
        ids = {str(m.id) for m in catalog if m.id}
        assert ids == marked, f"{code}: run the update commands in README 'Languages'"
        untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
        assert not untranslated, f"{code} has no translation for {untranslated}"


def test_no_catalog_holds_another_languages_text() -> None:
    """A translation pasted into the wrong catalog passes every other check; no two languages write a
    sentence the same way (texts without letters, such as emoji, are left out)."""
    by_text: dict[str, list[str]] = {}
    for code in SHIPPED:
        for message in _po(code):
            if message.id and any(ch.isalpha() for ch in str(message.string)):
                by_text.setdefault(str(message.string), []).append(code)
    # Except the two scripts of Chinese where a text is written alike in both ("客服"), and a single word
    # Romance languages write alike ("Enviar" in Spanish and Portuguese, "Utile" in French and Italian,
    # "italiano" in Spanish, Italian and Portuguese), or German and Dutch ("Russisch"); and the name "hindi",
    # which Swedish, Hungarian and Polish write as they do.
    shared = {
        text: codes
        for text, codes in by_text.items()
        if len(codes) > 1
        and not (sorted(codes) == ["zh", "zh-Hant"] and to_traditional(text) == text)
        and not (set(codes) <= {"es", "fr", "it", "pt"} and len(text.split()) == 1)
        and text != "hindi"
        and not (sorted(codes) == ["de", "nl"] and len(text.split()) == 1)
    }
    assert shared == {}


def test_traditional_chinese_catalog_is_written_in_traditional_characters() -> None:
    simplified = [str(m.string) for m in _po("zh-Hant") if m.id and to_traditional(str(m.string)) != m.string]
    assert simplified == []
    assert is_traditional(str(next(m for m in _po("zh-Hant") if m.id == texts.NO_ANSWER).string))


def test_thai_catalog_says_nothing_of_the_speakers_gender_and_ends_no_sentence_with_a_full_stop() -> None:
    """Thai polite particles and pronouns tell the speaker's gender (ครับ, ค่ะ, ผม, ดิฉัน): the bot speaks as
    "เรา" without them. Thai writes no full stop at a sentence's end; a space parts sentences."""
    for message in _po("th"):
        if message.id:
            text = str(message.string)
            assert not re.search("ครับ|ค่ะ|ดิฉัน|ผม", text), message.id
            assert not re.search(r"\.(?:\s|$)", text), message.id


# Verbs and words that tell the customer's gender in written Arabic: "أنت", imperatives ("اكتب", "أرسل"),
# second-person present verbs ("تريد", "تستطيع") and "عزيزي"; and the bot's own ("آسف", "آسفة").
_ARABIC_GENDERED = re.compile(
    r"(?<!\w)(?:أنتَ?|أنتِ|آسفة?|عزيزي|عزيزتي|اكتبي?|أرسلي?|اسألي?|حاولي?|انتظري?|اختاري?|اضغطي?|تريدين|تريد"
    r"|ترغبين|ترغب|تستطيعين|تستطيع|تودين|تود|تفضلين|تفضل|تحتاجين|تحتاج)(?!\w)"
)


def test_arabic_catalog_says_nothing_of_the_customers_gender_and_writes_arabic_punctuation() -> None:
    """Written Arabic tells the gender of whom a verb addresses (اكتب / اكتبي, تريد / تريدين): the customer is
    asked with "يُرجى" or "يمكنك" and a verbal noun ("يُرجى كتابة سؤالك") and addressed by the pronoun suffix
    "ـك", which reads the same for both unvoweled; the bot speaks as "we" ("نعتذر", not "آسف" or "آسفة").
    Arabic writes its own comma, semicolon and question mark ("،", "؛", "؟"), and Western digits as the source
    does. A command ("/new") has a left-to-right mark before it, so right-to-left text keeps its slash on its
    word ("new/" otherwise), and no line starts with one, which would turn the line left-to-right."""
    for message in _po("ar"):
        if message.id:
            text = str(message.string)
            assert not _ARABIC_GENDERED.search(text), message.id
            assert not re.search(r"[\u0600-\u06ff][ ]?[,;?]", text), message.id
            assert "?" not in text, message.id
            assert not re.search("[\u0660-\u0669\u06f0-\u06f9]", text), message.id
            commands = re.findall(r"(.?)(?<![\w/])/[a-z]+", text)
            assert all(before == "\u200e" for before in commands), message.id
            assert not re.search("(?m)^\u200e", text), message.id
    # Arabic counts six plural forms (CLDR): the header babel writes for "ar".
    assert _po("ar").num_plurals == 6


# The bot speaks as "ما" and addresses the customer as "شما": no "من" or "تو", and none of the first-person
# singular forms the texts would call for ("متأسفم", "می‌توانم", "هستم").
_PERSIAN_SINGULAR = re.compile(
    "(?<![\\w\u200c])(?:من|تو|متأسفم|هستم|می\u200cتوانم|نمی\u200cتوانم|می\u200cکنم|می\u200cدهم|کردم|ندارم)"
    "(?![\\w\u200c])"
)


def test_persian_catalog_speaks_as_we_and_writes_persian_letters_and_punctuation() -> None:
    """Iranian apps' support chat speaks as "ما" ("متأسفیم", "می‌توانیم") to a customer addressed as "شما"
    ("می‌توانید", "بفرستید"). Persian writes its own letters, "ی" and "ک", not Arabic's "ي" and "ك" (nor "ى"
    or "ة"); its own comma, semicolon and question mark ("،", "؛", "؟") and «» quotes; Western digits as the
    source does; and the zero-width non-joiner between the parts of a word ("می‌توانید", "پیام‌ها"), which a
    space or nothing would split or run together. A command ("/new") has a left-to-right mark before it and no
    line starts with one, as in Arabic (`test_arabic_catalog_…`)."""
    asked = {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}  # the customer's words, searched for
    for message in _po("fa"):
        if message.id:
            text = str(message.string)
            if message.id not in asked:
                assert not _PERSIAN_SINGULAR.search(text), message.id
            assert not re.search("[\u064a\u0643\u0649\u0629]", text), message.id
            assert not re.search(r"[\u0600-\u06ff][ ]?[,;?]", text), message.id
            assert "?" not in text, message.id
            assert '"' not in text, message.id
            assert not re.search("[\u0660-\u0669\u06f0-\u06f9]", text), message.id
            assert not re.search("(?<![^\\W\\d_])\u200c|\u200c(?![^\\W\\d_])", text), message.id
            assert not re.search(r"(?<!\w)ن?می (?=\w)|(?<=\w) ها(?:ی|یی)?(?!\w)", text), message.id
            commands = re.findall(r"(.?)(?<![\w/])/[a-z]+", text)
            assert all(before == "\u200e" for before in commands), message.id
            assert not re.search("(?m)^\u200e", text), message.id
    assert "\u200c" in texts.translate(texts.PIPELINE_TEXTS["refused"], "fa")  # "می‌دهیم"


# The customer addressed in the singular ("εσύ", "σου") or the bot speaking as "I" ("εγώ", "μου", "λυπάμαι").
_GREEK_SINGULAR = re.compile(
    r"(?<!\w)(?:εσύ|εσένα|σου|εγώ|εμένα|μου|λυπάμαι|μπορώ|βρήκα|ξέρω)(?!\w)", re.IGNORECASE
)
_GREEK_WORD = re.compile("[α-ωάέήίόύώϊϋΐΰςΑ-ΩΆΈΉΊΌΎΏΪΫ]+")
# A syllable's vowel: the digraphs read as one vowel first ("αι", "ου", "ευ"), then any single one.
_GREEK_SYLLABLE = re.compile("α[ιί]|ε[ιί]|ο[ιί]|ο[υύ]|υ[ιί]|[αεη][υύ]|[αεηιουωάέήίόύώϊϋΐΰ]")
_GREEK_TONOS = re.compile("[άέήίόύώΐΰ]")
# Words read as one syllable (synizesis) and written without a tonos; the monosyllables written with one ("ή"
# or, "πώς" and "πού" asking, the "ό" of "ό,τι"); the enclitics after which a word takes a second tonos.
_GREEK_SYNIZESIS = frozenset({"για", "γεια", "μια", "πια", "πιο", "ποιο", "ποια"})
_GREEK_ACCENTED_MONOSYLLABLES = frozenset({"ή", "πώς", "πού", "ό"})
_GREEK_ENCLITIC = re.compile(r" (?:μας|σας|του|της|τους)(?!\w)")


def test_greek_catalog_says_you_in_the_plural_and_writes_greek_accents_and_question_marks() -> None:
    """Greek apps' support chat addresses the customer in the polite plural ("μπορείτε", "στείλτε", "σας")
    and speaks as "εμείς" ("Λυπούμαστε", "δεν βρήκαμε"): no "εσύ", "σου", "εγώ", "μου" or "λυπάμαι", except in
    the contact questions, which are the customer's words searched for. Greek's question mark is ";" (U+037E,
    which NFC makes ";"): a text asks as many questions as its source, and no ";" stands for a semicolon,
    which would read as a question. Every word of two or more syllables carries one tonos, and a second only
    before an enclitic ("βοήθειάς μας"); a monosyllable carries none but "ή", "πώς", "πού" and the "ό" of
    "ό,τι"; a word ends in "ς", never in "σ"."""
    asked = {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}
    for message in _po("el"):
        if not message.id:
            continue
        text = str(message.string)
        assert unicodedata.normalize("NFC", text) == text, message.id
        assert "?" not in text, message.id
        assert text.count(";") == str(message.id).count("?"), message.id
        if message.id not in asked:
            assert not _GREEK_SINGULAR.search(text), message.id
        assert not re.search("σ(?![α-ωάέήίόύώϊϋΐΰ])|ς(?=[α-ωάέήίόύώϊϋΐΰ])", text), message.id
        for match in _GREEK_WORD.finditer(text):
            word = match.group().lower()
            tonos = len(_GREEK_TONOS.findall(word))
            if word in _GREEK_SYNIZESIS or len(_GREEK_SYLLABLE.findall(word)) == 1:
                assert tonos == (word in _GREEK_ACCENTED_MONOSYLLABLES), (word, message.id)
            elif tonos != 1:
                assert tonos == 2, (word, message.id)
                assert _GREEK_ENCLITIC.match(text, match.end()), (word, message.id)


# The customer addressed as "ви" and never as "ти"; the bot speaking as "ми", never as "я".
_UKRAINIAN_SINGULAR = re.compile(
    r"(?<![\w’])(?:я|мене|мені|мною|мій|моя|моє|мої|ти|тебе|тобі|тобою|твій|твоя|твоє|твої)(?![\w’])",
    re.IGNORECASE,
)
_UKRAINIAN_YOU = re.compile(r"(?<![\w’])(?:ви|вас|вам|вами|ваш[а-яіїєґ]*)(?![\w’])", re.IGNORECASE)
# Letters Ukrainian lacks; Russian words, and calques of Russian, where Ukrainian has its own words ("будь
# ласка", "перепрошуємо", "дякуємо", "вітаємо", "натисніть", "протягом", "наступний", "є").
_RUSSIAN_ONLY_LETTERS = re.compile("[ыэъёЫЭЪЁ]")
_RUSSIANISMS = re.compile(
    r"(?<![\w’])(?:пожалуйста|извините|спасибо|здравствуйте|вибачаюсь|нажміть|являєтьс\w*|слідуюч\w*"
    r"|на протязі|приймати участь|співпада\w*)(?![\w’])",
    re.IGNORECASE,
)


def test_ukrainian_catalog_says_you_lower_cased_speaks_as_we_and_writes_ukrainian_spelling() -> None:
    """Ukrainian companies' support chat addresses the customer as "ви", lower-cased inside a sentence
    ("щоб ми з’єднали вас"), and speaks as "ми" ("Перепрошуємо, ми не знайшли"): no "ти", "тобі", "я", "мені"
    or "мій", except in the contact questions, which are the customer's words searched for. Modern standard
    Ukrainian: none of Russian's letters ("ы", "э", "ъ", "ё") nor its words ("пожалуйста", "извините") or
    calques ("на протязі", "являється"). The apostrophe is the typographic "’" between two letters, never "'"
    or "ʼ", and it parts a labial from "я", "ю", "є", "ї" ("зв’язатися", "в’єтнамською"); quotes are «».
    A text asks as many questions as its source; the minutes and seconds of the place in line are "хв" and
    "с", as Ukrainian apps abbreviate them."""
    asked = {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}
    for message in _po("uk"):
        if not message.id:
            continue
        text = str(message.string)
        if message.id not in asked:
            assert not _UKRAINIAN_SINGULAR.search(text), message.id
        for you in _UKRAINIAN_YOU.finditer(text):
            before = text[: you.start()].rstrip(" ")
            starts_a_sentence = not before or before.endswith((".", "!", "?", "\n", "•"))
            assert you.group()[0].isupper() == starts_a_sentence, (you.group(), message.id)
        assert not _RUSSIAN_ONLY_LETTERS.search(text), message.id
        assert not _RUSSIANISMS.search(text), message.id
        assert not re.search("['\u02bc]", text), message.id
        assert not re.search("(?<![^\\W\\d_])’|’(?![^\\W\\d_])", text), message.id
        assert not re.search("[бпвмф][яюєї]", text, re.IGNORECASE), message.id
        assert '"' not in text, message.id
        assert text.count("?") == str(message.id).count("?"), message.id
    help_text = texts.translate(tg_texts.HELP, "uk")
    assert "«Зв’язатися з оператором»" in help_text
    wait = texts.translate(texts.WAIT_MINUTES, "uk").format(position=3, minutes=2)
    assert wait == "Ваш номер у черзі: 3. Відповідь почне з’являтися приблизно через 2 хв."
    assert texts.translate(texts.WAIT_SECONDS, "uk").format(position=1, seconds=40).endswith(" через 40 с.")
    # Ukrainian counts three plural forms (one, few, many): the header babel writes for "uk".
    assert _po("uk").plural_forms == Catalog(locale="uk").plural_forms
    assert _po("uk").num_plurals == 3


# Words that tell the customer's gender in unpointed Hebrew: "אתה", second-person verbs ("תוכל" / "תוכלי",
# "תרצה" / "תרצי"), imperatives ("נסה" / "נסי", "שלח" / "שלחי", "לחץ" / "לחצי"), adjectives ("יכול" / "יכולה",
# "מעוניין" / "מעוניינת") and the suffixes spelled apart ("עליך" / "עלייך"); and the bot's own first-person
# singular ("אני", "שלי", "מצטער" / "מצטערת").
_HEBREW_GENDERED = re.compile(
    "(?<![\u05d0-\u05ea])(?:אתה|תוכלי?|תרצה|תרצי|נסה|נסי|שלחי?|כתבי|הקלד|הקלידי|לחצי?|בחרי?|המתן|המתיני"
    "|חכה|חכי|יכולה?|מעוניינת?|בטוחה?|עליך|עלייך|אליך|אלייך|אני|שלי|אותי|מצטערת?|מצאתי|יכולתי)"
    "(?![\u05d0-\u05ea])"
)


def test_hebrew_catalog_says_nothing_of_the_customers_gender_and_reads_right_to_left() -> None:
    """Israeli apps' support chat speaks as "אנחנו" ("מצטערים", "לא מצאנו", "נחפש") and asks the customer in
    forms that do not tell their gender: "אפשר" or "ניתן" and an infinitive ("אפשר לנסות שוב"), "יש ל…", the
    impersonal present ("פשוט כותבים את השאלה"), and the suffix "ך" ("שלך", "לך", "תורך"), spelled alike for
    a man and a woman unpointed; never "אתה", a gendered verb ("תוכל", "נסה", "שלחי") or the slash that writes
    both ("תוכל/י"), except in the contact questions, the customer's words searched for. Modern Hebrew has no
    niqqud; geresh and gershayim are typed as Israeli sites type them, "'" and '"' ("צ'אט", "דק'"), not
    U+05F3 and U+05F4, and a '"' that stands between no two letters opens or closes a quote. No punctuation
    opens a line or follows a space, as text typed in visual order would have it; each text asks as many
    questions as its source. A command ("/new") has a left-to-right mark before it and no line starts with
    one, as in Arabic (`test_arabic_catalog_…`). Hebrew is laid out right to left."""
    asked = {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}
    for message in _po("he"):
        if not message.id:
            continue
        text = str(message.string)
        assert re.search("[\u05d0-\u05ea]", text) or not any(ch.isalpha() for ch in text), message.id
        if message.id not in asked:
            assert not _HEBREW_GENDERED.search(text), message.id
        assert not re.search("[\u05d0-\u05ea]/[\u05d0-\u05ea]", text), message.id
        assert not re.search("[\u0591-\u05c7\u05f3\u05f4]", text), message.id
        assert not re.search("(?<![\u05d0-\u05ea])'", text), message.id
        quotes = re.sub('(?<=[\u05d0-\u05ea])"(?=[\u05d0-\u05ea])', "", text)
        assert quotes.count('"') % 2 == 0, message.id
        assert not re.search(r"(?m)^[ \u200e]*[.,:;!?]| [.,:;!?]", text), message.id
        assert text.count("?") == str(message.id).count("?"), message.id
        commands = re.findall(r"(.?)(?<![\w/])/[a-z]+", text)
        assert all(before == "\u200e" for before in commands), message.id
        assert not re.search("(?m)^\u200e", text), message.id
    assert "צ'אט" in texts.translate("Close chat", "he")
    assert texts.translate(tg_texts.HELP, "he").endswith('והכפתור "שיחה עם נציג" מצרף נציג לשיחה.')
    wait = texts.translate(texts.WAIT_MINUTES, "he").format(position=3, minutes=2)
    assert wait == "המקום שלך בתור: 3. התשובה צפויה להתחיל בעוד כ-2 דק'."
    assert (texts.direction("he"), texts.direction("he-IL"), texts.direction("iw")) == ("rtl", "rtl", "rtl")
    # Hebrew counts three plural forms (one, two, other): the header babel writes for "he".
    assert _po("he").plural_forms == Catalog(locale="he").plural_forms
    assert _po("he").num_plurals == 3


# The customer addressed as "Vy" and never as "ty" (left out of the list: "ty" is also "those", "odkáže na
# ty, ze kterých…"); the bot speaking as "my", never as "já"; and no "jste" or "byste", whose participle
# would tell the customer's gender ("jste se ptal" / "ptala").
_CZECH_SINGULAR = re.compile(
    r"(?<!\w)(?:já|mě|mne|mně|mi|mnou|můj|moje|mého|mému|mým|mých|jsem|bych|mohu|můžu|tebe|tobě|tě|tebou"
    r"|tvůj|tvoje|tvá|tvé|tvého|tvých|jsi|bys|jste|byste)(?!\w)",
    re.IGNORECASE,
)
_CZECH_YOU = re.compile(r"(?<!\w)(?:vy|vás|vám|vámi|váš|vaš\w*)(?!\w)", re.IGNORECASE)


def test_czech_catalog_says_you_with_a_capital_and_speaks_as_we() -> None:
    """Czech companies' support chat addresses one customer with the capitalised "Vy" ("Vám", "Váš", "Vaši"),
    in every position, and speaks as "my" ("Omlouváme se, tuto informaci jsme … nenašli", "S čím Vám můžeme
    pomoci?"): no "ty", "tobě", "já", "mi" or "můj", except in the contact questions, which are the
    customer's words searched for; and no "jste" or "byste", whose past participle tells the customer's
    gender, so "what you asked" is "na co se ptáte". Quotes are Czech „…“, never '"'; a text asks as many
    questions as its source; the minutes and seconds of the place in line are "min" and "s"."""
    asked = {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}
    for message in _po("cs"):
        if not message.id:
            continue
        text = str(message.string)
        if message.id not in asked:
            assert not _CZECH_SINGULAR.search(text), message.id
        for you in _CZECH_YOU.finditer(text):
            assert you.group()[0].isupper(), (you.group(), message.id)
        assert '"' not in text, message.id
        assert text.count("„") == text.count("“"), message.id
        assert text.count("?") == str(message.id).count("?"), message.id
    help_text = texts.translate(tg_texts.HELP, "cs")
    assert "„Spojit s operátorem“" in help_text
    wait = texts.translate(texts.WAIT_MINUTES, "cs").format(position=3, minutes=2)
    assert wait == "Vaše pořadí ve frontě: 3. Odpověď by se měla začít zobrazovat přibližně za 2 min."
    assert texts.translate(texts.WAIT_SECONDS, "cs").format(position=1, seconds=40).endswith(" za 40 s.")
    # Czech counts three plural forms (one, few, many): the header babel writes for "cs".
    assert _po("cs").plural_forms == Catalog(locale="cs").plural_forms
    assert _po("cs").num_plurals == 3


# The customer addressed as "du" and never as "ni" (or "er", "ert", "era"); the bot speaking as "vi", never as
# "jag" ("min", "my", is left out of the list: it is also the minutes of the place in line, "2 min").
_SWEDISH_SINGULAR = re.compile(
    r"(?<!\w)(?:jag|mig|mej|mitt|mina|ni|er|ert|era|eder)(?!\w)",
    re.IGNORECASE,
)
_SWEDISH_YOU = re.compile(r"(?<!\w)(?:du|dig|din|ditt|dina)(?!\w)", re.IGNORECASE)


def test_swedish_catalog_says_du_lower_cased_and_speaks_as_we() -> None:
    """Swedish companies' support chat addresses one customer as "du", lower-cased inside a sentence ("Vill
    du att vi kopplar dig till …"), and speaks as "vi" ("Tyvärr hittade vi inte det här", "Vad kan vi hjälpa
    dig med?"): no "ni", "er", "jag", "mig" or "mitt", except in the contact questions, which are the
    customer's words searched for. Quotes are Swedish ”…” (the same mark on both sides), never '"'; a text
    asks as many questions as its source; the minutes and seconds of the place in line are "min" and "sek",
    as Swedish apps abbreviate them."""
    asked = {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}
    for message in _po("sv"):
        if not message.id:
            continue
        text = str(message.string)
        if message.id not in asked:
            assert not _SWEDISH_SINGULAR.search(text), message.id
        for you in _SWEDISH_YOU.finditer(text):
            before = text[: you.start()].rstrip(" ")
            starts_a_sentence = not before or before.endswith((".", "!", "?", "\n", "•"))
            assert you.group()[0].isupper() == starts_a_sentence, (you.group(), message.id)
        assert '"' not in text, message.id
        assert not re.search("[“„]", text), message.id
        assert text.count("”") % 2 == 0, message.id
        assert text.count("?") == str(message.id).count("?"), message.id
    help_text = texts.translate(tg_texts.HELP, "sv")
    assert "”Prata med en medarbetare”" in help_text
    wait = texts.translate(texts.WAIT_MINUTES, "sv").format(position=3, minutes=2)
    assert wait == "Du är nummer 3 i kön. Ditt svar bör börja visas om cirka 2 min."
    seconds = texts.translate(texts.WAIT_SECONDS, "sv").format(position=1, seconds=40)
    assert seconds.endswith(" om cirka 40 sek.")
    # Swedish counts two plural forms (one, other): the header babel writes for "sv".
    assert _po("sv").plural_forms == Catalog(locale="sv").plural_forms
    assert _po("sv").num_plurals == 2


# The customer addressed as "Ön" and never as "te" (nor in the informal imperative, "írd", "kérdezz"); the bot
# speaking as "mi", never as "én" ("vagyok", "sajnálom").
_HUNGARIAN_SINGULAR = re.compile(
    r"(?<!\w)(?:én|engem|nekem|velem|tőlem|rólam|nálam|enyém|vagyok|tudok|találtam|sajnálom|segíthetek|te"
    r"|téged|neked|veled|tőled|rólad|nálad|hozzád|tiéd|írd|írj|küldd|küldj|próbáld|próbálj|kérdezz|várj"
    r"|válaszolj|szeretnél|akarsz|tudsz)(?!\w)",
    re.IGNORECASE,
)
_HUNGARIAN_YOU = re.compile(r"(?<!\w)(?:ön|önnek|önt|önnel|öntől|önhöz|önről|önök\w*)(?!\w)", re.IGNORECASE)


def test_hungarian_catalog_says_on_with_a_capital_and_speaks_as_we() -> None:
    """Hungarian companies' support chat addresses the customer formally, as "Ön", capitalised in every
    position ("Szeretné, ha összekapcsolnánk Önt …", "az Ön kérdésével kapcsolatban"), with the formal
    imperative ("írja be", "próbálja újra"), and speaks as "mi" ("Sajnáljuk, ezt nem találtuk meg", "Miben
    segíthetünk?"): no "te", "neked", "írd", "én" or "sajnálom", except in the contact questions, which are
    the customer's words searched for. Quotes are Hungarian „…”, never '"'; a text asks as many questions as
    its source; the place in line is "Az Ön helye a sorban: 3", which fits every number, and a number is
    followed by a singular noun, "2 perc", "40 másodperc"."""
    asked = {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}
    for message in _po("hu"):
        if not message.id:
            continue
        text = str(message.string)
        if message.id not in asked:
            assert not _HUNGARIAN_SINGULAR.search(text), message.id
        for you in _HUNGARIAN_YOU.finditer(text):
            assert you.group()[0].isupper(), (you.group(), message.id)
        assert '"' not in text, message.id
        assert text.count("„") == text.count("”"), message.id
        assert text.count("?") == str(message.id).count("?"), message.id
    help_text = texts.translate(tg_texts.HELP, "hu")
    assert "„Beszélgetés ügyintézővel”" in help_text
    wait = texts.translate(texts.WAIT_MINUTES, "hu").format(position=3, minutes=2)
    assert wait == "Az Ön helye a sorban: 3. A válasz körülbelül 2 perc múlva kezd megjelenni."
    seconds = texts.translate(texts.WAIT_SECONDS, "hu").format(position=1, seconds=40)
    assert seconds.endswith(" körülbelül 40 másodperc múlva kezd megjelenni.")
    # Hungarian counts two plural forms (one, other) in babel's header for "hu".
    assert _po("hu").plural_forms == Catalog(locale="hu").plural_forms
    assert _po("hu").num_plurals == 2


# The bot speaking as "my", never as "ja"; the customer addressed as "Ty" and never as "Pan", "Pani" or
# "Państwo", which tell (or guess) the customer's gender and number, nor in the plural "Wy".
_POLISH_SINGULAR = re.compile(
    r"(?<!\w)(?:ja|mnie|mną|mój|moja|moje|mojego|mojej|mogę|jestem|przepraszam|wiem|sprawdzę|pan|pani|panu"
    r"|panią|pana|państwo|państwa|państwu|państwem|wy|wam|was|wasz\w*)(?!\w)",
    re.IGNORECASE,
)
# A past tense, a conditional or an adjective that tells the customer's gender ("pytałeś" / "pytałaś",
# "chciałbyś" / "chciałabyś", "gotowy" / "gotowa").
_POLISH_GENDERED = re.compile(
    r"\w(?:łeś|łaś|łbyś|łabyś)(?!\w)|(?<!\w)(?:gotowy|gotowa|pewien|pewna|pewny|zalogowany|zalogowana"
    r"|zainteresowany|zainteresowana|sam|sama)(?!\w)",
    re.IGNORECASE,
)
_POLISH_YOU = re.compile(
    r"(?<!\w)(?:ty|ciebie|cię|ci|tobie|tobą|twój|twoja|twoje|twojego|twojej|twojemu|twoim|twoją|twoich"
    r"|twoimi)(?!\w)",
    re.IGNORECASE,
)


def test_polish_catalog_says_ty_with_a_capital_and_nothing_of_the_customers_gender() -> None:
    """Polish support chat bots (Allegro's, InPost's, the banks') address the customer as "Ty", capitalised
    in every position ("W czym możemy Ci pomóc?", "Twoje pytanie"), and speak as "my" ("Przepraszamy, nie
    znaleźliśmy…"): no "ja", "mogę" or "przepraszam", except in the contact questions, which are the
    customer's words searched for; and no "Pan", "Pani" or "Państwo", nor a past tense, a conditional or an
    adjective of the customer's, which would tell their gender ("pytałeś" / "pytałaś"): "what you asked" is
    "o co pytasz", in the present. Quotes are Polish „…”, never '"'; a text asks as many questions as its
    source; the minutes and seconds of the place in line are "min" and "s"."""
    asked = {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}
    for message in _po("pl"):
        if not message.id:
            continue
        text = str(message.string)
        if message.id not in asked:
            assert not _POLISH_SINGULAR.search(text), message.id
        assert not _POLISH_GENDERED.search(text), message.id
        for you in _POLISH_YOU.finditer(text):
            assert you.group()[0].isupper(), (you.group(), message.id)
        assert '"' not in text, message.id
        assert text.count("„") == text.count("”"), message.id
        assert text.count("?") == str(message.id).count("?"), message.id
    help_text = texts.translate(tg_texts.HELP, "pl")
    assert "„Porozmawiaj z konsultantem”" in help_text
    wait = texts.translate(texts.WAIT_MINUTES, "pl").format(position=3, minutes=2)
    assert wait == "Twoje miejsce w kolejce: 3. Odpowiedź powinna zacząć się pojawiać za ok. 2 min."
    assert texts.translate(texts.WAIT_SECONDS, "pl").format(position=1, seconds=40).endswith(" za ok. 40 s.")
    # Polish counts three plural forms (one, few, many): the header babel writes for "pl".
    assert _po("pl").plural_forms == Catalog(locale="pl").plural_forms
    assert _po("pl").num_plurals == 3


def test_template_is_up_to_date() -> None:
    with (LOCALES / f"{texts.DOMAIN}.pot").open("rb") as handle:
        template = read_po(handle)
    assert {str(m.id) for m in template if m.id} == _extracted()


@pytest.mark.parametrize("code", SHIPPED)
def test_placeholders_match(code: str) -> None:
    for message in _po(code):
        if message.id:
            assert _placeholders(str(message.string)) == _placeholders(str(message.id)), message.id


@pytest.mark.parametrize("code", SHIPPED)
def test_compiled_catalog_matches_its_source(code: str) -> None:
    catalog = _po(code)
    fresh = io.BytesIO()
    write_mo(fresh, catalog)
    fresh.seek(0)
    expected = gettext.GNUTranslations(fresh)
    shipped = texts.translation(code)
    for message in catalog:
        if message.id:
            assert shipped.gettext(str(message.id)) == expected.gettext(str(message.id)), (
                f"{code}: the .mo is stale; run `pybabel compile -d bot/locales -D messages`"
            )


def test_catalogs_ship_in_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    bot_dir = ROOT / "bot"
    for code in SHIPPED:
        for suffix in ("po", "mo"):
            path = LOCALES / texts.CATALOGS[code] / "LC_MESSAGES" / f"{texts.DOMAIN}.{suffix}"
            relative = path.relative_to(bot_dir)
            assert path.is_file()
            assert any(relative.match(pattern) for pattern in patterns), relative


def test_pipeline_texts_are_the_pipelines() -> None:
    """bot/rag/pipeline.py owns the fixed outcome texts; the marked copies must be the same words."""
    assert texts.PIPELINE_TEXTS == {
        "refused": pipeline.REFUSAL_TEXT,
        "kb_unavailable": pipeline.KB_UNAVAILABLE_TEXT,
        "busy": pipeline.BUSY_TEXT,
        "model_error": pipeline.MODEL_ERROR_TEXT,
        "empty": pipeline.EMPTY_TEXT,
        "too_long": pipeline.TOO_LONG_TEXT,
        "ungrounded_caveat": pipeline.UNGROUNDED_CAVEAT,
        "outline_lead": pipeline.OUTLINE_LEAD,
    }


def test_translate_and_fallbacks() -> None:
    refusal = texts.PIPELINE_TEXTS["refused"]
    assert texts.translate(refusal, "zh").startswith("抱歉")
    # Traditional script has its own catalog, whichever tag names it.
    traditional = texts.translate(refusal, "zh-Hant")
    assert traditional.startswith("抱歉")
    assert "幫助中心" in traditional
    assert traditional != texts.translate(refusal, "zh")
    assert texts.translate(refusal, "zh-TW") == texts.translate(refusal, "zh_hk") == traditional
    simplified = texts.translate(refusal, "zh")
    assert texts.translate(refusal, "zh-Hans") == texts.translate(refusal, "zh-CN") == simplified
    assert texts.translate(refusal, "en") == refusal
    assert texts.translate(refusal, "ja").startswith("申し訳ありません")
    assert texts.translate(refusal, "ko").startswith("죄송합니다")
    assert texts.translate(refusal, "fi") == refusal  # no catalog: English
    assert texts.translate(refusal, "und") == refusal
    assert texts.translate("not a marked text", "de") == "not a marked text"
    assert texts.translate(tg_texts.START, "de").format(name="Anna").startswith("Hallo Anna!")
    assert texts.shown_language("pt-BR") == "pt"
    assert texts.translate(refusal, "pt-BR").startswith("Desculpe")
    # An Italian trial read every refusal, lead and button in English.
    assert texts.shown_language("it-IT") == "it"
    assert texts.translate(refusal, "it").startswith("Mi dispiace")
    # Dutch customers (the Netherlands and Flanders) read every fixed text in English; addressed as "je".
    assert texts.shown_language("nl-BE") == "nl"
    assert texts.translate(refusal, "nl").startswith("Het spijt me")
    assert texts.translate(tg_texts.START, "nl").format(name="Sanne").startswith("Hoi Sanne!")
    # An Indonesian trial (an e-wallet's help center) read every refusal, lead and button in English;
    # addressed as "Anda", as Indonesian apps' customer service does.
    assert texts.shown_language("id-ID") == "id"
    assert texts.shown_language("in") == "id"  # Java's and old Android's code for Indonesian
    assert texts.translate(refusal, "id").startswith("Mohon maaf, saya tidak menemukan")
    assert texts.translate(texts.UNSURE_LEAD, "id").startswith("Ini mungkin tidak persis")
    assert texts.translate(tg_texts.START, "id").format(name="Budi").startswith("Halo Budi!")
    assert texts.shown_language("ms") == "en"  # Malay has no catalog
    # A Turkish marketplace's trial read every refusal, lead and button in English; addressed as "siz", as
    # Turkish customer service does.
    assert texts.shown_language("tr-TR") == "tr"
    assert texts.translate(refusal, "tr").startswith("Üzgünüm, bu konuyu yardım merkezimizde bulamadım")
    assert texts.translate(texts.UNSURE_LEAD, "tr").startswith("Tam olarak sorduğunuz bu olmayabilir")
    assert texts.translate(tg_texts.START, "tr").format(name="Ayşe").startswith("Merhaba Ayşe!")
    # A Vietnamese trial (a telecom's help center) read every refusal, lead and button in English;
    # addressed as "bạn", as Vietnamese apps' support chat does.
    assert texts.shown_language("vi-VN") == "vi"
    assert texts.translate(refusal, "vi").startswith("Rất tiếc, mình không tìm thấy")
    assert texts.translate(texts.UNSURE_LEAD, "vi").startswith("Có thể đây chưa đúng hẳn")
    assert texts.translate(tg_texts.START, "vi").format(name="Lan").startswith("Chào Lan!")
    # Thai customers read every refusal, lead and button in English; addressed as "คุณ", the bot speaking
    # as "เรา", with none of the particles that tell the speaker's gender (ครับ, ค่ะ), as Thai apps' support
    # chat does.
    assert texts.shown_language("th-TH") == "th"
    assert texts.translate(refusal, "th").startswith("ขออภัย เราไม่พบข้อมูลนี้ในศูนย์ช่วยเหลือ")
    assert texts.translate(texts.UNSURE_LEAD, "th").startswith("ข้อมูลนี้อาจไม่ตรงกับที่คุณถาม")
    assert texts.translate(tg_texts.START, "th").format(name="Somchai").startswith("สวัสดีคุณ Somchai")
    # Hindi customers read every refusal, lead and button in English; addressed as "आप", the bot speaking as
    # "हम", with the loanwords Indian apps write (मैसेज, हेल्प सेंटर, सपोर्ट टीम).
    assert texts.shown_language("hi-IN") == "hi"
    assert texts.translate(refusal, "hi").startswith("माफ़ कीजिए, यह जानकारी हमारे हेल्प सेंटर में नहीं मिली")
    assert texts.translate(texts.UNSURE_LEAD, "hi").startswith("हो सकता है यह ठीक वही न हो")
    assert texts.translate(tg_texts.START, "hi").format(name="Priya").startswith("नमस्ते Priya!")
    # Arabic customers (the Gulf, Egypt, the Levant) read every refusal, lead and button in English; Modern
    # Standard Arabic, the bot speaking as "we", the customer addressed by no verb that tells their gender.
    assert texts.shown_language("ar-SA") == "ar"
    assert (texts.direction("ar-SA"), texts.direction("en"), texts.direction("ur")) == ("rtl", "ltr", "ltr")
    assert texts.shown_language("ar_EG") == "ar"
    assert texts.translate(refusal, "ar").startswith("عذرًا، لم نجد هذه المعلومة في مركز المساعدة لدينا")
    assert texts.translate(texts.UNSURE_LEAD, "ar").startswith("قد لا يطابق هذا سؤالك تمامًا")
    start = texts.translate(tg_texts.START, "ar").format(name="Ahmed")
    assert start.startswith("مرحبًا Ahmed! معك مساعد الدعم")
    # Persian customers read every refusal, lead and button in English; addressed as "شما", the bot speaking
    # as "ما", as Iranian apps' support chat does; laid out right to left, as Arabic is.
    assert texts.shown_language("fa-IR") == "fa"
    assert (texts.direction("fa-IR"), texts.direction("fa")) == ("rtl", "rtl")
    refused = texts.translate(refusal, "fa")
    assert refused.startswith("متأسفیم، پاسخ این سؤال را در مرکز راهنمایی پیدا نکردیم")
    assert texts.translate(texts.UNSURE_LEAD, "fa").startswith("شاید این دقیقاً همان چیزی نباشد که پرسیدید")
    start = texts.translate(tg_texts.START, "fa").format(name="Maryam")
    assert start.startswith("سلام Maryam! دستیار پشتیبانی در خدمت شماست.")
    # Greek customers read every refusal, lead and button in English; addressed in the polite plural, the bot
    # speaking as "εμείς", as Greek apps' support chat does.
    assert texts.shown_language("el-GR") == "el"
    assert texts.direction("el") == "ltr"
    refused = texts.translate(refusal, "el")
    assert refused.startswith("Λυπούμαστε, δεν βρήκαμε αυτή την πληροφορία στο κέντρο βοήθειάς μας")
    assert texts.translate(texts.UNSURE_LEAD, "el").startswith("Ίσως δεν είναι ακριβώς αυτό που ρωτήσατε")
    start = texts.translate(tg_texts.START, "el").format(name="Eleni")
    assert start.startswith("Γεια σας, Eleni! Εδώ ο βοηθός υποστήριξης.")
    # Ukrainian customers read every refusal, lead and button in English; addressed as "ви", the bot speaking
    # as "ми", as Ukrainian companies' support chat does.
    assert texts.shown_language("uk-UA") == "uk"
    assert texts.direction("uk") == "ltr"
    refused = texts.translate(refusal, "uk")
    assert refused.startswith("Перепрошуємо, ми не знайшли цієї інформації в нашому довідковому центрі")
    assert texts.translate(texts.UNSURE_LEAD, "uk").startswith("Можливо, це не зовсім те, про що ви питали")
    start = texts.translate(tg_texts.START, "uk").format(name="Oksana")
    assert start.startswith("Вітаємо, Oksana! На зв’язку асистент служби підтримки.")
    # Hebrew customers read every refusal, lead and button in English; the bot speaking as "אנחנו", the
    # customer asked in forms that do not tell their gender, as Israeli apps' support chat does; laid out
    # right to left, as Arabic and Persian are.
    assert texts.shown_language("he-IL") == "he"
    assert texts.shown_language("iw") == "he"  # Java's and old Android's code for Hebrew
    assert (texts.direction("he-IL"), texts.direction("he")) == ("rtl", "rtl")
    refused = texts.translate(refusal, "he")
    assert refused.startswith("מצטערים, לא מצאנו את המידע הזה במרכז העזרה שלנו, ולכן נעדיף לא לנחש.")
    assert refused.endswith("לחבר אותך לנציג מצוות התמיכה שלנו?")
    assert texts.translate(texts.UNSURE_LEAD, "he").startswith("ייתכן שזה לא בדיוק מה ששאלת")
    start = texts.translate(tg_texts.START, "he").format(name="Noa")
    assert start.startswith("שלום Noa! כאן העוזר הווירטואלי של התמיכה.")
    # Czech customers read every refusal, lead and button in English; addressed as "Vy", capitalised, the bot
    # speaking as "my", as Czech companies' support chat does. Slovak has no catalog: English.
    assert texts.shown_language("cs-CZ") == "cs"
    assert texts.direction("cs") == "ltr"
    refused = texts.translate(refusal, "cs")
    assert refused.startswith("Omlouváme se, tuto informaci jsme v našem centru nápovědy nenašli")
    assert refused.endswith("Chcete, abychom Vás spojili s operátorem zákaznické podpory?")
    assert texts.translate(texts.UNSURE_LEAD, "cs").startswith("Možná to není přesně to, na co se ptáte")
    start = texts.translate(tg_texts.START, "cs").format(name="Jiří")
    assert start.startswith("Dobrý den, Jiří! Píše Vám asistent zákaznické podpory.")
    assert texts.shown_language("sk") == "en"
    # Swedish customers read every refusal, lead and button in English; addressed as "du", the bot speaking as
    # "vi", as Swedish companies' support chat does. Norwegian and Danish have no catalog: English.
    assert texts.shown_language("sv-SE") == "sv"
    assert texts.shown_language("sv-FI") == "sv"
    assert texts.direction("sv") == "ltr"
    refused = texts.translate(refusal, "sv")
    assert refused.startswith("Tyvärr hittade vi inte det här i vårt hjälpcenter")
    assert refused.endswith("Vill du att vi kopplar dig till en medarbetare på kundtjänst?")
    assert texts.translate(texts.UNSURE_LEAD, "sv").startswith("Det här är kanske inte exakt det du frågade")
    start = texts.translate(tg_texts.START, "sv").format(name="Astrid")
    assert start.startswith("Hej Astrid! Du chattar med kundtjänstens digitala assistent.")
    assert (texts.shown_language("nb"), texts.shown_language("no"), texts.shown_language("da")) == ("en",) * 3
    # Hungarian customers read every refusal, lead and button in English; addressed as "Ön", capitalised, the
    # bot speaking as "mi", as Hungarian companies' support chat does.
    assert texts.shown_language("hu-HU") == "hu"
    assert texts.direction("hu") == "ltr"
    refused = texts.translate(refusal, "hu")
    assert refused.startswith("Sajnáljuk, ezt nem találtuk meg súgóközpontunkban")
    assert refused.endswith("Szeretné, ha összekapcsolnánk Önt ügyfélszolgálatunk egyik ügyintézőjével?")
    assert texts.translate(texts.UNSURE_LEAD, "hu").startswith(
        "Lehet, hogy nem pontosan ez az, amit kérdezett"
    )
    start = texts.translate(tg_texts.START, "hu").format(name="Zsófia")
    assert start.startswith(
        "Jó napot kívánunk, Zsófia! Az ügyfélszolgálat virtuális asszisztense üdvözli Önt."
    )
    # Polish customers read every refusal, lead and button in English; addressed as "Ty", capitalised, the bot
    # speaking as "my", as Polish support chat bots do, in no form that tells the customer's gender.
    assert texts.shown_language("pl-PL") == "pl"
    assert texts.direction("pl") == "ltr"
    refused = texts.translate(refusal, "pl")
    assert refused.startswith("Przepraszamy, nie znaleźliśmy tej informacji w naszym centrum pomocy")
    assert refused.endswith(
        "Czy chcesz, abyśmy połączyli Cię z konsultantem z naszego zespołu obsługi klienta?"
    )
    assert texts.translate(texts.UNSURE_LEAD, "pl").startswith("Może to nie być dokładnie to, o co pytasz")
    start = texts.translate(tg_texts.START, "pl").format(name="Kasia")
    assert start.startswith("Dzień dobry, Kasia! Tu asystent obsługi klienta.")
    assert texts.shown_language("fi") == "en"
    assert texts.shown_language("RU") == "ru"


def test_answer_texts_are_localised_only_where_fixed() -> None:
    caveat = texts.PIPELINE_TEXTS["ungrounded_caveat"]
    assert texts.localize_answer_text(texts.PIPELINE_TEXTS["busy"], "fr").startswith("Je réponds")
    ungrounded = f"{caveat}\n\nThe locker opens with the code."
    shown = texts.localize_answer_text(ungrounded, "de")
    assert shown.startswith("Hinweis:")
    assert shown.endswith("\n\nThe locker opens with the code.")
    assert texts.localize_answer_text("A model's answer [1].", "ru") == "A model's answer [1]."
    assert texts.localize_answer_text(ungrounded, "en") == ungrounded
    # An article's parts stay as the help center names them; only the line over them is translated.
    outline = f"{texts.PIPELINE_TEXTS['outline_lead']}\n• Refund window\n• Late delivery"
    assert (
        texts.localize_answer_text(outline, "zh")
        == "您的问题是关于以下哪一项？\n• Refund window\n• Late delivery"
    )


def test_the_help_centers_languages_are_named_as_one_or_as_several() -> None:
    one = texts.kb_language_hint(("en",), "de")
    several = texts.kb_language_hint(("en", "zh"), "de")
    assert one == texts.translate(texts.ASK_IN_KB_LANGUAGE, "de").format(languages="Englisch")
    # "ask me in that language" after naming two was the German refusal a trial read.
    assert several == texts.translate(texts.ASK_IN_KB_LANGUAGES, "de").format(
        languages="Englisch / Chinesisch"
    )
    assert "in dieser Sprache," not in several
    # Dutch names the language with its article, as Dutch writes it ("in het Engels").
    assert texts.kb_language_hint(("en",), "nl").startswith("Ons helpcentrum is geschreven in het Engels.")
    assert texts.kb_language_hint(("nl",), "de").startswith("Unser Hilfe-Center ist auf Niederländisch")
    # Indonesian names a language with "bahasa", as Indonesian writes it ("dalam bahasa Inggris").
    hint = texts.kb_language_hint(("en",), "id")
    assert hint.startswith("Pusat bantuan kami ditulis dalam bahasa Inggris.")
    assert texts.kb_language_hint(("id",), "de").startswith("Unser Hilfe-Center ist auf Indonesisch")
    # Turkish names a language by its adverb, without "dilinde" ("İngilizce hazırlanmıştır").
    hint = texts.kb_language_hint(("en",), "tr")
    assert hint.startswith("Yardım merkezimiz İngilizce hazırlanmıştır.")
    assert texts.kb_language_hint(("tr",), "de").startswith("Unser Hilfe-Center ist auf Türkisch")
    # Vietnamese names a language with "tiếng" ("bằng tiếng Anh"); an English customer of the Vietnamese
    # trial's help center read "written in vi".
    hint = texts.kb_language_hint(("en",), "vi")
    assert hint.startswith("Trung tâm trợ giúp của chúng tôi được viết bằng tiếng Anh.")
    assert texts.kb_language_hint(("vi",), "en").startswith("Our help center is written in Vietnamese.")
    assert texts.kb_language_hint(("vi",), "id").startswith("Pusat bantuan kami ditulis dalam bahasa Vietnam")
    # Thai names a language with "ภาษา", written on from "เป็น" without a space ("เขียนเป็นภาษาอังกฤษ").
    hint = texts.kb_language_hint(("en",), "th")
    assert hint.startswith("ศูนย์ช่วยเหลือของเราเขียนเป็นภาษาอังกฤษ หากสะดวก")
    assert texts.kb_language_hint(("th",), "en").startswith("Our help center is written in Thai.")
    assert texts.kb_language_hint(("th",), "de").startswith("Unser Hilfe-Center ist auf Thailändisch")
    # Hindi names a language as it is ("अंग्रेज़ी में लिखा गया है").
    hint = texts.kb_language_hint(("en",), "hi")
    assert hint.startswith("हमारा हेल्प सेंटर अंग्रेज़ी में लिखा गया है।")
    assert texts.kb_language_hint(("hi",), "en").startswith("Our help center is written in Hindi.")
    assert texts.kb_language_hint(("hi",), "th").startswith("ศูนย์ช่วยเหลือของเราเขียนเป็นภาษาฮินดี")
    # Arabic names a language as "اللغة" and its adjective ("مكتوب باللغة الإنجليزية"), several as "اللغات".
    hint = texts.kb_language_hint(("en",), "ar")
    assert hint.startswith("مركز المساعدة لدينا مكتوب باللغة الإنجليزية. إن أمكن،")
    several = texts.kb_language_hint(("en", "ar"), "ar")
    assert several.startswith("مركز المساعدة لدينا مكتوب باللغات الإنجليزية / العربية.")
    assert texts.kb_language_hint(("ar",), "en").startswith("Our help center is written in Arabic.")
    assert texts.kb_language_hint(("ar",), "de").startswith("Unser Hilfe-Center ist auf Arabisch")
    # Persian names a language with "زبان" ("به زبان انگلیسی نوشته شده است"), several with "زبان‌های".
    hint = texts.kb_language_hint(("en",), "fa")
    assert hint.startswith("مرکز راهنمایی ما به زبان انگلیسی نوشته شده است. اگر برایتان ممکن است،")
    several = texts.kb_language_hint(("en", "fa"), "fa")
    assert several.startswith("مرکز راهنمایی ما به زبان\u200cهای انگلیسی / فارسی نوشته شده است.")
    assert texts.kb_language_hint(("fa",), "en").startswith("Our help center is written in Persian.")
    assert texts.kb_language_hint(("fa",), "de").startswith("Unser Hilfe-Center ist auf Persisch")
    assert texts.kb_language_hint(("fa",), "ar").startswith("مركز المساعدة لدينا مكتوب باللغة الفارسية.")
    # Greek names a language with its article, lower-cased as Greek writes it mid-sentence ("στα αγγλικά").
    hint = texts.kb_language_hint(("en",), "el")
    assert hint.startswith("Το κέντρο βοήθειάς μας είναι γραμμένο στα αγγλικά. Αν μπορείτε,")
    several = texts.kb_language_hint(("en", "el"), "el")
    assert several.startswith("Το κέντρο βοήθειάς μας είναι γραμμένο στα αγγλικά / ελληνικά.")
    assert texts.kb_language_hint(("el",), "en").startswith("Our help center is written in Greek.")
    assert texts.kb_language_hint(("el",), "de").startswith("Unser Hilfe-Center ist auf Griechisch")
    assert texts.kb_language_hint(("el",), "fa").startswith("مرکز راهنمایی ما به زبان یونانی نوشته شده است.")
    # Ukrainian names a language in the instrumental, without "мовою", as Ukrainian writes it ("написано
    # англійською"), and several alike ("англійською / українською").
    hint = texts.kb_language_hint(("en",), "uk")
    assert hint.startswith("Статті нашого довідкового центру написано англійською. Якщо можете,")
    several = texts.kb_language_hint(("en", "uk"), "uk")
    assert several.startswith("Статті нашого довідкового центру написано англійською / українською.")
    assert texts.kb_language_hint(("uk",), "en").startswith("Our help center is written in Ukrainian.")
    assert texts.kb_language_hint(("uk",), "de").startswith("Unser Hilfe-Center ist auf Ukrainisch")
    assert texts.kb_language_hint(("uk",), "ru").startswith(
        "Наш справочный центр написан на языке: украинский."
    )
    # Hebrew names a language after the prefix "ב" ("כתוב באנגלית"), several alike ("באנגלית / עברית").
    hint = texts.kb_language_hint(("en",), "he")
    assert hint.startswith("מרכז העזרה שלנו כתוב באנגלית. אם אפשר,")
    several = texts.kb_language_hint(("en", "he"), "he")
    assert several.startswith("מרכז העזרה שלנו כתוב באנגלית / עברית.")
    assert texts.kb_language_hint(("he",), "en").startswith("Our help center is written in Hebrew.")
    assert texts.kb_language_hint(("he",), "de").startswith("Unser Hilfe-Center ist auf Hebräisch")
    assert texts.kb_language_hint(("he",), "uk").startswith(
        "Статті нашого довідкового центру написано івритом."
    )
    # Czech names a language by its adverb, lower-cased, without "v jazyce" ("je napsané anglicky"), and
    # several alike ("anglicky / česky").
    hint = texts.kb_language_hint(("en",), "cs")
    assert hint.startswith("Naše centrum nápovědy je napsané anglicky. Pokud můžete,")
    several = texts.kb_language_hint(("en", "cs"), "cs")
    assert several.startswith("Naše centrum nápovědy je napsané anglicky / česky.")
    assert "v jednom z těchto jazyků" in several
    assert texts.kb_language_hint(("cs",), "en").startswith("Our help center is written in Czech.")
    assert texts.kb_language_hint(("cs",), "de").startswith("Unser Hilfe-Center ist auf Tschechisch")
    assert texts.kb_language_hint(("cs",), "uk").startswith(
        "Статті нашого довідкового центру написано чеською."
    )
    # Swedish names a language lower-cased after "på" ("skrivet på engelska"), and several alike ("på engelska
    # / svenska").
    hint = texts.kb_language_hint(("en",), "sv")
    assert hint.startswith("Vårt hjälpcenter är skrivet på engelska. Ställ gärna frågan på det språket")
    several = texts.kb_language_hint(("en", "sv"), "sv")
    assert several.startswith("Vårt hjälpcenter är skrivet på engelska / svenska.")
    assert "på något av de språken" in several
    assert texts.kb_language_hint(("sv",), "en").startswith("Our help center is written in Swedish.")
    assert texts.kb_language_hint(("sv",), "de").startswith("Unser Hilfe-Center ist auf Schwedisch")
    assert texts.kb_language_hint(("sv",), "cs").startswith("Naše centrum nápovědy je napsané švédsky.")
    # Hungarian names a language by its adjective, lower-cased, before "nyelven" ("angol nyelven készült"),
    # and several alike ("angol / magyar nyelven").
    hint = texts.kb_language_hint(("en",), "hu")
    assert hint.startswith("Súgóközpontunk angol nyelven készült. Ha teheti,")
    several = texts.kb_language_hint(("en", "hu"), "hu")
    assert several.startswith("Súgóközpontunk angol / magyar nyelven készült.")
    assert "ezen nyelvek egyikén" in several
    assert texts.kb_language_hint(("hu",), "en").startswith("Our help center is written in Hungarian.")
    assert texts.kb_language_hint(("hu",), "de").startswith("Unser Hilfe-Center ist auf Ungarisch")
    assert texts.kb_language_hint(("hu",), "sv").startswith("Vårt hjälpcenter är skrivet på ungerska.")
    # Polish names a language in the locative after "w języku" ("dostępne w języku angielskim"), and several
    # alike ("w języku angielskim / polskim").
    hint = texts.kb_language_hint(("en",), "pl")
    assert hint.startswith("Nasze centrum pomocy jest dostępne w języku angielskim. Jeśli możesz,")
    several = texts.kb_language_hint(("en", "pl"), "pl")
    assert several.startswith("Nasze centrum pomocy jest dostępne w języku angielskim / polskim.")
    assert "w jednym z tych języków" in several
    assert texts.kb_language_hint(("pl",), "en").startswith("Our help center is written in Polish.")
    assert texts.kb_language_hint(("pl",), "de").startswith("Unser Hilfe-Center ist auf Polnisch")
    assert texts.kb_language_hint(("pl",), "cs").startswith("Naše centrum nápovědy je napsané polsky.")
    assert texts.kb_language_hint(("pl",), "hu").startswith("Súgóközpontunk lengyel nyelven készült.")
    assert texts.kb_language_hint(("en", "en-GB"), "en") == texts.ASK_IN_KB_LANGUAGE.format(
        languages="English"
    )
