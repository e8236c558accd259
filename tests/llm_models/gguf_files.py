"""Tiny GGUF files written with the gguf package: adapters and stand-in models for validation tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np


def write_gguf(
    path: Path,
    *,
    arch: str = "llama",
    kind: str = "model",
    name: str = "tiny",
    strings: Mapping[str, str] | None = None,
) -> Path:
    """A structurally valid GGUF (header, metadata with `strings` added, one tensor). Not loadable as a real
    model."""
    import gguf

    writer = gguf.GGUFWriter(path, arch)
    writer.add_type(kind)
    writer.add_name(name)
    writer.add_context_length(256)
    for key, value in (strings or {}).items():
        writer.add_string(key, value)
    if kind == "adapter":
        writer.add_string("adapter.type", "lora")
        writer.add_float32("adapter.lora.alpha", 16.0)
        writer.add_tensor("blk.0.attn_q.weight.lora_a", np.ones((4, 8), dtype=np.float32))
        writer.add_tensor("blk.0.attn_q.weight.lora_b", np.ones((8, 4), dtype=np.float32))
    else:
        writer.add_tensor("token_embd.weight", np.ones((16, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
