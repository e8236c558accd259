"""`answers approve --answer-id` approves the logged question without the customer's personal data."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from tests.conversation.test_answers_personal_data import _log, cli, listed
from tests.store.test_log_contract import answer

__all__ = ["cli"]  # the fixture, shared with test_answers_personal_data

IBAN = "DE89 3704 0044 0532 0130 00"
QUESTION = f"Can you refund to my IBAN {IBAN} instead of the card?"


def test_the_logged_question_is_approved_without_the_customers_details(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert listed(cli) == []  # creates the database

    async def logged() -> int:
        log = _log(tmp_path)
        try:
            conv = await log.open_conversation(
                channel="telegram", external_user_id="2301", external_chat_id="2301"
            )
            q = await log.log_user_message(conv.id, QUESTION)
            return await log.log_answer(conv.id, q, answer("Wrong answer [1]."))
        finally:
            await log.close()

    answer_id = asyncio.run(logged())
    text = "Refunds go back to the card you paid with; we cannot pay them to a bank account."
    result = cli.invoke(app, ["answers", "approve", "--answer-id", str(answer_id), "--text", text])
    assert result.exit_code == 0, result.output
    assert "contains an IBAN" in " ".join(result.output.split())
    rows = listed(cli)
    assert [row["text"] for row in rows] == [text]
    question = str(rows[0]["question"])
    assert IBAN not in question
    assert "<IBAN>" in question
    assert question.startswith("Can you refund to my IBAN")
