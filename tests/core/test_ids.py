"""Ids typed by people or sent back by clients: ASCII digits that fit the database's integers."""

from __future__ import annotations

import pytest

from bot.ids import MAX_ID, parse_id, storable_id


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
