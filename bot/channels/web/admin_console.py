"""The admin console (`/admin`): login, overview, content gaps, transcripts, approved answers, KB, export."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from bot.admin import ReloadBusyError, ReloadResult, snippet
from bot.channels.limits import SlidingWindow
from bot.channels.web import charts
from bot.channels.web.deps import EXPORT_CHANNELS, ExportFilters, WebDeps
from bot.channels.web.gaps import cosine_languages, group_gaps
from bot.channels.web.security import FAVICON_LINK, Signer, client_address, is_https
from bot.domain import NOT_LOOKED_UP
from bot.ids import parse_id, storable_id
from bot.kb.base import KBUnavailableError, ReloadProgress
from bot.kb.validate import UnsafeFileError
from bot.store.base import ApprovedAnswer, RecentAnswer, StoreUnavailableError
from bot.unicode import has_words, right_to_left

log = logging.getLogger("bot.channels.web.admin")

SESSION_COOKIE = "bot_admin"
UPLOAD_PATH = "/admin/kb/upload"
LOGIN_ATTEMPTS_PER_MINUTE = 5
CHART_DAYS = 30
GAP_DAYS = 30
GAP_LIMIT = 300
PAGE_SIZE = 50
# Pages beyond this are past any log (50 × 10^9 conversations); the offset must fit the database's integer.
MAX_PAGE = 10**9
MAX_CORRECTION_CHARS = 8000
# A content gap's heading is its first question cut to this many characters (a question may be 8000): the
# whole question is one click away under it.
GAP_TITLE_CHARS = 200
NAV = (
    ("/admin", "Overview"),
    ("/admin/gaps", "Content gaps"),
    ("/admin/conversations", "Conversations"),
    ("/admin/approved", "Approved answers"),
    ("/admin/kb", "Knowledge base"),
    ("/admin/export", "Export"),
)

# What a failed action says, on the console's own page (never as JSON, never with the CSRF token in a URL).
NOT_LOGGED_IN = (
    "You are not logged in (or your session has ended), so nothing was done. Log in and try again."
)
# A form whose CSRF token is missing, or is not this session's (shown before a new login, or forged): the
# console cannot tell which, so the text names no cause.
UNVERIFIED_FORM = (
    "The form could not be verified (its security token is missing or does not match your current login), "
    "so nothing was done. Reload the page and try again."
)

Handler = Callable[[Request], Awaitable[Response]]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def wants_html(request: Request) -> bool:
    """A browser's navigation or form submission (the console's own script fetches JSON)."""
    return "text/html" in request.headers.get("accept", "")


def dir_of(text: str) -> str:
    """The `dir` attribute (with its space) of an element that shows a customer's, the bot's or an operator's
    words on these English pages: right to left for Arabic or Hebrew (`unicode.right_to_left`), so an Arabic
    question keeps its "؟" at its end and a Latin product name at its start; none for other text."""
    return " dir='rtl'" if right_to_left(text) else ""


def said(text: str) -> str:
    """`text` (someone's words) escaped, and isolated inline where it reads right to left (`dir_of`)."""
    return f"<bdi dir='rtl'>{esc(text)}</bdi>" if right_to_left(text) else esc(text)


def alert(problem: str) -> str:
    return f"<p class='error' role='alert'>{esc(problem)}</p>" if problem else ""


class ReloadJob:
    """The one reload (or upload) the console runs at a time, and its live progress."""

    def __init__(self) -> None:
        self.running = False
        self.stage = ""
        self.done = 0
        self.total = 0
        self.result = ""
        self.ok = True
        # The approved answers the last reload flagged for review: told as the console's own notice, with
        # links, not as the CLI's line in the report.
        self.flagged: tuple[int, ...] = ()

    def finish(self, result: ReloadResult) -> None:
        # The review's line is the console's own notice when it flagged answers (the CLI's line otherwise).
        self.result = result.summary if result.flagged else result.text
        self.ok = result.ok
        self.flagged = tuple(a.id for a in result.flagged)

    def on_progress(self, progress: ReloadProgress) -> None:
        # Called from the reload's worker thread: only remember the values.
        self.stage, self.done, self.total = progress.stage, progress.done, progress.total

    def as_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            # Shown as text until the page is loaded again with the notice's links.
            "result": "\n".join([self.result, review_line(self.flagged)]) if self.flagged else self.result,
            "ok": self.ok,
        }


class AdminConsole:
    """Every admin route answers 401 (or redirects to the login) without a valid session; without
    BOT_WEB__ADMIN_TOKEN the console is off (404)."""

    def __init__(self, deps: WebDeps, clock: Callable[[], float] = time.monotonic) -> None:
        self.deps = deps
        self.admin = deps.admin
        token = deps.settings.admin_token
        self.token = token.get_secret_value().encode() if token is not None else None
        self.session_s = deps.settings.admin_session_hours * 3600
        self.signer = Signer(deps.secret_key, "bot.web.admin")
        self.attempts = SlidingWindow(LOGIN_ATTEMPTS_PER_MINUTE, 60.0)
        # Sessions live in this process: a restart or a logout ends them.
        self.sessions: dict[str, float] = {}
        self.job = ReloadJob()
        self._tasks: set[asyncio.Task[None]] = set()
        self.clock = clock

    def routes(self) -> list[Route]:
        guarded: list[tuple[str, Handler, list[str]]] = [
            ("/admin", self.overview, ["GET"]),
            ("/admin/gaps", self.gaps, ["GET"]),
            ("/admin/conversations", self.conversations, ["GET"]),
            ("/admin/conversations/{cid:int}", self.transcript, ["GET"]),
            ("/admin/answers/{aid:int}/correct", self.correct, ["POST"]),
            ("/admin/approved", self.approved_page, ["GET"]),
            ("/admin/kb", self.kb, ["GET"]),
            ("/admin/kb/progress", self.kb_progress, ["GET"]),
            ("/admin/kb/reload", self.kb_reload, ["POST"]),
            (UPLOAD_PATH, self.kb_upload, ["POST"]),
            ("/admin/export", self.export_form, ["GET"]),
            ("/admin/export", self.export, ["POST"]),
            ("/admin/logout", self.logout, ["POST"]),
        ]
        routes = [
            Route("/admin/login", self._on(self.login_form), methods=["GET"]),
            Route("/admin/login", self._on(self.login), methods=["POST"]),
        ]
        routes += [Route(path, self._guard(handler), methods=methods) for path, handler, methods in guarded]
        return routes

    # -- sessions --------------------------------------------------------------------------------

    def _on(self, handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            if self.token is None:
                return HTMLResponse(
                    _page("Admin console off", "<p>The admin console is off: set BOT_WEB__ADMIN_TOKEN.</p>"),
                    status_code=404,
                )
            return await handler(request)

        return wrapped

    def _session(self, request: Request) -> str | None:
        session = self.signer.unsign(request.cookies.get(SESSION_COOKIE), self.session_s)
        if session is None:
            return None
        expires = self.sessions.get(session)
        if expires is None or expires < self.clock():
            self.sessions.pop(session, None)
            return None
        return session

    def _guard(self, handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            session = self._session(request)
            if session is None:
                if request.method != "GET":
                    # A form sent after the session ended: the login page says what happened.
                    return await self.login_form(request, NOT_LOGGED_IN, 401)
                if wants_html(request):
                    return RedirectResponse("/admin/login", status_code=303)
                return JSONResponse({"error": "log in to the admin console first"}, status_code=401)
            request.state.session = session
            if request.method == "POST":
                # The token comes in the form's body only (an upload's too), never in the URL.
                try:
                    form = await self._form(request)
                except HTTPException as exc:
                    return await self._refuse(request, 400, f"The form could not be read: {exc.detail}")
                if not self.signer.csrf_ok(session, str(form.get("csrf", ""))):
                    await form.close()
                    return await self._refuse(request, 403, UNVERIFIED_FORM, form)
            return await handler(request)

        return self._on(wrapped)

    async def _form(self, request: Request) -> FormData:
        if request.url.path == UPLOAD_PATH:
            # One file within the upload limit, and the token.
            limit = self.deps.upload_limit_bytes
            return await request.form(max_files=1, max_fields=2, max_part_size=limit)
        return await request.form()

    async def _refuse(
        self, request: Request, status: int, problem: str, form: FormData | None = None
    ) -> Response:
        """A failed action, told on the page it was started from (logged in)."""
        path = request.url.path
        # A rate limit is told on a plain page: rendering the page it came from is the work it limits.
        if status != 429:
            if path.startswith("/admin/kb"):
                return await self.kb(request, problem, status)
            if path == "/admin/export":
                return await self.export_form(request, problem, status)
            cid = parse_id(str(form.get("cid", ""))) if form is not None else None
            if path.startswith("/admin/answers/") and cid is not None:
                return await self._transcript_page(request, cid, problem, status)
        back = "/admin/conversations" if path.startswith("/admin/answers/") else "/admin"
        body = f"{alert(problem)}<p><a href='{back}'>Back</a></p>"
        title = "Not done" if request.method == "POST" else "Admin console"
        return self._layout(request, title, body, status_code=status)

    async def refusal(self, scope: Scope, status: int, problem: str) -> Response:
        """What the guard's refusal of a console page or form (rate limit, body size, origin) shows a browser:
        the console's own page with the reason (the login page without a session). The body is not read."""
        if self.token is None:
            return HTMLResponse(_page("Admin console", f"<main>{alert(problem)}</main>"), status_code=status)
        request = Request(scope)
        session = self._session(request)
        if session is None:
            return await self.login_form(request, problem, status)
        request.state.session = session
        if status == 413 and request.url.path == UPLOAD_PATH:
            problem = f"The file is too large: a document is at most {_size(self.deps.upload_limit_bytes)}."
        return await self._refuse(request, status, problem)

    async def login_form(self, request: Request, problem: str = "", status: int = 200) -> Response:
        body = (
            "<main class='login'><h1>Admin console</h1>"
            f"{alert(problem)}<form method='post' action='/admin/login'>"
            "<label for='token'>Admin token</label>"
            "<input id='token' name='token' type='password' autocomplete='current-password' required>"
            "<button type='submit'>Log in</button></form></main>"
        )
        return HTMLResponse(_page("Admin login", body), status_code=status)

    async def login(self, request: Request) -> Response:
        assert self.token is not None  # noqa: S101 - _on() lets no request through without one
        address = client_address(request.scope)
        if not self.attempts.allows(address, self.clock()):
            log.warning("admin login rate-limited", extra={"address": address})
            return await self.login_form(request, "Too many attempts; wait a minute.", 429)
        given = str((await request.form()).get("token", "")).encode()
        if not hmac.compare_digest(given, self.token):
            log.warning("admin login refused: wrong token", extra={"address": address})
            return await self.login_form(request, "Wrong token.", 401)
        session = secrets.token_urlsafe(24)
        self.sessions = {s: e for s, e in self.sessions.items() if e >= self.clock()}
        self.sessions[session] = self.clock() + self.session_s
        log.info("admin logged in to the web console", extra={"address": address})
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            self.signer.sign(session),
            max_age=int(self.session_s),
            httponly=True,
            secure=is_https(request.scope),
            samesite="strict",
            path="/admin",
        )
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.pop(request.state.session, None)
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    def _layout(self, request: Request, title: str, body: str, *, status_code: int = 200) -> HTMLResponse:
        csrf = self.signer.csrf(request.state.session)
        links = "".join(
            f'<a href="{href}"{" aria-current=page" if request.url.path == href else ""}>{label}</a>'
            for href, label in NAV
        )
        nav = (
            f"<nav aria-label='Admin'>{links}<form method='post' action='/admin/logout' class='inline'>"
            f"<input type='hidden' name='csrf' value='{csrf}'>"
            "<button type='submit'>Log out</button></form></nav>"
        )
        return HTMLResponse(
            _page(f"{title} · Admin", f"{nav}<main><h1>{esc(title)}</h1>{body}</main>", csrf=csrf),
            status_code=status_code,
        )

    # -- pages -----------------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        try:
            stats, latest = await self.admin.stats_and_latest(self.deps.conversations.waiting_figures())
            days = await self.deps.insights.daily(CHART_DAYS)
        except StoreUnavailableError:
            return self._layout(request, "Overview", "<p class='error'>The database is unavailable.</p>")
        when = [d.day for d in days]
        body = (
            f"<pre class='stats'>{esc(stats)}</pre>{self._latest(latest)}"
            f"<h2>Last {CHART_DAYS} days</h2><div class='charts'>"
            + charts.bar_chart(
                "Answers and refusals per day",
                when,
                [
                    ("answers", [d.answers for d in days], "s-answers"),
                    ("refusals", [d.refusals for d in days], "s-refusals"),
                    ("handoffs", [d.handoffs for d in days], "s-handoffs"),
                ],
            )
            + charts.bar_chart(
                "Feedback per day",
                when,
                [
                    ("👍", [d.thumbs_up for d in days], "s-up"),
                    ("👎", [d.thumbs_down for d in days], "s-down"),
                ],
            )
            + charts.line_chart(
                "Median answer time per day", when, [d.latency_p50_ms for d in days], " ms", "s-latency"
            )
            + "</div>"
        )
        return self._layout(request, "Overview", body)

    def _latest(self, latest: Sequence[RecentAnswer]) -> str:
        """The latest answers, each a link to it in its transcript, where it is corrected."""
        items = "".join(
            f"<li>{_answer_link(a)} {esc(a.outcome or '?')} — {said(snippet(a.question))}</li>"
            for a in latest
        )
        served = (
            ", which is then served as the approved answer to that question and its rewordings"
            if self.deps.conversations.approved is not None
            else ""
        )
        how = (
            "<p class='meta'>Each opens the answer in its conversation; “Correct this answer” under it "
            f"stores your correction{served}.</p>"
        )
        listed = f"<ul class='latest'>{items}</ul>" if items else "<p>None yet.</p>"
        return f"<h2>Latest answers</h2>{how if items else ''}{listed}"

    async def gaps(self, request: Request) -> Response:
        try:
            questions = await self.deps.insights.gap_questions(GAP_DAYS, GAP_LIMIT)
        except StoreUnavailableError:
            return self._layout(request, "Content gaps", "<p class='error'>The database is unavailable.</p>")
        async with contextlib.AsyncExitStack() as held:
            embedder = None
            if self.deps.embedder is not None:
                try:
                    embedder = await held.enter_async_context(self.deps.embedder())
                except Exception as exc:
                    log.warning("gaps grouped without the embedder", extra={"error": str(exc)})
            calibration = None
            if embedder is not None:
                # Where it found the embedder weaker than on English, a language's questions group by their
                # words.
                try:
                    calibration = await self.admin.kb.calibration()
                except KBUnavailableError as exc:
                    log.warning("gaps grouped without the calibration", extra={"error": str(exc)})
            cosine = cosine_languages(calibration)
            groups = await asyncio.to_thread(group_gaps, questions, embedder, cosine=cosine)
        if not groups:
            body = f"<p>No refused or 👎 questions in the last {GAP_DAYS} days.</p>"
            return self._layout(request, "Content gaps", body)
        items = []
        for group in groups:
            asked = "".join(
                f"<li><a href='/admin/conversations/{q.conversation_id}'>{said(q.question)}</a>"
                f" <span class='meta'>{esc(q.outcome)}{' · 👎' if q.rating == 'down' else ''}"
                f" · {q.asked_at:%Y-%m-%d %H:%M}</span></li>"
                for q in group.questions
            )
            articles = ", ".join(f"{esc(a)} ({n})" for a, n in group.articles) or "nothing retrieved"
            comments = "".join(f"<li>{said(c)}</li>" for c in group.comments)
            heading = shortened(group.title, GAP_TITLE_CHARS)
            whole = (
                f"<details class='whole'><summary>Whole question ({len(group.title)} characters)</summary>"
                f"<p class='text'{dir_of(group.title)}>{esc(group.title)}</p></details>"
                if heading != " ".join(group.title.split())
                else ""
            )
            items.append(
                "<section class='gap'>"
                f"<h2{dir_of(heading)}>{esc(heading)}</h2>{whole}"
                f"<p class='meta'>{group.count} question{'' if group.count == 1 else 's'} · "
                f"{group.refused} refused · "
                f"{group.thumbs_down} 👎</p>"
                f"<p>Article retrieved: {articles}</p>"
                + (f"<h3>Comments</h3><ul class='comments'>{comments}</ul>" if comments else "")
                + f"<details><summary>Questions</summary><ul>{asked}</ul></details></section>"
            )
        intro = (
            f"<p>Refused and 👎 questions of the last {GAP_DAYS} days, grouped by meaning; the biggest "
            "groups first: these are what the help center should answer next.</p>"
        )
        return self._layout(request, "Content gaps", intro + "".join(items))

    async def conversations(self, request: Request) -> Response:
        query = request.query_params.get("q", "")[:200]
        page = request.query_params.get("page", "0")
        number = parse_id(page)
        # A page past the end shows "no more"; one that big is not a page at all.
        offset = number * PAGE_SIZE if number is not None and number <= MAX_PAGE else 0
        try:
            found = await self.deps.insights.conversations(query, limit=PAGE_SIZE, offset=offset)
        except StoreUnavailableError:
            return self._layout(request, "Conversations", "<p class='error'>The database is unavailable.</p>")
        rows = "".join(
            f"<tr><td><a href='/admin/conversations/{c.id}'>#{c.id}</a></td><td>{esc(c.channel)}</td>"
            f"<td>{c.last_message_at:%Y-%m-%d %H:%M}</td><td>{c.messages}</td><td>{esc(c.handoff)}</td>"
            f"<td{dir_of(c.first_question)}>{esc(c.first_question[:120])}</td></tr>"
            for c in found
        )
        form = (
            "<form method='get' action='/admin/conversations' role='search'>"
            "<label for='q'>Search messages</label>"
            f"<input id='q' name='q' value='{esc(query)}' dir='auto'>"
            "<button type='submit'>Search</button></form>"
        )
        table = (
            "<table><thead><tr><th>#</th><th>Channel</th><th>Last message</th><th>Messages</th>"
            f"<th>Handoff</th><th>First message</th></tr></thead><tbody>{rows}</tbody></table>"
            if found
            else "<p>No conversations found.</p>"
        )
        more = (
            f"<p><a href='/admin/conversations?q={quote(query)}&page={offset // PAGE_SIZE + 1}'>Older</a></p>"
            if len(found) == PAGE_SIZE
            else ""
        )
        return self._layout(request, "Conversations", form + table + more)

    async def transcript(self, request: Request) -> Response:
        corrected = parse_id(request.query_params.get("corrected", ""))
        approved = parse_id(request.query_params.get("approved", ""))
        if corrected is not None and approved is not None and not await self._corrects(approved, corrected):
            # The ids come back in the URL: a page only says "saved as approved answer #N" when it is so.
            corrected = None
        saved = (corrected, approved) if corrected is not None else None
        return await self._transcript_page(request, int(request.path_params["cid"]), saved=saved)

    async def _transcript_page(
        self,
        request: Request,
        cid: int,
        problem: str = "",
        status: int = 200,
        draft: tuple[int, str] | None = None,
        saved: tuple[int, int | None] | None = None,
    ) -> Response:
        """A conversation's transcript; with `problem` on top, and a correction that was not saved (`draft`:
        the answer's id and the text) back in its form, or one just saved (`saved`: the answer's id and the
        approved answer it became) confirmed under it."""
        title = f"Conversation #{cid}"
        if storable_id(cid) is None:
            return self._layout(
                request, title, f"{alert(problem)}<p>No such conversation.</p>", status_code=status
            )
        try:
            messages = await self.deps.insights.transcript(cid)
        except StoreUnavailableError:
            body = f"{alert(problem)}<p class='error'>The database is unavailable.</p>"
            return self._layout(request, "Conversation", body, status_code=status)
        if not messages:
            return self._layout(
                request, title, f"{alert(problem)}<p>No such conversation.</p>", status_code=status
            )
        csrf = self.signer.csrf(request.state.session)
        items = []
        for m in messages:
            meta = f"{m.created_at:%Y-%m-%d %H:%M:%S}"
            extra = ""
            if m.role == "assistant":
                latency = f" · {m.total_ms:.0f} ms" if m.total_ms is not None else ""
                meta += (
                    f" · outcome {esc(m.outcome)} · model {esc(m.model_name or '-')} "
                    f"{esc(m.model_version or '')} · prompt {esc(m.prompt_version or '-')}{latency}"
                )
                if m.rating or m.comment:
                    meta += f" · feedback {'👍' if m.rating == 'up' else '👎' if m.rating else ''}"
                    # Labelled and set apart: unlabelled, the customer's words read as part of the answer.
                    extra += (
                        "<p class='comment'><span class='label'>Customer's feedback comment:</span> "
                        f"{said(m.comment)}</p>"
                        if m.comment
                        else ""
                    )
                if m.correction:
                    extra += f"<p class='correction'>Correction: {said(m.correction)}</p>"
                    if saved is not None and saved[0] == m.id:
                        extra += self._saved_notice(saved[1], m.outcome)
                passages = "".join(
                    f"<li><strong>[{p.rank}] {esc(p.source)}{' › ' + said(p.heading) if p.heading else ''}"
                    f"</strong> <span class='meta'>score {p.score:.3f}"
                    f"{' · cited' if p.rank in m.citations else ''}</span>"
                    f"<pre{dir_of(p.text)}>{esc(p.text)}</pre></li>"
                    for p in m.passages
                )
                if passages:
                    extra += f"<details><summary>Retrieved passages</summary><ol>{passages}</ol></details>"
                if m.see_also:
                    # What the customer was offered besides the sources: a wrong answer whose right section
                    # sat here is a retrieval miss by one rank, not a missing article.
                    listed = ", ".join(
                        esc(s.source) + (" › " + said(s.heading) if s.heading else "") for s in m.see_also
                    )
                    extra += f"<p class='meta see-also'>See also: {listed}</p>"
                unsaved = draft[1] if draft is not None and draft[0] == m.id else None
                # A fixed reply (small talk, …) is made before anything is looked up, approved answers
                # included: its correction only trains, and the form says so before it is typed.
                fixed = m.outcome in NOT_LOOKED_UP
                summary = "Correct this reply (for training only)" if fixed else "Correct this answer"
                note = (
                    "<p class='meta'>A fixed reply: nothing is looked up for such messages, so a correction "
                    "is never served to customers; the training export uses it.</p>"
                    if fixed
                    else ""
                )
                extra += (
                    f"<details{' open' if unsaved is not None else ''}><summary>{summary}</summary>{note}"
                    f"<form method='post' action='/admin/answers/{m.id}/correct'>"
                    f"<input type='hidden' name='csrf' value='{csrf}'>"
                    f"<input type='hidden' name='cid' value='{cid}'>"
                    f"<label for='fix{m.id}'>Corrected answer</label>"
                    f"<textarea id='fix{m.id}' name='text' rows='4' dir='auto' required>{esc(unsaved or '')}"
                    "</textarea>"
                    "<button type='submit'>Save correction</button></form></details>"
                )
            items.append(
                f"<li class='msg {esc(m.role)}' id='m{m.id}'><p class='meta'>{esc(m.role)} · {meta}</p>"
                f"<p class='text'{dir_of(m.text)}>{esc(m.text)}</p>{extra}</li>"
            )
        body = f"{alert(problem)}<ol class='transcript'>{''.join(items)}</ol>"
        return self._layout(request, title, body, status_code=status)

    async def _corrects(self, approved: int, answer: int) -> bool:
        """Whether approved answer `approved` is the correction of logged answer `answer`."""
        try:
            found = await self.admin.approved_answers()
        except StoreUnavailableError:
            return False
        return any(a.id == approved and a.corrects_answer_id == answer for a in found or ())

    def _saved_notice(self, approved: int | None, outcome: str | None = None) -> str:
        """What a saved correction now does: the training export's text and, as an approved answer, what
        customers asking that question are sent (never for a reply of `outcome` made without looking
        anything up, whatever the URL says)."""
        if outcome in NOT_LOOKED_UP:
            said = (
                "✅ Correction saved: the training export uses it instead of the bot's reply. It is not "
                f"served to customers: this was a fixed reply (outcome {esc(outcome)}), and such messages "
                "are answered without looking anything up, approved answers included."
            )
        elif approved is not None:
            said = (
                "✅ Correction saved as approved answer "
                f"<a href='/admin/approved#a{approved}'>#{approved}</a>. From now on it is served, as "
                "“Approved answer”, to this question and to questions that ask the same in other words, "
                "instead of a generated answer; the training export uses it too. "
                "Correcting this answer again replaces its text; to stop serving it, run "
                f"<code>python -m bot answers retire {approved}</code> on the server."
            )
        elif self.deps.conversations.approved is None:
            said = (
                "✅ Correction saved: the training export uses it instead of the bot's answer. This bot "
                "serves no approved answers, so customers are not sent it."
            )
        else:
            said = (
                "✅ Correction saved: the training export uses it instead of the bot's answer. It is not "
                "served to customers: the question it answers has no words to match (only emoji or "
                "symbols, or it is no longer in the log), and such a question is never matched to an "
                "approved answer."
            )
        return f"<p class='notice' role='status'>{said}</p>"

    async def correct(self, request: Request) -> Response:
        """An admin's corrected answer: the same correction the Telegram ✏️ button stores."""
        aid = int(request.path_params["aid"])
        form = await request.form()
        text = str(form.get("text", "")).strip()
        cid = parse_id(str(form.get("cid", "")))

        async def not_saved(problem: str, status: int) -> Response:
            # Told on the transcript the form is on, with the text back in the form.
            if cid is None:
                body = f"{alert(problem)}<p><a href='/admin/conversations'>Back to the conversations</a></p>"
                return self._layout(request, "Correction not saved", body, status_code=status)
            return await self._transcript_page(request, cid, problem, status, draft=(aid, text))

        if storable_id(aid) is None:
            return await not_saved(f"There is no answer {aid} in the log.", 404)
        if not text or len(text) > MAX_CORRECTION_CHARS:
            return await not_saved(f"A correction is 1 to {MAX_CORRECTION_CHARS} characters.", 400)
        if not has_words(text):
            return await not_saved("A correction needs words, not only emoji or symbols.", 400)
        try:
            approved = await self.deps.conversations.correct(aid, "web-admin", text)
        except ValueError as exc:
            return await not_saved(f"The correction was not saved: {exc}.", 404)
        except StoreUnavailableError:
            return await not_saved("The database is unavailable; the correction was not saved.", 503)
        if cid is None:
            return RedirectResponse("/admin/conversations", status_code=303)
        # The transcript confirms it under the answer (ids only: the page reads the correction from the log).
        became = f"&approved={approved.id}" if approved is not None else ""
        return RedirectResponse(f"/admin/conversations/{cid}?corrected={aid}{became}#m{aid}", status_code=303)

    async def approved_page(self, request: Request) -> Response:
        """The approved answers, read-only: what is served, what waits for review, where to change them."""
        title = "Approved answers"
        try:
            found = await self.admin.approved_answers()
        except StoreUnavailableError:
            return self._layout(request, title, "<p class='error'>The database is unavailable.</p>")
        if found is None:
            return self._layout(request, title, "<p>This bot keeps no approved answers.</p>")
        intro = (
            "<p>An admin's correction (here under “Correct this answer” in a transcript, in Telegram or on "
            "the command line) becomes an approved answer: an <strong>active</strong> one is served to the "
            "question and its rewordings; one that <strong>needs review</strong> (its article changed or "
            "went away at a reload) is not served until reviewed; operators' <strong>candidates</strong> "
            "and <strong>retired</strong> ones never are. This list is read-only; change them on the "
            "server: <code>python -m bot answers edit ID</code> (with or without changes it approves a "
            "flagged one again against the article as it is now), <code>python -m bot answers retire "
            "ID</code>, <code>python -m bot answers approve --candidate ID</code>.</p>"
        )
        if not found:
            return self._layout(request, title, intro + "<p>None yet.</p>")
        rows = "".join(_approved_row(a) for a in sorted(found, key=_approved_order))
        table = (
            "<table><thead><tr><th>#</th><th>Status</th><th>Question</th><th>Answer</th><th>Article</th>"
            f"<th>Approved</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        return self._layout(request, title, intro + table)

    async def kb(self, request: Request, problem: str = "", status: int = 200) -> Response:
        try:
            stats = await self.admin.kb.stats()
            indexed = (
                f"<p>{stats.documents} documents, {stats.chunks} chunks ({esc(stats.backend)}, index "
                f"{esc(stats.index)}{', built ' + esc(stats.built_at) if stats.built_at else ''})</p>"
            )
        except KBUnavailableError as exc:
            indexed = f"<p class='error'>The knowledge base is unavailable: {esc(exc)}</p>"
        files = await asyncio.to_thread(_files, self.admin.kb_source)
        rows = "".join(f"<tr><td>{esc(name)}</td><td>{size / 1024:.1f} KB</td></tr>" for name, size in files)
        csrf = self.signer.csrf(request.state.session)
        job = self.job
        shown = esc(job.result) if not job.running else "Reloading…"
        body = (
            f"{alert(problem)}<h2>Indexed</h2>{indexed}"
            f"<h2>Reload</h2><form method='post' action='/admin/kb/reload'>"
            f"<input type='hidden' name='csrf' value='{csrf}'>"
            f"<button type='submit'>Reload the knowledge base</button></form>"
            f"<div id='progress' role='status' aria-live='polite' data-running='{str(job.running).lower()}'>"
            f"<pre>{shown}</pre><progress max='1' value='0' hidden></progress></div>"
            f"{review_notice(job.flagged) if job.flagged and not job.running else ''}"
            f"<h2>Add a document</h2><form method='post' action='{UPLOAD_PATH}' "
            "enctype='multipart/form-data'>"
            f"<input type='hidden' name='csrf' value='{csrf}'><label for='file'>Document</label>"
            "<input id='file' name='file' type='file' required><button type='submit'>Upload</button></form>"
            f"<h2>Files in {esc(self.admin.kb_source)}</h2>"
            f"<table><thead><tr><th>File</th><th>Size</th></tr></thead><tbody>{rows}</tbody></table>"
            "<script src='/static/admin.js' defer></script>"
        )
        return self._layout(request, "Knowledge base", body, status_code=status)

    async def kb_progress(self, request: Request) -> Response:
        return JSONResponse(self.job.as_json())

    def _start(self, run: Callable[[], Awaitable[ReloadResult]]) -> None:
        job = self.job
        job.running, job.stage, job.done, job.total, job.result, job.ok = True, "", 0, 0, "", True
        job.flagged = ()

        async def work() -> None:
            try:
                job.finish(await run())
            except ReloadBusyError as exc:
                job.result, job.ok = str(exc), False
            except Exception:
                log.exception("console reload failed")
                job.result, job.ok = "The reload failed; see the bot's log.", False
            finally:
                job.running = False

        task = asyncio.get_running_loop().create_task(work())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def kb_reload(self, request: Request) -> Response:
        if self.job.running or self.admin.reloading:
            self.job.result = "A reload is already running."
        else:
            self._start(lambda: self.admin.reload(self.job.on_progress))
        return RedirectResponse("/admin/kb", status_code=303)

    async def kb_upload(self, request: Request) -> Response:
        form = await self._form(request)  # read (within the upload limits) and checked by the guard
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                return await self.kb(request, "Choose a file to upload.", 400)
            name, data = upload.filename, await upload.read()
        finally:
            await form.close()  # the spooled temporary file
        # Refusals are told on the page itself: the reload's report (`job.result`) is overwritten by the
        # reload that runs, and a file refused during one was dropped with no word.
        try:
            safe = self.admin.check_upload(name, data)
        except UnsafeFileError as exc:
            return await self.kb(request, f"{name} was not added: {exc}", 400)
        if self.job.running or self.admin.reloading:
            return await self.kb(
                request,
                f"{name} was not added: a reload is running. Upload it again when the reload has finished.",
                409,
            )
        self._start(lambda: self.admin.add_document(safe, data, self.job.on_progress))
        return RedirectResponse("/admin/kb", status_code=303)

    async def export_form(self, request: Request, problem: str = "", status_code: int = 200) -> Response:
        csrf = self.signer.csrf(request.state.session)
        formats = "".join(f"<option>{esc(name)}</option>" for name in self.deps.export_formats)
        # Repeated as the CLI's --channel is: each checked box is one channel.
        channels = "".join(
            f"<label><input name='channel' type='checkbox' value='{esc(name)}'> {esc(name)}</label>"
            for name in EXPORT_CHANNELS
        )
        body = (
            f"{alert(problem)}<p>The PII-redacted training export, with the same filters as "
            "<code>python -m bot export</code>.</p>"
            f"<form method='post' action='/admin/export' class='grid'>"
            f"<input type='hidden' name='csrf' value='{csrf}'>"
            f"<label for='format'>Format</label><select id='format' name='format'>{formats}</select>"
            "<label for='since'>Since</label><input id='since' name='since' type='date'>"
            "<label for='until'>Until</label><input id='until' name='until' type='date'>"
            "<label for='min_rating'>Minimum rating</label><select id='min_rating' name='min_rating'>"
            "<option>any</option><option>unrated</option><option>up</option></select>"
            "<label for='ctx'>Include context</label><input id='ctx' name='include_context' type='checkbox'>"
            "<label for='grounded'>Grounded only</label>"
            "<input id='grounded' name='grounded_only' type='checkbox'>"
            "<span id='channels'>Channels</span><div role='group' aria-labelledby='channels' "
            f"aria-describedby='channels-hint' class='choices'>{channels}"
            "<span id='channels-hint' class='meta'>None checked: every channel, the console's "
            "<code>ask</code>/<code>chat</code> sessions of admins and testers included.</span></div>"
            "<button type='submit'>Download</button></form>"
        )
        return self._layout(request, "Export", body, status_code=status_code)

    async def export(self, request: Request) -> Response:
        if self.deps.export is None:
            return await self.export_form(request, "The export is not configured for this bot.")
        form = await request.form()
        try:
            since, until = (_date(str(form.get(name, ""))) for name in ("since", "until"))
            rating = str(form.get("min_rating", "any"))
            if rating not in ("any", "unrated", "up"):
                raise ValueError("minimum rating is any, unrated or up")
            if since is not None and until is not None and since > until:
                raise ValueError("the Since date must be on or before the Until date")
            channels = _channels(form.getlist("channel"))
            filters = ExportFilters(
                format=str(form.get("format", "openai")),
                since=since,
                until=until,
                min_rating=rating,  # type: ignore[arg-type]
                include_context=form.get("include_context") is not None,
                grounded_only=form.get("grounded_only") is not None,
                channels=channels,
            )
        except ValueError as exc:
            return await self.export_form(request, str(exc), status_code=400)
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="bot-web-export-"))
        out = folder / f"export-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl"
        try:
            summary = await self.deps.export(out, filters)
        except ValueError as exc:
            return await self.export_form(request, str(exc), status_code=400)
        except StoreUnavailableError:
            return await self.export_form(request, "The database is unavailable.", status_code=503)
        size = await asyncio.to_thread(lambda: out.stat().st_size if out.is_file() else 0)
        if size == 0:
            await asyncio.to_thread(_remove, folder)
            return await self.export_form(request, f"The export is empty: {summary}.")
        log.info("export downloaded from the web console", extra={"summary": summary})
        return FileResponse(
            out,
            media_type="application/jsonl",
            filename=out.name,
            background=BackgroundTask(asyncio.to_thread, _remove, folder),
        )


APPROVED_ORDER = {"needs_review": 0, "active": 1, "candidate": 2, "retired": 3}
STATUS_SHOWN = {
    "active": "active (served)",
    "needs_review": "needs review (not served)",
    "candidate": "candidate (not served)",
    "retired": "retired (not served)",
}


def _answers(n: int) -> str:
    return "1 approved answer cites" if n == 1 else f"{n} approved answers cite"


def review_line(flagged: Sequence[int]) -> str:
    """The reload's note on flagged approved answers as plain text (shown until the page is loaded anew)."""
    ids = ", ".join(f"#{i}" for i in flagged)
    return (
        f"⚠️ {_answers(len(flagged))} an article that changed or went away and "
        f"{'is' if len(flagged) == 1 else 'are'} not served until reviewed: {ids} (see Approved answers)."
    )


def review_notice(flagged: Sequence[int]) -> str:
    """The same note on the Knowledge base page: each answer a link to it, and how to review it."""
    links = ", ".join(f"<a href='/admin/approved#a{i}'>#{i}</a>" for i in flagged)
    return (
        f"<p class='notice' role='status'>⚠️ {_answers(len(flagged))} an article that changed or went away "
        f"and {'is' if len(flagged) == 1 else 'are'} not served until reviewed: {links}. To review one, run "
        "<code>python -m bot answers edit ID</code> on the server: with or without changes, it approves the "
        "answer again against the article as it is now; <code>python -m bot answers retire ID</code> stops "
        "serving it.</p>"
    )


def _answer_link(answer: RecentAnswer) -> str:
    if answer.conversation_id is None:
        return f"#{answer.id}"
    return f"<a href='/admin/conversations/{answer.conversation_id}#m{answer.id}'>#{answer.id}</a>"


def _approved_order(answer: ApprovedAnswer) -> tuple[int, int]:
    return APPROVED_ORDER.get(answer.status, len(APPROVED_ORDER)), answer.id


def _approved_row(answer: ApprovedAnswer) -> str:
    status = esc(STATUS_SHOWN.get(answer.status, answer.status))
    if answer.review_reason and answer.status == "needs_review":
        status += f"<br><span class='meta'>{esc(answer.review_reason)}</span>"
    corrects = (
        f"<br><span class='meta'>corrects answer #{answer.corrects_answer_id}</span>"
        if answer.corrects_answer_id is not None
        else ""
    )
    return (
        f"<tr id='a{answer.id}'><td>#{answer.id}</td><td>{status}</td>"
        f"<td{dir_of(answer.question)}>{esc(answer.question)}</td>"
        f"<td><details><summary>{said(snippet(answer.text, 80))}</summary>"
        f"<p class='text'{dir_of(answer.text)}>{esc(answer.text)}</p></details></td>"
        f"<td>{esc(answer.source or 'none')}</td>"
        f"<td>{esc(answer.approved_by)}<br><span class='meta'>{answer.updated_at:%Y-%m-%d %H:%M}</span>"
        f"{corrects}</td></tr>"
    )


def shortened(text: str, limit: int) -> str:
    """`text` on one line, cut at the last word boundary within `limit` characters with "…" when longer (at
    `limit` itself when no boundary is in its second half: Chinese, a long URL)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    # The last space that leaves room for "…" (the one just after a word that fits whole included).
    space = flat.rfind(" ", 0, limit)
    cut = flat[:space] if space > limit // 2 else flat[: limit - 1]
    return (cut.rstrip(" ,;:.-") or cut) + "…"


def _date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _channels(values: Sequence[object]) -> tuple[str, ...]:
    """The channels checked on the export form, in `EXPORT_CHANNELS`' order (none: every channel)."""
    chosen = {str(value) for value in values}
    unknown = sorted(chosen.difference(EXPORT_CHANNELS))
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not a channel; choose from {', '.join(EXPORT_CHANNELS)}")
    return tuple(name for name in EXPORT_CHANNELS if name in chosen)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _files(source: Path) -> list[tuple[str, int]]:
    if not source.is_dir():
        return []
    return sorted(
        (p.relative_to(source).as_posix(), p.stat().st_size)
        for p in source.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts)
    )


def _remove(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink(missing_ok=True)
    folder.rmdir()


def _page(title: str, body: str, *, csrf: str = "") -> str:
    meta = f'<meta name="csrf" content="{csrf}">' if csrf else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>{meta}{FAVICON_LINK}"
        '<link rel="stylesheet" href="/static/admin.css"></head>'
        f"<body class='admin'>{body}</body></html>"
    )
