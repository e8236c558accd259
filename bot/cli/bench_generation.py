"""`bench generation`: the engine against a raw llama_decode loop, and time to first token."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.app import bench_app, console, fail, get_settings, run_async

if TYPE_CHECKING:
    pass

# -- bench generation -----------------------------------------------------------------------------------

BENCH_QUESTIONS = (
    "How do I change the delivery address of a parcel that is already on its way?",
    "What can I do if my package arrived damaged?",
    "How long does a refund take after I return an item?",
    "Can I send batteries or liquids abroad?",
    "How do I reset the password of my account?",
    "Which documents do I need to send a parcel outside the EU?",
    "Why was my card payment declined at checkout?",
)
FOLLOW_UP = "And how long does that usually take?"


def bench_passages(source: Path, count: int, offset: int) -> list[Any]:
    """Real passages from the knowledge folder (up to 200 words each), different for every run."""
    from bot.rag.prompting import Passage

    texts: list[tuple[str, str]] = []
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.suffix.lower() in {".md", ".txt", ".rst"} and path.is_file():
                words = path.read_text(encoding="utf-8", errors="replace").split()
                if len(words) >= 60:
                    texts.append((str(path.relative_to(source)), " ".join(words[:200])))
    if not texts:
        filler = "Parcels are collected on working days and delivered within two to four days. " * 8
        texts = [(f"synthetic-{i}.md", f"Topic {i}. {filler}") for i in range(count * 4)]
    return [
        Passage(source=name, heading=name.rsplit("/", 1)[-1], text=text)
        for name, text in (texts[(offset * count + i) % len(texts)] for i in range(count))
    ]


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
    API with greedy sampling, in its own context, right after the engine run.
    """
    settings = get_settings()

    async def _run() -> None:
        import asyncio

        from bot.domain import Turn
        from bot.llm.engine import LlamaEngine, raw_decode
        from bot.llm.models import resolve_generator
        from bot.rag.prompting import build_messages, trim_passage

        count = passages or settings.rag.prompt_passages
        model_path, lora_path = resolve_generator(settings)
        # A benchmark measures speed; on a busy machine the answer timeout must not cut a run short.
        llm = settings.llm.model_copy(update={"timeout_s": 3600.0})
        engine = LlamaEngine(llm, model_path=model_path, lora_path=lora_path)
        results: dict[str, list[float]] = {
            k: []
            for k in ("engine_tps", "raw_tps", "ratio", "new_ttft", "follow_ttft", "engine_pp", "raw_pp")
        }
        cold_ttft = 0.0

        async def timed(messages: list[Any]) -> tuple[float, str]:
            started = time.perf_counter()
            first: float | None = None
            text = ""
            async for piece in engine.stream(messages, user_key="bench", max_tokens=tokens, ignore_eos=True):
                if first is None:
                    first = time.perf_counter() - started
                text += piece
            return (first if first is not None else time.perf_counter() - started), text

        try:
            console.print(
                f"model {engine.info.name} ({engine.info.version}), n_ctx {settings.llm.n_ctx}, "
                f"{tokens} tokens x {runs} runs, {count} passages of <= {settings.rag.passage_tokens} "
                "tokens per prompt",
                highlight=False,
            )
            for run in range(runs + 1):
                question = BENCH_QUESTIONS[run % len(BENCH_QUESTIONS)]
                chosen = [
                    trim_passage(p, settings.rag.passage_tokens, engine.count_tokens)
                    for p in bench_passages(settings.kb.source, count, run)
                ]
                messages = build_messages(question, chosen)
                ttft, text = await timed(messages)
                stats = engine.last_stats
                if stats is None:
                    fail("the engine reported no statistics")
                if run == 0:
                    cold_ttft = ttft  # first prompt after load: nothing to reuse; not part of the medians
                    continue
                follow = build_messages(FOLLOW_UP, chosen, [Turn("user", question), Turn("assistant", text)])
                follow_ttft, _ = await timed(follow)
                follow_stats = engine.last_stats
                prompt = engine.prompt_tokens(messages)
                raw = await asyncio.to_thread(raw_decode, model_path, llm, prompt, tokens)
                engine_tps = (stats.generated_tokens - 1) / stats.generation_s
                raw_tps = (raw.generated_tokens - 1) / raw.generation_s
                results["engine_tps"].append(engine_tps)
                results["raw_tps"].append(raw_tps)
                results["ratio"].append(engine_tps / raw_tps)
                results["new_ttft"].append(ttft)
                results["follow_ttft"].append(follow_ttft)
                results["engine_pp"].append((stats.prompt_tokens - stats.reused_tokens) / stats.prompt_s)
                results["raw_pp"].append(len(prompt) / raw.prompt_s)
                console.print(
                    f"run {run}: prompt {stats.prompt_tokens} tok ({stats.reused_tokens} reused), "
                    f"engine {engine_tps:.1f} tok/s, raw {raw_tps:.1f} tok/s, "
                    f"TTFT new {ttft * 1000:.0f} ms, follow-up {follow_ttft * 1000:.0f} ms "
                    f"({follow_stats.reused_tokens if follow_stats else 0}/"
                    f"{follow_stats.prompt_tokens if follow_stats else 0} reused)",
                    highlight=False,
                )
        finally:
            await engine.close()

        med = {k: statistics.median(v) for k, v in results.items()}
        console.print("[bold]medians[/]")
        console.print(
            f"generation  engine {med['engine_tps']:.1f} tok/s | raw llama_decode {med['raw_tps']:.1f} tok/s"
            f" | ratio {med['ratio']:.3f} (target >= 0.95)",
            highlight=False,
        )
        console.print(
            f"prompt      engine {med['engine_pp']:.0f} tok/s (new tokens only) | raw "
            f"{med['raw_pp']:.0f} tok/s (whole prompt)",
            highlight=False,
        )
        console.print(
            f"TTFT        cold {cold_ttft * 1000:.0f} ms | new question {med['new_ttft'] * 1000:.0f} ms "
            f"(target <= 1000) | follow-up {med['follow_ttft'] * 1000:.0f} ms (target <= 200)",
            highlight=False,
        )

    run_async(_run)
