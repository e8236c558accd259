"""Parallel slots for the engine: several customers' answers decoded together in one llama.cpp batch."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.config import LLMSettings
from bot.domain import ChatMessage
from bot.llm.base import GeneratorError, GeneratorTimeoutError
from bot.llm.jobs import MIN_P, REPEAT_PENALTY, TOP_K, TOP_P, Event, GenerateJob, GenerationStats, StopText

log = logging.getLogger("bot.llm")
# One KV stream per slot, as llama-server has by default: measured with 8 answers on 2 cores, 14-15 tok/s
# against 9-11 for one unified cache, where every token's attention walks all slots' cells. Sharing the
# system prompt then copies a whole stream, still far cheaper than evaluating it again.
UNIFIED_KV = False


class SlotModel(Protocol):
    """What the slots need of a loaded model (the engine's `_LoadedModel`)."""

    llama: Any
    n_ctx: int

    def tokenize_prompt(self, messages: Sequence[ChatMessage]) -> list[int]: ...

    def is_end(self, token: int) -> bool: ...


class SeqContext:
    """A second llama.cpp context on a loaded `Llama`'s model: `n_seq` sequences of `n_ctx_seq` tokens each,
    so a prompt prefix one sequence computed can be given to another by `llama_memory_seq_cp`.

    Unified: one KV cache for all (a shared prefix is stored once, the copy is cell metadata only);
    otherwise one stream per sequence (each token attends only its own; the copy copies a whole stream).
    """

    def __init__(self, llama: Any, *, n_seq: int, n_ctx_seq: int, n_batch: int, unified: bool) -> None:
        import llama_cpp

        params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
        params.n_ctx = n_ctx_seq * n_seq
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = n_seq
        params.kv_unified = unified
        self.unified = unified
        self.ctx = llama_cpp.llama_init_from_model(llama._model.model, params)  # noqa: SLF001
        if not self.ctx:
            raise GeneratorError(f"llama.cpp could not create a context for {n_seq} parallel sequences")
        adapter = llama._lora_adapter  # noqa: SLF001 - the adapter `Llama` loaded, applied here as well
        if adapter is not None:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
            scales = (ctypes.c_float * 1)(llama.lora_scale)
            if llama_cpp.llama_set_adapters_lora(self.ctx, adapters, 1, scales):
                llama_cpp.llama_free(self.ctx)
                raise GeneratorError("llama.cpp could not apply the LoRA adapter to the parallel context")
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_batch = n_batch
        self.batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self.size = 0

    def clear_batch(self) -> None:
        self.size = 0

    def add(self, token: int, pos: int, seq: int, logits: bool) -> int:
        """Append one token to the batch; its index (to sample from when `logits`)."""
        i = self.size
        batch = self.batch
        batch.token[i] = token
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq
        batch.logits[i] = logits
        self.size += 1
        return i

    def decode(self) -> int:
        import llama_cpp

        self.batch.n_tokens = self.size
        return int(llama_cpp.llama_decode(self.ctx, self.batch))

    def seq_rm(self, seq: int, p0: int) -> None:
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(self.memory, seq, p0, -1)

    def share(self, src: int, dst: int, n: int) -> None:
        """Sequence `dst` holds exactly `src`'s first `n` tokens afterwards."""
        import llama_cpp

        if self.unified:
            llama_cpp.llama_memory_seq_rm(self.memory, dst, 0, -1)
            llama_cpp.llama_memory_seq_cp(self.memory, src, dst, 0, n)
        else:  # across streams llama.cpp copies only whole streams
            llama_cpp.llama_memory_seq_cp(self.memory, src, dst, -1, -1)
            llama_cpp.llama_memory_seq_rm(self.memory, dst, n, -1)

    def clear(self) -> None:
        import llama_cpp

        llama_cpp.llama_memory_clear(self.memory, True)

    def sample(self, sampler: Any, index: int) -> int:
        import llama_cpp

        return int(llama_cpp.llama_sampler_sample(sampler.sampler, self.ctx, index))

    def close(self) -> None:
        import llama_cpp

        if self.ctx:
            llama_cpp.llama_batch_free(self.batch)
            llama_cpp.llama_free(self.ctx)
            self.ctx = None


@dataclass(eq=False)
class _Run:
    """One job in a slot, from admission to its last token."""

    job: GenerateJob
    tokens: list[int]
    max_tokens: int
    started: float
    deadline: float
    reused: int
    sampler: Any
    text: StopText
    fed: int  # prompt tokens already in the batch or the KV cache
    next_token: int = -1  # sampled, to be fed in the next batch
    index: int = -1  # this step's batch index to sample from, -1 for none
    generated: int = 0
    first_at: float | None = None


@dataclass(eq=False)
class _Slot:
    seq: int
    cached: list[int] = field(default_factory=list)  # tokens whose KV cells this sequence holds
    run: _Run | None = None
    last_used: float = 0.0


class Slots:
    """A fixed number of sequences decoded together: a new job takes a free slot, its prompt evaluated in
    chunks between the running answers' tokens (continuous batching); each slot samples, stops and is
    cancelled on its own, and a finished or abandoned answer frees its slot at once.

    Prefix reuse: the free slot whose cached tokens share most with the new prompt is taken; when another
    slot shares more (the common system prompt, computed once), those cells are copied to it instead.
    Runs only in the engine's worker thread.
    """

    def __init__(
        self,
        model: SlotModel,
        n_slots: int,
        settings: Callable[[], LLMSettings],
        on_done: Callable[[GenerationStats], None],
    ) -> None:
        self._model = model
        self._settings = settings
        self._on_done = on_done
        llm = settings()
        self.seqs = SeqContext(
            model.llama, n_seq=n_slots, n_ctx_seq=model.n_ctx, n_batch=llm.n_batch, unified=UNIFIED_KV
        )
        self._slots = [_Slot(seq=i) for i in range(n_slots)]

    @property
    def active(self) -> int:
        return sum(slot.run is not None for slot in self._slots)

    def has_free(self) -> bool:
        return any(slot.run is None for slot in self._slots)

    def close(self) -> None:
        for slot in self._slots:
            if slot.run is not None:
                slot.run.sampler.close()
                slot.run = None
        self.seqs.close()

    # -- admission ------------------------------------------------------------------------------------

    def admit(self, job: GenerateJob) -> None:
        """Put `job` into a free slot (the caller checked `has_free`); a bad prompt fails it at once."""
        started = time.monotonic()
        llm = self._settings()
        model = self._model
        tokens = model.tokenize_prompt(job.messages)
        if len(tokens) + 1 > model.n_ctx:
            raise GeneratorError(f"prompt has {len(tokens)} tokens; the context holds {model.n_ctx}")
        head = tokens[:-1]  # the last prompt token is always evaluated: its logits give the first sample
        free = [slot for slot in self._slots if slot.run is None]
        slot = max(free, key=lambda s: (_common(s.cached, head), -s.last_used))
        own = _common(slot.cached, head)
        donor, shared = slot, own
        for other in self._slots:
            if other is not slot:
                common = _common(other.cached, head)
                if common > shared:
                    donor, shared = other, common
        if donor is slot:
            self.seqs.seq_rm(slot.seq, own)
        else:
            self.seqs.share(donor.seq, slot.seq, shared)
        slot.cached = tokens[:shared]
        sampler = model.llama._init_sampler(  # noqa: SLF001 - the very chain `Llama.generate` builds
            top_k=TOP_K,
            top_p=TOP_P,
            min_p=MIN_P,
            temp=llm.temperature,
            repeat_penalty=REPEAT_PENALTY,
        )
        slot.run = _Run(
            job=job,
            tokens=tokens,
            max_tokens=min(job.max_tokens, model.n_ctx - len(tokens)),
            started=started,
            deadline=started + llm.timeout_s,
            reused=shared,
            sampler=sampler,
            text=StopText(job.stop),
            fed=shared,
        )
        slot.last_used = started

    # -- one batch ------------------------------------------------------------------------------------

    def step(self) -> None:
        """Check every run, decode one batch (a token per answering slot, then prompt chunks), sample."""
        now = time.monotonic()
        for slot in self._slots:
            run = slot.run
            if run is None:
                continue
            if run.job.cancel.is_set():
                if run.first_at is None:
                    self._fail(slot, run, GeneratorError("cancelled"))
                else:
                    self._finish(slot, run, "cancelled")
            elif now > run.deadline:
                what = "prompt evaluation" if run.first_at is None else "generation"
                limit = self._settings().timeout_s
                self._fail(slot, run, GeneratorTimeoutError(f"{what} passed {limit:g} s"))
        seqs = self.seqs
        seqs.clear_batch()
        running = [(slot, slot.run) for slot in self._slots if slot.run is not None]
        for slot, run in running:
            if run.first_at is None:
                continue
            run.index = seqs.add(run.next_token, len(slot.cached), slot.seq, True)
            slot.cached.append(run.next_token)
        room = seqs.n_batch - seqs.size
        # Oldest prompt first, so a long prompt is not overtaken chunk by chunk by newer ones.
        prompting = [(slot, run) for slot, run in running if run.first_at is None]
        for slot, run in sorted(prompting, key=lambda pair: pair[1].started):
            run.index = -1
            if room <= 0:
                continue
            chunk = run.tokens[run.fed : run.fed + room]
            for offset, token in enumerate(chunk):
                last = run.fed + offset == len(run.tokens) - 1
                index = seqs.add(token, run.fed + offset, slot.seq, last)
                if last:
                    run.index = index
            slot.cached.extend(chunk)
            run.fed += len(chunk)
            room -= len(chunk)
        if seqs.size == 0:
            return
        status = seqs.decode()
        if status != 0:
            self._decode_failed(status)
            return
        for slot in self._slots:
            run = slot.run
            if run is not None and run.index >= 0:
                self._sampled(slot, run, seqs.sample(run.sampler, run.index))

    def _sampled(self, slot: _Slot, run: _Run, token: int) -> None:
        if run.first_at is None:
            run.first_at = time.monotonic()
        if self._model.is_end(token) and not run.job.ignore_eos:
            self._finish(slot, run, "eos")
            return
        run.generated += 1
        ready, stopped = run.text.feed(self._model.llama.detokenize([token]))
        if ready:
            run.job.emit(Event("text", text=ready))
        if stopped:
            self._finish(slot, run, "stop")
        elif run.generated >= run.max_tokens:
            self._finish(slot, run, "length")
        else:
            run.next_token = token

    # -- endings --------------------------------------------------------------------------------------

    def _finish(self, slot: _Slot, run: _Run, reason: str) -> None:
        slot.run = None
        slot.last_used = time.monotonic()
        run.sampler.close()
        rest = run.text.finish()
        if rest and reason != "cancelled":
            run.job.emit(Event("text", text=rest))
        end = time.monotonic()
        first = run.first_at if run.first_at is not None else end
        stats = GenerationStats(
            prompt_tokens=len(run.tokens),
            reused_tokens=run.reused,
            generated_tokens=run.generated,
            queue_s=run.started - run.job.enqueued_at,
            prompt_s=first - run.started,
            generation_s=end - first,
            stop_reason=reason,
        )
        self._on_done(stats)
        run.job.emit(Event("done", stats=stats))

    def _fail(self, slot: _Slot, run: _Run, error: GeneratorError) -> None:
        slot.run = None
        run.sampler.close()
        run.job.emit(Event("error", error=error))

    def fail_all(self, error: GeneratorError) -> None:
        """After a crash the KV cells may not match what the slots think they hold: forget all of it."""
        for slot in self._slots:
            if slot.run is not None:
                self._fail(slot, slot.run, error)
            slot.cached = []
        with contextlib.suppress(Exception):
            self.seqs.clear()

    def _decode_failed(self, status: int) -> None:
        # Every slot fits in its n_ctx share of the cache, so this is not a full cache but llama.cpp
        # refusing the batch: the cells no longer match what the slots think they hold.
        log.error("llama_decode failed in the parallel slots", extra={"status": status})
        self.fail_all(GeneratorError(f"llama_decode failed ({status})"))


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n
