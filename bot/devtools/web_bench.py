"""`bench load --channel web`: the same simulated users as `bench load`, through the web channel over HTTP.

The web app runs as in production (uvicorn on a loopback port, the guard, cookies, CSRF, a real SQLite log);
each simulated user is its own HTTP client with its own visitor cookie and asks its questions one after
another. "First edit" is the first streamed event of an answer, "full answer" its final event, both measured
from when the request was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from bot.channels.web.app import run_web
from bot.channels.web.deps import FloodRule, WebDeps
from bot.config import Settings
from bot.conversation import AnswerStream
from bot.devtools.load_bench import DEFAULT_QUESTIONS, BenchResult, RecordingPipeline, bench_result, rss_mb
from bot.kb.base import KnowledgeBase
from bot.services import build_admin, build_conversations
from bot.store.insights_sql import SqlInsights
from bot.store.migrate import upgrade
from bot.store.repo import SqlConversationLog

log = logging.getLogger("bot.devtools.web_bench")


class _ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_web_bench(
    settings: Settings,
    pipeline: AnswerStream,
    kb: KnowledgeBase,
    *,
    users: int,
    messages: int,
    questions: Sequence[str] = DEFAULT_QUESTIONS,
    timeout_s: float = 600.0,
    duration_s: float | None = None,
    progress: Callable[[str], None] | None = None,
    progress_every_s: float = 60.0,
) -> BenchResult:
    """Run `users` simulated visitors through the web channel and return the same figures as `bench load`."""
    recording = RecordingPipeline(pipeline)
    errors = _ErrorCounter()
    # Every visitor comes from 127.0.0.1, and asks faster than a person: the limits are lifted to the load.
    web = settings.web.model_copy(update={"ip_requests_per_minute": 100_000, "admin_token": None})
    flood = FloodRule(1000 if duration_s is not None else max(settings.telegram.flood_messages, messages + 1))
    stop = asyncio.Event()
    calls: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    finished: list[tuple[int, float, float]] = []
    rss: list[tuple[float, float]] = []
    heap: list[tuple[float, float]] = []
    async with contextlib.AsyncExitStack() as stack:
        for name in ("bot.channels.web", "uvicorn.error"):
            logging.getLogger(name).addHandler(errors)
            stack.callback(logging.getLogger(name).removeHandler, errors)
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bot-web-bench-")))
        url = f"sqlite+aiosqlite:///{scratch / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        store = SqlConversationLog(url)
        stack.push_async_callback(store.close)
        deps = WebDeps(
            settings=web,
            conversations=build_conversations(settings, recording, store),
            admin=build_admin(settings, kb, store, exports_dir=scratch / "exports"),
            insights=SqlInsights(store),
            secret_key="bench-" * 8,
            flood=flood,
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = asyncio.create_task(run_web(deps, stop=stop, host="127.0.0.1", port=port))
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        async with httpx.AsyncClient(base_url=base, timeout=5.0) as probe:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe.get("/widget.js")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        started = time.monotonic()
        deadline = started + duration_s if duration_s is not None else None

        def more(asked: int) -> bool:
            return asked < messages if deadline is None else time.monotonic() < deadline

        async def simulate(index: int) -> None:
            async with httpx.AsyncClient(base_url=base, timeout=timeout_s, limits=limits) as client:
                calls["GET /api/session"] += 1
                session = await client.get("/api/session")
                if session.status_code != 200:
                    failures[f"session HTTP {session.status_code}"] += 1
                    return
                headers = {"origin": base, "x-csrf-token": session.json()["csrf"]}
                asked = 0
                while more(asked):
                    text = questions[(index + asked) % len(questions)]
                    asked += 1
                    calls["POST /api/ask"] += 1
                    sent = time.monotonic()
                    first: float | None = None
                    final: float | None = None
                    try:
                        async with client.stream(
                            "POST", "/api/ask", json={"text": text}, headers=headers
                        ) as r:
                            if r.status_code != 200:
                                failures[f"ask HTTP {r.status_code}"] += 1
                                continue
                            async for line in r.aiter_lines():
                                if line.startswith("event: "):
                                    first = first or time.monotonic()
                                    if line == "event: reply":
                                        final = time.monotonic()
                    except httpx.HTTPError as exc:
                        failures[f"ask {exc.__class__.__name__}"] += 1
                        continue
                    if first is None or final is None:
                        failures["no final answer"] += 1
                        continue
                    finished.append((index, (first - sent) * 1000, (final - sent) * 1000))

        async def sample() -> None:
            last = started
            while True:
                now = time.monotonic()
                rss.append((now - started, rss_mb()))
                heap.append((now - started, float(sys.getallocatedblocks())))
                if progress is not None and now - last >= progress_every_s:
                    last = now
                    progress(f"{now - started:.0f} s: {len(finished)} answered, RSS {rss_mb():.0f} MB")
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        try:
            await asyncio.gather(*(simulate(i) for i in range(users)))
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            stop.set()
            await server
        wall = time.monotonic() - started
        rss.append((wall, rss_mb()))
        heap.append((wall, float(sys.getallocatedblocks())))

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
        # Each visitor waits for an answer before asking again: order cannot break over HTTP.
        order_held=True,
        rss=rss,
        heap=heap,
        api_calls=dict(calls),
        retry_afters=sum(n for key, n in failures.items() if "429" in key),
    )
