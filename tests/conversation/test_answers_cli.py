"""The admin flow on the command line: ask → wrong answer → approve a correction → the same and a reworded
question get the approved answer, a different one does not → a reload that changes the article flags it."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.services import Services
from bot.store.repo import SqlConversationLog
from tests.cli import cli_runner
from tests.fakes import FakeEmbedder, FakeGenerator

QUESTION = "How do I get a refund for a parcel that never arrived?"
FIX = "Open Orders, choose the parcel and press Report missing: the refund follows within a day."


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    (folder / "billing").mkdir(parents=True)
    (folder / "billing" / "refunds.md").write_text(
        "# Refunds\n\nRefunds are paid back to the original card within five business days.\n",
        encoding="utf-8",
    )
    (folder / "account.md").write_text(
        "# Reset your password\n\nOpen the sign in page and choose forgot password.\n", encoding="utf-8"
    )
    return folder


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, knowledge: Path) -> Iterator[CliRunner]:
    embedder = FakeEmbedder(dim=1024)
    generator = FakeGenerator("Refunds are paid back to the original card within five business days. [1]")
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setattr(Services, "generator", lambda self: generator)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOT_KB__SOURCE", str(knowledge))
    monkeypatch.setenv("BOT_RAG__MIN_RELEVANCE", "0")
    with cli_runner() as runner:
        yield runner


def ask(cli: CliRunner, question: str) -> dict[str, object]:
    result = cli.invoke(app, ["ask", question, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(payload, dict)
    return payload


def latest_answer_id(tmp_path: Path) -> int:
    async def run() -> int:
        log = SqlConversationLog(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}")
        try:
            return (await log.stats()).recent_answers[0].id
        finally:
            await log.close()

    return asyncio.run(run())


def test_approve_serve_reload_flags_review(cli: CliRunner, tmp_path: Path, knowledge: Path) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    wrong = ask(cli, QUESTION)
    assert wrong["outcome"] != "approved"
    answer_id = latest_answer_id(tmp_path)

    result = cli.invoke(
        app,
        [
            "answers",
            "approve",
            "--answer-id",
            str(answer_id),
            "--text",
            FIX,
            "--source",
            "billing/refunds.md",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Approved answer #1 approved (active, citing billing/refunds.md)" in result.stdout

    for question in (QUESTION, "how can I get a refund, my parcel never arrived"):
        served = ask(cli, question)
        assert served["outcome"] == "approved", question
        assert served["answer"] == FIX
        assert served["sources"] == [{"source": "billing/refunds.md", "heading": "Approved answer"}]
    assert ask(cli, "How do I reset my password?")["outcome"] != "approved"

    listed = cli.invoke(app, ["answers", "list", "--json"])
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["id"], row["status"], row["question"], row["corrects_answer_id"]) == (
        1,
        "active",
        QUESTION,
        answer_id,
    )

    (knowledge / "billing" / "refunds.md").write_text(
        "# Refunds\n\nRefunds now take ten business days.\n", encoding="utf-8"
    )
    reload = cli.invoke(app, ["kb", "reload", "--json"])
    assert reload.exit_code == 0, reload.output
    assert json.loads(reload.stdout.strip().splitlines()[-1])["needs_review"] == [1]
    listed = cli.invoke(app, ["answers", "list"])
    assert "needs review: billing/refunds.md changed" in listed.stdout
    assert ask(cli, QUESTION)["outcome"] != "approved"  # not served until reviewed

    assert cli.invoke(app, ["answers", "edit", "1"]).exit_code == 0  # reviewed: still right
    assert ask(cli, QUESTION)["outcome"] == "approved"
    assert cli.invoke(app, ["answers", "retire", "1"]).exit_code == 0
    again = cli.invoke(app, ["answers", "retire", "1"])
    assert again.exit_code == 0
    assert "was already retired; nothing changed" in again.stdout
    assert ask(cli, QUESTION)["outcome"] != "approved"
    assert "[retired]" in cli.invoke(app, ["answers", "list", "--all"]).stdout


def test_a_removed_article_flags_its_answers(cli: CliRunner, knowledge: Path) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    approve = ["answers", "approve", "--question", "How do I reset my password?", "--text", "Use the link."]
    assert cli.invoke(app, [*approve, "--source", str(knowledge / "account.md")]).exit_code == 0
    assert (
        cli.invoke(app, ["answers", "approve", "--question", "Can I pay cash?", "--text", "No."]).exit_code
        == 0
    )
    (knowledge / "account.md").unlink()
    reload = cli.invoke(app, ["kb", "reload", "--json"])
    assert json.loads(reload.stdout.strip().splitlines()[-1])["needs_review"] == [1]  # #2 cites nothing
    edit = cli.invoke(app, ["answers", "edit", "1"])
    assert edit.exit_code == 2
    assert "no longer in the knowledge folder" in edit.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["answers", "approve", "--question", "q?", "--text", "   "], "--text is empty"),
        (["answers", "approve", "--text", "t"], "--question is required"),
        (["answers", "approve", "--question", "q?", "--text", "t", "--source", "nope.md"], "not a document"),
        (
            ["answers", "approve", "--question", "q?", "--text", "t", "--source", "../escape.md"],
            "not a document",
        ),
        (["answers", "approve", "--answer-id", "999", "--text", "t"], "no bot answer 999"),
        (["answers", "approve", "--candidate", "5"], "no candidate 5"),
        (["answers", "approve", "--question", "q?", "--text", "😀 👍"], "--text needs words"),
        (["answers", "edit", "42", "--text", "t"], "no approved answer 42"),
        (["answers", "retire", "42"], "no approved answer 42"),
    ],
)
def test_bad_input_is_one_clear_line(cli: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "escape.md").write_text("outside", encoding="utf-8")
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    listed = cli.invoke(app, ["answers", "list", "--all", "--json"])
    assert listed.stdout.strip() == ""  # nothing was stored


def test_fit_prints_the_fitted_threshold(cli: CliRunner) -> None:
    assert cli.invoke(app, ["answers", "fit"]).stdout.startswith("No active approved answers")
    for question, text in (("How do I get a refund?", "Report it missing."), ("Can I pay cash?", "No.")):
        assert cli.invoke(app, ["answers", "approve", "--question", question, "--text", text]).exit_code == 0
    result = cli.invoke(app, ["answers", "fit", "--json"])  # no index yet: fitted without the KB's negatives
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert 0.0 < figures["threshold"] < 1.0
    assert figures["positives"] > 0
    assert figures["negatives"] >= 40  # the off-topic questions and the other approved question


def test_approving_a_question_twice_replaces_the_text_and_keeps_serving_it(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    first = cli.invoke(app, ["answers", "approve", "--question", QUESTION, "--text", "First text."])
    assert first.exit_code == 0, first.output
    ask(cli, QUESTION)
    served_id = latest_answer_id(tmp_path)  # the approved answer, served
    # The same question again, in other case and spacing, and by correcting the served answer: one answer.
    again = cli.invoke(
        app, ["answers", "approve", "--question", f"  {QUESTION.upper()} ", "--text", "Second text."]
    )
    assert again.exit_code == 0, again.output
    assert "Approved answer #1 replaced" in again.stdout
    corrected = cli.invoke(app, ["answers", "approve", "--answer-id", str(served_id), "--text", FIX])
    assert corrected.exit_code == 0, corrected.output
    assert "Approved answer #1 replaced" in corrected.stdout
    listed = [json.loads(line) for line in cli.invoke(app, ["answers", "list", "--json"]).stdout.splitlines()]
    assert [(row["id"], row["status"], row["text"]) for row in listed] == [(1, "active", FIX)]
    served = ask(cli, QUESTION)
    assert (served["outcome"], served["answer"]) == ("approved", FIX)


def test_approving_a_candidate_for_an_approved_question_replaces_that_answer(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    assert cli.invoke(app, ["answers", "approve", "--question", QUESTION, "--text", "Old."]).exit_code == 0
    ask(cli, "How do I reset my password?")

    async def operator_reply() -> int:
        log = SqlConversationLog(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}")
        try:
            made = await log.add_candidate(1, FIX, "operator:sam")
            assert made is not None
            # The candidate answers the latest question; an operator reply to the refund question.
            changed = await log.update_approved(made.id, question=QUESTION)
            return changed.id
        finally:
            await log.close()

    candidate = asyncio.run(operator_reply())
    result = cli.invoke(app, ["answers", "approve", "--candidate", str(candidate)])
    assert result.exit_code == 0, result.output
    assert "Approved answer #1 replaced" in result.stdout
    rows = [
        json.loads(line)
        for line in cli.invoke(app, ["answers", "list", "--all", "--json"]).stdout.splitlines()
    ]
    assert sorted((row["id"], row["status"], row["text"]) for row in rows) == [
        (1, "active", FIX),
        (candidate, "retired", FIX),
    ]


def test_correcting_a_served_answer_under_another_question_leaves_the_served_one_alone(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    assert cli.invoke(app, ["answers", "approve", "--question", QUESTION, "--text", FIX]).exit_code == 0
    ask(cli, QUESTION)
    served_id = latest_answer_id(tmp_path)
    other = "How do I reset my password?"
    result = cli.invoke(
        app,
        ["answers", "approve", "--answer-id", str(served_id), "--question", other, "--text", "Use the link."],
    )
    assert result.exit_code == 0, result.output
    assert "Approved answer #2 approved" in result.stdout
    rows = [json.loads(line) for line in cli.invoke(app, ["answers", "list", "--json"]).stdout.splitlines()]
    assert sorted((row["id"], row["question"], row["text"]) for row in rows) == [
        (1, QUESTION, FIX),
        (2, other, "Use the link."),
    ]


def test_an_article_back_as_it_was_approved_says_so_in_the_review_reason(
    cli: CliRunner, knowledge: Path
) -> None:
    # It still said "no longer in the knowledge base" after the file came back unchanged.
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    approve = ["answers", "approve", "--question", "How do I reset my password?", "--text", "Use the link."]
    assert cli.invoke(app, [*approve, "--source", str(knowledge / "account.md")]).exit_code == 0
    article = (knowledge / "account.md").read_bytes()
    (knowledge / "account.md").unlink()
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    listed = " ".join(cli.invoke(app, ["answers", "list"]).stdout.split())
    assert "account.md is no longer in the knowledge base" in listed
    (knowledge / "account.md").write_bytes(article)
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    listed = " ".join(cli.invoke(app, ["answers", "list"]).stdout.split())
    assert "account.md was missing from a reload and is back as it was approved" in listed
    assert "no longer in the knowledge base" not in listed
    assert ask(cli, "How do I reset my password?")["outcome"] != "approved", "still waits for an admin"
    (knowledge / "account.md").write_bytes(article + b"\nNew paragraph.\n")
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    assert "account.md changed" in " ".join(cli.invoke(app, ["answers", "list"]).stdout.split())
    (knowledge / "account.md").write_bytes(article)
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    listed = " ".join(cli.invoke(app, ["answers", "list"]).stdout.split())
    # It changed, it was never missing.
    assert "account.md changed and is back as it was approved" in listed


def test_an_answer_edited_after_a_reload_from_another_folder_is_not_flagged_again(
    cli: CliRunner, knowledge: Path, tmp_path: Path
) -> None:
    # Found in a trial: `edit` took the article's hash from BOT_KB__SOURCE while the index served the copy
    # `kb reload --source` read, so every reload of that copy flagged the reviewed answer as changed again.
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    approve = ["answers", "approve", "--question", "How do I reset my password?", "--text", "Use the link."]
    assert cli.invoke(app, [*approve, "--source", "account.md"]).exit_code == 0
    copy = tmp_path / "copy"
    shutil.copytree(knowledge, copy)
    (copy / "account.md").write_text((copy / "account.md").read_text() + "\nNew paragraph.\n")
    result = cli.invoke(app, ["kb", "reload", "--source", str(copy)])
    assert result.exit_code == 0, result.output
    assert "account.md changed" in " ".join(cli.invoke(app, ["answers", "list"]).stdout.split())
    assert cli.invoke(app, ["answers", "edit", "1", "--text", "Use the new link."]).exit_code == 0
    result = cli.invoke(app, ["kb", "reload", "--source", str(copy)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in cli.invoke(app, ["answers", "list", "--json"]).stdout.splitlines()]
    assert [(row["id"], row["status"]) for row in rows] == [(1, "active")]


def test_a_source_is_found_in_the_folder_the_served_index_was_built_from(
    cli: CliRunner, tmp_path: Path
) -> None:
    # Found in a trial: after `kb reload --source OTHER`, `--source` named as `kb search` shows it was
    # "not a document in the knowledge folder knowledge (BOT_KB__SOURCE)".
    other = tmp_path / "freshcrate"
    (other / "billing").mkdir(parents=True)
    (other / "billing" / "credits.md").write_text(
        "# Credits\n\nA missed delivery is refunded as account credit within two days.\n", encoding="utf-8"
    )
    result = cli.invoke(app, ["kb", "reload", "--source", str(other)])
    assert result.exit_code == 0, result.output
    approve = ["answers", "approve", "--question", "Do I get credit for a missed box?", "--text", "Yes."]
    result = cli.invoke(app, [*approve, "--source", "billing/credits.md"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in cli.invoke(app, ["answers", "list", "--json"]).stdout.splitlines()]
    assert [row["source"] for row in rows] == ["billing/credits.md"]
    result = cli.invoke(app, ["answers", "edit", "1", "--source", "billing/nope.md"])
    assert result.exit_code == 2
    assert "not a document in the knowledge folder" in result.output
