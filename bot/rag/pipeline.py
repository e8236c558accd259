"""The answer pipeline: condense, retrieve, decide, prompt, stream, check; always ending in one `Answer`."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from bot.chinese import to_simplified
from bot.config import LLMSettings, RAGSettings
from bot.domain import Answer, ChatMessage, Delta, Hit, Outcome, Source, Timings, Turn
from bot.kb.analysis import (
    CJK_LANGUAGES,
    analyzer,
    language_key,
    named_words,
    question_language,
    searched_text,
)
from bot.kb.base import KBUnavailableError, KnowledgeBase
from bot.kb.calibration import (
    DEFAULT_GATE,
    Gate,
    held_words,
    kb_prior_languages,
    question_words,
    signals,
    translated_gate_key,
)
from bot.kb.crosslingual import CrossLingualQuery, QueryTranslator, crosslingual_query
from bot.kb.fusion import DEFAULT_FUSION, FusionMethod
from bot.kb.names import unknown_names
from bot.kb.vocabulary import spelled
from bot.language import UNDETERMINED, answer_language, normalize
from bot.llm.base import Generator, GeneratorBusyError, GeneratorError, GeneratorTimeoutError
from bot.logs import user_text
from bot.rag import citations
from bot.rag.approved import codes
from bot.rag.condense import condense
from bot.rag.prompting import (
    PROMPT_VERSION,
    BudgetedPrompt,
    Passage,
    QuestionTooLongError,
    cut_at_structure,
    fit_budget,
    load_templates,
    looks_like_injection,
    trim_passage,
)
from bot.rag.refusal import opens_with_refusal
from bot.texts import unsure_lead, without_leads

log = logging.getLogger("bot.rag")
T = TypeVar("T")

# Fixed user-facing texts for every outcome that is not a model answer. Never exception text.
# Model families that write English only (the shipped SmolLM2): `foreign_answer = "auto"` quotes for them.
ENGLISH_ONLY_MODELS = ("smollm",)

REFUSAL_TEXT = (
    "I'm sorry, I couldn't find this in our help center, so I'd rather not guess. "
    "Would you like me to connect you with a person from our support team?"
)
KB_UNAVAILABLE_TEXT = (
    "I can't look that up right now. Please try again in a few minutes, "
    "or ask to talk to a person from our support team."
)
BUSY_TEXT = "I'm answering a lot of questions right now. Please send your message again in a minute."
MODEL_ERROR_TEXT = (
    "Sorry, something went wrong while I was writing the answer. Please try again, "
    "or ask to talk to a person from our support team."
)
EMPTY_TEXT = "Please type your question, and I'll look it up in our help center."
TOO_LONG_TEXT = (
    "Your message is too long for me to answer in one go. Please shorten it to the essential question "
    "(a few sentences) and send it again."
)
UNGROUNDED_CAVEAT = (
    "Note: I could not tie this answer to a specific help-center article, so please double-check it."
)
# Opens an "outlined" reply: the parts of the article whose opening the search found best follow it.
OUTLINE_LEAD = "Which of these is your question about?"
# The most parts of an article an outline lists (Telegram shows each as a button): a manual's chapter of
# forty sections is offered by its first ones, as a help-center article's table of contents would be.
OUTLINE_PARTS = 8

# A question longer than this many characters is refused before anything is tokenized or embedded.
MAX_QUESTION_CHARS = 8000
# A question of one content word ("delivery?") names a topic, not a section: it is never taken as a title.
MIN_TITLE_WORDS = 2
# A cited passage supports an answer when at least this share of the answer's content words (the
# model's own words, not the prefill) appear in it. Below that the citation is not trusted.
SUPPORT_MIN_SHARE = 0.3
# An answer with no supported [n] is still grounded when this share of its content words comes from one
# passage; the pipeline then writes that passage's marker itself and sets `Answer.citations_inferred`.
INFER_CITATION_MIN_SHARE = 0.6
# A sentence with fewer content words than this ("Yes.", "e.g.", a list number) is not judged alone: it is
# checked (and shown) together with the sentence that follows it.
SENTENCE_MIN_WORDS = 2
# One paragraph: a small model's second paragraph is where it drifts away from the passages. The passage
# delimiters stop it too: writing them means it has begun to echo its prompt.
ANSWER_STOPS = ("\n\n", "</passages>", "<passages>")
# While the new search's best passage is among the previous answer's passages, the conversation is still on
# them: the prompt gives that best passage first, then the previous passages (a follow-up such as "and how
# long does that take?" may need the one the earlier answer came from), then the rest of the new ranking.
# With the same best passage the prompt keeps the previous order, so the KV cache of its prefix is reused.
# Remembered per user, for this many users.
STICKY_USERS = 1024
# Sections listed under an answer besides those it cites. On the sample help center's two question sets the
# right section was second or third for 9 of 44 and 6 of 30 questions (2026-12-05): two more lines make it
# one the customer sees for most of them, at the cost of two lines under every answer.
SEE_ALSO = 2
# ...and only those nearly as close to the question as the search's best: a cosine at most
# SEE_ALSO_COSINE_DROP below the best one and a fused score at least SEE_ALSO_SCORE_SHARE of the best hit's.
# Measured on the top 5 of six labelled sets (sample help center, its customer wording, Python FAQ, Debian
# Reference en/fr/zh; 2026-12-05): the right section is shown (cited or listed) exactly as often as with no
# cut (Chinese once more: a lower hit takes the place of a cut one), while the lines listed per answer fall
# from 2 to 0.7 (Python FAQ), 1.0 (English manual), 1.3 (Chinese), 1.6 and 1.8 (help center), 1.9 (French).
# A tighter cut (0.1, or 0.65 of the score) began to drop right sections.
SEE_ALSO_COSINE_DROP = 0.15
SEE_ALSO_SCORE_SHARE = 0.6


def _near_best(hits: Sequence[Hit], *, score_share: float = SEE_ALSO_SCORE_SHARE) -> list[Hit]:
    """The hits nearly as close to the question as the best of them (`SEE_ALSO_COSINE_DROP`, `score_share`),
    in order; the cosine is judged only where the search knew it."""
    if not hits:
        return []
    best = hits[0].score
    least = score_share * best if best > 0 else -math.inf
    cosines = [h.dense_score for h in hits if h.dense_score is not None]
    least_cosine = max(cosines) - SEE_ALSO_COSINE_DROP if cosines else -math.inf
    return [
        hit
        for hit in hits
        if hit.score >= least and (hit.dense_score is None or hit.dense_score >= least_cosine)
    ]


@dataclass(frozen=True)
class _Prepared:
    hits: tuple[Hit, ...]
    passages: tuple[Passage, ...]
    quarantined: tuple[Passage, ...]
    # The sections of this search's hits (not only those given to the model) nearly as close as the best
    # (`_near_best`), quarantined ones left out, best first: what "see also" is chosen from.
    sections: tuple[Source, ...] = ()
    # The parts of the best passage's article, when that passage opens the article and has nothing of its
    # own to quote (`Pipeline._outlined`): offered in place of a quote.
    outline: tuple[Source, ...] = ()
    # A follow-up searched with the question before it: its own words, and the answer the customer was just
    # given, which its quote is not to repeat (`Pipeline._extract`).
    followup: str = ""
    said: str = ""


def _quoted_in(hit: Hit, language: str) -> tuple[str, ...]:
    """The language a quote of `hit` is in, when it is not the question's (both known): the customer is told
    so (`texts.QUOTED_IN_KB_LANGUAGE`). A Chinese help center's passage found for an English question (its
    gloss reads as English to the embedder) was quoted with no word of why it is in Chinese. Languages are
    compared by their codes, not their analyses: Vietnamese and Ukrainian have none of their own ("und"),
    and a Vietnamese passage quoted to an English question was not said to be Vietnamese."""
    quoted, asked = normalize(hit.chunk.lang), normalize(language)
    return (quoted,) if UNDETERMINED not in (quoted, asked) and quoted != asked else ()


def _same_language(hit: Hit, language: str) -> bool:
    """Whether `hit` is written in `language` (both known): a translated question's search can still find a
    passage in the question's own language, where the help center holds some (its embedder reads them
    glossed), which no note may then call the help center's other language."""
    quoted = normalize(hit.chunk.lang)
    return quoted != UNDETERMINED and quoted == normalize(language)


# The answer to a yes/no question, which may otherwise only say the question back.
_YES_NO = re.compile(r"\W*(?:yes|no)\b", re.I)

StopReason = Literal["unsupported", "garbled", "repeated", "leak", "refusal"]

# With the copy check (`RAGSettings.copy_check`), a sentence of the model's is shown only when this share of
# its words lies in runs of at least `COPY_RUN` words copied from the passage it is attributed to. Measured on
# SmolLM2-135M's answers to 88 customer questions about the sample help center (2026-12-04): its wrong
# sentences copied 0–0.58 of their words in such runs, six of its eight right ones 0.78–1.0.
COPY_RUN = 4
COPY_MIN_SHARE = 0.6
# `copy_check = "auto"` checks models smaller than this: a small model goes wrong where it rephrases.
COPY_CHECK_BELOW_PARAMS = 1_000_000_000

# A sentence whose content words are at least this share of what the answer already showed (question and
# headings aside) says nothing new: a small model that restates itself has begun to loop ("The app suggests
# that you use the lockers…" three times over).
REPEATED_MIN_SHARE = 0.8


class _CheckedRelease:
    """The model's text as the customer may see it: sentence by sentence, each one checked first.

    A sentence is released once it is complete (the next one has begun, or the model has finished) and
    supported by a given passage: the passages it cites hold at least `SUPPORT_MIN_SHARE` of its content words
    (its other marks are removed), or, with no supported mark, one passage holds `INFER_CITATION_MIN_SHARE`
    (that passage's mark is written in), or it goes on from the passage the previous sentence cited with
    `SUPPORT_MIN_SHARE`. With the copy check (small models), most of its words must also lie in runs copied
    from that passage (`COPY_MIN_SHARE`). In each case every figure the sentence states (a number written with
    digits: a price, a deadline, a percentage) must be in that passage too, or in the question: a made-up
    figure among the passage's words is the most harmful error a support answer can make ("a refund … which is
    10% of your purchase"), and word overlap alone lets it through. Links not in the passages are removed
    first. A sentence with no content word beyond the question's and the passages' headings only says them
    back and is skipped; one that mostly says again what was shown stops the release (`REPEATED_MIN_SHARE`). A
    refusal, a sentence the passages do not support or whose negation its passage's closest sentences do not
    share (`citations.flips_polarity`), one that does not read as a sentence (`citations.garbled`), or text
    that leaks hidden words stops the release: nothing after it is shown. What was released is final: the
    answer starts with exactly that text.
    """

    def __init__(
        self,
        prefill: str,
        passages: Sequence[Passage],
        leaks: Callable[[str], bool],
        question: str = "",
        *,
        english: bool = True,
    ) -> None:
        self._prefill = prefill
        self._english = english  # the answer's language: the garbled-sentence patterns are English
        # Set by the pipeline once the model's first piece arrives (see `Pipeline._copy_checked`).
        self.copy_check = False
        self._passages = passages
        self._question_figures = citations.figures(question)
        self._question = question
        # The names the question asks about, read once: every sentence's figures are checked against them.
        self._question_names = named_words(question)
        # What an answer may not merely repeat: the question, and the headings it was given.
        said = citations.stems(" ".join([question, *(p.heading for p in passages)]))
        self._said = said | citations.FILLER_STEMS
        self._passage_figures = [citations.passage_figures(p) for p in passages]
        self._allowed = citations.allowed_urls(passages)
        self._prefill_marks = set(citations.check_citations(prefill, len(passages)).cited)
        self._leaks = leaks
        self.continuation = ""  # the model's own text so far, up to any echoed prompt structure
        self._raw = ""
        self._joiner: str | None = None
        self._start = 0  # where the next unreleased sentence begins in `text`
        self._scan = 0  # where to look for its end (past short sentences held back to be judged with it)
        self._gap = ""  # the whitespace the model wrote before that sentence
        self._last_cited: int | None = None
        self._released_stems: set[str] = set()
        self.released = ""
        self.stopped: StopReason | None = None
        self.cited_by_model = False  # a released mark was written by the model (not the prefill or code)

    @property
    def text(self) -> str:
        """The answer so far as the model writes it: the prefill, then the model's words."""
        if self._joiner is None:
            return ""
        return f"{self._prefill}{self._joiner}{self.continuation}"

    @property
    def _own_from(self) -> int:
        return len(self._prefill) + len(self._joiner or "")

    def feed(self, piece: str) -> list[str]:
        """Take the next piece of model text; return the texts now released (in order)."""
        self._raw += piece
        self.continuation = cut_at_structure(self._raw)
        if self._joiner is None and self.continuation:
            self._joiner = "" if not self._prefill or self.continuation[:1].isspace() else " "
        return self._advance(final=False)

    def finish(self) -> list[str]:
        """The model has finished: its last sentence is complete."""
        return self._advance(final=True)

    def _advance(self, *, final: bool) -> list[str]:
        out: list[str] = []
        text = self.text
        while self.stopped is None and self._joiner is not None:
            found = citations.sentence_end(text, self._scan)
            if found is None:
                if not final or not text[self._start :].strip():
                    break
                end = following = len(text)
                if _leads_in(text[self._start : end]):
                    break  # "…by following these steps:" and then nothing: not an answer to show
            else:
                end, following = found
                # A short piece ("Yes.", a list item's "1.") or a lead-in ("…these steps:") is judged and
                # shown together with the piece after it; the newest piece decides, so a lead-in held back
                # is not judged with a bare "1." of the list it leads into.
                if len(self._own_words(text, self._scan, end)) < SENTENCE_MIN_WORDS or _leads_in(
                    text[self._start : end]
                ):
                    self._scan = following
                    continue
            if self._own_words(text, self._start, end):
                shown = self._judge(text, self._start, end)
                if shown is None:
                    break
                if shown:
                    out.append(shown)
                    self.released += shown
            gap = text[end:following]
            self._gap = "\n" if "\n" in gap else " "
            self._start = self._scan = following
            if found is None:
                break
        return out

    def _own_words(self, text: str, start: int, end: int) -> list[str]:
        return citations.content_words(text[max(start, self._own_from) : end])

    def _share(self, words: str, n: int) -> float:
        return citations.overlap_share(words, self._passages[n - 1])

    def _states_only_what_passage_says(self, words: str, n: int) -> bool:
        """No figure, name or code that passage `n` (or the question) does not write."""
        passage = self._passages[n - 1]
        written = f"{passage.heading}\n{passage.text}"
        return (
            citations.figures(words) <= self._passage_figures[n - 1] | self._question_figures
            and citations.figures_bound(words, written, self._question_figures)
            and citations.currencies_bound(words, written, self._question)
            and citations.figures_of_named(words, written, self._question_names, self._question_figures)
            and citations.names_only_from(words, passage.heading, passage.text, self._question)
        )

    def _supports(self, words: str, n: int) -> bool:
        return self._share(words, n) >= SUPPORT_MIN_SHARE and self._states_only_what_passage_says(words, n)

    def _judge(self, text: str, start: int, end: int) -> str | None:
        """The sentence as it may be shown (marks and links final), or None: the release stops here."""
        n = len(self._passages)
        sentence, _ = citations.strip_foreign_urls(
            re.sub(r"[ \t]+", " ", text[start:end].strip()), self._allowed
        )
        own, _ = citations.strip_foreign_urls(
            re.sub(r"[ \t]+", " ", text[max(start, self._own_from) : end].strip()), self._allowed
        )
        # Support is judged on the model's own words: the prefill's "[1]" proves nothing by itself.
        plain = citations.check_citations(own, n, keep=()).text
        if not self.released and opens_with_refusal(plain):
            self.stopped = "refusal"
            return None
        if citations.asks(plain):
            # The customer asked: a question answers nothing, whether a heading read out ("The answer is:
            # [1] What happens if I miss the pickup window?", its words all the passage's) or the model's
            # own. Not shown; the next sentence may answer (an FAQ's "Forgot your password? Open…").
            return ""
        novel = citations.stems(plain) - self._said
        if not novel and not _YES_NO.match(plain):
            # It only says the question or a heading back ("According to [1], the locker makes you wait."
            # to "…now the locker makes me wait"; "the parcel has not moved for a while" under "My parcel
            # has not moved for a while"): word overlap with the passage proves nothing, and it answers
            # nothing. Not shown; the next sentence may answer. "Yes, you can pay with PayPal." says the
            # question back too, and answers it: the polarity check below judges it.
            return ""
        if self.released and novel and len(novel & self._released_stems) >= REPEATED_MIN_SHARE * len(novel):
            self.stopped = "repeated"
            return None
        if citations.garbled(own, self._passages, english=self._english):
            # Not a sentence ("You should visit the.", "you can use [2] to…"): the model has lost the thread.
            self.stopped = "garbled"
            return None
        with_prefill = start < self._own_from
        marks = citations.check_citations(sentence, n).cited
        supported = [m for m in marks if self._supports(plain, m)]
        if supported:
            if with_prefill and not self._prefill_marks <= set(supported):
                sentence = _capitalised(own)  # the prefill names a passage that does not say this
            shown = citations.check_citations(sentence, n, keep=set(supported)).text
            by_model = set(citations.check_citations(own, n).cited) & set(supported)
            self.cited_by_model = self.cited_by_model or bool(by_model)
            self._last_cited = supported[-1]
            sources = supported
        else:
            best, share = citations.best_overlap(plain, self._passages)
            if (
                best is not None
                and share >= INFER_CITATION_MIN_SHARE
                and self._states_only_what_passage_says(plain, best)
            ):
                if with_prefill and self._prefill_marks == {best}:
                    shown = citations.check_citations(sentence, n, keep=self._prefill_marks).text
                else:
                    shown = citations.add_citation(_capitalised(plain) if with_prefill else plain, best)
                self._last_cited = best
                sources = [best]
            elif self.released and self._last_cited is not None and self._supports(plain, self._last_cited):
                shown = plain  # goes on from the passage the previous sentence cited
                sources = [self._last_cited]
            else:
                self.stopped = "unsupported"
                return None
        if self.copy_check and (
            citations.copied_share(plain, [self._passages[m - 1] for m in sources], COPY_RUN) < COPY_MIN_SHARE
        ):
            # Its words are the passage's, its claim may not be: a small model's rephrasing is where it
            # goes wrong ("the student discount is 15% off every label" under "no student discount").
            self.stopped = "unsupported"
            return None
        if self._last_cited is not None and citations.flips_polarity(
            plain, self._passages[self._last_cited - 1]
        ):
            # The passage's own words with a "not" added or dropped: overlap passes it, the customer would
            # read the opposite of the article.
            self.stopped = "unsupported"
            return None
        # No channel renders Markdown: "**Open again**" copied from the passage would show its asterisks (and
        # a model that drops the closing pair leaves one open), so markup goes as it does from a quote.
        shown = citations.plain_text(shown).strip()
        if not shown:
            return ""  # nothing left to show once foreign links are gone; not a reason to stop
        shown = (self._gap if self.released else "") + shown
        if self._leaks(self.released + shown):
            self.stopped = "leak"
            return None
        self._released_stems |= novel
        return shown


def _leads_in(sentence: str) -> bool:
    """Whether `sentence` ends with a colon: it introduces what follows (a list, a step) and means
    nothing shown alone."""
    return citations.strip_citation_marks(sentence).rstrip().endswith((":", "："))


def _capitalised(text: str) -> str:
    text = text.strip(" ,;:\n")
    return text[:1].upper() + text[1:]


@asynccontextmanager
async def _closing(stream: AsyncIterator[T]) -> AsyncGenerator[AsyncIterator[T], None]:
    """Close an async iterator when leaving the block, so an abandoned stream stops its generation."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _repeats(quote: str, said: str) -> bool:
    """Whether `quote` is what the answer `said` already quoted (citation marks and spacing aside)."""

    def bare(text: str) -> str:
        return " ".join(citations.strip_citation_marks(text).split())

    return bool(said) and bare(quote) in bare(said)


def _heading_key(heading: str) -> str:
    """A heading as "see also" compares them: letters and digits only, case folded ("" stays "")."""
    return "".join(ch for ch in heading.casefold() if ch.isalnum())


def passage_of(hit: Hit) -> Passage:
    chunk = hit.chunk
    return Passage(
        source=chunk.source, heading=chunk.heading, text=chunk.text, url=chunk.url, lang=chunk.lang
    )


def _timings_without_model(started: float, retrieval_ms: float, condense_ms: float) -> Timings:
    """Timings of an answer the model did not write: it is shown all at once, when it is final."""
    total_ms = (time.perf_counter() - started) * 1000
    return Timings(
        retrieval_ms=retrieval_ms,
        ttft_ms=None,
        total_ms=total_ms,
        condense_ms=condense_ms,
        first_visible_ms=total_ms,
    )


# The outcomes an unconfident gate's lead opens (`Pipeline.stream`).
UNSURE_OUTCOMES: frozenset[Outcome] = frozenset({"answered", "extracted"})


def _titled_with_its_codes(question: str, hits: Sequence[Hit]) -> bool:
    """Whether the question names codes ("What does PX-102 mean?") and the best section's heading names every
    one of them: that section is what was asked about, whatever the gate's cosines say (a code's question
    scored 0.6 and opened its exact answer with the unsure lead)."""
    named = codes(question)
    return bool(named and hits) and named <= codes(hits[0].chunk.heading)


# An error or model code has a number of two digits or more ("PX-110", "E203"); "ext4", "mp3" or "python3"
# name a thing, which a heading naming it does not make the answer to any question about it.
_ERROR_CODE_NUMBER = re.compile(r"[0-9]{2,}")


def _headed_by_its_error_codes(question: str, hits: Sequence[Hit]) -> bool:
    """`_titled_with_its_codes`, for codes with a number of two digits or more only."""
    named = codes(question)
    return _titled_with_its_codes(question, hits) and all(_ERROR_CODE_NUMBER.search(code) for code in named)


def _asks_its_title(question: str, hits: Sequence[Hit], lang: str) -> bool:
    """Whether every word of the question (two at least; stop words aside, stemmed) is in the best section's
    heading: the customer asked for that section by its title ("How long does delivery take?" opened its
    own FAQ entry with the unsure lead, the gate's margin lowered by the other delivery sections). Chinese and
    Japanese by their words less the question words (`question_words`), each written in the heading: their
    index terms are character pairs, and "你们门店地址" held "你们" and "们门", which the heading
    "自提门店地址" does not."""
    if not hits:
        return False
    heading = hits[0].chunk.heading
    if language_key(lang) in CJK_LANGUAGES and language_key(lang) != "ko":
        words = question_words(question, lang)
        simplified = to_simplified(heading, words=False)
        return len(words) >= MIN_TITLE_WORDS and all(
            to_simplified(word, words=False) in simplified for word in words
        )
    text = analyzer(lang)
    terms = set(text.terms(question))
    return len(terms) >= MIN_TITLE_WORDS and terms <= set(text.terms(heading))


def _holds_every_word(question: str, hits: Sequence[Hit], lang: str) -> bool:
    """Whether the best passage (heading and text) holds every word of the question (`question_words`, two
    at least): "se puede pagar con bizum?" was refused at the gate's 0.46 with the Bizum section first, whose
    every word it holds. Measured 2026-12-06 on eleven labelled sets in six languages: it lets through 2 of
    the 29 answerable questions the gate refused (the other one's best passage a wrong section of the right
    article) and none of their 74 unanswerable ones, whose best passages never hold all of their words."""
    if not hits:
        return False
    words = question_words(question, lang)
    return len(words) >= MIN_TITLE_WORDS and held_words(question, hits[0].chunk, lang) == len(words)


@dataclass(frozen=True, slots=True)
class _Unsure:
    """Said by `Pipeline._stream` once the gate let the passages through without confidence."""


class Pipeline:
    """Turns a message plus history into a grounded `Answer`; never raises for dependency failures."""

    def __init__(
        self,
        kb: KnowledgeBase,
        generator: Generator,
        rag: RAGSettings,
        llm: LLMSettings,
        *,
        top_k: int,
        fusion: FusionMethod = DEFAULT_FUSION,
        translator: QueryTranslator | None = None,
    ) -> None:
        self._kb = kb
        self._generator = generator
        # Searches a question in the help center's language where it holds none in the question's.
        self._translator = translator
        self._rag = rag
        self._llm = llm
        self._top_k = top_k  # passages searched (BOT_KB__TOP_K); the prompt takes rag.prompt_passages of them
        # RRF scores a section found by one retriever about half one found by both, whatever its cosine: the
        # share of the best score that "see also" asks for was measured on convex fusion only.
        self._see_also_share = SEE_ALSO_SCORE_SHARE if fusion == "convex" else 0.0
        self._templates = load_templates()
        self._leaks = citations.LeakDetector([self._templates.system])
        self._sticky: OrderedDict[str, tuple[Hit, ...]] = OrderedDict()

    @property
    def generator(self) -> Generator:
        return self._generator

    async def kb_languages(self) -> tuple[str, ...]:
        """The languages the knowledge base's customers likely write in, its main one first
        (`bot.language.prior_languages` of the sections its calibration sampled), for
        `bot.language.detect_message_language`; () when not known (no index, or not calibrated). No search:
        the calibration is stored with the index and read as each question's gate is."""
        return await kb_prior_languages(self._kb)

    async def answer(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = UNDETERMINED
    ) -> Answer:
        final: Answer | None = None
        async with _closing(self.stream(question, history, user_key=user_key, language=language)) as events:
            async for event in events:
                if isinstance(event, Answer):
                    final = event
        if final is None:  # stream() always ends with an Answer; this guards a broken invariant loudly
            raise RuntimeError("the pipeline ended without an answer")
        return final

    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = UNDETERMINED
    ) -> AsyncGenerator[Delta | Answer, None]:
        """Yield `Delta`s of checked answer text, then exactly one final `Answer`.

        The model's text is released sentence by sentence, each one only once it is complete and supported
        by a passage (see `_CheckedRelease`); the final `Answer.text` starts with exactly the released text.
        When nothing could be released the answer is a quote, the refusal or a caveated text (as set).
        An answer the gate was not confident about opens with `unsure_lead` in the customer's language,
        sent with the first text shown (the deltas still add up to the final text).
        """
        lead = ""  # the lead, once the gate was not confident
        pending = False  # the lead is still to be sent with the first shown text
        async with _closing(self._stream(question, history, user_key=user_key, language=language)) as events:
            async for event in events:
                if isinstance(event, _Unsure):
                    lead, pending = unsure_lead(language), True
                elif isinstance(event, Delta):
                    yield Delta(lead + event.text) if pending else event
                    pending = False
                elif lead and event.outcome in UNSURE_OUTCOMES:
                    # Streamed or quoted, the lead opens the final text.
                    yield replace(event, text=lead + event.text, unsure=True)
                else:
                    # A fixed text (busy, model error) says nothing of the passages, and an ungrounded
                    # answer opens with its own, stronger caveat.
                    yield event

    def _judged(
        self,
        searched: str,
        hits: Sequence[Hit],
        crossed: CrossLingualQuery | None,
        gate: Gate,
        prior: Sequence[str],
        unknown: Sequence[str],
    ) -> tuple[str, float]:
        """The language `searched` is analysed in, and the gate's probability that `hits` answer it."""
        # Judged in the language its words are analysed in, the knowledge base's languages the prior for a
        # short question ("Backports installieren?" was analysed as English for a German help center).
        written_lang = crossed.target if crossed is not None else question_language(searched, prior)
        # A translation is judged by the gate the reload fitted for translations, where there is one.
        judged_by = written_lang
        if (
            crossed is not None
            and (key := translated_gate_key(crossed.source, crossed.target)) in gate.languages
        ):
            judged_by = key
        # The words the best passage holds are counted only for a gate that reads them (`LEXICAL_GATE`).
        held = "held" in gate.for_language(judged_by).features
        found = signals(
            searched,
            hits,
            written_lang,
            coverage="coverage" in gate.features,
            unknown_names=unknown,
            held=held,
        )
        return written_lang, gate.probability(replace(found, lang=judged_by))

    async def _stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str, language: str = UNDETERMINED
    ) -> AsyncGenerator[Delta | Answer | _Unsure, None]:
        started = time.perf_counter()
        question = question.strip()
        if not question:
            yield self._fixed("empty", EMPTY_TEXT, started)
            return
        if len(question) > MAX_QUESTION_CHARS:
            yield self._fixed("too_long", TOO_LONG_TEXT, started, question=question[:200])
            return
        keep = self._rag.history_turns
        history = tuple(t for t in history if t.text.strip())[-keep:] if keep else ()
        # An earlier answer's doubt is the customer's to read, not the model's to copy.
        history = tuple(
            replace(t, text=without_leads(t.text)) if t.role == "assistant" else t for t in history
        )

        standalone = condense(question, history, language) if self._rag.condense else question
        condense_ms = (time.perf_counter() - started) * 1000
        t_search = time.perf_counter()
        try:
            crossed = await crosslingual_query(self._kb, self._translator, standalone, language)
            if crossed is not None:
                log.info(
                    "searching a translation",
                    extra={
                        "source": crossed.source,
                        "target": crossed.target,
                        "words": len(crossed.text.split()),
                    },
                )
            # Searched, judged and quoted in the help center's language when it was translated into it; else
            # with its typing slips of the help center's words corrected ("pasword").
            searched = crossed.text if crossed is not None else await spelled(self._kb, standalone, language)
            # The customer's own data and the references they quote are searched for nowhere.
            hits = await self._kb.search(searched_text(searched), k=self._top_k)
            # A language the help center holds a little of: its pages are searched too, as written.
            as_written = (
                await self._kb.search(searched_text(standalone), k=self._top_k)
                if crossed is not None and crossed.alongside
                else None
            )
        except (KBUnavailableError, TimeoutError) as exc:
            log.warning("knowledge base unavailable", extra={"error": str(exc)})
            yield self._fixed("kb_unavailable", KB_UNAVAILABLE_TEXT, started, question=standalone)
            return
        except Exception:
            log.exception("knowledge base search failed")
            yield self._fixed("kb_unavailable", KB_UNAVAILABLE_TEXT, started, question=standalone)
            return
        retrieval_ms = (time.perf_counter() - t_search) * 1000

        # The gate fitted for this knowledge base at its last reload (see bot.kb.calibration).
        try:
            calibration = await self._kb.calibration()
            gate = calibration.gate
            written_in = {normalize(fit.lang) for fit in calibration.languages}
            prior = calibration.prior_languages()
        except KBUnavailableError:
            gate = DEFAULT_GATE  # the index changed under the search; its hits are still judged
            written_in, prior = set(), ()
        check_names = (hits or as_written) and self._rag.refuse_unknown_names
        unknown = await self._unknown_names(standalone, language) if check_names else ()
        written_lang, score = self._judged(searched, hits, crossed, gate, prior, unknown)
        if as_written is not None:
            own_lang, own_score = self._judged(standalone, as_written, None, gate, prior, unknown)
            # Both searches are judged by the gates fitted for them: the likelier answer is the one given.
            if own_score >= score:
                crossed, searched, hits = None, standalone, as_written
                written_lang, score = own_lang, own_score
        # A named thing the knowledge base never mentions is refused at any threshold (see `signals`). An
        # error code the best section is headed by is what the question asks about at any score: "what does
        # PX110 mean" (typed without the hyphen of its "PX-110" heading) scored 0.46 and was refused.
        by_code = _headed_by_its_error_codes(standalone, hits)
        # So is the section the question names by its title: "你们门店地址" (the gate's 0.45) for the
        # section headed "自提门店地址".
        titled = _titled_with_its_codes(standalone, hits) or _asks_its_title(searched, hits, written_lang)
        # And a question every word of which the best passage holds, told with the unsure lead where the gate
        # was not confident.
        held = _holds_every_word(searched, hits, written_lang)
        answerable = not unknown and (score >= self._rag.min_relevance or by_code or titled or held)
        if not answerable:
            log.info(
                "refused: passages do not answer",
                # The names are the customer's words (a person's name, a street): only as user text may be.
                extra={
                    "relevance": round(score, 3),
                    "hits": len(hits),
                    "unknown_names": [user_text(name) for name in unknown],
                },
            )
        # The question asks for the best section by its title or its codes: that section is what it asks
        # about, whatever the gate's cosines say.
        unsure = score < self._rag.confident_relevance and not titled
        if answerable and unsure:
            log.info("answering without confidence", extra={"relevance": round(score, 3)})
            yield _Unsure()
        # The previous answer's passages, before this search's replace them (`_followed` prepares again).
        earlier = self._sticky.get(user_key)
        prepared = (
            self._prepare(user_key, hits, has_history=bool(history), only_best=titled) if answerable else None
        )
        if prepared is not None and prepared.passages:
            read = crossed.text if crossed is not None else standalone
            if not citations.extract_answer(read, prepared.passages[0]):
                # The best passage has nothing of its own to quote: it may point elsewhere, or open an article
                # whose parts are offered instead.
                followed = self._followed(
                    prepared, hits, read, user_key, earlier, has_history=bool(history), only_best=bool(titled)
                )
                quotable = None if followed is not prepared else False  # a new best passage: not known yet
                prepared = await self._outlined(followed, read, quotable=quotable)
            if standalone != question:
                said = next((t.text for t in reversed(history) if t.role == "assistant"), "")
                prepared = replace(prepared, followup=question, said=said)
        # No passage left once instruction-like ones are quarantined is the same honest refusal.
        if prepared is None or not prepared.passages:
            asked_in = normalize(language)
            elsewhere = asked_in != UNDETERMINED and bool(written_in) and asked_in not in written_in
            yield self._fixed(
                "refused",
                REFUSAL_TEXT,
                started,
                question=standalone,
                retrieval_ms=retrieval_ms,
                condense_ms=condense_ms,
                # What the search found though the gate refused it (not the quarantined passages): the
                # admins' content gaps and the transcript show what came closest to the question.
                hits=hits if prepared is None else (),
                prompted=False,
                kb_languages=tuple(sorted(written_in)) if elsewhere else (),
            )
            return

        # The prompt's rule names Chinese with its script ("Chinese (Traditional)"), as the training export's
        # prompts do (`answer_language`); passages match the language.
        rule, language = answer_language(language), normalize(language)
        foreign = bool(rule)
        if crossed is not None:
            # The passage is in another language than the question, and no check can tell whether a model's
            # translation of it says what it says: the passage is quoted as written, and said to be.
            yield self._quote_for(
                language,
                standalone,
                prepared,
                started,
                retrieval_ms=retrieval_ms,
                condense_ms=condense_ms,
                searched=crossed,
            )
            return
        if foreign and self._extracts_foreign():
            # The model would write English prose about the passage: quote it instead, in its own words.
            yield self._quote_for(
                language, standalone, prepared, started, retrieval_ms=retrieval_ms, condense_ms=condense_ms
            )
            return

        gen = self._generator
        try:
            budget = await asyncio.to_thread(self._fit, question, prepared.passages, history, rule)
        except QuestionTooLongError as exc:
            log.info("question too long", extra={"tokens": exc.question_tokens, "limit": exc.limit})
            yield self._fixed(
                "too_long", TOO_LONG_TEXT, started, question=standalone, retrieval_ms=retrieval_ms
            )
            return
        # The log (and so the training export) must hold the passage text exactly as the model saw it.
        given_hits = tuple(
            replace(hit, chunk=replace(hit.chunk, text=passage.text))
            for hit, passage in zip(prepared.hits, budget.passages, strict=False)
        )
        if budget.dropped_history or budget.dropped_passages:
            log.info(
                "prompt trimmed to fit the context",
                extra={
                    "dropped_history": budget.dropped_history,
                    "dropped_passages": budget.dropped_passages,
                },
            )

        # The prefill is English: a question in another language gets none, so the answer can follow it.
        prefill = "" if foreign else self._templates.prefill
        messages = [*budget.messages, ChatMessage("assistant", prefill)] if prefill else budget.messages
        # The caveat mode shows the model's unsupported words under a note, so it needs all of them.
        keep_going = self._rag.ungrounded == "caveat"
        for attempt in (1, 2):
            release = _CheckedRelease(
                prefill,
                budget.passages,
                lambda text: self._leaks_hidden(text, budget.passages, prepared.quarantined),
                question=standalone,
                english=not foreign,
            )
            ttft_ms: float | None = None
            first_visible_ms: float | None = None
            info = gen.info
            t_gen = time.perf_counter()
            try:
                async with _closing(
                    gen.stream(
                        messages, user_key=user_key, max_tokens=self._llm.max_tokens, stop=ANSWER_STOPS
                    )
                ) as pieces:
                    async for piece in pieces:
                        if ttft_ms is None:
                            ttft_ms = (time.perf_counter() - started) * 1000
                            # A reload waits for a running generation: this is the model writing this answer.
                            info = gen.info
                            # Decided here, not before: a model server tells its model's size when first
                            # asked, which is as this answer began.
                            release.copy_check = self._copy_checked()
                        for shown in release.feed(piece):
                            if first_visible_ms is None:
                                first_visible_ms = (time.perf_counter() - started) * 1000
                            yield Delta(shown)
                        if release.stopped and (
                            release.released
                            or not keep_going
                            or release.stopped not in ("unsupported", "garbled")
                        ):
                            break  # nothing more of this answer will be shown: stop generating it
                if not release.stopped:
                    for shown in release.finish():
                        if first_visible_ms is None:
                            first_visible_ms = (time.perf_counter() - started) * 1000
                        yield Delta(shown)
            except GeneratorBusyError:
                yield self._fixed(
                    "busy",
                    BUSY_TEXT,
                    started,
                    question=standalone,
                    retrieval_ms=retrieval_ms,
                    hits=given_hits,
                )
                return
            except GeneratorError as exc:
                timed_out = isinstance(exc, GeneratorTimeoutError)
                if timed_out:
                    log.warning("generation timed out", extra={"timeout_s": self._llm.timeout_s})
                else:
                    log.warning("generation failed", extra={"error": str(exc)})
                if attempt == 1 and ttft_ms is not None and not timed_out and not release.released:
                    # It broke off after its first token but before any text was shown (a pooled model server
                    # died mid-answer): the customer has seen nothing, so the answer starts once more, and the
                    # pool sends it to a server that is still up.
                    log.warning("answer broke off before its first shown sentence; generating it again")
                    continue
                if not release.released:
                    yield self._fixed(
                        "model_error",
                        MODEL_ERROR_TEXT,
                        started,
                        question=standalone,
                        retrieval_ms=retrieval_ms,
                        hits=given_hits,
                    )
                    return
                # What was shown is checked and stays; the unfinished sentence after it is not shown.
            break
        queue_ms = 0.0
        if ttft_ms is not None:
            queue_ms = max(0.0, ttft_ms - (t_gen - started) * 1000)

        total_ms = (time.perf_counter() - started) * 1000
        timings = Timings(
            retrieval_ms=retrieval_ms,
            ttft_ms=ttft_ms,
            total_ms=total_ms,
            condense_ms=condense_ms,
            queue_ms=queue_ms,
            # Nothing released: the customer's first text is the final answer.
            first_visible_ms=first_visible_ms if first_visible_ms is not None else total_ms,
        )
        yield self._finish(
            release,
            budget.passages,
            prepared,
            given_hits,
            standalone,
            timings,
            info.name,
            info.version,
            language=language,
        )

    # -- steps --------------------------------------------------------------------------------------

    def _fit(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn], language: str = ""
    ) -> BudgetedPrompt:
        """Trim passages to their token allowance, then fit everything into the context (worker thread)."""
        gen = self._generator
        limit = self._rag.passage_tokens
        trimmed = [trim_passage(p, limit, gen.count_tokens) for p in passages]
        return fit_budget(
            question,
            trimmed,
            history,
            count_chat_tokens=gen.count_chat_tokens,
            n_ctx=gen.n_ctx,
            max_tokens=self._llm.max_tokens,
            language=language,
        )

    def _prepare(
        self, user_key: str, hits: Sequence[Hit], *, has_history: bool, only_best: bool = False
    ) -> _Prepared:
        """Choose the passages for the prompt; quarantine poisoned ones. `only_best`: the question asks for
        the best section by its title, and the model is given that one alone (given the next section too,
        the shipped model answered "how long is the warranty" from "What does the warranty not cover?",
        cited [2]); the others are still offered under "see also"."""
        chosen = tuple(hits)
        previous = self._sticky.get(user_key)
        if has_history and previous and hits and hits[0].chunk.id in {h.chunk.id for h in previous}:
            # [1] is always this question's own best passage: reusing the previous order whenever the best
            # was among them answered a new question ("what is the deadline…?") from the earlier section.
            # A passage found again is given with this search's hit (its score is what the log shows).
            found = {hit.chunk.id: hit for hit in hits}
            merged = (hits[0], *(found.get(h.chunk.id, h) for h in previous), *hits[1:])
            # Each passage once, where it first comes (a passage found again is the same hit each time).
            chosen = tuple({hit.chunk.id: hit for hit in merged}.values())
        clean: list[Hit] = []
        passages: list[Passage] = []
        quarantined: list[Passage] = []
        for hit in chosen:
            if len(clean) >= self._rag.prompt_passages:
                break
            passage = passage_of(hit)
            if looks_like_injection(passage.heading + "\n" + passage.text):
                quarantined.append(passage)
                log.warning(
                    "passage quarantined: looks like prompt injection", extra={"source": passage.source}
                )
            else:
                clean.append(hit)
                passages.append(passage)
        # What a follow-up keeps is what the search found for this question, also where the model was given
        # only its best section.
        self._sticky[user_key] = tuple(clean)
        self._sticky.move_to_end(user_key)
        while len(self._sticky) > STICKY_USERS:
            self._sticky.popitem(last=False)
        if only_best:
            clean, passages = clean[:1], passages[:1]
        # A section any of whose hits looks like an injection is left out whole: it is listed by section.
        poisoned = {
            (hit.chunk.source, hit.chunk.heading)
            for hit in hits
            if looks_like_injection(hit.chunk.heading + "\n" + hit.chunk.text)
        }
        # Judged against the best clean hit: a quarantined one is never shown, so it sets no bar.
        listable = [hit for hit in hits if (hit.chunk.source, hit.chunk.heading) not in poisoned]
        sections = (Source.of(hit.chunk) for hit in _near_best(listable, score_share=self._see_also_share))
        return _Prepared(
            hits=tuple(clean),
            passages=tuple(passages),
            quarantined=tuple(quarantined),
            sections=tuple(dict.fromkeys(sections)),
        )

    @staticmethod
    def _see_also(prepared: _Prepared, cited: Sequence[Source]) -> tuple[Source, ...]:
        """Up to `SEE_ALSO` sections of the search not cited by the answer, best first, each heading once: an
        FAQ entry titled like a cited section ("How long does a refund take?" in faq.csv and in refunds.md)
        would read as the answer offered again."""
        shown = {(s.source, s.heading) for s in cited}
        seen = {_heading_key(s.heading) for s in cited} - {""}
        listed: list[Source] = []
        for section in prepared.sections:
            key = _heading_key(section.heading)
            if (section.source, section.heading) in shown or key in seen:
                continue
            if key:
                seen.add(key)
            listed.append(section)
        return tuple(listed[:SEE_ALSO])

    def _followed(
        self,
        prepared: _Prepared,
        hits: Sequence[Hit],
        question: str,
        user_key: str,
        earlier: tuple[Hit, ...] | None,
        *,
        has_history: bool,
        only_best: bool,
    ) -> _Prepared:
        """`prepared` led by a section of the article its best passage sends the reader to, when that passage
        (which has nothing of its own to quote for `question`) matched it by a pointer's words
        (`citations.pointed_titles`): "my parcel is lost, can I get my money back?" found the opening of
        "Refunds" ("… For lost or damaged parcels, see "Lost or damaged parcels".") and was offered the
        refund article's parts, none of them about lost parcels. The pointed article's best hit of this
        search leads; none among the hits, `prepared` is kept."""
        best = prepared.hits[0].chunk
        for title in citations.pointed_titles(question, prepared.passages[0]):
            key = _heading_key(title)
            target = next(
                (
                    hit
                    for hit in hits
                    if hit.chunk.source != best.source
                    and hit.chunk.heading_path
                    and _heading_key(hit.chunk.heading_path[0]) == key
                ),
                None,
            )
            if target is not None:
                log.info("the best passage points elsewhere: its pointer is followed")
                # Prepared again as the first time was: after the previous answer's passages (`earlier`,
                # which the first preparation replaced), the model given the best alone where it was.
                if earlier is None:
                    self._sticky.pop(user_key, None)
                else:
                    self._sticky[user_key] = earlier
                rest = [hit for hit in hits if hit is not target]
                return self._prepare(user_key, [target, *rest], has_history=has_history, only_best=only_best)
        return prepared

    async def _outlined(
        self, prepared: _Prepared, question: str, *, quotable: bool | None = None
    ) -> _Prepared:
        """`prepared` with the parts of its best passage's article, when that passage is the article's
        opening (headed by its title) and holds nothing to quote for `question` but words about the article
        itself or a pointer elsewhere: "How do I get a refund?" found the opening of "Refunds" ("This article
        explains when you get your money back… For lost or damaged parcels, see…"), and its quote was the
        pointer. At least two parts, or nothing: one part is the answer a search finds by itself. `quotable`:
        whether the best passage has a quote for `question`, where the caller knows (None: found out here)."""
        best = prepared.hits[0].chunk
        if len(best.heading_path) != 1:
            return prepared
        if quotable is None:
            quotable = bool(citations.extract_answer(question, prepared.passages[0]))
        if quotable:
            return prepared
        try:
            outline = await self._kb.outline(best.source)
        except (KBUnavailableError, TimeoutError) as exc:
            # Offered nothing: the opening is handled as before (a quote, or the refusal).
            log.warning("outline unavailable", extra={"error": str(exc)})
            return prepared
        parts = [
            Source.of(chunk)
            for chunk in outline
            if len(chunk.heading_path) == 2 and chunk.heading_path[0] == best.heading_path[0]
        ]
        if len(parts) < 2:
            return prepared
        log.info("the best passage opens its article: its parts are offered", extra={"parts": len(parts)})
        return replace(prepared, outline=tuple(parts[:OUTLINE_PARTS]))

    @staticmethod
    def _outline_answer(
        prepared: _Prepared,
        hit: Hit,
        question: str,
        timings: Timings,
        *,
        model: str = "",
        model_version: str = "",
        prompt_version: str = "",
    ) -> Answer:
        """The parts of `hit`'s article (`prepared.outline`) to choose from, one a line under
        `OUTLINE_LEAD`, each also offered as a "see also" section (a button in Telegram); the article's
        opening is the source."""
        log.info("answered", extra={"outcome": "outlined", "parts": len(prepared.outline)})
        return Answer(
            text="\n".join([OUTLINE_LEAD, *(f"• {part.heading}" for part in prepared.outline)]),
            sources=(Source.of(hit.chunk),),
            grounded=True,
            timings=timings,
            outcome="outlined",
            question=question,
            hits=(hit,),
            see_also=prepared.outline,
            model=model,
            model_version=model_version,
            prompt_version=prompt_version,
        )

    def _finish(
        self,
        release: _CheckedRelease,
        passages: Sequence[Passage],
        prepared: _Prepared,
        hits: Sequence[Hit],
        question: str,
        timings: Timings,
        model: str,
        version: str,
        *,
        language: str = UNDETERMINED,
    ) -> Answer:
        def fixed(outcome: Outcome, text: str) -> Answer:
            return Answer(
                text=text,
                sources=(),
                grounded=False,
                timings=timings,
                outcome=outcome,
                question=question,
                hits=tuple(hits),
                model=model,
                model_version=version,
                prompt_version=PROMPT_VERSION,
            )

        # A passage carries no title: its section's hit tells it.
        titles = {(h.chunk.source, h.chunk.heading): Source.of(h.chunk).title for h in prepared.hits}

        def sourced(cited: Sequence[int]) -> tuple[Source, ...]:
            return tuple(
                dict.fromkeys(
                    Source(p.source, p.heading, p.url, titles.get((p.source, p.heading), ""))
                    for p in (passages[n - 1] for n in cited)
                )
            )

        quoted_in: tuple[str, ...] = ()
        text = release.released
        cited: tuple[int, ...] = ()
        inferred = False
        outcome: Outcome
        if text:
            # The customer has seen this text: the answer is exactly it, whatever the model wrote after it.
            if release.stopped:
                log.info(
                    "answer ends before the first sentence it could not show", extra={"why": release.stopped}
                )
            cited = citations.check_citations(text, len(passages)).cited
            outcome, grounded, inferred = "answered", True, not release.cited_by_model
        elif release.stopped in ("leak", "refusal") or self._leaks_hidden(
            release.text, passages, prepared.quarantined
        ):
            if release.stopped == "refusal":
                log.info("refused: the model said the passages do not answer")
            else:
                log.warning("output filter: answer repeated hidden text; replaced by the refusal")
            return fixed("refused", REFUSAL_TEXT)
        # A model that wrote nothing (an end of text at once, only blanks) is treated as one whose words the
        # passages do not support: the passages passed the gate, so a quote answers, where "something went
        # wrong, try again" would get the same nothing again.
        # The quote is taken from the whole best passage, not the head of it the model's allowance kept: the
        # sentence that answers may lie past the cut. The log then holds that whole passage as the first hit,
        # so the quote is in the passage it is logged (and exported) with.
        elif self._rag.ungrounded == "extract" and (
            quote := self._extract(question, prepared.passages[:1] or passages, prepared)
        ):
            text, cited, outcome, grounded = quote, (1,), "extracted", True
            hits = (*prepared.hits[:1], *hits[1:]) if prepared.hits else hits
            quoted_in = _quoted_in(hits[0], language) if hits else ()
        elif self._rag.ungrounded == "extract" and prepared.outline:
            return self._outline_answer(
                prepared,
                prepared.hits[0],
                question,
                timings,
                model=model,
                model_version=version,
                prompt_version=PROMPT_VERSION,
            )
        elif self._rag.ungrounded == "refuse" or self._rag.ungrounded == "extract":
            log.info("ungrounded answer replaced by the refusal")
            return fixed("refused", REFUSAL_TEXT)
        else:
            allowed = citations.allowed_urls(passages)
            words = release.continuation if self._templates.prefill else release.text
            bare, removed = citations.strip_foreign_urls(words, allowed)
            if removed:
                log.info("removed links not found in the sources", extra={"count": removed})
            bare = _capitalised(citations.check_citations(bare, len(passages), keep=()).text.strip(" ,.;:\n"))
            if not bare:
                return fixed("model_error", MODEL_ERROR_TEXT)
            outcome, grounded, text = "ungrounded", False, f"{UNGROUNDED_CAVEAT}\n\n{bare}"
        log.info(
            "answered",
            extra={
                "outcome": outcome,
                "cited": list(cited),
                "inferred": inferred,
                "question": user_text(question),
                "ttft_ms": timings.ttft_ms,
                "first_visible_ms": timings.first_visible_ms,
            },
        )
        sources = sourced(cited)
        return Answer(
            text=text,
            sources=sources,
            grounded=grounded,
            timings=timings,
            outcome=outcome,
            question=question,
            hits=tuple(hits),
            model=model,
            model_version=version,
            prompt_version=PROMPT_VERSION,
            citations=cited,
            citations_inferred=inferred,
            see_also=self._see_also(prepared, sources) if grounded else (),
            kb_languages=quoted_in,
        )

    def _copy_checked(self) -> bool:
        """Whether the model's sentences must copy their passage's phrases (see `COPY_MIN_SHARE`)."""
        mode = self._rag.copy_check
        if mode == "auto":
            n_params = self._generator.info.n_params
            return 0 < n_params < COPY_CHECK_BELOW_PARAMS
        return mode == "on"

    def _extracts_foreign(self) -> bool:
        """Whether a question not in English is answered by a quote rather than by the model."""
        mode = self._rag.foreign_answer
        if mode == "auto":
            # A llama-server names its model by its file ("remote:/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
            # and by its own URL until it was first asked: then the family is unknown, and a quote (right in
            # any language) is safer than English prose for a Chinese question.
            name = self._generator.info.name.removeprefix("remote:")
            if name.startswith(("http://", "https://")):
                return True
            base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
            return any(family in base for family in ENGLISH_ONLY_MODELS)
        return mode == "extract"

    def _quote_for(
        self,
        language: str,
        question: str,
        prepared: _Prepared,
        started: float,
        *,
        retrieval_ms: float,
        condense_ms: float,
        searched: CrossLingualQuery | None = None,
    ) -> Answer:
        """The extract of the best passage in the question's language (else the best passage), cited; for
        a question `searched` in translation, the sentences that hold the translation's words, and the
        answer names the language it is quoted in (`Answer.kb_languages`)."""
        pairs = list(zip(prepared.hits, prepared.passages, strict=False))
        same = [pair for pair in pairs if pair[0].chunk.lang == language]
        hit, passage = (same or pairs)[0]
        quote = self._extract(searched.text if searched is not None else question, [passage], prepared)
        if not quote and prepared.outline and hit == prepared.hits[0]:
            return self._outline_answer(
                prepared, hit, question, _timings_without_model(started, retrieval_ms, condense_ms)
            )
        if not quote:
            # Every sentence of it is a label (a caption, a lead-in whose list or table is not in it): there
            # is nothing to quote, and the model would write another language.
            log.info("refused: the best passage has nothing to quote", extra={"source": hit.chunk.source})
            return self._fixed(
                "refused", REFUSAL_TEXT, started, question=question, retrieval_ms=retrieval_ms, hits=(hit,)
            )
        log.info("answered", extra={"outcome": "extracted", "language": language, "cited": [1]})
        source = Source.of(hit.chunk)
        return Answer(
            text=quote,
            sources=(source,),
            grounded=True,
            timings=_timings_without_model(started, retrieval_ms, condense_ms),
            outcome="extracted",
            question=question,
            hits=(hit,),
            citations=(1,),
            see_also=self._see_also(prepared, (source,)),
            kb_languages=_quoted_in(hit, language)
            if searched is None or _same_language(hit, language)
            else (searched.target,),
        )

    @staticmethod
    def _extract(question: str, passages: Sequence[Passage], prepared: _Prepared | None = None) -> str:
        """Quote the best-ranked passage when the model's own words are not supported by any passage.

        The quote reads as the answer; its passage is the answer's one source (`[1]`), which the channels
        show with its heading. A follow-up's quote that would repeat the answer just given is taken by the
        follow-up's own words where they pick another part of the passage: 「それって張地も同じ？」 ("the
        upholstery too?") after the frame's warranty was answered with the frame's five years again.
        """
        if not passages:
            return ""
        best = passages[0]
        quote = citations.extract_answer(question, best)
        if quote and prepared is not None and prepared.followup and _repeats(quote, prepared.said):
            again = citations.extract_answer(prepared.followup, best)
            own = citations.stems(prepared.followup, best.lang)
            if again and not _repeats(again, prepared.said) and own & citations.stems(again, best.lang):
                quote = again
        return f"{quote} [1]" if quote else ""

    def _leaks_hidden(self, text: str, passages: Sequence[Passage], quarantined: Sequence[Passage]) -> bool:
        """The output filter: no run of the system prompt, no secret-looking token of a poisoned passage."""
        allowed = [p.text for p in passages]
        if self._leaks.leaks(text, allowed=allowed):
            return True
        if quarantined:
            if citations.LeakDetector(p.text for p in quarantined).leaks(text, allowed=allowed):
                return True
            poisoned = set().union(*(citations.secret_like_tokens(p.text) for p in quarantined))
            clean = set().union(*(citations.secret_like_tokens(t) for t in allowed)) if allowed else set()
            if citations.secret_like_tokens(text) & (poisoned - clean):
                return True
        return False

    async def _unknown_names(self, question: str, language: str) -> tuple[str, ...]:
        """The names in the question (products, commands, places) the knowledge base never mentions."""
        try:
            return await unknown_names(
                self._kb, question, None if normalize(language) == UNDETERMINED else language
            )
        except (KBUnavailableError, TimeoutError) as exc:
            # Judged by the fitted gate alone, as before this check existed.
            log.warning("vocabulary check failed", extra={"error": str(exc)})
            return ()

    def _fixed(
        self,
        outcome: Outcome,
        text: str,
        started: float,
        *,
        question: str = "",
        retrieval_ms: float = 0.0,
        condense_ms: float = 0.0,
        hits: Sequence[Hit] = (),
        prompted: bool = True,
        kb_languages: tuple[str, ...] = (),
    ) -> Answer:
        """A fixed text; `hits` were given to the model, or with `prompted=False` only found by the search
        (a refusal by the gate): then no model or prompt is named, as for a text with no hits."""
        info = self._generator.info
        named = bool(hits) and prompted
        return Answer(
            text=text,
            sources=(),
            grounded=False,
            timings=_timings_without_model(started, retrieval_ms, condense_ms),
            outcome=outcome,
            question=question,
            hits=tuple(hits),
            model=info.name if named else "",
            model_version=info.version if named else "",
            prompt_version=PROMPT_VERSION if named else "",
            kb_languages=kb_languages,
        )
