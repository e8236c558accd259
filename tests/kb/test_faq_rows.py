"""A bad row of a FAQ file is named precisely: which row or line, which cell, and where the JSON breaks."""

from __future__ import annotations

import pytest

from bot.kb.loaders import load_bytes
from bot.kb.parsers import LoadError


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        # A row cut short (no answer cell at all) and a row with the cell left empty read the same.
        ("faq.csv", b"question,answer\nHow?,Like this\nWhy?\n", "row 3: the answer is empty"),
        ("faq.csv", b"question,answer\nHow?,Like this\nWhy?,\n", "row 3: the answer is empty"),
        ("faq.csv", b"question,answer\nHow?,Like this\n,Because\n", "row 3: the question is empty"),
        ("faq.jsonl", b'{"question": "q", "answer": null}\n', "line 1: the answer is empty"),
        (
            "faq.yaml",
            b"- question: Q?\n  answer: A.\n- question: R?\n  answer:\n",
            "entry 2: the answer is empty",
        ),
    ],
)
def test_an_empty_cell_is_named_not_reported_as_a_missing_column(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(LoadError) as excinfo:
        load_bytes(name, "." + name.rsplit(".", 1)[1], data)
    assert str(excinfo.value) == reason


def test_blank_spreadsheet_rows_are_ignored_but_a_half_empty_row_is_named() -> None:
    doc = load_bytes("faq.csv", ".csv", b"question,answer\nHow?,Like this\n,\nWhy?,Because\n")
    assert [s.heading for s in doc.sections] == ["How?", "Why?"]
    with pytest.raises(LoadError, match="^row 4: the answer is empty$"):
        load_bytes("faq.csv", ".csv", b"question,answer\nHow?,Like this\n,\nWhy?,\n")


def test_bad_jsonl_lines_give_line_and_column_and_how_many_more() -> None:
    data = b'{"question": "a", "answer": "b"}\n{"question": "c", "answer": "d}\nnot json\n{"question": "e"\n'
    with pytest.raises(LoadError) as excinfo:
        load_bytes("faq.jsonl", ".jsonl", data)
    assert str(excinfo.value) == (
        "line 2: invalid JSON at column 29 (Unterminated string) (and 2 more bad lines)"
    )


def test_a_line_separator_inside_a_json_string_does_not_split_the_line() -> None:
    data = '{"question": "Where\u2028now?", "answer": "Here."}\n{"question": "x", "answer": "y"}\n'
    doc = load_bytes("faq.jsonl", ".jsonl", data.encode())
    assert [s.text for s in doc.sections] == ["Here.", "y"]
