"""Knowledge-base commands: `kb reload|search|stats`, `eval retrieval` and `bench retrieval`."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import (
    bench_app,
    console,
    err_console,
    eval_app,
    fail,
    get_settings,
    kb_app,
    print_json,
    run_async,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from bot.config import Settings
    from bot.domain import Hit
    from bot.kb.base import Embedder, ReloadProgress, SearchMode
    from bot.kb.embedded import EmbeddedKB

MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")


def _check_mode(mode: str) -> SearchMode:
    if mode not in MODES:
        fail(f"--mode must be one of hybrid, bm25, dense (got {mode!r})")
    return mode


@contextmanager
def _friendly_errors() -> Iterator[None]:
    """Turn the errors an operator can fix into one clear line instead of a traceback."""
    from bot.kb.base import KBUnavailableError, ReloadError
    from bot.llm.models import ModelError

    try:
        yield
    except (KBUnavailableError, ReloadError, ModelError) as exc:
        fail(str(exc))


def _hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "source": hit.chunk.source,
        "heading": hit.chunk.heading,
        "score": round(hit.score, 6),
        "text": hit.chunk.text,
    }


class _ProgressPrinter:
    """Shows reload stages on stderr (one updating line on a terminal), so stdout stays clean for --json."""

    def __init__(self) -> None:
        self._last_stage = ""
        self._tty = sys.stderr.isatty()

    def __call__(self, progress: ReloadProgress) -> None:
        label = f"{progress.stage}" + (f" {progress.done}/{progress.total}" if progress.total else "")
        if self._tty:
            sys.stderr.write(f"\r\x1b[2K{label}")
            sys.stderr.flush()
        elif progress.stage != self._last_stage:
            sys.stderr.write(f"{progress.stage}...\n")
        self._last_stage = progress.stage

    def done(self) -> None:
        if self._tty and self._last_stage:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


# ------------------------------------------------------------------------------------------------- kb


@kb_app.command("reload")
def kb_reload(
    source: Annotated[
        Path | None, typer.Option("--source", help="Knowledge folder (default: BOT_KB__SOURCE).")
    ] = None,
    json_out: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Load, chunk and embed the knowledge folder into a new index, then swap it in atomically.

    Files that cannot be read are skipped with a reason; if nothing usable is left, or anything fails,
    the current index keeps serving.
    """
    settings = get_settings()
    folder = source or settings.kb.source

    async def run() -> dict[str, Any]:
        from bot.services import Services

        printer = _ProgressPrinter()
        async with Services(settings) as services:
            kb = services.kb()
            try:
                report = await kb.reload(folder, printer)
            finally:
                printer.done()
            return {
                "backend": kb.name,
                "index": report.index,
                "files": report.files,
                "chunks": report.chunks,
                "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
                "seconds": report.seconds,
            }

    with _friendly_errors():
        result = run_async(run)
    if json_out:
        print_json(result)
        return
    console.print(
        f"Reloaded [bold]{result['files']}[/] files into [bold]{result['chunks']}[/] chunks "
        f"in {result['seconds']:.1f} s ({result['backend']}, index {result['index']}).",
        highlight=False,
    )
    if result["skipped"]:
        console.print(f"Skipped {len(result['skipped'])} files:", highlight=False)
        for skipped in result["skipped"]:
            console.print(f"  {skipped['path']}: {skipped['reason']}", highlight=False, markup=False)
    else:
        console.print("Skipped 0 files.")


def _read_queries(path: Path) -> Iterator[tuple[Any, str | None, str | None]]:
    """(qid, question, error) per non-empty line of a JSONL file."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"line-{number}", None, f"line {number}: invalid JSON ({exc.msg})"
                continue
            if not isinstance(record, dict):
                yield f"line-{number}", None, f"line {number}: expected an object with qid and question"
                continue
            qid = record.get("qid", f"line-{number}")
            question = record.get("question")
            if not isinstance(question, str) or not question.strip():
                yield qid, None, f"line {number}: missing 'question'"
                continue
            yield qid, question, None


@kb_app.command("search")
def kb_search(
    query: str | None = typer.Argument(None, help="The question to search for."),
    k: int = typer.Option(5, "--k", min=1, max=100, help="Number of hits."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, bm25 or dense."),
    queries: Annotated[
        Path | None,
        typer.Option(
            "--queries", help="JSONL file with qid and question per line: prints one result line each."
        ),
    ] = None,
    json_out: bool = typer.Option(False, "--json", help="Print JSON: {'hits': [...]} (one line per query)."),
) -> None:
    """Search the knowledge base, best hit first."""
    search_mode = _check_mode(mode)
    if (query is None) == (queries is None):
        fail("give either a QUERY or --queries FILE.jsonl (not both)")
    settings = get_settings()

    async def run() -> int:
        from bot.services import Services

        errors = 0
        async with Services(settings) as services:
            kb = services.kb()
            if queries is None:
                assert query is not None  # noqa: S101 - checked above
                hits = await kb.search(query, k, search_mode)
                _print_hits(hits, json_out)
                return 0
            for qid, question, error in _read_queries(queries):
                if error is not None or question is None:
                    errors += 1
                    print_json({"qid": qid, "hits": [], "error": error})
                    continue
                hits = await kb.search(question, k, search_mode)
                if json_out:
                    print_json({"qid": qid, "hits": [_hit_json(h) for h in hits]})
                else:
                    console.print(f"[bold]{qid}[/] {question}", highlight=False)
                    _print_hits(hits, False)
        return errors

    with _friendly_errors():
        errors = run_async(run)
    if errors:
        raise typer.Exit(1)


def _print_hits(hits: Sequence[Hit], json_out: bool) -> None:
    if json_out:
        print_json({"hits": [_hit_json(h) for h in hits]})
        return
    if not hits:
        console.print("No hits.")
        return
    for hit in hits:
        snippet = " ".join(hit.chunk.text.split())[:160]
        console.print(
            f"[bold]{hit.rank}.[/] [cyan]{hit.chunk.source}[/] — {hit.chunk.heading}  "
            f"[dim]score {hit.score:.4f}[/]",
            highlight=False,
        )
        console.print(f"   {snippet}", highlight=False, markup=False)


@kb_app.command("stats")
def kb_stats(json_out: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Show the serving index: backend, documents, chunks and when it was built."""
    settings = get_settings()

    async def run() -> dict[str, Any]:
        from bot.services import Services

        async with Services(settings) as services:
            stats = await services.kb().stats()
        return {
            "backend": stats.backend,
            "index": stats.index,
            "documents": stats.documents,
            "chunks": stats.chunks,
            "built_at": stats.built_at,
            "extra": stats.extra,
        }

    with _friendly_errors():
        result = run_async(run)
    if json_out:
        print_json(result)
        return
    console.print(f"backend    {result['backend']}", highlight=False)
    console.print(f"index      {result['index']}", highlight=False)
    console.print(f"documents  {result['documents']}", highlight=False)
    console.print(f"chunks     {result['chunks']}", highlight=False)
    console.print(f"built at   {result['built_at'] or '-'}", highlight=False)
    for key, value in result["extra"].items():
        console.print(f"{key:<10} {value}", highlight=False, markup=False)


# ----------------------------------------------------------------------------------------- evaluation


@dataclass
class ModeScores:
    hit1: float
    hit5: float
    mrr: float
    misses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RetrievalEval:
    questions: int
    answerable: int
    modes: dict[str, ModeScores]
    search_ms_p50: float


def is_hit(hit: Hit, file: str, heading: str) -> bool:
    """A returned chunk answers the question when its source ends with the file and the heading matches."""
    source = hit.chunk.source
    return (source == file or source.endswith("/" + file)) and hit.chunk.heading == heading


def load_questions(path: Path) -> list[dict[str, Any]]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("question"), str):
            raise ValueError(f"{path}:{number}: needs 'question' (and 'file', 'heading', or null)")
        out.append(record)
    return out


def evaluate_retrieval(
    kb: EmbeddedKB, embedder: Embedder, questions: Sequence[dict[str, Any]], k: int = 10
) -> RetrievalEval:
    """hit@1, hit@5 and MRR@k of each mode over the answerable questions; misses listed per mode."""
    answerable = [q for q in questions if q.get("file") and q.get("heading")]
    vectors = embedder.embed([q["question"] for q in answerable]) if answerable else None
    modes: dict[str, ModeScores] = {}
    timings: list[float] = []
    for mode in MODES:
        hit1 = hit5 = 0
        reciprocal = 0.0
        misses = []
        for row, q in enumerate(answerable):
            started = time.perf_counter()
            hits = kb.search_vector(q["question"], vectors[row] if vectors is not None else None, k, mode)
            timings.append((time.perf_counter() - started) * 1000)
            rank = next((h.rank for h in hits if is_hit(h, q["file"], q["heading"])), None)
            if rank is not None:
                reciprocal += 1.0 / rank
                hit1 += rank == 1
                hit5 += rank <= 5
            if rank != 1:
                misses.append(
                    {
                        "qid": q.get("qid"),
                        "rank": rank,
                        "question": q["question"],
                        "expected": f"{q['file']} :: {q['heading']}",
                        "top": f"{hits[0].chunk.source} :: {hits[0].chunk.heading}" if hits else None,
                    }
                )
        n = max(1, len(answerable))
        modes[mode] = ModeScores(hit1=hit1 / n, hit5=hit5 / n, mrr=reciprocal / n, misses=misses)
    return RetrievalEval(
        questions=len(questions),
        answerable=len(answerable),
        modes=modes,
        search_ms_p50=statistics.median(timings) if timings else 0.0,
    )


def _load_embedder(settings: Settings) -> Embedder:
    from bot.services import Services

    return Services(settings).embedder()


@eval_app.command("retrieval")
def eval_retrieval(
    source: Annotated[
        Path, typer.Option("--source", help="Folder of documents to index (a temporary index).")
    ],
    questions: Annotated[Path, typer.Option("--questions", help="JSONL with qid, question, file, heading.")],
    k: int = typer.Option(10, "--k", min=5, max=100, help="Hits per question considered for MRR."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Index SOURCE into a temporary embedded index and report hit@1, hit@5 and MRR per search mode.

    A hit is a returned chunk whose source ends with the question's `file` and whose heading equals its
    `heading`; questions with a null file are unanswerable and left out of the scores. The serving index is
    not touched.
    """
    settings = get_settings()
    try:
        records = load_questions(questions)
    except ValueError as exc:
        fail(str(exc))
    if not source.is_dir():
        fail(f"--source {source} is not a folder")

    with _friendly_errors(), tempfile.TemporaryDirectory(prefix="bot-eval-") as tmp:
        from bot.kb.embedded import EmbeddedKB

        embedder = _load_embedder(settings)
        scratch = settings.model_copy(update={"data_dir": Path(tmp)})
        kb = EmbeddedKB(scratch, embedder)
        printer = _ProgressPrinter()
        report = run_async(lambda: kb.reload(source, printer))
        printer.done()
        result = evaluate_retrieval(kb, embedder, records, k)
        run_async(kb.close)
        close = getattr(embedder, "close", None)
        if close is not None:
            close()
    payload = {
        "questions": result.questions,
        "answerable": result.answerable,
        "k": k,
        "reload": {"files": report.files, "chunks": report.chunks, "seconds": report.seconds},
        "modes": {
            mode: {"hit@1": round(s.hit1, 4), "hit@5": round(s.hit5, 4), "mrr": round(s.mrr, 4)}
            for mode, s in result.modes.items()
        },
        "misses": {mode: s.misses for mode, s in result.modes.items()},
        "search_ms_p50": round(result.search_ms_p50, 2),
    }
    if json_out:
        print_json(payload)
        return
    console.print(
        f"{result.answerable} answerable of {result.questions} questions; index of {report.chunks} chunks "
        f"from {report.files} files built in {report.seconds:.1f} s",
        highlight=False,
    )
    console.print(f"{'mode':<8} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}")
    for mode, s in result.modes.items():
        console.print(f"{mode:<8} {s.hit1:>6.3f} {s.hit5:>6.3f} {s.mrr:>6.3f}", highlight=False)
    hybrid = result.modes["hybrid"]
    if hybrid.misses:
        console.print(f"\nhybrid misses (rank > 1 within top {k}):")
        for miss in hybrid.misses:
            rank = miss["rank"] if miss["rank"] is not None else "-"
            console.print(
                f"  {miss['qid']} rank {rank}: {miss['question'][:70]}\n"
                f"      expected {miss['expected']}\n      got      {miss['top']}",
                highlight=False,
                markup=False,
            )


# ------------------------------------------------------------------------------------------ benchmark


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def synthetic_corpus(n: int, dim: int, seed: int = 7) -> tuple[list[Any], npt.NDArray[np.float32]]:
    """`n` chunks of Zipf-distributed words (like real text), 50 sections per file, random unit vectors."""
    import hashlib

    import numpy as np

    from bot.domain import Chunk

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


def _synthetic_query(text: str, rng: Any) -> str:
    """Six words of a chunk, leaving out the 100 most frequent (real queries lose those as stop words)."""
    words = [w for w in text.split() if int(w[1:]) >= 100] or text.split()
    picked = rng.choice(len(words), size=min(6, len(words)), replace=False)
    return " ".join(words[int(i)] for i in sorted(picked))


def _naive_search(kb: EmbeddedKB, query: str, vector: npt.NDArray[np.float32], k: int) -> None:
    """Baseline: every BM25 match pulled from SQLite and a full sort of every cosine, fused in Python."""
    import numpy as np

    from bot.kb.embedded import HEADING_WEIGHT, TEXT_WEIGHT, _fts_query
    from bot.kb.fusion import query_terms, rrf

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


@bench_app.command("retrieval")
def bench_retrieval(
    sizes: str = typer.Option(
        "1000,10000,50000", help="Comma-separated chunk counts of the synthetic index."
    ),
    queries: int = typer.Option(50, min=5, max=10000, help="Queries per run."),
    runs: int = typer.Option(3, min=1, max=20, help="Runs per size; the median run is reported."),
    k: int = typer.Option(5, min=1, max=100, help="Hits per search."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Search latency p50/p95 of the embedded backend on synthetic indexes, excluding query embedding.

    Query embedding with the bot's embedder is timed separately. The baseline, measured in the same run,
    pulls every BM25 match and fully sorts every cosine before fusing.
    """
    import numpy as np

    from bot.kb.embedded import EmbeddedKB

    settings = get_settings()
    try:
        counts = [int(part) for part in sizes.split(",") if part.strip()]
    except ValueError:
        fail(f"--sizes must be comma-separated integers (got {sizes!r})")
    if not counts or any(c < 10 or c > 1_000_000 for c in counts):
        fail("--sizes must be between 10 and 1,000,000 chunks each")

    embed_stats: dict[str, Any] = {}
    dim = 384
    try:
        embedder = _load_embedder(settings)
    except Exception as exc:  # the search figures are still worth printing without the embedder
        embed_stats = {"error": f"embedder unavailable: {exc}"}
    else:
        dim = embedder.dim
        texts = [f"how do I change the {w} settings of my account and keep my data?" for w in range(queries)]
        embedder.embed(texts[:2])  # warm-up
        embed_ms: list[float] = []
        for text in texts:
            started = time.perf_counter()
            embedder.embed([text])
            embed_ms.append((time.perf_counter() - started) * 1000)
        embed_stats = {
            "p50_ms": round(_percentile(embed_ms, 50), 2),
            "p95_ms": round(_percentile(embed_ms, 95), 2),
        }
        close = getattr(embedder, "close", None)
        if close is not None:
            close()

    rng = np.random.default_rng(11)
    results = []
    for count in counts:
        chunks, vectors = synthetic_corpus(count, dim)
        picks = rng.integers(0, count, size=queries)
        query_texts = [_synthetic_query(chunks[int(i)].text, rng) for i in picks]
        query_vectors = rng.standard_normal((queries, dim)).astype(np.float32)
        query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
        with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp:
            kb = EmbeddedKB(settings.model_copy(update={"data_dir": Path(tmp)}), _NoEmbedder(dim))
            started = time.perf_counter()
            kb.build_from(chunks, vectors)
            build_s = time.perf_counter() - started
            row: dict[str, Any] = {"chunks": count, "build_s": round(build_s, 2)}
            for mode in MODES:
                per_run = []
                for _ in range(runs):
                    latencies, cpu = [], []
                    for text, vector in zip(query_texts, query_vectors, strict=True):
                        t0, c0 = time.perf_counter(), time.process_time()
                        kb.search_vector(text, vector, k, mode)
                        latencies.append((time.perf_counter() - t0) * 1000)
                        cpu.append((time.process_time() - c0) * 1000)
                    per_run.append(
                        (
                            _percentile(latencies, 50),
                            _percentile(latencies, 95),
                            _percentile(cpu, 50),
                            _percentile(cpu, 95),
                        )
                    )
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
                    _naive_search(kb, text, vector, k)
                    latencies.append((time.perf_counter() - t0) * 1000)
                naive_runs.append((_percentile(latencies, 50), _percentile(latencies, 95)))
            naive_runs.sort(key=lambda pair: pair[1])
            p50, p95 = naive_runs[len(naive_runs) // 2]
            row["naive_hybrid"] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2)}
            row["speedup_p95"] = round(p95 / max(row["hybrid"]["p95_ms"], 1e-6), 2)
            run_async(kb.close)
        results.append(row)
    payload = {"k": k, "queries": queries, "runs": runs, "query_embedding": embed_stats, "sizes": results}
    if json_out:
        print_json(payload)
        return
    console.print(
        f"embedded backend, {queries} queries x {runs} runs (median run), k={k}; excludes query embedding",
        highlight=False,
    )
    console.print(
        f"{'chunks':>7} {'build s':>8} | {'hybrid p50/p95 ms':>18} | {'bm25 p50/p95':>13} | "
        f"{'dense p50/p95':>13} | {'naive hybrid p95':>16} | {'speed-up':>8}"
    )
    for row in results:
        console.print(
            f"{row['chunks']:>7} {row['build_s']:>8.1f} | "
            f"{row['hybrid']['p50_ms']:>8.2f} / {row['hybrid']['p95_ms']:<7.2f} | "
            f"{row['bm25']['p50_ms']:>5.2f} / {row['bm25']['p95_ms']:<5.2f} | "
            f"{row['dense']['p50_ms']:>5.2f} / {row['dense']['p95_ms']:<5.2f} | "
            f"{row['naive_hybrid']['p95_ms']:>16.2f} | {row['speedup_p95']:>7.1f}x",
            highlight=False,
        )
    for row in results:
        console.print(
            f"{row['chunks']:>7} chunks, CPU time per search (excludes waiting for a core): "
            + ", ".join(
                f"{m} p50 {row[m]['cpu_p50_ms']:.2f} / p95 {row[m]['cpu_p95_ms']:.2f} ms" for m in MODES
            ),
            highlight=False,
        )
    try:
        import os

        console.print(f"load average during the run: {os.getloadavg()[0]:.1f}", highlight=False)
    except OSError:
        pass
    if "error" in embed_stats:
        err_console.print(f"query embedding: {embed_stats['error']}", highlight=False)
    else:
        console.print(
            f"query embedding (bot embedder, one query at a time): p50 {embed_stats['p50_ms']:.2f} ms, "
            f"p95 {embed_stats['p95_ms']:.2f} ms",
            highlight=False,
        )


class _NoEmbedder:
    """Stands in for the embedder when the benchmark supplies every vector itself."""

    def __init__(self, dim: int) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return 256

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise RuntimeError("the benchmark passes query vectors directly")
