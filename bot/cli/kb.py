"""Knowledge-base commands: `kb reload|search|stats`."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict
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
    load_questions,
    print_json,
    run_async,
)

if TYPE_CHECKING:
    from bot.domain import Hit
    from bot.evaluation.retrieval import RetrievalEval
    from bot.kb.base import ReloadProgress, ReloadReport, SearchMode

MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")


def _check_mode(mode: str) -> SearchMode:
    if mode not in MODES:
        fail(f"--mode must be one of hybrid, bm25, dense (got {mode!r})")
    return mode


@contextmanager
def _friendly_errors() -> Iterator[None]:
    """Turn the errors an operator can fix into one clear line instead of a traceback."""
    from bot.kb.base import KBUnavailableError, ReloadError
    from bot.llm.base import ModelError

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
    # A string, not a Path: typer makes `--source ''` the current directory, which would index whatever
    # folder the command runs in (a repository, a home folder) in place of the knowledge base.
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="FOLDER",
            help="This folder alone (default: BOT_KB__SOURCES, or BOT_KB__SOURCE).",
        ),
    ] = None,
    json_out: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Load, chunk and embed the knowledge sources into a new index, then swap it in atomically.

    Folders and websites (`BOT_KB__SOURCES`) are read incrementally: unchanged chunks keep their vectors,
    unchanged pages cost one conditional request. Files and pages that cannot be read are skipped with a
    reason; if a source cannot be read at all, nothing usable is left, or anything fails, the current
    index keeps serving.
    """
    if source is not None and not source.strip():
        fail(
            "--source is empty: give the knowledge folder to reload, "
            "or leave --source out to reload BOT_KB__SOURCES"
        )
    # Absolute: the index records the folder as its source, and "k1" would mean nothing from another folder.
    _reload_command(Path(source).absolute() if source is not None else None, [], json_out)


@kb_app.command("sync")
def kb_sync(
    url: Annotated[
        str | None,
        typer.Argument(help="A help-center page, site root or sitemap.xml to crawl along with the sources."),
    ] = None,
    json_out: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Crawl website sources into the knowledge base (same host only, robots.txt obeyed, page limit).

    Every configured source (`BOT_KB__SOURCES`) is refreshed too, so the index keeps all of them; pages
    that left a site leave the index. Prints the same report as `kb reload`.
    """
    from bot.config import website_url_problem
    from bot.kb.sources import is_site

    if url is not None and not is_site(url.strip()):
        fail(f"URL must start with http:// or https:// (got {url!r})")
    if url is not None and (problem := website_url_problem(url.strip())) is not None:
        fail(problem)
    _reload_command(None, [url.strip()] if url else [], json_out)


def _reload_command(folder: Path | None, extra: list[str], json_out: bool) -> None:
    settings = get_settings()

    async def run() -> dict[str, Any]:
        from bot.kb.base import ChangeCounts, ReloadChanges
        from bot.services import Services

        printer = _ProgressPrinter()
        async with Services(settings) as services:
            kb = services.kb()
            try:
                report = await kb.reload(folder or services.kb_sources(extra), printer)
            finally:
                printer.done()
            from bot.cli.answers import review_after_reload

            changes = report.changes or ReloadChanges(ChangeCounts(), ChangeCounts(), report.chunks)
            folders = [folder] if folder is not None else services.kb_folders()
            return {
                "backend": kb.name,
                "index": report.index,
                # Totals, and what changed against the index this one replaced (by path and content hash).
                "files": {"total": report.files, **asdict(changes.files)},
                "chunks": {"total": report.chunks, **asdict(changes.chunks)},
                "embedded": changes.embedded,
                "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
                "seconds": report.seconds,
                "sources": [
                    {**asdict(s), "redirects": [list(pair) for pair in s.redirects], "notes": list(s.notes)}
                    for s in report.sources
                ],
                # Approved answers whose cited article changed or went away (not served until reviewed).
                "needs_review": await review_after_reload(services, folders, report),
            }

    try:
        with _friendly_errors():
            result = run_async(run)
    except KeyboardInterrupt:
        # Ctrl-C ended the command without a word (exit 130): say where the knowledge base stands.
        fail(
            "reload interrupted: the knowledge base serves the index it served before, unless the new one "
            "was already swapped in (`kb stats` says which)",
            code=130,
        )
    unlisted = [name for name in extra if name not in settings.kb.source_list()]
    if unlisted:
        err_console.print(
            f"note: {', '.join(unlisted)} is not in BOT_KB__SOURCES: the next reload or scheduled refresh "
            "drops its pages. Add it there to keep it.",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if json_out:
        print_json(result)
        return
    console.print(
        f"Reloaded [bold]{result['files']['total']}[/] files into [bold]{result['chunks']['total']}[/] "
        f"chunks in {result['seconds']:.1f} s ({result['backend']}, index {result['index']}).",
        highlight=False,
    )
    kinds = ("added", "changed", "removed", "unchanged")
    for name in ("files", "chunks"):
        counts = ", ".join(f"{result[name][kind]} {kind}" for kind in kinds)
        console.print(f"{name.capitalize()}: {counts}.", highlight=False)
    kept = result["chunks"]["total"] - result["embedded"]
    others = f" (the other {kept} kept their vectors)" if kept > 0 else ""
    console.print(f"Embedded {result['embedded']} chunks{others}.", highlight=False)
    from bot.kb.base import SourceReport

    for row in result["sources"]:
        report = SourceReport(
            **{**row, "redirects": tuple(tuple(p) for p in row["redirects"]), "notes": tuple(row["notes"])}
        )
        console.print(f"Source {report.describe()}", highlight=False, markup=False, soft_wrap=True)
        for asked, landed in report.redirects[:10]:
            console.print(f"  redirected: {asked} -> {landed}", highlight=False, markup=False, soft_wrap=True)
    if result["skipped"]:
        console.print(f"Skipped {len(result['skipped'])} files or pages:", highlight=False)
        for skipped in result["skipped"]:
            console.print(f"  {skipped['path']}: {skipped['reason']}", highlight=False, markup=False)
    else:
        console.print("Skipped 0 files.")


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
    from bot.evaluation.questions import BadLine, QuestionsFileError, iter_questions

    search_mode = _check_mode(mode)
    if query is None and queries is None:
        fail("give a QUERY to search for, or --queries FILE.jsonl")
    if query is not None and queries is not None:
        fail("give a QUERY or --queries FILE.jsonl, not both")
    if query is not None and not query.strip():
        fail("the QUERY is empty; give the words to search for")
    try:
        batch = list(iter_questions(queries)) if queries is not None else []
    except QuestionsFileError as exc:
        fail(str(exc))
    if queries is not None and not batch:
        fail(f"--queries {queries}: no questions in it (one JSON object per line with a question)")
    settings = get_settings()

    async def run() -> int:
        from bot.kb.base import KBUnavailableError
        from bot.llm.base import ModelError
        from bot.services import Services

        errors = 0
        async with Services(settings) as services:
            asked = (
                [query] if query is not None else [i.question for i in batch if not isinstance(i, BadLine)]
            )
            kb = await services.warmed_kb(asked)
            if queries is None:
                assert query is not None  # noqa: S101 - checked above
                hits = await kb.search(query, k, search_mode)
                _print_hits(hits, json_out)
                return 0
            for item in batch:
                if isinstance(item, BadLine):
                    # A bad line is reported in place and the rest still run: one typo costs one answer.
                    errors += 1
                    print_json({"qid": item.qid, "hits": [], "error": f"line {item.line}: {item.reason}"})
                    continue
                try:
                    hits = await kb.search(item.question, k, search_mode)
                except (KBUnavailableError, ModelError) as exc:
                    # So is a search that failed (a timeout, an open circuit): the others may still answer.
                    errors += 1
                    _print_failed(item.qid, item.question, f"search failed: {exc}", json_out)
                    continue
                if json_out:
                    print_json({"qid": item.qid, "hits": [_hit_json(h) for h in hits]})
                else:
                    console.print(f"[bold]{item.qid}[/] {item.question}", highlight=False)
                    _print_hits(hits, False)
        return errors

    with _friendly_errors():
        errors = run_async(run)
    if errors:
        err_console.print(
            f"{errors} of {len(batch)} lines got no hits for a reason, each reported in its place "
            "(a bad line, or a search that failed)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _print_failed(qid: str, question: str, reason: str, json_out: bool) -> None:
    if json_out:
        print_json({"qid": qid, "hits": [], "error": reason})
        return
    console.print(f"[bold]{qid}[/] {question}", highlight=False)
    console.print(f"   {reason}", highlight=False, markup=False, soft_wrap=True)


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
            # What each folder or site gave the reload that built this index, and when.
            "sources": [
                {**asdict(s), "redirects": [list(pair) for pair in s.redirects], "notes": list(s.notes)}
                for s in stats.sources
            ],
            "describe_sources": [s.describe() for s in stats.sources],
        }

    with _friendly_errors():
        result = run_async(run)
    source_lines = result.pop("describe_sources")
    if json_out:
        print_json(result)
        return
    console.print(f"backend    {result['backend']}", highlight=False)
    console.print(f"index      {result['index']}", highlight=False)
    console.print(f"documents  {result['documents']}", highlight=False)
    console.print(f"chunks     {result['chunks']}", highlight=False)
    console.print(f"built at   {result['built_at'] or '-'}", highlight=False)
    for key, value in result["extra"].items():
        if key == "source" and source_lines:
            continue  # the lines below name each source, with what its last reload gave
        console.print(f"{key:<10} {value}", highlight=False, markup=False)
    for line in source_lines:
        console.print(f"{'source':<10} {line}", highlight=False, markup=False, soft_wrap=True)


# ----------------------------------------------------------------------------------------- evaluation


@eval_app.command("retrieval")
def eval_retrieval(
    source: Annotated[
        Path, typer.Option("--source", help="Folder of documents to index (a temporary index).")
    ],
    questions: Annotated[
        Path, typer.Option("--questions", help="JSONL with qid, question, file, heading[, anchor, lang].")
    ],
    k: int = typer.Option(10, "--k", min=5, max=100, help="Hits per question considered for MRR."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Index SOURCE into a temporary embedded index and report hit@1, hit@5 and MRR per search mode.

    A hit is a returned chunk whose source is the question's `file` (or ends with `/` + it) and whose
    heading, section numbers and punctuation aside, equals or contains its `heading`; or a chunk whose text
    contains its `anchor` (`bot.evaluation.scoring`). Questions without either are unanswerable and left out
    of the scores. The serving index is not touched.
    """
    settings = get_settings()
    records = load_questions(questions)
    if not any(q.answerable for q in records):
        fail(
            f"{questions} has no answerable question (none names a file and heading, or an anchor): "
            "retrieval is scored on those; `eval relevance` judges questions the documents do not answer"
        )
    if not source.is_dir():
        fail(f"--source {source} is not a folder")

    async def run() -> tuple[ReloadReport, RetrievalEval]:
        from bot.evaluation.retrieval import evaluate_retrieval
        from bot.services import Services, build_translator

        async with Services(settings) as services, services.scratch_kb() as kb:
            printer = _ProgressPrinter()
            try:
                report = await kb.reload(source, printer)
            finally:
                printer.done()
            return report, await evaluate_retrieval(
                kb, services.embedder(), records, k, translator=build_translator(settings)
            )

    with _friendly_errors():
        report, result = run_async(run)
    payload = {
        "questions": result.questions,
        "answerable": result.answerable,
        "k": k,
        "reload": {"files": report.files, "chunks": report.chunks, "seconds": report.seconds},
        "modes": {
            mode: {"hit@1": round(s.hit1, 4), "hit@5": round(s.hit5, 4), "mrr": round(s.mrr, 4)}
            for mode, s in result.modes.items()
        },
        "languages": {
            lang: {
                mode: {"hit@1": round(s.hit1, 4), "hit@5": round(s.hit5, 4), "mrr": round(s.mrr, 4)}
                for mode, s in by_mode.items()
            }
            for lang, by_mode in result.languages.items()
        },
        "misses": {mode: [asdict(miss) for miss in s.misses] for mode, s in result.modes.items()},
        "search_ms_p50": round(result.search_ms_p50, 2),
        "translated": result.translated,
        "corrected": result.corrected,
    }
    if json_out:
        print_json(payload)
        return
    console.print(
        f"{result.answerable} answerable of {result.questions} questions; index of {report.chunks} chunks "
        f"from {report.files} files built in {report.seconds:.1f} s",
        highlight=False,
    )
    if result.translated:
        console.print(
            f"{result.translated} answerable questions searched in translation (a language the documents "
            "are not written in; BOT_RAG__TRANSLATE_QUESTIONS)",
            highlight=False,
        )
    if result.corrected:
        console.print(
            f"{result.corrected} answerable questions searched with a typing slip corrected (a word the "
            "knowledge base never uses that is one slip from one it does)",
            highlight=False,
        )
    console.print(f"{'mode':<8} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}")
    for mode, s in result.modes.items():
        console.print(f"{mode:<8} {s.hit1:>6.3f} {s.hit5:>6.3f} {s.mrr:>6.3f}", highlight=False)
    if result.languages:
        console.print(f"\nper language{'':<3} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}  questions")
        for lang, by_mode in result.languages.items():
            count = sum(1 for q in records if q.answerable and (q.lang or "") == lang)
            for mode, s in by_mode.items():
                console.print(
                    f"{lang:<6} {mode:<8} {s.hit1:>6.3f} {s.hit5:>6.3f} {s.mrr:>6.3f}  {count or ''}",
                    highlight=False,
                )
    hybrid = result.modes["hybrid"]
    if hybrid.misses:
        console.print(f"\nhybrid misses (rank > 1 within top {k}):")
        for miss in hybrid.misses:
            rank = miss.rank if miss.rank is not None else "-"
            console.print(
                f"  {miss.qid} [{miss.lang}] rank {rank}: {miss.question[:70]}\n"
                f"      expected {miss.expected}\n      got      {miss.top}",
                highlight=False,
                markup=False,
            )


# ------------------------------------------------------------------------------------------ benchmark


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
    settings = get_settings()
    try:
        counts = [int(part) for part in sizes.split(",") if part.strip()]
    except ValueError:
        fail(f"--sizes must be comma-separated integers (got {sizes!r})")
    if not counts or any(c < 10 or c > 1_000_000 for c in counts):
        fail("--sizes must be between 10 and 1,000,000 chunks each")

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        import numpy as np

        from bot.devtools.retrieval_bench import measure_size, query_embedding_ms
        from bot.services import Services

        embed_stats: dict[str, Any] = {}
        dim = 384
        async with Services(settings) as services:
            try:
                embedder = await asyncio.to_thread(services.embedder)
            except Exception as exc:  # the search figures are still worth printing without the embedder
                embed_stats = {"error": f"embedder unavailable: {exc}"}
            else:
                dim = embedder.dim
                embed_stats = await asyncio.to_thread(query_embedding_ms, embedder, queries)
        rng = np.random.default_rng(11)
        rows = [
            await measure_size(settings.kb, count, dim, rng, queries=queries, runs=runs, k=k)
            for count in counts
        ]
        return embed_stats, rows

    embed_stats, results = run_async(run)
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
    with suppress(OSError):  # no load average on some platforms
        console.print(f"load average during the run: {os.getloadavg()[0]:.1f}", highlight=False)
    if "error" in embed_stats:
        err_console.print(f"query embedding: {embed_stats['error']}", highlight=False)
    else:
        console.print(
            f"query embedding (bot embedder, one query at a time): p50 {embed_stats['p50_ms']:.2f} ms, "
            f"p95 {embed_stats['p95_ms']:.2f} ms",
            highlight=False,
        )
