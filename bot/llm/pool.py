"""A pool of llama.cpp servers behind one `Generator`: least-outstanding routing, health checks, failover."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from bot.config import LLMSettings
from bot.domain import ChatMessage
from bot.llm.base import GeneratorBusyError, GeneratorError, ModelInfo
from bot.llm.remote import RemoteGenerator

log = logging.getLogger("bot.llm")

HEALTH_TIMEOUT_S = 3.0
MAX_RETRY_S = 300.0  # the backoff doubles up to this, so a long-dead server costs one probe per 5 min
LATENCY_WINDOW = 200  # answers per server kept for the p50

State = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class ServerFigures:
    """One pooled server as `health` and `/stats` show it."""

    url: str
    state: State
    in_flight: int
    served: int
    failures: int
    last_error: str
    latency_p50_ms: float | None


@dataclass(eq=False)
class _Server:
    index: int
    generator: RemoteGenerator
    state: State = "up"
    in_flight: int = 0
    served: int = 0
    failures: int = 0
    last_error: str = ""
    retry_at: float = 0.0  # loop time after which a down server may be tried again
    backoff_s: float = 0.0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    @property
    def url(self) -> str:
        return self.generator.url

    def figures(self) -> ServerFigures:
        p50 = statistics.median(self.latencies_ms) if self.latencies_ms else None
        return ServerFigures(
            self.url, self.state, self.in_flight, self.served, self.failures, self.last_error, p50
        )


class ModelServerPool:
    """`Generator` over several llama.cpp servers (`BOT_LLM__SERVER_URLS`).

    Each answer goes to the up server with the fewest answers in flight (ties in turn). A server that fails
    or times out is taken out and tried again after a backoff that doubles; a periodic `/health` check takes
    out and readmits servers too. An answer whose server fails before its first piece of text is sent once
    to another server; once text was yielded the error surfaces, since the customer has seen part of it.
    """

    def __init__(self, llm: LLMSettings) -> None:
        if not llm.server_urls:
            raise ValueError("BOT_LLM__SERVER_URLS is empty: the pool needs at least one server URL")
        self._settings = llm
        self._servers = [_Server(i, RemoteGenerator(llm, url=url)) for i, url in enumerate(llm.server_urls)]
        self._next = 0  # round-robin start among tied servers
        self._checker: asyncio.Task[None] | None = None
        self._closed = False

    # --- the Generator protocol -------------------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        up = [s for s in self._servers if s.state == "up"] or self._servers
        return up[0].generator.info

    @property
    def n_ctx(self) -> int:
        return self._settings.n_ctx

    @property
    def queue_depth(self) -> int:
        return sum(max(0, s.in_flight - 1) for s in self._servers)

    def count_tokens(self, text: str) -> int:
        return self._servers[0].generator.count_tokens(text)

    def count_chat_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return self._servers[0].generator.count_chat_tokens(messages)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        user_key: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str]:
        self._start_checks()
        in_flight = sum(s.in_flight for s in self._servers)
        if in_flight >= self._settings.queue_size * len(self._servers):
            raise GeneratorBusyError(f"{in_flight} requests already waiting for the model servers")
        tried: set[_Server] = set()
        while True:
            server = self._pick(tried)
            tried.add(server)
            server.in_flight += 1
            loop = asyncio.get_running_loop()
            started = loop.time()
            shown = False
            pieces = cast(
                AsyncGenerator[str, None],
                server.generator.stream(messages, user_key=user_key, max_tokens=max_tokens, stop=stop),
            )
            try:
                async for piece in pieces:
                    shown = True
                    yield piece
            except GeneratorBusyError as exc:
                # Busy is not broken: the server stays in, the answer may still go elsewhere.
                server.last_error = str(exc)
                if shown or len(tried) >= min(2, len(self._servers)):
                    raise
                log.info("model server busy; trying another", extra={"server": server.url})
                continue
            except GeneratorError as exc:
                self._take_out(server, str(exc))
                # Once one attempt went elsewhere, or text was shown, the error is the customer's answer.
                if shown or len(tried) >= min(2, len(self._servers)):
                    raise
                log.warning(
                    "model server failed before the first token; answer sent to another",
                    extra={"server": server.url, "error": str(exc)},
                )
                continue
            finally:
                server.in_flight -= 1
                await pieces.aclose()
            server.served += 1
            server.latencies_ms.append((loop.time() - started) * 1000)
            if server.state == "down":
                self._readmit(server)
            return

    async def reload(self) -> ModelInfo:
        """Ask every server which model it serves now (each request is bounded)."""
        await asyncio.gather(*(s.generator.reload() for s in self._servers))
        return self.info

    async def close(self) -> None:
        self._closed = True
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
            self._checker = None
        for server in self._servers:
            await server.generator.close()

    # --- figures ------------------------------------------------------------------------------------

    def figures(self) -> list[ServerFigures]:
        return [s.figures() for s in self._servers]

    async def check_now(self) -> list[ServerFigures]:
        """One health round over every server (down ones too), then the figures: what `health` shows."""
        await asyncio.gather(*(self._check(s, force=True) for s in self._servers))
        return self.figures()

    # --- routing and health -------------------------------------------------------------------------

    def _pick(self, tried: set[_Server]) -> _Server:
        now = asyncio.get_running_loop().time()
        fresh = [s for s in self._servers if s not in tried]
        candidates = [s for s in fresh if s.state == "up" or s.retry_at <= now]
        if not candidates:
            # Every server is out: trying the one out longest costs a refused connection at worst, and
            # beats refusing every customer until the next health check.
            candidates = sorted(fresh or self._servers, key=lambda s: s.retry_at)[:1]
        least = min(s.in_flight for s in candidates)
        tied = [s for s in candidates if s.in_flight == least]
        n = len(self._servers)
        chosen = min(tied, key=lambda s: (s.index - self._next) % n)
        self._next = (chosen.index + 1) % n
        return chosen

    def _take_out(self, server: _Server, error: str) -> None:
        server.failures += 1
        server.last_error = error
        server.backoff_s = (
            min(server.backoff_s * 2, MAX_RETRY_S)
            if server.state == "down"
            else self._settings.server_retry_s
        )
        server.retry_at = asyncio.get_running_loop().time() + server.backoff_s
        if server.state == "up":
            log.warning("model server taken out", extra={"server": server.url, "error": error})
        server.state = "down"

    def _readmit(self, server: _Server) -> None:
        log.info("model server back in the pool", extra={"server": server.url})
        server.state = "up"
        server.backoff_s = 0.0
        server.retry_at = 0.0

    def _start_checks(self) -> None:
        if self._checker is None and not self._closed:
            self._checker = asyncio.get_running_loop().create_task(
                self._check_loop(), name="model-pool-health"
            )

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.server_check_s)
            try:
                await asyncio.gather(*(self._check(s) for s in self._servers))
            except Exception:  # the checks must outlive any surprise, or failover silently stops
                log.exception("model server health round failed")

    async def _check(self, server: _Server, *, force: bool = False) -> None:
        """Probe one server; a down one only once its backoff has passed (unless forced)."""
        loop = asyncio.get_running_loop()
        if server.state == "down" and not force and loop.time() < server.retry_at:
            return
        try:
            await server.generator.check_health(min(HEALTH_TIMEOUT_S, self._settings.server_check_s))
        except GeneratorError as exc:
            self._take_out(server, str(exc))
            return
        if server.state == "down":
            self._readmit(server)


def describe_servers(figures: Sequence[ServerFigures], *, live: bool = True) -> list[str]:
    """One line per server; `live` adds the running process's counts (in flight, served, p50)."""
    lines = []
    for f in figures:
        line = f"{f.url} {f.state}"
        if live:
            p50 = "n/a" if f.latency_p50_ms is None else f"{f.latency_p50_ms:.0f} ms"
            line += f" · in flight {f.in_flight} · served {f.served} · failures {f.failures} · p50 {p50}"
        if f.state == "down" and f.last_error:
            line += f" · last error: {f.last_error}"
        lines.append(line)
    return lines
