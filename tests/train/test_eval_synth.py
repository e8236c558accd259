"""Evaluation helpers and the synthetic data builder (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app, register_commands
from bot.domain import ChatMessage
from bot.rag.pipeline import REFUSAL_TEXT
from bot.rag.prompting import Passage, build_messages, load_templates
from bot.train.data import load_chat_jsonl
from bot.train.evaluate import EvalError, citations, is_refusal, passage_numbers, resolve_model
from bot.train.synth import REFUSAL_ANSWER, build, with_prefill
from tests.conftest import KNOWLEDGE


def _prompt(n: int) -> list[ChatMessage]:
    passages = [
        Passage(f"doc{i}.md", f"Heading {i}", f"Text {i} [9] is not a marker here.") for i in range(n)
    ]
    return build_messages("How do I?", passages)


def test_passage_numbers_come_from_the_bot_prompt() -> None:
    assert passage_numbers(_prompt(3)) == {1, 2, 3}
    assert passage_numbers([ChatMessage("user", "no passages")]) == set()


def test_citations_keep_only_passages_in_the_prompt() -> None:
    valid = passage_numbers(_prompt(2))
    assert citations("Do this [2]. And that [1][7].", valid) == (2, 1)
    assert citations("Nothing cited.", valid) == ()
    assert citations("Out of range [3].", valid) == ()
    assert citations("Anything [1].", set()) == ()


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        (REFUSAL_ANSWER, True),
        ("I do not know.", True),
        (REFUSAL_TEXT, True),
        ("The passages do not answer this.", True),
        ("Reset it with the blue button [1].", False),
        ("I know the answer: press reset [1].", False),
    ],
)
def test_refusal_detection(text: str, refused: bool) -> None:
    assert is_refusal(text) is refused


def test_model_arguments_are_checked_before_llama_cpp_sees_them(tmp_path: Path, settings: object) -> None:
    with pytest.raises(EvalError, match="no such file"):
        resolve_model(str(tmp_path / "missing.gguf"), settings)  # type: ignore[arg-type]
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a gguf at all")
    with pytest.raises(EvalError, match="bogus.gguf"):
        resolve_model(str(bogus), settings)  # type: ignore[arg-type]
    with pytest.raises(EvalError, match="without adapter.gguf"):
        resolve_model(str(tmp_path), settings)  # type: ignore[arg-type]
    assert resolve_model("base", settings).lora_path is None  # type: ignore[arg-type]


def test_synth_writes_grounded_samples_with_a_question_level_split(tmp_path: Path) -> None:
    stats = build([("", KNOWLEDGE)], tmp_path, seed=3, heldout=0.2)
    train = load_chat_jsonl(tmp_path / "train.jsonl")
    held = load_chat_jsonl(tmp_path / "heldout.jsonl")
    assert (len(train), len(held)) == (stats.train, stats.heldout)
    assert stats.unanswerable > 0
    assert stats.answerable > 50

    def question(sample_messages: tuple[ChatMessage, ...]) -> str:
        return next(m.content for m in sample_messages if m.role == "user")

    assert not {question(s.messages) for s in train} & {question(s.messages) for s in held}
    refusals = 0
    first = 0
    for sample in train + held:
        # The prompt is exactly the bot's: rebuilding the system message from its passages is not needed,
        # but every reference must cite a passage that the prompt really numbers.
        assert sample.messages[0].role == "system"
        assert "<passages>" in sample.messages[0].content
        if sample.reference == REFUSAL_ANSWER:
            refusals += 1
            continue
        cited = citations(sample.reference, passage_numbers(sample.prompt))
        assert len(cited) == 1
        # The answer opens as the bot's does (its prefill), naming the passage it quotes.
        (number,) = cited
        assert sample.reference.startswith(f"According to [{number}], ")
        first += number == 1
    assert refusals == stats.unanswerable
    # Like retrieval, which usually ranks the answering passage first, but not always.
    answered = stats.train + stats.heldout - stats.unanswerable
    assert 0.6 * answered < first < answered


@pytest.mark.parametrize(
    ("answer", "passage", "expected"),
    [
        # Lower-cased when the passage uses the word in lower case too; a name stays capitalised.
        ("Backup codes let you in.", "Backup codes let you in. New backup codes", "According to [2], backup"),
        ("Python has a GIL.", "Python has a GIL. python.exe", "According to [2], Python has"),
        ("Python 3 is fine.", "Python 3 is fine.", "According to [2], Python 3"),
        # A list item's mark goes: the prefill already introduces it.
        ("1. Sign in with a code.", "1. Sign in with a code. Then sign out.", "According to [2], sign in"),
    ],
)
def test_synth_answers_continue_the_prompt_prefill(answer: str, passage: str, expected: str) -> None:
    prefill = load_templates().prefill
    assert prefill == "According to [1],"  # the test's premise: the current prompt primes this way
    reference = with_prefill(answer, passage, 2, prefill)
    assert reference.startswith(expected)
    assert reference.endswith(" [2]")
    assert with_prefill(answer, passage, 2, "") == f"{answer} [2]"


def test_synth_is_deterministic_and_rejects_missing_folders(tmp_path: Path) -> None:
    register_commands()
    runner = CliRunner()

    def synth(*args: str) -> Result:
        return runner.invoke(app, ["synth", *args])

    assert synth("--out", str(tmp_path / "a"), "--source", str(KNOWLEDGE), "--seed", "1").exit_code == 0
    assert synth("--out", str(tmp_path / "b"), "--source", str(KNOWLEDGE), "--seed", "1").exit_code == 0
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (tmp_path / "b" / "train.jsonl").read_bytes()
    assert json.loads((tmp_path / "a" / "synth-stats.json").read_text())["seed"] == 1
    missing = synth("--out", str(tmp_path / "c"), "--source", str(tmp_path / "nope"))
    assert missing.exit_code == 2
    assert "no such folder" in missing.output
    bad_split = synth("--out", str(tmp_path / "d"), "--source", str(KNOWLEDGE), "--heldout", "1.5")
    assert bad_split.exit_code == 2
    assert "--heldout must be between 0 and 1" in bad_split.output
