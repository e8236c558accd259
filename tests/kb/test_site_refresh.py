"""The scheduled refresh of folders and sites, what admins see of it, and approved answers citing pages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.admin import Admin, review_approved
from bot.config import CrawlSettings
from bot.kb.embedded import EmbeddedKB
from bot.kb.site import SiteSource
from bot.kb.sources import DocumentSource, FolderSource
from bot.refresh import refresh_every
from bot.store.base import ApprovedAnswer
from tests.fakes import FakeEmbedder
from tests.fakes_log import ApprovedAnswersToReview, MemoryConversationLog
from tests.kb.conftest import make_settings
from tests.kb.site_server import HelpSite


def make_admin(tmp_path: Path, corpus: Path, site: HelpSite) -> tuple[Admin, EmbeddedKB]:
    settings = make_settings(tmp_path)
    kb = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder())
    crawl = CrawlSettings(delay_s=0, timeout_s=1.0, concurrency=4)

    def sources() -> list[DocumentSource]:
        return [
            FolderSource(corpus, 20),
            SiteSource(site.url + "/sitemap.xml", crawl, tmp_path / "sites.sqlite"),
        ]

    admin = Admin(
        kb,
        MemoryConversationLog(),
        kb_source=corpus,
        exports_dir=tmp_path / "exports",
        check_upload=lambda name, data: name,
        sources=sources,
    )
    return admin, kb


async def test_the_schedule_refreshes_every_source_and_a_failure_keeps_the_index_and_tells_the_admins(
    tmp_path: Path, corpus: Path, site: HelpSite
) -> None:
    admin, kb = make_admin(tmp_path, corpus, site)
    first = await admin.reload()
    assert first.ok, first.text
    serving = (await kb.stats()).index
    told: list[str] = []
    rounds: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    # The site's robots.txt fails for one round, then works again.
    site.robots_status = 503
    stop = asyncio.Event()
    task = asyncio.create_task(refresh_every(admin, 0.05, notify, stop))
    for _ in range(200):
        await asyncio.sleep(0.05)
        if admin.last_refresh is not None and not admin.last_refresh.ok:
            break
    assert admin.last_refresh is not None
    assert not admin.last_refresh.ok
    assert admin.last_refresh.scheduled
    assert (await kb.stats()).index == serving  # the failed refresh swapped nothing in
    assert "robots.txt answered 503" in (await admin.stats())
    rounds.append(told[-1])
    site.robots_status = 200
    for _ in range(200):
        await asyncio.sleep(0.05)
        if admin.last_refresh.ok:
            break
    stop.set()
    await asyncio.wait_for(task, 10)

    assert rounds[0].startswith("⚠️ Scheduled knowledge-base refresh failed.")
    assert "the current knowledge base keeps serving" in rounds[0]
    assert [text.split("\n")[0] for text in told].count("⚠️ Scheduled knowledge-base refresh failed.") == 1
    assert told[-1].startswith("✅ Scheduled knowledge-base refresh works again.")
    stats = await admin.stats()
    assert "Knowledge sources:" in stats
    assert f"• {site.url}/sitemap.xml (site): 4 pages" in stats
    assert f"• {corpus} (folder): 5 files, 1 skipped" in stats
    assert "Last scheduled refresh: " in stats
    assert "succeeded" in stats
    # Nothing changed on the site or in the folder: the refreshes embedded nothing.
    later = await kb.stats()
    assert later.extra["last reload"].endswith("; 0 embedded")
    await kb.close()


async def test_uploads_are_refused_when_their_folder_is_not_a_source(
    tmp_path: Path, corpus: Path, site: HelpSite
) -> None:
    admin, kb = make_admin(tmp_path, corpus, site)
    admin.kb_source = tmp_path / "uploads"
    result = await admin.add_document("new.md", b"# New\n\nText.\n")
    assert not result.ok
    assert "is not one of the knowledge sources (BOT_KB__SOURCES)" in result.text
    await kb.close()


def approved(answer_id: int, source: str) -> ApprovedAnswer:
    now = datetime.now(UTC)
    return ApprovedAnswer(answer_id, "q", "a", source, None, "active", "admin", now, now)


async def test_approved_answers_citing_pages_are_flagged_only_when_their_page_changed_or_left(
    tmp_path: Path, corpus: Path, site: HelpSite
) -> None:
    admin, kb = make_admin(tmp_path, corpus, site)
    await admin.reload()
    store = ApprovedAnswersToReview(
        [
            approved(1, f"{site.url}/help/changing.html"),
            approved(2, f"{site.url}/help/returns.html"),
            approved(3, f"{site.url}/help/shipping.html"),
        ]
    )
    site.notice = "Lockers now close at midnight."
    site.gone.add("/help/returns.html")
    result = await admin.reload()
    assert result.report is not None
    flagged = await review_approved(store, [corpus], result.report)  # type: ignore[arg-type]
    assert {a.id: a.review_reason for a in flagged} == {
        1: f"{site.url}/help/changing.html changed",
        2: f"{site.url}/help/returns.html is no longer in the knowledge base",
    }
    assert store.answers[3].status == "active"
    await kb.close()


async def test_approved_answers_citing_pages_are_reviewed_when_there_was_no_index_to_compare(
    tmp_path: Path, corpus: Path, site: HelpSite
) -> None:
    # The serving index vanished (deleted by hand, a new data folder): a page's change cannot be told, so its
    # approved answers are reviewed rather than kept as if nothing changed. A file's are checked by its hash.
    admin, kb = make_admin(tmp_path, corpus, site)
    store = ApprovedAnswersToReview(
        [approved(1, f"{site.url}/help/changing.html"), approved(2, f"{site.url}/help/shipping.html")]
    )
    result = await admin.reload()
    assert result.report is not None
    assert result.report.changes is not None
    assert not result.report.changes.compared
    flagged = await review_approved(store, [corpus], result.report)  # type: ignore[arg-type]
    assert {a.id: a.review_reason for a in flagged} == {
        1: f"{site.url}/help/changing.html could not be compared with the previous index",
        2: f"{site.url}/help/shipping.html could not be compared with the previous index",
    }
    again = await admin.reload()
    assert again.report is not None
    assert again.report.changes is not None
    assert again.report.changes.compared
    await kb.close()
