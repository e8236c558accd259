"""GGUF files: read the header without llama.cpp, and the one check every model file passes before loading."""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.llm.base import ModelError

GGUF_MAGIC = b"GGUF"
# Architectures llama.cpp serves as sentence embedders, never as chat models.
EMBEDDING_ARCHS = frozenset(
    {
        "bert",
        "nomic-bert",
        "nomic-bert-moe",
        "jina-bert-v2",
        "jina-bert-v3",
        "neo-bert",
        "modern-bert",
        "eurobert",
    }
)

ModelKind = Literal["model", "adapter"]

# llama.cpp's enum llama_pooling_type, as the GGUF key `<arch>.pooling_type` stores it (gguf.PoolingType).
POOLING_NAMES = {0: "none", 1: "mean", 2: "cls", 3: "last", 4: "rank"}


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """What the header of a GGUF file says, checked against the file's size."""

    path: Path
    kind: ModelKind
    architecture: str
    name: str
    size: int
    version: int
    tensor_count: int
    context_length: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)  # scalar keys only

    @property
    def is_embedding_model(self) -> bool:
        return self.architecture in EMBEDDING_ARCHS or f"{self.architecture}.pooling_type" in self.metadata

    @property
    def pooling(self) -> str | None:
        """`<arch>.pooling_type` by llama.cpp's name ("mean", "cls", "last", "none", "rank"); None if absent.

        An unknown number reads as None too: a newer pooling this code does not know is not guessed at.
        """
        value = self.metadata.get(f"{self.architecture}.pooling_type")
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return POOLING_NAMES.get(value)

    @property
    def embedding_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.embedding_length")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Reader:
    """Bounds-checked little-endian reads over a memory map; any overrun is a truncated file."""

    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ValueError("header runs past the end of the file")
        value = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value[0] if len(value) == 1 else value

    def string(self) -> str:
        length = int(self.take("<Q"))
        if length > 1 << 24 or self.pos + length > len(self.buf):
            raise ValueError("string length runs past the end of the file")
        raw = bytes(self.buf[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")


# GGUF value types -> struct format (strings and arrays are handled apart).
_SCALAR = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


def _read_value(reader: _Reader, vtype: int) -> Any:
    if vtype in _SCALAR:
        return reader.take(_SCALAR[vtype])
    if vtype == _STRING:
        return reader.string()
    if vtype == _ARRAY:
        item_type, count = int(reader.take("<I")), int(reader.take("<Q"))
        if item_type in _SCALAR:
            span = struct.calcsize(_SCALAR[item_type]) * count
            if reader.pos + span > len(reader.buf):
                raise ValueError("array runs past the end of the file")
            reader.pos += span
        elif item_type == _STRING:
            for _ in range(count):
                length = int(reader.take("<Q"))
                reader.pos += length
                if reader.pos > len(reader.buf):
                    raise ValueError("string array runs past the end of the file")
        else:
            raise ValueError(f"unsupported array item type {item_type}")
        return None  # arrays (token lists, merges) are skipped: only their extent is checked
    raise ValueError(f"unknown metadata value type {vtype}")


def inspect_gguf(path: Path, what: str = "model") -> GGUFInfo:
    """Validate a GGUF file before llama.cpp sees it: exists, magic, header parses, tensor data fits.

    `what` names the file in the "not found" message ("model", "LoRA adapter"). This reads only the header
    (milliseconds even for large models) instead of gguf.GGUFReader, which materialises every token string
    and took 6 s on the shipped 98 MB model here. llama.cpp segfaults on some files this rejects (a missing
    LoRA path), so nothing is handed to it unchecked.
    """
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    if not path.exists():
        raise ModelError(f"{what} file not found: {path}")
    if not path.is_file():
        raise ModelError(f"not a file: {path}")
    try:
        size = path.stat().st_size
        if size == 0:
            raise ModelError(f"{what} file is empty: {path}")
        with path.open("rb") as handle:
            magic = handle.read(4)
            if magic != GGUF_MAGIC:
                raise ModelError(f"not a GGUF file (starts with {magic!r}, expected b'GGUF'): {path}")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(path, size, buf, GGML_QUANT_SIZES, GGMLQuantizationType)
    except OSError as exc:
        raise ModelError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
    except (ValueError, struct.error, OverflowError, KeyError) as exc:
        raise ModelError(f"corrupt or truncated GGUF file {path}: {exc}") from None


def _parse(path: Path, size: int, buf: mmap.mmap, quant_sizes: Any, qtypes: Any) -> GGUFInfo:
    reader = _Reader(buf)
    reader.pos = 4
    version = int(reader.take("<I"))
    if version not in (2, 3):
        raise ValueError(f"unsupported GGUF version {version}")
    n_tensors, n_kv = int(reader.take("<Q")), int(reader.take("<Q"))
    if n_tensors > 1_000_000 or n_kv > 1_000_000:
        raise ValueError("implausible tensor or key count")
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = reader.string()
        value = _read_value(reader, int(reader.take("<I")))
        if value is not None:
            meta[key] = value
    tensors: list[tuple[str, int, int]] = []  # name, byte size, offset
    for _ in range(n_tensors):
        name = reader.string()
        n_dims = int(reader.take("<I"))
        if n_dims > 8:
            raise ValueError(f"tensor {name!r} has {n_dims} dimensions")
        n_elements = 1
        for _ in range(n_dims):
            n_elements *= int(reader.take("<Q"))
        ggml_type, offset = int(reader.take("<I")), int(reader.take("<Q"))
        try:
            block, type_size = quant_sizes[qtypes(ggml_type)]
        except ValueError:
            raise ValueError(f"tensor {name!r} has unknown type {ggml_type}") from None
        tensors.append((name, n_elements // block * type_size, offset))
    alignment = int(meta.get("general.alignment", 32)) or 32
    data_start = reader.pos + (-reader.pos % alignment)
    for name, nbytes, offset in tensors:
        if data_start + offset + nbytes > size:
            raise ValueError(
                f"tensor {name!r} ends past the end of the file ({size} bytes): truncated download?"
            )
    arch = str(meta.get("general.architecture", ""))
    if not arch:
        raise ValueError("general.architecture is missing")
    kind: ModelKind = "adapter" if str(meta.get("general.type", "model")) == "adapter" else "model"
    ctx = meta.get(f"{arch}.context_length")
    return GGUFInfo(
        path=path,
        kind=kind,
        architecture=arch,
        name=str(meta.get("general.name", path.stem)),
        size=size,
        version=version,
        tensor_count=n_tensors,
        context_length=int(ctx) if isinstance(ctx, int) else None,
        metadata=meta,
    )


# The checks by role: every place that is about to load a GGUF (resolution, `models use`, the engine, the
# embedder, the benchmarks) goes through one of these, so a file is judged the same way everywhere.


def _inspect(path: Path, what: str, where: str) -> GGUFInfo:
    """`inspect_gguf`, its message naming where the path came from (the setting to fix)."""
    try:
        return inspect_gguf(path, what)
    except ModelError as exc:
        raise ModelError(f"{exc} ({where})") from None


def check_generator(path: Path, where: str) -> GGUFInfo:
    """A full chat model; `where` says where the path came from, for the message."""
    info = _inspect(path, "model", where)
    if info.kind == "adapter":
        raise ModelError(
            f"{path} is a LoRA adapter, not a full model ({where}); load it on top of a model with "
            "BOT_LLM__LORA_PATH or `python -m bot models use PATH`"
        )
    if info.is_embedding_model:
        raise ModelError(
            f"{path} is an embedding model ({info.architecture}), not a chat model ({where}); "
            "set it as BOT_EMBEDDINGS__MODEL_PATH instead"
        )
    return info


def check_adapter(path: Path, where: str, base: GGUFInfo | None = None) -> GGUFInfo:
    """A LoRA adapter, for `base`'s architecture when given."""
    info = _inspect(path, "LoRA adapter", where)
    if info.kind != "adapter":
        raise ModelError(
            f"{path} is a full model, not a LoRA adapter ({where}); set it as BOT_LLM__MODEL_PATH "
            "or `python -m bot models use PATH`"
        )
    if base is not None and info.architecture != base.architecture:
        raise ModelError(
            f"adapter {path} is for {info.architecture!r} models but the model {base.path} is "
            f"{base.architecture!r} ({where})"
        )
    return info


def check_embedder(path: Path, where: str) -> GGUFInfo:
    """A model llama.cpp can embed with (whether it pools is only known once loaded)."""
    info = _inspect(path, "embedding model", where)
    if info.kind == "adapter":
        raise ModelError(f"{path} is a LoRA adapter, not an embedding model ({where})")
    return info
