"""The in-process engine on the real tiny model: streaming, KV reuse, cancel, timeout, busy, reload; one at a
time and in parallel slots."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import LLMSettings
from bot.domain import ChatMessage
from bot.llm.base import GeneratorBusyError, GeneratorError, GeneratorTimeoutError
from bot.llm.engine import LlamaEngine, ModelLoadError, check_files
from bot.llm.registry import ModelRegistry

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SYSTEM = ChatMessage("system", "You are a helpful assistant. Answer briefly.")


def ask(text: str) -> list[ChatMessage]:
    return [SYSTEM, ChatMessage("user", text)]


# Every test runs on the one-at-a-time engine (parallel=1, as before slots) and on two parallel slots.
@pytest.fixture(scope="module", params=[1, 2], ids=["parallel1", "parallel2"])
def engine(model_path: Path, request: pytest.FixtureRequest) -> Iterator[LlamaEngine]:
    engine = LlamaEngine(
        LLMSettings(n_ctx=1024, max_tokens=16, queue_size=1, temperature=0.0, parallel=request.param),
        model_path=model_path,
        lora_path=None,
    )
    yield engine
    asyncio.run(engine.close())


async def collect(engine: LlamaEngine, messages: list[ChatMessage], **kwargs: object) -> str:
    out = ""
    async for piece in engine.stream(messages, user_key="t", **kwargs):  # type: ignore[arg-type]
        out += piece
    return out


async def test_streams_text_and_reports_the_model(engine: LlamaEngine, model_path: Path) -> None:
    text = await collect(engine, ask("What is the capital of France?"), max_tokens=8)
    assert text.strip()
    stats = engine.last_stats
    assert stats is not None
    assert 1 <= stats.generated_tokens <= 8
    assert engine.info.path == str(model_path)
    assert len(engine.info.version) >= 12
    assert engine.n_ctx == 1024
    # SmolLM2-135M: the copy check's "auto" reads this (bot.rag.pipeline.COPY_CHECK_BELOW_PARAMS).
    assert 100_000_000 < engine.info.n_params < 200_000_000


async def test_token_counts_use_the_chat_template(engine: LlamaEngine) -> None:
    messages = ask("hello there")
    assert engine.count_tokens("hello there") >= 2
    assert engine.count_chat_tokens(messages) == len(engine.prompt_tokens(messages))
    assert engine.count_chat_tokens(messages) > engine.count_tokens("hello there") + 5
    assert "<|im_start|>" in engine.render_prompt(messages)


async def test_kv_prefix_is_reused(engine: LlamaEngine) -> None:
    first = ask("Name a colour.")
    answer = await collect(engine, first, max_tokens=6)
    follow = [*first, ChatMessage("assistant", answer), ChatMessage("user", "And another one?")]
    await collect(engine, follow, max_tokens=4)
    stats = engine.last_stats
    assert stats is not None
    # At least the whole first prompt is shared (the answer itself usually too).
    assert stats.reused_tokens >= len(engine.prompt_tokens(first)) - 1
    other = ask("Name an animal.")
    await collect(engine, other, max_tokens=4)
    assert engine.last_stats is not None
    assert 0 < engine.last_stats.reused_tokens < engine.last_stats.prompt_tokens


async def test_prefill_is_continued(engine: LlamaEngine) -> None:
    messages = [*ask("Count from one to five."), ChatMessage("assistant", "One, two,")]
    prompt = engine.render_prompt(messages)
    assert prompt.endswith("One, two,")
    assert await collect(engine, messages, max_tokens=6)


async def test_closing_the_stream_stops_generation_and_the_engine_goes_on(engine: LlamaEngine) -> None:
    stream = engine.stream(ask("Write a long story about a dragon."), user_key="t", max_tokens=200)
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    for _ in range(100):
        if not engine.busy:
            break
        await asyncio.sleep(0.05)
    assert engine.last_stats is not None
    assert engine.last_stats.stop_reason == "cancelled"
    assert engine.last_stats.generated_tokens < 200
    assert await collect(engine, ask("Say yes."), max_tokens=3)


async def test_full_queue_is_busy_at_once(engine: LlamaEngine) -> None:
    long = ask("Write a long story about a dragon.")
    running = [
        engine.stream(long, user_key=f"a{i}", max_tokens=200, ignore_eos=True) for i in range(engine.parallel)
    ]
    for stream in running:
        await stream.__anext__()  # every slot holds an answer
    waiting = asyncio.ensure_future(collect(engine, ask("Say hi."), max_tokens=2))
    await asyncio.sleep(0.05)
    assert engine.queue_depth == 1
    with pytest.raises(GeneratorBusyError):
        await collect(engine, ask("Say hi."), max_tokens=2)
    for stream in running:
        await stream.aclose()  # type: ignore[attr-defined]
    assert await waiting


async def test_timeout_stops_generation_and_the_engine_recovers(model_path: Path) -> None:
    engine = LlamaEngine(LLMSettings(n_ctx=512, timeout_s=0.05), model_path=model_path, lora_path=None)
    try:
        with pytest.raises(GeneratorTimeoutError):
            await collect(engine, ask("Write a long story."), max_tokens=400, ignore_eos=True)
        engine._settings = LLMSettings(n_ctx=512, timeout_s=30)  # noqa: SLF001 - lift the limit for the check
        assert await collect(engine, ask("Say yes."), max_tokens=3)
    finally:
        await engine.close()


async def test_a_crash_in_one_generation_leaves_the_engine_usable(
    engine: LlamaEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = engine._model.tokenize_prompt  # noqa: SLF001

    def flaky(messages: list[ChatMessage]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return original(messages)

    monkeypatch.setattr(engine._model, "tokenize_prompt", flaky)  # noqa: SLF001
    with pytest.raises(GeneratorError, match="RuntimeError"):
        await collect(engine, ask("Say yes."), max_tokens=2)
    assert await collect(engine, ask("Say yes."), max_tokens=2)


async def test_prompt_longer_than_the_context_is_an_error(engine: LlamaEngine) -> None:
    with pytest.raises(GeneratorError, match="context"):
        await collect(engine, ask("word " * 2000), max_tokens=2)


async def test_reload_swaps_after_the_running_answer(engine: LlamaEngine, model_path: Path) -> None:
    before = engine.info
    running = engine.stream(
        ask("Write a long story about a dragon."), user_key="a", max_tokens=30, ignore_eos=True
    )
    await running.__anext__()
    reload = asyncio.ensure_future(engine.switch_to(model_path, None))
    rest = "".join([piece async for piece in running])
    info = await reload
    assert rest  # the running answer finished on the old model
    assert info.version == before.version
    assert await collect(engine, ask("Say yes."), max_tokens=2)


async def test_reload_to_a_bad_file_keeps_the_old_model(engine: LlamaEngine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelLoadError):
        await engine.switch_to(bad, None)
    with pytest.raises(ModelLoadError, match="not found"):
        await engine.switch_to(tmp_path / "missing.gguf", None)
    assert await collect(engine, ask("Say yes."), max_tokens=2)


async def test_reload_loads_what_the_registry_chooses_now(model_path: Path, tmp_path: Path) -> None:
    models = ModelRegistry(tmp_path / "models")
    engine = LlamaEngine(
        LLMSettings(n_ctx=512, max_tokens=4), model_path=model_path, lora_path=None, models=models
    )
    try:
        chosen = tmp_path / "chosen.gguf"
        shutil.copyfile(model_path, chosen)
        models.use(chosen)  # what `models use` does before the operator sends SIGHUP
        info = await engine.reload()
        assert (info.path, info.adapter) == (str(chosen), "")
        chosen.unlink()
        with pytest.raises(ModelLoadError, match="model file not found"):
            await engine.reload()
        assert engine.info.path == str(chosen)
        assert await collect(engine, ask("Say yes."), max_tokens=2), "the old model keeps serving"
    finally:
        await engine.close()


def test_lora_paths_are_validated_before_llama_cpp(model_path: Path, tmp_path: Path) -> None:
    # llama.cpp segfaults on a missing LoRA path: this must fail cleanly first.
    with pytest.raises(ModelLoadError, match="LoRA adapter file not found"):
        LlamaEngine(LLMSettings(), model_path=model_path, lora_path=tmp_path / "missing.gguf")
    text_file = tmp_path / "adapter.gguf"
    text_file.write_text("not a model")
    with pytest.raises(ModelLoadError, match="not a GGUF"):
        LlamaEngine(LLMSettings(), model_path=model_path, lora_path=text_file)
    with pytest.raises(ModelLoadError, match="model file not found"):
        check_files(tmp_path / "nothing.gguf", None)
