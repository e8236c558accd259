"""The remote generator against a real `python -m llama_cpp.server` running the shipped model."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import LLMSettings
from bot.domain import ChatMessage
from bot.llm.remote import RemoteGenerator

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The server loads through `Llama` like the engine, so it needs the engine's rule for ggml's extra CPU buffers
# (bot.llm.cpu_buffers: AMX crashes in some VMs); llama_cpp.server has no option for it.
SERVER_MAIN = """
import runpy
from bot.llm.cpu_buffers import extra_buffers_for_llama, use_extra_buffers
with extra_buffers_for_llama(use_extra_buffers("auto")):
    runpy.run_module("llama_cpp.server", run_name="__main__")
"""


@pytest.fixture(scope="module")
def llama_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] extra not installed")
    port = free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER_MAIN,
            "--model",
            str(model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=2):  # noqa: S310 - local test server
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not start within 120 s")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def test_streams_from_a_real_llama_cpp_server(llama_server: str) -> None:
    generator = RemoteGenerator(LLMSettings(server_url=llama_server, max_tokens=12, timeout_s=120))
    try:
        messages = [ChatMessage("system", "Answer briefly."), ChatMessage("user", "What colour is the sky?")]
        pieces = [piece async for piece in generator.stream(messages, user_key="u")]
        assert len(pieces) >= 2  # streamed, not one blob
        assert "".join(pieces).strip()
        assert generator.info.name.startswith("remote:")
        # Cancelling mid-stream closes the connection cleanly; the server serves the next request.
        stream = generator.stream(messages, user_key="u", max_tokens=64)
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
        again = [piece async for piece in generator.stream(messages, user_key="u", max_tokens=4)]
        assert again
    finally:
        await generator.close()
        await asyncio.sleep(0)
