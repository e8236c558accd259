"""Reloads on every backend embed only what changed and say so: files and chunks added, changed, removed."""

from __future__ import annotations

from pathlib import Path

from bot.kb.base import ChangeCounts, ReloadChanges
from tests.fakes import FakeEmbedder
from tests.kb.conftest import KBFactory


async def test_a_reload_embeds_only_changed_chunks_and_reports_the_changes(
    kb_factory: KBFactory, corpus: Path
) -> None:
    kb = kb_factory(FakeEmbedder())
    first = await kb.reload(corpus)
    assert first.changes == ReloadChanges(
        files=ChangeCounts(added=5),
        chunks=ChangeCounts(added=first.chunks),
        embedded=first.chunks,
        compared=False,  # nothing to compare with: the first index
    )

    again = await kb.reload(corpus)
    assert again.changes == ReloadChanges(
        files=ChangeCounts(unchanged=5), chunks=ChangeCounts(unchanged=first.chunks), embedded=0
    )

    # One paragraph of one file changes; then one file goes away and another comes in.
    shipping = corpus / "guide" / "shipping.md"
    shipping.write_text(shipping.read_text().replace("25 kilograms", "30 kilograms"))
    edited = await kb.reload(corpus)
    assert edited.changes is not None
    assert edited.changes.files == ChangeCounts(changed=1, unchanged=4)
    assert edited.changes.chunks.changed == edited.changes.embedded == 1
    # Stored with the index, so `kb stats` (another process) shows the last reload's changes too.
    stats = await kb.stats()
    assert stats.extra["last reload"].startswith("files 1 changed, 4 unchanged; chunks 1 changed, ")
    assert stats.extra["last reload"].endswith("; 1 embedded")
    (corpus / "notes.txt").unlink()
    (corpus / "returns.md").write_text("# Returns\n\n## Sending it back\n\nPrint the return label.\n")
    swapped = await kb.reload(corpus)
    assert swapped.changes is not None
    assert swapped.changes.files == ChangeCounts(added=1, removed=1, unchanged=4)
    assert swapped.changes.chunks.added == swapped.changes.embedded == 1
    assert swapped.changes.chunks.removed >= 1
