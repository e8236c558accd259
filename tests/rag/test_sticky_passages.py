"""The passages a question in an ongoing conversation is answered from, and what a refusal is logged with."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import Settings
from bot.domain import Answer, Chunk, Hit, Turn
from bot.kb.base import SearchMode
from bot.rag.pipeline import REFUSAL_TEXT, Pipeline
from bot.services import build_pipeline
from tests.fakes import FakeGenerator, FakeKB, make_chunk
from tests.rag.conftest import with_rag

FILING = make_chunk(
    "claims/damaged.md",
    "File a claim for a damaged parcel",
    "To file a claim for a damaged parcel open the Parcelly app, choose the parcel and send photos of it.",
)
DEADLINE = make_chunk(
    "claims/deadline.md",
    "Claim deadline",
    "The deadline for filing: damaged parcels within 7 days after the parcel was collected, lost parcels "
    "within 30 days.",
    1,
)
EXPIRY = make_chunk(
    "gift/expiry.md",
    "Do gift cards expire?",
    "Parcelly gift cards never expire and can be used for any parcel.",
    2,
)
CASH = make_chunk("gift/cash.md", "Gift cards and cash", "A gift card cannot be exchanged for cash.", 3)
HELP_CENTER = [FILING, DEADLINE, EXPIRY, CASH]


async def ask(pipeline: Pipeline, question: str, history: Sequence[Turn] = ()) -> Answer:
    return await pipeline.answer(question, history, user_key="u1")


async def conversation(pipeline: Pipeline, first: str, second: str) -> tuple[Answer, Answer]:
    """The second question asked after the first one's answer, in one conversation."""
    one = await ask(pipeline, first)
    two = await ask(pipeline, second, [Turn("user", first), Turn("assistant", one.text)])
    return one, two


def first_passage(generator: FakeGenerator, n: int) -> str:
    """The heading of passage [1] in the n-th prompt."""
    system = generator.prompts[n][0].content
    return system.split("<passages>\n[1] ", 1)[1].split(" (", 1)[0]


async def test_a_new_question_is_answered_from_its_own_best_passage(settings: Settings) -> None:
    kb = FakeKB(HELP_CENTER)
    generator = FakeGenerator()  # answers from passage [1]
    pipeline = build_pipeline(settings, kb, generator)
    second = "What is the deadline for filing a claim for a damaged parcel?"
    one, two = await conversation(pipeline, "How do I file a claim for a damaged parcel?", second)
    # The first asks for the filing section by its title: the model is given it alone.
    assert [h.chunk for h in one.hits] == [FILING]
    # It stands on its own: searched as asked, and its search ranks the deadline first, which the previous
    # answer had as its second passage.
    assert kb.searches[-1] == second
    own = await FakeKB(HELP_CENTER).search(second)
    assert own[0].chunk == DEADLINE
    assert first_passage(generator, 1) == "Claim deadline"
    assert "within 7 days" in two.text
    assert "send photos" not in two.text, "not the filing steps again"
    # The log holds the ranking given, with this search's hits (scores), not the previous turn's.
    assert [h.chunk for h in two.hits] == [DEADLINE, FILING]
    assert two.hits[0] == own[0]


async def test_a_new_question_about_gift_cards_is_not_the_previous_answer_again(settings: Settings) -> None:
    kb = FakeKB(HELP_CENTER)
    generator = FakeGenerator()
    pipeline = build_pipeline(settings, kb, generator)
    one, two = await conversation(
        pipeline, "Do Parcelly gift cards expire?", "can I exchange a gift card for cash?"
    )
    assert [h.chunk for h in one.hits][:2] == [EXPIRY, CASH]
    assert kb.searches[-1] == "can I exchange a gift card for cash?"
    assert first_passage(generator, 1) == "Gift cards and cash"
    assert "cannot be exchanged for cash" in two.text
    assert two.text != one.text
    assert two.hits[0].chunk == CASH


class RankedKB(FakeKB):
    """Searches rank the chunks as given for a query; other queries by word overlap."""

    def __init__(self, chunks: Sequence[Chunk], ranked: dict[str, Sequence[Chunk]]) -> None:
        super().__init__(chunks)
        self.ranked = ranked

    async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        if query not in self.ranked:
            return await super().search(query, k, mode)
        self.searches.append(query)
        found = self.ranked[query][:k]
        return [
            Hit(
                chunk=c,
                score=1.0 - i / 10,
                rank=i + 1,
                bm25_rank=i + 1,
                dense_rank=i + 1,
                dense_score=0.9 - i / 10,
            )
            for i, c in enumerate(found)
        ]


async def test_a_follow_up_keeps_the_passage_the_previous_answer_came_from(settings: Settings) -> None:
    first = "How do I file a claim for a damaged parcel?"
    follow_up = "and how long do I have for that?"
    condensed = f"{first} {follow_up}"
    # The follow-up's own search ranks the deadline first and something else second, the filing passage only
    # third: the prompt still gives the filing passage, after the new best one.
    kb = RankedKB(HELP_CENTER, {first: [FILING, DEADLINE, CASH], condensed: [DEADLINE, CASH, FILING]})
    generator = FakeGenerator()
    pipeline = build_pipeline(with_rag(settings, prompt_passages=2), kb, generator)
    _, two = await conversation(pipeline, first, follow_up)
    assert kb.searches[-1] == condensed
    assert [h.chunk for h in two.hits] == [DEADLINE, FILING]
    assert first_passage(generator, 1) == "Claim deadline"
    assert "send photos" in generator.prompts[1][0].content


async def test_a_new_topic_is_answered_from_its_own_search_alone(settings: Settings) -> None:
    kb = FakeKB(HELP_CENTER)
    generator = FakeGenerator()
    pipeline = build_pipeline(settings, kb, generator)
    _, two = await conversation(
        pipeline, "How do I file a claim for a damaged parcel?", "Do Parcelly gift cards expire?"
    )
    assert two.hits[0].chunk == EXPIRY
    assert FILING not in [h.chunk for h in two.hits]


async def test_a_refusal_by_the_gate_is_logged_with_what_the_search_found(settings: Settings) -> None:
    kb = FakeKB(HELP_CENTER)
    generator = FakeGenerator()
    # (A word the best passage lacks: one every word of which it holds is answered whatever the gate says.)
    question = "Do Parcelly gift cards expire after a year?"
    answer = await ask(build_pipeline(with_rag(settings, min_relevance=1.0), kb, generator), question)
    assert answer.outcome == "refused"
    assert answer.text == REFUSAL_TEXT
    assert answer.sources == ()
    assert not answer.grounded
    assert answer.see_also == ()
    assert generator.prompts == []
    # The closest passages, for the admins; no model or prompt is named, as none was asked.
    assert answer.hits == tuple(await FakeKB(HELP_CENTER).search(question))
    assert (answer.model, answer.model_version, answer.prompt_version) == ("", "", "")


async def test_a_refusal_for_an_unknown_name_is_logged_with_what_the_search_found(settings: Settings) -> None:
    kb = FakeKB(HELP_CENTER)
    answer = await ask(build_pipeline(settings, kb, FakeGenerator()), "Do Revolut gift cards expire?")
    assert answer.outcome == "refused"
    assert answer.hits[0].chunk == EXPIRY
    assert answer.model == ""
