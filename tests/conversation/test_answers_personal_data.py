"""`answers approve/edit` refuse personal data in a served text unless the admin allows it; `db forget`
takes a forgotten user's details out of the approved answers built on their questions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import RedactionSettings, Settings
from bot.services import Services
from bot.store.repo import SqlConversationLog
from tests.cli import cli_runner
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.store.test_log_contract import answer

QUESTION = "Where is my return label?"
REPLY = "Hi John, I sent the label to john.smith@example.com; questions: +49 30 12345678."
DETAILS = ("john.smith@example.com", "12345678")
SUPPORT = "Write to support@shop.example, Monday to Friday."
PUBLIC = "support@shop.example."


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    embedder = FakeEmbedder(dim=1024)
    generator = FakeGenerator("It works. [1]")
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setattr(Services, "generator", lambda self: generator)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "knowledge").mkdir()
    monkeypatch.setenv("BOT_KB__SOURCE", str(tmp_path / "knowledge"))
    with cli_runner() as runner:
        yield runner


def _log(tmp_path: Path) -> SqlConversationLog:
    return SqlConversationLog(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}")


def listed(cli: CliRunner, *flags: str) -> list[dict[str, object]]:
    result = cli.invoke(app, ["answers", "list", "--json", *flags])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _has_details(rows: list[dict[str, object]]) -> bool:
    return any(detail in json.dumps(rows) for detail in DETAILS)


def test_a_text_with_personal_data_is_refused_unless_allowed(cli: CliRunner) -> None:
    refused = cli.invoke(app, ["answers", "approve", "--question", QUESTION, "--text", REPLY])
    assert refused.exit_code == 2
    assert "--text contains an email address and a phone number" in refused.output
    assert "--allow-personal-data" in refused.output
    assert listed(cli, "--all") == []  # nothing stored

    # A public support address is the admin's to serve.
    approve = ["answers", "approve", "--question", "How do I reach you?", "--text", SUPPORT]
    allowed = cli.invoke(app, [*approve, "--allow-personal-data"])
    assert allowed.exit_code == 0, allowed.output
    assert [row["text"] for row in listed(cli)] == [SUPPORT]

    edited = cli.invoke(app, ["answers", "edit", "1", "--text", f"{SUPPORT} Or call +49 30 87654321."])
    assert edited.exit_code == 2
    assert "--text contains an email address and a phone number" in edited.output
    assert [row["text"] for row in listed(cli)] == [SUPPORT]
    assert cli.invoke(app, ["answers", "edit", "1"]).exit_code == 0  # approved once: confirmed as it is


def test_approving_an_operator_reply_never_serves_the_customers_details(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert listed(cli) == []  # creates the database

    async def handoff() -> tuple[int, int]:
        log = _log(tmp_path)
        try:
            conv = await log.open_conversation(
                channel="telegram", external_user_id="2301", external_chat_id="2301"
            )
            q = await log.log_user_message(conv.id, QUESTION)
            await log.log_answer(conv.id, q, answer("Wrong answer [1]."))
            # One stored as it was written, as before replies were redacted; and one stored now.
            old = await log.add_approved(
                question=QUESTION, text=REPLY, approved_by="operator:sam", status="candidate"
            )
            new = await log.add_candidate(conv.id, REPLY, "operator:ann")
            assert new is not None
            return old.id, new.id
        finally:
            await log.close()

    old, new = asyncio.run(handoff())
    assert not _has_details(listed(cli, "--candidates")[1:])  # the reply stored now is redacted

    refused = cli.invoke(app, ["answers", "approve", "--candidate", str(old)])
    assert refused.exit_code == 2
    assert (
        f"candidate {old} (an operator's reply) contains an email address and a phone number"
        in refused.output
    )
    assert [row["status"] for row in listed(cli, "--all")] == ["candidate", "candidate"]

    approved = cli.invoke(app, ["answers", "approve", "--candidate", str(new)])
    assert approved.exit_code == 0, approved.output
    # The placeholders would read oddly to customers: the admin is told how to reword it.
    assert "customers see <EMAIL>, <PHONE> where personal data was redacted" in approved.output
    assert f"answers edit {new} --text" in approved.output
    assert not _has_details(listed(cli))


def test_forget_takes_a_users_details_out_of_an_approved_answer_on_their_question(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert listed(cli) == []

    async def served_reply() -> None:
        log = _log(tmp_path)
        try:
            conv = await log.open_conversation(
                channel="telegram", external_user_id="2301", external_chat_id="2301"
            )
            q = await log.log_user_message(conv.id, QUESTION)
            a = await log.log_answer(conv.id, q, answer("Wrong answer [1]."))
            await log.log_operator_message(conv.id, REPLY)  # the handoff's reply to them, as it is logged
            # Approved as the operator wrote it (before such texts were refused), with the public address.
            await log.add_approved(
                question=QUESTION,
                text=f"{REPLY} Or write to {PUBLIC}",
                approved_by="console:admin",
                corrects_answer_id=a,
                keep_personal_data=True,
            )
        finally:
            await log.close()

    asyncio.run(served_reply())
    assert _has_details(listed(cli))
    result = cli.invoke(app, ["db", "forget", "--user", "2301", "--yes"])
    assert result.exit_code == 0, result.output
    (row,) = listed(cli)
    assert row["status"] == "active"
    assert not _has_details([row])
    # Their details go; the support address, no detail of theirs, stays served.
    assert row["text"] == f"Hi John, I sent the label to <EMAIL>; questions: <PHONE>. Or write to {PUBLIC}"


def test_the_admin_is_told_what_personal_data_a_text_holds_in_english(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_REDACTION__EXTRA_PATTERNS", r"ORD-\d{6}")
    texts = {
        "Mail a@example.com or b@example.org.": "2 email addresses",
        "Pay to DE89 3704 0044 0532 0130 00.": "an IBAN",
        "Pay to DE89 3704 0044 0532 0130 00 or GB82 WEST 1234 5698 7654 32.": "2 IBANs",
        "입금 계좌: 국민은행 123456-01-234567": "a bank account number",
        "Your user id: 99887766.": "a user id",
        "Ask @shop_helper or @shop_orders.": "2 chat handles (Telegram, QQ or WeChat)",
        "加微信号：shop_helper01": "a chat handle (Telegram, QQ or WeChat)",
        "See ORD-123456.": "a match of BOT_REDACTION__EXTRA_PATTERNS",
        "See ORD-123456 and ORD-654321, or a@example.com.": (
            "an email address and 2 matches of BOT_REDACTION__EXTRA_PATTERNS"
        ),
    }
    for text, named in texts.items():
        refused = cli.invoke(app, ["answers", "approve", "--question", "How do I pay?", "--text", text])
        assert refused.exit_code == 2
        assert f"--text contains {named}: an approved answer" in " ".join(refused.output.split())


async def test_the_bots_log_keeps_what_the_deployment_redacts_out_of_served_answers(
    settings: Settings,
) -> None:
    # A Chinese mobile number is no number in the default regions; order references are the deployment's.
    configured = settings.model_copy(
        update={"redaction": RedactionSettings(phone_regions=["US", "CN"], extra_patterns=[r"ORD-\d{6}"])}
    )
    configured.data_dir.mkdir(parents=True)  # as the web channel and `answers` make it
    async with Services(configured) as services:
        log = await services.conversation_log()
        assert isinstance(log, SqlConversationLog)
        conv = await log.open_conversation(
            channel="telegram", external_user_id="2301", external_chat_id="2301"
        )
        q = await log.log_user_message(conv.id, QUESTION)
        a = await log.log_answer(conv.id, q, answer("Wrong answer [1]."))
        reply = "Hi Li, we will call 13812345678 about ORD-123456."
        # An operator's reply in the handoff, and a Telegram correction of the bot's answer.
        candidate = await log.add_candidate(conv.id, reply, "operator:ann")
        assert candidate is not None
        corrected = await log.add_approved(
            question="Will you call me?", text=reply, approved_by="telegram:1", corrects_answer_id=a
        )
        for served in (candidate, corrected):
            assert served.text == "Hi Li, we will call <PHONE> about <CUSTOM>."
