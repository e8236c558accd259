"""`bench load --workers N`: real `serve --webhook` processes behind a round-robin proxy, one database."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import texts
from bot.channels.telegram.render import STREAM_CURSOR
from bot.config import Settings
from bot.conversation import WAIT_MARK
from bot.devtools.fake_telegram import DEFAULT_TOKEN, ApiCall, FakeTelegram, FakeTelegramServer, user
from bot.devtools.load_bench import DEFAULT_QUESTIONS
from bot.metrics import percentile

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ERROR_OUTCOMES = ("busy", "model_error", "kb_unavailable")
START_TIMEOUT_S = 300.0  # a worker loads the embedder and the knowledge base; two cores are slow


class WorkersBenchError(RuntimeError):
    """The bench could not start its parts; the message says which and where its log is."""


@dataclass
class _Question:
    chat_id: int
    message_id: int
    queued_at: float
    first_at: float | None = None
    final_at: float | None = None
    answer_messages: set[int] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class WorkersBenchResult:
    """What a multi-worker load run showed customers; `problems` must be 0."""

    workers: int
    model_servers: int
    users: int
    messages: int
    wall_s: float
    asked: int
    answered: int
    duplicates: int  # answers a customer got twice (second message replying to one question)
    lost: int  # questions without a final answer within the timeout
    interleaved: int  # a chat's answer started before its previous one was final
    error_texts: int  # the fixed "something went wrong" / "can't take messages" texts shown
    outcomes: dict[str, int]  # logged answers by outcome
    logged_twice: int  # questions with more than one logged answer
    first_ms: list[float]
    final_ms: list[float]
    per_worker: dict[int, int]  # webhook deliveries the proxy sent to each worker
    killed_server_at_s: float | None
    worker_errors: int  # ERROR lines in the workers' logs
    logs: str

    @property
    def errors_shown(self) -> int:
        return self.error_texts + sum(self.outcomes.get(name, 0) for name in ERROR_OUTCOMES)

    @property
    def problems(self) -> int:
        return self.duplicates + self.lost + self.interleaved + self.errors_shown + self.logged_twice

    def lines(self) -> list[str]:
        def pct(values: list[float], q: float) -> str:
            found = percentile(values, q)
            return "–" if found is None else f"{found / 1000:.1f} s"

        killed = (
            f", model server 1 killed at {self.killed_server_at_s:.0f} s"
            if self.killed_server_at_s is not None
            else ""
        )
        spread = ", ".join(f"worker {n + 1}: {count}" for n, count in sorted(self.per_worker.items()))
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items())) or "none"
        return [
            f"{self.workers} workers, {self.model_servers} model servers, {self.users} users × "
            f"{self.messages} questions{killed}",
            f"wall {self.wall_s:.1f} s, {self.answered}/{self.asked} answered "
            f"({self.answered / self.wall_s if self.wall_s else 0:.2f} answers/s)",
            f"first edit p50 {pct(self.first_ms, 50)} p95 {pct(self.first_ms, 95)}; full answer p50 "
            f"{pct(self.final_ms, 50)} p95 {pct(self.final_ms, 95)}"
            + (f" (mean {statistics.fmean(self.final_ms) / 1000:.1f} s)" if self.final_ms else ""),
            f"duplicates {self.duplicates}, lost {self.lost}, interleaved {self.interleaved}, "
            f"logged twice {self.logged_twice}",
            f"errors shown to customers {self.errors_shown} (error texts {self.error_texts}; "
            f"logged outcomes: {outcomes})",
            f"deliveries per worker: {spread}; ERROR lines in worker logs: {self.worker_errors}",
            f"logs: {self.logs}",
        ]


class RoundRobinProxy:
    """The reverse proxy: each webhook POST to the next worker; one refusing connections is skipped."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = list(ports)
        self._next = itertools.cycle(range(len(self.ports)))
        self.sent: list[tuple[int, int]] = []  # (update_id, worker index), in delivery order
        self._session: Any = None
        self._runner: Any = None
        self.port = 0

    @property
    def per_worker(self) -> Counter[int]:
        """Webhook deliveries sent to each worker."""
        return Counter(index for _, index in self.sent)

    async def start(self) -> None:
        import aiohttp
        from aiohttp import web

        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_post("/hook", self.forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def forward(self, request: Any) -> Any:
        import aiohttp
        from aiohttp import web

        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k in (SECRET_HEADER, "Content-Type")}
        for _ in self.ports:
            index = next(self._next)
            try:
                async with self._session.post(
                    f"http://127.0.0.1:{self.ports[index]}/hook", data=body, headers=headers
                ) as resp:
                    self.sent.append((int(json.loads(body)["update_id"]), index))
                    return web.Response(status=resp.status, text=await resp.text())
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502, text="no worker")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, within_s: float) -> None:
    """Until `url` answers 200 (or, for a webhook port, anything at all)."""
    import aiohttp

    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (await asyncio.to_thread(log.read_text, errors="replace")).strip().splitlines()[-5:]
                raise WorkersBenchError(f"{log.name} exited with {process.returncode}: " + " | ".join(tail))
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as resp:
                    if resp.status == 200 or "/hook" in url:
                        return
            await asyncio.sleep(0.3)
    raise WorkersBenchError(f"{url} did not come up within {within_s:g} s; see {log}")


@contextlib.asynccontextmanager
async def _processes() -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    """Processes started inside are stopped on the way out: SIGTERM, then SIGKILL after 30 s."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        await stop_processes(started)


async def stop_processes(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process still running, then SIGKILL any that has not exited 30 s later."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


def _spawn(argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)  # noqa: S603 - our argv


def _model_server_argv(settings: Settings, port: int) -> list[str]:
    from bot.devtools.generation_bench import llama_server_argv
    from bot.devtools.llama_server import ensure_llama_server
    from bot.llm.registry import ModelRegistry

    binary = ensure_llama_server(log=lambda line: None)
    model_path, lora_path = ModelRegistry(settings.models_dir).resolve_generator(settings.llm)
    return llama_server_argv(
        binary, settings.llm, model_path, lora_path, parallel=settings.llm.parallel, port=port
    )


def _worker_env(
    settings: Settings,
    *,
    server: FakeTelegramServer,
    secret: str,
    database_url: str,
    model_urls: Sequence[str],
    users: int,
    messages: int,
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BOT_DATA_DIR=str(settings.data_dir.resolve()),
        BOT_DATABASE_URL=database_url,
        BOT_TELEGRAM__TOKEN=DEFAULT_TOKEN,
        BOT_TELEGRAM__BASE_URL=server.base_url,
        BOT_TELEGRAM__BASE_FILE_URL=server.base_file_url,
        BOT_TELEGRAM__WEBHOOK_SECRET=secret,
        BOT_TELEGRAM__ADMIN_IDS="",
        BOT_TELEGRAM__FLOOD_MESSAGES=str(min(1000, max(settings.telegram.flood_messages, messages + 1))),
        BOT_TELEGRAM__SHARED_STATE="database",
        BOT_LLM__SERVER_URL=model_urls[0],
        BOT_LLM__SERVER_URLS=",".join(model_urls),
        # Room in each worker's generation queue for every simulated user: the bench measures waiting.
        BOT_LLM__QUEUE_SIZE=str(max(settings.llm.queue_size, users + 1)),
        BOT_WEB__ENABLED="false",
        BOT_KB__REFRESH_INTERVAL="0",
        BOT_LOG_LEVEL="WARNING",
    )
    return env


async def _empty_ledger(database_url: str) -> None:
    """A run starts with no updates of an earlier (maybe killed) run left to take over."""
    from sqlalchemy import delete

    from bot.store.models import FloodWindowRow, UpdateLedgerRow
    from bot.store.repo import SqlConversationLog

    log = SqlConversationLog(database_url)
    try:
        async with log.transaction(write=True) as conn:
            await conn.execute(delete(UpdateLedgerRow))
            await conn.execute(delete(FloodWindowRow))
    finally:
        await log.close()


async def _logged(database_url: str, since: datetime) -> tuple[dict[str, int], int]:
    """This run's logged answers by outcome, and how many questions got more than one logged answer."""
    from sqlalchemy import func, select

    from bot.store.models import Message
    from bot.store.repo import SqlConversationLog

    log = SqlConversationLog(database_url)
    try:
        async with log.transaction() as conn:
            rows = (
                await conn.execute(
                    select(Message.outcome, func.count())
                    .where(Message.role == "assistant", Message.created_at >= since)
                    .group_by(Message.outcome)
                )
            ).all()
            twice = (
                await conn.execute(
                    select(Message.reply_to_id)
                    .where(
                        Message.role == "assistant",
                        Message.reply_to_id.is_not(None),
                        Message.created_at >= since,
                    )
                    .group_by(Message.reply_to_id)
                    .having(func.count() > 1)
                )
            ).all()
    finally:
        await log.close()
    return {str(outcome): int(count) for outcome, count in rows}, len(twice)


async def run_workers_bench(
    settings: Settings,
    *,
    workers: int = 2,
    model_servers: int = 2,
    users: int = 20,
    messages: int = 3,
    questions: Sequence[str] = DEFAULT_QUESTIONS,
    timeout_s: float = 900.0,
    kill_model_server: bool = False,
    database_url: str = "",
    progress: Callable[[str], None] | None = None,
) -> WorkersBenchResult:
    """Run the multi-worker bench; `database_url` empty: a fresh SQLite file (the workers share it).

    The harness runs the fake Bot API, a round-robin reverse proxy and `model_servers` llama-servers (the
    workers pool them with BOT_LLM__SERVER_URLS), starts `workers` processes exactly as production does, and
    sends the users' questions through Telegram's webhook path, a chat's next update only once the previous
    delivery was acknowledged (as the Bot API does). It counts what customers saw: answers, duplicates, lost
    questions, answers interleaved within a chat, error texts, and from the log the answers given as a fixed
    failure text (busy, model error, knowledge base unavailable). `kill_model_server`: SIGKILL the first
    model server when half the questions are answered.
    """
    from bot.store.migrate import upgrade

    say = progress or (lambda line: None)
    home = Path(tempfile.mkdtemp(prefix="bot-workers-bench-"))
    url = database_url or f"sqlite+aiosqlite:///{home / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    await _empty_ledger(url)
    since = datetime.now(UTC)  # a reused bench database keeps earlier runs' answers
    async with contextlib.AsyncExitStack() as stack:
        servers = await stack.enter_async_context(_processes())
        model_ports = [_free_port() for _ in range(model_servers)]
        for n, port in enumerate(model_ports):
            argv = await asyncio.to_thread(_model_server_argv, settings, port)
            servers.append(_spawn(argv, home / f"model-server-{n + 1}.log"))
        model_urls = [f"http://127.0.0.1:{port}" for port in model_ports]
        for n, (model_url, process) in enumerate(zip(model_urls, servers, strict=True)):
            await _wait_http(
                f"{model_url}/health", process, home / f"model-server-{n + 1}.log", START_TIMEOUT_S
            )
        say(f"{model_servers} model servers up")

        fake = FakeTelegram(keep_calls=False)
        server = await stack.enter_async_context(FakeTelegramServer(fake))
        ports = [_free_port() for _ in range(workers)]
        proxy = RoundRobinProxy(ports)
        await proxy.start()
        stack.push_async_callback(proxy.close)
        secret = secrets.token_urlsafe(24)
        env = _worker_env(
            settings,
            server=server,
            secret=secret,
            database_url=url,
            model_urls=model_urls,
            users=users,
            messages=messages,
        )
        processes = await stack.enter_async_context(_processes())
        for n, port in enumerate(ports):
            argv = [sys.executable, "-m", "bot", "serve", "--webhook", f"http://127.0.0.1:{proxy.port}/hook"]
            argv += ["--listen", "127.0.0.1", "--port", str(port)]
            processes.append(_spawn(argv, home / f"worker-{n + 1}.log", env))
        for n, (port, process) in enumerate(zip(ports, processes, strict=True)):
            await _wait_http(
                f"http://127.0.0.1:{port}/hook", process, home / f"worker-{n + 1}.log", START_TIMEOUT_S
            )
        await fake.wait_until(lambda: fake.call_counts["setWebhook"] >= workers, 60)
        say(f"{workers} workers up behind the proxy on port {proxy.port}")

        pending: dict[tuple[int, int], _Question] = {}
        by_message: dict[tuple[int, int], _Question] = {}
        awaiting: dict[int, deque[_Question]] = {}
        counters = Counter[str]()
        error_texts = {texts.translate(texts.ERROR, "en"), texts.translate(texts.DB_DOWN, "en")}

        def observe(call: ApiCall) -> None:
            if call.method not in ("sendMessage", "editMessageText") or not call.ok:
                return
            if not isinstance(call.result, dict):
                return
            message = call.result
            chat_id = int(message["chat"]["id"])
            key = (chat_id, int(message["message_id"]))
            text = str(message.get("text", ""))
            if text.startswith(WAIT_MARK.strip()):
                return
            if text.strip() in error_texts:
                counters["error_texts"] += 1
            question: _Question | None = None
            if call.method == "sendMessage":
                replied = message.get("reply_to_message")
                if replied is not None:
                    question = pending.get((chat_id, int(replied["message_id"])))
                elif awaiting.get(chat_id):
                    # Fixed texts go out without a reply in private chats: the chat's oldest open question.
                    question = awaiting[chat_id][0]
                if question is None:
                    return
                if question.answer_messages or question.final_at is not None:
                    counters["duplicates"] += 1
                    return
                queue = awaiting.get(chat_id)
                if not queue or queue[0] is not question:
                    counters["interleaved"] += 1
                question.answer_messages.add(key[1])
                by_message[key] = question
                if question.first_at is None:
                    question.first_at = call.done_at
            else:
                question = by_message.get(key)
                if question is None:
                    return
            if not text.endswith(STREAM_CURSOR.strip()) and question.final_at is None:
                question.final_at = call.done_at
                queue = awaiting.get(chat_id)
                if queue and queue[0] is question:
                    queue.popleft()
                question.done.set()

        fake.listeners.append(observe)
        total = users * messages
        # Above every earlier run's ids: the database remembers updates (ledger, delivery claims) across runs,
        # and an id it has seen is a redelivery to drop.
        update_ids = itertools.count(int(time.time() * 1000))
        finished: list[_Question] = []
        killed_at: list[float] = []
        started = time.monotonic()

        async def deliver(update: dict[str, Any]) -> None:
            before = len(fake.webhook_deliveries)
            uid = fake.inject(update)
            await fake.wait_until(lambda: any(d[0] == uid for d in fake.webhook_deliveries[before:]), 60)

        async def simulate(index: int) -> None:
            person = user(910_000_000 + index, f"User{index}")
            chat_id = int(person["id"])
            for asked in range(messages):
                text = questions[(index + asked) % len(questions)]
                update = fake.message_update(person, text, update_id=next(update_ids))
                question = _Question(chat_id, update["message"]["message_id"], time.monotonic())
                pending[(chat_id, question.message_id)] = question
                awaiting.setdefault(chat_id, deque()).append(question)
                counters["asked"] += 1
                await deliver(update)
                try:
                    await asyncio.wait_for(question.done.wait(), timeout_s)
                except TimeoutError:
                    counters["lost"] += 1
                    return
                finished.append(question)
                if kill_model_server and not killed_at and len(finished) >= total // 2 and len(servers) > 1:
                    killed_at.append(time.monotonic() - started)
                    servers[0].kill()
                    say(f"killed model server 1 after {len(finished)} answers")

        await asyncio.gather(*(simulate(i) for i in range(users)))
        await asyncio.sleep(2.0)  # a late duplicate would show up here
        wall = time.monotonic() - started
        per_worker = dict(proxy.per_worker)
    outcomes, logged_twice = await _logged(url, since)
    logs = [
        await asyncio.to_thread((home / f"worker-{n + 1}.log").read_text, errors="replace")
        for n in range(workers)
    ]
    worker_errors = sum(text.count(" ERROR ") for text in logs)
    return WorkersBenchResult(
        workers=workers,
        model_servers=model_servers,
        users=users,
        messages=messages,
        wall_s=wall,
        asked=counters["asked"],
        answered=len(finished),
        duplicates=counters["duplicates"],
        lost=counters["asked"] - len(finished),
        interleaved=counters["interleaved"],
        error_texts=counters["error_texts"],
        outcomes=outcomes,
        logged_twice=logged_twice,
        first_ms=[(q.first_at - q.queued_at) * 1000 for q in finished if q.first_at is not None],
        final_ms=[(q.final_at - q.queued_at) * 1000 for q in finished if q.final_at is not None],
        per_worker=per_worker,
        killed_server_at_s=killed_at[0] if killed_at else None,
        worker_errors=worker_errors,
        logs=str(home),
    )
