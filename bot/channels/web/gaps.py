"""Content gaps: refused and 👎 questions grouped by meaning within each language (cosine or shared words)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.kb.analysis import FALLBACK_QUESTION_LANGUAGE, analyzer, question_language
from bot.kb.base import Embedder
from bot.kb.calibration import Calibration
from bot.kb.fusion import DENSE_WEIGHT
from bot.language import UNDETERMINED, normalize
from bot.store.insights import GapQuestion

# Cosine similarity at which two questions count as the same gap. Measured with the shipped all-MiniLM-L6-v2
# on support questions: close rewordings 0.62-0.89 ("reset my password" / "forgot my password"), loose ones
# 0.36-0.45 ("track my parcel" / "where is my package"), different questions 0.09-0.55 ("change my delivery
# address" / "change my email address" 0.55). 0.6 merges the close rewordings and keeps different questions
# apart; loose rewordings stay separate groups (safer than a cut-off that merges different questions).
SAME_GAP = 0.6
# Jaccard similarity of two questions' words (stop words out, stemmed; Chinese segmented by jieba) at which
# they count as the same gap, in a language whose cosines are not trusted (`cosine_languages`). Measured on
# the rewordings and different questions in tests/web/test_gaps.py (9 topics, 25 rewording pairs and 300
# different pairs per language): rewordings zh 0.00-1.00 (median 0.50), fr 0.17-1.00 (0.67), de 0.00-1.00
# (0.50); different questions zh 0.00-0.25, fr 0.00-0.50 ("Je veux modifier l'adresse de livraison" /
# "Modifier mon adresse email", "Mon colis est perdu" / "Où en est mon colis ?"), de 0.00-0.33. 0.6 merges
# 10, 13 and 7 of the 25 rewording pairs and none of the different ones; as with SAME_GAP, looser
# rewordings ("退款多久能到账" / "退款要多长时间到账" 0.60 is in, "忘记密码了怎么办" / "怎么重置密码" 0.25
# is not) stay apart.
# Chinese character bigrams (what search indexes) did worse: rewordings median 0.20, different up to 0.40.
# MiniLM's cosines on the same questions: different Chinese ones 0.41-1.00 (99 of 300 at 0.6 or more),
# French up to 0.80 (7), German up to 0.77 (9).
SAME_TERMS = 0.6


@dataclass
class GapGroup:
    """Questions that ask the same thing, with what the bot retrieved for them and what people said."""

    questions: list[GapQuestion] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.questions[0].question

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def refused(self) -> int:
        return sum(1 for q in self.questions if q.outcome == "refused")

    @property
    def thumbs_down(self) -> int:
        return sum(1 for q in self.questions if q.rating == "down")

    @property
    def comments(self) -> list[str]:
        return [q.comment for q in self.questions if q.comment]

    @property
    def articles(self) -> list[tuple[str, int]]:
        found = Counter(
            f"{q.source} › {q.heading}" if q.heading else q.source for q in self.questions if q.source
        )
        return found.most_common()


def cosine_languages(calibration: Calibration | None) -> frozenset[str]:
    """The languages whose questions the embedder's cosine groups: English, where SAME_GAP was measured (and
    which the calibration always gives the full dense weight), and each language in which the knowledge
    base's calibration found dense search as strong as in English (the full `DENSE_WEIGHT`).

    A weaker language keeps its words: SAME_GAP does not carry over to it (MiniLM, French dense weight 0.53,
    scores different French questions up to 0.80, Chinese, weight 0, up to 1.00). So does a language the
    knowledge base has no sections in: nothing measured the embedder on it."""
    weights: dict[str, list[float]] = {}
    for fit in calibration.languages if calibration is not None else ():
        weights.setdefault(normalize(fit.lang), []).append(fit.dense_weight)
    strong = {lang for lang, found in weights.items() if min(found) >= DENSE_WEIGHT}
    return frozenset({FALLBACK_QUESTION_LANGUAGE, *strong})


def _language(question: GapQuestion) -> str:
    """The language the question was read in when asked (with the channel's hint: "track my parcel" alone
    reads as French), else detected now."""
    known = normalize(question.language)
    return known if known != UNDETERMINED else question_language(question.question)


def _same_text(text: str) -> str:
    return " ".join(text.lower().split())


def question_terms(text: str, lang: str) -> frozenset[str]:
    """The words a question is grouped by where cosines are not trusted: its language's analysis
    (`bot.kb.analysis`), stop words out, each word stemmed, Chinese segmented by jieba and folded into
    Simplified."""
    words = analyzer(lang)
    return frozenset(words.stem(word) for word in words.words(text))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _greedy(count: int, similarity: Callable[[int, int], float], threshold: float) -> list[list[int]]:
    """Each item joins the group whose first item it is most similar to, at least `threshold`, else starts
    one."""
    groups: list[list[int]] = []
    for i in range(count):
        best, best_sim = -1, threshold
        for g, members in enumerate(groups):
            sim = similarity(i, members[0])
            if sim >= best_sim:
                best, best_sim = g, sim
        if best < 0:
            groups.append([i])
        else:
            groups[best].append(i)
    return groups


def group_gaps(
    questions: Sequence[GapQuestion],
    embedder: Embedder | None,
    threshold: float = SAME_GAP,
    *,
    cosine: Collection[str] = frozenset({FALLBACK_QUESTION_LANGUAGE}),
    terms_threshold: float = SAME_TERMS,
) -> list[GapGroup]:
    """Greedy grouping among the questions of one language (`question_language`): each question joins the
    group whose first question is the most similar, at least `threshold` by the embedder's cosine in the
    languages of `cosine` (`cosine_languages`), at least `terms_threshold` by their words' Jaccard in the
    others; else it starts one. Without an embedder only identical questions (ignoring case) group.
    Biggest groups first. CPU-bound: call it in a worker thread."""
    if not questions:
        return []
    groups: list[GapGroup] = []
    if embedder is None:
        by_text: dict[str, GapGroup] = {}
        for q in questions:
            by_text.setdefault(_same_text(q.question), GapGroup()).questions.append(q)
        groups = list(by_text.values())
    else:
        by_language: dict[str, list[GapQuestion]] = {}
        for q in questions:
            by_language.setdefault(_language(q), []).append(q)
        for lang, asked in by_language.items():
            if lang in cosine:
                similar = _cosines(asked, embedder)
                cut = threshold
            else:
                similar = _overlaps(asked, lang)
                cut = terms_threshold
            groups.extend(
                GapGroup([asked[i] for i in members]) for members in _greedy(len(asked), similar, cut)
            )
    groups.sort(key=lambda g: (-g.count, -g.questions[0].answer_id))
    return groups


def _cosines(questions: Sequence[GapQuestion], embedder: Embedder) -> Callable[[int, int], float]:
    # Questions are embedded as queries (models such as e5 prefix questions and passages differently).
    vectors = np.asarray(embedder.embed_queries([q.question for q in questions]), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)
    return lambda i, j: float(vectors[i] @ vectors[j])


def _overlaps(questions: Sequence[GapQuestion], lang: str) -> Callable[[int, int], float]:
    texts = [_same_text(q.question) for q in questions]
    terms = [question_terms(q.question, lang) for q in questions]
    # The same words typed again always group, even when all of them are stop words.
    return lambda i, j: 1.0 if texts[i] == texts[j] else _jaccard(terms[i], terms[j])
