"""`ask`, `chat`, `eval answers`, `eval relevance`, `bench generation`: the answer pipeline in a terminal."""

from __future__ import annotations

import contextlib
import getpass
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import (
    app,
    bench_app,
    console,
    err_console,
    eval_app,
    fail,
    get_settings,
    print_json,
    run_async,
)
from bot.config import Settings

if TYPE_CHECKING:
    from bot.domain import Answer, Turn
    from bot.rag.pipeline import Pipeline
    from bot.services import Services
    from bot.store.base import ConversationLog

CHANNEL = "console"


# -- shared helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    file: str | None = None
    heading: str | None = None


def read_questions(path: Path) -> list[Question]:
    """Read JSONL lines of `{"qid", "question"[, "file", "heading"]}`; fail naming the line of bad input."""
    if not path.is_file():
        fail(f"questions file not found: {path}")
    questions: list[Question] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                fail(f"{path}:{number}: not valid JSON ({exc.msg})")
            if not isinstance(row, dict) or not isinstance(row.get("question"), str):
                fail(f'{path}:{number}: expected an object with a "question" string')
            qid = row.get("qid", number)
            file, heading = row.get("file"), row.get("heading")
            questions.append(
                Question(
                    qid=str(qid),
                    question=row["question"],
                    file=file if isinstance(file, str) else None,
                    heading=heading if isinstance(heading, str) else None,
                )
            )
    if not questions:
        fail(f"{path}: no questions")
    return questions


def answer_json(answer: Answer, conversation_id: int | None) -> dict[str, Any]:
    """The exact shape other tools parse (see the README)."""
    return {
        "answer": answer.text,
        "grounded": answer.grounded,
        "sources": [{"source": s.source, "heading": s.heading} for s in answer.sources],
        "timings": {
            "retrieval_ms": round(answer.timings.retrieval_ms, 1),
            "ttft_ms": None if answer.timings.ttft_ms is None else round(answer.timings.ttft_ms, 1),
            "total_ms": round(answer.timings.total_ms, 1),
        },
        "conversation_id": conversation_id,
    }


def print_answer(answer: Answer, conversation_id: int | None) -> None:
    console.print(answer.text, markup=False, highlight=False)
    for n, source in enumerate(answer.sources, start=1):
        heading = f" › {source.heading}" if source.heading else ""
        url = f" <{source.url}>" if source.url else ""
        console.print(f"  [{n}] {source.source}{heading}{url}", markup=False, highlight=False)
    first = "-" if answer.timings.ttft_ms is None else f"{answer.timings.ttft_ms:.0f} ms"
    conv = f", conversation {conversation_id}" if conversation_id is not None else ""
    console.print(
        f"[dim]{answer.outcome}; retrieval {answer.timings.retrieval_ms:.0f} ms, first token {first}, "
        f"total {answer.timings.total_ms:.0f} ms{conv}[/]",
        highlight=False,
    )


def console_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "console"


async def open_log(services: Services) -> ConversationLog | None:
    """The conversation log when it can be used; otherwise one warning and answers go unlogged."""
    try:
        return await services.conversation_log()
    except Exception as exc:
        err_console.print(
            f"[yellow]warning:[/] conversations are not logged: {type(exc).__name__}: {exc}", highlight=False
        )
        return None


class Conversation:
    """One console conversation: history from the log, and every turn written to it when available."""

    def __init__(self, store: ConversationLog | None, settings: Settings, user: str) -> None:
        self._store = store
        self._settings = settings
        self._user = user
        self.id: int | None = None
        self._local: list[Turn] = []

    async def start(self, conversation_id: int | None = None) -> None:
        self._local = []
        self.id = None
        if self._store is None:
            if conversation_id is not None:
                fail("--conversation needs the conversation log, which is not available")
            return
        if conversation_id is not None:
            ref = await self._store.get_conversation(conversation_id)
            if ref is None:
                fail(f"conversation {conversation_id} not found")
            self.id = ref.id
            return
        ref = await self._store.open_conversation(
            channel="console",
            external_user_id=self._user,
            external_chat_id=f"{CHANNEL}:{self._user}",
            new=True,
        )
        self.id = ref.id

    async def history(self) -> list[Turn]:
        limit = self._settings.rag.history_turns
        if self._store is not None and self.id is not None:
            return await self._store.history(self.id, limit) if limit else []
        return self._local[-limit:] if limit else []

    @property
    def user_key(self) -> str:
        return f"{CHANNEL}:{self.id if self.id is not None else self._user}"

    async def log_question(self, text: str) -> int | None:
        if self._store is None or self.id is None:
            return None
        return await self._store.log_user_message(self.id, text)

    async def log_answer(self, question: str, reply_to: int | None, answer: Answer) -> None:
        from bot.domain import Turn

        self._local += [Turn("user", question), Turn("assistant", answer.text)]
        if self._store is not None and self.id is not None and reply_to is not None:
            await self._store.log_answer(self.id, reply_to, answer)


async def ask_one(
    pipeline: Pipeline, conversation: Conversation, question: str
) -> AsyncIterator[Any]:  # yields Delta | Answer
    history = await conversation.history()
    message_id = await conversation.log_question(question)
    final = None
    async for event in pipeline.stream(question, history, user_key=conversation.user_key):
        from bot.domain import Answer

        if isinstance(event, Answer):
            final = event
        yield event
    if final is not None:
        await conversation.log_answer(question, message_id, final)


# -- ask ------------------------------------------------------------------------------------------------


@app.command()
def ask(
    question: str | None = typer.Argument(None, help="The question; omit it when using --questions."),
    conversation_id: int | None = typer.Option(
        None, "--conversation", help="Continue this logged conversation."
    ),
    questions: Annotated[
        Path | None,
        typer.Option(
            "--questions", help="JSONL file of {qid, question}: each answered in its own new conversation."
        ),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per line with --questions)."),
) -> None:
    """Answer a question from the knowledge base with the local model, and show its sources."""
    if (question is None) == (questions is None):
        fail("give either a QUESTION or --questions FILE")
    if questions is not None and conversation_id is not None:
        fail("--conversation cannot be combined with --questions (each line gets its own conversation)")
    batch = read_questions(questions) if questions is not None else None
    settings = get_settings()

    async def _run() -> None:
        from bot.domain import Answer
        from bot.services import Services

        async with Services(settings) as services:
            pipeline = services.pipeline()
            store = await open_log(services)
            items = batch if batch is not None else [Question(qid="", question=question or "")]
            for item in items:
                conversation = Conversation(store, settings, console_user())
                await conversation.start(conversation_id)
                final: Answer | None = None
                async for event in ask_one(pipeline, conversation, item.question):
                    if isinstance(event, Answer):
                        final = event
                if final is None:  # the pipeline always ends with an Answer
                    fail("no answer was produced")
                if as_json:
                    payload = answer_json(final, conversation.id)
                    if batch is not None:
                        payload = {"qid": item.qid, **payload}
                    print_json(payload)
                else:
                    if batch is not None:
                        console.print(f"[bold]{item.qid}[/] {item.question}", highlight=False)
                    print_answer(final, conversation.id)

    run_async(_run)


# -- chat -----------------------------------------------------------------------------------------------


@app.command()
def chat() -> None:
    """Chat in the terminal with the same pipeline as Telegram: streamed answers with sources.

    Type /new to start a new conversation, /quit (or Ctrl-D) to leave. Conversations are logged with
    channel `console`.
    """
    settings = get_settings()

    async def _run() -> None:
        import asyncio

        from rich.live import Live
        from rich.text import Text

        from bot.domain import Delta
        from bot.services import Services

        async with Services(settings) as services:
            pipeline = services.pipeline()
            store = await open_log(services)
            conversation = Conversation(store, settings, console_user())
            await conversation.start()
            console.print("[bold]Support chat[/] - ask a question; /new starts over, /quit leaves.")
            while True:
                try:
                    line = await asyncio.to_thread(console.input, "[bold cyan]you>[/] ")
                except (EOFError, KeyboardInterrupt):
                    console.print()
                    return
                text = line.strip()
                if not text:
                    continue
                if text in ("/quit", "/exit"):
                    return
                if text == "/new":
                    await conversation.start()
                    console.print("[dim]new conversation[/]")
                    continue
                streamed = ""
                final: Answer | None = None
                with Live(Text("…"), console=console, refresh_per_second=12, transient=True) as live:
                    async for event in ask_one(pipeline, conversation, text):
                        if isinstance(event, Delta):
                            streamed += event.text
                            live.update(Text(streamed))
                        else:
                            final = event
                if final is not None:
                    console.print("[bold green]bot>[/] ", end="")
                    print_answer(final, conversation.id)

    run_async(_run)


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
