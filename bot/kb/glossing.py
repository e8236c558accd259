"""Chinese text embedded as its English dictionary gloss, for an English embedder that reads Chinese as noise.

The shipped embedder (all-MiniLM-L6-v2) was trained on English: two unrelated Chinese passages score cosine
0.5–0.8, and dense search added nothing on a Chinese knowledge base (the reload's fit gave it weight 0). Read
word by word through CC-CEDICT, the same Chinese becomes English words the model does know, on both sides,
passages as indexed and questions as asked: on the Chinese Debian Reference dense search went from MRR 0.19
to 0.67 and the fit gave it a weight again. Only what the embedder reads changes: BM25, the quotes and the
answers keep the text as written. A multilingual embedder of one's own needs none of this
(`BOT_EMBEDDINGS__GLOSS_CHINESE`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bot.kb.base import Embedder

# Between an embedder's own space and the glosser's name in an index's record (`bot.kb.reload.embedder_id`).
GLOSS_MARK = " +gloss="


class Glosser(Protocol):
    """Rewrites text in a language the embedder does not read into words of one it does."""

    @property
    def gloss_name(self) -> str:
        """Names the rewriting (languages and dictionary): part of the vector space an index records."""
        ...

    def gloss(self, text: str) -> str:
        """`text` as the embedder should read it; unchanged when nothing in it needs rewriting."""
        ...

    def ready(self, text: str) -> bool:
        """Whether `gloss(text)` reads nothing first (no dictionary to load for it): cheap."""
        ...


class GlossingEmbedder:
    """An `Embedder` that embeds `glosser.gloss(text)` in place of each text, questions and passages alike.

    `count_tokens` and `max_tokens` stay the inner model's on the text as written: the chunker sizes chunks
    by them, and a gloss is shorter in tokens than the Chinese it replaces (about half on the Debian
    Reference), so a chunk that fits as written fits glossed.
    """

    def __init__(self, inner: Embedder, glosser: Glosser) -> None:
        self.inner = inner
        self.glosser = glosser

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    @property
    def model_id(self) -> str:
        return f"{self.inner.model_id}{GLOSS_MARK}{self.glosser.gloss_name}"

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.inner.embed_queries([self.glosser.gloss(text) for text in texts])

    def embed_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.inner.embed_passages([self.glosser.gloss(text) for text in texts])

    def close(self) -> None:
        self.inner.close()


async def prepare_embedding(embedder: Embedder, query: str) -> None:
    """Read what `embedder` needs to embed `query` (a glosser's dictionary, on the first Chinese question),
    in a thread: a help center with no Chinese reads it only then, and counted in the search's 3 s the read
    (1–3 s on a busy machine) answered a trial's first Chinese question "I can't look that up right now"."""
    if isinstance(embedder, GlossingEmbedder) and not embedder.glosser.ready(query):
        await asyncio.to_thread(embedder.glosser.gloss, query)
