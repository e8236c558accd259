"""Build a synthetic training set in the export's format from knowledge folders (`python -m bot synth`).

Every sample is the bot's real prompt (`bot.rag.prompting.build_messages`) for a question in the language of
the section's document, as a reload labels it: the gold section among distractor sections chosen by word
overlap, numbered in random order. The reference answer is the gold section's opening sentences with its
`[n]`. A question in another language than English is asked in its own words, gets the prompt's rule to
answer in its language, and an answer without the English prefill, as the bot serves it. Unanswerable samples
(off-topic questions in the knowledge base's languages, or a question whose gold section is left out) teach
the prompt's rule 3, "I don't know.", in the question's language. The split is by question, so held-out
questions are unseen. Each language's question forms and refusal are in `synth_languages.json`; its
off-topic questions are the ones the refusal gate is calibrated with (`bot/kb/off_topic.json`).
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain import ChatMessage
from bot.kb.calibration import off_topic_questions
from bot.rag.prompting import with_prefill as with_prefill  # shapes the references; importable here as before
from bot.train.data import write_chat_jsonl

if TYPE_CHECKING:
    from bot.kb.parsers import Document
    from bot.rag.citations import PassageUnit

# Prompt rule 3's words: the refusal of an English question, and of one in a language without its own.
REFUSAL_ANSWER = "I don't know."

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# A heading that already asks is the question as it is.
_ASKS = ("?", "？")
# Languages that write their nouns with a capital: a heading's first word keeps it inside a question.
_CAPITALISED_NOUNS = frozenset(["de", "lb"])
# Chinese, Japanese and Korean letters; Han and kana are written without spaces between words.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Where CJK sentences meet without a space: those letters, and CJK punctuation (。！？ and full-width forms).
_UNSPACED_TEXT = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_LETTER = re.compile(r"[^\W_]")


@dataclass(frozen=True, slots=True)
class SynthLanguage:
    """What a language's samples are made of: the forms a heading is asked in (`{h}` is the heading) and the
    reference answer when the passages do not answer (`synth_languages.json`), and questions no help center
    answers (`bot.kb.calibration.off_topic_questions`). A language without forms asks its headings as they
    are, one without its own refusal gets `REFUSAL_ANSWER`, one without off-topic questions gets none: never
    English words around its text."""

    questions: tuple[str, ...] = ()
    refusal: str = REFUSAL_ANSWER
    off_topic: tuple[str, ...] = ()


@cache
def _languages() -> dict[str, SynthLanguage]:
    raw = json.loads(
        resources.files("bot.train").joinpath("synth_languages.json").read_text(encoding="utf-8")
    )
    return {
        code: SynthLanguage(
            questions=tuple(entry.get("questions", ())),
            refusal=entry.get("refusal", REFUSAL_ANSWER),
            off_topic=off_topic_questions(code),
        )
        for code, entry in raw.items()
    }


@cache
def synth_language(tag: str) -> SynthLanguage:
    """The samples' words for a language tag ("de", "zh-Hant"): Traditional Chinese has the Simplified ones
    in its characters, as its customers write."""
    from bot.chinese import TRADITIONAL, to_traditional
    from bot.language import language_tag

    languages = _languages()
    tag = language_tag(tag)
    if tag in languages:
        return languages[tag]
    if tag == TRADITIONAL:
        simplified = languages.get("zh", SynthLanguage())
        return SynthLanguage(
            questions=tuple(to_traditional(form) for form in simplified.questions),
            refusal=to_traditional(simplified.refusal),
            off_topic=off_topic_questions(tag),
        )
    return SynthLanguage(off_topic=off_topic_questions(tag))


@dataclass(frozen=True, slots=True)
class Entry:
    """One knowledge section usable as a gold passage; `question` is what a user would ask about it, in
    `lang`, its document's language as a reload labels it ("zh-Hant" for a document in Traditional script)."""

    corpus: str
    source: str
    heading: str
    text: str
    url: str
    question: str
    lang: str


def _words(text: str) -> set[str]:
    from bot.rag.citations import STOPWORDS

    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 2}


@lru_cache(maxsize=8192)
def _terms(text: str, lang: str) -> frozenset[str]:
    """The index terms of text in `lang` (`bot.kb.analysis`): stems without stop words, CJK as bigrams."""
    from bot.kb.analysis import analyzer

    return frozenset(analyzer(lang).terms(text))


def _overlap_terms(text: str, lang: str) -> frozenset[str] | set[str]:
    # English keeps its own word sets, so that its samples stay the same; `_terms` works in every script.
    return _words(text) if lang == "en" else _terms(text, lang)


def _size(text: str) -> int:
    """The length of `text` in words, in any script: Chinese and Japanese write no spaces between words,
    so two of their characters (about a word's length) count as one."""
    unspaced = len(_UNSPACED.findall(text))
    spaced = sum(1 for token in _UNSPACED.sub(" ", text).split() if _LETTER.search(token))
    return spaced + (unspaced + 1) // 2


def _clip_words(text: str, limit: int) -> str:
    """At most `limit` words (layout kept, as the KB chunk has it), cut at a sentence end when one is near."""
    text = text.strip()
    ends = [m.end() for m in re.finditer(r"\S+", text)]
    if len(ends) <= limit:
        return text
    clipped = text[: ends[limit - 1]]
    cut = max(clipped.rfind(". "), clipped.rfind(".\n"), clipped.rfind("? "), clipped.rfind("! "))
    if cut > len(clipped) // 2:
        return clipped[: cut + 1]
    return clipped.rstrip(",;:") + " ..."


def _clip_to(text: str, limit: int) -> str:
    """`_clip_words` in any script: at most about `limit` words (`_size`), cut as the bot trims a passage for
    its prompt (`trim_passage`: at a sentence end, after 。！？ too, its layout kept; else at a word, else
    within a run of CJK text)."""
    from bot.rag.prompting import Passage, trim_passage

    return trim_passage(Passage("", "", text.strip()), limit, _size).text


def _answer_from(text: str, max_words: int) -> str:
    """The opening sentences of a passage, without markup, as a short extractive answer."""
    flat = " ".join(text.replace("**", "").replace("`", "").split())
    sentences = _SENTENCE_END.split(flat)
    answer = ""
    for sentence in sentences:
        candidate = f"{answer} {sentence}".strip()
        if answer and len(candidate.split()) > max_words:
            break
        answer = candidate
        if len(answer.split()) >= max_words // 2:
            break
    if len(answer.split()) > max_words:
        answer = " ".join(answer.split()[:max_words]).rstrip(",;:") + " ..."
    return answer


def _opening(text: str, max_words: int) -> str:
    """`_answer_from` in any script: the passage's opening sentences, split as the bot's extractive answers
    split them (`passage_units`: a sentence ends at 。！？ with no space after it, or at a full stop before
    an upper-case letter of any alphabet), from the first that is no heading or label up to the next one,
    until half of `max_words` (`_size`); list items keep their marks, one a line, after the line that leads
    into them."""
    from bot.rag.citations import passage_units
    from bot.rag.prompting import Passage, trim_passage

    units = passage_units(text)
    answer = ""
    previous: PassageUnit | None = None
    for unit in units:
        if unit.label and not unit.text.endswith((":", "：")):
            if answer:
                break
            continue
        if previous is None:
            candidate = unit.line
        elif unit.item or previous.item or unit.block != previous.block:
            candidate = f"{answer}\n{unit.line}"
        else:
            # CJK sentences follow one another without a space.
            joint = "" if _UNSPACED_TEXT.match(answer[-1]) and _UNSPACED_TEXT.match(unit.text[0]) else " "
            candidate = answer + joint + unit.text
        if answer and _size(candidate) > max_words:
            break
        answer, previous = candidate, unit
        if _size(answer) >= max_words // 2:
            break
    if not answer:
        # Headings and labels only ("Opening hours" over short lines): the text itself, without its markup.
        answer = " ".join(unit.line for unit in units)
    if _size(answer) > max_words:
        answer = trim_passage(Passage("", "", answer), max_words, _size).text
    return answer


def _question(heading: str, lang: str, rng: random.Random) -> str:
    """What a customer writing in `lang` asks about a section titled `heading`: the heading in one of that
    language's question forms, or the heading itself (a heading that asks, or a language without forms)."""
    from bot.language import normalize

    forms = synth_language(lang).questions
    if heading.endswith(_ASKS) or not forms:
        return heading
    form = rng.choice(forms)
    lowered = heading[:2].istitle() and normalize(lang) not in _CAPITALISED_NOUNS
    return form.replace("{h}", heading[0].lower() + heading[1:] if lowered else heading)


def _document_language(document: Document) -> str:
    """The language a reload labels the document's passages with (`document_language`, voted over its
    sections), with Chinese in Traditional characters as "zh-Hant": its customers ask in them, and the
    bot's prompt then names the script ("Chinese (Traditional)")."""
    from bot.chinese import TRADITIONAL, is_traditional
    from bot.domain import Chunk
    from bot.kb.reload import document_language
    from bot.language import DOCUMENT_SAMPLE_CHARS, UNDETERMINED

    pieces = [
        Chunk(
            id=f"{document.source}#{position}",
            source=document.source,
            heading=section.heading,
            heading_path=section.heading_path,
            position=position,
            text=section.text,
            content_hash="",
        )
        for position, section in enumerate(document.sections)
    ]
    if not pieces:
        return UNDETERMINED
    lang = document_language(pieces)[0].lang
    written = "\n".join(f"{section.heading}\n{section.text}" for section in document.sections)
    if lang == "zh" and is_traditional(written[:DOCUMENT_SAMPLE_CHARS]):
        return TRADITIONAL
    return lang


def load_entries(root: Path, corpus: str, rng: random.Random, passage_words: int) -> list[Entry]:
    """Sections of every supported file under `root`, via the KB's own loaders, asked about in the language
    of their document."""
    from bot.kb.loaders import LoadError, is_supported, iter_files, load_file

    entries: list[Entry] = []
    for path in iter_files(root):
        if not is_supported(path) or path.name == "index.rst":
            continue
        try:
            document = load_file(path, root, max_file_mb=20)
        except (LoadError, OSError, ValueError) as exc:
            print(f"skipping {path}: {exc}", file=sys.stderr)
            continue
        lang = _document_language(document)
        for section in document.sections:
            heading = section.heading.strip()
            if lang == "en":
                text = _clip_words(section.text, passage_words)
                size = len(text.split())
            else:
                text = _clip_to(section.text, passage_words)
                size = _size(text)
            if not heading or size < 8:
                continue
            question = _question(heading, lang, rng)
            source = f"{corpus}/{document.source}" if corpus else document.source
            entries.append(Entry(corpus, source, heading, text, section.url, question, lang))
    return entries


def _distractors(
    question: str, lang: str, exclude: Entry | None, pool: Sequence[Entry], rng: random.Random, count: int
) -> list[Entry]:
    wanted = _overlap_terms(question, lang)
    scored = sorted(
        (e for e in pool if exclude is None or (e.heading != exclude.heading and e.text != exclude.text)),
        key=lambda e: (
            -len(wanted & _overlap_terms(e.heading + " " + e.text, "en" if lang == "en" else e.lang)),
            e.source,
            e.heading,
        ),
    )
    top = scored[: max(count * 3, count)]
    return rng.sample(top, min(count, len(top)))


def _sample(question: str, passages: list[Entry], answer: str, language: str) -> list[ChatMessage]:
    """The bot's prompt, with its rule to answer in `language` (`answer_language`; "" for none), then
    `answer`."""
    from bot.rag.prompting import Passage, build_messages

    messages = build_messages(
        question, [Passage(p.source, p.heading, p.text, p.url) for p in passages], language=language
    )
    return [*messages, ChatMessage("assistant", answer)]


@dataclass(frozen=True, slots=True)
class SynthStats:
    train: int
    heldout: int
    answerable: int
    unanswerable: int
    entries: int


def build(
    roots: Sequence[tuple[str, Path]],
    out_dir: Path,
    *,
    seed: int = 0,
    heldout: float = 0.12,
    passages: int = 3,
    passage_words: int = 60,
    answer_words: int = 40,
    no_gold_share: float = 0.12,
    gold_first_share: float = 0.8,
) -> SynthStats:
    from bot.language import answer_language
    from bot.rag.prompting import load_templates

    prefill = load_templates().prefill
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    corpora: dict[str, list[Entry]] = {}
    for corpus, root in roots:
        # Folders of one name (`--source a --source b`, both unnamed) are one corpus: the later no longer
        # replaces the earlier, whose sections were silently left out.
        corpora.setdefault(corpus, []).extend(load_entries(root, corpus, rng, passage_words))
    all_entries = [e for entries in corpora.values() for e in entries]
    if not all_entries:
        raise ValueError("no usable sections in the given folders")

    # Each group is one question and every sample made from it, so a held-out question is never trained on.
    # Keyed by the question's text: two sections with one heading ("Can I send food?" in two files) ask the
    # same question, and must land on the same side of the split.
    by_question: dict[str, list[list[ChatMessage]]] = {}
    answerable = unanswerable = 0
    for entry in all_entries:
        pool = corpora[entry.corpus]
        chosen = [entry, *_distractors(entry.question, entry.lang, entry, pool, rng, passages - 1)]
        # The bot numbers passages in retrieval order, so the answering one is usually [1] (and its prefill
        # names [1]); a sample shows that most of the time, and the answer elsewhere the rest.
        if rng.random() < gold_first_share:
            tail = chosen[1:]
            rng.shuffle(tail)
            chosen = [entry, *tail]
        else:
            rng.shuffle(chosen)
        number = chosen.index(entry) + 1
        # A question in another language than English gets the prompt's rule to answer in it, and no prefill:
        # the prefill is English, and the bot writes none for such a question (nor does the export's target).
        rule = answer_language(entry.lang)
        if entry.lang == "en":
            answer = _answer_from(entry.text, answer_words)
        else:
            answer = _opening(entry.text, answer_words)
        answer = with_prefill(answer, entry.text, number, "" if rule else prefill)
        group = [_sample(entry.question, chosen, answer, rule)]
        answerable += 1
        if rng.random() < no_gold_share:
            distractors = _distractors(entry.question, entry.lang, entry, pool, rng, passages)
            group.append(_sample(entry.question, distractors, synth_language(entry.lang).refusal, rule))
            unanswerable += 1
        by_question.setdefault(entry.question, []).extend(group)
    # Off-topic questions in each language the knowledge base is written in (English first, as it always
    # was), among passages of that language: what a customer of that help center would ask it.
    corpus_names = sorted(corpora)
    for lang in sorted({e.lang for e in all_entries}, key=lambda code: (code != "en", code)):
        words = synth_language(lang)
        rule = answer_language(lang)
        names = [name for name in corpus_names if any(e.lang == lang for e in corpora[name])]
        for question in words.off_topic:
            pool = [e for e in corpora[rng.choice(names)] if e.lang == lang]
            sample = _sample(
                question, _distractors(question, lang, None, pool, rng, passages), words.refusal, rule
            )
            by_question.setdefault(question, []).append(sample)
            unanswerable += 1
    groups = list(by_question.values())

    rng.shuffle(groups)
    n_heldout = max(1, round(len(groups) * heldout))
    held = [s for g in groups[:n_heldout] for s in g]
    train = [s for g in groups[n_heldout:] for s in g]
    write_chat_jsonl(out_dir / "train.jsonl", train)
    write_chat_jsonl(out_dir / "heldout.jsonl", held)
    stats = SynthStats(
        train=len(train),
        heldout=len(held),
        answerable=answerable,
        unanswerable=unanswerable,
        entries=len(all_entries),
    )
    (out_dir / "synth-stats.json").write_text(
        json.dumps({**asdict(stats), "seed": seed, "roots": [str(r) for _, r in roots]}, indent=2) + "\n",
        encoding="utf-8",
    )
    return stats


if __name__ == "__main__":
    # Moved into the one CLI; the old entry point says where, instead of keeping a second CLI framework.
    sys.stderr.write("error: `python -m bot.train.synth` is now `python -m bot synth` (same options)\n")
    raise SystemExit(2)
