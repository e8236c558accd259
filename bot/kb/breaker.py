"""Deadline and circuit breaker around any knowledge base: a down or slow backend fails fast and recovers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

from bot.domain import Chunk, Hit
from bot.kb.base import (
    Embedder,
    KBStats,
    KBUnavailableError,
    KnowledgeBase,
    PreparesSearch,
    ProgressCallback,
    ReloadReport,
    SearchMode,
    SwapsEmbedder,
)
from bot.kb.calibration import Calibration
from bot.kb.reload import Sources

log = logging.getLogger("bot.kb")

BreakerState = Literal["closed", "open", "half_open"]
# The least time `stats` waits, whatever the search deadline: it counts the whole index, and it is an admin's
# read, so waiting longer keeps no customer waiting.
STATS_TIMEOUT_S = 10.0


# The longest the warm-up search may take (`BreakerKB.warm_up`): a backend that is down is reported by the
# first search, not waited for.
WARM_UP_S = 30.0


class BreakerKB:
    """Wraps a `KnowledgeBase`: every search has a deadline; repeated failures open the circuit.

    - closed: calls pass; `failure_threshold` consecutive failures (errors or timeouts) open it.
    - open: searches fail at once with `KBUnavailableError` until `cooldown_s` has passed.
    - half_open: one probe call goes through; success closes the circuit, failure opens it again.
    The state changes only on calls, so the bot recovers by itself on the first search after the cool-down.
    """

    def __init__(
        self,
        inner: KnowledgeBase,
        timeout_s: float,
        *,
        failure_threshold: int = 3,
        cooldown_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout_s <= 0 or failure_threshold < 1 or cooldown_s < 0:
            raise ValueError("timeout_s must be > 0, failure_threshold >= 1 and cooldown_s >= 0")
        self.inner = inner
        self.name = inner.name
        self.timeout_s = timeout_s
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_running = False
        self.last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def _admit(self) -> bool:
        """Whether a call may go through now; True marks it as the half-open probe when it is one."""
        state = self.state
        if state == "closed":
            return False
        if state == "open" or self._probe_running:
            retry_in = max(0.0, self.cooldown_s - (self._clock() - (self._opened_at or 0.0)))
            raise KBUnavailableError(
                f"knowledge base circuit open after {self._failures} failures "
                f"(last: {self.last_error}); retrying in {retry_in:.0f} s"
            )
        self._probe_running = True
        return True

    def _success(self, probe: bool) -> None:
        if probe or self._opened_at is not None:
            log.info("kb circuit closed", extra={"backend": self.name})
        self._failures = 0
        self._opened_at = None
        self.last_error = None
        if probe:
            self._probe_running = False

    def _failure(self, exc: BaseException, probe: bool) -> None:
        self._failures += 1
        self.last_error = str(exc) or exc.__class__.__name__
        if probe:
            self._probe_running = False
        if probe or self._failures >= self.failure_threshold:
            if self._opened_at is None or probe:
                log.warning(
                    "kb circuit open",
                    extra={"backend": self.name, "failures": self._failures, "error": self.last_error},
                )
            self._opened_at = self._clock()

    async def warm_up(self, limit_s: float = WARM_UP_S) -> None:
        """One search without the per-search deadline, before the first customer's: it opens the index (its
        vectors, the vocabulary bridge) and runs the embedder once. Counted in a customer's 3 s, that work
        timed out the first question of a process on a busy machine ("I can't look that up right now").
        A failure only logs (the first search reports it as usual) and leaves the circuit as it was."""
        started = self._clock()
        try:
            async with asyncio.timeout(limit_s):
                await self.inner.search("warm-up", 1)
        except (TimeoutError, KBUnavailableError) as exc:
            log.info(
                "knowledge base not warmed up", extra={"backend": self.name, "error": str(exc) or "timeout"}
            )
        except Exception:
            log.exception("knowledge base warm-up failed", extra={"backend": self.name})
        else:
            log.info("knowledge base warmed up", extra={"seconds": round(self._clock() - started, 2)})

    async def _prepare(self, query: str) -> None:
        """The once-per-process work `query` needs (`PreparesSearch`), outside the search's deadline. A
        failure only logs: the search after it reports what is wrong."""
        if not isinstance(self.inner, PreparesSearch):
            return
        try:
            async with asyncio.timeout(WARM_UP_S):
                await self.inner.prepare_search(query)
        except (TimeoutError, KBUnavailableError) as exc:
            log.info("search not prepared", extra={"backend": self.name, "error": str(exc) or "timeout"})
        except Exception:
            log.exception("preparing a search failed", extra={"backend": self.name})

    async def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        if mode != "bm25":
            # Before the circuit is asked: a half-open probe waiting on it would turn other searches away.
            await self._prepare(query)
        probe = self._admit()
        try:
            async with asyncio.timeout(self.timeout_s):
                hits = await self.inner.search(query, k, mode)
        except TimeoutError as exc:
            error = KBUnavailableError(f"knowledge base search timed out after {self.timeout_s:g} s")
            self._failure(error, probe)
            raise error from exc
        except KBUnavailableError as exc:
            self._failure(exc, probe)
            raise
        except (ValueError, TypeError):
            # The caller's mistake (say, an unknown mode), not the backend's: no effect on the circuit.
            if probe:
                self._probe_running = False
            raise
        except asyncio.CancelledError:
            if probe:
                self._probe_running = False
            raise
        except Exception as exc:
            self._failure(exc, probe)
            raise KBUnavailableError(f"knowledge base search failed ({exc.__class__.__name__})") from exc
        self._success(probe)
        return hits

    async def ping(self) -> None:
        """Health check through the same breaker: a healthy ping also closes an open circuit."""
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.inner.ping()
        except TimeoutError as exc:
            error = KBUnavailableError(f"knowledge base ping timed out after {self.timeout_s:g} s")
            self._failure(error, False)
            raise error from exc
        except KBUnavailableError as exc:
            self._failure(exc, False)
            raise
        except Exception as exc:
            self._failure(exc, False)
            raise KBUnavailableError(f"knowledge base ping failed ({exc.__class__.__name__})") from exc
        if self._opened_at is not None and self.state == "half_open":
            self._success(False)
        elif self._opened_at is None:
            self._failures = 0

    async def reload(self, source: Sources, progress: ProgressCallback | None = None) -> ReloadReport:
        # No deadline: a reload is an admin job that reports progress. A successful one proves the backend
        # works, so it closes the circuit (say, after searches failed because nothing was built yet).
        report = await self.inner.reload(source, progress)
        if self._opened_at is not None or self._failures:
            self._success(False)
        return report

    async def use_embedder(self, embedder: Embedder) -> None:
        """Hand the backend another embedder (`SwapsEmbedder`; SIGHUP after `models use --embedder`). The
        failures counted so far were the previous embedder's (an index built by another it refused), so
        the circuit starts closed, as after a reload."""
        if not isinstance(self.inner, SwapsEmbedder):
            return
        await self.inner.use_embedder(embedder)
        if self._opened_at is not None or self._failures:
            self._success(False)

    async def calibration(self) -> Calibration:
        # Reading the gate never counts against the circuit: the search it belongs to already did.
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.inner.calibration()
        except (TimeoutError, KBUnavailableError) as exc:
            log.warning("calibration unavailable", extra={"backend": self.name, "error": str(exc)})
            return Calibration(reason=f"default gate: the calibration could not be read ({exc})")

    async def missing_words(self, words: Sequence[str]) -> frozenset[str]:
        # Like the calibration, part of judging a search that already succeeded: a failure here means
        # no name is taken as missing (the fitted gate still judges), and never counts against the circuit.
        if not words:
            return frozenset()
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.inner.missing_words(words)
        except (TimeoutError, KBUnavailableError) as exc:
            log.warning("vocabulary check unavailable", extra={"backend": self.name, "error": str(exc)})
            return frozenset()

    async def outline(self, source: str) -> tuple[Chunk, ...]:
        # Read after a search that succeeded, to offer a document's sections: a failure offers none (the
        # caller falls back to what it did before) and never counts against the circuit.
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.inner.outline(source)
        except (TimeoutError, KBUnavailableError) as exc:
            log.warning("outline unavailable", extra={"backend": self.name, "error": str(exc)})
            return ()

    async def stats(self) -> KBStats:
        # A slow backend is an unavailable one, as for a search: every caller (/stats, the console's pages)
        # handles KBUnavailableError, none a bare TimeoutError. An admin's read never counts against the
        # circuit, which guards the customers' searches.
        deadline = max(self.timeout_s, STATS_TIMEOUT_S)
        try:
            async with asyncio.timeout(deadline):
                stats = await self.inner.stats()
        except TimeoutError as exc:
            raise KBUnavailableError(f"knowledge base stats timed out after {deadline:g} s") from exc
        return replace(stats, extra={**stats.extra, "circuit": self.state})

    async def indexed_sources(self) -> frozenset[str]:
        # An admin's read, as `stats`: the same deadline, a slow backend is an unavailable one, and the
        # circuit that guards customers' searches is left alone.
        deadline = max(self.timeout_s, STATS_TIMEOUT_S)
        try:
            async with asyncio.timeout(deadline):
                return await self.inner.indexed_sources()
        except TimeoutError as exc:
            raise KBUnavailableError(
                f"listing the knowledge base's documents timed out after {deadline:g} s"
            ) from exc

    async def close(self) -> None:
        await self.inner.close()
