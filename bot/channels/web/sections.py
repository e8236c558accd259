"""Links to a help-center section and the ids of the headings they lead to, made by one slug function."""

from __future__ import annotations

import bisect
import csv
import html
import io
import json
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from bot.kb.loaders import load_bytes
from bot.kb.parsers import (
    _A_KEYS,
    _MD_ATX,
    _MD_FENCE,
    _MD_SETEXT,
    _Q_KEYS,
    Document,
    LoadError,
    Section,
    _content_root,
    _drop_chrome,
    _drop_link_blocks,
    _front_matter,
    _has_key,
    _HtmlText,
    columns_by_content,
    faq_csv_dialect,
    picked_key,
    rst_heading_at,
    text_headings,
)
from bot.kb.validate import UnsafeFileError

if TYPE_CHECKING:
    from bs4 import Tag

log = logging.getLogger(__name__)

# Long enough for a whole question heading; an id (and a link) stays readable beyond that.
MAX_SLUG_CHARS = 100
# The id a heading without a letter or digit gets ("???"), so it can still be linked to.
EMPTY_SLUG = "section"

# The formats whose section headings are questions inside records (a CSV row, a JSON line, a YAML entry):
# located by the record's place in the file, not as heading lines.
FAQ_SUFFIXES = frozenset({".csv", ".jsonl", ".yaml", ".yml"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
MD_SUFFIXES = frozenset({".md", ".markdown", ".mdx"})


def slug(heading: str) -> str:
    """The id of a heading on a help-center page, and the fragment of every link to it: its words (letters,
    digits and their marks, in any script) in lower case, joined by "-".

    Different headings can share a slug ("Fees" and "Fees?"; "???" and "!!!" are both "section"). A link
    knows only its heading's text, so it leads to the first heading in the file with that slug; the page
    gives the others unique ids ("fees-2", "fees-3", ... past any heading whose own slug is one of those)."""
    words: list[str] = []
    word: list[str] = []
    # NFKC: a decomposed "é" (e + U+0301) and a full-width "Ａ" give the id their composed form would.
    for char in unicodedata.normalize("NFKC", heading).lower():
        # Marks too: they belong to their letter in Devanagari or Thai, where a split would cut the word.
        if unicodedata.category(char)[0] in "LNM":
            word.append(char)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return "-".join(words)[:MAX_SLUG_CHARS].strip("-") or EMPTY_SLUG


def fragment(heading: str) -> str:
    """The URL fragment that leads to `heading` on a `/help/` page ("" for none): the slug, percent-encoded
    (browsers decode it again to find the id)."""
    return "#" + quote(slug(heading), safe="") if heading.strip() else ""


def article_href(source: str) -> str:
    """The `/help/` page of a knowledge file; its path percent-encoded, so a "#" or "?" in a file name is
    part of the path and not a fragment or query."""
    return "/help/" + quote(source, safe="/")


def text_fragment(url: str, heading: str) -> str:
    """`url` with a text fragment (`#:~:text=`) that scrolls to `heading` where the browser supports it.

    Only for a URL without a fragment of its own (a "#section" or an app's "#/route" is the page's, and
    a second one would replace it) and not for PDFs (their viewers read the fragment as their own
    parameters). A browser without text fragments, or a page that does not show the heading, opens the
    page at its top, as without one."""
    if not heading.strip() or "#" in url or urlsplit(url).path.lower().endswith(".pdf"):
        return url
    # `-`, `&` and `,` are the directive's own syntax: percent-encoded like every other character.
    return url + "#:~:text=" + quote(" ".join(heading.split()), safe="").replace("-", "%2D")


def section_href(source: str, heading: str, url: str, *, section: bool = True) -> str:
    """Where a source links to: its own http(s) URL (with a text fragment for the heading), else its
    help-center page at the section. `section=False`: the page or URL only (the heading is a label)."""
    if url.startswith(("https://", "http://")):
        return text_fragment(url, heading) if section else url
    # A PDF is served as the file itself: no ids to lead to, and its viewer reads a fragment as its own.
    pdf = source.lower().endswith(".pdf")
    return article_href(source) + (fragment(heading) if section and not pdf else "")


# -- the anchors of an article's page -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Anchor:
    """A stretch of the article's text that shows a heading: [start, end) characters, and its id."""

    start: int
    end: int
    id: str
    heading: str  # the heading the knowledge base reads there


def escaped_with_anchors(text: str, anchors: Sequence[Anchor]) -> str:
    """`text` escaped, each anchor's stretch wrapped in an element with its id."""
    out: list[str] = []
    at = 0
    for anchor in anchors:
        out.append(html.escape(text[at : anchor.start]))
        heading = html.escape(text[anchor.start : anchor.end])
        out.append(f'<span class="section" id="{html.escape(anchor.id, quote=True)}">{heading}</span>')
        at = anchor.end
    out.append(html.escape(text[at:]))
    return "".join(out)


def _anchors(source: str, suffix: str, data: bytes, text: str) -> list[Anchor]:
    return read_article(source, suffix, data, text)[1]


def read_article(source: str, suffix: str, data: bytes, text: str) -> tuple[Document | None, list[Anchor]]:
    """The document the knowledge base reads from the file (parsed once), and the anchors of its section
    headings in `text` (the page's text of the file), in the file's order: each heading at the line or
    element the knowledge base reads it from, with its `slug` as its id, so a link made from a source's
    heading finds it. (None, []) for a file the knowledge base cannot read, or whose headings cannot be
    placed (a parser's bug, logged)."""
    suffix = suffix.lower()
    # The page shows a UTF-8 byte-order mark as a character, the knowledge base reads the text after it: the
    # headings are found in that text, one character further on the page.
    bom = 1 if text.startswith("\ufeff") else 0
    body = text[bom:]
    try:
        document = load_bytes(source, suffix, data)
        sections = document.sections
        if suffix in FAQ_SUFFIXES:
            found = _faq_spans(suffix, body, {s.heading for s in sections if s.heading})
        elif suffix in HTML_SUFFIXES:
            found = _html_spans(body, {h for s in sections for h in s.heading_path})
        else:
            found = _line_spans(body, headings_in_order(sections), _heading_lines(suffix, body))
    except (LoadError, UnsafeFileError):
        return None, []  # the knowledge base skips the file too: it has no section to link to
    except Exception:
        # A parser bug must not take the article down: shown without anchors, and logged to be fixed.
        log.warning(
            "could not place the section anchors of %s", source, exc_info=True, extra={"file": source}
        )
        return None, []
    kept: list[tuple[int, int, str]] = []
    end = 0
    for start, stop, heading in sorted(found):
        if start >= end:  # never inside another anchor
            kept.append((start + bom, stop + bom, heading))
            end = stop
    # Headings that share a slug ("Fees", "Fees?"): a link knows only the heading, so the first in the file
    # keeps the plain id. The others count on from "-2", past every plain id, so that a heading "Fees 2" still
    # owns "fees-2".
    keys = [slug(heading) for _, _, heading in kept]
    used: set[str] = set()
    plain: list[bool] = []
    for key in keys:
        plain.append(key not in used)
        used.add(key)
    anchors: list[Anchor] = []
    counted: dict[str, int] = {}  # slug → the next number to try, so many repeats stay linear
    for (start, stop, heading), key, first in zip(kept, keys, plain, strict=True):
        if not first:
            n = counted.get(key, 2)
            while f"{key}-{n}" in used:
                n += 1
            counted[key] = n + 1
            key = f"{key}-{n}"
            used.add(key)
        anchors.append(Anchor(start, stop, key, heading))
    return document, anchors


def headings_in_order(sections: Sequence[Section]) -> list[str]:
    """Every heading of the document in reading order, parents included (a part's title has no text of its
    own when its first subsection follows at once, and is still a heading on the page)."""
    out: list[str] = []
    previous: tuple[str, ...] = ()
    for section in sections:
        path = section.heading_path
        same = 0
        while same < min(len(path), len(previous)) and path[same] == previous[same]:
            same += 1
        if path and same == len(path) == len(previous):
            same -= 1  # the same heading again (a second "Fees" beside the first): a heading of its own
        out.extend(heading for heading in path[same:] if heading)
        previous = path
    return out


# -- Markdown, reStructuredText, plain text: heading lines ----------------------------------------------


def _heading_lines(suffix: str, text: str) -> list[tuple[int, int, str]]:
    """The lines the parser of the format reads as headings, in order: ([start, end) characters, heading).
    A body line that reads the same ("Returns" above "## Returns") is none."""
    if suffix in MD_SUFFIXES:
        return _markdown_heading_lines(text)
    if suffix == ".rst":
        return _rst_heading_lines(text)
    # A text file's title line and its headings' lines, as `parse_text` reads them (`text_headings`).
    lines, starts = _lines(text)
    return [(starts[h.line], starts[h.line] + len(lines[h.line]), h.text) for h in text_headings(lines)]


def _lines(text: str) -> tuple[list[str], list[int]]:
    """The lines as the parsers split them (`str.splitlines`), without their ends, and where each starts."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return text.splitlines(), starts


def _markdown_heading_lines(text: str) -> list[tuple[int, int, str]]:
    """As `parse_markdown` reads headings: the front matter's title (only in front matter at the very top),
    ATX headings outside fenced code, and a paragraph's single line above a setext underline."""
    meta, rest = _front_matter(text)
    lines, starts = _lines(text)
    found: list[tuple[int, int, str]] = []
    body = bisect.bisect_left(starts, len(text) - len(rest))
    if meta.get("title"):
        # The block's last "title:" line: later keys replace earlier ones.
        for index in reversed(range(1, body)):
            key, sep, _ = lines[index].partition(":")
            if sep and key.strip().lower() == "title" and key.strip().isidentifier():
                found.append((starts[index], starts[index] + len(lines[index]), meta["title"]))
                break
    fence: str | None = None
    pending: list[int] = []  # the paragraph's lines so far, that a setext underline could make a heading
    for index in range(body, len(lines)):
        line = lines[index]
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        fence_match = _MD_FENCE.match(line)
        atx = _MD_ATX.match(line)
        if fence_match or atx:
            pending.clear()
            fence = fence_match.group(1) if fence_match else None
            heading = (atx.group(2) or "").strip() if atx else ""
            if heading:
                found.append((starts[index], starts[index] + len(line), heading))
            continue
        if (
            _MD_SETEXT.match(line)
            and len(pending) == 1
            and lines[pending[0]].strip()
            and not line.startswith("    ")
        ):
            held = pending.pop()
            found.append((starts[held], starts[held] + len(lines[held]), lines[held].strip()))
        elif line.strip():
            pending.append(index)
        else:
            pending.clear()
    return found


def _rst_heading_lines(text: str) -> list[tuple[int, int, str]]:
    """As `parse_rst` reads headings: a title's text line between an overline and an underline of the same
    character, or above an underline."""
    lines, starts = _lines(text)
    found: list[tuple[int, int, str]] = []
    i, n = 0, len(lines)
    while i < n:
        heading = rst_heading_at(lines, i)
        if heading is None:
            i += 1
            continue
        at, _ = heading
        found.append((starts[at], starts[at] + len(lines[at]), lines[at].strip()))
        i = at + 2
    return found


def _line_spans(
    text: str, headings: Sequence[str], lines: Sequence[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Each heading at its heading line: the first after the previous heading's that reads as it."""
    where: dict[str, list[int]] = {}  # what a heading line reads as → its places in `lines`, in order
    for index, (_, _, heading) in enumerate(lines):
        where.setdefault(heading, []).append(index)
    spans: list[tuple[int, int, str]] = []
    after = 0
    for heading in headings:
        candidates = where.get(heading, [])
        found = bisect.bisect_left(candidates, after)
        if found < len(candidates):
            start, end, _ = lines[candidates[found]]
            spans.append((start, end, heading))
            after = candidates[found] + 1
    return spans


# -- FAQ files: the question of each record -------------------------------------------------------------


def _faq_spans(suffix: str, text: str, questions: set[str]) -> list[tuple[int, int, str]]:
    """Each record's question cell, found by the record's place in the file (its CSV row, JSON line, YAML
    entry) and the question's place in it: never by searching the text, where an earlier answer, or a longer
    word, may spell the question first."""
    if suffix == ".csv":
        found = _csv_questions(text)
    elif suffix == ".jsonl":
        found = _jsonl_questions(text)
    else:
        found = _yaml_questions(text)
    spans: list[tuple[int, int, str]] = []
    for start, end, question in found:
        heading = " ".join(str(question).split())  # as `_faq_sections` makes the heading
        if heading in questions:
            raw = text[start:end]
            # Whitespace around a cell or a block scalar is no part of the question.
            start += len(raw) - len(raw.lstrip())
            end -= len(raw) - len(raw.rstrip())
            spans.append((start, max(start, end), heading))
    return spans


def _csv_questions(text: str) -> list[tuple[int, int, Any]]:
    dialect = faq_csv_dialect(text)  # as `parse_faq_csv` reads the file
    # Lines as the reader gets them from a StringIO (at "\n" only), for its line numbers.
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    reader = csv.reader(io.StringIO(text), dialect=dialect)
    # Each row with the lines it spans: [first, last).
    rows: list[tuple[int, int, list[str]]] = []
    line = 0
    for row in reader:
        first, line = line, reader.line_num
        rows.append((first, line, row))
    if not rows:
        return []
    header = rows[0][2]
    # DictReader's record: a name that comes twice holds the later cell, at the earlier one's place.
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        columns[name] = index
    question: int | None = None
    data = rows[1:]
    if not (_has_key(header, _Q_KEYS) and _has_key(header, _A_KEYS)):
        # A sheet `parse_faq_csv` reads by its cells: that column, and its first row when it has no header.
        by_content = columns_by_content([[cell.replace("\ufeff", "") for cell in row] for _, _, row in rows])
        if by_content is None:
            return []
        question = by_content.question
        data = rows[1:] if by_content.header else rows
    found: list[tuple[int, int, Any]] = []
    for first, line, row in data:
        if not row:
            continue  # DictReader skips an empty line
        if question is None:
            record = {name: row[index] if index < len(row) else None for name, index in columns.items()}
            key = picked_key(record, _Q_KEYS)
            if key is None:
                continue
            index = columns[key]
        else:
            index = question
        if index >= len(row):
            continue
        start = starts[first]
        end = starts[line] - 1 if line < len(starts) else len(text)
        cells = _csv_cells(text[start:end], dialect)
        if index < len(cells):
            cell_start, cell_end, value = cells[index]
            # The cell as the reader read it (a first column less its byte-order mark): else the scan went
            # wrong, no anchor.
            if value == row[index]:
                found.append((start + cell_start, start + cell_end, row[index]))
    return found


def _csv_cells(record: str, dialect: type[csv.Dialect] | csv.Dialect) -> list[tuple[int, int, str]]:
    """The cells of one CSV record: [start, end) of each (inside its quotes) and the value they read as."""
    delimiter, quote, escape = dialect.delimiter, dialect.quotechar, dialect.escapechar
    quoting = quote is not None and dialect.quoting != csv.QUOTE_NONE
    cells: list[tuple[int, int, str]] = []
    at, n = 0, len(record)
    while True:
        if dialect.skipinitialspace:
            while at < n and record[at] == " ":
                at += 1
        start = at
        value: list[str] = []
        end: int | None = None
        if quoting and at < n and record[at] == quote:
            at += 1
            while at < n:
                char = record[at]
                if char == escape and at + 1 < n:
                    value.append(record[at + 1])
                    at += 2
                elif char != quote:
                    value.append(char)
                    at += 1
                elif dialect.doublequote and record[at + 1 : at + 2] == quote:
                    value.append(quote)
                    at += 2
                else:
                    break
            start, end = start + 1, at
            at += 1
        # An unquoted cell, or what follows a closing quote (the reader keeps it).
        while at < n and record[at] != delimiter:
            if record[at] == escape and at + 1 < n:
                at += 1
            value.append(record[at])
            at += 1
        cells.append((start, at if end is None else end, "".join(value)))
        if at >= n:
            return cells
        at += 1


def _jsonl_questions(text: str) -> list[tuple[int, int, Any]]:
    found: list[tuple[int, int, Any]] = []
    at = 0
    # Lines at "\n" only, as `parse_faq_jsonl` splits them.
    for line in text.split("\n"):
        members = _json_members(line) if line.strip() else None
        if members is not None:
            # As json.loads builds the object: a key that comes twice holds its later value.
            record = {key: value for key, value, _, _ in members}
            where = {key: (start, end) for key, _, start, end in members}
            key = picked_key(record, _Q_KEYS)
            if key is not None:
                start, end = where[key]
                if isinstance(record[key], str):
                    start, end = start + 1, end - 1  # inside the quotes
                found.append((at + start, at + end, record[key]))
        at += len(line) + 1
    return found


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_members(line: str) -> list[tuple[str, Any, int, int]] | None:
    """(key, value, [start, end) of the value as written) of each member of a JSON object, or None when the
    line holds no object."""
    decoder = json.JSONDecoder()

    def space(at: int) -> int:
        match = _JSON_SPACE.match(line, at)
        return match.end() if match else at

    at = space(0)
    if line[at : at + 1] != "{":
        return None
    members: list[tuple[str, Any, int, int]] = []
    at = space(at + 1)
    if line[at : at + 1] == "}":
        return members
    while True:
        key, at = decoder.raw_decode(line, at)
        at = space(at)
        if not isinstance(key, str) or line[at : at + 1] != ":":
            return None
        start = space(at + 1)
        value, at = decoder.raw_decode(line, start)
        members.append((key, value, start, at))
        at = space(at)
        if line[at : at + 1] == "}":
            return members
        if line[at : at + 1] != ",":
            return None
        at = space(at + 1)


def _yaml_questions(text: str) -> list[tuple[int, int, Any]]:
    """Each entry's question node, by the positions yaml's composer gives it (a quoted, folded or multi-line
    question, an escape: all at the node's place)."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        # The data `parse_faq_yaml` reads; building it also merges "<<" keys into their mappings' nodes,
        # so each mapping node's pairs are then the entries the data was built from, in order.
        data = loader.construct_document(root) if root is not None else None
        entries = root
        if isinstance(data, dict):
            key = next((k for k, value in data.items() if isinstance(value, list)), None)
            data, entries = data.get(key), _yaml_value_node(loader, root, key)
        if not isinstance(data, list) or not isinstance(entries, yaml.SequenceNode):
            return []
        found: list[tuple[int, int, Any]] = []
        for record, node in zip(data, entries.value, strict=False):
            if not isinstance(record, dict):
                continue
            key = picked_key(record, _Q_KEYS)
            question = _yaml_value_node(loader, node, key) if key is not None else None
            if isinstance(question, yaml.ScalarNode):
                start, end = question.start_mark.index, question.end_mark.index
                if question.style in ("'", '"'):
                    start, end = start + 1, end - 1  # inside the quotes
                found.append((start, end, record[key]))
        return found
    finally:
        loader.dispose()


def _yaml_value_node(loader: Any, node: Any, key: Any) -> Any:
    """The node of `key`'s value in a mapping node: the last pair with that key, as the data holds it."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    value = None
    for key_node, value_node in node.value:
        if loader.construct_object(key_node, deep=True) == key:
            value = value_node
    return value


# -- HTML: the heading elements the knowledge base keeps -----------------------------------------------


class _KeptHeadings(_HtmlText):
    """Renders the content as `parse_html` does, noting the element of each heading line it makes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[Tag] = []

    def _heading(self, tag: Tag, level: int) -> None:
        before = len(self.lines)
        super()._heading(tag, level)
        if len(self.lines) > before and self.lines[-1].level:
            self.tags.append(tag)


def _html_spans(text: str, headings: set[str]) -> list[tuple[int, int, str]]:
    """The source of each heading element the knowledge base reads as a heading, from its start tag to its
    end tag: found as `parse_html` finds it (the same content root, chrome and link blocks dropped, notes'
    own headings left out), so a menu's or a sidebar's copy of a heading never takes its id."""
    _, found = html_headings(text)
    return [(start, end, heading) for _, heading, start, end in found if heading in headings]


def html_headings(text: str) -> tuple[Tag, list[tuple[Tag, str, int, int]]]:
    """The content the knowledge base reads from an HTML page (its content root, chrome and link blocks
    dropped), and each heading element in it that it reads as a heading: the element, its heading, and the
    [start, end) of its source from its start tag to its end tag."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    root = _content_root(soup)
    _drop_chrome(root)
    _drop_link_blocks(root)
    renderer = _KeptHeadings()
    # The k-th heading line the knowledge base reads is the k-th element noted: paired in document order.
    kept = [line.text for line in renderer.render(root) if line.level]
    # Lines as the HTML parser counts them (at "\n" only), for its (line, column) positions.
    starts = [0]
    for part in text.split("\n"):
        starts.append(starts[-1] + len(part) + 1)
    found: list[tuple[Tag, str, int, int]] = []
    for tag, heading in zip(renderer.tags, kept, strict=True):
        if tag.sourceline is None or tag.sourcepos is None or not 0 < tag.sourceline < len(starts):
            continue
        start = starts[tag.sourceline - 1] + tag.sourcepos
        close = re.compile(rf"</{tag.name}\s*>", re.IGNORECASE).search(text, start)
        found.append((tag, heading, start, close.end() if close else max(start, text.find(">", start) + 1)))
    return root, found
