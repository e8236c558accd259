"""The GGUF adapter writer: llama.cpp's names, shapes and RoPE row order, and llama.cpp really loads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.train.base_model import shipped_generator_gguf
from bot.train.gguf_adapter import (
    AdapterFormatError,
    convert_peft_tensors,
    gguf_type,
    read_adapter_info,
    write_lora_gguf,
)
from tests.train.llama_logits import next_token_logits

# SmolLM2-135M: 30 layers, hidden 576, 9 query heads and 3 KV heads of 64.
LAYERS, HIDDEN, HEADS, KV_HEADS = 30, 576, 9, 3
OUT_DIMS = {"q_proj": HIDDEN, "k_proj": 192, "v_proj": 192, "o_proj": HIDDEN}


def llama_cpp_permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf `LlamaModel.permute`, applied to a full weight matrix."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def peft_state(rank: int, scale: float, seed: int = 0, layers: int = LAYERS) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    state = {}
    for layer in range(layers):
        for module, out_dim in OUT_DIMS.items():
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            state[f"{prefix}.lora_A.weight"] = rng.normal(0, scale, (rank, HIDDEN)).astype(np.float32)
            state[f"{prefix}.lora_B.weight"] = rng.normal(0, scale, (out_dim, rank)).astype(np.float32)
    return state


def test_names_shapes_and_rope_permutation() -> None:
    state = peft_state(rank=4, scale=0.1, layers=2)
    out = convert_peft_tensors(state, n_head=HEADS, n_head_kv=KV_HEADS)
    assert sorted(out) == sorted(
        f"blk.{layer}.{stem}.weight.lora_{half}"
        for layer in range(2)
        for stem in ("attn_q", "attn_k", "attn_v", "attn_output")
        for half in "ab"
    )
    for module, stem, heads in (("q_proj", "attn_q", HEADS), ("k_proj", "attn_k", KV_HEADS)):
        a = state[f"base_model.model.model.layers.1.self_attn.{module}.lora_A.weight"]
        b = state[f"base_model.model.model.layers.1.self_attn.{module}.lora_B.weight"]
        delta_gguf = out[f"blk.1.{stem}.weight.lora_b"] @ out[f"blk.1.{stem}.weight.lora_a"]
        # The adapter's update must equal the HF update permuted exactly as llama.cpp permutes the weight.
        np.testing.assert_allclose(delta_gguf, llama_cpp_permute(b @ a, heads), rtol=1e-5, atol=1e-6)
        assert not np.allclose(delta_gguf, b @ a)
    v_a = state["base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight"]
    v_b = state["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"]
    np.testing.assert_array_equal(out["blk.0.attn_v.weight.lora_a"], v_a)
    np.testing.assert_array_equal(out["blk.0.attn_v.weight.lora_b"], v_b)


def test_unconvertible_tensors_are_refused() -> None:
    state = peft_state(rank=2, scale=0.1, layers=1)
    del state["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]
    with pytest.raises(AdapterFormatError, match="B matrix is missing"):
        convert_peft_tensors(state, n_head=HEADS, n_head_kv=KV_HEADS)
    with pytest.raises(AdapterFormatError, match="unexpected tensor"):
        convert_peft_tensors({"base_model.model.lm_head.weight": np.zeros((2, 2))}, n_head=9, n_head_kv=3)
    with pytest.raises(AdapterFormatError, match="no LoRA tensors"):
        convert_peft_tensors({}, n_head=9, n_head_kv=3)


def test_written_file_reads_back_as_adapter(tmp_path: Path) -> None:
    path = tmp_path / "adapter.gguf"
    tensors = convert_peft_tensors(peft_state(rank=4, scale=0.1, layers=2), n_head=HEADS, n_head_kv=KV_HEADS)
    write_lora_gguf(path, tensors, alpha=8.0, name="t", extra_metadata={"training.base_sha256": "abc"})
    info = read_adapter_info(path)
    assert (info.architecture, info.alpha, info.rank, info.n_tensor_pairs) == ("llama", 8.0, 4, 8)
    assert info.metadata == {"training.base_sha256": "abc"}
    assert gguf_type(path) == "adapter"
    assert not path.with_name("adapter.gguf.tmp").exists()


def test_a_model_is_not_mistaken_for_an_adapter() -> None:
    base = shipped_generator_gguf()
    assert gguf_type(base) == "model"
    with pytest.raises(AdapterFormatError, match="not a LoRA adapter"):
        read_adapter_info(base)


@pytest.mark.integration
def test_llama_cpp_loads_it_and_a_zero_update_changes_nothing(tmp_path: Path) -> None:
    """A zero-B adapter must leave the logits unchanged; a non-zero one must change them."""

    base = shipped_generator_gguf()
    zero = peft_state(rank=2, scale=0.05)
    for key in zero:
        if key.endswith("lora_B.weight"):
            zero[key] = np.zeros_like(zero[key])
    paths = {}
    for name, state in (("zero", zero), ("random", peft_state(rank=2, scale=0.05))):
        paths[name] = tmp_path / f"{name}.gguf"
        write_lora_gguf(paths[name], convert_peft_tensors(state, n_head=HEADS, n_head_kv=KV_HEADS), alpha=2.0)

    def logits(lora: Path | None) -> np.ndarray:
        return next_token_logits(base, b"The capital of France is", lora)

    plain = logits(None)
    np.testing.assert_allclose(logits(paths["zero"]), plain, atol=1e-3)
    assert np.abs(logits(paths["random"]) - plain).max() > 0.05
