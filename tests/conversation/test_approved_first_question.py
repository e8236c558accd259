"""The first question of a process gets its approved answer: `ask` (a process per question) went to the
pipeline whenever the first fit (loading the embedder, embedding the set) outlasted the few seconds a
question waits for a refit, as it did 5 times of 6 on a busy machine."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

import bot.services
from bot.cli import app
from bot.kb.base import Embedder, KnowledgeBase
from bot.rag.approved import HEADINGS_K, ApprovedMatcher, first_fit
from bot.services import Services
from bot.store.base import ApprovedAnswerStore
from bot.store.repo import SqlConversationLog
from tests.cli import cli_runner
from tests.conversation.test_answers_cli import FIX, QUESTION, ask, knowledge
from tests.conversation.test_approved import WRONG, settings, store
from tests.fakes import FakeEmbedder, FakeGenerator

__all__ = ["knowledge", "settings", "store"]  # the fixtures, shared with test_answers_cli and test_approved

# What a question waits for a refit here: the fit below takes far longer, as the first fit on a busy
# machine outlasted `REFIT_WAIT_S`.
QUICK_WAIT_S = 0.05


class SlowFitEmbedder(FakeEmbedder):
    """Embeds a batch (a fit embeds the set in batches; a question is one text) slowly, or not until `gate`
    is set."""

    def __init__(self, delay_s: float = 0.3) -> None:
        super().__init__(dim=1024)
        self.delay_s = delay_s
        self.gate = threading.Event()
        self.gate.set()

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if len(texts) > 1:
            self.gate.wait(30)
            time.sleep(self.delay_s)  # in the fit's worker thread
        return super().embed_queries(texts)


def quick_matcher(
    store: ApprovedAnswerStore, embedder: Callable[[], Embedder], kb: KnowledgeBase | None
) -> ApprovedMatcher:
    """`build_approved`, with a question waiting `QUICK_WAIT_S` for a refit."""
    search = None if kb is None else (lambda question: kb.search(question, HEADINGS_K))
    return ApprovedMatcher(store, embedder, search, refit_wait_s=QUICK_WAIT_S)


@pytest.fixture
def slow_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, knowledge: Path) -> CliRunner:
    embedder = SlowFitEmbedder()
    generator = FakeGenerator(WRONG)
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setattr(Services, "generator", lambda self: generator)
    monkeypatch.setattr(bot.services, "build_approved", quick_matcher)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOT_KB__SOURCE", str(knowledge))
    monkeypatch.setenv("BOT_RAG__MIN_RELEVANCE", "0")
    with cli_runner() as runner:
        return runner


def test_ask_serves_the_approved_answer_to_the_first_question_of_the_process(slow_cli: CliRunner) -> None:
    assert slow_cli.invoke(app, ["kb", "reload"]).exit_code == 0
    approved = slow_cli.invoke(app, ["answers", "approve", "--question", QUESTION, "--text", FIX])
    assert approved.exit_code == 0, approved.output
    for _ in range(2):  # each `ask` a process of its own: a matcher without a fit
        served = ask(slow_cli, QUESTION)
        assert (served["outcome"], served["answer"]) == ("approved", FIX)


def test_chat_serves_the_approved_answer_to_its_first_question(slow_cli: CliRunner) -> None:
    assert slow_cli.invoke(app, ["kb", "reload"]).exit_code == 0
    assert slow_cli.invoke(app, ["answers", "approve", "--question", QUESTION, "--text", FIX]).exit_code == 0
    result = slow_cli.invoke(app, ["chat"], input=f"{QUESTION}\n/quit\n")
    assert result.exit_code == 0, result.output
    assert FIX in " ".join(result.stdout.split())


async def test_a_fit_not_ready_in_time_is_said_and_the_question_goes_on(store: SqlConversationLog) -> None:
    embedder = SlowFitEmbedder()
    embedder.gate.clear()
    matcher = ApprovedMatcher(store, lambda: embedder, None, refit_wait_s=QUICK_WAIT_S)
    await store.add_approved(question=QUESTION, text=FIX, approved_by="1")
    said = await first_fit(matcher, timeout_s=0.1)
    assert said is not None
    assert "the approved answers were not ready after 0.1 s" in said
    assert "answered from the knowledge base until it is done" in said
    embedder.gate.set()
    # The fit went on meanwhile (it is not cancelled with the wait), and serves once done.
    assert await matcher.refresh() is not None
    found = await matcher.match(QUESTION)
    assert found is not None
    assert found.approved.text == FIX


async def test_a_matcher_that_cannot_fit_is_said_and_the_question_goes_on(store: SqlConversationLog) -> None:
    def broken() -> Embedder:
        raise RuntimeError("embedder missing")

    matcher = ApprovedMatcher(store, broken, None)
    await store.add_approved(question=QUESTION, text=FIX, approved_by="1")
    said = await first_fit(matcher)
    assert said is not None
    assert "cannot be matched (RuntimeError: embedder missing)" in said
