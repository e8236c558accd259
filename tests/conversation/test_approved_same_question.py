"""One approved answer per question, punctuation, width, case and spacing aside: approving "Do you deliver on
Sundays" after "Do you deliver on Sundays?" replaced nothing, and the two contested each other so that
neither was served; duplicates already stored must not block either."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.rag.approved import ApprovedMatcher, one_per_question, question_key, same_question
from bot.store.repo import SqlConversationLog
from tests.conversation.test_answers_cli import ask, cli, knowledge
from tests.conversation.test_approved import store
from tests.fakes import FakeEmbedder

__all__ = ["cli", "knowledge", "store"]  # the fixtures, shared with test_answers_cli and test_approved


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Do you deliver on Sundays?", "Do you deliver on Sundays"),
        ("Can I pay with PayPal?", "can i pay with paypal ?"),
        ("Can I pay with PayPal?", "Can I pay with PayPal?!"),
        ("What's the fee to Switzerland?", "What’s the fee, to Switzerland"),
        ("Do you deliver on Sundays?", "Do you deliver on Sundays…"),
        ("你们周日送货吗？", "你们周日送货吗"),
        ("你们周日送货吗？", "你们周日，送货吗！"),
        ("可以用 PayPal 付款吗？", "可以用PayPal付款吗?"),
        ("日曜日に配達しますか？", "日曜日に配達しますか。"),
        ("¿Entregan los domingos?", "entregan los domingos"),
        ("Ｄｏ you deliver on Sundays？", "Do you deliver on Sundays?"),
    ],
)
def test_the_same_question_up_to_punctuation_and_spacing(first: str, second: str) -> None:
    assert same_question(first, second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Do you deliver on Sundays?", "Do you deliver on Saturdays?"),
        ("Can I send 3.5 kg?", "Can I send 35 kg?"),  # punctuation is a space, not nothing
        ("Do you support C#?", "Do you support C?"),
        ("Is there a 10% fee?", "Is there a 10 fee?"),
    ],
)
def test_other_questions_stay_apart(first: str, second: str) -> None:
    assert not same_question(first, second), (question_key(first), question_key(second))


async def test_stored_duplicates_do_not_block_each_other(store: SqlConversationLog) -> None:
    """Two active answers to one question, stored before approving it again replaced the text: the latest
    approved serves, and `answers fit` names the other."""
    matcher = ApprovedMatcher(store, lambda: FakeEmbedder(dim=1024), None)
    older = await store.add_approved(
        question="Do you deliver on Sundays?", text="No, Monday to Saturday.", approved_by="1"
    )
    newer = await store.add_approved(
        question="Do you deliver on Sundays", text="No, we deliver Monday to Saturday only.", approved_by="1"
    )
    other = await store.add_approved(question="Can I pay with PayPal?", text="Yes.", approved_by="1")
    await store.add_approved(question="can i pay with paypal ?", text="Yes, and by card.", approved_by="1")
    # Approved again (an admin re-approving the older one): it is now the latest of its question.
    await store.update_approved(other.id, approved_by="2")
    for asked in ("Do you deliver on Sundays?", "do you deliver on sundays"):
        found = await matcher.match(asked)
        assert found is not None, asked
        assert (found.approved.id, found.approved.text) == (newer.id, newer.text)
    paypal = await matcher.match("Can I pay with PayPal?")
    assert paypal is not None
    assert paypal.approved.id == other.id
    fit = matcher.fit
    assert fit is not None
    assert sorted(fit.repeated) == [older.id, other.id + 1]
    assert f"not served: #{older.id}" in fit.describe()
    kept, left_out = one_per_question(await store.list_approved(["active"]))
    assert [a.id for a in kept] == [newer.id, other.id]
    assert [a.id for a in left_out] == [older.id, other.id + 1]


def test_approving_a_question_again_with_other_punctuation_replaces_it(cli: CliRunner) -> None:
    assert cli.invoke(app, ["kb", "reload"]).exit_code == 0
    first = cli.invoke(
        app,
        [
            "answers",
            "approve",
            "--question",
            "Do you deliver on Sundays?",
            "--text",
            "No, Monday to Saturday.",
        ],
    )
    assert first.exit_code == 0, first.output
    assert ask(cli, "Do you deliver on Sundays?")["outcome"] == "approved"
    final = "No, we deliver Monday to Saturday only."
    again = cli.invoke(
        app, ["answers", "approve", "--question", "Do you deliver on Sundays", "--text", final]
    )
    assert again.exit_code == 0, again.output
    assert (
        'Approved answer #1 replaced: its question was already approved (as "Do you deliver on Sundays?")'
        in again.stdout
    )
    paypal = cli.invoke(app, ["answers", "approve", "--question", "Can I pay with PayPal?", "--text", "Yes."])
    assert "Approved answer #2 approved" in paypal.stdout
    paypal_again = cli.invoke(
        app, ["answers", "approve", "--question", "can i pay with paypal ?", "--text", "Yes, or by card."]
    )
    assert "Approved answer #2 replaced" in paypal_again.stdout
    listed = [json.loads(line) for line in cli.invoke(app, ["answers", "list", "--json"]).stdout.splitlines()]
    assert [(row["id"], row["text"]) for row in listed] == [(1, final), (2, "Yes, or by card.")]
    for asked, text in (
        ("Do you deliver on Sundays?", final),
        ("Do you deliver on Sundays", final),
        ("Can I pay with PayPal?", "Yes, or by card."),
    ):
        served = ask(cli, asked)
        assert (served["outcome"], served["answer"]) == ("approved", text), asked
