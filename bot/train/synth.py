"""Build a synthetic training set in the export's format from knowledge folders (`python -m bot.train.synth`).

Every sample is the bot's real prompt (`bot.rag.prompting.build_messages`): the gold section among distractor
sections chosen by word overlap, numbered in random order. The reference answer is the gold section's opening
sentences with its `[n]`. Unanswerable samples (off-topic questions, or a question whose gold section is left
out) teach the prompt's rule 3, "I don't know.". The split is by question, so held-out questions are unseen.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.domain import ChatMessage
from bot.rag.prompting import with_prefill as with_prefill  # shapes the references; importable here as before
from bot.train.data import write_chat_jsonl

REFUSAL_ANSWER = "I don't know."

OFF_TOPIC = (
    "What is the capital of Australia?",
    "Can you recommend a good pizza place near me?",
    "How do I bake sourdough bread at home?",
    "Who won the football world cup in 2014?",
    "What's the weather going to be like tomorrow?",
    "How many moons does Jupiter have?",
    "Can you write me a poem about autumn?",
    "What is the best way to learn to play the guitar?",
    "How do I change a flat tyre on my bike?",
    "What should I cook for dinner tonight?",
    "How tall is Mount Everest?",
    "Which stocks should I buy this year?",
    "How do I get rid of aphids on my roses?",
    "What's a good name for a golden retriever puppy?",
    "Can you translate 'good morning' into Japanese?",
    "How long should I boil an egg for a runny yolk?",
    "What are the symptoms of the flu?",
    "Who painted the Mona Lisa?",
    "How do I train for a marathon in three months?",
    "What is the speed of light in a vacuum?",
    "Can you help me with my calculus homework?",
    "What time does the sun set in Oslo in December?",
    "How do I knit a scarf for beginners?",
    "Which is better for a first car, petrol or electric?",
    "What's the plot of Hamlet?",
    "How do I clean a cast iron pan?",
    "How much does it cost to fly to New York?",
    "What's the difference between a crocodile and an alligator?",
    "How do I fix a dripping kitchen tap?",
    "Can you tell me a joke about cats?",
    "What's the population of Brazil?",
    "Which vitamins are in spinach?",
    "How do I set up a home aquarium?",
    "Who was the first person on the moon?",
    "How do I grow tomatoes on a balcony?",
    "What's a healthy breakfast for kids?",
    "Can you book me a table for two on Friday?",
    "How do I meditate properly?",
    "What is the tallest building in the world?",
    "How do I write a cover letter for a job application?",
    "What are the rules of chess castling?",
    "How many calories are in a banana?",
    "Why is the sky blue?",
    "How do I remove a red wine stain from a carpet?",
    "What's the best laptop for gaming under 1000 dollars?",
    "How do volcanoes form?",
    "Which language is spoken in Brazil?",
    "How do I make cold brew coffee?",
)

_KB_QUESTION_FORMS = (
    "{h}?",
    "Can you tell me about {h}?",
    "I need help with {h}.",
    "What does the help center say about {h}?",
    "How does {h} work?",
    "Question about {h}, please.",
)
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass(frozen=True, slots=True)
class Entry:
    """One knowledge section usable as a gold passage; `question` is what a user would ask about it."""

    corpus: str
    source: str
    heading: str
    text: str
    url: str
    question: str


def _words(text: str) -> set[str]:
    from bot.rag.citations import STOPWORDS

    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 2}


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


def load_entries(root: Path, corpus: str, rng: random.Random, passage_words: int) -> list[Entry]:
    """Sections of every supported file under `root`, via the KB's own loaders."""
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
        for section in document.sections:
            heading = section.heading.strip()
            text = _clip_words(section.text, passage_words)
            if not heading or len(text.split()) < 8:
                continue
            if heading.endswith("?"):
                question = heading
            else:
                form = rng.choice(_KB_QUESTION_FORMS)
                question = form.format(
                    h=heading[0].lower() + heading[1:] if heading[:2].istitle() else heading
                )
            source = f"{corpus}/{document.source}" if corpus else document.source
            entries.append(Entry(corpus, source, heading, text, section.url, question))
    return entries


def _distractors(
    question: str, exclude: Entry | None, pool: Sequence[Entry], rng: random.Random, count: int
) -> list[Entry]:
    wanted = _words(question)
    scored = sorted(
        (e for e in pool if exclude is None or (e.heading != exclude.heading and e.text != exclude.text)),
        key=lambda e: (-len(wanted & _words(e.heading + " " + e.text)), e.source, e.heading),
    )
    top = scored[: max(count * 3, count)]
    return rng.sample(top, min(count, len(top)))


def _sample(question: str, passages: list[Entry], answer: str) -> list[ChatMessage]:
    from bot.rag.prompting import Passage, build_messages

    messages = build_messages(question, [Passage(p.source, p.heading, p.text, p.url) for p in passages])
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
    from bot.rag.prompting import load_templates

    prefill = load_templates().prefill
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    corpora: dict[str, list[Entry]] = {}
    for corpus, root in roots:
        corpora[corpus] = load_entries(root, corpus, rng, passage_words)
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
        chosen = [entry, *_distractors(entry.question, entry, pool, rng, passages - 1)]
        # The bot numbers passages in retrieval order, so the answering one is usually [1] (and its prefill
        # names [1]); a sample shows that most of the time, and the answer elsewhere the rest.
        if rng.random() < gold_first_share:
            tail = chosen[1:]
            rng.shuffle(tail)
            chosen = [entry, *tail]
        else:
            rng.shuffle(chosen)
        number = chosen.index(entry) + 1
        answer = with_prefill(_answer_from(entry.text, answer_words), entry.text, number, prefill)
        group = [_sample(entry.question, chosen, answer)]
        answerable += 1
        if rng.random() < no_gold_share:
            group.append(
                _sample(
                    entry.question, _distractors(entry.question, entry, pool, rng, passages), REFUSAL_ANSWER
                )
            )
            unanswerable += 1
        by_question.setdefault(entry.question, []).extend(group)
    corpus_names = sorted(corpora)
    for question in OFF_TOPIC:
        pool = corpora[rng.choice(corpus_names)]
        sample = _sample(question, _distractors(question, None, pool, rng, passages), REFUSAL_ANSWER)
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
