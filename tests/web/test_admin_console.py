"""The admin console's pages over the real SQLite log: gaps, transcripts, corrections, uploads, export."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from bot.channels.web.deps import ExportFilters
from bot.channels.web.gaps import group_gaps
from bot.store.insights import GapQuestion
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.web.conftest import BASE, Web, WebFactory, events


async def ask(web: Web, text: str) -> dict[str, object]:
    session = await web.session()
    reply = events((await web.post("/api/ask", {"text": text}, session["csrf"])).text)[-1][1]
    return {"csrf": session["csrf"], **reply}


def csrf_of(page: str) -> str:
    return page.split('name="csrf" content="')[1].split('"')[0]


async def test_refused_and_thumbs_down_questions_are_content_gaps(make_web: WebFactory) -> None:
    web = await make_web(generator=FakeGenerator("Refunds take five business days. [1]"))
    refused = await ask(web, "Can I pay with seashells?")
    assert refused["outcome"] == "refused"
    answered = await ask(web, "How long do refunds take?")
    await web.post(
        "/api/feedback", {"answer_id": answered["answer_id"], "rating": "down"}, str(answered["csrf"])
    )
    await web.post(
        "/api/feedback",
        {"answer_id": answered["answer_id"], "comment": "<b>wrong</b> card"},
        str(answered["csrf"]),
    )
    await web.admin_login()
    page = (await web.client.get("/admin/gaps")).text
    assert "Can I pay with seashells?" in page
    assert "How long do refunds take?" in page
    assert "&lt;b&gt;wrong&lt;/b&gt; card" in page, "comments are escaped, never HTML"
    assert "billing/refunds.md › Refunds" in page


def test_gaps_group_by_meaning_biggest_first() -> None:
    from datetime import UTC, datetime

    def gap(n: int, text: str) -> GapQuestion:
        return GapQuestion(n, n, text, "refused", None, None, "", "", datetime.now(UTC))

    questions = [gap(1, "refund time"), gap(2, "parcel locker code"), gap(3, "refund time please")]
    groups = group_gaps(questions, FakeEmbedder(), threshold=0.5)
    assert [g.count for g in groups] == [2, 1]
    assert groups[0].title == "refund time"
    exact = group_gaps([gap(1, "Refund?"), gap(2, "refund?"), gap(3, "locker")], None)
    assert [g.count for g in exact] == [2, 1]


async def test_transcript_shows_passages_outcome_and_model_and_takes_a_correction(
    make_web: WebFactory,
) -> None:
    web = await make_web()
    answered = await ask(web, "How long do refunds take?")
    await web.admin_login()
    listing = (await web.client.get("/admin/conversations?q=refunds")).text
    assert "/admin/conversations/1" in listing
    assert "No conversations found" in (await web.client.get("/admin/conversations?q=zebra")).text
    page = (await web.client.get("/admin/conversations/1")).text
    assert "outcome answered" in page
    assert "fake-model" in page
    assert "Retrieved passages" in page
    emoji = await web.client.post(
        f"/admin/answers/{answered['answer_id']}/correct",
        data={"csrf": csrf_of(page), "cid": "1", "text": "👍"},
        headers={"origin": BASE},
    )
    assert emoji.status_code == 400
    assert emoji.json() == {"error": "a correction needs words, not only emoji or symbols"}
    saved = await web.client.post(
        f"/admin/answers/{answered['answer_id']}/correct",
        data={"csrf": csrf_of(page), "cid": "1", "text": "Five business days, to the original card."},
        headers={"origin": BASE},
    )
    assert saved.status_code == 303
    assert "Correction: Five business days" in (await web.client.get("/admin/conversations/1")).text


async def test_upload_uses_the_same_validation_as_telegram(make_web: WebFactory, tmp_path: Path) -> None:
    web = await make_web()
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/kb")).text)
    bad = await web.client.post(
        f"/admin/kb/upload?csrf={csrf}",
        files={"file": ("evil.exe", b"MZ\x90\x00binary", "application/octet-stream")},
        headers={"origin": BASE},
    )
    assert bad.status_code == 303
    page = (await web.client.get("/admin/kb")).text
    assert "evil.exe was not added" in page
    assert not (tmp_path / "knowledge" / "evil.exe").exists()


async def test_export_downloads_with_the_cli_filters(make_web: WebFactory) -> None:
    asked: list[ExportFilters] = []

    async def export(out: Path, filters: ExportFilters) -> str:
        asked.append(filters)
        await asyncio.to_thread(out.write_text, '{"messages": []}\n')
        return "1 samples from 1 conversations"

    web = await make_web(export=export)
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/export")).text)
    bad_date = await web.client.post(
        "/admin/export", data={"csrf": csrf, "since": "yesterday"}, headers={"origin": BASE}
    )
    assert bad_date.status_code == 400
    assert "is not a date" in bad_date.text
    backwards = await web.client.post(
        "/admin/export",
        data={"csrf": csrf, "since": "2026-02-01", "until": "2026-01-01"},
        headers={"origin": BASE},
    )
    assert backwards.status_code == 400
    assert "the Since date must be on or before the Until date" in backwards.text
    assert "--since" not in backwards.text
    download = await web.client.post(
        "/admin/export",
        data={"csrf": csrf, "since": "2026-01-01", "min_rating": "up", "grounded_only": "on"},
        headers={"origin": BASE},
    )
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.text == '{"messages": []}\n'
    assert asked == [ExportFilters(since=date(2026, 1, 1), min_rating="up", grounded_only=True)]


async def test_reload_runs_in_the_background_with_progress(make_web: WebFactory) -> None:
    web = await make_web()
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/kb")).text)
    started = await web.client.post("/admin/kb/reload", data={"csrf": csrf}, headers={"origin": BASE})
    assert (started.status_code, started.headers["location"]) == (303, "/admin/kb")
    for _ in range(100):
        job = (await web.client.get("/admin/kb/progress")).json()
        if not job["running"]:
            break
        await asyncio.sleep(0.02)
    assert job["ok"]
    assert job["result"].startswith("✅ Knowledge base reloaded")
    assert "Knowledge base reloaded" in (await web.client.get("/admin/kb")).text


async def test_ids_no_row_can_have_are_not_found_not_a_crash(make_web: WebFactory) -> None:
    web = await make_web()
    await ask(web, "refunds?")
    await web.admin_login()
    huge = "99999999999999999999"
    assert "No such conversation." in (await web.client.get(f"/admin/conversations/{huge}")).text
    for page in ("²", huge, "-1"):
        listed = await web.client.get("/admin/conversations", params={"page": page})
        assert listed.status_code == 200
        assert "#1" in listed.text  # an unreadable page number shows the first page
    for query in ("²", "9" * 25, "1"):
        searched = await web.client.get("/admin/conversations", params={"q": query})
        assert searched.status_code == 200
        assert ("#1" in searched.text) == (query == "1")
    csrf = csrf_of((await web.client.get("/admin/conversations/1")).text)
    corrected = await web.client.post(
        f"/admin/answers/{huge}/correct", data={"csrf": csrf, "text": "Five days."}, headers={"origin": BASE}
    )
    assert corrected.status_code == 404
