"""Training-data export with the bot's prompt: targets open with its prefill, as the bot serves answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.config import RedactionSettings
from bot.domain import Answer, Hit, Outcome, Passage, Timings
from bot.rag.citations import supports_correction
from bot.rag.prompting import build_messages, load_templates, prefilled_answer
from bot.store.export import ExportOptions, export
from bot.store.repo import SqlConversationLog
from tests.fakes import make_chunk

LOCKERS = "Locker to locker, same country: 3 days.\n\nAbroad, a locker parcel takes 5 days."
CHEQUES = "We accept cards and bank transfers; we do not take cheques."
QUOTE = "- Locker to locker, same country: 3 days. [1]"  # an extracted answer, as the pipeline logs it
MODEL = "According to [1], a locker parcel takes 3 days [1]."  # the model's, after the prefill it was given
CITED_FIX = "Cheques are not accepted [2]."  # an admin's correction citing the second passage
PLAIN_FIX = "Write to support to change the address."  # one citing none


def _answer(text: str, outcome: Outcome) -> Answer:
    hits = tuple(
        Hit(make_chunk(f"faq/{name}.md", name.title(), body, i), 0.9 - i / 10, i + 1)
        for i, (name, body) in enumerate((("lockers", LOCKERS), ("payments", CHEQUES)))
    )
    return Answer(
        text, (), outcome != "ungrounded", Timings(total_ms=10.0), outcome=outcome, hits=hits, model="m"
    )


@pytest.fixture
async def mixed(tmp_path: Path, migrated_sqlite: Callable[[Path], str]) -> AsyncIterator[SqlConversationLog]:
    """A model answer, a quote, two corrections, an ungrounded answer, and a quote for a German question."""
    log = SqlConversationLog(migrated_sqlite(tmp_path / "data" / "bot.db"))
    conv = await log.open_conversation(channel="telegram", external_user_id="100100100", external_chat_id="1")

    async def turn(question: str, text: str, outcome: Outcome = "answered", language: str = "en") -> int:
        asked = await log.log_user_message(conv.id, question, language=language)
        return await log.log_answer(conv.id, asked, _answer(text, outcome))

    await turn("How long does a locker parcel take?", MODEL)
    await turn("Locker to locker?", QUOTE, "extracted")
    await log.add_correction(await turn("Can I pay by cheque?", "Yes."), "42", CITED_FIX)
    await log.add_correction(await turn("Can I change the address?", "No."), "42", PLAIN_FIX)
    await turn("Do you ship to Mars?", "Maybe by rocket.", "ungrounded")
    await turn(
        "Wie lange dauert ein Schließfach?", "Locker to locker, same country: 3 days. [1]", "extracted", "de"
    )
    yield log
    await log.close()


def _lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines()


async def _targets(log: SqlConversationLog, out: Path, *, include_context: bool) -> dict[str, str]:
    """The exported target of each question."""
    await export(
        log,
        ExportOptions(out=out, include_context=include_context, history_turns=0),
        redaction=RedactionSettings(),
        build_prompt=build_messages,
        supports=supports_correction,
        shape_target=prefilled_answer,
    )
    records = [json.loads(line)["messages"] for line in _lines(out)]
    # The question is the prompt's last user message: with the bot's prompt, inside its template.
    return {next(q for q in _QUESTIONS if q in r[-2]["content"]): r[-1]["content"] for r in records}


_QUESTIONS = (
    "How long does a locker parcel take?",
    "Locker to locker?",
    "Can I pay by cheque?",
    "Can I change the address?",
    "Do you ship to Mars?",
    "Wie lange dauert ein Schließfach?",
)


async def test_quotes_and_corrections_open_with_the_prefill_with_the_bots_prompt(
    mixed: SqlConversationLog, tmp_path: Path
) -> None:
    assert (
        load_templates().prefill == "According to [1],"
    )  # the test's premise: the current prompt primes this way
    targets = await _targets(mixed, tmp_path / "ctx.jsonl", include_context=True)
    # The quote: the prefill names the passage it cites, its list mark goes (the prefill introduces it), and
    # its first word reads lower case as in the passage; the text is otherwise as logged, mark included.
    assert targets["Locker to locker?"] == "According to [1], locker to locker, same country: 3 days. [1]"
    # A correction citing passage 2: the prefill names [2], and its marks are its own.
    assert targets["Can I pay by cheque?"] == "According to [2], cheques are not accepted [2]."
    # A correction citing nothing: the prefill names [1], and it ends citing it, as `with_prefill` shapes one.
    assert targets["Can I change the address?"] == f"According to [1], {PLAIN_FIX} [1]"
    # The model's answer already opens with the prefill: unchanged.
    assert targets["How long does a locker parcel take?"] == MODEL
    # No prefill where the bot writes none: before the code's caveat over unbacked words, or for a question
    # in another language (the prefill is English).
    assert targets["Do you ship to Mars?"] == "Maybe by rocket."
    assert targets["Wie lange dauert ein Schließfach?"] == "Locker to locker, same country: 3 days. [1]"


async def test_without_the_bots_prompt_targets_are_as_logged(
    mixed: SqlConversationLog, tmp_path: Path
) -> None:
    targets = await _targets(mixed, tmp_path / "bare.jsonl", include_context=False)
    assert targets == {
        "How long does a locker parcel take?": MODEL,
        "Locker to locker?": QUOTE,
        "Can I pay by cheque?": CITED_FIX,
        "Can I change the address?": PLAIN_FIX,
        "Do you ship to Mars?": "Maybe by rocket.",
        "Wie lange dauert ein Schließfach?": "Locker to locker, same country: 3 days. [1]",
    }


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("According to [1], lockers take 3 days [1].", "According to [1], lockers take 3 days [1]."),
        ("According to [2], cheques are refused [2].", "According to [2], cheques are refused [2]."),
        ("Cheques are refused [2] and [1].", "According to [2], cheques are refused [2] and [1]."),
        # A mark no passage has does not name one: [1], and the text keeps its own marks.
        ("Cheques are refused [7].", "According to [1], Cheques are refused [7]."),
        ("1. Open the app.", "According to [1], Open the app. [1]"),
    ],
)
def test_prefilled_answer(answer: str, expected: str) -> None:
    passages = [Passage("a.md", "A", LOCKERS, ""), Passage("b.md", "B", CHEQUES, "")]
    assert prefilled_answer(answer, passages) == expected
