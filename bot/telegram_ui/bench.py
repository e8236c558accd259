"""`bench telegram` and `bench load`: simulated users through the real bot and the fake Bot API over HTTP.

Each simulated user sends its questions one after another (the next when the previous answer is final),
all users at once. The bot runs exactly as in production (python-telegram-bot over HTTP, AIORateLimiter,
per-chat ordering, a real SQLite log) against `FakeTelegramServer`, which timestamps every call. Times:
"first edit" is when the first piece of the answer became visible, "full answer" when the final message
(with its sources) was in place, both measured from the moment the update was queued for the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.kb.base import (
    Hit,
    KBStats,
    KBUnavailableError,
    KnowledgeBase,
    ProgressCallback,
    ReloadReport,
    SearchMode,
)
from bot.rag.types import Answer, Delta, Source, Timings, Turn
from bot.store.base import ConversationLog
from bot.telegram_ui.deps import AnswerStream, BotDeps
from bot.telegram_ui.fake_api import DEFAULT_TOKEN, ApiCall, FakeTelegramServer, user
from bot.telegram_ui.render import STREAM_CURSOR

log = logging.getLogger("bot.telegram_ui.bench")

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
    answer_message_id: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class BenchResult:
    users: int
    messages: int
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

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def lines(self) -> list[str]:
        def pct(values: list[float], q: float) -> str:
            return f"{percentile(values, q):.0f}" if values else "n/a"

        mean_user = statistics.fmean(self.per_user_mean_ms) if self.per_user_mean_ms else 0.0
        worst_user = max(self.per_user_mean_ms, default=0.0)
        fairness = worst_user / mean_user if mean_user else 0.0
        rss = [mb for _, mb in self.rss_mb]
        out = [
            f"users: {self.users}, messages per user: {self.messages}, answers: {self.answered}, "
            f"wall: {self.wall_s:.1f} s",
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
        if rss:
            marks = " ".join(f"{t:.0f}s:{mb:.0f}" for t, mb in _thin(self.rss_mb, 8))
            out.append(f"RSS MB: start {rss[0]:.0f}, max {max(rss):.0f}, end {rss[-1]:.0f}  ({marks})")
        return out


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


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
    """Passes the pipeline's stream through and keeps each final Answer for the figures."""

    def __init__(self, inner: AnswerStream) -> None:
        self.inner = inner
        self.answers: list[Answer] = []

    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str
    ) -> AsyncIterator[Delta | Answer]:
        async for item in self.inner.stream(question, history, user_key=user_key):
            if isinstance(item, Answer):
                self.answers.append(item)
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
        self, question: str, history: Sequence[Turn] = (), *, user_key: str
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

    async def reload(self, source: Path, progress: ProgressCallback | None = None) -> ReloadReport:
        raise KBUnavailableError("bench telegram runs without a knowledge base")

    async def stats(self) -> KBStats:
        raise KBUnavailableError("bench telegram runs without a knowledge base")

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


def bench_settings(settings: Settings, server: FakeTelegramServer, *, messages: int, users: int) -> Settings:
    """The bot's settings pointed at the fake API: no admins, no operator chat, flood limit above the load."""
    telegram = settings.telegram.model_copy(
        update={
            "token": _secret(DEFAULT_TOKEN),
            "base_url": server.base_url,
            "base_file_url": server.base_file_url,
            "admin_ids": [],
            "operator_chat_id": None,
            "flood_messages": max(settings.telegram.flood_messages, messages + 1),
        }
    )
    llm = settings.llm.model_copy(update={"queue_size": max(settings.llm.queue_size, users + 1)})
    return settings.model_copy(update={"telegram": telegram, "llm": llm})


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


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
) -> BenchResult:
    """Run `users` simulated users with `messages` questions each through the bot; return the figures."""
    from bot.telegram_ui.app import build_bot

    recording = RecordingPipeline(pipeline)
    errors = _ErrorCounter()
    logging.getLogger("bot.telegram_ui").addHandler(errors)
    logging.getLogger("telegram").addHandler(errors)
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(FakeTelegramServer())
        fake = server.fake
        config = bench_settings(settings, server, messages=messages, users=users)
        if store is None:
            store = await stack.enter_async_context(_temporary_store())
        built = build_bot(BotDeps(settings=config, pipeline=recording, store=store, kb=kb))
        app = built.application

        pending: dict[tuple[int, int], _Question] = {}
        by_answer: dict[tuple[int, int], _Question] = {}
        previews: dict[int, list[int]] = {}
        retry_afters = [0]

        def observe(call: ApiCall) -> None:
            if call.error.startswith("Too Many Requests"):
                retry_afters[0] += 1
            if call.method not in ("sendMessage", "editMessageText") or not call.ok:
                return
            if not isinstance(call.result, dict):
                return
            message = call.result
            chat_id = int(message["chat"]["id"])
            key = (chat_id, int(message["message_id"]))
            question: _Question | None = None
            if call.method == "sendMessage" and "reply_to_message" in message:
                question = pending.get((chat_id, int(message["reply_to_message"]["message_id"])))
                if question is not None:
                    by_answer[key] = question
                    previews.setdefault(chat_id, []).append(question.message_id)
                    if question.first_at is None:
                        question.first_at = call.done_at
            elif call.method == "editMessageText":
                question = by_answer.get(key)
            if question is not None and not str(message.get("text", "")).endswith(STREAM_CURSOR.strip()):
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
        started = time.monotonic()
        sampler = asyncio.create_task(_sample_rss(rss, started))
        asked: list[_Question] = []
        failures: dict[str, int] = {}

        async def simulate(index: int) -> None:
            person = user(900_000_000 + index, f"User{index}")
            for n in range(messages):
                text = questions[(index + n) % len(questions)]
                update = fake.message_update(person, text)
                message = update["message"]
                question = _Question(index, person["id"], message["message_id"], time.monotonic())
                pending[(question.chat_id, question.message_id)] = question
                asked.append(question)
                fake.inject(update)
                try:
                    await asyncio.wait_for(question.done.wait(), timeout_s)
                except TimeoutError:
                    failures["no final answer"] = failures.get("no final answer", 0) + 1
                    return

        try:
            await asyncio.gather(*(simulate(i) for i in range(users)))
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        wall = time.monotonic() - started
        rss.append((wall, rss_mb()))

    logging.getLogger("bot.telegram_ui").removeHandler(errors)
    logging.getLogger("telegram").removeHandler(errors)
    refused_calls = sum(1 for c in fake.calls if not c.ok and not c.error.startswith("Too Many Requests"))
    if refused_calls:
        failures["Bot API calls refused"] = refused_calls
    if errors.count:
        failures["errors logged"] = errors.count
    outcomes: dict[str, int] = {}
    for answer in recording.answers:
        outcomes[answer.outcome] = outcomes.get(answer.outcome, 0) + 1
    for bad in ("busy", "model_error"):
        if outcomes.get(bad):
            failures[f"{bad} answers"] = outcomes[bad]
    done = [q for q in asked if q.final_at is not None and q.first_at is not None]
    per_user: dict[int, list[float]] = {}
    for q in done:
        per_user.setdefault(q.user_index, []).append((q.final_at or 0) - q.queued_at)
    expected: dict[int, list[int]] = {}
    for q in asked:
        expected.setdefault(q.chat_id, []).append(q.message_id)
    order_held = all(previews.get(chat, []) == ids for chat, ids in expected.items())
    api_calls: dict[str, int] = {}
    for call in fake.calls:
        api_calls[call.method] = api_calls.get(call.method, 0) + 1
    return BenchResult(
        users=users,
        messages=messages,
        wall_s=wall,
        answered=len(done),
        errors=failures,
        first_ms=[((q.first_at or 0) - q.queued_at) * 1000 for q in done],
        final_ms=[((q.final_at or 0) - q.queued_at) * 1000 for q in done],
        per_user_mean_ms=[statistics.fmean(v) * 1000 for v in per_user.values()],
        order_held=order_held,
        queue_ms=[a.timings.queue_ms for a in recording.answers],
        outcomes=outcomes,
        rss_mb=rss,
        api_calls=api_calls,
        retry_afters=retry_afters[0],
    )


async def _stop_app(app: Any) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


async def _sample_rss(out: list[tuple[float, float]], started: float) -> None:
    while True:
        out.append((time.monotonic() - started, rss_mb()))
        await asyncio.sleep(1.0)


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


def load_questions(path: Path) -> list[str]:
    """Questions from a JSONL file with a `question` field per line (e.g. the eval set)."""
    import json

    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise ValueError(f"{path}:{number}: not valid JSON") from None
        text = item.get("question") if isinstance(item, dict) else None
        if not isinstance(text, str) or not re.search(r"\w", text):
            raise ValueError(f"{path}:{number}: needs a non-empty 'question' string")
        questions.append(text)
    if not questions:
        raise ValueError(f"{path} has no questions")
    return questions
