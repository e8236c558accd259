"""`python -m bot models ...` (prepare, list, use) and `python -m bot bench embed`."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import bench_app, console, err_console, fail, get_settings, models_app, print_json

if TYPE_CHECKING:
    from bot.config import Settings


def _say(text: str) -> None:
    """One plain line: no markup, and long paths are never wrapped (they must stay copyable)."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@models_app.command("prepare")
def prepare(
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Make the models ready offline: check the chat model, convert the embedder to GGUF once.

    Idempotent: a second run only re-checks the files. Writes `<data_dir>/models/manifest.json` with the
    sha256 and size of every model file.
    """
    from bot.llm.base import ModelError
    from bot.llm.registry import ModelRegistry

    settings = get_settings()
    started = time.perf_counter()
    try:
        report = ModelRegistry(settings.models_dir).prepare(settings.llm, settings.embeddings)
    except ModelError as exc:
        fail(str(exc))
    if json_out:
        print_json(
            {
                "manifest": str(report.manifest),
                "seconds": round(time.perf_counter() - started, 2),
                "models": [
                    {
                        "role": m.role,
                        "path": str(m.path) if m.action != "remote" else "",
                        "source": m.source,
                        "sha256": m.sha256,
                        "size": m.size,
                        "action": m.action,
                    }
                    for m in report.models
                ],
            }
        )
        return
    for line in report.describe():
        _say(line)
    _say(f"manifest: {report.manifest} ({time.perf_counter() - started:.1f} s)")


def _rows(settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    from bot.llm.base import ModelError
    from bot.llm.registry import ModelRegistry

    models = ModelRegistry(settings.models_dir)
    rows: list[dict[str, Any]] = []
    errors: list[str] = []

    def add(role: str, path: Path, source: str) -> None:
        rows.append(
            {
                "role": role,
                "path": str(path),
                "source": source,
                "sha256": models.file_sha256(path),
                "size": path.stat().st_size,
            }
        )

    if settings.llm.server_url:
        rows.append(
            {
                "role": "generator",
                "path": "",
                "source": "remote llama.cpp server (BOT_LLM__SERVER_URL)",
                "sha256": "",
            }
        )
    else:
        try:
            # Listing never writes: an unprepared model is shown as what would be used, or as an error.
            choice = models.choose_generator(settings.llm, prepare=False)
            add("generator", choice.model, choice.model_source)
            if choice.adapter is not None:
                add("adapter", choice.adapter, choice.adapter_source)
        except ModelError as exc:
            errors.append(f"generator: {exc}")
    try:
        path = models.resolve_embedder_path(settings.embeddings, prepare=False)
        source = (
            "env BOT_EMBEDDINGS__MODEL_PATH"
            if settings.embeddings.model_path
            else "prepared (models prepare)"
        )
        add("embedder", path, source)
    except ModelError as exc:
        errors.append(f"embedder: {exc}")
    return rows, errors


@models_app.command("list")
def list_models(
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Show the models in use, where each choice came from (env, active.json, shipped), sha256 and size.

    Exit code 1 when a model in use is missing or broken.
    """
    from bot.llm.provision import human_size

    settings = get_settings()
    rows, errors = _rows(settings)
    if json_out:
        print_json({"models": rows, "errors": errors})
    else:
        for row in rows:
            if not row["sha256"]:
                _say(f"{row['role']:<9} {row['source']}")
                continue
            _say(f"{row['role']:<9} {row['path']}")
            _say(f"{'':<9} from {row['source']}; {human_size(row['size'])}; sha256 {row['sha256']}")
        for line in errors:
            err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(1 if errors else 0)


@models_app.command("use")
def use(
    path: Annotated[
        Path | None, typer.Argument(help="A GGUF chat model or GGUF LoRA adapter.", show_default=False)
    ] = None,
    reset: bool = typer.Option(False, "--reset", help="Forget the choice and return to the shipped model."),
) -> None:
    """Switch the bot to another GGUF chat model, or put a GGUF LoRA adapter on the current model.

    The file is validated (GGUF header, model or adapter, architecture) and recorded atomically in
    `<data_dir>/models/active.json`. A full model drops any adapter chosen before. New processes use it at
    once; a running `python -m bot serve` reloads it on SIGHUP (`kill -HUP <pid>`), and answers already
    being generated finish on the old model. BOT_LLM__MODEL_PATH / BOT_LLM__LORA_PATH, when set, win over it.
    """
    from bot.llm.base import ModelError
    from bot.llm.registry import ModelRegistry

    settings = get_settings()
    if reset == (path is not None):
        fail("give either a PATH to a GGUF file or --reset")
    models = ModelRegistry(settings.models_dir)
    try:
        if path is None:
            had = models.reset()
            model, _ = models.resolve_generator(settings.llm)
            _say(("choice removed; " if had else "no choice was recorded; ") + f"the bot uses {model}")
        else:
            result = models.use(path)
            what = "LoRA adapter" if result.kind == "adapter" else "model"
            _say(f"now using {what} {result.path}")
            _say(f"recorded in {result.active_file}")
    except ModelError as exc:
        fail(str(exc))
    overrides = [
        name
        for name, value in (
            ("BOT_LLM__MODEL_PATH", settings.llm.model_path),
            ("BOT_LLM__LORA_PATH", settings.llm.lora_path),
            ("BOT_LLM__SERVER_URL", settings.llm.server_url),
        )
        if value
    ]
    if overrides:
        err_console.print(
            f"[yellow]note:[/] {', '.join(overrides)} is set and takes precedence over this choice",
            highlight=False,
            soft_wrap=True,
        )
    _say("a running `python -m bot serve` picks this up on SIGHUP (kill -HUP <pid>); new commands use it now")


# ---------------------------------------------------------------------------------------------------------
# bench embed

_SYNTHETIC_SUBJECTS = (
    "my parcel",
    "the invoice",
    "my account",
    "the refund",
    "the mobile app",
    "a team seat",
)
_SYNTHETIC_VERBS = (
    "did not arrive",
    "shows the wrong amount",
    "is locked",
    "is still pending",
    "keeps crashing",
)


def _bench_texts(settings: Settings, texts_file: Path | None, count: int) -> tuple[list[str], str]:
    """Texts to embed: a file (one per line), else paragraphs of the knowledge folder, else synthetic ones."""
    if texts_file is not None:
        try:
            lines = [ln.strip() for ln in texts_file.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {texts_file}: {exc}")
        if not lines:
            fail(f"{texts_file} holds no text")
        texts, origin = lines, str(texts_file)
    else:
        texts = []
        source = settings.kb.source
        if source.is_dir():
            for file in sorted(source.rglob("*")):
                if file.suffix.lower() not in (".md", ".rst", ".txt") or not file.is_file():
                    continue
                try:
                    body = file.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                for para in re.split(r"\n\s*\n", body):
                    flat = " ".join(para.split())
                    if 40 <= len(flat) <= 600:
                        texts.append(flat)
        origin = f"paragraphs of {source}"
        if not texts:
            texts = [
                f"Why {s} {v} after {n} days, and what should I do?"
                for n in range(1, 30)
                for s in _SYNTHETIC_SUBJECTS
                for v in _SYNTHETIC_VERBS
            ]
            origin = "synthetic support questions"
    while len(texts) < count:
        texts = texts + texts
    return texts[:count], origin


def _interleaved_rates(
    backends: dict[str, Callable[[Sequence[str]], object]], texts: Sequence[str], runs: int
) -> dict[str, float]:
    """Median texts/s per backend, timing the backends in turn each round so that load from other processes
    on a shared CPU falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(runs):
        for name, fn in backends.items():
            started = time.perf_counter()
            fn(texts)
            times[name].append(time.perf_counter() - started)
    return {name: len(texts) / statistics.median(values) for name, values in times.items()}


@bench_app.command("embed")
def bench_embed(
    runs: int = typer.Option(
        3, "--runs", min=1, max=50, help="Timed runs per backend; the median is reported."
    ),
    count: int = typer.Option(128, "--count", min=1, max=100_000, help="Texts embedded per run."),
    texts_file: Annotated[
        Path | None,
        typer.Option("--texts", help="Embed these lines (one per line) instead of KB paragraphs."),
    ] = None,
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads; 0 = BOT_EMBEDDINGS__N_THREADS."),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="Also time a per-sentence Llama.embed loop."
    ),
    sentence_transformers: bool = typer.Option(
        True, "--st/--no-st", help="Also time sentence-transformers when it is installed."
    ),
    pack_tokens: str = typer.Option(
        "",
        "--pack-tokens",
        help="Comma list of token budgets per decode call to compare (default: the bot's).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
) -> None:
    """Sentences per second of the bot's embedder against a plain per-sentence `Llama.embed` loop (same GGUF,
    same texts) and sentence-transformers where installed, as the median of --runs runs, with ratios."""
    import numpy as np

    from bot.llm.base import ModelError, resolve_threads
    from bot.llm.embedder import DEFAULT_PACK_TOKENS, LlamaEmbedder
    from bot.llm.llama_log import native_debug
    from bot.llm.provision import shipped_embedder_zip
    from bot.llm.registry import ModelRegistry

    settings = get_settings()
    try:
        path = ModelRegistry(settings.models_dir).resolve_embedder_path(settings.embeddings)
    except ModelError as exc:
        fail(str(exc))
    n_threads = resolve_threads(threads or settings.embeddings.n_threads)
    texts, origin = _bench_texts(settings, texts_file, count)
    notes: list[str] = []
    try:
        budgets = [int(part) for part in pack_tokens.split(",") if part.strip()] or [DEFAULT_PACK_TOKENS]
    except ValueError:
        fail(f"--pack-tokens takes whole numbers separated by commas, not {pack_tokens!r}")
    if any(b < 8 for b in budgets):
        fail("--pack-tokens values must be at least 8")

    backends: dict[str, Callable[[Sequence[str]], object]] = {}
    with ExitStack() as stack:
        embedder = LlamaEmbedder(
            path, n_threads=n_threads, batch_size=settings.embeddings.batch_size, pack_tokens=budgets[0]
        )
        stack.callback(embedder.close)
        tokens = [embedder.count_tokens(t) + 2 for t in texts]
        embedder.embed(texts[:8])  # warm-up: the first decode allocates buffers
        backends["bot embedder"] = embedder.embed
        for budget in budgets[1:]:
            variant = LlamaEmbedder(
                path, n_threads=n_threads, batch_size=settings.embeddings.batch_size, pack_tokens=budget
            )
            stack.callback(variant.close)
            variant.embed(texts[:8])
            backends[f"bot embedder, pack {budget}"] = variant.embed

        if baseline:
            import llama_cpp

            # llama-cpp-python's defaults, as a plain script would use them, one Llama.embed call per text.
            llm = llama_cpp.Llama(
                model_path=str(path),
                embedding=True,
                n_ctx=0,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=native_debug(),
            )
            stack.callback(llm.close)
            llm.embed(texts[0])

            def naive(batch: Sequence[str]) -> None:
                for text in batch:
                    llm.embed(text, normalize=True)

            backends["Llama.embed loop"] = naive

        if sentence_transformers and settings.embeddings.model_path is None:
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError:
                notes.append(
                    "sentence-transformers not installed: skipped (pip install sentence-transformers)"
                )
            else:
                from bot.llm.gguf_convert import unpacked_zip

                torch.set_num_threads(n_threads)
                with unpacked_zip(shipped_embedder_zip()) as model_dir:
                    st_model = SentenceTransformer(str(model_dir), device="cpu")

                def st_embed(batch: Sequence[str]) -> object:
                    return st_model.encode(list(batch), batch_size=32, normalize_embeddings=True)

                st_embed(texts[:8])
                backends["sentence-transformers"] = st_embed
                sample = texts[: min(32, len(texts))]
                reference = np.asarray(st_embed(sample), dtype=np.float32)
                cosine = float((reference * embedder.embed(sample)).sum(axis=1).min())
                notes.append(f"min cosine bot embedder vs sentence-transformers: {cosine:.6f}")

        results = _interleaved_rates(backends, texts, runs)

    bot_rate = results["bot embedder"]
    summary = {
        "model": str(path),
        "texts": len(texts),
        "origin": origin,
        "mean_tokens": round(float(np.mean(tokens)), 1),
        "threads": n_threads,
        "pack_tokens": budgets[0],
        "runs": runs,
        "sentences_per_s": {k: round(v, 1) for k, v in results.items()},
        "ratio_bot_vs": {k: round(bot_rate / v, 2) for k, v in results.items() if k != "bot embedder"},
        "notes": notes,
    }
    if json_out:
        print_json(summary)
        return
    _say(
        f"{len(texts)} texts ({origin}), mean {summary['mean_tokens']} tokens, {n_threads} threads, "
        f"pack {budgets[0]} tokens, median of {runs} interleaved runs"
    )
    for name, rate in results.items():
        ratio = "" if name == "bot embedder" else f"   bot embedder is {bot_rate / rate:.2f}x"
        _say(f"  {name:<22} {rate:8.1f} sentences/s{ratio}")
    for note in notes:
        _say(f"  {note}")
