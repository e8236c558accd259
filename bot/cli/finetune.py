"""`python -m bot finetune` (LoRA on exported chats → GGUF adapter) and `python -m bot eval model`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import app, console, err_console, eval_app, fail, get_settings, print_json, warn
from bot.train.sft import RECIPE, RECIPE_STEPS

if TYPE_CHECKING:
    from bot.train.evaluate import ModelScores


@app.command()
def finetune(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Training chats, OpenAI JSONL from `python -m bot export`."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder: adapter.gguf, provenance.json, peft/.")
    ] = None,
    embedder: bool = typer.Option(
        False,
        "--embedder",
        help="Fine-tune the retrieval embedder instead (knowledge base + log pairs; see --heldout).",
    ),
    heldout: Annotated[
        list[Path] | None,
        typer.Option(
            "--heldout",
            help="With --embedder: labelled questions (JSONL, as `eval retrieval`) never trained on; the "
            "guard switches only when hybrid MRR on none of them got worse. Repeatable. Without it, a fifth "
            "of the knowledge base's heading questions guard a first run, and an allowed run is trained "
            "again on all of them.",
        ),
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option("--source", help="With --embedder: the knowledge folder (default: BOT_KB__SOURCE)."),
    ] = None,
    switch: bool = typer.Option(
        True, "--switch/--no-switch", help="With --embedder: switch to it when the guard allows."
    ),
    base: Annotated[
        Path | None,
        typer.Option(
            "--base", help="Base model: a GGUF file or a Hugging Face folder. Default: the bot's model."
        ),
    ] = None,
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        min=1,
        help="Passes over the data instead of the default step count (ignored with --max-steps).",
    ),
    lora_r: int = typer.Option(16, "--lora-r", min=1, max=256, help="LoRA rank r (alpha = 2r)."),
    max_steps: int | None = typer.Option(
        None,
        "--max-steps",
        min=1,
        help=f"Stop after this many optimizer steps. Default: {RECIPE_STEPS} (the measured recipe) unless "
        "--epochs is given.",
    ),
    eval_data: Annotated[
        Path | None,
        typer.Option("--eval", help="Held-out chats (same format): token loss before and after training."),
    ] = None,
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto (cuda when available)."),
    lr: float = typer.Option(
        RECIPE.lr, "--lr", min=0.0, help="Peak learning rate (cosine decay, 5% warm-up)."
    ),
    batch_size: int = typer.Option(
        RECIPE.batch_size, "--batch-size", min=1, help="Samples per forward pass."
    ),
    grad_accum: int = typer.Option(
        RECIPE.grad_accum, "--grad-accum", min=1, help="Forward passes per optimizer step."
    ),
    max_seq_len: int = typer.Option(
        RECIPE.max_seq_len, "--max-seq-len", min=16, help="Longer samples are skipped (and counted)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for LoRA init and data order (reproducible runs)."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads for torch; 0 = all cores."),
    json_out: bool = typer.Option(False, "--json", help="Print the provenance JSON at the end."),
    merge: bool = typer.Option(
        False, "--merge", help="Also merge the adapter into the base: one quantized GGUF, merged.<TYPE>.gguf."
    ),
    quantize: str | None = typer.Option(
        None, "--quantize", help="llama.cpp type of the merged model (implies --merge). Default: Q8_0."
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace the adapter an earlier run left in --out (maybe the one served)."
    ),
) -> None:
    """Fine-tune a LoRA adapter on exported conversations and write a GGUF adapter llama.cpp serves.

    Needs the optional train extra (pip install -e '.\\[train]'). Serve the result with
    BOT_LLM__LORA_PATH=<out>/adapter.gguf or `python -m bot models use <out>/adapter.gguf`.
    """
    if embedder:
        if data is not None or out is not None:
            fail(
                "--embedder trains the retrieval embedder from --source and --heldout; --data and --out "
                "are for the chat model: run them as two commands"
            )
        from bot.cli.finetune_embedder import finetune_embedder

        finetune_embedder(
            heldout or [], source, switch=switch, max_steps=max_steps, seed=seed, threads=threads
        )
        return
    if data is None or out is None:
        fail("give --data and --out (or --embedder to fine-tune the retrieval embedder)")
    if device not in ("cpu", "cuda", "auto"):
        fail(f"--device must be cpu, cuda or auto, not {device!r}")
    if lr <= 0:
        fail(f"--lr must be above 0, got {lr}")
    if data.is_dir():
        fail(f"--data {data} is a folder; give the training JSONL file (e.g. {data}/train.jsonl)")
    # Checked before training: an output folder that cannot be made must not cost a training run.
    writable_folder(out)
    from bot.train.finetune import ADAPTER_FILE

    if (out / ADAPTER_FILE).exists() and not force:
        # `models use` serves the folder's adapter by path: a new run written over it would change what the
        # bot serves at its next start, unannounced, even if it was stopped after one step.
        fail(
            f"--out {out} already holds an adapter ({ADAPTER_FILE}) from an earlier run, maybe the one "
            "the bot serves; give a new folder, or --force to replace it"
        )
    from bot.train.merge import DEFAULT_QUANT, MergeError, normalize_quant

    merge = merge or quantize is not None
    try:
        # Checked before training: a wrong type must not cost a training run.
        quantization = normalize_quant(quantize or DEFAULT_QUANT)
    except MergeError as exc:
        fail(f"--quantize: {exc}")
    settings = get_settings()
    from bot.train.base_model import BaseModelError
    from bot.train.data import DataError
    from bot.train.finetune import TrainExtraMissingError, TrainInterruptedError, run_finetune
    from bot.train.gguf_adapter import AdapterFormatError
    from bot.train.sft import Progress, TemplateError, TrainConfig

    config = TrainConfig(
        lora_r=lora_r,
        lora_alpha=2 * lora_r,
        lr=lr,
        epochs=epochs or 1,
        # The recipe's step count unless the user asked for whole passes (or for steps).
        max_steps=max_steps if max_steps is not None or epochs is not None else RECIPE_STEPS,
        batch_size=batch_size,
        grad_accum=grad_accum,
        max_seq_len=max_seq_len,
        seed=seed,
        device=device,
        threads=threads,
    )

    def on_progress(p: Progress) -> None:
        eta = (p.total_steps - p.step) * p.elapsed_s / max(p.step, 1)
        err_console.print(
            f"step {p.step}/{p.total_steps}  loss {p.loss:.4f}  lr {p.lr:.2e}  "
            f"{p.tokens_per_s:.0f} tokens/s  {p.elapsed_s:.0f}s elapsed, ~{eta:.0f}s left",
            highlight=False,
        )

    def on_status(message: str) -> None:
        err_console.print(f"[dim]{message}[/]", highlight=False)

    shown: list[str] = []

    def on_warning(message: str) -> None:
        shown.append(message)
        warn(message)

    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C or SIGTERM stops training early but still writes the adapter (even when started in the
    # background, where the shell leaves SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        outcome = run_finetune(
            settings,
            data=data,
            out=out,
            base=base,
            config=config,
            eval_data=eval_data,
            on_progress=on_progress,
            on_status=on_status,
            on_warning=on_warning,
        )
    except (
        DataError,
        BaseModelError,
        TrainExtraMissingError,
        TrainInterruptedError,
        AdapterFormatError,
        TemplateError,
    ) as exc:
        fail(str(exc))
    except RuntimeError as exc:
        if "CUDA" in str(exc) or "cuda" in str(exc):
            fail(str(exc))
        raise
    if merge:
        _merge(outcome.adapter, outcome.provenance_data, quantization, on_status)
    record: dict[str, Any] = outcome.provenance_data
    # What went wrong in training (interrupted, held-out loss up) is said with the result, last, where it
    # is read; stderr, so --json's stdout stays one object.
    late = [message for message in record["warnings"] if message not in shown]
    if json_out:
        for message in late:
            warn(message)
        print_json(record)
        return
    metrics = record["metrics"]
    console.print(
        f"adapter:    {outcome.adapter}  ({record['artefact']['bytes'] / 1e6:.1f} MB)", highlight=False
    )
    console.print(f"provenance: {outcome.provenance}", highlight=False)
    console.print(
        f"{metrics['steps']} steps, {metrics['tokens_trained']} tokens at {metrics['tokens_per_s']} tokens/s "
        f"on {record['device']['kind']} in {metrics['train_seconds']} s; "
        f"train loss {metrics['train_loss_first']:.3f} → {metrics['train_loss_last']:.3f}",
        highlight=False,
    )
    if metrics["eval_loss_before"] is not None:
        console.print(
            f"held-out loss {metrics['eval_loss_before']:.3f} → {metrics['eval_loss_after']:.3f}",
            highlight=False,
        )
    merged = record.get("merged")
    if merged is not None:
        console.print(
            f"merged:     {merged['path']}  ({merged['quantization']}, {merged['bytes'] / 1e6:.1f} MB)",
            highlight=False,
        )
    for message in late:
        warn(message)
    serve = "serve it anyway:" if late else "serve it:  "
    if merged is not None:
        console.print(f"{serve} python -m bot models use {merged['path']}", highlight=False)
        return
    console.print(f"{serve} BOT_LLM__LORA_PATH={outcome.adapter}", highlight=False)


def _merge(adapter: Path, provenance: dict[str, Any], quantization: str, on_status: Any) -> None:
    """`--merge`: the adapter into the GGUF it was trained on; the merge goes into the provenance."""
    from bot.llm.base import ModelError
    from bot.train.merge import MergeError, default_merged_path, merge_adapter, record_in_provenance

    base = provenance["artefact"]["serve_with"]
    if not base:
        fail(
            f"--merge needs a GGUF base: this one was a Hugging Face folder; the adapter is in {adapter}, "
            "merge it with `python -m bot models merge ADAPTER --base GGUF`"
        )
    try:
        result = merge_adapter(
            Path(base),
            adapter,
            default_merged_path(adapter, quantization),
            quantization=quantization,
            on_status=on_status,
        )
        record_in_provenance(result)
    except (MergeError, ModelError) as exc:
        fail(f"the adapter is in {adapter}, but merging failed: {exc}")
    provenance["merged"] = json.loads((adapter.parent / "provenance.json").read_text(encoding="utf-8"))[
        "merged"
    ]


def _fmt(value: float | int | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "int":
        return str(int(value))
    return f"{value:.3f}" if kind == "f3" else f"{value:.1f}"


_ROWS = (
    ("samples", "samples", "int"),
    ("answer tokens", "answer_tokens", "int"),
    ("mean token loss ↓", "mean_loss", "f3"),
    ("perplexity ↓", "perplexity", "f3"),
    ("answerable samples", "answerable", "int"),
    ("citation rate (valid \\[n]) ↑", "citation_rate", "pct"),
    ("cites the reference's passage ↑", "correct_citation_rate", "pct"),
    ("false refusals ↓", "false_refusal_rate", "pct"),
    ("unanswerable samples", "unanswerable", "int"),
    ("refusal rate on unanswerable ↑", "refusal_rate", "pct"),
    ("mean answer length (chars)", "mean_answer_chars", "f1"),
    ("eval seconds", "seconds", "f1"),
)


def _table(scores: list[ModelScores]) -> None:
    from rich.table import Table

    table = Table(title="eval model", show_lines=False)
    table.add_column("metric")
    for score in scores:
        table.add_column(score.label, justify="right")
    if len(scores) == 2:
        table.add_column("Δ (B − A)", justify="right")
    for title, attr, kind in _ROWS:
        values = [getattr(s, attr) for s in scores]
        cells = [_fmt(v, kind) for v in values]
        if len(scores) == 2:
            a, b = values
            if a is None or b is None or kind == "int":
                cells.append("")
            elif kind == "pct":
                cells.append(f"{100 * (b - a):+.1f} pt")
            else:
                cells.append(f"{b - a:+.3f}")
        table.add_row(title, *cells)
    console.print(table)


@eval_app.command("model")
def eval_model(
    data: Annotated[
        Path, typer.Option("--data", help="Held-out chats, OpenAI JSONL (e.g. from `bot export`).")
    ],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="'base', a GGUF model, a GGUF LoRA adapter (on the bot's model) or a finetune --out folder. "
            "Give it twice to compare A and B. Default: base.",
        ),
    ] = None,
    max_tokens: int = typer.Option(128, "--max-tokens", min=1, help="Answer length limit when generating."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Evaluate only the first N samples."),
    n_ctx: int = typer.Option(2048, "--n-ctx", min=256, help="Context window for scoring."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads; 0 = the bot's setting."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Compare models on held-out samples: answer perplexity, citation rate, refusals on unanswerable ones.

    Loss: llama.cpp logits over prompt + reference answer, answer tokens only.

    Citation and refusal rates come from greedy answers; unanswerable = the reference answer is a refusal.
    """
    model = model or []
    if len(model) > 2:
        fail("give --model at most twice (A and B)")
    settings = get_settings()
    from bot.llm.base import resolve_threads
    from bot.llm.cpu_buffers import use_extra_buffers
    from bot.train.data import DataError, load_chat_jsonl
    from bot.train.evaluate import EvalError, evaluate_model, resolve_model

    try:
        samples = load_chat_jsonl(data)
        specs = [resolve_model(value, settings) for value in (model or ["base"])]
    except (DataError, EvalError) as exc:
        fail(str(exc))
    if limit is not None:
        samples = samples[:limit]
    n_threads = resolve_threads(threads or settings.llm.n_threads)
    scores = []
    for spec in specs:

        def progress(done: int, total: int, label: str = spec.label) -> None:
            if done % 10 == 0 or done == total:
                err_console.print(f"[dim]{label}: {done}/{total}[/]", highlight=False)

        try:
            score, _results = evaluate_model(
                spec,
                samples,
                n_ctx=n_ctx,
                n_threads=n_threads,
                max_tokens=max_tokens,
                extra_buffers=use_extra_buffers(settings.llm.cpu_extra_buffers),
                on_sample=progress,
            )
        except EvalError as exc:
            fail(str(exc))
        scores.append(score)
    if json_out:
        print_json({"data": str(data), "models": [s.as_dict() for s in scores]})
        return
    _table(scores)


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            metavar="[NAME=]DIR",
            help="Knowledge folder (repeatable); NAME prefixes the passage sources. Default: knowledge/",
        ),
    ] = None,
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    heldout: float = typer.Option(0.12, "--heldout", help="Share of questions held out (between 0 and 1)."),
    passages: int = typer.Option(3, "--passages", min=1, help="Passages per prompt."),
    passage_words: int = typer.Option(60, "--passage-words", min=1, help="Words kept per passage."),
) -> None:
    """Write train.jsonl and heldout.jsonl (OpenAI chat format, the bot's prompt) from knowledge folders.

    For a first fine-tuning run before the bot has real traffic: `finetune --data OUT/train.jsonl`, then
    `eval model --data OUT/heldout.jsonl`.
    """
    from bot.train.synth import build

    roots: list[tuple[str, Path]] = []
    for value in source or ["knowledge"]:
        name, _, folder = value.rpartition("=")
        path = Path(folder)
        if not path.is_dir():
            fail(f"--source {value}: no such folder")
        roots.append((name, path))
    if not 0 < heldout < 1:
        fail("--heldout must be between 0 and 1")
    writable_folder(out)
    try:
        stats = build(roots, out, seed=seed, heldout=heldout, passages=passages, passage_words=passage_words)
    except ValueError as exc:
        fail(f"{exc} (with --passage-words {passage_words})")
    if stats.train == 0:
        fail(f"no training samples: {stats.entries} sections, --heldout {heldout} kept them all back")
    console.print(
        f"wrote {stats.train} training and {stats.heldout} held-out samples to {out} "
        f"({stats.entries} sections, {stats.answerable} answerable, {stats.unanswerable} unanswerable)",
        highlight=False,
    )


def writable_folder(out: Path) -> None:
    """Stop now, before any work, when the output folder cannot be made or written (a file in its place, a
    read-only parent); nothing is created here, so a run refused for another reason leaves no folder."""
    import os

    if out.exists() and not out.is_dir():
        fail(f"--out {out}: cannot create this folder (a file is in its place)")
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        fail(f"--out {out}: cannot create this folder ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        fail(f"--out {out}: cannot create this folder ({existing} is not writable)")
