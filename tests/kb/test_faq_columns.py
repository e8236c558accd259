"""An FAQ's columns (CSV) and keys (JSONL, YAML) may be named in the help center's own language."""

from __future__ import annotations

import json

import pytest

from bot.kb.loaders import load_bytes
from bot.kb.parsers import LoadError, Section


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("domanda", "risposta"),  # it: the trial's sheet, skipped whole
        ("pregunta", "respuesta"),  # es
        ("question", "réponse"),  # fr
        ("Frage", "Antwort"),  # de
        ("pergunta", "resposta"),  # pt
        ("вопрос", "ответ"),  # ru
        ("问题", "答案"),  # zh-Hans
        ("問題", "答案"),  # zh-Hant
        ("質問", "回答"),  # ja
        ("질문", "답변"),  # ko
        ("vraag", "antwoord"),  # nl
        ("pytanie", "odpowiedź"),  # pl
        # tr: a Turkish marketplace's help center; "ı" has no accent to leave off, so both spellings.
        ("soru", "cevap"),
        ("Sorular", "Yanıt"),
        ("SORU", "YANIT"),
        ("soru", "yanit"),
        # vi: a Vietnamese help center heads its sheet in Vietnamese, with or without marks.
        ("câu hỏi", "trả lời"),
        ("Câu hỏi", "Câu trả lời"),
        ("cau_hoi", "tra_loi"),
        ("cau hoi", "cau tra loi"),
        ("คำถาม", "คำตอบ"),  # th
        ("प्रश्न", "उत्तर"),  # hi
        ("सवाल", "जवाब"),
        ("پرسش", "پاسخ"),  # fa: a ride-hailing trial's sheet
        ("Ερώτηση", "Απάντηση"),  # el
        ("שאלה", "תשובה"),  # he
        ("Питання", "Відповідь"),  # uk
        ("Otázka", "Odpověď"),  # cs
    ],
)
def test_a_csv_header_in_the_help_centers_language_is_read(question: str, answer: str) -> None:
    data = f"{question},{answer}\nHow long does delivery take?,Two days.\n".encode()
    doc = load_bytes("faq.csv", ".csv", data)
    assert [(s.heading, s.text) for s in doc.sections] == [("How long does delivery take?", "Two days.")]


@pytest.mark.parametrize(
    "header",
    [
        "DOMANDA;Risposta",
        " Domanda ; RISPOSTA ",
        "question;reponse",  # the accent left off
        "QUESTION;RÉPONSE",
        "pytanie;odpowiedz",
        # A second byte-order mark (a sheet saved twice as UTF-8): the file's first one is its encoding's.
        "\ufeffdomanda;risposta",
    ],
)
def test_column_names_are_read_without_case_accents_spaces_or_a_byte_order_mark(header: str) -> None:
    data = ("\ufeff" + header + "\nCome cambio indirizzo?;Dall'app.\n").encode()
    doc = load_bytes("faq.csv", ".csv", data)
    assert [(s.heading, s.text) for s in doc.sections] == [("Come cambio indirizzo?", "Dall'app.")]


def _jsonl_sections(record: dict[str, str]) -> list[Section]:
    """The sections of a JSONL FAQ of `record` alone."""
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    return list(load_bytes("faq.jsonl", ".jsonl", data).sections)


def test_the_category_and_link_columns_are_read_in_the_same_languages() -> None:
    data = b"Frage,Antwort,Kategorie,Link\nWie lange dauert der Versand?,Zwei Tage.,Versand,https://h.example/v\n"
    [section] = load_bytes("faq.csv", ".csv", data).sections
    assert section.heading_path == ("Versand", "Wie lange dauert der Versand?")
    assert section.url == "https://h.example/v"
    data = (
        "Soru,Cevap,Kategori,Bağlantı\nKargo kaç günde gelir?,İki günde.,Kargo,https://h.example/k\n".encode()
    )
    [section] = load_bytes("faq.csv", ".csv", data).sections
    assert section.heading_path == ("Kargo", "Kargo kaç günde gelir?")
    assert section.url == "https://h.example/k"
    line = {
        "soru": "İade kaç gün sürer?",
        "yanit": "Beş iş günü.",
        "KATEGORİ": "İade",
        "BAGLANTI": "https://h.example/i",
    }
    [section] = _jsonl_sections(line)
    assert (section.heading_path, section.text, section.url) == (
        ("İade", "İade kaç gün sürer?"),
        "Beş iş günü.",
        "https://h.example/i",
    )


def test_vietnamese_category_and_link_columns_are_read_with_or_without_marks() -> None:
    data = "câu hỏi,trả lời,danh mục,đường dẫn\nNạp thẻ thế nào?,Bấm *100*mã#.,Nạp tiền,https://h.example/n\n"
    [section] = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert section.heading_path == ("Nạp tiền", "Nạp thẻ thế nào?")
    assert section.url == "https://h.example/n"
    line = {
        "cau_hoi": "Nạp thẻ thế nào?",
        "tra_loi": "Bấm *100*mã#.",
        "chuyen muc": "Nạp tiền",
        "duong dan": "/n",
    }
    [section] = _jsonl_sections(line)
    assert (section.heading_path, section.url) == (("Nạp tiền", "Nạp thẻ thế nào?"), "/n")
    data = (
        "Câu hỏi,Câu trả lời,Chuyên mục,Liên kết\nHủy gói thế nào?,Soạn HUY.,Gói cước,https://h.example/h\n"
    )
    [section] = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert (section.heading_path, section.url) == (("Gói cước", "Hủy gói thế nào?"), "https://h.example/h")


def test_jsonl_and_yaml_keys_are_read_in_the_same_languages() -> None:
    line = {"pregunta": "¿Cuánto tarda el envío?", "respuesta": "Dos días.", "categoría": "Envíos"}
    doc = load_bytes("faq.jsonl", ".jsonl", (json.dumps(line, ensure_ascii=False) + "\n").encode())
    [section] = doc.sections
    assert (section.heading_path, section.text) == (("Envíos", "¿Cuánto tarda el envío?"), "Dos días.")
    yaml = "- Вопрос: Сколько идёт посылка?\n  Ответ: Два дня.\n".encode()
    doc = load_bytes("faq.yaml", ".yaml", yaml)
    assert [(s.heading, s.text) for s in doc.sections] == [("Сколько идёт посылка?", "Два дня.")]


def test_an_unknown_header_is_refused_with_the_names_it_may_have() -> None:
    # No column of questions either: nothing tells which cell is asked.
    with pytest.raises(LoadError) as excinfo:
        load_bytes("faq.csv", ".csv", "domande,risposte\nCome cambio indirizzo,Così.\n".encode())
    message = str(excinfo.value)
    assert message.startswith(
        "the CSV needs 'question' and 'answer' columns (found: domande, risposte), "
        "or one column of questions that end with a question mark; "
    )
    for name in ("question", "domanda", "질문", "pytanie", "answer", "risposta", "réponse", "odpowiedź"):
        assert name in message
    found = r"^line 1: needs 'question' and 'answer' \(found: q2, a2\); accepted for the question: .*domanda"
    with pytest.raises(LoadError, match=found):
        load_bytes("faq.jsonl", ".jsonl", b'{"q2": "x", "a2": "y"}\n')


@pytest.mark.parametrize(
    "header",
    [
        "คำถาม,คำตอบ,หมวดหมู่,ลิงก์",
        "คำถาม,คำตอบ,หมวด,ลิงค์",
        "प्रश्न,उत्तर,श्रेणी,लिंक",
        "सवाल,जवाब,कैटेगरी,लिंक",
        "السؤال,الإجابة,الفئة,الرابط",
        "سؤال,الاجابه,التصنيف,رابط",
    ],
)
def test_thai_hindi_and_arabic_category_and_link_columns_are_read(header: str) -> None:
    # Trial help centers headed their sheets so, and the whole FAQ was skipped.
    data = f"{header}\nQ?,A.,Cat,https://h.example/q\n"
    [section] = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert section.heading_path == ("Cat", "Q?")
    assert section.url == "https://h.example/q"


@pytest.mark.parametrize(
    "header",
    ["پرسش,پاسخ,دسته,پیوند", "پرسش,پاسخ,دسته‌بندی,لینک", "Ερώτηση,Απάντηση,Κατηγορία,Σύνδεσμος"],
)
def test_persian_and_greek_category_and_link_columns_are_read(header: str) -> None:
    data = f"{header}\nQ?,A.,Cat,https://h.example/q\n"
    [section] = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert section.heading_path == ("Cat", "Q?")
    assert section.url == "https://h.example/q"


def test_a_sheet_headed_in_a_language_not_listed_is_read_by_its_cells() -> None:
    # Hungarian, listed nowhere: the column of questions is the one whose cells end with "?", the answer the
    # longest other one; links are links whatever their column's name, a category keeps its column's name.
    data = (
        "Kérdés,Hivatkozás,Témakör,Válasz\n"
        "Mennyi ideig tart a szállítás?,https://h.example/sz,Szállítás,Két munkanap az automatáig.\n"
        "Hogyan mondom le a rendelést?,/lemondas,Rendelés,A Rendeléseim oldalon a Lemondás gombbal.\n"
    )
    sections = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert [(s.heading, s.text, s.url, s.heading_path) for s in sections] == [
        (
            "Mennyi ideig tart a szállítás?",
            "Két munkanap az automatáig.",
            "https://h.example/sz",
            ("Mennyi ideig tart a szállítás?",),
        ),
        (
            "Hogyan mondom le a rendelést?",
            "A Rendeléseim oldalon a Lemondás gombbal.",
            "/lemondas",
            ("Hogyan mondom le a rendelést?",),
        ),
    ]
    # Greek asks with ";" (its question mark, or the semicolon its keyboards type); Persian with "؟".
    greek = "Ερώτημα,Λύση\nΠότε έρχεται η παραγγελία;,Σε δύο εργάσιμες.\nΠόσο κοστίζει;,Τρία ευρώ.\n"
    sections = load_bytes("faq.csv", ".csv", greek.encode()).sections
    assert [s.heading for s in sections] == ["Πότε έρχεται η παραγγελία;", "Πόσο κοστίζει;"]
    question, answer = "کیف پول چطور شارژ میشه؟", "از صفحه کیف پول گزینه افزایش اعتبار."
    persian = f"سؤالات متداول,توضیح\n{question},{answer}\n"
    [section] = load_bytes("faq.csv", ".csv", persian.encode()).sections
    assert (section.heading, section.text) == (question, answer)


def test_a_sheet_without_a_header_row_keeps_its_first_question() -> None:
    data = "How long does delivery take?,Two days.\nIs it free?,No.\n"
    sections = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert [(s.heading, s.text) for s in sections] == [
        ("How long does delivery take?", "Two days."),
        ("Is it free?", "No."),
    ]
    # A first question that does not ask: its answer is a sentence, which no column's name is.
    data = "Shipping costs,Shipping is free from 50 euros.\nIs it fast?,Two days.\nCan I return?,Yes.\n"
    sections = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert [s.heading for s in sections] == ["Shipping costs", "Is it fast?", "Can I return?"]


def test_a_sheet_read_by_its_cells_ignores_its_empty_rows() -> None:
    # A spreadsheet's export ends in rows of empty cells: they are no rows that do not ask.
    data = "Fråga,Svar\nHur lång tid tar leveransen?,Två dagar.\nÄr det gratis?,Nej.\n,,\n,,\n,,\n"
    sections = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert [s.heading for s in sections] == ["Hur lång tid tar leveransen?", "Är det gratis?"]


def test_persian_column_names_typed_on_an_arabic_keyboard_are_read() -> None:
    data = "پرسش,پاسخ,دسته‌بندي,پيوند\nQ?,A.,Cat,https://h.example/q\n"
    [section] = load_bytes("faq.csv", ".csv", data.encode()).sections
    assert (section.heading_path, section.url) == (("Cat", "Q?"), "https://h.example/q")


@pytest.mark.parametrize(
    "data",
    [
        # Two columns ask: which one is answered is not told.
        "a,b\nWhy?,Why not?\nHow?,Who?\n",
        # Semicolons end code, not questions, outside Greek.
        "x,y\nlet a = 1;,Declares a.\nlet b = 2;,Declares b.\n",
        # Fewer than half of the rows ask.
        "x,y\nDelivery,Two days.\nReturns,Free.\nCost?,Three euros.\n",
    ],
)
def test_a_sheet_whose_cells_do_not_tell_is_still_refused(data: str) -> None:
    with pytest.raises(LoadError, match="or one column of questions that end with a question mark"):
        load_bytes("faq.csv", ".csv", data.encode())
