"""The pipeline tells the knowledge base's languages, and judges a short question in the right one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot import texts
from bot.config import Settings
from bot.kb.base import KBUnavailableError
from bot.kb.calibration import Calibration, LanguageFit, signals
from bot.rag import pipeline as pipeline_module
from bot.services import build_pipeline
from tests.fakes import FakeGenerator, FakeKB, make_chunk

COLOURS = replace(
    make_chunk("de/tipps.md", "Farben", "Farben bei ls schalten Sie mit ls --color=auto ein.", 1), lang="de"
)


def fit(lang: str, questions: int) -> LanguageFit:
    return LanguageFit(lang, questions, 0.5, 0.6, 0.5, gate=False)


class UnreadableKB(FakeKB):
    async def calibration(self) -> Calibration:
        raise KBUnavailableError("the index changed")


async def test_the_languages_come_from_the_calibration_main_first(settings: Settings) -> None:
    kb = FakeKB([COLOURS])
    kb.gate = Calibration(languages=(fit("en", 120), fit("ja", 200), fit("de", 12)))
    assert await build_pipeline(settings, kb, FakeGenerator()).kb_languages() == ("ja", "en")
    # Not calibrated (a small knowledge base), or no index to read: no prior.
    assert await build_pipeline(settings, FakeKB([COLOURS]), FakeGenerator()).kb_languages() == ()
    assert await build_pipeline(settings, UnreadableKB([COLOURS]), FakeGenerator()).kb_languages() == ()


@pytest.mark.parametrize(("languages", "judged_in"), [((), "en"), ((fit("de", 200),), "de")])
async def test_the_gate_reads_a_short_question_in_the_help_centers_language(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, languages: tuple[LanguageFit, ...], judged_in: str
) -> None:
    # "Farben bei ls" is German 0.38: its words were analysed as English for the gate of a German help center.
    seen: list[str] = []

    def recording(question: str, hits: Any, lang: str | None = None, **kwargs: Any) -> Any:
        seen.append(str(lang))
        return signals(question, hits, lang, **kwargs)

    monkeypatch.setattr(pipeline_module, "signals", recording)
    kb = FakeKB([COLOURS])
    kb.gate = Calibration(languages=languages)
    await build_pipeline(settings, kb, FakeGenerator("Mit ls --color=auto. [1]")).answer(
        "Farben bei ls", user_key="u1"
    )
    assert seen == [judged_in]


async def test_a_quote_in_a_language_without_a_stemmer_says_which_it_is(settings: Settings) -> None:
    # Ukrainian and Vietnamese have no Snowball stemmer or stop list here, so their analysis key is "und",
    # and a Vietnamese trial's English question was quoted a Vietnamese passage with no word of why.
    update = replace(
        make_chunk("uk/kody.md", "PX-110", "PX-110: оновіть застосунок до останньої версії.", 1), lang="uk"
    )
    # The fake's word overlap is no calibrated score, nor its word list the index's ("PX-110" is two words
    # to it): the passage is taken whatever it scores.
    rag = {"min_relevance": 0.0, "confident_relevance": 0.0, "refuse_unknown_names": False}
    lenient = settings.model_copy(update={"rag": settings.rag.model_copy(update=rag)})
    # The model's sentence is not the passage's: the passage is quoted.
    pipeline = build_pipeline(lenient, FakeKB([update]), FakeGenerator("Bananas are yellow [1]."))
    answer = await pipeline.answer("what does PX-110 mean", user_key="u", language="en")
    assert answer.outcome == "extracted"
    assert answer.kb_languages == ("uk",), "the conversation opens the quote with the note that says so"
    assert texts.quoted_in_kb_language(answer.kb_languages, "en").startswith(
        "Our help center is written in Ukrainian."
    )
