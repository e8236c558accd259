"""The conversation service: one set of conversation rules (log, answer, handoff) for every channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import statistics
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol, TypeVar, runtime_checkable

from bot import texts
from bot.config import RedactionSettings
from bot.domain import ANSWER_OUTCOMES, NOT_LOOKED_UP, Answer, Channel, Delta, Outcome, Source, Timings, Turn
from bot.language import (
    UNDETERMINED,
    LanguageDetector,
    default_detector,
    detect_message_language,
    kb_default_language,
    language_tag,
    normalize,
)
from bot.logs import user_text
from bot.metrics import percentile
from bot.rag import citations
from bot.rag.approved import SERVED_STATUSES, ApprovedMatch, ApprovedMatcher, served_answer_to_replace
from bot.rag.condense import condense
from bot.rag.pipeline import EMPTY_TEXT, MAX_QUESTION_CHARS, TOO_LONG_TEXT, passage_of
from bot.small_talk import asks_for_person, small_talk
from bot.store.base import (
    ApprovedAnswer,
    ConversationLog,
    ConversationRef,
    MessageRef,
    Rating,
    ReplyPrompt,
    StoreUnavailableError,
)
from bot.store.redact import Redactor
from bot.unicode import composed, encodable, has_words

log = logging.getLogger("bot.conversation")

T = TypeVar("T")

# Every database call gets a deadline: a hung database must read as "down", not hang a chat forever.
STORE_TIMEOUT_S = 10.0
# Detection reads at most this much of a message (more does not change the answer; it only costs time).
MAX_DETECT_CHARS = 2000
# The knowledge base's languages, the prior of a message's (`KBLanguages`), are read again after this long (a
# reload may change them); a read never holds a message up longer than `KB_LANGUAGES_TIMEOUT_S`, and one that
# failed is tried again after `KB_LANGUAGES_RETRY_S`, the languages last read standing in meanwhile.
KB_LANGUAGES_TTL_S = 60.0
KB_LANGUAGES_TIMEOUT_S = 1.0
KB_LANGUAGES_RETRY_S = 5.0
# How much of the conversation the operators see when a handoff starts.
TRANSCRIPT_TURNS = 20
# Defaults of `BOT_LLM__WAIT_NOTICE_S` and `BOT_LLM__WAIT_UPDATE_S` (see `ConversationService`).
WAIT_NOTICE_S = 3.0
WAIT_UPDATE_S = 30.0
# Outcomes whose answer can be rated (and corrected); the others are fixed messages.
RATEABLE: frozenset[Outcome] = frozenset(ANSWER_OUTCOMES)
# Outcomes after which the customer is offered a human (every answer except input the bot refused to read).
OFFER_HUMAN: frozenset[Outcome] = frozenset(
    {*ANSWER_OUTCOMES, "refused", "kb_unavailable", "model_error", "busy", "empty"}
)


# -- the waiting line ------------------------------------------------------------------------------------

# Marks a place-in-line notice in every channel (and lets the load bench tell a notice from an answer).
WAIT_MARK = "⏳ "
# The notice's estimate switches from seconds to minutes above this.
_MINUTES_FROM_S = 90.0
# Recent figures the estimate and /stats are computed from: enough to smooth single answers, few enough to
# follow a change of load (or of model) within minutes.
_RATE_SAMPLES = 50
_WAIT_SAMPLES = 1000
# The estimate is corrected by how recent ones turned out (a place counts answers already being written, and
# answers that end in a refusal without the model) once this many are known, by at most this factor each way.
_CORRECT_AFTER = 10
_MAX_CORRECTION = 4.0


@dataclass(frozen=True, slots=True)
class Waiting:
    """The customer's answer has not started yet: their place in line, an estimate, and the notice to show.

    `position` 1 is next (or already being written); `estimate_s` is None until an answer rate has been
    measured. `text` is the notice in the customer's language, starting with `WAIT_MARK`.
    """

    position: int
    estimate_s: float | None
    text: str
    language: str = UNDETERMINED


@dataclass(frozen=True, slots=True)
class WaitFigures:
    """The line for /stats: how many answers wait now, how long recent ones waited for their first text."""

    waiting: int
    longest_s: float  # the longest wait of those still waiting
    measured: int  # recent answers the percentiles are over
    p50_s: float | None
    p95_s: float | None
    per_answer_s: float | None  # the measured time between answers under load (or one answer's time)
    notices: int  # waiting notices shown since start
    # How honest the first estimates were: the wait that followed a notice / the estimate it gave
    # (p50 and p90 over recent notices; 1.0 is exact, above 1 the wait was longer than said).
    estimates: int = 0
    estimate_ratio_p50: float | None = None
    estimate_ratio_p90: float | None = None


@dataclass(eq=False, slots=True)
class Ticket:
    """One answer being generated, from the request until its first text."""

    user_key: str
    joined_at: float
    started_at: float | None = None  # its first text (or the final answer) came
    told_at: float | None = None  # the customer was first told their place
    told_estimate_s: float | None = None  # and this estimate
    told_plain_s: float | None = None  # the estimate before the correction learnt from earlier ones


class WaitingLine:
    """Every answer waiting for its first text, whichever generator serves it (the engine, a llama.cpp server
    or a pool of them: each queues), and the measured rate at which answers come out.

    A customer's place is counted as the model queues serve: round-robin by user (`bot.llm.fairqueue`), so
    ahead of a customer's first waiting answer are the first waiting answers of everyone who joined earlier.
    The rate is measured, not configured: the time between finished answers while others were waiting
    (so it includes however many generate in parallel); before any was measured, one answer's own time.
    Everything runs on the event loop: no locks.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._users: dict[str, list[Ticket]] = {}  # insertion order: who joined first
        self._intervals: deque[float] = deque(maxlen=_RATE_SAMPLES)
        self._service: deque[float] = deque(maxlen=_RATE_SAMPLES)
        self._waits: deque[float] = deque(maxlen=_WAIT_SAMPLES)
        self._estimate_ratios: deque[float] = deque(maxlen=_WAIT_SAMPLES)
        self._plain_ratios: deque[float] = deque(maxlen=_RATE_SAMPLES)
        self._size = 0
        self._last_done: float | None = None
        self._busy_since: float | None = None  # when the line last became non-empty
        self.notices = 0

    def __len__(self) -> int:
        return self._size

    def join(self, user_key: str) -> Ticket:
        now = self.clock()
        ticket = Ticket(user_key, now)
        if self._size == 0:
            self._busy_since = now
        self._users.setdefault(user_key, []).append(ticket)
        self._size += 1
        return ticket

    def told(self, ticket: Ticket, estimate_s: float | None) -> None:
        """The customer was told their place for the first time, with this estimate."""
        self.notices += 1
        ticket.told_at = self.clock()
        ticket.told_estimate_s = estimate_s
        ticket.told_plain_s = None if estimate_s is None else estimate_s / self.correction()

    def leave(self, ticket: Ticket, *, served: bool = True) -> None:
        """Its first text came (`served`: the wait, and how it compares with the estimate the customer was
        given, are recorded), or it was given up; calling it again does nothing."""
        jobs = self._users.get(ticket.user_key)
        if jobs is None or ticket not in jobs:
            return
        jobs.remove(ticket)
        # As the fair queue does: a user just served goes behind everyone waiting now.
        del self._users[ticket.user_key]
        if jobs:
            self._users[ticket.user_key] = jobs
        self._size -= 1
        if self._size == 0:
            self._busy_since = None
        if served and ticket.started_at is None:
            ticket.started_at = self.clock()
            self._waits.append(ticket.started_at - ticket.joined_at)
            if ticket.told_at is not None and ticket.told_estimate_s and ticket.told_plain_s:
                waited = ticket.started_at - ticket.told_at
                self._estimate_ratios.append(waited / ticket.told_estimate_s)
                self._plain_ratios.append(waited / ticket.told_plain_s)

    def finished(self, answer: Answer) -> None:
        """An answer is complete; one the model wrote frees the model for the next in line."""
        if answer.timings.ttft_ms is None:
            return  # refusals, fixed texts: the model was never asked, so they say nothing of its rate
        now = self.clock()
        self._service.append(max(0.0, answer.timings.total_ms - answer.timings.queue_ms) / 1000)
        # Only a gap during which someone waited throughout measures the model; an idle gap measures arrivals.
        if self._last_done is not None and self._busy_since is not None:
            self._intervals.append(now - max(self._last_done, self._busy_since))
        self._last_done = now

    def ahead(self, ticket: Ticket) -> int:
        """Answers served before this one, as the round-robin queue would serve them."""
        jobs = self._users.get(ticket.user_key, [])
        if ticket not in jobs:
            return 0
        round_ = jobs.index(ticket)
        count = round_  # this customer's own earlier answers
        before = True  # users that joined before this one are served first in each round
        for key, others in self._users.items():
            if key == ticket.user_key:
                before = False
                continue
            count += min(len(others), round_) + (1 if before and len(others) > round_ else 0)
        return count

    def per_answer_s(self) -> float | None:
        """Seconds between answers under load; one answer's own time before that was ever measured."""
        if self._intervals:
            return statistics.fmean(self._intervals)
        if self._service:
            return statistics.fmean(self._service)
        return None

    def correction(self) -> float:
        """How much longer (above 1) or shorter the waits after recent notices were than one answer's time
        per place said: the median, once enough are known."""
        if len(self._plain_ratios) < _CORRECT_AFTER:
            return 1.0
        median = statistics.median(self._plain_ratios)
        return min(_MAX_CORRECTION, max(1 / _MAX_CORRECTION, median))

    def estimate_s(self, ahead: int) -> float | None:
        """When the answer with `ahead` answers before it should start: one answer's time per place,
        corrected by how the recent estimates turned out."""
        per_answer = self.per_answer_s()
        return None if per_answer is None else (ahead + 1) * per_answer * self.correction()

    def figures(self) -> WaitFigures:
        now = self.clock()
        longest = max((now - t.joined_at for jobs in self._users.values() for t in jobs), default=0.0)
        return WaitFigures(
            waiting=self._size,
            longest_s=longest,
            measured=len(self._waits),
            p50_s=percentile(self._waits, 50),
            p95_s=percentile(self._waits, 95),
            per_answer_s=self.per_answer_s(),
            notices=self.notices,
            estimates=len(self._estimate_ratios),
            estimate_ratio_p50=percentile(self._estimate_ratios, 50),
            estimate_ratio_p90=percentile(self._estimate_ratios, 90),
        )


def wait_notice(position: int, estimate_s: float | None, language: str) -> str:
    """The place-in-line notice in `language`: seconds rounded to 5, minutes above 90 s."""
    if estimate_s is None:
        text = texts.translate(texts.WAIT_PLACE, language).format(position=position)
    elif estimate_s < _MINUTES_FROM_S:
        seconds = max(5, round(estimate_s / 5) * 5)
        text = texts.translate(texts.WAIT_SECONDS, language).format(position=position, seconds=seconds)
    else:
        minutes = max(2, round(estimate_s / 60))
        text = texts.translate(texts.WAIT_MINUTES, language).format(position=position, minutes=minutes)
    return WAIT_MARK + text


def changed_enough(shown: Waiting, now: Waiting) -> bool:
    """Whether an update is worth an edit: the place moved by a tenth (at least one), or the estimate by a
    fifth (at least 10 s), or an estimate appeared."""
    if now.text == shown.text:
        return False
    if abs(now.position - shown.position) >= max(1, shown.position // 10):
        return True
    if shown.estimate_s is None or now.estimate_s is None:
        return now.estimate_s is not None
    return abs(now.estimate_s - shown.estimate_s) >= max(10.0, shown.estimate_s / 5)


# A phone number in a help center's contact section, in any country's format ("910 123 456", "400-820-5588",
# "+44 20 7946 0958"): seven digits or more, with the separators people write. The redactor recognises only
# the deployment's regions' numbers (a Spanish shop's hotline was none of them), which is right for what it
# removes, not for what a help center publishes.
_PHONE_LIKE = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")


def _contact_quote(question: str, found: Answer, reaches_someone: Callable[[str], bool]) -> Answer | None:
    """A quote of the first of `found`'s passages (those given to the model, or those a refusal found) that
    gives a way to reach someone (`citations.quote_holding`), as an extracted answer citing it; None when
    none does."""
    for hit in found.hits:
        quote = citations.quote_holding(question, passage_of(hit), reaches_someone)
        if quote:
            return Answer(
                text=f"{quote} [1]",
                sources=(Source.of(hit.chunk),),
                grounded=True,
                timings=found.timings,
                outcome="extracted",
                question=question,
                hits=(hit,),
                citations=(1,),
            )
    return None


class AnswerStream(Protocol):
    """The part of `bot.rag.pipeline.Pipeline` the conversation service uses."""

    def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = "und"
    ) -> AsyncIterator[Delta | Answer]: ...


@runtime_checkable
class KBLanguages(Protocol):
    """An answer stream that knows the languages of its knowledge base (`bot.rag.pipeline.Pipeline` does):
    the prior of a customer's language where the message leaves it open."""

    async def kb_languages(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Customer:
    """Who is writing, in the channel's own ids."""

    channel: Channel
    user_id: str
    chat_id: str
    name: str = ""  # how operators see them next to a forwarded message
    about: str = ""  # how operators see them atop a handoff transcript (name, handle, id)
    # The channel's idea of their language (Telegram's `language_code`): used only when a message's own
    # language cannot be told (see `bot.language.detect_message_language`), never instead of it.
    language_hint: str = ""

    @property
    def key(self) -> str:
        """The fairness key of the model queue: one per person and channel."""
        return f"{self.channel}:{self.user_id}"


class OperatorDesk(Protocol):
    """Where human operators work (the Telegram operator chat today). Implemented by a channel."""

    @property
    def available(self) -> bool:
        """Whether operators can be reached at all (an operator chat is configured)."""
        ...

    async def open_handoff(
        self,
        conversation_id: int,
        customer: Customer,
        reason: str,
        transcript: Sequence[Turn],
        *,
        language: str = UNDETERMINED,
    ) -> bool:
        """Show the operators a new handoff with its transcript and the customer's language; False when
        they could not be reached."""
        ...

    async def forward(
        self, conversation_id: int, customer: Customer, text: str, *, language: str = UNDETERMINED
    ) -> None:
        """Pass a customer's message (in `language`) to the operators while a human owns the conversation."""
        ...

    async def handoff_left(self, conversation_id: int, customer: Customer) -> None:
        """Tell the operators the customer left the handoff (started over with the bot)."""
        ...


ReplyKind = Literal["answer", "notice", "forwarded", "unavailable"]


@dataclass(frozen=True, slots=True)
class Reply:
    """How one customer message ended: what to show, and what the channel may offer under it.

    `kind`: "answer" (the pipeline answered, logged as `answer_id`), "notice" (a fixed text such as
    "type your question"; nothing answered, and only a message meant for the operators logged),
    "forwarded" (a human owns the conversation: the message went to the operators and nothing is shown),
    "unavailable" (the log is down: nothing was answered).
    """

    kind: ReplyKind
    text: str
    answer: Answer | None = None
    answer_id: int | None = None
    conversation_id: int | None = None
    handed_off: bool = False  # a refusal started a handoff; `text` already says so
    operators: bool = True  # a person can be brought in (an operator chat is configured and reachable)
    # The detected language of the customer's message ("und" when it could not be told); `text`, and the
    # fixed texts of an `answer`, are already in it (English when no catalog ships for it).
    language: str = UNDETERMINED

    @property
    def rateable(self) -> bool:
        return self.answer is not None and self.answer.outcome in RATEABLE

    @property
    def offer_human(self) -> bool:
        return (
            self.answer is not None
            and self.operators
            and not self.handed_off
            and self.answer.outcome in OFFER_HUMAN
        )


@dataclass(frozen=True, slots=True)
class OperatorDelivery:
    """An operator's reply: deliver `text` to `conversation`, or tell the operator `problem`."""

    conversation: ConversationRef | None
    text: str = ""
    language: str = UNDETERMINED  # the customer's (their latest message's); `text` is already in it
    problem: str = ""


async def db_call(awaitable: Awaitable[T], timeout_s: float = STORE_TIMEOUT_S) -> T:
    """Await a store call with a deadline; a timeout means the database is unavailable."""
    try:
        return await asyncio.wait_for(awaitable, timeout_s)
    except TimeoutError:
        raise StoreUnavailableError(f"database did not answer within {timeout_s:g} s") from None


@dataclass(frozen=True, slots=True)
class _Ended:
    """The pipeline's stream ended (with the error it raised, if any)."""

    error: BaseException | None = None


async def _pump(stream: AsyncIterator[Delta | Answer], items: asyncio.Queue[Delta | Answer | _Ended]) -> None:
    """Run the pipeline's stream in this task, handing each item over; cancelled, the stream is closed."""
    try:
        async for item in stream:
            await items.put(item)
    except Exception as exc:
        await items.put(_Ended(exc))
        return
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    await items.put(_Ended())


class ConversationService:
    """Owns what happens to a customer's message, whichever channel it came from.

    claim the delivery → open the conversation → (a human owns it: log and forward) → load history →
    log the question → stream the answer → log the answer → hand off after a refusal.
    Write order is the rule: the question is committed before anything is generated, and an answer that
    could not be logged is never shown. Store failures surface as `StoreUnavailableError` (or a Reply of
    kind "unavailable" from `ask`); nothing here knows a channel's API.
    """

    def __init__(
        self,
        pipeline: AnswerStream,
        log: ConversationLog,
        *,
        history_turns: int,
        desk: OperatorDesk | None = None,
        store_timeout_s: float = STORE_TIMEOUT_S,
        detector: LanguageDetector | None = None,
        approved: ApprovedMatcher | None = None,
        wait_notice_s: float = WAIT_NOTICE_S,
        wait_update_s: float = WAIT_UPDATE_S,
        line: WaitingLine | None = None,
        redaction: RedactionSettings | None = None,
        condense_followups: bool = True,
    ) -> None:
        """`redaction`: the deployment's rules (phone regions, extra patterns) for the personal data kept out
        of an approved answer's question taken from a customer's message; the defaults when None.
        `condense_followups` (`BOT_RAG__CONDENSE`): a follow-up is matched against the approved answers as
        the pipeline searches it, with the question it follows."""
        self._condense = condense_followups
        self.pipeline = pipeline
        self.log = log
        self.desk = desk
        # Every answer the pipeline is generating until its first text: places in line, the rate, /stats.
        self.line = line or WaitingLine()
        self._wait_notice_s = wait_notice_s
        self._wait_update_s = wait_update_s
        # Admins' approved answers, checked before the pipeline; None: every question goes to the pipeline.
        self.approved = approved
        self.detector: LanguageDetector = detector or default_detector()
        self._history_turns = history_turns
        self._timeout_s = store_timeout_s
        self._redactor = Redactor(redaction)
        # The knowledge base's languages as last read, and when (`_read_kb_languages`).
        self._kb_languages: tuple[str, ...] = ()
        self._kb_languages_at = -math.inf

    async def _db(self, awaitable: Awaitable[T]) -> T:
        return await db_call(awaitable, self._timeout_s)

    # -- conversations ---------------------------------------------------------------------------

    async def claim(self, channel: Channel, delivery_id: str) -> bool:
        """Record a channel's delivery id before anything else; False when it was already handled."""
        return await self._db(self.log.claim_delivery(channel, delivery_id))

    async def conversation(self, customer: Customer, *, new: bool = False) -> ConversationRef:
        return await self._db(
            self.log.open_conversation(
                channel=customer.channel,
                external_user_id=customer.user_id,
                external_chat_id=customer.chat_id,
                new=new,
            )
        )

    async def start_over(self, customer: Customer) -> ConversationRef:
        """A new conversation; an open handoff of the old one ends (the customer chose the bot)."""
        old = await self.conversation(customer)
        if old.handoff != "none":
            await self._db(self.log.set_handoff(old.id, "none"))
            if self.desk is not None and self.desk.available:
                # Otherwise the operators would keep answering a conversation nobody reads any more.
                try:
                    await self.desk.handoff_left(old.id, customer)
                except Exception as exc:  # the customer's /new must not fail with the operator chat
                    error = f"{type(exc).__name__}: {exc}"
                    log.warning("could not tell the operators", extra={"error": error})
        return await self.conversation(customer, new=True)

    async def get(self, conversation_id: int) -> ConversationRef | None:
        return await self._db(self.log.get_conversation(conversation_id))

    # -- the customer's message --------------------------------------------------------------------

    async def ask(
        self,
        customer: Customer,
        text: str,
        *,
        external_message_id: str = "",
        conversation_id: int | None = None,
        standalone: bool = False,
    ) -> AsyncGenerator[Delta | Waiting | Reply, None]:
        """Yield the answer's `Delta`s as the pipeline streams them, then exactly one `Reply`.

        Before the first `Delta`, when the answer has not started `wait_notice_s` after the question and
        others are ahead in line, a `Waiting` (the customer's place and an estimate); then another at most
        every `wait_update_s`, only when the place or the estimate changed enough to be worth showing.
        `conversation_id` continues that logged conversation instead of the customer's open one.
        `standalone`: the text is a question of its own that the customer chose (a "see also" section's
        heading), answered without the conversation so far, so neither rewritten with the last question
        nor answered from its passages.
        """
        question = composed(text).strip()
        sample = question[:MAX_DETECT_CHARS]
        await self._read_kb_languages()
        if not question or len(question) > MAX_QUESTION_CHARS:
            # A notice about the message itself: where its text tells no language (a paste of junk), the
            # customer's app language does, as for a command.
            language = self._or_hint(self.language_of_text(sample, customer), customer.language_hint)
            notice = TOO_LONG_TEXT if question else EMPTY_TEXT
            yield Reply("notice", texts.translate(notice, language), language=language)
            return
        language = ""
        try:
            conversation = await self._open(customer, conversation_id)
            language = await self._message_language(sample, customer, conversation.id)
            if conversation.handoff != "none":
                await self._db(
                    self.log.log_user_message(
                        conversation.id,
                        question,
                        external_message_id=external_message_id,
                        language=language,
                    )
                )
                if self.desk is not None:
                    try:
                        await self.desk.forward(conversation.id, customer, question, language=language)
                    except Exception as exc:
                        # The operator chat is unreachable: the message is logged (the console shows it),
                        # and the customer is told it did not reach anyone rather than shown a crash.
                        log.error(
                            "message not forwarded to the operators",
                            extra={"conversation_id": conversation.id, "error": exc.__class__.__name__},
                        )
                        unreached = texts.translate(texts.HANDOFF_UNAVAILABLE, language)
                        yield Reply("notice", unreached, conversation_id=conversation.id, language=language)
                        return
                yield Reply("forwarded", "", conversation_id=conversation.id, language=language)
                return
            history = (
                [] if standalone else await self._db(self.log.history(conversation.id, self._history_turns))
            )
            # Write order: the question is committed before anything is generated.
            question_id = await self._db(
                self.log.log_user_message(
                    conversation.id, question, external_message_id=external_message_id, language=language
                )
            )
        except StoreUnavailableError as exc:
            log.error("database unavailable", extra={"channel": customer.channel, "error": str(exc)})
            language = language or self.language_of_text(sample, customer)
            yield Reply("unavailable", texts.translate(texts.DB_DOWN, language), language=language)
            return
        log.info(
            "question",
            extra={
                "conversation_id": conversation.id,
                "channel": customer.channel,
                "user_id": customer.user_id,
                "language": language,
                "text": user_text(question),
            },
        )
        answer: Answer | None = None
        asked_person = False
        if asks_for_person(question):
            # "I want to talk to a person": what the button does, at once. Looked up, it was refused as a
            # question the help center does not answer, and only then handed off; with nobody to take over
            # (no operator chat) it was refused, or answered with the help center's "tap Talk to a human",
            # a button that is not there: `_start_handoff` says nobody is available instead, as /human does.
            try:
                notice = await self._start_handoff(
                    conversation, customer, "the customer asked for a person", language
                )
            except StoreUnavailableError as exc:
                log.error("database unavailable", extra={"channel": customer.channel, "error": str(exc)})
                yield Reply("unavailable", texts.translate(texts.DB_DOWN, language), language=language)
                return
            except Exception as exc:
                # The operator chat could not be told: the customer hears nobody is available, not a crash.
                log.error(
                    "handoff not started", extra={"conversation_id": conversation.id, "error": repr(exc)}
                )
                notice = texts.HANDOFF_UNAVAILABLE
            asked_person = notice == texts.HANDOFF_REQUESTED
            answer = Answer(
                text=texts.translate(notice, language),
                sources=(),
                grounded=False,
                timings=Timings(),
                outcome="person_asked",
                question=question,
            )
            if notice == texts.HANDOFF_UNAVAILABLE:
                # Nobody to take over here: "try again later" alone left the customer nowhere to go. The
                # help center's own way to reach a person (its contact section) goes under it.
                contact: Answer | None = None
                async for looked_up in self._contact_details(customer, language):
                    if isinstance(looked_up, Waiting):
                        yield looked_up
                    else:
                        contact = looked_up
                if contact is not None:
                    lead = texts.translate(texts.CONTACT_LEAD, language)
                    answer = replace(
                        contact,
                        text=f"{answer.text}\n\n{lead}\n{contact.text}",
                        outcome="person_asked",
                        question=question,
                        see_also=(),
                    )
        answer = (
            answer
            or _small_talk_answer(question, language)
            or await self._approved_answer(
                condense(question, history, language) if self._condense else question, language
            )
        )
        if answer is None:
            # Closed at once when the channel stops listening (a console chat interrupted): the answer stops
            # with it. The web widget's answers run to their end (a reload follows them), Telegram's too.
            async with contextlib.aclosing(self._generate(customer, question, history, language)) as events:
                async for item in events:
                    if isinstance(item, Answer):
                        answer = item
                    else:
                        yield item
        if answer is None:
            raise RuntimeError("the pipeline ended without an Answer")
        # Fixed outcomes (refusal, busy, …, the caveat of an ungrounded answer) in the customer's language;
        # the log keeps exactly what is shown.
        # An extract quotes the first passage (hits[0]); only a Chinese one changes script for the customer.
        quoted = (
            answer.outcome == "extracted"
            and bool(answer.hits)
            and normalize(answer.hits[0].chunk.lang) == "zh"
        )
        operators = self.desk is not None and self.desk.available
        refused = answer.outcome == "refused"
        # A refusal that asks the customer to ask again in the help center's language must let them: handed
        # off, their re-ask only went to the operators (the texts contradicted each other). It offers the
        # person with the button instead.
        ask_again = refused and bool(answer.kb_languages)
        # A quote found through a translation of the question is in the help center's language: said first.
        crossed = answer.outcome == "extracted" and bool(answer.kb_languages)
        # No person to offer: the fixed texts leave out their offer. A refusal never asks "Would you like me
        # to connect you…?": with operators it hands off at once (or shows the button when it cannot or
        # should not), and the question would contradict the notice that follows it.
        plain = not operators or refused
        english = texts.WITHOUT_OPERATORS.get(answer.text, answer.text) if plain else answer.text
        shown = texts.localize_answer_text(english, language, quoted=quoted)
        if ask_again:
            shown = f"{shown}\n\n{texts.kb_language_hint(answer.kb_languages, language)}"
        elif crossed:
            shown = texts.with_quoted_note(shown, answer.kb_languages, language)
        if shown != answer.text:
            answer = replace(answer, text=shown)
        # Write order: the answer is committed before it is shown; unlogged, it is not shown.
        try:
            answer_id = await self._db(self.log.log_answer(conversation.id, question_id, answer))
        except StoreUnavailableError as exc:
            log.error(
                "answer not logged; not showing it",
                extra={"conversation_id": conversation.id, "error": str(exc)},
            )
            yield Reply(
                "unavailable",
                texts.translate(texts.DB_DOWN, language),
                conversation_id=conversation.id,
                language=language,
            )
            return
        handed_off = asked_person or (
            refused
            and not ask_again
            and await self._handoff_after_refusal(conversation.id, customer, language)
        )
        if handed_off and not asked_person:
            notice = texts.translate(texts.HANDOFF_AFTER_REFUSAL, language)
            answer = replace(answer, text=f"{answer.text}\n\n{notice}")
        log.info(
            "answered",
            extra={
                "conversation_id": conversation.id,
                "outcome": answer.outcome,
                "language": language,
                "shown_language": texts.shown_language(language),
                "sources": len(answer.sources),
                "ttft_ms": answer.timings.ttft_ms,
                "total_ms": answer.timings.total_ms,
            },
        )
        yield Reply(
            "answer",
            answer.text,
            answer=answer,
            answer_id=answer_id,
            conversation_id=conversation.id,
            handed_off=handed_off,
            language=language,
            operators=operators,
        )

    async def _generate(
        self, customer: Customer, question: str, history: Sequence[Turn], language: str
    ) -> AsyncGenerator[Delta | Waiting | Answer, None]:
        """The pipeline's stream, with `Waiting` notices while the answer waits for its first text.

        The pipeline runs in a task of its own that hands items over a queue: a generator's deadlines
        (`asyncio.timeout` in the remote backend) belong to the task that runs it, so it must stay one task
        while this side wakes up to tell the customer their place.
        """
        ticket = self.line.join(customer.key)
        items: asyncio.Queue[Delta | Answer | _Ended] = asyncio.Queue(maxsize=1)
        stream = self.pipeline.stream(question, history, user_key=customer.key, language=language)
        pump = asyncio.create_task(_pump(stream, items), name=f"answer-{customer.key}")
        shown: Waiting | None = None
        shown_at = 0.0
        check_at = ticket.joined_at + self._wait_notice_s
        try:
            while True:
                waiting = ticket.started_at is None
                try:
                    async with asyncio.timeout(max(0.0, check_at - self.line.clock()) if waiting else None):
                        item = await items.get()
                except TimeoutError:
                    now = self.line.clock()
                    update = self._waiting(ticket, language)
                    due = shown is None or now - shown_at >= self._wait_update_s
                    if update is not None and due and (shown is None or changed_enough(shown, update)):
                        if shown is None:
                            self.line.told(ticket, update.estimate_s)
                        shown, shown_at = update, now
                        check_at = now + self._wait_update_s
                        yield update
                    elif shown is not None and not due:
                        check_at = shown_at + self._wait_update_s
                    else:
                        # Not told yet, or an update is due but nothing changed enough: looking sends
                        # nothing, so look again soon.
                        check_at = now + self._wait_notice_s
                    continue
                if isinstance(item, _Ended):
                    if item.error is not None:
                        raise item.error
                    return
                if waiting:
                    self.line.leave(ticket)
                if isinstance(item, Answer):
                    self.line.finished(item)
                yield item
        finally:
            self.line.leave(ticket, served=False)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    def _waiting(self, ticket: Ticket, language: str) -> Waiting | None:
        """The notice for a waiting answer; None while it is next and should start within the threshold."""
        ahead = self.line.ahead(ticket)
        estimate = self.line.estimate_s(ahead)
        if ahead == 0 or (estimate is not None and estimate < self._wait_notice_s):
            return None
        return Waiting(ahead + 1, estimate, wait_notice(ahead + 1, estimate, language), language)

    def waiting_figures(self) -> WaitFigures:
        """The waiting line now, for /stats."""
        return self.line.figures()

    async def _contact_details(self, customer: Customer, language: str) -> AsyncIterator[Waiting | Answer]:
        """The help center's answer to how to reach the support team (`texts.CONTACT_QUESTION`, then
        `texts.CONTACT_PHONE_QUESTION`, asked in the customer's language, then in the help center's main one),
        yielded last: the first that is sure and gives an email address or a handle (as the redactor finds
        them) or a phone number (`_PHONE_LIKE`), since a section that gives none is not how to reach anyone.
        `Waiting` notices while it waits for the model; nothing more when no lookup finds one or one fails."""
        main = self._kb_languages[0] if self._kb_languages else texts.SOURCE_LANGUAGE
        # Then in the help center's main language: a Chinese customer of an English help center asked in
        # Chinese, and found nothing; an address or a phone number reads the same in any language.
        languages = (
            [language] if texts.shown_language(main) == texts.shown_language(language) else [language, main]
        )
        asks = [
            (q, lang) for lang in languages for q in (texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION)
        ]
        looked_up: list[tuple[str, Answer]] = []
        for question, asked_in in asks:
            asked = texts.translate(question, asked_in)
            found: Answer | None = None
            try:
                async with contextlib.aclosing(self._generate(customer, asked, (), asked_in)) as events:
                    async for item in events:
                        if isinstance(item, Waiting):
                            yield item
                        elif isinstance(item, Answer):
                            found = item
            except Exception as exc:  # noqa: BLE001 - the customer is still told nobody is available
                log.warning("contact details not looked up", extra={"error": f"{type(exc).__name__}: {exc}"})
                return
            if found is None:
                continue
            sure = found.outcome in ("answered", "extracted") and not found.unsure
            if sure and await asyncio.to_thread(self._reaches_someone, found.text):
                yield found
                return
            looked_up.append((asked, found))
        # No sure answer gave one. The questions are the bot's own, so the gate's doubt says nothing of the
        # customer's: the sections their searches found that give an email address, a handle or a phone number
        # (as the redactor finds them: no date or amount) are quoted where they give it. A trial's help center
        # opened its contact article with "here is how to reach our support team", the email address two
        # lines below: that opening was quoted, unsure, and the address never shown.
        for asked, found in looked_up:
            quoted = await asyncio.to_thread(_contact_quote, asked, found, self._gives_contact_details)
            if quoted is not None:
                yield quoted
                return

    def _reaches_someone(self, text: str, *, phone_shaped: bool = True) -> bool:
        """Whether `text` gives an email address or a handle (as the redactor finds them) or a phone number:
        as written (`_PHONE_LIKE`), or, not `phone_shaped`, as the redactor finds one too."""
        counts = self._redactor.redact(text).counts
        phone = _PHONE_LIKE.search(text) if phone_shaped else counts["PHONE"]
        return bool(counts["EMAIL"] or counts["HANDLE"] or phone)

    def _gives_contact_details(self, text: str) -> bool:
        return self._reaches_someone(text, phone_shaped=False)

    async def _approved_answer(self, question: str, language: str) -> Answer | None:
        """The approved answer that matches `question` closely, as an Answer; None: the pipeline answers.

        Matching only saves the pipeline work: any failure in it (database, embedder) is logged and the
        question goes to the pipeline as if nothing matched.
        """
        if self.approved is None:
            return None
        if not has_words(question):
            # Embeddings of emoji-only texts all sit close together: "👍" would match an approved "😀😀"
            # (or any other wordless question), serving an unrelated answer with an admin's authority.
            return None
        started = time.perf_counter()
        try:
            match = await self.approved.match(question)
        except Exception as exc:
            log.warning(
                "approved answers unavailable; the pipeline answers",
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )
            return None
        if match is None:
            return None
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "approved answer matched",
            extra={"approved_id": match.approved.id, "score": round(match.score, 3)},
        )
        return approved_answer(match, question, language, elapsed_ms)

    # -- languages -----------------------------------------------------------------------------------

    def language_of_text(self, text: str, customer: Customer, *, previous: str = "") -> str:
        """The detected language of a customer's text; the channel's hint only when it cannot be told, and
        without one `previous` (the conversation's language so far); the knowledge base's languages (as
        last read) where neither tells."""
        return detect_message_language(
            text,
            customer.language_hint or None,
            self.detector,
            previous=previous,
            kb_languages=self._kb_languages,
        )

    async def _message_language(self, text: str, customer: Customer, conversation_id: int) -> str:
        """The language of a customer's message in their conversation: unhinted (Telegram without
        `language_code`, the console), one too short or unsure to tell ("danke", "ok") keeps the
        conversation's, where it fell back to English and switched the replies, and /help after them."""
        previous = "" if customer.language_hint else await self._db(self.log.last_language(conversation_id))
        return self.language_of_text(text, customer, previous=previous)

    async def language_of(self, customer: Customer) -> str:
        """The customer's language when they send no text to read (a command, a button): the language of
        their latest message (in any conversation), else the channel's hint, else "und"."""
        stored = await self._db(self.log.user_language(customer.channel, customer.user_id))
        return self._or_hint(stored, customer.language_hint, await self._read_kb_languages())

    async def conversation_language(self, conversation_id: int, hint: str = "") -> str:
        """The language of the conversation's latest message that has one, else `hint`, else the knowledge
        base's where that is one language other than English (`kb_default_language`), else "und"."""
        stored = await self._db(self.log.last_language(conversation_id))
        return self._or_hint(stored, hint, await self._read_kb_languages())

    @staticmethod
    def _or_hint(stored: str, hint: str, kb_languages: Sequence[str] = ()) -> str:
        if stored and stored != UNDETERMINED:
            return stored
        # A German help center's /start, unhinted, is German: "und" reads as English.
        return language_tag(hint) if hint else kb_default_language(kb_languages)

    async def _read_kb_languages(self) -> tuple[str, ...]:
        """The knowledge base's languages, main first, read at most every `KB_LANGUAGES_TTL_S` (no search:
        `bot.rag.pipeline.Pipeline.kb_languages`); () from an answer stream that does not know them."""
        source = self.pipeline
        now = time.monotonic()
        if not isinstance(source, KBLanguages) or now - self._kb_languages_at < KB_LANGUAGES_TTL_S:
            return self._kb_languages
        self._kb_languages_at = now  # one read at a time: the messages meanwhile use the last languages
        try:
            async with asyncio.timeout(KB_LANGUAGES_TIMEOUT_S):
                self._kb_languages = tuple(await source.kb_languages())
        except Exception as exc:  # a prior, never a reason to fail a customer's message
            self._kb_languages_at = now - KB_LANGUAGES_TTL_S + KB_LANGUAGES_RETRY_S
            log.warning(
                "knowledge base languages unavailable", extra={"error": f"{type(exc).__name__}: {exc}"}
            )
        return self._kb_languages

    async def _open(self, customer: Customer, conversation_id: int | None) -> ConversationRef:
        if conversation_id is None:
            return await self.conversation(customer)
        found = await self.get(conversation_id)
        if found is None:
            raise LookupError(f"conversation {conversation_id} not found")
        return found

    async def record_delivery(self, answer_id: int, external_message_id: str) -> None:
        """Remember the channel's id of a shown answer, so its buttons map back to it.

        Best effort: the answer is logged and shown; a failure only loses the mapping.
        """
        try:
            await self._db(self.log.set_external_id(answer_id, external_message_id))
        except (StoreUnavailableError, ValueError) as exc:
            log.warning("could not record the sent message id", extra={"error": str(exc)})

    # -- feedback and corrections ------------------------------------------------------------------

    async def answer_behind(self, channel: Channel, chat_id: str, external_message_id: str) -> int | None:
        """The logged answer shown as that channel message; None once it is gone from the log."""
        found = await self.shown_message(channel, chat_id, external_message_id)
        return None if found is None else found.id

    async def shown_message(
        self, channel: Channel, chat_id: str, external_message_id: str
    ) -> MessageRef | None:
        """The logged message shown as that channel message with whose conversation it is in (for an answer,
        who asked: the one person its buttons are for); None once it is gone from the log."""
        return await self._db(self.log.find_message(channel, chat_id, external_message_id))

    async def rate(self, answer_id: int, rating: Rating) -> None:
        await self._db(self.log.add_feedback(answer_id, rating))
        log.info("feedback", extra={"answer_id": answer_id, "rating": rating})

    async def comment(self, answer_id: int, text: str) -> None:
        await self._db(self.log.add_feedback(answer_id, None, encodable(text)))

    async def await_reply(
        self, channel: Channel, chat_id: str, prompt_message_id: str, prompt: ReplyPrompt
    ) -> None:
        """Remember a question the channel asked under an answer (its message id) until its person replies."""
        await self._db(self.log.add_reply_prompt(channel, chat_id, prompt_message_id, prompt))

    async def take_reply(
        self, channel: Channel, chat_id: str, replied_message_id: str, user_id: str
    ) -> ReplyPrompt | None:
        """The prompt a message replies to, if it is one of ours awaiting this person; taken, so once only."""
        return await self._db(self.log.take_reply_prompt(channel, chat_id, replied_message_id, user_id))

    async def correct(self, answer_id: int, admin_id: str, text: str) -> ApprovedAnswer | None:
        """An admin's corrected answer; callers have checked that `admin_id` is an admin.

        Kept as a correction (the training export uses it) and, with approved answers on, as an approved
        answer to the question it answered, served from now on (returned; None when that question has no
        words, only emoji or symbols, as no approved answer may have, and when the reply was one of those
        made without looking anything up, `NOT_LOOKED_UP`, such as small talk). It cites no article: the one
        the wrong answer was built from may be why it was wrong (`answers edit ID --source` adds one). Its
        question is the customer's, with the personal data the deployment's redactor finds replaced by
        placeholders (`<IBAN>`, …), as `answers approve --answer-id` approves it.
        """
        text = encodable(text)
        if not has_words(text):
            raise ValueError("a correction needs words, not only emoji or symbols")
        await self._db(self.log.add_correction(answer_id, admin_id, text))
        log.info("correction saved", extra={"answer_id": answer_id, "admin_id": admin_id})
        if self.approved is None:
            return None
        store = self.approved.store
        logged = await self._db(store.logged_answer(answer_id))
        if logged is None or not logged.question.strip():
            return None
        if logged.outcome in NOT_LOOKED_UP:
            # Small talk, "a person was asked", an empty or too long message: such messages are answered
            # before anything is looked up, approved answers included, so one would never be served.
            log.info("correction not approved: its reply is never looked up", extra={"answer_id": answer_id})
            return None
        # One customer wrote it ("refund to my IBAN DE89 …"), and an approved question is matched against
        # every later customer's and listed to admins: their details go, what it asks stays. In a thread:
        # the phone matcher is slow on long texts.
        # A follow-up is approved as the standalone question that was searched: "and what if I paid by
        # PayPal?" alone was served the refund correction to a new visitor asking about paying for a label.
        question = (await asyncio.to_thread(self._redactor.redact, logged.standalone)).text
        if not has_words(question):
            # The correction is kept for training, but a question of only emoji or symbols would match every
            # other such message ("👍", "🙏"), so it is never approved as a question.
            log.info("correction not approved: its question has no words", extra={"answer_id": answer_id})
            return None
        # Correcting an approved answer, or a question already approved, replaces that answer's text: two
        # approved answers to one question would only contest each other (and neither would be served).
        # Stored as typed: it is the admin's deliberate text for every customer (a support address), and
        # the console, the Approved answers page and customers must all see the same text; an operator's
        # reply to one customer is a candidate and stays redacted.
        served = await self._db(store.list_approved(SERVED_STATUSES))
        existing = served_answer_to_replace(served, question, logged.approved_id)
        if existing is not None:
            approved = await self._db(
                store.update_approved(
                    existing.id, text=text, status="active", approved_by=admin_id, keep_personal_data=True
                )
            )
            log.info("approved answer replaced", extra={"approved_id": approved.id, "answer_id": answer_id})
            return approved
        approved = await self._db(
            store.add_approved(
                question=question,
                text=text,
                approved_by=admin_id,
                corrects_answer_id=answer_id,
                keep_personal_data=True,
            )
        )
        log.info("approved answer saved", extra={"approved_id": approved.id, "answer_id": answer_id})
        return approved

    async def logged_answer(self, answer_id: int) -> tuple[str, str] | None:
        """(question, answer text) of a logged bot answer, for an admin about to correct it; None when
        there is no such answer."""
        if self.approved is None:
            return None
        found = await self._db(self.approved.store.logged_answer(answer_id))
        return None if found is None else (found.question, found.text)

    # -- handoff -------------------------------------------------------------------------------------

    async def request_handoff(self, customer: Customer, reason: str, *, language: str | None = None) -> str:
        """Bring in a human for the customer's open conversation; returns the notice to show them, in
        `language` (by default the conversation's: `language_of`). With nobody to hand over to, the help
        center's contact details follow it as plain text (`_contact_details`, its sources listed under it), as
        under a message asking for a person."""
        conversation = await self.conversation(customer)
        if language is None:
            language = await self.conversation_language(conversation.id, customer.language_hint)
        notice = await self._start_handoff(conversation, customer, reason, language)
        shown = texts.translate(notice, language)
        if notice != texts.HANDOFF_UNAVAILABLE:
            return shown
        contact: Answer | None = None
        async for looked_up in self._contact_details(customer, language):
            if isinstance(looked_up, Answer):
                contact = looked_up
        if contact is None:
            return shown
        # Its sources listed under it as the console lists them: "[1] Contact us › Phone https://…".
        listed = [
            " ".join(part for part in (label, source.display_name, source.url) if part)
            for label, source in zip(contact.source_labels, contact.sources, strict=True)
        ]
        lead = texts.translate(texts.CONTACT_LEAD, language)
        return "\n".join([f"{shown}\n\n{lead}\n{contact.text}", *listed])

    async def _start_handoff(
        self, conversation: ConversationRef, customer: Customer, reason: str, language: str
    ) -> str:
        """Open the handoff; returns which notice applies (the English text, translated by the caller)."""
        if self.desk is None or not self.desk.available:
            return texts.HANDOFF_UNAVAILABLE
        if conversation.handoff != "none":
            return texts.HANDOFF_ALREADY
        # Claimed before the operators are told: two "Talk to a human" presses, a press during a refusal's
        # own handoff, or two workers all read "none" at once, and only one of them may post a transcript.
        if not await self._db(self.log.set_handoff(conversation.id, "requested", expected="none")):
            return texts.HANDOFF_ALREADY
        try:
            # What the customer saw, fixed replies (small talk, "busy") included: the model's history
            # leaves those out, and the operators would read questions answered by nothing.
            transcript = await self._db(self.log.transcript(conversation.id, TRANSCRIPT_TURNS))
            opened = await self.desk.open_handoff(
                conversation.id, customer, reason, transcript, language=language
            )
        except BaseException:
            await self._release_handoff(conversation.id)
            raise
        if not opened:
            await self._release_handoff(conversation.id)
            return texts.HANDOFF_UNAVAILABLE
        log.info(
            "handoff started",
            extra={"conversation_id": conversation.id, "reason": reason, "language": language},
        )
        return texts.HANDOFF_REQUESTED

    async def _release_handoff(self, conversation_id: int) -> None:
        """Give back a claim whose transcript never reached the operators: a later request can try again."""
        try:
            await self._db(self.log.set_handoff(conversation_id, "none", expected="requested"))
        except StoreUnavailableError:
            # Left "requested": the customer's messages then go to an operator chat that never got the
            # transcript; /new (or an operator's /done) clears it. Logged, since no one is told otherwise.
            log.error("handoff claim not released", extra={"conversation_id": conversation_id})

    async def _handoff_after_refusal(self, conversation_id: int, customer: Customer, language: str) -> bool:
        """A refusal hands off: the transcript (already holding the refusal) goes to the operators now."""
        if self.desk is None or not self.desk.available:
            return False
        try:
            fresh = await self.get(conversation_id)
            if fresh is None or fresh.handoff != "none":
                return False
            notice = await self._start_handoff(
                fresh, customer, "the bot could not answer from the help center", language
            )
        except StoreUnavailableError:
            return False
        return notice == texts.HANDOFF_REQUESTED

    async def operator_reply(
        self, conversation_id: int, text: str, *, operator: str = "operator"
    ) -> OperatorDelivery:
        """Log an operator's reply and say where it goes (or why it cannot go anywhere).

        The reply is also kept as a candidate answer to the customer's latest question, for an admin to
        approve (`answers list --candidates`)."""
        text = encodable(text)
        conversation = await self.get(conversation_id)
        if conversation is None:
            return OperatorDelivery(None, problem=f"Conversation #{conversation_id} no longer exists.")
        if conversation.handoff == "none":
            return OperatorDelivery(
                None, problem=f"Handoff #{conversation_id} has ended; the user is back with the bot."
            )
        if not text:
            return OperatorDelivery(None, problem="Only text replies are forwarded to the user.")
        await self._db(self.log.log_operator_message(conversation.id, text))
        await self._keep_candidate(conversation.id, text, operator)
        if conversation.handoff == "requested":
            await self._db(self.log.set_handoff(conversation.id, "active"))
        language = await self.conversation_language(conversation.id)
        return OperatorDelivery(
            conversation, texts.translate(texts.OPERATOR_PREFIX, language) + text, language
        )

    async def _keep_candidate(self, conversation_id: int, text: str, operator: str) -> None:
        """Best effort: the reply is logged and goes to the customer whether or not this works."""
        if self.approved is None:
            return
        try:
            candidate = await self._db(self.approved.store.add_candidate(conversation_id, text, operator))
        except (StoreUnavailableError, ValueError) as exc:
            log.warning("operator reply not kept as a candidate", extra={"error": str(exc)})
            return
        if candidate is not None:
            log.info("candidate answer kept", extra={"approved_id": candidate.id})

    async def end_handoff(self, conversation_id: int) -> ConversationRef | None:
        """Hand the conversation back to the bot; None when it was not in a handoff."""
        conversation = await self.get(conversation_id)
        if conversation is None or conversation.handoff == "none":
            return None
        await self._db(self.log.set_handoff(conversation.id, "none"))
        log.info("handoff ended", extra={"conversation_id": conversation.id})
        return conversation


def _small_talk_answer(question: str, language: str) -> Answer | None:
    """A friendly fixed reply to a greeting, thanks, goodbye or "ok": looked up, it would be refused (and
    handed to a person) for want of a matching article."""
    kind = small_talk(question)
    if kind is None:
        return None
    return Answer(
        text=texts.translate(texts.SMALL_TALK_REPLIES[kind], language),
        sources=(),
        grounded=False,
        timings=Timings(),
        outcome="small_talk",
        question=question,
    )


def approved_answer(match: ApprovedMatch, question: str, language: str, elapsed_ms: float) -> Answer:
    """An approved answer as the customer gets it: its text, cited as the approved answer with its article."""
    approved = match.approved
    label = texts.translate(texts.APPROVED_ANSWER, language)
    return Answer(
        text=approved.text,
        sources=(Source(approved.source or "", label),),
        grounded=True,
        timings=Timings(retrieval_ms=elapsed_ms, total_ms=elapsed_ms, first_visible_ms=elapsed_ms),
        outcome="approved",
        question=question,
        approved_id=approved.id,
    )
