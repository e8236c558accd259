"""Held-out evaluation of a served model through llama.cpp: answer perplexity, citation rate, refusals.

Runs on the runtime stack only (llama-cpp-python, no torch), so any model or adapter the bot can load is
measured exactly as the bot would run it: the same GGUF, the same chat template, the same tokenizer.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain import ChatMessage
from bot.rag.refusal import is_refusal
from bot.train.data import ChatSample

if TYPE_CHECKING:
    from bot.config import Settings

_PASSAGE_MARK = re.compile(r"^\[(\d{1,3})\][ \t]", re.MULTILINE)


class EvalError(ValueError):
    """A model argument or the data cannot be evaluated; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    label: str
    model_path: Path
    lora_path: Path | None


@dataclass(frozen=True, slots=True)
class SampleResult:
    line: int
    answer_tokens: int
    nll: float
    answerable: bool
    answer: str
    cited: tuple[int, ...]
    reference_cited: tuple[int, ...]
    refused: bool


@dataclass(frozen=True, slots=True)
class ModelScores:
    label: str
    model_path: str
    lora_path: str | None
    samples: int
    answer_tokens: int
    mean_loss: float
    perplexity: float
    answerable: int
    citation_rate: float | None  # answerable samples whose answer has a valid [n]
    correct_citation_rate: float | None  # ... citing a passage the reference cites
    false_refusal_rate: float | None  # answerable samples the model refused
    unanswerable: int
    refusal_rate: float | None  # unanswerable samples the model refused
    mean_answer_chars: float
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def passage_numbers(messages: Sequence[ChatMessage]) -> set[int]:
    """The `[n]` markers that open passages in the prompt (the bot's prompt numbers passages 1..k)."""
    found: set[int] = set()
    for message in messages:
        if message.role != "assistant":
            found.update(int(n) for n in _PASSAGE_MARK.findall(message.content))
    return found


def citations(text: str, valid: set[int]) -> tuple[int, ...]:
    """Valid passage numbers cited in `text`, in order of first use (the bot's own citation check)."""
    from bot.rag.citations import check_citations

    if not valid:
        return ()
    checked = check_citations(text, max(valid))
    return tuple(n for n in checked.cited if n in valid)


def resolve_model(value: str, settings: Settings) -> ModelSpec:
    """`base`, a GGUF model, a GGUF LoRA adapter (applied on the bot's model), or a finetune output folder."""
    from bot.llm.base import ModelError
    from bot.llm.gguf_file import inspect_gguf
    from bot.llm.registry import ModelRegistry

    try:
        base_model, _active_adapter = ModelRegistry(settings.models_dir).resolve_generator(settings.llm)
    except ModelError as exc:
        raise EvalError(str(exc)) from None
    if value == "base":
        return ModelSpec(label="base", model_path=Path(base_model), lora_path=None)
    path = Path(value).expanduser()
    if path.is_dir():
        candidate = path / "adapter.gguf"
        if not candidate.is_file():
            raise EvalError(f"{path}: a folder, but without adapter.gguf (a finetune --out folder)")
        path = candidate
    if not path.is_file():
        raise EvalError(f"--model {value}: no such file (expected 'base', a GGUF model or a GGUF adapter)")
    try:
        info = inspect_gguf(path)
    except ModelError as exc:
        raise EvalError(f"--model {value}: {exc}") from None
    label = path.parent.name + "/" + path.name if path.name == "adapter.gguf" else path.name
    if info.kind == "adapter":
        base_info = inspect_gguf(Path(base_model))
        if info.architecture != base_info.architecture:
            raise EvalError(
                f"adapter {path} is for {info.architecture!r} models but the base {base_model} is "
                f"{base_info.architecture!r}"
            )
        return ModelSpec(label=label, model_path=Path(base_model), lora_path=path)
    return ModelSpec(label=label, model_path=path, lora_path=None)


class _Scorer:
    """One loaded model: renders prompts with the GGUF's template and scores or generates answers."""

    def __init__(
        self, spec: ModelSpec, *, n_ctx: int, n_threads: int, seed: int, extra_buffers: bool
    ) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        from bot.llm.cpu_buffers import extra_buffers_for_llama

        try:
            # `Llama` has no argument for use_extra_bufts: see bot.llm.cpu_buffers (AMX crashes in some VMs).
            with extra_buffers_for_llama(extra_buffers):
                self.llama: Any = Llama(
                    model_path=str(spec.model_path),
                    lora_path=str(spec.lora_path) if spec.lora_path is not None else None,
                    n_ctx=n_ctx,
                    n_batch=512,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    logits_all=True,
                    seed=seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise EvalError(f"llama.cpp could not load {spec.label}: {exc}") from None
        template = dict(self.llama.metadata).get("tokenizer.chat_template")
        if not template:
            self.llama.close()
            raise EvalError(f"{spec.model_path}: no chat template in the GGUF metadata")
        vocab = self.llama._model  # noqa: SLF001 - the public API has no token-text accessor
        eos = vocab.token_get_text(self.llama.token_eos())
        bos = vocab.token_get_text(self.llama.token_bos()) if self.llama.token_bos() != -1 else ""
        self.prompt_formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self.full_formatter = Jinja2ChatFormatter(
            template=template, eos_token=eos, bos_token=bos, add_generation_prompt=False
        )
        self.n_ctx: int = self.llama.n_ctx()

    def close(self) -> None:
        self.llama.close()

    def _tokens(self, text: str) -> list[int]:
        tokens: list[int] = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return tokens

    def _is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self.llama._model.vocab, token))  # noqa: SLF001

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        payload: Any = [{"role": m.role, "content": m.content} for m in messages]
        return self._tokens(self.prompt_formatter(messages=payload).prompt)

    def answer_nll(self, sample: ChatSample) -> tuple[float, int]:
        """Summed negative log-likelihood of the reference answer (through its end-of-turn token)."""
        import numpy as np

        prompt_msgs = [{"role": m.role, "content": m.content} for m in sample.prompt]
        prompt_text: str = self.prompt_formatter(messages=prompt_msgs).prompt  # type: ignore[arg-type]
        full_text: str = self.full_formatter(
            messages=[*prompt_msgs, {"role": "assistant", "content": sample.reference}]  # type: ignore[list-item]
        ).prompt
        if not full_text.startswith(prompt_text):
            raise EvalError(
                f"line {sample.line}: the chat template does not render the answer after the prompt"
            )
        prompt = self._tokens(prompt_text)
        answer = self._tokens(full_text[len(prompt_text) :])
        for index, token in enumerate(answer):
            if self._is_end(token):
                answer = answer[: index + 1]
                break
        tokens = prompt + answer
        if len(tokens) > self.n_ctx:
            raise EvalError(f"line {sample.line}: {len(tokens)} tokens do not fit n_ctx {self.n_ctx}")
        self.llama.reset()
        self.llama.eval(tokens)
        logits = np.asarray(self.llama.scores[len(prompt) - 1 : len(tokens) - 1], dtype=np.float64)
        peak = logits.max(axis=1, keepdims=True)
        log_norm = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1))
        picked = logits[np.arange(len(answer)), np.asarray(answer)]
        return float((log_norm - picked).sum()), len(answer)

    def generate(self, sample: ChatSample, max_tokens: int) -> str:
        """Greedy answer. Called after `answer_nll`, so llama.cpp reuses the prompt's KV cache (prefix)."""
        prompt = self.prompt_tokens(sample.prompt)
        budget = max(1, min(max_tokens, self.n_ctx - len(prompt)))
        out: list[int] = []
        for token in self.llama.generate(prompt, temp=0.0, top_k=1, reset=True):
            if self._is_end(token) or len(out) >= budget:
                break
            out.append(token)
        return str(self.llama.detokenize(out).decode("utf-8", errors="replace")).strip()


def evaluate_model(
    spec: ModelSpec,
    samples: Sequence[ChatSample],
    *,
    n_ctx: int,
    n_threads: int,
    max_tokens: int,
    seed: int = 0,
    extra_buffers: bool = False,
    on_sample: Callable[[int, int], None] | None = None,
) -> tuple[ModelScores, list[SampleResult]]:
    started = time.perf_counter()
    scorer = _Scorer(spec, n_ctx=n_ctx, n_threads=n_threads, seed=seed, extra_buffers=extra_buffers)
    results: list[SampleResult] = []
    try:
        for index, sample in enumerate(samples, start=1):
            nll, n_tokens = scorer.answer_nll(sample)
            valid = passage_numbers(sample.prompt)
            reference_cited = citations(sample.reference, valid)
            answerable = not is_refusal(sample.reference)
            answer = scorer.generate(sample, max_tokens)
            results.append(
                SampleResult(
                    line=sample.line,
                    answer_tokens=n_tokens,
                    nll=nll,
                    answerable=answerable,
                    answer=answer,
                    cited=citations(answer, valid),
                    reference_cited=reference_cited,
                    refused=is_refusal(answer),
                )
            )
            if on_sample is not None:
                on_sample(index, len(samples))
    finally:
        scorer.close()
    return summarise(spec, results, time.perf_counter() - started), results


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def summarise(spec: ModelSpec, results: Sequence[SampleResult], seconds: float) -> ModelScores:
    tokens = sum(r.answer_tokens for r in results)
    loss = sum(r.nll for r in results) / max(tokens, 1)
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    return ModelScores(
        label=spec.label,
        model_path=str(spec.model_path),
        lora_path=str(spec.lora_path) if spec.lora_path is not None else None,
        samples=len(results),
        answer_tokens=tokens,
        mean_loss=loss,
        perplexity=math.exp(min(loss, 50.0)),
        answerable=len(answerable),
        citation_rate=_rate(sum(1 for r in answerable if r.cited), len(answerable)),
        correct_citation_rate=_rate(
            sum(1 for r in answerable if set(r.cited) & set(r.reference_cited)),
            sum(1 for r in answerable if r.reference_cited),
        ),
        false_refusal_rate=_rate(sum(1 for r in answerable if r.refused), len(answerable)),
        unanswerable=len(unanswerable),
        refusal_rate=_rate(sum(1 for r in unanswerable if r.refused), len(unanswerable)),
        mean_answer_chars=sum(len(r.answer) for r in results) / max(len(results), 1),
        seconds=seconds,
    )
