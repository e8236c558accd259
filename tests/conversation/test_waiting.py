"""The waiting line: places as the fair queue serves them, a measured rate, the notices the service yields."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from bot.admin import describe_waiting
from bot.conversation import (
    WAIT_MARK,
    ConversationService,
    Customer,
    Reply,
    Waiting,
    WaitingLine,
    changed_enough,
    wait_notice,
)
from bot.domain import Answer, Delta, Source, Timings, Turn
from tests.fakes_log import MemoryConversationLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def model_answer(total_ms: float = 2000.0, queue_ms: float = 0.0) -> Answer:
    return Answer(
        text="Refunds take five days. [1]",
        sources=(Source("billing/refunds.md", "Refunds"),),
        grounded=True,
        timings=Timings(ttft_ms=queue_ms + 100.0, total_ms=total_ms, queue_ms=queue_ms),
    )


def test_places_follow_the_round_robin_by_user() -> None:
    line = WaitingLine(Clock())
    a1 = line.join("a")
    b1 = line.join("b")
    a2 = line.join("a")
    c1 = line.join("c")
    # Served a1, b1, c1 (each user's first), then a2: a newcomer goes before anyone's second answer.
    assert [line.ahead(t) for t in (a1, b1, c1, a2)] == [0, 1, 2, 3]
    line.leave(a1)
    assert [line.ahead(t) for t in (b1, c1, a2)] == [0, 1, 2]
    assert len(line) == 3
    line.leave(a1)  # a second leave changes nothing
    assert len(line) == 3


def test_the_rate_is_measured_between_answers_while_others_wait() -> None:
    clock = Clock()
    line = WaitingLine(clock)
    assert line.estimate_s(3) is None, "nothing measured: no estimate"
    first = line.join("a")
    line.join("b")
    line.leave(first)
    line.finished(model_answer(total_ms=4000.0, queue_ms=1000.0))
    assert line.per_answer_s() == pytest.approx(3.0), "one answer's own time until a gap is measured"
    clock.now += 2.0
    line.finished(model_answer())
    clock.now += 4.0
    line.finished(model_answer())
    assert line.per_answer_s() == pytest.approx(3.0), "the mean gap between answers under load"
    assert line.estimate_s(9) == pytest.approx(30.0)


def test_an_idle_gap_is_not_taken_for_the_models_rate() -> None:
    clock = Clock()
    line = WaitingLine(clock)
    ticket = line.join("a")
    line.leave(ticket)
    line.finished(model_answer(total_ms=2000.0))
    clock.now += 600.0  # nobody waited for ten minutes
    ticket = line.join("b")
    clock.now += 2.0
    line.finished(model_answer(total_ms=2000.0))
    line.leave(ticket)
    assert line.per_answer_s() == pytest.approx(2.0)


def test_refusals_say_nothing_of_the_rate_and_figures_hold_the_waits() -> None:
    clock = Clock()
    line = WaitingLine(clock)
    for wait in (1.0, 2.0, 3.0, 4.0):
        ticket = line.join("a")
        clock.now += wait
        line.leave(ticket)
    refusal = Answer(text="no", sources=(), grounded=False, timings=Timings(), outcome="refused")
    line.finished(refusal)
    waiting = line.join("b")
    clock.now += 7.0
    figures = line.figures()
    assert figures.per_answer_s is None
    assert (figures.waiting, figures.longest_s, figures.measured) == (1, 7.0, 4)
    assert figures.p50_s == pytest.approx(2.5)
    assert figures.p95_s == pytest.approx(3.85)
    line.leave(waiting)


def test_figures_say_how_honest_the_estimates_were_and_skip_waits_given_up() -> None:
    clock = Clock()
    line = WaitingLine(clock)
    for estimate, then_waited in ((20.0, 30.0), (40.0, 40.0), (None, 50.0)):
        ticket = line.join("a")
        clock.now += 3.0
        line.told(ticket, estimate)
        clock.now += then_waited
        line.leave(ticket)
    gone = line.join("b")
    clock.now += 99.0
    line.leave(gone, served=False)  # the customer left: not a wait for an answer
    figures = line.figures()
    assert (figures.notices, figures.estimates, figures.measured) == (3, 2, 3)
    assert figures.estimate_ratio_p50 == pytest.approx(1.25)  # ×1.5 and ×1.0
    assert figures.estimate_ratio_p90 == pytest.approx(1.45)
    assert figures.p95_s is not None
    assert figures.p95_s < 99.0


@pytest.mark.parametrize(
    ("estimate", "language", "expected"),
    [
        (None, "en", "You're number 4 in line. I'll start on your answer as soon as it's your turn."),
        (41.0, "en", "You're number 4 in line. Your answer should start in about 40 s."),
        (1.0, "en", "You're number 4 in line. Your answer should start in about 5 s."),
        (250.0, "en", "You're number 4 in line. Your answer should start in about 4 min."),
        (41.0, "de", "Sie sind Nummer 4 in der Warteschlange. Ihre Antwort sollte in etwa 40 s beginnen."),
        (250.0, "zh", "您在队列中排第 4 位。大约 4 分钟后开始回答。"),
    ],
)
def test_the_notice_is_in_the_customers_language(
    estimate: float | None, language: str, expected: str
) -> None:
    assert wait_notice(4, estimate, language) == WAIT_MARK + expected


def test_only_a_real_change_is_worth_an_edit() -> None:
    def notice(position: int, estimate: float | None) -> Waiting:
        return Waiting(position, estimate, wait_notice(position, estimate, "en"))

    assert not changed_enough(notice(40, 120.0), notice(40, 120.0))
    assert not changed_enough(notice(40, 120.0), notice(38, 115.0)), "two places of forty: not yet"
    assert changed_enough(notice(40, 120.0), notice(30, 90.0))
    assert changed_enough(notice(3, 9.0), notice(2, 9.0))
    assert changed_enough(notice(5, None), notice(5, 20.0)), "an estimate appeared"


# -- the service -------------------------------------------------------------------------------------


class GatedPipeline:
    """Each user's answer waits until the test opens their gate; records when a stream was closed."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.closed: list[str] = []

    def gate(self, user_key: str) -> asyncio.Event:
        return self.gates.setdefault(user_key, asyncio.Event())

    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = "und"
    ) -> AsyncIterator[Delta | Answer]:
        try:
            await self.gate(user_key).wait()
            yield Delta("Refunds take five days. [1]")
            yield model_answer(total_ms=50.0)
        finally:
            self.closed.append(user_key)


ALICE = Customer("telegram", "1", "1")
BOB = Customer("telegram", "2", "2")
CAROL = Customer("telegram", "3", "3")


async def consume(
    svc: ConversationService, customer: Customer, text: str = "How long do refunds take?"
) -> list[Delta | Waiting | Reply]:
    return [item async for item in svc.ask(customer, text)]


def service(pipeline: GatedPipeline, *, update_s: float = 60.0) -> ConversationService:
    return ConversationService(
        pipeline, MemoryConversationLog(), history_turns=4, wait_notice_s=0.05, wait_update_s=update_s
    )


async def until(predicate: object, within_s: float = 5.0) -> None:
    assert callable(predicate)
    for _ in range(int(within_s / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_a_customer_behind_others_is_told_their_place_once_and_the_next_is_not() -> None:
    pipeline = GatedPipeline()
    svc = service(pipeline)
    alice = asyncio.create_task(consume(svc, ALICE))
    await until(lambda: len(svc.line) == 1)
    bob = asyncio.create_task(consume(svc, BOB))
    await asyncio.sleep(0.3)  # several notice checks pass; Bob's place does not change
    pipeline.gate(ALICE.key).set()
    alice_items = await alice
    await asyncio.sleep(0.2)
    pipeline.gate(BOB.key).set()
    bob_items = await bob

    assert not [i for i in alice_items if isinstance(i, Waiting)], "next in line: no notice"
    told = [i for i in bob_items if isinstance(i, Waiting)]
    assert len(told) == 1
    assert told[0].position == 2
    assert told[0].text.startswith(WAIT_MARK)
    assert "number 2" in told[0].text
    assert isinstance(bob_items[0], Waiting), "the notice comes before the answer"
    assert isinstance(bob_items[-1], Reply)
    assert bob_items[-1].kind == "answer"
    figures = svc.waiting_figures()
    assert (figures.waiting, figures.measured, figures.notices) == (0, 2, 1)


async def test_an_update_comes_when_the_place_changes() -> None:
    pipeline = GatedPipeline()
    svc = service(pipeline, update_s=0.1)
    alice = asyncio.create_task(consume(svc, ALICE))
    await until(lambda: len(svc.line) == 1)
    bob = asyncio.create_task(consume(svc, BOB))
    await until(lambda: len(svc.line) == 2)
    carol = asyncio.create_task(consume(svc, CAROL))
    await asyncio.sleep(0.4)
    pipeline.gate(ALICE.key).set()
    await alice
    await asyncio.sleep(0.4)
    for customer in (BOB, CAROL):
        pipeline.gate(customer.key).set()
    await bob
    carol_items = await carol
    positions = [i.position for i in carol_items if isinstance(i, Waiting)]
    assert positions == [3, 2], "told once, then one update when Alice's answer was done"


async def test_leaving_while_waiting_stops_the_answer_and_frees_the_place() -> None:
    pipeline = GatedPipeline()
    svc = service(pipeline)
    asyncio.create_task(consume(svc, ALICE))  # noqa: RUF006 - its gate is never opened
    await until(lambda: len(svc.line) == 1)
    events = svc.ask(BOB, "How long do refunds take?")
    first = await anext(events)
    assert isinstance(first, Waiting)
    await events.aclose()  # the customer went away
    assert BOB.key in pipeline.closed, "the pipeline's stream was closed"
    assert len(svc.line) == 1


class FailingPipeline:
    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = "und"
    ) -> AsyncIterator[Delta | Answer]:
        yield Delta("Refunds ")
        raise RuntimeError("pipeline broke")


async def test_a_pipeline_error_reaches_the_channel() -> None:
    svc = ConversationService(FailingPipeline(), MemoryConversationLog(), history_turns=4)
    with pytest.raises(RuntimeError, match="pipeline broke"):
        await consume(svc, ALICE)
    assert len(svc.line) == 0


def test_the_stats_line_shows_the_line_the_waits_and_the_estimates_honesty() -> None:
    idle = describe_waiting(WaitingLine(Clock()).figures())
    assert idle == ("Waiting now: 0 · wait p50 / p95 (last 0): n/a / n/a · place-in-line notices: 0")
    clock = Clock()
    line = WaitingLine(clock)
    ticket = line.join("a")
    line.told(ticket, 10.0)
    clock.now += 12.0
    line.leave(ticket)
    line.finished(model_answer(total_ms=4000.0))
    line.join("b")
    clock.now += 5.0
    assert describe_waiting(line.figures()) == (
        "Waiting now: 1 (longest 5 s) · one answer per 4.0 s · wait p50 / p95 (last 1): 12.0 s / 12.0 s"
        " · place-in-line notices: 1 · wait after a notice / its estimate: p50 ×1.20, p90 ×1.20 (last 1)"
    )


def test_estimates_learn_from_how_the_earlier_ones_turned_out() -> None:
    clock = Clock()
    line = WaitingLine(clock)
    first = line.join("a")
    line.leave(first)
    line.finished(model_answer(total_ms=4000.0))
    assert line.estimate_s(4) == pytest.approx(20.0)
    for _ in range(9):
        ticket = line.join("a")
        line.told(ticket, line.estimate_s(4))
        clock.now += 10.0  # half of what was said
        line.leave(ticket)
    assert line.estimate_s(4) == pytest.approx(20.0), "nine are not enough to correct by"
    ticket = line.join("a")
    line.told(ticket, line.estimate_s(4))
    clock.now += 10.0
    line.leave(ticket)
    assert line.estimate_s(4) == pytest.approx(10.0)
    ticket = line.join("a")
    line.told(ticket, line.estimate_s(4))
    clock.now += 10.0  # now exactly what was said: the correction holds
    line.leave(ticket)
    assert line.estimate_s(4) == pytest.approx(10.0)
    assert line.figures().estimate_ratio_p50 == pytest.approx(0.5)
