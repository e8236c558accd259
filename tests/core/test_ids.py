"""Ids typed by people or sent back by clients: ASCII digits that fit the database's integers."""

from __future__ import annotations

import pytest

from bot.ids import MAX_ID, MAX_NUMBER, parse_id, parse_number, storable_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("42", 42), (str(MAX_ID), MAX_ID), ("007", 7)],
)
def test_ascii_digits_that_fit_are_ids(text: str, expected: int) -> None:
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    "text", ["", "²", "٣", "-1", "+1", " 1", "1 ", "1e3", "0x10", str(MAX_ID + 1), "9" * 40]
)
def test_anything_else_is_not(text: str) -> None:
    assert parse_id(text) is None


def test_numbers_outside_the_databases_range_name_nothing() -> None:
    assert storable_id(5) == 5
    assert storable_id(-1) is None
    assert storable_id(MAX_ID + 1) is None


def test_row_ids_stop_at_the_integer_columns() -> None:
    # The log's id columns are int4 on PostgreSQL: a larger id reached the query and read "database
    # unavailable" instead of "not found".
    assert MAX_ID == 2**31 - 1
    assert parse_id("3000000000") is None
    assert storable_id(3_000_000_000) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("5000000000", 5_000_000_000), (str(MAX_NUMBER), MAX_NUMBER), (str(MAX_NUMBER + 1), None)],
)
def test_numbers_that_are_not_row_ids_go_further(text: str, expected: int | None) -> None:
    # Telegram user ids have up to 52 bits; a Content-Length is not an id either.
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["", "²", "٣", "-1", " 1", "1e3", "9" * 40])
def test_a_number_is_ascii_digits_too(text: str) -> None:
    assert parse_number(text) is None
