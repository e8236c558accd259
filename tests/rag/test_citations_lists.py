"""Quotes of list items and table rows: the line that introduces their list, their columns' names, and a line
that leads into a list quoted only with it."""

from __future__ import annotations

from bot.rag.citations import extract_answer, passage_units, stems
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


ROLES = (
    "| Role | Uses a seat | Create and send invoices | See reports | Manage team | Billing and plan |\n"
    "|------|:-:|:-:|:-:|:-:|:-:|\n"
    "| Owner | Yes | Yes | Yes | Yes | Yes |\n"
    "| Admin | Yes | Yes | Yes | Yes | No |\n"
    "| Accountant | Yes | Drafts only | Yes | No | No |\n"
    "| Viewer | No | No | Yes | No | No |\n\n"
    "Each workspace has exactly one Owner."
)


def test_a_rule_of_one_hyphen_a_cell_is_a_table_s_rule() -> None:
    # "|:-:|" is a centred column: the header was read as a row, the rule as another ("------: :-:; :-:").
    units = passage_units(ROLES.replace("|------|", "|-|"))
    assert units[0].kind == "header"
    assert [u.text for u in units if u.kind == "row"][0] == "Owner: Yes; Yes; Yes; Yes; Yes"


def test_a_row_of_more_than_two_columns_is_quoted_under_its_long_header() -> None:
    # Was "- Admin: Yes; Yes; Yes; Yes; No" and the Accountant's row without their columns' names: the header
    # (87 characters) was longer than a short one.
    quote = extract_answer(
        "whats the difference between admin and accountant", Passage("roles.md", "Roles", ROLES)
    )
    assert quote.split("\n") == [
        "Role / Uses a seat / Create and send invoices / See reports / Manage team / Billing and plan",
        "- Admin: Yes; Yes; Yes; Yes; No",
        "- Accountant: Yes; Drafts only; Yes; No; No",
    ]


def test_a_two_column_table_s_long_header_is_still_left_out() -> None:
    text = (
        "| The name of the plan as it appears on your invoice | What you pay each month, tax excluded |\n"
        "|---|---|\n| Starter | $19 |\n| Growth | $49 |"
    )
    quote = extract_answer("what does growth cost per month", Passage("plans.md", "Plans", text))
    assert quote == "Growth: $49"


EXPORT = (
    "From the Reports page you can download:\n\n"
    "- Sales by month\n- Sales by customer\n- Open balances\n\n"
    "Note: the files are saved as UTF-8. If a spreadsheet shows garbled letters, import the file as UTF-8."
)


def test_a_line_that_leads_into_a_list_is_quoted_with_it() -> None:
    # Was "…you can download:" followed by the note's sentence, its list left out.
    quote = extract_answer(
        "my spreadsheet shows garbled letters when i open the download",
        Passage("reports.md", "Reports", EXPORT),
    )
    assert quote.split("\n") == [
        "From the Reports page you can download:",
        "- Sales by month",
        "- Sales by customer",
        "- Open balances",
        "If a spreadsheet shows garbled letters, import the file as UTF-8.",
    ]


def test_a_line_that_leads_into_a_list_that_does_not_fit_is_left_out() -> None:
    quote = extract_answer(
        "my spreadsheet shows garbled letters when i open the download",
        Passage("reports.md", "Reports", EXPORT),
        max_chars=100,
    )
    assert quote == "If a spreadsheet shows garbled letters, import the file as UTF-8."
