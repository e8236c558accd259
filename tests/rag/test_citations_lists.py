"""Quotes of list items and table rows: the line that introduces their list, their columns' names, and a line
that leads into a list quoted only with it."""

from __future__ import annotations

from bot.rag.citations import extract_answer, stems
from bot.rag.prompting import Passage

PRICES = (
    "Billed monthly:\n"
    "| Plan | Price | Seats included | Extra seat |\n"
    "|------|-------|----------------|------------|\n"
    "| Free | $0 | 1 | — |\n"
    "| Starter | $19/month | 2 | $8/month |\n"
    "| Growth | $49/month | 5 | $10/month |\n"
    "\n"
    "Billed annually:\n"
    "| Plan | Price | Seats included | Extra seat |\n"
    "|------|-------|----------------|------------|\n"
    "| Free | $0 | 1 | — |\n"
    "| Starter | $190/year | 2 | $80/year |\n"
    "| Growth | $490/year | 5 | $100/year |\n"
    "\n"
    "Prices are in US dollars and exclude VAT. You can also pay in EUR or GBP."
)


def test_a_row_is_scored_with_the_line_that_leads_into_its_table() -> None:
    # Both Growth rows matched "growth" and the price asked for alike, as did "Billed annually:" itself: the
    # first of them, the monthly row, was quoted.
    quote = extract_answer("how much is growth annually", Passage("pricing.md", "Plan prices", PRICES))
    assert quote.startswith("Billed annually:\n"), quote
    assert "- Growth: $490/year; 5; $100/year" in quote
    assert "$49/month" not in quote


def test_a_row_is_scored_with_the_heading_that_introduces_its_table_and_quoted_under_it() -> None:
    text = PRICES.replace("Billed monthly:", "### Monthly billing").replace(
        "Billed annually:", "### Annual billing"
    )
    quote = extract_answer(
        "growth plan price with annual billing", Passage("pricing.md", "Plan prices", text)
    )
    assert quote.split("\n")[0] == "Annual billing", quote
    assert "$490/year" in quote
    assert "$49/month" not in quote


def test_a_word_made_with_ly_matches_the_word_it_is_made_of() -> None:
    # "yearly" was "yearl", which matched no "$490/year": the monthly table was quoted.
    assert stems("yearly weekly hourly") == stems("year week hour")
    assert stems("family") == stems("families")
    assert stems("apply") != stems("app")
    assert stems("likely") != stems("like")
    quote = extract_answer("how much is growth if i pay yearly", Passage("pricing.md", "Plan prices", PRICES))
    assert "- Growth: $490/year; 5; $100/year" in quote, quote
    assert "$49/month" not in quote
