"""Questions not in English: English-only models quote the passage in that language; others are told it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import Settings
from bot.domain import Answer, Chunk
from bot.llm.base import ModelInfo
from bot.services import build_pipeline
from tests.fakes import FakeGenerator, FakeKB, make_chunk
from tests.rag.conftest import with_rag

ENGLISH = make_chunk(
    "claims.md", "Lost parcels", "A lost parcel: file a claim in the app. Parcelly answers.", 1
)
CHINESE = replace(
    make_chunk(
        "zh/claims.md", "包裹丢失", "包裹丢了 请在应用中提交索赔。 Parcelly 会在五个工作日内回复。", 2
    ),
    lang="zh",
)
QUESTION_ZH = "Parcelly 包裹丢了 怎么办？"


class ShippedLikeGenerator(FakeGenerator):
    """Carries the shipped model family's name, which writes English only."""

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="SmolLM2-135M-Instruct.Q8_0", version="shipped01", n_ctx=self.n_ctx)


async def test_english_only_model_answers_a_chinese_question_with_the_chinese_passage(
    settings: Settings,
) -> None:
    generator = ShippedLikeGenerator()
    pipeline = build_pipeline(settings, FakeKB([ENGLISH, CHINESE]), generator)
    answer = await pipeline.answer(QUESTION_ZH, user_key="u1", language="zh")
    assert answer.outcome == "extracted"
    assert "提交索赔" in answer.text
    assert answer.text.endswith("[1]")
    assert [s.source for s in answer.sources] == ["zh/claims.md"]
    assert generator.prompts == []  # no English prose was even written


async def test_without_a_passage_in_its_language_the_quote_is_in_the_documents_language(
    settings: Settings,
) -> None:
    generator = ShippedLikeGenerator()
    pipeline = build_pipeline(settings, FakeKB([ENGLISH]), generator)
    answer = await pipeline.answer("Parcelly lost parcel claim 怎么办", user_key="u1", language="zh")
    assert answer.outcome == "extracted"
    assert [s.source for s in answer.sources] == ["claims.md"]
    assert generator.prompts == []


async def test_a_passage_of_labels_only_is_refused_and_the_log_says_why(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # A lead-in whose table went to the next chunk: nothing in it answers, so nothing is quoted, and the
    # refusal's reason is logged as every other refusal's is.
    lead_in = "Parcelly 包裹丢了 以下软件包可以帮助编写手册页："
    label = replace(make_chunk("zh/man.md", "手册页", lead_in, 3), lang="zh")
    generator = ShippedLikeGenerator()
    pipeline = build_pipeline(settings, FakeKB([label]), generator)
    with caplog.at_level("INFO", logger="bot.rag"):
        answer = await pipeline.answer(QUESTION_ZH, user_key="u1", language="zh")
    assert answer.outcome == "refused"
    assert generator.prompts == []
    assert any(r.getMessage() == "refused: the best passage has nothing to quote" for r in caplog.records)


async def test_a_capable_model_is_told_the_language_and_gets_no_english_prefill(settings: Settings) -> None:
    generator = FakeGenerator(reply="包裹丢了 请在应用中提交索赔。 [1]")
    pipeline = build_pipeline(with_rag(settings, foreign_answer="auto"), FakeKB([CHINESE]), generator)
    await pipeline.answer(QUESTION_ZH, user_key="u1", language="zh")
    (prompt,) = generator.prompts
    assert prompt[-1].role == "user"
    assert prompt[-1].content.endswith("Write the answer in Chinese, the language of the question.")
    assert all(m.role != "assistant" for m in prompt)  # the English "According to [1]," is not primed


async def test_a_traditional_chinese_question_finds_the_simplified_passage_and_names_its_script(
    settings: Settings,
) -> None:
    generator = ShippedLikeGenerator()
    pipeline = build_pipeline(settings, FakeKB([ENGLISH, CHINESE]), generator)
    answer = await pipeline.answer("Parcelly 包裹丟了 怎麼辦？", user_key="u1", language="zh-Hant")
    assert answer.outcome == "extracted"
    assert [s.source for s in answer.sources] == ["zh/claims.md"]  # the passage in the question's language
    capable = FakeGenerator(reply="包裹丟了請在應用中提交索賠。 [1]")
    pipeline = build_pipeline(with_rag(settings, foreign_answer="auto"), FakeKB([CHINESE]), capable)
    await pipeline.answer("Parcelly 包裹丟了 怎麼辦？", user_key="u1", language="zh-Hant")
    (prompt,) = capable.prompts
    assert prompt[-1].content.endswith(
        "Write the answer in Chinese (Traditional), the language of the question."
    )


@pytest.mark.parametrize("language", ["en", "und"])
async def test_english_and_undetermined_questions_are_unchanged(settings: Settings, language: str) -> None:
    generator = ShippedLikeGenerator()
    pipeline = build_pipeline(settings, FakeKB([ENGLISH]), generator)
    await pipeline.answer("How do I file a claim for a lost parcel?", user_key="u1", language=language)
    (prompt,) = generator.prompts
    assert "Write the answer in" not in prompt[-2].content + prompt[-1].content
    assert prompt[-1].role == "assistant"  # the prefill


async def test_extract_setting_quotes_even_for_a_capable_model(settings: Settings) -> None:
    generator = FakeGenerator()
    pipeline = build_pipeline(with_rag(settings, foreign_answer="extract"), FakeKB([CHINESE]), generator)
    answer = await pipeline.answer(QUESTION_ZH, user_key="u1", language="zh")
    assert answer.outcome == "extracted"
    assert generator.prompts == []


class NamedGenerator(FakeGenerator):
    """A generator whose model name is what a llama-server reports (`bot.llm.remote`)."""

    def __init__(self, name: str) -> None:
        super().__init__(reply="包裹丢了 请在应用中提交索赔。 [1]")
        self.name = name

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name=self.name, version="remote01", n_ctx=self.n_ctx)


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("remote:/models/SmolLM2-135M-Instruct.Q4_1.gguf", True),  # the shipped model behind a llama-server
        ("remote:C:\\models\\smollm2-360m-instruct-q8_0.gguf", True),
        ("remote:http://127.0.0.1:8080", True),  # not asked yet: its model is unknown
        ("remote:/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf", False),
        ("Qwen2.5-7B-Instruct-Q4_K_M", False),
    ],
)
async def test_auto_knows_the_english_only_family_behind_a_server(
    settings: Settings, name: str, quoted: bool
) -> None:
    generator = NamedGenerator(name)
    pipeline = build_pipeline(with_rag(settings, foreign_answer="auto"), FakeKB([CHINESE]), generator)
    answer = await pipeline.answer(QUESTION_ZH, user_key="u1", language="zh")
    assert (generator.prompts == []) is quoted
    if quoted:
        assert answer.outcome == "extracted"


async def test_a_german_answer_ending_on_a_separable_verb_is_shown(settings: Settings) -> None:
    # "…an." ends German sentences; read with the English patterns it looked cut off, and became a quote.
    german = replace(
        make_chunk(
            "de/konto.md",
            "Anmelden",
            "Parcelly: Melden Sie sich in der App mit Ihrer E-Mail-Adresse an. Das Passwort wählen Sie.",
            3,
        ),
        lang="de",
    )
    reply = "Melden Sie sich in der App mit Ihrer E-Mail-Adresse an [1]."
    generator = FakeGenerator(reply=reply)
    pipeline = build_pipeline(with_rag(settings, foreign_answer="generate"), FakeKB([german]), generator)
    answer = await pipeline.answer("Wie melde ich mich bei Parcelly an?", user_key="u1", language="de")
    assert answer.outcome == "answered", answer.text
    assert answer.text.startswith("Melden Sie sich in der App")


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        # Copied from the passage, Chinese sentence ends and all: shown as the model wrote it.
        ("包裹丢了请在应用中提交索赔。[1] Parcelly 会在五个工作日内回复。[1]", "answered"),
        # Made up around the one Latin word it shares with the passage: not shown; the passage is quoted.
        ("Parcelly 会立即全额退款，并赠送优惠券。[1]", "extracted"),
    ],
)
async def test_a_chinese_answer_is_checked_by_its_own_words(
    settings: Settings, reply: str, outcome: str
) -> None:
    generator = FakeGenerator(reply=reply)
    pipeline = build_pipeline(with_rag(settings, foreign_answer="generate"), FakeKB([CHINESE]), generator)
    deltas = []
    answer = None
    async for item in pipeline.stream(QUESTION_ZH, user_key="u1", language="zh"):
        if isinstance(item, Answer):
            answer = item
        else:
            deltas.append(item)
    assert answer is not None
    assert answer.outcome == outcome, answer.text
    if outcome == "answered":
        assert answer.text.startswith("包裹丢了请在应用中提交索赔。")
        assert len(deltas) >= 2, "released sentence by sentence, as English is"
    else:
        assert "优惠券" not in answer.text


HINDI = replace(
    make_chunk(
        "hi/upi.md",
        "UPI पिन रीसेट करें",
        "PaiseSetu ऐप में प्रोफ़ाइल खोलें और UPI पिन रीसेट चुनें। नया पिन डेबिट कार्ड के विवरण से बनता है।",
        5,
    ),
    lang="hi",
)
THAI = replace(
    make_chunk(
        "th/pin.md",
        "ลืมรหัส PIN",
        "เปิดแอป SongWai แล้วกดลืมรหัสที่หน้าเข้าสู่ระบบ ระบบจะส่ง OTP ไปที่เบอร์ของคุณ",
        6,
    ),
    lang="th",
)


@pytest.mark.parametrize(
    ("chunk", "question", "lang", "reply", "outcome"),
    [
        # Copied from the passage: shown. Made up around the names it shares with the passage: quoted instead.
        (HINDI, "UPI पिन कैसे बदलें?", "hi", "प्रोफ़ाइल खोलें और UPI पिन रीसेट चुनें। [1]", "answered"),
        (HINDI, "UPI पिन कैसे बदलें?", "hi", "PaiseSetu हर नए ग्राहक को मुफ़्त बीमा और कैशबैक देता है। [1]", "extracted"),
        (THAI, "ลืมรหัส PIN ทำยังไง", "th", "กดลืมรหัสที่หน้าเข้าสู่ระบบ แล้วรอ OTP [1]", "answered"),
        (THAI, "ลืมรหัส PIN ทำยังไง", "th", "SongWai จะโทรหาคุณเพื่อตั้ง PIN ใหม่ให้ฟรี [1]", "extracted"),
    ],
)
async def test_an_answer_in_an_alphabet_with_marks_is_checked_by_its_own_words(
    settings: Settings, chunk: Chunk, question: str, lang: str, reply: str, outcome: str
) -> None:
    # Judged by its Latin words alone, a made-up Hindi or Thai sentence was "supported" by any passage that
    # names the product.
    generator = FakeGenerator(reply=reply)
    pipeline = build_pipeline(with_rag(settings, foreign_answer="generate"), FakeKB([chunk]), generator)
    answer = await pipeline.answer(question, user_key="u1", language=lang)
    assert answer.outcome == outcome, answer.text
    if outcome == "extracted":
        assert "कैशबैक" not in answer.text
        assert "ฟรี" not in answer.text
