"""The knowledge base's sentence embedder: any pooled GGUF embedding model through llama.cpp, batched."""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.llm.base import ModelError, resolve_threads
from bot.llm.cpu_buffers import ExtraBuffers, extra_buffers_for_llama, use_extra_buffers
from bot.llm.gguf_file import check_embedder
from bot.llm.llama_log import native_debug, route_llama_log

log = logging.getLogger("bot.llm.embedder")

# llama.cpp attends across every token of a decode call, so one call's cost grows with the square of its token
# count, while tiny calls waste per-call overhead: ~256 tokens of packed sequences was fastest on 2 cores, and
# flash attention roughly doubled throughput for the F16 model (see `python -m bot bench embed`).
DEFAULT_PACK_TOKENS = 256


class LlamaEmbedder:
    """Implements `bot.kb.base.Embedder` on a GGUF embedding model (all-MiniLM-L6-v2 by default).

    `count_tokens` counts content tokens (no [CLS]/[SEP]); `max_tokens` is how many content tokens fit in the
    model's context. Longer texts are truncated by tokens, never an error. One lock serialises use of the
    llama.cpp context, so the object can be shared between threads.

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
    ) -> None:
        import llama_cpp

        route_llama_log()
        info = check_embedder(path, "BOT_EMBEDDINGS__MODEL_PATH")
        if batch_size < 1 or pack_tokens < 8:
            raise ValueError("batch_size must be >= 1 and pack_tokens >= 8")
        threads = resolve_threads(n_threads)
        self.path = path
        self._lock = threading.Lock()
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
                    # llama-cpp-python's verbose mode also prints from Python; wanted only when debugging.
                    verbose=native_debug(),
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load the embedder {path}: {exc}") from None
        ctx = self._llm.ctx
        if int(llama_cpp.llama_pooling_type(ctx)) == llama_cpp.LLAMA_POOLING_TYPE_NONE:
            self._llm.close()
            raise ModelError(
                f"{path} defines no pooling, so it is not a sentence-embedding model; "
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
        log.info(
            "embedder loaded",
            extra={"path": str(path), "dim": self._dim, "n_ctx": self._n_ctx, "threads": threads},
        )

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        """The model file: vectors in an index are reused only by an embedder loaded from the same file."""
        return str(self.path)

    @property
    def max_tokens(self) -> int:
        return self._n_ctx - 2  # room for [CLS] and [SEP]

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

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """L2-normalised embeddings, one row per text, in input order."""
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
