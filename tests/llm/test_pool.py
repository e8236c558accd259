"""The pool of model servers against small aiohttp fakes of llama.cpp's server on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from bot.config import LLMSettings, Settings, load_settings
from bot.domain import ChatMessage
from bot.llm.base import GeneratorError
from bot.llm.pool import ModelServerPool, ServerFigures, describe_servers
from bot.services import Services, build_admin
from tests.fakes import FakeKB
from tests.fakes_log import MemoryConversationLog

MESSAGES = [ChatMessage("system", "rules"), ChatMessage("user", "hello")]


def chunk(content: str) -> bytes:
    event = {"choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(event)}\n\n".encode()


class FakeServer:
    """One llama.cpp server. `mode`: ok, fail (HTTP 500, /health 503), die_before (connection dropped
    before any text), die_after_text (dropped after one piece), hang (never answers)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mode = "ok"
        self.chats = 0
        self.release = asyncio.Event()  # a held answer finishes when set
        self.hold = False
        self.url = ""

    async def health(self, request: web.Request) -> web.Response:
        if self.mode == "hang":
            await asyncio.sleep(30)
        if self.mode == "fail":
            return web.json_response({"status": "error"}, status=503)
        return web.json_response({"status": "ok"})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": "smollm2-test"}]})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.chats += 1
        if self.mode == "hang":
            await asyncio.sleep(30)
        if self.mode == "fail":
            return web.json_response({"error": "boom"}, status=500)
        if self.mode == "die_before":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(chunk(f"from {self.name}"))
        if self.mode == "die_after_text":
            await asyncio.sleep(0.05)
            assert request.transport is not None
            request.transport.close()
            return response
        if self.hold:
            await self.release.wait()
        await response.write(chunk("."))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


Start = Callable[[int], Awaitable[list[FakeServer]]]


@pytest.fixture
async def start_servers() -> AsyncIterator[Start]:
    runners: list[web.AppRunner] = []

    async def start(n: int) -> list[FakeServer]:
        servers = []
        for i in range(n):
            fake = FakeServer("abc"[i])
            app = web.Application()
            app.router.add_get("/health", fake.health)
            app.router.add_get("/v1/models", fake.models)
            app.router.add_post("/v1/chat/completions", fake.chat)
            runner = web.AppRunner(app, shutdown_timeout=0.1)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
            fake.url = f"http://127.0.0.1:{port}"
            runners.append(runner)
            servers.append(fake)
        return servers

    yield start
    for runner in runners:
        await runner.cleanup()


def make_pool(servers: list[FakeServer], **settings: object) -> ModelServerPool:
    defaults: dict[str, object] = {"server_check_s": 60.0, "server_retry_s": 60.0, "timeout_s": 5.0}
    llm = LLMSettings(server_urls=[s.url for s in servers], **(defaults | settings))
    return ModelServerPool(llm)


async def answer(pool: ModelServerPool) -> str:
    return "".join([piece async for piece in pool.stream(MESSAGES, user_key="u")])


def by_url(pool: ModelServerPool, server: FakeServer) -> ServerFigures:
    return next(f for f in pool.figures() if f.url == server.url)


async def test_round_robin_when_idle_and_least_outstanding_when_busy(start_servers: Start) -> None:
    a, b, c = await start_servers(3)
    pool = make_pool([a, b, c])
    try:
        assert [await answer(pool) for _ in range(4)] == ["from a.", "from b.", "from c.", "from a."]
        # Hold an answer open on b (the next in turn): the following answers avoid it while it is busy.
        b.hold = True
        held = pool.stream(MESSAGES, user_key="slow")
        assert await anext(held) == "from b"
        assert by_url(pool, b).in_flight == 1
        assert [await answer(pool) for _ in range(4)] == ["from c.", "from a.", "from c.", "from a."]
        b.release.set()
        assert [piece async for piece in held] == ["."]
        figures = {f.url: f for f in pool.figures()}
        assert [figures[s.url].served for s in (a, b, c)] == [4, 2, 3]
        assert all(
            f.state == "up" and f.in_flight == 0 and f.latency_p50_ms is not None for f in figures.values()
        )
    finally:
        await pool.close()


async def test_failure_before_first_token_is_retried_once_elsewhere(start_servers: Start) -> None:
    a, b = await start_servers(2)
    a.mode = "die_before"
    pool = make_pool([a, b])
    try:
        assert await answer(pool) == "from b."  # a was first in turn, died, and b answered
        down = by_url(pool, a)
        assert (down.state, down.failures, down.served) == ("down", 1, 0)
        assert "unreachable" in down.last_error
        # Taken out: the next answers all go to b without trying a again.
        assert [await answer(pool) for _ in range(3)] == ["from b."] * 3
        assert a.chats == 1
    finally:
        await pool.close()


async def test_http_error_and_timeout_count_as_failures(start_servers: Start) -> None:
    a, b, c = await start_servers(3)
    a.mode, b.mode = "fail", "hang"
    pool = make_pool([a, c], timeout_s=0.3)
    try:
        assert await answer(pool) == "from c."  # a: HTTP 500, retried on c
        assert by_url(pool, a).state == "down"
    finally:
        await pool.close()
    pool = make_pool([b, c], timeout_s=0.3)
    try:
        assert await answer(pool) == "from c."  # b never answers: timed out and retried on c
        hung = by_url(pool, b)
        assert hung.state == "down"
        assert "no full answer" in hung.last_error
    finally:
        await pool.close()


async def test_only_one_retry_then_the_error_surfaces(start_servers: Start) -> None:
    servers = await start_servers(3)
    for server in servers[:2]:
        server.mode = "fail"
    pool = make_pool(servers)
    try:
        with pytest.raises(GeneratorError, match="HTTP 500"):
            await answer(pool)
        assert [s.chats for s in servers] == [1, 1, 0]
    finally:
        await pool.close()


async def test_no_retry_once_text_was_shown(start_servers: Start) -> None:
    a, b = await start_servers(2)
    a.mode = "die_after_text"
    pool = make_pool([a, b])
    try:
        shown: list[str] = []
        with pytest.raises(GeneratorError):
            await collect_into(pool, shown)
        assert shown == ["from a"]
        assert b.chats == 0  # never sent elsewhere: the customer already saw part of a's answer
        assert by_url(pool, a).state == "down"
    finally:
        await pool.close()


async def test_health_checks_take_out_and_readmit(start_servers: Start) -> None:
    a, b = await start_servers(2)
    pool = make_pool([a, b], server_check_s=0.05, server_retry_s=0.05)
    try:
        await answer(pool)  # starts the periodic checks
        b.mode = "fail"
        await wait_for_state(pool, b, "down")
        assert "HTTP 503 at /health" in by_url(pool, b).last_error
        assert [await answer(pool) for _ in range(3)] == ["from a."] * 3
        b.mode = "ok"
        await wait_for_state(pool, b, "up")
        assert sorted([await answer(pool) for _ in range(2)]) == ["from a.", "from b."]
    finally:
        await pool.close()


async def test_a_hanging_health_check_times_out(start_servers: Start) -> None:
    a, b = await start_servers(2)
    b.mode = "hang"
    pool = make_pool([a, b], server_check_s=0.2)
    try:
        figures = await asyncio.wait_for(pool.check_now(), timeout=5)
        assert [f.state for f in figures] == ["up", "down"]
        assert "no health answer in 0.2 s" in figures[1].last_error
    finally:
        await pool.close()


async def test_a_failed_server_is_tried_again_after_its_backoff(start_servers: Start) -> None:
    a, b = await start_servers(2)
    a.mode = "fail"
    pool = make_pool([a, b], server_retry_s=0.1)
    try:
        assert await answer(pool) == "from b."
        a.mode = "ok"
        await asyncio.sleep(0.15)
        # Past the backoff, a is eligible again without a health check; succeeding readmits it.
        assert await answer(pool) == "from a."
        assert by_url(pool, a).state == "up"
    finally:
        await pool.close()


async def test_when_every_server_is_out_one_is_still_tried(start_servers: Start) -> None:
    a, b = await start_servers(2)
    a.mode = b.mode = "fail"
    pool = make_pool([a, b])
    try:
        with pytest.raises(GeneratorError):
            await answer(pool)
        a.mode = "ok"
        assert await answer(pool) == "from a."  # both out, none due: the one out longest is tried anyway
    finally:
        await pool.close()


async def wait_for_state(pool: ModelServerPool, server: FakeServer, state: str) -> None:
    for _ in range(250):
        if by_url(pool, server).state == state:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"{server.name} never became {state}")


async def collect_into(pool: ModelServerPool, shown: list[str]) -> None:
    async for piece in pool.stream(MESSAGES, user_key="u"):
        shown.append(piece)


def test_figures_render_one_line_per_server() -> None:
    figures = [
        ServerFigures("http://a:8080", "up", 2, 10, 0, "", 812.4),
        ServerFigures(
            "http://b:8080", "down", 0, 3, 2, "model server unreachable: ClientConnectorError", None
        ),
    ]
    assert describe_servers(figures) == [
        "http://a:8080 up · in flight 2 · served 10 · failures 0 · p50 812 ms",
        "http://b:8080 down · in flight 0 · served 3 · failures 2 · p50 n/a · "
        "last error: model server unreachable: ClientConnectorError",
    ]
    assert describe_servers(figures, live=False)[0] == "http://a:8080 up"


def test_server_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_LLM__SERVER_URLS", "http://a:8080, http://b:8080/")
    llm = load_settings(_env_file=None).llm
    assert llm.server_urls == ["http://a:8080", "http://b:8080"]
    assert llm.server_url == "http://a:8080"  # the remote backend is on
    monkeypatch.setenv("BOT_LLM__SERVER_URLS", '["http://a:8080", "http://c:8080"]')
    assert load_settings(_env_file=None).llm.server_urls == ["http://a:8080", "http://c:8080"]
    monkeypatch.delenv("BOT_LLM__SERVER_URLS")
    monkeypatch.setenv("BOT_LLM__SERVER_URL", "http://solo:8080")
    assert load_settings(_env_file=None).llm.server_urls == ["http://solo:8080"]  # a pool of one
    assert LLMSettings().server_urls == []


async def test_stats_shows_a_line_per_pooled_server(start_servers: Start, tmp_path: Path) -> None:
    a, b = await start_servers(2)
    settings = Settings(_env_file=None, data_dir=tmp_path, llm={"server_urls": [a.url, b.url]})
    async with Services(settings) as services:
        lines = services._model_server_lines  # noqa: SLF001 - the callable `admin()` wires in
        admin = build_admin(settings, FakeKB(), MemoryConversationLog(), model_servers=lines)
        assert "Model servers" not in await admin.stats()  # no generator yet: nothing to show
        pool = services.generator()
        assert isinstance(pool, ModelServerPool)
        await answer(pool)
        text = await admin.stats()
        assert text.splitlines()[-3:] == [
            "Model servers:",
            *describe_servers(pool.figures()),
        ]
        assert f"{a.url} up · in flight 0 · served 1 · failures 0" in text


async def test_health_command_is_ok_while_one_server_is_up(start_servers: Start, tmp_path: Path) -> None:
    from bot.health import _probe_pool

    a, b = await start_servers(2)
    b.mode = "fail"
    settings = Settings(_env_file=None, data_dir=tmp_path, llm={"server_urls": [a.url, b.url]})
    detail = await _probe_pool(settings)
    assert detail.startswith(f"1 of 2 model servers up: {a.url} up; {b.url} down · last error: ")
    assert "HTTP 503 at /health" in detail
    a.mode = "fail"
    with pytest.raises(RuntimeError, match="0 of 2 model servers up"):
        await _probe_pool(settings)
