"""The help center's pages show each article as a reader expects it: rendered, sanitised, titled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag

from bot.channels.web import articles
from bot.channels.web.articles import Article, render_article
from bot.kb.loaders import Document, load_bytes
from tests.web.conftest import WebFactory


def _render(name: str, content: str) -> Article:
    data = content.encode("utf-8")
    return render_article(name, Path(name).suffix, data, data.decode("utf-8"))


def _article(rendered: Article) -> Tag:
    """The rendered article's element (not the text fallback)."""
    found = BeautifulSoup(rendered.html, "html.parser").find("article", class_="article")
    assert isinstance(found, Tag), rendered.html
    return found


def _outline(rendered: Article) -> list[tuple[str, str, str]]:
    """(element, id, text) of every heading of the article, in order."""
    return [
        (tag.name, str(tag.get("id", "")), " ".join(tag.get_text().split()))
        for tag in _article(rendered).find_all(("h1", "h2", "h3", "h4", "h5", "h6"))
    ]


def test_markdown_is_rendered_with_its_headings_ids_and_the_title_first() -> None:
    rendered = _render(
        "refunds.md",
        "# Refunds\n\nPaid back in **five** days.\n\n## How to ask\n\n1. Open the app.\n2. Tap *Refund*.\n\n"
        "```\n## not a heading\n```\n\nSee [returns](../returns/returning.md) and `code`.\n",
    )
    assert rendered.title == "Refunds"
    assert _outline(rendered) == [("h1", "refunds", "Refunds"), ("h2", "how-to-ask", "How to ask")]
    page = _article(rendered)
    assert page.find("strong").get_text() == "five"  # type: ignore[union-attr]
    assert [li.get_text() for li in page.find_all("li")] == ["Open the app.", "Tap Refund."]
    assert page.find("pre").get_text() == "## not a heading\n"  # type: ignore[union-attr]
    assert page.find("a", href="../returns/returning.md") is not None  # a link to another article stays
    assert "**" not in page.get_text()


def test_markdown_front_matter_gives_the_title_heading_and_is_not_shown() -> None:
    rendered = _render(
        "d.md",
        "---\ntitle: Remboursements\nurl: https://x.example\n---\nIntro.\n\n## Délais\n\nCinq jours.\n",
    )
    assert rendered.title == "Remboursements"
    assert _outline(rendered) == [("h1", "remboursements", "Remboursements"), ("h2", "délais", "Délais")]
    assert "url:" not in _article(rendered).get_text()


def test_html_and_dangerous_links_in_markdown_are_text() -> None:
    rendered = _render(
        "d.md",
        "# Doc\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) [tab](java\tscript:alert(1)) <javascript:alert(1)> "
        "[data](data:text/html,<script>alert(1)</script>)\n",
    )
    page = _article(rendered)
    assert page.find(("script", "img")) is None
    assert "<script>alert(1)</script>" in page.get_text()  # shown as the text it is
    assert not [a for a in page.find_all("a") if "script" in str(a.get("href", "")).lower()]
    assert page.find("a", href=lambda href: str(href).startswith("data:")) is None


def test_restructuredtext_is_rendered_without_reaching_outside_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n", encoding="utf-8")
    rendered = _render(
        "team.rst",
        "=====\nTeams\n=====\n\n"
        "Intro with ``code``, a `bad link <javascript:alert(1)>`_ and a link to `Roles`_.\n\n"
        f".. include:: {secret}\n\n"
        f".. csv-table::\n   :file: {secret}\n\n"
        ".. raw:: html\n\n   <script>alert(1)</script>\n\n"
        ".. note:: Keep the receipt.\n\n"
        "Roles\n=====\n\n- Owner\n- Admin\n",
    )
    assert rendered.title == "Teams"
    assert _outline(rendered) == [("h1", "teams", "Teams"), ("h2", "roles", "Roles")]
    page = _article(rendered)
    assert "TOP SECRET" not in rendered.html
    assert page.find("script") is None
    assert "alert" not in rendered.html
    assert page.find("code").get_text() == "code"  # type: ignore[union-attr]
    assert "Keep the receipt." in page.get_text()
    # docutils' link to the section leads to the section's heading, by its id.
    assert page.find("a", string="Roles")["href"] == "#roles"  # type: ignore[index]
    assert "bad link" in page.get_text()


HOSTILE_PAGE = """<!doctype html><html><head><title>Fees | Example Help</title>
<style>body { display: none }</style><script>window.pwned = 1</script></head>
<body><nav><a href="/">Home</a><h2>Fees</h2></nav><main>
<h1 id="top" onclick="alert(1)" style="color:red" class="hero">Fees</h1>
<!-- --!><script>alert(1)</script> -->
<p onmouseover="alert(1)">Read <a href="javascript:alert(1)">this</a>,
<a href="JaVa&#x09;Script&colon;alert(1)">that</a>,
<a href=" &#14; javascript:alert(1)">more</a>, <a href="vbscript:x">old</a>, <a href="https://example.com/x">ok</a>,
<a href="mailto:help@example.com">mail</a> and <a href="#top">the top</a> or <a href="#note">the note</a>.</p>
<iframe src="https://evil.example"></iframe><object data="x.swf"></object><embed src="x.swf">
<form action="https://evil.example"><input name="q"><button>Go</button></form>
<div id="__supportWidget">Shadowing the widget's flag.</div>
<p id="note">A note <span data-x="1" class="sbw-panel">styled</span>.</p>
<svg><script>alert(1)</script></svg><math><mi>x</mi></math>
<h2>Card fees</h2><p>None.</p></main><footer><h2>Fees</h2></footer></body></html>
"""


def test_an_html_page_is_its_content_sanitised() -> None:
    rendered = _render("fees.html", HOSTILE_PAGE)
    # Its first heading, not the <title> that names the site too.
    assert rendered.title == "Fees"
    assert _outline(rendered) == [("h1", "fees", "Fees"), ("h2", "card-fees", "Card fees")]
    page = _article(rendered)
    for name in ("script", "style", "iframe", "object", "embed", "form", "input", "svg", "math", "nav"):
        assert page.find(name) is None, name
    assert "pwned" not in rendered.html
    assert "alert" not in rendered.html
    assert "<!--" not in rendered.html
    for tag in page.find_all(True):
        assert not [a for a in tag.attrs if a.startswith("on") or a in ("style", "data-x")], tag
        assert tag.get("class") in (None, ["section"], ["article"]), tag
    links = {a.get_text(): a.get("href") for a in page.find_all("a")}
    assert links == {
        "ok": "https://example.com/x",
        "mail": "mailto:help@example.com",
        "the top": "#fees",  # the heading's own id in the file now names its section's id
        "the note": "#c-note",
    }
    # A link with a dangerous scheme is its text, not a link.
    assert "Read this, that, more, old," in " ".join(page.get_text().split())
    assert page.find(id="__supportWidget") is None  # no id of the file can shadow one of the page
    assert page.find(id="c-note").get_text() == "A note styled."  # type: ignore[union-attr]
    # The content only: not the menu's nor the footer's copy of the heading.
    assert page.get_text().count("Fees") == 1


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2028", "\x85", "\u1680", "\u2003"])
def test_no_unicode_space_turns_a_link_into_a_script(space: str) -> None:
    page = f'<h1>T</h1><p><a href="{space}javascript:alert(document.domain)">x</a> and <a href="{space}https://example.com/y">y</a></p>'
    rendered = _render("t.html", page)
    assert "javascript:" not in rendered.html.replace(f"{space}javascript:", "")
    for link in _article(rendered).find_all("a"):
        href = str(link.get("href"))
        # What a browser reads: its URL parser strips only C0 controls and spaces from the ends.
        assert not href.strip("".join(map(chr, range(0x21)))).lower().startswith("javascript:"), href


def test_faq_files_show_each_question_with_its_answer() -> None:
    csv_faq = (
        'category,question,answer\nPayments,Can I pay by card?,"Yes.\n\nAny card."\nPayments,Fees?,None.\n'
    )
    csv_faq += "Returns,How long?,14 days.\n"
    rendered = _render("faq/help-faq.csv", csv_faq)
    assert rendered.title == "Help FAQ"
    assert _outline(rendered) == [
        ("h1", "", "Help FAQ"),
        ("h2", "", "Payments"),
        ("h3", "can-i-pay-by-card", "Can I pay by card?"),
        ("h3", "fees", "Fees?"),
        ("h2", "", "Returns"),
        ("h3", "how-long", "How long?"),
    ]
    answer = _article(rendered).find(id="can-i-pay-by-card").find_next_siblings("p")  # type: ignore[union-attr]
    assert [p.get_text() for p in answer[:2]] == ["Yes.", "Any card."]
    jsonl = "\n".join(
        json.dumps(record) for record in ({"question": "Où est <mon> colis ?", "answer": "Dans le casier."},)
    )
    rendered = _render("faq.jsonl", jsonl + "\n")
    assert _outline(rendered) == [("h1", "", "FAQ"), ("h2", "où-est-mon-colis", "Où est <mon> colis ?")]
    assert "<mon>" not in rendered.html  # escaped


def test_a_text_file_is_paragraphs_under_its_title() -> None:
    rendered = _render(
        "guide.txt",
        "Getting started\n\nFirst steps,\nwrapped.\n\nWhat you need\n-------------\n\n- A phone with iOS\n"
        "  or Android.\n- A card.\n",
    )
    assert rendered.title == "Getting started"
    assert _outline(rendered) == [
        ("h1", "getting-started", "Getting started"),
        ("h2", "what-you-need", "What you need"),
    ]
    paragraphs = [str(p) for p in _article(rendered).find_all("p")]
    # The author's wrapping flows; a list item starts a line.
    assert paragraphs == [
        "<p>First steps, wrapped.</p>",
        "<p>- A phone with iOS or Android.<br/>- A card.</p>",
    ]


def test_a_text_file_shows_the_headings_the_knowledge_base_reads() -> None:
    # Each as the knowledge base reads it: a "##" line by its words, a heading alone between paragraphs, the
    # first line of a paragraph over its lines where the text heads two that way; no underline shown.
    rendered = _render(
        "contact.txt",
        "Contact\n\nIntro.\n\n## Phone ##\n\nCall us.\n\nOpening hours\nMon–Fri 9–17.\n\n"
        "Chat & e-mail\nAny time.\n\nReturns\n=======\n\nFree.\n",
    )
    assert _outline(rendered) == [
        ("h1", "contact", "Contact"),
        ("h2", "phone", "Phone"),
        ("h2", "opening-hours", "Opening hours"),
        ("h2", "chat-e-mail", "Chat & e-mail"),
        ("h2", "returns", "Returns"),
    ]
    assert [p.get_text() for p in _article(rendered).find_all("p")] == [
        "Intro.",
        "Call us.",
        "Mon–Fri 9–17.",
        "Any time.",
        "Free.",
    ]
    assert "=" not in _article(rendered).get_text()


def test_a_heading_the_renderer_does_not_see_shows_the_file_as_text_with_every_anchor() -> None:
    # The knowledge base ends the code block at "``` not closed" (a closing fence with words after it);
    # CommonMark does not, so "# Heading" is code there: the page shows the file, with its anchors.
    content = "# Doc\n\n```\ncode\n``` not closed\n# Heading\n\nText.\n"
    rendered = _render("d.md", content)
    assert rendered.title == "Doc"
    assert "<pre class='article'>" in rendered.html
    assert 'id="doc"' in rendered.html
    assert '<span class="section" id="heading"># Heading</span>' in rendered.html


def test_a_render_failure_shows_the_file_as_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(articles, "_markdown", broken)
    rendered = _render("d.md", "# Doc\n\n<b>Text</b>\n")
    assert rendered.html == (
        '<h1>Doc</h1><pre class=\'article\'><span class="section" id="doc"># Doc</span>\n\n'
        "&lt;b&gt;Text&lt;/b&gt;\n</pre>"
    )
    assert any("d.md" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_the_article_page_is_titled_by_the_article(make_web: WebFactory, tmp_path: Path) -> None:
    web = await make_web()
    (tmp_path / "knowledge" / "help").mkdir()
    (tmp_path / "knowledge" / "help" / "fees.html").write_text(HOSTILE_PAGE, encoding="utf-8")
    response = await web.client.get("/help/help/fees.html")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.title is not None
    assert soup.title.get_text() == "Fees"
    assert [h.get_text() for h in soup.find_all("h1")] == ["Fees"]
    # The page's own script is the widget's, and nothing of the file's runs.
    assert [s.get("src") for s in soup.find_all("script")] == ["/widget.js"]


async def test_the_home_page_lists_articles_by_title_in_their_folders(
    make_web: WebFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = await make_web()  # its knowledge folder holds refunds.md ("# Refunds")
    knowledge = tmp_path / "knowledge"
    for name, content in {
        "billing/z-payments.md": "---\ntitle: Paying\n---\nText.\n",
        "billing/a-plans.rst": "Plans and prices\n================\n\nText.\n",
        "help/contact.html": "<title>Contact | Help</title><main><h1>Contact us</h1><p>Text.</p></main>",
        "help/broken.csv": "no,columns\n1,2\n",
        "help/logo.png": "not an article",
    }.items():
        (knowledge / name).parent.mkdir(parents=True, exist_ok=True)
        (knowledge / name).write_text(content, encoding="utf-8")
    parsed: list[str] = []
    real = articles.load_bytes

    def counting(source: str, suffix: str, data: bytes) -> Document:
        parsed.append(source)
        return real(source, suffix, data)

    monkeypatch.setattr(articles, "load_bytes", counting)
    response = await web.client.get("/")
    soup = BeautifulSoup(response.text, "html.parser")
    folders = [
        (
            heading.get_text() if (heading := section.find("h3")) else "",
            [
                (li.a.get_text(), li.a["href"], li.find(class_="path").get_text())
                for li in section.find_all("li")
            ],
        )
        for section in soup.select(".folders section")
    ]
    assert folders == [
        ("", [("Refunds", "/help/refunds.md", "refunds.md")]),
        (
            "billing",
            [
                ("Paying", "/help/billing/z-payments.md", "billing/z-payments.md"),
                ("Plans and prices", "/help/billing/a-plans.rst", "billing/a-plans.rst"),
            ],
        ),
        (
            "help",
            [
                ("broken.csv", "/help/help/broken.csv", "help/broken.csv"),
                ("Contact us", "/help/help/contact.html", "help/contact.html"),
                ("logo.png", "/help/help/logo.png", "help/logo.png"),
            ],
        ),
    ]
    # Each file is parsed once for its title, until it changes.
    assert sorted(parsed) == sorted(
        ["refunds.md", "billing/z-payments.md", "billing/a-plans.rst", "help/contact.html", "help/broken.csv"]
    )
    await web.client.get("/")
    assert len(parsed) == 5
    assert load_bytes("refunds.md", ".md", (knowledge / "refunds.md").read_bytes()).title == "Refunds"


def test_a_page_whose_heading_heads_no_section_shows_its_title_once() -> None:
    # A contact form's page: the knowledge base finds no section under its heading.
    rendered = _render("contact.html", "<h1>Contact us</h1><form>Name <input name='q'></form><p></p>")
    assert rendered.title == "Contact us"
    headings = [h.get_text() for h in _article(rendered).find_all(["h1", "h2", "h3"])]
    assert headings == ["Contact us"]
