"""The sample help center in `knowledge/`: realistic, headed documents in every supported format."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from tests.conftest import KNOWLEDGE

PRODUCT_DOMAIN = "parcelly.example"
TEXT_SUFFIXES = {".md", ".rst", ".html", ".txt", ".csv", ".jsonl", ".yaml", ".yml"}

# Signs of a code listing: fenced or indented blocks, reST literal blocks and directives, HTML code tags.
CODE_PATTERNS = {
    "fenced code block": re.compile(r"^\s*(```|~~~)", re.MULTILINE),
    "reST literal block": re.compile(r"::\s*$", re.MULTILINE),
    "reST code directive": re.compile(r"^\s*\.\.\s+(code|code-block|sourcecode|literalinclude)::", re.M),
    "HTML code element": re.compile(r"<(pre|code|script)\b", re.IGNORECASE),
    "shell prompt": re.compile(r"^\s*\$ \w", re.MULTILINE),
}
PLACEHOLDER_PATTERNS = {
    "to-do marker": re.compile(r"\b(TODO|TBD|FIXME|XXX)\b"),
    "lorem ipsum": re.compile(r"lorem ipsum", re.IGNORECASE),
    "template slot": re.compile(r"\{\{|\}\}|\[insert|<placeholder>|\bACME\b", re.IGNORECASE),
    "generic domain": re.compile(r"\bexample\.(com|org|net)\b|\bcompany\.com\b", re.IGNORECASE),
}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
URL = re.compile(r"https?://([^/\s\"'<>)]+)")
PRICE_AFTER_SIZE = re.compile(r"(?P<size>Small|Medium|Large) €(?P<price>\d+\.\d\d)")
PRICE_BEFORE_SIZE = re.compile(r"€(?P<price>\d+\.\d\d) (?P<size>Small|Medium|Large)\b")


def documents() -> list[Path]:
    return sorted(p for p in KNOWLEDGE.rglob("*") if p.is_file())


def by_suffix(suffix: str) -> list[Path]:
    return [p for p in documents() if p.suffix == suffix]


def readable_text(path: Path) -> str:
    if path.suffix == ".pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return path.read_text(encoding="utf-8")


def rel(path: Path) -> str:
    return path.relative_to(KNOWLEDGE).as_posix()


def test_document_count_is_in_range() -> None:
    count = len(documents())
    assert 15 <= count <= 30, f"expected 15-30 documents in knowledge/, found {count}"


def test_every_supported_format_is_present() -> None:
    counts = Counter(p.suffix for p in documents())
    for suffix in (".md", ".rst", ".html", ".txt", ".pdf", ".csv"):
        assert counts[suffix] >= 1, f"no {suffix} document in knowledge/"
    assert counts[".md"] >= max(counts[s] for s in counts if s != ".md"), "Markdown should be the main format"
    assert counts[".pdf"] == 1
    assert counts[".jsonl"] + counts[".yaml"] + counts[".yml"] >= 1, "no JSONL or YAML FAQ"


def test_only_help_center_formats() -> None:
    stray = [rel(p) for p in documents() if p.suffix not in TEXT_SUFFIXES | {".pdf"}]
    assert not stray, f"files the KB cannot index: {stray}"
    assert not [p for p in documents() if p.name.lower().startswith("readme")]


@pytest.mark.parametrize("path", [p for p in documents() if p.suffix in TEXT_SUFFIXES], ids=rel)
def test_text_documents_are_utf8_and_substantial(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "\x00" not in text
    assert len(text) >= 1000, f"{rel(path)} is too thin to be a help-center article"


def test_pdf_is_multipage_with_text_on_every_page() -> None:
    (pdf,) = by_suffix(".pdf")
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 2
    for number, page in enumerate(reader.pages, start=1):
        text = (page.extract_text() or "").strip()
        assert len(text) >= 200, f"page {number} of {rel(pdf)} has no extractable text"
    assert reader.metadata is not None
    assert reader.metadata.title
    # The outline gives the PDF its section headings.
    titles: list[str] = []

    def walk(items: list[object]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(str(getattr(item, "title", "")))

    walk(reader.outline)
    assert len(titles) >= 3
    full_text = readable_text(pdf)
    for title in titles:
        assert title in full_text, f"outline entry {title!r} is not a heading in the text"


@pytest.mark.parametrize("path", by_suffix(".md"), ids=rel)
def test_markdown_has_a_title_and_sections(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# "), f"{rel(path)} must open with a '# ' title"
    assert sum(line.startswith("## ") for line in lines) >= 4
    # A line indented four spaces after a blank line would render as a code block.
    for before, line in zip(lines, lines[1:], strict=False):
        assert not (before.strip() == "" and re.match(r"( {4}|\t)\S", line)), f"indented block in {rel(path)}"


@pytest.mark.parametrize("path", by_suffix(".rst"), ids=rel)
def test_rst_has_a_title_and_sections(path: Path) -> None:
    import docutils.core
    import docutils.utils

    text = path.read_text(encoding="utf-8")
    tree = docutils.core.publish_doctree(
        text, settings_overrides={"report_level": docutils.utils.Reporter.WARNING_LEVEL, "halt_level": 2}
    )
    titles = [node.astext() for node in tree.findall() if node.tagname == "title"]
    assert len(titles) >= 4, f"{rel(path)} has too few sections: {titles}"


@pytest.mark.parametrize("path", by_suffix(".html"), ids=rel)
def test_html_has_headings_and_product_links(path: Path) -> None:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    assert soup.title is not None
    assert len(soup.find_all("h1")) == 1
    assert len(soup.find_all("h2")) >= 4
    links = [str(a.get("href", "")) for a in soup.find_all("a")]
    assert any(href.startswith(f"https://{PRODUCT_DOMAIN}/") for href in links), "no link to a product page"


@pytest.mark.parametrize("path", by_suffix(".txt"), ids=rel)
def test_plain_text_has_a_title_and_underlined_sections(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].strip(), "a plain-text article opens with a title line"
    assert not lines[1].strip(), "the title line is followed by a blank line"
    underlined = [i for i, line in enumerate(lines) if i and re.fullmatch(r"-{3,}", line)]
    assert len(underlined) >= 3
    for i in underlined:
        assert len(lines[i]) == len(lines[i - 1]), (
            f"underline at line {i + 1} of {rel(path)} has the wrong width"
        )


def assert_faq_records(records: list[dict[str, object]], where: str) -> None:
    assert records, f"{where} has no entries"
    questions = []
    for number, record in enumerate(records, start=1):
        assert set(record) >= {"question", "answer"}, f"{where} entry {number} lacks question/answer"
        question, answer = record["question"], record["answer"]
        assert isinstance(question, str)
        assert isinstance(answer, str)
        assert question.strip().endswith("?"), f"{where} entry {number}: {question!r}"
        assert len(answer.split()) >= 8, f"{where} entry {number} has a thin answer"
        questions.append(question.strip().lower())
    assert len(set(questions)) == len(questions), f"{where} repeats a question"


def test_csv_faq_has_question_answer_columns() -> None:
    (path,) = by_suffix(".csv")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["question", "answer"]
        rows: list[dict[str, object]] = list(reader)
    assert 15 <= len(rows) <= 25
    assert_faq_records(rows, rel(path))


def test_jsonl_and_yaml_faqs_parse() -> None:
    paths = by_suffix(".jsonl") + by_suffix(".yaml") + by_suffix(".yml")
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            loaded = yaml.safe_load(text)
            records = loaded if isinstance(loaded, list) else loaded.get("faq", [])
        assert all(isinstance(r, dict) for r in records)
        assert_faq_records(records, rel(path))


@pytest.mark.parametrize("path", documents(), ids=rel)
def test_no_code_blocks_or_placeholders(path: Path) -> None:
    text = readable_text(path)
    for name, pattern in {**CODE_PATTERNS, **PLACEHOLDER_PATTERNS}.items():
        match = pattern.search(text)
        assert match is None, f"{rel(path)} contains a {name}: {match.group(0)!r}"


def test_contacts_and_links_stay_on_the_product_domain() -> None:
    """A fictional product must never send a customer to a real site or mailbox."""
    for path in documents():
        text = readable_text(path)
        for match in EMAIL.finditer(text):
            assert match.group(0).endswith(f"@{PRODUCT_DOMAIN}"), f"{rel(path)}: {match.group(0)}"
        for host in URL.findall(text):
            assert host == PRODUCT_DOMAIN or host.endswith(f".{PRODUCT_DOMAIN}"), f"{rel(path)}: {host}"


def test_key_facts_are_consistent_across_documents() -> None:
    """Facts that several articles repeat must agree, or the bot will contradict itself."""
    corpus = {rel(p): readable_text(p) for p in documents()}
    everything = "\n".join(corpus.values())
    for fact in ("support@parcelly.example", "72 hours", "25 kg", "5.8.2", "08:00", "€3.49", "€4.99", "€29"):
        assert sum(fact in text for text in corpus.values()) >= 2, f"{fact!r} should be in several articles"
    # A careless edit would introduce a label price that no plan has.
    label_prices = {
        "Small": {"3.49", "2.97", "2.79"},  # Free, Plus (15% off), Business
        "Medium": {"4.29", "3.65", "3.69"},
        "Large": {"5.69", "4.84", "4.89"},
    }
    seen = [(m["size"], m["price"]) for m in PRICE_AFTER_SIZE.finditer(everything)]
    seen += [(m["size"], m["price"]) for m in PRICE_BEFORE_SIZE.finditer(everything)]
    assert len(seen) >= 12
    for size, price in seen:
        assert price in label_prices[size], f"{size} label at €{price} matches no plan"
