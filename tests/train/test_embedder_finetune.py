"""`finetune --embedder`: training pairs, held-out exclusion, batching, the guard, the embedder switch."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bot.cli.finetune  # noqa: F401 - registers the command on the shared app
from bot.cli.app import app
from bot.config import RedactionSettings, Settings
from bot.domain import Answer, Chunk, Hit, Source, Timings
from bot.llm.base import ModelError
from bot.llm.registry import ModelRegistry
from bot.train.embedder import Score, batches, guard, versioned_name
from bot.train.retrieval_pairs import (
    LogAnswer,
    LogApproved,
    LogSignals,
    Pair,
    PairStats,
    drop_heldout,
    kb_pairs,
    log_pairs,
    normal,
    read_log,
    split_heading_guard,
)
from tests.fakes import make_chunk
from tests.llm_models.gguf_files import write_gguf

REPO = Path(__file__).resolve().parents[2]


def _chunk(source: str, heading: str, text: str, position: int = 0) -> Chunk:
    chunk = make_chunk(source, heading, text, position)
    return Chunk(**{**{f: getattr(chunk, f) for f in chunk.__dataclass_fields__}, "lang": "en"})


CHUNKS = [
    _chunk(
        "billing/refunds.md",
        "Refunds for lost parcels",
        "A parcel lost by the courier is refunded in full. Open the claim form in the app and attach the "
        "receipt. Refunds reach the original payment card within five working days.",
    ),
    _chunk(
        "lockers/opening.md",
        "Locker door does not open",
        "When the compartment door stays shut after entering the pickup code, wait thirty seconds and "
        "press the green button. Support can open the locker remotely from the operations desk.",
    ),
    _chunk(
        "account/password.md",
        "Resetting your password",
        "Choose forgot password on the login screen. An email with a reset link arrives within minutes; "
        "the link expires after one hour for security reasons.",
    ),
    _chunk("account/password.md", "Password", "Passwords need twelve characters including digits.", 1),
]


def _scores(**mrr: float) -> dict[str, dict[str, Score]]:
    return {
        name: {"hybrid": Score(0.5, 0.9, value), "dense": Score(0.4, 0.9, 0.5)} for name, value in mrr.items()
    }


# ------------------------------------------------------------------------------------------ pairs


def test_kb_pairs_ask_each_heading_and_its_content_words() -> None:
    assert {p.origin for p in kb_pairs(CHUNKS)} == {"heading"}  # pseudo-questions only when asked for
    stats = PairStats()
    pairs = kb_pairs(CHUNKS, stats=stats, pseudo=True)
    headings = [p for p in pairs if p.origin == "heading"]
    # "Password" alone says nothing a customer would ask: left out, and counted.
    assert {p.section[1] for p in headings} == {
        ("Refunds for lost parcels",),
        ("Locker door does not open",),
        ("Resetting your password",),
    }
    assert stats.skipped == {"heading too short to ask": 1}
    for pair in headings:
        assert pair.section[1][-1].lower().rstrip("?") in pair.query.lower()
        assert pair.positive.startswith(pair.section[1][-1] + "\n")  # as the index embeds it
        assert pair.negative is None  # in-batch negatives only, unless mined
    pseudo = [p for p in pairs if p.origin == "pseudo"]
    assert pseudo
    for pair in pseudo:
        words = pair.query.split()
        assert 3 <= len(words) <= 6
        assert all(w in pair.positive.lower() for w in words)


def test_mined_negatives_are_another_section_sharing_words() -> None:
    pairs = kb_pairs(CHUNKS, mine_negatives=True, pseudo=True)
    assert {p.origin for p in pairs} == {"heading", "pseudo"}
    for pair in pairs:
        assert pair.negative is not None
        assert pair.negative_section is not None
        assert pair.negative_section != pair.section


def test_heldout_questions_never_reach_training() -> None:
    pairs = [
        Pair("How do I get a refund for a parcel that never arrived?", "p", None, "thumbs_up", ("a", ())),
        Pair("how do i get a refund for a parcel that never arrived", "p", None, "approved", ("b", ())),
        Pair("refund for a parcel that never arrived", "p", None, "correction", ("c", ())),
        Pair("Where is my locker?", "p", None, "heading", ("d", ())),
    ]
    stats = PairStats()
    kept = drop_heldout(pairs, ["How do I get a refund for a parcel that never arrived?"], stats)
    assert [p.query for p in kept] == ["Where is my locker?"]
    assert stats.skipped == {"query is a held-out question": 3}


def test_log_pairs_from_ratings_corrections_and_approved_answers() -> None:
    wrong = ("account/password.md", "Resetting your password", "Choose forgot password ...")
    right = ("billing/refunds.md", "Refunds for lost parcels", "A parcel lost ...")
    signals = LogSignals(
        answers=(
            LogAnswer("my parcel never came, money back?", "up", cited=(right,), retrieved=(right, wrong)),
            LogAnswer(
                "the courier lost my box, can I be refunded",
                "down",
                cited=(wrong,),
                retrieved=(wrong, right),
                correction="Lost parcels are refunded in full through the claim form in the app.",
            ),
            LogAnswer("door jammed", "down", cited=(wrong,), retrieved=(wrong,)),
        ),
        approved=(
            LogApproved(
                "the locker will not open",
                "Wait thirty seconds, press the green button.",
                "lockers/opening.md",
                replaced=wrong,  # it corrects an answer built on the password section
            ),
            LogApproved("anything else?", "Yes.", None),
        ),
    )
    stats = PairStats()
    pairs = {p.origin: p for p in log_pairs(signals, CHUNKS, stats=stats)}
    assert set(pairs) == {"thumbs_up", "correction", "approved"}
    assert pairs["thumbs_up"].section == ("billing/refunds.md", ("Refunds for lost parcels",))
    assert pairs["thumbs_up"].negative is not None
    # The correction points at the refunds section; the passage the 👎 answer was built on is the negative.
    correction = pairs["correction"]
    assert correction.section == ("billing/refunds.md", ("Refunds for lost parcels",))
    assert correction.negative == "Resetting your password\nChoose forgot password ..."
    assert pairs["approved"].section == ("lockers/opening.md", ("Locker door does not open",))
    assert pairs["approved"].negative == "Resetting your password\nChoose forgot password ..."
    assert stats.skipped == {
        "👎 without a correction (the right passage is unknown)": 1,
        "approved answer without a source article": 1,
    }


async def test_read_log_finds_rated_corrected_and_approved(tmp_path: Path) -> None:
    from bot.store import migrate
    from bot.store.repo import SqlConversationLog

    url = f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"
    migrate.upgrade(url)
    log = SqlConversationLog(url)
    try:
        conv = await log.open_conversation(channel="console", external_user_id="u", external_chat_id="c")
        hits = tuple(Hit(c, score=1.0, rank=i + 1) for i, c in enumerate(CHUNKS[:2]))

        async def ask(question: str, cites: tuple[int, ...]) -> int:
            asked = await log.log_user_message(conv.id, question)
            answer = Answer(
                text="x",
                sources=(Source(CHUNKS[0].source, CHUNKS[0].heading),),
                grounded=True,
                timings=Timings(),
                outcome="answered",
                question=question,
                hits=hits,
                citations=cites,
            )
            return await log.log_answer(conv.id, asked, answer)

        liked = await ask("refund please", (2,))
        disliked = await ask("door jammed", (1,))
        await ask("never rated", (1,))
        await log.add_feedback(liked, "up")
        await log.add_feedback(disliked, "down")
        await log.add_correction(disliked, "admin", "Press the green button.")
        await log.add_approved(question="q?", text="t", approved_by="admin", source="billing/refunds.md")
        await log.add_approved(
            question="door?", text="Press it.", approved_by="admin", source=None, corrects_answer_id=disliked
        )
        signals = await read_log(log, redaction=RedactionSettings())
    finally:
        await log.close()
    assert [(a.question, a.rating) for a in signals.answers] == [
        ("refund please", "up"),
        ("door jammed", "down"),
    ]
    assert [c[0] for c in signals.answers[0].cited] == ["lockers/opening.md"]  # [2] is the second passage
    assert signals.answers[1].correction == "Press the green button."
    assert len(signals.answers[1].retrieved) == 2
    assert signals.approved == (
        LogApproved("q?", "t", "billing/refunds.md"),
        # What the corrected answer was built on: its cited passage [1].
        LogApproved("door?", "Press it.", None, (CHUNKS[0].source, CHUNKS[0].heading, CHUNKS[0].text)),
    )


def test_a_wrong_answer_on_the_right_passage_gives_no_false_negative() -> None:
    right = ("billing/refunds.md", "Refunds for lost parcels", "A parcel lost ...")
    answer = LogAnswer(
        "lost box refund?", "down", cited=(right,), retrieved=(right,), correction="Refunded in full."
    )
    (pair,) = log_pairs(LogSignals(answers=(answer,)), CHUNKS)
    assert pair.section == ("billing/refunds.md", ("Refunds for lost parcels",))
    assert pair.negative_section not in (None, pair.section)  # a mined one, not the right passage


def test_batches_never_hold_one_section_twice() -> None:
    sections = [("doc.md", (f"s{i}",)) for i in range(6)]
    pairs = [Pair(f"q{i}", f"p{i % 6}", None, "pseudo", sections[i % 6]) for i in range(30)]
    pairs += [Pair("n", "p0", "p1", "thumbs_up", sections[0], sections[1])]
    out = batches(pairs, 4, random.Random(0))
    assert sorted(p.query for b in out for p in b) == sorted(p.query for p in pairs)
    for batch in out:
        assert len({p.section for p in batch}) == len(batch) <= 4
        assert len({p.negative is None for p in batch}) == 1  # two or three columns, never mixed


# ------------------------------------------------------------------------------------------ guard


def test_guard_refuses_when_any_heldout_set_got_worse() -> None:
    verdict = guard(_scores(a=0.80, b=0.50), _scores(a=0.85, b=0.49))
    assert not verdict.switch
    assert verdict.worse == ("b",)
    assert "not switching" in verdict.message
    assert "b: hybrid MRR 0.500 → 0.490" in verdict.message


def test_guard_switches_when_nothing_got_worse() -> None:
    assert guard(_scores(a=0.80, b=0.50), _scores(a=0.80, b=0.60)).switch
    assert not guard({}, {}).switch  # nothing measured is no reason to switch


def test_versioned_names_differ_per_run() -> None:
    assert versioned_name("all-MiniLM-L6-v2", 0) == "all-MiniLM-L6-v2-ft-19700101T000000Z.f16.gguf"
    assert versioned_name("m", 0) != versioned_name("m", 1)


# ------------------------------------------------------------------------------------------ switching


def test_models_use_embedder_is_recorded_and_kept(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "d")  # type: ignore[call-arg]
    models = ModelRegistry(settings.models_dir)
    settings.models_dir.mkdir(parents=True)
    embedder = write_gguf(tmp_path / "mini-ft-1.f16.gguf", arch="bert")
    chat = write_gguf(tmp_path / "chat.gguf")
    result = models.use_embedder(embedder)
    assert result.kind == "embedder"
    assert models.resolve_embedder_path(settings.embeddings) == embedder
    models.use(chat)  # switching the chat model keeps the embedder choice
    assert models.resolve_embedder_path(settings.embeddings) == embedder
    with pytest.raises(ModelError, match="not an embedding model"):
        models.use_embedder(chat)
    other = write_gguf(tmp_path / "other.gguf", arch="bert")
    env = Settings(_env_file=None, data_dir=tmp_path / "d", embeddings={"model_path": other})  # type: ignore[call-arg]
    assert models.resolve_embedder_path(env.embeddings) == other  # the setting still wins
    assert json.loads(models.active_file.read_text())["embedder"] == str(embedder)

    # Each reset forgets its own choice only: the chat model's keeps the embedder, and the other way round.
    assert models.reset() is True
    assert models.resolve_embedder_path(settings.embeddings) == embedder
    models.use(chat)
    assert models.reset(embedder=True) is True
    assert json.loads(models.active_file.read_text())["model"] == str(chat)
    assert "embedder" not in json.loads(models.active_file.read_text())
    assert models.reset(embedder=True) is False
    assert models.reset() is True
    assert not models.active_file.exists()


def test_cli_models_use_embedder_reset_without_an_index_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--reset` re-embeds the index with the shipped embedder (the switch itself is tested in
    tests/train/test_embedder_switch_and_redaction.py); with no knowledge folder to index, the choice comes
    back, and the command says that no index serves either way rather than that one does."""
    from bot.cli import app, register_commands

    register_commands()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("BOT_KB__SOURCE", str(tmp_path / "no-such-folder"))
    settings = Settings(_env_file=None, data_dir=tmp_path / "d")  # type: ignore[call-arg]
    settings.models_dir.mkdir(parents=True)
    chosen = write_gguf(tmp_path / "mini-ft-2.f16.gguf", arch="bert")
    ModelRegistry(settings.models_dir).use_embedder(chosen)
    result = CliRunner().invoke(app, ["models", "use", "--embedder", "--reset"])
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert "re-embedding the knowledge base with the shipped embedder" in output
    back = f"so the bot is back on the previous embedder {chosen.resolve()}; its index does not serve"
    assert back in output
    assert "python -m bot models use --embedder --reset" in output
    assert ModelRegistry(settings.models_dir).read_active()["embedder"] == str(chosen.resolve())
    ModelRegistry(settings.models_dir).reset(embedder=True)
    again = CliRunner().invoke(app, ["models", "use", "--embedder", "--reset"])
    assert again.exit_code == 0, again.output
    assert "no embedder choice was recorded" in again.output


def _many_sections(n: int) -> list[Chunk]:
    return [
        _chunk(f"topic{i}.md", f"Topic number {i} explained", f"Words about topic {i} and nothing else.")
        for i in range(n)
    ]


def test_heading_guard_holds_out_whole_sections_reproducibly() -> None:
    pairs = kb_pairs(_many_sections(20))
    log_pair = Pair("a customer question", "a passage", None, "thumbs_up", pairs[0].section)
    stats = PairStats()
    train, held = split_heading_guard([*pairs, log_pair], seed=3, stats=stats)
    headings = [p for p in held if p.origin == "heading"]
    assert len(headings) == 4  # a fifth of the 20 sections asked by their heading
    held_sections = {p.section for p in headings}
    # Nothing of a held-out section is trained on; a log question about one is held out with it.
    assert not [p for p in train if p.section in held_sections]
    assert (log_pair in held) == (log_pair.section in held_sections)
    assert len(train) + len(held) == len(pairs) + 1
    assert stats.skipped["section held out to guard the run"] == len(pairs) + 1 - len(train)
    again, held_again = split_heading_guard([*pairs, log_pair], seed=3)
    assert (again, held_again) == (train, held)
    assert split_heading_guard(pairs, seed=4)[1] != held


def test_cli_finetune_embedder_without_heldout_guards_with_the_headings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --heldout: a fifth of the headings become the guard's questions, left out of the first run and
    handed back for the refit; too few headings to hold out is a clear error, not a guard of one question."""
    import bot.cli.finetune_embedder as command
    import bot.train.embedder as training
    from bot.train.embedder import EmbedderOutcome, TrainReport

    data = tmp_path / "d"
    monkeypatch.setenv("BOT_DATA_DIR", str(data))
    chunks = _many_sections(60)
    monkeypatch.setattr(command, "_chunks_and_log", lambda settings, source: (chunks, LogSignals()))
    monkeypatch.setattr(command, "_reindex", lambda: True)  # the switch's re-index: its own tests
    seen: dict[str, object] = {}

    def fake_run(**kwargs: object) -> EmbedderOutcome:
        seen.update(kwargs)
        (data / "models").mkdir(parents=True, exist_ok=True)
        gguf = write_gguf(data / "models" / "mini-ft-1.f16.gguf", arch="bert")
        before = after = _scores(**{command.HEADINGS_SET: 0.5})
        report = TrainReport(pairs=60, steps=1, epochs=1, seconds=0.1, loss_first=1.0, loss_last=0.5)
        return EmbedderOutcome(gguf, gguf.with_suffix(".json"), guard(before, after), before, after, report)

    monkeypatch.setattr(training, "run_embedder_finetune", fake_run)
    result = CliRunner().invoke(app, ["finetune", "--embedder", "--source", str(REPO / "knowledge")])
    assert result.exit_code == 0, result.output
    assert "12 sections' heading questions are held out" in " ".join(result.output.split())
    evaluator = seen["evaluate"]
    assert list(evaluator.sets) == [command.HEADINGS_SET]  # type: ignore[attr-defined]  # an empty log
    questions = evaluator.sets[command.HEADINGS_SET]  # type: ignore[attr-defined]
    assert len(questions) == 12
    trained = seen["pairs"]
    assert len(trained) == 48  # type: ignore[arg-type]
    assert len(seen["refit"]) == 60  # type: ignore[arg-type]
    # The guard's questions are its own sections' heading questions, none of them trained on first.
    asked = {normal(q.question) for q in questions}
    assert not [p for p in trained if normal(p.query) in asked]  # type: ignore[attr-defined]
    assert all(q.file and q.heading and q.heading.lower() in q.question.lower() for q in questions)
    active = json.loads((data / "models" / "active.json").read_text())
    assert active["embedder"].endswith("mini-ft-1.f16.gguf")

    # With customers' 👍 answers in the log, those about held-out sections guard the run too (each once).
    liked = [
        LogAnswer(f"{ask} topic {i}?", "up", cited=((c.source, c.heading, c.text),), retrieved=())
        for i, c in enumerate(chunks)
        for ask in ("what about", "what about", "tell me more on")
    ]
    signals = LogSignals(answers=tuple(liked))
    monkeypatch.setattr(command, "_chunks_and_log", lambda settings, source: (chunks, signals))
    result = CliRunner().invoke(app, ["finetune", "--embedder", "--source", str(REPO / "knowledge")])
    assert result.exit_code == 0, result.output
    assert "with 24 customers' questions about them from the log" in " ".join(result.output.split())
    sets = seen["evaluate"].sets  # type: ignore[attr-defined]
    held = {(q.file, q.heading) for q in sets[command.HEADINGS_SET]}
    assert len(sets[command.LOG_SET]) == 24
    assert {(q.file, q.heading) for q in sets[command.LOG_SET]} == held
    assert not [p for p in seen["pairs"] if (p.section[0], p.section[1][-1]) in held]  # type: ignore[attr-defined]
    assert len(seen["refit"]) == 60 + 180  # type: ignore[arg-type]
    few = LogSignals(answers=tuple(liked[:30]))  # ten sections liked, about two of them held out
    monkeypatch.setattr(command, "_chunks_and_log", lambda settings, source: (chunks, few))
    result = CliRunner().invoke(app, ["finetune", "--embedder", "--source", str(REPO / "knowledge")])
    assert result.exit_code == 0, result.output
    assert command.LOG_SET not in seen["evaluate"].sets  # type: ignore[attr-defined]

    monkeypatch.setattr(command, "_chunks_and_log", lambda settings, source: (CHUNKS, LogSignals()))
    result = CliRunner().invoke(app, ["finetune", "--embedder", "--source", str(REPO / "knowledge")])
    assert result.exit_code == 2
    assert "too few sections with a heading" in result.output
    assert "--heldout" in result.output
    result = CliRunner().invoke(app, ["finetune"])
    assert result.exit_code == 2
    assert "give --data and --out" in result.output


def test_an_allowed_run_is_trained_again_on_every_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `refit`, the guarded model is replaced by one trained on all pairs; a refused run is not refit."""
    import bot.train.embedder as training

    calls: list[tuple[int, Path]] = []

    def fake_train(base_zip: Path, pairs: list[Pair], target: Path, config: object, say: object) -> object:
        calls.append((len(pairs), target))
        write_gguf(target, arch="bert")
        return training.TrainReport(len(pairs), 1, 1, 0.1, 1.0, 0.5)

    monkeypatch.setattr(training, "train_and_convert", fake_train)
    pairs = kb_pairs(_many_sections(10))
    for better, trained in ((True, [8, 10]), (False, [8])):
        calls.clear()
        scores = [_scores(h=0.5), _scores(h=0.6 if better else 0.4)]
        outcome = training.run_embedder_finetune(
            base_zip=tmp_path / "base.zip",
            pairs=pairs[:8],
            models_dir=tmp_path / ("a" if better else "b"),
            evaluate=lambda model, scores=scores: scores[model is not None],
            refit=pairs,
        )
        assert [n for n, _ in calls] == trained
        assert outcome.gguf == calls[-1][1]
        assert outcome.gguf.exists()
        assert outcome.train.pairs == trained[-1]
        record = json.loads(outcome.provenance.read_text())
        if better:
            assert not calls[0][1].exists()  # the guarded run's file is removed
            assert record["guard_run"]["train"]["pairs"] == 8
            assert record["train"]["pairs"] == 10
        else:
            assert "guard_run" not in record
            assert record["guard"]["switch"] is False


# ------------------------------------------------------------------------------------------ a real run


@pytest.mark.slow
@pytest.mark.integration
def test_a_run_made_worse_is_refused_and_a_converted_model_loads(tmp_path: Path) -> None:
    """Real MiniLM, trained a few steps on deliberately wrong pairs at a high learning rate: held-out
    retrieval drops and the guard refuses; the GGUF is still written, with its pooling, and loads."""
    pytest.importorskip("sentence_transformers", reason="the train extra is not installed")
    from bot.cli.finetune_embedder import HeldOutRetrieval
    from bot.evaluation.questions import read_questions
    from bot.llm.gguf_file import inspect_gguf
    from bot.llm.provision import shipped_embedder_zip
    from bot.train.embedder import EmbedderTrainConfig, run_embedder_finetune
    from bot.train.retrieval_pairs import knowledge_chunks

    source = tmp_path / "kb"
    keep = ("troubleshooting/error-codes.md", "claims/lost-or-damaged-parcels.md", "billing/refunds.md")
    for rel in keep:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / "knowledge" / rel, source / rel)
    questions = [
        q
        for path in ("parcelly-questions.jsonl", "parcelly-customer-questions.jsonl")
        for q in read_questions(REPO / "tests/data" / path)
        if q.file in keep
    ]
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]

    from bot.llm.embedder import LlamaEmbedder

    path = ModelRegistry(settings.models_dir).resolve_embedder_path(settings.embeddings)
    embedder = LlamaEmbedder(path, n_threads=2, batch_size=32)
    try:
        chunks = knowledge_chunks(source, settings.kb, embedder)
    finally:
        embedder.close()
    good = kb_pairs(chunks)
    # Every question paired with a wrong section's passage: the model is taught to rank wrongly.
    shuffled = [p.positive for p in good[1:] + good[:1]]
    wrong = [Pair(p.query, text, None, p.origin, p.section) for p, text in zip(good, shuffled, strict=True)]
    outcome = run_embedder_finetune(
        base_zip=shipped_embedder_zip(),
        pairs=drop_heldout(wrong, [q.question for q in questions]),
        models_dir=settings.models_dir,
        evaluate=HeldOutRetrieval(settings, source, {"heldout": questions}),
        config=EmbedderTrainConfig(lr=5e-4, max_steps=4, batch_size=16, max_seq_len=64, threads=2),
    )
    assert not outcome.verdict.switch, outcome.verdict.message
    assert outcome.verdict.worse == ("heldout",)
    assert outcome.after["heldout"]["hybrid"].mrr < outcome.before["heldout"]["hybrid"].mrr
    info = inspect_gguf(outcome.gguf)
    assert info.is_embedding_model
    assert info.pooling == "mean"
    record = json.loads(outcome.provenance.read_text())
    assert record["guard"]["switch"] is False
    assert ModelRegistry(settings.models_dir).read_active() == {}  # nothing was switched


@pytest.mark.parametrize("better", [True, False])
def test_cli_switches_only_when_the_guard_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, better: bool
) -> None:
    """The command's wiring: a refused run exits 1 with the guard's message and records nothing; an
    accepted one is recorded as the embedder and re-indexes. Training itself is replaced."""
    import bot.cli.finetune_embedder as command
    import bot.train.embedder as training
    from bot.train.embedder import EmbedderOutcome, TrainReport

    data = tmp_path / "d"
    monkeypatch.setenv("BOT_DATA_DIR", str(data))
    monkeypatch.setattr(command, "_chunks_and_log", lambda settings, source: (CHUNKS, LogSignals()))
    monkeypatch.setattr(command, "_reindex", lambda: True)  # the switch's re-index: its own tests
    seen: dict[str, list[Pair]] = {}

    def fake_run(**kwargs: object) -> EmbedderOutcome:
        seen["pairs"] = list(kwargs["pairs"])  # type: ignore[call-overload]
        (data / "models").mkdir(parents=True, exist_ok=True)
        gguf = write_gguf(data / "models" / "mini-ft-1.f16.gguf", arch="bert")
        before, after = _scores(a=0.5), _scores(a=0.6 if better else 0.4)
        report = TrainReport(pairs=3, steps=1, epochs=1, seconds=0.1, loss_first=1.0, loss_last=0.5)
        return EmbedderOutcome(gguf, gguf.with_suffix(".json"), guard(before, after), before, after, report)

    monkeypatch.setattr(training, "run_embedder_finetune", fake_run)
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(
        json.dumps({"qid": "1", "question": "Resetting your password?", "file": "a.md", "heading": "x"})
        + "\n"
    )
    result = CliRunner().invoke(
        app, ["finetune", "--embedder", "--source", str(REPO / "knowledge"), "--heldout", str(heldout)]
    )
    # The held-out question equals a heading question's form: it never reaches training.
    assert not [p for p in seen["pairs"] if "resetting your password" in normal(p.query)]
    assert "1 × query is a held-out question" in result.output
    active = data / "models" / "active.json"
    if better:
        assert result.exit_code == 0, result.output
        assert "kb reload" in result.output
        assert json.loads(active.read_text())["embedder"].endswith("mini-ft-1.f16.gguf")
    else:
        assert result.exit_code == 1
        assert "not switching: held-out retrieval got worse on a" in result.output
        assert not active.exists()
