"""A question that puts a word of its own in place of one of an approved question's asks something else."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bot.config import Settings
from bot.rag.approved import SYNONYM_COSINE, ApprovedMatcher, swapped_word
from bot.store.repo import SqlConversationLog
from tests.conversation.test_approved import ALICE, BOB, ask, make_service, settings, store
from tests.fakes import FakeEmbedder

__all__ = ["settings", "store"]  # the fixtures, shared with test_approved

EMAIL = "How do I contact support by email?"
EMAIL_ANSWER = "Email help@parcelly.example with your tracking number."


def test_a_swap_is_one_word_dropped_and_words_of_its_own_brought() -> None:
    assert swapped_word("How do I contact support by phone?", EMAIL) == ("email", ("phone",))
    assert swapped_word("How do I contact support on Sunday?", EMAIL) == ("email", ("sunday",))
    # Stemmed and without stop words: the same words reworded are no swap.
    assert swapped_word("how can I contact the support, by email", EMAIL) is None
    assert swapped_word("Contacting support by emails", EMAIL) is None
    # Leaving a word out (vaguer) or adding some (more precise) asks the same thing.
    assert swapped_word("contact support", EMAIL) is None
    assert swapped_word("How do I contact support by email today?", EMAIL) is None
    # Two words dropped: a rewording, which the calibrated threshold judges.
    assert swapped_word("Can I reach the helpdesk by email?", EMAIL) is None


async def test_the_neighbours_of_an_approved_question_get_the_pipeline(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, _ = make_service(settings, store)
    first = await ask(svc, ALICE, EMAIL)
    assert first.answer_id is not None
    assert await svc.correct(first.answer_id, "admin-1", EMAIL_ANSWER) is not None
    for question in ("How do I contact support by email", "how can I contact the support by email?"):
        served = await ask(svc, BOB, question)
        assert served.answer is not None
        assert (served.answer.outcome, served.answer.text) == ("approved", EMAIL_ANSWER), question
    for question in ("How do I contact support by phone?", "How do I contact support on Sunday?"):
        other = await ask(svc, BOB, question)
        assert other.answer is not None
        assert other.answer.outcome != "approved", question
        assert other.answer.text != EMAIL_ANSWER


class SynonymEmbedder(FakeEmbedder):
    """Embeds "mail" as "email mail": the two words are near-synonyms (cosine 0.71), as in a real model."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return super().embed([" ".join("email mail" if w == "mail" else w for w in t.split()) for t in texts])


async def test_a_near_synonym_in_place_of_the_word_still_matches(store: SqlConversationLog) -> None:
    embedder = SynonymEmbedder(dim=1024)
    assert float(embedder.embed_queries(["mail"])[0] @ embedder.embed_queries(["email"])[0]) >= SYNONYM_COSINE
    matcher = ApprovedMatcher(store, lambda: embedder, None)
    added = await store.add_approved(question=EMAIL, text=EMAIL_ANSWER, approved_by="1")
    found = await matcher.match("How do I contact support by mail?")
    assert found is not None
    assert found.approved.id == added.id
    assert await matcher.match("How do I contact support by phone?") is None
