"""Merging a GGUF LoRA adapter into its base: the merged GGUF loads in the bot's engine and agrees with
base + adapter; quantization types are checked before anything runs; `models use` serves the result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli import register_commands
from bot.cli.app import app
from bot.config import Settings
from bot.train.base_model import shipped_generator_gguf
from bot.train.gguf_adapter import convert_peft_tensors, write_lora_gguf
from bot.train.merge import QUANT_TYPES, MergeError, merge_adapter, merged_from, normalize_quant
from tests.train.llama_logits import next_token_logits
from tests.train.test_gguf_adapter import HEADS, KV_HEADS, peft_state


def write_adapter(path: Path, *, scale: float, zero: bool = False, seed: int = 0) -> Path:
    state = peft_state(rank=2, scale=scale, seed=seed)
    if zero:
        state = {k: np.zeros_like(v) if k.endswith("lora_B.weight") else v for k, v in state.items()}
    write_lora_gguf(path, convert_peft_tensors(state, n_head=HEADS, n_head_kv=KV_HEADS), alpha=4.0)
    return path


def test_quantization_types_are_checked_and_named() -> None:
    assert normalize_quant("q4_k_m") == "Q4_K_M"
    assert normalize_quant("Q8_0") == "Q8_0"
    with pytest.raises(MergeError) as caught:
        normalize_quant("Q9_X")
    message = str(caught.value)
    assert "'Q9_X'" in message
    assert all(name in message for name in QUANT_TYPES)


def test_models_merge_refuses_a_wrong_type_before_reading_anything(tmp_path: Path) -> None:
    register_commands()
    result = CliRunner().invoke(
        app,
        ["models", "merge", str(tmp_path / "missing.gguf"), "--quantize", "Q3"],
        env={"BOT_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.exit_code == 2
    assert "unknown quantization type 'Q3'; valid types: F32, F16" in " ".join(result.output.split())


def test_finetune_refuses_a_wrong_type_before_training(tmp_path: Path) -> None:
    register_commands()
    data = tmp_path / "chats.jsonl"
    data.write_text("", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["finetune", "--data", str(data), "--out", str(tmp_path / "out"), "--quantize", "Q4_K_X"],
        env={"BOT_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.exit_code == 2
    assert "--quantize: unknown quantization type 'Q4_K_X'" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def test_an_adapter_given_as_the_base_is_a_clear_error(tmp_path: Path) -> None:
    adapter = write_adapter(tmp_path / "a.gguf", scale=0.01)
    from bot.llm.base import ModelError

    with pytest.raises(ModelError, match="is a LoRA adapter, not a full model"):
        merge_adapter(adapter, adapter, tmp_path / "m.gguf")
    assert not (tmp_path / "m.gguf").exists()


# ---------------------------------------------------------------------------------------------------------
# The real 135M model


@dataclass(frozen=True)
class Merged:
    base_f32: Path  # the shipped model dequantized (a zero adapter merged), so logits compare exactly
    adapter: Path
    merged_f32: Path
    merged_q8: Path


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Merged:
    root = tmp_path_factory.mktemp("merge")
    zero = write_adapter(root / "zero.gguf", scale=0.05, zero=True)
    base_f32 = merge_adapter(shipped_generator_gguf(), zero, root / "base.F32.gguf", quantization="F32").path
    adapter = write_adapter(root / "run" / "adapter.gguf", scale=0.03, seed=1)
    merged_f32 = merge_adapter(base_f32, adapter, root / "run" / "merged.F32.gguf", quantization="f32")
    merged_q8 = merge_adapter(base_f32, adapter, root / "run" / "merged.Q8_0.gguf")
    assert merged_f32.merged_tensors == merged_q8.merged_tensors == 30 * 4
    assert merged_q8.quantization == "Q8_0"
    assert merged_q8.size < merged_f32.size / 3
    return Merged(base_f32, adapter, merged_f32.path, merged_q8.path)


def _logits(model: Path, lora: Path | None = None) -> np.ndarray:
    return next_token_logits(model, b"To return a parcel, print the label and", lora)


@pytest.mark.slow
@pytest.mark.integration
def test_merged_f32_has_the_logits_of_base_plus_adapter(merged: Merged) -> None:
    served = _logits(merged.base_f32, merged.adapter)
    plain = _logits(merged.base_f32)
    # The adapter moves the logits by far more than the merge differs from it (float rounding only).
    assert np.abs(served - plain).max() > 0.5
    np.testing.assert_allclose(_logits(merged.merged_f32), served, atol=0.05)


async def _greedy(settings: Settings, model: Path, lora: Path | None) -> tuple[str, str]:
    from bot.domain import ChatMessage
    from bot.llm.engine import LlamaEngine

    llm = settings.llm.model_copy(update={"temperature": 0.0, "n_ctx": 512})
    engine = LlamaEngine(llm, model_path=model, lora_path=lora)
    try:
        messages = [ChatMessage("user", "How do I return a parcel that arrived damaged?")]
        text = "".join([piece async for piece in engine.stream(messages, user_key="t", max_tokens=12)])
        return text, engine.info.version
    finally:
        await engine.close()


@pytest.mark.slow
@pytest.mark.integration
async def test_the_bot_engine_serves_the_quantized_merge_like_base_plus_adapter(
    merged: Merged, settings: Settings
) -> None:
    served, served_version = await _greedy(settings, merged.base_f32, merged.adapter)
    text, version = await _greedy(settings, merged.merged_q8, None)
    assert text.strip()
    assert "+" not in version
    assert version != served_version.split("+")[0]
    assert served.strip()
    # The quantized merge reads like base + adapter, not like the base: its logits are nearer the adapter's on
    # average (Q8_0 moves single logits by up to 1, as much as this small adapter does), and the token it
    # picks is one the adapter ranks near the top. (Comparing the greedy answers' first words failed on
    # 2026-12-06 with the fixture's adapter trained by newer transformers/peft: a near-tie, "To return…"
    # against "When a parcel…", at the base commit too.)
    with_adapter = _logits(merged.base_f32, merged.adapter)
    quantized = _logits(merged.merged_q8)
    plain = _logits(merged.base_f32)
    assert np.abs(quantized - with_adapter).mean() < np.abs(quantized - plain).mean()
    assert int(np.argmax(quantized)) in np.argsort(with_adapter)[-3:]
    origin = merged_from(merged.merged_q8)
    assert origin is not None
    assert origin["quantization"] == "Q8_0"
    assert merged_from(merged.base_f32) is not None  # the zero-adapter merge says so too
    assert merged_from(shipped_generator_gguf()) is None


@pytest.mark.slow
@pytest.mark.integration
def test_models_use_serves_a_merged_model_and_list_shows_it(merged: Merged, tmp_path: Path) -> None:
    register_commands()
    env = {"BOT_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    used = runner.invoke(app, ["models", "use", str(merged.merged_q8)], env=env)
    assert used.exit_code == 0, used.output
    assert f"now using merged model {merged.merged_q8}" in used.output
    active = json.loads((tmp_path / "data" / "models" / "active.json").read_text(encoding="utf-8"))
    assert (active["model"], active["adapter"]) == (str(merged.merged_q8), None)
    listed = runner.invoke(app, ["models", "list", "--json"], env=env)
    generator = next(r for r in json.loads(listed.stdout)["models"] if r["role"] == "generator")
    assert generator["path"] == str(merged.merged_q8)
    assert generator["merged"]["quantization"] == "Q8_0"
    assert "merged: adapter" in generator["source"]
    # The bot's model is now a merge: merging another adapter into it without --base is refused.
    again = runner.invoke(
        app, ["models", "merge", str(merged.adapter), "--out", str(tmp_path / "x.gguf")], env=env
    )
    assert again.exit_code == 2
    assert "already a merged model" in " ".join(again.output.split())


@pytest.mark.slow
def test_an_adapter_for_another_model_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    state = peft_state(rank=2, scale=0.01, layers=31)  # SmolLM2-135M has 30 layers
    adapter = tmp_path / "a.gguf"
    write_lora_gguf(adapter, convert_peft_tensors(state, n_head=HEADS, n_head_kv=KV_HEADS), alpha=4.0)
    with pytest.raises(
        MergeError, match=r"adapts blk\.30\.attn_k\.weight \(and 3 more\), which .* does not have"
    ):
        merge_adapter(shipped_generator_gguf(), adapter, tmp_path / "m.gguf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gguf"]


def test_the_base_is_the_one_the_adapter_was_trained_for(tmp_path: Path, settings: Settings) -> None:
    from bot.train.merge import resolve_merge_base

    adapter = write_adapter(tmp_path / "run" / "adapter.gguf", scale=0.01)
    base = tmp_path / "trained-on.gguf"
    base.symlink_to(shipped_generator_gguf())
    provenance = {"artefact": {"serve_with": str(base)}}
    (tmp_path / "run" / "provenance.json").write_text(json.dumps(provenance), encoding="utf-8")
    assert resolve_merge_base(adapter, None, settings) == base
    assert resolve_merge_base(adapter, tmp_path / "given.gguf", settings) == tmp_path / "given.gguf"


def test_finetune_merge_needs_a_gguf_base(tmp_path: Path) -> None:
    import typer

    from bot.cli.finetune import _merge

    adapter = write_adapter(tmp_path / "adapter.gguf", scale=0.01)
    with pytest.raises(typer.Exit) as caught:
        _merge(adapter, {"artefact": {"serve_with": None}}, "Q8_0", print)
    assert caught.value.exit_code == 2
    assert not list(tmp_path.glob("merged*"))
