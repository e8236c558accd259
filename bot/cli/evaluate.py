"""`eval answers` and `eval relevance`: the answer pipeline and the refusal gate on labelled questions."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import (
    console,
    err_console,
    eval_app,
    fail,
    get_settings,
    load_questions,
    print_json,
    run_async,
    warn,
)

if TYPE_CHECKING:
    from bot.evaluation.questions import Question
    from bot.kb.base import KBStats, KnowledgeBase
    from bot.kb.calibration import Calibration, Signals
    from bot.services import Services

QuestionsOption = Annotated[
    Path, typer.Option("--questions", help="Labelled JSONL: qid, question, file, heading[, anchor, lang].")
]
SourceOption = Annotated[
    Path | None,
    typer.Option(
        "--source", help="Build a private embedded KB from this folder first (default: configured KB)."
    ),
]

CompareOption = Annotated[
    Path | None,
    typer.Option(
        "--compare",
        help="An earlier run's `--json` report (another backend, another version): print which questions "
        "got the same decision in both runs and which did not.",
    ),
]


def check_source(source: Path | None) -> None:
    if source is not None and not source.is_dir():
        fail(f"--source is not a folder: {source}")


@contextlib.asynccontextmanager
async def evaluated_kb(services: Services, source: Path | None) -> AsyncIterator[KnowledgeBase]:
    """The configured knowledge base or, with `source`, a private embedded one (empty until reloaded) behind
    the same search deadline. An evaluation never reindexes the configured one (or an Elasticsearch alias).
    """
    if source is None:
        yield services.kb()
        return
    from bot.kb.breaker import BreakerKB

    async with services.scratch_kb() as kb:
        yield BreakerKB(kb, timeout_s=services.settings.kb.search_timeout_s)


def warn_if_unlabelled(path: Path, items: Sequence[Question]) -> None:
    """A file none of whose questions names its gold section is most likely one written for `ask
    --questions`: each question is scored as one to refuse, which a set of off-topic questions means, but
    a set of answerable ones scored that way reads as a broken bot."""
    if items and not any(q.answerable for q in items):
        warn(
            f"{path} has no answerable question (none names a file and heading, or an anchor): every "
            "question is scored as one the bot should refuse"
        )


@eval_app.command("answers")
def eval_answers(
    questions: QuestionsOption,
    source: SourceOption = None,
    limit: int = typer.Option(0, "--limit", min=0, help="Only the first N questions (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Refusal precision/recall, citation accuracy and timings of the full pipeline on labelled questions.

    A question without a gold section (file + heading, or anchor) should be refused. Citation accuracy counts
    answered, answerable questions that cite the gold section (see `bot.evaluation.scoring`).
    """
    items = load_questions(questions)
    if limit:
        items = items[:limit]
    warn_if_unlabelled(questions, items)
    base = get_settings()
    check_source(source)

    async def _run() -> dict[str, Any]:
        from dataclasses import replace

        from bot.evaluation.answers import answers_report
        from bot.language import detect_message_language, normalize
        from bot.services import Services, build_pipeline

        async with Services(base) as services, evaluated_kb(services, source) as kb:
            pipeline = build_pipeline(base, kb, services.generator())
            if source is not None:
                report = await kb.reload(source)
                err_console.print(f"indexed {report.chunks} chunks from {source} in {report.seconds:.1f} s")
            # Load the index, the embedder and the model before the clock starts for real questions.
            with contextlib.suppress(Exception):
                await kb.search("warm-up", k=1)
            await pipeline.answer("warm-up", user_key="eval:warm-up")
            rows = []
            kb_languages = await pipeline.kb_languages()
            for n, item in enumerate(items, start=1):
                # As the conversation service does: the language the question is written in, detected, the
                # knowledge base's languages the prior for a short question.
                language = detect_message_language(item.question, kb_languages=kb_languages)
                answer = await pipeline.answer(item.question, user_key=f"eval:{item.qid}", language=language)
                # Reported under its label, else the language it was answered in (not "und").
                rows.append((item if item.lang else replace(item, lang=normalize(language)), answer))
                err_console.print(
                    f"[dim]{n}/{len(items)} {item.qid} {answer.outcome} {answer.timings.total_ms:.0f} ms[/]",
                    highlight=False,
                )
            return answers_report(rows)

    report = run_async(_run)
    if as_json:
        print_json(report)
        return
    print_answers_report(report)


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
    console.print(f"gold section cited or in 'see also'   : {show(report['gold_shown'])}", highlight=False)
    unsure = report["unsure"]
    console.print(
        "said it may not be what was asked     : "
        f"{show(unsure['unanswerable_answered'])} of unanswerable answered, "
        f"{show(unsure['wrong_citation'])} of wrong citations, "
        f"{show(unsure['right_citation'])} of right ones",
        highlight=False,
    )
    console.print(f"outcomes: {report['outcomes']}", highlight=False)
    if len(report.get("languages", {})) > 1:
        for lang, figures in report["languages"].items():
            console.print(
                f"{lang}: {figures['questions']} questions; "
                f"refusal recall {show(figures['refusal_recall'])}, "
                f"false refusals {show(figures['false_refusal_rate'])}, "
                f"citation accuracy {show(figures['citation_accuracy'])}; {figures['outcomes']}",
                highlight=False,
            )
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
    questions: QuestionsOption,
    source: SourceOption = None,
    compare: CompareOption = None,
    as_json: bool = typer.Option(
        False, "--json", help="Print the report as JSON, with each question's decision under `questions`."
    ),
) -> None:
    """Fit the refusal model's weights on labelled questions (retrieval only, no generation).

    Prints weights fitted on these questions with leave-one-out refusal figures, for checking, and the
    figures of the gate the knowledge base's reload fitted (the one that serves), at the configured
    threshold; `--json` adds that gate's decision on every question.
    """
    items = load_questions(questions)
    warn_if_unlabelled(questions, items)
    base = get_settings()
    check_source(source)
    from bot.evaluation.relevance import (
        collect_signals,
        compare_decisions,
        decide,
        decisions_from_report,
        fit_relevance,
        refusal_counts,
    )

    earlier = None
    if compare is not None:  # read before the slow part: a wrong file fails at once
        try:
            earlier = decisions_from_report(json.loads(compare.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            fail(f"--compare {compare}: {exc}")

    async def _run() -> tuple[list[Signals], list[int], Calibration, KBStats]:
        from bot.services import Services, build_translator

        async with Services(base) as services, evaluated_kb(services, source) as kb:
            if source is not None:
                await kb.reload(source)
            collected, labels = await collect_signals(
                kb,
                items,
                base.kb.top_k,
                unknown_names=base.rag.refuse_unknown_names,
                translator=build_translator(base),
            )
            return collected, labels, await kb.calibration(), await kb.stats()

    collected, labels, calibration, stats = run_async(_run)
    threshold = base.rag.min_relevance
    fit = fit_relevance(collected, labels, threshold, calibration.gate)
    decisions = decide(items, collected, calibration.gate, threshold)
    counts = refusal_counts(decisions)
    agreement = None
    if earlier is not None:
        try:
            agreement = compare_decisions(decisions, earlier)
        except ValueError as exc:
            fail(f"--compare {compare}: {exc}")
    gate = calibration.gate
    origin = "fitted by the reload" if calibration.gate_fitted else calibration.reason
    if as_json:

        def rate(value: float) -> float | None:
            return None if math.isnan(value) else round(value, 4)

        report: dict[str, Any] = {
            "backend": stats.backend,
            "index": stats.index,
            "total": fit.questions,
            "unanswerable": fit.unanswerable,
            "threshold": threshold,
            "fits": [
                {
                    "features": list(subset.features),
                    "weights": list(subset.weights),
                    "leave_one_out": {
                        "refusal_recall": rate(subset.leave_one_out.recall),
                        "false_refusals": rate(subset.leave_one_out.false_refusals),
                    },
                }
                for subset in fit.subsets
            ],
            "in_use": {
                "fitted": calibration.fitted,
                "origin": origin,
                "features": list(gate.features),
                "weights": [round(w, 3) for w in gate.weights],
                "refusal_recall": rate(fit.in_use.recall),
                "false_refusals": rate(fit.in_use.false_refusals),
                "unanswerable_refused": counts.unanswerable_refused,
                "answerable_refused": counts.answerable_refused,
            },
            "questions": [d.to_dict() for d in decisions],
        }
        if agreement is not None:
            report["comparison"] = {"other": str(compare), **agreement.to_dict()}
        print_json(report)
        return
    console.print(
        f"{fit.questions} questions ({fit.unanswerable} unanswerable); threshold {fit.threshold}; "
        f"{stats.backend} index {stats.index}",
        highlight=False,
    )
    if not fit.subsets:
        console.print(
            "no weights fitted on these questions: that needs two answerable and two unanswerable ones",
            highlight=False,
        )
    for subset in fit.subsets:
        console.print(
            f"{'+'.join(subset.features):<30} weights {subset.weights}; leave-one-out: "
            f"{subset.leave_one_out}",
            highlight=False,
        )
    console.print(
        f"in use ({origin}): {'+'.join(gate.features)} weights "
        f"{tuple(round(w, 3) for w in gate.weights)}; on this set: {fit.in_use} ({counts})",
        highlight=False,
    )
    if agreement is not None:
        console.print(f"against {compare}: {agreement}", highlight=False)
        for label, rows in (
            ("refused here, answered there", agreement.refused_here_only),
            ("answered here, refused there", agreement.answered_here_only),
        ):
            for row in rows:
                kind = "answerable" if row.answerable else "unanswerable"
                console.print(
                    f"  {label}: {row.qid} ({kind}) probability {row.here.probability:.3f} here, "
                    f"{row.there.probability:.3f} there",
                    highlight=False,
                )
        if agreement.missing_there or agreement.missing_here:
            console.print(
                f"  not compared: {len(agreement.missing_there)} asked only here, "
                f"{len(agreement.missing_here)} only there",
                highlight=False,
            )
