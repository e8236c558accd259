"""Training-data export with the bot's prompt: a question not in English carries the pipeline's rule."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import RedactionSettings, Settings
from bot.domain import Answer, Hit, Passage, Timings, Turn
from bot.language import answer_language
from bot.rag.prompting import build_messages
from bot.services import build_pipeline
from bot.store.export import ExportOptions, export
from bot.store.repo import SqlConversationLog
from tests.fakes import FakeGenerator, FakeKB, make_chunk

RULE = "Write the answer in {}, the language of the question."
LOCKERS = "Locker to locker, same country: 3 days."
# question, its stored language ("" = none stored, as before languages were logged), the rule's language name
QUESTIONS = [
    ("快递柜包裹要几天？", "zh", "Chinese"),
    ("快遞櫃包裹要幾天？", "zh-Hant", "Chinese (Traditional)"),
    ("Wie lange dauert ein Schließfach-Paket?", "de", "German"),
    ("How long does a locker parcel take?", "en", ""),
    ("ok?", "und", ""),
    ("Locker parcel, how long?", "", ""),
]
GERMAN_FIRST = "Hallo, ich habe eine Frage zu Schließfächern."


def _answer(text: str) -> Answer:
    hits = (Hit(make_chunk("faq/lockers.md", "Lockers", LOCKERS, 0), 0.9, 1),)
    return Answer(text, (), True, Timings(total_ms=10.0), outcome="answered", hits=hits, model="m")


@pytest.fixture
async def languages(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> AsyncIterator[SqlConversationLog]:
    """One conversation per question; the German one follows an earlier German question and its answer."""
    log = SqlConversationLog(migrated_sqlite(tmp_path / "data" / "bot.db"))
    for n, (question, language, _) in enumerate(QUESTIONS):
        conv = await log.open_conversation(
            channel="telegram", external_user_id=f"10010010{n}", external_chat_id=str(n)
        )
        if language == "de":
            first = await log.log_user_message(conv.id, GERMAN_FIRST, language="de")
            await log.log_answer(conv.id, first, _answer("Gern, fragen Sie [1]."))
        asked = await log.log_user_message(conv.id, question, language=language)
        await log.log_answer(conv.id, asked, _answer("3 days [1]."))
    yield log
    await log.close()


async def _prompts(log: SqlConversationLog, out: Path, *, include_context: bool) -> dict[str, list[Any]]:
    """The exported prompt (every message but the target) of each question."""
    await export(
        log,
        ExportOptions(out=out, include_context=include_context),
        redaction=RedactionSettings(),
        build_prompt=build_messages,
    )
    prompts = [record[:-1] for record in _records(out)]
    # The German conversation's first question is a sample of its own: left out here.
    return {q: p for p in prompts for q, _, _ in QUESTIONS if q in p[-1]["content"]}


def _records(out: Path) -> list[list[dict[str, str]]]:
    return [json.loads(line)["messages"] for line in out.read_text("utf-8").splitlines()]


@pytest.mark.parametrize(("question", "language", "name"), QUESTIONS)
async def test_the_bots_prompt_asks_for_the_questions_language_as_the_pipeline_does(
    languages: SqlConversationLog, tmp_path: Path, question: str, language: str, name: str
) -> None:
    prompt = (await _prompts(languages, tmp_path / "ctx.jsonl", include_context=True))[question]
    current = prompt[-1]
    assert current["role"] == "user"
    if name:
        assert current["content"].endswith("\n\n" + RULE.format(name))
    else:
        assert "Write the answer in" not in current["content"]
    # The whole prompt is the bot's, with the rule named by the one mapping the pipeline uses too.
    history = (
        [Turn("user", GERMAN_FIRST), Turn("assistant", "Gern, fragen Sie [1].")] if language == "de" else []
    )
    expected = build_messages(
        question, [Passage("faq/lockers.md", "Lockers", LOCKERS, "")], history, language=name
    )
    assert answer_language(language) == name
    assert prompt == [{"role": m.role, "content": m.content} for m in expected]


async def test_earlier_turns_carry_no_rule_as_in_the_bots_prompt(
    languages: SqlConversationLog, tmp_path: Path
) -> None:
    prompt = (await _prompts(languages, tmp_path / "ctx.jsonl", include_context=True))[QUESTIONS[2][0]]
    earlier = [m for m in prompt[:-1] if m["role"] == "user"]
    assert [m["content"] for m in earlier] == [GERMAN_FIRST]


async def test_without_the_bots_prompt_the_question_is_as_logged(
    languages: SqlConversationLog, tmp_path: Path
) -> None:
    prompts = await _prompts(languages, tmp_path / "bare.jsonl", include_context=False)
    assert {question: prompt[-1]["content"] for question, prompt in prompts.items()} == {
        question: question for question, _, _ in QUESTIONS
    }


async def test_the_exported_prompt_is_the_one_the_pipeline_sent(
    settings: Settings, tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> None:
    """A German follow-up answered by a model that writes German: its logged sample's prompt, rebuilt by the
    export, is the prompt the model was given, language rule included."""
    rag = settings.rag.model_copy(update={"min_relevance": 0.0, "foreign_answer": "auto", "condense": False})
    chunk = replace(
        make_chunk("de/fach.md", "Schließfach", "Ein Schließfach-Paket dauert drei Tage.", 1), lang="de"
    )
    generator = FakeGenerator(reply="Ein Schließfach-Paket dauert drei Tage. [1]")
    pipeline = build_pipeline(settings.model_copy(update={"rag": rag}), FakeKB([chunk]), generator)
    history = [Turn("user", GERMAN_FIRST), Turn("assistant", "Gern, fragen Sie.")]
    question = "Wie lange dauert ein Schließfach-Paket?"
    answer = await pipeline.answer(question, history, user_key="u1", language="de")
    assert answer.outcome == "answered"

    log = SqlConversationLog(migrated_sqlite(tmp_path / "data" / "bot.db"))
    try:
        conv = await log.open_conversation(
            channel="telegram", external_user_id="100100100", external_chat_id="1"
        )
        first = await log.log_user_message(conv.id, GERMAN_FIRST, language="de")
        await log.log_answer(conv.id, first, replace(answer, text="Gern, fragen Sie."))
        asked = await log.log_user_message(conv.id, question, language="de")
        await log.log_answer(conv.id, asked, answer)
        out = tmp_path / "ctx.jsonl"
        await export(
            log,
            ExportOptions(out=out, include_context=True),
            redaction=RedactionSettings(),
            build_prompt=build_messages,
        )
    finally:
        await log.close()
    sent = generator.prompts[-1]
    assert sent[-1].content.endswith(RULE.format("German"))
    last = _records(out)[-1]
    assert last[:-1] == [{"role": m.role, "content": m.content} for m in sent]
