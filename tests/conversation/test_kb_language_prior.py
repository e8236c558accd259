"""A German help center's short questions are German: the knowledge base's languages as the prior."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot import conversation
from bot.config import Settings
from bot.conversation import ConversationService, Customer, Reply
from bot.domain import Answer, Delta, Turn
from bot.kb.calibration import Calibration, LanguageFit
from bot.rag.pipeline import Pipeline
from bot.services import build_pipeline
from tests.fakes import FakeGenerator, FakeKB, make_chunk
from tests.fakes_log import MemoryConversationLog

# Unhinted, as the console and Telegram without `language_code`.
ALICE = Customer("telegram", "2001", "2001", name="Alice", about="Alice @alice (id 2001)")
BACKPORTS = replace(
    make_chunk(
        "de/paketverwaltung.md",
        "Aktualisierungen und Backports",
        "Backports installieren Sie mit apt-get install -t bookworm-backports paketname.",
        1,
    ),
    lang="de",
)
GERMAN = Calibration(languages=(LanguageFit("de", 200, 0.5, 0.6, 0.5, gate=False),))
GERMAN_AND_ENGLISH = Calibration(
    languages=(
        LanguageFit("de", 200, 0.5, 0.6, 0.5, gate=True),
        LanguageFit("en", 120, 0.6, 0.7, 0.7, gate=True),
    )
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Any passage that shares a word answers; a question in another language than English is quoted.
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        rag={"min_relevance": 0.0, "confident_relevance": 0.0, "foreign_answer": "extract"},
    )


def german_pipeline(settings: Settings, generator: FakeGenerator, gate: Calibration = GERMAN) -> Pipeline:
    kb = FakeKB([BACKPORTS])
    kb.gate = gate
    return build_pipeline(settings, kb, generator)


async def collect(svc: ConversationService, customer: Customer, text: str) -> Reply:
    reply: Reply | None = None
    async for item in svc.ask(customer, text, external_message_id="m1"):
        if isinstance(item, Reply):
            reply = item
    assert reply is not None
    return reply


async def test_a_short_german_question_is_quoted_not_run_through_the_english_model(
    settings: Settings,
) -> None:
    # "Backports installieren?" is German 0.50, unsure: "und", and the English model wrote for 4-5 s on
    # German passages before the extract.
    generator = FakeGenerator("Use apt-get. [1]")
    svc = ConversationService(german_pipeline(settings, generator), MemoryConversationLog(), history_turns=2)
    reply = await collect(svc, ALICE, "Backports installieren?")
    assert reply.language == "de"
    assert reply.answer is not None
    assert reply.answer.outcome == "extracted"
    assert "bookworm-backports" in reply.text
    assert generator.prompts == []


async def test_a_short_german_question_is_refused_in_german(settings: Settings) -> None:
    # "Farben bei ls" is German 0.38: it was refused with "I'm sorry, I couldn't find this…".
    svc = ConversationService(
        german_pipeline(settings, FakeGenerator()), MemoryConversationLog(), history_turns=2
    )
    reply = await collect(svc, ALICE, "Farben bei ls")
    assert reply.answer is not None
    assert (reply.answer.outcome, reply.language) == ("refused", "de")
    assert reply.text.startswith("Es tut mir leid")
    assert "Englisch" not in reply.text  # not told the help center is written in another language


async def test_a_customer_nothing_tells_gets_the_help_centers_language(settings: Settings) -> None:
    log = MemoryConversationLog()
    german = ConversationService(german_pipeline(settings, FakeGenerator()), log, history_turns=2)
    assert await german.language_of(ALICE) == "de"  # /start, before any message
    hinted = replace(ALICE, language_hint="fr")
    assert await german.language_of(hinted) == "fr"
    mixed = ConversationService(
        german_pipeline(settings, FakeGenerator(), GERMAN_AND_ENGLISH), log, history_turns=2
    )
    assert await mixed.language_of(ALICE) == "und"  # read as English, one of its languages


class CountingStream:
    """An answer stream whose knowledge base languages are counted, slow or failing."""

    def __init__(self, inner: Pipeline, *, delay_s: float = 0.0, error: Exception | None = None) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.error = error
        self.reads = 0

    def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = "und"
    ) -> AsyncIterator[Delta | Answer]:
        return self.inner.stream(question, history, user_key=user_key, language=language)

    async def kb_languages(self) -> tuple[str, ...]:
        self.reads += 1
        await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return await self.inner.kb_languages()


async def test_the_languages_are_read_once_for_many_messages(settings: Settings) -> None:
    stream = CountingStream(german_pipeline(settings, FakeGenerator()))
    svc = ConversationService(stream, MemoryConversationLog(), history_turns=2)
    for text in ("Farben bei ls", "Backports installieren?", "USB-Stick verschlüsseln"):
        assert (await collect(svc, ALICE, text)).language == "de"
    assert stream.reads == 1


async def test_languages_that_cannot_be_read_leave_the_detection_as_it_was(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversation, "KB_LANGUAGES_TIMEOUT_S", 0.05)
    for stream in (
        CountingStream(german_pipeline(settings, FakeGenerator()), error=RuntimeError("index gone")),
        CountingStream(german_pipeline(settings, FakeGenerator()), delay_s=5.0),
    ):
        svc = ConversationService(stream, MemoryConversationLog(), history_turns=2)
        reply = await asyncio.wait_for(collect(svc, ALICE, "Farben bei ls"), timeout=3.0)
        assert reply.answer is not None
        assert (reply.answer.outcome, reply.language) == ("refused", "und")
        # Tried again only after `KB_LANGUAGES_RETRY_S`, not on every message.
        await collect(svc, ALICE, "Farben bei ls")
        assert stream.reads == 1
