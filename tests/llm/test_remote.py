"""The remote generator against a small aiohttp fake of llama.cpp's OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from bot.config import LLMSettings
from bot.domain import ChatMessage
from bot.llm.base import GeneratorBusyError, GeneratorError, GeneratorTimeoutError
from bot.llm.remote import RemoteGenerator

MESSAGES = [ChatMessage("system", "rules"), ChatMessage("user", "hello")]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def chunk(content: str) -> bytes:
    event = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(event)}\n\n".encode()


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []
        self.headers: list[dict[str, str]] = []
        self.mode = "ok"
        self.model_id = "smollm2-test"
        self.meta: object = None  # llama-server's `meta` object of the model, when set

    async def models(self, request: web.Request) -> web.Response:
        if self.mode == "down":
            return web.json_response({"error": "down"}, status=503)
        model: dict[str, object] = {"id": self.model_id, "object": "model"}
        if self.meta is not None:
            model["meta"] = self.meta
        return web.json_response({"object": "list", "data": [model]})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        self.headers.append(dict(request.headers))
        if self.mode == "busy":
            return web.json_response({"error": "busy"}, status=503)
        if self.mode == "unauthorized":
            return web.json_response({"error": "no"}, status=401)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b": keep-alive comment\n\n")
        await response.write(chunk("Hel"))
        await response.write(b'data: {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}\n\n')
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "broken":
            await response.write(b"data: {not json\n\n")
        # An event split across two network writes must still parse.
        whole = chunk("lo [1]")
        await response.write(whole[:10])
        await response.write(whole[10:])
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeServer, str]]:
    fake = FakeServer()
    app = web.Application()
    app.router.add_get("/v1/models", fake.models)
    app.router.add_post("/v1/chat/completions", fake.chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def collect(generator: RemoteGenerator, **kwargs: object) -> str:
    return "".join([piece async for piece in generator.stream(MESSAGES, user_key="u", **kwargs)])  # type: ignore[arg-type]


async def test_streams_sse_and_sends_the_request(server: tuple[FakeServer, str]) -> None:
    fake, url = server
    generator = RemoteGenerator(LLMSettings(server_url=url, server_api_key="s3cret-key", max_tokens=33))
    try:
        assert await collect(generator, stop=["###"]) == "Hello [1]"
        body = fake.requests[0]
        assert body["stream"] is True
        assert body["max_tokens"] == 33
        assert body["stop"] == ["###"]
        assert body["messages"] == [
            {"role": "system", "content": "rules"},
            {"role": "user", "content": "hello"},
        ]
        assert fake.headers[0]["Authorization"] == "Bearer s3cret-key"
        assert generator.info.name == "remote:smollm2-test"
        assert generator.count_chat_tokens(MESSAGES) > generator.count_tokens("rules hello")
    finally:
        await generator.close()


async def test_busy_server_is_busy(server: tuple[FakeServer, str]) -> None:
    fake, url = server
    fake.mode = "busy"
    generator = RemoteGenerator(LLMSettings(server_url=url))
    try:
        with pytest.raises(GeneratorBusyError):
            await collect(generator)
    finally:
        await generator.close()


async def test_refused_credentials_and_broken_stream_are_errors(server: tuple[FakeServer, str]) -> None:
    fake, url = server
    generator = RemoteGenerator(LLMSettings(server_url=url))
    try:
        fake.mode = "unauthorized"
        with pytest.raises(GeneratorError, match="credentials"):
            await collect(generator)
        fake.mode = "broken"
        with pytest.raises(GeneratorError, match="malformed"):
            await collect(generator)
    finally:
        await generator.close()


async def test_slow_server_times_out(server: tuple[FakeServer, str]) -> None:
    fake, url = server
    fake.mode = "slow"
    generator = RemoteGenerator(LLMSettings(server_url=url, timeout_s=0.3))
    try:
        with pytest.raises(GeneratorTimeoutError):
            await collect(generator)
    finally:
        await generator.close()


async def test_unreachable_server_is_an_error() -> None:
    generator = RemoteGenerator(LLMSettings(server_url="http://127.0.0.1:9"))
    try:
        with pytest.raises(GeneratorError, match="unreachable"):
            await collect(generator)
    finally:
        await generator.close()


async def test_reload_asks_the_server_which_model_it_serves_now(server: tuple[FakeServer, str]) -> None:
    fake, url = server
    generator = RemoteGenerator(LLMSettings(server_url=url))
    try:
        await collect(generator)
        before = generator.info
        assert before.name == "remote:smollm2-test"
        fake.model_id = "smollm2-finetuned"  # the operator switched models on the server
        info = await generator.reload()
        assert info == generator.info
        assert info.name == "remote:smollm2-finetuned"
        assert info.version != before.version
        fake.mode = "down"
        assert (await generator.reload()).name == "remote:smollm2-finetuned", "the last known name stays"
    finally:
        await generator.close()


def test_needs_a_url() -> None:
    with pytest.raises(ValueError, match="SERVER_URL"):
        RemoteGenerator(LLMSettings())


@pytest.mark.parametrize(
    ("meta", "n_params"),
    [
        ({"n_params": 134_515_008, "n_ctx_train": 8192}, 134_515_008),  # what llama-server says
        (None, 0),  # another OpenAI-compatible server: size not known
        ({"n_params": "big"}, 0),
        ({"n_params": -5}, 0),
        ("not an object", 0),
    ],
)
async def test_the_models_size_is_read_from_the_server_when_it_says(
    server: tuple[FakeServer, str], meta: object, n_params: int
) -> None:
    fake, url = server
    fake.meta = meta
    generator = RemoteGenerator(LLMSettings(server_url=url))
    try:
        assert generator.info.n_params == 0, "not known before the server was asked"
        await collect(generator)
        assert generator.info.name == "remote:smollm2-test"
        assert generator.info.n_params == n_params
    finally:
        await generator.close()
