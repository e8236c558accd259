"""Training-data export: logged answers → redacted OpenAI / ShareGPT / Alpaca JSONL, written atomically."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal, Protocol, get_args

from sqlalchemy import select

from bot.config import RedactionSettings
from bot.domain import MODEL_OUTCOMES, SYSTEM_OUTCOMES, Channel, ChatMessage, Passage, Turn
from bot.language import UNDETERMINED, answer_language, normalize
from bot.store.formats import FORMATS, ExportFormat, get_format
from bot.store.models import Conversation, Correction, Feedback, Message, Retrieval
from bot.store.redact import Redacted, Redactor
from bot.store.repo import SqlConversationLog
from bot.texts import without_leads

MinRating = Literal["any", "unrated", "up"]
MIN_RATINGS: tuple[MinRating, ...] = ("any", "unrated", "up")
CHANNELS: tuple[Channel, ...] = get_args(Channel)
# MODEL_OUTCOMES include "extracted": a verbatim, cited quote of the best passage is a good grounded target.
_BATCH = 100
_MEMO_SIZE = 20_000


class ExportError(Exception):
    """The export cannot run as asked; the message says what to change."""


class PromptBuilder(Protocol):
    """The bot's own prompt builder (`bot.rag.prompting.build_messages`: question, passages by rank, history,
    and the language the answer is asked in, "" for none) → chat messages, injected by the caller: the log
    knows what the model was given, not the prompt layout."""

    def __call__(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn], /, *, language: str
    ) -> list[ChatMessage]: ...


# Whether a correction (text, question) rests on the passages its sample is given (`--grounded-only`).
SupportCheck = Callable[[str, str, Sequence[Passage]], bool]
# A target (text, passages given) as the bot serves an answer after its prompt (`bot.rag.prompting.
# prefilled_answer`: opening with the prefill the bot writes for the model), used with `include_context`.
TargetShaper = Callable[[str, Sequence[Passage]], str]
# What the bot writes a prefill for: its model's answers (and so the corrections and quotes in their place).
# An ungrounded answer is the code's caveat over the model's words, which no passage backs.
_PREFILLED_OUTCOMES = frozenset({"answered", "extracted"})


@dataclass(frozen=True)
class ExportOptions:
    out: Path
    format: str = "openai"  # a name in `bot.store.formats.FORMATS`
    since: datetime | None = None  # inclusive, by the time of the user's question
    until: datetime | None = None  # exclusive
    min_rating: MinRating = "any"
    include_context: bool = False
    grounded_only: bool = False
    split: float | None = None  # train fraction; writes <out>.train.jsonl and <out>.eval.jsonl
    seed: int = 0
    history_turns: int = 6  # past messages before each question, as the bot's prompt had
    channels: tuple[str, ...] = ()  # the conversations' channels to export (`CHANNELS`); () = all of them

    def __post_init__(self) -> None:
        try:
            chosen = get_format(self.format)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
        if self.min_rating not in MIN_RATINGS:
            raise ExportError(
                f"unknown --min-rating {self.min_rating!r}; choose one of {', '.join(MIN_RATINGS)}"
            )
        if self.split is not None and not 0.0 < self.split < 1.0:
            raise ExportError(f"--split must be between 0 and 1 (exclusive), e.g. 0.9; got {self.split}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ExportError(f"--{name} must be timezone-aware")
        if self.since and self.until and self.since >= self.until:
            raise ExportError("--since must be before --until")
        if self.out.suffix != chosen.suffix:
            raise ExportError(f"--out must name a {chosen.suffix} file, got {str(self.out)!r}")
        if self.history_turns < 0:
            raise ExportError("history_turns cannot be negative")
        unknown = [name for name in self.channels if name not in CHANNELS]
        if unknown:
            raise ExportError(f"unknown --channel {unknown[0]!r}; choose from {', '.join(CHANNELS)}")

    @property
    def export_format(self) -> ExportFormat:
        return FORMATS[self.format]


@dataclass
class ExportStats:
    """Counted while the export runs; the sample counts and files are filled in once it is written."""

    conversations_read: int = 0
    answers_seen: int = 0
    samples_written: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)  # samples written per conversation channel
    train_samples: int = 0
    eval_samples: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    files: tuple[Path, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations_read": self.conversations_read,
            "answers_seen": self.answers_seen,
            "samples_written": self.samples_written,
            "by_channel": dict(sorted(self.by_channel.items())),
            "train_samples": self.train_samples,
            "eval_samples": self.eval_samples,
            "dropped": dict(sorted(self.dropped.items())),
            "redactions": dict(sorted(self.redactions.items())),
            "files": [str(p) for p in self.files],
        }


ProgressCallback = Callable[[int, int], None]  # (conversations done, total)


def split_paths(out: Path) -> tuple[Path, Path]:
    """`data/x.jsonl` → `data/x.train.jsonl`, `data/x.eval.jsonl`."""
    return out.with_name(f"{out.stem}.train{out.suffix}"), out.with_name(f"{out.stem}.eval{out.suffix}")


def parse_date(value: str, *, end: bool = False) -> datetime:
    """ISO date or datetime; naive means UTC. A bare date as an end bound includes that whole day."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(f"{value!r} is not a date; use YYYY-MM-DD or an ISO datetime") from None
    except OverflowError:  # the day after 9999-12-31
        raise ExportError(f"{value!r} is past the last date this export can filter on") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Row:
    id: int
    role: str
    text: str
    created_at: datetime
    reply_to_id: int | None
    outcome: str | None
    grounded: bool | None
    # None where no model was named: a refusal by the gate, whose logged passages only the search found.
    model_name: str | None = None
    language: str | None = None  # a user message's detected language; the bot prefills English answers only


@dataclass(frozen=True)
class _Conversation:
    id: int
    channel: str
    messages: list[_Row]
    passages: dict[int, list[Passage]]  # message id → the passages logged with it, by rank
    ratings: dict[int, str | None]
    corrections: dict[int, str]  # message id → latest corrected text


async def _conversation_ids(log: SqlConversationLog, options: ExportOptions) -> list[int]:
    stmt = select(Message.conversation_id).where(Message.role == "user").distinct()
    if options.channels:
        stmt = stmt.join(Conversation).where(Conversation.channel.in_(options.channels))
    if options.since is not None:
        stmt = stmt.where(Message.created_at >= options.since)
    if options.until is not None:
        stmt = stmt.where(Message.created_at < options.until)
    async with log.transaction() as conn:
        return sorted(int(v) for v in (await conn.scalars(stmt)).all())


async def _load(log: SqlConversationLog, ids: list[int]) -> list[_Conversation]:
    async with log.transaction() as conn:
        messages = (
            await conn.execute(
                select(
                    Message.id,
                    Message.conversation_id,
                    Message.role,
                    Message.text,
                    Message.created_at,
                    Message.reply_to_id,
                    Message.outcome,
                    Message.grounded,
                    Message.model_name,
                    Message.language,
                    Conversation.channel,
                )
                .join(Conversation)
                .where(Message.conversation_id.in_(ids))
                .order_by(Message.conversation_id, Message.id)
            )
        ).all()
        in_batch = select(Message.id).join(Conversation).where(Conversation.id.in_(ids))
        retrievals = (
            await conn.execute(
                select(
                    Retrieval.message_id, Retrieval.source, Retrieval.heading, Retrieval.text, Retrieval.url
                )
                .where(Retrieval.message_id.in_(in_batch))
                .order_by(Retrieval.message_id, Retrieval.rank)
            )
        ).all()
        ratings = (
            await conn.execute(
                select(Feedback.message_id, Feedback.rating).where(Feedback.message_id.in_(in_batch))
            )
        ).all()
        corrections = (
            await conn.execute(
                select(Correction.message_id, Correction.text)
                .where(Correction.message_id.in_(in_batch))
                .order_by(Correction.id)
            )
        ).all()
    channel_of: dict[int, str] = {m.conversation_id: m.channel for m in messages}
    # A conversation deleted since its id was read (retention) has no messages left: it gives no samples.
    by_conversation = {cid: _Conversation(cid, channel_of.get(cid, ""), [], {}, {}, {}) for cid in ids}
    owner: dict[int, int] = {}
    for m in messages:
        owner[m.id] = m.conversation_id
        by_conversation[m.conversation_id].messages.append(
            _Row(
                m.id,
                m.role,
                m.text,
                m.created_at,
                m.reply_to_id,
                m.outcome,
                m.grounded,
                m.model_name,
                m.language,
            )
        )
    for r in retrievals:
        by_conversation[owner[r.message_id]].passages.setdefault(r.message_id, []).append(
            Passage(r.source, r.heading, r.text, r.url)
        )
    for f in ratings:
        by_conversation[owner[f.message_id]].ratings[f.message_id] = f.rating
    for c in corrections:  # ordered by id, so the latest correction wins
        by_conversation[owner[c.message_id]].corrections[c.message_id] = c.text
    return [by_conversation[cid] for cid in ids]


# ---------------------------------------------------------------------------------------------- samples


def _given(message: _Row, passages: list[Passage] | None) -> list[Passage] | None:
    """The passages the model was given for an answer. A refusal by the gate is logged with what the search
    found, for the admins, but names no model: nothing was given, and a correction of it is not grounded."""
    if message.outcome == "refused" and message.model_name is None:
        return None
    return passages


def _in_history(message: _Row, corrected: str | None, rating: str | None) -> bool:
    """Whether an answer is history for the questions after it. Like the bot's own history, fixed system
    replies are left out and corrected answers read corrected; unlike it, so are the answers the export
    leaves out as targets (an uncorrected 👎 answer or refusal): the samples teach a conversation that
    went right, not one that carries on from a wrong or missing answer."""
    if corrected is not None:
        return True
    if message.outcome in SYSTEM_OUTCOMES or message.outcome == "refused":
        return False
    return rating != "down"


def _prefilled(message: _Row, corrected: str | None, question: _Row) -> bool:
    """Whether the bot writes its prefill before this answer: for its model's answers (and the quote or the
    correction in place of one), to a question in English or of no telling language, as the pipeline does."""
    if corrected is None and message.outcome not in _PREFILLED_OUTCOMES:
        return False
    return normalize(question.language) in ("en", UNDETERMINED)


# What a help center publishes to be reached by: an email address, a phone number (seven digits or more).
_PUBLISHED_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PUBLISHED_PHONE = re.compile(r"\+?\d[\d \-().]{5,}\d")
# Private-use characters that stand in for a kept detail while the rest is redacted: no pattern reads them.
_MASK = "\ue000"


def _published_details(passages: Sequence[Passage]) -> list[tuple[str, re.Pattern[str]]]:
    """The email addresses and phone numbers the passages (the help center's published text) hold, longest
    first, each with the pattern that finds it standing alone (not inside a longer address or number). They
    are nobody's personal data: a Taiwanese carrier's trial exported its own hotline as "<PHONE>" in every
    answer quoting it, and a model fine-tuned on that answers "call <PHONE>"."""
    found: set[str] = set()
    for passage in passages:
        found.update(_PUBLISHED_EMAIL.findall(passage.text))
        found.update(
            m.strip() for m in _PUBLISHED_PHONE.findall(passage.text) if sum(c.isdigit() for c in m) >= 7
        )
    return [
        (detail, re.compile(rf"(?<![\w.+@-]){re.escape(detail)}(?![\w@-]|[.]\w|[ \-().]?\d)"))
        for detail in sorted(found, key=len, reverse=True)
    ]


def _masked(text: str, public: Sequence[tuple[str, re.Pattern[str]]]) -> tuple[str, list[str]]:
    """`text` with each of `public` it holds standing alone replaced by a mask, and the masked strings in
    mask order."""
    kept: list[str] = []
    for detail, alone in public:
        if alone.search(text):
            text = alone.sub(f"{_MASK}{chr(0xE001 + len(kept))}{_MASK}", text)
            kept.append(detail)
    return text, kept


def _unmasked(text: str, kept: Sequence[str]) -> str:
    for n, detail in enumerate(kept):
        text = text.replace(f"{_MASK}{chr(0xE001 + n)}{_MASK}", detail)
    return text


class _SampleMaker:
    def __init__(
        self,
        options: ExportOptions,
        redactor: Redactor,
        stats: ExportStats,
        build_prompt: PromptBuilder | None,
        supports: SupportCheck | None = None,
        shape_target: TargetShaper | None = None,
    ) -> None:
        self.options = options
        self.redactor = redactor
        self.stats = stats
        self.build_prompt = build_prompt
        self.supports = supports
        # Only with the bot's prompt: without it there is no prefill for a target to continue.
        self.shape_target = shape_target if options.include_context else None
        self.write_sample = options.export_format.write_sample
        self._memo: dict[str, Redacted] = {}

    def conversation(self, conv: _Conversation) -> list[str]:
        """JSON lines for every usable answer of one conversation (before de-duplication)."""
        opts = self.options
        by_id = {m.id: m for m in conv.messages}
        history: list[Turn] = []
        history_before: dict[int, int] = {}  # user message id → history length when it was asked
        lines: list[str] = []
        for message in conv.messages:
            if message.role == "user":
                history_before[message.id] = len(history)
                history.append(Turn("user", message.text))
                continue
            if message.role == "operator":
                history.append(Turn("assistant", message.text))
                continue
            corrected = conv.corrections.get(message.id)
            rating = conv.ratings.get(message.id)
            # What the answer teaches: the correction, else its text without the note on the quote's language
            # or the doubt an unconfident answer opened with.
            taught = corrected if corrected is not None else without_leads(message.text)
            question = by_id.get(message.reply_to_id) if message.reply_to_id is not None else None
            if question is not None and question.role == "user" and self._in_range(question.created_at):
                self.stats.answers_seen += 1
                given = _given(message, conv.passages.get(message.id))
                reason = self._drop_reason(message, corrected, rating, question.text, given)
                if reason:
                    self.stats.dropped[reason] += 1
                else:
                    asked_at = history_before.get(question.id, len(history))
                    prior = history[:asked_at][-opts.history_turns :] if opts.history_turns else []
                    target = taught
                    # Not without passages: the prefill would name a passage the prompt does not have.
                    if self.shape_target is not None and given and _prefilled(message, corrected, question):
                        target = self.shape_target(taught, given)
                    lines.append(self._sample(question, target, prior, given))
            if _in_history(message, corrected, rating):
                history.append(Turn("assistant", taught))
        # Questions that never got an answer (e.g. the bot crashed before generating).
        answered = {m.reply_to_id for m in conv.messages if m.role == "assistant"}
        for message in conv.messages:
            if message.role == "user" and message.id not in answered and self._in_range(message.created_at):
                self.stats.dropped["no_answer"] += 1
        return lines

    def _in_range(self, moment: datetime) -> bool:
        opts = self.options
        return (opts.since is None or moment >= opts.since) and (opts.until is None or moment < opts.until)

    def _drop_reason(
        self,
        message: _Row,
        corrected: str | None,
        rating: str | None,
        question: str,
        given: list[Passage] | None,
    ) -> str:
        if corrected is not None:
            # An admin's correction is the best label there is, but it is written from what the admin knows,
            # not from the passages the wrong answer was given: one given where the model had no passages
            # (a refusal, "I can't look that up"), or that cites none of them, would teach answering from
            # nothing.
            if self.options.grounded_only and not (
                given and (self.supports is None or self.supports(corrected, question, given))
            ):
                return "ungrounded"
            return ""
        if message.outcome not in MODEL_OUTCOMES:
            return f"not_model_answer:{message.outcome}"
        if rating == "down":
            return "thumbs_down"
        if self.options.min_rating == "up" and rating != "up":
            return "below_min_rating"
        if self.options.grounded_only and not message.grounded:
            return "ungrounded"
        return ""

    def _redact(self, text: str, public: Sequence[tuple[str, re.Pattern[str]]] = ()) -> str:
        """`text` redacted, the help center's own contact details (`public`, `_published_details`) kept."""
        masked, kept = _masked(text, public)
        # Passages and the system prompt repeat across samples; redact each distinct text once.
        result = self._memo.get(masked)
        if result is None:
            result = self.redactor.redact(masked)
            if len(self._memo) < _MEMO_SIZE:
                self._memo[masked] = result
        self.stats.redactions.update(result.counts)
        return _unmasked(result.text, kept)

    def _prompt(
        self, question: _Row, history: list[Turn], passages: list[Passage] | None
    ) -> list[ChatMessage]:
        if self.options.include_context and self.build_prompt is not None:
            # The rule to answer in the question's language, named as the pipeline names it; the bot's
            # prompt gives it to the current question only, so the history turns carry none.
            language = answer_language(question.language)
            return list(self.build_prompt(question.text, passages or [], history, language=language))
        messages = [ChatMessage("user" if t.role == "user" else "assistant", t.text) for t in history]
        messages.append(ChatMessage("user", question.text))
        return messages

    def _sample(
        self,
        question: _Row,
        answer: str,
        history: list[Turn],
        passages: list[Passage] | None,
    ) -> str:
        # Kept only in what the help center and the bot wrote: a customer's own address that holds the
        # published one ("jane.support@acme.com" with "support@acme.com") is theirs.
        public = _published_details(passages or ())
        prompt = [
            ChatMessage(m.role, self._redact(m.content, public if m.role != "user" else ()))
            for m in self._prompt(question, history, passages)
        ]
        record = self.write_sample(prompt, self._redact(answer, public), self.options.include_context)
        return json.dumps(record, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- writing


class _AtomicJsonl:
    """Lines go to a temp file beside the target; `commit()` fsyncs and renames, `abort()` removes it."""

    def __init__(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self.target = target
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        self.tmp = Path(name)
        self.file: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        self.count = 0

    def write(self, line: str) -> None:
        self.file.write(line + "\n")
        self.count += 1

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        self.tmp.replace(self.target)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        self.tmp.unlink(missing_ok=True)


def _assign_split(ids: list[int], split: float, seed: int) -> set[int]:
    """The conversation ids that go to the training file: a seeded shuffle, so whole conversations stay
    together (no history leaks from train into eval) and the same seed gives the same split."""
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)  # noqa: S311 - reproducible split, not security
    n_train = round(len(shuffled) * split)
    if len(shuffled) >= 2:
        n_train = min(max(n_train, 1), len(shuffled) - 1)
    return set(shuffled[:n_train])


async def export(
    source: SqlConversationLog | str,
    options: ExportOptions,
    *,
    redaction: RedactionSettings,
    redact_user_ids: Collection[str] = (),
    build_prompt: PromptBuilder | None = None,
    supports: SupportCheck | None = None,
    shape_target: TargetShaper | None = None,
    progress: ProgressCallback | None = None,
) -> ExportStats:
    """Export the log as training data; given a database URL, opens (and closes) that database.

    `redaction` is the configured PII redaction; `redact_user_ids` are ids to redact wherever they appear
    besides every user id the log holds (the admins', who are mentioned but never write as users);
    `build_prompt` is the bot's prompt builder, needed only with `include_context`; `supports` says whether
    a correction rests on its passages (`--grounded-only`; without it, any correction given passages does);
    `shape_target` makes a target open as the bot's answers do after its prompt's prefill, applied with
    `include_context` to the answers the bot writes a prefill for (without it, targets are as logged).
    """
    if options.include_context and build_prompt is None:
        raise ExportError("--include-context needs the bot's prompt builder, and none was given")
    if isinstance(source, SqlConversationLog):
        return await _export(
            source, options, redaction, redact_user_ids, build_prompt, supports, shape_target, progress
        )
    try:
        log = SqlConversationLog(source)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    try:
        await log.check_schema()
        return await _export(
            log, options, redaction, redact_user_ids, build_prompt, supports, shape_target, progress
        )
    finally:
        await log.close()


async def _export(
    log: SqlConversationLog,
    options: ExportOptions,
    redaction: RedactionSettings,
    redact_user_ids: Collection[str],
    build_prompt: PromptBuilder | None,
    supports: SupportCheck | None,
    shape_target: TargetShaper | None,
    progress: ProgressCallback | None,
) -> ExportStats:
    stats = ExportStats()
    known_ids = await log.known_external_user_ids() | set(redact_user_ids)
    redactor = Redactor(redaction, known_ids)
    maker = _SampleMaker(options, redactor, stats, build_prompt, supports, shape_target)
    ids = await _conversation_ids(log, options)
    train_ids = _assign_split(ids, options.split, options.seed) if options.split is not None else set(ids)

    if options.split is not None:
        train_path, eval_path = split_paths(options.out)
        writers = [_AtomicJsonl(train_path), _AtomicJsonl(eval_path)]
    else:
        writers = [_AtomicJsonl(options.out)]
    seen: set[bytes] = set()

    def process(batch: list[_Conversation]) -> None:
        # Redaction (phone matching) is CPU work: it runs here, in a worker thread.
        for conv in batch:
            stats.conversations_read += 1
            writer = writers[0] if conv.id in train_ids else writers[-1]
            for line in maker.conversation(conv):
                digest = hashlib.blake2b(line.encode("utf-8"), digest_size=16).digest()
                if digest in seen:
                    stats.dropped["duplicate"] += 1
                    continue
                seen.add(digest)
                writer.write(line)
                stats.by_channel[conv.channel] += 1

    try:
        if progress:
            progress(0, len(ids))
        for start in range(0, len(ids), _BATCH):
            batch = await _load(log, ids[start : start + _BATCH])
            await asyncio.to_thread(process, batch)
            if progress:
                progress(min(start + _BATCH, len(ids)), len(ids))
        for writer in writers:
            await asyncio.to_thread(writer.commit)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    stats.samples_written = sum(w.count for w in writers)
    stats.train_samples = writers[0].count if options.split is not None else stats.samples_written
    stats.eval_samples = writers[1].count if options.split is not None else 0
    stats.files = tuple(w.target for w in writers)
    return stats


__all__ = [
    "CHANNELS",
    "MIN_RATINGS",
    "ExportError",
    "ExportOptions",
    "ExportStats",
    "MinRating",
    "ProgressCallback",
    "PromptBuilder",
    "SupportCheck",
    "TargetShaper",
    "export",
    "parse_date",
    "split_paths",
]
