"""The Markdown the loaders write for tables and code, as the chunker and the extracts read it."""

from __future__ import annotations

import re

# A Markdown table's rule under its header ("|---|:--:|"; also a bare "---", so a caller that means a
# table's rule checks for a "|"); a table row written with its outer pipes, as Markdown writes it and the
# loaders write an HTML table's ("| cell | cell |", a "|" in a cell escaped). A line with a pipe inside
# ("find . -print0 | rsync …") is a row only under a header and its rule. A rule of two cells or more may
# have one hyphen a cell, as GitHub's tables may ("|------|:-:|:-:|", a centred column of "Yes" and "No":
# until 2026-12-07 its header was read as a row and its rule as another, "------: :-:; :-:").
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$|^\s*\|?\s*:?-{3,}:?\s*\|?\s*$")
TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
# Code fenced as Markdown fences it (the loaders fence an HTML page's <pre> the same way): an opening fence
# may name the language ("```bash"), a closing one is the fence alone.
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([^\s`]*)\s*$")


def is_table_rule(line: str) -> bool:
    """Whether `line` is a table's rule under its header (a bare "---" is a heading's or a break's)."""
    return "|" in line and TABLE_RULE.match(line) is not None
