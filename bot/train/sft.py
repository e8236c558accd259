"""LoRA supervised fine-tuning with PEFT: loss on each sample's final answer only, in the base's template."""

from __future__ import annotations

import logging
import math
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain import ChatMessage
from bot.train.data import ChatSample

log = logging.getLogger("bot.train")

IGNORE_INDEX = -100
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")


class TemplateError(ValueError):
    """The chat template does not render a conversation as a growing prefix, so answers cannot be located."""


@dataclass(frozen=True, slots=True)
class EncodedSample:
    line: int
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX everywhere but the final answer

    @property
    def supervised_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


@dataclass(frozen=True, slots=True)
class EncodeReport:
    samples: list[EncodedSample]
    skipped_too_long: list[int]  # line numbers
    max_seq_len: int


# The default recipe: the smallest run measured to move the bot's Python FAQ answers from quotes to the
# model's own words at equal or better citation accuracy (README, "A recipe that changes answers").
RECIPE_STEPS = 24


@dataclass(frozen=True, slots=True)
class TrainConfig:
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = TARGET_MODULES
    lr: float = 1e-3
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 1
    grad_accum: int = 4
    max_seq_len: int = 1024
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # CPU threads for torch; 0 = torch's default (all cores)
    log_every: int = 1


@dataclass(frozen=True, slots=True)
class Progress:
    step: int
    total_steps: int
    loss: float
    tokens_per_s: float
    elapsed_s: float
    lr: float


@dataclass(slots=True)
class TrainResult:
    steps: int = 0
    tokens: int = 0
    supervised_tokens: int = 0
    duration_s: float = 0.0
    tokens_per_s: float = 0.0
    losses: list[float] = field(default_factory=list)
    eval_loss_before: float | None = None
    eval_loss_after: float | None = None
    device: str = "cpu"
    dtype: str = "float32"
    threads: int = 0
    interrupted: bool = False
    total_steps: int = 0  # the steps planned; fewer were taken when interrupted
    samples_trained: int = 0  # samples in the steps taken, repeats counted: / len(train) = passes


RECIPE = TrainConfig()


def _as_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def encode_sample(tokenizer: Any, sample: ChatSample, max_seq_len: int) -> EncodedSample | None:
    """Tokenize one conversation with the chat template; label only its final answer. None = too long.

    Earlier assistant turns are context, as at serving time: labelled, each would be trained once more per
    later turn of its conversation, and with `--include-context` under the later question's passages, not its
    own (each answer has a sample of its own for that). The label ends with the end-of-turn mark, as
    `eval model` scores an answer, not with the newline a template may write after it."""
    messages = sample.messages
    last = max(i for i, m in enumerate(messages) if m.role == "assistant")
    prefix: str = tokenizer.apply_chat_template(
        _as_dicts(messages[:last]), tokenize=False, add_generation_prompt=True
    )
    text: str = tokenizer.apply_chat_template(_as_dicts(messages[: last + 1]), tokenize=False)
    end = len(text.rstrip())
    if not (text.startswith(prefix) and end > len(prefix)):
        raise TemplateError(f"line {sample.line}: the chat template does not render turns as a prefix")
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    input_ids: list[int] = list(encoded["input_ids"])
    if len(input_ids) > max_seq_len:
        return None
    labels = [IGNORE_INDEX] * len(input_ids)
    for position, (start, _end) in enumerate(encoded["offset_mapping"]):
        if len(prefix) <= start < end:
            labels[position] = input_ids[position]
    return EncodedSample(line=sample.line, input_ids=input_ids, labels=labels)


def encode_samples(tokenizer: Any, samples: Sequence[ChatSample], max_seq_len: int) -> EncodeReport:
    kept: list[EncodedSample] = []
    skipped: list[int] = []
    for sample in samples:
        encoded = encode_sample(tokenizer, sample, max_seq_len)
        if encoded is None or encoded.supervised_tokens == 0:
            skipped.append(sample.line)
        else:
            kept.append(encoded)
    return EncodeReport(samples=kept, skipped_too_long=skipped, max_seq_len=max_seq_len)


def _steps_per_epoch(n_samples: int, config: TrainConfig) -> int:
    return math.ceil(math.ceil(n_samples / config.batch_size) / config.grad_accum)


def planned_steps(n_samples: int, config: TrainConfig) -> int:
    """The optimizer steps a run takes on `n_samples`: --max-steps, else --epochs whole passes."""
    total_steps = _steps_per_epoch(n_samples, config) * config.epochs
    if config.max_steps is not None:
        # As in HF Trainer: --max-steps overrides --epochs (cycling through the data if needed).
        total_steps = config.max_steps
    return max(total_steps, 1)


def planned_passes(n_samples: int, config: TrainConfig) -> float:
    """How many times over the data the planned steps go. A step takes batch_size × grad_accum samples,
    except the last of each pass, which takes what is left (so --epochs N is N passes exactly)."""
    if n_samples <= 0:
        return 0.0
    whole, rest = divmod(planned_steps(n_samples, config), _steps_per_epoch(n_samples, config))
    return whole + min(rest * config.batch_size * config.grad_accum, n_samples) / n_samples


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "--device cuda was requested but torch sees no CUDA device (CPU-only torch build?)"
        )
    if requested not in ("cpu", "cuda"):
        raise ValueError(f"device must be cpu, cuda or auto, not {requested!r}")
    return requested


def _batches(samples: Sequence[EncodedSample], batch_size: int, seed: int) -> list[list[EncodedSample]]:
    order = list(samples)
    random.Random(seed).shuffle(order)  # noqa: S311 - data order, not security
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _collate(batch: Sequence[EncodedSample], pad_id: int, device: str) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(s.input_ids) for s in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, sample in enumerate(batch):
        n = len(sample.input_ids)
        ids[row, :n] = torch.tensor(sample.input_ids)
        labels[row, :n] = torch.tensor(sample.labels)
        mask[row, :n] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def _summed_loss(model: Any, ids: Any, labels: Any, mask: Any, autocast: Any) -> Any:
    """Sum of next-token cross-entropy over labelled positions (the caller divides by the token count)."""
    import torch

    with autocast():
        logits = model(input_ids=ids, attention_mask=mask).logits
    shifted = logits[:, :-1, :].float()
    targets = labels[:, 1:]
    return torch.nn.functional.cross_entropy(
        shifted.reshape(-1, shifted.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )


def evaluate_loss(
    model: Any, samples: Sequence[EncodedSample], pad_id: int, device: str, autocast: Any
) -> float:
    """Mean token loss on the final answers of `samples` (what `eval model` measures through llama.cpp)."""
    import torch

    total = 0.0
    count = 0
    model.eval()
    with torch.no_grad():
        for sample in samples:
            ids, labels, mask = _collate([sample], pad_id, device)
            total += float(_summed_loss(model, ids, labels, mask, autocast))
            count += sample.supervised_tokens - (1 if sample.labels[0] != IGNORE_INDEX else 0)
    return total / max(count, 1)


def _autocast_factory(device: str) -> tuple[Callable[[], Any], str]:
    import contextlib

    import torch

    if device == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        name = "bfloat16" if dtype == torch.bfloat16 else "float16"
        return (lambda: torch.autocast("cuda", dtype=dtype)), f"autocast-{name}"
    return contextlib.nullcontext, "float32"


def train_lora(
    hf_dir: str,
    tokenizer: Any,
    train: Sequence[EncodedSample],
    evaluation: Sequence[EncodedSample],
    config: TrainConfig,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[Any, TrainResult]:
    """Train a LoRA on `train`; return the PEFT model (on CPU, eval mode) and the measured figures."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    device = pick_device(config.device)
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    if device == "cuda":
        torch.cuda.manual_seed_all(config.seed)
    result = TrainResult(device=device, threads=torch.get_num_threads())

    model: Any = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, local_files_only=True)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():
        # peft still calls a transformers helper that transformers 5 deprecates; harmless, and noisy.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = get_peft_model(model, lora)
    model.to(device)
    autocast, result.dtype = _autocast_factory(device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    if evaluation:
        result.eval_loss_before = evaluate_loss(model, evaluation, pad_id, device, autocast)

    total_steps = result.total_steps = planned_steps(len(train), config)
    warmup = max(1, int(total_steps * config.warmup_ratio)) if total_steps > 10 else 0

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)

    model.train()
    started = time.perf_counter()
    step = 0
    epoch = 0
    try:
        while step < total_steps:
            batches = _batches(train, config.batch_size, config.seed + epoch)
            groups = [batches[i : i + config.grad_accum] for i in range(0, len(batches), config.grad_accum)]
            for group in groups:
                if step >= total_steps:
                    break
                # Normalise by the group's label count so every answer token weighs the same.
                n_targets = sum(
                    sum(1 for label in s.labels[1:] if label != IGNORE_INDEX)
                    for batch in group
                    for s in batch
                )
                group_loss = 0.0
                for batch in group:
                    ids, labels, mask = _collate(batch, pad_id, device)
                    loss = _summed_loss(model, ids, labels, mask, autocast) / max(n_targets, 1)
                    loss.backward()
                    group_loss += float(loss.detach())
                    result.tokens += int(mask.sum())
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                result.samples_trained += sum(len(batch) for batch in group)
                result.supervised_tokens += n_targets
                result.losses.append(group_loss)
                elapsed = time.perf_counter() - started
                if on_progress is not None and (step % config.log_every == 0 or step == total_steps):
                    on_progress(
                        Progress(
                            step=step,
                            total_steps=total_steps,
                            loss=group_loss,
                            tokens_per_s=result.tokens / elapsed if elapsed > 0 else 0.0,
                            elapsed_s=elapsed,
                            lr=float(scheduler.get_last_lr()[0]),
                        )
                    )
            epoch += 1
    except KeyboardInterrupt:
        # Ctrl-C keeps the steps already taken: the adapter is written and provenance says it was cut short.
        optimizer.zero_grad(set_to_none=True)
        result.interrupted = True
        log.warning("training interrupted; keeping the adapter after %d steps", step, extra={"steps": step})
    result.steps = step
    result.duration_s = time.perf_counter() - started
    result.tokens_per_s = result.tokens / result.duration_s if result.duration_s > 0 else 0.0

    if evaluation:
        result.eval_loss_after = evaluate_loss(model, evaluation, pad_id, device, autocast)
    model.to("cpu")
    model.eval()
    return model, result


def lora_state_numpy(model: Any) -> dict[str, Any]:
    """The adapter's A/B matrices as float32 numpy arrays, keyed by PEFT state-dict names."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(model)
    return {name: tensor.detach().to("cpu").float().numpy() for name, tensor in state.items()}
