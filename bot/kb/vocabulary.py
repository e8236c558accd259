"""The knowledge base's words, embedded, so a query word it never uses is searched as its nearest one too."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bot.arabic import arabic_folded
from bot.greeklish import GreekWords
from bot.kb.analysis import CJK_LANGUAGES, TONED, analyzer, language_key
from bot.kb.base import KBUnavailableError
from bot.kb.cognates import NEIGHBOURS, cognates
from bot.kb.names import dropped_variants, missing_letter_variants, swapped_variants
from bot.language import STOPWORDS, UNDETERMINED, greeklish_function_word
from bot.stemmers import OWN_STEMMERS
from bot.unicode import LETTER, latin, without_accents

if TYPE_CHECKING:
    from bot.domain import Chunk
    from bot.kb.base import Embedder, KnowledgeBase

log = logging.getLogger("bot.kb")

# Customers' words are often not the articles' ("smashed" where the help center says "damaged", "cost"
# where it says "price"): BM25 finds nothing for them. A word no chunk holds is also searched as the knowledge
# base's word closest to it in the embedder's space, when that one is close enough. Measured 2026-12-04
# (hybrid MRR, shipped MiniLM): sample help center 0.813 → 0.848, customer wording 0.528 → 0.543, Python FAQ
# 0.938 → 0.946, English Debian Reference unchanged. A lab run put 0.5 and 0.7 below 0.6, and two or three
# nearest words per query word below one.
MIN_SIMILARITY = 0.6
# Bounds the reload's embedding work and the index metadata: the most frequent words are kept.
MAX_WORDS = 20_000
# Query words bridged per question, so a pasted paragraph costs one small embedding call, not hundreds.
MAX_BRIDGED = 8
# The longest word a typing slip is looked for in: a longer one is a run of a script written without spaces
# (Thai, Lao, Khmer), and its variants are quadratic in its length (a 7,000-character Thai message took 44 s
# and 2.9 GB).
MAX_SLIP_WORD = 40
# The shortest stem a slip is compared by (`_slip_of`).
MIN_SLIP_STEM = 4
# The shortest part a run-together word is cut into ("box" of "mailbox").
MIN_PART = 3
# Words embedded per call while a bridge is built (under a second with the shipped MiniLM): a bridge no longer
# wanted stops within one call instead of embedding all `MAX_WORDS`.
EMBED_BATCH = 1024
# Letters only, three or more: numbers, codes and two-letter words are not vocabulary.
_WORD = re.compile(rf"{LETTER}{{3,}}")


def valid_vocabulary(value: object) -> dict[str, tuple[str, ...]]:
    """A stored vocabulary as `vocabulary_words` makes it; anything else (hand-edited, another version) is
    dropped with a log line rather than failing the gate it is stored with."""
    if not value:
        return {}
    if isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(words, list) and all(isinstance(w, str) for w in words)
        for key, words in value.items()
    ):
        return {key: tuple(w for w in words if _WORD.fullmatch(w)) for key, words in value.items()}
    log.warning("stored vocabulary unreadable: the bridge is off until the next reload")
    return {}


def vocabulary_words(chunks: Iterable[Chunk], languages: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Per language key (of `languages` only): one surface form per index term of the chunks' headings and
    texts, stop words out, the most frequent terms first, at most `MAX_WORDS` in all.

    Chinese, Japanese and Korean are left out: their index terms are character bigrams, not words.
    """
    wanted = {language_key(code) for code in languages} - CJK_LANGUAGES
    terms: dict[str, Counter[str]] = {}
    forms: dict[str, dict[str, Counter[str]]] = {}
    for chunk in chunks:
        key = language_key(chunk.lang)
        if key not in wanted:
            continue
        lang_analyzer = analyzer(key)
        counts = terms.setdefault(key, Counter())
        surfaces = forms.setdefault(key, {})
        for word in lang_analyzer.words(" ".join((*chunk.heading_path, chunk.text))):
            if not _WORD.fullmatch(word):
                continue
            term = lang_analyzer.stem(word)
            counts[term] += 1
            surfaces.setdefault(term, Counter())[word] += 1
    ranked = sorted(
        ((count, key, term) for key, counts in terms.items() for term, count in counts.items()),
        key=lambda item: (-item[0], item[1], item[2]),
    )[:MAX_WORDS]
    out: dict[str, list[str]] = {}
    for _, key, term in ranked:
        out.setdefault(key, []).append(forms[key][term].most_common(1)[0][0])
    return {key: tuple(words) for key, words in sorted(out.items())}


class _Spelling:
    """A language's stored words as the knowledge base writes them: each index term's surface form and
    each word's place, the most frequent first (`words` is in that order)."""

    def __init__(self, key: str, words: Sequence[str]) -> None:
        self.key = key
        self.words = tuple(words)
        stem = analyzer(key).stem
        self.surfaces: dict[str, str] = {}
        for word in words:
            self.surfaces.setdefault(stem(word), word)
        self.terms = frozenset(self.surfaces)
        # A typing slip is read as the most frequent word it can be.
        self.rank = {word: i for i, word in reversed(list(enumerate(words)))}
        # Each Latin word with accents by its letters without them, the most frequent first: "zablokowac" is
        # "zablokować". Not for a `TONED` language, whose index holds every word without its marks too, and
        # where one unmarked word stands for several ("ban" for "bán", "bạn", "bàn"); nor in scripts whose
        # marks are letters of their own (Thai "ข่าว", news, and "ขาว", white).
        self.marked: dict[str, str] = {}
        for word in () if key in TONED else words:
            plain = without_accents(word)
            if plain != word and all(map(latin, word)):
                self.marked.setdefault(plain, word)


class _Language(_Spelling):
    def __init__(self, key: str, words: Sequence[str], matrix: npt.NDArray[np.float32]) -> None:
        super().__init__(key, words)
        self.matrix = matrix
        # A word in another script ("مرحبا" in an English question) has no meaningful neighbour among these.
        self.scripts = frozenset(_script(word) for word in words)


def _script(word: str) -> str:
    """The script of a word's first letter, as Unicode names it ("LATIN", "CYRILLIC", "CJK", …)."""
    return unicodedata.name(word[0], "UNKNOWN").split(" ", 1)[0]


class BridgeStoppedError(Exception):
    """The bridge was no longer wanted (its knowledge base closed) before its words were all embedded."""


class VocabularyBridge:
    """Maps a query's words that the knowledge base never uses to its nearest words (see `MIN_SIMILARITY`).

    Built once per index from the words stored with it; embedding them is synchronous and CPU-bound (about
    1,200 words/s with the shipped MiniLM on 2 cores): callers use a thread.
    """

    def __init__(
        self,
        words: Mapping[str, Sequence[str]],
        embedder: Embedder,
        vectors: Mapping[str, npt.NDArray[np.float32]] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """`vectors`: each language's word vectors as `vectors()` gave them (an embedded index stores them,
        so a serving process need not embed the words again); a language without a matching matrix is
        embedded, `EMBED_BATCH` words at a time, and `BridgeStoppedError` raised before the next batch once
        `stop` is set."""
        self._embedder = embedder
        self._languages: dict[str, _Language] = {}
        for key, entries in words.items():
            if not entries:
                continue
            stored = (vectors or {}).get(key)
            if stored is not None and stored.ndim == 2 and stored.shape[0] == len(entries):
                matrix = stored.astype(np.float32, copy=False)
            else:
                matrix = _normalised(_embed_words(embedder, list(entries), stop))
            self._languages[key] = _Language(key, entries, matrix)

    @property
    def size(self) -> int:
        return sum(len(language.words) for language in self._languages.values())

    def vectors(self) -> dict[str, npt.NDArray[np.float32]]:
        """Each language's normalised word vectors, in the order of its words."""
        return {key: language.matrix for key, language in self._languages.items()}

    def bridge_words(self, query: str, languages: Sequence[str], written_in: Iterable[str] = ()) -> list[str]:
        """The knowledge base's nearest word to each word of `query` it never uses, for the first of
        `languages` (the question's own, then the index's) that has a vocabulary; [] when none has, and
        when the question's own language is one the knowledge base is `written_in` without a vocabulary."""
        keys = [language_key(code) for code in languages]
        if keys and keys[0] not in self._languages and keys[0] in {language_key(c) for c in written_in}:
            # The embedder is weak in that language (no vocabulary was built for it): the question's words
            # are its words, not another language's to bridge ("couper" is no misspelt English word).
            return []
        language = next((self._languages[key] for key in keys if key in self._languages), None)
        if language is None:
            return []
        lang_analyzer = analyzer(language.key)
        # The stop words of every language the question is read in stay out, as in the query itself.
        stop = frozenset().union(*(STOPWORDS.get(language_key(code), frozenset()) for code in languages))
        absent = [
            word
            for word in dict.fromkeys(lang_analyzer.words(query, stop))
            if _WORD.fullmatch(word)
            and _script(word) in language.scripts
            and lang_analyzer.stem(word) not in language.terms
        ][:MAX_BRIDGED]
        if not absent:
            return []
        # A typing slip of one of its words ("pasword", "recieve", "adresss") is that word; else two of its
        # words run together; else the nearest in meaning.
        split = {
            word: _slip_of(word, language, lang_analyzer.stem)
            or _compound_parts(word, language, lang_analyzer.stem)
            for word in absent
        }
        parts = [part for word in absent for part in split[word]]
        absent = [word for word in absent if not split[word]]
        if not absent:
            return list(dict.fromkeys(parts))
        try:
            vectors = _normalised(np.asarray(self._embedder.embed_queries(absent), dtype=np.float32))
        except Exception as exc:  # noqa: BLE001 - the question is still searched with its own words
            log.warning(
                "vocabulary bridge skipped: embedding failed", extra={"error": exc.__class__.__name__}
            )
            return []
        similarity = vectors @ language.matrix.T
        best = similarity.argmax(axis=1)
        return list(
            dict.fromkeys(
                [
                    *parts,
                    *(
                        language.words[int(column)]
                        for row, column in enumerate(best)
                        if similarity[row, column] >= MIN_SIMILARITY
                    ),
                ]
            )
        )


@lru_cache(maxsize=4)
def _spelling(key: str, words: tuple[str, ...]) -> _Spelling:
    return _Spelling(key, words)


async def spelled(kb: KnowledgeBase, text: str, lang: str) -> str:
    """`corrected(text, …)` with the knowledge base's stored vocabulary, a word replaced only where the index
    lacks it too (`missing_words`: the stored words are its 20,000 most frequent, and a rare word it does use
    must not be read as a frequent one); `text` unchanged without a vocabulary or when the index fails."""
    try:
        vocabulary = (await kb.calibration()).vocabulary
    except KBUnavailableError:
        return text
    if not vocabulary:
        return text
    fixes = await asyncio.to_thread(slips, text, vocabulary, lang)
    if not fixes:
        return text
    try:
        missing = await kb.missing_words(list(fixes))
    except KBUnavailableError:
        return text
    return _WORD.sub(lambda m: fixes[m.group()] if m.group() in missing else m.group(), text)


def corrected(text: str, vocabulary: Mapping[str, Sequence[str]], lang: str) -> str:
    """`text` with its `slips` replaced (see `spelled`, which also asks the index)."""
    fixes = slips(text, vocabulary, lang)
    return _WORD.sub(lambda m: fixes.get(m.group(), m.group()), text) if fixes else text


def slips(text: str, vocabulary: Mapping[str, Sequence[str]], lang: str) -> dict[str, str]:
    """Each word of `text` the knowledge base never uses that is one typing slip of a word it does use, with
    that word (`_slip_of`), for a language with a stored vocabulary; {} otherwise. A Russian question to a
    help center written in Ukrainian, or the other way round, has its words of one root with the help
    center's instead (`bot.kb.cognates`).

    The question is searched and embedded corrected: "forgot pasword" found the password section first
    once BM25 searched "password" too (`bridge_words`), but its embedding, far from the section's, kept the
    gate's cosine low and the customer was refused."""
    key = language_key(lang)
    # A question of no known language is read in English, as the pipeline reads it.
    key = "en" if key == UNDETERMINED else key
    words = vocabulary.get(key)
    if not words and key in NEIGHBOURS:
        # A Russian question to a Ukrainian help center, or the other way round (`bot.kb.cognates`).
        return cognates(list(dict.fromkeys(_WORD.findall(text))), key, vocabulary)
    if not words or key in OWN_STEMMERS:
        # Not where a slip is judged by a stem cut to a few letters or a dictionary form (`bot.stemmers`):
        # "виведення коштів" (withdrawal) read "введення" (entry), "להשלים" (complete) "לשלם" (pay).
        return {}
    spelling = _spelling(key, tuple(words))
    stem = analyzer(key).stem
    stop = STOPWORDS.get(key, frozenset())
    # A Greek question typed all in Latin letters (`bot.greeklish`): each word is the help center's Greek
    # word it spells. Not a Latin word in a question written in Greek ("Xiaomi"), which is a name.
    letters = "".join(_WORD.findall(text))
    greek = _greek_words(tuple(words)) if key == "el" and letters and all(map(latin, letters)) else None
    out: dict[str, str] = {}
    for word in dict.fromkeys(_WORD.findall(text)):
        lower = word.lower()
        if lower in stop or stem(lower) in spelling.terms or (key == "fa" and _common_persian(lower)):
            continue
        slip = _slip_of(lower, spelling, stem)
        if not slip and key == "fa":
            slip = _without_persian_clitics(lower, spelling, stem)
        if not slip and greek is not None and not greeklish_function_word(lower):
            spelled_word = greek.word_for(lower)
            slip = (spelled_word,) if spelled_word else ()
        if slip:
            out[word] = slip[0]
    return out


@lru_cache(maxsize=2)
def _greek_words(words: tuple[str, ...]) -> GreekWords:
    return GreekWords(words, analyzer("el").stem)


# What Persian chat writes onto a word, as Arabic's normalization spells it (`arabic_folded`): the object
# marker "و" (spoken "را": "سفرو", "پولمو"), the attached pronouns ("م", "ت", "ش", "مون", "تون", "شون",
# after a vowel "يم", "يت", "يش"), the plural "ها" written on, with its ezafe or a pronoun ("هاي", "هام"),
# the "ي" of "the money that" ("پولي كه") and the spoken "is" ("نامعتبره"), and the verb's "مي"/"نمي"
# written on without its non-joiner. Cut only from a word the knowledge base never uses, and only where what
# stays is one of its words: a ride-hailing trial's "كيفمو" (my bag, as object) and "رفيقمو" (my friend)
# found nothing.
_PERSIAN_SUFFIXES = (
    "هامو", "هاشو", "هاتو", "مونو", "تونو", "شونو", "هاي", "هام", "هات", "هاش", "مون", "تون", "شون",
    "ها", "مو", "تو", "شو", "يم", "يت", "يش", "رو", "م", "ت", "ش", "و", "ي", "ه",
)  # fmt: skip
_PERSIAN_PREFIXES = ("نمي", "مي")
_OBJECT_MARKERS = ("و", "رو")
# A word at least this frequent in Persian (wordfreq's Zipf scale: once per 10,000 words) is a word of its
# own, whatever the help center writes: "کارت" (card) is no "کار" (work) with "ت" (your), "حسابی" (really) no
# "حساب" (account), "نقشه" (map) no "نقش" (role). Chat's "پولمو" (3.5) and "گوشیم" (3.5) are below it.
_COMMON_PERSIAN_ZIPF = 4.0
# The fewest letters a word keeps once its clitics are cut.
_MIN_PERSIAN_STEM = 3


def _common_persian(word: str) -> bool:
    """Whether `word` is a common Persian word (`_COMMON_PERSIAN_ZIPF`), spelled with Persian "ی" and "ک"."""
    from wordfreq import zipf_frequency

    persian = arabic_folded(word).replace("\u064a", "\u06cc").replace("\u0643", "\u06a9")
    return zipf_frequency(persian, "fa") >= _COMMON_PERSIAN_ZIPF


def _without_persian_clitics(word: str, spelling: _Spelling, stem: Callable[[str], str]) -> tuple[str, ...]:
    """The knowledge base's word, or two of its words run together (`_compound_parts`: "سيمكارت", a compound
    it writes with a non-joiner), that `word` is less what Persian chat writes onto it (`_PERSIAN_SUFFIXES`,
    `_PERSIAN_PREFIXES`), as a 1-tuple; () when no cut gives one. Of several, the one that cuts the fewest
    letters, then one word before two, then the most frequent."""
    folded = arabic_folded(word)
    heads = [folded, *(folded[len(p) :] for p in _PERSIAN_PREFIXES if folded.startswith(p))]
    found: list[tuple[int, int, int, str]] = []
    for head in heads:
        # Two layers only where the object marker came last ("كيف" + "م" + "و"): "كارتم" (my card) is no
        # "كار" (work) with two endings.
        for once in ("", *(x for x in _PERSIAN_SUFFIXES if head.endswith(x))):
            first = head[: len(head) - len(once)]
            for twice in (
                "",
                *(x for x in _PERSIAN_SUFFIXES if once in _OBJECT_MARKERS and first.endswith(x)),
            ):
                left = first[: len(first) - len(twice)]
                if len(left) < _MIN_PERSIAN_STEM:
                    continue
                cut = len(folded) - len(left)
                surface = spelling.surfaces.get(stem(left)) if cut else None
                if surface is not None:
                    found.append((cut, 1, spelling.rank.get(surface, len(spelling.rank)), surface))
                elif parts := _compound_parts(left, spelling, stem):
                    found.append((cut, 2, 0, " ".join(parts)))
    return (min(found)[3],) if found else ()


def _slip_of(word: str, spelling: _Spelling, stem: Callable[[str], str]) -> tuple[str, ...]:
    """The knowledge base's most frequent word that `word` is one typing slip of (`bot.kb.names`), as a
    1-tuple; () when none is. Two neighbouring letters swapped or one left out are compared by stem
    ("refnd" is "refund", which the help center writes "refunds"); a letter too many only with one of its
    words as written: by stem, "simplest" less its "t" read as "simple", a word of its own (Python FAQ
    hybrid hit@1 0.917 → 0.900). "forgot pasword" found nothing in BM25, and its embedding was too far from
    "password" to be bridged."""
    if len(word) > MAX_SLIP_WORD:
        return ()
    # Typed without any marks, it is the word that has them, before any slip: a Polish customer's
    # "zablokowac" ("zablokować") was read as the slip it was not, and Polish's stemmer, which reads a word's
    # ending by its marks, cut it otherwise than the help center's word. (Typed with other accents, a word is
    # its own, or a slip.)
    marked = spelling.marked.get(word) if without_accents(word) == word else None
    if marked is not None:
        return (marked,)
    rank = spelling.rank
    found = [variant for variant in dropped_variants(word) if variant in rank]
    for variant in (*swapped_variants(word), *missing_letter_variants(word)):
        term = stem(variant)
        # A stem of a few letters is shared by unrelated words where the stemmer cuts deep: Polish read
        # "pisze" (writes) with an "n" put in as "pinsze", whose stem "pin" is the help center's PIN.
        surface = spelling.surfaces.get(term) if len(term) >= MIN_SLIP_STEM else None
        if surface is not None:
            found.append(surface)
    return (min(found, key=lambda surface: rank.get(surface, len(rank))),) if found else ()


def _compound_parts(word: str, language: _Spelling, stem: Callable[[str], str]) -> tuple[str, ...]:
    """Two words of the knowledge base that `word` is written as, run together ("powerbank" where the help
    center says "power banks", "giftcard", "Paketstation"); () when no cut gives two.

    Of several cuts, the one whose shorter part is longest: "mailbox" is "mail" + "box", never "mai" + "lbox".
    """
    best: tuple[str, ...] = ()
    shortest = 0
    for cut in range(MIN_PART, len(word) - MIN_PART + 1):
        head = language.surfaces.get(stem(word[:cut]))
        tail = language.surfaces.get(stem(word[cut:]))
        if head and tail and min(cut, len(word) - cut) > shortest:
            best, shortest = (head, tail), min(cut, len(word) - cut)
    return best


def _embed_words(
    embedder: Embedder, words: list[str], stop: threading.Event | None
) -> npt.NDArray[np.float32]:
    parts: list[npt.NDArray[np.float32]] = []
    for start in range(0, len(words), EMBED_BATCH):
        if stop is not None and stop.is_set():
            raise BridgeStoppedError
        batch = words[start : start + EMBED_BATCH]
        parts.append(np.asarray(embedder.embed_queries(batch), dtype=np.float32))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def _normalised(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        return matrix.reshape(0, 0) if matrix.ndim != 2 else matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def vocabulary_bridge(
    words: Mapping[str, Sequence[str]],
    embedder: Embedder,
    index: str,
    vectors: Mapping[str, npt.NDArray[np.float32]] | None = None,
    stop: threading.Event | None = None,
) -> VocabularyBridge | None:
    """The bridge of an index's stored words; None when it has none, or when embedding them fails (logged:
    search then goes on with the query's own words only), or once `stop` is set (not logged as a failure:
    its knowledge base closed, and the embedder with it)."""
    words = {key: [w for w in entries if _WORD.fullmatch(w)] for key, entries in words.items()}
    if not any(words.values()):
        return None
    started = time.perf_counter()
    try:
        bridge = VocabularyBridge(words, embedder, vectors, stop)
    except Exception as exc:  # noqa: BLE001 - a bridge is an aid: search goes on without it
        if stop is not None and stop.is_set():
            # A one-shot command (`ask`, `kb search`) ended before the words were embedded: the embedder it
            # closed is what failed (RuntimeError "the embedder is closed"), not the bridge.
            log.debug("vocabulary bridge stopped: its knowledge base closed", extra={"index": index})
            return None
        log.warning(
            "vocabulary bridge unavailable: words the knowledge base never uses are searched as they are",
            extra={"index": index, "error": f"{exc.__class__.__name__}: {exc}"},
        )
        return None
    log.info(
        "vocabulary bridge ready",
        extra={"index": index, "words": bridge.size, "seconds": round(time.perf_counter() - started, 2)},
    )
    return bridge


async def build_vocabulary_bridge(
    words: Mapping[str, Sequence[str]],
    embedder: Embedder,
    index: str,
    vectors: Mapping[str, npt.NDArray[np.float32]] | None = None,
) -> VocabularyBridge | None:
    """`vocabulary_bridge` in a worker thread. Cancelled (its knowledge base closing), it tells the thread to
    stop: a thread cannot be cancelled, and would otherwise go on embedding into the embedder being closed and
    warn that the bridge failed."""
    stop = threading.Event()
    try:
        return await asyncio.to_thread(vocabulary_bridge, words, embedder, index, vectors, stop)
    except asyncio.CancelledError:
        stop.set()
        raise
