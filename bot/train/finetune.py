"""The fine-tuning run end to end: data → base → LoRA SFT → GGUF adapter → provenance, in one call."""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.train.base_model import BaseModel, resolve_base
from bot.train.data import ChatSample, DataError, load_chat_jsonl, sha256_file
from bot.train.gguf_adapter import AdapterFormatError, convert_peft_tensors, write_lora_gguf
from bot.train.sft import (
    RECIPE,
    RECIPE_STEPS,
    EncodeReport,
    Progress,
    TrainConfig,
    TrainResult,
    planned_passes,
    planned_steps,
)

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("bot.train")

ADAPTER_FILE = "adapter.gguf"
PROVENANCE_FILE = "provenance.json"
PEFT_DIR = "peft"
# More passes than this over the training samples, and a run learns them by heart: the default recipe was
# measured at a quarter of a pass (24 steps of 4 of 408 samples), and on 10 samples its 8 passes took the
# held-out loss from 2.09 up to 2.65 while the training loss fell to 0.05.
MANY_PASSES = 3.0
RECIPE_SAMPLES = 408  # the synthetic set the recipe was measured on (README, "A recipe that changes answers")
TRAIN_PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "gguf",
    "numpy",
    "llama_cpp_python",
    "support-bot",
)


class TrainInterruptedError(RuntimeError):
    """Ctrl-C came before any step was taken, so there is no adapter to write."""


class TrainExtraMissingError(RuntimeError):
    """torch/transformers/peft are not importable: the optional `train` extra is not installed."""


@dataclass(frozen=True, slots=True)
class FinetuneOutcome:
    adapter: Path
    provenance: Path
    provenance_data: dict[str, Any]


def require_train_extra() -> None:
    missing = []
    for module in ("torch", "transformers", "peft"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise TrainExtraMissingError(
            f"fine-tuning needs the train extra ({', '.join(missing)} missing): pip install -e '.[train]'"
        )


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in TRAIN_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _data_record(path: Path, samples: list[ChatSample], report: EncodeReport) -> dict[str, Any]:
    return {
        "path": str(path.resolve()),
        "sha256": sha256_file(path),
        "samples": len(samples),
        "used": len(report.samples),
        "skipped_too_long": len(report.skipped_too_long),
        "skipped_lines": report.skipped_too_long[:50],
        "tokens": sum(len(s.input_ids) for s in report.samples),
        "answer_tokens": sum(s.supervised_tokens for s in report.samples),
    }


def run_finetune(
    settings: Settings,
    *,
    data: Path,
    out: Path,
    base: Path | None,
    config: TrainConfig,
    eval_data: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_status: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> FinetuneOutcome:
    """Train and write `<out>/adapter.gguf`, `<out>/peft/` and `<out>/provenance.json`.

    The provenance's `warnings` list what to act on before serving the adapter: many passes over a small
    data file (also given to `on_warning` before training starts), an interrupted run and a held-out loss
    that rose (for the caller to show with the result). Raises `DataError` (bad data), `BaseModelError`
    (bad base), `TrainExtraMissingError`, `AdapterFormatError`.
    """
    status = on_status or (lambda message: log.info(message))
    warned: list[str] = []

    def warn(message: str) -> None:
        warned.append(message)
        if on_warning is None:
            log.warning(message)
        else:
            on_warning(message)

    started = time.perf_counter()
    samples = load_chat_jsonl(data)
    eval_samples = load_chat_jsonl(eval_data) if eval_data is not None else []
    require_train_extra()

    import torch
    from transformers import AutoTokenizer

    from bot.train.sft import encode_samples, lora_state_numpy, train_lora

    status("preparing the base model")
    base_model: BaseModel = resolve_base(base, settings)
    if base_model.architecture != "llama":
        raise AdapterFormatError(
            f"base architecture {base_model.architecture!r}: "
            "the GGUF adapter writer supports Llama-family bases"
        )
    tokenizer = AutoTokenizer.from_pretrained(str(base_model.hf_dir), local_files_only=True)
    if not getattr(tokenizer, "chat_template", None):
        raise DataError(f"{base_model.hf_dir}: the base tokenizer has no chat template")

    train_report = encode_samples(tokenizer, samples, config.max_seq_len)
    eval_report = encode_samples(tokenizer, eval_samples, config.max_seq_len)
    if not train_report.samples:
        raise DataError(
            f"{data}: all {len(samples)} samples are longer than --max-seq-len {config.max_seq_len} tokens"
        )
    if train_report.skipped_too_long:
        status(
            f"skipped {len(train_report.skipped_too_long)} sample(s) over {config.max_seq_len} tokens "
            f"(lines {', '.join(map(str, train_report.skipped_too_long[:10]))}"
            + (", ..." if len(train_report.skipped_too_long) > 10 else "")
            + ")"
        )
    status(
        f"training on {len(train_report.samples)} samples "
        f"({sum(len(s.input_ids) for s in train_report.samples)} tokens) from {base_model.source.name}"
    )
    passes = planned_passes(len(train_report.samples), config)
    if passes > MANY_PASSES:
        warn(many_passes_warning(len(train_report.samples), config, passes, has_eval=bool(eval_samples)))

    model, result = train_lora(
        str(base_model.hf_dir), tokenizer, train_report.samples, eval_report.samples, config, on_progress
    )
    if result.steps == 0:
        raise TrainInterruptedError("interrupted before the first optimizer step; nothing to save")
    if result.interrupted:
        warned.append(
            f"training was interrupted after {result.steps} of {result.total_steps} steps: the adapter "
            "holds only what those steps learnt"
        )
    if eval_rose(result):
        warned.append(
            f"the held-out loss rose ({result.eval_loss_before:.3f} → {result.eval_loss_after:.3f}): the "
            "adapter fits its training samples and does worse on new ones; train on more data or for fewer "
            "steps (--max-steps, --epochs 1), and check it with `python -m bot eval model` before serving it"
        )

    status("writing the GGUF adapter")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out / PEFT_DIR))
    hf_config = json.loads((base_model.hf_dir / "config.json").read_text(encoding="utf-8"))
    tensors = convert_peft_tensors(
        lora_state_numpy(model),
        n_head=int(hf_config["num_attention_heads"]),
        n_head_kv=int(hf_config.get("num_key_value_heads", hf_config["num_attention_heads"])),
    )
    adapter = out / ADAPTER_FILE
    write_lora_gguf(
        adapter,
        tensors,
        alpha=config.lora_alpha,
        name=f"{out.name} LoRA",
        extra_metadata={"training.base_sha256": base_model.sha256, "training.data_sha256": sha256_file(data)},
    )
    del model

    provenance = _provenance(
        data=data,
        samples=samples,
        train_report=train_report,
        eval_data=eval_data,
        eval_samples=eval_samples,
        eval_report=eval_report,
        base_model=base_model,
        config=config,
        result=result,
        adapter=adapter,
        total_s=time.perf_counter() - started,
        torch_threads=torch.get_num_threads(),
        warnings=warned,
    )
    provenance_path = out / PROVENANCE_FILE
    tmp = provenance_path.with_name(provenance_path.name + ".tmp")
    tmp.write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    tmp.replace(provenance_path)
    log.info("fine-tune finished", extra={"adapter": str(adapter), "steps": result.steps})
    return FinetuneOutcome(adapter=adapter, provenance=provenance_path, provenance_data=provenance)


def _provenance(
    *,
    data: Path,
    samples: list[ChatSample],
    train_report: EncodeReport,
    eval_data: Path | None,
    eval_samples: list[ChatSample],
    eval_report: EncodeReport,
    base_model: BaseModel,
    config: TrainConfig,
    result: TrainResult,
    adapter: Path,
    total_s: float,
    torch_threads: int,
    warnings: list[str],
) -> dict[str, Any]:
    import math

    tail = result.losses[-max(1, len(result.losses) // 10) :]

    def ppl(loss: float | None) -> float | None:
        return math.exp(loss) if loss is not None and loss < 50 else None

    hyper = asdict(config)
    hyper["target_modules"] = list(config.target_modules)
    if config.max_steps is not None:
        # --max-steps overrides --epochs: the passes taken are `metrics.epochs`, not this default of 1.
        hyper["epochs"] = None
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "artefact": {
            "path": str(adapter.resolve()),
            "format": "gguf-lora-adapter",
            "sha256": sha256_file(adapter),
            "bytes": adapter.stat().st_size,
            "serve_with": str(base_model.gguf_path) if base_model.gguf_path else None,
        },
        "base_model": {
            "source": str(base_model.source),
            "kind": base_model.source_kind,
            "sha256": base_model.sha256,
            "hf_dir": str(base_model.hf_dir),
            "architecture": base_model.architecture,
            "loading": "transformers GGUF loader (dequantized to float32), saved as plain safetensors"
            if base_model.source_kind == "gguf"
            else "Hugging Face folder",
        },
        "data": _data_record(data, samples, train_report),
        "eval_data": _data_record(eval_data, eval_samples, eval_report) if eval_data is not None else None,
        "hyperparameters": hyper,
        "seed": config.seed,
        "metrics": {
            "steps": result.steps,
            "steps_planned": result.total_steps,
            "interrupted": result.interrupted,
            # Passes over the training samples the steps taken went through (repeats counted).
            "epochs": round(result.samples_trained / max(len(train_report.samples), 1), 2),
            "train_loss_first": result.losses[0] if result.losses else None,
            "train_loss_last": _mean(tail),
            "train_loss_mean": _mean(result.losses),
            "eval_loss_before": result.eval_loss_before,
            "eval_loss_after": result.eval_loss_after,
            "eval_ppl_before": ppl(result.eval_loss_before),
            "eval_ppl_after": ppl(result.eval_loss_after),
            "eval_loss_rose": eval_rose(result) if result.eval_loss_before is not None else None,
            "tokens_trained": result.tokens,
            "answer_tokens_trained": result.supervised_tokens,
            "tokens_per_s": round(result.tokens_per_s, 1),
            "train_seconds": round(result.duration_s, 1),
            "total_seconds": round(total_s, 1),
        },
        "device": {
            "kind": result.device,
            "precision": result.dtype,
            "torch_threads": torch_threads,
            "cpu": platform.processor() or platform.machine(),
        },
        "versions": library_versions(),
        "warnings": warnings,
    }


def eval_rose(result: TrainResult) -> bool:
    """Whether training made the held-out loss worse (False without held-out data)."""
    before, after = result.eval_loss_before, result.eval_loss_after
    return before is not None and after is not None and after > before


def many_passes_warning(n_samples: int, config: TrainConfig, passes: float, *, has_eval: bool) -> str:
    steps = planned_steps(n_samples, config)
    per_step = config.batch_size * config.grad_accum
    recipe = RECIPE_STEPS * RECIPE.batch_size * RECIPE.grad_accum / RECIPE_SAMPLES
    advice = "" if has_eval else "; give --eval held-out chats to see whether it does"
    return (
        f"{steps} steps of {per_step} samples are {passes:.1f} passes over {n_samples} training samples: a "
        f"small file is learnt by heart and the adapter may answer new questions worse (the default recipe "
        f"was measured at {recipe:.2f} passes over {RECIPE_SAMPLES}). Export more data, or train less: "
        f"--epochs 1, or fewer --max-steps{advice}"
    )
