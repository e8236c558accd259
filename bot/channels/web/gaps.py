"""Content gaps: refused and 👎 questions grouped by meaning with the loaded embedder."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.kb.base import Embedder
from bot.store.insights import GapQuestion

# Cosine similarity at which two questions count as the same gap. Measured with the shipped all-MiniLM-L6-v2
# on support questions: close rewordings 0.62-0.89 ("reset my password" / "forgot my password"), loose ones
# 0.36-0.45 ("track my parcel" / "where is my package"), different questions 0.09-0.55 ("change my delivery
# address" / "change my email address" 0.55). 0.6 merges the close rewordings and keeps different questions
# apart; loose rewordings stay separate groups (safer than a cut-off that merges different questions).
SAME_GAP = 0.6


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


def group_gaps(
    questions: Sequence[GapQuestion], embedder: Embedder | None, threshold: float = SAME_GAP
) -> list[GapGroup]:
    """Greedy grouping: each question joins the first group whose first question is at least `threshold`
    similar, else starts one. Without an embedder only identical questions (ignoring case) group.
    Biggest groups first. CPU-bound: call it in a worker thread."""
    if not questions:
        return []
    groups: list[GapGroup] = []
    if embedder is None:
        by_text: dict[str, GapGroup] = {}
        for q in questions:
            by_text.setdefault(" ".join(q.question.lower().split()), GapGroup()).questions.append(q)
        groups = list(by_text.values())
    else:
        # Questions are embedded as queries (models such as e5 prefix questions and passages differently).
        vectors = np.asarray(embedder.embed_queries([q.question for q in questions]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)
        heads: list[int] = []
        for i, q in enumerate(questions):
            best, best_sim = -1, threshold
            for g, head in enumerate(heads):
                sim = float(vectors[i] @ vectors[head])
                if sim >= best_sim:
                    best, best_sim = g, sim
            if best < 0:
                heads.append(i)
                groups.append(GapGroup([q]))
            else:
                groups[best].questions.append(q)
    groups.sort(key=lambda g: (-g.count, -g.questions[0].answer_id))
    return groups
