"""`bench generation`: the engine against a raw llama_decode loop, time to first token, time to first
visible text of the checked stream; or base, base + adapter and a merged model side by side; or, with
--concurrency, the engine's parallel slots against llama.cpp's own llama-server."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import bench_app, console, err_console, fail, get_settings, print_json, run_async

if TYPE_CHECKING:
    from bot.config import Settings


@bench_app.command("generation")
def bench_generation(
    runs: int = typer.Option(5, "--runs", min=1, max=50, help="Measured runs (the median is reported)."),
    tokens: int = typer.Option(64, "--tokens", min=2, max=1024, help="Tokens generated per run."),
    passages: int = typer.Option(
        0, "--passages", min=0, max=20, help="Passages per prompt (0 = rag.prompt_passages, as the bot)."
    ),
    merged: Annotated[
        Path | None,
        typer.Option(
            "--merged",
            help="A merged GGUF (`models merge`): compare base, base + adapter and it instead, in one run.",
        ),
    ] = None,
    adapter: Annotated[
        Path | None,
        typer.Option(
            "--adapter", help="With --merged: the adapter it was made from (default: the one in use)."
        ),
    ] = None,
    concurrency: int = typer.Option(
        0,
        "--concurrency",
        min=0,
        max=64,
        help="Compare the engine at 1 and N customers with `llama-server --parallel N` instead (builds "
        "llama-server from the llama-cpp-python sdist on first use).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the medians as one JSON object at the end."),
) -> None:
    """Engine vs a raw llama_decode loop on the same prompt and token count, plus TTFT with KV reuse.

    Each run asks a new question with different passages (only the system prompt is shared with the
    previous prompt), then a follow-up in the same conversation (the whole earlier exchange is reused).
    The baseline decodes the same prompt tokens and the same number of tokens through the low-level
    API with greedy sampling, in its own context, right after the engine run. Then the question goes
    through the pipeline over the knowledge folder's best-matching sections: the customer sees only
    checked sentences, so the time to first visible text is compared with the time to first token
    (which is when raw streaming would have shown text).

    With --concurrency N it compares instead the engine with N parallel slots (BOT_LLM__PARALLEL=N) answering
    N new questions one after another and all at once, and `llama-server --parallel N` (llama.cpp's own
    continuous batching, built once into ~/.cache, started on a loopback port and stopped after) answering
    the same prompt tokens at once: aggregate tokens/s, answers/s and time to first token p50/p95.

    With --merged (a `models merge` output) it compares instead the base model, the base with the adapter
    and the merged model: generation tokens/s of each, interleaved in every run, and the ratio
    merged / base + adapter.
    """
    settings = get_settings()
    if concurrency:
        if merged is not None or adapter is not None:
            fail("--concurrency compares the model in use; it does not go with --merged or --adapter")
        run_async(lambda: _concurrency(settings, concurrency, runs, tokens, passages, json_out))
        return
    if merged is not None:
        run_async(lambda: _compare(settings, merged, adapter, runs, tokens, passages, json_out))
        return
    if adapter is not None:
        fail("--adapter goes with --merged (to serve an adapter, use `models use`)")
    out = err_console if json_out else console

    async def _run() -> None:
        from bot.devtools.generation_bench import BenchError, GenerationRun, run_generation_bench
        from bot.llm.base import ModelInfo
        from bot.llm.registry import ModelRegistry

        count = passages or settings.rag.prompt_passages
        model_path, lora_path = ModelRegistry(settings.models_dir).resolve_generator(settings.llm)

        def started(info: ModelInfo) -> None:
            out.print(
                f"model {info.name} ({info.version}), n_ctx {settings.llm.n_ctx}, "
                f"{tokens} tokens x {runs} runs, {count} passages of <= {settings.rag.passage_tokens} "
                "tokens per prompt",
                highlight=False,
            )

        def measured(run: int, r: GenerationRun) -> None:
            checked = r.checked
            first = "-" if checked.ttft_s is None else f"{checked.ttft_s * 1000:.0f} ms"
            shown = "streamed" if checked.released else "final answer first"
            out.print(
                f"run {run}: prompt {r.prompt_tokens} tok ({r.reused_tokens} reused), "
                f"engine {r.engine_tps:.1f} tok/s, raw {r.raw_tps:.1f} tok/s, "
                f"TTFT new {r.new_ttft_s * 1000:.0f} ms, follow-up {r.follow_ttft_s * 1000:.0f} ms "
                f"({r.follow_reused_tokens}/{r.follow_prompt_tokens} reused); checked stream: TTFT {first}, "
                f"first visible {checked.first_visible_s * 1000:.0f} ms ({checked.outcome}, {shown})",
                highlight=False,
            )

        try:
            result = await run_generation_bench(
                settings,
                model_path,
                lora_path,
                runs=runs,
                tokens=tokens,
                passages=count,
                on_start=started,
                on_run=measured,
            )
        except BenchError as exc:
            fail(str(exc))
        med = result.medians()
        if json_out:
            print_json({"cold_ttft_s": result.cold_ttft_s, "runs": len(result.runs), "medians": asdict(med)})
            return
        console.print("[bold]medians[/]")
        console.print(
            f"generation  engine {med.engine_tps:.1f} tok/s | raw llama_decode {med.raw_tps:.1f} tok/s"
            f" | ratio {med.ratio:.3f} (target >= 0.95)",
            highlight=False,
        )
        console.print(
            f"prompt      engine {med.engine_pp:.0f} tok/s (new tokens only) | raw "
            f"{med.raw_pp:.0f} tok/s (whole prompt)",
            highlight=False,
        )
        console.print(
            f"TTFT        cold {result.cold_ttft_s * 1000:.0f} ms | "
            f"new question {med.new_ttft_s * 1000:.0f} ms "
            f"(target <= 1000) | follow-up {med.follow_ttft_s * 1000:.0f} ms (target <= 200)",
            highlight=False,
        )
        console.print(
            f"visible     raw stream (first token shown) {med.checked_ttft_s * 1000:.0f} ms | checked stream "
            f"(first checked sentence, or the final answer) {med.first_visible_s * 1000:.0f} ms, "
            f"+{med.visible_wait_s * 1000:.0f} ms per run | model text streamed in {med.released}/"
            f"{len(result.runs)} runs",
            highlight=False,
        )

    run_async(_run)


async def _compare(
    settings: Settings,
    merged: Path,
    adapter: Path | None,
    runs: int,
    tokens: int,
    passages: int,
    json_out: bool,
) -> None:
    """`--merged`: base, base + adapter and the merged model, interleaved in every run."""
    from bot.devtools.generation_bench import BenchError, Variant, run_variant_bench
    from bot.llm.base import ModelError
    from bot.llm.gguf_file import check_adapter, check_generator
    from bot.llm.registry import ModelRegistry

    out = err_console if json_out else console
    try:
        model_path, in_use = ModelRegistry(settings.models_dir).resolve_generator(settings.llm)
        lora = adapter or in_use
        if lora is None:
            fail("--merged needs the adapter it was made from: give --adapter (or `models use` the adapter)")
        base_info = check_generator(model_path, "the base model")
        check_adapter(lora, "--adapter", base_info)
        check_generator(merged, "--merged")
    except ModelError as exc:
        fail(str(exc))
    variants = [
        Variant("base", model_path),
        Variant("base+adapter", model_path, lora),
        Variant("merged", merged),
    ]
    count = passages or settings.rag.prompt_passages
    out.print(
        f"base {model_path}\nadapter {lora}\nmerged {merged}\n{tokens} tokens x {runs} runs (after a "
        f"warm-up run), {count} passages per prompt, the three interleaved in every run",
        highlight=False,
        markup=False,
    )

    def measured(run: int, figures: dict[str, float]) -> None:
        line = ", ".join(f"{label} {tps:.1f} tok/s" for label, tps in figures.items())
        out.print(f"run {run}: {line}", highlight=False)

    try:
        result = await run_variant_bench(
            settings, variants, runs=runs, tokens=tokens, passages=count, on_run=measured
        )
    except BenchError as exc:
        fail(str(exc))
    summary = result.summary()
    if json_out:
        print_json(summary)
        return
    console.print("[bold]medians[/]")
    for label, figures in summary["variants"].items():
        console.print(
            f"{label:<13} {figures['tokens_per_s']:.1f} tok/s generation, "
            f"{figures['prompt_tokens_per_s']:.0f} tok/s prompt",
            highlight=False,
        )
    console.print(
        f"ratio merged / base+adapter {summary['ratio_merged_over_adapter']:.3f} (target >= 1.0); "
        f"merged / base {summary['ratio_merged_over_base']:.3f}; "
        f"base+adapter / base {summary['ratio_adapter_over_base']:.3f} (medians of per-run ratios)",
        highlight=False,
    )


async def _concurrency(
    settings: Settings, concurrency: int, runs: int, tokens: int, passages: int, json_out: bool
) -> None:
    """`--concurrency N`: the engine at 1 and N customers and llama-server --parallel N, in every run."""
    from bot.devtools.generation_bench import BenchError, ConcurrencyRun, compare_with_llama_server
    from bot.llm.registry import ModelRegistry

    out = err_console if json_out else console
    model_path, lora_path = ModelRegistry(settings.models_dir).resolve_generator(settings.llm)
    count = passages or settings.rag.prompt_passages
    out.print(
        f"model {model_path}{f' + {lora_path}' if lora_path else ''}, {concurrency} customers, "
        f"{tokens} tokens each, {runs} runs (after a warm-up run), {count} passages per prompt",
        highlight=False,
        markup=False,
    )

    def line(name: str, figures: dict[str, float]) -> str:
        return (
            f"{name:<15} {figures['tokens_per_s']:7.1f} tok/s  {figures['answers_per_s']:5.2f} answers/s  "
            f"TTFT p50 {figures['ttft_p50_ms']:6.0f} ms  p95 {figures['ttft_p95_ms']:6.0f} ms"
        )

    def measured(run: int, r: ConcurrencyRun) -> None:
        parts = ", ".join(
            f"{name} {getattr(r, name).tokens_per_s:.1f} tok/s"
            for name in ("engine_1", "engine_n", "llama_server_n")
        )
        out.print(f"run {run}: {parts}", highlight=False)

    try:
        result = await compare_with_llama_server(
            settings,
            model_path,
            lora_path,
            concurrency=concurrency,
            runs=runs,
            tokens=tokens,
            passages=count,
            log=lambda message: out.print(message, highlight=False, markup=False),
            on_run=measured,
        )
    except BenchError as exc:
        fail(str(exc))
    summary = result.summary()
    if json_out:
        print_json(summary)
        return
    console.print("[bold]medians[/]")
    for name in ("engine_1", "engine_n", "llama_server_n"):
        console.print(line(name, summary[name]), highlight=False)
    console.print(
        f"engine_n / engine_1 {summary['ratio_engine_n_over_engine_1']:.2f} (target >= 1.5); "
        f"engine_n / llama_server_n {summary['ratio_engine_n_over_llama_server_n']:.2f} (target >= 0.9); "
        "medians of per-run ratios",
        highlight=False,
    )
