"""`bench telegram` and `bench load`: simulated users through the real bot and the fake Bot API over HTTP.

Each simulated user sends its questions one after another (the next when the previous answer is final),
all users at once. The bot runs exactly as in production (python-telegram-bot over HTTP, AIORateLimiter,
per-chat ordering, a real SQLite log) against `FakeTelegramServer`, which timestamps every call. Times:
"first edit" is when the first piece of the answer became visible, "full answer" when the final message
(with its sources) was in place, both measured from the moment the update was queued for the bot. A
place-in-line notice (a message starting with `WAIT_MARK`) is not the answer: the harness counts who was told
their place, whether anyone was told twice as a new message, and the notice's edits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.admin import describe_waiting
from bot.channels.telegram.deps import TelegramDeps
from bot.channels.telegram.render import STREAM_CURSOR
from bot.config import Settings
from bot.conversation import WAIT_MARK, AnswerStream, ConversationService
from bot.devtools.fake_telegram import DEFAULT_TOKEN, ApiCall, FakeTelegram, FakeTelegramServer, user
from bot.domain import Answer, Chunk, Delta, Hit, Source, Timings, Turn
from bot.kb.base import KBStats, KBUnavailableError, KnowledgeBase, ProgressCallback, ReloadReport, SearchMode
from bot.kb.calibration import Calibration
from bot.kb.reload import Sources
from bot.metrics import percentile
from bot.services import build_admin, build_conversations
from bot.store.base import ConversationLog

log = logging.getLogger("bot.devtools.load_bench")

DEFAULT_QUESTIONS = (
    "How do I reset my password?",
    "How long does a refund take?",
    "Can I change my delivery address after ordering?",
    "How do I track my parcel?",
    "What payment methods do you accept?",
    "How do I delete my account?",
    "Is two-factor authentication available?",
    "How do I return a damaged item?",
    "What are your customer support hours?",
    "How do I update my billing details?",
    "Can I use the mobile app offline?",
    "What happens if nobody is home for the delivery?",
)


@dataclass
class _Question:
    user_index: int
    chat_id: int
    message_id: int
    queued_at: float
    first_at: float | None = None
    final_at: float | None = None
    answer_keys: list[tuple[int, int]] = field(default_factory=list)
    notices: int = 0  # place-in-line notices sent as new messages (one is the rule)
    notice_edits: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class WaitNotices:
    """How the waiting customers were told their place (Telegram runs)."""

    long_wait_s: float  # a first text later than this after the question is a wait that must be told
    long_waits: int  # answers whose first text came later than that
    long_waits_told: int  # of them, those whose customer was told their place
    told: int  # answers with a notice
    told_twice: int  # answers with more than one notice sent as a new message (must be 0)
    edits: int  # notice updates (edits of the one message)
    told_wait_ms: list[float]  # first-text times of the answers with a notice
    service_line: str  # the conversation service's own /stats line after the run

    def lines(self) -> list[str]:
        def pct(q: float) -> str:
            value = percentile(self.told_wait_ms, q)
            return "n/a" if value is None else f"{value / 1000:.1f} s"

        per_told = self.edits / self.told if self.told else 0.0
        return [
            f"waiting customers told their place: {self.long_waits_told} of {self.long_waits} whose answer "
            f"started after {self.long_wait_s:.0f} s; {self.told} told in all; told twice as a new message: "
            f"{self.told_twice}; notice edits: {self.edits} ({per_told:.1f} per told customer)",
            f"wait of told customers (question to first answer text): p50 {pct(50)}  p95 {pct(95)}",
            f"service: {self.service_line}",
        ]


@dataclass(frozen=True)
class BenchResult:
    users: int
    messages: int | None  # None: a soak, users kept asking until `duration_s` was up
    wall_s: float
    answered: int
    errors: dict[str, int]
    first_ms: list[float]
    final_ms: list[float]
    per_user_mean_ms: list[float]
    order_held: bool
    queue_ms: list[float]
    outcomes: dict[str, int]
    rss_mb: list[tuple[float, float]]
    api_calls: dict[str, int]
    retry_afters: int
    heap_blocks: list[tuple[float, float]] = field(default_factory=list)
    duration_s: float | None = None
    notices: WaitNotices | None = None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def lines(self) -> list[str]:
        def pct(values: list[float], q: float) -> str:
            value = percentile(values, q)
            return "n/a" if value is None else f"{value:.0f}"

        mean_user = statistics.fmean(self.per_user_mean_ms) if self.per_user_mean_ms else 0.0
        worst_user = max(self.per_user_mean_ms, default=0.0)
        fairness = worst_user / mean_user if mean_user else 0.0
        rss = [mb for _, mb in self.rss_mb]
        asked = (
            f"messages per user: {self.messages}"
            if self.messages is not None
            else f"soak: users kept asking for {self.duration_s:.0f} s"
        )
        out = [
            f"users: {self.users}, {asked}, answers: {self.answered}, wall: {self.wall_s:.1f} s",
            f"throughput: {self.answered / self.wall_s:.2f} answers/s" if self.wall_s else "throughput: n/a",
            "first edit ms  " + "  ".join(f"p{q} {pct(self.first_ms, q)}" for q in (50, 95, 99)),
            "full answer ms " + "  ".join(f"p{q} {pct(self.final_ms, q)}" for q in (50, 95, 99)),
            f"max queue wait: {max(self.queue_ms, default=0.0):.0f} ms (generation queue, from the pipeline)",
            f"fairness: worst user's mean full-answer time / mean = {fairness:.2f} (target <= 2)",
            f"errors: {self.error_count} {dict(self.errors) if self.errors else ''}".rstrip(),
            f"per-chat order held: {'yes' if self.order_held else 'NO'}",
            f"outcomes: {dict(sorted(self.outcomes.items()))}",
            f"Bot API calls: {dict(sorted(self.api_calls.items()))}, RetryAfter seen: {self.retry_afters}",
        ]
        if self.notices is not None:
            out.extend(self.notices.lines())
        if rss:
            marks = " ".join(f"{t:.0f}s:{mb:.0f}" for t, mb in _thin(self.rss_mb, 8))
            out.append(f"RSS MB: start {rss[0]:.0f}, max {max(rss):.0f}, end {rss[-1]:.0f}  ({marks})")
            trend = trend_per_min(self.rss_mb)
            if trend is not None:
                out.append(f"RSS trend after warm-up: {trend:+.2f} MB/min (least squares, last 4/5 of run)")
        if self.heap_blocks:
            first, last = self.heap_blocks[0][1], self.heap_blocks[-1][1]
            heap_trend = trend_per_min(self.heap_blocks)
            slope = f", trend {heap_trend:+.0f} blocks/min" if heap_trend is not None else ""
            out.append(f"Python heap blocks: start {first:.0f}, end {last:.0f}{slope}")
        return out


def trend_per_min(points: Sequence[tuple[float, float]], warmup_fraction: float = 0.2) -> float | None:
    """Slope per minute of (seconds, value) samples after warm-up; None with too few samples to say."""
    if not points:
        return None
    cut = points[-1][0] * warmup_fraction
    kept = [(t, v) for t, v in points if t >= cut]
    if len(kept) < 10:
        return None
    mean_t = statistics.fmean(t for t, _ in kept)
    mean_v = statistics.fmean(v for _, v in kept)
    spread = sum((t - mean_t) ** 2 for t, _ in kept)
    if spread == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in kept) / spread * 60


def _thin(points: list[tuple[float, float]], keep: int) -> list[tuple[float, float]]:
    if len(points) <= keep:
        return points
    step = (len(points) - 1) / (keep - 1)
    return [points[round(i * step)] for i in range(keep)]


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_000_000


class RecordingPipeline:
    """Passes the pipeline's stream through and tallies each final Answer for the figures.

    Only counts and queue waits are kept, not the answers: a soak would otherwise grow with every answer.
    """

    def __init__(self, inner: AnswerStream) -> None:
        self.inner = inner
        self.outcomes: Counter[str] = Counter()
        self.queue_ms: list[float] = []

    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = "und"
    ) -> AsyncIterator[Delta | Answer]:
        async for item in self.inner.stream(question, history, user_key=user_key, language=language):
            if isinstance(item, Answer):
                self.outcomes[item.outcome] += 1
                self.queue_ms.append(item.timings.queue_ms)
            yield item


class SyntheticPipeline:
    """A stand-in for the answer pipeline that streams a fixed cited answer at a fixed token rate.

    Only for `bench telegram`, which measures the Telegram layer: no model, no KB, so the figures show what
    the channel itself costs. It never pretends to answer anything.
    """

    def __init__(self, *, tokens: int = 60, token_ms: float = 8.0, first_token_ms: float = 150.0) -> None:
        self.tokens = tokens
        self.token_ms = token_ms
        self.first_token_ms = first_token_ms

    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = "und"
    ) -> AsyncIterator[Delta | Answer]:
        started = time.perf_counter()
        await asyncio.sleep(self.first_token_ms / 1000)
        ttft = (time.perf_counter() - started) * 1000
        words = [f"word{i} " for i in range(self.tokens - 1)] + ["[1]"]
        for word in words:
            yield Delta(word)
            await asyncio.sleep(self.token_ms / 1000)
        total = (time.perf_counter() - started) * 1000
        yield Answer(
            text="".join(words),
            sources=(Source("synthetic/benchmark.md", "Synthetic benchmark passage"),),
            grounded=True,
            timings=Timings(retrieval_ms=0.0, ttft_ms=ttft, total_ms=total),
            citations=(1,),
            question=question,
        )


class NoKnowledgeBase:
    """The KB slot of `bench telegram`: its synthetic pipeline never searches; admin paths see it as down."""

    name = "none"

    async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        raise KBUnavailableError("bench telegram runs without a knowledge base")

    async def reload(self, source: Sources, progress: ProgressCallback | None = None) -> ReloadReport:
        raise KBUnavailableError("bench telegram runs without a knowledge base")

    async def stats(self) -> KBStats:
        raise KBUnavailableError("bench telegram runs without a knowledge base")

    async def indexed_sources(self) -> frozenset[str]:
        raise KBUnavailableError("bench telegram runs without a knowledge base")

    async def calibration(self) -> Calibration:
        return Calibration()

    async def missing_words(self, words: Sequence[str]) -> frozenset[str]:
        return frozenset()

    async def outline(self, source: str) -> tuple[Chunk, ...]:
        return ()

    async def ping(self) -> None:
        raise KBUnavailableError("bench telegram runs without a knowledge base")

    async def close(self) -> None:
        return None


class _ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def bench_settings(
    settings: Settings, server: FakeTelegramServer, *, messages: int, soak: bool = False
) -> Settings:
    """The bot's settings pointed at the fake API: no admins, no operator chat, flood limit above the load.

    A soak has no fixed message count, so its flood limit is lifted altogether.
    """
    telegram = settings.telegram.model_copy(
        update={
            "token": SecretStr(DEFAULT_TOKEN),
            "base_url": server.base_url,
            "base_file_url": server.base_file_url,
            "admin_ids": [],
            "operator_chat_id": None,
            "flood_messages": 1000 if soak else max(settings.telegram.flood_messages, messages + 1),
        }
    )
    # The generation queue's room for every user is set where the pipeline is built (`bench load`).
    return settings.model_copy(update={"telegram": telegram})


async def run_bench(
    settings: Settings,
    pipeline: AnswerStream,
    kb: KnowledgeBase,
    *,
    users: int,
    messages: int,
    questions: Sequence[str] = DEFAULT_QUESTIONS,
    timeout_s: float = 600.0,
    store: ConversationLog | None = None,
    duration_s: float | None = None,
    progress: Callable[[str], None] | None = None,
    progress_every_s: float = 60.0,
) -> BenchResult:
    """Run `users` simulated users through the bot and return the figures.

    Each user asks `messages` questions, or, with `duration_s`, keeps asking until that many seconds have
    passed (a soak). Everything the harness keeps per answer is a few numbers, and the fake API forgets
    finished turns, so the RSS figures are the bot's own.
    """
    from bot.channels.telegram.app import build_bot

    recording = RecordingPipeline(pipeline)
    errors = _ErrorCounter()
    async with contextlib.AsyncExitStack() as stack:
        # The fake API's own logger too: a failing listener (the harness's observer) is an error of the run.
        for name in ("bot.channels.telegram", "bot.devtools.fake_telegram", "telegram"):
            logging.getLogger(name).addHandler(errors)
            # Registered first, so removed last: errors logged while the bot shuts down still count.
            stack.callback(logging.getLogger(name).removeHandler, errors)
        server = await stack.enter_async_context(FakeTelegramServer(FakeTelegram(keep_calls=False)))
        fake = server.fake
        config = bench_settings(settings, server, messages=messages, soak=duration_s is not None)
        if store is None:
            store = await stack.enter_async_context(_temporary_store())
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bot-bench-")))
        deps = _deps(config, recording, store, kb, scratch)
        built = build_bot(deps)
        app = built.application

        pending: dict[tuple[int, int], _Question] = {}
        by_answer: dict[tuple[int, int], _Question] = {}
        awaiting: dict[int, deque[int]] = {}  # per chat: question ids not yet answered, in order asked
        counters = Counter[str]()

        def observe(call: ApiCall) -> None:
            if call.error.startswith("Too Many Requests"):
                counters["retry_after"] += 1
            elif not call.ok:
                counters["refused"] += 1
            if call.method not in ("sendMessage", "editMessageText") or not call.ok:
                return
            if not isinstance(call.result, dict):
                return
            message = call.result
            chat_id = int(message["chat"]["id"])
            key = (chat_id, int(message["message_id"]))
            text = str(message.get("text", ""))
            notice = text.startswith(WAIT_MARK.strip())
            question: _Question | None = None
            if call.method == "sendMessage" and "reply_to_message" in message:
                question = pending.get((chat_id, int(message["reply_to_message"]["message_id"])))
                if question is not None:
                    by_answer[key] = question
                    question.answer_keys.append(key)
                    if not question.notices and question.first_at is None:
                        # The first message replying to the question (a notice or the answer) keeps the order.
                        queue = awaiting.get(chat_id)
                        if queue and queue[0] == question.message_id:
                            queue.popleft()
                        else:
                            counters["out_of_order"] += 1
                    if notice:
                        question.notices += 1
                    elif question.first_at is None:
                        question.first_at = call.done_at
            elif call.method == "editMessageText":
                question = by_answer.get(key)
                if question is not None and notice:
                    question.notice_edits += 1
            if question is not None and notice:
                return
            if question is not None and not text.endswith(STREAM_CURSOR.strip()):
                question.final_at = call.done_at
                question.done.set()

        fake.listeners.append(observe)
        await app.initialize()
        await app.start()
        if app.updater is None:
            raise RuntimeError("the bench needs the polling updater")
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        stack.push_async_callback(_stop_app, app)

        rss: list[tuple[float, float]] = []
        heap: list[tuple[float, float]] = []
        finished: list[tuple[int, float, float]] = []  # (user, first edit ms, full answer ms)
        told: list[tuple[int, int, float]] = []  # (notices sent, notice edits, first edit ms) per answer
        failures = Counter[str]()
        started = time.monotonic()
        deadline = started + duration_s if duration_s is not None else None

        def report() -> str:
            return (
                f"{time.monotonic() - started:.0f} s: {len(finished)} answered, "
                f"{counters['asked'] - len(finished)} waiting, RSS {rss_mb():.0f} MB"
            )

        sampler = asyncio.create_task(_sample_memory(rss, heap, started, progress, progress_every_s, report))

        def more(asked: int) -> bool:
            return asked < messages if deadline is None else time.monotonic() < deadline

        async def simulate(index: int) -> None:
            person = user(900_000_000 + index, f"User{index}")
            chat_id = int(person["id"])
            previous: _Question | None = None
            asked = 0
            while more(asked):
                text = questions[(index + asked) % len(questions)]
                asked += 1
                counters["asked"] += 1
                update = fake.message_update(person, text)
                question = _Question(index, chat_id, update["message"]["message_id"], time.monotonic())
                pending[(chat_id, question.message_id)] = question
                awaiting.setdefault(chat_id, deque()).append(question.message_id)
                fake.inject(update)
                try:
                    await asyncio.wait_for(question.done.wait(), timeout_s)
                except TimeoutError:
                    failures["no final answer"] += 1
                    return
                if question.first_at is not None and question.final_at is not None:
                    first_ms = (question.first_at - question.queued_at) * 1000
                    finished.append((index, first_ms, (question.final_at - question.queued_at) * 1000))
                    told.append((question.notices, question.notice_edits, first_ms))
                if previous is not None:
                    # The chat's updates run one after another, so by now nothing touches the turn before.
                    _forget(previous, pending, by_answer)
                fake.forget_messages(chat_id, before=question.message_id)
                previous = question

        try:
            await asyncio.gather(*(simulate(i) for i in range(users)))
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        wall = time.monotonic() - started
        rss.append((wall, rss_mb()))
        heap.append((wall, float(sys.getallocatedblocks())))

    if counters["refused"]:
        failures["Bot API calls refused"] = counters["refused"]
    notices = wait_notices(told, settings.llm.wait_notice_s, deps.conversations)
    if notices.told_twice:
        failures["customers told their place twice"] = notices.told_twice
    if errors.count:
        failures["errors logged"] = errors.count
    return bench_result(
        users=users,
        messages=messages if duration_s is None else None,
        duration_s=duration_s,
        wall_s=wall,
        finished=finished,
        failures=failures,
        recording=recording,
        order_held=counters["out_of_order"] == 0 and not any(awaiting.values()),
        rss=rss,
        heap=heap,
        api_calls=dict(fake.call_counts),
        retry_afters=counters["retry_after"],
        notices=notices,
    )


# A first text this much later than the notice threshold was a wait the customer should have been told of:
# an answer that is next in line gets no notice, and its own first checked sentence may take a few seconds.
LONG_WAIT_MARGIN_S = 10.0


def wait_notices(
    told: Sequence[tuple[int, int, float]], notice_s: float, conversations: ConversationService
) -> WaitNotices:
    """The notice figures from (notices sent, notice edits, first-text ms) per answer."""
    long_wait_s = notice_s + LONG_WAIT_MARGIN_S
    long_waits = [(sent, first) for sent, _, first in told if first > long_wait_s * 1000]
    return WaitNotices(
        long_wait_s=long_wait_s,
        long_waits=len(long_waits),
        long_waits_told=sum(1 for sent, _ in long_waits if sent),
        told=sum(1 for sent, _, _ in told if sent),
        told_twice=sum(1 for sent, _, _ in told if sent > 1),
        edits=sum(edits for _, edits, _ in told),
        told_wait_ms=[first for sent, _, first in told if sent],
        service_line=describe_waiting(conversations.waiting_figures()),
    )


def bench_result(
    *,
    users: int,
    messages: int | None,
    duration_s: float | None,
    wall_s: float,
    finished: Sequence[tuple[int, float, float]],
    failures: Counter[str],
    recording: RecordingPipeline,
    order_held: bool,
    rss: list[tuple[float, float]],
    heap: list[tuple[float, float]],
    api_calls: dict[str, int],
    retry_afters: int,
    notices: WaitNotices | None = None,
) -> BenchResult:
    """The figures of one load run, any channel: `finished` holds (user, first ms, final ms) per answer;
    busy and model-error answers count as failures."""
    outcomes = dict(recording.outcomes)
    for bad in ("busy", "model_error"):
        if outcomes.get(bad):
            failures[f"{bad} answers"] = outcomes[bad]
    per_user: dict[int, list[float]] = {}
    for index, _, final in finished:
        per_user.setdefault(index, []).append(final)
    return BenchResult(
        users=users,
        messages=messages,
        duration_s=duration_s,
        wall_s=wall_s,
        answered=len(finished),
        errors=dict(failures),
        first_ms=[first for _, first, _ in finished],
        final_ms=[final for _, _, final in finished],
        per_user_mean_ms=[statistics.fmean(v) for v in per_user.values()],
        order_held=order_held,
        queue_ms=recording.queue_ms,
        outcomes=outcomes,
        rss_mb=rss,
        heap_blocks=heap,
        api_calls=api_calls,
        retry_afters=retry_afters,
        notices=notices,
    )


def _forget(
    question: _Question,
    pending: dict[tuple[int, int], _Question],
    by_answer: dict[tuple[int, int], _Question],
) -> None:
    pending.pop((question.chat_id, question.message_id), None)
    for key in question.answer_keys:
        by_answer.pop(key, None)


async def _stop_app(app: Any) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


async def _sample_memory(
    rss: list[tuple[float, float]],
    heap: list[tuple[float, float]],
    started: float,
    progress: Callable[[str], None] | None,
    progress_every_s: float,
    report: Callable[[], str],
) -> None:
    # RSS covers native memory (llama.cpp, SQLite, malloc arenas); allocated blocks isolate Python objects.
    last_report = started
    while True:
        now = time.monotonic()
        rss.append((now - started, rss_mb()))
        heap.append((now - started, float(sys.getallocatedblocks())))
        if progress is not None and now - last_report >= progress_every_s:
            last_report = now
            progress(report())
        await asyncio.sleep(1.0)


def _deps(
    settings: Settings, pipeline: AnswerStream, store: ConversationLog, kb: KnowledgeBase, scratch: Path
) -> TelegramDeps:
    """The channel's dependencies over the bench's parts; with no admins, no admin action ever runs."""
    conversations = build_conversations(settings, pipeline, store)
    admin = build_admin(settings, kb, store, exports_dir=scratch / "exports")
    return TelegramDeps(settings.telegram, conversations, admin)


@contextlib.asynccontextmanager
async def _temporary_store() -> AsyncIterator[ConversationLog]:
    """A fresh, migrated SQLite log in a temp dir: benches never write into the real database."""
    from bot.store.migrate import upgrade
    from bot.store.repo import SqlConversationLog

    with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        store = SqlConversationLog(url)
        try:
            yield store
        finally:
            await store.close()
