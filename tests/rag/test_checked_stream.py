"""The pipeline streams only checked text: whole sentences, each supported by a passage, marks and links
final."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.devtools.generation_bench import checked_stream, question_passages
from bot.domain import Answer, ChatMessage, Chunk, Delta
from bot.llm.base import GeneratorTimeoutError, ModelInfo
from bot.rag.pipeline import REFUSAL_TEXT, UNGROUNDED_CAVEAT, Pipeline
from bot.rag.prompting import load_templates
from bot.services import build_pipeline
from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB, make_chunk
from tests.rag.conftest import with_rag

QUESTION = "How long do refunds to my card take?"
PREFILL = load_templates().prefill
FIRST = "Refunds are paid back to the original card within five business days [1]."
SECOND = "They always reach the original card [1]."
UNSUPPORTED = "Your bank in Ohio also adds a welcome bonus of fifty dollars to every refund."


class PiecesGenerator(FakeGenerator):
    """Streams exactly the given pieces (a model's tokens), optionally failing after them."""

    def __init__(self, pieces: Sequence[str], error: Exception | None = None) -> None:
        super().__init__()
        self.pieces = list(pieces)
        self.error = error

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        user_key: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str]:
        self.prompts.append(list(messages))
        for piece in self.pieces:
            self.pieces_sent += 1
            yield piece
        if self.error is not None:
            raise self.error


async def run(pipeline: Pipeline, question: str = QUESTION) -> tuple[list[str], Answer]:
    deltas: list[str] = []
    answer: Answer | None = None
    async for event in pipeline.stream(question, user_key="u1"):
        if isinstance(event, Delta):
            assert answer is None
            deltas.append(event.text)
        else:
            answer = event
    assert answer is not None
    return deltas, answer


def assert_prefixes(deltas: Sequence[str], answer: Answer) -> None:
    shown = ""
    for delta in deltas:
        shown += delta
        assert answer.text.startswith(shown), f"{shown!r} was shown, then the answer became {answer.text!r}"


async def test_every_supported_sentence_is_shown_whole(settings: Settings) -> None:
    generator = FakeGenerator(f"{FIRST} {SECOND}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} {FIRST}", f" {SECOND}"], "one Delta per checked sentence"
    assert answer.text == "".join(deltas)
    assert answer.outcome == "answered"
    assert answer.citations == (1,)
    assert not answer.citations_inferred
    timings = answer.timings
    assert timings.ttft_ms is not None
    assert timings.first_visible_ms is not None
    assert timings.ttft_ms <= timings.first_visible_ms <= timings.total_ms


async def test_a_sentence_is_shown_as_soon_as_the_next_one_begins(settings: Settings) -> None:
    generator = FakeGenerator(f"{FIRST} {SECOND}")
    pieces_at_first_delta: int | None = None
    async for event in build_pipeline(settings, FakeKB(HELP_CENTER), generator).stream(
        QUESTION, user_key="u"
    ):
        if isinstance(event, Delta) and pieces_at_first_delta is None:
            pieces_at_first_delta = generator.pieces_sent
    assert pieces_at_first_delta == len(FIRST.split()) + 1, "released when the first word after it arrived"


async def test_first_sentence_unsupported_shows_nothing_and_falls_back_to_a_quote(settings: Settings) -> None:
    generator = FakeGenerator(f"{UNSUPPORTED} {FIRST}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == []
    assert answer.outcome == "extracted"
    assert answer.text == "Refunds are paid back to the original card within five business days. [1]"
    assert "Ohio" not in answer.text
    # Nothing the model writes after that could be shown: it is stopped rather than left to finish.
    assert generator.pieces_sent < len(f"{UNSUPPORTED} {FIRST}".split())
    assert answer.timings.first_visible_ms == answer.timings.total_ms


async def test_first_sentence_unsupported_with_refuse_is_the_refusal(settings: Settings) -> None:
    pipeline = build_pipeline(
        with_rag(settings, ungrounded="refuse"), FakeKB(HELP_CENTER), FakeGenerator(UNSUPPORTED)
    )
    deltas, answer = await run(pipeline)
    assert deltas == []
    assert answer.outcome == "refused"
    assert answer.text == REFUSAL_TEXT


async def test_unsupported_sentence_ends_what_is_shown(settings: Settings) -> None:
    generator = FakeGenerator(f"{FIRST} {UNSUPPORTED} {SECOND}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} {FIRST}"]
    assert answer.text == deltas[0], "the answer is what was shown, not rewritten"
    assert answer.outcome == "answered"
    assert generator.pieces_sent == len(f"{FIRST} {UNSUPPORTED}".split()) + 1


async def test_leaking_sentence_is_never_shown(settings: Settings) -> None:
    leak = load_templates().system.split("\n")[0]
    generator = FakeGenerator(f"{FIRST} {leak} {SECOND}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} {FIRST}"]
    assert leak[:40] not in answer.text
    assert answer.text == deltas[0]


async def test_leak_in_a_supported_sentence_is_never_shown(settings: Settings) -> None:
    # Words from the passage keep the sentence "supported"; the leak detector still stops it.
    leak = load_templates().system.split("\n")[0]
    generator = FakeGenerator(f"Refunds are paid back to the original card, {leak} [1]. {SECOND}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == []
    assert answer.outcome == "refused"
    assert answer.text == REFUSAL_TEXT


async def test_citation_marks_and_links_are_final_when_shown(settings: Settings) -> None:
    kb = FakeKB(HELP_CENTER)
    question = "refunds card shipping days"
    order = [hit.chunk.source for hit in await kb.search(question)]
    shipping = order.index("shipping/times.md") + 1
    generator = FakeGenerator(
        "Refunds are paid back to the original card within five business days [9] "
        "https://phish.example.net/refund. Orders ship within two days from our Berlin warehouse."
    )
    deltas, answer = await run(build_pipeline(settings, kb, generator), question)
    assert deltas[0] == f"{PREFILL} Refunds are paid back to the original card within five business days."
    # No mark of its own: the one passage it comes from is cited, where the model should have put it.
    assert deltas[1] == f" Orders ship within two days from our Berlin warehouse [{shipping}]."
    assert answer.text == "".join(deltas)
    assert answer.citations == (1, shipping)
    assert answer.citations_inferred


async def test_a_wrong_mark_is_corrected_before_it_is_shown(settings: Settings) -> None:
    kb = FakeKB(HELP_CENTER)
    question = "refunds card shipping days"
    order = [hit.chunk.source for hit in await kb.search(question)]
    refunds, shipping = order.index("billing/refunds.md") + 1, order.index("shipping/times.md") + 1
    generator = FakeGenerator(f"Orders ship within two days from our Berlin warehouse [{refunds}].")
    deltas, answer = await run(build_pipeline(settings, kb, generator), question)
    assert deltas == [f"Orders ship within two days from our Berlin warehouse [{shipping}]."]
    assert answer.text == deltas[0]
    assert answer.sources[0].source == "shipping/times.md"


async def test_a_mark_after_the_full_stop_stays_with_its_sentence(settings: Settings) -> None:
    pieces = [
        " Refunds are paid back to the original card within five business days.",
        " [",
        "1",
        "]",
        " They",
    ]
    pieces += [" always reach the original card.", " [1]"]
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), PiecesGenerator(pieces)))
    assert deltas == [
        f"{PREFILL} Refunds are paid back to the original card within five business days. [1]",
        " They always reach the original card. [1]",
    ]
    assert_prefixes(deltas, answer)
    assert answer.text == "".join(deltas)


async def test_an_unfinished_sentence_at_a_timeout_is_not_shown(settings: Settings) -> None:
    pieces = [f" {FIRST}", " They always reach"]
    generator = PiecesGenerator(pieces, error=GeneratorTimeoutError("too slow"))
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} {FIRST}"]
    assert answer.outcome == "answered", "what was shown stays the answer"
    assert answer.text == deltas[0]


async def test_the_caveat_mode_shows_unsupported_text_only_at_the_end(settings: Settings) -> None:
    generator = FakeGenerator(f"{UNSUPPORTED} {FIRST}")
    pipeline = build_pipeline(with_rag(settings, ungrounded="caveat"), FakeKB(HELP_CENTER), generator)
    deltas, answer = await run(pipeline)
    assert deltas == []
    assert answer.outcome == "ungrounded"
    assert answer.text.startswith(f"{UNGROUNDED_CAVEAT}\n\nYour bank in Ohio")
    assert generator.pieces_sent == len(f"{UNSUPPORTED} {FIRST}".split()), "the caveat shows all of it"


async def test_the_caveat_mode_streams_supported_sentences(settings: Settings) -> None:
    pipeline = build_pipeline(
        with_rag(settings, ungrounded="caveat"), FakeKB(HELP_CENTER), FakeGenerator(f"{FIRST} {UNSUPPORTED}")
    )
    deltas, answer = await run(pipeline)
    assert deltas == [f"{PREFILL} {FIRST}"]
    assert answer.outcome == "answered"
    assert answer.text == deltas[0]


async def test_short_sentences_are_judged_with_the_next_one(settings: Settings) -> None:
    generator = FakeGenerator(f"yes. {FIRST}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} yes. {FIRST}"]
    assert answer.text == deltas[0]


async def test_list_items_are_released_line_by_line(settings: Settings) -> None:
    pieces = ["\n1. Open the sign in page.", "\n2. Choose forgot password to reset your password.", "\n"]
    deltas, answer = await run(
        build_pipeline(settings, FakeKB(HELP_CENTER), PiecesGenerator(pieces)), "How do I reset my password?"
    )
    assert len(deltas) == 2
    assert deltas[1].startswith("\n2. Choose forgot password")
    assert_prefixes(deltas, answer)
    assert answer.outcome == "answered"


async def test_the_generation_bench_times_the_checked_stream(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "refunds.md").write_text(
        "# Refunds\n\n## How long refunds take\n\nRefunds are paid back to the original card within five "
        "business days.\n\n## Shipping\n\nOrders ship within two days.\n",
        encoding="utf-8",
    )
    passages = question_passages(tmp_path, "How long do refunds take?", 2)
    assert passages[0].heading == "How long refunds take"
    streamed = await checked_stream(
        settings, FakeGenerator(f"{FIRST} {SECOND}", delay_s=0.01), passages, QUESTION
    )
    assert streamed.released
    assert streamed.outcome == "answered"
    assert streamed.ttft_s is not None
    assert streamed.ttft_s < streamed.first_visible_s, "the first sentence is shown once it is complete"
    quoted = await checked_stream(settings, FakeGenerator(UNSUPPORTED), passages, QUESTION)
    assert not quoted.released
    assert quoted.outcome == "extracted"


FEES = [
    make_chunk(
        "billing/fees.md",
        "Late return fee",
        "A parcel returned late costs a fee of 2.50 euros, charged 14 days after the due date.",
    )
]


async def test_a_made_up_figure_among_the_passages_words_is_never_shown(settings: Settings) -> None:
    # Every word but the number is the passage's: word overlap alone would let it through.
    made_up = "Refunds are paid back to the original card within 14 business days [1]."
    generator = FakeGenerator(f"{made_up} {SECOND}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == []
    assert "14" not in answer.text
    assert answer.outcome == "extracted"
    assert answer.text == "Refunds are paid back to the original card within five business days. [1]"


@pytest.mark.parametrize(
    "later",
    [
        # A made-up figure among the passage's words.
        "They always reach the original card, 10% of the refund after 3 days [1].",
        # Every word is the passage's, and it does not read as a sentence.
        "Refunds to the original card are paid back by using the.",
    ],
    ids=["made-up-figure", "garbled"],
)
async def test_a_later_sentence_that_fails_a_check_ends_what_is_shown(settings: Settings, later: str) -> None:
    generator = FakeGenerator(f"{FIRST} {later} {SECOND}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} {FIRST}"]
    assert answer.text == deltas[0]
    assert generator.pieces_sent == len(f"{FIRST} {later}".split()) + 1, "the model is stopped there"


async def test_figures_from_the_passage_or_the_question_are_shown(settings: Settings) -> None:
    question = "I returned a parcel 3 days late, what is the late return fee?"
    text = "A parcel returned 3 days late costs a fee of 2.50 euros, charged 14 days after the due date [1]."
    deltas, answer = await run(build_pipeline(settings, FakeKB(FEES), FakeGenerator(text)), question)
    assert deltas == [f"{PREFILL} {text}"]
    assert answer.outcome == "answered"
    assert answer.text == deltas[0]


SHIPPING = [
    make_chunk(
        "delivery/shipping.md",
        "Shipping times",
        "Standard shipping within Germany takes 2–3 business days; to other EU countries it takes 4–6 "
        "business days. We do not ship to the United States.",
    )
]
PRICES = [
    make_chunk(
        "faq/business.md",
        "How much does Parcelly Business cost?",
        "Parcelly Business costs €29 per month with 3 team seats included; each extra seat is €5 per month.",
    )
]
REFUND_TIMES = [
    make_chunk(
        "faq/faq.csv",
        "How long does a refund take?",
        "Refunds to Parcelly Credit are immediate, iDEAL and Bancontact take 3 to 5 business days, "
        "and cards, PayPal, Apple Pay and Google Pay take 5 to 10 business days.",
    )
]


@pytest.mark.parametrize(
    ("chunks", "question", "wrong", "right"),
    [
        # Every word and figure is the passage's, but 2–3 days is Germany's, not the EU's.
        (
            SHIPPING,
            "How long does shipping to other EU countries take?",
            "Shipping to other EU countries takes 2–3 business days [1].",
            ["Shipping to other EU countries takes 4–6 business days [1]."],
        ),
        # "£29" passes the figure check (29 is the passage's), but the passage says euros.
        (
            PRICES,
            "How much does Parcelly Business cost?",
            "Parcelly Business is £29 per month [1].",
            ["Parcelly Business is €29 per month [1].", "Parcelly Business is 29 € per month [1]."],
        ),
        # Every figure is in one sentence of the passage, but 3 to 5 days is iDEAL's, and the answer never
        # says PayPal.
        (
            REFUND_TIMES,
            "How long does a PayPal refund take?",
            "According to [1], the refund takes 3 to 5 business days.",
            ["PayPal refunds take 5 to 10 business days [1]."],
        ),
    ],
)
async def test_a_figure_not_stated_for_what_the_sentence_is_about_is_never_shown(
    settings: Settings, chunks: list[Chunk], question: str, wrong: str, right: list[str]
) -> None:
    # Each found in a trial (2026-12-05 and 2026-12-06).
    deltas, answer = await run(build_pipeline(settings, FakeKB(chunks), FakeGenerator(wrong)), question)
    assert deltas == []
    assert answer.outcome == "extracted"
    for text in right:
        deltas, answer = await run(build_pipeline(settings, FakeKB(chunks), FakeGenerator(text)), question)
        assert deltas == [f"{PREFILL} {text}"]
        assert answer.outcome == "answered"


async def test_a_question_that_names_no_item_does_not_tie_figures_to_one(settings: Settings) -> None:
    generic = "Refunds take 3 to 5 business days [1]."
    pipeline = build_pipeline(settings, FakeKB(REFUND_TIMES), FakeGenerator(generic))
    _, answer = await run(pipeline, "How long does a refund take?")
    assert answer.outcome == "answered"


PAYMENTS = [
    make_chunk(
        "billing/payments.md",
        "Payment methods",
        "You can pay for labels with Visa, Mastercard, iDEAL (Netherlands), Bancontact (Belgium) and PayPal.",
    )
]


@pytest.mark.parametrize(
    "made_up",
    [
        "You can pay for labels with iDEAD (Netherlands) and Bancontact (Belgium) [1].",  # misspelt
        "You can pay for labels with Visa and Mastercard (FBA) [1].",  # invented
    ],
    ids=["misspelt-name", "invented-code"],
)
async def test_a_name_or_code_no_passage_writes_is_never_shown(settings: Settings, made_up: str) -> None:
    # Every other word is the passage's: word overlap alone let SmolLM2's "iDEAD" through to customers.
    question = "How can I pay for labels?"
    deltas, answer = await run(build_pipeline(settings, FakeKB(PAYMENTS), FakeGenerator(made_up)), question)
    assert deltas == []
    assert answer.outcome == "extracted"
    assert "iDEAL" in answer.text
    assert "iDEAD" not in answer.text
    assert "FBA" not in answer.text


async def test_names_from_the_passage_or_the_question_are_shown(settings: Settings) -> None:
    question = "Can I pay for labels with my PX-7 card or with PayPal?"
    text = "You can pay for labels with PayPal, iDEAL and the PX-7 card [1]."
    deltas, answer = await run(build_pipeline(settings, FakeKB(PAYMENTS), FakeGenerator(text)), question)
    assert deltas == [f"{PREFILL} {text}"]
    assert answer.outcome == "answered"


async def test_a_sentence_that_only_says_the_question_back_is_not_shown(settings: Settings) -> None:
    # Every content word is the customer's own: the passage shares them, yet nothing is answered.
    echo = "Refunds to your card take long [1]."
    generator = FakeGenerator(f"{echo} {FIRST}")
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [FIRST], "the echo is skipped, the answer that follows it is shown"
    assert answer.text == FIRST
    assert answer.outcome == "answered"
    assert_prefixes(deltas, answer)


async def test_a_sentence_that_only_says_a_heading_back_is_not_shown(settings: Settings) -> None:
    # "Shipping times" is the passage's heading: the sentence names the subject and says nothing of it.
    kb = FakeKB([HELP_CENTER[2]])
    generator = FakeGenerator(
        "These are the shipping times [1]. Orders ship within two days from Berlin [1]."
    )
    deltas, answer = await run(build_pipeline(settings, kb, generator), "How long until my orders are sent?")
    assert answer.text == "Orders ship within two days from Berlin [1].", answer
    assert deltas == [answer.text]


QUOTE = "Refunds are paid back to the original card within five business days. [1]"


@pytest.mark.parametrize(
    "model_text",
    [
        # Only the question back: the passage shares the words, nothing is answered.
        "Refunds to my card take long [1].",
        # The question back with words that carry no answer of their own.
        "Refunds to my card take long, still, through [1].",
        # Does not read as a sentence: a citation mark used as a word.
        "you can get refunds paid back to the card of [1] within five business days.",
        # Every word is the passage's; only the "not" is the model's.
        "Refunds are not paid back to the original card [1].",
    ],
    ids=["says-the-question-back", "says-the-question-back-with-filler", "garbled", "says-the-opposite"],
)
async def test_a_first_sentence_that_passes_word_overlap_but_answers_wrong_falls_back_to_a_quote(
    settings: Settings, model_text: str
) -> None:
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), FakeGenerator(model_text)))
    assert deltas == []
    assert answer.outcome == "extracted"
    assert answer.text == QUOTE


@pytest.mark.parametrize(
    "again",
    [FIRST, "Refunds are paid back within five business days to the original card [1]."],
    ids=["word-for-word", "reworded"],
)
async def test_a_model_that_says_again_what_it_showed_is_stopped_there(
    settings: Settings, again: str
) -> None:
    # SmolLM2-135M loops: the same sentence three times over, each one supported by the passage's words.
    generator = PiecesGenerator([f" {FIRST}", f" {SECOND}", f" {again}", f" {SECOND}", f" {again}"])
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} {FIRST}", f" {SECOND}"]
    assert answer.text == "".join(deltas)
    assert answer.outcome == "answered"
    assert generator.pieces_sent == 4, "generation stops once the model has begun to repeat itself"


async def test_a_yes_that_says_the_question_back_is_an_answer(settings: Settings) -> None:
    generator = FakeGenerator("yes, refunds go back to my card.")
    deltas, answer = await run(
        build_pipeline(settings, FakeKB(HELP_CENTER), generator), "Do refunds go back to my card?"
    )
    assert deltas == [f"{PREFILL} yes, refunds go back to my card."]
    assert answer.outcome == "answered"


async def test_a_lead_in_is_shown_with_what_it_leads_into(settings: Settings) -> None:
    pieces = [
        " to reset your password, follow these steps:",
        "\n1. Open the sign in page.",
        "\n2. Choose forgot password to reset your password.",
        "\n",
    ]
    deltas, answer = await run(
        build_pipeline(settings, FakeKB(HELP_CENTER), PiecesGenerator(pieces)), "How do I reset my password?"
    )
    assert deltas, answer
    assert deltas[0].endswith("follow these steps:\n1. Open the sign in page."), "never the colon alone"
    assert_prefixes(deltas, answer)


async def test_a_lead_in_that_leads_into_nothing_is_not_shown(settings: Settings) -> None:
    text = "To reset your password open the sign in page. Then reset it by following these steps:"
    deltas, answer = await run(
        build_pipeline(settings, FakeKB(HELP_CENTER), FakeGenerator(text)), "How do I reset my password?"
    )
    assert answer.outcome == "answered"
    assert answer.text.endswith("open the sign in page.")
    assert deltas == [answer.text]


# True, and the passage's words, but rephrased: what SmolLM2-135M's wrong sentences look like too.
REPHRASED = "Your original card gets the refunds back in five business days [1]."
SMALL_MODEL = 135_000_000


@pytest.mark.parametrize(
    ("copy_check", "n_params", "checked"),
    [
        ("auto", SMALL_MODEL, True),
        ("auto", 8_000_000_000, False),
        ("auto", 0, False),  # a server that does not say how large its model is
        ("on", 8_000_000_000, True),
        ("off", SMALL_MODEL, False),
    ],
)
async def test_the_copy_check_shows_a_small_models_sentence_only_when_it_copies_its_passage(
    settings: Settings, copy_check: str, n_params: int, checked: bool
) -> None:
    pipeline = build_pipeline(
        with_rag(settings, copy_check=copy_check),
        FakeKB(HELP_CENTER),
        FakeGenerator(f"{REPHRASED} {FIRST}", n_params=n_params),
    )
    deltas, answer = await run(pipeline)
    if checked:
        assert deltas == []
        assert answer.outcome == "extracted"
        assert answer.text == QUOTE
    else:
        assert deltas == [f"{PREFILL} {REPHRASED}", f" {FIRST}"]
        assert answer.outcome == "answered"


async def test_the_copy_check_ends_the_answer_before_a_rephrased_sentence(settings: Settings) -> None:
    generator = FakeGenerator(f"{FIRST} {REPHRASED}", n_params=SMALL_MODEL)
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} {FIRST}"]
    assert answer.text == deltas[0]
    assert answer.outcome == "answered"


async def test_markup_copied_from_the_passage_is_not_shown(settings: Settings) -> None:
    # Neither Telegram nor the web chat renders Markdown; the model copies it, and may leave a pair open.
    generator = FakeGenerator(
        "Refunds are paid back to the **original card** within five business days [1]. "
        "They always reach the **original card [1]."
    )
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == [f"{PREFILL} {FIRST}", f" {SECOND}"]
    assert answer.text == "".join(deltas)


class ServerGenerator(FakeGenerator):
    """A model server: its size is known only once it was first asked, as the first answer begins."""

    @property
    def info(self) -> ModelInfo:
        return replace(super().info, n_params=SMALL_MODEL if self.prompts else 0)


async def test_the_copy_check_applies_to_the_first_answer_of_a_server_that_reports_its_size(
    settings: Settings,
) -> None:
    generator = ServerGenerator(f"{REPHRASED} {FIRST}")
    assert generator.info.n_params == 0
    deltas, answer = await run(build_pipeline(settings, FakeKB(HELP_CENTER), generator))
    assert deltas == []
    assert answer.outcome == "extracted"


PICKUP = [
    make_chunk(
        "faq/faq.csv",
        "What happens if I miss the pickup window?",
        "The parcel moves to the nearest Parcelly Point and is kept there for 7 days. Collect it with your "
        "pickup code and a photo ID. After that it goes back to the sender.",
    )
]
NEVER_ARRIVED = "My parcel never arrived, what should I do?"
PICKUP_ANSWER = "The parcel moves to the nearest Parcelly Point and is kept there for 7 days [1]."


@pytest.mark.parametrize(
    "model_text",
    [
        # Found in a trial with SmolLM2-135M: a filler lead, then the passage's heading, which is a question.
        "The answer is: [1] What happens if I miss the pickup window?",
        "Here is the answer: What happens if I miss the pickup window? [1]",
        # A filler lead with nothing after it.
        "Here is the answer to your question about the pickup window [1].",
        # A question of the model's own: its words are the passage's, and it tells the customer nothing.
        "Do you still have your pickup code [1]?",
    ],
    ids=["lead-and-heading", "lead-and-heading-mark-after", "lead-alone", "own-question"],
)
async def test_a_first_sentence_that_asks_or_only_announces_falls_back_to_a_quote(
    settings: Settings, model_text: str
) -> None:
    pipeline = build_pipeline(settings, FakeKB(PICKUP), FakeGenerator(model_text))
    deltas, answer = await run(pipeline, NEVER_ARRIVED)
    assert deltas == []
    assert answer.outcome == "extracted"
    # The quote's short first sentence leaves the question's words unanswered: the next one comes with it.
    assert answer.text.endswith(
        "The parcel moves to the nearest Parcelly Point and is kept there for 7 days. Collect it with your "
        "pickup code and a photo ID. [1]"
    ), answer.text
    assert "?" not in answer.text


async def test_a_heading_read_out_as_a_question_is_skipped_and_the_answer_after_it_shown(
    settings: Settings,
) -> None:
    text = f"What happens if I miss the pickup window? {PICKUP_ANSWER} Do you have your pickup code?"
    deltas, answer = await run(build_pipeline(settings, FakeKB(PICKUP), FakeGenerator(text)), NEVER_ARRIVED)
    assert [delta.lstrip() for delta in deltas] == [PICKUP_ANSWER], "neither question is shown"
    assert answer.outcome == "answered"
    assert answer.text.endswith(PICKUP_ANSWER)
    assert_prefixes(deltas, answer)
