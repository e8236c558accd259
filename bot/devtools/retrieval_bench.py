"""The `bench retrieval` harness: synthetic indexes, search latency per mode and a naive fusion baseline."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bot.domain import Chunk
from bot.kb.base import Embedder, ReloadReport, SearchMode
from bot.kb.embedded import HEADING_WEIGHT, TEXT_WEIGHT, EmbeddedKB, _fts_query
from bot.kb.fusion import query_terms, rrf
from bot.kb.reload import Corpus
from bot.metrics import percentile

if TYPE_CHECKING:
    from bot.config import KBSettings

MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")
QUERY_TEXT = "how do I change the {} settings of my account and keep my data?"


def synthetic_corpus(n: int, dim: int, seed: int = 7) -> tuple[list[Chunk], npt.NDArray[np.float32]]:
    """`n` chunks of Zipf-distributed words (like real text), 50 sections per file, random unit vectors."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(20000)]
    ranks = np.arange(1, len(vocab) + 1)
    probs = (1.0 / ranks) / (1.0 / ranks).sum()
    chunks = []
    lengths = rng.integers(60, 160, size=n)
    words = rng.choice(len(vocab), size=int(lengths.sum()), p=probs)
    offset = 0
    for i in range(n):
        body = " ".join(vocab[w] for w in words[offset : offset + lengths[i]])
        offset += int(lengths[i])
        heading = " ".join(vocab[w] for w in rng.choice(2000, size=5))
        source = f"doc{i // 50}.md"
        chunks.append(
            Chunk(
                id=f"{source}#{i % 50}",
                source=source,
                heading=heading,
                heading_path=(f"Document {i // 50}", heading),
                position=i % 50,
                text=body,
                content_hash=hashlib.sha256(body.encode()).hexdigest(),
            )
        )
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, vectors


def synthetic_query(text: str, rng: np.random.Generator) -> str:
    """Six words of a chunk, leaving out the 100 most frequent (real queries lose those as stop words)."""
    words = [w for w in text.split() if int(w[1:]) >= 100] or text.split()
    picked = rng.choice(len(words), size=min(6, len(words)), replace=False)
    return " ".join(words[int(i)] for i in sorted(picked))


def build_from(
    kb: EmbeddedKB, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32], source: str = "synthetic"
) -> ReloadReport:
    """Index ready-made chunks and vectors into `kb`, skipping loading and embedding (synthetic data)."""
    corpus = Corpus(
        chunks=tuple(chunks),
        vectors=vectors.astype(np.float32, copy=False),
        files=len({c.source for c in chunks}),
        skipped=(),
        started=time.perf_counter(),
        embedded=len(chunks),
    )
    return kb.index_corpus(corpus, Path(source))


def naive_search(kb: EmbeddedKB, query: str, vector: npt.NDArray[np.float32], k: int) -> None:
    """Baseline: every BM25 match pulled from SQLite and a full sort of every cosine, fused in Python.

    It reads the serving snapshot's internals on purpose: the baseline must hit the very same index.
    """
    snapshot = kb._current()
    terms = query_terms(query)
    rows = snapshot._conn.execute(
        "SELECT rowid, bm25(fts, ?, ?) FROM fts WHERE fts MATCH ?",
        (HEADING_WEIGHT, TEXT_WEIGHT, _fts_query(terms)),
    ).fetchall()
    bm25 = sorted(((int(r) - 1, -float(s)) for r, s in rows), key=lambda item: -item[1])
    scores = snapshot.matrix @ vector
    order = np.argsort(-scores)
    dense = [(int(i), float(scores[i])) for i in order]
    rrf(bm25, dense, limit=k)


class NoEmbedder:
    """Stands in for the embedder when the benchmark supplies every vector itself."""

    def __init__(self, dim: int) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return 256

    @property
    def model_id(self) -> str:
        return ""  # random vectors: the class name says all there is

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise RuntimeError("the benchmark passes query vectors directly")

    def embed_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise RuntimeError("the benchmark passes passage vectors directly")

    def close(self) -> None:
        return None  # holds nothing


def _p(values: Sequence[float], pct: float) -> float:
    return percentile(values, pct) or 0.0


def query_embedding_ms(embedder: Embedder, queries: int) -> dict[str, float]:
    """p50/p95 ms of embedding one query at a time with the bot's embedder, after a warm-up."""
    texts = [QUERY_TEXT.format(w) for w in range(queries)]
    embedder.embed_queries(texts[:2])  # warm-up
    embed_ms: list[float] = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed_queries([text])
        embed_ms.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(_p(embed_ms, 50), 2), "p95_ms": round(_p(embed_ms, 95), 2)}


async def measure_size(
    settings: KBSettings, count: int, dim: int, rng: np.random.Generator, *, queries: int, runs: int, k: int
) -> dict[str, Any]:
    """One row of `bench retrieval`: build time, and per mode wall and CPU p50/p95 of the median run.

    Searches go through `search_vector`, the path the bot serves with (SQLite and numpy in a worker thread).
    """
    chunks, vectors = synthetic_corpus(count, dim)
    picks = rng.integers(0, count, size=queries)
    query_texts = [synthetic_query(chunks[int(i)].text, rng) for i in picks]
    query_vectors = rng.standard_normal((queries, dim)).astype(np.float32)
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp:
        kb = EmbeddedKB(settings, Path(tmp), NoEmbedder(dim))
        try:
            started = time.perf_counter()
            await asyncio.to_thread(build_from, kb, chunks, vectors)
            build_s = time.perf_counter() - started
            row: dict[str, Any] = {"chunks": count, "build_s": round(build_s, 2)}
            for mode in MODES:
                per_run = []
                for _ in range(runs):
                    latencies, cpu = [], []
                    for text, vector in zip(query_texts, query_vectors, strict=True):
                        t0, c0 = time.perf_counter(), time.process_time()
                        await kb.search_vector(text, vector, k, mode)
                        latencies.append((time.perf_counter() - t0) * 1000)
                        cpu.append((time.process_time() - c0) * 1000)
                    per_run.append((_p(latencies, 50), _p(latencies, 95), _p(cpu, 50), _p(cpu, 95)))
                per_run.sort(key=lambda item: item[1])
                p50, p95, cpu50, cpu95 = per_run[len(per_run) // 2]
                # CPU time is what the search costs without other processes competing for the cores.
                row[mode] = {
                    "p50_ms": round(p50, 2),
                    "p95_ms": round(p95, 2),
                    "cpu_p50_ms": round(cpu50, 2),
                    "cpu_p95_ms": round(cpu95, 2),
                }
            naive_runs = []
            for _ in range(runs):
                latencies = []
                for text, vector in zip(query_texts, query_vectors, strict=True):
                    t0 = time.perf_counter()
                    # In a worker thread like the bot's search, so both pay the same hand-off.
                    await asyncio.to_thread(naive_search, kb, text, vector, k)
                    latencies.append((time.perf_counter() - t0) * 1000)
                naive_runs.append((_p(latencies, 50), _p(latencies, 95)))
            naive_runs.sort(key=lambda pair: pair[1])
            p50, p95 = naive_runs[len(naive_runs) // 2]
            row["naive_hybrid"] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2)}
            row["speedup_p95"] = round(p95 / max(row["hybrid"]["p95_ms"], 1e-6), 2)
        finally:
            await kb.close()
    return row
