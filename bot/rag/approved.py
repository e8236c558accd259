"""Approved answers served at once: a question matches an approved one above a threshold fitted on the set."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import random
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
import numpy.typing as npt

from bot.domain import Hit
from bot.kb.analysis import analyzer, named_words, question_language
from bot.kb.base import Embedder, EmbedderUsers
from bot.kb.calibration import off_topic_for, pseudo_questions
from bot.store.base import ApprovedAnswer, ApprovedAnswerStore, ApprovedStatus

log = logging.getLogger("bot.rag.approved")

# A wrong approved answer is served with an admin's authority and skips the knowledge base; a missed one
# only means the pipeline answers as it would have anyway. So a false accept costs this many misses.
FALSE_ACCEPT_COST = 3.0
# Paraphrase-like positives per approved question (content-word subsets and reorderings), and in all: the
# first fit embeds at most about this many texts beyond the questions themselves.
PARAPHRASES_PER_QUESTION = 12
MIN_KEPT = 0.6
MAX_POSITIVES = 2000
# Approved questions whose nearest knowledge-base sections give in-domain negatives (pseudo-questions).
MAX_SEARCHED = 100
SEARCH_K = 5
# The sections whose headings bound the threshold from below (`heading_floor`): deeper than SEARCH_K, so a
# single approved question brings enough of them to measure how close unrelated in-domain questions come.
HEADINGS_K = 20
# The floor is the cosine this share of the pairs of those headings (different sections, so different
# questions) stay under. With one or two approved answers the fit has almost no in-domain negatives, and
# put the threshold at 0.32 and 0.41: "How long does delivery take?" got the refund answer. Measured on
# the sample help center with all-MiniLM-L6-v2: 0.670 over the headings near the 44 approved questions
# of the labelled set, whose own fit is 0.682.
FLOOR_QUANTILE = 0.99
# Fewer distinct headings than this (no knowledge base, or a tiny one) and the quantile is not trusted:
# FALLBACK_FLOOR, the threshold the fit found on 44 approved answers with the shipped embedder, applies.
MIN_HEADINGS = 10
FALLBACK_FLOOR = 0.682
# A pseudo-question sharing this share of its words with an approved question may ask the same thing: it
# is left out of the negatives rather than taught as one.
OVERLAP_LEFT_OUT = 0.5
# A contested match (two approved questions pass the threshold) needs a lead that this share of the
# contested paraphrases that went to the right answer exceed.
CONTESTED_QUANTILE = 0.05
# A question that drops one content word of the approved question and brings words of its own asks
# something else ("by phone", "on Sunday" for "by email"), unless its words say what the dropped one said.
# Judged in the question, not word against word: a word alone has all its senses ("reach" scores 0.40
# with "contact", under "phone" with "email" at 0.43), and words of one kind score high however different
# the things they name (enable/disable 0.72, small/large 0.79, Saturday/Sunday 0.81). The question asked
# keeps the meaning when it wins back at least this share of the cosine that leaving the word out of the
# approved question loses: (cos(asked, approved) - cos(left out, approved)) / (1 - cos(left out, approved)).
# Measured with all-MiniLM-L6-v2 on 34 near-synonym and 35 different-thing swaps in support questions:
# near-synonyms win back 0.14-0.96 (contact/reach 0.53-0.69, arrived/came 0.78, email/mail 0.62; only
# send/ship 0.04 and open/unlock -0.13 less), different things -1.39-0.11 (email/phone -0.62, enable/
# disable -0.20, small/large 0.06, invoice/receipt 0.11; two more, 0.20 and 0.25, score under any threshold).
SYNONYM_RECOVERY = 0.125
# Words of a closed class, each group the names of one thing in the bot's languages (compared by stem, so
# "в субботу" is Saturday). Two words of one class name different things, whatever their cosine (Saturday/
# Sunday 0.81, two/three 0.81, January/February 0.68). Numbers are also any word with a digit ("3", "2nd")
# and CJK numerals, the same number however written ("2", "two", "二").
_CLOSED_CLASSES: dict[str, tuple[str, ...]] = {
    "day": (
        "monday mon montag lunes lundi понедельник 星期一 周一 月曜",
        "tuesday tue tues dienstag martes mardi вторник 星期二 周二 火曜",
        "wednesday wed mittwoch miércoles mercredi среда 星期三 周三 水曜",
        "thursday thu thur thurs donnerstag jueves jeudi четверг 星期四 周四 木曜",
        "friday fri freitag viernes vendredi пятница 星期五 周五 金曜",
        "saturday sat samstag sonnabend sábado samedi суббота 星期六 周六 土曜",
        "sunday sun sonntag domingo dimanche воскресенье 星期日 星期天 周日 日曜",
        "today heute hoy aujourd сегодня 今天 今日",
        "tomorrow morgen mañana demain завтра 明天 明日",
        "yesterday gestern ayer вчера 昨天 昨日",
        "weekend wochenende выходные 周末 週末",
    ),
    "month": (
        "january jan januar jänner enero janvier январь 一月",
        "february feb februar febrero février февраль 二月",
        "march mar märz marzo mars март 三月",
        "april apr abril avril апрель 四月",
        "may mai mayo май 五月",
        "june jun juni junio juin июнь 六月",
        "july jul juli julio juillet июль 七月",
        "august aug agosto août август 八月",
        "september sep sept septiembre septembre сентябрь 九月",
        "october oct oktober octubre octobre октябрь 十月",
        "november nov noviembre novembre ноябрь 十一月",
        "december dec dezember diciembre décembre декабрь 十二月",
    ),
    "time of day": (
        "morning vormittag matin утро 早上 上午 午前",
        "noon midday mittag mediodía midi полдень 中午 正午",
        "afternoon nachmittag tarde 下午 午後",
        "evening abend soir вечер 晚上 夕方",
        "night nacht noche nuit ночь 夜里",
        "midnight mitternacht medianoche minuit полночь 午夜",
    ),
    "number": (
        "zero null cero zéro ноль",
        "one eins uno un один",
        "two zwei dos deux два 两",
        "three drei tres trois три",
        "four vier cuatro quatre четыре",
        "five fünf cinco cinq пять",
        "six sechs seis шесть",
        "seven sieben siete sept семь",
        "eight acht ocho huit восемь",
        "nine neun nueve neuf девять",
        "ten zehn diez dix десять",
        "eleven elf once onze одиннадцать",
        "twelve zwölf doce douze двенадцать",
    ),
}
# How long a question waits for a refit before it is answered with the previous fit (or the pipeline).
REFIT_WAIT_S = 5.0
EMBED_TIMEOUT_S = 10.0
# The statuses of approved answers a new one to the same question replaces (candidates and retired stay).
SERVED_STATUSES: tuple[ApprovedStatus, ...] = ("active", "needs_review")
STORE_TIMEOUT_S = 10.0
_CACHE_LIMIT = 50_000

Search = Callable[[str], Awaitable[Sequence[Hit]]]
EmbedderSource = Callable[[], Embedder]


@dataclass(frozen=True, slots=True)
class ApprovedFit:
    """How the matching threshold was fitted on the current set, and how well it separates it."""

    threshold: float  # least cosine between a question and an approved question to serve it
    margin: float  # least lead of the best approved question over the next one
    positives: int
    negatives: int
    recall: float  # share of paraphrase positives served (and served the right answer)
    false_accepts: float  # share of negatives that would be served
    seconds: float
    fitted: float = 0.0  # the cut-off the fit found, before the floor
    floor: float = 0.0  # the least threshold, whatever the fit finds (`heading_floor`)
    floor_from: str = ""  # how the floor was found
    # Active answers not served: a later approved one asks the same question (`one_per_question`).
    repeated: tuple[int, ...] = ()

    def describe(self) -> str:
        if self.threshold > self.fitted:
            how = f"threshold {self.threshold:.3f} (the floor; the fit alone found {self.fitted:.3f})"
        else:
            how = f"threshold {self.threshold:.3f} (fitted; above the floor {self.floor:.3f})"
        described = (
            f"{how}, margin {self.margin:.3f}, fitted on {self.positives} "
            f"paraphrases and {self.negatives} negatives: serves {self.recall:.0%} of the paraphrases, "
            f"{self.false_accepts:.1%} of the negatives ({self.seconds:.1f} s); floor {self.floor:.3f}: "
            f"{self.floor_from}"
        )
        if self.repeated:
            ids = ", ".join(f"#{approved_id}" for approved_id in self.repeated)
            described += (
                f"; not served: {ids} (a later approved answer asks the same question, punctuation, case "
                "and spacing aside; retire it)"
            )
        return described


@dataclass(frozen=True, slots=True)
class ApprovedMatch:
    approved: ApprovedAnswer
    score: float  # cosine to the approved question
    margin: float  # lead over the next approved question (1.0 when there is none)


def content_words(text: str) -> list[str]:
    """The words of `text` that carry meaning (stop words out), in order, without repeats."""
    return list(dict.fromkeys(analyzer(question_language(text)).words(text)))


def paraphrases(question: str, count: int = PARAPHRASES_PER_QUESTION) -> list[str]:
    """Paraphrase-like variants of `question`: subsets of its content words in order and reordered, the way
    `bot.kb.calibration` builds pseudo-questions from passages. Seeded by the text, so a refit of the same
    set embeds the same variants (and finds them cached)."""
    words = content_words(question)
    if not words:
        return []
    seed = int.from_bytes(hashlib.sha256(question.encode()).digest()[:8], "big")
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    out: dict[str, None] = {" ".join(words): None}
    # A paraphrase keeps most of what is asked: at least MIN_KEPT of the content words (two, or all when
    # fewer); two words of a ten-word question are a vaguer question, not the same one.
    low = min(len(words), max(2, math.ceil(MIN_KEPT * len(words))))
    for _ in range(count * 4):
        if len(out) >= count:
            break
        size = rng.randint(low, len(words))
        keep = sorted(rng.sample(range(len(words)), size))
        chosen = [words[i] for i in keep]
        if rng.random() < 0.5:
            rng.shuffle(chosen)
        out[" ".join(chosen)] = None
    return list(out)


# A code: letters and digits, at least one of each, hyphens between ("PX-110", "E42", "e7").
_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[^\W_]+(?:-[^\W_]+)*(?![\w-])")


def codes(text: str) -> frozenset[str]:
    """The codes a question names (`_CODE`), case and hyphens aside ("PX110" is "PX-110"). Two questions
    naming different codes ask different things however close their embeddings are."""
    return frozenset(found.casefold().replace("-", "") for found in _CODE.findall(text))


def _stemmed_words(text: str) -> dict[str, str]:
    """The content words of `text` by their stem (`content_words`, stemmed for the text's language)."""
    # One detection: `content_words` would detect the language again.
    lang = analyzer(question_language(text))
    return {lang.stem(word): word for word in dict.fromkeys(lang.words(text))}


def swapped_word(question: str, approved: str) -> tuple[str, tuple[str, ...]] | None:
    """The content word of `approved` that `question` lacks and the words `question` brings in its place,
    when it lacks exactly one (after stemming, stop words aside) and brings at least one: None otherwise.

    A question keeping all but one of an approved question's words and naming something of its own there
    ("How do I contact support by phone?" for "... by email?") asks about that other thing, however close
    the embeddings of the whole questions are (0.811). A reworded question changes more words, and the
    calibrated threshold judges it; one that only leaves words out or adds some asks the same, vaguer or
    more precisely."""
    swaps = swapped_words(question, approved)
    if swaps is None or len(swaps[0]) != 1:
        return None
    return swaps[0][0], swaps[1]


def swapped_words(question: str, approved: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The content words of `approved` that `question` lacks and the words it brings in their place, when
    it lacks at least one (after stemming, stop words aside) and brings at least one: None otherwise.

    `swapped_word` is the one-word case; a question that changes several of the approved question's words
    ("How big can a parcel be for a locker?" for "How long do you keep a parcel in the locker?", 0.729) is
    judged by `asks_what_they_ask`."""
    own = _stemmed_words(question)
    theirs = _stemmed_words(approved)
    dropped = tuple(word for stem, word in theirs.items() if stem not in own)
    added = tuple(word for stem, word in own.items() if stem not in theirs)
    if not dropped or not added:
        return None
    return dropped, added


@cache
def _closed_class_stems(lang: str) -> dict[str, frozenset[tuple[str, str]]]:
    """Each word of `_CLOSED_CLASSES`, as written and stemmed for `lang`, with its (class, thing) pairs."""
    stem = analyzer(lang).stem
    out: dict[str, set[tuple[str, str]]] = {}
    for kind, groups in _CLOSED_CLASSES.items():
        for index, group in enumerate(groups):
            thing = str(index) if kind == "number" else group
            for word in group.split():
                for form in (word, stem(word)):
                    out.setdefault(form, set()).add((kind, thing))
    return {form: frozenset(pairs) for form, pairs in out.items()}


def _things(word: str, lang: str) -> frozenset[tuple[str, str]]:
    """The (closed class, thing) pairs a lower-cased content word of `lang` names (`_CLOSED_CLASSES`)."""
    table = _closed_class_stems(analyzer(lang).lang)
    pairs = table.get(word, frozenset()) | table.get(analyzer(lang).stem(word), frozenset())
    if any(ch.isdigit() for ch in word):
        pairs |= {("number", str(int(word)) if word.isdecimal() else word)}
    elif len(word) == 1 and (value := unicodedata.numeric(word, None)) is not None:
        pairs |= {("number", str(int(value)) if value.is_integer() else word)}
    return pairs


def another_thing(question: str, approved: str, dropped: str, added: Sequence[str]) -> bool | None:
    """Whether a swap (`swapped_word`) puts another thing of its kind in place of the dropped word, which no
    cosine tells from a near-synonym: True for another word of the dropped word's closed class
    (`_CLOSED_CLASSES`: "Sunday" for "Saturday", "3" for "two") or a name on either side (`named_words`: a
    plan, a product, a place names one thing: "Business" for "Plus"); False for another name of the same
    thing of a closed class ("Sat" for "Saturday", "2" for "two"); None where the kinds do not tell."""
    lang_approved, lang_question = question_language(approved), question_language(question)
    theirs = _things(dropped, lang_approved)
    for word in added:
        own = _things(word, lang_question)
        if {kind for kind, _ in theirs} & {kind for kind, _ in own}:
            return not theirs & own
    if dropped in {word.casefold() for word in named_words(approved)}:
        return True
    if {word.casefold() for word in named_words(question)} & set(added):
        return True
    return None


# A word in a script written without spaces (Chinese, Japanese, Korean): it stands inside a run of letters.
_CJK_WORD = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def without_word(text: str, word: str) -> str | None:
    """`text` with `word` (a lower-cased content word of it) left out wherever it stands as a word, or None
    where it is not found as written (a Traditional Chinese word is found Simplified)."""
    if not word:
        return None
    bounded = re.escape(word)
    if not _CJK_WORD.match(word):
        bounded = rf"(?<![^\W_]){bounded}(?![^\W_])"  # other words stand between non-letters
    left, found = re.subn(bounded, " ", text, flags=re.IGNORECASE)
    return " ".join(left.split()) if found else None


def keeps_the_meaning(asked: float, left_out: float) -> bool:
    """Whether a question with a word of its own in place of one (its cosine to the approved question:
    `asked`) wins back `SYNONYM_RECOVERY` of what leaving the word out loses (that cosine: `left_out`)."""
    return asked - left_out >= SYNONYM_RECOVERY * max(0.0, 1.0 - left_out)


def asks_what_they_ask(asked: float, asked_to_left_out: float) -> bool:
    """Whether the content words of an approved question that a question lacks say what its own words say:
    the question is closer to the approved question (`asked`) than to the approved question without those
    words (`asked_to_left_out`). Words that ask something else do not bring it closer: "long" and "keep"
    (how long a parcel stays) leave "How big can a parcel be for a locker?" as close (0.729 and 0.733)."""
    return asked > asked_to_left_out


def heading_floor(vectors: npt.NDArray[np.float32]) -> tuple[float, str]:
    """The least threshold: the cosine that `FLOOR_QUANTILE` of the pairs of distinct knowledge-base
    headings (query-side vectors) stay under, and how it was found. Headings of different sections ask
    different questions, so an approved question matched below that is as close as unrelated ones are."""
    n = len(vectors)
    if n < MIN_HEADINGS:
        return FALLBACK_FLOOR, (
            f"only {n} knowledge-base headings to measure on (at least {MIN_HEADINGS} needed), so the "
            "threshold measured on 44 approved answers with the shipped embedder"
        )
    pairs = (vectors @ vectors.T)[np.triu_indices(n, 1)]
    floor = float(np.quantile(pairs, FLOOR_QUANTILE))
    return floor, (
        f"{FLOOR_QUANTILE:.0%} of the {len(pairs)} pairs of the {n} knowledge-base headings nearest the "
        "approved questions (different questions) score below it"
    )


def _overlap(a: Sequence[str], b: Sequence[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def fit_threshold(positives: npt.NDArray[np.float64], negatives: npt.NDArray[np.float64]) -> float:
    """The cut-off between the two score sets with the least cost: missed positives plus
    `FALSE_ACCEPT_COST` times accepted negatives (as shares), placed halfway between neighbouring scores."""
    scores = np.unique(np.concatenate([positives, negatives]))
    if len(scores) == 0:
        return 1.0
    cuts = np.concatenate([[scores[0] - 1e-6], (scores[:-1] + scores[1:]) / 2, [scores[-1] + 1e-6]])
    pos = np.sort(positives)
    neg = np.sort(negatives)
    missed = np.searchsorted(pos, cuts, side="left") / max(len(pos), 1)
    accepted = (len(neg) - np.searchsorted(neg, cuts, side="left")) / max(len(neg), 1)
    cost = missed + FALSE_ACCEPT_COST * accepted
    # Ties: the highest cut-off of equal cost (the safer side).
    best = int(np.flatnonzero(cost == cost.min())[-1])
    return float(cuts[best])


def fit_margin(
    leads: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_], contested: npt.NDArray[np.bool_]
) -> float:
    """The lead over a runner-up that also passes the threshold which a served match must exceed.

    `leads`: each paraphrase's best score minus its second best; `correct`: the best was its own question;
    `contested`: the second best passed the threshold too. The margin is the larger of the largest lead by
    which a paraphrase went to the wrong answer, and the lead that 95% of the contested paraphrases that
    went right exceed: a question closer to a second answer than that is as likely a confusion.
    """
    wrong = leads[~correct]
    margin = float(wrong.max()) if len(wrong) else 0.0
    right = leads[correct & contested]
    if len(right):
        margin = max(margin, float(np.quantile(right, CONTESTED_QUANTILE)))
    return margin


@dataclass
class _Index:
    revision: str
    answers: list[ApprovedAnswer]
    matrix: npt.NDArray[np.float32]  # one L2-normalised row per answer's question
    fit: ApprovedFit | None
    # The distinct headings of the knowledge-base sections nearest the approved questions (`_competing`).
    headings: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 1), dtype=np.float32))
    # Whose vectors `matrix` and `headings` are: a question is matched only with the same embedder.
    embedder: Embedder | None = None


@dataclass
class _Cache:
    vectors: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)
    kb_questions: dict[str, list[str]] = field(default_factory=dict)
    kb_headings: dict[str, list[str]] = field(default_factory=dict)


class ApprovedMatcher:
    """Finds the active approved answer a question asks for, if one matches closely enough.

    The threshold is refitted whenever the set changes (the store's revision token): positives are
    paraphrase-like variants of each approved question, negatives the other approved questions,
    pseudo-questions of the knowledge-base sections nearest to them, and off-topic questions. Embedding
    and the fit run in a worker thread; vectors are cached by text, so a refit after one change embeds
    only what is new. Another embedder (`use_embedder`) drops the cache and the fit, and refits.
    """

    def __init__(
        self,
        store: ApprovedAnswerStore,
        embedder: EmbedderSource,
        search: Search | None = None,
        *,
        refit_wait_s: float = REFIT_WAIT_S,
        embed_timeout_s: float = EMBED_TIMEOUT_S,
        store_timeout_s: float = STORE_TIMEOUT_S,
    ) -> None:
        self.store = store
        self._embedder_source = embedder
        self._embedder: Embedder | None = None
        # Matches and fits hold the embedder they started with: `use_embedder` waits for them.
        self._users = EmbedderUsers()
        self._search = search
        self._refit_wait_s = refit_wait_s
        self._embed_timeout_s = embed_timeout_s
        self._store_timeout_s = store_timeout_s
        self._index: _Index | None = None
        self._refit: asyncio.Task[_Index] | None = None
        self._cache = _Cache()

    @property
    def fit(self) -> ApprovedFit | None:
        """The fit in use (None before the first one, or while no answer is active)."""
        return self._index.fit if self._index is not None else None

    async def match(self, question: str) -> ApprovedMatch | None:
        """The approved answer to serve for `question`, or None (the pipeline answers)."""
        revision = await asyncio.wait_for(self.store.approved_revision(), self._store_timeout_s)
        index = self._index
        if index is None or index.revision != revision:
            active = await asyncio.wait_for(self.store.list_approved(["active"]), self._store_timeout_s)
            index = await self._refitted(revision, active) or index
            if index is not None and index.revision != revision:
                # A fit of an older set (the refit is still running, or it fitted the set as it was): it
                # serves only answers still active with the same question, and with their current text.
                current = {a.id: a for a in active}
                answers = [
                    current[a.id] if a.id in current and current[a.id].question == a.question else _retired(a)
                    for a in index.answers
                ]
                index = replace(index, answers=answers)
        if index is None or index.fit is None or not index.answers:
            return None
        embedder, cache = await self._embedding()
        if index.embedder is not embedder:
            return None  # fitted with the embedder before a switch: the refit with this one serves next
        with self._users.hold(embedder):
            vector = await self._embed_one(question, embedder)
            found = _best(index, vector, question)
            if found is not None and await self._asks_something_else(
                question, vector, found.approved.question, found.score, embedder, cache
            ):
                log.info(
                    "approved answers: the question puts words of its own in place of some; "
                    "the pipeline answers"
                )
                return None
            return found

    async def use_embedder(self, embedder: Embedder) -> None:
        """Match with `embedder` from now on (SIGHUP after `models use --embedder`): the cached vectors and
        the fit were the previous embedder's, so they go, and the next question refits (a refit still
        running finishes, and its fit is dropped). Returns once no match or fit uses the previous one."""
        previous, self._embedder = self._embedder, embedder
        if previous is None or previous is embedder:
            return
        self._cache = _Cache()
        self._index = None
        self._refit = None
        await self._users.released(previous)

    async def refresh(self) -> ApprovedFit | None:
        """Refit now if the set changed, waiting as long as it takes (the CLI and tests use this)."""
        revision = await asyncio.wait_for(self.store.approved_revision(), self._store_timeout_s)
        if self._index is not None and self._index.revision == revision:
            return self._index.fit
        active = await asyncio.wait_for(self.store.list_approved(["active"]), self._store_timeout_s)
        self._start_refit(revision, active)
        if self._refit is not None:
            await asyncio.shield(self._refit)
        return self.fit

    async def _refitted(self, revision: str, active: list[ApprovedAnswer]) -> _Index | None:
        self._start_refit(revision, active)
        task = self._refit
        if task is None:
            return self._index
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(task), self._refit_wait_s)
        log.info("approved answers: refit still running; the previous fit serves meanwhile")
        return None

    def _start_refit(self, revision: str, active: list[ApprovedAnswer]) -> None:
        running = self._refit
        if running is not None and not running.done():
            return  # one refit at a time; the next question starts another if the set moved on
        self._refit = asyncio.get_running_loop().create_task(self._build(revision, active))
        self._refit.add_done_callback(self._refit_done)

    def _refit_done(self, task: asyncio.Task[_Index]) -> None:
        if task.cancelled() or task is not self._refit:
            return  # a refit with the embedder before a switch: its vectors are not the matcher's now
        error = task.exception()
        if error is not None:
            log.warning("approved answers: refit failed", extra={"error": f"{type(error).__name__}: {error}"})
            return
        self._index = task.result()

    async def _build(self, revision: str, active: list[ApprovedAnswer]) -> _Index:
        if not active:
            return _Index(revision, [], np.zeros((0, 1), dtype=np.float32), None)
        served, repeated = one_per_question(active)
        if repeated:
            log.info(
                "approved answers: some ask the question of a later approved one, which alone serves",
                extra={"approved_ids": [answer.id for answer in repeated]},
            )
        embedder, cache = await self._embedding()
        with self._users.hold(embedder):
            kb_questions, headings = await self._kb_negatives(served, cache)
            index = await asyncio.to_thread(
                _fit, revision, served, kb_questions, embedder, cache, headings, tuple(a.id for a in repeated)
            )
        if index.fit is not None:
            log.info("approved answers refitted", extra={"answers": len(served), "fit": index.fit.describe()})
        return index

    async def _kb_negatives(self, active: list[ApprovedAnswer], cache: _Cache) -> tuple[list[str], list[str]]:
        """Pseudo-questions of the `SEARCH_K` sections nearest to the approved questions, and the headings
        of the `HEADINGS_K` nearest (both cached per question in `cache`)."""
        if self._search is None:
            return [], []
        out: list[str] = []
        headings: list[str] = []
        for answer in active[:MAX_SEARCHED]:
            found = cache.kb_questions.get(answer.question)
            titles = cache.kb_headings.get(answer.question)
            if found is None or titles is None:
                try:
                    hits = await self._search(answer.question)
                except Exception as exc:  # the knowledge base is optional here: the fit goes on without it
                    log.info(
                        "approved answers: no knowledge-base negatives", extra={"error": type(exc).__name__}
                    )
                    return out, headings
                found = [p.text for p in pseudo_questions([hit.chunk for hit in hits[:SEARCH_K]])]
                titles = [hit.chunk.heading_path[-1] for hit in hits if hit.chunk.heading_path]
                cache.kb_questions[answer.question] = found
                cache.kb_headings[answer.question] = titles
            out.extend(found)
            headings.extend(titles)
        return out, headings

    async def _asks_something_else(
        self,
        question: str,
        vector: npt.NDArray[np.float32],
        approved: str,
        score: float,
        embedder: Embedder,
        cache: _Cache,
    ) -> bool:
        """Whether `question` (`vector`; `score`: its cosine to `approved`) replaces content words of
        `approved` by words of its own that do not say what they said: one word (`swapped_word`,
        `another_thing`, `keeps_the_meaning`), or several (`swapped_words`: another thing of a closed class
        in place of any of them, else `asks_what_they_ask`)."""
        swaps = swapped_words(question, approved)
        if swaps is None:
            return False
        dropped, added = swaps
        if len(dropped) == 1:
            return await self._swaps_a_word(question, approved, score, dropped[0], added, embedder, cache)
        # Names are left to the cosine here: a question that rewords most of "How much does Parcelly Plus
        # cost?" and leaves "Parcelly" out ("How expensive is the Plus plan?") names no other thing.
        lang_approved, lang_question = question_language(approved), question_language(question)
        for word in dropped:
            theirs = _things(word, lang_approved)
            for other in added:
                own = _things(other, lang_question)
                if {kind for kind, _ in theirs} & {kind for kind, _ in own} and not theirs & own:
                    return True
        left_out = approved
        for word in dropped:
            left_out = without_word(left_out, word) or left_out
        if left_out == approved or not left_out:
            return True  # nothing to measure the words against: the pipeline answers, the cheaper mistake
        vectors = await asyncio.wait_for(
            asyncio.to_thread(_vectors, [left_out], embedder, cache), self._embed_timeout_s
        )
        return not asks_what_they_ask(score, float(vectors[0] @ vector))

    async def _swaps_a_word(
        self,
        question: str,
        approved: str,
        score: float,
        dropped: str,
        added: Sequence[str],
        embedder: Embedder,
        cache: _Cache,
    ) -> bool:
        """Whether `question` (`score`: its cosine to `approved`) replaces the content word `dropped` of
        `approved` by words of its own (`added`) that do not say what it said (`another_thing`,
        `keeps_the_meaning`)."""
        # Off the event loop: the first name looked up reads wordfreq's English list (about a second).
        kind = await asyncio.to_thread(another_thing, question, approved, dropped, added)
        if kind is not None:
            return kind
        left_out = without_word(approved, dropped)
        if left_out is None:
            return True  # nothing to measure the swap against: the pipeline answers, the cheaper mistake
        vectors = await asyncio.wait_for(
            asyncio.to_thread(_vectors, [approved, left_out], embedder, cache), self._embed_timeout_s
        )
        return not keeps_the_meaning(score, float(vectors[0] @ vectors[1]))

    async def _embedding(self) -> tuple[Embedder, _Cache]:
        """The embedder (built on first use, in a worker thread) and the cache of its vectors, taken together:
        `use_embedder` replaces both at once."""
        if self._embedder is None:
            loaded = await asyncio.to_thread(self._embedder_source)
            # `use_embedder` may have given one while this was loading: that one is the newer.
            if self._embedder is None:
                self._embedder = loaded
        return self._embedder, self._cache

    async def _embed_one(self, text: str, embedder: Embedder) -> npt.NDArray[np.float32]:
        vectors = await asyncio.wait_for(
            asyncio.to_thread(embed_queries, embedder, [text]), self._embed_timeout_s
        )
        row: npt.NDArray[np.float32] = vectors[0]
        return row


# How long the first question of a process waits for the approved answers' first fit (`first_fit`): the
# first fit of 44 answers took 12-14 s on 2 shared cores.
FIRST_FIT_S = 120.0
# Punctuation that names something: "C#" and "C", "10%" and "10" ask different things.
_MEANINGFUL_PUNCTUATION = frozenset("#%&@‰")
# Spaces beside a character of a script written without them (Chinese, Japanese; not Korean, which spaces
# its words) separate no words: "用 PayPal 付款" is "用PayPal付款".
_UNSPACED = re.compile(r"\s+(?=[\u2e80-\u9fff\uf900-\ufaff])|(?<=[\u2e80-\u9fff\uf900-\ufaff])\s+")


def question_key(question: str) -> str:
    """`question` as approved questions are told apart: width (NFKC: "？" is "?"), case, punctuation and
    spacing aside. "Do you deliver on Sundays" is "Do you deliver on Sundays?", and "can i pay with paypal ?"
    is "Can I pay with PayPal?". Punctuation becomes a space rather than nothing, so "3.5 kg" stays apart
    from "35 kg"."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = "".join(
        " " if unicodedata.category(ch).startswith("P") and ch not in _MEANINGFUL_PUNCTUATION else ch
        for ch in text
    )
    return _UNSPACED.sub("", " ".join(text.split()))


async def first_fit(matcher: ApprovedMatcher, timeout_s: float = FIRST_FIT_S) -> str | None:
    """Fit the approved answers before the first question of a process (`Services.conversations`), in a
    worker thread; what went wrong, in a line for the admin, or None when they are ready. A question
    waits only `REFIT_WAIT_S` for a fit and the first has none to fall back on: `ask` went to the pipeline
    whenever loading the embedder and fitting took longer (5 of 6 on a busy machine). Either way the
    questions go on."""
    try:
        await asyncio.wait_for(matcher.refresh(), timeout_s)
    except TimeoutError:
        # The fit goes on (`refresh` shields it): a question waits a few seconds more for it.
        return (
            f"the approved answers were not ready after {timeout_s:g} s (their first fit, embedding them in "
            "a worker thread, is still running; `answers fit` shows how long it takes): questions are "
            "answered from the knowledge base until it is done"
        )
    except Exception as exc:  # matching would fail the same way: the pipeline answers
        return (
            f"the approved answers cannot be matched ({type(exc).__name__}: {exc}): questions are answered "
            "from the knowledge base"
        )
    return None


def same_question(a: str, b: str) -> bool:
    """Two approved questions are one when they are equal word for word (`question_key`)."""
    return question_key(a) == question_key(b)


def one_per_question(answers: Sequence[ApprovedAnswer]) -> tuple[list[ApprovedAnswer], list[ApprovedAnswer]]:
    """`answers` with one per question (`same_question`), in their order, and the ones left out. Of several
    to one question the latest approved is kept: approving a question again replaces the first answer's
    text, but duplicates stored before (when "Sundays" and "Sundays?" were two questions) or written to
    the store directly remain, and served together they contest each other (both score alike, so the
    margin rule served neither)."""
    latest: dict[str, ApprovedAnswer] = {}
    for answer in answers:
        key = question_key(answer.question)
        kept = latest.get(key)
        if kept is None or (answer.approved_at, answer.id) > (kept.approved_at, kept.id):
            latest[key] = answer
    kept_ids = {answer.id for answer in latest.values()}
    return (
        [answer for answer in answers if answer.id in kept_ids],
        [answer for answer in answers if answer.id not in kept_ids],
    )


def served_answer_to_replace(
    served: Sequence[ApprovedAnswer], question: str, approved_id: int | None = None
) -> ApprovedAnswer | None:
    """The served (active or flagged) approved answer a new one to `question` replaces: the approved answer
    being corrected (`approved_id`), else one to the same question. Two approved answers to one question
    would contest each other, and the margin rule would serve neither."""
    for existing in served:
        if approved_id is not None and existing.id == approved_id:
            return existing
    for existing in served:
        if same_question(existing.question, question):
            return existing
    return None


def embed_queries(embedder: Embedder, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Embed texts on the embedder's query side: customers' questions and approved questions alike."""
    return np.asarray(embedder.embed_queries(texts), dtype=np.float32)


def _retired(answer: ApprovedAnswer) -> ApprovedAnswer:
    return replace(answer, status="retired")


def _best(index: _Index, vector: npt.NDArray[np.float32], question: str) -> ApprovedMatch | None:
    fit = index.fit
    if fit is None:
        return None
    scores = index.matrix @ vector
    order = np.argsort(-scores)
    top = int(order[0])
    score = float(scores[top])
    lead = float(scores[top] - scores[order[1]]) if len(order) > 1 else 1.0
    answer = index.answers[top]
    if answer.status != "active" or score < fit.threshold:
        return None
    if codes(question) != codes(answer.question):
        log.info("approved answers: the question names other codes; the pipeline answers")
        return None
    if _competing(index.headings, vector, index.matrix[top], score, fit.threshold):
        log.info("approved answers: a heading of another section is closer; the pipeline answers")
        return None
    # Contested by the fit's own cut-off, not the floor: a runner-up just under a raised floor is as likely
    # what was asked ("How long does it take?" between refund and shipping times).
    contested = len(order) > 1 and float(scores[order[1]]) >= fit.fitted
    if contested and lead <= fit.margin:
        log.info("approved answers: two match about equally; the pipeline answers", extra={"lead": lead})
        return None
    return ApprovedMatch(answer, score, lead)


def _competing(
    headings: npt.NDArray[np.float32],
    vector: npt.NDArray[np.float32],
    approved: npt.NDArray[np.float32],
    score: float,
    same: float,
) -> bool:
    """Whether a knowledge-base heading of another question is closer to the customer's question than the
    approved question is ("my parcel arrived damaged" is nearer the heading on damaged parcels than "My
    parcel never arrived" is). A heading the approved question itself matches (cosine ≥ `same`, the
    threshold: an FAQ row and an article section on its topic), and the one nearest it (its own section's),
    ask the same thing, and are no rival."""
    if not len(headings):
        return False
    to_question = headings @ vector
    to_approved = headings @ approved
    other_topic = (to_approved < same) & (to_approved < to_approved.max())
    return bool(np.any((to_question > score) & other_topic))


def _vectors(texts: Sequence[str], embedder: Embedder, cache: _Cache) -> npt.NDArray[np.float32]:
    missing = list(dict.fromkeys(t for t in texts if t not in cache.vectors))
    if missing:
        if len(cache.vectors) + len(missing) > _CACHE_LIMIT:
            cache.vectors.clear()
        for text, vector in zip(missing, embed_queries(embedder, missing), strict=True):
            cache.vectors[text] = vector
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.stack([cache.vectors[t] for t in texts]).astype(np.float32)


def _fit(
    revision: str,
    active: list[ApprovedAnswer],
    kb_questions: Sequence[str],
    embedder: Embedder,
    cache: _Cache,
    headings: Sequence[str] = (),
    repeated: tuple[int, ...] = (),
) -> _Index:
    """Embed the set (one answer per question: `one_per_question`; `repeated`: the ids left out) and fit
    threshold and margin (runs in a worker thread)."""
    started = time.perf_counter()
    # Distinct texts: one heading shared by two documents is one question, not a pair of different ones.
    heading_texts = list({" ".join(h.split()).casefold(): h for h in headings}.values())
    heading_vectors = _vectors(heading_texts, embedder, cache)
    floor, floor_from = heading_floor(heading_vectors)
    questions = [a.question for a in active]
    matrix = _vectors(questions, embedder, cache)
    n = len(active)

    per_question = max(2, min(PARAPHRASES_PER_QUESTION, MAX_POSITIVES // n))
    owners: list[int] = []
    variants: list[str] = []
    for i, question in enumerate(questions):
        for text in paraphrases(question, per_question):
            if text.lower() != question.lower():
                owners.append(i)
                variants.append(text)
    pos_scores = _vectors(variants, embedder, cache) @ matrix.T
    owner = np.asarray(owners, dtype=np.int64)
    own = pos_scores[np.arange(len(owners)), owner] if owners else np.zeros(0)

    # Negatives: off-topic questions (in English and in the approved questions' languages), nearby sections'
    # pseudo-questions (unless they share most words with an approved question), and each approved
    # question against the others.
    words = [content_words(q) for q in questions]
    nearby = [
        q
        for q in dict.fromkeys(kb_questions)
        if all(_overlap(q.split(), w) < OVERLAP_LEFT_OUT for w in words)
    ]
    off_topic = [text for _, text in off_topic_for(question_language(q) for q in questions)]
    negatives = [*off_topic, *nearby]
    neg_scores = _vectors(negatives, embedder, cache) @ matrix.T
    neg_best = neg_scores.max(axis=1) if len(negatives) else np.zeros(0)
    if n > 1:
        among = matrix @ matrix.T
        np.fill_diagonal(among, -1.0)
        neg_best = np.concatenate([neg_best, among.max(axis=1)])

    fitted = fit_threshold(own.astype(np.float64), neg_best.astype(np.float64))
    threshold = max(fitted, floor)
    if n > 1 and len(owners):
        top2 = np.sort(pos_scores, axis=1)[:, -2:]
        leads = (top2[:, 1] - top2[:, 0]).astype(np.float64)
        correct = pos_scores.argmax(axis=1) == owner
        passing = top2[:, 1] >= threshold
        contested = top2[:, 0] >= fitted
        margin = fit_margin(leads[passing], correct[passing], contested[passing])
        served = passing & correct & (~contested | (leads > margin))
    else:
        margin = 0.0
        served = own >= threshold
    fit = ApprovedFit(
        threshold=threshold,
        margin=margin,
        positives=len(owners),
        negatives=len(neg_best),
        recall=float(served.mean()) if len(owners) else 0.0,
        false_accepts=float((neg_best >= threshold).mean()) if len(neg_best) else 0.0,
        seconds=time.perf_counter() - started,
        fitted=fitted,
        floor=floor,
        floor_from=floor_from,
        repeated=repeated,
    )
    return _Index(revision, list(active), matrix, fit, heading_vectors, embedder)


__all__ = [
    "FALSE_ACCEPT_COST",
    "HEADINGS_K",
    "SYNONYM_RECOVERY",
    "ApprovedFit",
    "ApprovedMatch",
    "ApprovedMatcher",
    "another_thing",
    "asks_what_they_ask",
    "codes",
    "content_words",
    "embed_queries",
    "fit_margin",
    "fit_threshold",
    "heading_floor",
    "keeps_the_meaning",
    "one_per_question",
    "paraphrases",
    "question_key",
    "same_question",
    "swapped_word",
    "swapped_words",
    "without_word",
]
