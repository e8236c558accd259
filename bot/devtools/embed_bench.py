"""The `bench embed` harness: the bot's embedder against a Llama.embed loop and sentence-transformers."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings

BOT_EMBEDDER = "bot embedder"

SYNTHETIC_SUBJECTS = (
    "my parcel",
    "the invoice",
    "my account",
    "the refund",
    "the mobile app",
    "a team seat",
)
SYNTHETIC_VERBS = (
    "did not arrive",
    "shows the wrong amount",
    "is locked",
    "is still pending",
    "keeps crashing",
)


class EmbedBenchError(ValueError):
    """The benchmark cannot start: no embedder, unreadable texts or bad options; the message says which."""


@dataclass(frozen=True)
class EmbedBench:
    """Median sentences/s per backend (in the order they were timed; the bot's embedder first)."""

    model: Path
    texts: int
    origin: str
    mean_tokens: float  # rounded to 0.1
    threads: int
    pack_tokens: int
    runs: int
    rates: Mapping[str, float]
    notes: tuple[str, ...]

    @property
    def bot_rate(self) -> float:
        return self.rates[BOT_EMBEDDER]

    def summary(self) -> dict[str, Any]:
        """The `--json` object."""
        return {
            "model": str(self.model),
            "texts": self.texts,
            "origin": self.origin,
            "mean_tokens": self.mean_tokens,
            "threads": self.threads,
            "pack_tokens": self.pack_tokens,
            "runs": self.runs,
            "sentences_per_s": {k: round(v, 1) for k, v in self.rates.items()},
            "ratio_bot_vs": {
                k: round(self.bot_rate / v, 2) for k, v in self.rates.items() if k != BOT_EMBEDDER
            },
            "notes": list(self.notes),
        }


def bench_texts(kb_source: Path, texts_file: Path | None, count: int) -> tuple[list[str], str]:
    """Texts to embed: a file (one per line), else paragraphs of the knowledge folder, else synthetic ones."""
    if texts_file is not None:
        try:
            lines = [ln.strip() for ln in texts_file.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise EmbedBenchError(f"cannot read {texts_file}: {exc}") from exc
        if not lines:
            raise EmbedBenchError(f"{texts_file} holds no text")
        texts, origin = lines, str(texts_file)
    else:
        texts = []
        if kb_source.is_dir():
            for file in sorted(kb_source.rglob("*")):
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
        origin = f"paragraphs of {kb_source}"
        if not texts:
            texts = [
                f"Why {s} {v} after {n} days, and what should I do?"
                for n in range(1, 30)
                for s in SYNTHETIC_SUBJECTS
                for v in SYNTHETIC_VERBS
            ]
            origin = "synthetic support questions"
    while len(texts) < count:
        texts = texts + texts
    return texts[:count], origin


def parse_pack_tokens(spec: str, default: int) -> list[int]:
    """Token budgets per decode call from a comma list; `default` alone when the list is empty."""
    try:
        budgets = [int(part) for part in spec.split(",") if part.strip()] or [default]
    except ValueError:
        raise EmbedBenchError(
            f"--pack-tokens takes whole numbers separated by commas, not {spec!r}"
        ) from None
    if any(b < 8 for b in budgets):
        raise EmbedBenchError("--pack-tokens values must be at least 8")
    return budgets


def interleaved_rates(
    backends: Mapping[str, Callable[[Sequence[str]], object]], texts: Sequence[str], runs: int
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


def run_embed_bench(
    settings: Settings,
    *,
    runs: int,
    count: int,
    texts_file: Path | None = None,
    threads: int = 0,
    baseline: bool = True,
    sentence_transformers: bool = True,
    pack_tokens: str = "",
) -> EmbedBench:
    """Sentences per second of the bot's embedder against a plain per-sentence `Llama.embed` loop (same
    GGUF, same texts) and sentence-transformers where installed, as the median of `runs` interleaved runs.

    Raises EmbedBenchError when the embedder cannot be resolved, the texts cannot be read or `pack_tokens`
    is not a comma list of budgets of at least 8 tokens.
    """
    import numpy as np

    from bot.llm.base import ModelError, resolve_threads
    from bot.llm.embedder import DEFAULT_PACK_TOKENS, LlamaEmbedder
    from bot.llm.llama_log import native_debug
    from bot.llm.provision import shipped_embedder_zip
    from bot.llm.registry import ModelRegistry

    try:
        path = ModelRegistry(settings.models_dir).resolve_embedder_path(settings.embeddings)
    except ModelError as exc:
        raise EmbedBenchError(str(exc)) from exc
    n_threads = resolve_threads(threads or settings.embeddings.n_threads)
    texts, origin = bench_texts(settings.kb.source, texts_file, count)
    notes: list[str] = []
    budgets = parse_pack_tokens(pack_tokens, DEFAULT_PACK_TOKENS)

    backends: dict[str, Callable[[Sequence[str]], object]] = {}
    with ExitStack() as stack:
        # The configured pooling, so a custom embedder is timed as it runs; texts go in without prefixes.
        pooling = settings.embeddings.pooling
        embedder = LlamaEmbedder(
            path,
            n_threads=n_threads,
            batch_size=settings.embeddings.batch_size,
            pack_tokens=budgets[0],
            pooling=pooling,
        )
        stack.callback(embedder.close)
        tokens = [embedder.count_tokens(t) + 2 for t in texts]
        embedder.embed(texts[:8])  # warm-up: the first decode allocates buffers
        backends[BOT_EMBEDDER] = embedder.embed
        for budget in budgets[1:]:
            variant = LlamaEmbedder(
                path,
                n_threads=n_threads,
                batch_size=settings.embeddings.batch_size,
                pack_tokens=budget,
                pooling=pooling,
            )
            stack.callback(variant.close)
            variant.embed(texts[:8])
            backends[f"{BOT_EMBEDDER}, pack {budget}"] = variant.embed

        if baseline:
            import llama_cpp

            from bot.llm.cpu_buffers import extra_buffers_for_llama, use_extra_buffers

            # llama-cpp-python's defaults, as a plain script would use them, one Llama.embed call per text.
            # Same AMX rule as the bot's own loads (bot.llm.cpu_buffers): without it, it crashes there.
            with extra_buffers_for_llama(use_extra_buffers(settings.llm.cpu_extra_buffers)):
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

        rates = interleaved_rates(backends, texts, runs)

    return EmbedBench(
        model=path,
        texts=len(texts),
        origin=origin,
        mean_tokens=round(float(np.mean(tokens)), 1),
        threads=n_threads,
        pack_tokens=budgets[0],
        runs=runs,
        rates=rates,
        notes=tuple(notes),
    )
