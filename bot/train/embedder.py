"""Fine-tune the sentence embedder on retrieval pairs (sentence-transformers), convert to GGUF, guard."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.train.retrieval_pairs import Pair, SectionKey

# The guard compares this mode's MRR: hybrid is what the bot serves.
GUARD_MODE = "hybrid"
# Equal within rounding counts as "not worse": the same model evaluated twice gives the same ranks, and a
# tie should not block a run that helped elsewhere.
GUARD_TOLERANCE = 1e-9


class EmbedderTrainError(Exception):
    """Training cannot start or finish; the message says why (missing extra, no pairs, bad base)."""


@dataclass(frozen=True, slots=True)
class EmbedderTrainConfig:
    epochs: int = 1
    batch_size: int = 32
    lr: float = 5e-5
    # Passages are cut here for training only (the index embeds whole chunks): attention and the
    # backward pass over 200-token chunks made one step of 32 pairs about 3× as long on 2 cores.
    max_seq_len: int = 128
    warmup: float = 0.1  # share of the steps the learning rate ramps up over
    seed: int = 0
    threads: int = 0  # torch CPU threads; 0 = all cores
    max_steps: int | None = None


@dataclass(frozen=True, slots=True)
class TrainReport:
    pairs: int
    steps: int
    epochs: int
    seconds: float
    loss_first: float
    loss_last: float


@dataclass(frozen=True, slots=True)
class Score:
    hit1: float
    hit5: float
    mrr: float


# held-out set name → search mode → scores
HeldOutScores = Mapping[str, Mapping[str, Score]]


class HeldOutEvaluator(Protocol):
    """Scores an embedder GGUF on held-out questions (the CLI's retrieval evaluation on a temporary index)."""

    def __call__(self, model: Path | None) -> HeldOutScores: ...


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    switch: bool
    message: str
    worse: tuple[str, ...] = ()  # the held-out sets whose hybrid MRR dropped


def guard(before: HeldOutScores, after: HeldOutScores, *, mode: str = GUARD_MODE) -> GuardVerdict:
    """Switch only when no held-out set's `mode` MRR got worse and at least one set was measured."""
    shared = [name for name in before if name in after and mode in before[name] and mode in after[name]]
    if not shared:
        return GuardVerdict(False, f"no held-out {mode} scores to compare: not switching")
    worse = tuple(n for n in shared if after[n][mode].mrr < before[n][mode].mrr - GUARD_TOLERANCE)
    changes = "; ".join(
        f"{n}: {mode} MRR {before[n][mode].mrr:.3f} → {after[n][mode].mrr:.3f}" for n in shared
    )
    if worse:
        return GuardVerdict(
            False,
            f"not switching: held-out retrieval got worse on {', '.join(worse)} ({changes}); "
            "the embedder in use stays",
            worse,
        )
    return GuardVerdict(True, f"held-out retrieval did not get worse ({changes})")


def require_sentence_transformers() -> None:
    missing = []
    for module in ("torch", "sentence_transformers"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise EmbedderTrainError(
            f"fine-tuning the embedder needs the train extra ({', '.join(missing)} missing): "
            "pip install -e '.[train]'"
        )


def batches(pairs: Sequence[Pair], batch_size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches in which no two rows share a section, and no row's negative is another row's
    positive: every other row's passages are in-batch negatives, so a duplicate would be a false one.

    Pairs with a hard negative are batched apart from those without (a batch is two or three columns).
    """
    with_negative = [p for p in pairs if p.negative is not None]
    without = [p for p in pairs if p.negative is None]
    out = _batches(with_negative, batch_size, rng) + _batches(without, batch_size, rng)
    rng.shuffle(out)
    return out


def _batches(pairs: Sequence[Pair], batch_size: int, rng: random.Random) -> list[list[Pair]]:
    pending = list(pairs)
    rng.shuffle(pending)
    out: list[list[Pair]] = []
    while pending:
        batch: list[Pair] = []
        positives: set[SectionKey] = set()
        negatives: set[SectionKey] = set()
        rest: list[Pair] = []
        for pair in pending:
            clash = (
                pair.section in positives
                or pair.section in negatives
                or (pair.negative_section is not None and pair.negative_section in positives)
            )
            if len(batch) >= batch_size or clash:
                rest.append(pair)
                continue
            batch.append(pair)
            positives.add(pair.section)
            if pair.negative_section is not None:
                negatives.add(pair.negative_section)
        out.append(batch)
        pending = rest
    return out


def train_embedder(
    base_dir: Path,
    pairs: Sequence[Pair],
    out_dir: Path,
    config: EmbedderTrainConfig = EmbedderTrainConfig(),  # noqa: B008 - frozen, never mutated
    on_status: Callable[[str], None] | None = None,
) -> TrainReport:
    """Train the sentence-transformers model in `base_dir` with MultipleNegativesRankingLoss (in-batch
    negatives plus each pair's hard negative) and save it to `out_dir` in sentence-transformers layout."""
    require_sentence_transformers()
    if not pairs:
        raise EmbedderTrainError("no training pairs: the knowledge base gave none and the log has none")
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers 6 moved the losses; 3 to 5 have them here
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesRankingLoss  # type: ignore[no-redef]

    say = on_status or (lambda _message: None)
    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)  # noqa: S311 - reproducible data order
    try:
        model = SentenceTransformer(str(base_dir), device="cpu")
    except (OSError, ValueError) as exc:
        raise EmbedderTrainError(f"cannot load the base embedder from {base_dir}: {exc}") from None
    model.max_seq_length = config.max_seq_len
    encode = getattr(model, "preprocess", None) or model.tokenize  # `tokenize` is deprecated in 6
    loss_fn = MultipleNegativesRankingLoss(model)
    per_epoch = len(batches(pairs, config.batch_size, random.Random(config.seed)))  # noqa: S311
    total = config.max_steps or per_epoch * config.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    warmup = max(1, int(total * config.warmup))

    def schedule(step: int) -> float:  # linear warm-up, then linear decay to zero
        return (step + 1) / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    model.train()
    started = time.perf_counter()
    step = 0
    losses_seen: list[float] = []
    epochs = 0
    while step < total:
        epochs += 1
        for batch in batches(pairs, config.batch_size, rng):
            if step >= total:
                break
            columns = [[p.query for p in batch], [p.positive for p in batch]]
            if batch[0].negative is not None:
                columns.append([p.negative or "" for p in batch])
            features = [encode(texts) for texts in columns]
            loss = loss_fn(features, torch.empty(0))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            value = float(loss.detach())
            if not math.isfinite(value):
                raise EmbedderTrainError(f"the loss became {value} at step {step}; lower --lr")
            losses_seen.append(value)
            elapsed = time.perf_counter() - started
            say(
                f"step {step}/{total}  loss {value:.4f}  {elapsed:.0f}s elapsed, "
                f"~{(total - step) * elapsed / step:.0f}s left"
            )
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    return TrainReport(
        pairs=len(pairs),
        steps=step,
        epochs=epochs,
        seconds=round(time.perf_counter() - started, 1),
        loss_first=losses_seen[0],
        loss_last=sum(losses_seen[-5:]) / len(losses_seen[-5:]),
    )


@dataclass(frozen=True, slots=True)
class EmbedderOutcome:
    gguf: Path
    provenance: Path
    verdict: GuardVerdict
    before: HeldOutScores
    after: HeldOutScores
    train: TrainReport


def scores_dict(scores: HeldOutScores) -> dict[str, dict[str, dict[str, float]]]:
    return {
        name: {mode: {k: round(v, 4) for k, v in asdict(s).items()} for mode, s in by_mode.items()}
        for name, by_mode in scores.items()
    }


def write_provenance(path: Path, record: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def versioned_name(base: str, now: float | None = None) -> str:
    """A new file name per run: the index stores the embedder by its file name, so a re-trained model
    under an old name would pass for the vectors of the one before."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    return f"{base}-ft-{stamp}.f16.gguf"


def train_and_convert(
    base_zip: Path,
    pairs: Sequence[Pair],
    target: Path,
    config: EmbedderTrainConfig,
    on_status: Callable[[str], None] | None = None,
) -> TrainReport:
    """Train the shipped base (a zip of its safetensors) on `pairs` and write it to `target` as GGUF."""
    import tempfile

    from bot.llm.gguf_convert import ConversionError, convert_bert_dir, unpacked_zip

    say = on_status or (lambda _message: None)
    with tempfile.TemporaryDirectory(prefix="bot-embedder-") as tmp:
        trained = Path(tmp) / "trained"
        try:
            with unpacked_zip(base_zip) as base_dir:
                say(f"training on {len(pairs)} pairs")
                report = train_embedder(base_dir, pairs, trained, config, say)
        except ConversionError as exc:
            raise EmbedderTrainError(f"cannot unpack the base embedder {base_zip}: {exc}") from None
        say(f"converting to GGUF: {target}")
        try:
            convert_bert_dir(trained, target, outtype="f16", name=target.name.removesuffix(".f16.gguf"))
        except ConversionError as exc:
            raise EmbedderTrainError(f"cannot convert the trained embedder to GGUF: {exc}") from None
    return report


def run_embedder_finetune(
    *,
    base_zip: Path,
    pairs: Sequence[Pair],
    models_dir: Path,
    evaluate: HeldOutEvaluator,
    config: EmbedderTrainConfig = EmbedderTrainConfig(),  # noqa: B008 - frozen, never mutated
    base_name: str = "all-MiniLM-L6-v2",
    on_status: Callable[[str], None] | None = None,
    record: Mapping[str, Any] | None = None,
    refit: Sequence[Pair] | None = None,
) -> EmbedderOutcome:
    """Evaluate the embedder in use, train the shipped base on `pairs`, convert it to GGUF in `models_dir`
    under a new name, evaluate it on the same held-out questions and judge whether it may be switched to.

    With `refit` (the pairs plus those held out to make the guard's questions), a run the guard allows is
    trained once more on `refit`, and that model is the outcome: the guard judged the recipe on this
    knowledge base, and the final model learns from every section. The guarded run's file is removed; its
    figures stay in the provenance.

    Writes `<gguf>.json` beside the model: pairs, training figures, the scores before and after, the verdict.
    """
    say = on_status or (lambda _message: None)
    say("scoring the embedder in use on the held-out questions")
    before = evaluate(None)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / versioned_name(base_name)
    report = train_and_convert(base_zip, pairs, target, config, say)
    say("scoring the trained embedder on the held-out questions")
    after = evaluate(target)
    verdict = guard(before, after)
    guard_run: dict[str, Any] | None = None
    if refit is not None and verdict.switch:
        guard_run = {"model": target.name, "train": asdict(report)}
        final = models_dir / versioned_name(base_name)
        if final == target:  # within the same second (a tiny knowledge base)
            final = models_dir / versioned_name(base_name, time.time() + 1)
        say(f"the guard allows it: training once more on all {len(refit)} pairs")
        report = train_and_convert(base_zip, refit, final, config, say)
        target.unlink(missing_ok=True)
        target = final
    provenance = target.with_name(target.name + ".json")
    write_provenance(
        provenance,
        {
            **(record or {}),
            "model": str(target),
            "base": str(base_zip),
            "config": asdict(config),
            "train": asdict(report),
            **({"guard_run": guard_run} if guard_run is not None else {}),
            "heldout_before": scores_dict(before),
            "heldout_after": scores_dict(after),
            "guard": {"switch": verdict.switch, "message": verdict.message, "worse": list(verdict.worse)},
        },
    )
    return EmbedderOutcome(target, provenance, verdict, before, after, report)
