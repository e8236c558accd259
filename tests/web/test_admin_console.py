"""The admin console's pages over the real SQLite log: gaps, transcripts, corrections, uploads, export."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.web.admin_console import UNVERIFIED_FORM, shortened
from bot.channels.web.deps import ExportFilters
from bot.channels.web.gaps import group_gaps
from bot.store.insights import GapQuestion
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.web.conftest import BASE, Web, WebFactory, events


async def ask(web: Web, text: str) -> dict[str, object]:
    session = await web.session()
    reply = events((await web.post("/api/ask", {"text": text}, session["csrf"])).text)[-1][1]
    return {"csrf": session["csrf"], **reply}


async def finished_reload(web: Web) -> dict[str, Any]:
    """The console's reload job once it has finished (polled as the page does)."""
    for _ in range(100):
        job: dict[str, Any] = (await web.client.get("/admin/kb/progress")).json()
        if not job["running"]:
            break
        await asyncio.sleep(0.02)
    return job


def csrf_of(page: str) -> str:
    return page.split('name="csrf" content="')[1].split('"')[0]


def alert_of(response: httpx.Response) -> str:
    """The message a failed console action shows: on a page of the console, never as JSON."""
    assert response.headers["content-type"].startswith("text/html"), response.text
    assert response.text.count("role='alert'") == 1, response.text
    return html.unescape(response.text.split("role='alert'>")[1].split("</p>")[0])


def no_token_in_urls(page: str, csrf: str) -> None:
    """The CSRF token is only in hidden fields of POST forms (and the page's meta tag), never in a URL."""
    assert "csrf=" not in page
    forms = re.findall(r"<form([^>]*)>(.*?)</form>", page, re.S)
    assert forms
    for attributes, content in forms:
        assert csrf not in attributes, attributes
        if csrf in content:
            assert "method='post'" in attributes, attributes


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


async def test_a_long_question_heads_its_gap_shortened_and_is_shown_whole_on_request(
    make_web: WebFactory,
) -> None:
    # A 5,000-character question once filled the page, in bold, as its group's heading.
    web = await make_web()
    question = "<b>Where</b> is my parcel? " + " ".join(f"word{n}" for n in range(800))
    assert len(question) > 5000
    answered = await ask(web, question)
    await web.post(
        "/api/feedback", {"answer_id": answered["answer_id"], "rating": "down"}, str(answered["csrf"])
    )
    await web.admin_login()
    page = (await web.client.get("/admin/gaps")).text
    heading = html.unescape(page.split("<section class='gap'><h2>")[1].split("</h2>")[0])
    assert heading.endswith("…")
    assert len(heading) <= 200
    shown = heading.removesuffix("…")
    assert question.startswith(shown)
    assert question[len(shown)] == " ", "cut between words, not inside one"
    assert "&lt;b&gt;Where&lt;/b&gt;" in page.split("</h2>")[0], "escaped as before"
    whole = page.split("<details class='whole'>")[1].split("</details>")[0]
    assert f"<p class='text'>{html.escape(question)}</p>" in whole, "the whole question, escaped, on request"
    # A short question is its heading, with nothing to expand.
    assert "<h2>Refunds?</h2><p class='meta'>" in (await _gap_page_of(make_web, "Refunds?"))


async def _gap_page_of(make_web: WebFactory, question: str) -> str:
    web = await make_web()
    answered = await ask(web, question)
    await web.post(
        "/api/feedback", {"answer_id": answered["answer_id"], "rating": "down"}, str(answered["csrf"])
    )
    await web.admin_login()
    return (await web.client.get("/admin/gaps")).text


def test_gap_headings_are_cut_at_a_word_boundary() -> None:
    assert shortened("Where is my parcel?", 200) == "Where is my parcel?"
    assert shortened("  Where is\n my   parcel? ", 200) == "Where is my parcel?"
    assert shortened("Where is my parcel, please tell me", 20) == "Where is my parcel…"
    # No space in the second half (Chinese, a URL): cut at the limit.
    assert shortened("退款" * 150, 200) == "退款" * 99 + "退…"
    assert len(shortened("x " + "y" * 500, 200)) == 200


async def test_a_customers_comment_is_labelled_and_set_apart_from_the_answer(make_web: WebFactory) -> None:
    # Unlabelled under the answer, the customer's comment read as part of the bot's answer.
    web = await make_web()
    answered = await ask(web, "How long do refunds take?")
    comment = "Told me <i>nothing</i> about how to claim for a lost parcel"
    for feedback in ({"rating": "down"}, {"comment": comment}):
        sent = await web.post(
            "/api/feedback", {"answer_id": answered["answer_id"], **feedback}, str(answered["csrf"])
        )
        assert sent.status_code == 200, sent.text
    await web.admin_login()
    page = (await web.client.get("/admin/conversations/1")).text
    assert (
        "<p class='comment'><span class='label'>Customer's feedback comment:</span> "
        f"{html.escape(comment)}</p>"
    ) in page
    css = (await web.client.get("/static/admin.css")).text
    rule = re.search(r"^\.msg \.comment \{([^}]*)\}", css, re.M)
    assert rule is not None, "styled apart from the answer's text"
    assert "border-left" in rule[1]
    assert "margin-left" in rule[1]


async def test_a_form_without_its_token_is_refused_without_guessing_why(make_web: WebFactory) -> None:
    # Refused for a missing token as for one from before a new login: the text must be true of both.
    web = await make_web()
    answered = await ask(web, "How long do refunds take?")
    await web.admin_login()
    refused = await web.client.post(
        f"/admin/answers/{answered['answer_id']}/correct",
        data={"cid": "1", "text": "Five business days."},
        headers={"origin": BASE},
    )
    assert refused.status_code == 403
    told = alert_of(refused)
    assert told == UNVERIFIED_FORM
    assert "could not be verified" in told
    assert "Reload the page and try again." in told
    assert "logged in again" not in told
    assert "<h1>Conversation #1</h1>" in refused.text


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


async def test_transcript_shows_what_was_listed_under_see_also(make_web: WebFactory) -> None:
    web = await make_web()
    answered = await ask(web, "How long do refunds or shipping take?")
    assert answered["see_also"]
    plain = await ask(web, "How do I reset my password?")
    assert not plain["see_also"]
    await web.admin_login()
    page = (await web.client.get("/admin/conversations/1")).text
    assert "Reset your password" in page  # both answers are in this transcript
    assert "See also: shipping/times.md › Shipping times" in page
    assert page.count("See also:") == 1  # only under the answer that listed one


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
    assert alert_of(emoji) == "A correction needs words, not only emoji or symbols."
    saved = await web.client.post(
        f"/admin/answers/{answered['answer_id']}/correct",
        data={"csrf": csrf_of(page), "cid": "1", "text": "Five business days, to the original card."},
        headers={"origin": BASE},
    )
    assert saved.status_code == 303
    assert "Correction: Five business days" in (await web.client.get("/admin/conversations/1")).text


async def test_arabic_words_are_shown_right_to_left_on_the_english_pages(make_web: WebFactory) -> None:
    # An Arabic question was laid out left to right: its "؟" at its start, a Latin product name at its end.
    web = await make_web()
    arabic = "Parcelly لم يرسل طردي، ماذا أفعل؟"
    await ask(web, arabic)
    await ask(web, "How long do refunds take?")
    await web.admin_login()
    listing = (await web.client.get("/admin/conversations")).text
    assert f"<td dir='rtl'>{html.escape(arabic)}</td>" in listing
    transcript = (await web.client.get("/admin/conversations/1")).text
    assert f"<p class='text' dir='rtl'>{html.escape(arabic)}</p>" in transcript
    # The bot's Arabic reply too; English words and the page's own stay as they are.
    assert transcript.count("<p class='text' dir='rtl'>") == 2
    assert "<p class='text'>How long do refunds take?</p>" in transcript
    gaps = (await web.client.get("/admin/gaps")).text
    assert f"<bdi dir='rtl'>{html.escape(arabic)}</bdi>" in gaps
    overview = (await web.client.get("/admin")).text
    assert f"<bdi dir='rtl'>{html.escape(arabic)}</bdi>" in overview


async def test_upload_uses_the_same_validation_as_telegram(make_web: WebFactory, tmp_path: Path) -> None:
    web = await make_web()
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/kb")).text)
    bad = await web.client.post(
        "/admin/kb/upload",
        data={"csrf": csrf},
        files={"file": ("evil.exe", b"MZ\x90\x00binary", "application/octet-stream")},
        headers={"origin": BASE},
    )
    assert bad.status_code == 400
    assert "evil.exe was not added" in bad.text
    assert not (tmp_path / "knowledge" / "evil.exe").exists()


async def test_an_upload_during_a_reload_is_refused_on_the_page(make_web: WebFactory, tmp_path: Path) -> None:
    # Found in a trial: the "reload is running" notice was the reload's report, which the running reload
    # then overwrote, so the file was dropped without a word.
    web = await make_web()
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/kb")).text)
    async with web.deps.admin._reload_lock:  # a reload running (from the CLI, Telegram or this console)
        busy = await web.client.post(
            "/admin/kb/upload",
            data={"csrf": csrf},
            files={"file": ("mars.md", b"# Mars\n\nWe do not ship to Mars.\n", "text/markdown")},
            headers={"origin": BASE},
        )
    assert busy.status_code == 409
    assert alert_of(busy) == (
        "mars.md was not added: a reload is running. Upload it again when the reload has finished."
    )
    assert not (tmp_path / "knowledge" / "mars.md").exists()


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
    job = await finished_reload(web)
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


async def test_no_console_page_puts_the_csrf_token_in_a_url(make_web: WebFactory) -> None:
    web = await make_web()
    await ask(web, "How long do refunds take?")
    await web.admin_login()
    for path in ("/admin", "/admin/gaps", "/admin/conversations", "/admin/conversations/1", "/admin/kb"):
        page = (await web.client.get(path)).text
        no_token_in_urls(page, csrf_of(page))
    page = (await web.client.get("/admin/kb")).text
    csrf = csrf_of(page)
    upload = re.findall(r"<form([^>]*)>(.*?)</form>", page, re.S)[-1]
    assert "action='/admin/kb/upload'" in upload[0]
    assert f"name='csrf' value='{csrf}'" in upload[1], "the upload's token is a field of its body"
    # A token in the query string is not taken any more: nothing may lead a browser to put it there.
    in_url = await web.client.post(
        f"/admin/kb/upload?csrf={csrf}",
        files={"file": ("notes.md", b"# Notes\n\nText.\n", "text/markdown")},
        headers={"origin": BASE},
    )
    assert in_url.status_code == 403
    assert alert_of(in_url) == UNVERIFIED_FORM
    assert not (web.deps.admin.kb_source / "notes.md").exists()


async def test_a_refused_correction_is_told_on_its_transcript_with_the_text_kept(
    make_web: WebFactory,
) -> None:
    web = await make_web()
    answered = await ask(web, "How long do refunds take?")
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/conversations/1")).text)
    aid = answered["answer_id"]

    async def correct(aid: object, text: str, cid: str = "1") -> httpx.Response:
        data = {"csrf": csrf, "cid": cid, "text": text}
        return await web.client.post(f"/admin/answers/{aid}/correct", data=data, headers={"origin": BASE})

    emoji = await correct(aid, "👍 🎉")
    assert emoji.status_code == 400
    assert alert_of(emoji) == "A correction needs words, not only emoji or symbols."
    assert "<h1>Conversation #1</h1>" in emoji.text
    form = f"<form method='post' action='/admin/answers/{aid}/correct'>"
    assert f"<details open><summary>Correct this answer</summary>{form}" in emoji.text, "opened again"
    assert ">👍 🎉</textarea>" in emoji.text, "what the admin typed is not lost"
    too_long = await correct(aid, "word " * 2000)
    assert too_long.status_code == 400
    assert alert_of(too_long) == "A correction is 1 to 8000 characters."
    unknown = await correct(987654, "Five business days.")
    assert unknown.status_code == 404
    assert alert_of(unknown).startswith("The correction was not saved:")
    nowhere = await correct("99999999999999999999", "Five business days.", cid="")
    assert nowhere.status_code == 404
    assert alert_of(nowhere) == "There is no answer 99999999999999999999 in the log."
    assert "href='/admin/conversations'" in nowhere.text


async def test_a_refused_upload_is_told_on_the_knowledge_base_page(make_web: WebFactory) -> None:
    web = await make_web()
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/kb")).text)
    html_accept = {"origin": BASE, "accept": "text/html"}
    no_file = await web.client.post(
        "/admin/kb/upload", data={"csrf": csrf}, files={"file": ("", b"", "text/plain")}, headers=html_accept
    )
    assert no_file.status_code == 400
    assert alert_of(no_file) == "Choose a file to upload."
    assert "<h1>Knowledge base</h1>" in no_file.text
    broken = await web.client.post(
        "/admin/kb/upload",
        content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--xyz--\r\n",
        headers={**html_accept, "content-type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code == 400
    assert alert_of(broken).startswith("The form could not be read")
    too_big = await web.client.post(
        "/admin/kb/upload",
        data={"csrf": csrf},
        files={"file": ("big.md", b"x" * (web.deps.upload_limit_bytes + 128 * 1024), "text/markdown")},
        headers=html_accept,
    )
    assert too_big.status_code == 413
    assert alert_of(too_big) == "The file is too large: a document is at most 1 MB."
    assert "<h1>Knowledge base</h1>" in too_big.text
    # A script (no text/html) still gets the guard's JSON.
    scripted = await web.client.post(
        "/admin/kb/upload",
        data={"csrf": csrf},
        files={"file": ("big.md", b"x" * (web.deps.upload_limit_bytes + 128 * 1024), "text/markdown")},
        headers={"origin": BASE},
    )
    assert scripted.status_code == 413
    assert "too large" in scripted.json()["error"]


@pytest.mark.parametrize(
    ("path", "data", "heading"),
    [
        ("/admin/kb/reload", {}, "Knowledge base"),
        ("/admin/export", {"format": "openai"}, "Export"),
        ("/admin/answers/2/correct", {"cid": "1", "text": "Five days."}, "Conversation #1"),
        ("/admin/logout", {}, "Not done"),
    ],
)
async def test_a_form_from_an_earlier_session_is_told_on_the_page(
    make_web: WebFactory, path: str, data: dict[str, str], heading: str
) -> None:
    web = await make_web()
    await ask(web, "How long do refunds take?")
    await web.admin_login()
    stale = csrf_of((await web.client.get("/admin")).text)
    await web.admin_login()  # logged in again (another tab): the first page's forms are out of date
    refused = await web.client.post(path, data={"csrf": stale, **data}, headers={"origin": BASE})
    assert refused.status_code == 403
    assert alert_of(refused) == UNVERIFIED_FORM
    assert f"<h1>{heading}</h1>" in refused.text
    assert "<nav aria-label='Admin'>" in refused.text, "the console's own page"
    fresh = csrf_of(refused.text)
    assert fresh != stale
    no_token_in_urls(refused.text, fresh)


async def test_a_form_sent_after_the_session_ended_shows_the_login_page(make_web: WebFactory) -> None:
    web = await make_web()
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/kb")).text)
    web.client.cookies.clear()
    for path in ("/admin/kb/reload", "/admin/kb/upload", "/admin/export", "/admin/answers/1/correct"):
        response = await web.client.post(path, data={"csrf": csrf}, headers={"origin": BASE})
        assert response.status_code == 401
        assert "not logged in" in alert_of(response)
        assert "action='/admin/login'" in response.text


async def test_the_guards_refusals_of_console_pages_are_pages(make_web: WebFactory) -> None:
    web = await make_web(ip_requests_per_minute=3)
    await web.admin_login()
    await web.client.get("/admin", headers={"accept": "text/html"})
    await web.client.get("/admin/kb/progress")
    limited = await web.client.get("/admin/gaps", headers={"accept": "text/html"})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"
    assert alert_of(limited) == "Too many requests; please wait a minute."
    assert "<nav aria-label='Admin'>" in limited.text
    assert (await web.client.get("/admin/kb/progress")).json() == {
        "error": "Too many requests; please wait a minute."
    }


async def test_latest_answers_link_to_their_transcript_not_to_a_telegram_command(
    make_web: WebFactory,
) -> None:
    web = await make_web()
    await ask(web, "How long do refunds take?")
    answered = await ask(web, "How do I reset my password?")
    await web.admin_login()
    page = (await web.client.get("/admin")).text
    aid = answered["answer_id"]
    # Each id opens the answer in its conversation, anchored at the message (`m<id>` in the transcript).
    assert f"<a href='/admin/conversations/1#m{aid}'>#{aid}</a>" in page
    assert "/correct" not in page, "a Telegram command, not something the console can do"
    assert "Correct this answer" in page
    transcript = (await web.client.get("/admin/conversations/1")).text
    assert f"id='m{aid}'" in transcript


async def test_a_saved_correction_says_it_is_now_the_served_approved_answer(make_web: WebFactory) -> None:
    web = await make_web(approved=True)
    answered = await ask(web, "How long do refunds take?")
    await web.admin_login()
    page = (await web.client.get("/admin/conversations/1")).text
    aid = answered["answer_id"]
    saved = await web.client.post(
        f"/admin/answers/{aid}/correct",
        data={"csrf": csrf_of(page), "cid": "1", "text": "Five business days, to the original card."},
        headers={"origin": BASE},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/admin/conversations/1?corrected={aid}&approved=1#m{aid}"
    shown = await web.client.get(saved.headers["location"])
    notice = html.unescape(shown.text.split("class='notice' role='status'>")[1].split("</p>")[0])
    assert "approved answer <a href='/admin/approved#a1'>#1</a>" in notice
    assert "served" in notice
    assert "in other words" in notice
    assert "<code>python -m bot answers retire 1</code>" in notice
    # And it is: the same question is now answered with it.
    again = await ask(web, "How long do refunds take?")
    assert (again["outcome"], again["text"]) == ("approved", "Five business days, to the original card.")
    listed = (await web.client.get("/admin/approved")).text
    assert "<tr id='a1'>" in listed
    assert "active (served)" in listed
    assert f"corrects answer #{aid}" in listed
    # The ids come back in the URL: a forged one is not announced as saved.
    for forged in (f"?corrected={aid}&approved=7", f"?corrected={aid + 1}&approved=1"):
        page = (await web.client.get(f"/admin/conversations/1{forged}")).text
        assert "role='status'>✅" not in page, forged


async def test_a_correction_never_served_does_not_say_it_is(make_web: WebFactory) -> None:
    web = await make_web()  # approved answers off
    answered = await ask(web, "How do I reset my password?")
    await web.admin_login()
    page = (await web.client.get("/admin/conversations/1")).text
    kept = await web.client.post(
        f"/admin/answers/{answered['answer_id']}/correct",
        data={"csrf": csrf_of(page), "cid": "1", "text": "Use the reset link."},
        headers={"origin": BASE},
        follow_redirects=True,
    )
    assert "the training export uses it" in kept.text
    assert "serves no approved answers" in kept.text
    assert "answers retire" not in kept.text


async def test_a_reload_names_flagged_approved_answers_the_web_way(make_web: WebFactory) -> None:
    web = await make_web(approved=True)
    flagged = await web.log.add_approved(
        question="How long do refunds take?",
        text="Five days.",
        approved_by="web-admin",
        source="refunds.md",
        source_hash="0" * 64,  # not the file's: the article changed since it was approved
    )
    await web.admin_login()
    csrf = csrf_of((await web.client.get("/admin/kb")).text)
    await web.client.post("/admin/kb/reload", data={"csrf": csrf}, headers={"origin": BASE})
    job = await finished_reload(web)
    assert job["ok"]
    assert "`" not in job["result"]
    page = (await web.client.get("/admin/kb")).text
    assert "`" not in page, "no Markdown shown literally"
    assert f"<a href='/admin/approved#a{flagged.id}'>#{flagged.id}</a>" in page
    assert "<code>python -m bot answers edit ID</code>" in page
    listed = (await web.client.get("/admin/approved")).text
    assert f"<tr id='a{flagged.id}'>" in listed
    assert "needs review (not served)" in listed
    assert "refunds.md changed" in listed
    assert '<a href="/admin/approved">Approved answers</a>' in page  # in the console's menu


async def test_a_small_talk_reply_is_corrected_for_training_only_and_says_so(make_web: WebFactory) -> None:
    # Small talk is answered before anything is looked up: an approved answer to "Thanks, bye!" would never
    # be served, so none is made and the console does not claim one is.
    web = await make_web(approved=True)
    answered = await ask(web, "Thanks, bye!")
    assert answered["outcome"] == "small_talk"
    await web.admin_login()
    page = (await web.client.get("/admin/conversations/1")).text
    assert "Correct this reply (for training only)" in page
    assert "Correct this answer" not in page
    aid = answered["answer_id"]
    saved = await web.client.post(
        f"/admin/answers/{aid}/correct",
        data={"csrf": csrf_of(page), "cid": "1", "text": "Goodbye, and thank you for using Parcelly."},
        headers={"origin": BASE},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/admin/conversations/1?corrected={aid}#m{aid}"
    shown = (await web.client.get(saved.headers["location"])).text
    notice = html.unescape(shown.split("class='notice' role='status'>")[1].split("</p>")[0])
    assert "the training export uses it" in notice
    assert "not served to customers: this was a fixed reply (outcome small_talk)" in notice
    assert "From now on it is served" not in notice
    assert await web.log.list_approved() == []
    again = await ask(web, "Thanks, bye!")
    assert again["outcome"] == "small_talk"
    # One approved before corrections of small talk stopped being approved is not announced as served.
    old = await web.log.add_approved(
        question="Thanks, bye!", text="Goodbye!", approved_by="web-admin", corrects_answer_id=int(str(aid))
    )
    page = (await web.client.get(f"/admin/conversations/1?corrected={aid}&approved={old.id}")).text
    assert "this was a fixed reply" in page
    assert "From now on it is served" not in page
