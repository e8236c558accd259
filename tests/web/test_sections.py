"""Source links open their section: one slug makes the link's fragment and the heading's id on `/help/`."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.channels.web.sections import section_href, slug
from bot.kb.loaders import load_bytes
from tests.conftest import KNOWLEDGE
from tests.web.conftest import WebFactory

_ID = re.compile(r'<span class="section" id="([^"]*)">(.*?)</span>', re.DOTALL)


def _anchors(page: str) -> dict[str, str]:
    """id → the text the anchor wraps, of an article page."""
    found = _ID.findall(page)
    ids = [html.unescape(i) for i, _ in found]
    assert len(ids) == len(set(ids)), "ids are unique on a page"
    return {html.unescape(i): html.unescape(text) for i, text in found}


def _shown(page: str) -> str:
    """The article's text as the page shows it (what is inside <pre>, tags removed)."""
    body = page.split("<pre class='article'>", 1)[1].split("</pre>", 1)[0]
    return html.unescape(re.sub(r"<[^>]*>", "", body))


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


async def test_every_section_of_the_sample_help_center_opens_at_its_heading(
    make_web: WebFactory, tmp_path: Path
) -> None:
    web = await make_web()
    shutil.copytree(KNOWLEDGE, tmp_path / "knowledge", dirs_exist_ok=True)
    paths = sorted(p.relative_to(KNOWLEDGE).as_posix() for p in KNOWLEDGE.rglob("*.*") if p.suffix != ".pdf")
    assert len(paths) > 20
    for path in paths:
        data = (KNOWLEDGE / path).read_bytes()
        sections = [s for s in load_bytes(path, Path(path).suffix, data).sections if s.heading]
        assert sections, path
        response = await web.client.get(f"/help/{path}")
        assert response.status_code == 200
        anchors = _anchors(response.text)
        for section in sections:
            # The link a source of this section gets (without an http URL of its own), and the id it finds.
            link = urlsplit(section_href(path, section.heading, ""))
            assert unquote(link.path) == f"/help/{path}"
            assert unquote(link.fragment) in anchors, (path, section.heading, sorted(anchors))
            assert section.heading in anchors[unquote(link.fragment)]
        # The anchors only mark the text: the page shows the file as before (newlines as text mode reads).
        assert _shown(response.text) == data.decode().replace("\r\n", "\n"), path


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

    async def anchors(name: str) -> dict[str, str]:
        response = await web.client.get("/help/" + name)
        assert response.status_code == 200
        assert _shown(response.text) == ARTICLES[name]
        return _anchors(response.text)

    # Markdown: front matter title, ATX and setext headings; a "#" line in a code block is not one.
    assert await anchors("fr/remboursements.md") == {
        "remboursements": "title: Remboursements",
        "quand-suis-je-remboursé": "# Quand suis-je remboursé ?",
        "frais-délais": "Frais & <délais>",
    }
    # The same heading twice: the first keeps the id a link (which knows only the heading) leads to.
    assert await anchors("zh/退款.md") == {
        "退款": "# 退款",
        "多久能退款": "## 多久能退款？",
        "多久能退款-2": "## 多久能退款？",
    }
    assert await anchors("team.rst") == {"teams": "Teams", "roles": "Roles"}
    assert await anchors("notes.txt") == {"getting-started": "Getting started"}
    # HTML: the heading elements, not the <title> or the menu that repeat a heading before them.
    assert await anchors("help/contact.html") == {
        "contact-support": "<h1>Contact support</h1>",
        "opening-hours": '<h2 id="own">Opening <em>hours</em></h2>',
    }
    # FAQ files: each question where the file spells it (CSV quotes, JSON escapes).
    assert await anchors("faq/faq.csv") == {
        "can-i-pay-by-card-or-cash": "Can I pay by card, or cash?",
        "why-pay-later": 'Why ""Pay later""?',
    }
    assert await anchors("faq/faq.jsonl") == {"où-est-mon-colis": "O\\u00f9 est mon colis ?"}
    assert await anchors("faq/faq.yaml") == {
        "how-long-is-a-return-code-valid": "How long is a return code valid?"
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
