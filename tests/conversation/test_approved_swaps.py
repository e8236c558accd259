"""A question that puts a word of its own in place of one of an approved question's asks something else."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from bot.config import Settings
from bot.rag.approved import (
    ApprovedMatcher,
    another_thing,
    asks_what_they_ask,
    keeps_the_meaning,
    swapped_word,
    swapped_words,
    without_word,
)
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
    """Embeds "mail" as "email", a near-synonym, and "reach" as "contact" where it says so: before "support".
    Alone, "reach" keeps its other senses (arrive, stretch), as in a real model, where "reach" scores 0.40
    with "contact", under "phone" with "email" (0.43)."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        texts = [
            re.sub(r"(?i)\breach(?= support)", "contact", re.sub(r"(?i)\bmail\b", "email", t)) for t in texts
        ]
        return super().embed(texts)


async def test_a_near_synonym_in_place_of_the_word_still_matches(store: SqlConversationLog) -> None:
    embedder = SynonymEmbedder(dim=1024)
    matcher = ApprovedMatcher(store, lambda: embedder, None)
    added = await store.add_approved(question=EMAIL, text=EMAIL_ANSWER, approved_by="1")
    for question in ("How do I contact support by mail?", "How do I reach support by email?"):
        found = await matcher.match(question)
        assert found is not None, question
        assert found.approved.id == added.id
    # Word against word, "reach" is no near-synonym of "contact": only the question tells.
    reach, contact = embedder.embed_queries(["reach", "contact"])
    assert float(reach @ contact) < 0.1
    assert await matcher.match("How do I contact support by phone?") is None


class KindEmbedder(FakeEmbedder):
    """Embeds each day of the week with the words "day of week": two days score 0.75 word against word, and a
    question naming another day stays close to the approved one (a real model: Saturday/Sunday 0.81, 0.95 the
    questions)."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return super().embed([re.sub(r"(?i)\b(\w+day)\b", r"\1 day of week", t) for t in texts])


async def test_another_thing_of_a_closed_class_does_not_match(store: SqlConversationLog) -> None:
    embedder = KindEmbedder(dim=1024)
    matcher = ApprovedMatcher(store, lambda: embedder, None)
    added = await store.add_approved(
        question="Are lockers open on Saturday?", text="Yes, from 8:00 to 20:00.", approved_by="1"
    )
    found = await matcher.match("are lockers open on saturday")
    assert found is not None
    assert found.approved.id == added.id
    for question in ("Are lockers open on Sunday?", "are lockers open on monday"):
        assert await matcher.match(question) is None, question


@pytest.mark.parametrize(
    ("question", "approved", "other"),
    [
        # Words of a closed class name different things, whatever their cosine.
        ("Are lockers open on Sunday?", "Are lockers open on Saturday?", True),
        ("are lockers open on sunday", "are lockers open on saturday", True),
        ("Can I ship it in February?", "Can I ship it in January?", True),
        ("Can I pick it up in the evening?", "Can I pick it up in the morning?", True),
        ("Can I send 3 parcels at once?", "Can I send 2 parcels at once?", True),
        ("Can I send three parcels at once?", "Can I send two parcels at once?", True),
        ("Работают ли постаматы в воскресенье?", "Работают ли постаматы в субботу?", True),
        ("周日储物柜开放吗？", "周六储物柜开放吗？", True),
        # A name names one thing: another plan is another question ("Plus" is capitalised mid-sentence).
        ("How do I cancel my Business subscription?", "How do I cancel my Plus subscription?", True),
        ("how do i cancel my business subscription", "How do I cancel my Plus subscription?", True),
        # The same thing written another way.
        ("Can I send two parcels at once?", "Can I send 2 parcels at once?", False),
        ("Are lockers open on Sat?", "Are lockers open on Saturday?", False),
        # Ordinary words: the cosine in the question decides.
        ("How do I reach support?", "How do I contact support?", None),
        ("How do I contact support by phone?", EMAIL, None),
    ],
)
def test_closed_classes_and_names_decide_without_a_cosine(
    question: str, approved: str, other: bool | None
) -> None:
    swap = swapped_word(question, approved)
    if swap is None:
        assert other is None
        return
    assert another_thing(question, approved, *swap) is other


def test_the_question_keeps_the_meaning_when_it_wins_back_what_leaving_the_word_out_loses() -> None:
    assert without_word(EMAIL, "email") == "How do I contact support by ?"
    assert without_word("Email us by EMAIL, or e-mail", "email") == "us by , or e-mail"
    assert without_word("周六储物柜开放吗？", "周六") == "储物柜开放吗？"
    assert without_word("How do I contact support?", "phone") is None
    # all-MiniLM-L6-v2: contact/reach (0.959 asked, 0.870 left out) keeps it, email/phone (0.811) does not.
    assert keeps_the_meaning(0.959, 0.870)
    assert not keeps_the_meaning(0.811, 0.883)
    assert not keeps_the_meaning(0.873, 0.869)  # open/close: hardly closer than no word at all
    assert keeps_the_meaning(1.0, 1.0)


def test_several_words_swapped_are_judged_by_what_the_dropped_words_say() -> None:
    keep = "How long do you keep a parcel in the locker?"
    assert swapped_words("How big can a parcel be for a locker?", keep) == (("long", "keep"), ("big",))
    assert swapped_words("How do I contact support by phone?", EMAIL) == (("email",), ("phone",))
    assert swapped_words("contact support", EMAIL) is None
    # all-MiniLM-L6-v2: "How big ..." is as close to the approved question without "long" and "keep"
    # (0.733) as with them (0.729); "How many days will my parcel stay ..." is closer with them (0.919,
    # 0.673).
    assert not asks_what_they_ask(0.729, 0.733)
    assert asks_what_they_ask(0.919, 0.673)
