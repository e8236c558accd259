"""Domain types every layer may import: passages, hits, turns, answers. Imports nothing from `bot`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Role = Literal["system", "user", "assistant"]

# Why an answer is what it is; logged, counted in /stats and used by the export filters.
# Model outcomes carry text the model (or a quote of a passage) produced; system outcomes are fixed replies,
# kept in the log but left out of the model's history and of training data.
# "approved" is an admin's approved answer served instead of the pipeline's: a real answer (rated, kept in the
# history) that no model wrote. "outlined": the best passage opens an article and says nothing of its own
# ("This article explains…"), and the reply lists the article's parts to choose from; an answer, but not
# one to train on (the model is given two passages, not the whole article).
ModelOutcome = Literal["answered", "extracted", "ungrounded"]
# small_talk: a greeting, thanks, goodbye or "ok" answered by the conversation service, nothing looked up;
# person_asked: the message asked for a person, and the reply is the handoff's notice (or that nobody can
# take over: no handoff is counted then).
SystemOutcome = Literal[
    "kb_unavailable", "busy", "model_error", "empty", "too_long", "small_talk", "person_asked"
]
Outcome = Literal[ModelOutcome, "approved", "outlined", "refused", SystemOutcome]
MODEL_OUTCOMES: tuple[ModelOutcome, ...] = get_args(ModelOutcome)
SYSTEM_OUTCOMES: tuple[SystemOutcome, ...] = get_args(SystemOutcome)
# Outcomes that answer the question (the rest refuse or fail).
ANSWER_OUTCOMES: tuple[Outcome, ...] = (*MODEL_OUTCOMES, "approved", "outlined")
OUTCOMES: tuple[Outcome, ...] = (*ANSWER_OUTCOMES, "refused", *SYSTEM_OUTCOMES)
# Replies made without looking anything up (a greeting's reply, the notice that a person was asked, an empty
# or too-long message's): not answers in the figures, and their near-zero time is not answering time.
NOT_LOOKED_UP: tuple[Outcome, ...] = ("small_talk", "person_asked", "empty", "too_long")

# The channels a conversation can come from; the log stores the name, the conversation service is the same.
Channel = Literal["telegram", "console", "web"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a prompt, as chat models take it."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """One retrievable passage of a document."""

    id: str  # stable: f"{source}#{position}"
    source: str  # path relative to the KB root, with forward slashes
    heading: str  # nearest section heading, exact text ("" when the document has none)
    heading_path: tuple[str, ...]  # from the document title down to `heading`
    position: int  # order of the chunk within its source
    text: str  # the passage body shown to the model
    content_hash: str  # sha256 of text, to skip unchanged work and dedupe
    url: str = ""  # a link the source itself carries, if any
    lang: str = "und"  # the document's language (BCP-47 primary subtag), detected at ingest


@dataclass(frozen=True)
class Passage:
    """One retrieved passage as the model sees it (and as the log keeps it with an answer)."""

    source: str
    heading: str
    text: str
    url: str = ""
    lang: str = "und"  # its document's language, which the quote's words are matched in


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk returned by a search, with its fused score and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int
    bm25_rank: int | None = None
    dense_rank: int | None = None
    dense_score: float | None = None  # cosine similarity to the query, when known
    bm25_score: float | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """A section an answer cites or lists: its file, its heading, its link and its document's title."""

    source: str
    heading: str
    url: str = ""
    # The document's title (`Chunk.heading_path[0]`); "" when it has none, for an approved answer's label,
    # and on sections logged before titles were kept. How the section is shown, not which one it is: left
    # out of equality, so a section read back without its title is still the same section.
    title: str = field(default="", compare=False)

    @classmethod
    def of(cls, chunk: Chunk) -> Source:
        """The section a chunk belongs to, titled by its document."""
        return cls(
            chunk.source, chunk.heading, chunk.url, chunk.heading_path[0] if chunk.heading_path else ""
        )

    @property
    def display_name(self) -> str:
        """What a customer reads for this source in every channel: "Title › Heading", the heading alone where
        it is the title (a one-section document). Without a title (an untitled document, an approved answer,
        a section logged before titles were kept) the file path stands in for it: honest and unambiguous."""
        first = self.title or self.source
        if self.heading and same_words(self.heading, first):
            return self.heading
        return " › ".join(part for part in (first, self.heading) if part)


def same_words(a: str, b: str) -> bool:
    """Whether two texts are equal word for word (case and spacing aside)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@dataclass(frozen=True, slots=True)
class Timings:
    retrieval_ms: float = 0.0
    ttft_ms: float | None = None  # None when no model was called (refusal, failure)
    total_ms: float = 0.0
    condense_ms: float = 0.0
    queue_ms: float = 0.0
    # When the customer first sees answer text: the first checked sentence the pipeline released, or the
    # final answer when none was (so never before ttft_ms). None where nothing measured it.
    first_visible_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One past message of the conversation: the customer's, the bot's, or an operator's (a person from
    support, whom the model sees as the assistant and a handoff's transcript names as one)."""

    role: Literal["user", "assistant", "operator"]
    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    sources: tuple[Source, ...]
    grounded: bool
    timings: Timings
    outcome: Outcome = "answered"
    question: str = ""  # the standalone question actually searched
    hits: tuple[Hit, ...] = ()  # every passage given to the model (a gate refusal: those found), for the log
    model: str = ""
    model_version: str = ""
    prompt_version: str = ""
    citations: tuple[int, ...] = field(default=())  # valid [n] numbers used in the text
    citations_inferred: bool = False  # the model cited nothing; the pipeline added the best-overlap [n]
    approved_id: int | None = None  # the approved answer served (outcome "approved")
    # Other sections the search found for the question, best first, none of them cited: shown under an
    # answer so a customer whose article was second or third still finds it (see `Pipeline._see_also`).
    see_also: tuple[Source, ...] = ()
    # On a refusal of a question in a language the help center is not written in: the languages it is
    # written in (the customer is told, `texts.kb_language_hint`). On a quote found through a translation of
    # the question (`bot.kb.crosslingual`): the language quoted, which the customer is told it is in.
    kb_languages: tuple[str, ...] = ()
    # The gate let the passages through without confidence (`RAGSettings.confident_relevance`): the text
    # opens by saying it may not be exactly what was asked.
    unsure: bool = False

    @property
    def refused(self) -> bool:
        return self.outcome not in ANSWER_OUTCOMES

    @property
    def source_labels(self) -> tuple[str, ...]:
        """The mark each source is listed with: the `[n]` the text cites it by, or "•" for every source when
        the numbers cannot be matched to them (an approved answer; two cited passages of one section)."""
        if len(self.citations) == len(self.sources):
            return tuple(f"[{n}]" for n in self.citations)
        return ("•",) * len(self.sources)


@dataclass(frozen=True, slots=True)
class Delta:
    """A streamed piece of the answer text."""

    text: str
