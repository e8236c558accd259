"""In-process llama.cpp generator: one worker thread, a fair bounded queue, parallel slots, KV prefix reuse,
hot reload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import LLMSettings
from bot.domain import ChatMessage
from bot.llm.base import (
    GeneratorBusyError,
    GeneratorError,
    GeneratorTimeoutError,
    ModelError,
    ModelInfo,
    resolve_threads,
)
from bot.llm.batch import Slots
from bot.llm.cpu_buffers import extra_buffers_for_llama, set_extra_buffers, use_extra_buffers
from bot.llm.fairqueue import FairQueue, QueueClosedError, QueueFullError
from bot.llm.gguf_file import check_adapter, check_generator
from bot.llm.jobs import (
    MIN_P,
    REPEAT_PENALTY,
    TOP_K,
    TOP_P,
    Event,
    GenerateJob,
    GenerationStats,
    Job,
    ReloadJob,
    StopText,
)
from bot.llm.llama_log import native_debug, route_llama_log
from bot.llm.registry import FileHashes, ModelRegistry

__all__ = [
    "MIN_P",
    "REPEAT_PENALTY",
    "TOP_K",
    "TOP_P",
    "GenerationStats",
    "LlamaEngine",
    "ModelLoadError",
    "RawDecodeTimes",
    "check_files",
    "raw_decode",
]

log = logging.getLogger("bot.llm")
# With parallel slots the `Llama` object only tokenizes and detokenizes (the slots have their own context):
# its own KV cache is kept this small.
TOKENIZER_N_CTX = 256


class ModelLoadError(GeneratorError, ModelError):
    """A model or adapter file is missing, not a GGUF, or llama.cpp refused it."""


def check_files(model_path: Path, lora_path: Path | None) -> None:
    """The one GGUF check, before llama.cpp sees the files: a missing LoRA path segfaults llama.cpp."""
    try:
        base = check_generator(model_path, "the model to load")
        if lora_path is not None:
            check_adapter(lora_path, "the adapter to load", base)
    except ModelError as exc:
        raise ModelLoadError(str(exc)) from None


_PREFILL_MARK = "\x00continue-here\x00"


class _LoadedModel:
    """A `Llama` plus what we derive from it once: chat template, fingerprint, special tokens."""

    def __init__(
        self, settings: LLMSettings, model_path: Path, lora_path: Path | None, hashes: FileHashes
    ) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        route_llama_log()
        check_files(model_path, lora_path)
        # Parallel slots decode in a context of their own (bot.llm.batch); `Llama`'s is then only a tokenizer.
        own_ctx = settings.n_ctx if settings.parallel == 1 else min(settings.n_ctx, TOKENIZER_N_CTX)
        try:
            # `Llama` has no argument for use_extra_bufts: see bot.llm.cpu_buffers (AMX crashes in some VMs).
            with extra_buffers_for_llama(use_extra_buffers(settings.cpu_extra_buffers)):
                self.llama: Any = Llama(
                    model_path=str(model_path),
                    lora_path=str(lora_path) if lora_path is not None else None,
                    n_ctx=own_ctx,
                    n_batch=settings.n_batch,
                    n_ubatch=settings.n_batch,
                    n_threads=resolve_threads(settings.n_threads),
                    n_threads_batch=resolve_threads(settings.n_threads),
                    flash_attn=settings.flash_attn,
                    seed=settings.seed,
                    # llama-cpp-python's verbose mode also prints from Python; wanted only when debugging.
                    verbose=native_debug(),
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {model_path}: {exc}") from None
        meta: dict[str, str] = dict(self.llama.metadata)
        template = meta.get("tokenizer.chat_template")
        if not template:
            self.llama.close()
            raise ModelLoadError(f"model has no chat template in its GGUF metadata: {model_path}")
        eos_id = self.llama.token_eos()
        bos_id = self.llama.token_bos()
        vocab = self.llama._model  # noqa: SLF001 - the public API has no token-text accessor
        self.eos_text = vocab.token_get_text(eos_id) if eos_id != -1 else ""
        self.bos_text = vocab.token_get_text(bos_id) if bos_id != -1 else ""
        self.formatter = Jinja2ChatFormatter(
            template=template, eos_token=self.eos_text, bos_token=self.bos_text
        )
        self.continuing = Jinja2ChatFormatter(
            template=template, eos_token=self.eos_text, bos_token=self.bos_text, add_generation_prompt=False
        )
        # The context one answer may fill: with parallel slots, each slot's share of their context.
        self.n_ctx: int = self.llama.n_ctx() if settings.parallel == 1 else settings.n_ctx
        # The file name names the model better than `general.name` (often a training-run label).
        self.info = ModelInfo(
            name=model_path.stem + (f"+{lora_path.stem}" if lora_path is not None else ""),
            version=hashes.model_version(model_path, lora_path),
            path=str(model_path),
            adapter=str(lora_path) if lora_path is not None else "",
            n_ctx=self.n_ctx,
            n_params=int(vocab.n_params()),
        )

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The chat template applied; a final assistant message is a prefix the model continues."""
        payload: Any = [{"role": m.role, "content": m.content} for m in messages]
        if not messages or messages[-1].role != "assistant":
            return str(self.formatter(messages=payload).prompt)
        # Render with a marker in place of the prefix and cut there: whatever the template writes after
        # an assistant message (its end-of-turn token) must not follow the prefix.
        payload[-1] = {"role": "assistant", "content": _PREFILL_MARK}
        rendered = str(self.continuing(messages=payload).prompt)
        cut = rendered.rfind(_PREFILL_MARK)
        if cut < 0:
            raise GeneratorError("the chat template cannot continue an assistant message")
        return rendered[:cut] + messages[-1].content

    def tokenize_prompt(self, messages: Sequence[ChatMessage]) -> list[int]:
        # The template already writes the special tokens, as llama-cpp-python's own chat handler assumes.
        tokens: list[int] = self.llama.tokenize(
            self.render(messages).encode("utf-8"), add_bos=False, special=True
        )
        return tokens

    def is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self.llama._model.vocab, token))  # noqa: SLF001

    def close(self) -> None:
        self.llama.close()


class LlamaEngine:
    """`Generator` over an in-process GGUF model.

    A dedicated thread owns the `Llama` and runs one generation at a time, or with `parallel` > 1 that many
    in one batch (`bot.llm.batch.Slots`); requests wait in a bounded `FairQueue` (round-robin by
    `user_key`) in front of the slots; a full queue raises `GeneratorBusyError` at once. Tokens reach
    the event loop through `call_soon_threadsafe`. Closing the async iterator (or cancelling its task)
    sets a flag the worker checks between tokens and between prompt batches.

    With a `ModelRegistry`, `reload()` switches to the model the registry chooses then (after `models use`)
    and model versions come from its hash cache; without one, `reload()` loads the same files again.
    """

    def __init__(
        self,
        llm: LLMSettings,
        *,
        model_path: Path,
        lora_path: Path | None,
        models: ModelRegistry | None = None,
    ) -> None:
        self._settings = llm
        self._models = models
        self._hashes = models.hashes if models is not None else FileHashes()
        self._model = _LoadedModel(llm, model_path, lora_path, self._hashes)
        self._slots: Slots | None = None
        if llm.parallel > 1:
            try:
                self._slots = self._make_slots(self._model)
            except GeneratorError:
                self._model.close()
                raise
        self._model_lock = threading.Lock()  # guards swapping `_model` against tokenizing callers
        self._queue: FairQueue[Job] = FairQueue(llm.queue_size)
        self._busy = threading.Event()
        self.last_stats: GenerationStats | None = None
        work = self._work if self._slots is None else self._work_slots
        self._thread = threading.Thread(target=work, name="llama-engine", daemon=True)
        self._thread.start()
        log.info(
            "model loaded",
            extra={"model": self._model.info.name, "version": self._model.info.version, "n_ctx": self.n_ctx},
        )

    # -- Generator protocol -------------------------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        return self._model.info

    @property
    def n_ctx(self) -> int:
        return self._model.n_ctx

    @property
    def parallel(self) -> int:
        """Answers decoded together at most (`BOT_LLM__PARALLEL`)."""
        return self._settings.parallel

    @property
    def queue_depth(self) -> int:
        """Generations waiting (not counting the running ones)."""
        return len(self._queue)

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def count_tokens(self, text: str) -> int:
        with self._model_lock:
            return len(self._model.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_chat_tokens(self, messages: Sequence[ChatMessage]) -> int:
        with self._model_lock:
            return len(self._model.tokenize_prompt(messages))

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt's token ids exactly as the engine will evaluate them."""
        with self._model_lock:
            return self._model.tokenize_prompt(messages)

    def render_prompt(self, messages: Sequence[ChatMessage]) -> str:
        """The exact text the model sees (chat template applied); for debugging and the export."""
        with self._model_lock:
            return self._model.render(messages)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        user_key: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        ignore_eos: bool = False,
        on_stats: Callable[[GenerationStats], None] | None = None,
    ) -> AsyncIterator[str]:
        """Stream the answer to `messages`; `ignore_eos` (benchmarks) always writes `max_tokens` tokens;
        `on_stats` gets this answer's statistics (with parallel slots `last_stats` may be another's)."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event] = asyncio.Queue()

        def emit(event: Event) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, event)
            except RuntimeError:  # the loop is gone: nobody listens any more
                job.cancel.set()

        job = GenerateJob(
            messages=tuple(messages),
            max_tokens=max_tokens or self._settings.max_tokens,
            stop=tuple(s for s in stop if s),
            emit=emit,
            ignore_eos=ignore_eos,
        )
        try:
            self._queue.put(user_key, job)
        except QueueFullError:
            raise GeneratorBusyError(f"generation queue is full ({self._queue.maxsize} waiting)") from None
        except QueueClosedError:
            raise GeneratorError("the engine is closed") from None
        try:
            while True:
                event = await events.get()
                if event.kind == "text":
                    yield event.text
                elif event.kind == "done":
                    if on_stats is not None and event.stats is not None:
                        on_stats(event.stats)
                    return
                else:
                    raise event.error or GeneratorError("generation failed")
        finally:
            job.cancel.set()
            self._queue.remove(user_key, job)

    async def reload(self) -> ModelInfo:
        """Switch to the model the registry chooses now (or the same files again, without a registry).

        On failure the old model keeps serving and `ModelLoadError` is raised.
        """
        if self._models is None:
            info = self.info
            model_path, lora_path = Path(info.path), Path(info.adapter) if info.adapter else None
        else:
            try:
                model_path, lora_path = await asyncio.to_thread(
                    self._models.resolve_generator, self._settings
                )
            except ModelError as exc:
                raise ModelLoadError(str(exc)) from None
        return await self.switch_to(model_path, lora_path)

    async def switch_to(self, model_path: Path, lora_path: Path | None) -> ModelInfo:
        """Swap in another model (or adapter) after the running generation; waiting ones use the new model.

        On failure the old model keeps serving and `ModelLoadError` is raised.
        """
        await asyncio.to_thread(check_files, model_path, lora_path)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            def apply() -> None:
                if future.done():
                    return
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(apply)

        try:
            self._queue.put_priority(ReloadJob(model_path, lora_path, settle))
        except QueueClosedError:
            raise GeneratorError("the engine is closed") from None
        await future
        return self.info

    async def close(self) -> None:
        self._queue.close()
        for job in self._queue.drain():
            if isinstance(job, GenerateJob):
                job.emit(Event("error", error=GeneratorError("the engine is shutting down")))
            else:
                job.done(GeneratorError("the engine is shutting down"))
        await asyncio.to_thread(self._thread.join, 30.0)
        if not self._thread.is_alive():
            with self._model_lock:
                if self._slots is not None:
                    self._slots.close()
                self._model.close()

    # -- worker thread ------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            try:
                job = self._queue.get()
            except QueueClosedError:
                return
            if job is None:
                continue
            if isinstance(job, ReloadJob):
                self._reload(job)
                continue
            if job.cancel.is_set():
                continue
            self._busy.set()
            try:
                stats = self._generate(self._model, job)
                self.last_stats = stats
                job.emit(Event("done", stats=stats))
            except GeneratorError as exc:
                job.emit(Event("error", error=exc))
            except Exception as exc:
                log.exception("generation crashed", extra={"model": self._model.info.name})
                self._forget_kv()
                job.emit(Event("error", error=GeneratorError(f"generation failed: {type(exc).__name__}")))
            finally:
                self._busy.clear()

    def _make_slots(self, model: _LoadedModel) -> Slots:
        def finished(stats: GenerationStats) -> None:
            self.last_stats = stats

        return Slots(model, self._settings.parallel, lambda: self._settings, finished)

    def _work_slots(self) -> None:
        """`parallel` > 1: admit waiting jobs into free slots between batches, one batch per step.

        A reload stops admissions; the running answers finish on the old model, then the swap happens.
        """
        closing = False
        reload: ReloadJob | None = None
        while True:
            slots = self._slots
            if slots is None:  # not reached: this loop runs only in an engine built with slots
                return
            while reload is None and not closing and slots.has_free():
                try:
                    # Block only when nothing runs; otherwise take what waits and go on decoding.
                    job = self._queue.get(timeout=None if slots.active == 0 else 0)
                except QueueClosedError:
                    closing = True
                    break
                if job is None:
                    break
                if isinstance(job, ReloadJob):
                    reload = job
                    break
                if job.cancel.is_set():
                    continue
                try:
                    slots.admit(job)
                except GeneratorError as exc:
                    job.emit(Event("error", error=exc))
                except Exception as exc:
                    log.exception("generation crashed", extra={"model": self._model.info.name})
                    job.emit(Event("error", error=GeneratorError(f"generation failed: {type(exc).__name__}")))
            if slots.active == 0:
                self._busy.clear()
                if reload is not None:
                    self._reload(reload)
                    reload = None
                elif closing:
                    return
                continue
            self._busy.set()
            try:
                slots.step()
            except Exception as exc:
                log.exception("batched generation crashed", extra={"model": self._model.info.name})
                slots.fail_all(GeneratorError(f"generation failed: {type(exc).__name__}"))

    def _forget_kv(self) -> None:
        """After a failure the KV cache may not match `input_ids`; start the next prompt from scratch."""
        with contextlib.suppress(Exception):
            self._model.llama.reset()
            self._model.llama._ctx.kv_cache_clear()  # noqa: SLF001

    def _reload(self, job: ReloadJob) -> None:
        fresh_slots: Slots | None = None
        try:
            fresh = _LoadedModel(self._settings, job.model_path, job.lora_path, self._hashes)
            if self._slots is not None:
                try:
                    fresh_slots = self._make_slots(fresh)
                except Exception:
                    fresh.close()
                    raise
        except Exception as exc:
            log.error("model reload failed; keeping the current model", extra={"error": str(exc)})
            job.done(exc if isinstance(exc, GeneratorError) else ModelLoadError(str(exc)))
            return
        with self._model_lock:
            old, self._model = self._model, fresh
            old_slots, self._slots = self._slots, fresh_slots
        if old_slots is not None:
            old_slots.close()
        old.close()
        log.info("model reloaded", extra={"model": fresh.info.name, "version": fresh.info.version})
        job.done(None)

    def _generate(self, model: _LoadedModel, job: GenerateJob) -> GenerationStats:
        import numpy as np

        started = time.monotonic()
        deadline = started + self._settings.timeout_s
        llama = model.llama
        tokens = model.tokenize_prompt(job.messages)
        if len(tokens) + 1 > model.n_ctx:
            raise GeneratorError(f"prompt has {len(tokens)} tokens; the context holds {model.n_ctx}")
        max_tokens = min(job.max_tokens, model.n_ctx - len(tokens))

        # KV prefix reuse: keep what the previous prompt shares with this one (the fixed system prompt,
        # and for a follow-up the whole earlier exchange), and evaluate the rest in batches so a
        # cancel or the deadline is honoured even during a long prompt.
        cached = np.asarray(llama.input_ids[: llama.n_tokens])
        head = np.asarray(tokens[:-1], dtype=cached.dtype)
        n = min(len(cached), len(head))
        mismatch = np.flatnonzero(cached[:n] != head[:n])
        reused = int(mismatch[0]) if len(mismatch) else n
        if reused == 0:
            llama.reset()
        else:
            llama.n_tokens = reused
        rest = tokens[reused:-1]
        step = self._settings.n_batch
        for i in range(0, len(rest), step):
            self._check(job, deadline)
            llama.eval(rest[i : i + step])

        out = StopText(job.stop)
        generated = 0
        first_at: float | None = None
        stop_reason = "length"
        generator = llama.generate(
            tokens,
            top_k=TOP_K,
            top_p=TOP_P,
            min_p=MIN_P,
            temp=self._settings.temperature,
            repeat_penalty=REPEAT_PENALTY,
            reset=True,
        )
        try:
            for token in generator:
                if first_at is None:
                    first_at = time.monotonic()
                if model.is_end(token) and not job.ignore_eos:
                    stop_reason = "eos"
                    break
                generated += 1
                ready, stopped = out.feed(llama.detokenize([token]))
                if ready:
                    job.emit(Event("text", text=ready))
                if stopped:
                    stop_reason = "stop"
                    break
                if generated >= max_tokens:
                    break
                if job.cancel.is_set():
                    stop_reason = "cancelled"
                    break
                if time.monotonic() > deadline:
                    raise GeneratorTimeoutError(f"generation passed {self._settings.timeout_s:g} s")
        finally:
            generator.close()
        tail = out.finish()
        if tail and stop_reason != "cancelled":
            job.emit(Event("text", text=tail))
        end = time.monotonic()
        first = first_at if first_at is not None else end
        return GenerationStats(
            prompt_tokens=len(tokens),
            reused_tokens=reused,
            generated_tokens=generated,
            queue_s=started - job.enqueued_at,
            prompt_s=first - started,
            generation_s=end - first,
            stop_reason=stop_reason,
        )

    def _check(self, job: GenerateJob, deadline: float) -> None:
        if job.cancel.is_set():
            raise GeneratorError("cancelled")
        if time.monotonic() > deadline:
            raise GeneratorTimeoutError(f"prompt evaluation passed {self._settings.timeout_s:g} s")


@dataclass(frozen=True, slots=True)
class RawDecodeTimes:
    prompt_s: float  # whole prompt in n_batch chunks, then the first sample
    generation_s: float  # the remaining tokens, one llama_decode each
    generated_tokens: int


def raw_decode(model_path: Path, llm: LLMSettings, prompt: Sequence[int], n_tokens: int) -> RawDecodeTimes:
    """The baseline of `bench generation`: a bare llama_decode loop through the low-level API.

    Same context parameters as the engine, greedy sampling, no Python wrapper objects: what llama-bench
    measures. Runs in the calling thread; the caller keeps it off the event loop.
    """
    import llama_cpp

    route_llama_log()
    check_files(model_path, None)
    model_params = llama_cpp.llama_model_default_params()
    set_extra_buffers(model_params, use_extra_buffers(llm.cpu_extra_buffers))  # as the engine loads it
    model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), model_params)
    if not model:
        raise ModelLoadError(f"llama.cpp could not load {model_path}")
    params = llama_cpp.llama_context_default_params()
    threads = resolve_threads(llm.n_threads)
    params.n_ctx = llm.n_ctx
    params.n_batch = params.n_ubatch = llm.n_batch
    params.n_threads = params.n_threads_batch = threads
    params.flash_attn_type = (
        llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        if llm.flash_attn
        else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    )
    ctx = llama_cpp.llama_init_from_model(model, params)
    if not ctx:
        llama_cpp.llama_model_free(model)
        raise ModelLoadError("llama.cpp could not create a context")
    sampler = llama_cpp.llama_sampler_init_greedy()
    try:
        start = time.perf_counter()
        for i in range(0, len(prompt), llm.n_batch):
            chunk = list(prompt[i : i + llm.n_batch])
            array = (llama_cpp.llama_token * len(chunk))(*chunk)
            if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(array, len(chunk))) != 0:
                raise GeneratorError("llama_decode failed on the prompt")
        token = llama_cpp.llama_sampler_sample(sampler, ctx, -1)
        first = time.perf_counter()
        one = (llama_cpp.llama_token * 1)()
        for _ in range(n_tokens - 1):
            one[0] = token
            if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(one, 1)) != 0:
                raise GeneratorError("llama_decode failed while generating")
            token = llama_cpp.llama_sampler_sample(sampler, ctx, -1)
        end = time.perf_counter()
    finally:
        llama_cpp.llama_sampler_free(sampler)
        llama_cpp.llama_free(ctx)
        llama_cpp.llama_model_free(model)
    return RawDecodeTimes(prompt_s=first - start, generation_s=end - first, generated_tokens=n_tokens)
