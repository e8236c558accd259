"""What an approved answer may be made of: a question with words (an emoji-only one matched every emoji-only
message), and a cited article the knowledge base really holds (not a file the reload skips)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.config import Settings
from bot.conversation import ConversationService, Customer, Reply
from bot.services import Services, build_approved, build_conversations, build_pipeline
from bot.store import migrate
from bot.store.repo import SqlConversationLog
from tests.cli import cli_runner
from tests.fakes import HELP_CENTER, FakeEmbedder, FakeGenerator, FakeKB

T = TypeVar("T")
WRONG = "Refunds are paid back to the original card within five business days. [1]"
TEXT = "Some proper answer text."
ALICE = Customer("console", "alice", "console:alice", name="Alice")


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "refunds.md").write_text(
        "# Refunds\n\nRefunds are paid back to the original card within five business days.\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, knowledge: Path) -> Iterator[CliRunner]:
    embedder = FakeEmbedder(dim=1024)
    generator = FakeGenerator(WRONG)
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setattr(Services, "generator", lambda self: generator)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOT_KB__SOURCE", str(knowledge))
    monkeypatch.setenv("BOT_RAG__MIN_RELEVANCE", "0")
    with cli_runner() as runner:
        yield runner


def with_log(tmp_path: Path, body: Callable[[SqlConversationLog], Awaitable[T]]) -> T:
    async def run() -> T:
        log = SqlConversationLog(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}")
        try:
            return await body(log)
        finally:
            await log.close()

    return asyncio.run(run())


def rows(tmp_path: Path, table: str, db_file: str = "data/bot.db") -> int:
    with sqlite3.connect(tmp_path / db_file) as db:
        count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - a fixed name
    assert isinstance(count, int)
    return count


def refused(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert message in result.output


# -- the question has words -------------------------------------------------------------------------------


def test_approve_and_edit_refuse_a_question_of_only_emoji(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["answers", "approve", "--question", "😀😀", "--text", TEXT])
    refused(result, "error: --question has no words, only emoji or symbols")
    made = cli.invoke(app, ["answers", "approve", "--question", "Where is my parcel?", "--text", TEXT])
    assert made.exit_code == 0, made.output
    result = cli.invoke(app, ["answers", "edit", "1", "--question", "🙏🙏🙏"])
    refused(result, "error: --question has no words")
    listed = cli.invoke(app, ["answers", "list", "--json", "--all"])
    assert [json.loads(line)["question"] for line in listed.stdout.splitlines()] == ["Where is my parcel?"]


def test_approving_a_logged_answer_to_an_emoji_question_needs_a_question(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    asked = cli.invoke(app, ["ask", "👍", "--json"])
    assert asked.exit_code == 0, asked.output
    answer_id = json.loads(asked.stdout)["answer_id"]
    corrections = rows(tmp_path, "corrections")

    result = cli.invoke(app, ["answers", "approve", "--answer-id", str(answer_id), "--text", TEXT])
    refused(result, f"error: bot answer {answer_id}'s question has no words")
    # Refused as a whole: not even the correction is kept.
    assert (rows(tmp_path, "corrections"), rows(tmp_path, "approved_answers")) == (corrections, 0)

    given = ["--question", "Thanks, all good?"]
    ok = cli.invoke(app, ["answers", "approve", "--answer-id", str(answer_id), "--text", TEXT, *given])
    assert ok.exit_code == 0, ok.output


def test_a_candidate_to_an_emoji_question_needs_a_question(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["answers", "list"]).exit_code == 0  # creates the log

    async def candidate(log: SqlConversationLog) -> int:
        conversation = await log.open_conversation(
            channel="console", external_user_id="ada", external_chat_id="a"
        )
        await log.log_user_message(conversation.id, "🙏🙏")
        # Nothing asked: the reply is filed under no question.
        assert await log.add_candidate(conversation.id, TEXT, "operator") is None
        await log.log_user_message(conversation.id, "Can you help me?")
        made = await log.add_candidate(conversation.id, TEXT, "operator")
        assert made is not None
        return made.id

    candidate_id = with_log(tmp_path, candidate)
    # As kept before operators' replies skipped messages without words.
    with sqlite3.connect(tmp_path / "data" / "bot.db") as db:
        db.execute("UPDATE approved_answers SET question = '🙏🙏' WHERE id = ?", (candidate_id,))
    result = cli.invoke(app, ["answers", "approve", "--candidate", str(candidate_id)])
    refused(result, f"error: candidate {candidate_id}'s question has no words")
    assert [a.status for a in with_log(tmp_path, lambda log: log.list_approved())] == ["candidate"]
    given = ["--question", "Can you help me?"]
    assert cli.invoke(app, ["answers", "approve", "--candidate", str(candidate_id), *given]).exit_code == 0


def test_an_emoji_question_stored_before_is_not_approved_again_as_it_is(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert cli.invoke(app, ["answers", "list"]).exit_code == 0

    async def flagged(log: SqlConversationLog) -> int:
        made = await log.add_approved(question="😀😀", text=TEXT, approved_by="console:ada")
        await log.update_approved(made.id, status="needs_review", review_reason="its article changed")
        return made.id

    approved_id = with_log(tmp_path, flagged)
    result = cli.invoke(app, ["answers", "edit", str(approved_id)])
    refused(result, f"error: approved answer {approved_id}'s question has no words")
    assert [a.status for a in with_log(tmp_path, lambda log: log.list_approved())] == ["needs_review"]
    assert cli.invoke(app, ["answers", "edit", str(approved_id), "--question", "Is it fine?"]).exit_code == 0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlConversationLog]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"
    migrate.upgrade(url)
    log = SqlConversationLog(url)
    yield log
    await log.close()


def make_service(tmp_path: Path, store: SqlConversationLog) -> ConversationService:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        rag={"min_relevance": 0.0, "confident_relevance": 0.0},
    )
    kb = FakeKB(HELP_CENTER)
    embedder = FakeEmbedder(dim=1024)
    matcher = build_approved(store, lambda: embedder, kb)
    return build_conversations(
        settings, build_pipeline(settings, kb, FakeGenerator(WRONG)), store, approved=matcher
    )


async def ask(svc: ConversationService, text: str) -> Reply:
    reply: Reply | None = None
    async for item in svc.ask(ALICE, text):
        if isinstance(item, Reply):
            reply = item
    assert reply is not None
    return reply


async def test_a_correction_to_an_emoji_question_is_kept_but_not_approved(
    tmp_path: Path, store: SqlConversationLog
) -> None:
    # Telegram's ✏️ and the web console's correction form both store through `correct`.
    svc = make_service(tmp_path, store)
    first = await ask(svc, "👍")
    assert first.answer_id is not None
    assert await svc.correct(first.answer_id, "admin-1", TEXT) is None
    assert await store.list_approved() == []
    assert rows(tmp_path, "corrections", "log.db") == 1  # kept for the training export


async def test_a_message_without_words_never_gets_an_approved_answer(
    tmp_path: Path, store: SqlConversationLog
) -> None:
    # Stored before such questions were refused (or by another tool): matching still leaves it out.
    await store.add_approved(question="😀😀", text=TEXT, approved_by="admin-1")
    await store.add_approved(question="How do I reset my password?", text="Use the link.", approved_by="a")
    svc = make_service(tmp_path, store)
    for text in ("👍", "🙏🙏🙏", "?!"):
        reply = await ask(svc, text)
        assert reply.answer is None or reply.answer.outcome != "approved", text
    words = await ask(svc, "How do I reset my password?")
    assert words.answer is not None
    assert words.answer.outcome == "approved"


# -- the cited article is in the knowledge base -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("binary.md", b"\x00\x01\x02binary\xff\xfe", "binary content (NUL bytes)"),
        ("empty.md", b"", "file is empty"),
        ("blank.md", b"   \n\n", "no text found"),
        ("notes.bin", b"plain words", "unsupported file type"),
    ],
    ids=["binary", "empty", "blank", "unsupported"],
)
def test_a_file_the_reload_skips_cannot_be_cited(
    cli: CliRunner, tmp_path: Path, knowledge: Path, name: str, content: bytes, reason: str
) -> None:
    (knowledge / name).write_bytes(content)
    reload = cli.invoke(app, ["kb", "reload"])
    assert reload.exit_code == 0, reload.output
    assert name in reload.output  # the reload lists it as skipped
    result = cli.invoke(
        app, ["answers", "approve", "--question", "Where?", "--text", "Here.", "--source", name]
    )
    refused(result, f"error: --source {name}: {name} is not in the knowledge base: `kb reload` skips it")
    assert reason in result.output
    assert rows(tmp_path, "approved_answers") == 0
    good = ["--question", "Where?", "--text", "Here.", "--source", "refunds.md"]
    assert cli.invoke(app, ["answers", "approve", *good]).exit_code == 0


def test_an_answer_whose_article_is_now_skipped_is_not_approved_again(
    cli: CliRunner, tmp_path: Path, knowledge: Path
) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    made = cli.invoke(
        app, ["answers", "approve", "--question", "Refund?", "--text", TEXT, "--source", "refunds.md"]
    )
    assert made.exit_code == 0, made.output
    (knowledge / "refunds.md").write_bytes(b"")
    result = cli.invoke(app, ["answers", "edit", "1"])
    refused(result, "error: refunds.md is not in the knowledge base: `kb reload` skips it (file is empty)")
    assert cli.invoke(app, ["answers", "edit", "1", "--no-source"]).exit_code == 0


def test_a_file_added_after_the_last_reload_cannot_be_cited(
    cli: CliRunner, tmp_path: Path, knowledge: Path
) -> None:
    """The file is in the folder, but not in the index customers are answered from: `kb reload` first."""
    approve = ["answers", "approve", "--question", "Where is my parcel?", "--text", TEXT]
    before = cli.invoke(app, [*approve, "--source", "refunds.md"])
    refused(before, "--source refunds.md: cannot check that refunds.md is in the knowledge base")
    assert "run `python -m bot kb reload`" in before.output  # nothing is built yet
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    (knowledge / "tracking.md").write_text("# Tracking\n\nOpen Orders to track a parcel.\n", encoding="utf-8")

    result = cli.invoke(app, [*approve, "--source", "tracking.md"])
    refused(
        result, "--source tracking.md: tracking.md is in the knowledge folder but not in the knowledge base"
    )
    assert "run `python -m bot kb reload`" in " ".join(result.output.split())
    assert rows(tmp_path, "approved_answers") == 0
    made = cli.invoke(app, [*approve, "--source", "refunds.md"])
    assert made.exit_code == 0, made.output
    edit = cli.invoke(app, ["answers", "edit", "1", "--source", "tracking.md"])
    refused(
        edit, "--source tracking.md: tracking.md is in the knowledge folder but not in the knowledge base"
    )

    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    assert cli.invoke(app, ["answers", "edit", "1", "--source", "tracking.md"]).exit_code == 0
    listed = [json.loads(line) for line in cli.invoke(app, ["answers", "list", "--json"]).stdout.splitlines()]
    assert [(row["id"], row["source"]) for row in listed] == [(1, "tracking.md")]


def test_an_answer_whose_article_left_the_index_is_not_approved_again_as_it_is(
    cli: CliRunner, tmp_path: Path, knowledge: Path
) -> None:
    """`answers edit ID` approves the cited article as it is now: it must still be in the index."""
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    made = cli.invoke(
        app, ["answers", "approve", "--question", "Refund?", "--text", TEXT, "--source", "refunds.md"]
    )
    assert made.exit_code == 0, made.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "tracking.md").write_text("# Tracking\n\nOpen Orders to track a parcel.\n", encoding="utf-8")
    assert cli.invoke(app, ["kb", "reload", "--source", str(other)]).exit_code == 0  # refunds.md left

    result = cli.invoke(app, ["answers", "edit", "1"])
    refused(result, "approved answer 1's article: refunds.md is in the knowledge folder but not in the")
    assert "or give --source or --no-source" in " ".join(result.output.split())
    assert cli.invoke(app, ["answers", "edit", "1", "--no-source"]).exit_code == 0


def test_a_file_of_a_folder_no_reload_reads_cannot_be_cited(
    cli: CliRunner, tmp_path: Path, knowledge: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOT_KB__SOURCES leaves out the folder `--source` names files of: a reload would not help, so the
    message says what would."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "tracking.md").write_text("# Tracking\n\nOpen Orders to track a parcel.\n", encoding="utf-8")
    monkeypatch.setenv("BOT_KB__SOURCES", str(other))
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    result = cli.invoke(
        app, ["answers", "approve", "--question", "Refund?", "--text", TEXT, "--source", "refunds.md"]
    )
    refused(result, f"--source refunds.md: refunds.md is in {knowledge} (BOT_KB__SOURCE), which is not one")
    assert "add that folder there and reload" in result.output
    assert rows(tmp_path, "approved_answers") == 0
