"""The `bench generation` harness: the engine against a raw llama_decode loop, time to first token, and time
to first visible text through the pipeline's checked stream."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from bot.domain import Answer, Chunk, Delta, Hit, Turn
from bot.kb.base import KBStats, ProgressCallback, ReloadReport, SearchMode
from bot.kb.calibration import Calibration
from bot.kb.reload import Sources
from bot.rag.citations import content_words
from bot.rag.prompting import Passage, build_messages, trim_passage
from bot.services import build_pipeline

if TYPE_CHECKING:
    from bot.config import LLMSettings, Settings
    from bot.llm.base import Generator, ModelInfo
    from bot.llm.engine import GenerationStats

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
    checked: CheckedRun  # the same question through the pipeline, which shows only checked sentences

    @property
    def ratio(self) -> float:
        return self.engine_tps / self.raw_tps


@dataclass(frozen=True)
class CheckedRun:
    """One answer through the pipeline's checked stream, timed from the start of `Pipeline.stream`."""

    ttft_s: float | None  # the model's first token (None: the model was not called)
    first_visible_s: float  # the first text the customer sees: a checked sentence, or the final answer
    released: bool  # model text was shown while it was written (else the final answer came first)
    outcome: str


@dataclass(frozen=True)
class Medians:
    engine_tps: float
    raw_tps: float
    ratio: float
    engine_pp: float
    raw_pp: float
    new_ttft_s: float
    follow_ttft_s: float
    checked_ttft_s: float  # runs where the model was called
    first_visible_s: float
    visible_wait_s: float  # first visible text minus first token, per run: what checking costs
    released: int  # runs whose model text streamed (of len(runs))


@dataclass(frozen=True)
class GenerationBench:
    cold_ttft_s: float  # the first prompt after load: nothing to reuse; not part of the medians
    runs: tuple[GenerationRun, ...]

    def medians(self) -> Medians:
        def median(pick: Callable[[GenerationRun], float]) -> float:
            return statistics.median(pick(run) for run in self.runs)

        ttfts = [run.checked.ttft_s for run in self.runs if run.checked.ttft_s is not None]
        waits = [
            run.checked.first_visible_s - run.checked.ttft_s
            for run in self.runs
            if run.checked.ttft_s is not None
        ]
        return Medians(
            engine_tps=median(lambda r: r.engine_tps),
            raw_tps=median(lambda r: r.raw_tps),
            ratio=median(lambda r: r.ratio),
            engine_pp=median(lambda r: r.engine_pp),
            raw_pp=median(lambda r: r.raw_pp),
            new_ttft_s=median(lambda r: r.new_ttft_s),
            follow_ttft_s=median(lambda r: r.follow_ttft_s),
            checked_ttft_s=statistics.median(ttfts) if ttfts else float("nan"),
            first_visible_s=median(lambda r: r.checked.first_visible_s),
            visible_wait_s=statistics.median(waits) if waits else float("nan"),
            released=sum(run.checked.released for run in self.runs),
        )


PASSAGE_WORDS = 200
# Words each later pass over the knowledge folder moves every passage's start on (see bench_passages).
WINDOW_STEP = 17


def bench_passages(source: Path, count: int, offset: int) -> list[Passage]:
    """Real passages from the knowledge folder (up to 200 words each), different for every run.

    A folder has only so many files: every later pass over them starts each passage WINDOW_STEP words
    further on, so no prompt repeats an earlier one's passages. The passages come before the question in
    the prompt: a repeated pair would let a prompt cache (llama-server's) reuse all but the question.
    """
    texts: list[tuple[str, list[str]]] = []
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.suffix.lower() in {".md", ".txt", ".rst"} and path.is_file():
                words = path.read_text(encoding="utf-8", errors="replace").split()
                if len(words) >= 60:
                    texts.append((str(path.relative_to(source)), words))
    if not texts:
        filler = "Parcels are collected on working days and delivered within two to four days. " * 8
        texts = [(f"synthetic-{i}.md", f"Topic {i}. {filler}".split()) for i in range(count * 4)]
    chosen: list[Passage] = []
    for i in range(count):
        position = offset * count + i
        name, words = texts[position % len(texts)]
        start = (position // len(texts)) * WINDOW_STEP % max(1, len(words) - 40)
        text = " ".join(words[start : start + PASSAGE_WORDS])
        chosen.append(Passage(source=name, heading=name.rsplit("/", 1)[-1], text=text))
    return chosen


_SECTION = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)


def question_passages(source: Path, question: str, count: int) -> list[Passage]:
    """The knowledge folder's sections that share the most words with the question (at least one).

    The checked stream is timed on passages that answer the question, as the bot's search would give
    them: on unrelated passages no sentence would be supported and nothing but the final answer shown.
    """
    wanted = set(content_words(question))
    sections: list[tuple[int, Passage]] = []
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.suffix.lower() not in {".md", ".txt", ".rst"} or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            name = str(path.relative_to(source))
            starts = [m.start() for m in _SECTION.finditer(text)] or [0]
            for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
                block = text[begin:end].strip()
                heading, _, body = block.partition("\n")
                if not body.strip():
                    continue
                passage = Passage(name, heading.lstrip("# ").strip(), body.strip())
                score = len(wanted & set(content_words(passage.heading + " " + passage.text)))
                if score:
                    sections.append((score, passage))
    sections.sort(key=lambda item: -item[0])
    return [passage for _, passage in sections[:count]]


class GivenPassages:
    """A knowledge base that answers every search with the given passages (the bench chooses them)."""

    name = "bench"

    def __init__(self, passages: Sequence[Passage]) -> None:
        self._hits = [
            Hit(
                chunk=Chunk(
                    id=f"{p.source}#{i}",
                    source=p.source,
                    heading=p.heading,
                    heading_path=(p.heading,),
                    position=i,
                    text=p.text,
                    content_hash="",
                    url=p.url,
                ),
                score=1.0,
                rank=i + 1,
                bm25_rank=i + 1,
                dense_rank=i + 1,
                dense_score=1.0,
            )
            for i, p in enumerate(passages)
        ]

    async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        return self._hits[:k]

    async def reload(self, source: Sources, progress: ProgressCallback | None = None) -> ReloadReport:
        return ReloadReport(files=0, chunks=len(self._hits), skipped=(), seconds=0.0, index="bench")

    async def stats(self) -> KBStats:
        return KBStats(backend="bench", index="bench", documents=0, chunks=len(self._hits))

    async def indexed_sources(self) -> frozenset[str]:
        return frozenset(hit.chunk.source for hit in self._hits)

    async def calibration(self) -> Calibration:
        return Calibration()

    async def missing_words(self, words: Sequence[str]) -> frozenset[str]:
        return frozenset()

    async def outline(self, source: str) -> tuple[Chunk, ...]:
        return ()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def checked_stream(
    settings: Settings, generator: Generator, passages: Sequence[Passage], question: str
) -> CheckedRun:
    """Ask `question` through the pipeline over `passages`: when the model's first token and the first
    checked text arrive."""
    pipeline = build_pipeline(settings, GivenPassages(passages), generator)
    released = False
    answer: Answer | None = None
    async for event in pipeline.stream(question, user_key="bench-checked"):
        if isinstance(event, Delta):
            released = True
        else:
            answer = event
    if answer is None:
        raise BenchError("the pipeline ended without an answer")
    timings = answer.timings
    visible = timings.first_visible_ms if timings.first_visible_ms is not None else timings.total_ms
    return CheckedRun(
        ttft_s=None if timings.ttft_ms is None else timings.ttft_ms / 1000,
        first_visible_s=visible / 1000,
        released=released,
        outcome=answer.outcome,
    )


async def run_generation_bench(
    settings: Settings,
    model_path: Path,
    lora_path: Path | None,
    *,
    runs: int,
    tokens: int,
    passages: int,
    on_start: Callable[[ModelInfo], None],
    on_run: Callable[[int, GenerationRun], None],
) -> GenerationBench:
    """`runs` measured runs after one cold run; `on_start` and `on_run` report progress as it happens."""
    from bot.llm.engine import LlamaEngine, raw_decode

    # A benchmark measures speed; on a busy machine the answer timeout must not cut a run short.
    llm = settings.llm.model_copy(update={"timeout_s": 3600.0})
    source, passage_tokens = settings.kb.source, settings.rag.passage_tokens
    # The checked stream: the bot's own pipeline, prompt and checks, with as many passages and tokens.
    checked_settings = settings.model_copy(
        update={
            "llm": llm.model_copy(update={"max_tokens": tokens}),
            "rag": settings.rag.model_copy(update={"prompt_passages": passages}),
        }
    )
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
            relevant = question_passages(source, question, passages) or chosen
            checked = await checked_stream(checked_settings, engine, relevant, question)
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
                checked=checked,
            )
            measured.append(figures)
            on_run(run, figures)
    finally:
        await engine.close()
    return GenerationBench(cold_ttft_s=cold_ttft, runs=tuple(measured))


# ----------------------------------------------------------------------------------------------------------
# Base, base + adapter and a merged model, side by side


class BenchEngine(Protocol):
    """What the variant bench needs from an engine (`LlamaEngine`, or a fake in tests)."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def last_stats(self) -> GenerationStats | None: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, messages: Sequence[Any], *, user_key: str, max_tokens: int, ignore_eos: bool
    ) -> AsyncIterator[str]: ...

    async def close(self) -> None: ...


EngineFactory = Callable[[Path, Path | None], BenchEngine]


@dataclass(frozen=True)
class Variant:
    label: str  # "base" | "base+adapter" | "merged"
    model: Path
    adapter: Path | None = None


@dataclass(frozen=True)
class VariantBench:
    """Generation tokens/s of each variant in every run (same prompt, same token count, interleaved)."""

    variants: tuple[Variant, ...]
    tps: dict[str, tuple[float, ...]]  # label -> one figure per run
    prompt_tps: dict[str, tuple[float, ...]]
    tokens: int

    def median(self, label: str) -> float:
        return statistics.median(self.tps[label])

    def ratio(self, over: str, under: str) -> float | None:
        """Median of the per-run ratios (each measured under the same load), None without both."""
        if over not in self.tps or under not in self.tps:
            return None
        return statistics.median(a / b for a, b in zip(self.tps[over], self.tps[under], strict=True))

    def summary(self) -> dict[str, Any]:
        return {
            "runs": len(next(iter(self.tps.values()), ())),
            "tokens": self.tokens,
            "variants": {
                v.label: {
                    "model": str(v.model),
                    "adapter": str(v.adapter) if v.adapter else None,
                    "tokens_per_s": round(self.median(v.label), 2),
                    "prompt_tokens_per_s": round(statistics.median(self.prompt_tps[v.label]), 1),
                    "per_run": [round(x, 2) for x in self.tps[v.label]],
                }
                for v in self.variants
            },
            "ratio_merged_over_adapter": _rounded(self.ratio("merged", "base+adapter")),
            "ratio_merged_over_base": _rounded(self.ratio("merged", "base")),
            "ratio_adapter_over_base": _rounded(self.ratio("base+adapter", "base")),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _llama_engine(settings: Settings) -> EngineFactory:
    from bot.llm.engine import LlamaEngine

    # A benchmark measures speed; on a busy machine the answer timeout must not cut a run short.
    llm = settings.llm.model_copy(update={"timeout_s": 3600.0})

    def make(model: Path, adapter: Path | None) -> BenchEngine:
        return LlamaEngine(llm, model_path=model, lora_path=adapter)

    return make


async def run_variant_bench(
    settings: Settings,
    variants: Sequence[Variant],
    *,
    runs: int,
    tokens: int,
    passages: int,
    on_run: Callable[[int, dict[str, float]], None],
    make_engine: EngineFactory | None = None,
) -> VariantBench:
    """Each run asks a new question of every variant in turn (the order rotates), after one warm-up run.

    All engines stay loaded, so a run's figures are taken within seconds of each other: on a shared
    machine the per-run ratios are fairer than medians taken minutes apart.
    """
    make = make_engine or _llama_engine(settings)
    engines: dict[str, BenchEngine] = {}
    tps: dict[str, list[float]] = {v.label: [] for v in variants}
    prompt_tps: dict[str, list[float]] = {v.label: [] for v in variants}
    try:
        for variant in variants:
            engines[variant.label] = make(variant.model, variant.adapter)
        counter = next(iter(engines.values()))
        for run in range(runs + 1):
            question = BENCH_QUESTIONS[run % len(BENCH_QUESTIONS)]
            chosen = [
                trim_passage(p, settings.rag.passage_tokens, counter.count_tokens)
                for p in bench_passages(settings.kb.source, passages, run)
            ]
            messages = build_messages(question, chosen)
            order = list(variants[run % len(variants) :]) + list(variants[: run % len(variants)])
            figures: dict[str, float] = {}
            for variant in order:
                engine = engines[variant.label]
                async for _ in engine.stream(messages, user_key="bench", max_tokens=tokens, ignore_eos=True):
                    pass
                stats = engine.last_stats
                if stats is None or stats.generation_s <= 0:
                    raise BenchError(f"{variant.label}: the engine reported no statistics")
                figures[variant.label] = (stats.generated_tokens - 1) / stats.generation_s
                if run:
                    tps[variant.label].append(figures[variant.label])
                    new_tokens = stats.prompt_tokens - stats.reused_tokens
                    prompt_tps[variant.label].append(new_tokens / stats.prompt_s if stats.prompt_s else 0.0)
            if run:  # run 0 warms every engine up (first load, first KV cache) and is not counted
                on_run(run, figures)
    finally:
        for engine in engines.values():
            await engine.close()
    return VariantBench(
        variants=tuple(variants),
        tps={k: tuple(v) for k, v in tps.items()},
        prompt_tps={k: tuple(v) for k, v in prompt_tps.items()},
        tokens=tokens,
    )


# ----------------------------------------------------------------------------------------------------------
# Concurrency: the engine's parallel slots at 1 and N customers, against llama.cpp's own llama-server


class SlotEngine(Protocol):
    """What the concurrency bench needs from an engine (`LlamaEngine`, or a fake in tests)."""

    def count_tokens(self, text: str) -> int: ...

    def prompt_tokens(self, messages: Sequence[Any]) -> list[int]: ...

    def stream(
        self,
        messages: Sequence[Any],
        *,
        user_key: str,
        max_tokens: int,
        ignore_eos: bool,
        on_stats: Callable[[GenerationStats], None] | None = None,
    ) -> AsyncIterator[str]: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class LoadFigures:
    """One batch of answers: aggregate speed and time to first token."""

    tokens_per_s: (
        float  # generated tokens of all answers / wall time from the first request to the last token
    )
    answers_per_s: float
    ttft_p50_ms: float
    ttft_p95_ms: float
    prompt_tokens: int = 0  # prompt tokens evaluated, all answers together (not those found in a cache)


@dataclass(frozen=True)
class ConcurrencyRun:
    engine_1: LoadFigures  # the same N prompts one after another
    engine_n: LoadFigures  # all N at once, in the engine's parallel slots
    llama_server_n: LoadFigures  # all N at once, to `llama-server --parallel N`


SIDES = ("engine_1", "engine_n", "llama_server_n")


@dataclass(frozen=True)
class ConcurrencyBench:
    concurrency: int
    tokens: int
    runs: tuple[ConcurrencyRun, ...]

    def summary(self) -> dict[str, Any]:
        """Medians over the runs; ratios are medians of per-run ratios (each taken under the same load)."""

        def side(name: str) -> dict[str, float]:
            picked = [getattr(run, name) for run in self.runs]
            return {
                key: round(statistics.median(getattr(f, key) for f in picked), 2)
                for key in ("tokens_per_s", "answers_per_s", "ttft_p50_ms", "ttft_p95_ms")
            }

        def ratio(over: str, under: str) -> float:
            per_run = [getattr(r, over).tokens_per_s / getattr(r, under).tokens_per_s for r in self.runs]
            return round(float(statistics.median(per_run)), 3)

        return {
            "concurrency": self.concurrency,
            "tokens": self.tokens,
            "runs": len(self.runs),
            **{name: side(name) for name in SIDES},
            "ratio_engine_n_over_engine_1": ratio("engine_n", "engine_1"),
            "ratio_engine_n_over_llama_server_n": ratio("engine_n", "llama_server_n"),
            # The same prompts should cost each side the same: what each evaluated, median per run.
            "prompt_tokens_evaluated": {
                name: statistics.median(getattr(run, name).prompt_tokens for run in self.runs)
                for name in SIDES
            },
        }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..100): with 8 answers, p95 is the slowest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


Answered = tuple[float, int, int]  # seconds to the first token, tokens generated, prompt tokens evaluated


async def _batch(calls: Sequence[Callable[[], Awaitable[Answered]]], *, together: bool) -> LoadFigures:
    started = time.perf_counter()
    if together:
        answers = await asyncio.gather(*(call() for call in calls))
    else:
        answers = [await call() for call in calls]
    wall = time.perf_counter() - started
    ttfts = [first * 1000 for first, _, _ in answers]
    return LoadFigures(
        tokens_per_s=sum(n for _, n, _ in answers) / wall,
        answers_per_s=len(answers) / wall,
        ttft_p50_ms=percentile(ttfts, 50),
        ttft_p95_ms=percentile(ttfts, 95),
        prompt_tokens=sum(p for _, _, p in answers),
    )


def _engine_call(
    engine: SlotEngine, messages: Sequence[Any], user: str, tokens: int
) -> Callable[[], Awaitable[Answered]]:
    async def call() -> Answered:
        started = time.perf_counter()
        first: float | None = None
        stats: list[GenerationStats] = []
        async for _ in engine.stream(
            messages, user_key=user, max_tokens=tokens, ignore_eos=True, on_stats=stats.append
        ):
            if first is None:
                first = time.perf_counter() - started
        if not stats:
            raise BenchError("the engine reported no statistics")
        evaluated = stats[0].prompt_tokens - stats[0].reused_tokens
        return (
            (first if first is not None else time.perf_counter() - started),
            stats[0].generated_tokens,
            evaluated,
        )

    return call


def server_request(llm: LLMSettings, prompt: Sequence[int], tokens: int) -> dict[str, Any]:
    """llama-server's /completion with the engine's prompt tokens and sampling, so both do the same work."""
    from bot.llm.jobs import MIN_P, REPEAT_PENALTY, TOP_K, TOP_P

    return {
        "prompt": list(prompt),
        "n_predict": tokens,
        "ignore_eos": True,
        "stream": True,
        "cache_prompt": True,
        "temperature": llm.temperature,
        "top_k": TOP_K,
        "top_p": TOP_P,
        "min_p": MIN_P,
        "repeat_penalty": REPEAT_PENALTY,
        "repeat_last_n": 64,  # what llama-cpp-python's `Llama` penalizes
        "seed": llm.seed,
    }


def _server_call(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any]
) -> Callable[[], Awaitable[Answered]]:
    async def call() -> Answered:
        started = time.perf_counter()
        first: float | None = None
        count = 0
        reported: int | None = None
        evaluated = 0
        async with session.post(f"{url}/completion", json=body) as response:
            if response.status != 200:
                raise BenchError(f"llama-server answered {response.status}: {(await response.text())[:200]}")
            async for raw in response.content:
                line = raw.strip()
                if not line.startswith(b"data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("content") or event.get("tokens"):
                    count += 1
                    if first is None:
                        first = time.perf_counter() - started
                if event.get("stop"):
                    reported = event.get("tokens_predicted") or event.get("timings", {}).get("predicted_n")
                    evaluated = int(event.get("timings", {}).get("prompt_n") or 0)
        return (
            (first if first is not None else time.perf_counter() - started),
            int(reported or count),
            evaluated,
        )

    return call


async def run_concurrency_bench(
    settings: Settings,
    engine: SlotEngine,
    server_url: str,
    *,
    concurrency: int,
    runs: int,
    tokens: int,
    passages: int,
    on_run: Callable[[int, ConcurrencyRun], None],
) -> ConcurrencyBench:
    """Every run asks `concurrency` new questions (different passages, the same system rules) of the engine
    one at a time, then `concurrency` other new questions of the engine all at once and the same ones of
    llama-server all at once; one warm-up run first.

    The three take turns within a run, so their figures are taken under the same load.
    """
    llm = settings.llm
    measured: list[ConcurrencyRun] = []
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for run in range(runs + 1):
            # Two sets of new prompts: the engine keeps what it answered one at a time in its slots, and
            # must not meet those prompts again all at once (the server has not seen them).
            prompts: list[list[Any]] = []
            for i in range(2 * concurrency):
                k = run * 2 * concurrency + i
                chosen = [
                    trim_passage(p, settings.rag.passage_tokens, engine.count_tokens)
                    for p in bench_passages(settings.kb.source, passages, k)
                ]
                prompts.append(build_messages(BENCH_QUESTIONS[k % len(BENCH_QUESTIONS)], chosen))
            first, second = prompts[:concurrency], prompts[concurrency:]
            alone = await _batch(
                [_engine_call(engine, m, f"one-{i}", tokens) for i, m in enumerate(first)], together=False
            )
            together = await _batch(
                [_engine_call(engine, m, f"user-{i}", tokens) for i, m in enumerate(second)], together=True
            )
            bodies = [server_request(llm, engine.prompt_tokens(m), tokens) for m in second]
            server = await _batch([_server_call(session, server_url, b) for b in bodies], together=True)
            if run:  # run 0 warms everything up (first KV cache, the server's first slots) and is not counted
                figures = ConcurrencyRun(engine_1=alone, engine_n=together, llama_server_n=server)
                measured.append(figures)
                on_run(run, figures)
    return ConcurrencyBench(concurrency=concurrency, tokens=tokens, runs=tuple(measured))


def llama_server_argv(
    binary: Path, llm: LLMSettings, model_path: Path, lora_path: Path | None, *, parallel: int, port: int
) -> list[str]:
    """`llama-server --parallel N` with the engine's context per answer, batch, threads and buffers."""
    from bot.llm.base import resolve_threads
    from bot.llm.cpu_buffers import use_extra_buffers

    threads = str(resolve_threads(llm.n_threads))
    argv = [
        str(binary),
        "--model",
        str(model_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--parallel",
        str(parallel),
        "--ctx-size",
        str(llm.n_ctx * parallel),  # llama-server splits it among the slots: n_ctx per answer, as the engine
        "--batch-size",
        str(llm.n_batch),
        "--ubatch-size",
        str(llm.n_batch),
        "--threads",
        threads,
        "--threads-batch",
        threads,
        "--flash-attn",
        "on" if llm.flash_attn else "off",
        "--no-webui",
    ]
    if not use_extra_buffers(llm.cpu_extra_buffers):
        argv.append("--no-repack")  # as the engine loads the model (bot.llm.cpu_buffers: AMX in VMs)
    if lora_path is not None:
        argv += ["--lora", str(lora_path)]
    return argv


async def compare_with_llama_server(
    settings: Settings,
    model_path: Path,
    lora_path: Path | None,
    *,
    concurrency: int,
    runs: int,
    tokens: int,
    passages: int,
    log: Callable[[str], None],
    on_run: Callable[[int, ConcurrencyRun], None],
) -> ConcurrencyBench:
    """Build llama-server if needed, start it on a loopback port, run the bench, stop it."""
    from bot.devtools.llama_server import LlamaServerError, ensure_llama_server, free_port, running_server
    from bot.llm.engine import LlamaEngine

    try:
        binary = await asyncio.to_thread(ensure_llama_server, log=log)
    except LlamaServerError as exc:
        raise BenchError(str(exc)) from None
    # A benchmark measures speed; on a busy machine the answer timeout must not cut a run short.
    llm = settings.llm.model_copy(update={"timeout_s": 3600.0, "parallel": concurrency})
    port = free_port()
    argv = llama_server_argv(binary, llm, model_path, lora_path, parallel=concurrency, port=port)
    log_file = binary.parent.parent.parent / "bench-server.log"
    engine = LlamaEngine(llm, model_path=model_path, lora_path=lora_path)
    try:
        with running_server(argv, port=port, log_file=log_file) as url:
            log(f"llama-server --parallel {concurrency} on {url} (log {log_file})")
            return await run_concurrency_bench(
                settings.model_copy(update={"llm": llm}),
                engine,
                url,
                concurrency=concurrency,
                runs=runs,
                tokens=tokens,
                passages=passages,
                on_run=on_run,
            )
    except LlamaServerError as exc:
        raise BenchError(str(exc)) from None
    finally:
        await engine.close()
