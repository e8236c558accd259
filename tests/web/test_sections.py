"""Source links open their section: one slug makes the link's fragment and the heading's id on `/help/`."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from bot.channels.web import app, sections
from bot.channels.web.app import ArticleCache
from bot.channels.web.articles import Article
from bot.channels.web.sections import section_href, slug
from bot.kb.loaders import load_bytes
from bot.kb.parsers import Document
from tests.conftest import KNOWLEDGE
from tests.web.conftest import WebFactory

T = TypeVar("T")

_ID = re.compile(r'<span class="section" id="([^"]*)">(.*?)</span>', re.DOTALL)


def _anchors(page: str) -> dict[str, str]:
    """id → the text the anchor wraps, of an article page."""
    found = _ID.findall(page)
    ids = [html.unescape(i) for i, _ in found]
    assert len(ids) == len(set(ids)), "ids are unique on a page"
    return {html.unescape(i): html.unescape(text) for i, text in found}


def _shown(page: str) -> str:
    """The article's text as a page shown as text shows it (what is inside <pre>, tags removed)."""
    body = page.split("<pre class='article'>", 1)[1].split("</pre>", 1)[0]
    return html.unescape(re.sub(r"<[^>]*>", "", body))


def _headings(page: str) -> dict[str, tuple[str, str]]:
    """id → (element, text) of each section heading of a rendered article page, in the page's order."""
    soup = BeautifulSoup(page, "html.parser")
    ids = [str(tag["id"]) for tag in soup.find_all(id=True)]
    assert len(ids) == len(set(ids)), "ids are unique on a page"
    article = soup.find("article", class_="article")
    assert article is not None, "the article is rendered, not shown as text"
    return {
        str(tag["id"]): (tag.name, " ".join(tag.get_text().split()))
        for tag in article.find_all(class_="section")
    }


def test_a_slug_is_the_headings_words_in_any_script() -> None:
    assert slug("When do I get my money back?") == "when-do-i-get-my-money-back"
    assert slug("Quand suis-je remboursé ?") == "quand-suis-je-remboursé"
    # A decomposed "é" (e + combining acute) and full-width letters give the same id.
    assert slug("Quand suis-je rembourse\u0301 ?") == "quand-suis-je-remboursé"
    assert slug("ＡＰＩ keys") == "api-keys"
    assert slug("退货后多久能退款？") == "退货后多久能退款"
    assert slug("पैसे वापस कब मिलेंगे?") == "पैसे-वापस-कब-मिलेंगे"  # vowel signs stay in their words
    assert slug("PX-101: Pickup code not valid") == "px-101-pickup-code-not-valid"
    assert slug("???") == slug("") == "section"
    assert len(slug("word " * 100)) <= 100
    assert not slug("word " * 100).endswith("-")


def test_a_help_center_link_carries_the_section_percent_encoded() -> None:
    assert (
        section_href("returns/returning.md", "When do I get my money back?", "")
        == "/help/returns/returning.md#when-do-i-get-my-money-back"
    )
    assert section_href("fr/remboursements.md", "Quand suis-je remboursé ?", "") == (
        "/help/fr/remboursements.md#quand-suis-je-rembours%C3%A9"
    )
    assert section_href("zh/退款.md", "多久能退款", "") == (
        "/help/zh/%E9%80%80%E6%AC%BE.md#%E5%A4%9A%E4%B9%85%E8%83%BD%E9%80%80%E6%AC%BE"
    )
    # A "#" or "?" in a file name is part of the path, not a fragment or a query.
    assert section_href("faq/Q&A #2?.md", "Fees", "") == "/help/faq/Q%26A%20%232%3F.md#fees"
    # No heading (a text file without a title line), or a PDF (served as the file, without ids): the page.
    assert section_href("notes.txt", "", "") == "/help/notes.txt"
    assert section_href("sending/packaging-guide.pdf", "Box sizes", "") == "/help/sending/packaging-guide.pdf"
    assert (
        section_href("billing/refunds.md", "Approved answer", "", section=False) == "/help/billing/refunds.md"
    )


def test_an_own_url_gets_a_text_fragment_only_where_it_has_no_fragment() -> None:
    page = "https://help.example.com/articles/42-refunds"
    assert section_href("x", "Délai - remboursement, & frais", page) == (
        page + "#:~:text=D%C3%A9lai%20%2D%20remboursement%2C%20%26%20frais"
    )
    # The page's own fragment (an anchor, an app's route) is kept as it is.
    for url in (page + "#when", "https://help.example.com/#/articles/42"):
        assert section_href("x", "Refunds", url) == url
    # PDF viewers read the fragment as their own parameters; nothing to scroll to without a heading.
    assert section_href("x", "Refunds", "https://example.com/guide.PDF") == "https://example.com/guide.PDF"
    assert section_href("x", " ", page) == page
    assert section_href("x", "Approved answer", page, section=False) == page


# An underline under a setext heading (Markdown) or a title (reStructuredText).
_MD_UNDERLINE = re.compile(r" {0,3}(=+|-+)[ \t]*")
_RST_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+[ \t]*")


def _heading_written(path: str, text: str, start: int, end: int) -> str:
    """The heading that text[start:end] writes, read as its format writes a heading; asserting that it is a
    heading's place (a heading line, a heading element, a question's cell), not text that repeats one."""
    wrapped = text[start:end]
    suffix = Path(path).suffix
    line_start = text.rfind("\n", 0, start) + 1
    line_end = len(text) if text.find("\n", end) < 0 else text.find("\n", end)
    next_line = text[line_end + 1 :].split("\n", 1)[0]
    if suffix in (".md", ".rst", ".txt"):
        assert (line_start, line_end) == (start, end), (path, "a whole line", wrapped)
    if suffix == ".md":
        atx = re.fullmatch(r" {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*", wrapped)
        if atx:
            return atx.group(1).strip()
        title = re.fullmatch(r"title:\s*(.*?)\s*", wrapped, re.IGNORECASE)
        if title:
            assert text.startswith("---\n"), (path, "front matter at the top")
            assert end < text.index("\n---", 3), (path, "inside the front matter")
            return title.group(1).strip("'\"")
        assert _MD_UNDERLINE.fullmatch(next_line), (path, "a setext heading", wrapped)
        return wrapped.strip()
    if suffix == ".rst":
        assert _RST_ADORNMENT.fullmatch(next_line), (path, "an underlined title", wrapped)
        return wrapped.strip()
    if suffix == ".txt":
        # The title is the first line; a heading starts a paragraph (underlined, "#"-led or standing alone).
        before = text[:line_start]
        assert not before.strip() or before.endswith("\n\n"), (path, "a paragraph's first line", wrapped)
        atx = re.fullmatch(r" {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*", wrapped)
        return atx.group(1).strip() if atx else wrapped.strip()
    if suffix in (".html", ".htm"):
        assert re.fullmatch(r"<(h[1-6])\b.*</\1\s*>", wrapped, re.DOTALL | re.IGNORECASE), (path, wrapped)
        return " ".join(html.unescape(re.sub(r"<[^>]*>", "", wrapped)).split())
    if suffix == ".csv":
        header = next(csv.reader([text.split("\n", 1)[0]]))
        before = next(csv.reader([text[line_start:start].removesuffix('"') + "x"]))
        assert len(before) - 1 == header.index("question"), (path, "the question's column", wrapped)
        return " ".join(wrapped.replace('""', '"').split())
    assert suffix == ".jsonl", path
    assert re.search(r'"question"\s*:\s*"$', text[line_start:start]), (path, "the question's value", wrapped)
    return " ".join(json.loads(f'"{wrapped}"').split())


async def test_every_section_of_the_sample_help_center_opens_at_its_heading(
    make_web: WebFactory, tmp_path: Path
) -> None:
    web = await make_web()
    shutil.copytree(KNOWLEDGE, tmp_path / "knowledge", dirs_exist_ok=True)
    paths = sorted(p.relative_to(KNOWLEDGE).as_posix() for p in KNOWLEDGE.rglob("*.*") if p.suffix != ".pdf")
    assert len(paths) > 20
    for path in paths:
        data = (KNOWLEDGE / path).read_bytes()
        text = data.decode().replace("\r\n", "\n")
        found = [s for s in load_bytes(path, Path(path).suffix, data).sections if s.heading]
        assert found, path
        # Where the anchors are in the file: each at its heading, as the file writes it.
        anchors = sections._anchors(path, Path(path).suffix, data, text)
        places = {a.id: (a.start, a.end) for a in anchors}
        response = await web.client.get(f"/help/{path}")
        assert response.status_code == 200
        # The page: the same ids, in the same order, each on the heading element of its section.
        shown = _headings(response.text)
        assert list(shown) == [a.id for a in anchors], path
        for section in found:
            # The link a source of this section gets (without an http URL of its own), and the id it finds.
            link = urlsplit(section_href(path, section.heading, ""))
            assert unquote(link.path) == f"/help/{path}"
            key = unquote(link.fragment)
            assert key in shown, (path, section.heading, sorted(shown))
            start, end = places[key]
            assert _heading_written(path, text, start, end) == section.heading, (path, section.heading)
            element, heading = shown[key]
            assert element in ("h1", "h2", "h3", "h4", "h5", "h6"), (path, element)
            assert heading == section.heading, path
        # A rendered page, not the file: no Markdown or reStructuredText markup, no escaped HTML tags.
        body = BeautifulSoup(response.text, "html.parser").find("article")
        assert body is not None
        shown_text = body.get_text()
        for markup in ("\n## ", "=====", "<p>"):
            assert markup not in shown_text, (path, markup)


ARTICLES = {
    "fr/remboursements.md": (
        "---\ntitle: Remboursements\n---\nIntro.\n\n"
        "# Quand suis-je remboursé ?\n\nSous 14 jours.\n\n"
        "Frais & <délais>\n----------------\n\nAucun.\n\n"
        "```\n# Quand suis-je remboursé ?\n```\n"
    ),
    "zh/退款.md": "# 退款\n\n说明。\n\n## 多久能退款？\n\n五个工作日。\n\n## 多久能退款？\n\n重复的标题。\n",
    "team.rst": "=====\nTeams\n=====\n\nIntro.\n\nRoles\n=====\n\nOwner, Admin.\n",
    "notes.txt": "Getting started\n\nFirst steps.\n",
    "help/contact.html": (
        "<html><head><title>Contact support | Help</title></head><body>"
        "<nav><a href='/'>Contact support</a></nav><main>"
        "<h1>Contact support</h1><p>Ways to reach us.</p>\n"
        '<h2 id="own">Opening <em>hours</em></h2><p>9 to 5.</p>'
        "</main></body></html>\n"
    ),
    "faq/faq.csv": (
        'question,answer\n"Can I pay by card, or cash?","Card only, and ""Pay later""."\n'
        '"Why ""Pay later""?",Because.\n'
    ),
    "faq/faq.jsonl": json.dumps({"question": "Où est mon colis ?", "answer": "Dans le casier."}) + "\n",
    "faq/faq.yaml": "- question: How long is a return code valid?\n  answer: 14 days.\n",
}


async def test_each_format_gets_an_id_on_each_heading(make_web: WebFactory, tmp_path: Path) -> None:
    web = await make_web()
    for name, content in ARTICLES.items():
        target = tmp_path / "knowledge" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")

    async def anchors(name: str) -> dict[str, tuple[str, str]]:
        response = await web.client.get("/help/" + name)
        assert response.status_code == 200
        return _headings(response.text)

    # Markdown: front matter title (the page's title heading), ATX and setext headings; a "#" line in a code
    # block is not one.
    assert await anchors("fr/remboursements.md") == {
        "remboursements": ("h1", "Remboursements"),
        "quand-suis-je-remboursé": ("h1", "Quand suis-je remboursé ?"),
        "frais-délais": ("h2", "Frais & <délais>"),
    }
    # The same heading twice: the first keeps the id a link (which knows only the heading) leads to.
    assert await anchors("zh/退款.md") == {
        "退款": ("h1", "退款"),
        "多久能退款": ("h2", "多久能退款？"),
        "多久能退款-2": ("h2", "多久能退款？"),
    }
    assert await anchors("team.rst") == {"teams": ("h1", "Teams"), "roles": ("h2", "Roles")}
    assert await anchors("notes.txt") == {"getting-started": ("h1", "Getting started")}
    # HTML: the heading elements, not the <title> or the menu that repeat a heading before them.
    assert await anchors("help/contact.html") == {
        "contact-support": ("h1", "Contact support"),
        "opening-hours": ("h2", "Opening hours"),
    }
    # FAQ files: each question, as the knowledge base reads it (CSV quotes, JSON escapes undone).
    assert await anchors("faq/faq.csv") == {
        "can-i-pay-by-card-or-cash": ("h2", "Can I pay by card, or cash?"),
        "why-pay-later": ("h2", 'Why "Pay later"?'),
    }
    assert await anchors("faq/faq.jsonl") == {"où-est-mon-colis": ("h2", "Où est mon colis ?")}
    assert await anchors("faq/faq.yaml") == {
        "how-long-is-a-return-code-valid": ("h2", "How long is a return code valid?")
    }


async def test_a_file_the_knowledge_base_cannot_read_is_shown_without_anchors(
    make_web: WebFactory, tmp_path: Path
) -> None:
    web = await make_web()
    (tmp_path / "knowledge" / "broken.csv").write_text("no,columns\n1,2\n")
    response = await web.client.get("/help/broken.csv")
    assert response.status_code == 200
    assert _anchors(response.text) == {}
    assert _shown(response.text) == "no,columns\n1,2\n"


def _ids(name: str, content: str) -> dict[str, str]:
    """id → the text it wraps, of a file's anchors (the text decoded as the `/help/` page decodes it)."""
    data = content.encode("utf-8")
    text = data.decode("utf-8").replace("\r\n", "\n")
    return {a.id: text[a.start : a.end] for a in sections._anchors(name, Path(name).suffix, data, text)}


def test_only_heading_lines_get_an_id_not_a_line_that_reads_the_same() -> None:
    # A paragraph that reads as a later heading, and a body line that looks like a front matter field.
    assert _ids("d.md", "# Doc\n\nReturns\n\n## Returns\n\nBody\n") == {
        "doc": "# Doc",
        "returns": "## Returns",
    }
    assert _ids("d.md", "# Doc\n\nTitle: Costs\n\n## Costs\n\nFree.\n") == {
        "doc": "# Doc",
        "costs": "## Costs",
    }
    # A setext heading is its text line, not an earlier line that reads as it.
    assert _ids("d.md", "Intro\n\nFees\n\nFees\n----\n\nTen.\n") == {"fees": "Fees"}
    # Front matter only at the very top; its title line is the document's first heading.
    front = "---\ntitle: Costs\n---\nCosts\n\nFree.\n\n## Costs\n\nAgain.\n"
    assert _ids("d.md", front) == {"costs": "title: Costs", "costs-2": "## Costs"}
    # reStructuredText: the underlined and the over- and underlined lines, not a paragraph line.
    rst = "Roles\n\nIntro.\n\n=====\nRoles\n=====\n\nText.\n\nOwner\n-----\n\nRoles\n"
    found = _ids("d.rst", rst)
    assert found == {"roles": "Roles", "owner": "Owner"}
    roles = sections._anchors("d.rst", ".rst", rst.encode(), rst)[0]
    assert rst[roles.start - 7 : roles.start] == "\n=====\n"
    # A text file: its title line, not a body line that repeats it.
    txt = "\n\nGetting started\n\nFirst steps.\n\nGetting started\n"
    (anchor,) = sections._anchors("n.txt", ".txt", txt.encode(), txt)
    assert (anchor.start, txt[anchor.start : anchor.end]) == (2, "Getting started")
    # Its headings' lines: underlined, "#"-led or alone between paragraphs, not a line that reads the same.
    txt = "Guide\n\nSee Fees and Returns below.\nFees\n\nFees\n----\n\nNone.\n\n## Returns\n\nFree.\n"
    assert _ids("n.txt", txt) == {"guide": "Guide", "fees": "Fees", "returns": "## Returns"}
    fees = sections._anchors("n.txt", ".txt", txt.encode(), txt)[1]
    assert txt[fees.end : fees.end + 6] == "\n----\n"


def test_an_mdx_file_is_anchored_as_markdown() -> None:
    # A Docusaurus .mdx file: its headings are Markdown's, its imports, admonitions and tabs none.
    mdx = (
        "import Tabs from '@theme/Tabs';\n\n# Installing\n\n:::note\nFirst.\n:::\n\n<Tabs>\n"
        '<TabItem value="ios" label="iOS">\n\n## On an iPhone\n\nOpen the App Store.\n\n</TabItem>\n</Tabs>\n'
    )
    assert _ids("install.mdx", mdx) == {"installing": "# Installing", "on-an-iphone": "## On an iPhone"}


def test_a_byte_order_mark_does_not_hide_the_first_heading() -> None:
    for name, content, wrapped in (
        ("d.md", "\ufeff# Title\n\nText.\n\n## Next\n\nMore.\n", "# Title"),
        ("d.md", "\ufeff---\ntitle: Title\n---\nText.\n", "title: Title"),
        ("d.rst", "\ufeffTitle\n=====\n\nText.\n", "Title"),
        ("n.txt", "\ufeffTitle\n\nText.\n", "Title"),
        ("p.html", "\ufeff<h1>Title</h1><p>Text.</p>", "<h1>Title</h1>"),
        ("f.csv", "\ufeffquestion,answer\nTitle,Text.\n", "Title"),
        ("f.yaml", "\ufeff- question: Title\n  answer: Text.\n", "Title"),
    ):
        assert _ids(name, content)["title"] == wrapped, name


def test_a_faq_question_is_anchored_in_its_own_cell() -> None:
    # "Refunds" inside the first row's answer, and "Pay" inside "Payment", come before the questions.
    csv_faq = 'question,answer\nPay,"You can Pay later. Refunds too."\nRefunds,Five days.\n'
    found = sections._anchors("f.csv", ".csv", csv_faq.encode(), csv_faq)
    assert [(csv_faq[a.start : a.end], a.start) for a in found] == [
        ("Pay", csv_faq.index("\nPay,") + 1),
        ("Refunds", csv_faq.index("\nRefunds,") + 1),
    ]
    assert _ids("f.csv", "question,answer\nPayment,Card.\nPay,Later.\n") == {
        "payment": "Payment",
        "pay": "Pay",
    }
    # The answer column first: the question is the second cell, not the answer that starts with it.
    answer_first = "answer,question\nRefunds are quick,Refunds\n"
    (anchor,) = sections._anchors("f.csv", ".csv", answer_first.encode(), answer_first)
    assert anchor.start == answer_first.index(",Refunds\n") + 1
    # Doubled quotes, a newline and double spaces inside a cell: the whole cell is the anchor.
    cells = 'answer,question\n"Yes, ""Pay""","Can I ""Pay""\nlater,  or  not?"\n'
    assert _ids("f.csv", cells) == {"can-i-pay-later-or-not": 'Can I ""Pay""\nlater,  or  not?'}
    # JSON lines: the question's value, escapes as written; not the answer that says it first.
    jsonl = (
        '{"answer": "Refunds take five days", "question": "Refunds"}\n{"a": "x", "Q": "Caf\\u00e9 \\/ bar"}\n'
    )
    assert _ids("f.jsonl", jsonl) == {"refunds": "Refunds", "café-bar": "Caf\\u00e9 \\/ bar"}
    # YAML: the question node, quoted or folded, wherever the answer put its words first.
    yaml_faq = (
        "title: Help\nentries:\n"
        "  - answer: Refunds are quick.\n    question: Refunds\n"
        "  - question: 'It''s  late?'\n    answer: Wait.\n"
        '  - answer: "Fine."\n    question: >\n      Folded\n      question\n'
    )
    assert _ids("f.yaml", yaml_faq) == {
        "refunds": "Refunds",
        "it-s-late": "It''s  late?",
        "folded-question": ">\n      Folded\n      question",
    }


def test_a_faq_question_is_anchored_under_a_header_in_the_help_centers_language() -> None:
    # "domanda, risposta": the file was skipped as having no question column, so its page had no anchors.
    csv_faq = "Domanda;Risposta\nCome cambio indirizzo?;Dall'app.\n"
    assert _ids("f.csv", csv_faq) == {"come-cambio-indirizzo": "Come cambio indirizzo?"}
    jsonl = '{"respuesta": "Dos días.", "pregunta": "¿Cuánto tarda?"}\n'
    assert _ids("f.jsonl", jsonl) == {"cuánto-tarda": "¿Cuánto tarda?"}


def test_a_faq_question_is_anchored_in_a_sheet_read_by_its_cells() -> None:
    # A header in a language the loader does not list: the knowledge base reads the column of questions, and
    # its page anchors that column's cells, not the answers that say the same words first.
    csv_faq = "Válasz,Kérdés\nA szállítás két nap.,Mennyi a szállítás?\nIngyenes.,Mennyibe kerül?\n"
    assert _ids("f.csv", csv_faq) == {
        "mennyi-a-szállítás": "Mennyi a szállítás?",
        "mennyibe-kerül": "Mennyibe kerül?",
    }
    # No header row: the first row is a question too.
    headless = "How long is delivery?,Two days.\nIs it free?,No.\n"
    assert _ids("f.csv", headless) == {
        "how-long-is-delivery": "How long is delivery?",
        "is-it-free": "Is it free?",
    }


def test_html_ids_go_to_the_headings_the_knowledge_base_keeps() -> None:
    # A menu before the content (outside <main>, and a sidebar inside it) repeats a heading; a note's own
    # heading labels the note and is no section.
    page = (
        "<html><body><nav><h2>Shipping</h2><a href='/s'>Shipping</a></nav>"
        "<main><aside class='sidebar-nav'><h2>Returns</h2></aside>"
        "<h1>Help</h1><p>Intro.</p>\n<div class='note'><h4>Returns</h4><p>Keep the box.</p></div>"
        "<h2>Shipping</h2><p>Two days.</p>\n<h2>Returns</h2><p>Free.</p></main></body></html>"
    )
    found = sections._anchors("p.html", ".html", page.encode(), page)
    assert [(a.id, page[a.start : a.end]) for a in found] == [
        ("help", "<h1>Help</h1>"),
        ("shipping", "<h2>Shipping</h2>"),
        ("returns", "<h2>Returns</h2>"),
    ]
    assert found[1].start == page.index("<h2>Shipping</h2><p>Two")
    assert found[2].start == page.index("<h2>Returns</h2><p>Free")


def test_headings_that_share_a_slug_get_unique_ids_the_first_keeping_the_plain_one() -> None:
    assert slug("Fees") == slug("Fees?")
    assert slug("???") == slug("!!!") == "section"
    content = "# Fees\n\nA.\n\n# Fees?\n\nB.\n\n# ???\n\nC.\n\n# !!!\n\nD.\n\n# Fees 2\n\nE.\n"
    # "Fees 2" keeps its own id: a link to it (which knows only its heading) must not open the second "Fees".
    assert _ids("d.md", content) == {
        "fees": "# Fees",
        "fees-3": "# Fees?",
        "section": "# ???",
        "section-2": "# !!!",
        "fees-2": "# Fees 2",
    }


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources the help pages parse from now on, in order."""
    parsed: list[str] = []
    real = sections.load_bytes

    def counting(source: str, suffix: str, data: bytes) -> Document:
        parsed.append(source)
        return real(source, suffix, data)

    monkeypatch.setattr(sections, "load_bytes", counting)
    return parsed


async def test_an_article_page_is_parsed_once_until_its_file_changes(
    make_web: WebFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = await make_web()
    target = tmp_path / "knowledge" / "cached.md"
    target.write_text("# Fees\n\nTen.\n", encoding="utf-8")
    parsed = _count_parses(monkeypatch)
    for _ in range(2):
        response = await web.client.get("/help/cached.md")
        assert _headings(response.text) == {"fees": ("h1", "Fees")}
    assert parsed == ["cached.md"]
    # A new version (same size, newer time; then another size): parsed again, the new text shown.
    target.write_text("# Fine\n\nTen.\n", encoding="utf-8")
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    response = await web.client.get("/help/cached.md")
    assert _headings(response.text) == {"fine": ("h1", "Fine")}
    target.write_text("# Costs\n\nTen.\n", encoding="utf-8")
    response = await web.client.get("/help/cached.md")
    assert _headings(response.text) == {"costs": ("h1", "Costs")}
    assert parsed == ["cached.md"] * 3


def test_the_article_cache_keeps_the_pages_shown_last_within_its_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = _count_parses(monkeypatch)
    for name in "abc":
        (tmp_path / f"{name}.md").write_text(f"# {name}\n\nText.\n", encoding="utf-8")
    cache = ArticleCache(max_entries=2, max_chars=10_000)
    for name in "abab":
        assert 'id="' + name + '"' in cache.get(tmp_path / f"{name}.md", f"{name}.md").html
    cache.get(tmp_path / "c.md", "c.md")  # evicts "a", the least recently shown
    cache.get(tmp_path / "b.md", "b.md")
    cache.get(tmp_path / "a.md", "a.md")
    assert parsed == ["a.md", "b.md", "c.md", "a.md"]
    # A page larger than the whole cache is shown, not kept.
    small = ArticleCache(max_entries=2, max_chars=10)
    small.get(tmp_path / "a.md", "a.md")
    small.get(tmp_path / "a.md", "a.md")
    assert parsed[-2:] == ["a.md", "a.md"]


def _waits_noticed(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set when a page cache's caller starts waiting for a page another thread is making."""
    waiting = threading.Event()

    class Noticed(Future[T]):
        def result(self, timeout: float | None = None) -> T:
            waiting.set()
            return super().result(timeout)

    monkeypatch.setattr(app, "Future", Noticed)
    return waiting


def test_two_first_views_of_one_article_parse_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.md").write_text("# Fees\n\nTen.\n", encoding="utf-8")
    parsed: list[str] = []
    parsing = threading.Event()
    waiting = _waits_noticed(monkeypatch)
    real = sections.load_bytes

    def slow(source: str, suffix: str, data: bytes) -> Document:
        parsed.append(source)
        if len(parsed) == 1:
            parsing.set()
            waiting.wait(timeout=2)  # until the second view waits for this parse (or would parse itself)
        return real(source, suffix, data)

    monkeypatch.setattr(sections, "load_bytes", slow)
    cache = ArticleCache(max_entries=4, max_chars=100_000)
    pages: list[str] = []
    first = threading.Thread(target=lambda: pages.append(cache.get(tmp_path / "a.md", "a.md").html))
    first.start()
    assert parsing.wait(timeout=5)
    # The second view, while the first is parsing: it waits for that parse and shows its page.
    pages.append(cache.get(tmp_path / "a.md", "a.md").html)
    first.join(timeout=5)
    assert parsed == ["a.md"]
    assert len(pages) == 2
    assert pages[0] == pages[1]
    assert 'id="fees"' in pages[0]


def test_an_article_being_parsed_does_not_hold_up_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "slow.md").write_text("# Slow\n\nText.\n", encoding="utf-8")
    (tmp_path / "quick.md").write_text("# Quick\n\nText.\n", encoding="utf-8")
    parsing, release = threading.Event(), threading.Event()
    real = sections.load_bytes

    def held(source: str, suffix: str, data: bytes) -> Document:
        if source == "slow.md":
            parsing.set()
            release.wait(timeout=5)
        return real(source, suffix, data)

    monkeypatch.setattr(sections, "load_bytes", held)
    cache = ArticleCache(max_entries=4, max_chars=100_000)
    slow = threading.Thread(target=cache.get, args=(tmp_path / "slow.md", "slow.md"))
    slow.start()
    try:
        assert parsing.wait(timeout=5)
        assert 'id="quick"' in cache.get(tmp_path / "quick.md", "quick.md").html
        assert slow.is_alive(), "the other article was shown while the slow one was still being parsed"
    finally:
        release.set()
        slow.join(timeout=5)
    assert 'id="slow"' in cache.get(tmp_path / "slow.md", "slow.md").html


def test_a_failed_parse_fails_the_view_that_waited_for_it_and_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.md").write_text("# Fees\n\nTen.\n", encoding="utf-8")
    parsing = threading.Event()
    waiting = _waits_noticed(monkeypatch)
    calls: list[str] = []
    cache = ArticleCache(max_entries=4, max_chars=100_000)
    real = cache._make

    def failing(path: Path, name: str, data: bytes) -> Article:
        calls.append(name)
        if len(calls) == 1:
            parsing.set()
            waiting.wait(timeout=2)
            raise RuntimeError("the disk went away")
        return real(path, name, data)

    monkeypatch.setattr(cache, "_make", failing)
    errors: list[BaseException] = []

    def view() -> None:
        try:
            cache.get(tmp_path / "a.md", "a.md")
        except RuntimeError as exc:
            errors.append(exc)

    first = threading.Thread(target=view)
    first.start()
    assert parsing.wait(timeout=5)
    view()  # waits for the first view's parse, and fails with it
    first.join(timeout=5)
    assert len(errors) == 2
    assert calls == ["a.md"]
    # Nothing kept of the failure: the next view parses again.
    assert 'id="fees"' in cache.get(tmp_path / "a.md", "a.md").html
    assert calls == ["a.md", "a.md"]


async def test_a_failure_while_placing_anchors_shows_the_article_without_them(
    make_web: WebFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    web = await make_web()
    (tmp_path / "knowledge" / "a.md").write_text("# Fees\n\nTen.\n", encoding="utf-8")
    (tmp_path / "knowledge" / "b.html").write_text("<h1>Fees</h1><p>Ten.</p>", encoding="utf-8")

    def broken(*args: object) -> NoReturn:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(sections, "load_bytes", broken)
    response = await web.client.get("/help/a.md")
    assert response.status_code == 200
    assert _anchors(response.text) == {}
    assert _shown(response.text) == "# Fees\n\nTen.\n"
    assert any("a.md" in r.getMessage() and r.exc_info for r in caplog.records)
    monkeypatch.undo()
    monkeypatch.setattr(sections, "_html_spans", broken)
    response = await web.client.get("/help/b.html")
    assert response.status_code == 200
    assert _anchors(response.text) == {}
    assert _shown(response.text) == "<h1>Fees</h1><p>Ten.</p>"
