"""`python -m bot finetune --embedder`: train the retrieval embedder, score it on held-out questions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.cli.app import console, err_console, fail, get_settings, load_questions, run_async

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain import Chunk
    from bot.evaluation.questions import Question
    from bot.llm.registry import ModelRegistry
    from bot.train.embedder import HeldOutScores
    from bot.train.retrieval_pairs import LogSignals, Pair, PairStats


def _with_embedder(settings: Settings, model: Path | None) -> Settings:
    if model is None:
        return settings
    return settings.model_copy(update={"embeddings": settings.embeddings.with_model(model)})


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
            if not isinstance(log, SqlConversationLog):
                return chunks, LogSignals()
            # Redacted as `export` redacts the chat training data: the same rules, user ids and admins' ids.
            signals = await read_log(
                log,
                redaction=settings.redaction,
                redact_user_ids=[str(uid) for uid in settings.telegram.admin_ids],
            )
            return chunks, signals

    return run_async(run)


def _serving_problem(settings: Settings) -> str | None:
    """Why the serving index cannot answer with the configured embedder, or None when it can (one search,
    as the bot's first question would run it)."""
    from bot.services import Services

    async def run() -> None:
        async with Services(settings) as services:
            await services.kb().search("help", k=1)

    try:
        run_async(run)
    except Exception as exc:  # whatever stops the search stops the bot's answers
        return f"{type(exc).__name__}: {exc}"
    return None


def _reindex() -> bool:
    """`kb reload` with the configured sources (its progress and report); whether it finished. Its errors
    are printed by it, or here."""
    import typer

    from bot.cli.kb import _reload_command

    try:
        _reload_command(None, [], json_out=False)
    except typer.Exit:
        return False  # `kb reload` has said why
    except Exception as exc:
        err_console.print(f"[red]reload failed:[/] {type(exc).__name__}: {exc}", highlight=False, markup=True)
        return False
    return True


def switch_embedder(settings: Settings, gguf: Path | None) -> None:
    """Make `gguf` the embedder, or with None forget the choice (back to the shipped embedder), and re-embed
    the serving index with it, as `kb reload` does. The outcome is never a bot that cannot answer: when the
    index cannot be rebuilt, the previous choice (the embedder the index still serving was built with) comes
    back. `finetune --embedder`, `models use --embedder PATH` and `models use --embedder --reset` switch
    through it; a running `serve` or `web` picks the new embedder up on SIGHUP."""
    from bot.llm.base import ModelError
    from bot.llm.registry import ModelRegistry

    models = ModelRegistry(settings.models_dir)
    target = "the new embedder" if gguf is not None else "the shipped embedder"
    try:
        try:
            previous = models.read_active().get("embedder")
        except ModelError:
            if gguf is not None:
                raise
            previous = None  # unreadable: `reset` removes the file, as its error message promises
        if gguf is not None:
            models.use_embedder(gguf)
        elif not models.reset(embedder=True):
            console.print("no embedder choice was recorded; nothing changed", highlight=False)
            return
    except ModelError as exc:
        fail(str(exc))
    if settings.embeddings.model_path:
        # The switch has no effect on the bot, so its index stays valid: nothing to re-embed.
        console.print(
            "recorded as the embedder in active.json"
            if gguf is not None
            else "embedder choice removed from active.json",
            highlight=False,
        )
        err_console.print(
            "[yellow]note:[/] BOT_EMBEDDINGS__MODEL_PATH is set and takes precedence over active.json; the "
            "bot keeps using it and its index, so nothing changes for the bot",
            highlight=False,
        )
        return
    console.print(
        f"re-embedding the knowledge base with {target} (as `python -m bot kb reload` does); the "
        "current index serves until the new one is swapped in",
        highlight=False,
    )
    done = False
    try:
        done = _reindex()
    finally:
        # Also on Ctrl-C: an index of the old embedder's vectors would refuse every question.
        problem = None if done else _serving_problem(settings)
        if not done and problem is not None:
            _switch_back(settings, models, previous, gguf)
    if not done:
        err_console.print(
            "[yellow]note:[/] the reload reported an error, but the index it swapped in serves with "
            f"{target}",
            highlight=False,
        )
    console.print(
        f"now using {target}, and the index holds its vectors; a running `python -m bot serve` or `web` "
        "picks it up on SIGHUP (kill -HUP <pid>), and refuses the new index until then",
        highlight=False,
    )


def _switch_back(
    settings: Settings, models: ModelRegistry, previous: str | None, gguf: Path | None
) -> NoReturn:
    """After a failed re-embedding: the choice the index still serving was built with comes back, and the
    command fails saying so."""
    from bot.llm.base import ModelError

    target = "the new embedder" if gguf is not None else "the shipped embedder"
    if gguf is None and not previous:
        fail(
            f"the knowledge base could not be re-embedded with {target}, and no earlier choice is known to "
            "go back to: the bot cannot answer until `python -m bot kb reload` succeeds",
            code=1,
        )
    restore = f"the previous embedder {previous}" if previous else "the shipped embedder"
    try:
        if previous:
            models.use_embedder(Path(previous))
        else:
            models.reset(embedder=True)
    except ModelError as exc:
        fail(
            f"the knowledge base could not be re-embedded with {target}, and switching back to {restore} "
            f"failed ({exc}): the bot cannot answer until `python -m bot kb reload` succeeds",
            code=1,
        )
    # Said as it is: with no index yet (or a broken one), going back does not make the bot answer either.
    problem = _serving_problem(settings)
    serving = (
        " and the index it serves" if problem is None else f"; its index does not serve either ({problem})"
    )
    kept = f"; the new model stays in {gguf}" if gguf is not None else ""
    again = f"models use --embedder {gguf}" if gguf is not None else "models use --embedder --reset"
    fail(
        f"the knowledge base could not be re-embedded with {target}, so the bot is back on {restore}"
        f"{serving}{kept} (to try again: python -m bot {again})",
        code=1,
    )


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
    from bot.services import chinese_glosser
    from bot.train.embedder import EmbedderTrainConfig, EmbedderTrainError, run_embedder_finetune
    from bot.train.retrieval_pairs import PairStats, drop_heldout, kb_pairs, log_pairs, read_as

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
        glosser = chinese_glosser(settings.embeddings)
        if glosser is not None:
            # Trained on what the served embedder reads; the guard's questions stay as customers write.
            pairs = read_as(pairs, glosser.gloss)
            refit = None if refit is None else read_as(refit, glosser.gloss)
        status(
            f"{len(pairs)} pairs from {len(chunks)} chunks and the log: "
            + ", ".join(f"{n} {origin}" for origin, n in sorted(stats.built.items()))
            + (
                "; left out: " + ", ".join(f"{n} × {why}" for why, n in sorted(stats.skipped.items()))
                if stats.skipped
                else ""
            )
            + (
                f"; the log's texts redacted as exports are ({sum(signals.redactions.values())} × "
                + ", ".join(f"<{kind}>" for kind in sorted(signals.redactions))
                + ")"
                if signals.redactions
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
                "redactions": dict(sorted(signals.redactions.items())),
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
        console.print(
            f"not switched (--no-switch); to use it: python -m bot models use --embedder {outcome.gguf}",
            highlight=False,
            soft_wrap=True,
        )
        return
    switch_embedder(settings, outcome.gguf)
