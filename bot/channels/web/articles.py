"""Help-center articles as a reader sees them: each format as sanitised HTML, with its sections' ids."""

from __future__ import annotations

import bisect
import html
import io
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from bot.channels.web import sections
from bot.channels.web.sections import FAQ_SUFFIXES, HTML_SUFFIXES, MD_SUFFIXES, Anchor
from bot.kb.loaders import Document, LoadError, UnsafeFileError, load_bytes
from bot.kb.parsers import _TEXT_UNDERLINE as _KB_UNDERLINE
from bot.kb.parsers import _front_matter

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

log = logging.getLogger(__name__)

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

# Removed with everything inside: code, styles, embedded documents and plugins, forms and their controls,
# foreign content (SVG, MathML) and metadata. Images go too: the help center serves no images, and the
# page's Content-Security-Policy would block those of other sites; their alt text stays.
_DROPPED_TAGS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "param", "form",
        "input", "select", "option", "optgroup", "textarea", "datalist", "output", "noscript", "noembed",
        "noframes", "template", "slot", "svg", "math", "link", "meta", "base", "head", "title", "canvas",
        "audio", "video", "source", "track", "picture", "map", "area", "dialog", "portal",
    }
)  # fmt: skip
# Kept as they are, with the attributes below; any other element gives way to its content.
_KEPT_TAGS = frozenset(
    {
        *_HEADINGS, "p", "br", "hr", "div", "span", "section", "article", "aside", "header", "footer",
        "address", "blockquote", "pre", "code", "kbd", "samp", "var", "em", "strong", "b", "i", "u", "s",
        "del", "ins", "mark", "small", "sub", "sup", "abbr", "dfn", "cite", "q", "time", "data", "bdi",
        "bdo", "ruby", "rt", "rp", "wbr", "a", "ul", "ol", "li", "dl", "dt", "dd", "table", "caption",
        "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td", "figure", "figcaption", "details",
        "summary",
    }
)  # fmt: skip
# No event handlers, styles, classes (the page's own styles name elements by class) or data attributes:
# only these. An `id` is kept apart (`_ids`), `href` only with a safe scheme (`_safe_href`).
_GLOBAL_ATTRIBUTES = frozenset({"id", "title", "lang", "dir"})
_TAG_ATTRIBUTES = {
    "a": frozenset({"href"}),
    "td": frozenset({"colspan", "rowspan", "headers"}),
    "th": frozenset({"colspan", "rowspan", "headers", "scope", "abbr"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "li": frozenset({"value"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "time": frozenset({"datetime"}),
    "data": frozenset({"value"}),
    "details": frozenset({"open"}),
}
_SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
# What a browser skips in a URL before reading its scheme: ASCII whitespace and control characters.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_URL_ENDS = "".join(map(chr, range(0x21)))
# An id the file gave an element keeps this prefix on the page: a page of the file never names an id of
# the page's own (the widget's global flag, an anchor's slug).
_OWN_ID_PREFIX = "c-"
# A line of plain text that starts a list item: "- ", "* ", "• ", "1. ", "2) ".
_LIST_ITEM = re.compile(r"(?:[-*•]|\d{1,3}[.)])\s")
# A plain text's underline ("-----" under a line): a line of its own that the reader sees as a heading.
_TEXT_UNDERLINE = re.compile(r"[ \t]*(=|-)\1{2,}[ \t]*")


@dataclass(frozen=True, slots=True)
class Article:
    """An article's page: its title and the HTML of its content, the title heading first."""

    title: str
    html: str


class _Unplaced(Exception):
    """A section heading the knowledge base reads has no heading on the rendered page."""


def render_article(source: str, suffix: str, data: bytes, text: str) -> Article:
    """The article as readable HTML: Markdown, reStructuredText, an HTML page's content, an FAQ's questions
    and answers, a text's paragraphs; each section heading the knowledge base reads with the id its links
    lead to (`sections.slug`), and nothing of the file's own markup that could run or restyle the page.

    Parsed once (`sections.read_article`). A file the knowledge base cannot read, and one whose headings do
    not all come out as headings (formats differ at their edges), are shown as their text, escaped, with
    the anchors on its heading lines."""
    suffix = suffix.lower()
    document, anchors = sections.read_article(source, suffix, data, text)
    if document is None:
        return _preformatted(Path(source).name, text, anchors)
    title = _title(document, suffix)
    try:
        body = _render(suffix, text, document, anchors, title)
    except _Unplaced as exc:
        log.info("showing %s as text: %s", source, exc, extra={"file": source})
        return _preformatted(title, text, anchors)
    except Exception:
        log.warning("could not render %s", source, exc_info=True, extra={"file": source})
        return _preformatted(title, text, anchors)
    return Article(title, f'<article class="article">{body}</article>')


def article_title(source: str, suffix: str, data: bytes) -> str:
    """The title of the article's page (`render_article`): the name of the file when it cannot be read."""
    try:
        return _title(load_bytes(source, suffix, data), suffix.lower())
    except (LoadError, UnsafeFileError):
        return Path(source).name
    except Exception:
        log.warning("could not read the title of %s", source, exc_info=True, extra={"file": source})
        return Path(source).name


def _title(document: Document, suffix: str) -> str:
    """The document's first heading as the knowledge base reads it; an FAQ's title (its questions are
    headings of their own), or a document without headings, its title."""
    title = document.title
    if suffix in HTML_SUFFIXES:
        # An HTML page's title is its <title>, which names the site too ("Contact | Help Center").
        headings = sections.headings_in_order(document.sections)
        title = headings[0] if headings else title
    return " ".join(title.split()) or document.source


def _preformatted(title: str, text: str, anchors: Sequence[Anchor]) -> Article:
    shown = sections.escaped_with_anchors(text, anchors)
    return Article(title, f"<h1>{html.escape(title)}</h1><pre class='article'>{shown}</pre>")


def _render(suffix: str, text: str, document: Document, anchors: Sequence[Anchor], title: str) -> str:
    bom = 1 if text.startswith("\ufeff") else 0
    body = text[bom:]
    if suffix in MD_SUFFIXES:
        root, tags = _markdown(text, bom, anchors)
    elif suffix == ".rst":
        root, tags = _rst(text, bom, anchors)
    elif suffix in HTML_SUFFIXES:
        root, tags = _html_page(body, bom, anchors)
    elif suffix in FAQ_SUFFIXES:
        root, tags = _faq(document, anchors)
    else:
        root, tags = _plain_text(text, bom, anchors)
    return _finish(root, tags, anchors, title)


# -- the formats: each gives its content and the heading element of each anchor -------------------------


def _marked(markup: str, nonce: str) -> tuple[BeautifulSoup, dict[int, Tag]]:
    """The parsed `markup`, and the elements its renderer marked with the class `<nonce>-<position>`, by
    position (the class taken off). The nonce is new for each page: no class the file writes can pass for a
    mark."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    marked: dict[int, Tag] = {}
    prefix = nonce + "-"
    for tag in soup.find_all(class_=lambda name: bool(name) and str(name).startswith(prefix)):
        classes = tag.get_attribute_list("class")
        for name in classes:
            if str(name).startswith(prefix):
                marked.setdefault(int(str(name)[len(prefix) :]), tag)
        kept = " ".join(str(name) for name in classes if not str(name).startswith(prefix))
        if kept:
            tag["class"] = kept
        else:
            del tag["class"]
    return soup, marked


def _line_of(text: str, at: int) -> int:
    """The line (at "\\n", from 0) of a character."""
    return text.count("\n", 0, at)


def _markdown(text: str, bom: int, anchors: Sequence[Anchor]) -> tuple[Tag, list[Tag | None]]:
    """CommonMark with raw HTML off (shown as text): each heading marked with the line it starts on."""
    from markdown_it import MarkdownIt

    body = text[bom:]
    meta, rest = _front_matter(body)
    # The front matter is not shown: its title is the page's title heading, made here.
    skipped = len(body) - len(rest)
    offset = body.count("\n", 0, skipped)
    # Tables and strikethrough as help centers write them (GitHub's syntax); raw HTML stays text.
    parser = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    tokens = parser.parse(rest)
    nonce = secrets.token_hex(8)
    for token in tokens:
        if token.type == "heading_open" and token.map:
            token.attrJoin("class", f"{nonce}-{token.map[0] + offset}")
    soup, by_line = _marked(parser.renderer.render(tokens, parser.options, {}), nonce)
    tags: list[Tag | None] = []
    for anchor in anchors:
        if anchor.start - bom < skipped:
            heading = soup.new_tag("h1")
            heading.string = anchor.heading
            soup.insert(0, heading)
            tags.append(heading)
        else:
            tags.append(by_line.get(_line_of(text, anchor.start)))
    return soup, tags


# What docutils may do with a file: nothing outside it (no includes, no raw HTML, no configuration files
# of the server's directory), and no messages on the page or the server's stderr.
_DOCUTILS_SETTINGS: dict[str, Any] = {
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "_disable_config": True,
    "report_level": 5,
    "halt_level": 5,
    "traceback": True,
    "doctitle_xform": False,  # the first title stays a section, with its line, like the others
    "sectsubtitle_xform": False,
    "syntax_highlight": "none",
    "initial_header_level": 1,
    "output_encoding": "unicode",
}


def _rst(text: str, bom: int, anchors: Sequence[Anchor]) -> tuple[Tag, list[Tag | None]]:
    """reStructuredText through docutils: each section title marked with the line its text is on."""
    from docutils import nodes
    from docutils.core import publish_doctree, publish_from_doctree
    from docutils.writers.html5_polyglot import Writer

    body = text[bom:]
    settings = {**_DOCUTILS_SETTINGS, "warning_stream": io.StringIO()}
    doctree = publish_doctree(body, settings_overrides=settings)
    nonce = secrets.token_hex(8)
    for title in doctree.findall(nodes.title):
        # A title's line is that of its underline, the line after its text.
        if isinstance(title.parent, nodes.section) and title.line:
            title["classes"].append(f"{nonce}-{title.line - 2}")
    writer = Writer()
    publish_from_doctree(doctree, writer=writer, settings_overrides=settings)
    soup, by_line = _marked(str(writer.parts["body"]), nonce)
    for literal in soup.find_all("span", class_="literal"):
        literal.name = "code"  # ``inline code``, which docutils writes as a classed span
    # Lines as docutils counts them: `str.splitlines`, after turning vertical tabs and form feeds to spaces.
    starts = [0]
    for line in re.sub("[\v\f]", " ", body).splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return soup, [by_line.get(bisect.bisect_right(starts, a.start - bom) - 1) for a in anchors]


def _html_page(body: str, bom: int, anchors: Sequence[Anchor]) -> tuple[Tag, list[Tag | None]]:
    """The content the knowledge base reads from the page (not its menus, sidebars or footer)."""
    root, headings = sections.html_headings(body)
    by_start = {start: tag for tag, _, start, _ in headings}
    return root, [by_start.get(anchor.start - bom) for anchor in anchors]


def _faq(document: Document, anchors: Sequence[Anchor]) -> tuple[Tag, list[Tag | None]]:
    """Each question a heading with its answer below it, under its category's heading where it has one."""
    nonce = secrets.token_hex(8)
    out: list[str] = []
    categories = any(len(_parents(document, s.heading_path)) for s in document.sections)
    level = 3 if categories else 2
    category: str | None = None
    next_anchor = 0
    for section in document.sections:
        parents = _parents(document, section.heading_path)
        if categories and (parents[-1] if parents else "") != category:
            category = parents[-1] if parents else ""
            if category:
                out.append(f"<h2>{html.escape(category)}</h2>")
        mark = ""
        # The anchors are the questions in the file's order, as the sections are.
        if next_anchor < len(anchors) and anchors[next_anchor].heading == section.heading:
            mark = f' class="{nonce}-{next_anchor}"'
            next_anchor += 1
        out.append(f"<h{level}{mark}>{html.escape(section.heading)}</h{level}>")
        out.append(_paragraphs(section.text))
    soup, by_index = _marked("".join(out), nonce)
    return soup, [by_index.get(index) for index in range(len(anchors))]


def _parents(document: Document, path: tuple[str, ...]) -> tuple[str, ...]:
    """The headings above a question: its category (a YAML FAQ's title leads every path)."""
    parents = path[:-1]
    return parents[1:] if parents and parents[0] == document.title else parents


def _paragraphs(text: str) -> str:
    """Text as paragraphs (at blank lines). A line break inside one is the author's wrapping, and flows;
    a line that starts a list item starts a line of its own."""
    out: list[str] = []
    for block in re.split(r"\n[ \t]*\n", text.strip("\n")):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        shown = html.escape(lines[0])
        for line in lines[1:]:
            shown += ("<br>" if _LIST_ITEM.match(line) else " ") + html.escape(line)
        out.append(f"<p>{shown}</p>")
    return "".join(out)


def _plain_text(text: str, bom: int, anchors: Sequence[Anchor]) -> tuple[Tag, list[Tag | None]]:
    """Paragraphs under the headings the knowledge base reads (`text_headings`), each shown as it reads it
    ("## Returns" as "Returns", its underline left out; `_finish` makes the title the page's <h1>). An
    underlined line it does not read as a heading is still shown as one."""
    nonce = secrets.token_hex(8)
    lines = text[bom:].split("\n")
    headings = {_line_of(text, anchor.start): index for index, anchor in enumerate(anchors)}
    out: list[str] = []
    block: list[str] = []
    underline = -1  # the line under the heading just written, if it underlines it

    def flush() -> None:
        if len(block) == 2 and block[0].strip() and _TEXT_UNDERLINE.fullmatch(block[1]):
            out.append(f"<h2>{html.escape(block[0].strip())}</h2>")
        elif block:
            out.append(_paragraphs("\n".join(block)))
        block.clear()

    for number, line in enumerate(lines):
        if number in headings:
            flush()
            index = headings[number]
            out.append(f'<h2 class="{nonce}-{index}">{html.escape(anchors[index].heading)}</h2>')
            if number + 1 < len(lines) and _KB_UNDERLINE.match(lines[number + 1]):
                underline = number + 1  # the knowledge base reads it as part of the heading
        elif number == underline:
            continue
        elif line.strip():
            block.append(line)
        else:
            flush()
    flush()
    soup, by_index = _marked("".join(out), nonce)
    return soup, [by_index.get(index) for index in range(len(anchors))]


# -- one finish for all: sanitised, the anchors' ids on, the title heading first ------------------------


def _finish(root: Tag, tags: Sequence[Tag | None], anchors: Sequence[Anchor], title: str) -> str:
    placed = [(anchor, tag) for anchor, tag in zip(anchors, tags, strict=True) if tag is not None]
    if len(placed) < len(anchors):
        missing = [a.heading for a, tag in zip(anchors, tags, strict=True) if tag is None]
        raise _Unplaced(f"no heading on the page for {missing[:3]}")
    if len({id(tag) for _, tag in placed}) < len(placed):
        raise _Unplaced("two sections on one heading")
    # The ids a heading had in the file (its own, its section's) are what the file's links to it name.
    aliases: dict[str, str] = {}
    for anchor, tag in placed:
        for own in _own_ids(tag):
            aliases.setdefault(own, anchor.id)
    _sanitise(root)
    if any(tag.name not in _HEADINGS or not any(up is root for up in tag.parents) for _, tag in placed):
        raise _Unplaced("a heading is inside content that is not shown")
    _ids(root, placed, aliases)
    _title_heading(root, placed, title)
    return root.decode_contents()


def _own_ids(tag: Tag) -> list[str]:
    """The ids that name a heading in the file: its own, and its section's when it is the section's title
    (docutils and many sites put the id on the <section>)."""
    owned = [str(tag.get("id"))] if tag.get("id") else []
    parent = tag.parent
    first = parent.find(True, recursive=False) if parent is not None else None
    if parent is not None and parent.name == "section" and first is tag and parent.get("id"):
        owned.append(str(parent.get("id")))
    return owned


def _sanitise(root: Tag) -> None:
    """Only the elements and attributes of `_KEPT_TAGS`, with links of safe schemes; no comments or other
    markup that is not text."""
    from bs4.element import PreformattedString

    for node in list(root.descendants):
        if isinstance(node, PreformattedString):  # comments, CDATA, processing instructions, doctypes
            node.extract()
    for tag in list(root.find_all(True)):
        if tag.decomposed:
            continue
        if tag.name in _DROPPED_TAGS:
            tag.decompose()
            continue
        if tag.name == "img":
            alt = " ".join(str(tag.get("alt", "")).split())
            tag.replace_with(alt)
            continue
        allowed = _GLOBAL_ATTRIBUTES | _TAG_ATTRIBUTES.get(tag.name, frozenset())
        attributes: dict[str, Any] = {}
        for name, value in tag.attrs.items():
            text: str | None = " ".join(value) if isinstance(value, list) else str(value)
            if name.lower() == "href":
                text = _safe_href(str(text))
            if name.lower() in allowed and text is not None:
                attributes[name.lower()] = text
        refused = "href" in tag.attrs and "href" not in attributes
        tag.attrs = attributes
        if tag.name not in _KEPT_TAGS or refused:
            tag.unwrap()  # a link with a refused URL is its text


def _safe_href(url: str) -> str | None:
    """The URL of a link when its scheme is one a help page links with; None for `javascript:` and the
    like, however it is spelled."""
    # Only what a browser strips from a URL's ends (C0 controls and space): Python's `strip()` also drops
    # U+00A0, U+3000, U+2028…, which turned "\u00a0javascript:…" (a relative URL to a browser) into a script
    # link after the check. The check reads exactly the string returned.
    kept = url.strip(_URL_ENDS)
    scheme = _SCHEME.match(_URL_IGNORED.sub("", kept).lower())
    if scheme and scheme.group(1) not in _SAFE_SCHEMES:
        return None
    return kept


def _ids(root: Tag, placed: Sequence[tuple[Anchor, Tag]], aliases: dict[str, str]) -> None:
    """Each anchor's id on its heading, marked as a section; the file's own ids kept (prefixed) only where
    a link on the page leads to them; in-page links pointed at the ids the page has."""
    anchor_ids = {anchor.id for anchor, _ in placed}
    headings = {id(tag): anchor for anchor, tag in placed}
    linked = set()
    links = [a for a in root.find_all("a", href=True) if str(a["href"]).startswith("#")]
    for link in links:
        linked.add(unquote(str(link["href"])[1:]))
    renamed: dict[str, str] = {}
    for tag in root.find_all(True):
        anchor = headings.get(id(tag))
        if anchor is not None:
            tag.attrs.pop("id", None)
            continue
        own = str(tag.attrs.pop("id", "") or "")
        if own and own in linked and own not in aliases and own not in renamed:
            new = _OWN_ID_PREFIX + own
            if new not in anchor_ids:
                tag["id"] = renamed[own] = new
    for link in links:
        target = unquote(str(link["href"])[1:])
        if target in anchor_ids:
            continue
        if target in aliases:
            link["href"] = "#" + quote(aliases[target], safe="")
        elif target in renamed:
            link["href"] = "#" + quote(renamed[target], safe="")
        else:
            link.unwrap()  # a link to nothing on this page (a message docutils left out)
    for anchor, tag in placed:
        tag["id"] = anchor.id
        tag["class"] = "section"


def _title_heading(root: Tag, placed: Sequence[tuple[Anchor, Tag]], title: str) -> None:
    """The title as the page's <h1>: the first section heading where it reads as the title, else a heading
    of its own before the content."""
    first = placed[0] if placed else None
    if first is not None and first[0].heading == title:
        first[1].name = "h1"
        return
    from bs4 import BeautifulSoup, Tag

    if first is None:
        # No section placed (a page whose heading has no text under it, such as a contact form's): the
        # page's own heading that reads as the title is the title, not a second one above it.
        same = next((h for h in root.find_all(_HEADINGS) if " ".join(h.get_text().split()) == title), None)
        if isinstance(same, Tag):
            same.name = "h1"
            return

    heading = BeautifulSoup("", "html.parser").new_tag("h1")
    heading.string = title
    root.insert(0, heading)
