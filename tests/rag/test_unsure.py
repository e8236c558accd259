"""An answer the gate let through without confidence opens by saying it may not be what was asked."""

from __future__ import annotations

from bot.config import Settings
from bot.domain import Answer, Delta, Source, Timings
from bot.evaluation.answers import answers_report
from bot.evaluation.questions import Question
from bot.llm.base import GeneratorBusyError
from bot.rag.pipeline import Pipeline
from bot.services import build_pipeline
from bot.texts import UNSURE_LEAD, translate
from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB
from tests.rag.conftest import RaisingGenerator, with_rag

QUESTION = "How long do refunds to my card take?"
SUPPORTED = "Refunds are paid back to the original card within five business days [1]."
UNSUPPORTED = "Your bank in Ohio also adds a welcome bonus of fifty dollars to every refund."
LEAD = UNSURE_LEAD + "\n\n"


async def run(pipeline: Pipeline, language: str = "en", question: str = QUESTION) -> tuple[list[str], Answer]:
    deltas: list[str] = []
    answer: Answer | None = None
    async for event in pipeline.stream(question, user_key="u1", language=language):
        if isinstance(event, Delta):
            deltas.append(event.text)
        else:
            answer = event
    assert answer is not None
    return deltas, answer


def unsure_below(settings: Settings, level: float) -> Settings:
    # The fake knowledge base's passages pass the default gate with a probability under 1: at 1.0 every
    # answer is unconfident, at 0 none is.
    return with_rag(settings, confident_relevance=level)


async def test_an_unconfident_answer_streams_the_lead_with_its_first_sentence(settings: Settings) -> None:
    pipeline = build_pipeline(unsure_below(settings, 1.0), FakeKB(HELP_CENTER), FakeGenerator(SUPPORTED))
    deltas, answer = await run(pipeline)
    assert answer.outcome == "answered"
    assert answer.unsure
    assert deltas[0].startswith(LEAD), "the lead is sent with the first text shown, never after it"
    assert sum(d.startswith(LEAD) for d in deltas) == 1
    assert answer.text.startswith("".join(deltas))
    assert answer.text.startswith(LEAD)
    assert answer.text.endswith("five business days [1].")


async def test_an_unconfident_quote_opens_with_the_lead(settings: Settings) -> None:
    pipeline = build_pipeline(unsure_below(settings, 1.0), FakeKB(HELP_CENTER), FakeGenerator(UNSUPPORTED))
    deltas, answer = await run(pipeline)
    assert answer.outcome == "extracted"
    assert answer.unsure
    assert answer.text.startswith(LEAD)
    assert "Ohio" not in answer.text
    assert answer.text.startswith("".join(deltas))


async def test_a_confident_answer_has_no_lead(settings: Settings) -> None:
    pipeline = build_pipeline(unsure_below(settings, 0.0), FakeKB(HELP_CENTER), FakeGenerator(SUPPORTED))
    deltas, answer = await run(pipeline)
    assert answer.outcome == "answered"
    assert not answer.unsure
    assert UNSURE_LEAD not in answer.text
    assert not any(UNSURE_LEAD in d for d in deltas)


async def test_a_refusal_or_a_failure_never_opens_with_the_lead(settings: Settings) -> None:
    refusing = with_rag(unsure_below(settings, 1.0), min_relevance=1.0)
    _, refused = await run(build_pipeline(refusing, FakeKB(HELP_CENTER), FakeGenerator(SUPPORTED)))
    assert refused.outcome == "refused"
    assert not refused.unsure
    assert UNSURE_LEAD not in refused.text
    busy = RaisingGenerator(GeneratorBusyError("queue full"))
    deltas, failed = await run(build_pipeline(unsure_below(settings, 1.0), FakeKB(HELP_CENTER), busy))
    assert failed.outcome == "busy"
    assert not failed.unsure
    assert deltas == []
    assert UNSURE_LEAD not in failed.text


async def test_the_lead_is_in_the_customers_language(settings: Settings) -> None:
    german = translate(UNSURE_LEAD, "de")
    assert german != UNSURE_LEAD, "the catalog translates the lead"
    pipeline = build_pipeline(unsure_below(settings, 1.0), FakeKB(HELP_CENTER), FakeGenerator(SUPPORTED))
    _, answer = await run(pipeline, language="de")
    assert answer.text.startswith(german + "\n\n")


def test_eval_answers_counts_the_unconfident_answers() -> None:
    chunk = HELP_CENTER[0]
    right = Question(qid="a", question="q", file=chunk.source, heading=chunk.heading)
    wrong = Question(qid="b", question="q", file="other.md", heading="Other")
    unanswerable = Question(qid="c", question="q")

    def answer(unsure: bool) -> Answer:
        return Answer(
            text="t",
            sources=(Source(chunk.source, chunk.heading),),
            grounded=True,
            timings=Timings(),
            outcome="extracted",
            unsure=unsure,
        )

    rows = [(right, answer(False)), (wrong, answer(True)), (unanswerable, answer(True))]
    assert answers_report(rows)["unsure"] == {
        "unanswerable_answered": 1.0,
        "wrong_citation": 1.0,
        "right_citation": 0.0,
    }
    rows = [(right, answer(True)), (wrong, answer(False)), (unanswerable, answer(False))]
    assert answers_report(rows)["unsure"] == {
        "unanswerable_answered": 0.0,
        "wrong_citation": 0.0,
        "right_citation": 1.0,
    }


async def test_an_earlier_answers_lead_is_not_in_the_models_history(settings: Settings) -> None:
    from bot.domain import Turn

    generator = FakeGenerator(SUPPORTED)
    pipeline = build_pipeline(settings, FakeKB(HELP_CENTER), generator)
    earlier = Turn("assistant", translate(UNSURE_LEAD, "fr") + "\n\nRefunds take five days [1].")
    history = (Turn("user", "How long do refunds take?"), earlier)
    async for _ in pipeline.stream("And to my card?", history, user_key="u1"):
        pass
    (prompt,) = generator.prompts
    said = [m.content for m in prompt if m.role == "assistant"]
    assert "Refunds take five days [1]." in said
    assert not any(translate(UNSURE_LEAD, "fr") in m.content for m in prompt)


async def test_a_code_the_best_heading_names_is_answered_without_the_lead(settings: Settings) -> None:
    from tests.fakes import make_chunk

    codes = [
        make_chunk(
            "troubleshooting/error-codes.md",
            "PX-102: Compartment did not open",
            "PX-102 means the compartment did not open. Wait one minute, then try the code again.",
        )
    ]
    text = "PX-102 means the compartment did not open [1]."
    # The names check asks the fake knowledge base about "PX-102" word by word: off, as it is not tested here.
    checked = with_rag(unsure_below(settings, 1.0), refuse_unknown_names=False)
    pipeline = build_pipeline(checked, FakeKB(codes), FakeGenerator(text))
    deltas, answer = await run(pipeline, question="What does PX-102 mean?")
    assert answer.outcome in ("answered", "extracted")
    assert not answer.unsure
    assert UNSURE_LEAD not in answer.text
    # A code the heading does not name is no such certainty.
    deltas, other = await run(pipeline, question="What does PX-110 mean for the compartment?")
    assert other.unsure


async def test_an_error_code_typed_without_its_hyphen_is_answered_by_the_section_it_heads(
    settings: Settings,
) -> None:
    # "what does PX110 mean" was refused twice over: "PX110" is no word of the help center (it writes
    # "PX-110"), and the gate's cosine for it was 0.46. The code's parts are in the index, and the section
    # the question's error code heads is what it asks about, whatever the cosine.
    from tests.fakes import make_chunk

    chunks = [
        make_chunk(
            "troubleshooting/error-codes.md",
            "PX-110: App update required",
            "PX-110 means your app version is no longer supported. Update the app from your store.",
        ),
        make_chunk(
            "apps/versions.md", "App versions", "The ext4 build of the app is no longer supported.", 1
        ),
    ]
    strict = with_rag(settings, min_relevance=0.999)  # the gate refuses every passage of the fake
    pipeline = build_pipeline(strict, FakeKB(chunks), FakeGenerator("PX-110 means the app is too old [1]."))
    # (The fake searches by shared words: "update required" finds the section, the names check its code.)
    for question in ("PX110 update required?", "px110 required"):
        _, answer = await run(pipeline, question=question)
        assert answer.outcome in ("answered", "extracted"), question
        assert [s.source for s in answer.sources] == ["troubleshooting/error-codes.md"], question
    # A code the heading does not name, a code of one digit (a name: "ext4"), or no code are judged by
    # the gate alone (with a word the passage lacks: one whose every word it holds is answered).
    for question in (
        "PX111 update required?",
        "is ext4 supported on tablets",
        "which app versions are supported on tablets",
    ):
        _, refused = await run(pipeline, question=question)
        assert refused.outcome == "refused", question


async def test_a_question_asking_for_a_section_by_its_title_has_no_lead(settings: Settings) -> None:
    # "How long does delivery take?" opened its own FAQ entry with the lead: the other delivery sections kept
    # the gate's margin, and so its confidence, low. Every word of the question in the best section's title
    # says which section was asked for.
    pipeline = build_pipeline(unsure_below(settings, 1.0), FakeKB(HELP_CENTER), FakeGenerator(UNSUPPORTED))
    _, titled = await run(pipeline, question="How do I reset my password?")
    assert titled.outcome == "extracted"
    assert [s.heading for s in titled.sources] == ["Reset your password"]
    assert not titled.unsure
    assert UNSURE_LEAD not in titled.text
    # One word of the title is a topic, not the section; a word the title lacks is another question.
    for question in ("password?", "How do I reset my password by phone?"):
        _, other = await run(pipeline, question=question)
        assert other.unsure, question


async def test_a_question_asking_for_a_section_by_its_title_gives_the_model_that_section_alone(
    settings: Settings,
) -> None:
    # "how long is the warranty" was answered from "What does the warranty not cover?", cited [2]: the shipped
    # model was given both sections. The title's section alone is given; the other is still offered to read.
    from tests.fakes import make_chunk

    warranty = [
        make_chunk(
            "warranty.md", "How long is the warranty?", "The warranty lasts two years from purchase.", 0
        ),
        make_chunk(
            "warranty.md",
            "What does the warranty not cover?",
            "The warranty does not cover damage from dropping the toaster, which is how long it lasts.",
            1,
        ),
    ]
    model = FakeGenerator("The warranty lasts two years from purchase [1].")
    pipeline = build_pipeline(settings, FakeKB(warranty), model)
    _, answer = await run(pipeline, question="How long is the warranty?")
    assert answer.outcome == "answered"
    assert [s.heading for s in answer.sources] == ["How long is the warranty?"]
    (prompt,) = model.prompts
    given = "\n".join(message.content for message in prompt)
    assert "two years" in given
    assert "dropping the toaster" not in given
    assert [s.heading for s in answer.see_also] == ["What does the warranty not cover?"]
    # A question that does not name the section by its title gets both.
    await run(pipeline, question="Does the warranty cover a dropped toaster?")
    assert "dropping the toaster" in "\n".join(message.content for message in model.prompts[-1])


async def test_a_question_asking_for_a_section_by_its_title_is_answered_whatever_the_gate_says(
    settings: Settings,
) -> None:
    # "你们门店地址" was refused at the gate's 0.45 while the search put "自提门店地址" first: a question
    # every word of which (two at least) the best section's heading holds asks for that section.
    pipeline = build_pipeline(
        with_rag(settings, min_relevance=0.999), FakeKB(HELP_CENTER), FakeGenerator(UNSUPPORTED)
    )
    _, answer = await run(pipeline, question="How do I reset my password?")
    assert answer.outcome == "extracted"
    assert [s.heading for s in answer.sources] == ["Reset your password"]
    # One word of the title, or a word it lacks, is judged by the gate.
    for question in ("password?", "How do I reset my password by phone?"):
        _, refused = await run(pipeline, question=question)
        assert refused.outcome == "refused", question


async def test_a_question_every_word_of_which_the_best_passage_holds_is_answered_unsure(
    settings: Settings,
) -> None:
    # Found in a Spanish trial: "se puede pagar con bizum?" was refused at the gate's 0.46 with the section
    # that names Bizum first.
    strict = with_rag(settings, min_relevance=0.999, confident_relevance=0.999)
    pipeline = build_pipeline(strict, FakeKB(HELP_CENTER), FakeGenerator(UNSUPPORTED))
    _, answer = await run(pipeline, question="Do orders ship from Berlin?")
    assert answer.outcome == "extracted"
    assert answer.unsure, "the gate was not confident: said with the unsure lead"
    assert [s.heading for s in answer.sources] == ["Shipping times"]
    # A word the passage lacks, and the gate judges.
    _, refused = await run(pipeline, question="Do orders ship on Sundays?")
    assert refused.outcome == "refused"


def test_a_chinese_question_names_its_section_by_the_words_of_its_title() -> None:
    # Its words are jieba's less the question words: the character pairs "你们" and "们门" are no topic.
    from bot.domain import Hit
    from bot.rag.pipeline import _asks_its_title
    from tests.fakes import make_chunk

    def best(heading: str) -> list[Hit]:
        return [
            Hit(chunk=make_chunk("pickup.md", heading, "上海徐汇店：漕溪北路 88 号。"), score=1.0, rank=1)
        ]

    assert _asks_its_title("你们门店地址", best("自提门店地址"), "zh")
    assert _asks_its_title("發票抬頭怎麼改", best("发票抬头修改"), "zh-Hant")
    assert not _asks_its_title("门店", best("自提门店地址"), "zh")  # one word is a topic
    assert not _asks_its_title("门店营业时间", best("自提门店地址"), "zh")
