"""`bench load --workers`: its option checks, its proxy, and what it counts as a problem."""

from __future__ import annotations

import socket
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web
from typer.testing import CliRunner

from bot.cli import app, register_commands
from bot.devtools.workers_bench import RoundRobinProxy, WorkersBenchResult

runner = CliRunner()


@pytest.mark.parametrize("extra", [["--channel", "web"], ["--duration", "60"]])
def test_workers_run_the_telegram_webhook_path_with_a_message_count(extra: list[str]) -> None:
    register_commands()
    result = runner.invoke(app, ["bench", "load", "--workers", "2", *extra])
    assert result.exit_code == 2
    assert "--workers runs the Telegram webhook path" in result.output


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_proxy_takes_turns_and_skips_a_worker_that_is_down() -> None:
    seen: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""))
        return web.Response(text="ok")

    worker = web.Application()
    worker.router.add_post("/hook", hook)
    runner_ = web.AppRunner(worker)
    await runner_.setup()
    site = web.TCPSite(runner_, "127.0.0.1", 0)
    await site.start()
    up = int(runner_.addresses[0][1])
    proxy = RoundRobinProxy([up, _closed_port()])
    await proxy.start()
    try:
        async with aiohttp.ClientSession() as session:
            for uid in range(4):
                async with session.post(
                    f"http://127.0.0.1:{proxy.port}/hook",
                    json={"update_id": uid},
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s"},
                ) as resp:
                    assert resp.status == 200
    finally:
        await proxy.close()
        await runner_.cleanup()
    assert seen == ["s"] * 4, "every update reached the live worker, with the secret"
    assert dict(proxy.per_worker) == {0: 4}


def test_anything_a_customer_would_notice_is_a_problem() -> None:
    clean = WorkersBenchResult(
        workers=2,
        model_servers=2,
        users=2,
        messages=1,
        wall_s=2.0,
        asked=2,
        answered=2,
        duplicates=0,
        lost=0,
        interleaved=0,
        error_texts=0,
        outcomes={"answered": 2, "refused": 1},
        logged_twice=0,
        first_ms=[500.0, 700.0],
        final_ms=[900.0, 1200.0],
        per_worker={0: 1, 1: 1},
        killed_server_at_s=1.0,
        worker_errors=0,
        logs="/tmp/x",
    )
    assert clean.problems == 0
    assert "model server 1 killed at 1 s" in clean.lines()[0]
    for worse in (
        replace(clean, duplicates=1),
        replace(clean, lost=1),
        replace(clean, interleaved=1),
        replace(clean, error_texts=1),
        replace(clean, logged_twice=1),
        replace(clean, outcomes={"answered": 1, "model_error": 1}),
        replace(clean, outcomes={"answered": 1, "kb_unavailable": 1}),
    ):
        assert worse.problems == 1, worse
