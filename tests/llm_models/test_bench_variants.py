"""`bench generation --merged`: base, base + adapter and the merged model in one run, with a fake engine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import register_commands
from bot.cli.app import app
from bot.config import Settings
from bot.devtools import generation_bench
from bot.devtools.generation_bench import BenchEngine, Variant, run_variant_bench
from bot.llm.base import ModelInfo
from bot.llm.engine import GenerationStats
from bot.train.base_model import shipped_generator_gguf
from bot.train.gguf_adapter import convert_peft_tensors, write_lora_gguf
from tests.train.test_gguf_adapter import HEADS, KV_HEADS, peft_state

# Generation seconds for 64 tokens: the merged model is the fastest, the adapter the slowest.
SECONDS = {"base": 1.0, "adapter": 1.5, "merged": 0.9}


class FakeEngine:
    """Streams `tokens` pieces and reports the time its kind of model would have taken."""

    def __init__(self, model: Path, adapter: Path | None) -> None:
        self.kind = "adapter" if adapter else "merged" if "merged" in model.name else "base"
        self.info = ModelInfo(
            name=self.kind, version="v", path=str(model), adapter=str(adapter or ""), n_ctx=2048
        )
        self.last_stats: GenerationStats | None = None
        self.closed = False

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def stream(
        self, messages: Sequence[Any], *, user_key: str, max_tokens: int, ignore_eos: bool
    ) -> AsyncIterator[str]:
        for _ in range(max_tokens):
            yield "x"
        self.last_stats = GenerationStats(
            prompt_tokens=300,
            reused_tokens=100,
            generated_tokens=max_tokens,
            queue_s=0.0,
            prompt_s=0.5,
            generation_s=SECONDS[self.kind] * (max_tokens - 1) / 63,
            stop_reason="length",
        )

    async def close(self) -> None:
        self.closed = True


async def test_every_variant_is_measured_in_every_run(settings: Settings, tmp_path: Path) -> None:
    made: list[FakeEngine] = []

    def make(model: Path, adapter: Path | None) -> BenchEngine:
        made.append(FakeEngine(model, adapter))
        return made[-1]

    base, adapter, merged = tmp_path / "base.gguf", tmp_path / "adapter.gguf", tmp_path / "merged.Q8_0.gguf"
    variants = [Variant("base", base), Variant("base+adapter", base, adapter), Variant("merged", merged)]
    seen: list[tuple[int, dict[str, float]]] = []
    result = await run_variant_bench(
        settings,
        variants,
        runs=3,
        tokens=64,
        passages=2,
        on_run=lambda run, figures: seen.append((run, figures)),
        make_engine=make,
    )
    assert [run for run, _ in seen] == [1, 2, 3]  # the warm-up run is not reported
    assert all(engine.closed for engine in made)
    summary = result.summary()
    assert set(summary) == {
        "runs",
        "tokens",
        "variants",
        "ratio_merged_over_adapter",
        "ratio_merged_over_base",
        "ratio_adapter_over_base",
    }
    assert (summary["runs"], summary["tokens"]) == (3, 64)
    assert list(summary["variants"]) == ["base", "base+adapter", "merged"]
    merged_row = summary["variants"]["merged"]
    assert merged_row["tokens_per_s"] == pytest.approx(63 / 0.9, rel=1e-3)
    assert merged_row["prompt_tokens_per_s"] == pytest.approx(400.0)
    assert len(merged_row["per_run"]) == 3
    assert summary["variants"]["base+adapter"]["adapter"] == str(adapter)
    assert summary["ratio_merged_over_adapter"] == pytest.approx(1.5 / 0.9, rel=1e-3)
    assert summary["ratio_merged_over_base"] == pytest.approx(1.0 / 0.9, rel=1e-3)


def test_the_command_prints_the_three_and_the_ratio_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = tmp_path / "adapter.gguf"
    state = peft_state(rank=2, scale=0.01, layers=1)
    write_lora_gguf(adapter, convert_peft_tensors(state, n_head=HEADS, n_head_kv=KV_HEADS), alpha=4.0)
    monkeypatch.setattr(generation_bench, "_llama_engine", lambda settings: FakeEngine)
    register_commands()
    shipped = str(shipped_generator_gguf())
    env = {"BOT_DATA_DIR": str(tmp_path / "data"), "BOT_LLM__MODEL_PATH": shipped}
    merged = tmp_path / "merged.Q8_0.gguf"  # the fake tells the merged model by its file name
    merged.symlink_to(shipped)
    args = ["bench", "generation", "--runs", "2", "--tokens", "64", "--merged", str(merged)]
    runner = CliRunner()

    missing = runner.invoke(app, args, env=env)
    assert missing.exit_code == 2
    assert "--merged needs the adapter it was made from" in " ".join(missing.output.split())

    result = runner.invoke(app, [*args, "--adapter", str(adapter), "--json"], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ratio_merged_over_adapter"] == pytest.approx(1.5 / 0.9, rel=1e-3)
    assert summary["variants"]["base"]["model"] == shipped
    assert summary["variants"]["base+adapter"]["adapter"] == str(adapter)
