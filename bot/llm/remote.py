"""Remote generator: a llama.cpp server's OpenAI-compatible `/v1/chat/completions`, streamed over SSE."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

from bot.config import LLMSettings
from bot.domain import ChatMessage
from bot.llm.base import GeneratorBusyError, GeneratorError, GeneratorTimeoutError, ModelInfo

log = logging.getLogger("bot.llm")

CONNECT_TIMEOUT_S = 5.0
# Without the server's tokenizer at hand (the Protocol's counters are synchronous), count conservatively:
# English BPE averages ~4 bytes per token; 3 leaves headroom so the budget errs on the short side.
BYTES_PER_TOKEN = 3
TEMPLATE_TOKENS_PER_MESSAGE = 6


class RemoteGenerator:
    """`Generator` backed by a llama.cpp server (or any OpenAI-compatible chat endpoint that streams)."""

    def __init__(self, llm: LLMSettings, *, url: str = "") -> None:
        """`url` names one server of a pool; by default `BOT_LLM__SERVER_URL`."""
        url = url or llm.server_url
        if not url:
            raise ValueError("BOT_LLM__SERVER_URL is empty: the remote generator needs a server URL")
        self._settings = llm
        self._url = url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._in_flight = 0
        self._model_id = ""
        self._info = self._make_info("")

    def _make_info(self, model_id: str, n_params: int = 0) -> ModelInfo:
        label = model_id or self._url
        return ModelInfo(
            name=f"remote:{model_id}" if model_id else f"remote:{self._url}",
            version=hashlib.sha256(label.encode()).hexdigest()[:12],
            path=self._url,
            n_ctx=self._settings.n_ctx,
            n_params=n_params,
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def n_ctx(self) -> int:
        return self._settings.n_ctx

    @property
    def url(self) -> str:
        return self._url

    @property
    def queue_depth(self) -> int:
        return max(0, self._in_flight - 1)

    def count_tokens(self, text: str) -> int:
        return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)

    def count_chat_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count_tokens(m.content) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages) + 3

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._settings.server_api_key is not None:
            headers["Authorization"] = f"Bearer {self._settings.server_api_key.get_secret_value()}"
        return headers

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=CONNECT_TIMEOUT_S, sock_read=self._settings.timeout_s
                )
            )
        return self._session

    async def _refresh_model_id(self, session: aiohttp.ClientSession) -> None:
        """Name the served model once (`/v1/models`), so answers record which model wrote them."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                async with session.get(f"{self._url}/v1/models", headers=self._headers()) as resp:
                    if resp.status != 200:
                        return
                    payload = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("id"):
            self._model_id = str(data[0]["id"])
            # llama-server says how large its model is (`meta.n_params`); other servers may not.
            meta = data[0].get("meta")
            n_params = meta.get("n_params") if isinstance(meta, dict) else None
            size = n_params if isinstance(n_params, int) and not isinstance(n_params, bool) else 0
            self._info = self._make_info(self._model_id, max(0, size))

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        user_key: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str]:
        if self._in_flight > self._settings.queue_size:
            raise GeneratorBusyError(f"{self._in_flight} requests already waiting for the model server")
        self._in_flight += 1
        try:
            session = self._client()
            if not self._model_id:
                await self._refresh_model_id(session)
            body: dict[str, Any] = {
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "stream": True,
                "max_tokens": max_tokens or self._settings.max_tokens,
                "temperature": self._settings.temperature,
                "seed": self._settings.seed,
                "user": hashlib.sha256(user_key.encode()).hexdigest()[:16],
            }
            if stop:
                body["stop"] = list(stop)
            deadline = asyncio.get_running_loop().time() + self._settings.timeout_s
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S + self._settings.timeout_s):
                    resp = await session.post(
                        f"{self._url}/v1/chat/completions", json=body, headers=self._headers()
                    )
                async with resp:
                    await _raise_for_status(resp)
                    async for piece in _sse_content(resp, deadline):
                        yield piece
            except TimeoutError:
                raise GeneratorTimeoutError(
                    f"model server gave no full answer in {self._settings.timeout_s:g} s"
                ) from None
            except aiohttp.ClientError as exc:
                raise GeneratorError(f"model server unreachable: {type(exc).__name__}") from None
        finally:
            self._in_flight -= 1

    async def check_health(self, timeout_s: float) -> None:
        """Raise `GeneratorError` unless the server answers `/health` with 200 within `timeout_s`.

        llama.cpp's server answers 503 while it loads a model; llama-cpp-python's has no `/health`, so a
        404 there is followed by `/v1/models`.
        """
        session = self._client()
        try:
            async with asyncio.timeout(timeout_s):
                for path in ("/health", "/v1/models"):
                    async with session.get(f"{self._url}{path}", headers=self._headers()) as resp:
                        if resp.status == 404 and path == "/health":
                            continue
                        if resp.status != 200:
                            raise GeneratorError(f"model server answered HTTP {resp.status} at {path}")
                        return
        except TimeoutError:
            raise GeneratorTimeoutError(f"model server gave no health answer in {timeout_s:g} s") from None
        except aiohttp.ClientError as exc:
            raise GeneratorError(f"model server unreachable: {type(exc).__name__}") from None

    async def reload(self) -> ModelInfo:
        """The server loads its own model, so there is nothing to load here: ask it again which model it
        serves, so answers after a switch on the server record the new one. An unreachable server keeps the
        last known name."""
        log.info("a remote model server switches models itself; asking it which model it serves now")
        self._model_id = ""
        await self._refresh_model_id(self._client())
        return self._info

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _raise_for_status(resp: aiohttp.ClientResponse) -> None:
    if resp.status == 200:
        return
    if resp.status in (429, 503):
        raise GeneratorBusyError(f"model server is busy (HTTP {resp.status})")
    if resp.status in (401, 403):
        raise GeneratorError(f"model server refused the credentials (HTTP {resp.status})")
    raise GeneratorError(f"model server answered HTTP {resp.status}")


async def _sse_content(resp: aiohttp.ClientResponse, deadline: float) -> AsyncIterator[str]:
    """Yield `choices[0].delta.content` of each server-sent event until `[DONE]` or the end of the stream.

    Each read waits only until `deadline` (a wall-clock limit for the whole answer); the timeout wraps the
    read, never a `yield`, so it cannot fire inside the consumer's code.
    """
    loop = asyncio.get_running_loop()
    data_lines: list[str] = []
    while True:
        raw = await asyncio.wait_for(resp.content.readline(), max(0.0, deadline - loop.time()))
        if not raw:
            break
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line.startswith("data:"):
            data_lines.append(line[5:].lstrip(" "))
            continue
        if line or not data_lines:
            continue  # comments (": ping"), other fields, or blank keep-alives
        data, data_lines = "\n".join(data_lines), []
        if data.strip() == "[DONE]":
            return
        piece = _delta_text(data)
        if piece:
            yield piece
    if data_lines:  # a final event without the blank line that should end it
        data = "\n".join(data_lines)
        if data.strip() != "[DONE]":
            piece = _delta_text(data)
            if piece:
                yield piece


def _delta_text(data: str) -> str:
    try:
        event = json.loads(data)
    except json.JSONDecodeError:
        raise GeneratorError("model server sent a malformed stream event") from None
    if not isinstance(event, dict):
        return ""
    if "error" in event:
        raise GeneratorError("model server reported an error mid-stream")
    choices = event.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""
