"""The pool against two real `python -m llama_cpp.server` processes (shipped model), one killed mid-run."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import LLMSettings
from bot.domain import ChatMessage
from bot.llm.pool import ModelServerPool
from tests.llm.test_remote_server import SERVER_MAIN, free_port

pytestmark = [pytest.mark.slow, pytest.mark.integration]

MESSAGES = [ChatMessage("system", "Answer briefly."), ChatMessage("user", "What colour is the sky?")]


@pytest.fixture
def two_servers(model_path: Path, tmp_path: Path) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] extra not installed")
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    logs = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = (tmp_path / f"server-{name}.log").open("wb")
            logs.append(log)
            args = ["--model", str(model_path), "--host", "127.0.0.1", "--port", str(port)]
            # One thread each: two servers share the test machine's few cores. llama-cpp-python's server
            # cuts a running answer short when the next request arrives unless told not to (llama.cpp's
            # own server queues it), which would pass here as an empty answer.
            args += ["--n_ctx", "512", "--n_threads", "1", "--interrupt_requests", "false"]
            process = subprocess.Popen(
                [sys.executable, "-c", SERVER_MAIN, *args], stdout=log, stderr=subprocess.STDOUT
            )
            started.append((f"http://127.0.0.1:{port}", process))
        deadline = time.monotonic() + 120
        for url, process in started:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited with {process.returncode}; see {tmp_path}")
                try:
                    with urllib.request.urlopen(f"{url}/v1/models", timeout=2):  # noqa: S310 - local server
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("llama_cpp.server did not start within 120 s")
                    time.sleep(0.5)
        yield started
    finally:
        for _, process in started:
            if process.poll() is None:
                process.kill()  # a stopped (SIGSTOP) process ignores SIGTERM until continued
            process.wait()
        for log in logs:
            log.close()


async def answer(pool: ModelServerPool, key: str) -> str:
    return "".join([piece async for piece in pool.stream(MESSAGES, user_key=key)])


async def test_answers_complete_when_a_server_dies_with_answers_waiting_on_it(
    two_servers: list[tuple[str, subprocess.Popen[bytes]]],
) -> None:
    (url_a, _), (url_b, process_b) = two_servers
    llm = LLMSettings(server_urls=[url_a, url_b], max_tokens=8, timeout_s=120, server_check_s=600)
    pool = ModelServerPool(llm)
    try:
        first = await asyncio.gather(answer(pool, "u1"), answer(pool, "u2"))
        assert all(text.strip() for text in first)
        assert [f.served for f in pool.figures()] == [1, 1]

        # b hangs (its kernel still accepts connections), two of four answers are routed to it and wait;
        # then it dies. Neither of them had shown text, so both are answered by a instead.
        process_b.send_signal(signal.SIGSTOP)
        tasks = [asyncio.create_task(answer(pool, f"v{i}")) for i in range(4)]
        for _ in range(100):
            await asyncio.sleep(0.05)
            if pool.figures()[1].in_flight == 2:
                break
        assert pool.figures()[1].in_flight == 2
        await asyncio.sleep(0.3)  # the requests reach b's socket
        process_b.kill()
        texts = await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
        assert all(text.strip() for text in texts), texts

        a, b = pool.figures()
        assert (a.state, a.served, a.failures) == ("up", 5, 0)
        assert (b.state, b.served, b.failures) == ("down", 1, 2)
        assert "unreachable" in b.last_error
        assert (await answer(pool, "after")).strip()  # b is out: no time lost on it
        assert [f.state for f in await pool.check_now()] == ["up", "down"]
    finally:
        await pool.close()
