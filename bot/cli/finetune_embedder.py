"""`python -m bot finetune --embedder`: train the retrieval embedder, score it on held-out questions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.app import console, err_console, fail, get_settings, load_questions, run_async

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain import Chunk
    from bot.evaluation.questions import Question
    from bot.train.embedder import HeldOutScores
    from bot.train.retrieval_pairs import LogSignals, Pair, PairStats


def _with_embedder(settings: Settings, model: Path | None) -> Settings:
    if model is None:
        return settings
    return settings.model_copy(
        update={"embeddings": settings.embeddings.model_copy(update={"model_path": model})}
    )


class HeldOutRetrieval:
    """`eval retrieval` on a temporary embedded index of `source`, per embedder, for every held-out set."""

    def __init__(
        self, settings: Settings, source: Path, sets: dict[str, list[Question]], k: int = 10
    ) -> None:
        self.settings, self.source, self.sets, self.k = settings, source, sets, k

    def __call__(self, model: Path | None) -> HeldOutScores:
        from bot.evaluation.retrieval import evaluate_retrieval
        from bot.services import Services
        from bot.train.embedder import Score

        settings = _with_embedder(self.settings, model)

        async def run() -> HeldOutScores:
            async with Services(settings) as services, services.scratch_kb() as kb:
                await kb.reload(self.source)
                out = {}
                for name, questions in self.sets.items():
                    result = await evaluate_retrieval(kb, services.embedder(), questions, self.k)
                    out[name] = {m: Score(s.hit1, s.hit5, s.mrr) for m, s in result.modes.items()}
                return out

        return run_async(run)


# The guard's question sets when no labelled questions are given.
HEADINGS_SET = "held-out headings"
LOG_SET = "held-out log questions"


def _guard_questions(pairs: list[Pair], prefix: str) -> list[Question]:
    """Held-out pairs as labelled questions of their own section, each question once."""
    from bot.evaluation.questions import Question
    from bot.train.retrieval_pairs import normal

    out: dict[str, Question] = {}
    for p in pairs:
        if p.section[1] and normal(p.query) not in out:
            out[normal(p.query)] = Question(
                qid=f"{prefix}-{len(out) + 1}", question=p.query, file=p.section[0], heading=p.section[1][-1]
            )
    return list(out.values())


def _own_guard(
    pairs: list[Pair], source: Path, seed: int, stats: PairStats
) -> tuple[list[Pair], dict[str, list[Question]], str]:
    """Without labelled questions: the first run's pairs, the guard's question sets (held-out headings,
    and the log's questions about those sections when there are enough) and a line saying so."""
    from bot.train.retrieval_pairs import MIN_GUARD_QUESTIONS, split_heading_guard

    train, held = split_heading_guard(pairs, seed=seed, stats=stats)
    headings = [p for p in held if p.origin == "heading"]
    if len(headings) < MIN_GUARD_QUESTIONS:
        fail(
            f"{source} has too few sections with a heading to hold {MIN_GUARD_QUESTIONS} of them out as a "
            f"guard ({len(headings)}): give labelled questions with --heldout FILE.jsonl"
        )
    sets = {HEADINGS_SET: _guard_questions(headings, "heading")}
    asked = _guard_questions([p for p in held if p.origin != "heading"], "log")
    from_log = ""
    if len(asked) >= MIN_GUARD_QUESTIONS:
        # Customers' own words: a run that helps the headings but not them is refused.
        sets[LOG_SET] = asked
        from_log = f", with {len(asked)} customers' questions about them from the log"
    elif asked:
        from_log = f"; {len(asked)} log questions about them, too few to guard ({MIN_GUARD_QUESTIONS})"
    message = (
        f"no --heldout questions: {len(headings)} sections' heading questions are held out of a first run "
        f"to guard it (they catch a run that breaks retrieval, not one that teaches nothing new){from_log}"
    )
    return train, sets, message


def _chunks_and_log(settings: Settings, source: Path) -> tuple[list[Chunk], LogSignals]:
    from bot.services import Services
    from bot.store.repo import SqlConversationLog
    from bot.train.retrieval_pairs import LogSignals, knowledge_chunks, read_log

    async def run() -> tuple[list[Chunk], LogSignals]:
        async with Services(settings) as services:
            chunks = knowledge_chunks(source, settings.kb, services.embedder())
            log = await services.conversation_log()
            signals = await read_log(log) if isinstance(log, SqlConversationLog) else LogSignals()
            return chunks, signals

    return run_async(run)


def _table(before: HeldOutScores, after: HeldOutScores) -> None:
    from rich.table import Table

    table = Table(title="held-out retrieval, before → after")
    for column in ("questions", "mode", "hit@1", "hit@5", "MRR"):
        table.add_column(column, justify="left" if column in ("questions", "mode") else "right")
    for name, modes in before.items():
        for mode, b in modes.items():
            a = after.get(name, {}).get(mode)
            if a is None:
                continue
            table.add_row(
                name,
                mode,
                f"{b.hit1:.3f} → {a.hit1:.3f}",
                f"{b.hit5:.3f} → {a.hit5:.3f}",
                f"{b.mrr:.3f} → {a.mrr:.3f}",
            )
    console.print(table)


def finetune_embedder(
    heldout: list[Path],
    source: Path | None,
    *,
    switch: bool,
    max_steps: int | None,
    seed: int,
    threads: int,
) -> None:
    """Build pairs, train, convert, score before/after, and switch only when the guard allows."""
    settings = get_settings()
    source = source or settings.kb.source
    if not source.is_dir():
        fail(f"--source {source} is not a folder")
    sets = {path.stem: load_questions(path) for path in heldout}
    from bot.llm.base import ModelError
    from bot.llm.provision import EMBEDDER_NAME, shipped_embedder_zip
    from bot.llm.registry import ModelRegistry
    from bot.train.embedder import EmbedderTrainConfig, EmbedderTrainError, run_embedder_finetune
    from bot.train.retrieval_pairs import PairStats, drop_heldout, kb_pairs, log_pairs

    def status(message: str) -> None:
        err_console.print(f"[dim]{message}[/]", highlight=False)

    try:
        chunks, signals = _chunks_and_log(settings, source)
        stats = PairStats()
        pairs = kb_pairs(chunks, seed=seed, stats=stats) + log_pairs(signals, chunks, stats=stats)
        pairs = drop_heldout(pairs, [q.question for qs in sets.values() for q in qs], stats)
        refit = None
        if not sets:
            # No labelled questions: a share of the knowledge base's own headings guards a first run, and a
            # run the guard allows is trained again on every pair.
            refit = pairs
            pairs, sets, message = _own_guard(refit, source, seed, stats)
            status(message)
        status(
            f"{len(pairs)} pairs from {len(chunks)} chunks and the log: "
            + ", ".join(f"{n} {origin}" for origin, n in sorted(stats.built.items()))
            + (
                "; left out: " + ", ".join(f"{n} × {why}" for why, n in sorted(stats.skipped.items()))
                if stats.skipped
                else ""
            )
        )
        config = EmbedderTrainConfig(seed=seed, threads=threads, max_steps=max_steps)
        outcome = run_embedder_finetune(
            base_zip=shipped_embedder_zip(),
            pairs=pairs,
            models_dir=settings.models_dir,
            evaluate=HeldOutRetrieval(settings, source, sets),
            config=config,
            base_name=EMBEDDER_NAME,
            on_status=status,
            record={
                "source": str(source),
                "heldout": [str(p) for p in heldout] or list(sets),
                "pairs": stats.built,
            },
            refit=refit,
        )
    except (EmbedderTrainError, ModelError) as exc:
        fail(str(exc))
    train = outcome.train
    _table(outcome.before, outcome.after)
    console.print(
        f"trained {train.steps} steps ({train.epochs} epochs) on {train.pairs} pairs in {train.seconds} s; "
        f"loss {train.loss_first:.3f} → {train.loss_last:.3f}",
        highlight=False,
    )
    console.print(f"model:      {outcome.gguf}", highlight=False, soft_wrap=True)
    console.print(f"provenance: {outcome.provenance}", highlight=False, soft_wrap=True)
    if not outcome.verdict.switch:
        fail(outcome.verdict.message, code=1)
    console.print(outcome.verdict.message, highlight=False)
    if not switch:
        console.print(f"not switched (--no-switch); to use it: python -m bot models use {outcome.gguf}")
        return
    try:
        ModelRegistry(settings.models_dir).use_embedder(outcome.gguf)
    except ModelError as exc:
        fail(str(exc))
    console.print(
        "now using this embedder; the index holds vectors of the old one and refuses to serve until "
        "`python -m bot kb reload` re-embeds it",
        highlight=False,
    )
    if settings.embeddings.model_path:
        err_console.print(
            "[yellow]note:[/] BOT_EMBEDDINGS__MODEL_PATH is set and takes precedence over this choice",
            highlight=False,
        )
