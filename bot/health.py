"""Dependency checks behind `python -m bot health`, the start-up report and the Docker healthcheck."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    ms: float
    # Works, but not as it should (say, an index an older version built): ok, and shown as a warning.
    warning: bool = False


class Degraded(Exception):
    """Raised by a probe whose dependency works but needs attention; its text is the check's detail."""


async def _timed(name: str, probe: Callable[[], Awaitable[str]], timeout_s: float) -> Check:
    start = time.perf_counter()
    warning = False
    try:
        detail = await asyncio.wait_for(probe(), timeout=timeout_s)
        ok = True
    except TimeoutError:
        ok, detail = False, f"no answer within {timeout_s:.0f} s"
    except Degraded as exc:
        ok, warning, detail = True, True, _one_line(exc)
    except Exception as exc:  # a health check reports every failure, it never raises
        ok, detail = False, _one_line(exc)
    return Check(name, ok, detail, (time.perf_counter() - start) * 1000, warning)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


async def run_checks(settings: Settings, *, timeout_s: float = 10.0) -> list[Check]:
    """Check model files, database and knowledge base; each check is independent and bounded."""
    from bot.services import Services

    async with Services(settings) as services:

        async def generator_model() -> str:
            if len(settings.llm.server_urls) > 1:
                return await _probe_pool(settings)
            if settings.llm.server_url:
                return await _probe_server(settings)
            # A health check never writes: an unprepared shipped model is reported, not prepared.
            choice = await asyncio.to_thread(services.models().choose_generator, settings.llm, prepare=False)
            text = describe_file(choice.model)
            if choice.adapter is not None:
                text += f"; adapter {describe_file(choice.adapter)}"
            return text

        async def embedder_model() -> str:
            from bot.llm.embedder import describe_embedder

            path = await asyncio.to_thread(
                services.models().resolve_embedder_path, settings.embeddings, prepare=False
            )
            # From the GGUF header alone (no load): dimension, pooling and prefixes, which the index records.
            details = await asyncio.to_thread(describe_embedder, path, settings.embeddings)
            if settings.embeddings.glosses_chinese():
                from bot.kb.crosslingual import cedict_path

                # As `bot.services.chinese_glosser` decides: without the dictionary nothing is glossed.
                found = cedict_path() is not None
                details += ", Chinese read as its English gloss" if found else ", no dictionary for Chinese"
            return f"{describe_file(path)}: {details}"

        async def database() -> str:
            missing = _missing_sqlite_file(settings.resolved_database_url)
            if missing is not None:
                # SQLite's own words for this are "unable to open database file", which says nothing of why.
                raise RuntimeError(f"no database at {missing} yet: run `python -m bot db upgrade`")
            log = await services.conversation_log(migrate=False)
            await log.ping()
            return _redact_url(settings.resolved_database_url) + " (schema at head)"

        async def knowledge_base() -> str:
            # The index is checked against the embedder it was built with, so the embedder is loaded. Not by
            # `services.kb()`: it would convert an unprepared model (minutes of writing) and load it on the
            # event loop, where the check's timeout cannot interrupt it. The path is resolved without
            # preparing (unprepared: this check fails with the `models prepare` hint) and handed over as
            # BOT_EMBEDDINGS__MODEL_PATH, which is only read; the load runs in a worker thread.
            path = await asyncio.to_thread(
                services.models().resolve_embedder_path, settings.embeddings, prepare=False
            )
            embeddings = settings.embeddings.with_model(path)
            async with Services(settings.model_copy(update={"embeddings": embeddings})) as probe:
                kb = await asyncio.to_thread(probe.kb)
                await kb.ping()
                stats = await kb.stats()
            if stats.chunks == 0:
                raise RuntimeError("knowledge base is empty: run `python -m bot kb reload`")
            text = f"{stats.backend} {stats.index}: {stats.documents} documents, {stats.chunks} chunks"
            if stats.extra.get("warning"):
                raise Degraded(f"{text}; {stats.extra['warning']}")
            return text

        return [
            await _timed("generator model", generator_model, timeout_s),
            await _timed("embedding model", embedder_model, timeout_s),
            await _timed("database", database, timeout_s),
            await _timed("knowledge base", knowledge_base, timeout_s),
        ]


def describe_file(path: Path) -> str:
    """Name, size and a GGUF magic check: cheap enough for every health probe."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise RuntimeError(f"{path} is not a GGUF file")
    # The unit `models list` prints, so both name one file's size alike.
    from bot.llm.provision import human_size

    return f"{path.name} ({human_size(size)})"


async def _probe_server(settings: Settings) -> str:
    import aiohttp

    url = settings.llm.server_url + "/health"
    headers = {}
    if settings.llm.server_api_key is not None:
        headers["Authorization"] = "Bearer " + settings.llm.server_api_key.get_secret_value()
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, headers=headers) as resp:
        if resp.status >= 400:
            raise RuntimeError(f"model server answered HTTP {resp.status} at /health")
    return f"model server {settings.llm.server_url} is up"


async def _probe_pool(settings: Settings) -> str:
    """Every pooled server probed once; healthy while at least one is up (the pool routes around the rest)."""
    from bot.llm.pool import ModelServerPool, describe_servers

    pool = ModelServerPool(settings.llm)
    try:
        figures = await pool.check_now()
    finally:
        await pool.close()
    up = sum(f.state == "up" for f in figures)
    text = f"{up} of {len(figures)} model servers up: " + "; ".join(describe_servers(figures, live=False))
    if up == 0:
        raise RuntimeError(text)
    return text


def _redact_url(url: str) -> str:
    """Hide the password part of a database URL."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist yet (a fresh data folder); None otherwise."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or database is None or database in ("", ":memory:"):
        return None
    path = Path(database)
    return None if path.exists() else path
