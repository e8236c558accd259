"""A document without a title of its own is titled by its file name, written as a title."""

from __future__ import annotations

import pytest

from bot.kb.filetypes import BinaryType, decode_text, file_type
from bot.kb.loaders import file_title, iter_files, load_bytes, load_file
from tests.conftest import KNOWLEDGE
from tests.kb.pdfs import make_pdf


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("faq/shipping-faq.csv", "Shipping FAQ"),
        ("faq.csv", "FAQ"),
        ("faq/business-faq.jsonl", "Business FAQ"),
        ("api_keys.md", "API keys"),
        ("pickup-pin_and-2fa.txt", "Pickup PIN and 2FA"),
        ("ios-app.md", "iOS app"),
        # "us" and "it" are words too; what the file name writes in capitals stays as written.
        ("contact-us.html", "Contact us"),
        ("Returns-FAQ.csv", "Returns FAQ"),
        ("README.md", "README"),
        ("my_SSH_keys.txt", "My SSH keys"),
        ("常见问题.csv", "常见问题"),
        ("___.md", "___.md"),
    ],
)
def test_a_file_name_reads_as_a_title(source: str, title: str) -> None:
    assert file_title(source) == title


@pytest.mark.parametrize(
    ("source", "data"),
    [
        ("faq/shipping-faq.csv", b"question,answer\nHow long does delivery take?,Two days.\n"),
        ("faq/shipping-faq.jsonl", b'{"question": "How long does delivery take?", "answer": "Two days."}\n'),
        ("faq/shipping-faq.yaml", b"- question: How long does delivery take?\n  answer: Two days.\n"),
        ("faq/shipping-faq.md", b"Deliveries take two days.\n"),
        ("faq/shipping-faq.rst", b"Deliveries take two days.\n"),
        ("faq/shipping-faq.txt", b"Deliveries take two days, and parcels wait three days in the locker.\n"),
        ("faq/shipping-faq.html", b"<p>Deliveries take two days.</p>"),
    ],
)
def test_a_document_without_a_title_is_titled_by_its_file_name(source: str, data: bytes) -> None:
    assert load_bytes(source, "." + source.rsplit(".", 1)[1], data).title == "Shipping FAQ"


def test_a_pdf_without_a_title_heads_its_pages_with_the_file_name_as_a_title() -> None:
    doc = load_bytes("sending/packaging_guide.pdf", ".pdf", make_pdf([["Use a sturdy box."]]))
    assert doc.title == "Packaging guide"
    assert [(s.heading, s.heading_path) for s in doc.sections] == [("Packaging guide", ("Packaging guide",))]


@pytest.mark.parametrize(
    ("source", "data", "title"),
    [
        (
            "faq/shipping-faq.yaml",
            b"title: shipping faq\nfaq:\n  - question: Q?\n    answer: A.\n",
            "shipping faq",
        ),
        ("faq/shipping-faq.md", b"# delivery times\n\nTwo days.\n", "delivery times"),
        ("faq/shipping-faq.md", b"---\ntitle: shipping\n---\nTwo days.\n", "shipping"),
        ("faq/shipping-faq.txt", b"shipping faq\n\nTwo days.\n", "shipping faq"),
        # Without the site's name after it (and as written).
        ("faq/shipping-faq.html", b"<title>shipping | Help</title><p>Two days.</p>", "shipping"),
        ("faq/shipping-faq.rst", b"shipping faq\n============\n\nTwo days.\n", "shipping faq"),
    ],
)
def test_a_title_of_its_own_is_kept_as_written(source: str, data: bytes, title: str) -> None:
    assert load_bytes(source, "." + source.rsplit(".", 1)[1], data).title == title


def test_in_the_sample_knowledge_base_only_the_faq_files_have_no_title_of_their_own() -> None:
    untitled = {}
    for path in iter_files(KNOWLEDGE):
        kind = file_type(path.suffix)
        assert kind is not None
        data = path.read_bytes()
        parsed = kind.parse(data, "") if isinstance(kind, BinaryType) else kind.parse(decode_text(data), "")
        if not parsed[0]:
            doc = load_file(path, KNOWLEDGE, 20)
            untitled[doc.source] = doc.title
    assert untitled == {"faq/business-faq.jsonl": "Business FAQ", "faq/faq.csv": "FAQ"}
