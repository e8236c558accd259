"""Approved answers in the conversation service: served for a close paraphrase, not for other questions,
fitted thresholds, corrections and operator candidates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bot.channels.console import reply_json
from bot.config import Settings
from bot.conversation import ConversationService, Customer, Reply
from bot.rag.approved import (
    FALLBACK_FLOOR,
    MIN_HEADINGS,
    ApprovedMatcher,
    _competing,
    codes,
    fit_margin,
    fit_threshold,
    heading_floor,
    paraphrases,
)
from bot.services import build_approved, build_conversations, build_pipeline
from bot.store import migrate
from bot.store.repo import SqlConversationLog
from tests.fakes import HELP_CENTER, FakeEmbedder, FakeGenerator, FakeKB

WRONG = "Refunds are paid back to the original card within five business days. [1]"
ALICE = Customer("console", "alice", "console:alice", name="Alice")
BOB = Customer("console", "bob", "console:bob", name="Bob")
QUESTION = "How do I get a refund for a parcel that never arrived?"
APPROVED = "Open Orders, choose the parcel and press Report missing: the refund follows within a day."


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlConversationLog]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"
    migrate.upgrade(url)
    log = SqlConversationLog(url)
    yield log
    await log.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        rag={"min_relevance": 0.0, "confident_relevance": 0.0},
    )


def make_service(
    settings: Settings, store: SqlConversationLog
) -> tuple[ConversationService, ApprovedMatcher]:
    kb = FakeKB(HELP_CENTER)
    embedder = FakeEmbedder(dim=1024)
    matcher = build_approved(store, lambda: embedder, kb)
    pipeline = build_pipeline(settings, kb, FakeGenerator(WRONG))
    return build_conversations(settings, pipeline, store, approved=matcher), matcher


async def ask(svc: ConversationService, customer: Customer, text: str) -> Reply:
    reply: Reply | None = None
    async for item in svc.ask(customer, text):
        if isinstance(item, Reply):
            reply = item
    assert reply is not None
    return reply


async def test_ask_approve_then_paraphrase_gets_the_approved_answer_and_others_do_not(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, matcher = make_service(settings, store)
    first = await ask(svc, ALICE, QUESTION)
    assert first.answer is not None
    assert first.answer.outcome != "approved"
    assert first.answer_id is not None

    approved = await svc.correct(first.answer_id, "admin-1", APPROVED)
    assert approved is not None
    assert (approved.question, approved.corrects_answer_id) == (QUESTION, first.answer_id)

    same = await ask(svc, BOB, QUESTION)
    reworded = await ask(svc, BOB, "how can I get a refund, my parcel never arrived")
    other = await ask(svc, BOB, "How do I reset my password?")
    for reply in (same, reworded):
        assert reply.answer is not None
        assert (reply.answer.outcome, reply.answer.text, reply.answer.approved_id) == (
            "approved",
            APPROVED,
            approved.id,
        )
        assert reply.rateable
        assert reply.answer.sources[0].heading == "Approved answer"
    assert other.answer is not None
    assert other.answer.outcome != "approved"
    assert reply_json(reworded)["outcome"] == "approved"

    fit = matcher.fit
    assert fit is not None
    assert 0.0 < fit.fitted < fit.threshold < 1.0
    # Three sections give too few headings to measure a floor on: the fallback (the shipped embedder's)
    # applies, and this fake embedder's word-subset paraphrases score under it; whole rewordings do not.
    assert fit.threshold == FALLBACK_FLOOR
    stats = await store.stats()
    assert stats.approved_7d == 2


async def test_correcting_an_approved_answer_replaces_it(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, _ = make_service(settings, store)
    first = await ask(svc, ALICE, QUESTION)
    assert first.answer_id is not None
    approved = await svc.correct(first.answer_id, "admin-1", APPROVED)
    served = await ask(svc, BOB, "how can I get a refund, my parcel never arrived")
    assert served.answer is not None
    assert served.answer_id is not None
    assert served.answer.outcome == "approved"
    replaced = await svc.correct(served.answer_id, "admin-2", "Press Report missing in Orders.")
    assert approved is not None
    assert replaced is not None
    assert replaced.id == approved.id  # the same approved answer, not a second one to contest it
    assert [a.id for a in await store.list_approved()] == [approved.id]
    again = await ask(svc, BOB, QUESTION)
    assert again.answer is not None
    assert (again.answer.outcome, again.answer.text) == ("approved", "Press Report missing in Orders.")


async def test_retired_and_review_flagged_answers_are_not_served(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, _ = make_service(settings, store)
    approved = await store.add_approved(question=QUESTION, text=APPROVED, approved_by="1", source="x.md")
    served = await ask(svc, ALICE, QUESTION)
    assert served.answer is not None
    assert served.answer.outcome == "approved"
    assert served.answer.sources[0].source == "x.md"
    await store.update_approved(approved.id, status="needs_review", review_reason="x.md changed")
    flagged = await ask(svc, ALICE, QUESTION)
    assert flagged.answer is not None
    assert flagged.answer.outcome != "approved"
    await store.update_approved(approved.id, status="active")
    assert (await ask(svc, ALICE, QUESTION)).answer.outcome == "approved"  # type: ignore[union-attr]
    await store.update_approved(approved.id, status="retired")
    assert (await ask(svc, ALICE, QUESTION)).answer.outcome != "approved"  # type: ignore[union-attr]


async def test_an_edit_serves_the_new_text_at_once(settings: Settings, store: SqlConversationLog) -> None:
    svc, _ = make_service(settings, store)
    approved = await store.add_approved(question=QUESTION, text=APPROVED, approved_by="1")
    assert (await ask(svc, ALICE, QUESTION)).answer.text == APPROVED  # type: ignore[union-attr]
    await store.update_approved(approved.id, text="Press Report missing in Orders.")
    assert (await ask(svc, ALICE, QUESTION)).answer.text == "Press Report missing in Orders."  # type: ignore[union-attr]


async def test_two_close_approved_answers_are_told_apart_or_left_to_the_pipeline(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, matcher = make_service(settings, store)
    await store.add_approved(question="How long does a refund take?", text="One day.", approved_by="1")
    await store.add_approved(question="How long does shipping take?", text="Two days.", approved_by="1")
    assert (await ask(svc, ALICE, "how long does a refund take")).answer.text == "One day."  # type: ignore[union-attr]
    assert (await ask(svc, ALICE, "how long does shipping take")).answer.text == "Two days."  # type: ignore[union-attr]
    fit = matcher.fit
    assert fit is not None
    # Equally close to both: the margin rule leaves it to the pipeline.
    both = await ask(svc, ALICE, "How long does it take?")
    assert both.answer is not None
    assert both.answer.outcome != "approved"


async def test_matching_failure_falls_back_to_the_pipeline(
    settings: Settings, store: SqlConversationLog
) -> None:
    kb = FakeKB(HELP_CENTER)

    def broken() -> FakeEmbedder:
        raise RuntimeError("embedder missing")

    matcher = ApprovedMatcher(store, broken, None)
    svc = build_conversations(
        settings, build_pipeline(settings, kb, FakeGenerator(WRONG)), store, approved=matcher
    )
    await store.add_approved(question=QUESTION, text=APPROVED, approved_by="1")
    reply = await ask(svc, ALICE, QUESTION)
    assert reply.kind == "answer"
    assert reply.answer is not None
    assert reply.answer.outcome != "approved"  # the pipeline's own answer, logged as usual
    assert reply.answer_id is not None


async def test_operator_replies_are_kept_as_candidates_not_served(
    settings: Settings, store: SqlConversationLog
) -> None:
    svc, _ = make_service(settings, store)
    await ask(svc, ALICE, QUESTION)
    conversation = await svc.conversation(ALICE)
    await store.set_handoff(conversation.id, "requested")
    delivery = await svc.operator_reply(conversation.id, "Press Report missing.", operator="777")
    assert delivery.conversation is not None
    (candidate,) = await store.list_approved(["candidate"])
    assert (candidate.question, candidate.text, candidate.approved_by) == (
        QUESTION,
        "Press Report missing.",
        "777",
    )
    await svc.end_handoff(conversation.id)
    assert (await ask(svc, BOB, QUESTION)).answer.outcome != "approved"  # type: ignore[union-attr]


async def test_one_approved_answer_gets_the_floor_not_the_fit_of_its_own_paraphrases(
    store: SqlConversationLog,
) -> None:
    # One answer: its paraphrases and the off-topic questions alone put the cut-off far lower (0.32 with
    # the real embedder, and "How long does delivery take?" got the refund answer).
    matcher = ApprovedMatcher(store, lambda: FakeEmbedder(dim=1024), None)
    await store.add_approved(question="How long does a refund take?", text="Five days.", approved_by="1")
    fit = await matcher.refresh()
    assert fit is not None
    assert fit.fitted < FALLBACK_FLOOR
    assert fit.threshold == fit.floor == FALLBACK_FLOOR
    assert "the floor" in fit.describe()
    assert "only 0 knowledge-base headings" in fit.describe()


def test_heading_floor_is_a_high_quantile_of_unrelated_headings() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(MIN_HEADINGS, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    floor, how = heading_floor(vectors)
    pairs = (vectors @ vectors.T)[np.triu_indices(MIN_HEADINGS, 1)]
    assert floor == pytest.approx(float(np.quantile(pairs, 0.99)))
    assert floor < FALLBACK_FLOOR
    assert "45 pairs" in how
    assert heading_floor(vectors[:3])[0] == FALLBACK_FLOOR


async def test_a_question_naming_another_code_is_not_served(store: SqlConversationLog) -> None:
    matcher = ApprovedMatcher(store, lambda: FakeEmbedder(dim=1024), None)
    added = await store.add_approved(
        question="what does error PX-102 mean?", text="The door did not open.", approved_by="1"
    )
    same = await matcher.match("What does error px-102 mean")
    assert same is not None
    assert same.approved.id == added.id
    assert await matcher.match("what does error PX-110 mean?") is None
    assert await matcher.match("what does error E42 mean?") is None


async def test_a_one_letter_code_counts_too(store: SqlConversationLog) -> None:
    # "E42" has one letter: counted by named words (two letters and more) it was no code, and "error E43"
    # got E42's answer.
    matcher = ApprovedMatcher(store, lambda: FakeEmbedder(dim=1024), None)
    await store.add_approved(question="what does error E42 mean?", text="E42: jammed door.", approved_by="1")
    assert await matcher.match("what does error e42 mean") is not None
    assert await matcher.match("what does error E43 mean?") is None
    assert await matcher.match("what does error E7 mean?") is None
    assert codes("PX110 and px-110") == frozenset({"px110"})


def test_a_heading_the_approved_question_matches_is_no_rival() -> None:
    # An FAQ row and an article section on the approved question's topic: the customer's question may be
    # nearer either than to the approved question, and it still asks the same thing.
    approved = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    question = np.array([0.85, 0.5268, 0.0, 0.0], dtype=np.float32)
    own = np.array([0.981, 0.194, 0.0, 0.0], dtype=np.float32)
    same_topic = np.array([0.92, 0.392, 0.0, 0.0], dtype=np.float32)
    other_topic = np.array([0.6, 0.8, 0.0, 0.0], dtype=np.float32)
    headings = np.stack([own, same_topic])
    score = float(question @ approved)
    assert float(same_topic @ question) > score
    assert not _competing(headings, question, approved, score, same=0.68)
    assert _competing(np.stack([own, same_topic, other_topic]), question, approved, score, same=0.68)


def test_paraphrases_are_content_word_subsets_and_reorderings() -> None:
    variants = paraphrases(QUESTION)
    words = {"get", "refund", "parcel", "never", "arrived"}
    assert variants[0] == "get refund parcel never arrived"
    assert len(variants) > 5
    assert all(set(v.split()) <= words for v in variants)
    assert all(len(v.split()) >= 3 for v in variants)  # at least 60% of the five content words
    assert any(v.split() != sorted(v.split(), key=QUESTION.lower().index) for v in variants)  # reordered
    assert paraphrases(QUESTION) == variants  # seeded by the text


def test_threshold_sits_between_the_classes_and_prefers_precision() -> None:
    positives = np.array([0.8, 0.85, 0.9, 0.95])
    negatives = np.array([0.3, 0.4, 0.5, 0.6])
    assert 0.6 < fit_threshold(positives, negatives) < 0.8
    # Overlapping classes: letting a negative through costs more than missing a positive.
    overlapping = np.array([0.55, 0.8, 0.85, 0.9])
    assert fit_threshold(overlapping, negatives) > 0.6
    leads = np.array([0.2, 0.05, 0.3])
    uncontested = np.array([False, False, False])
    assert fit_margin(leads, np.array([True, False, True]), uncontested) == pytest.approx(0.05)
    assert fit_margin(leads, np.array([True, True, True]), uncontested) == 0.0
    # Contested paraphrases that went right set the margin too: ambiguity below their usual lead.
    contested_leads = np.linspace(0.1, 0.3, 21)
    margin = fit_margin(contested_leads, np.ones(21, dtype=bool), np.ones(21, dtype=bool))
    assert 0.1 <= margin <= 0.12


class SlowEmbedder(FakeEmbedder):
    """Embeds new texts slowly once `slow` is set, so a refit is still running when a question comes."""

    def __init__(self) -> None:
        super().__init__(dim=1024)
        self.slow = False

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self.slow and len(texts) > 1:
            time.sleep(1.0)
        return super().embed_queries(texts)


async def test_while_a_refit_runs_the_old_fit_serves_only_what_is_still_approved(
    store: SqlConversationLog,
) -> None:
    embedder = SlowEmbedder()
    matcher = ApprovedMatcher(store, lambda: embedder, None, refit_wait_s=0.05)
    kept = await store.add_approved(question=QUESTION, text=APPROVED, approved_by="1")
    gone = await store.add_approved(question="Can I pay for a locker with cash?", text="No.", approved_by="1")
    await matcher.refresh()
    assert (await matcher.match(QUESTION)).approved.id == kept.id  # type: ignore[union-attr]

    embedder.slow = True
    await store.update_approved(gone.id, status="retired")
    await store.update_approved(kept.id, text="Press Report missing in Orders.")
    await store.add_approved(question="Do lockers take parcels over 20 kg?", text="No.", approved_by="1")
    served = await matcher.match(QUESTION)  # the refit is still running: the old fit serves
    assert served is not None
    assert served.approved.text == "Press Report missing in Orders."
    assert await matcher.match("Can I pay for a locker with cash?") is None
    await matcher.refresh()
    assert matcher.fit is not None


async def test_another_embedder_drops_the_old_vectors_and_refits_with_its_own(
    store: SqlConversationLog,
) -> None:
    """SIGHUP after `models use --embedder`: the vectors cached by text and the fit were the old embedder's
    (of another dimension here: they would not even multiply with the new ones). A refit running on the old
    embedder finishes before the switch returns, and its fit is dropped; the next question refits."""
    from tests.kb.test_embedder_space import GatedEmbedder

    old, new = GatedEmbedder(), FakeEmbedder(dim=32)
    matcher = build_approved(store, lambda: old, FakeKB(HELP_CENTER))
    await store.add_approved(question=QUESTION, text=APPROVED, approved_by="admin-1")
    assert await matcher.match(QUESTION)
    await store.add_approved(question="How do I reset my password?", text="Use Forgot.", approved_by="a")
    old.gated = True
    refit = asyncio.create_task(matcher.refresh())
    assert await asyncio.to_thread(old.entered.wait, 10)
    switch = asyncio.create_task(matcher.use_embedder(new))
    await asyncio.sleep(0.2)
    assert not switch.done(), "the switch waits for the refit holding the old embedder"
    old.gate.set()
    await refit
    await asyncio.wait_for(switch, 10)
    assert matcher.fit is None, "the old embedder's fit is not kept"
    used = old.calls
    match = await matcher.match(QUESTION)
    assert match is not None
    assert match.approved.text == APPROVED
    assert QUESTION in new.queries
    assert old.calls == used, "the old embedder embeds nothing any more"
