"""The answer pipeline: condense, retrieve, decide, prompt, stream, check; always ending in one `Answer`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.config import LLMSettings, RAGSettings
from bot.domain import Answer, ChatMessage, Delta, Hit, Outcome, Source, Timings, Turn
from bot.kb.base import KBUnavailableError, KnowledgeBase
from bot.llm.base import Generator, GeneratorBusyError, GeneratorError, GeneratorTimeoutError
from bot.logs import user_text
from bot.rag import citations, relevance
from bot.rag.condense import condense
from bot.rag.prompting import (
    PROMPT_VERSION,
    BudgetedPrompt,
    Passage,
    QuestionTooLongError,
    cut_at_structure,
    fit_budget,
    load_templates,
    looks_like_injection,
    trim_passage,
)
from bot.rag.refusal import opens_with_refusal

log = logging.getLogger("bot.rag")
T = TypeVar("T")

# Fixed user-facing texts for every outcome that is not a model answer. Never exception text.
REFUSAL_TEXT = (
    "I'm sorry, I couldn't find this in our help center, so I'd rather not guess. "
    "Would you like me to connect you with a person from our support team?"
)
KB_UNAVAILABLE_TEXT = (
    "I can't look that up right now. Please try again in a few minutes, "
    "or ask to talk to a person from our support team."
)
BUSY_TEXT = "I'm answering a lot of questions right now. Please send your message again in a minute."
MODEL_ERROR_TEXT = (
    "Sorry, something went wrong while I was writing the answer. Please try again, "
    "or ask to talk to a person from our support team."
)
EMPTY_TEXT = "Please type your question, and I'll look it up in our help center."
TOO_LONG_TEXT = (
    "Your message is too long for me to answer in one go. Please shorten it to the essential question "
    "(a few sentences) and send it again."
)
UNGROUNDED_CAVEAT = (
    "Note: I could not tie this answer to a specific help-center article, so please double-check it."
)

# A question longer than this many characters is refused before anything is tokenized or embedded.
MAX_QUESTION_CHARS = 8000
# A cited passage supports an answer when at least this share of the answer's content words (the
# model's own words, not the prefill) appear in it. Below that the citation is not trusted.
SUPPORT_MIN_SHARE = 0.3
# An answer with no supported [n] is still grounded when this share of its content words comes from one
# passage; the pipeline then writes that passage's marker itself and sets `Answer.citations_inferred`.
INFER_CITATION_MIN_SHARE = 0.6
# One paragraph: a small model's second paragraph is where it drifts away from the passages. The passage
# delimiters stop it too: writing them means it has begun to echo its prompt.
ANSWER_STOPS = ("\n\n", "</passages>", "<passages>")
# Follow-ups reuse the previous passages (same prompt prefix, so the KV cache is reused) while the new
# search's best passage is still among them. Remembered per user, for this many users.
STICKY_USERS = 1024


@dataclass(frozen=True)
class _Prepared:
    hits: tuple[Hit, ...]
    passages: tuple[Passage, ...]
    quarantined: tuple[Passage, ...]


@asynccontextmanager
async def _closing(stream: AsyncIterator[T]) -> AsyncGenerator[AsyncIterator[T], None]:
    """Close an async iterator when leaving the block, so an abandoned stream stops its generation."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def passage_of(hit: Hit) -> Passage:
    chunk = hit.chunk
    return Passage(source=chunk.source, heading=chunk.heading, text=chunk.text, url=chunk.url)


class Pipeline:
    """Turns a message plus history into a grounded `Answer`; never raises for dependency failures."""

    def __init__(
        self, kb: KnowledgeBase, generator: Generator, rag: RAGSettings, llm: LLMSettings, *, top_k: int
    ) -> None:
        self._kb = kb
        self._generator = generator
        self._rag = rag
        self._llm = llm
        self._top_k = top_k  # passages searched (BOT_KB__TOP_K); the prompt takes rag.prompt_passages of them
        self._templates = load_templates()
        self._leaks = citations.LeakDetector([self._templates.system])
        self._sticky: OrderedDict[str, tuple[Hit, ...]] = OrderedDict()

    @property
    def generator(self) -> Generator:
        return self._generator

    async def answer(self, question: str, history: Sequence[Turn] = (), *, user_key: str) -> Answer:
        final: Answer | None = None
        async with _closing(self.stream(question, history, user_key=user_key)) as events:
            async for event in events:
                if isinstance(event, Answer):
                    final = event
        if final is None:  # stream() always ends with an Answer; this guards a broken invariant loudly
            raise RuntimeError("the pipeline ended without an answer")
        return final

    async def stream(
        self, question: str, history: Sequence[Turn] = (), *, user_key: str
    ) -> AsyncGenerator[Delta | Answer, None]:
        """Yield `Delta` pieces of raw model text, then exactly one final `Answer`."""
        started = time.perf_counter()
        question = question.strip()
        if not question:
            yield self._fixed("empty", EMPTY_TEXT, started)
            return
        if len(question) > MAX_QUESTION_CHARS:
            yield self._fixed("too_long", TOO_LONG_TEXT, started, question=question[:200])
            return
        keep = self._rag.history_turns
        history = tuple(t for t in history if t.text.strip())[-keep:] if keep else ()

        standalone = condense(question, history) if self._rag.condense else question
        condense_ms = (time.perf_counter() - started) * 1000
        t_search = time.perf_counter()
        try:
            hits = await self._kb.search(standalone, k=self._top_k)
        except (KBUnavailableError, TimeoutError) as exc:
            log.warning("knowledge base unavailable", extra={"error": str(exc)})
            yield self._fixed("kb_unavailable", KB_UNAVAILABLE_TEXT, started, question=standalone)
            return
        except Exception:
            log.exception("knowledge base search failed")
            yield self._fixed("kb_unavailable", KB_UNAVAILABLE_TEXT, started, question=standalone)
            return
        retrieval_ms = (time.perf_counter() - t_search) * 1000

        score = relevance.relevance(standalone, hits)
        answerable = score >= self._rag.min_relevance
        if not answerable:
            log.info(
                "refused: passages do not answer", extra={"relevance": round(score, 3), "hits": len(hits)}
            )
        prepared = self._prepare(user_key, hits, has_history=bool(history)) if answerable else None
        # No passage left once instruction-like ones are quarantined is the same honest refusal.
        if prepared is None or not prepared.passages:
            yield self._fixed(
                "refused",
                REFUSAL_TEXT,
                started,
                question=standalone,
                retrieval_ms=retrieval_ms,
                condense_ms=condense_ms,
            )
            return

        gen = self._generator
        try:
            budget = await asyncio.to_thread(self._fit, question, prepared.passages, history)
        except QuestionTooLongError as exc:
            log.info("question too long", extra={"tokens": exc.question_tokens, "limit": exc.limit})
            yield self._fixed(
                "too_long", TOO_LONG_TEXT, started, question=standalone, retrieval_ms=retrieval_ms
            )
            return
        # The log (and so the training export) must hold the passage text exactly as the model saw it.
        given_hits = tuple(
            replace(hit, chunk=replace(hit.chunk, text=passage.text))
            for hit, passage in zip(prepared.hits, budget.passages, strict=False)
        )
        if budget.dropped_history or budget.dropped_passages:
            log.info(
                "prompt trimmed to fit the context",
                extra={
                    "dropped_history": budget.dropped_history,
                    "dropped_passages": budget.dropped_passages,
                },
            )

        prefill = self._templates.prefill
        messages = [*budget.messages, ChatMessage("assistant", prefill)] if prefill else budget.messages
        raw = ""
        ttft_ms: float | None = None
        info = gen.info
        t_gen = time.perf_counter()
        try:
            async with _closing(
                gen.stream(messages, user_key=user_key, max_tokens=self._llm.max_tokens, stop=ANSWER_STOPS)
            ) as pieces:
                async for piece in pieces:
                    if ttft_ms is None:
                        ttft_ms = (time.perf_counter() - started) * 1000
                        # A reload waits for a running generation, so this is the model writing this answer.
                        info = gen.info
                        if prefill:
                            yield Delta(prefill if piece[:1].isspace() else prefill + " ")
                    raw += piece
                    yield Delta(piece)
        except GeneratorBusyError:
            yield self._fixed(
                "busy", BUSY_TEXT, started, question=standalone, retrieval_ms=retrieval_ms, hits=given_hits
            )
            return
        except GeneratorError as exc:
            if isinstance(exc, GeneratorTimeoutError):
                log.warning("generation timed out", extra={"timeout_s": self._llm.timeout_s})
            else:
                log.warning("generation failed", extra={"error": str(exc)})
            yield self._fixed(
                "model_error",
                MODEL_ERROR_TEXT,
                started,
                question=standalone,
                retrieval_ms=retrieval_ms,
                hits=given_hits,
            )
            return
        queue_ms = 0.0
        if ttft_ms is not None:
            queue_ms = max(0.0, ttft_ms - (t_gen - started) * 1000)

        timings = Timings(
            retrieval_ms=retrieval_ms,
            ttft_ms=ttft_ms,
            total_ms=(time.perf_counter() - started) * 1000,
            condense_ms=condense_ms,
            queue_ms=queue_ms,
        )
        yield self._finish(
            prefill, raw, budget.passages, prepared, given_hits, standalone, timings, info.name, info.version
        )

    # -- steps --------------------------------------------------------------------------------------

    def _fit(self, question: str, passages: Sequence[Passage], history: Sequence[Turn]) -> BudgetedPrompt:
        """Trim passages to their token allowance, then fit everything into the context (worker thread)."""
        gen = self._generator
        limit = self._rag.passage_tokens
        trimmed = [trim_passage(p, limit, gen.count_tokens) for p in passages]
        return fit_budget(
            question,
            trimmed,
            history,
            count_chat_tokens=gen.count_chat_tokens,
            n_ctx=gen.n_ctx,
            max_tokens=self._llm.max_tokens,
        )

    def _prepare(self, user_key: str, hits: Sequence[Hit], *, has_history: bool) -> _Prepared:
        """Choose the passages for the prompt; quarantine poisoned ones."""
        chosen = tuple(hits)
        previous = self._sticky.get(user_key)
        if has_history and previous and hits and hits[0].chunk.id in {h.chunk.id for h in previous}:
            chosen = previous
        clean: list[Hit] = []
        passages: list[Passage] = []
        quarantined: list[Passage] = []
        for hit in chosen:
            if len(clean) >= self._rag.prompt_passages:
                break
            passage = passage_of(hit)
            if looks_like_injection(passage.heading + "\n" + passage.text):
                quarantined.append(passage)
                log.warning(
                    "passage quarantined: looks like prompt injection", extra={"source": passage.source}
                )
            else:
                clean.append(hit)
                passages.append(passage)
        self._sticky[user_key] = tuple(clean)
        self._sticky.move_to_end(user_key)
        while len(self._sticky) > STICKY_USERS:
            self._sticky.popitem(last=False)
        return _Prepared(
            hits=tuple(clean),
            passages=tuple(passages),
            quarantined=tuple(quarantined),
        )

    def _finish(
        self,
        prefill: str,
        continuation: str,
        passages: Sequence[Passage],
        prepared: _Prepared,
        hits: Sequence[Hit],
        question: str,
        timings: Timings,
        model: str,
        version: str,
    ) -> Answer:
        def fixed(outcome: Outcome, text: str) -> Answer:
            return Answer(
                text=text,
                sources=(),
                grounded=False,
                timings=timings,
                outcome=outcome,
                question=question,
                hits=tuple(hits),
                model=model,
                model_version=version,
                prompt_version=PROMPT_VERSION,
            )

        # Stop strings already end generation there; this also covers generators that ignore them.
        continuation = cut_at_structure(continuation)
        if not continuation.strip():
            return fixed("model_error", MODEL_ERROR_TEXT)
        joiner = "" if not prefill or continuation[:1].isspace() else " "
        text = f"{prefill}{joiner}{continuation}".strip()
        if self._leaks_hidden(text, passages, prepared.quarantined):
            log.warning("output filter: answer repeated hidden text; replaced by the refusal")
            return fixed("refused", REFUSAL_TEXT)
        if opens_with_refusal(citations.strip_citation_marks(continuation)):
            return fixed("refused", REFUSAL_TEXT)

        allowed = citations.allowed_urls(passages)
        text, removed = citations.strip_foreign_urls(text, allowed)
        continuation, _ = citations.strip_foreign_urls(continuation, allowed)
        if removed:
            log.info("removed links not found in the sources", extra={"count": removed})
        check = citations.check_citations(text, len(passages))
        text, cited = check.text, check.cited
        by_model = citations.check_citations(continuation, len(passages)).cited
        # Support is checked on the model's own words: the prefill's "[1]" proves nothing by itself.
        support = {n: citations.overlap_share(continuation, passages[n - 1]) for n in cited}
        inferred = False
        if cited and max(support.values()) >= SUPPORT_MIN_SHARE:
            inferred = not by_model
        else:
            best, share = citations.best_overlap(continuation, passages)
            bare = citations.strip_citation_marks(continuation if prefill else text).strip(" ,.;:\n")
            bare = bare[:1].upper() + bare[1:]
            if best is not None and share >= INFER_CITATION_MIN_SHARE:
                text, cited, inferred = f"{bare} [{best}]", (best,), True
            else:
                text, cited = bare, ()
        if not text.strip():
            return fixed("model_error", MODEL_ERROR_TEXT)

        sources = tuple(
            dict.fromkeys(
                Source(passages[n - 1].source, passages[n - 1].heading, passages[n - 1].url) for n in cited
            )
        )
        outcome: Outcome
        if cited:
            outcome, grounded = "answered", True
        elif self._rag.ungrounded == "extract" and (quote := self._extract(question, passages)):
            text, cited, outcome, grounded = quote, (1,), "extracted", True
            sources = (Source(passages[0].source, passages[0].heading, passages[0].url),)
        elif self._rag.ungrounded == "refuse":
            log.info("ungrounded answer replaced by the refusal")
            return fixed("refused", REFUSAL_TEXT)
        else:
            outcome, grounded, text = "ungrounded", False, f"{UNGROUNDED_CAVEAT}\n\n{text}"
        log.info(
            "answered",
            extra={
                "outcome": outcome,
                "cited": list(cited),
                "inferred": inferred,
                "question": user_text(question),
            },
        )
        return Answer(
            text=text,
            sources=sources,
            grounded=grounded,
            timings=timings,
            outcome=outcome,
            question=question,
            hits=tuple(hits),
            model=model,
            model_version=version,
            prompt_version=PROMPT_VERSION,
            citations=cited,
            citations_inferred=inferred,
        )

    @staticmethod
    def _extract(question: str, passages: Sequence[Passage]) -> str:
        """Quote the best-ranked passage when the model's own words are not supported by any passage."""
        if not passages:
            return ""
        quote = citations.extract_answer(question, passages[0])
        if not quote:
            return ""
        where = f" ({passages[0].heading})" if passages[0].heading else ""
        return f"Here is what our help center says{where}: {quote} [1]"

    def _leaks_hidden(self, text: str, passages: Sequence[Passage], quarantined: Sequence[Passage]) -> bool:
        """The output filter: no run of the system prompt, no secret-looking token of a poisoned passage."""
        allowed = [p.text for p in passages]
        if self._leaks.leaks(text, allowed=allowed):
            return True
        if quarantined:
            if citations.LeakDetector(p.text for p in quarantined).leaks(text, allowed=allowed):
                return True
            poisoned = set().union(*(citations.secret_like_tokens(p.text) for p in quarantined))
            clean = set().union(*(citations.secret_like_tokens(t) for t in allowed)) if allowed else set()
            if citations.secret_like_tokens(text) & (poisoned - clean):
                return True
        return False

    def _fixed(
        self,
        outcome: Outcome,
        text: str,
        started: float,
        *,
        question: str = "",
        retrieval_ms: float = 0.0,
        condense_ms: float = 0.0,
        hits: Sequence[Hit] = (),
    ) -> Answer:
        info = self._generator.info
        return Answer(
            text=text,
            sources=(),
            grounded=False,
            timings=Timings(
                retrieval_ms=retrieval_ms,
                ttft_ms=None,
                total_ms=(time.perf_counter() - started) * 1000,
                condense_ms=condense_ms,
            ),
            outcome=outcome,
            question=question,
            hits=tuple(hits),
            model=info.name if hits else "",
            model_version=info.version if hits else "",
            prompt_version=PROMPT_VERSION if hits else "",
        )
