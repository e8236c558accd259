"""HTML loading keeps a page's content and drops its navigation, on real generator pages and small cases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from bot.kb.loaders import Document, load_bytes
from bot.kb.parsers import parse_html

PAGES = Path(__file__).resolve().parents[1] / "data" / "html"
HELP_CENTER = Path(__file__).resolve().parents[2] / "knowledge" / "help"


def load_page(name: str) -> Document:
    return load_bytes(name, ".html", (PAGES / name).read_bytes())


def load_html(html: str) -> Document:
    return load_bytes("page.html", ".html", html.encode())


def everything(doc: Document) -> str:
    """All text a chunk could carry: every heading on every path, and every body."""
    return "\n".join("\n".join([*s.heading_path, s.text]) for s in doc.sections)


def lines(doc: Document) -> list[str]:
    return [line for s in doc.sections for line in s.text.splitlines()]


@dataclass(frozen=True)
class Page:
    file: str
    headings: list[tuple[str, ...]]
    content: list[str]  # whole lines of body text, inline markup and all
    navigation: list[str]  # chrome texts: none may appear as words anywhere in the loaded document


CASES = [
    Page(
        "docbook.html",
        [
            ("Chapter 2. Tracking a parcel",),
            ("Chapter 2. Tracking a parcel", "2.1. Tracking in the app"),
            ("Chapter 2. Tracking a parcel", "2.2. Tracking from a terminal"),
            ("Chapter 2. Tracking a parcel", "2.3. When tracking stops updating"),
        ],
        [
            "Every parcel gets a tracking number of 12 characters that starts with PX.",
            "Open the app and tap Parcels. To follow a parcel someone else sent you, enter the number with "
            "Add parcel; the app then sends you a push message at every step.",
            "- In transit: the parcel left the sorting centre.",
            "$ parcelly-cli track PX1234567890",
            "PX1234567890  ready for pickup  Locker 0412, Stationsplein",
            "Note: The command needs an API key in the PARCELLY_KEY environment variable.",
        ],
        ["Prev", "Next", "Home", "Table of Contents", "Chapter 1. Introduction", "Chapter 3. Claims"],
    ),
    Page(
        "sphinx.html",
        [
            ("API keys",),
            ("API keys", "Creating a key"),
            ("API keys", "Rotating a key"),
            ("API keys", "Limits"),
        ],
        [
            "Every request to the Parcelly Business API needs an API key. Send it in the Authorization "
            "header as Bearer <key>; keys never go in the URL.",
            "Note: Test keys start with pk_test_ and only see the sandbox. Live keys start with pk_live_.",
            "Create the new key first, deploy it, then revoke the old one with Revoke. Both keys work during "
            "the overlap. To check which key a call used, read the X-Parcelly-Key-Id response header:",
            "x-parcelly-key-id: key_7Hq2",
            "| Plan | Requests per minute | Keys per account |",
            "| Enterprise | 3000 | 50 |",
            "The value is in seconds; wait at least that long before retrying.",
        ],
        [
            "¶",
            "Navigation",
            "index",
            "next",
            "previous",
            "Parcelly Developers documentation",
            "Table of Contents",
            "Previous topic",
            "Next topic",
            "Parcelly developer guide",
            "Webhooks",
            "This Page",
            "Show Source",
            "Quick search",
            "Go",
            "Copyright",
            "Created using",
        ],
    ),
    Page(
        "mkdocs.html",
        [
            ("Returns and refunds",),
            ("Returns and refunds", "Printing a return label"),
            ("Returns and refunds", "When the refund arrives"),
            ("Returns and refunds", "Opened hygiene products"),
        ],
        [
            "Returns are free for Parcelly Plus members. Everyone else pays the standard small-parcel rate, "
            "which is taken from the refund. Choose Print at a locker if you have no printer: type the code "
            "RT- followed by six digits on the locker screen and the label comes out of the slot.",
            "No label needed at lockers: At a locker you can also drop the parcel without a label; the "
            "locker prints one for you.",
            "2. The seller confirms the return, usually within 3 business days.",
            "| Card | 3–5 days |",
            "Opened cosmetics, underwear and earphones cannot be returned unless they are faulty.",
        ],
        [
            "Skip to content",
            "Parcelly Help",
            "Git",
            "Search",
            "Initializing search",
            "Home",
            "Sending",
            "Claims",
            "Table of contents",
            "Previous",
            "Next",
            "Made with",
            "Material for MkDocs",
            "¶",
        ],
    ),
    Page(
        "docusaurus.html",
        [
            ("Parcel status webhooks",),
            ("Parcel status webhooks", "Registering an endpoint"),
            ("Parcel status webhooks", "Checking the signature"),
            ("Parcel status webhooks", "Retries"),
        ],
        [
            "Parcelly sends a POST request to your webhook URL every time a parcel changes status, so your "
            "shop does not have to poll the tracking API.",
            "In the business portal, open Developers > Webhooks and click Add endpoint. The URL must use "
            "HTTPS and answer within 10 seconds with any 2xx status.",
            "Warning: Endpoints that fail for 3 days in a row are switched off and the account owner gets an "
            "email.",
            "def is_valid(body, header, secret):",
            '    return hmac.compare_digest(hmac.new(secret, body, "sha256").hexdigest(), header)',
        ],
        [
            "Skip to main content",
            "Parcelly Developers",
            "Tutorial",
            "Blog",
            "GitHub",
            "Tutorial Intro",
            "Tutorial - Basics",
            "Create a Document",
            "Create a Blog Post",
            "On this page",
            "Edit this page",
            "Previous",
            "Next",
            "Docs",
            "Community",
            "Stack Overflow",
            "Discord",
            "Copyright",
            "Built with Docusaurus",
        ],
    ),
    Page(
        "zendesk.html",
        [
            ("Changing the delivery address",),
            ("Changing the delivery address", "Changing the address in the app"),
            ("Changing the delivery address", "Parcels from abroad", "Customs parcels"),
        ],
        [
            "You can change where a parcel goes until it is out for delivery. After that, the courier "
            "already has the route and the address is locked.",
            "3. Confirm with the code we send by SMS, for example 482913.",
            "The change is free the first time. A second change costs €1.50, charged to the card on your "
            "account.",
            "Parcels held by customs can only be redirected to a locker in the same country. Read more in "
            "Import duties.",
        ],
        [
            "Skip to main content",
            "Submit a request",
            "Sign in",
            "Parcelly Help Center",
            "Receiving parcels",
            "Delivery changes",
            "Search",
            "Articles in this section",
            "Delivering to a neighbour",
            "Holding a parcel while you are away",
            "See more",
            "Parcelly Support",
            "1 year ago",
            "Updated",
            "Follow",
            "Was this article helpful?",
            "Yes",
            "No",
            "12 out of 15 found this helpful",
            "Have more questions?",
            "Return to top",
            "Recently viewed articles",
            "Tracking a parcel",
            "Related articles",
            "Comments",
            "0 comments",
            "to leave a comment",
            "English (US)",
            "Nederlands",
        ],
    ),
    Page(
        "intercom.html",
        # The title is in a <header> outside the <article>: the <title> without the site's name heads it.
        [
            ("Locker pickup codes",),
            ("Locker pickup codes", "Where to find your code"),
            ("Locker pickup codes", "If the code does not work"),
        ],
        [
            "Every parcel delivered to a locker gets a six-digit pickup code that opens one compartment.",
            "The code is in the app under Parcels > Ready for pickup and in the SMS we send when the parcel "
            "arrives.",
            "- Codes stay valid for 72 hours.",
            "- Shared pickups get their own code; see Share a pickup.",
            "Type the code without spaces, then press OK. After three wrong codes the locker waits one "
            "minute before you can try again.",
        ],
        [
            "Go to parcelly.example",
            "Search for articles",
            "All Collections",
            "Lockers",
            "Picking up",
            "Written by",
            "Updated over a week ago",
            "Table of contents",
            "Related Articles",
            "Locker opening hours",
            "Did this answer your question?",
            "Facebook",
            "LinkedIn",
            "We run on Intercom",
        ],
    ),
    Page(
        "intercom-classic.html",
        # The title's <h1 class="t__h1"> is outside the <article>, beside the site's banner <h1>.
        [
            ("Come installare la fibra",),
            ("Come installare la fibra", "Prima di iniziare"),
            ("Come installare la fibra", "Collegare il modem"),
            ("Come installare la fibra", "Se la spia resta rossa"),
        ],
        [
            "Nella confezione trovi il modem Onda Box, il suo alimentatore e un cavo di rete giallo. "
            "L'installazione richiede circa 15 minuti.",
            "1. Collega il cavo in fibra dalla presa ottica alla porta FIBRA del modem.",
            "3. Aspetta che la spia Internet diventi verde fissa: possono volerci 10 minuti.",
            "Spegni il modem per 30 secondi e riaccendilo. Se dopo 20 minuti la spia è ancora rossa, "
            "chiamaci al 800 123 456 con il codice cliente a portata di mano.",
        ],
        [
            "Ondaveloce Help Center",
            "Vai a ondaveloce.example",
            "Italiano",
            "English",
            "Consigli e risposte dal team Ondaveloce",
            "Cerca articoli",
            "Tutte le raccolte",
            "Fibra e modem",
            "Giulia",
            "Scritto da",
            "Aggiornato più di una settimana fa",
            "Hai ottenuto la risposta alla tua domanda?",
            "Disappointed",
            "Utilizziamo Intercom",
        ],
    ),
]


@pytest.mark.parametrize("page", CASES, ids=lambda page: page.file)
def test_generator_page_keeps_the_content(page: Page) -> None:
    doc = load_page(page.file)
    assert [s.heading_path for s in doc.sections] == page.headings
    body = lines(doc)
    for line in page.content:
        assert line in body, f"{page.file}: missing line {line!r}"


@pytest.mark.parametrize("page", CASES, ids=lambda page: page.file)
def test_generator_page_drops_the_navigation(page: Page) -> None:
    text = everything(load_page(page.file))
    for chrome in page.navigation:
        assert not re.search(rf"(?<!\w){re.escape(chrome)}(?!\w)", text), f"{page.file}: kept {chrome!r}"


def test_every_generator_has_a_page() -> None:
    assert {p.name for p in PAGES.glob("*.html")} == {page.file for page in CASES}


def test_a_title_outside_the_content_heads_its_sections() -> None:
    # An Intercom article export: customers read "fibra/installazione-fibra.html › Collegare il modem".
    doc = load_bytes(
        "fibra/installazione-fibra.html", ".html", (PAGES / "intercom-classic.html").read_bytes()
    )
    assert doc.title == "Come installare la fibra"
    assert {s.heading_path[0] for s in doc.sections} == {"Come installare la fibra"}
    # Only once: no body line repeats it (the breadcrumb's last part, the banner around it).
    assert "Come installare la fibra" not in lines(doc)
    page = load_page("intercom.html")
    assert page.title == "Locker pickup codes"
    assert "Locker pickup codes" not in lines(page)


ARTICLE = "<article><p>Spegni il modem.</p><h2>Se la spia resta rossa</h2><p>Chiamaci.</p></article>"


@pytest.mark.parametrize(
    ("page", "title"),
    [
        # The one <h1> before the content, whatever the <title> says.
        (
            "<title>Fibra | Ondaveloce</title><div class='article__meta'><h1 class='t__h1'>Riavviare il modem"
            "</h1></div>" + ARTICLE,
            "Riavviare il modem",
        ),
        # The site's banner <h1> (in its <header>), a logo's <h1> and one in a sidebar are no title: the
        # <title> without the site's name is.
        (
            "<title>Riavviare il modem | Ondaveloce Help Center</title><header class='header'><h1>Consigli e "
            "risposte dal team Ondaveloce</h1></header><div id='logo'><h1><a href='/'>Ondaveloce</a></h1>"
            "</div><div class='sidebar'><nav><h1>Fibra</h1></nav></div>" + ARTICLE,
            "Riavviare il modem",
        ),
        # Two that could be: neither is trusted.
        (
            "<title>Riavviare il modem – Ondaveloce</title><div><h1>Fibra</h1></div>"
            "<div><h1>Riavvio</h1></div>" + ARTICLE,
            "Riavviare il modem",
        ),
        ("<title>Riavviare il modem - Ondaveloce Help</title>" + ARTICLE, "Riavviare il modem"),
        ("<title>Riavviare il modem · Ondaveloce</title>" + ARTICLE, "Riavviare il modem"),
        ("<title>Riavviare il modem — Ondaveloce documentation</title>" + ARTICLE, "Riavviare il modem"),
        ("<title>重启调制解调器 - 帮助中心</title>" + ARTICLE, "重启调制解调器"),
        # Only the last part is the site's; a dash before words in lower case is the title's own.
        ("<title>Modem - guida rapida | Ondaveloce</title>" + ARTICLE, "Modem - guida rapida"),
        ("<title>Errore 404 - pagina non trovata</title>" + ARTICLE, "Errore 404 - pagina non trovata"),
        ("<title>Riavviare il modem</title>" + ARTICLE, "Riavviare il modem"),
    ],
)
def test_a_page_whose_content_has_no_title_is_headed_by_the_one_outside(page: str, title: str) -> None:
    doc = load_html(f"<html><body>{page}</body></html>")
    assert doc.title == title
    assert [s.heading_path for s in doc.sections] == [(title,), (title, "Se la spia resta rossa")]


def test_a_title_the_content_has_already_is_not_added() -> None:
    # The content's own <h1>, or its first heading reading as the title (a chapter's <h2> on some pages).
    own = load_html(
        "<title>Returns | Help</title><h1 class='site'>Parcelly</h1><main><h1>Returns</h1><p>B.</p>"
    )
    assert [s.heading_path for s in own.sections] == [("Returns",)]
    first = load_html("<title>Returns | Help</title><main><h2>Returns</h2><p>Body.</p><h3>Fees</h3><p>F.</p>")
    assert [s.heading_path for s in first.sections] == [("Returns",), ("Returns", "Fees")]
    # Without a <title> or an <h1> outside, the sections are as they were.
    bare = load_html("<article><p>Intro.</p><h2>Fees</h2><p>F.</p></article>")
    assert [s.heading_path for s in bare.sections] == [(), ("Fees",)]
    assert bare.title == "Fees"


def test_pages_keep_their_title_and_canonical_url() -> None:
    zendesk = load_page("zendesk.html")
    assert zendesk.title == "Changing the delivery address – Parcelly Help Center"
    assert zendesk.url.startswith("https://help.parcelly.example/hc/en-us/articles/")
    # Every section is where the page is: the link to another article in the last one is not its URL.
    assert {s.url for s in zendesk.sections} == {zendesk.url}
    assert "4417351833370" not in zendesk.url


@pytest.mark.parametrize("path", sorted(HELP_CENTER.glob("*.html")), ids=lambda p: p.name)
def test_sample_help_center_headings_are_unchanged(path: Path) -> None:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    headings = [" ".join(h.get_text().split()) for h in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6"])]
    doc = load_bytes(path.name, ".html", path.read_bytes())
    on_paths = {part for s in doc.sections for part in s.heading_path}
    assert on_paths == set(headings)
    assert [s.heading for s in doc.sections] == [
        h for h in headings if h in {s.heading for s in doc.sections}
    ]


# ------------------------------------------------------------------------------------------ small cases


def test_inline_elements_stay_on_their_line() -> None:
    doc = load_html(
        "<h1>Updates</h1><p>Run <code>apt-get\n update</code> as <em>root</em>, then <a href='https://d.example'>"
        "read <strong>the notes</strong></a> or press <kbd>Ctrl</kbd>+<kbd>C</kbd>. H<sub>2</sub>O, "
        "x<sup>2</sup>, <abbr>CET</abbr>, <var>n</var>, <samp>OK</samp>, <tt>tt</tt>, <b>b</b><i>i</i> and "
        "<span class='literal'>PX-503</span>.</p>"
    )
    assert doc.sections[0].text == (
        "Run apt-get update as root, then read the notes or press Ctrl+C. "
        "H2O, x2, CET, n, OK, tt, bi and PX-503."
    )
    assert doc.sections[0].url == ""


def test_blocks_break_lines_and_keep_lists_tables_and_code() -> None:
    doc = load_html(
        "<h1>Guide</h1><p>First<br>second</p><div>A div</div>"
        "<ul><li>one</li><li>two<ul><li>two and a half</li></ul></li></ul>"
        "<ol start='3'><li><p>three</p></li><li>four</li></ol>"
        "<dl><dt>Term</dt><dd>Meaning</dd></dl>"
        "<table><tr><th>Plan</th><th>Price</th></tr><tr><td><p>Free</p></td><td>€0</td></tr></table>"
        "<pre>  indented\n    more\n</pre>"
    )
    assert doc.sections[0].text == (
        "First\nsecond\n\nA div\n\n- one\n- two\n  - two and a half\n\n3. three\n4. four\n\nTerm\nMeaning\n\n"
        "| Plan | Price |\n| --- | --- |\n| Free | €0 |\n\n```\n  indented\n    more\n```"
    )


def test_table_rows_keep_a_pipe_of_their_own_and_code_keeps_its_fence() -> None:
    # "dpkg -L pkg | less" in a cell is one column; a row is a paragraph, so a long table is chunked between
    # rows; <pre> is fenced, so "find . | rsync" is read as code, not as a row or a sentence.
    doc = load_html(
        "<h1>T</h1><table><thead><tr><th>Befehl</th><th>Zweck</th></tr></thead>"
        "<tbody><tr><td><code>dpkg -L pkg | less</code></td><td>Dateien</td></tr>"
        "<tr><td></td><td></td></tr></tbody></table>"
        "<pre>find . -print0 | rsync -a --files-from=- . /dest\n```\n</pre>"
    )
    assert doc.sections[0].text == (
        "| Befehl | Zweck |\n| --- | --- |\n| dpkg -L pkg \\| less | Dateien |\n\n"
        "````\nfind . -print0 | rsync -a --files-from=- . /dest\n```\n````"
    )


def test_unclosed_list_items_and_cells_are_siblings() -> None:
    # Minified pages (Docusaurus) leave out </li>, </td> and </tr>; the parser then nests them.
    doc = load_html("<h1>T</h1><ol><li>a<li>b<li>c</ol><table><tr><td>1<td>2<tr><td>3<td>4</table>")
    assert doc.sections[0].text == "1. a\n2. b\n3. c\n\n| 1 | 2 |\n| 3 | 4 |"


@pytest.mark.parametrize(
    ("start", "first"), [("²", 1), ("x", 1), ("-2", 1), ("9" * 23, 1), ("7", 7), ("5000000", 1_000_000)]
)
def test_a_list_start_is_read_as_ascii_digits_only(start: str, first: int) -> None:
    # int() refuses "²", which str.isdigit() accepts: one such page stopped a whole crawl.
    doc = load_html(f"<h1>T</h1><ol start='{start}'><li>a</li><li>b</li></ol>")
    assert doc.sections[0].text == f"{first}. a\n{first + 1}. b"


def test_a_link_only_block_is_navigation() -> None:
    doc = load_html(
        "<body><div class='top'><a href='/'>Home</a> | <a href='/docs'>Docs</a> | "
        "<a href='/blog'>Blog</a></div>"
        "<h1>Returns</h1><p>Send the parcel back within 30 days.</p>"
        "<ul><li><a href='/a'>Shipping rates</a></li><li><a href='/b'>Refunds</a></li>"
        "<li><a href='/c'>Claims</a></li></ul>"
        "<p>See <a href='/a'>rates</a>, <a href='/b'>refunds</a> and <a href='/c'>claims</a> for the details "
        "of each step.</p></body>"
    )
    kept = (
        "Send the parcel back within 30 days.\n\nSee rates, refunds and claims for the details of each step."
    )
    assert [(s.heading_path, s.text) for s in doc.sections] == [(("Returns",), kept)]


def test_headings_without_body_make_no_section() -> None:
    doc = load_html("<h1>A</h1><h2>B</h2><h3>C</h3><p>Body of C.</p><h2>D</h2><h2>E</h2><p> </p>")
    assert [(s.heading_path, s.text) for s in doc.sections] == [(("A", "B", "C"), "Body of C.")]


def test_text_before_the_first_heading_is_kept_only_when_it_is_content() -> None:
    nav_only = load_html(
        "<html><head><title>Returns | Help</title></head><body><p><a href='/'>Help</a> &gt; "
        "<a href='/r'>Returns</a></p><p>Returns</p><h1>Returns</h1><p>Body.</p></body></html>"
    )
    assert [s.heading for s in nav_only.sections] == ["Returns"]
    real = load_html("<body><p>Parcels travel by van.</p><h1>Returns</h1><p>Body.</p></body>")
    assert [(s.heading_path, s.text) for s in real.sections] == [
        ((), "Parcels travel by van."),
        (("Returns",), "Body."),
    ]


def test_an_admonition_title_is_not_a_section() -> None:
    doc = load_html(
        "<h2>Setup</h2><p>Before.</p><div class='note'><h3 class='title'>Note</h3><p>Inside.</p></div>"
        "<p>After.</p>"
    )
    assert [(s.heading_path, s.text) for s in doc.sections] == [
        (("Setup",), "Before.\n\nNote: Inside.\n\nAfter.")
    ]


def test_a_readme_callout_title_labels_its_text_in_the_section_around_it() -> None:
    # ReadMe's callout markup: its <h3> made "🚧Keep your keys secret" a section of its own (invoicing trial).
    doc = load_html(
        "<h1>API keys</h1><h2>Creating an API key</h2><p>Owners create keys.</p>"
        "<blockquote class='callout callout_warn' theme='🚧'><h3 class='callout-heading'>"
        "<span class='callout-icon'>🚧</span><p>Keep your keys secret</p></h3>"
        "<p>A secret key is shown only once.</p></blockquote><h2>Rate limits</h2><p>60 a minute.</p>"
    )
    assert [(s.heading_path, s.text) for s in doc.sections] == [
        (
            ("API keys", "Creating an API key"),
            "Owners create keys.\n\nKeep your keys secret: A secret key is shown only once.",
        ),
        (("API keys", "Rate limits"), "60 a minute."),
    ]


@pytest.mark.parametrize(
    "closing",
    [
        # ReadMe's page end, in an invoicing trial (its classes are not known chrome).
        "<div class='rm-Article-footer'><div class='DocsFeedback'>Did this page help you? "
        "<button>Yes</button><button>No</button></div><p class='UpdatedAt'>Updated 3 months ago</p></div>",
        "<p>Updated about 1 month ago</p><hr><p>Did this page help you?</p><p>Yes</p><p>No</p>",
        "<p>Was this article helpful?</p><p>👍</p><p>👎</p>",
        "<p>War dieser Artikel hilfreich?</p>",
        "<p>这篇文章有帮助吗？</p><p>是</p><p>否</p>",
        "<p>Updated8 months ago</p>",
        # A Turkish marketplace's help center: Zendesk's prompt and buttons, and other help desks' wordings.
        "<p>Bu makale yararlı mıydı?</p><p>Evet</p><p>Hayır</p>",
        "<p>BU MAKALE YARARLI MIYDI?</p><p>EVET</p><p>HAYIR</p>",
        "<p>Bu makale işinize yaradı mı?</p><p>👍</p><p>👎</p>",
        "<p>Bu yanıt sorunuzu çözdü mü?</p><p>Evet</p><p>Hayır</p>",
        "<p>Bu içerik yardımcı oldu mu?</p>",
        # Vietnamese, Thai and Hindi help centers' prompts and buttons (trial Intercom and Freshdesk pages).
        "<p>Bài viết này có hữu ích không?</p><p>Có</p><p>Không</p>",
        "<p>บทความนี้มีประโยชน์หรือไม่</p><p>ใช่</p><p>ไม่</p>",
        "<p><strong>क्या यह लेख मददगार था?</strong></p><p>हाँ</p><p>नहीं</p>",
    ],
    ids=[
        "readme",
        "stamp-first",
        "thumbs",
        "german",
        "chinese",
        "stamp-alone",
        "turkish",
        "turkish-capitals",
        "turkish-yaradi",
        "turkish-cozdu",
        "turkish-icerik",
        "vietnamese",
        "thai",
        "hindi",
    ],
)
def test_a_closing_feedback_widget_is_left_out(closing: str) -> None:
    doc = load_html(f"<h1>Rate limits</h1><h2>When you hit the limit</h2><p>Wait and retry.</p>{closing}")
    assert [s.text for s in doc.sections] == ["Wait and retry."]


def test_a_last_answer_of_no_and_a_dated_stamp_stay() -> None:
    doc = load_html(
        "<h1>FAQ</h1><h2>Can I pay cash?</h2><p>No</p><h2>Terms</h2><p>Read them.</p>"
        "<p>Last updated: 2024-03-01</p><p>Was this page useful? Tell us at help@example.com.</p>"
    )
    assert [s.text for s in doc.sections] == [
        "No",
        "Read them.\n\nLast updated: 2024-03-01\n\nWas this page useful? Tell us at help@example.com.",
    ]
    assert [s.text for s in load_html("<h1>FAQ</h1><h2>Can I pay cash?</h2><p>No</p>").sections] == ["No"]
    # A Turkish FAQ's last answer "Hayır" (no) stays too.
    assert [
        s.text for s in load_html("<h1>SSS</h1><h2>Nakit ödeyebilir miyim?</h2><p>Hayır</p>").sections
    ] == ["Hayır"]


def test_the_main_container_wins_over_the_page_around_it() -> None:
    doc = load_html(
        "<body><div class='site'><h1>Parcelly</h1><p>Fast parcels.</p></div>"
        "<div role='main'><h1>Returns</h1><p>Body.</p></div><div>Copyright Parcelly</div></body>"
    )
    assert [(s.heading_path, s.text) for s in doc.sections] == [(("Returns",), "Body.")]


def test_chrome_by_element_role_and_class() -> None:
    doc = load_html(
        "<body><header><a href='/'>Logo</a></header><h1>Returns</h1><p>Body.</p>"
        "<aside>Popular: shoes</aside><div role='complementary'>Ads</div>"
        "<div class='cookie-banner'>We use cookies</div><div id='CybotCookiebotDialog'>Allow all</div>"
        "<div class='theme-doc-breadcrumbs'>Docs</div>"
        "<aside class='admonition note'><p>Kept note.</p></aside><button>Copy</button>"
        "<button aria-expanded='false'>How long do refunds take?</button><div>Five days.</div>"
        "<footer>Imprint</footer></body>"
    )
    assert doc.sections[0].text == "Body.\n\nKept note.\n\nHow long do refunds take?\nFive days."


def test_an_author_line_is_chrome_whatever_block_holds_it() -> None:
    # An Intercom export without the "avatar" wrapper: "Written by Priya Updated over a week ago" was a
    # section of its own, first in search for "who writes your allergy info?".
    doc = load_html(
        "<body><h1>Allergens</h1><div class='avatar__info'><span>Written by Priya</span><br>Updated over a "
        "week ago</div><p class='post-byline'>By Sam, 3 May</p><h2>Nuts</h2><p>Every box may hold nuts.</p>"
        "</body>"
    )
    assert [s.text for s in doc.sections] == ["Every box may hold nuts."]


def test_thousands_of_unclosed_items_load() -> None:
    # html.parser nests each unclosed <li> in the one before: the tree is as deep as the list is long.
    doc = load_html("<h1>Lockers</h1><ul>" + "<li>locker" * 3000 + "</ul>")
    assert doc.sections[0].text.splitlines() == ["- locker"] * 3000


def test_a_footnote_goes_with_the_section_that_refers_to_it() -> None:
    # The Debian FAQ (DocBook): a chapter's footnotes come after its last section, which quoted "[1] The Linux
    # Standard Base…" for a question the footnote has nothing to do with.
    page = """<html><body><div class="chapter">
    <h2>4.3. How compatible is Debian with other distributions?</h2>
    <p>Debian developers maintain binary compatibility.<a href="#ftn.idm476" class="footnote" id="idm476">
    <sup class="footnote">[1]</sup></a> Most commercial products run as well under Debian.</p>
    <h2>4.6. How can I install a non-Debian program?</h2>
    <p>Files under /usr/local/ are not managed by the package system.</p>
    <div class="footnotes"><br /><hr /><div id="ftn.idm476" class="footnote"><p><a href="#idm476"
    class="para"><sup class="para">[1] </sup></a> The Linux Standard Base is a specification.</p></div></div>
    </div></body></html>"""
    _, sections, _ = parse_html(page, "compatibility")
    by_heading = {section.heading: section.text for section in sections}
    assert "The Linux Standard Base" in by_heading["4.3. How compatible is Debian with other distributions?"]
    assert "Standard Base" not in by_heading["4.6. How can I install a non-Debian program?"]
    # Pandoc and Python-Markdown: list items "fn1", "fn:1" under a footnotes block.
    page = """<html><body><h2>Returns</h2><p>Send it back within 30 days<sup><a href="#fn1"
    class="footnote-ref" id="fnref1">1</a></sup>.</p><h2>Refunds</h2><p>Refunds take five days.</p>
    <section class="footnotes"><ol><li id="fn1"><p>Thirty calendar days from delivery.</p></li></ol></section>
    </body></html>"""
    _, sections, _ = parse_html(page, "help")
    by_heading = {section.heading: section.text for section in sections}
    assert "Thirty calendar days" in by_heading["Returns"]
    assert "Thirty" not in by_heading["Refunds"]
    # Notes referred to from a list or a table row follow the list or the table, in their order.
    page = """<html><body><h2>Fees</h2><p>Card<a href="#fn1">1</a> and Pix<a href="#fn2">2</a>.</p>
    <ul><li>Boleto<a href="#fn3">3</a></li><li>TED</li></ul><table><tr><td>DOC<a href="#fn4">4</a></td>
    <td>R$ 5</td></tr></table><h2>Limits</h2><p>Ask us.</p><div class="footnotes"><ol><li id="fn1">One.</li>
    <li id="fn2">Two.</li><li id="fn3">Three.</li><li id="fn4">Four.</li></ol></div></body></html>"""
    _, sections, _ = parse_html(page, "fees")
    assert sections[0].text.split("\n") == [
        "Card1 and Pix2.",
        "",
        "- One.",
        "- Two.",
        "",
        "- Boleto3",
        "- TED",
        "",
        "- Three.",
        "",
        "| DOC4 | R$ 5 |",
        "",
        "- Four.",
    ]
