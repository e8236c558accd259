"""Links to a help-center section and the ids of the headings they lead to, made by one slug function."""

from __future__ import annotations

import bisect
import html
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from bot.kb.loaders import load_bytes
from bot.kb.parsers import LoadError, Section
from bot.kb.validate import UnsafeFileError

# Long enough for a whole question heading; an id (and a link) stays readable beyond that.
MAX_SLUG_CHARS = 100
# The id a heading without a letter or digit gets ("???"), so it can still be linked to.
EMPTY_SLUG = "section"

# The formats whose section headings are questions inside records (a CSV row, a JSON line, a YAML entry):
# located as text in the file, not as heading lines.
_FAQ_SUFFIXES = frozenset({".csv", ".jsonl", ".yaml", ".yml"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})
_MD_SUFFIXES = frozenset({".md", ".markdown"})
# An ATX heading's text, as `bot.kb.parsers` reads it ("## Returns ##" → "Returns").
_MD_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
# A front matter title, which the parser makes the document's first heading.
_MD_TITLE = re.compile(r"^title:\s*(.*?)\s*$", re.IGNORECASE)
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def slug(heading: str) -> str:
    """The id of a heading on a help-center page, and the fragment of every link to it: its words (letters,
    digits and their marks, in any script) in lower case, joined by "-"."""
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


def anchored_html(source: str, suffix: str, data: bytes, text: str) -> str:
    """The article's text as HTML (escaped), each section heading found in it wrapped in an element whose
    id is its `slug`, so a link to the section opens there.

    The headings are the ones the knowledge base reads from the file (`bot.kb.loaders`), so a link made from
    a source's heading finds its id. A file the knowledge base cannot read is shown without anchors."""
    anchors = _anchors(source, suffix.lower(), data, text)
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
    try:
        sections = load_bytes(source, suffix, data).sections
    except (LoadError, UnsafeFileError):
        return []
    if suffix in _FAQ_SUFFIXES:
        found = _faq_spans(text, [s.heading for s in sections if s.heading])
    elif suffix in _HTML_SUFFIXES:
        found = _html_spans(text, {h for s in sections for h in s.heading_path})
    else:
        clean = _md_heading_text if suffix in _MD_SUFFIXES else str.strip
        found = _line_spans(text, _headings_in_order(sections), clean)
    anchors: list[Anchor] = []
    used: set[str] = set()
    end = 0
    for start, stop, heading in sorted(found):
        if start < end:
            continue  # never inside another anchor
        key = slug(heading)
        # The same heading twice ("Fees" under two articles' parts): the first keeps the plain id, which is
        # where a link (it knows the heading, not which one) leads.
        n = 1
        while (key if n == 1 else f"{key}-{n}") in used:
            n += 1
        key = key if n == 1 else f"{key}-{n}"
        used.add(key)
        anchors.append(Anchor(start, stop, key))
        end = stop
    return anchors


def _headings_in_order(sections: Sequence[Section]) -> list[str]:
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


def _md_heading_text(line: str) -> str:
    atx = _MD_ATX.match(line)
    if atx:
        return (atx.group(1) or "").strip()
    title = _MD_TITLE.match(line)
    if title:
        return title.group(1).strip("'\"")
    return line.strip()  # a setext heading's line


def _line_spans(
    text: str, headings: Sequence[str], clean: Callable[[str], str]
) -> list[tuple[int, int, str]]:
    """The line of each heading, in order: the first line after the previous heading's that reads as it."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    where: dict[str, list[int]] = {}  # what a line reads as → its line numbers, in order
    for index, line in enumerate(lines):
        starts.append(starts[-1] + len(line))
        where.setdefault(clean(line), []).append(index)
    spans: list[tuple[int, int, str]] = []
    next_line = 0
    for heading in headings:
        candidates = where.get(heading, [])
        found = bisect.bisect_left(candidates, next_line)
        if found == len(candidates):
            continue
        index = candidates[found]
        spans.append((starts[index], starts[index] + len(lines[index].rstrip("\r\n")), heading))
        next_line = index + 1
    return spans


def _faq_spans(text: str, questions: Sequence[str]) -> list[tuple[int, int, str]]:
    """Each question where the file spells it, in order: as is, JSON-escaped, or with CSV's doubled quotes."""
    spans: list[tuple[int, int, str]] = []
    at = 0
    for question in questions:
        spellings = {
            question,
            json.dumps(question)[1:-1],
            json.dumps(question, ensure_ascii=False)[1:-1],
            question.replace('"', '""'),
        }
        found = [(text.find(s, at), s) for s in spellings]
        hits = [(start, s) for start, s in found if start >= 0]
        if not hits:
            continue
        start, spelled = min(hits)
        spans.append((start, start + len(spelled), question))
        at = start + len(spelled)
    return spans


def _html_spans(text: str, headings: set[str]) -> list[tuple[int, int, str]]:
    """The source of each h1–h6 element whose text is a heading the knowledge base read, from its start tag
    to its end tag. Found by the parser's positions, not by searching the text: the page's <title> and its
    menus often repeat a heading before the heading itself."""
    from bs4 import BeautifulSoup, Tag

    # Lines as the HTML parser counts them (at "\n" only), for its (line, column) positions.
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    spans: list[tuple[int, int, str]] = []
    for tag in BeautifulSoup(text, "html.parser").find_all(list(_HTML_HEADINGS)):
        if not isinstance(tag, Tag) or tag.sourceline is None or tag.sourcepos is None:
            continue
        # As `bot.kb.parsers` reads a heading: its text, whitespace collapsed, zero-width spaces dropped.
        heading = " ".join(tag.get_text().replace("\u200b", "").split())
        if heading not in headings or not 0 < tag.sourceline < len(starts):
            continue
        start = starts[tag.sourceline - 1] + tag.sourcepos
        close = re.compile(rf"</{tag.name}\s*>", re.IGNORECASE).search(text, start)
        spans.append((start, close.end() if close else max(start, text.find(">", start) + 1), heading))
    return spans
