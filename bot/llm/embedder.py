"""The knowledge base's sentence embedder: any GGUF embedding model through llama.cpp, pooled and batched."""

from __future__ import annotations

import ctypes
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bot.config import EmbeddingSettings
from bot.llm.base import ModelError, resolve_threads
from bot.llm.cpu_buffers import ExtraBuffers, extra_buffers_for_llama, use_extra_buffers
from bot.llm.gguf_file import GGUFInfo, check_embedder
from bot.llm.llama_log import native_debug, route_llama_log

log = logging.getLogger("bot.llm.embedder")

# llama.cpp attends across every token of a decode call, so one call's cost grows with the square of its token
# count, while tiny calls waste per-call overhead: ~256 tokens of packed sequences was fastest on 2 cores, and
# flash attention roughly doubled throughput for the F16 model (see `python -m bot bench embed`).
DEFAULT_PACK_TOKENS = 256
# Single questions whose vectors are kept for the next identical request (`embed_queries`).
RECENT_QUERIES = 64

PoolingSetting = Literal["auto", "mean", "cls", "last"]
Pooling = Literal["mean", "cls", "last"]
# What a model with no usable pooling in its metadata gets: sentence-transformers' own default, and what
# most BERT-family embedders (MiniLM, e5, gte) were trained with.
DEFAULT_POOLING: Pooling = "mean"
_POOLING_TYPES: dict[Pooling, int] = {"mean": 1, "cls": 2, "last": 3}  # llama.cpp's LLAMA_POOLING_TYPE_*


@dataclass(frozen=True, slots=True)
class PoolingChoice:
    """The pooling an embedder runs with, and why: "GGUF metadata", "BOT_EMBEDDINGS__POOLING" or "default"."""

    name: Pooling
    source: str
    model_pooling: str | None  # what the file's metadata says, if anything (may differ when overridden)

    @property
    def is_models_own(self) -> bool:
        return self.name == self.model_pooling


def choose_pooling(info: GGUFInfo, setting: PoolingSetting) -> PoolingChoice:
    """The setting when explicit; else `<arch>.pooling_type` from the GGUF metadata; else mean, warning.

    A reranker's metadata ("rank") and a chat model (no pooling, not an embedding architecture) are refused
    unless the setting overrides: their vectors are not meant to be compared by cosine.
    """
    own = info.pooling
    if setting != "auto":
        return PoolingChoice(setting, "BOT_EMBEDDINGS__POOLING", own)
    if own in _POOLING_TYPES:
        name: Pooling = "mean" if own == "mean" else "cls" if own == "cls" else "last"
        return PoolingChoice(name, "GGUF metadata", own)
    if own == "rank":
        raise ModelError(
            f"{info.path} is a reranker (its GGUF metadata says {info.architecture}.pooling_type = rank), "
            "not a sentence embedder; set BOT_EMBEDDINGS__POOLING to mean, cls or last to use it anyway"
        )
    if not info.is_embedding_model:
        # Pooling a chat model's states gives vectors, just not meaningful ones: refuse rather than guess.
        raise ModelError(
            f"{info.path} is a {info.architecture} model with no pooling in its metadata: a chat model, "
            "not a sentence embedder; set BOT_EMBEDDINGS__POOLING (last for decoder-based embedders) "
            "to use it anyway"
        )
    log.warning(
        "the embedder's GGUF metadata names no pooling: using %s pooling; set BOT_EMBEDDINGS__POOLING "
        "if the model was trained with another (cls for bge, last for decoder-based embedders)",
        DEFAULT_POOLING,
        extra={"path": str(info.path), "metadata_pooling": own or "absent"},
    )
    return PoolingChoice(DEFAULT_POOLING, "default", own)


def embedding_space(path: Path, pooling: PoolingChoice, query_prefix: str, passage_prefix: str) -> str:
    """Names the vector space: the model file, plus the pooling when not the file's own, plus the prefixes.

    An index stores it (as the embedder's `model_id`), so changing any of them asks for `kb reload`. The file
    is named without its folder: moving the data folder keeps the vectors valid.
    """
    parts = [path.name]
    if not pooling.is_models_own:
        parts.append(f"pooling={pooling.name}")
    if query_prefix:
        parts.append(f"query={query_prefix!r}")
    if passage_prefix:
        parts.append(f"passage={passage_prefix!r}")
    return " ".join(parts)


def describe_embedder(path: Path, settings: EmbeddingSettings) -> str:
    """The configured embedder from its GGUF header alone (no load): name, dimension, pooling, prefixes."""
    info = check_embedder(path, "BOT_EMBEDDINGS__MODEL_PATH")
    pooling = choose_pooling(info, settings.pooling)
    dim = f"{info.embedding_length}-dim" if info.embedding_length else "unknown dimension"
    prefixes = (
        f"query prefix {settings.query_prefix!r}, passage prefix {settings.passage_prefix!r}"
        if settings.query_prefix or settings.passage_prefix
        else "no prefixes"
    )
    return f"{info.name} ({info.architecture}, {dim}), {pooling.name} pooling ({pooling.source}), {prefixes}"


class LlamaEmbedder:
    """Implements `bot.kb.base.Embedder` on a GGUF embedding model (all-MiniLM-L6-v2 by default).

    `count_tokens` counts content tokens (no [CLS]/[SEP]); `max_tokens` is how many content tokens fit in the
    model's context beside the longer prefix. Longer texts are truncated by tokens, never an error. One lock
    serialises use of the llama.cpp context, so the object can be shared between threads.

    `embed_queries` and `embed_passages` put `query_prefix` / `passage_prefix` before each text (models such
    as e5 are trained with them); `embed` embeds texts as they are. `pooling` is a `BOT_EMBEDDINGS__POOLING`
    value: "auto" takes the GGUF metadata's (`choose_pooling`). Vectors are L2-normalised whatever the
    pooling.

    `cpu_extra_buffers` follows the generator's rule (`bot.llm.cpu_buffers`): "auto" keeps the weights out of
    ggml's AMX and repack buffers on a CPU with AMX.
    """

    def __init__(
        self,
        path: Path,
        *,
        n_threads: int,
        batch_size: int,
        pack_tokens: int = DEFAULT_PACK_TOKENS,
        flash_attn: bool = True,
        cpu_extra_buffers: ExtraBuffers = "auto",
        pooling: PoolingSetting = "auto",
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        import llama_cpp

        route_llama_log()
        info = check_embedder(path, "BOT_EMBEDDINGS__MODEL_PATH")
        if batch_size < 1 or pack_tokens < 8:
            raise ValueError("batch_size must be >= 1 and pack_tokens >= 8")
        if pooling != "auto" and pooling not in _POOLING_TYPES:
            raise ValueError(f"pooling must be auto, mean, cls or last, not {pooling!r}")
        self.pooling = choose_pooling(info, pooling)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._space = embedding_space(path, self.pooling, query_prefix, passage_prefix)
        threads = resolve_threads(n_threads)
        self.path = path
        self._lock = threading.Lock()
        # The latest single questions' vectors: one customer question is embedded by the approved-answer
        # matcher and again by the search right after it; the second reads it from here.
        self._recent: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._llama_cpp = llama_cpp
        # n_ctx = n_batch = n_ubatch = the trained context (capped for large embedders): a sequence of any
        # allowed length fits one decode.
        n_ctx_train = min(int(info.context_length or 512), 8192)
        self._max_seqs = max(1, min(batch_size, int(llama_cpp.llama_max_parallel_sequences())))
        try:
            # Same rule as the generator (bot.llm.cpu_buffers): ggml's AMX kernels crash in some VMs.
            with extra_buffers_for_llama(use_extra_buffers(cpu_extra_buffers)):
                self._llm: Any = llama_cpp.Llama(
                    model_path=str(path),
                    embedding=True,
                    n_ctx=n_ctx_train,
                    n_batch=n_ctx_train,
                    n_ubatch=n_ctx_train,
                    n_threads=threads,
                    n_threads_batch=threads,
                    flash_attn=flash_attn,
                    # Always explicit: without it llama.cpp takes the metadata's, which is "none" (no
                    # sentence vector at all) for a model converted without its pooling.
                    pooling_type=_POOLING_TYPES[self.pooling.name],
                    # llama-cpp-python's verbose mode also prints from Python; wanted only when debugging.
                    verbose=native_debug(),
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load the embedder {path}: {exc}") from None
        ctx = self._llm.ctx
        if int(llama_cpp.llama_pooling_type(ctx)) != _POOLING_TYPES[self.pooling.name]:
            # Only if llama.cpp ignored the request: then the vectors would not be what the index expects.
            self._llm.close()
            raise ModelError(
                f"llama.cpp did not apply {self.pooling.name} pooling to {path}; "
                "use a GGUF converted from a sentence-transformers model"
            )
        self._n_ctx = int(self._llm.n_ctx())
        self._dim = int(self._llm.n_embd())
        self._pack_tokens = min(pack_tokens, self._n_ctx)
        vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        self._sep = int(llama_cpp.llama_vocab_sep(vocab))
        if self._sep < 0:
            self._sep = int(llama_cpp.llama_vocab_eos(vocab))
        self._batch = llama_cpp.llama_batch_init(self._n_ctx, 0, 1)
        self._closed = False
        # Chunks are sized by `max_tokens`; the prefix shares the context, so it must not cut them short.
        prefixes = (query_prefix, passage_prefix)
        self._prefix_tokens = max(len(self._tokenize(p, special=False)) for p in prefixes)
        log.info(
            "embedder loaded",
            extra={
                "path": str(path),
                "dim": self._dim,
                "n_ctx": self._n_ctx,
                "threads": threads,
                "pooling": self.pooling.name,
                "pooling_from": self.pooling.source,
                "query_prefix": query_prefix,
                "passage_prefix": passage_prefix,
            },
        )

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        """The vector space (`embedding_space`): an index built in another one asks for `kb reload`."""
        return self._space

    @property
    def max_tokens(self) -> int:
        return max(1, self._n_ctx - 2 - self._prefix_tokens)  # room for [CLS], [SEP] and the prefix

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        tokens: list[int] = self._llm.tokenize(
            text.encode("utf-8", errors="replace"), add_bos=special, special=False
        )
        return tokens

    def count_tokens(self, text: str) -> int:
        """Content tokens of `text` in the embedder's own tokenizer (no [CLS]/[SEP])."""
        with self._lock:
            self._check_open()
            return len(self._tokenize(text, special=False))

    def _prepare(self, text: str) -> list[int]:
        tokens = self._tokenize(text, special=True)
        if len(tokens) > self._n_ctx:
            # Keep the closing separator: the model was trained with it at the end of every input.
            tail = [tokens[-1]] if tokens[-1] == self._sep else []
            tokens = tokens[: self._n_ctx - len(tail)] + tail
        return tokens

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Questions (searches, calibration's pseudo-questions), each after `query_prefix`."""
        if len(texts) != 1:
            return self.embed([self.query_prefix + t for t in texts] if self.query_prefix else texts)
        (text,) = texts
        with self._lock:
            self._check_open()
            cached = self._recent.get(text)
            if cached is not None:
                self._recent.move_to_end(text)
                return cached[np.newaxis, :].copy()
        vectors = self.embed([self.query_prefix + text])
        with self._lock:
            self._recent[text] = vectors[0].copy()
            if len(self._recent) > RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vectors

    def embed_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Knowledge-base passages, each after `passage_prefix`."""
        return self.embed([self.passage_prefix + t for t in texts] if self.passage_prefix else texts)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """L2-normalised embeddings of the texts as given (no prefix), one row per text, in input order."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            self._check_open()
            seqs = [self._prepare(t) for t in texts]
        # Longest first packs the token budget tightly; results are written back by index.
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]), reverse=True)
        groups: list[list[int]] = []
        used = 0
        for i in order:
            n = len(seqs[i])
            if not groups or used + n > self._pack_tokens or len(groups[-1]) >= self._max_seqs:
                groups.append([])
                used = 0
            groups[-1].append(i)
            used += n
        for group in groups:
            # The lock is taken per decode call, not per request, so a query's embedding waits for at most one
            # micro-batch of a large reload running in another thread.
            with self._lock:
                self._check_open()
                self._decode(group, seqs, out)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def _decode(self, group: list[int], seqs: list[list[int]], out: npt.NDArray[np.float32]) -> None:
        llama_cpp = self._llama_cpp
        batch = self._batch
        n = 0
        for seq, index in enumerate(group):
            for pos, token in enumerate(seqs[index]):
                batch.token[n] = token
                batch.pos[n] = pos
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq
                batch.logits[n] = 1
                n += 1
        batch.n_tokens = n
        ctx = self._llm.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        if memory:
            llama_cpp.llama_memory_clear(memory, True)
        rc = int(llama_cpp.llama_decode(ctx, batch))
        if rc != 0:
            raise RuntimeError(f"llama_decode failed with code {rc} on {len(group)} sequences / {n} tokens")
        for seq, index in enumerate(group):
            ptr = llama_cpp.llama_get_embeddings_seq(ctx, seq)
            if not ptr:
                raise RuntimeError("llama.cpp returned no pooled embedding")
            out[index] = np.ctypeslib.as_array(
                ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(self._dim,)
            )

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the embedder is closed")

    def close(self) -> None:
        """Free the llama.cpp context and model; further use raises."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._llama_cpp.llama_batch_free(self._batch)
            self._llm.close()
