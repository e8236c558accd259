"""An uploaded article replaces the article of its name wherever it is in the knowledge folder."""

from __future__ import annotations

from pathlib import Path

from bot.kb.embedded import EmbeddedKB
from bot.services import build_admin
from tests.fakes import FakeEmbedder
from tests.fakes_log import MemoryConversationLog
from tests.kb.conftest import make_settings


async def test_an_upload_named_like_an_article_in_a_subfolder_replaces_it(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    (folder / "billing").mkdir(parents=True)
    (folder / "billing" / "refunds.md").write_text("# Refunds\n\nRefunds take 5-10 days.\n", encoding="utf-8")
    (folder / "faq.md").write_text("# FAQ\n\nAsk us anything about parcels.\n", encoding="utf-8")
    settings = make_settings(tmp_path, kb={"source": folder})
    kb = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder())
    admin = build_admin(settings, kb, MemoryConversationLog())
    assert (await admin.reload()).ok

    result = await admin.add_document("refunds.md", b"# Refunds\n\nRefunds take 2-4 days.\n")
    assert result.ok, result.text
    assert result.text.startswith("✅ billing/refunds.md was replaced by the upload in the knowledge base.")
    # Replaced where it was: no second copy at the top for the bot to cite beside the old one.
    assert not (folder / "refunds.md").exists()
    assert "2-4 days" in (folder / "billing" / "refunds.md").read_text(encoding="utf-8")
    assert await kb.indexed_sources() == frozenset({"billing/refunds.md", "faq.md"})

    # A new name is added at the top, as before.
    added = await admin.add_document("new.md", b"# New\n\nLockers are open all night.\n")
    assert added.text.startswith("✅ new.md is now in the knowledge base."), added.text


async def test_a_name_several_articles_share_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    for sub in ("billing", "returns"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "refunds.md").write_text(f"# Refunds\n\nAbout {sub}.\n", encoding="utf-8")
    settings = make_settings(tmp_path, kb={"source": folder})
    kb = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder())
    admin = build_admin(settings, kb, MemoryConversationLog())
    before = sorted(p.read_text(encoding="utf-8") for p in folder.rglob("*.md"))

    result = await admin.add_document("refunds.md", b"# Refunds\n\nNew.\n")
    assert not result.ok
    text = " ".join(result.text.split())
    assert "several articles are named refunds.md (billing/refunds.md, returns/refunds.md)" in text
    assert sorted(p.read_text(encoding="utf-8") for p in folder.rglob("*.md")) == before
