"""Two real `serve --webhook` workers behind a round-robin proxy, one PostgreSQL, the fake Bot API."""

# Each update is answered once (a redelivery included), a chat's answers never interleave though its
# messages alternate between the workers, a flood over both counts once, and a killed worker's waiting
# update is taken over. Needs TEST_POSTGRES_URL (as `.ci/run` sets it); skipped without it.

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.channels.telegram import texts as tg_texts
from bot.devtools.fake_telegram import DEFAULT_TOKEN, FakeTelegram, FakeTelegramServer, user
from bot.devtools.workers_bench import RoundRobinProxy, stop_processes
from bot.store import migrate
from tests.conftest import POSTGRES_URL

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "workers-S3cret"
ANSWER = ["Refunds ", "take five ", "business days ", "after the item ", "arrives [1]."]
TOKEN_S = 0.08  # per streamed piece: an answer takes about 0.4 s, long enough to overlap the next message
KNOWLEDGE = """# Refunds

Refunds take five business days after the returned item arrives at our warehouse. The money goes back
to the card or account you paid with. You get an email when the refund is issued.

## Refund status

Open Orders in the app to see the status of a refund. A refund that has not arrived after ten business
days can be traced by our support team.
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


class FakeModelServer:
    """llama.cpp's OpenAI-compatible server, streaming one fixed cited answer a piece at a time."""

    def __init__(self) -> None:
        self.answers = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        return app

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        await request.json()
        self.answers += 1
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in ANSWER:
            await asyncio.sleep(TOKEN_S)
            event = {
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": piece}}],
            }
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


@dataclass
class Stack:
    fake: FakeTelegram
    proxy: RoundRobinProxy
    workers: list[subprocess.Popen[bytes]]
    logs: list[Path]

    async def deliver(self, update: dict[str, Any]) -> int:
        """Inject an update; wait until the proxy answered the Bot API (as Telegram waits, per chat)."""
        before = sum(d[0] == update["update_id"] for d in self.fake.webhook_deliveries)
        uid = self.fake.inject(update)
        await self.fake.wait_until(
            lambda: sum(d[0] == uid for d in self.fake.webhook_deliveries) > before, 15
        )
        return uid

    def answers_of(self, chat_id: int) -> list[int]:
        """The questions each bot message of the chat answers (its first message replies to the question),
        in the order of every send and edit the bot made there: a chat's answers that interleaved would
        show a question id going back."""
        question_of: dict[int, int] = {}
        order: list[int] = []
        for call in self.fake.calls:
            if not call.ok or str(call.params.get("chat_id")) != str(chat_id):
                continue
            if call.method == "sendMessage":
                reply = call.params.get("reply_parameters") or {}
                if isinstance(reply, str):
                    reply = json.loads(reply)
                target = int(reply.get("message_id", 0)) if reply else 0
                question_of[int(call.result["message_id"])] = target
                order.append(target)
            elif call.method == "editMessageText":
                order.append(question_of.get(int(call.params["message_id"]), -1))
        return order


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"worker on {port} did not start:\n{log.read_text()[-3000:]}")


def _reset_database() -> None:
    if migrate.current_revisions(POSTGRES_URL):
        migrate.downgrade(POSTGRES_URL, "base")
    migrate.upgrade(POSTGRES_URL)


@pytest.fixture(scope="module")
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A data folder with the knowledge base built once, and PostgreSQL migrated to head."""
    if not POSTGRES_URL:
        pytest.skip("set TEST_POSTGRES_URL to run several workers on one PostgreSQL")
    home = tmp_path_factory.mktemp("workers")
    knowledge = home / "knowledge"
    knowledge.mkdir()
    (knowledge / "refunds.md").write_text(KNOWLEDGE)
    _reset_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(
        BOT_DATA_DIR=str(home / "data"),
        BOT_KB__SOURCE=str(knowledge),
        BOT_DATABASE_URL=POSTGRES_URL,
        BOT_LOG_LEVEL="INFO",
    )
    reload = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "reload"],
        cwd=home,
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert reload.returncode == 0, (reload.stdout + reload.stderr).decode()[-3000:]
    try:
        yield home, env
    finally:
        migrate.downgrade(POSTGRES_URL, "base")


@contextlib.asynccontextmanager
async def running_stack(
    home: Path, base_env: dict[str, str], *, lease_s: float = 30, secret: str | None = SECRET
) -> AsyncIterator[Stack]:
    # Each stack is a new bot (the fake numbers updates from 1 again): an empty log and ledger.
    await asyncio.to_thread(_reset_database)
    model = FakeModelServer()
    model_runner, model_port = await _serve(model.app())
    ports = [_free_port(), _free_port()]
    proxy = RoundRobinProxy(ports)
    await proxy.start()
    proxy_port = proxy.port
    server = FakeTelegramServer()
    await server.start()
    workers: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        for n, port in enumerate(ports):
            env = dict(base_env)
            env.update(
                BOT_TELEGRAM__TOKEN=DEFAULT_TOKEN,
                BOT_TELEGRAM__BASE_URL=server.base_url,
                BOT_TELEGRAM__BASE_FILE_URL=server.base_file_url,
                BOT_TELEGRAM__EDIT_INTERVAL_S="0.1",
                BOT_TELEGRAM__UPDATE_LEASE_S=str(lease_s),
                BOT_LLM__SERVER_URL=f"http://127.0.0.1:{model_port}",
            )
            if secret is not None:
                env["BOT_TELEGRAM__WEBHOOK_SECRET"] = secret
            log = home / f"worker{n}-{port}.log"
            logs.append(log)
            with log.open("wb") as out:
                workers.append(
                    subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
                        [
                            sys.executable,
                            "-m",
                            "bot",
                            "serve",
                            "--webhook",
                            f"http://127.0.0.1:{proxy_port}/hook",
                            "--listen",
                            "127.0.0.1",
                            "--port",
                            str(port),
                        ],
                        cwd=home,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        for port, process, log in zip(ports, workers, logs, strict=True):
            await asyncio.to_thread(_wait_for_port, port, process, log)
        await server.fake.wait_until(lambda: server.fake.call_counts["setWebhook"] >= 2, 30)
        yield Stack(server.fake, proxy, workers, logs)
    finally:
        await stop_processes(workers)
        await server.stop()
        await proxy.close()
        await model_runner.cleanup()


async def test_two_workers_answer_each_update_once_and_each_chat_in_order(
    worker_home: tuple[Path, dict[str, str]],
) -> None:
    home, env = worker_home
    async with running_stack(home, env) as stack:
        fake = stack.fake
        users = [user(7000 + i, f"W{i}") for i in range(4)]
        questions: dict[int, list[int]] = {}

        async def one_chat(person: dict[str, Any]) -> None:
            sent: list[dict[str, Any]] = []
            for round_ in range(3):
                update = fake.message_update(person, f"How long do refunds take? ({round_})")
                questions.setdefault(person["id"], []).append(update["message"]["message_id"])
                sent.append(update)
                await stack.deliver(update)
            # Telegram redelivers the chat's first update (its 200 got lost): dropped by whichever worker.
            await stack.deliver(dict(sent[0]))

        await asyncio.gather(*(one_chat(person) for person in users))

        def finished(chat_id: int) -> bool:
            return sum("reply_markup" in m.data for m in fake.bot_messages(chat_id)) >= 3

        await fake.wait_until(lambda: all(finished(p["id"]) for p in users), 60)
        await asyncio.sleep(1.0)  # a duplicate answer would arrive in this time
        workers_used = {index for _, index in stack.proxy.sent}
        assert workers_used == {0, 1}, "the proxy spread the updates over both workers"
        for person in users:
            chat = person["id"]
            answered = [m.reply_to for m in fake.bot_messages(chat) if m.reply_to is not None]
            assert answered == questions[chat], "each question answered once, in the order asked"
            order = stack.answers_of(chat)
            assert order == sorted(order), f"a chat's answers never interleave: {order}"
        assert all(status == 200 for _, status in fake.webhook_deliveries)
        for log in stack.logs:
            assert "Traceback" not in log.read_text()
        dropped = sum(log.read_text().count("redelivered update dropped") for log in stack.logs)
        assert dropped == len(users)


async def test_a_killed_workers_waiting_update_is_taken_over(
    worker_home: tuple[Path, dict[str, str]],
) -> None:
    home, env = worker_home
    async with running_stack(home, env, lease_s=3) as stack:
        fake = stack.fake
        alice, bob = user(7100, "Alice"), user(7101, "Bob")
        await stack.deliver(fake.message_update(bob, "How long do refunds take?"))  # worker 0
        first = fake.message_update(alice, "How long do refunds take? (1)")
        second = fake.message_update(alice, "How long do refunds take? (2)")
        await stack.deliver(first)  # worker 1 answers it (about 0.4 s)
        await stack.deliver(second)  # worker 0 records it and waits for the first
        assert [index for _, index in stack.proxy.sent] == [0, 1, 0]
        stack.workers[0].kill()  # before its turn came: the update is recorded, never begun
        await asyncio.to_thread(stack.workers[0].wait, 10)
        started = time.monotonic()
        await fake.wait_until(lambda: len([m for m in fake.bot_messages(alice["id"]) if m.reply_to]) >= 2, 20)
        waited = time.monotonic() - started
        third = fake.message_update(alice, "How long do refunds take? (3)")
        await stack.deliver(third)  # the proxy skips the dead worker
        await fake.wait_until(lambda: len([m for m in fake.bot_messages(alice["id"]) if m.reply_to]) >= 3, 20)
        await asyncio.sleep(0.5)
        answered = [m.reply_to for m in fake.bot_messages(alice["id"]) if m.reply_to is not None]
        asked = [u["message"]["message_id"] for u in (first, second, third)]
        assert answered == asked, "answered once each, in order, the second by the surviving worker"
        assert 1.0 < waited < 10, "taken over once its lease (3 s) ran out"
        assert "update taken over from a silent worker" in stack.logs[1].read_text()


async def test_a_flood_spread_over_both_workers_is_counted_once(
    worker_home: tuple[Path, dict[str, str]],
) -> None:
    home, env = worker_home
    # No secret configured: both workers derive the same one from the token, or one would refuse all.
    async with running_stack(home, env, secret=None) as stack:  # the default flood rule: 5 messages per 10 s
        fake = stack.fake
        carol = user(7200, "Carol")
        for i in range(8):
            await stack.deliver(fake.message_update(carol, f"How long do refunds take? ({i})"))
        assert {index for _, index in stack.proxy.sent} == {0, 1}

        def answers() -> int:
            return sum("reply_markup" in m.data for m in fake.bot_messages(carol["id"]))

        await fake.wait_until(lambda: answers() >= 5, 30)
        await asyncio.sleep(1.0)
        shown = [m.data.get("text", "") for m in fake.bot_messages(carol["id"])]
        assert answers() == 5, "two workers with four messages each would answer all eight"
        assert shown.count(tg_texts.FLOOD) == 1, "told once, then silence"
        assert len(shown) == 6
        assert {status for _, status in fake.webhook_deliveries} == {200}
