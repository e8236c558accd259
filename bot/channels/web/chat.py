"""The widget's API: a visitor cookie, streamed answers (Server-Sent Events), history, feedback, handoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bot import texts
from bot.channels.limits import SlidingWindow
from bot.channels.web import texts as web_texts
from bot.channels.web.deps import WebDeps
from bot.channels.web.sections import section_href
from bot.channels.web.security import CSRF_HEADER, Signer, is_https
from bot.conversation import RATEABLE, Customer, Reply, Waiting
from bot.domain import Delta, Source
from bot.ids import parse_id
from bot.language import UNDETERMINED
from bot.store.base import ConversationRef, StoreUnavailableError
from bot.store.insights import TranscriptMessage
from bot.unicode import encodable

log = logging.getLogger("bot.channels.web")

VISITOR_COOKIE = "bot_visitor"
VISITOR_MAX_AGE_S = 30 * 24 * 3600
MAX_COMMENT_CHARS = 2000
HISTORY_MESSAGES = 200
KEEPALIVE_S = 15.0
# How long a finished answer stays ready for a widget that reloaded while it was written (the page asks for
# it right after `/api/session` said it was still being written).
FLIGHT_KEEP_S = 120.0
ACTIONS_PER_MINUTE = 30  # per visitor: 👍/👎, comments, handoff, new conversation
# Typed, it is the "New conversation" button: the handoff notice says "Send /new if you'd rather continue
# with me" in every channel, and the console and Telegram take it too. (A typed "/human" needs nothing
# here: the service reads it as a request for a person, as it reads "human".)
NEW_COMMAND = "/new"

T = TypeVar("T")


def language_hint(request: Request) -> str:
    """The first language of the browser's Accept-Language ("und" when it sends none)."""
    return web_texts.browser_language(request.headers.get("accept-language", ""))


def sources_json(items: Sequence[tuple[str, Source]], *, sections: bool = True) -> list[dict[str, str]]:
    """Each source once, with the `[n]` marks the text cites it by ("" when none), its title as customers
    read it (`Source.display_name`) and link: to its section (`sections.section_href`), or, with
    `sections=False`, to its page only (the heading is a label, as an approved answer's is)."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for label, src in items:
        source, heading, url = src.source, src.heading, src.url
        known = out.get((source, heading))
        if known is not None:
            # Two cited passages of one section: one entry, both marks.
            known["label"] += label
            continue
        # An approved answer that cites no article has nothing to link to (not the help center's index).
        href = section_href(source, heading, url, section=sections) if source or url else ""
        out[(source, heading)] = {"label": label, "title": src.display_name, "href": href}
    return list(out.values())


def _see_also_json(sections: Sequence[Source]) -> list[dict[str, str]]:
    return sources_json([("", s) for s in sections])


def reply_json(reply: Reply) -> dict[str, Any]:
    """The final event of an answer: what to show and which buttons go under it."""
    answer = reply.answer
    return {
        "kind": reply.kind,
        "text": reply.text,
        "answer_id": reply.answer_id,
        "sources": sources_json(
            [
                ("" if label == "•" else label, s)
                for label, s in zip(answer.source_labels, answer.sources, strict=True)
            ]
            if answer
            else [],
            # An approved answer's heading is the words "Approved answer", not a section of its article.
            sections=answer is None or answer.outcome != "approved",
        ),
        "see_also": _see_also_json(answer.see_also if answer else ()),
        "rateable": reply.rateable,
        "offer_human": reply.offer_human,
        "handed_off": reply.handed_off,
        "outcome": answer.outcome if answer else None,
        # The widget's labels follow the answer's language (`applyLabels` in widget.js); a message of no
        # language ("👍") leaves them as they are.
        **(
            {
                "language": texts.shown_language(reply.language),
                "dir": texts.direction(reply.language),
                "labels": web_texts.labels(reply.language),
            }
            if reply.language != UNDETERMINED
            else {}
        ),
    }


def waiting_json(waiting: Waiting) -> dict[str, Any]:
    """A place-in-line notice: the text to show, and the figures in it."""
    estimate = None if waiting.estimate_s is None else round(waiting.estimate_s)
    return {"text": waiting.text, "position": waiting.position, "estimate_s": estimate}


def history_json(message: TranscriptMessage) -> dict[str, Any]:
    """One logged message as the widget shows it again after a reload."""
    item: dict[str, Any] = {"id": message.id, "role": message.role, "text": message.text}
    if message.role == "assistant":
        cited = [p for p in message.passages if p.rank in message.citations]
        if not cited and message.outcome == "extracted" and message.passages:
            cited = [message.passages[0]]
        item.update(
            answer_id=message.id,
            sources=sources_json(
                [(f"[{p.rank}]", Source(p.source, p.heading, p.url, p.title)) for p in cited],
                # As live (`reply_json`): an approved answer's heading is a label, not a section to open.
                sections=message.outcome != "approved",
            ),
            # Logged with the answer (none on answers logged before they were).
            see_also=_see_also_json(message.see_also),
            # The service's rule, as for a live answer (`Reply.rateable`).
            rateable=message.outcome in RATEABLE,
            rating=message.rating,
            outcome=message.outcome,
        )
    return item


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class BadRequest(Exception):
    """The request body is not what the endpoint expects; the message says what is."""


async def json_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: a small body of nested brackets ("[[[[…") exhausts the decoder's stack.
        raise BadRequest("the body must be JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    # JSON may escape lone surrogates ("\\ud800"), which no store or detector can encode.
    return {key: encodable(value) if isinstance(value, str) else value for key, value in data.items()}


# The name of the task that writes one visitor's answer (`WidgetApi.ask`).
ANSWER_TASK = "web answer"


class Flight:
    """The events of one answer as the service writes it, for every connection that follows it.

    The answer is written by a task of its own, not by the request that asked: a visitor who reloads the page
    (or follows a link to another page with the widget) while it streams does not stop it. It is logged as
    usual, and the reloaded widget follows it again from its first event (`/api/resume`).
    """

    def __init__(self) -> None:
        self.events: list[bytes] = []
        self.done = False
        self._wake = asyncio.Event()

    def push(self, event: bytes) -> None:
        self.events.append(event)
        self._signal()

    def finish(self) -> None:
        self.done = True
        self._signal()

    def _signal(self) -> None:
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    async def follow(self) -> AsyncIterator[bytes]:
        """Every event so far, then each new one as it comes, until the answer is finished."""
        sent = 0
        while True:
            wake = self._wake
            if sent < len(self.events):
                sent += 1
                yield self.events[sent - 1]
            elif self.done:
                return
            else:
                await wake.wait()


class WidgetApi:
    """The endpoints the widget calls. A visitor is a random id in a signed, HttpOnly cookie."""

    def __init__(self, deps: WebDeps, clock: Callable[[], float] = time.monotonic) -> None:
        self.deps = deps
        self.conversations = deps.conversations
        self.signer = Signer(deps.secret_key, "bot.web.visitor")
        self.flood = SlidingWindow(deps.flood.messages, deps.flood.window_s)
        self.actions = SlidingWindow(ACTIONS_PER_MINUTE, 60.0)
        self.clock = clock
        # Each visitor's latest answer: while it is written, and FLIGHT_KEEP_S after.
        self.flights: dict[str, Flight] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[Route]:
        return [
            Route("/api/session", self.session, methods=["GET"]),
            Route("/api/ask", self.ask, methods=["POST"]),
            Route("/api/resume", self.resume, methods=["GET"]),
            Route("/api/updates", self.updates, methods=["GET"]),
            Route("/api/feedback", self.feedback, methods=["POST"]),
            Route("/api/handoff", self.handoff, methods=["POST"]),
            Route("/api/new", self.new, methods=["POST"]),
        ]

    # -- visitors ------------------------------------------------------------------------------

    def visitor(self, request: Request) -> str | None:
        return self.signer.unsign(request.cookies.get(VISITOR_COOKIE), VISITOR_MAX_AGE_S)

    def customer(self, visitor: str, request: Request) -> Customer:
        short = visitor[:8]
        return Customer(
            "web",
            visitor,
            f"web:{visitor}",
            name=f"web visitor {short}",
            about=f"web visitor {short}",
            language_hint=language_hint(request),
        )

    def set_cookie(self, response: Response, visitor: str, request: Request) -> None:
        # Over HTTPS the widget may sit on another (allowed) site, which needs SameSite=None; plain HTTP
        # is the local demo, where Lax is all browsers accept.
        secure = is_https(request.scope)
        response.set_cookie(
            VISITOR_COOKIE,
            self.signer.sign(visitor),
            max_age=VISITOR_MAX_AGE_S,
            httponly=True,
            secure=secure,
            samesite="none" if secure else "lax",
            path="/",
        )

    def _checked(self, request: Request) -> str | Response:
        """The visitor of a state-changing request whose CSRF token matches; else the refusal."""
        visitor = self.visitor(request)
        if visitor is None:
            return JSONResponse({"error": "no session; reload the page"}, status_code=401)
        if not self.signer.csrf_ok(visitor, request.headers.get(CSRF_HEADER)):
            return JSONResponse({"error": "missing or wrong CSRF token"}, status_code=403)
        if request.url.path != "/api/ask" and not self.actions.allows(visitor, self.clock()):
            # Buttons (feedback, handoff, new conversation); questions have the flood rule.
            return self._too_many_presses(request)
        return visitor

    @staticmethod
    def _too_many_presses(request: Request) -> JSONResponse:
        message = web_texts.too_many_presses(language_hint(request))
        return JSONResponse({"error": "too many requests; please wait a minute", "message": message}, 429)

    async def _open(self, customer: Customer) -> ConversationRef:
        return await self.conversations.conversation(customer)

    async def _still_answering(self, customer: Customer, language: str) -> str:
        """The notice for a question sent while the one before it is still being handled: whether the bot or a
        person has the conversation decides which text is true."""
        try:
            handoff = (await self._open(customer)).handoff != "none"
        except StoreUnavailableError:
            handoff = True  # the log cannot say: the handoff's text, which is true either way
        return web_texts.still_answering(language, handoff=handoff)

    # -- endpoints -----------------------------------------------------------------------------

    async def session(self, request: Request) -> Response:
        """The visitor's CSRF token, labels in their language, and their open conversation so far."""
        visitor = self.visitor(request)
        returning = visitor is not None
        visitor = visitor or secrets.token_urlsafe(18)
        customer = self.customer(visitor, request)
        language = customer.language_hint
        history: list[dict[str, Any]] = []
        handoff = "none"
        # Read before the history: an answer logged in between is then still followed (a finished flight is
        # replayed), where read after it would be neither pending nor in the history just read.
        flight = self.flights.get(visitor)
        writing = flight is not None and not flight.done
        try:
            if returning:
                language = await self.conversations.language_of(customer)
                conversation = await self._open(customer)
                handoff = conversation.handoff
                messages = await self.deps.insights.transcript(conversation.id)
                history = [history_json(m) for m in messages[-HISTORY_MESSAGES:]]
        except StoreUnavailableError:
            log.warning("history unavailable: database down")
        body = {
            "csrf": self.signer.csrf(visitor),
            "language": texts.shown_language(language),  # what the labels are in: the widget's `lang`
            "dir": texts.direction(language),  # and the direction they are laid out in: the widget's `dir`
            "labels": web_texts.labels(language),
            "handoff": handoff,
            "messages": history,
            "last_id": max((m["id"] for m in history), default=0),
            # The answer to the last question is still being written (the page was reloaded while it
            # streamed): the widget follows it with /api/resume. Not once it is logged, which the history
            # then shows.
            "pending": writing and bool(history) and history[-1]["role"] == "user",
        }
        response = JSONResponse(body)
        self.set_cookie(response, visitor, request)
        return response

    async def ask(self, request: Request) -> Response:
        checked = self._checked(request)
        if isinstance(checked, Response):
            return checked
        visitor = checked
        try:
            text = (await json_body(request)).get("text")
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if not isinstance(text, str):
            return JSONResponse({"error": 'the body must be {"text": "your question"}'}, status_code=400)
        customer = self.customer(visitor, request)
        if text.strip().casefold() == NEW_COMMAND:
            # Not a question, and during a handoff not a message for the operators: the button's own path,
            # its rate limit included, answered as the final event the widget reads.
            if not self.actions.allows(visitor, self.clock()):
                return self._too_many_presses(request)
            started = await self._start_over(customer)
            if isinstance(started, Response):
                return started
            event = sse("reply", {"kind": "new_conversation", "text": started, "sources": []})
            return StreamingResponse(_once(event), media_type="text/event-stream")
        running = self.flights.get(visitor)
        if running is not None and not running.done:
            # One answer at a time per visitor (a second tab, a script): each one runs to its end whether
            # or not anyone still listens, so more at once would queue work nobody may read. Checked before
            # the flood rule, so a question refused here takes none of the visitor's allowance.
            language = self.conversations.language_of_text(text, customer)
            return JSONResponse(
                {
                    "error": "your previous question is still being answered; please wait for it",
                    "message": await self._still_answering(customer, language),
                },
                status_code=429,
            )
        # Reached only with every earlier question answered: the rule limits how many are asked in a row,
        # and its texts say so, not that earlier ones are still waiting for an answer (Telegram's text).
        verdict = self.flood.check(visitor, self.clock())
        if verdict != "ok":
            language = self.conversations.language_of_text(text, customer)
            if verdict == "drop":
                return JSONResponse(
                    {"error": "too many messages; please wait", "message": web_texts.flood(language)},
                    status_code=429,
                )
            log.info("flood control", extra={"user_id": visitor, "channel": "web"})
            # Marked refused: the widget keeps the question in its box to send again (the text alone is in
            # the message's language, which may not be the widget's).
            notice = {"kind": "notice", "text": web_texts.flood(language), "sources": [], "refused": True}
            return StreamingResponse(_once(sse("reply", notice)), media_type="text/event-stream")
        flight = Flight()
        self.flights[visitor] = flight
        task = asyncio.get_running_loop().create_task(self._write(flight, customer, text), name=ANSWER_TASK)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._forget_later(visitor, flight))
        return _event_stream(flight)

    async def resume(self, request: Request) -> Response:
        """The answer being written for this visitor, from its first event: what a widget that was reloaded
        while it streamed follows (`pending` in /api/session)."""
        visitor = self.visitor(request)
        if visitor is None:
            return JSONResponse({"error": "no session; reload the page"}, status_code=401)
        flight = self.flights.get(visitor)
        if flight is None:
            # Forgotten since (FLIGHT_KEEP_S) or a restart stopped it: the page shows what the log has.
            return JSONResponse({"error": "no answer is being written"}, status_code=404)
        return _event_stream(flight)

    def _forget_later(self, visitor: str, flight: Flight) -> None:
        def forget() -> None:
            if self.flights.get(visitor) is flight:
                del self.flights[visitor]

        asyncio.get_running_loop().call_later(FLIGHT_KEEP_S, forget)

    async def close(self) -> None:
        """Stop the answers still being written (the server is stopping)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _write(self, flight: Flight, customer: Customer, text: str) -> None:
        """The answer into `flight`: deltas, place-in-line notices, then the final reply."""
        try:
            async for event in self._events(customer, text):
                flight.push(event)
        finally:
            flight.finish()

    async def _events(self, customer: Customer, text: str) -> AsyncIterator[bytes]:
        reply: Reply | None = None
        try:
            async for item in self.conversations.ask(customer, text):
                if isinstance(item, Delta):
                    yield sse("delta", {"text": item.text})
                elif isinstance(item, Waiting):
                    # The widget shows it in the answer's place until the first delta replaces it.
                    yield sse("waiting", waiting_json(item))
                else:
                    reply = item
        except Exception:
            # The visitor sees one fixed message, never the exception's text.
            log.exception("web answer failed", extra={"channel": "web"})
            language = self.conversations.language_of_text(text, customer)
            yield sse("reply", {"kind": "error", "text": web_texts.error(language), "sources": []})
            return
        if reply is None:
            return
        if reply.answer_id is not None and reply.rateable:
            # The id the widget shows is the answer's own; recorded so feedback maps back as in Telegram.
            # Only answers the widget offers 👍/👎 for: a refusal or a notice cannot be rated by posting
            # its id either.
            await self.conversations.record_delivery(reply.answer_id, str(reply.answer_id))
        yield sse("reply", reply_json(reply))

    async def updates(self, request: Request) -> Response:
        """What arrived since message `after` (an operator's replies during a handoff) and the handoff
        state: the widget polls this while a person owns the conversation."""
        visitor = self.visitor(request)
        if visitor is None:
            return JSONResponse({"error": "no session; reload the page"}, status_code=401)
        after_id = parse_id(request.query_params.get("after", "0"))
        if after_id is None:
            return JSONResponse({"error": "after must be a message id"}, status_code=400)
        try:
            conversation = await self._open(self.customer(visitor, request))
            messages = await self.deps.insights.transcript(conversation.id, after_id=after_id)
        except StoreUnavailableError:
            return JSONResponse({"error": "database unavailable"}, status_code=503)
        # The visitor's own messages and the bot's answers are already on screen.
        news = [history_json(m) for m in messages if m.role == "operator"]
        return JSONResponse(
            {
                "handoff": conversation.handoff,
                "messages": news,
                "last_id": max((m.id for m in messages), default=after_id),
            }
        )

    async def feedback(self, request: Request) -> Response:
        """👍/👎 on an answer of this visitor, and an optional comment after 👎."""
        checked = self._checked(request)
        if isinstance(checked, Response):
            return checked
        visitor = checked
        try:
            body = await json_body(request)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        answer_id, rating, comment = body.get("answer_id"), body.get("rating"), body.get("comment")
        if not isinstance(answer_id, int) or isinstance(answer_id, bool):
            return JSONResponse({"error": "answer_id must be the answer's number"}, status_code=400)
        if rating not in (None, "up", "down") or (comment is not None and not isinstance(comment, str)):
            return JSONResponse({"error": 'rating is "up" or "down"; comment is text'}, status_code=400)
        if rating is None and not (comment or "").strip():
            return JSONResponse({"error": "send a rating or a comment"}, status_code=400)
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            return JSONResponse(
                {"error": f"a comment is at most {MAX_COMMENT_CHARS} characters"}, status_code=400
            )
        customer = self.customer(visitor, request)
        try:
            language = await self.conversations.language_of(customer)
            # Only an answer shown to this visitor maps back (the same check as Telegram's buttons).
            found = await self.conversations.answer_behind("web", customer.chat_id, str(answer_id))
            if found is None:
                expired = texts.translate(texts.FEEDBACK_EXPIRED, language)
                return JSONResponse({"error": "no such answer", "message": expired}, status_code=404)
            if rating is not None:
                await self.conversations.rate(found, "up" if rating == "up" else "down")
            if comment is not None and comment.strip():
                await self.conversations.comment(found, comment.strip())
                return JSONResponse({"text": web_texts.labels(language)["commentSaved"]})
        except StoreUnavailableError:
            return JSONResponse({"error": "database unavailable"}, status_code=503)
        return JSONResponse({"text": web_texts.labels(language)["thanks"]})

    async def handoff(self, request: Request) -> Response:
        """The "talk to a person" button: the service's handoff (to the operator chat, if configured)."""
        checked = self._checked(request)
        if isinstance(checked, Response):
            return checked
        customer = self.customer(checked, request)
        try:
            notice = await self.conversations.request_handoff(
                customer, 'the visitor pressed "Talk to a human" in the web chat'
            )
            conversation = await self._open(customer)
        except StoreUnavailableError:
            return JSONResponse({"error": "database unavailable"}, status_code=503)
        return JSONResponse({"text": notice, "handoff": conversation.handoff})

    async def new(self, request: Request) -> Response:
        """The "New conversation" button (and a typed /new: `ask`)."""
        checked = self._checked(request)
        if isinstance(checked, Response):
            return checked
        started = await self._start_over(self.customer(checked, request))
        if isinstance(started, Response):
            return started
        return JSONResponse({"text": started})

    async def _start_over(self, customer: Customer) -> str | Response:
        """A new conversation (ending an open handoff, the operators told); the notice to show, in the
        visitor's language, or the refusal when the log is down."""
        try:
            language = await self.conversations.language_of(customer)
            await self.conversations.start_over(customer)
        except StoreUnavailableError:
            return JSONResponse({"error": "database unavailable"}, status_code=503)
        return web_texts.labels(language)["newStarted"]


async def _once(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk


def _event_stream(flight: Flight) -> StreamingResponse:
    return StreamingResponse(
        _following(flight),
        media_type="text/event-stream",
        # Proxies must pass each event on at once (nginx honours this header).
        headers={"X-Accel-Buffering": "no"},
    )


async def _following(flight: Flight) -> AsyncIterator[bytes]:
    async for event in _with_keepalive(flight.follow(), KEEPALIVE_S):
        # None: an SSE comment while the answer waits in the model's queue, so that proxies that close idle
        # connections (nginx after 60 s by default) keep this one open.
        yield b": waiting\n\n" if event is None else event


async def _with_keepalive(items: AsyncIterator[T], every_s: float) -> AsyncIterator[T | None]:
    """`items` as they come, with a None whenever `every_s` seconds pass without one."""
    iterator = aiter(items)
    pending: asyncio.Task[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=every_s)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield item
    finally:
        # The visitor went away (or the stream ended): stop following. (An answer goes on being written in
        # its own task: `Flight`.)
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()
