"""Every backend tells which named words its index never contains (the gate refuses questions naming them)."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeEmbedder
from tests.kb.conftest import KBFactory


async def test_missing_words_are_the_ones_no_chunk_contains(kb_factory: KBFactory, corpus: Path) -> None:
    chinese = corpus / "zh"
    chinese.mkdir()
    text = "寄国际包裹需要填写海关申报单，可用 WeChat 支付。"
    (chinese / "包裹.md").write_text(f"# 寄件\n\n## 海关申报\n\n{text}\n")
    kb = kb_factory(FakeEmbedder())
    await kb.reload(corpus)
    # Names in a Chinese document count too (the Latin words of CJK text are analysed as English).
    words = ["customs", "Customs", "declaration", "Parcelly", "WeChat", "WireGuard", "Nextcloud"]
    assert await kb.missing_words(words) == frozenset({"WireGuard", "Nextcloud"})
    assert await kb.missing_words([]) == frozenset()
    # A joined name is there when each of its parts is (Elasticsearch's tokenizer keeps "a.b" whole).
    # A joined name written so in a chunk is found too (the standard tokenizer indexed it whole).
    (corpus / "paths.md").write_text("# Paths\n\n## Folders\n\nCall os.path.isdir() to test a folder.\n")
    await kb.reload(corpus)
    joined = ["Authorization.header", "mylist.Authorization", "dashboard-Authorization", "os.path.isdir"]
    assert await kb.missing_words(joined) == frozenset({"mylist.Authorization"})


async def test_lower_case_names_and_typos_on_every_backend(kb_factory: KBFactory, corpus: Path) -> None:
    """`unknown_names` asks the backend for the uncommon words and the words one slip away from them."""
    from bot.kb.names import unknown_names

    (corpus / "logs.md").write_text("# Logs\n\n## Kernel logs\n\nTo dump the kernel log, run dmesg.\n")
    kb = kb_factory(FakeEmbedder())
    await kb.reload(corpus)
    question = "how do I configure kdump, or read the logs with dmseg?"
    assert await unknown_names(kb, question, "en") == ("kdump",)
    assert await unknown_names(kb, "where does dmesg write?", "en") == ()


async def test_names_and_identifiers_of_ukrainian_and_hebrew_help_centers_on_every_backend(
    kb_factory: KBFactory, corpus: Path
) -> None:
    """Their fields hold their words' stems (`bot.stemmers`), which Elasticsearch is given as they are: a name
    written in one ("Приватбанк", "Samsung") was reported missing there, and an identifier asked about
    ("max_connections") matched nothing."""
    from bot.kb.names import unknown_names

    ukrainian = (
        "# Оплата\n\n## Способи оплати\n\nОплатити замовлення можна карткою Приватбанку або Монобанку, "
        "а також через Apple Pay. Гарантія на смартфони Samsung становить 12 місяців. Параметр "
        "max_connections змінюють у файлі конфігурації сервера.\n"
    )
    hebrew = (
        "# חשבון\n\n## חשבונית\n\nהחשבונית נשלחת לכתובת הדואל שבחשבון בתחילת כל חודש, ואפשר להוריד "
        "אותה באפליקציה.\n"
    )
    folder = corpus.parent / "uk-he"
    folder.mkdir()
    (folder / "oplata.md").write_text(ukrainian, encoding="utf-8")
    (folder / "heshbon.md").write_text(hebrew, encoding="utf-8")
    kb = kb_factory(FakeEmbedder())
    await kb.reload(folder)
    assert await kb.missing_words(["Приватбанку", "Samsung", "חשבונית", "Huawei"]) == frozenset({"Huawei"})
    assert await unknown_names(kb, "Яка гарантія на Samsung?", "uk") == ()
    hits = await kb.search("як змінити max_connections?", 3, "bm25")
    assert hits
    assert hits[0].chunk.heading == "Способи оплати"
