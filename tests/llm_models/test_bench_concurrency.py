"""`bench generation --concurrency`: the engine at 1 and N and a llama-server, with a fake engine and a fake
llama-server on loopback; the llama-server build helper without building anything."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.config import LLMSettings, Settings
from bot.devtools import llama_server
from bot.devtools.generation_bench import (
    ConcurrencyRun,
    llama_server_argv,
    percentile,
    run_concurrency_bench,
)
from bot.llm.engine import GenerationStats

STEP_S = 0.004  # one decoding step of the fakes


class FakeSlotEngine:
    """Decodes `slots` answers together: each step costs the same however many answers it carries."""

    def __init__(self, slots: int) -> None:
        self.slots = asyncio.Semaphore(slots)
        self.closed = False

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def prompt_tokens(self, messages: Sequence[Any]) -> list[int]:
        return [len(m.content) for m in messages]

    async def stream(
        self,
        messages: Sequence[Any],
        *,
        user_key: str,
        max_tokens: int,
        ignore_eos: bool,
        on_stats: Callable[[GenerationStats], None] | None = None,
    ) -> AsyncIterator[str]:
        async with self.slots:
            for _ in range(max_tokens):
                await asyncio.sleep(STEP_S)
                yield "x"
        if on_stats is not None:
            on_stats(GenerationStats(10, 0, max_tokens, 0.0, STEP_S, STEP_S * max_tokens, "length"))

    async def close(self) -> None:
        self.closed = True


class FakeLlamaServer:
    """llama-server's streamed /completion: one event per token, the count in the last."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def completion(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.bodies.append(body)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for _ in range(body["n_predict"]):
            await asyncio.sleep(STEP_S)
            await response.write(f"data: {json.dumps({'content': 'y', 'stop': False})}\n\n".encode())
        final = {"content": "", "stop": True, "tokens_predicted": body["n_predict"]}
        await response.write(f"data: {json.dumps(final)}\n\n".encode())
        await response.write_eof()
        return response


@pytest.fixture
async def fake_server() -> AsyncIterator[tuple[FakeLlamaServer, str]]:
    fake = FakeLlamaServer()
    app = web.Application()
    app.router.add_post("/completion", fake.completion)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_the_bench_compares_one_at_a_time_with_parallel_and_the_server(
    fake_server: tuple[FakeLlamaServer, str], tmp_path: Path
) -> None:
    fake, url = fake_server
    settings = Settings(llm=LLMSettings(temperature=0.0, seed=7), kb={"source": tmp_path})
    seen: list[int] = []

    def on_run(run: int, figures: ConcurrencyRun) -> None:
        seen.append(run)

    result = await run_concurrency_bench(
        settings,
        FakeSlotEngine(slots=4),
        url,
        concurrency=4,
        runs=2,
        tokens=12,
        passages=2,
        on_run=on_run,
    )
    summary = json.loads(json.dumps(result.summary()))
    assert seen == [1, 2], "the warm-up run is not reported"
    assert (summary["concurrency"], summary["tokens"], summary["runs"]) == (4, 12, 2)
    for side in ("engine_1", "engine_n", "llama_server_n"):
        assert set(summary[side]) == {"tokens_per_s", "answers_per_s", "ttft_p50_ms", "ttft_p95_ms"}
        assert summary[side]["tokens_per_s"] > 0
        assert summary[side]["ttft_p50_ms"] <= summary[side]["ttft_p95_ms"]
    # Four answers decoded together take about as long as one alone: several times the throughput.
    assert summary["ratio_engine_n_over_engine_1"] > 2
    assert 0.3 < summary["ratio_engine_n_over_llama_server_n"] < 3
    # The server got the engine's own prompt tokens and sampling, all 3 runs x 4 customers.
    assert len(fake.bodies) == 12
    body = fake.bodies[0]
    assert body["n_predict"] == 12
    assert body["ignore_eos"] is True
    assert body["stream"] is True
    assert (body["temperature"], body["seed"]) == (0.0, 7)
    assert all(isinstance(t, int) for t in body["prompt"])


def test_percentile_is_nearest_rank() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0, 8.0, 7.0, 6.0]
    assert percentile(values, 50) == 4.0
    assert percentile(values, 95) == 8.0
    assert percentile([9.0], 95) == 9.0


def test_llama_server_runs_with_the_engines_context_per_answer(tmp_path: Path) -> None:
    llm = LLMSettings(n_ctx=1024, n_batch=256, n_threads=2, flash_attn=True, cpu_extra_buffers="off")
    argv = llama_server_argv(
        tmp_path / "llama-server", llm, tmp_path / "m.gguf", tmp_path / "a.gguf", parallel=8, port=9999
    )
    joined = " ".join(argv)
    assert "--parallel 8" in joined
    assert "--ctx-size 8192" in joined
    assert "--host 127.0.0.1 --port 9999" in joined
    assert "--threads 2" in joined
    assert "--flash-attn on" in joined
    assert "--no-repack" in argv
    assert f"--lora {tmp_path / 'a.gguf'}" in joined
    on = llama_server_argv(
        tmp_path / "s",
        llm.model_copy(update={"cpu_extra_buffers": "on"}),
        tmp_path / "m",
        None,
        parallel=2,
        port=1,
    )
    assert "--no-repack" not in on
    assert "--lora" not in on


def test_a_built_llama_server_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = llama_server.binary_path(root=tmp_path)
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("nothing is built when the binary is there")

    monkeypatch.setattr(llama_server, "_run", no_build)
    assert llama_server.ensure_llama_server(root=tmp_path) == binary


def test_missing_build_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(llama_server.LlamaServerError, match="cmake"):
        llama_server.ensure_llama_server(root=tmp_path)
