"""Write a PEFT LoRA as the GGUF adapter llama.cpp loads (`lora_path=`), without torch or llama.cpp's scripts.

The layout follows llama.cpp's `convert_lora_to_gguf.py` and `llama-adapter.cpp`:
- `general.type = "adapter"`, `adapter.type = "lora"`, `adapter.lora.alpha`, the base's
  `general.architecture`;
- per target weight `W` (GGUF name such as `blk.0.attn_q.weight`), two tensors `<name>.lora_a` and
  `<name>.lora_b`
  stored with PEFT's shapes, A `(r, in)` and B `(out, r)` (GGUF `ne` = A `(in, r)`, B `(r, out)`);
- llama.cpp's Llama converter permutes the rows of `q_proj` and `k_proj` for its RoPE layout, so B of
  those two
  gets the same row permutation (A is unaffected: it acts on the input side).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# HF Llama module -> llama.cpp tensor name stem (gguf's TensorNameMap for LLaMA).
_MODULE_TO_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_PEFT_KEY = re.compile(r"(?:^|\.)layers\.(\d+)\.([a-z_]+\.[a-z_]+)\.lora_([AB])(?:\.[A-Za-z0-9_]+)?\.weight$")

GGUF_ADAPTER_TYPE = "adapter"


class AdapterFormatError(ValueError):
    """The LoRA cannot be expressed as a llama.cpp adapter (unknown module, missing half, bad shape)."""


@dataclass(frozen=True, slots=True)
class AdapterInfo:
    path: Path
    architecture: str
    alpha: float
    rank: int
    n_tensor_pairs: int
    metadata: dict[str, str]


def permute_rope_rows(b: npt.NDArray[Any], n_head: int) -> npt.NDArray[Any]:
    """Apply llama.cpp's `LlamaModel.permute` to the output rows of a LoRA B matrix `(out, r)`."""
    out, rank = b.shape
    if out % (n_head * 2):
        raise AdapterFormatError(f"cannot permute {out} rows into {n_head} heads")
    return b.reshape(n_head, 2, out // n_head // 2, rank).swapaxes(1, 2).reshape(out, rank)


def convert_peft_tensors(
    tensors: Mapping[str, npt.NDArray[Any]], *, n_head: int, n_head_kv: int
) -> dict[str, npt.NDArray[np.float32]]:
    """Map PEFT state-dict names and layouts onto llama.cpp's adapter tensors."""
    pairs: dict[str, dict[str, npt.NDArray[Any]]] = {}
    for key, value in tensors.items():
        match = _PEFT_KEY.search(key)
        if match is None:
            raise AdapterFormatError(
                f"unexpected tensor {key!r}: only LoRA A/B weights of decoder layers convert"
            )
        layer, module, half = match.groups()
        stem = _MODULE_TO_GGUF.get(module)
        if stem is None:
            raise AdapterFormatError(
                f"{key!r}: LoRA on {module} is not supported (use q/k/v/o or MLP projections)"
            )
        pairs.setdefault(f"blk.{layer}.{stem}.weight", {})[half] = np.asarray(value, dtype=np.float32)
    if not pairs:
        raise AdapterFormatError("no LoRA tensors found")
    out: dict[str, npt.NDArray[np.float32]] = {}
    for name in sorted(pairs, key=_natural_key):
        halves = pairs[name]
        if set(halves) != {"A", "B"}:
            raise AdapterFormatError(f"{name}: LoRA {'A' if 'A' not in halves else 'B'} matrix is missing")
        a, b = halves["A"], halves["B"]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise AdapterFormatError(f"{name}: shapes A{a.shape} and B{b.shape} do not form a rank-r update")
        if ".attn_q." in name:
            b = permute_rope_rows(b, n_head)
        elif ".attn_k." in name:
            b = permute_rope_rows(b, n_head_kv)
        out[name + ".lora_a"] = np.ascontiguousarray(a)
        out[name + ".lora_b"] = np.ascontiguousarray(b)
    return out


def _natural_key(name: str) -> tuple[int, str]:
    match = re.match(r"blk\.(\d+)\.(.*)", name)
    return (int(match.group(1)), match.group(2)) if match else (-1, name)


def write_lora_gguf(
    path: Path,
    tensors: Mapping[str, npt.NDArray[np.float32]],
    *,
    alpha: float,
    architecture: str = "llama",
    name: str = "",
    extra_metadata: Mapping[str, str] | None = None,
    dtype: str = "f32",
) -> None:
    """Write converted tensors as a GGUF adapter, atomically (temp file, then rename)."""
    import gguf

    if dtype not in ("f32", "f16"):
        raise ValueError(f"dtype must be f32 or f16, not {dtype!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch=architecture)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        if name:
            writer.add_name(name)
        for key, value in (extra_metadata or {}).items():
            writer.add_string(key, value)
        np_dtype = np.float32 if dtype == "f32" else np.float16
        for tensor_name, array in tensors.items():
            writer.add_tensor(tensor_name, np.ascontiguousarray(array, dtype=np_dtype))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    tmp.replace(path)


def _field_value(field: Any) -> Any:
    """Decode one GGUFReader field into a Python scalar or string."""
    import gguf

    if not field.types:
        return None
    kind = field.types[0]
    if kind == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8", errors="replace")
    if kind == gguf.GGUFValueType.ARRAY:
        return None
    return field.parts[field.data[0]].tolist()[0]


def gguf_type(path: Path) -> str:
    """`general.type` of a GGUF file: "adapter" or "model" (header only: fast on a large model)."""
    from bot.llm.base import ModelError
    from bot.llm.gguf_file import inspect_gguf

    try:
        return str(inspect_gguf(path).kind)
    except ModelError as exc:
        raise AdapterFormatError(str(exc)) from None


def read_adapter_info(path: Path) -> AdapterInfo:
    """Check that `path` is a LoRA adapter GGUF and summarise it (raises `AdapterFormatError` if not)."""
    import gguf

    # Checking the header first keeps a full model (with its large vocabulary arrays) out of GGUFReader.
    kind = gguf_type(path)
    if kind != GGUF_ADAPTER_TYPE:
        raise AdapterFormatError(f"{path}: not a LoRA adapter (general.type={kind!r})")
    try:
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError) as exc:
        raise AdapterFormatError(f"{path}: not a readable GGUF file ({exc})") from None
    values = {key: _field_value(field) for key, field in reader.fields.items()}
    if values.get("general.type") != GGUF_ADAPTER_TYPE or values.get("adapter.type") != "lora":
        raise AdapterFormatError(f"{path}: not a LoRA adapter (general.type={values.get('general.type')!r})")
    ranks = {int(t.shape[1]) for t in reader.tensors if t.name.endswith(".lora_a")}
    metadata = {k: str(v) for k, v in values.items() if isinstance(v, str) and k.startswith("training.")}
    return AdapterInfo(
        path=path,
        architecture=str(values.get("general.architecture", "")),
        alpha=float(values.get("adapter.lora.alpha") or 0.0),
        rank=min(ranks) if ranks else 0,
        n_tensor_pairs=sum(1 for t in reader.tensors if t.name.endswith(".lora_a")),
        metadata=metadata,
    )
