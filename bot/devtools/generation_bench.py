"""The `bench generation` harness: the engine against a raw llama_decode loop, and time to first token."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain import Turn
from bot.rag.prompting import Passage, build_messages, trim_passage

if TYPE_CHECKING:
    from bot.config import LLMSettings
    from bot.llm.base import ModelInfo

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


class BenchError(RuntimeError):
    """The engine did not report what the benchmark measures."""


@dataclass(frozen=True)
class GenerationRun:
    """One measured run: a new question, then a follow-up in the same conversation, then the baseline."""

    prompt_tokens: int
    reused_tokens: int
    engine_tps: float
    raw_tps: float
    new_ttft_s: float
    follow_ttft_s: float
    follow_reused_tokens: int
    follow_prompt_tokens: int
    engine_pp: float  # prompt tokens/s, new tokens only
    raw_pp: float  # prompt tokens/s, whole prompt

    @property
    def ratio(self) -> float:
        return self.engine_tps / self.raw_tps


@dataclass(frozen=True)
class Medians:
    engine_tps: float
    raw_tps: float
    ratio: float
    engine_pp: float
    raw_pp: float
    new_ttft_s: float
    follow_ttft_s: float


@dataclass(frozen=True)
class GenerationBench:
    cold_ttft_s: float  # the first prompt after load: nothing to reuse; not part of the medians
    runs: tuple[GenerationRun, ...]

    def medians(self) -> Medians:
        def median(pick: Callable[[GenerationRun], float]) -> float:
            return statistics.median(pick(run) for run in self.runs)

        return Medians(
            engine_tps=median(lambda r: r.engine_tps),
            raw_tps=median(lambda r: r.raw_tps),
            ratio=median(lambda r: r.ratio),
            engine_pp=median(lambda r: r.engine_pp),
            raw_pp=median(lambda r: r.raw_pp),
            new_ttft_s=median(lambda r: r.new_ttft_s),
            follow_ttft_s=median(lambda r: r.follow_ttft_s),
        )


def bench_passages(source: Path, count: int, offset: int) -> list[Passage]:
    """Real passages from the knowledge folder (up to 200 words each), different for every run."""
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


async def run_generation_bench(
    llm: LLMSettings,
    model_path: Path,
    lora_path: Path | None,
    source: Path,
    *,
    runs: int,
    tokens: int,
    passages: int,
    passage_tokens: int,
    on_start: Callable[[ModelInfo], None],
    on_run: Callable[[int, GenerationRun], None],
) -> GenerationBench:
    """`runs` measured runs after one cold run; `on_start` and `on_run` report progress as it happens."""
    from bot.llm.engine import LlamaEngine, raw_decode

    # A benchmark measures speed; on a busy machine the answer timeout must not cut a run short.
    llm = llm.model_copy(update={"timeout_s": 3600.0})
    engine = LlamaEngine(llm, model_path=model_path, lora_path=lora_path)

    async def timed(messages: list[Any]) -> tuple[float, str]:
        started = time.perf_counter()
        first: float | None = None
        text = ""
        async for piece in engine.stream(messages, user_key="bench", max_tokens=tokens, ignore_eos=True):
            if first is None:
                first = time.perf_counter() - started
            text += piece
        return (first if first is not None else time.perf_counter() - started), text

    cold_ttft = 0.0
    measured: list[GenerationRun] = []
    try:
        on_start(engine.info)
        for run in range(runs + 1):
            question = BENCH_QUESTIONS[run % len(BENCH_QUESTIONS)]
            chosen = [
                trim_passage(p, passage_tokens, engine.count_tokens)
                for p in bench_passages(source, passages, run)
            ]
            messages = build_messages(question, chosen)
            ttft, text = await timed(messages)
            stats = engine.last_stats
            if stats is None:
                raise BenchError("the engine reported no statistics")
            if run == 0:
                cold_ttft = ttft
                continue
            follow = build_messages(FOLLOW_UP, chosen, [Turn("user", question), Turn("assistant", text)])
            follow_ttft, _ = await timed(follow)
            follow_stats = engine.last_stats
            prompt = engine.prompt_tokens(messages)
            raw = await asyncio.to_thread(raw_decode, model_path, llm, prompt, tokens)
            figures = GenerationRun(
                prompt_tokens=stats.prompt_tokens,
                reused_tokens=stats.reused_tokens,
                engine_tps=(stats.generated_tokens - 1) / stats.generation_s,
                raw_tps=(raw.generated_tokens - 1) / raw.generation_s,
                new_ttft_s=ttft,
                follow_ttft_s=follow_ttft,
                follow_reused_tokens=follow_stats.reused_tokens if follow_stats else 0,
                follow_prompt_tokens=follow_stats.prompt_tokens if follow_stats else 0,
                engine_pp=(stats.prompt_tokens - stats.reused_tokens) / stats.prompt_s,
                raw_pp=len(prompt) / raw.prompt_s,
            )
            measured.append(figures)
            on_run(run, figures)
    finally:
        await engine.close()
    return GenerationBench(cold_ttft_s=cold_ttft, runs=tuple(measured))
