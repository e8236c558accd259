"""Training pairs for the embedder: (question, passage, hard negative) from the knowledge base and the log."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from bot.domain import Chunk
from bot.kb.analysis import analyzer
from bot.kb.calibration import pseudo_questions
from bot.kb.chunking import embedding_text

if TYPE_CHECKING:
    from pathlib import Path

    from bot.config import KBSettings, RedactionSettings
    from bot.kb.base import Embedder
    from bot.store.repo import SqlConversationLog

Origin = Literal["heading", "pseudo", "thumbs_up", "approved", "correction"]
SectionKey = tuple[str, tuple[str, ...]]  # (source, heading path), as the calibration names a section

# The gate is fitted at every reload on pseudo_questions(seed=0): training on those exact questions would
# make the fine-tuned model look surer of them than of real questions and skew the gate. Another seed picks
# other sentences and words of the same sections. One question per section: each more costs about a
# third of the training time on 2 cores.
PSEUDO_SEEDS = (1,)
# Heading → question forms; a heading that already is a question is used as it is.
_QUESTION_FORMS = (
    "{h}?",
    "How does {h} work?",
    "What should I know about {h}?",
    "I have a question about {h}",
    "Help with {h}",
)
_SPACE = re.compile(r"\s+")
# Held-out questions are compared to training queries in this normal form (case, spacing, end punctuation).
_EDGE_PUNCT = " ?!.,;:'\""


@dataclass(frozen=True, slots=True)
class Pair:
    """One training example: `query` should embed near `positive` and farther from `negative`."""

    query: str
    positive: str  # the passage as the index embeds it (heading path, then text)
    negative: str | None  # a hard negative, besides the batch's other passages (None: in-batch only)
    origin: Origin
    section: SectionKey  # the positive's section: a batch never holds two rows of one section
    negative_section: SectionKey | None = None  # None: a passage the knowledge base no longer holds


@dataclass(frozen=True, slots=True)
class LogAnswer:
    """What the log says about one rated or corrected bot answer."""

    question: str
    rating: str | None  # "up", "down" or None
    cited: tuple[tuple[str, str, str], ...]  # (source, heading, text) of the passages it cited, best first
    retrieved: tuple[tuple[str, str, str], ...]  # every retrieved passage, in rank order
    correction: str | None = None  # the latest admin correction's text


@dataclass(frozen=True, slots=True)
class LogApproved:
    question: str
    text: str
    source: str | None
    # The passage the answer it corrects was built on (source, heading, text), when it corrects one.
    replaced: tuple[str, str, str] | None = None


@dataclass(frozen=True, slots=True)
class LogSignals:
    answers: tuple[LogAnswer, ...] = ()
    approved: tuple[LogApproved, ...] = ()
    redactions: Counter[str] = field(default_factory=Counter)  # placeholders put in, by kind


@dataclass(slots=True)
class PairStats:
    """How many pairs of each origin were built, and what was left out and why."""

    built: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, origin: str) -> None:
        self.built[origin] = self.built.get(origin, 0) + 1

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count


def knowledge_chunks(source: Path, settings: KBSettings, embedder: Embedder) -> list[Chunk]:
    """The knowledge folder's chunks exactly as a reload cuts them (same loaders, tokenizer and sizes), so
    the passages trained on are the passages the index embeds."""
    from bot.kb.reload import chunk_languages, load_documents, make_chunker

    documents, _skipped = load_documents(source, settings.max_file_mb)
    chunker = make_chunker(settings, embedder)
    chunks: list[Chunk] = []
    for document in documents:
        chunks.extend(chunk_languages(chunker.chunk_document(document)))
    return chunks


def normal(text: str) -> str:
    return _SPACE.sub(" ", text.lower()).strip(_EDGE_PUNCT)


def heading_question(heading: str, rng: random.Random) -> str:
    heading = heading.strip()
    if heading.endswith("?"):
        return heading
    lowered = heading[0].lower() + heading[1:] if heading[:2].istitle() else heading
    return rng.choice(_QUESTION_FORMS).format(h=lowered)


class _Sections:
    """The knowledge base's sections with their analysed terms, for positives and lexical hard negatives."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks: dict[SectionKey, list[Chunk]] = {}
        for chunk in chunks:
            self.chunks.setdefault((chunk.source, chunk.heading_path), []).append(chunk)
        self.keys = sorted(self.chunks)
        self.terms = {
            key: {
                term
                for c in parts
                for term in analyzer(c.lang).terms(" ".join(c.heading_path) + " " + c.text)
            }
            for key, parts in self.chunks.items()
        }

    def best_chunk(self, key: SectionKey, text: str) -> Chunk:
        """The chunk of section `key` that shares most words with `text` (its first on a tie)."""
        parts = self.chunks[key]
        if len(parts) == 1:
            return parts[0]
        words = set(analyzer(parts[0].lang).terms(text))
        return max(parts, key=lambda c: (len(words & set(analyzer(c.lang).terms(c.text))), -c.position))

    def closest(self, text: str, lang: str, *, within: str | None = None) -> SectionKey | None:
        """The section sharing most terms with `text` (only the document `within` when given)."""
        words = set(analyzer(lang).terms(text))
        keys = [k for k in self.keys if within is None or k[0] == within]
        best = max(keys, key=lambda k: len(words & self.terms[k]), default=None)
        return best if best is not None and words & self.terms[best] else None

    def negative(self, query: str, lang: str, positive: SectionKey) -> SectionKey | None:
        """A hard negative: the other section whose words overlap the query most (lexically close, wrong)."""
        words = set(analyzer(lang).terms(query))
        others = [k for k in self.keys if k != positive]
        if not others:
            return None
        return max(others, key=lambda k: (len(words & self.terms[k]), k))

    def find(self, source: str, heading: str) -> SectionKey | None:
        for key in self.keys:
            if key[0] == source and (key[1][-1] if key[1] else "") == heading:
                return key
        return None


def _pair(
    sections: _Sections,
    query: str,
    key: SectionKey,
    origin: Origin,
    lang: str,
    negative_text: str | None = None,
    positive_text: str | None = None,
    *,
    mine: bool = True,
) -> Pair | None:
    positive = positive_text or embedding_text(sections.best_chunk(key, query))
    if negative_text is not None or not mine:
        return Pair(query, positive, negative_text, origin, key, None)
    negative_key = sections.negative(query, lang, key)
    if negative_key is None:
        return None
    negative = embedding_text(sections.best_chunk(negative_key, query))
    return Pair(query, positive, negative, origin, key, negative_key)


def kb_pairs(
    chunks: Sequence[Chunk],
    *,
    seed: int = 0,
    stats: PairStats | None = None,
    mine_negatives: bool = False,
    pseudo: bool = False,
) -> list[Pair]:
    """Pairs the knowledge base teaches by itself: each section's heading asked as a question, and
    content-word pseudo-questions from its sentences (`bot.kb.calibration.pseudo_questions`).

    Their negatives are the batch's other passages; `mine_negatives` adds the lexically closest other
    section to each pair as a hard negative, which makes every step half again as long on a CPU.

    `pseudo` is off by default: measured on the sample help center, adding one pseudo-question per section
    raised dense retrieval but lowered hybrid MRR on the customer-wording questions (0.528 → 0.480, with
    mined negatives too: 0.478), where headings alone raised it to 0.569. Keyword questions teach the dense
    side what BM25 already finds, and fusion gains from the two disagreeing.
    """
    stats = stats if stats is not None else PairStats()
    sections = _Sections(chunks)
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    pairs: list[Pair] = []
    for key in sections.keys:
        heading = key[1][-1] if key[1] else ""
        if len(heading.split()) < 2:  # a bare title ("Billing") says nothing a question would
            stats.skip("heading too short to ask")
            continue
        lang = sections.chunks[key][0].lang
        question = heading_question(heading, rng)
        if (pair := _pair(sections, question, key, "heading", lang, mine=mine_negatives)) is not None:
            pairs.append(pair)
            stats.add("heading")
    for pseudo_seed in PSEUDO_SEEDS if pseudo else ():
        for asked in pseudo_questions(chunks, seed=seed * 1000 + pseudo_seed):
            pair = _pair(sections, asked.text, asked.section, "pseudo", asked.lang, mine=mine_negatives)
            if pair is not None:
                pairs.append(pair)
                stats.add("pseudo")
    return pairs


def _passage_text(source: str, heading: str, text: str) -> str:
    return f"{heading}\n{text}" if heading else text


def _negative(sections: _Sections, passage: tuple[str, str, str] | None, right: SectionKey) -> str | None:
    """The passage a wrong answer was built on, as a hard negative; None when there was none, or when it
    is the right section after all (the answer was wrong, not the retrieval)."""
    if passage is None or sections.find(passage[0], passage[1]) == right:
        return None
    return _passage_text(*passage)


def log_pairs(signals: LogSignals, chunks: Sequence[Chunk], *, stats: PairStats | None = None) -> list[Pair]:
    """Pairs the conversation log teaches: 👍 answers (question ↔ the passage it cited), corrections and
    approved answers (question ↔ the section of the knowledge base the right answer comes from); the
    passage a 👎 answer was built on is that question's hard negative."""
    stats = stats if stats is not None else PairStats()
    sections = _Sections(chunks)
    pairs: list[Pair] = []
    for answer in signals.answers:
        lang = "en"
        for source, heading, _ in answer.cited or answer.retrieved:
            if (key := sections.find(source, heading)) is not None:
                lang = sections.chunks[key][0].lang
                break
        bad = answer.rating == "down"
        used = (answer.cited or answer.retrieved)[0] if answer.cited or answer.retrieved else None
        if answer.correction:
            key = sections.closest(answer.correction, lang)
            if key is None:
                stats.skip("correction matches no section")
                continue
            negative = _negative(sections, used if bad else None, key)
            if (pair := _pair(sections, answer.question, key, "correction", lang, negative)) is not None:
                pairs.append(pair)
                stats.add("correction")
            continue
        if bad:
            stats.skip("👎 without a correction (the right passage is unknown)")
            continue
        if answer.rating != "up":
            continue
        if not answer.cited:
            stats.skip("👍 answer cited no passage")
            continue
        source, heading, text = answer.cited[0]
        key = sections.find(source, heading)
        if key is None:  # the section changed since: train on the passage the customer liked
            pair = _pair(
                sections,
                answer.question,
                ("", ()),
                "thumbs_up",
                lang,
                positive_text=_passage_text(source, heading, text),
            )
        else:
            pair = _pair(sections, answer.question, key, "thumbs_up", lang)
        if pair is not None:
            pairs.append(pair)
            stats.add("thumbs_up")
    for approved in signals.approved:
        if not approved.source:
            stats.skip("approved answer without a source article")
            continue
        key = sections.closest(approved.text, "en", within=approved.source)
        if key is None:
            stats.skip("approved answer's article is not in the knowledge base")
            continue
        lang = sections.chunks[key][0].lang
        negative = _negative(sections, approved.replaced, key)
        if (pair := _pair(sections, approved.question, key, "approved", lang, negative)) is not None:
            pairs.append(pair)
            stats.add("approved")
    return pairs


def read_as(pairs: Sequence[Pair], rewrite: Callable[[str], str]) -> list[Pair]:
    """`pairs` with every text as the serving embedder reads it (`bot.kb.glossing`: Chinese glossed into
    English), so that training and search see the same words."""
    return [
        replace(
            pair,
            query=rewrite(pair.query),
            positive=rewrite(pair.positive),
            negative=None if pair.negative is None else rewrite(pair.negative),
        )
        for pair in pairs
    ]


def drop_heldout(pairs: Iterable[Pair], heldout: Iterable[str], stats: PairStats | None = None) -> list[Pair]:
    """Leave out every pair whose query is, contains or is contained in a held-out question, so the
    before/after evaluation measures questions the model never trained on."""
    stats = stats if stats is not None else PairStats()
    held = {normal(q) for q in heldout if normal(q)}
    kept = []
    for pair in pairs:
        query = normal(pair.query)
        if query in held or any(len(query) >= 12 and (query in h or h in query) for h in held):
            stats.skip("query is a held-out question")
            continue
        kept.append(pair)
    return kept


# Without labelled questions this share of the sections asked by their heading is held out of a first,
# guarding training run (see `split_heading_guard`).
GUARD_SHARE = 0.2
# Fewer held-out heading questions than this would let one question decide the guard.
MIN_GUARD_QUESTIONS = 10


def split_heading_guard(
    pairs: Sequence[Pair], *, share: float = GUARD_SHARE, seed: int = 0, stats: PairStats | None = None
) -> tuple[list[Pair], list[Pair]]:
    """(training pairs, held-out pairs): a seeded `share` of the sections that have a heading pair, every
    pair of those sections left out of training. The held-out pairs are those sections' heading questions
    and the log's real questions about them (👍, corrected and approved answers), each a guard question.

    A guard for a knowledge base without labelled questions. It catches a run that breaks retrieval; it
    does not catch one that teaches nothing new, since held-out headings are asked like the trained ones
    (measured on the English Debian Reference: held-out headings' hybrid MRR rose 0.926 → 0.972 while the
    labelled questions' fell 0.920 → 0.906).
    """
    stats = stats if stats is not None else PairStats()
    asked = sorted({p.section for p in pairs if p.origin == "heading"})
    random.Random(seed).shuffle(asked)  # noqa: S311 - a reproducible split, not a secret
    held = set(asked[: round(share * len(asked))])
    train = [p for p in pairs if p.section not in held]
    guard = [p for p in pairs if p.section in held]
    stats.skip("section held out to guard the run", len(pairs) - len(train))
    return train, guard


async def read_log(
    log: SqlConversationLog, *, redaction: RedactionSettings, redact_user_ids: Collection[str] = ()
) -> LogSignals:
    """The rated and corrected answers and the active approved answers of the conversation log, every text
    redacted as the training export redacts it (`bot.store.export`): the deployment's `redaction` rules, the
    log's user ids and `redact_user_ids` (the admins'). Sources and headings stay: they name the knowledge
    base's sections, not customers."""
    from sqlalchemy import or_, select
    from sqlalchemy.orm import aliased

    from bot.store.models import ApprovedAnswer, Correction, Feedback, Message, Retrieval
    from bot.store.redact import Redacted, Redactor

    redactor = Redactor(redaction, await log.known_external_user_ids() | set(redact_user_ids))
    redactions: Counter[str] = Counter()
    done: dict[str, Redacted] = {}

    def clean(text: str) -> str:
        # Passages repeat across answers; redact each distinct text once.
        result = done.get(text)
        if result is None:
            result = done[text] = redactor.redact(text)
        redactions.update(result.counts)
        return result.text

    def passage(source: str, heading: str, text: str) -> tuple[str, str, str]:
        return source, heading, clean(text)

    asked = aliased(Message)
    async with log.transaction() as conn:
        rows = (
            await conn.execute(
                select(
                    Message.id,
                    Message.question,
                    asked.text,
                    Message.citations,
                    Feedback.rating,
                )
                .join(asked, asked.id == Message.reply_to_id)
                .outerjoin(Feedback, Feedback.message_id == Message.id)
                .where(Message.role == "assistant")
                .where(
                    or_(
                        Feedback.rating.is_not(None),
                        Message.id.in_(select(Correction.message_id)),
                    )
                )
                .order_by(Message.id)
            )
        ).all()
        ids = [r.id for r in rows]
        retrieved: dict[int, list[tuple[int, str, str, str]]] = {}
        corrections: dict[int, str] = {}
        if ids:
            for p in await conn.execute(
                select(
                    Retrieval.message_id, Retrieval.rank, Retrieval.source, Retrieval.heading, Retrieval.text
                )
                .where(Retrieval.message_id.in_(ids))
                .order_by(Retrieval.message_id, Retrieval.rank)
            ):
                retrieved.setdefault(p.message_id, []).append((p.rank, p.source, p.heading, p.text))
            for c in await conn.execute(
                select(Correction.message_id, Correction.text)
                .where(Correction.message_id.in_(ids))
                .order_by(Correction.id)
            ):
                corrections[c.message_id] = c.text  # ordered by id: the latest wins
        approved = (
            await conn.execute(
                select(
                    ApprovedAnswer.question,
                    ApprovedAnswer.text,
                    ApprovedAnswer.source,
                    ApprovedAnswer.corrects_message_id,
                ).where(ApprovedAnswer.status.in_(("active", "needs_review")))
            )
        ).all()
        corrected = [a.corrects_message_id for a in approved if a.corrects_message_id is not None]
        replaced: dict[int, tuple[str, str, str]] = {}
        if corrected:
            cites = {
                m.id: {int(n) for n in (m.citations or "").split(",") if n.strip().isdigit()}
                for m in await conn.execute(
                    select(Message.id, Message.citations).where(Message.id.in_(corrected))
                )
            }
            behind: dict[int, list[tuple[bool, str, str, str]]] = {}
            for p in await conn.execute(
                select(
                    Retrieval.message_id, Retrieval.rank, Retrieval.source, Retrieval.heading, Retrieval.text
                )
                .where(Retrieval.message_id.in_(corrected))
                .order_by(Retrieval.message_id, Retrieval.rank)
            ):
                cited = p.rank in cites.get(p.message_id, set())
                behind.setdefault(p.message_id, []).append((cited, p.source, p.heading, p.text))
            for message_id, found in behind.items():
                # The first passage it cited, else the first it retrieved: what the wrong answer came from.
                _, source, heading, text = next((f for f in found if f[0]), found[0])
                replaced[message_id] = (source, heading, text)
    answers = []
    for r in rows:
        passages = retrieved.get(r.id, [])
        numbers = {int(n) for n in (r.citations or "").split(",") if n.strip().isdigit()}
        correction = corrections.get(r.id)
        answers.append(
            LogAnswer(
                question=clean(r.question or r.text),
                rating=r.rating,
                cited=tuple(passage(s, h, t) for rank, s, h, t in passages if rank in numbers),
                retrieved=tuple(passage(s, h, t) for _, s, h, t in passages),
                correction=clean(correction) if correction is not None else None,
            )
        )
    approved_answers = []
    for a in approved:
        before = replaced.get(a.corrects_message_id or -1)
        approved_answers.append(
            LogApproved(
                clean(a.question), clean(a.text), a.source, passage(*before) if before is not None else None
            )
        )
    return LogSignals(answers=tuple(answers), approved=tuple(approved_answers), redactions=redactions)
