"""`finetune --embedder`: the log's texts are redacted as exports are; a switch re-embeds the serving index,
and goes back to the previous embedder when that fails, so the bot never stops answering."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import RedactionSettings, load_settings
from bot.domain import Answer, Hit, Source, Timings
from bot.kb.base import ReloadError
from bot.llm.registry import ModelRegistry
from bot.services import Services
from bot.store import migrate
from bot.store.repo import SqlConversationLog
from bot.train.embedder import EmbedderOutcome, Score, TrainReport, guard
from bot.train.retrieval_pairs import Pair, read_log
from tests.cli import cli_runner
from tests.fakes import FakeEmbedder, make_chunk
from tests.llm_models.gguf_files import write_gguf

IBAN = "DE89 3704 0044 0532 0130 00"
CHUNKS = [
    make_chunk("billing/refunds.md", "Refunds for lost parcels", "A lost parcel is refunded to the card."),
    make_chunk("lockers/opening.md", "Locker door does not open", "Press the green button and wait."),
]
# A choice of embedder the bot would serve with: its id (and so the index's) names the file.
FT_NAME = "mini-ft-1.f16"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: Path) -> Iterator[CliRunner]:
    """A bot whose embedder follows `models use --embedder` as the real one does: a fake per chosen file,
    whose vectors an index built with another choice refuses (another `embedder_id`)."""

    def embedder(self: Services) -> FakeEmbedder:
        if self._embedder is None:
            chosen = Path(self.models().read_active().get("embedder") or "shipped").stem
            self._embedder = FakeEmbedder(dim=64, passage_prefix=f"{chosen} ")
        return self._embedder  # type: ignore[return-value]

    monkeypatch.setattr(Services, "embedder", embedder)
    monkeypatch.setenv("BOT_DATA_DIR", str(data))
    knowledge = tmp_path / "knowledge"
    (knowledge / "billing").mkdir(parents=True)
    (knowledge / "lockers").mkdir()
    (knowledge / "billing" / "refunds.md").write_text(
        "# Refunds for lost parcels\n\nA parcel lost by the courier is refunded to the original card.\n",
        encoding="utf-8",
    )
    (knowledge / "lockers" / "opening.md").write_text(
        "# Locker door does not open\n\nPress the green button and wait thirty seconds.\n", encoding="utf-8"
    )
    monkeypatch.setenv("BOT_KB__SOURCE", str(knowledge))
    with cli_runner() as runner:
        yield runner


def _fake_training(monkeypatch: pytest.MonkeyPatch, data: Path) -> list[Pair]:
    """Training replaced: an accepted run that writes a (not loadable) GGUF; returns the pairs it got."""
    import bot.train.embedder as training

    trained: list[Pair] = []

    def fake_run(**kwargs: object) -> EmbedderOutcome:
        trained.extend(kwargs["pairs"])  # type: ignore[arg-type]
        (data / "models").mkdir(parents=True, exist_ok=True)
        gguf = write_gguf(data / "models" / f"{FT_NAME}.gguf", arch="bert")
        before = {"a": {"hybrid": Score(0.5, 0.9, 0.5)}}
        after = {"a": {"hybrid": Score(0.5, 0.9, 0.6)}}
        report = TrainReport(pairs=3, steps=1, epochs=1, seconds=0.1, loss_first=1.0, loss_last=0.5)
        return EmbedderOutcome(gguf, gguf.with_suffix(".json"), guard(before, after), before, after, report)

    monkeypatch.setattr(training, "run_embedder_finetune", fake_run)
    return trained


def _finetune(cli: CliRunner, tmp_path: Path, *args: str) -> tuple[int, str]:
    heldout = tmp_path / "heldout.jsonl"
    question = {"qid": "1", "question": "Where is my refund?", "file": "billing/refunds.md", "heading": "x"}
    heldout.write_text(json.dumps(question) + "\n", encoding="utf-8")
    result = cli.invoke(app, ["finetune", "--embedder", "--heldout", str(heldout), *args])
    return result.exit_code, " ".join(result.output.split())


def _search() -> list[Hit]:
    """What the bot's retrieval returns now, in a fresh process's state (as a restarted bot would)."""

    async def run() -> list[Hit]:
        async with Services(load_settings()) as services:
            return await services.kb().search("refund for a lost parcel", k=1)

    return asyncio.run(run())


def _active_embedder(data: Path) -> str | None:
    return ModelRegistry(data / "models").read_active().get("embedder")


# ------------------------------------------------------------------------------------------ redaction


async def test_read_log_redacts_every_text_as_the_export_does(tmp_path: Path) -> None:
    """Questions, corrections, approved answers and logged passages: the deployment's rules (its extra
    patterns), the log's user ids and the admins' ids given, as `export` redacts them."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"
    migrate.upgrade(url)
    log = SqlConversationLog(url)
    try:
        conv = await log.open_conversation(
            channel="telegram", external_user_id="7654321", external_chat_id="c"
        )
        hits = (Hit(make_chunk("billing/refunds.md", "Refunds", "Mail refunds@example.com"), 1.0, 1),)
        asked = await log.log_user_message(conv.id, f"Can you refund to my IBAN {IBAN} please? ACME-4242")
        answer = Answer(
            text="x",
            sources=(Source("billing/refunds.md", "Refunds"),),
            grounded=True,
            timings=Timings(),
            outcome="answered",
            question=f"Can you refund to my IBAN {IBAN} please? ACME-4242",
            hits=hits,
            citations=(1,),
        )
        message = await log.log_answer(conv.id, asked, answer)
        await log.add_feedback(message, "down")
        await log.add_correction(message, "admin", "User 7654321 and admin 99887766: refund to the card.")
        signals = await read_log(
            log,
            redaction=RedactionSettings(extra_patterns=[r"ACME-\d{4}"]),
            redact_user_ids=["99887766"],
        )
    finally:
        await log.close()
    (got,) = signals.answers
    assert got.question == "Can you refund to my IBAN <IBAN> please? <CUSTOM>"
    assert got.correction == "User <USER_ID> and admin <USER_ID>: refund to the card."
    assert got.cited == (("billing/refunds.md", "Refunds", "Mail <EMAIL>"),)  # source and heading kept
    assert got.retrieved == got.cited
    assert signals.redactions == {"IBAN": 1, "CUSTOM": 1, "USER_ID": 2, "EMAIL": 2}


def test_cli_trains_on_the_log_redacted(
    cli: CliRunner, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trial's case: a corrected answer whose question holds an IBAN reaches training as `<IBAN>`, with
    the deployment's own redaction settings."""
    monkeypatch.setenv("BOT_REDACTION__EXTRA_PATTERNS", r"ACME-\d{4}")
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    question = f"Can you refund to my IBAN {IBAN} for order ACME-4242?"

    async def fill() -> None:
        log = SqlConversationLog(load_settings().resolved_database_url)
        try:
            conv = await log.open_conversation(channel="console", external_user_id="u", external_chat_id="c")
            asked = await log.log_user_message(conv.id, question)
            answer = Answer("x", (), False, Timings(), outcome="answered", question=question)
            message = await log.log_answer(conv.id, asked, answer)
            await log.add_correction(message, "admin", "A lost parcel is refunded to the original card.")
        finally:
            await log.close()

    asyncio.run(fill())
    trained = _fake_training(monkeypatch, data)
    code, output = _finetune(cli, tmp_path, "--no-switch")
    assert code == 0, output
    corrections = [p for p in trained if p.origin == "correction"]
    assert [p.query for p in corrections] == ["Can you refund to my IBAN <IBAN> for order <CUSTOM>?"]
    assert not [p for p in trained if "3704" in p.query or "ACME" in p.query]
    assert "redacted as exports are (2 × <CUSTOM>, <IBAN>)" in output


# ------------------------------------------------------------------------------------------ the switch


@pytest.mark.parametrize("previous", [False, True], ids=["shipped", "chosen-before"])
def test_a_switch_re_embeds_the_index_so_the_bot_keeps_answering(
    cli: CliRunner, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, previous: bool
) -> None:
    if previous:
        (data / "models").mkdir(parents=True)
        ModelRegistry(data / "models").use_embedder(write_gguf(tmp_path / "prev.gguf", arch="bert"))
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    assert _search()
    _fake_training(monkeypatch, data)
    code, output = _finetune(cli, tmp_path)
    assert code == 0, output
    assert (_active_embedder(data) or "").endswith(f"{FT_NAME}.gguf")
    assert "Reloaded 2 files" in output  # `kb reload`'s own report
    assert "the index holds its vectors" in output
    assert _search()  # no "run `python -m bot kb reload`" refusal


@pytest.mark.parametrize("previous", [False, True], ids=["shipped", "chosen-before"])
@pytest.mark.parametrize("failure", [ReloadError("disk full"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_a_failed_re_embedding_switches_back(
    cli: CliRunner,
    tmp_path: Path,
    data: Path,
    monkeypatch: pytest.MonkeyPatch,
    previous: bool,
    failure: BaseException,
) -> None:
    """The reload fails (or is interrupted) before its index is swapped in: the old index keeps serving, so
    the embedder it was built with comes back, and the command says so and fails."""
    from bot.kb.embedded import EmbeddedKB

    prev = write_gguf(tmp_path / "prev.gguf", arch="bert")
    if previous:
        (data / "models").mkdir(parents=True)
        ModelRegistry(data / "models").use_embedder(prev)
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    _fake_training(monkeypatch, data)

    async def failing_reload(self: EmbeddedKB, *args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(EmbeddedKB, "reload", failing_reload)
    code, output = _finetune(cli, tmp_path)
    assert code == 1, output
    restored = "the previous embedder" if previous else "the shipped embedder"
    assert f"could not be re-embedded with the new embedder, so the bot is back on {restored}" in output
    assert f"models use --embedder {data / 'models' / FT_NAME}.gguf" in output
    assert _active_embedder(data) == (str(prev.resolve()) if previous else None)
    assert _search()


def test_a_reload_that_fails_after_its_swap_keeps_the_new_embedder(
    cli: CliRunner, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index was rebuilt and swapped in, then a later step of `kb reload` failed: switching back now
    would leave the bot unable to answer, so the new embedder stays, with a note."""
    import bot.cli.answers as answers

    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    _fake_training(monkeypatch, data)

    async def broken_review(*args: object) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(answers, "review_after_reload", broken_review)
    code, output = _finetune(cli, tmp_path)
    assert code == 0, output
    assert "the index it swapped in serves with the new embedder" in output
    assert (_active_embedder(data) or "").endswith(f"{FT_NAME}.gguf")
    assert _search()


def test_no_switch_and_an_overriding_model_path_rebuild_nothing(
    cli: CliRunner, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    _fake_training(monkeypatch, data)
    code, output = _finetune(cli, tmp_path, "--no-switch")
    assert code == 0, output
    assert "not switched (--no-switch)" in output
    assert f"to use it: python -m bot models use --embedder {data / 'models' / FT_NAME}.gguf" in output
    assert "Reloaded" not in output
    assert _active_embedder(data) is None
    # BOT_EMBEDDINGS__MODEL_PATH wins over the choice: the bot's embedder, and so its index, stay.
    monkeypatch.setenv("BOT_EMBEDDINGS__MODEL_PATH", str(write_gguf(tmp_path / "env.gguf", arch="bert")))
    code, output = _finetune(cli, tmp_path)
    assert code == 0, output
    assert "Reloaded" not in output
    assert "BOT_EMBEDDINGS__MODEL_PATH is set and takes precedence" in output


# ------------------------------------------------------------------------------------- models use --embedder


def test_models_use_embedder_re_embeds_the_index_so_the_bot_keeps_answering(
    cli: CliRunner, tmp_path: Path, data: Path
) -> None:
    """`models use --embedder` switches as `finetune --embedder` does: before, it only said to run
    `kb reload`, and the bot refused every question until someone did."""
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    chosen = write_gguf(tmp_path / "other.f16.gguf", arch="bert")
    result = cli.invoke(app, ["models", "use", "--embedder", str(chosen)])
    output = " ".join(result.output.split())
    assert result.exit_code == 0, output
    assert "Reloaded 2 files" in output
    assert _active_embedder(data) == str(chosen.resolve())
    assert _search()


def test_models_use_embedder_switches_back_when_the_index_cannot_be_rebuilt(
    cli: CliRunner, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.kb.embedded import EmbeddedKB

    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0

    async def failing_reload(self: EmbeddedKB, *args: object, **kwargs: object) -> None:
        raise ReloadError("disk full")

    monkeypatch.setattr(EmbeddedKB, "reload", failing_reload)
    chosen = write_gguf(tmp_path / "other.f16.gguf", arch="bert")
    result = cli.invoke(app, ["models", "use", "--embedder", str(chosen)])
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert "so the bot is back on the shipped embedder" in output
    assert _active_embedder(data) is None
    assert _search()


def test_models_use_embedder_reset_re_embeds_the_index_with_the_shipped_embedder(
    cli: CliRunner, tmp_path: Path, data: Path
) -> None:
    """Back from a chosen embedder: before, `--reset` only forgot the choice and said to run `kb reload`,
    and the bot refused every question (its index held the chosen embedder's vectors) until someone did."""
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    chosen = write_gguf(tmp_path / "other.f16.gguf", arch="bert")
    assert cli.invoke(app, ["models", "use", "--embedder", str(chosen)]).exit_code == 0
    result = cli.invoke(app, ["models", "use", "--embedder", "--reset"])
    output = " ".join(result.output.split())
    assert result.exit_code == 0, output
    assert "re-embedding the knowledge base with the shipped embedder" in output
    assert "Reloaded 2 files" in output
    assert "now using the shipped embedder, and the index holds its vectors" in output
    assert "picks it up on SIGHUP" in output
    assert _active_embedder(data) is None
    assert _search()
    again = cli.invoke(app, ["models", "use", "--embedder", "--reset"])
    assert again.exit_code == 0, again.output
    assert "no embedder choice was recorded; nothing changed" in again.output
    assert "Reloaded" not in again.output


def test_models_use_embedder_reset_switches_back_when_the_index_cannot_be_rebuilt(
    cli: CliRunner, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.kb.embedded import EmbeddedKB

    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    chosen = write_gguf(tmp_path / "other.f16.gguf", arch="bert")
    assert cli.invoke(app, ["models", "use", "--embedder", str(chosen)]).exit_code == 0

    async def failing_reload(self: EmbeddedKB, *args: object, **kwargs: object) -> None:
        raise ReloadError("disk full")

    monkeypatch.setattr(EmbeddedKB, "reload", failing_reload)
    result = cli.invoke(app, ["models", "use", "--embedder", "--reset"])
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert (
        "could not be re-embedded with the shipped embedder, so the bot is back on the previous embedder "
        f"{chosen.resolve()} and the index it serves (to try again: "
        "python -m bot models use --embedder --reset)"
    ) in output
    assert _active_embedder(data) == str(chosen.resolve())
    assert _search()


def test_models_use_embedder_reset_under_an_overriding_model_path_rebuilds_nothing(
    cli: CliRunner, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (data / "models").mkdir(parents=True)
    ModelRegistry(data / "models").use_embedder(write_gguf(tmp_path / "other.f16.gguf", arch="bert"))
    monkeypatch.setenv("BOT_EMBEDDINGS__MODEL_PATH", str(write_gguf(tmp_path / "env.gguf", arch="bert")))
    result = cli.invoke(app, ["models", "use", "--embedder", "--reset"])
    output = " ".join(result.output.split())
    assert result.exit_code == 0, output
    assert "embedder choice removed from active.json" in output
    assert "BOT_EMBEDDINGS__MODEL_PATH is set and takes precedence" in output
    assert "so nothing changes for the bot" in output
    assert "Reloaded" not in output
    assert _active_embedder(data) is None
