"""Document parsers: Markdown, reStructuredText, HTML, plain text, PDF and FAQ files into headed sections."""

from __future__ import annotations

import csv
import functools
import html
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.arabic import arabic_folded
from bot.ids import parse_number
from bot.unicode import without_accents

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag
    from pypdf import PdfReader
    from pypdf.generic import Destination

    # pypdf's outline: entries, with a nested list holding the children of the entry before it.
    _Outline = Sequence[Destination | "_Outline"]

log = logging.getLogger("bot.kb")

# Extracted text beyond this many characters per MB of file means a decompression bomb, not a document.
MAX_CHARS_PER_FILE_MB = 4_000_000
MAX_PDF_PAGES = 3000


class LoadError(Exception):
    """A file could not be parsed; the message is the reason shown in the reload report."""


@dataclass(frozen=True, slots=True)
class Section:
    """A piece of a document under one heading; `heading_path` runs from the title down to `heading`."""

    heading: str
    heading_path: tuple[str, ...]
    text: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded knowledge file: its title, its sections and the page it was published at, if known."""

    source: str  # relative to the KB root, forward slashes
    title: str
    sections: tuple[Section, ...]
    url: str = ""


# What every parser returns: the document's title, its sections and the document's URL ("" if none).
Parsed = tuple[str, list[Section], str]
TextParser = Callable[[str, str], Parsed]
BytesParser = Callable[[bytes, str], Parsed]


# ---------------------------------------------------------------------------------------------- helpers


def _squeeze_blank_lines(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


class _SectionBuilder:
    """Collects body lines under a stack of headings; `level` 1 is the document title.

    A section has no URL of its own: a link in its text (an API's base URL, a partner's site) is not where the
    section is, so a citation links to the document's URL (`load_bytes`) or, without one, the help center's
    page of the file."""

    def __init__(self, clean: Callable[[str], str]) -> None:
        self._clean = clean
        self._stack: list[tuple[int, str]] = []
        self._lines: list[str] = []
        self.sections: list[Section] = []

    def heading(self, level: int, text: str) -> None:
        self.flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))

    def line(self, line: str) -> None:
        self._lines.append(line)

    def flush(self) -> None:
        body = self._clean("\n".join(self._lines))
        self._lines = []
        if not body.strip():
            return
        path = tuple(text for _, text in self._stack)
        heading = path[-1] if path else ""
        self.sections.append(Section(heading=heading, heading_path=path, text=body))

    def done(self) -> list[Section]:
        """The document's sections, the page's closing feedback widget left out (`_page_feedback_start`)."""
        self.flush()
        if not self.sections:
            return self.sections
        last = self.sections[-1]
        lines = last.text.split("\n")
        start = _page_feedback_start(lines)
        if start < len(lines):
            body = self._clean("\n".join(lines[:start]))
            self.sections[-1:] = [replace(last, text=body)] if body.strip() else []
        return self.sections


# A page's feedback widget and its "updated … ago" stamp, exported with its text: ReadMe pages close with
# "Updated 3 months ago", "Did this page help you?", "Yes", "No", and a trial quoted them as an answer's
# last lines. Help centers whose chrome is known by its classes lose them with it (Zendesk's
# "article-votes"); these are the words, for pages whose classes are not known and for Markdown and text
# exports. Zendesk's own translations of its prompt are listed for the languages the bot has catalogs in.
_FEEDBACK_PROMPT = re.compile(
    r"(?:(?:was|is|did)\s+(?:this|the)\s+(?:article|page|answer|doc|document|documentation|guide|post|information"
    r"|content|section|topic|reply)\s+(?:helpful|useful|help(?:\s+you)?|answer\s+your\s+question)"
    r"|(?:was|is)\s+this\s+(?:helpful|useful)|did\s+this\s+(?:help(?:\s+you)?|answer\s+your\s+question)"
    r"|did\s+you\s+find\s+this(?:\s+(?:article|page))?\s+(?:helpful|useful)"
    r"|how\s+(?:helpful|useful)\s+was\s+this(?:\s+(?:article|page))?"
    r"|war\s+dieser\s+(?:artikel|beitrag)\s+hilfreich|cet\s+article\s+vous\s+a-t-il\s+été\s+utile"
    r"|¿?(?:le|te)\s+ha\s+(?:sido|resultado)\s+útil\s+este\s+artículo|¿?fue\s+útil\s+este\s+artículo"
    r"|este\s+artigo\s+foi\s+útil|questo\s+articolo\s+è\s+stato\s+utile|was\s+dit\s+artikel\s+nuttig"
    r"|была\s+ли\s+эта\s+статья\s+полезной|apakah\s+artikel\s+ini\s+membantu"
    # Turkish, Zendesk's "Bu makale yararlı mıydı?" (a Turkish marketplace's help center) and the other
    # help desks' wordings; case-insensitive matching takes "ı" for "I" and "i" ("MIYDI", "miydi").
    r"|bu\s+(?:makale|yazı|içerik|yanıt|cevap|sayfa|bilgi)\s+(?:yararlı|faydalı|yardımcı)\s+(?:mıydı|oldu\s+mu)"
    r"|bu\s+(?:makale|yazı|içerik|yanıt|cevap|sayfa|bilgi)\s+işinize\s+yaradı\s+mı"
    r"|bu\s+(?:makale|yazı|içerik|yanıt|cevap)\s+sorunuzu\s+(?:çözdü\s+mü|yanıtladı\s+mı|cevapladı\s+mı)"
    r"|bu\s+(?:makaleyi|yazıyı|içeriği|yanıtı|sayfayı)\s+(?:yararlı|faydalı)\s+buldunuz\s+mu"
    # Vietnamese, Thai and Hindi help desks' prompts (trial help centers' Intercom and Freshdesk pages).
    r"|bài\s+viết\s+này\s+có\s+(?:hữu\s+ích|giúp\s+ích)(?:\s+cho\s+bạn)?\s+không"
    r"|บทความนี้(?:มี|เป็น)ประโยชน์(?:กับคุณ|สำหรับคุณ)?(?:หรือไม่|ไหม|มั้ย)|บทความนี้ช่วย(?:คุณ)?ได้(?:หรือไม่|ไหม)"
    r"|क्या\s+यह\s+(?:लेख|जानकारी|उत्तर|जवाब)\s+(?:मददगार|उपयोगी|सहायक)\s+(?:था|थी|रहा|रही)"
    r"|这篇文章(?:对您)?有(?:帮助|用)吗|此文章(?:是否)?有(?:帮助|用)|這篇文章(?:對您)?有(?:幫助|用)嗎"
    r"|この記事は(?:お)?役に立ちましたか|이\s*(?:문서|글|도움말)(?:가|이)\s*도움이\s*(?:되었습니까|되었나요))"
    r"\s*[?？]?",
    re.IGNORECASE,
)
# The widget's buttons, where they are text: the answers and ReadMe's "Copy Page".
_FEEDBACK_CONTROLS = frozenset(
    {
        "yes", "no", "ja", "nein", "oui", "non", "sí", "si", "sim", "não", "да", "нет", "nee", "ya", "tidak",
        "evet", "hayır", "hayir", "có", "không", "ใช่", "ไม่ใช่", "ไม่", "हाँ", "हां", "नहीं",
        "是", "否", "有帮助", "没有帮助", "有幫助", "沒有幫助", "はい", "いいえ", "예", "아니요", "아니오",
        "👍", "👎", "copy page",
    }
)  # fmt: skip
# "Updated 3 months ago", "Updated8 months ago", "Updated over a week ago", "Last updated about 1 month ago":
# relative, so out of date in any index; a date ("Last updated: 2024-03-01") is the page's and stays.
_UPDATED_AGO = re.compile(
    r"(?:last\s+)?updated\s*(?:about|over|almost|less\s+than)?\s*(?:a|an|\d+)\s+"
    r"(?:second|minute|hour|day|week|month|year)s?\s+ago\.?",
    re.IGNORECASE,
)
# What a Markdown export puts around the widget: rules, and emphasis around its lines.
_FEEDBACK_RULE = re.compile(r"(?:[-*_]\s*){3,}")


def _page_feedback_start(lines: Sequence[str]) -> int:
    """Where the page's closing feedback lines start in its last section's `lines` (`len(lines)` if none).

    The closing run of prompts, buttons, stamps, rules and blank lines goes from its first prompt on, and the
    stamps, rules and blank lines before that prompt; without a prompt only its trailing stamps go. A button's
    word before the prompt is a last answer ("No") and stays."""
    kinds: list[str] = []  # of the closing run, last line first
    for raw in reversed(lines):
        line = raw.strip().strip("*_").strip()
        if not line or _FEEDBACK_RULE.fullmatch(line):
            kinds.append("blank")
        elif _FEEDBACK_PROMPT.fullmatch(line):
            kinds.append("prompt")
        elif _UPDATED_AGO.fullmatch(line):
            kinds.append("stamp")
        elif line.casefold() in _FEEDBACK_CONTROLS:
            kinds.append("control")
        else:
            break
    if "prompt" in kinds:
        first = len(kinds) - 1 - kinds[::-1].index("prompt")  # the run's first prompt, counted from the end
        while first + 1 < len(kinds) and kinds[first + 1] in ("blank", "stamp"):
            first += 1
        return len(lines) - 1 - first
    stamps = 0
    for taken, kind in enumerate(kinds, start=1):
        if kind == "control":
            break
        if kind == "stamp":
            stamps = taken
    return len(lines) - stamps


# ------------------------------------------------------------------------------------------ Markdown

_MD_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_MD_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _fenced(line: str, fence: str | None) -> tuple[bool, str | None]:
    """Whether `line` is code (a fence's own line or one inside it) when `fence` is open before it, and the
    fence open after it."""
    if fence is not None:
        return True, None if line.strip().startswith(fence) else fence
    opened = _MD_FENCE.match(line)
    return (True, opened.group(1)) if opened else (False, None)


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")


# MDX, as Docusaurus writes its .mdx files and reads its .md ones too: ESM statements, admonitions fenced by
# ":::" and JSX components. A Docusaurus trial indexed "import Tabs from '@theme/Tabs';" and quoted it to a
# customer, and kept ":::note", ":::tip Save space" and ":::" in the text. An ESM block is a paragraph that
# starts, unindented and outside any admonition or component, with an import or export statement.
_MDX_ESM_START = re.compile(r"""^(?:import|export)(?=[\s{*'"])""")
# "import './x.css';", or bindings ("Tabs", "{a, b}", "* as c") imported from a module.
_MDX_IMPORT_MODULE = re.compile(r"""^import\s*['"]""")
_MDX_IMPORT = re.compile(r"""^import\s*[\w$*{]""")
_MDX_IMPORT_FROM = re.compile(r"""\bfrom\s*['"]""")
_MDX_EXPORT = re.compile(
    r"^export\s+(?:const|let|var|function|class|default|async|type|interface)\b|^export\s*[{*]"
)
# ":::note", ":::tip Save space", ":::tip[Save space]", "::::info" around a nested one; colons alone end it.
_MD_ADMONITION = re.compile(
    r"^ {0,3}(:{3,})[ \t]*([A-Za-z][\w-]*)(?:\[(.*)\]|[ \t]+(.*?))?(?:[ \t]*\{[^{}]*\})?[ \t]*$"
)
_MD_ADMONITION_END = re.compile(r"^ {0,3}(:{3,})[ \t]*$")
# A JSX component: capitalised (HTML's own elements are not), its attributes strings, {expressions} (one
# level of braces inside: Docusaurus 2's values={[{label: 'iOS', value: 'ios'}]}) or bare ("default").
_JSX_ATTRIBUTE = r"""\s+[\w:.-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|\{(?:[^{}]|\{[^{}]*\})*\}))?"""
_JSX_TAG = re.compile(rf"<(/?)([A-Z][\w.]*)((?:{_JSX_ATTRIBUTE})*)\s*(/?)>")
_JSX_LABEL = re.compile(r"""\s(label|value)\s*=\s*\{?\s*(?:"([^"]*)"|'([^']*)')""")
# A tag that its line does not close ("<TabItem" with its attributes on the lines below) is read this far.
_JSX_MAX_LINES = 20
# Lines a title cannot lead without changing what they are: a list item, a table row, a quote.
_MD_BLOCK_START = re.compile(r"^\s*(?:[-*+]\s|\d{1,9}[.)]\s|\||>)")


def _jsx_label(name: str, attributes: str) -> str:
    """What a component's tab shows: its label, else a tab's value (Docusaurus shows that)."""
    found = {m.group(1): m.group(2) or m.group(3) or "" for m in _JSX_LABEL.finditer(attributes)}
    label = found.get("label") or (found.get("value", "") if name.endswith("TabItem") else "")
    return " ".join(label.split())


@dataclass(frozen=True, slots=True)
class _JsxLine:
    """A line that starts with JSX components' tags: the tags before its text, the text, the tags after it."""

    end: int  # the index of the line after it (an opening tag may run on several lines)
    before: list[re.Match[str]]
    text: str
    after: list[re.Match[str]]


def _after_spaces(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def _jsx_line(lines: list[str], at: int) -> _JsxLine | None:
    """Line `at` read as JSX tags around text (either may be missing), or None when it does not start with a
    component's tag."""
    if not re.match(r"\s*</?[A-Z]", lines[at]):
        return None
    end = at
    while ">" not in lines[end] and end + 1 < min(len(lines), at + _JSX_MAX_LINES):
        end += 1
    joined = " ".join(lines[at : end + 1]) if end > at else lines[at]
    before: list[re.Match[str]] = []
    position = _after_spaces(joined, 0)
    while tag := _JSX_TAG.match(joined, position):
        before.append(tag)
        position = _after_spaces(joined, tag.end())
    if not before:
        return None
    if end > at and position < len(joined):
        return None  # text after a tag that ran on several lines: not what was thought
    # Closing tags after the text, read from the line's end back (a search forward for them is quadratic).
    after: list[re.Match[str]] = []
    stop = len(joined)
    while True:
        while stop > position and joined[stop - 1].isspace():
            stop -= 1
        start = joined.rfind("</", position, stop) if stop > position and joined[stop - 1] == ">" else -1
        closing = _JSX_TAG.fullmatch(joined, start, stop) if start >= 0 else None
        if closing is None or not closing.group(1):
            break
        after.append(closing)
        stop = start
    return _JsxLine(end + 1, before, joined[position:stop], after[::-1])


def _is_esm(statement: str) -> bool:
    """Whether a paragraph that starts with "import" or "export" is an ESM statement, not a sentence."""
    if _MDX_IMPORT_MODULE.match(statement) or _MDX_EXPORT.match(statement):
        return True
    return bool(_MDX_IMPORT.match(statement) and _MDX_IMPORT_FROM.search(statement))


def _mdx_markup(text: str) -> str:
    """`text` (a section of a Markdown file) without MDX's markup, and what the markup says kept: an
    admonition's title leads its first line as an HTML page's does ("Note: …", "Save space: …"), a tab's
    label its tab's ("iOS: …"), a component's text stays. Code fences are left as they are."""
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    lead = ""  # the title for the next line of text
    admonitions: list[int] = []  # the colons of each open admonition
    components = 0  # the JSX components open around the line
    paragraph = True  # the line starts a paragraph

    def lead_alone() -> None:
        nonlocal lead
        if lead:
            out.append(lead if lead.endswith(":") else lead + ":")
            lead = ""

    def component(tag: re.Match[str]) -> None:
        nonlocal components, lead
        if tag.group(1):  # a closing tag: a tab that ended without text leads nothing
            components = max(0, components - 1)
            lead = ""
        elif not tag.group(4):
            components += 1
            label = _jsx_label(tag.group(2), tag.group(3))
            if label:
                lead_alone()
                lead = label

    def text_line(line: str) -> None:
        nonlocal lead
        if lead and line.strip():
            if _MD_BLOCK_START.match(line):
                lead_alone()
            else:
                indent = len(line) - len(line.lstrip())
                line = line[:indent] + lead + (" " if lead.endswith(":") else ": ") + line[indent:]
                lead = ""
        out.append(line)

    at = 0
    while at < len(lines):
        line = lines[at]
        at += 1
        opens = fence is None
        code, fence = _fenced(line, fence)
        if code:
            if opens:
                lead_alone()
                paragraph = False
            out.append(line)
            continue
        if paragraph and not admonitions and not components and _MDX_ESM_START.match(line):
            end = at
            while end < len(lines) and lines[end].strip():
                end += 1
            if _is_esm("\n".join(lines[at - 1 : end])):
                at = end
                continue
        paragraph = not line.strip()
        admonition = _MD_ADMONITION.match(line)
        closing = _MD_ADMONITION_END.match(line)
        jsx = _jsx_line(lines, at - 1)
        if admonition:
            lead_alone()
            admonitions.append(len(admonition.group(1)))
            written = admonition.group(3) or admonition.group(4) or ""
            title = " ".join(written.split()) or admonition.group(2)
            # Capitalised as the page shows it (`_HtmlText._label`): ":::note" is "Note".
            lead = title[0].upper() + title[1:] if title.islower() else title
            paragraph = True
        elif closing:
            if admonitions and len(closing.group(1)) >= admonitions[-1]:
                admonitions.pop()
            lead = ""  # an empty admonition leads nothing
            paragraph = True
        elif jsx is not None:
            at = jsx.end
            for tag in jsx.before:
                component(tag)
            if jsx.text:
                text_line(jsx.text)
            for tag in jsx.after:
                component(tag)
            paragraph = not jsx.text
        else:
            text_line(line)
    return "\n".join(out)


# MkDocs' admonitions (Python-Markdown's `admonition`, pymdownx's collapsible `details`): a "!!! type" or
# "??? type" / "???+ type" line, an optional "title" in double quotes, over a body indented by four spaces or
# a tab. Left as written, a MkDocs trial quoted '!!! tip "Send invoices to your accountant" You can add…' to a
# customer, and an admonition's second paragraph read as an indented code block.
_MKDOCS_ADMONITION = re.compile(r'^ {0,3}(?:!!!|\?{3}\+?) ?([\w-]+(?: +[\w-]+)*?)?(?: *"(.*?)")? *$')
_MKDOCS_BODY = re.compile(r"^(?: {4}|\t)")


def _mkdocs_admonitions(text: str) -> str:
    """`text` (a section of a Markdown file) with MkDocs' admonitions written as Docusaurus writes them
    (":::note[Title]" … ":::"), their bodies no longer indented, for `_mdx_markup` to read as it reads those:
    the title ("Note" for "!!! note", the quoted one where there is one) leads the first line; an empty title
    ('!!! note ""') leads nothing. A "!!!" line with no indented body under it stays as written."""
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    at = 0
    while at < len(lines):
        line = lines[at]
        at += 1
        code, fence = _fenced(line, fence)
        opened = None if code else _MKDOCS_ADMONITION.match(line)
        if opened is None or (opened.group(1) is None and opened.group(2) is None):
            out.append(line)
            continue
        end = at
        while end < len(lines) and (not lines[end].strip() or _MKDOCS_BODY.match(lines[end])):
            end += 1
        while end > at and not lines[end - 1].strip():
            end -= 1
        if end == at:
            out.append(line)  # no body: not an admonition as MkDocs reads one
            continue
        body = _mkdocs_admonitions(
            "\n".join(_MKDOCS_BODY.sub("", body_line, count=1) for body_line in lines[at:end])
        )
        written = opened.group(2)  # none: the type's name, as MkDocs shows it ("!!! note" is "Note")
        title = " ".join(written.split()) if written is not None else opened.group(1).split()[0].capitalize()
        if title:
            colons = ":" * max([3, *(len(run) + 1 for run in re.findall(r"(?m)^ {0,3}(:{3,})", body))])
            out.extend(["", f"{colons}note[{title}]", body, colons, ""])
        else:
            out.extend(["", body, ""])
        at = end
    return "\n".join(out)


# Raw HTML, which Markdown passes through to the page: a help center written in Markdown uses <kbd>, <br>,
# <details> and HTML tables, and help desks export FAQ answers as HTML bodies ("<p>…</p><ul><li>…"). Kept as
# written, customers read "Press <kbd>Ctrl</kbd>" and "<br>" in quotes, and BM25 indexed "kbd" and "span".
_HTML_TAG = re.compile(
    r"""<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?)*)"""
    r"""\s*(/?)>"""
)
# CommonMark's HTML blocks: a line that starts with one of these tags starts a block that runs to a blank line
# (rendered as an HTML page's text), or to its closing tag for the raw ones.
_HTML_BLOCK_NAMES = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "col", "colgroup", "dd",
        "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "legend", "li", "main", "menu", "nav",
        "ol", "optgroup", "option", "p", "search", "section", "summary", "table", "tbody", "td", "tfoot",
        "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_HTML_RAW_BLOCK_NAMES = frozenset({"pre", "script", "style", "textarea"})
_HTML_BLOCK_START = re.compile(r" {0,3}<(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>]|$)")
# Elements that only hold their text within a line (an unknown name, "<username>" or "<Enter>", is a
# placeholder or a key the author meant to show, and stays).
_HTML_INLINE_NAMES = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
        "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time",
        "tt", "u", "var",
    }
)  # fmt: skip
_HTML_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_HTML_ALT = re.compile(r"""\salt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")
# HTML's and MDX's comments, which the page does not show: each opener with its closer. Found by str.find,
# not by a regex: "<!--.*?-->" tries every unclosed opener to the text's end, and 16,000 "{/*" took 15 s.
_COMMENT_MARKS = {"<!--": "-->", "{/*": "*/}"}
_MD_INDENTED_CODE = re.compile(r"^(?: {4}| {0,3}\t)")
_MD_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
# A code span, whose text is shown as written: "`<div>`" is not markup.
_MD_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")


def _html_fragment_text(fragment: str) -> str:
    """An HTML fragment's text as an HTML page's is rendered (`_HtmlText`): blocks on lines of their own, list
    items marked, table rows as "| cell |" lines, scripts and media left out."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    for tag in soup.find_all(_NON_TEXT_TAGS):
        tag.decompose()
    return "\n".join(line.text for line in _HtmlText().render(soup))


# A backslash escape outside code shows its character alone ("\\*100\\*" for a USSD code, "1\\." for a
# number that starts no list, "\\#"): a Vietnamese telecom trial told customers to dial "\\*100\\*mã thẻ#".
# Not "\\|", a "|" in a table's cell, which tables keep escaped (`bot.kb.markup`). Read here, where code spans
# are known: an HTML page's code is no longer marked in its text, and "C:\\Tools\\*.exe" there is as written.
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{}~])")


def _inline_html(line: str, components: frozenset[str]) -> str:
    """`line` without inline HTML's tags (their text kept, a line break for <br>, an image's alt text for it)
    and with entities decoded, outside code spans. A capitalised tag is a JSX component when `components`
    (the names the section both opens and closes, or closes itself) holds it. An inline element's tags go
    only where the line both opens and closes it: "text YES <code> to 12345" and "<date>_<time>.csv" are
    placeholders named like elements, and stay."""
    paired: set[str] = set()
    opened: set[str] = set()
    for found in _HTML_TAG.finditer(_MD_CODE_SPAN.sub("", line)):
        key = found.group(2).lower()
        if found.group(1):
            if key in opened:
                paired.add(key)
        elif not found.group(4):
            opened.add(key)

    def tag(match: re.Match[str]) -> str:
        name = match.group(2)
        key = name.lower()
        if name[0].isupper() and name not in components and not match.group(4):
            return match.group(0)  # "<Enter>": a key, not a component
        if key in ("br", "wbr"):
            return "\n" if key == "br" else ""
        if key == "img":
            alt = _HTML_ALT.search(match.group(3))
            return next((g for g in alt.groups() if g), "") if alt else ""
        if name[0].isupper() or (key in _HTML_INLINE_NAMES and key in paired):
            return ""
        if key in _HTML_INLINE_NAMES:
            return match.group(0)
        if key in _HTML_BLOCK_NAMES or key in _HTML_RAW_BLOCK_NAMES:
            return "\n"
        return match.group(0)

    def text(part: str) -> str:
        part = _MD_ESCAPE.sub(r"\1", part)
        tagged = _HTML_TAG.sub(tag, part)
        if tagged != part:  # "Plans: <Badge /> only": the spaces around a tag left out are one
            tagged = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", tagged)
        # A no-break space is a space, as in an HTML page's text (`_HtmlText`).
        return _HTML_ENTITY.sub(lambda m: html.unescape(m.group(0)).replace("\xa0", " "), tagged)

    out: list[str] = []
    at = 0
    for code in _MD_CODE_SPAN.finditer(line):
        out += [text(line[at : code.start()]), code.group(0)]
        at = code.end()
    out.append(text(line[at:]))
    # "…toolbar.<br>" at a line's end breaks the line it ends anyway: not a blank line, a paragraph's end.
    return "".join(out).rstrip("\n") if line.strip() else "".join(out)


def _jsx_components(text: str) -> frozenset[str]:
    """The capitalised tag names `text` closes (a pair, or a tag closing itself): its JSX components."""
    found: set[str] = set()
    opened: set[str] = set()
    for match in _HTML_TAG.finditer(text):
        name = match.group(2)
        if not name[0].isupper():
            continue
        if match.group(1):
            if name in opened:
                found.add(name)
        elif match.group(4):
            found.add(name)
        else:
            opened.add(name)
    return frozenset(found)


def _markdown_html(text: str) -> str:
    """`text` (a section of a Markdown file, MDX's own markup gone) with its raw HTML rendered as the page
    shows it: HTML blocks as an HTML page's text, inline tags by their text, comments left out; code fences
    and code spans as written."""
    lines = text.split("\n")
    components = _jsx_components(text)
    out: list[str] = []
    fence: str | None = None
    code = False  # in an indented code block
    in_list = False  # in a list: an indented line is an item's continuation, not code
    at = 0
    while at < len(lines):
        line = lines[at]
        at += 1
        if fence is not None:
            out.append(line)
            _, fence = _fenced(line, fence)
            continue
        # An indented code block (CommonMark: 4 spaces or a tab, after a blank line or in such a block; not a
        # list item's continuation) is code, as written: "    echo '<b>hi</b>'" is no markup.
        blank_before = at < 2 or not lines[at - 2].strip()
        if line.strip() and _MD_INDENTED_CODE.match(line) and (code or (blank_before and not in_list)):
            code = True
            out.append(line)
            continue
        if line.strip():
            code = False
            if _MD_LIST_ITEM.match(line):
                in_list = True
            elif blank_before and not _MD_INDENTED_CODE.match(line):
                in_list = False
        fence_match = _MD_FENCE.match(line)
        block = _HTML_BLOCK_START.match(line)
        key, closing_tag = (block.group(2).lower(), bool(block.group(1))) if block else ("", False)
        if fence_match:
            fence = fence_match.group(1)
            out.append(line)
        elif key in _HTML_RAW_BLOCK_NAMES and not closing_tag:
            end = at - 1
            closing = f"</{key}>"
            while end < len(lines) and closing not in lines[end].lower():
                end += 1
            end = min(end + 1, len(lines))
            out.extend(_html_fragment_text("\n".join(lines[at - 1 : end])).split("\n"))
            at = end
        elif key in _HTML_BLOCK_NAMES:
            end = at
            while end < len(lines) and lines[end].strip():
                end += 1
            out.extend(["", *_html_fragment_text("\n".join(lines[at - 1 : end])).split("\n"), ""])
            at = end
        else:
            out.append(_inline_html(line, components))
    return "\n".join(out)


def _comment_spans(text: str) -> list[tuple[int, int]]:
    """The [start, end) spans of `text`'s HTML and MDX comments outside code fences, in order. A comment is
    found over the whole text, not fence by fence: a fence that opens inside a comment is commented out with
    it ("<!-- draft … ``` curl -H 'Authorization: …' ``` -->"), and cut at the fence its closer ran on
    past."""
    spans: list[tuple[int, int]] = []
    openers = list(_COMMENT_MARKS)
    fence: str | None = None
    resume = 0  # the end of the last comment: a line that starts before it starts inside that comment
    line_start = 0
    while line_start <= len(text):
        line_end = text.find("\n", line_start)
        line_end = len(text) if line_end == -1 else line_end
        line = text[line_start:line_end]
        if resume <= line_start:
            code, fence = _fenced(line, fence)
            if code:
                line_start = line_end + 1
                continue
        at = max(resume, line_start)
        # Where each opener is next found in this line (-1: nowhere), so that no part of it is searched twice.
        found = {opener: -2 for opener in openers}
        while at < line_end and openers:
            for opener in openers:
                if -1 < found[opener] < at or found[opener] == -2:
                    found[opener] = text.find(opener, at, line_end)
            start = min((found[opener] for opener in openers if found[opener] >= 0), default=-1)
            if start == -1:
                break
            opener = next(opener for opener in openers if found[opener] == start)
            end = text.find(_COMMENT_MARKS[opener], start + len(opener))
            if end == -1:
                # No closer is left, for this opener or any after it: the rest is text, as a page shows it.
                openers.remove(opener)
                continue
            end += len(_COMMENT_MARKS[opener])
            # "Shown. <!-- hidden --> Too.": a comment between words goes with the space before it.
            before = start
            while before > 0 and text[before - 1] in " \t":
                before -= 1
            if (
                before < start
                and before > 0
                and not text[before - 1].isspace()
                and text[end : end + 1] in (" ", "\t")
            ):
                start = before
            spans.append((start, end))
            at = resume = end
        line_start = line_end + 1
    return spans


def _without_comments(text: str) -> str:
    """`text` (Markdown) without HTML and MDX comments, outside code fences."""
    out: list[str] = []
    at = 0
    for start, end in _comment_spans(text):
        out.append(text[at:start])
        at = end
    out.append(text[at:])
    return "".join(out)


def _clean_markdown(text: str) -> str:
    text = _mdx_markup(_mkdocs_admonitions(_without_comments(text)))
    text = _markdown_html(text)
    text = _MD_IMAGE.sub(lambda m: m.group(1), text)
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = _MD_AUTOLINK.sub(lambda m: m.group(1), text)
    return _squeeze_blank_lines(text)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        return {}, text
    meta: dict[str, str] = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().isidentifier():
            meta[key.strip().lower()] = value.strip().strip("'\"")
    rest = text[end + 4 :]
    return meta, rest.split("\n", 1)[1] if "\n" in rest else ""


def _same_spacing(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def parse_markdown(text: str, default_title: str) -> Parsed:
    meta, text = _front_matter(text)
    builder = _SectionBuilder(_clean_markdown)
    lines = text.splitlines()
    title = meta.get("title", "")
    if title:
        builder.heading(0, title)
    fence: str | None = None
    pending: list[str] = []  # paragraph lines that a setext underline could turn into a heading
    h1_seen = False

    def emit_pending() -> None:
        for held in pending:
            builder.line(held)
        pending.clear()

    def add_heading(level: int, heading: str) -> None:
        nonlocal h1_seen
        if level == 1 and not h1_seen and meta.get("title") and _same_spacing(heading, meta["title"]):
            # The page's first H1 repeats its front matter's title: one heading, the title, over what follows;
            # pushed under it, every section's path read "새벽배송 이용 안내 > 새벽배송 이용 안내 > …".
            builder.heading(0, meta["title"])
        else:
            builder.heading(level, heading)
        h1_seen = h1_seen or level == 1

    for line in lines:
        opens = fence is None
        code, fence = _fenced(line, fence)
        if code:
            if opens:
                emit_pending()
            builder.line(line)
            continue
        atx = _MD_ATX.match(line)
        if atx:
            emit_pending()
            heading = (atx.group(2) or "").strip()
            if heading:
                add_heading(len(atx.group(1)), heading)
                title = title or heading
            continue
        setext = _MD_SETEXT.match(line)
        if setext and len(pending) == 1 and pending[0].strip() and not line.startswith("    "):
            heading = pending.pop().strip()
            add_heading(1 if setext.group(1)[0] == "=" else 2, heading)
            title = title or heading
            continue
        if not line.strip():
            emit_pending()
            builder.line(line)
        else:
            pending.append(line)
    emit_pending()
    return title or default_title, builder.done(), meta.get("url", "")


# ----------------------------------------------------------------------------------- reStructuredText

_RST_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1+[ \t]*$")
_RST_DIRECTIVE = re.compile(r"^\s*\.\.\s+([\w:-]+)::(.*)$")
_RST_TARGET = re.compile(r"^\s*\.\.\s+(_[^:]*|\|[^|]*\||\[[^\]]*\]):.*$")
_RST_ROLE = re.compile(r":[\w:+.-]+:`([^`<]*?)\s*(?:<[^>`]*>)?`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<([^>`]+)>`__?")
_RST_PEP = re.compile(r":(pep|rfc):`(\d+)`", re.IGNORECASE)
_RST_LITERAL = re.compile(r"``(.+?)``")
_RST_REF = re.compile(r"`([^`]+)`_{1,2}")
_RST_FOOTNOTE = re.compile(r"\s*\[(?:#\w*|\*|\d+)\]_")
# Directives whose body is navigation or markup, not content.
_RST_DROP_DIRECTIVES = frozenset(
    {"contents", "toctree", "index", "highlight", "only", "tabularcolumns", "sectionauthor", "meta", "raw"}
)
_RST_FIELD = re.compile(r"^:[\w-]+:(\s.*)?$")


def _clean_rst(text: str) -> str:
    out: list[str] = []
    drop_indent: int | None = None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if drop_indent is not None:
            if not line.strip() or indent > drop_indent:
                continue
            drop_indent = None
        directive = _RST_DIRECTIVE.match(line)
        if directive:
            name = directive.group(1).lower()
            if name in _RST_DROP_DIRECTIVES:
                drop_indent = indent
                continue
            argument = directive.group(2).strip()
            # Keep what a reader sees: a note's text, a code block's code; drop the directive markup.
            if argument and name not in ("code-block", "code", "sourcecode", "literalinclude", "image"):
                out.append(" " * indent + argument)
            continue
        if _RST_TARGET.match(line) or line.strip() == "..":
            continue
        if _RST_FIELD.match(line.strip()) and not out:
            continue
        out.append(line)
    body = "\n".join(out)
    body = _RST_LINK.sub(lambda m: m.group(1), body)
    body = _RST_PEP.sub(lambda m: f"{m.group(1).upper()} {m.group(2)}", body)
    body = _RST_ROLE.sub(lambda m: m.group(1), body)
    body = _RST_LITERAL.sub(lambda m: m.group(1), body)
    body = _RST_REF.sub(lambda m: m.group(1), body)
    body = _RST_FOOTNOTE.sub("", body)
    body = re.sub(r"(\S)::$", r"\1:", body, flags=re.MULTILINE)
    body = re.sub(r"^\s*::\s*$", "", body, flags=re.MULTILINE)
    return _squeeze_blank_lines(body)


def _is_adornment(line: str) -> bool:
    return bool(_RST_ADORNMENT.match(line)) and len(line.strip()) >= 2


def rst_heading_at(lines: Sequence[str], i: int) -> tuple[int, tuple[str, bool]] | None:
    """The title that starts at line `i`, as (index of its text line, style), or None.

    Overlined: adornment, text, the same adornment (the style's flag True). Underlined: unindented text, then
    an adornment at least as long (or 3+ characters). The title takes 3 and 2 lines; the style is its level's
    key (adornment character, overlined) in the order styles first appear."""
    line = lines[i]
    n = len(lines)
    if i > 0 and lines[i - 1].strip():
        return None
    if (
        _is_adornment(line)
        and i + 2 < n
        and lines[i + 1].strip()
        and not _is_adornment(lines[i + 1])
        and _is_adornment(lines[i + 2])
        and lines[i + 2].strip()[0] == line.strip()[0]
    ):
        return i + 1, (line.strip()[0], True)
    if (
        line.strip()
        and not line[0].isspace()
        and not _is_adornment(line)
        and i + 1 < n
        and _is_adornment(lines[i + 1])
        and not lines[i + 1][0].isspace()
        and (len(lines[i + 1].rstrip()) >= len(line.rstrip()) or len(lines[i + 1].rstrip()) >= 3)
        and (i + 2 >= n or not lines[i + 2].strip() or not _is_adornment(lines[i + 2]))
    ):
        return i, (lines[i + 1].strip()[0], False)
    return None


def parse_rst(text: str, default_title: str) -> Parsed:
    lines = text.splitlines()
    builder = _SectionBuilder(_clean_rst)
    styles: list[tuple[str, bool]] = []  # heading levels, in order of first appearance
    title = ""
    i = 0
    n = len(lines)
    while i < n:
        found = rst_heading_at(lines, i)
        if found is not None:
            at, style = found
            heading = lines[at].strip()
            if style not in styles:
                styles.append(style)
            builder.heading(styles.index(style) + 1, heading)
            title = title or heading
            i = at + 2
            continue
        line = lines[i]
        builder.line(line)
        i += 1
    return title or default_title, builder.done(), ""


# ---------------------------------------------------------------------------------------------- HTML

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Never text: code, metadata, media and embedded documents.
_NON_TEXT_TAGS = (
    "script", "style", "noscript", "template", "head", "svg", "canvas", "iframe", "object", "embed", "video",
    "audio", "img", "picture",
)  # fmt: skip

# Page chrome, recognised four ways: by element, by ARIA role, by the class or id names the site generators
# give it, and (in `_drop_link_blocks`) by being a block of links. Sources: DocBook XSL, Sphinx (classic,
# alabaster, Read the Docs, Furo), MkDocs (default and Material), Docusaurus, Zendesk Guide (Copenhagen),
# Intercom help centres.
_CHROME_TAGS = frozenset(
    {"nav", "footer", "search", "form", "dialog", "input", "select", "textarea", "button"}
)
_CHROME_ROLES = frozenset(
    {
        "navigation", "banner", "contentinfo", "complementary", "search", "menubar", "dialog", "alertdialog",
        "doc-toc",
    }
)  # fmt: skip
_CHROME_NAMES = frozenset(
    {
        # generic
        "navbar", "sidebar-nav", "toc", "table-of-contents", "pagination", "pager", "skip-link",
        "skip-navigation", "site-header", "site-footer", "footer", "cookie-banner", "cookie-consent",
        # DocBook XSL
        "navheader", "navfooter", "list-of-tables", "list-of-figures", "list-of-examples",
        # Sphinx
        "sphinxsidebar", "related", "headerlink", "toctree-wrapper", "rst-footer-buttons", "wy-nav-side",
        "wy-nav-top", "sidebar-drawer", "toc-drawer", "related-pages", "back-to-top",
        # MkDocs Material
        "md-header", "md-tabs", "md-sidebar", "md-nav", "md-footer", "md-source", "md-source-file",
        "md-search", "md-skip", "md-dialog", "md-top", "md-banner", "md-announce", "md-content__button",
        "md-clipboard", "md-feedback",
        # Docusaurus
        "theme-layout-navbar", "theme-doc-sidebar-container", "theme-doc-toc-desktop", "theme-doc-toc-mobile",
        "pagination-nav", "theme-doc-footer", "theme-edit-this-page", "theme-last-updated", "hash-link",
        "theme-back-to-top-button", "theme-doc-version-banner", "theme-layout-footer",
        # Zendesk Guide (Copenhagen)
        "sub-nav", "search-container", "article-sidebar", "collapsible-sidebar", "article-author",
        "article-meta", "article-subscribe", "article-footer", "article-share", "article-votes",
        "article-more-questions", "article-return-to-top", "article-relatives", "related-articles",
        "recent-articles", "article-comments",
        # Intercom
        "avatar", "related_articles", "intercom-reaction-picker",
        # ReadMe: a callout's emoji, drawn before its title
        "callout-icon",
    }
)  # fmt: skip
# Chrome whatever prefix or CSS-module hash surrounds the name ("theme-doc-breadcrumbs", "breadcrumbsBox_Z"),
# or BEM element of it: an author line ("avatar__info": "Written by Priya Updated over a week ago").
_CHROME_FRAGMENTS = ("breadcrumb", "cookiebot", "onetrust", "avatar", "byline")
# An <aside> is chrome unless it is one of these boxes inside the text (Sphinx and docutils footnotes, notes).
_CONTENT_ASIDES = frozenset(
    {
        "footnote", "footnote-list", "admonition", "note", "tip", "warning", "caution", "important", "topic",
        "sidebar", "callout",
    }
)  # fmt: skip
# Boxes whose own heading ("Note", "Tip") labels the box; the text around it stays in the enclosing section.
# ReadMe and Bootstrap call theirs a callout, titled by an <h2>/<h3 class="callout-heading">: read as a
# heading, "🚧Keep your keys secret" became a section of its own under the one it sits in.
_ADMONITIONS = frozenset(
    {"admonition", "note", "tip", "warning", "caution", "important", "hint", "danger", "callout"}
)
# The title line of a note in Sphinx and MkDocs (a paragraph), Docusaurus (a div, CSS-module suffixed) and
# ReadMe and Bootstrap (a heading).
_ADMONITION_TITLES = ("admonition-title", "admonitionheading", "callout-heading")
# Where a generator puts the page's own content, most preferred first, as (element, attribute, value) with ""
# for any: <main>, ARIA's main role, a lone <article>, Sphinx, MkDocs Material, Docusaurus, Read the Docs,
# Zendesk, Intercom, then common ids. The first that holds text is the content root.
_CONTENT_ROOTS = (
    ("main", "", ""), ("", "role", "main"), ("article", "", ""), ("div", "class", "body"),
    ("", "class", "md-content"), ("", "class", "theme-doc-markdown"), ("", "class", "rst-content"),
    ("", "class", "article-body"), ("", "class", "article_body"), ("", "id", "main-content"),
    ("", "id", "content"),
)  # fmt: skip
# A block with at least this many links and this share of its words inside them is navigation.
_LINK_BLOCK_MIN_LINKS = 3
_LINK_BLOCK_SHARE = 0.8
_LINK_BLOCK_TAGS = frozenset(
    {"div", "section", "ul", "ol", "dl", "p", "table", "header", "aside", "details", "menu"}
)

# Blocks set off by a blank line (a chunk splits at those); other blocks only start a new line.
_PARAGRAPH_TAGS = frozenset({"p", "ul", "ol", "dl", "table", "blockquote", "figure", "details", "hr"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "body", "caption", "dd", "div", "dt", "fieldset", "figcaption",
        "header", "hgroup", "html", "legend", "main", "section", "summary", "tbody", "tfoot", "thead",
    }
)  # fmt: skip
_LIST_TAGS = ("ul", "ol", "menu")


def _names(tag: Tag) -> list[str]:
    """The class, id and test-id names of a tag, lower-cased."""
    names = [str(name).lower() for name in tag.get_attribute_list("class")]
    names += [str(tag.get(attr, "")).lower() for attr in ("id", "data-testid") if tag.get(attr)]
    return names


def _is_chrome(tag: Tag) -> bool:
    if tag.name in _CHROME_TAGS:
        # A disclosure button labels the answer it opens (FAQ accordions); other buttons are controls.
        return not (tag.name == "button" and tag.has_attr("aria-expanded"))
    if str(tag.get("role", "")).lower() in _CHROME_ROLES:
        return True
    names = _names(tag)
    if tag.name == "aside" and not _CONTENT_ASIDES.intersection(names):
        return True
    if (
        tag.name == "header"
        and tag.find(_HEADINGS) is None
        and tag.find_parent(("article", "main", "section")) is None
    ):
        return True  # the site's banner; an article's own header holds its title
    return any(name in _CHROME_NAMES or any(f in name for f in _CHROME_FRAGMENTS) for name in names)


def _content_root(soup: BeautifulSoup) -> Tag:
    from bs4.element import Tag

    found: dict[int, Tag] = {}  # rank in _CONTENT_ROOTS -> the first element that matches it
    articles = 0
    for tag in soup.find_all(True):
        articles += tag.name == "article"
        for rank, (name, attribute, value) in enumerate(_CONTENT_ROOTS):
            if rank in found or (name and tag.name != name) or (attribute and attribute not in tag.attrs):
                continue
            if not attribute or value in tag.get_attribute_list(attribute):
                found[rank] = tag
    for rank in sorted(found):
        if _CONTENT_ROOTS[rank][0] == "article" and articles != 1:
            continue  # several articles are a listing, not one page's content
        if found[rank].get_text(strip=True):
            return found[rank]
    return soup.body if isinstance(soup.body, Tag) else soup


def _drop_chrome(root: Tag) -> None:
    from bs4.element import Tag

    stack = [root]  # a loop, not recursion: unclosed <p> and <li> nest as deep as a page is long
    while stack:
        for child in list(stack.pop().children):
            if isinstance(child, Tag):
                if child.name in _NON_TEXT_TAGS or _is_chrome(child):
                    child.decompose()
                else:
                    stack.append(child)


# Footnotes by their generators' markup: DocBook's `div.footnote` (id "ftn.…"), Sphinx's `footnote`
# classes, Python-Markdown's and pandoc's `li` ids "fn:1", "fn1" under a `footnote(s)` block.
_FOOTNOTE_ID = re.compile(r"^(?:ftn\.|fn[:\-]?\d)")
# The block a footnote is placed after: the nearest of these around the link to it.
_REFERRING_BLOCKS = ("p", "li", "dd", "dt", "td", "th", "blockquote", "pre", "div", "section", "article")
_INSIDE_A_LIST_OR_TABLE = frozenset({"li", "dd", "dt", "td", "th"})
# What a footnote is written as (the reference to it is a link, often with the same class).
_FOOTNOTE_TAGS = ("div", "li", "aside", "dd", "p", "table", "section")


def _place_footnotes(root: Tag) -> None:
    """Move each footnote after the block that refers to it: a page's footnotes come after its last
    section, where a Russian trial's Debian FAQ quoted "[1] Linux Standard Base…" for the last question of
    a chapter and section 6.3 ended in a "[2]" explained nowhere near."""
    from bs4.element import Tag

    # The first link to each in-page address, found in one pass (not one search of the page per note).
    refs: dict[str, Tag] = {}
    for link in root.find_all("a", href=True):
        refs.setdefault(str(link["href"]), link)
    placed: dict[int, Tag] = {}  # id(block) -> the last note placed after it
    for note in root.find_all(_FOOTNOTE_TAGS, id=True):
        note_id = str(note.get("id", ""))
        classes = " ".join(
            [
                *note.get_attribute_list("class"),
                *(note.parent.get_attribute_list("class") if isinstance(note.parent, Tag) else []),
            ]
        )
        if not (_FOOTNOTE_ID.match(note_id) or "footnote" in classes.lower()):
            continue
        ref = refs.get(f"#{note_id}")
        if not isinstance(ref, Tag) or ref in note.descendants:
            continue
        block = ref.find_parent(_REFERRING_BLOCKS)
        if block is not None and block.name in _INSIDE_A_LIST_OR_TABLE:
            # After the whole list or table: a note inside a row or between items would break them.
            block = block.find_parent(("table", "ul", "ol", "dl")) or block
        if block is None or block is note or note in block.parents or block in note.parents:
            continue
        # After the notes already placed there, so that they keep their order.
        anchor = placed.get(id(block), block)
        anchor.insert_after(note.extract())
        placed[id(block)] = note


# A run of non-space holding a letter or digit: in "Home | Docs » Guide" the separators are not words, or
# they would dilute a menu's share of link text.
_WORD = re.compile(r"[^\s\w]*\w\S*")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _drop_link_blocks(root: Tag) -> None:
    """Remove blocks that are (almost) only links: menus, tables of contents, related-article lists."""
    from bs4.element import NavigableString, PreformattedString, Tag

    counts: dict[int, tuple[int, int, int]] = {}  # id(tag) -> (words, words inside links, links)
    for tag in reversed([root, *root.find_all(True)]):  # children before their parents
        words = linked = links = 0
        for child in tag.children:
            if isinstance(child, Tag):
                w, lw, n = counts[id(child)]
                words, linked, links = words + w, linked + lw, links + n
            elif isinstance(child, NavigableString) and not isinstance(child, PreformattedString):
                words += _words(child)
        if tag.name == "a" and words:
            linked, links = words, links + 1
        counts[id(tag)] = (words, linked, links)
    stack = [root]
    while stack:
        for child in list(stack.pop().children):
            if not isinstance(child, Tag):
                continue
            words, linked, links = counts[id(child)]
            if (
                child.name in _LINK_BLOCK_TAGS
                and links >= _LINK_BLOCK_MIN_LINKS
                and linked >= _LINK_BLOCK_SHARE * words
            ):
                child.decompose()
            else:
                stack.append(child)


@dataclass(slots=True)
class _Line:
    """One rendered line: body text, or a heading when `level` is set."""

    text: str
    level: int = 0
    words: int = 0
    link_words: int = 0


class _HtmlText:
    """Renders a content tree as lines: inline elements flow within a line, block elements break it."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self._parts: list[str] = []
        self._words = 0
        self._link_words = 0
        self._prefix = ""  # a list item's marker or a note's title, for the next line
        self._in_link = 0
        self._in_item = 0  # inside list items a paragraph starts a line, not a blank-separated block
        self._tables: list[bool] = []  # per open table: True when it lays out blocks rather than data
        self._cell = 0  # inside a data table's cell, blocks flow inline so a row stays one line
        self._row: list[bool] | None = None  # the data row being written: per cell, whether it is a header
        self._head_row = False  # the row is in a <thead>
        self._counters: dict[int, int] = {}  # id(ordered list) -> last item number

    def render(self, root: Tag) -> list[_Line]:
        from bs4.element import NavigableString, PageElement, PreformattedString, Tag

        # A loop over open and close events, not recursion: html.parser nests unclosed <p> and <li>, so a
        # long minified list is as deep as it is long.
        stack: list[tuple[PageElement, bool]] = [(child, False) for child in reversed(root.contents)]
        while stack:
            node, closing = stack.pop()
            if isinstance(node, Tag):
                if closing:
                    self._close(node)
                elif self._open(node):
                    stack.append((node, True))
                    stack.extend((child, False) for child in reversed(node.contents))
            elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
                self._text(str(node))
        self._end_line(force=True)
        return self.lines

    def _text(self, text: str) -> None:
        # A "|" inside a cell ("ls | less") is escaped as Markdown escapes it: not a column of its own.
        self._parts.append(text.replace("|", "\\|") if self._cell else text)
        words = _words(text)
        self._words += words
        if self._in_link:
            self._link_words += words

    def _end_line(self, force: bool = False) -> None:
        if self._cell and not force:
            self._parts.append(" ")
            return
        text = " ".join("".join(self._parts).replace("\u200b", "").split())
        if text:
            self.lines.append(_Line(self._prefix + text, words=self._words, link_words=self._link_words))
            self._prefix = ""
        self._parts, self._words, self._link_words = [], 0, 0

    def _blank(self) -> None:
        self._end_line()
        if not self._in_item and not self._cell and self.lines and self.lines[-1].text:
            self.lines.append(_Line(""))

    def _open(self, tag: Tag) -> bool:
        """Start an element; False when it is fully rendered already and its children are not to be walked."""
        name = tag.name
        if name in _HEADINGS:
            self._heading(tag, int(name[1]))
        elif name == "pre" and not self._cell:
            self._pre(tag)
        elif name == "br":
            self._end_line()
        elif any(n.startswith(_ADMONITION_TITLES) for n in _names(tag)):
            self._label(" ".join(tag.get_text().split()))
        elif name == "th" and self._layout() and _in_admonition(tag):
            self._label(" ".join(tag.get_text().split()))  # DocBook's admonition table: "Tip" in a <th>
        else:
            if name == "li":
                self._item(tag)
            elif name == "table":
                # A table holding headings, tables or code lays out a page, and DocBook draws an admonition's
                # icon with one: their cells are blocks, not " | " columns.
                self._tables.append(tag.find((*_HEADINGS, "table", "pre")) is not None or _in_admonition(tag))
                self._blank()
            elif name == "tr" and not self._layout():
                self._end_row()
                self._end_line(force=True)
                self._row, self._head_row = [], tag.find_parent("thead") is not None
            elif name == "tr":
                self._end_line(force=True)
            elif name in ("td", "th") and not self._layout():
                if self._row is None:  # a cell outside any row
                    self._end_line(force=True)
                    self._row, self._head_row = [], False
                self._parts.append(" | " if self._row else "| ")
                self._row.append(name == "th")
                self._cell += 1
            elif name == "a":
                self._in_link += 1
            elif name in _PARAGRAPH_TAGS:
                self._blank()
            elif name in _BLOCK_TAGS or name in ("td", "th"):
                self._end_line()
            return True  # inline elements (code, em, strong, span, kbd, ...) only hold their text
        return False

    def _close(self, tag: Tag) -> None:
        name = tag.name
        if name == "li":
            self._end_line()
            self._in_item -= 1
            self._prefix = ""
        elif name == "table":
            if not self._layout():
                self._end_row()
            self._blank()
            self._tables.pop()
        elif name == "tr" and not self._layout():
            self._end_row()
        elif name == "tr":
            self._end_line(force=True)
        elif name in ("td", "th") and not self._layout():
            self._cell -= 1
        elif name == "a":
            self._in_link -= 1
        elif name in _PARAGRAPH_TAGS:
            self._blank()
        elif name in _BLOCK_TAGS or name in ("td", "th"):
            self._end_line()

    def _end_row(self) -> None:
        """Close the data row being written as "| cell | cell |", a line of the table's paragraph (the chunker
        cuts a table longer than a chunk between rows, never inside one), so its rows are not read as lines
        of a command ("find . | rsync"). A header row is followed by Markdown's rule ("| --- | --- |")."""
        if self._row is None:
            return
        cells, self._row = self._row, None
        self._parts.append(" |")
        if not "".join(self._parts).replace("|", "").strip():
            self._parts, self._words, self._link_words = [], 0, 0  # a row of empty cells
            return
        self._end_line(force=True)
        if self._head_row or all(cells):
            self.lines.append(_Line("| " + " | ".join(["---"] * len(cells)) + " |"))

    def _layout(self) -> bool:
        """Whether the innermost open table lays out blocks (True outside any table)."""
        return not self._tables or self._tables[-1]

    def _heading(self, tag: Tag, level: int) -> None:
        text = " ".join(tag.get_text().replace("\u200b", "").split())
        if self._cell:
            self._end_line()
            self._text(text)
            self._end_line()
        elif _in_admonition(tag):
            self._label(text)
        else:
            self._blank()
            self._prefix = ""
            if text:
                self.lines.append(_Line(text, level=level))

    def _label(self, text: str) -> None:
        """An admonition's title ("Note") leads its first line, so the two stay together in a chunk."""
        self._blank()
        if text.islower():
            # Docusaurus writes its titles in lower case and its stylesheet shows them in capitals: quoted as
            # written, "informação: Compras…" read as a slip.
            text = text[0].upper() + text[1:]
        if text:
            self._prefix = text + (" " if text.endswith(":") else ": ")

    def _pre(self, tag: Tag) -> None:
        from bs4.element import NavigableString, PreformattedString, Tag

        parts: list[str] = []
        for node in tag.descendants:
            if isinstance(node, Tag) and node.name == "br":
                parts.append("\n")
            elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
                parts.append(str(node))
        code = "".join(parts).replace("\u200b", "").strip("\n").splitlines()
        # Fenced as Markdown fences code, so that its lines are quoted as they are: "find . -print0 | rsync"
        # is neither a table row nor a sentence whose spaces can be tidied.
        fence = "```"
        while any(line.lstrip().startswith(fence) for line in code):
            fence += "`"
        self._blank()
        self.lines.append(_Line(fence))
        self.lines.extend(_Line(line.rstrip(), words=_words(line)) for line in code)
        self.lines.append(_Line(fence))
        self._blank()

    def _item(self, tag: Tag) -> None:
        self._end_line()
        lists = tag.find_parents(_LIST_TAGS)
        marker = "- "
        if lists and lists[0].name == "ol":
            start = str(lists[0].get("start", "1"))
            # ASCII digits only: int() refuses "²", which isdigit() accepts.
            first = parse_number(start.strip())
            number = self._counters.get(id(lists[0]), min(first, 10**6) - 1 if first is not None else 0) + 1
            self._counters[id(lists[0])] = number
            marker = f"{number}. "
        self._prefix = "  " * max(0, len(lists) - 1) + marker
        self._in_item += 1


def _in_admonition(tag: Tag) -> bool:
    return tag.find_parent(lambda parent: bool(_ADMONITIONS.intersection(_names(parent)))) is not None


def _is_real_preamble(line: _Line, page_title: str) -> bool:
    """A line before the first heading is content unless it is links (a breadcrumb, "Back to help") or
    repeats the page's or the site's name from the title."""
    if line.words and line.link_words >= _LINK_BLOCK_SHARE * line.words:
        return False
    return not line.text or line.text.lower() not in " ".join(page_title.split()).lower()


# A page's <title> names the site after the page: "Installazione fibra | Ondaveloce Help Center" (Intercom,
# Docusaurus), "… – Parcelly Help Center" (Zendesk, WordPress), "… - Parcelly Help" (MkDocs), "… · Site",
# "… — Parcelly documentation" (Sphinx). The last separator with spaces around it starts the site's name.
_SITE_NAME_SEPARATOR = re.compile(r"\s+(?:\||·|-|–|—)\s+")
# Longer than any page title: a heading outside the content this long is text set in large type.
_MAX_TITLE_CHARS = 200


def _without_site_name(title: str) -> str:
    """The page's <title> without the site's name after it. What follows a dash is a name only where it
    starts as a name does, not in lower case: "Errore 404 - pagina non trovata" is one title, "… - 帮助中心"
    (uncased) and "… — Parcelly documentation" name the site."""
    title = " ".join(title.split())
    separators = list(_SITE_NAME_SEPARATOR.finditer(title))
    if not separators:
        return title
    last = separators[-1]
    page, site = title[: last.start()], title[last.end() :]
    if not page or (last.group().strip() in "-–—" and site[0].islower()):
        return title
    return page


def _plausible_title(heading: Tag) -> bool:
    """Whether an <h1> outside the content root can be the page's title: it has words of its own (a logo's
    link is the site's name) and is in no chrome, the site's banner included (Intercom's "header__headline",
    "Consigli e risposte dal team Ondaveloce", is an <h1> in the page's <header>)."""
    text = " ".join(heading.get_text().split())
    linked = " ".join(" ".join(link.get_text() for link in heading.find_all("a")).split())
    if not text or len(text) > _MAX_TITLE_CHARS or linked == text:
        return False
    for tag in (heading, *heading.parents):
        if tag.name in _NON_TEXT_TAGS or _is_chrome(tag):
            return False
        if tag.name == "header" and tag.find_parent(("article", "main", "section")) is None:
            return False
    return True


def _title_outside(soup: BeautifulSoup, root: Tag) -> str:
    """The page's title where its content root holds none: the one plausible <h1> before the root, else the
    <title> without the site's name; "" without either."""
    headings: list[str] = []
    for tag in soup.find_all(True):
        if tag is root:
            break
        if tag.name == "h1" and _plausible_title(tag):
            headings.append(" ".join(tag.get_text().split()))
    if len(headings) == 1:
        return headings[0]
    return _without_site_name(soup.title.get_text(" ", strip=True)) if soup.title else ""


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def parse_html(text: str, default_title: str) -> Parsed:
    from bs4 import BeautifulSoup, Tag

    soup = BeautifulSoup(text, "html.parser")
    doc_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    canonical = soup.find("link", rel="canonical")
    doc_url = str(canonical.get("href", "")) if isinstance(canonical, Tag) else ""
    root = _content_root(soup)
    outside = _title_outside(soup, root)  # before the chrome goes: a title is known by what is around it
    _drop_chrome(root)
    _drop_link_blocks(root)
    _place_footnotes(root)
    builder = _SectionBuilder(_squeeze_blank_lines)
    title = doc_title
    lines = _HtmlText().render(root)
    first = next((line.text for line in lines if line.level), "")
    if outside and not any(line.level == 1 for line in lines) and not _same_words(outside, first):
        # Intercom's article page has its <h1 class="t__h1"> outside the <article> that holds the text: its
        # sections were headed by their own headings alone, and customers read the file's path
        # ("fibra/installazione-fibra.html › Attivare la linea") where the article's name belongs.
        builder.heading(0, outside)
        title = outside
    in_preamble = True  # before the first heading: only real content is kept
    for line in lines:
        if line.level:
            in_preamble = False
            builder.heading(line.level, line.text)
            title = title or line.text
        elif not in_preamble or _is_real_preamble(line, doc_title):
            builder.line(line.text)
    return title or default_title, builder.done(), doc_url


# ------------------------------------------------------------------------------------------ plain text

# A plain text's headings are what a reader takes for one: a Markdown-like "## " line or a line underlined
# with ===/--- (written as headings), or a short line that stands apart from the paragraphs, as help-desk
# "plain text" exports and copied Word documents write them ("Условия возврата", "補發 SIM 卡", "2) Returns").
# Read as body text, such a line ran into the end of the chunk before it and every citation named the file's
# title only. The signals hold in any script: where the line stands, its length, its last character, what
# follows it; never a list of words.
_TEXT_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(\S.*?)(?:[ \t]+#+)?[ \t]*$")
# Three characters at least: "--" alone is an e-mail signature's separator.
_TEXT_UNDERLINE = re.compile(r"^ {0,3}(=|-)\1{2,}[ \t]*$")
# A bullet, a quote or a table row: a list's item or a line of a block, never a heading.
_TEXT_BULLET = re.compile(r"^\s*(?:[-*+•·◦▪‣●○■□◆◇►▶→✓✔※・>|]|[–—](?=\s))")
# A numbered line ("1. ", "2) ", "(3) ", "2.1 ", "b) ", "①"): a list item, or a numbered heading.
_TEXT_NUMBER = re.compile(
    r"^\s*(?:\(?(\d{1,3}(?:\.\d{1,3})*)[.)](?=\s)|(\d{1,3}(?:\.\d{1,3})+)(?=\s)|\(?[a-zA-Z][.)](?=\s)|[\u2460-\u2473])"
)
# Characters a heading does not end with: a sentence's end, a lead-in's colon, a clause's comma or semicolon
# (ASCII, full-width and ideographic); closing quotes and brackets after them do not count.
_TEXT_ENDS = frozenset(".。．｡!！?？:：;；,，、…‥")
_TEXT_CLOSERS = "\"'”’»)）」』]】〕〉》"
# A sentence ends in the text: a full stop, "!" or "?" before a space, a closer or the end of the line.
_TEXT_SENTENCE_END = re.compile(r"[.。．｡!！?？](?=[\s\"'”’»)）」』\]】]|$)")
# Chinese and Japanese write no spaces: their characters are counted instead of words.
_TEXT_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Contact details and values, not a title: an address, a link, a phone number (five digits or more).
_TEXT_VALUE = re.compile(r"@|://|\bwww\.|(?:\d\D{0,3}){5}")
# A label and its value ("Call us: anytime", "대표번호: 1666-0420"): a colon inside, not between digits.
_TEXT_LABEL_COLON = re.compile(r"(?<!\d)[:：](?!\d)")
_TEXT_MAX_CHARS = 80
# A heading written with a colon after it is a few words; a longer line so ended leads into its text ("If the
# parcel does not arrive within five days, you can:").
_TEXT_MAX_COLON_WORDS = 8
# A line under a title that gives the date it was last updated: a year, in a short line.
_TEXT_DATE_LINE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_TEXT_MAX_DATE_WORDS = 8
_TEXT_MAX_WORDS = 12
_TEXT_MAX_UNSPACED = 20
_TEXT_MIN_CAPITALS = 4


@dataclass(frozen=True, slots=True)
class TextHeading:
    """A heading of a plain text: its first line's index, the lines it takes (2 with its underline), its
    text and its level (0 the document's title)."""

    line: int
    size: int
    text: str
    level: int


def _text_heading_like(line: str) -> bool:
    """Whether a line reads as a heading on its own: short, ending in no punctuation, not a list item, not a
    label with its value, not a sentence in CJK (a full-width comma or full stop inside)."""
    text = line.strip()
    if not text or len(text) > _TEXT_MAX_CHARS or len(text.split()) > _TEXT_MAX_WORDS:
        return False
    if len(_TEXT_UNSPACED.findall(text)) > _TEXT_MAX_UNSPACED or any(c in text for c in "，。；"):
        return False
    if text.rstrip(_TEXT_CLOSERS)[-1:] in _TEXT_ENDS or _TEXT_BULLET.match(line) or _TEXT_VALUE.search(text):
        return False
    # A sentence ends inside it ("Returns are free within 30 days. Pack the item in"): a paragraph's line.
    number = _TEXT_NUMBER.match(text)
    if _TEXT_SENTENCE_END.search(text, number.end() if number else 0):
        return False
    letters = [c for c in text if c.isalpha()]
    # A cased script's heading starts with a capital ("iPhone", "eSIM" with the next one); a lower-case
    # start is a sentence's fragment or a wrapped line's continuation.
    if not letters or "".join(letters[:2]).islower():
        return False
    label = _TEXT_LABEL_COLON.search(text)
    # "Step 1: Create your account" is a heading; "Note: lockers close early" a label and its text.
    return label is None or any(c.isdigit() for c in text[: label.start()])


def _text_style(line: str) -> tuple[str, int]:
    """The kind of heading a line is, for its level: numbered (by its depth), in capitals, or plain.

    Capitals are a word's letters, all of them, and more than an acronym: "FAQ" and "補發 SIM 卡" are plain
    headings, which a capitals' level would have put under the heading before them."""
    number = _TEXT_NUMBER.match(line)
    if number:
        return "number", (number.group(1) or number.group(2) or "1").count(".") + 1
    letters = [c for c in line if c.isalpha()]
    capitals = len(letters) >= _TEXT_MIN_CAPITALS and all(c.isupper() for c in letters)
    return ("capitals", 0) if capitals else ("plain", 0)


def _text_continues(line: str, after: str) -> bool:
    """Whether `after`, the line under `line` in a paragraph, goes on with the sentence `line` leaves open
    (a hard-wrapped paragraph), rather than start one under a heading. Conservative: a lower-case start
    ("…shipped the\nsame day."), or in a script without case a line no longer than `line`, no label and value
    ("商品到貨後七天內可以申請退貨\n退貨時請附上發票。"); a heading is shorter than the text it heads, or
    heads labels ("운영 시간\n전화 상담: …")."""
    text = after.strip()
    letters = [c for c in text if c.isalpha()]
    if letters and letters[0].islower():
        return True
    # Without case (Chinese, Korean) the length tells: a cased script's capital starts a sentence or a name,
    # and "Chat & e-mail\nAny time." is a heading over a short line.
    uncased = bool(letters) and not letters[0].isupper()
    return uncased and len(text) <= len(line.strip()) and _TEXT_LABEL_COLON.search(text) is None


def _text_next_item(line: str, before: str) -> bool:
    """Whether numbered `line` is the item after `before`'s, in one list ("2. Wait\n\n3. Choose Reset")."""
    number, previous = _TEXT_NUMBER.match(line), _TEXT_NUMBER.match(before)
    if number is None or previous is None:
        return False
    if number.group(1) and previous.group(1):
        *head, last = number.group(1).split(".")
        *previous_head, previous_last = previous.group(1).split(".")
        return head == previous_head and int(last) == int(previous_last) + 1
    return bool(number.group(1)) == bool(previous.group(1)) and bool(number.group(2)) == bool(
        previous.group(2)
    )


def _text_colon_heading(line: str) -> str | None:
    """The heading a paragraph's first line is when it names its section with a colon after ("Jak poukaz
    koupit:", "Shipping times:"): short, and a heading but for the colon; None otherwise. A lead-in to a list
    ("You can pay:") is told by what follows it, and one such line alone by its text's other lines
    (`text_headings`)."""
    text = line.strip()
    if text[-1:] not in (":", "：") or _TEXT_NUMBER.match(text) or _TEXT_BULLET.match(line):
        return None
    heading = text[:-1].rstrip()
    # A clause before a comma leads into what follows ("If the locker is full, we will:").
    if len(heading.split()) > _TEXT_MAX_COLON_WORDS or "," in heading or "，" in heading:
        return None
    return heading if _text_heading_like(heading) else None


def _text_is_body(block: Sequence[str]) -> bool:
    """Whether a block reads as what a heading stands over: a list or paragraph of several lines, or a line
    with a sentence in it ("Five days."); not a line that reads as a heading, nor a name under a greeting."""
    return len(block) > 1 or (not _text_heading_like(block[0]) and bool(_TEXT_SENTENCE_END.search(block[0])))


def text_headings(lines: Sequence[str]) -> list[TextHeading]:
    """The headings of a plain text, as `parse_text` reads them from its lines (`str.splitlines`).

    The title: the first line, short and ending in no full stop, with a blank line or an underline after it
    (or written "# Title"). Then, at the start of a paragraph (after a blank line):
    - a "#"-led line, or a line underlined with ===/--- (three or more), as written;
    - a line alone between blank lines that reads as a heading (`_text_heading_like`), where the paragraph
      before it does not lead into it with a colon and the one after it is body text (`_text_is_body`): never
      the text's last line (a signature), nor a numbered line over the next item of its list;
    - a paragraph's first line that reads as a heading over lines that do not all do (an address or a
      signature does), not over a list and not numbered, where the text heads two paragraphs or more that way
      ("운영 시간" over the hours, "전화번호와 이메일" over the numbers): once, it is as likely a label.
    Levels follow the kinds of heading in the order they first appear (as reStructuredText's do)."""
    blocks: list[tuple[int, int]] = []  # [start, end) line indexes of each paragraph
    start: int | None = None
    for index, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = index
        elif not line.strip() and start is not None:
            blocks.append((start, index))
            start = None
    found: list[tuple[int, int, str, tuple[str, int]]] = []  # line, size, text, style
    tight: list[tuple[int, int, str, tuple[str, int]]] = []
    colon: list[tuple[int, int, str, tuple[str, int]]] = []
    if blocks:
        first, end = blocks[0]
        line = lines[first]
        atx = _TEXT_ATX.match(line)
        underlined = (
            end - first >= 2
            and _TEXT_UNDERLINE.match(lines[first + 1]) is not None
            and not _TEXT_UNDERLINE.match(line)
        )
        text = atx.group(2).strip() if atx else line.strip()
        size = 2 if underlined else 1
        # A text of one line ("hi", "OK") is its own body: taken for a title, nothing would be left to index.
        followed = len(blocks) > 1 or end - first > size
        # A title over the date it was last updated ("Poslední aktualizace: 3. 2. 2025", "Оновлено 20 січня
        # 2025 р."), as help-desk exports write them: the title stands, the date goes with the text.
        dated = (
            end - first == 2
            and len(blocks) > 1
            and _text_heading_like(line)
            and not _text_continues(line, lines[first + 1])
            and _TEXT_DATE_LINE.search(lines[first + 1]) is not None
            and len(lines[first + 1].split()) <= _TEXT_MAX_DATE_WORDS
        )
        if (
            (atx or underlined or end - first == 1 or dated)
            and followed
            and len(text) <= 100
            and not text.endswith(".")
        ):
            found.append((first, size, text, ("title", 0)))
    # The first paragraph is the title or the text's beginning, never a section's heading.
    for number, (first, end) in enumerate(blocks[1:], start=1):
        line = lines[first]
        before = lines[blocks[number - 1][1] - 1].strip()
        after = [lines[i] for i in range(*blocks[number + 1])] if number + 1 < len(blocks) else []
        atx = _TEXT_ATX.match(line)
        if atx:
            found.append((first, 1, atx.group(2).strip(), ("atx", len(atx.group(1)))))
        elif (
            end - first >= 2
            and _TEXT_UNDERLINE.match(lines[first + 1])
            and not _TEXT_UNDERLINE.match(line)
            and not _TEXT_BULLET.match(line)
        ):
            found.append((first, 2, line.strip(), ("underline", ord(lines[first + 1].strip()[0]))))
        elif (heading := _text_colon_heading(line)) is not None and before[-1:] not in (":", "："):
            body = [lines[i] for i in range(first + 1, end)] or after
            listed = bool(body) and bool(_TEXT_BULLET.match(body[0]) or _TEXT_NUMBER.match(body[0]))
            if body and not listed and _text_is_body(body):
                colon.append((first, 1, heading, ("colon", 0)))
        elif not _text_heading_like(line) or before.rstrip(_TEXT_CLOSERS)[-1:] in (":", "："):
            continue
        elif end - first == 1:
            numbered = _TEXT_NUMBER.match(line) is not None
            if (
                after
                and _text_is_body(after)
                and not (numbered and (_TEXT_NUMBER.match(after[0]) or _TEXT_BULLET.match(after[0])))
                and not (numbered and _text_next_item(line, lines[blocks[number - 1][0]]))
            ):
                found.append((first, 1, line.strip(), _text_style(line)))
        elif (
            not _TEXT_NUMBER.match(line)
            and not _TEXT_BULLET.match(lines[first + 1])
            and not _TEXT_NUMBER.match(lines[first + 1])
            and len(lines[first + 1]) - len(lines[first + 1].lstrip()) <= len(line) - len(line.lstrip())
            and not all(_text_heading_like(lines[i]) for i in range(first + 1, end))
            and not _text_continues(line, lines[first + 1])
        ):
            tight.append((first, 1, line.strip(), _text_style(line)))
    if len(tight) >= 2:
        found = sorted(found + tight)
    # Only a text that names its sections no other way: where it has headings, its colon lines are callouts
    # ("Please note:", "Important:") under them, never their parents.
    if len(colon) >= 2 and all(style[0] == "title" for *_, style in found):
        found = sorted(found + colon)
    styles: list[tuple[str, int]] = []
    headings: list[TextHeading] = []
    for line_index, size, text, style in found:
        if style[0] == "title":
            headings.append(TextHeading(line_index, size, text, 0))
            continue
        if style not in styles:
            styles.append(style)
        headings.append(TextHeading(line_index, size, text, styles.index(style) + 1))
    return headings


def parse_text(text: str, default_title: str) -> Parsed:
    lines = text.splitlines()
    builder = _SectionBuilder(_squeeze_blank_lines)
    headings = {heading.line: heading for heading in text_headings(lines)}
    title = ""
    index = 0
    while index < len(lines):
        heading = headings.get(index)
        if heading is None:
            builder.line(lines[index])
            index += 1
            continue
        builder.heading(heading.level, heading.text)
        title = heading.text if heading.level == 0 else title
        index += heading.size
    return title or default_title, builder.done(), ""


# ----------------------------------------------------------------------------------------------- PDF


def char_budget(data: bytes) -> int:
    """How much text a file of this size may expand to (guards against decompression bombs)."""
    return max(1_000_000, int(len(data) / 1_000_000 * MAX_CHARS_PER_FILE_MB))


def parse_pdf(data: bytes, default_title: str) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    budget = char_budget(data)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("the PDF is encrypted")
        n_pages = len(reader.pages)
        if n_pages > MAX_PDF_PAGES:
            raise LoadError(f"the PDF has {n_pages} pages, over the {MAX_PDF_PAGES} page limit")
        meta_title = ""
        if reader.metadata is not None and reader.metadata.title:
            meta_title = str(reader.metadata.title).strip()
        marks = _pdf_outline(reader)
        pages: list[str] = []
        used = 0
        for page in reader.pages:
            page_text = page.extract_text() or ""
            used += len(page_text)
            if used > budget:
                raise LoadError("the PDF expands to far more text than its size allows (decompression bomb?)")
            pages.append(page_text)
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise LoadError(f"unreadable PDF: {exc.__class__.__name__}: {str(exc)[:120]}") from None
    title = meta_title or (marks[0][2] if marks else "") or default_title
    if not any(text.strip() for text in pages):
        raise LoadError("the PDF has no extractable text (scanned images need OCR first)")
    sections: list[Section] = []
    if not marks:
        for page_text in pages:
            body = _squeeze_blank_lines(page_text)
            if body:
                sections.append(Section(heading=title, heading_path=(title,), text=body))
        return title, sections, ""
    # Split each page at the outline titles that point into it, so a heading keeps its own text.
    stack: list[tuple[int, str]] = []
    current: list[str] = []

    def flush() -> None:
        body = _squeeze_blank_lines("\n".join(current))
        current.clear()
        if body:
            path = tuple(t for _, t in stack) or (title,)
            sections.append(Section(heading=path[-1], heading_path=path, text=body))

    by_page: dict[int, list[tuple[int, str]]] = {}
    for page_no, level, heading in marks:
        by_page.setdefault(page_no, []).append((level, heading))
    for page_no, page_text in enumerate(pages):
        remaining = page_text
        for level, heading in by_page.get(page_no, []):
            at = remaining.find(heading)
            if at > 0:
                current.append(remaining[:at])
                remaining = remaining[at + len(heading) :]
            elif at == 0:
                remaining = remaining[len(heading) :]
            flush()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading))
        current.append(remaining)
    flush()
    return title, sections, ""


def _pdf_outline(reader: PdfReader) -> list[tuple[int, int, str]]:
    """(page index, level, title) of every outline entry, in page order."""
    from pypdf.generic import Destination

    marks: list[tuple[int, int, str]] = []

    def walk(items: _Outline, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            if not isinstance(item, Destination):
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # noqa: S112 - a broken outline entry only loses that heading
                continue
            heading = " ".join(str(item.title or "").split())
            if heading and page is not None and page >= 0:
                marks.append((page, level, heading))

    try:
        walk(reader.outline, 1)
    except Exception:
        log.debug("pdf outline unreadable", exc_info=True)
        return []
    marks.sort(key=lambda mark: mark[0])
    return marks


# ----------------------------------------------------------------------------------------------- FAQ

# The names of an FAQ's columns (CSV) and keys (JSONL, YAML), in the languages the bot serves: a help center
# names them in its own language, and an Italian sheet headed "domanda, risposta" was skipped whole ("the CSV
# needs 'question' and 'answer' columns"). Compared as `_key_name` reads them: "Réponse", "reponse" and
# " RÉPONSE" are one name. Each tuple in order of preference, English first (a record with two of them
# takes the first); a word two languages share is listed once (French "question", 答案 in both Chinese
# scripts). Turkish "ı" has no accent to leave off: "yanıt" and "bağlantı" are listed as typed without
# Turkish letters too ("YANIT" reads "yanit"), as Turkish sheets are often headed. Thai, Hindi and Arabic
# (2026-12-07: trial help centers headed "คำถาม,คำตอบ,หมวดหมู่", "प्रश्न,उत्तर,श्रेणी" and
# "السؤال,الإجابة,الفئة,الرابط" had their FAQ skipped); an Arabic name is compared without the hamza on its
# alef ("الاجابة"), as `without_accents` reads it, and is listed with its final "ة" written "ه" too.
_Q_KEYS = (
    "question", "q", "title", "query",
    "domanda", "pregunta", "frage", "pergunta", "вопрос", "问题", "問題", "質問", "질문", "vraag", "pytanie",
    "soru", "sorular",
    # Vietnamese, with a space or as an identifier ("cau_hoi"; its marks are left off as any accent is).
    "câu hỏi", "cau_hoi",
    "คำถาม", "प्रश्न", "सवाल",
    "السؤال", "سؤال",
    # Persian (a ride-hailing trial's sheet, 2026-12-07, was headed "پرسش,پاسخ,دسته,پیوند"), Greek, Hebrew,
    # Ukrainian, Czech. A sheet headed in a language not listed is read by its cells (`columns_by_content`).
    "پرسش", "سوال", "ερώτηση", "שאלה", "питання", "otázka",
)  # fmt: skip
_A_KEYS = (
    "answer", "a", "response", "body",
    "risposta", "respuesta", "réponse", "antwort", "resposta", "ответ", "答案", "回答", "答え", "답변",
    "antwoord", "odpowiedź", "cevap", "yanıt", "trả lời", "câu trả lời", "tra_loi", "cau_tra_loi",
    "คำตอบ", "उत्तर", "जवाब",
    "الإجابة", "إجابة", "الإجابه", "الجواب", "جواب", "الرد",
    "پاسخ", "απάντηση", "תשובה", "відповідь", "odpověď",
)  # fmt: skip
_CATEGORY_KEYS = (
    "category", "section", "topic",
    "categoria", "categoría", "catégorie", "kategorie", "категория", "分类", "分類", "カテゴリ", "카테고리",
    "categorie", "kategoria", "kategori", "danh mục", "chuyên mục", "danh_muc", "chuyen_muc",
    "หมวดหมู่", "หมวด", "श्रेणी", "विषय", "कैटेगरी",
    "الفئة", "الفئه", "فئة", "التصنيف", "القسم", "الموضوع",
    "دسته", "دسته‌بندی", "دسته بندی", "κατηγορία", "קטגוריה", "категорія",
)  # fmt: skip
_URL_KEYS = (
    "url", "link", "enlace", "lien", "collegamento", "ссылка", "链接", "連結", "リンク", "링크", "bağlantı",
    # Vietnamese "đường dẫn" and Turkish "bağlantı" are "duong dan" and "baglanti" without their marks:
    # `without_accents` reads "đ" as "d" and "ı" as "i".
    "liên kết", "đường dẫn", "lien_ket", "duong_dan",
    "ลิงก์", "ลิงค์", "लिंक",
    "الرابط", "رابط",
    "پیوند", "لینک", "σύνδεσμος", "קישור", "посилання", "odkaz",
)  # fmt: skip


def _key_name(key: Any) -> str:
    """A column's or key's name as it is compared: without case, accents, surrounding spaces or a byte-order
    mark (a spreadsheet saved twice as UTF-8 heads its first column with one)."""
    # Arabic's and Persian's spelling folded too: a Persian sheet typed on an Arabic keyboard heads its
    # columns "پيوند" and "دسته‌بندي" for "پیوند" and "دسته‌بندی".
    return arabic_folded(without_accents(str(key).replace("\ufeff", "").strip()).casefold())


@functools.cache
def _key_names(keys: tuple[str, ...]) -> tuple[str, ...]:
    """`keys` as `_key_name` reads them (one of the tuples above: a handful, read once)."""
    return tuple(map(_key_name, keys))


def picked_key(record: dict[Any, Any], keys: tuple[str, ...]) -> Any:
    """The record's key (as the file spells it) of the first of `keys` it has with a value, or None."""
    named = {_key_name(key): key for key in record}
    for name in _key_names(keys):
        if name in named and record[named[name]] is not None:
            return named[name]
    return None


def _pick(record: dict[str, Any], keys: tuple[str, ...]) -> Any:
    key = picked_key(record, keys)
    return None if key is None else record[key]


def _has_key(names: Iterable[Any], keys: tuple[str, ...]) -> bool:
    wanted = _key_names(keys)
    return any(_key_name(name) in wanted for name in names)


def _accepted_names() -> str:
    """The names an FAQ's question and answer may have, for a refusal that finds neither."""
    return f"accepted for the question: {', '.join(_Q_KEYS)}; for the answer: {', '.join(_A_KEYS)}"


def _is_blank(value: Any) -> bool:
    # A CSV row cut short gives None for its missing cells, YAML `answer:` gives None: both read as empty.
    return value is None or (isinstance(value, str) and not value.strip())


def _faq_answer_text(answer: str) -> str:
    """An FAQ answer's text: a help desk's HTML body ("<p>…</p><ul><li>…") rendered as an HTML page's text,
    anything else as Markdown's text (comments left out, its HTML as `_markdown_html` reads it)."""
    blocks = _HTML_BLOCK_NAMES | _HTML_RAW_BLOCK_NAMES
    # HTML as a whole: it starts with a tag, or its only line breaks are inside tags. One "<p>Questions?</p>"
    # under a plain-text answer's numbered steps would have run the steps into one line.
    whole = _HTML_TAG.match(answer.lstrip()) is not None or "\n" not in _HTML_TAG.sub("", answer).strip()
    if whole and any(tag.group(2).lower() in blocks for tag in _HTML_TAG.finditer(answer)):
        return _html_fragment_text(answer)
    # Stripped: "<!-- internal note --> Visible answer" leaves the space after the comment.
    return _markdown_html(_without_comments(answer)).strip()


def _faq_sections(records: list[dict[str, Any]], title: str, where: Callable[[int], str]) -> list[Section]:
    sections: list[Section] = []
    for index, record in enumerate(records):
        if not _has_key(record, _Q_KEYS) or not _has_key(record, _A_KEYS):
            found = ", ".join(map(str, record)) or "none"
            raise LoadError(
                f"{where(index)}: needs 'question' and 'answer' (found: {found}); {_accepted_names()}"
            )
        question, answer = _pick(record, _Q_KEYS), _pick(record, _A_KEYS)
        if _is_blank(question) and _is_blank(answer):
            continue  # a blank spreadsheet row
        # The file is skipped with this reason (a reload report names files, not rows): saying which row and
        # which cell lets the admin fix it at once, where a dropped row would just never be answered.
        for name, value in (("question", question), ("answer", answer)):
            if _is_blank(value):
                raise LoadError(f"{where(index)}: the {name} is empty")
        if not isinstance(question, str | int | float) or not isinstance(answer, str | int | float):
            raise LoadError(f"{where(index)}: 'question' and 'answer' must be text")
        category = _pick(record, _CATEGORY_KEYS)
        url = _pick(record, _URL_KEYS)
        question_text = " ".join(_inline_html(str(question), frozenset()).split())
        answer_text = _squeeze_blank_lines(_faq_answer_text(str(answer)))
        path = tuple(
            part
            for part in (title, str(category).strip() if isinstance(category, str) else "", question_text)
            if part
        )
        sections.append(
            Section(
                heading=question_text,
                heading_path=path,
                text=answer_text,
                url=str(url).strip() if isinstance(url, str) else "",
            )
        )
    if not sections:
        raise LoadError("no question/answer pairs found")
    return sections


def faq_csv_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The dialect an FAQ's CSV is read with: sniffed from its start (comma, semicolon, tab), else Excel's."""
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


# Marks that end a question, in any script: Latin "?", Arabic-script "؟", full-width "？", Greek's question
# mark (U+037E; the semicolon Greek keyboards type for it counts after Greek text only), Armenian "՞",
# Ethiopic "፧".
_QUESTION_ENDS = ("?", "؟", "？", "\u037e", "՞", "፧")
_GREEK = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")
# Closing quotes and brackets after a question's mark ("…“Shipped”?)", "(is it free?)").
_CLOSERS = "\"'”’»)]）」』"
_URL_CELL = re.compile(r"(?:https?://|/)\S*", re.IGNORECASE)


def _asks(cell: str) -> bool:
    text = cell.strip().rstrip(_CLOSERS)
    return text.endswith(_QUESTION_ENDS) or (text.endswith(";") and _GREEK.search(text) is not None)


@dataclass(frozen=True)
class ContentColumns:
    """A sheet's question and answer columns (by index) as its cells tell them, and whether its first row
    is a header (else it is already a question and its answer)."""

    question: int
    answer: int
    header: bool


def _cells(rows: Sequence[Sequence[str]], index: int) -> list[str]:
    """The non-empty cells of column `index` of `rows`, stripped."""
    return [row[index].strip() for row in rows if index < len(row) and row[index].strip()]


def _links(column: list[str]) -> bool:
    """Whether a column's non-empty cells (`_cells`) are all links (and there is one)."""
    return bool(column) and all(_URL_CELL.fullmatch(cell) for cell in column)


def columns_by_content(rows: Sequence[Sequence[str]]) -> ContentColumns | None:
    """The question and answer columns of a sheet whose header names neither in a language listed above
    (a Greek sheet headed "Ερώτηση,Απάντηση", or no header at all): the column whose cells end with a question
    mark in at least half of the rows, the only one that does, and of the others the one of the longest
    text that is not a column of links. None when the cells do not tell (no such column, or two)."""
    # Rows of empty cells (a spreadsheet's trailing ",,,") are no rows that do not ask.
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    if not body:
        return None
    width = max(map(len, rows))
    asking = [
        index
        for index in range(width)
        if (column := _cells(body, index)) and sum(map(_asks, column)) * 2 >= len(body)
    ]
    if len(asking) != 1:
        return None
    question = asking[0]
    others = [
        (sum(map(len, column)) / len(column), index)
        for index in range(width)
        if index != question and (column := _cells(body, index)) and not _links(column)
    ]
    if not others:
        return None
    answer = max(others)[1]
    first = rows[0]
    # A sheet saved without a header row starts with a question and its answer: both are kept. Its first
    # question may not ask ("Shipping costs"), but its answer is a sentence, as no column's name is.
    headless = (
        question < len(first)
        and answer < len(first)
        and bool(first[answer].strip())
        and (_asks(first[question]) or _is_sentence(first[answer]))
        and not _has_key(first, _Q_KEYS + _A_KEYS)
    )
    return ContentColumns(question, answer, header=not headless)


# A cell longer than this, or ending as a sentence does, is text, not a column's name.
_LONGEST_COLUMN_NAME = 40
_SENTENCE_ENDS = (".", "!", "…", "。", "！", "।", "۔")


def _is_sentence(cell: str) -> bool:
    text = cell.strip()
    return len(text) > _LONGEST_COLUMN_NAME or text.endswith(_SENTENCE_ENDS)


def _records_by_content(rows: list[list[str]], columns: ContentColumns) -> list[dict[str, Any]]:
    """The sheet's rows as records keyed as `_faq_sections` reads them: the question and answer columns by
    those names, a column of links as "url", any other column by its header's name (a category named in a
    listed language is still one)."""
    header = rows[0] if columns.header else []
    body = rows[1:] if columns.header else rows
    names: dict[int, str] = {columns.question: "question", columns.answer: "answer"}
    width = max(map(len, rows))
    for index in range(width):
        if index in names:
            continue
        if _links(_cells(body, index)):
            names[index] = "url"
        elif index < len(header) and not _has_key([header[index]], _Q_KEYS + _A_KEYS + _URL_KEYS):
            names[index] = header[index]
    return [
        {name: row[index] if index < len(row) else None for index, name in names.items()}
        for row in body
        if row  # as DictReader, which skips an empty line
    ]


def _column_name(header: Sequence[str], index: int) -> str:
    """A column as a person names it: its header's name, else its place ("column 2")."""
    name = header[index].strip() if index < len(header) else ""
    return name or f"column {index + 1}"


def parse_faq_csv(text: str, default_title: str) -> Parsed:
    dialect = faq_csv_dialect(text)
    try:
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        fields = [str(f).replace("\ufeff", "").strip().lower() for f in (reader.fieldnames or [])]
        if _has_key(fields, _Q_KEYS) and _has_key(fields, _A_KEYS):
            records = [dict(row) for row in reader]
            first_row = 2
        else:
            rows = [
                [cell.replace("\ufeff", "") for cell in row]
                for row in csv.reader(io.StringIO(text), dialect=dialect)
            ]
            columns = columns_by_content(rows)
            if columns is None:
                raise LoadError(
                    f"the CSV needs 'question' and 'answer' columns (found: {', '.join(fields) or 'none'}), "
                    "or one column of questions that end with a question mark; "
                    f"{_accepted_names()}"
                )
            records = _records_by_content(rows, columns)
            first_row = 2 if columns.header else 1
            header = rows[0] if columns.header else []
            # In the reload's log: a sheet refused before is served now, by columns a person can check.
            log.info(
                "FAQ sheet read by its cells",
                extra={
                    "question_column": _column_name(header, columns.question),
                    "answer_column": _column_name(header, columns.answer),
                    "rows": len(records),
                },
            )
    except csv.Error as exc:
        raise LoadError(f"invalid CSV: {exc}") from None
    return default_title, _faq_sections(records, "", lambda i: f"row {i + first_row}"), ""


def parse_faq_jsonl(text: str, default_title: str) -> Parsed:
    records: list[dict[str, Any]] = []
    line_numbers: list[int] = []
    bad: list[str] = []
    # Split at "\n" only, as editors number lines: `splitlines` also breaks at U+2028 and other separators,
    # which may stand raw inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            # json's "Unterminated string starting at" expects a position after it: the column is given.
            reason = _JSON_AT.sub("", exc.msg)
            bad.append(f"line {number}: invalid JSON at column {exc.colno} ({reason})")
            continue
        if not isinstance(record, dict):
            bad.append(f"line {number}: expected an object with 'question' and 'answer'")
            continue
        records.append(record)
        line_numbers.append(number)
    if bad:
        # All of them counted, so a file with several typos is not fixed one reload at a time.
        more = f" (and {len(bad) - 1} more bad lines)" if len(bad) > 1 else ""
        raise LoadError(bad[0] + more)
    return default_title, _faq_sections(records, "", lambda i: f"line {line_numbers[i]}"), ""


_JSON_AT = re.compile(r"\s+(?:starting )?at$")


def parse_faq_yaml(text: str, default_title: str) -> Parsed:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    title = ""
    if isinstance(data, dict):
        raw_title = data.get("title")
        title = raw_title.strip() if isinstance(raw_title, str) else ""
        lists = [value for value in data.values() if isinstance(value, list)]
        if len(lists) != 1:
            raise LoadError("expected a list of question/answer entries (or one key holding such a list)")
        data = lists[0]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise LoadError("expected a list of entries with 'question' and 'answer'")
    return title or default_title, _faq_sections(data, title, lambda i: f"entry {i + 1}"), ""
