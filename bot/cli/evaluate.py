"""`eval answers` and `eval relevance`: the answer pipeline and the refusal gate on labelled questions."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import console, err_console, eval_app, fail, get_settings, print_json, run_async
from bot.cli.ask import Question, read_questions
from bot.config import Settings

if TYPE_CHECKING:
    from bot.domain import Answer

# -- eval answers / eval relevance ---------------------------------------------------------------------


def settings_for_source(settings: Settings, source: Path, data_dir: Path) -> Settings:
    """A private, embedded KB built from `source` in `data_dir`, with the same models as `settings`.

    An evaluation never reindexes the configured knowledge base (or an Elasticsearch alias).
    """
    from bot.llm.models import resolve_embedder_path, resolve_generator

    if not source.is_dir():
        fail(f"--source is not a folder: {source}")
    embedder = resolve_embedder_path(settings)
    model, lora = resolve_generator(settings)
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "kb": settings.kb.model_copy(update={"source": source}),
            "elasticsearch": settings.elasticsearch.model_copy(update={"url": ""}),
            "embeddings": settings.embeddings.model_copy(update={"model_path": embedder}),
            "llm": settings.llm.model_copy(update={"model_path": model, "lora_path": lora}),
        }
    )


@contextlib.contextmanager
def eval_settings(settings: Settings, source: Path | None) -> Iterator[Settings]:
    if source is None:
        yield settings
        return
    with tempfile.TemporaryDirectory(prefix="bot-eval-") as tmp:
        yield settings_for_source(settings, source, Path(tmp))


def gold_match(source: str, heading: str, item: Question) -> bool:
    return item.file is not None and source.endswith(item.file) and heading == item.heading


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@eval_app.command("answers")
def eval_answers(
    questions: Annotated[
        Path, typer.Option("--questions", help="Labelled JSONL: qid, question, file, heading.")
    ],
    source: Annotated[
        Path | None,
        typer.Option(
            "--source", help="Build a private embedded KB from this folder first (default: configured KB)."
        ),
    ] = None,
    limit: int = typer.Option(0, "--limit", min=0, help="Only the first N questions (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Refusal precision/recall, citation accuracy and timings of the full pipeline on labelled questions.

    A question whose `heading` is null should be refused. Citation accuracy counts answered, answerable
    questions whose gold entry (file + heading) is among the cited sources.
    """
    items = read_questions(questions)
    if limit:
        items = items[:limit]
    base = get_settings()

    async def _run() -> dict[str, Any]:
        from bot.services import Services

        with eval_settings(base, source) as settings:
            async with Services(settings) as services:
                if source is not None:
                    report = await services.kb().reload(source)
                    err_console.print(
                        f"indexed {report.chunks} chunks from {source} in {report.seconds:.1f} s"
                    )
                pipeline = services.pipeline()
                # Load the index, the embedder and the model before the clock starts for real questions.
                with contextlib.suppress(Exception):
                    await services.kb().search("warm-up", k=1)
                await pipeline.answer("warm-up", user_key="eval:warm-up")
                rows = []
                for n, item in enumerate(items, start=1):
                    answer = await pipeline.answer(item.question, user_key=f"eval:{item.qid}")
                    rows.append((item, answer))
                    err_console.print(
                        f"[dim]{n}/{len(items)} {item.qid} {answer.outcome} "
                        f"{answer.timings.total_ms:.0f} ms[/]",
                        highlight=False,
                    )
                return answers_report(rows)

    report = run_async(_run)
    if as_json:
        print_json(report)
        return
    print_answers_report(report)


def answers_report(rows: Sequence[tuple[Question, Answer]]) -> dict[str, Any]:
    unanswerable = [(q, a) for q, a in rows if q.heading is None]
    answerable = [(q, a) for q, a in rows if q.heading is not None]
    refused_unanswerable = sum(1 for _, a in unanswerable if a.refused)
    refused_answerable = sum(1 for _, a in answerable if a.refused)
    refused_total = refused_unanswerable + refused_answerable
    answered = [(q, a) for q, a in answerable if not a.refused]
    correct = [(q, a) for q, a in answered if any(gold_match(s.source, s.heading, q) for s in a.sources)]
    retrieved = [
        (q, a) for q, a in answered if any(gold_match(h.chunk.source, h.chunk.heading, q) for h in a.hits)
    ]

    def ratio(num: int, den: int) -> float | None:
        return round(num / den, 3) if den else None

    def timing(name: str) -> dict[str, float | None]:
        values = [getattr(a.timings, name) for _, a in rows]
        present = [v for v in values if v is not None]
        p50, p95 = percentile(present, 50), percentile(present, 95)
        return {"p50": None if p50 is None else round(p50, 1), "p95": None if p95 is None else round(p95, 1)}

    outcomes: dict[str, int] = {}
    for _, a in rows:
        outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
    return {
        "questions": len(rows),
        "unanswerable": len(unanswerable),
        "answerable": len(answerable),
        "refusal_recall": ratio(refused_unanswerable, len(unanswerable)),
        "refusal_precision": ratio(refused_unanswerable, refused_total),
        "false_refusal_rate": ratio(refused_answerable, len(answerable)),
        "citation_accuracy": ratio(len(correct), len(answered)),
        "gold_in_passages": ratio(len(retrieved), len(answered)),
        "inferred_citations": sum(1 for _, a in answered if a.citations_inferred),
        "outcomes": outcomes,
        "timings_ms": {name: timing(name) for name in ("retrieval_ms", "ttft_ms", "total_ms")},
        "misses": [
            {
                "qid": q.qid,
                "why": why,
                "outcome": a.outcome,
                "cited": [f"{s.source} › {s.heading}" for s in a.sources],
            }
            for q, a, why in (
                [(q, a, "not refused") for q, a in unanswerable if not a.refused]
                + [(q, a, "refused") for q, a in answerable if a.refused]
                + [(q, a, "wrong citation") for q, a in answered if (q, a) not in correct]
            )
        ],
    }


def print_answers_report(report: dict[str, Any]) -> None:
    def show(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    console.print(
        f"{report['questions']} questions: {report['answerable']} answerable, "
        f"{report['unanswerable']} should be refused",
        highlight=False,
    )
    console.print(
        f"refusal recall (unanswerable refused) : {show(report['refusal_recall'])}", highlight=False
    )
    console.print(
        f"refusal precision                     : {show(report['refusal_precision'])}", highlight=False
    )
    console.print(
        f"false refusals (answerable refused)   : {show(report['false_refusal_rate'])}", highlight=False
    )
    console.print(
        f"citation accuracy (answered)          : {show(report['citation_accuracy'])} "
        f"({report['inferred_citations']} citations added by overlap)",
        highlight=False,
    )
    console.print(
        f"gold passage given to the model       : {show(report['gold_in_passages'])}", highlight=False
    )
    console.print(f"outcomes: {report['outcomes']}", highlight=False)
    for name, values in report["timings_ms"].items():
        console.print(f"{name:<13} p50 {values['p50']}  p95 {values['p95']}", highlight=False)
    if report["misses"]:
        console.print("[bold]misses[/]")
        for miss in report["misses"]:
            console.print(
                f"  {miss['qid']}: {miss['why']} ({miss['outcome']}) {miss['cited']}", highlight=False
            )


@eval_app.command("relevance")
def eval_relevance(
    questions: Annotated[
        Path, typer.Option("--questions", help="Labelled JSONL: qid, question, file, heading.")
    ],
    source: Annotated[
        Path | None,
        typer.Option(
            "--source", help="Build a private embedded KB from this folder first (default: configured KB)."
        ),
    ] = None,
) -> None:
    """Fit the refusal model's weights on labelled questions (retrieval only, no generation).

    Prints the fitted weights for `bot/rag/relevance.py`, leave-one-out refusal figures for them, and the
    figures of the weights in use, at the configured threshold.
    """
    items = read_questions(questions)
    base = get_settings()

    async def _run() -> None:
        from bot.rag import relevance
        from bot.services import Services

        with eval_settings(base, source) as settings:
            async with Services(settings) as services:
                kb = services.kb()
                if source is not None:
                    await kb.reload(source)
                collected: list[relevance.Signals] = []
                labels: list[int] = []
                for item in items:
                    hits = await kb.search(item.question, k=settings.kb.top_k)
                    collected.append(relevance.signals(item.question, hits))
                    labels.append(0 if item.heading is None else 1)
        threshold = base.rag.min_relevance

        def figures(predict: list[float]) -> str:
            refuse = [p < threshold for p in predict]
            unans = [r for r, y in zip(refuse, labels, strict=True) if y == 0]
            ans = [r for r, y in zip(refuse, labels, strict=True) if y == 1]
            recall = sum(unans) / len(unans) if unans else float("nan")
            false = sum(ans) / len(ans) if ans else float("nan")
            return f"refusal recall {recall:.3f}, false refusals {false:.3f}"

        console.print(
            f"{len(labels)} questions ({labels.count(0)} unanswerable); threshold {threshold}",
            highlight=False,
        )
        names = relevance.SIGNAL_NAMES
        subsets = [names[: i + 1] for i in range(len(names))] + [(names[0], names[2])]
        for features in subsets:
            rows = [sig.vector(features) for sig in collected]
            fitted = relevance.fit_logistic(rows, labels)
            loo = []
            for i in range(len(rows)):
                weights = relevance.fit_logistic(rows[:i] + rows[i + 1 :], labels[:i] + labels[i + 1 :])
                loo.append(relevance.score(collected[i], weights, features))
            console.print(
                f"{'+'.join(features):<30} weights {fitted}; leave-one-out: {figures(loo)}", highlight=False
            )
        in_use = [relevance.score(sig) for sig in collected]
        console.print(
            f"in use: {'+'.join(relevance.FEATURES)} weights {relevance.WEIGHTS}; "
            f"on this set: {figures(in_use)}",
            highlight=False,
        )

    run_async(_run)
