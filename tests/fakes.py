"""Fakes for the Protocol boundaries: deterministic, fast, and honest about what they do."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Sequence

import numpy as np
import numpy.typing as npt

from bot.domain import ChatMessage, Chunk, Hit
from bot.kb.base import KBStats, KBUnavailableError, ProgressCallback, ReloadReport, SearchMode, outline_of
from bot.kb.calibration import Calibration
from bot.kb.reload import Sources
from bot.llm.base import GeneratorError, ModelInfo

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Hashed bag-of-words vectors: texts sharing words get high cosine, which is all tests need.

    Like the real one, it puts `query_prefix` / `passage_prefix` before questions / passages, and names them
    in `model_id`; `queries` and `passages` record every text as it reached `embed`, prefix included.
    """

    def __init__(self, dim: int = 64, *, query_prefix: str = "", passage_prefix: str = "") -> None:
        self._dim = dim
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.queries: list[str] = []
        self.passages: list[str] = []
        self.calls = 0
        self.closed = False

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return 256

    @property
    def model_id(self) -> str:
        if not (self.query_prefix or self.passage_prefix):
            return ""
        return f"query={self.query_prefix!r} passage={self.passage_prefix!r}"

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        prefixed = [self.query_prefix + t for t in texts]
        self.queries.extend(prefixed)
        return self.embed(prefixed)

    def embed_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        prefixed = [self.passage_prefix + t for t in texts]
        self.passages.extend(prefixed)
        return self.embed(prefixed)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self._dim] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out

    def close(self) -> None:
        self.closed = True


class FakeGenerator:
    """Answers from the first passage in the prompt and cites it, streaming word by word."""

    def __init__(
        self,
        reply: str | None = None,
        *,
        fail: bool = False,
        delay_s: float = 0.0,
        n_ctx: int = 2048,
        n_params: int = 0,
    ) -> None:
        self.reply = reply
        self.n_params = n_params
        self.fail = fail
        self.delay_s = delay_s
        self._n_ctx = n_ctx
        self.prompts: list[list[ChatMessage]] = []
        self.stops: list[tuple[str, ...]] = []
        self.reloads = 0
        # Pieces taken from all streams: fewer than written when a stream is closed early.
        self.pieces_sent = 0

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="fake-model", version="fake0001", n_ctx=self._n_ctx, n_params=self.n_params)

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def count_chat_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count_tokens(m.content) + 4 for m in messages)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        user_key: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str]:
        self.prompts.append(list(messages))
        self.stops.append(tuple(stop))
        if self.fail:
            raise GeneratorError("fake failure")
        text = self.reply if self.reply is not None else "According to the documentation, yes. [1]"
        for piece in re.findall(r"\S+\s*", text):
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            self.pieces_sent += 1
            yield piece

    async def reload(self) -> ModelInfo:
        self.reloads += 1
        return self.info

    async def close(self) -> None:
        return None


class FakeKB:
    """A fixed list of chunks, searched by word overlap; can be switched to 'down'."""

    name = "fake"

    def __init__(self, chunks: Sequence[Chunk] = (), *, down: bool = False) -> None:
        self.chunks = list(chunks)
        self.down = down
        self.searches: list[str] = []
        self.gate = Calibration()  # the default gate: word overlap stands in for the cosine

    async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        self.searches.append(query)
        if self.down:
            raise KBUnavailableError("fake KB is down")
        words = set(_WORD.findall(query.lower()))
        scored = []
        for chunk in self.chunks:
            overlap = len(words & set(_WORD.findall((chunk.heading + " " + chunk.text).lower())))
            if overlap:
                scored.append((overlap / max(1, len(words)), chunk))
        scored.sort(key=lambda item: -item[0])
        return [
            Hit(chunk=c, score=s, rank=i + 1, bm25_rank=i + 1, dense_rank=i + 1, dense_score=s)
            for i, (s, c) in enumerate(scored[:k])
        ]

    async def reload(self, source: Sources, progress: ProgressCallback | None = None) -> ReloadReport:
        return ReloadReport(files=0, chunks=len(self.chunks), skipped=(), seconds=0.0, index="fake")

    async def stats(self) -> KBStats:
        return KBStats(backend="fake", index="fake", documents=1, chunks=len(self.chunks))

    async def indexed_sources(self) -> frozenset[str]:
        if self.down:
            raise KBUnavailableError("fake KB is down")
        return frozenset(chunk.source for chunk in self.chunks)

    async def calibration(self) -> Calibration:
        return self.gate

    async def missing_words(self, words: Sequence[str]) -> frozenset[str]:
        text = " ".join((c.heading + " " + c.text).lower() for c in self.chunks)
        return frozenset(w for w in words if w.lower() not in set(_WORD.findall(text)))

    async def outline(self, source: str) -> tuple[Chunk, ...]:
        if self.down:
            raise KBUnavailableError("fake KB is down")
        return outline_of(c for c in self.chunks if c.source == source)

    async def ping(self) -> None:
        if self.down:
            raise KBUnavailableError("fake KB is down")

    async def close(self) -> None:
        return None


def make_chunk(source: str, heading: str, text: str, position: int = 0) -> Chunk:
    return Chunk(
        id=f"{source}#{position}",
        source=source,
        heading=heading,
        heading_path=(heading,),
        position=position,
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


# A tiny help center shared by the pipeline and Telegram tests.
HELP_CENTER: list[Chunk] = [
    make_chunk(
        "billing/refunds.md",
        "Refunds",
        "Refunds are paid back to the original card within five business days.",
    ),
    make_chunk(
        "account/password.md",
        "Reset your password",
        "To reset your password open the sign in page and choose forgot password.",
        1,
    ),
    make_chunk(
        "shipping/times.md", "Shipping times", "Orders ship within two days from our Berlin warehouse.", 2
    ),
]
