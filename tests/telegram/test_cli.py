"""The `serve` and `bench` commands: help, clear errors, the SIGHUP model reload, and a small bench run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app, register_commands
from bot.cli.serve import reload_generator, reload_models
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.load_bench import NoKnowledgeBase, SyntheticPipeline, run_bench, trend_per_min
from bot.domain import Answer, Delta, Turn
from bot.llm.base import ModelInfo

runner = CliRunner()


@pytest.mark.parametrize(
    "args", [["serve", "--help"], ["bench", "telegram", "--help"], ["bench", "load", "--help"]]
)
def test_help(args: list[str]) -> None:
    register_commands()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_serve_without_token_says_what_to_set() -> None:
    register_commands()
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "BOT_TELEGRAM__TOKEN is not set" in result.output


def test_bench_load_rejects_a_bad_questions_file(tmp_path: Path) -> None:
    register_commands()
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"qid": 1}\n', encoding="utf-8")
    result = runner.invoke(app, ["bench", "load", "--questions", str(bad)])
    assert result.exit_code == 2
    assert 'q.jsonl:1: expected an object with a non-empty "question" string' in result.output


class _Generator:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.reloads = 0

    async def reload(self) -> ModelInfo:
        self.reloads += 1
        if self.fail:
            raise RuntimeError("bad gguf")
        return ModelInfo(name="m", version="v2")


class _Services:
    def __init__(self, generator: Any) -> None:
        self._generator = generator

    def generator(self) -> Any:
        return self._generator


async def test_sighup_reloads_the_generator(caplog: pytest.LogCaptureFixture) -> None:
    # Which model a reload picks (`models use`, settings) is the engine's and the registry's business:
    # tests/llm/test_engine.py::test_reload_loads_what_the_registry_chooses_now.
    caplog.set_level(logging.INFO, logger="bot.serve")
    generator = _Generator()
    await reload_generator(_Services(generator))  # type: ignore[arg-type]
    assert generator.reloads == 1
    assert any("model reloaded on SIGHUP" in r.getMessage() for r in caplog.records)

    failing = _Generator(fail=True)
    caplog.clear()
    await reload_generator(_Services(failing))  # type: ignore[arg-type]
    assert any("model reload failed" in r.getMessage() for r in caplog.records), "logged, not raised"


async def test_sighup_also_reloads_the_embedder_first() -> None:
    """`serve` and `web` call `reload_models` on SIGHUP: the embedder (which `Services.reload_embedder` swaps
    in, tests/core/test_embedder_reload.py), then the chat model, each whatever the other's outcome."""
    calls: list[str] = []

    class _Both(_Services):
        async def reload_embedder(self) -> bool:
            calls.append("embedder")
            return False  # unchanged, or failed (logged): the model is reloaded all the same

    generator = _Generator()
    await reload_models(_Both(generator))  # type: ignore[arg-type]
    assert calls == ["embedder"]
    assert generator.reloads == 1


async def test_small_bench_run_has_no_errors_and_keeps_order(settings: Any) -> None:
    result = await run_bench(
        settings,
        SyntheticPipeline(tokens=10, token_ms=1, first_token_ms=10),
        NoKnowledgeBase(),
        users=4,
        messages=3,
    )
    assert result.answered == 12
    assert result.errors == {}
    assert result.order_held
    assert len(result.first_ms) == 12
    assert all(f <= t for f, t in zip(result.first_ms, result.final_ms, strict=True))
    assert any("per-chat order held: yes" in line for line in result.lines())


async def test_soak_keeps_asking_until_the_duration_is_up(settings: Any) -> None:
    progress: list[str] = []
    result = await run_bench(
        settings,
        SyntheticPipeline(tokens=5, token_ms=1, first_token_ms=5),
        NoKnowledgeBase(),
        users=3,
        messages=1,
        duration_s=3.0,
        progress=progress.append,
        progress_every_s=1.0,
    )
    assert result.messages is None
    assert result.answered > 3, "with a duration, users go on past --messages"
    assert result.errors == {}
    assert result.order_held
    assert result.wall_s >= 3.0
    assert progress
    assert "answered" in progress[0]
    assert any("soak: users kept asking for 3 s" in line for line in result.lines())
    assert result.heap_blocks, "Python heap samples are taken alongside RSS"


def test_trend_ignores_warm_up_and_measures_per_minute() -> None:
    flat_after_warmup = [(float(t), 100.0 if t < 20 else 400.0) for t in range(100)]
    assert trend_per_min(flat_after_warmup) == pytest.approx(0.0)
    growing = [(float(t), 400.0 + t / 60) for t in range(100)]  # 1 MB per minute
    assert trend_per_min(growing) == pytest.approx(1.0)
    assert trend_per_min(growing[:5]) is None, "too few samples to call a trend"
    assert trend_per_min([]) is None


async def test_fake_can_run_without_keeping_calls() -> None:
    fake = FakeTelegram(keep_calls=False)
    seen: list[str] = []
    fake.listeners.append(lambda call: seen.append(call.method))
    await fake.call("getMe", {})
    await fake.call("noSuchMethod", {})
    assert fake.calls == []
    assert fake.call_counts == {"getMe": 1, "noSuchMethod": 1}
    assert seen == ["getMe", "noSuchMethod"]


async def test_fake_forgets_old_messages_of_one_chat() -> None:
    fake = FakeTelegram()
    person = {"id": 7, "is_bot": False, "first_name": "A"}
    other = {"id": 8, "is_bot": False, "first_name": "B"}
    ids = [fake.message_update(person, f"q{i}")["message"]["message_id"] for i in range(3)]
    fake.message_update(other, "hello")
    assert fake.forget_messages(7, before=ids[2]) == 2
    assert set(fake.messages) == {(7, ids[2]), (8, 1)}


class SerialPipeline(SyntheticPipeline):
    """The synthetic answer, one at a time (a model that generates one answer at once): users queue."""

    def __init__(self) -> None:
        super().__init__(tokens=5, token_ms=1, first_token_ms=300)
        self.lock = asyncio.Lock()

    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = "und"
    ) -> AsyncIterator[Delta | Answer]:
        async with self.lock:
            async for item in super().stream(question, history, user_key=user_key, language=language):
                yield item


async def test_bench_counts_who_was_told_their_place(settings: Any) -> None:
    llm = settings.llm.model_copy(update={"wait_notice_s": 0.5})
    result = await run_bench(
        settings.model_copy(update={"llm": llm}), SerialPipeline(), NoKnowledgeBase(), users=5, messages=1
    )
    assert result.errors == {}
    assert result.order_held
    notices = result.notices
    assert notices is not None
    # Answers take 0.3 s each, one after another: the last three or so wait past 0.5 s.
    assert notices.told >= 2
    assert notices.told_twice == 0
    assert len(notices.told_wait_ms) == notices.told
    assert min(notices.told_wait_ms) > 500, "the answer's first text, not the notice, is the first edit"
    assert result.api_calls.get("deleteMessage") == notices.told
    assert any(line.startswith("waiting customers told their place") for line in result.lines())
