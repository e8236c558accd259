"""The customer's own name, email, order or tracking number is no topic the knowledge base must mention."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb.analysis import named_words, personal_spans
from bot.kb.names import unknown_names
from tests.fakes import FakeKB, make_chunk

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="module")
def help_center() -> FakeKB:
    """The shipped sample help center, each file one chunk (`missing_words` looks words up in them)."""
    texts = {".md", ".txt", ".rst", ".html", ".csv", ".jsonl"}
    files = sorted(p for p in KNOWLEDGE.rglob("*") if p.suffix in texts)
    return FakeKB([make_chunk(str(p), p.stem, p.read_text(encoding="utf-8")) for p in files])


@pytest.mark.parametrize(
    "question",
    [
        # The new-user trial: each was refused for a word no article has.
        "Where is my parcel PX4821937560?",
        "Hello, this is Peter. Where is my parcel?",
        "How do I reset my password? Thanks, Maria",
        "My email is jane.doe@example.org. How long do card refunds take?",
        "How long do card refunds take? Order LUM-20931",
        "Hi, I'm John Smith, my email is john@example.com, How do I reset my password?",
        # Other personal data the redactor finds, and references with a long digit run.
        "My bank account is DE89 3704 0044 0532 0130 00, how long do card refunds take?",
        "Can you refund to my account DE89370400440532013000 instead?",
        "Where is my parcel? Call me at +49 151 23456789 or write to @peter_smith",
        "How long do card refunds take for ticket #48213 and invoice INV-2024-00123?",
        # Greetings, introductions and sign-offs in the languages the bot answers in.
        "Hi Anna, where is my parcel?",
        "My name is Jean-Luc Picard and I want to reset my password",
        "I am Ana de la Cruz. Where is my parcel?",
        "Where is my parcel? Kind regards, Anna Müller",
        "Bonjour, je suis Marie. Où est mon colis ?",
        "Je m'appelle Zoé Lefèvre, comment réinitialiser mon mot de passe ? Merci, Zoé",
        "Hola, soy Juan. ¿Dónde está mi paquete? Saludos, María",
        "Hallo, ich bin Peter. Wo ist mein Paket? Viele Grüße, Anna",
        # Whose name an account is in, and Indonesian greetings, introductions and sign-offs: an Indonesian
        # trial's "… atas nama Budi Santoso" was refused for two names the help center lacks.
        "refund ke rekening 1234567890 atas nama Budi Santoso kapan masuk",
        "Can you refund to the account in the name of Maria Rossi?",
        "Halo, saya Budi. Refund kapan masuk? Terima kasih, Budi",
        "Selamat pagi Rina, nama saya Dewi Lestari, refund kapan masuk?",
        # Chinese: a Han name and digits are no Latin words; a Latin name after 我是/我叫 is none either.
        "我是王小明，我的订单号是 123456789，怎么退款？",
        "我是 Peter，我的订单号是 LUM-20931，怎么退款？",
        "你好，我叫 Anna Müller。怎么退款？谢谢，Anna",
    ],
)
async def test_the_customers_own_data_is_no_unknown_name(help_center: FakeKB, question: str) -> None:
    assert await unknown_names(help_center, question, None) == ()


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        # Topics the help center never mentions are still refused, wherever they stand.
        ("How do I set up WireGuard?", ("WireGuard",)),
        ("How long do refunds to my Revolut card take?", ("Revolut",)),
        ("Hi, I'm John. How do I pay with Revolut?", ("Revolut",)),
        ("Did the refund for Jan Kowalczyk at Bakerstraat arrive?", ("Jan", "Kowalczyk", "Bakerstraat")),
        # A short code is a product's or an error's, which an article could name.
        ("What does error PX-999 mean?", ("PX-999",)),
        # A name only where a greeting, an introduction or a sign-off puts it.
        ("I'm Ubuntu user, where is my parcel?", ("Ubuntu",)),
        ("Hello Nextcloud team, where is my parcel?", ("Nextcloud",)),
        ("Where is my parcel? Thanks, Nextcloud sync is broken", ("Nextcloud",)),
        ("我是 Ubuntu 用户，怎么退款？", ("Ubuntu",)),
    ],
)
async def test_unknown_topics_are_still_unknown(
    help_center: FakeKB, question: str, unknown: tuple[str, ...]
) -> None:
    assert await unknown_names(help_center, question, None) == unknown


@pytest.mark.parametrize(
    ("question", "names"),
    [
        # Short codes stay names; a long digit run makes a reference.
        ("Does error PX-102 break ext4 over HTTP2 on an RTX4090?", ["PX-102", "ext4", "HTTP2", "RTX4090"]),
        ("Where is PX4821937560 and does PX-102 apply?", ["PX-102"]),
        # A name is the customer's only in its position: the same word elsewhere is a name.
        ("Hi, I'm Peter. Does it work with Peter?", ["Peter"]),
        ("I use Debian. Regards, Anna", ["Debian"]),
        # The word that labels the customer's own data is theirs too: "IBAN" before their account number
        # was a name the help center never mentions, and the refund question was refused.
        ("Please refund to IBAN NL91ABNA0417164300, how long does a refund take?", []),
        ("My IBAN is NL91ABNA0417164300, when is the money there?", []),
        ("Can I pay by IBAN transfer?", ["IBAN"]),
    ],
)
def test_named_words_leave_out_only_the_customers_own_data(question: str, names: list[str]) -> None:
    assert named_words(question, "en") == names


def test_personal_spans_cover_the_name_the_email_and_the_iban() -> None:
    question = "Hi, I'm John Smith, mail John.Smith@example.com, IBAN GB82 WEST 1234 5698 7654 32"
    found = [question[a:b] for a, b in personal_spans(question)]
    assert "John Smith" in found
    assert "John.Smith@example.com" in found
    assert "GB82 WEST 1234 5698 7654 32" in found
    labelled = [question[a:b] for a, b in personal_spans(question, labels=True)]
    assert "mail John.Smith@example.com" in labelled
    assert "IBAN GB82 WEST 1234 5698 7654 32" in labelled
