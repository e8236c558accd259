"""`chat` in the console shows only checked text: each live update is the beginning of the printed answer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bot.channels import console as console_module
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from bot.conversation import ConversationService, Reply
from bot.domain import Answer, Source, Timings
from bot.services import build_pipeline
from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB
from tests.fakes_log import MemoryConversationLog

SUPPORTED = "Refunds are paid back to the original card within five business days [1]."
UNSUPPORTED = "Your bank in Ohio also adds a welcome bonus of fifty dollars to every refund."
AFTER = "Refunds always go back to the original card [1]."


class RecordingLive:
    """Stands in for rich's Live display and remembers every text it was asked to show."""

    shown: list[str] = []

    def __init__(self, renderable: Any, **_: Any) -> None:
        RecordingLive.shown.append(str(renderable))

    def __enter__(self) -> RecordingLive:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, renderable: Any) -> None:
        RecordingLive.shown.append(str(renderable))


async def chat_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reply: str) -> tuple[list[str], str]:
    """Run `chat` for one question; return the live texts and what was printed."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", rag={"min_relevance": 0.0, "confident_relevance": 0.0}
    )
    pipeline = build_pipeline(settings, FakeKB(HELP_CENTER), FakeGenerator(reply, delay_s=0.005))
    service = ConversationService(pipeline, MemoryConversationLog(), history_turns=settings.rag.history_turns)
    RecordingLive.shown = []
    monkeypatch.setattr(console_module, "Live", RecordingLive)
    lines = iter(["How long do refunds take?"])

    def typed(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    out = Console(file=io.StringIO(), width=400, color_system=None)
    monkeypatch.setattr(out, "input", typed)
    await ConsoleChannel(service, user="ada").chat(out)
    file = out.file
    assert isinstance(file, io.StringIO)
    return RecordingLive.shown, file.getvalue()


async def test_chat_never_shows_an_unsupported_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, printed = await chat_once(tmp_path, monkeypatch, f"{SUPPORTED} {UNSUPPORTED} {AFTER}")
    answer_line = next(line for line in printed.splitlines() if line.startswith("bot> "))
    answer = answer_line.removeprefix("bot> ")
    streamed = [text for text in live if text != "…"]
    assert streamed, "the checked sentence streams"
    for text in [*streamed, printed]:
        assert "Ohio" not in text
        assert "always go back" not in text
    for text in streamed:
        assert answer.startswith(text), f"live text {text!r} is not the beginning of the answer {answer!r}"
    assert answer.endswith("five business days [1].")


async def test_chat_streams_a_supported_answer_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live, printed = await chat_once(tmp_path, monkeypatch, f"{SUPPORTED} {AFTER}")
    answer = next(line for line in printed.splitlines() if line.startswith("bot> ")).removeprefix("bot> ")
    streamed = [text for text in live if text != "…"]
    assert streamed[-1] == answer
    assert all(answer.startswith(text) for text in streamed)


def test_sources_are_listed_by_the_numbers_the_answer_cites_them_with() -> None:
    # The model cited its second passage only: the one source listed must be "[2]", not "[1]".
    refunds = Source("billing/refunds.md", "Refunds")
    cited = Answer("Refunds take five days [2].", (refunds,), True, Timings(), citations=(2,))
    out = Console(file=io.StringIO(), width=200, color_system=None)
    console_module.print_reply(out, Reply("answer", cited.text, answer=cited))
    printed = out.file.getvalue()  # type: ignore[attr-defined]
    assert "  [2] billing/refunds.md › Refunds" in printed
    assert "[1]" not in printed
    # Two cited passages of one section are one source: no number can be matched to it, so it gets a bullet.
    merged = Answer("Five days [1][3].", (refunds,), True, Timings(), citations=(1, 3))
    assert merged.source_labels == ("•",)
    approved = Answer("An approved text.", (refunds,), True, Timings(), outcome="approved")
    assert approved.source_labels == ("•",)


async def test_questions_piped_in_show_after_their_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`printf 'q\\n' | python -m bot chat`: no terminal echoes the question, so the transcript read
    "you> bot> …" with the question nowhere."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", rag={"min_relevance": 0.0, "confident_relevance": 0.0}
    )
    pipeline = build_pipeline(settings, FakeKB(HELP_CENTER), FakeGenerator(SUPPORTED))
    service = ConversationService(pipeline, MemoryConversationLog(), history_turns=settings.rag.history_turns)
    monkeypatch.setattr(console_module, "Live", RecordingLive)
    monkeypatch.setattr("sys.stdin", io.StringIO("How long do refunds take?\n/quit\n"))
    out = Console(file=io.StringIO(), width=400, color_system=None)
    await ConsoleChannel(service, user="ada").chat(out)
    file = out.file
    assert isinstance(file, io.StringIO)
    lines = file.getvalue().splitlines()
    assert lines[1] == "you> How long do refunds take?"
    assert lines[2].startswith("bot> ")
    assert "Refunds are paid back" in lines[2]
    assert lines[-1] == "you> /quit"
