"""`bench generation`: the engine against a raw llama_decode loop, time to first token, and time to first
visible text of the checked stream."""

from __future__ import annotations

import typer

from bot.cli.app import bench_app, console, fail, get_settings, run_async


@bench_app.command("generation")
def bench_generation(
    runs: int = typer.Option(5, "--runs", min=1, max=50, help="Measured runs (the median is reported)."),
    tokens: int = typer.Option(64, "--tokens", min=2, max=1024, help="Tokens generated per run."),
    passages: int = typer.Option(
        0, "--passages", min=0, max=20, help="Passages per prompt (0 = rag.prompt_passages, as the bot)."
    ),
) -> None:
    """Engine vs a raw llama_decode loop on the same prompt and token count, plus TTFT with KV reuse.

    Each run asks a new question with different passages (only the system prompt is shared with the
    previous prompt), then a follow-up in the same conversation (the whole earlier exchange is reused).
    The baseline decodes the same prompt tokens and the same number of tokens through the low-level
    API with greedy sampling, in its own context, right after the engine run. Then the question goes
    through the pipeline over the knowledge folder's best-matching sections: the customer sees only
    checked sentences, so the time to first visible text is compared with the time to first token
    (which is when raw streaming would have shown text).
    """
    settings = get_settings()

    async def _run() -> None:
        from bot.devtools.generation_bench import BenchError, GenerationRun, run_generation_bench
        from bot.llm.base import ModelInfo
        from bot.llm.registry import ModelRegistry

        count = passages or settings.rag.prompt_passages
        model_path, lora_path = ModelRegistry(settings.models_dir).resolve_generator(settings.llm)

        def started(info: ModelInfo) -> None:
            console.print(
                f"model {info.name} ({info.version}), n_ctx {settings.llm.n_ctx}, "
                f"{tokens} tokens x {runs} runs, {count} passages of <= {settings.rag.passage_tokens} "
                "tokens per prompt",
                highlight=False,
            )

        def measured(run: int, r: GenerationRun) -> None:
            checked = r.checked
            first = "-" if checked.ttft_s is None else f"{checked.ttft_s * 1000:.0f} ms"
            shown = "streamed" if checked.released else "final answer first"
            console.print(
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
