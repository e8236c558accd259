"""Merge a GGUF LoRA adapter into its GGUF base and quantize the result into one GGUF, without torch.

The merge works in llama.cpp's own layout: every base tensor is dequantized (the `gguf` package), each
adapted weight gets `W + alpha/r · B·A` from the adapter's `lora_a`/`lora_b` (already RoPE-permuted by the
adapter writer, so no HF round trip or converter script is needed), the whole model is written once as
F32 with the base's metadata, and llama.cpp's quantizer (`llama_model_quantize`) makes the served type.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bot.llm.base import ModelError
from bot.llm.gguf_file import check_adapter, check_generator
from bot.train.data import sha256_file

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("bot.train")

DEFAULT_QUANT = "Q8_0"
# llama.cpp types that need no importance matrix (llama-quantize refuses the IQ1/IQ2/Q2_K_S types without
# one); F32 skips the quantizer. Names as llama-quantize spells them.
QUANT_TYPES = (
    "F32",
    "F16",
    "BF16",
    "Q8_0",
    "Q6_K",
    "Q5_K_M",
    "Q5_K_S",
    "Q5_1",
    "Q5_0",
    "Q4_K_M",
    "Q4_K_S",
    "Q4_1",
    "Q4_0",
    "Q3_K_L",
    "Q3_K_M",
    "Q3_K_S",
    "Q2_K",
    "IQ4_NL",
    "IQ4_XS",
)
# Metadata keys the merged file carries, so `models list` can say what it was made from.
MERGE_BASE_KEY = "merge.base_sha256"
MERGE_ADAPTER_KEY = "merge.adapter_sha256"
MERGE_ADAPTER_NAME_KEY = "merge.adapter_name"
MERGE_QUANT_KEY = "merge.quantization"


class MergeError(ValueError):
    """The adapter cannot be merged into that base, or the output cannot be written; says which and why."""


@dataclass(frozen=True, slots=True)
class MergeResult:
    path: Path
    base: Path
    adapter: Path
    quantization: str
    merged_tensors: int
    size: int
    seconds: float
    # False when the adapter records the base it was trained on and that is another file.
    base_matches_training: bool | None


def normalize_quant(name: str) -> str:
    """`name` as one of `QUANT_TYPES` (any case); a `MergeError` naming the valid ones otherwise."""
    wanted = name.strip().upper()
    if wanted not in QUANT_TYPES:
        raise MergeError(f"unknown quantization type {name!r}; valid types: {', '.join(QUANT_TYPES)}")
    return wanted


def quant_ftype(name: str) -> int:
    """The `llama_ftype` number llama-cpp-python exposes for a type name."""
    import llama_cpp

    attr = "LLAMA_FTYPE_ALL_F32" if name == "F32" else f"LLAMA_FTYPE_MOSTLY_{name}"
    value = getattr(llama_cpp, attr, None)
    if not isinstance(value, int):
        raise MergeError(f"this llama-cpp-python has no quantization type {name}")
    return value


def default_merged_path(adapter: Path, quantization: str) -> Path:
    """`<adapter folder>/merged.<TYPE>.gguf`: next to the adapter it was made from."""
    return adapter.parent / f"merged.{quantization}.gguf"


def _lora_pairs(adapter: Path) -> tuple[dict[str, tuple[Any, Any]], float, dict[str, str]]:
    """{base tensor name: (A, B)}, alpha and the adapter's string metadata, read with GGUFReader."""
    import gguf

    reader = gguf.GGUFReader(str(adapter))
    alpha_field = reader.fields.get(gguf.Keys.Adapter.LORA_ALPHA)
    if alpha_field is None:
        raise MergeError(f"{adapter}: no adapter.lora.alpha in the adapter")
    alpha = float(alpha_field.contents())
    strings = {
        name: str(field.contents())
        for name, field in reader.fields.items()
        if field.types and field.types[0] == gguf.GGUFValueType.STRING
    }
    halves: dict[str, dict[str, Any]] = {}
    for tensor in reader.tensors:
        stem, dot, half = tensor.name.rpartition(".")
        if not dot or half not in ("lora_a", "lora_b"):
            raise MergeError(f"{adapter}: unexpected tensor {tensor.name!r} in a LoRA adapter")
        halves.setdefault(stem, {})[half] = tensor
    pairs = {}
    for stem, found in halves.items():
        if set(found) != {"lora_a", "lora_b"}:
            raise MergeError(f"{adapter}: {stem} has only {', '.join(found)}")
        pairs[stem] = (found["lora_a"], found["lora_b"])
    if not pairs:
        raise MergeError(f"{adapter}: no LoRA tensors")
    return pairs, alpha, strings


def _dense(tensor: Any) -> npt.NDArray[np.float32]:
    """A GGUF tensor as float32 in numpy order (rows = GGUF ne[1]), dequantized when quantized."""
    import gguf

    values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    return np.asarray(values, dtype=np.float32).reshape(tuple(int(n) for n in reversed(tensor.shape)))


def write_merged_f32(
    base: Path,
    adapter: Path,
    out: Path,
    extra_metadata: dict[str, str],
    lora: tuple[dict[str, tuple[Any, Any]], float] | None = None,
) -> int:
    """Write base + adapter as an all-F32 GGUF at `out`; returns how many weights the adapter changed."""
    import gguf

    pairs, alpha = lora if lora is not None else _lora_pairs(adapter)[:2]
    reader = gguf.GGUFReader(str(base))
    arch_field = reader.fields.get(gguf.Keys.General.ARCHITECTURE)
    if arch_field is None:
        raise MergeError(f"{base}: no general.architecture")
    unknown = sorted(set(pairs) - {t.name for t in reader.tensors})
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise MergeError(f"{adapter}: adapts {unknown[0]}{more}, which {base} does not have")
    writer = gguf.GGUFWriter(str(out), arch=str(arch_field.contents()))
    try:
        return _write(reader, writer, pairs, alpha, extra_metadata, adapter)
    finally:
        writer.close()


def _write(
    reader: Any,
    writer: Any,
    pairs: dict[str, tuple[Any, Any]],
    alpha: float,
    extra_metadata: dict[str, str],
    adapter: Path,
) -> int:
    import gguf

    skip = {
        gguf.Keys.General.ARCHITECTURE,
        gguf.Keys.General.FILE_TYPE,
        gguf.Keys.General.QUANTIZATION_VERSION,
        *extra_metadata,
    }
    for field in reader.fields.values():
        if field.name in skip or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    for key, value in extra_metadata.items():
        writer.add_string(key, value)
    for tensor in reader.tensors:
        shape = tuple(int(n) for n in reversed(tensor.shape))
        writer.add_tensor_info(tensor.name, shape, np.dtype(np.float32), 4 * int(np.prod(shape)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    merged = 0
    # One tensor at a time: the F32 model never has to fit in memory at once.
    for tensor in reader.tensors:
        weight = _dense(tensor)
        pair = pairs.get(tensor.name)
        if pair is not None:
            a, b = _dense(pair[0]), _dense(pair[1])  # A (r, in), B (out, r)
            if a.shape[0] != b.shape[1] or (b.shape[0], a.shape[1]) != weight.shape:
                raise MergeError(
                    f"{adapter}: {tensor.name} is {weight.shape} in the base but the LoRA makes "
                    f"{(b.shape[0], a.shape[1])}; the adapter was trained on another model"
                )
            # llama.cpp applies the same scale at run time: alpha / rank (with the adapter scale 1).
            weight = weight + (alpha / a.shape[0]) * (b @ a)
            merged += 1
        writer.write_tensor_data(np.ascontiguousarray(weight, dtype=np.float32))
    return merged


def merge_adapter(
    base: Path,
    adapter: Path,
    out: Path,
    *,
    quantization: str = DEFAULT_QUANT,
    on_status: Callable[[str], None] | None = None,
) -> MergeResult:
    """Merge `adapter` into `base` and write `out` quantized as `quantization`, atomically.

    Raises `MergeError` (bad type, mismatched files, write failure) and `ModelError` (not a model /
    adapter GGUF).
    """
    from bot.llm.provision import requantize

    status = on_status or (lambda message: log.info(message))
    started = time.perf_counter()
    quantization = normalize_quant(quantization)
    ftype = quant_ftype(quantization)
    base_info = check_generator(base, "the base to merge into")
    check_adapter(adapter, "the adapter to merge", base_info)
    base_sha, adapter_sha = sha256_file(base), sha256_file(adapter)
    pairs, alpha, adapter_strings = _lora_pairs(adapter)
    trained_on = adapter_strings.get("training.base_sha256")
    metadata = {
        MERGE_BASE_KEY: base_sha,
        MERGE_ADAPTER_KEY: adapter_sha,
        MERGE_ADAPTER_NAME_KEY: adapter_strings.get("general.name", adapter.name),
        MERGE_QUANT_KEY: quantization,
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MergeError(f"cannot create {out.parent}: {exc.strerror or exc}") from None
    fd, tmp_name = tempfile.mkstemp(prefix=out.name + ".", suffix=".f32.tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        status(f"merging {adapter.name} into {base.name} (F32)")
        merged = write_merged_f32(base, adapter, tmp, metadata, (pairs, alpha))
        if quantization == "F32":
            os.chmod(tmp, 0o644)
            os.replace(tmp, out)
        else:
            status(f"quantizing to {quantization} with llama.cpp")
            try:
                requantize(tmp, out, ftype)
            except ModelError as exc:
                raise MergeError(
                    f"llama.cpp could not quantize the merged model to {quantization}: {exc}"
                ) from None
    except OSError as exc:
        raise MergeError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    check_generator(out, "the merged model")
    return MergeResult(
        path=out,
        base=base,
        adapter=adapter,
        quantization=quantization,
        merged_tensors=merged,
        size=out.stat().st_size,
        seconds=time.perf_counter() - started,
        base_matches_training=None if trained_on is None else trained_on == base_sha,
    )


def merged_from(path: Path) -> dict[str, str] | None:
    """What a merged GGUF was made from (its `merge.*` header keys), or None for any other model."""
    from bot.llm.gguf_file import inspect_gguf

    try:
        meta = inspect_gguf(path).metadata
    except ModelError:
        return None
    if MERGE_ADAPTER_KEY not in meta:
        return None
    return {
        "base_sha256": str(meta.get(MERGE_BASE_KEY, "")),
        "adapter_sha256": str(meta.get(MERGE_ADAPTER_KEY, "")),
        "adapter_name": str(meta.get(MERGE_ADAPTER_NAME_KEY, "")),
        "quantization": str(meta.get(MERGE_QUANT_KEY, "")),
    }


def describe_merged(origin: dict[str, str]) -> str:
    """One line for `models list` and `models use`."""
    return (
        f"merged: adapter {origin['adapter_name'] or '?'} ({origin['adapter_sha256'][:12]}) into base "
        f"{origin['base_sha256'][:12]}, {origin['quantization']}"
    )


def serve_base_of(adapter: Path) -> Path | None:
    """The GGUF a `finetune` output's adapter is served on (`provenance.json` beside it), if recorded."""
    import json

    provenance = adapter.parent / "provenance.json"
    try:
        record = json.loads(provenance.read_text(encoding="utf-8"))
        value = record["artefact"]["serve_with"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Path(value) if isinstance(value, str) and value else None


def record_in_provenance(result: MergeResult) -> None:
    """Add the merge to `provenance.json` beside the adapter, when there is one (atomically)."""
    import json

    provenance = result.adapter.parent / "provenance.json"
    try:
        record = json.loads(provenance.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(record, dict):
        return
    record["merged"] = {
        "path": str(result.path.resolve()),
        "format": "gguf-model (merged LoRA)",
        "quantization": result.quantization,
        "sha256": sha256_file(result.path),
        "bytes": result.size,
        "base": str(result.base),
        "seconds": round(result.seconds, 1),
    }
    tmp = provenance.with_name(provenance.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(provenance)


def resolve_merge_base(adapter: Path, base: Path | None, settings: Settings) -> Path:
    """`--base`, else the GGUF the adapter was trained for (its provenance), else the bot's model.

    A model that is itself a merge is refused as the implicit base: merging into it would apply a
    fine-tune twice.
    """
    from bot.train.base_model import BaseModelError, default_base_gguf

    if base is not None:
        return base.expanduser()
    recorded = serve_base_of(adapter)
    if recorded is not None and recorded.is_file():
        return recorded
    try:
        chosen = default_base_gguf(settings)
    except BaseModelError as exc:
        raise MergeError(str(exc)) from None
    if merged_from(chosen) is not None:
        raise MergeError(
            f"the bot's model {chosen} is already a merged model; pass --base with the model the adapter "
            "was trained on (or `python -m bot models use --reset` first)"
        )
    return chosen
