"""`python -m bot models ...` (prepare, list, use, merge) and `python -m bot bench embed`.

The embed benchmark itself lives in `bot.devtools.embed_bench`; `bench embed` parses options and prints.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import (
    bench_app,
    console,
    err_console,
    fail,
    get_settings,
    models_app,
    print_error,
    print_json,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.llm.registry import ModelRegistry


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


def _rows(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[str]]:
    """The models in use (rows), the shipped ones not prepared in this data folder yet (`missing`, each with
    how to prepare it: a new data folder is not ready, not broken), and the errors of broken ones."""
    from bot.llm.base import ModelError
    from bot.llm.registry import ModelRegistry

    models = ModelRegistry(settings.models_dir)
    rows: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    errors: list[str] = []

    def add(role: str, path: Path, source: str) -> None:
        rows.append(
            {
                "role": role,
                "path": str(path),
                "source": source,
                "sha256": models.file_sha256(path),
                "size": path.stat().st_size,
                "status": "ready",
            }
        )

    if settings.llm.server_url:
        rows.append(
            {
                "role": "generator",
                "path": "",
                "source": "remote llama.cpp server (BOT_LLM__SERVER_URL)",
                "sha256": "",
                "status": "remote",
            }
        )
    else:
        try:
            # Listing never writes: an unprepared model is shown as what would be used, or as an error.
            choice = models.choose_generator(settings.llm, prepare=False)
            add("generator", choice.model, choice.model_source)
            from bot.train.merge import describe_merged, merged_from

            origin = merged_from(choice.model)
            if origin is not None:
                rows[-1]["merged"] = origin
                rows[-1]["source"] += "; " + describe_merged(origin)
            if choice.adapter is not None:
                add("adapter", choice.adapter, choice.adapter_source)
        except ModelError as exc:
            errors.append(f"generator: {exc}")
    try:
        unprepared = models.unprepared_embedder(settings.embeddings)
        if unprepared is not None:
            # Listed as what will be used once prepared, with the way there, not as an error.
            rows.append(
                {
                    "role": unprepared.role,
                    "path": str(unprepared.path),
                    "source": unprepared.source,
                    "sha256": "",
                    "size": 0,
                    "status": "not prepared",
                }
            )
            missing.append({"role": unprepared.role, "path": str(unprepared.path), "fix": unprepared.fix})
        else:
            path = models.resolve_embedder_path(settings.embeddings, prepare=False)
            source = (
                "env BOT_EMBEDDINGS__MODEL_PATH"
                if settings.embeddings.model_path
                else "active.json (models use --embedder)"
                if models.read_active().get("embedder")
                else "prepared (models prepare)"
            )
            add("embedder", path, source)
    except ModelError as exc:
        errors.append(f"embedder: {exc}")
    return rows, missing, errors


@models_app.command("list")
def list_models(
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Show the models in use, where each choice came from (env, active.json, shipped), sha256 and size.

    A shipped model not prepared in this data folder yet is listed with how to prepare it. Exit code 1 when
    a model in use is not prepared yet (as `health` exits 1 while the bot is not ready), missing or broken.
    """
    from bot.llm.provision import human_size

    settings = get_settings()
    rows, missing, errors = _rows(settings)
    if json_out:
        print_json({"models": rows, "missing": missing, "errors": errors})
    else:
        fixes = {entry["role"]: entry["fix"] for entry in missing}
        for row in rows:
            if row["status"] == "remote":
                _say(f"{row['role']:<9} {row['source']}")
                continue
            _say(f"{row['role']:<9} {row['path']}")
            if row["status"] == "not prepared":
                _say(f"{'':<9} not prepared yet ({row['source']}): {fixes[row['role']]}")
                continue
            _say(f"{'':<9} from {row['source']}; {human_size(row['size'])}; sha256 {row['sha256']}")
        for line in errors:
            print_error(line)
    raise typer.Exit(1 if errors or missing else 0)


@models_app.command("use")
def use(
    path: Annotated[
        Path | None, typer.Argument(help="A GGUF chat model or GGUF LoRA adapter.", show_default=False)
    ] = None,
    reset: bool = typer.Option(
        False,
        "--reset",
        help="Forget the choice; back to the shipped one (with --embedder: the embedder's, re-embedding the "
        "index).",
    ),
    embedder: bool = typer.Option(
        False, "--embedder", help="PATH is a GGUF embedding model (e.g. from `finetune --embedder`)."
    ),
) -> None:
    """Switch the bot to another GGUF chat model, or put a GGUF LoRA adapter on the current model.

    The file is validated (GGUF header, model or adapter, architecture) and recorded atomically in
    `<data_dir>/models/active.json`. A full model drops any adapter chosen before. New processes use it at
    once; a running `python -m bot serve` reloads it on SIGHUP (`kill -HUP <pid>`), and answers already
    being generated finish on the old model. BOT_LLM__MODEL_PATH / BOT_LLM__LORA_PATH, when set, win over it.

    With --embedder, PATH becomes the retrieval embedder (BOT_EMBEDDINGS__MODEL_PATH wins over it) and the
    serving index is re-embedded with it, as `kb reload` does; --embedder --reset goes back to the shipped
    embedder the same way. When the re-embedding fails, the previous embedder comes back. A running `serve`
    or `web` picks the new embedder up on SIGHUP; searches already running finish on the old one.
    """
    from bot.llm.base import ModelError
    from bot.llm.registry import ModelRegistry

    settings = get_settings()
    if reset == (path is not None):
        fail("give either a PATH to a GGUF file or --reset")
    if embedder:
        # Re-embeds the serving index with it (the shipped one with --reset), or switches back: an index of
        # the old embedder's vectors would refuse every question (the switch `finetune --embedder` makes).
        from bot.cli.finetune_embedder import switch_embedder

        switch_embedder(settings, path)
        return
    models = ModelRegistry(settings.models_dir)
    try:
        if path is None:
            had = models.reset()
            model, _ = models.resolve_generator(settings.llm)
            _say(("choice removed; " if had else "no choice was recorded; ") + f"the bot uses {model}")
            if models.read_active().get("embedder"):
                _say("the embedder choice stays (`models use --embedder --reset` forgets it)")
        else:
            path = _finetune_output(path)
            _refuse_merged_twice(models, path)
            result = models.use(path)
            from bot.train.merge import describe_merged, merged_from

            origin = merged_from(result.path) if result.kind == "model" else None
            what = "LoRA adapter" if result.kind == "adapter" else "merged model" if origin else "model"
            _say(f"now using {what} {result.path}")
            if origin is not None:
                _say(f"({describe_merged(origin)})")
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
    _say(
        "a running `python -m bot serve` or `web` picks this up on SIGHUP (kill -HUP <pid>); new commands "
        "use it now"
    )


@models_app.command("merge")
def merge(
    adapter: Annotated[Path, typer.Argument(help="A GGUF LoRA adapter (finetune's adapter.gguf).")],
    quantize: str = typer.Option(
        "Q8_0", "--quantize", help="llama.cpp type of the merged model: Q8_0, Q4_K_M, F16, F32, ..."
    ),
    base: Annotated[
        Path | None,
        typer.Option(
            "--base",
            help="The GGUF the adapter was trained on. Default: the one in the adapter's provenance.json, "
            "else the bot's model.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output GGUF. Default: merged.<TYPE>.gguf beside the adapter."),
    ] = None,
    use_it: bool = typer.Option(False, "--use", help="Serve it at once (as `models use OUT`)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Merge a LoRA adapter into its base and quantize the result into one GGUF model (offline, no torch).

    The merged model serves without applying the adapter at every token: `models use OUT`.
    """
    from bot.llm.base import ModelError
    from bot.llm.provision import human_size
    from bot.train.merge import (
        MergeError,
        default_merged_path,
        merge_adapter,
        normalize_quant,
        record_in_provenance,
        resolve_merge_base,
    )

    settings = get_settings()
    try:
        quantization = normalize_quant(quantize)
        base_path = resolve_merge_base(adapter, base, settings)
        target = out or default_merged_path(adapter, quantization)
        result = merge_adapter(
            base_path,
            adapter,
            target,
            quantization=quantization,
            on_status=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False),
        )
        record_in_provenance(result)
        used = _use_merged(settings, result.path) if use_it else None
    except (MergeError, ModelError) as exc:
        fail(str(exc))
    record = {
        "path": str(result.path),
        "base": str(result.base),
        "adapter": str(result.adapter),
        "quantization": result.quantization,
        "merged_tensors": result.merged_tensors,
        "size": result.size,
        "seconds": round(result.seconds, 1),
        "base_matches_training": result.base_matches_training,
        "used": used is not None,
    }
    if json_out:
        print_json(record)
        return
    if result.base_matches_training is False:
        err_console.print(
            f"[yellow]note:[/] the adapter records another base than {result.base}; pass --base with the "
            "model it was trained on if that is not what you meant",
            highlight=False,
            soft_wrap=True,
        )
    _say(
        f"merged model: {result.path} ({result.quantization}, {human_size(result.size)}, "
        f"{result.merged_tensors} weights merged, {result.seconds:.1f} s)"
    )
    _say(f"base:         {result.base}")
    if used is not None:
        _say(f"now serving it (recorded in {used})")
    else:
        _say(f"serve it:     python -m bot models use {result.path}")


def _finetune_output(path: Path) -> Path:
    """A `finetune --out` folder's adapter.gguf (as `eval model` takes it); any other path as given."""
    path = path.expanduser()
    if not path.is_dir():
        return path
    adapter = path / "adapter.gguf"
    if not adapter.is_file():
        fail(
            f"{path} is a folder without adapter.gguf (not a finetune --out folder); "
            "pass a GGUF chat model or LoRA adapter file"
        )
    _say(f"{path} is a finetune output folder: using its adapter {adapter}")
    return adapter


def _refuse_merged_twice(models: ModelRegistry, path: Path) -> None:
    """Refuse an adapter whose weights the current model already holds (its `merge.*` header keys, as
    `models merge` reads them): put on top, the fine-tune would apply twice."""
    from bot.llm.base import ModelError
    from bot.llm.gguf_file import inspect_gguf
    from bot.train.merge import describe_merged, merged_from

    try:
        if inspect_gguf(path).kind != "adapter":
            return
    except ModelError:
        return  # `models.use` says what is wrong with the file
    current = models.read_active().get("model")
    if not isinstance(current, str) or not current:
        return  # the shipped model: never a merge
    origin = merged_from(Path(current))
    if origin is None or origin["adapter_sha256"] != models.file_sha256(path.resolve()):
        return
    fail(
        f"the bot's model {current} already has the adapter {path} merged in ({describe_merged(origin)}); "
        "putting it on top would apply the fine-tune twice. Keep the merged model alone, or "
        "`python -m bot models use BASE` (the model it was trained on) first"
    )


def _use_merged(settings: Settings, path: Path) -> Path:
    from bot.llm.registry import ModelRegistry

    return ModelRegistry(settings.models_dir).use(path).active_file


# ---------------------------------------------------------------------------------------------------------
# bench embed


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
    from bot.devtools.embed_bench import BOT_EMBEDDER, EmbedBenchError, run_embed_bench

    try:
        result = run_embed_bench(
            get_settings(),
            runs=runs,
            count=count,
            texts_file=texts_file,
            threads=threads,
            baseline=baseline,
            sentence_transformers=sentence_transformers,
            pack_tokens=pack_tokens,
        )
    except EmbedBenchError as exc:
        fail(str(exc))
    if json_out:
        print_json(result.summary())
        return
    _say(
        f"{result.texts} texts ({result.origin}), mean {result.mean_tokens} tokens, "
        f"{result.threads} threads, pack {result.pack_tokens} tokens, "
        f"median of {result.runs} interleaved runs"
    )
    for name, rate in result.rates.items():
        ratio = "" if name == BOT_EMBEDDER else f"   bot embedder is {result.bot_rate / rate:.2f}x"
        _say(f"  {name:<22} {rate:8.1f} sentences/s{ratio}")
    for note in result.notes:
        _say(f"  {note}")
