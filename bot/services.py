"""Composition root: the one place that turns `Settings` into concrete, wired components."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from bot.config import EmbeddingSettings, Settings

if TYPE_CHECKING:
    from bot.admin import Admin, ExportRunner, ServerLines
    from bot.channels.web.deps import ExportFilters, WebDeps
    from bot.conversation import AnswerStream, ConversationService
    from bot.kb.base import Embedder, EmbedderUsers, KnowledgeBase
    from bot.kb.crosslingual import QueryTranslator
    from bot.kb.embedded import EmbeddedKB
    from bot.kb.glossing import Glosser
    from bot.kb.sources import DocumentSource
    from bot.llm.base import Generator
    from bot.llm.registry import ModelRegistry
    from bot.rag.approved import ApprovedMatcher
    from bot.rag.pipeline import Pipeline
    from bot.store.base import ApprovedAnswerStore, ConversationLog
    from bot.store.export import ExportOptions, ExportStats, ProgressCallback
    from bot.store.repo import SqlConversationLog
    from bot.store.shared import SharedState

log = logging.getLogger("bot.services")


def chinese_glosser(settings: EmbeddingSettings) -> Glosser | None:
    """What the embedder reads Chinese through (`bot.kb.glossing`): the dictionary, when the settings ask for
    it and it is installed; else None."""
    from bot.kb.crosslingual import ChineseEnglishDictionary, cedict_path

    if not settings.glosses_chinese():
        return None
    if cedict_path() is None:
        log.warning("no Chinese-English dictionary: Chinese text is embedded as written")
        return None
    return ChineseEnglishDictionary()


def glossed(embedder: Embedder, settings: EmbeddingSettings) -> Embedder:
    """`embedder`, reading Chinese through `chinese_glosser` when there is one."""
    from bot.kb.glossing import GlossingEmbedder

    glosser = chinese_glosser(settings)
    return embedder if glosser is None else GlossingEmbedder(embedder, glosser)


def build_translator(settings: Settings) -> QueryTranslator | None:
    """The dictionary that searches questions in the help center's language (BOT_RAG__TRANSLATE_QUESTIONS)."""
    from bot.kb.crosslingual import ChineseEnglishDictionary

    return ChineseEnglishDictionary() if settings.rag.translate_questions else None


def build_pipeline(settings: Settings, kb: KnowledgeBase, generator: Generator) -> Pipeline:
    """The answer pipeline over a given knowledge base and model, with its settings sections."""
    from bot.rag.pipeline import Pipeline

    return Pipeline(
        kb,
        generator,
        settings.rag,
        settings.llm,
        top_k=settings.kb.top_k,
        fusion=settings.kb.fusion,
        translator=build_translator(settings),
    )


def build_conversations(
    settings: Settings,
    pipeline: AnswerStream,
    conversation_log: ConversationLog,
    *,
    approved: ApprovedMatcher | None = None,
) -> ConversationService:
    """The conversation service over given parts; `Services` passes its own, tests and benches their fakes."""
    from bot.conversation import ConversationService

    return ConversationService(
        pipeline,
        conversation_log,
        history_turns=settings.rag.history_turns,
        approved=approved,
        wait_notice_s=settings.llm.wait_notice_s,
        wait_update_s=settings.llm.wait_update_s,
        redaction=settings.redaction,
        condense_followups=settings.rag.condense,
    )


def build_approved(
    store: ApprovedAnswerStore, embedder: Callable[[], Embedder], kb: KnowledgeBase | None
) -> ApprovedMatcher:
    """The approved-answer matcher: the store's approved answers, the query side of the embedder (built on
    first use, in a worker thread) and, for in-domain negatives, the knowledge base's nearest sections."""
    from bot.rag.approved import HEADINGS_K, ApprovedMatcher

    search = None if kb is None else (lambda question: kb.search(question, HEADINGS_K))
    return ApprovedMatcher(store, embedder, search)


# Beside the index: the pages, ETags and links of every website source, so unchanged pages cost one request.
SITES_CACHE = "sites.sqlite"


def knowledge_sources(settings: Settings, extra: Sequence[str] = ()) -> list[DocumentSource]:
    """The configured folders and sites (`BOT_KB__SOURCES`, else `BOT_KB__SOURCE`), then `extra` ones."""
    from bot.kb.sources import configured_sources

    return configured_sources(settings.kb, settings.data_dir / SITES_CACHE, extra)


def build_admin(
    settings: Settings,
    kb: KnowledgeBase,
    conversation_log: ConversationLog,
    *,
    export: ExportRunner | None = None,
    exports_dir: Path | None = None,
    approved: ApprovedAnswerStore | None = None,
    model_servers: ServerLines | None = None,
) -> Admin:
    """The admin actions over given parts, with the configured upload limits."""
    from bot.admin import Admin
    from bot.kb.validate import SizeLimit, validate_upload

    upload_limit = SizeLimit(settings.telegram.max_upload_mb, "BOT_TELEGRAM__MAX_UPLOAD_MB")

    def check_upload(name: str, data: bytes) -> str:
        return validate_upload(name, data, settings.kb, upload_limit=upload_limit)

    return Admin(
        kb,
        conversation_log,
        kb_source=settings.kb.source,
        exports_dir=exports_dir or settings.data_dir / "exports",
        check_upload=check_upload,
        export=export,
        approved=approved,
        model_servers=model_servers,
        sources=lambda: knowledge_sources(settings),
    )


class Services:
    """Builds each component on first use and closes them in reverse order.

    Commands ask only for what they need, so `kb search` never loads the chat model and `db upgrade`
    never loads either.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._models: ModelRegistry | None = None
        self._embedder: Embedder | None = None
        self._embedder_path: Path | None = None  # the file `_embedder` was loaded from
        self._embedder_reload = asyncio.Lock()
        self._embedder_users: EmbedderUsers | None = None  # work outside the components holding `_embedder`
        self._kb: KnowledgeBase | None = None
        self._generator: Generator | None = None
        self._log: SqlConversationLog | None = None
        self._pipeline: Pipeline | None = None
        self._conversations: ConversationService | None = None
        self._admin: Admin | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Services:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def models(self) -> ModelRegistry:
        """The model registry of the data folder, built once: the embedder and the generator share it (and so
        its hash cache and its one writer of the manifest)."""
        if self._models is None:
            from bot.llm.registry import ModelRegistry

            self._models = ModelRegistry(self.settings.models_dir)
        return self._models

    def embedder(self) -> Embedder:
        """The retrieval embedder the settings and active.json name, loaded once (`reload_embedder` swaps
        it for the one they name later)."""
        if self._embedder is None:
            path = self.models().resolve_embedder_path(self.settings.embeddings)
            self._embedder = self._load_embedder(path)
            self._embedder_path = path
        return self._embedder

    @contextlib.asynccontextmanager
    async def held_embedder(self) -> AsyncIterator[Embedder]:
        """The embedder, for work that uses it directly (the console's gap grouping): a `reload_embedder`
        meanwhile closes it only after the block."""
        from bot.kb.base import EmbedderUsers

        embedder = await asyncio.to_thread(self.embedder)
        if self._embedder_users is None:
            self._embedder_users = EmbedderUsers()
        with self._embedder_users.hold(embedder):
            yield embedder

    def _load_embedder(self, path: Path) -> Embedder:
        from bot.llm.embedder import LlamaEmbedder

        cfg = self.settings.embeddings
        embedder = LlamaEmbedder(
            path,
            n_threads=cfg.n_threads,
            batch_size=cfg.batch_size,
            pooling=cfg.pooling,
            query_prefix=cfg.query_prefix,
            passage_prefix=cfg.passage_prefix,
        )
        return glossed(embedder, cfg)

    async def reload_embedder(self) -> bool:
        """Serve with the embedder the settings and active.json name now, when it is not the loaded one: after
        `models use --embedder` or `finetune --embedder` re-embedded the index in another process, a running
        bot would refuse every search with the embedder it started with. SIGHUP calls it.

        The new embedder is loaded in a worker thread, then the knowledge base and the approved-answer matcher
        (which refits its threshold on the new vectors) embed with it; searches already running finish on
        the old one, which is closed once none uses it. A failed load keeps the old one serving and logs
        why. Nothing happens before the first use has loaded one. Returns whether the embedder changed.
        """
        async with self._embedder_reload:
            old, old_path = self._embedder, self._embedder_path
            if old is None:
                return False
            try:
                path = await asyncio.to_thread(self.models().resolve_embedder_path, self.settings.embeddings)
                if path == old_path:
                    return False
                new = await asyncio.to_thread(self._load_embedder, path)
            except Exception as exc:  # whatever stops the load, the old embedder and its index still serve
                log.error(
                    "embedder reload failed; the current embedder keeps serving",
                    extra={"serving": str(old_path), "error": f"{type(exc).__name__}: {exc}"},
                )
                return False
            self._embedder, self._embedder_path = new, path
            await self._hand_over_embedder(old, new)
            log.info("embedder reloaded", extra={"path": str(path), "previous": str(old_path)})
            await self._check_after_embedder_switch()
            return True

    async def _hand_over_embedder(self, old: Embedder, new: Embedder) -> None:
        """Give `new` to every component that embeds, wait until none uses `old`, then close it."""
        from bot.kb.base import SwapsEmbedder

        approved = self._conversations.approved if self._conversations is not None else None
        users = [user for user in (self._kb, approved) if isinstance(user, SwapsEmbedder)]
        await asyncio.gather(*(user.use_embedder(new) for user in users))
        if self._embedder_users is not None:
            await self._embedder_users.released(old)
        try:
            old.close()
        except Exception:
            log.exception("close failed", extra={"component": "embedder"})

    async def _check_after_embedder_switch(self) -> None:
        """Warn when the serving index is not the new embedder's (say, SIGHUP came before the re-embedding
        finished), and refit the approved answers' threshold now rather than on the next question."""
        from bot.kb.base import KBUnavailableError

        if self._kb is not None:
            try:
                await self._kb.ping()
            except KBUnavailableError as exc:
                log.warning(
                    "the knowledge base cannot serve with the new embedder", extra={"error": str(exc)}
                )
        if self._conversations is not None and self._conversations.approved is not None:
            try:
                await self._conversations.approved.refresh()
            except Exception as exc:  # the first matched question refits again
                log.warning(
                    "approved answers not refitted for the new embedder",
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )

    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            if self.settings.elasticsearch.url:
                from bot.kb.elastic import ElasticKB

                self._kb = ElasticKB(
                    self.settings.kb,
                    self.settings.elasticsearch,
                    self.embedder(),
                    embed_batch=self.settings.embeddings.batch_size,
                    translator=build_translator(self.settings),
                )
            else:
                from bot.kb.embedded import EmbeddedKB

                self._kb = EmbeddedKB(
                    self.settings.kb,
                    self.settings.index_dir,
                    self.embedder(),
                    embed_batch=self.settings.embeddings.batch_size,
                    translator=build_translator(self.settings),
                )
            from bot.kb.breaker import BreakerKB

            self._kb = BreakerKB(self._kb, timeout_s=self.settings.kb.search_timeout_s)
        return self._kb

    def kb_sources(self, extra: Sequence[str] = ()) -> list[DocumentSource]:
        """What a reload reads: the configured folders and sites, then `extra` ones (`kb sync URL`)."""
        return knowledge_sources(self.settings, extra)

    def kb_folders(self) -> list[Path]:
        """The configured knowledge folders (approved answers cite their files)."""
        from bot.kb.sources import is_site

        return [Path(name) for name in self.settings.kb.source_list() if not is_site(name)]

    @contextlib.asynccontextmanager
    async def scratch_kb(self) -> AsyncIterator[EmbeddedKB]:
        """An empty embedded index in a temporary folder, with the configured KB settings and embedder; closed
        and deleted on exit. Evaluations index into it: the configured index (or alias) is never touched."""
        from bot.kb.embedded import EmbeddedKB

        embedder = await asyncio.to_thread(self.embedder)
        with tempfile.TemporaryDirectory(prefix="bot-eval-") as tmp:
            kb = EmbeddedKB(
                self.settings.kb,
                Path(tmp),
                embedder,
                embed_batch=self.settings.embeddings.batch_size,
                translator=build_translator(self.settings),
            )
            try:
                yield kb
            finally:
                await kb.close()

    def generator(self) -> Generator:
        if self._generator is None:
            if len(self.settings.llm.server_urls) > 1:
                from bot.llm.pool import ModelServerPool

                self._generator = ModelServerPool(self.settings.llm)
            elif self.settings.llm.server_url:
                from bot.llm.remote import RemoteGenerator

                self._generator = RemoteGenerator(self.settings.llm)
            else:
                from bot.llm.engine import LlamaEngine

                models = self.models()
                model_path, lora_path = models.resolve_generator(self.settings.llm)
                self._generator = LlamaEngine(
                    self.settings.llm, model_path=model_path, lora_path=lora_path, models=models
                )
        return self._generator

    async def conversation_log(self, *, migrate: bool = True) -> ConversationLog:
        """The conversation log, its schema checked once. The embedded SQLite log is migrated to head first;
        `migrate=False` only looks (health probes never write)."""
        return await self._sql_log(migrate=migrate)

    def shares_state(self, *, webhook: bool) -> bool:
        """Whether Telegram keeps update order and flood windows in the database (several webhook workers).

        auto: with PostgreSQL and a webhook — the set-up that can run several workers; SQLite or long
        polling (one consumer by Telegram's design) keep them in memory, as fast as a lone process can.
        """
        mode = self.settings.telegram.shared_state
        if mode == "auto":
            return webhook and self.settings.resolved_database_url.startswith("postgresql")
        return mode == "database"

    async def shared_state(self, *, webhook: bool) -> SharedState | None:
        """The state webhook workers share, on the conversation log's database; None when not shared."""
        if not self.shares_state(webhook=webhook):
            return None
        from bot.store.shared_sql import SqlSharedState

        return SqlSharedState(await self._sql_log())

    async def _sql_log(self, *, migrate: bool = True) -> SqlConversationLog:
        async with self._lock:
            if self._log is None:
                from bot.store.repo import SqlConversationLog

                url = self.settings.resolved_database_url
                # The deployment's redaction rules keep its customers' details out of served answers.
                self._log = SqlConversationLog(url, redaction=self.settings.redaction)
                # Kept even when the check fails: `serve` starts degraded and the log recovers by itself.
                if migrate:
                    await self._migrate_embedded(self._log, url)
                else:
                    await self._log.check_schema()
        return self._log

    @staticmethod
    async def _migrate_embedded(store: SqlConversationLog, url: str) -> None:
        """The embedded SQLite log migrates itself: the log is the training data, and a fresh data folder
        must not answer unlogged. PostgreSQL is migrated explicitly (`db upgrade`) by whoever runs it."""
        from bot.store.base import SchemaOutdatedError

        try:
            await store.check_schema()
        except SchemaOutdatedError:
            if not url.startswith("sqlite"):
                raise
            from bot.store.migrate import upgrade

            log.info("migrating the embedded conversation log to the current schema")
            await asyncio.to_thread(upgrade, url)
            await store.check_schema()

    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = build_pipeline(self.settings, self.kb(), self.generator())
        return self._pipeline

    async def conversations(self) -> ConversationService:
        """The conversation service every channel calls (no operator desk until a channel attaches one)."""
        if self._conversations is None:
            # The pipeline first: a missing model is the error to report, not the log it would write to.
            pipeline = self.pipeline()
            store = await self._sql_log()
            self._conversations = build_conversations(
                self.settings,
                pipeline,
                store,
                approved=build_approved(store, self.embedder, self.kb()),
            )
            await self.warmed_kb()
            approved = self._conversations.approved
            if approved is not None:
                from bot.rag.approved import first_fit

                problem = await first_fit(approved)
                if problem:
                    log.warning(problem)
        return self._conversations

    async def warmed_kb(self, queries: Sequence[str] = ()) -> KnowledgeBase:
        """`kb()`, its index opened and its embedder run once (`BreakerKB.warm_up`) and the gloss dictionary
        read where it will be needed (the knowledge base holds Chinese, or one of `queries` is), outside any
        search's deadline: before a channel's first customer, and before `kb search` (its first Chinese
        search timed out reading the dictionary on a busy machine)."""
        from bot.chinese import has_han
        from bot.kb.breaker import BreakerKB

        kb = self.kb()
        if isinstance(kb, BreakerKB):
            await kb.warm_up()
        languages = await self._kb_languages(kb)
        # A query with a Chinese character is embedded glossed (`bot.kb.glossing`): the dictionary is read.
        await self._warm_gloss(chinese="zh" in languages or any(has_han(query) for query in queries))
        await self._warm_dictionaries(languages)
        return kb

    @staticmethod
    async def _kb_languages(kb: KnowledgeBase) -> frozenset[str]:
        """The analyses of the languages the knowledge base's calibration found (`language_key`); none when
        it cannot be read."""
        from bot.kb.analysis import language_key
        from bot.kb.base import KBUnavailableError

        try:
            calibration = await kb.calibration()
        except KBUnavailableError:
            return frozenset()
        return frozenset(language_key(fit.lang) for fit in calibration.languages)

    @staticmethod
    async def _warm_dictionaries(languages: frozenset[str]) -> None:
        """Read the dictionaries the knowledge base's `languages` are stemmed by (`bot.stemmers.DICTIONARIES`:
        Hebrew's, about 8 s on 2 cores) before the first customer's question, which waited for them (outside
        its search's deadline, `PreparesSearch`, but waited)."""
        from bot.stemmers import DICTIONARIES, dictionaries_needed, load_dictionaries

        needed = languages & DICTIONARIES
        if dictionaries_needed(needed):
            await asyncio.to_thread(load_dictionaries, needed)

    async def _warm_gloss(self, *, chinese: bool) -> None:
        """Read the dictionary before the first customer's question when the knowledge base holds Chinese (or
        a query is, `chinese`) and the embedder reads it glossed (`bot.kb.glossing`): about a second, which
        counted against the first Chinese question's search deadline. Not otherwise: it holds about 115 MB."""
        from bot.kb.glossing import GlossingEmbedder

        embedder = self._embedder
        if chinese and isinstance(embedder, GlossingEmbedder):
            await asyncio.to_thread(embedder.glosser.gloss, "中文")

    async def admin(self) -> Admin:
        """The admin actions (reload, add a document, stats, export) that channels render."""
        if self._admin is None:
            store = await self._sql_log()
            self._admin = build_admin(
                self.settings,
                self.kb(),
                store,
                export=self.run_export,
                approved=store,
                model_servers=self._model_server_lines,
            )
        return self._admin

    def _model_server_lines(self) -> list[str]:
        """Live figures of a pool of model servers for /stats; none before the generator is built."""
        if self._generator is None or len(self.settings.llm.server_urls) < 2:
            return []
        from bot.llm.pool import ModelServerPool, describe_servers

        if isinstance(self._generator, ModelServerPool):
            return describe_servers(self._generator.figures())
        return []

    async def web_deps(self) -> WebDeps:
        """What the web channel and the admin console call, sharing this engine and this log."""
        from bot.channels.web.app import load_or_create_secret
        from bot.channels.web.deps import FloodRule, WebDeps
        from bot.store.formats import FORMATS
        from bot.store.insights_sql import SqlInsights

        web = self.settings.web
        secret = (
            web.secret_key.get_secret_value()
            if web.secret_key is not None
            else await asyncio.to_thread(load_or_create_secret, self.settings.data_dir)
        )
        telegram = self.settings.telegram
        return WebDeps(
            settings=web,
            conversations=await self.conversations(),
            admin=await self.admin(),
            insights=SqlInsights(await self._sql_log()),
            secret_key=secret,
            flood=FloodRule(telegram.flood_messages, telegram.flood_window_s),
            upload_limit_bytes=int(telegram.max_upload_mb * 1024 * 1024),
            export=self.run_filtered_export,
            embedder=self.held_embedder,
            export_formats=tuple(FORMATS),
        )

    async def export_log(
        self, options: ExportOptions, progress: ProgressCallback | None = None
    ) -> ExportStats:
        """The training export of the conversation log, composed once for the CLI, the web console's form
        and `/export`: the deployment's redaction with the admins' ids (named in answers and corrections
        without ever writing as users), the bot's own prompt builder, the check that a correction rests on
        its passages (`--grounded-only`) and the prefill that opens its answers (`--include-context`)."""
        from bot.rag.citations import supports_correction
        from bot.rag.prompting import build_messages, prefilled_answer
        from bot.store.export import export

        return await export(
            await self._sql_log(),
            options,
            redaction=self.settings.redaction,
            redact_user_ids=[str(uid) for uid in self.settings.telegram.admin_ids],
            build_prompt=build_messages,
            supports=supports_correction,
            shape_target=prefilled_answer,
            progress=progress,
        )

    async def run_filtered_export(self, out: Path, filters: ExportFilters) -> str:
        """The training export with the CLI's filters (the web console's export form); a bad filter raises
        ValueError with the CLI's message."""
        from bot.store.export import ExportError, ExportOptions, parse_date

        try:
            options = ExportOptions(
                out=out,
                format=filters.format,
                since=parse_date(filters.since.isoformat()) if filters.since else None,
                until=parse_date(filters.until.isoformat(), end=True) if filters.until else None,
                min_rating=filters.min_rating,
                include_context=filters.include_context,
                grounded_only=filters.grounded_only,
                channels=filters.channels,
                history_turns=self.settings.rag.history_turns,
            )
            stats = await self.export_log(options)
        except ExportError as exc:
            raise ValueError(str(exc)) from None
        return f"{stats.samples_written} samples from {stats.conversations_read} conversations"

    async def approved_store(self) -> ApprovedAnswerStore:
        """The approved answers, kept in the conversation log's database (schema checked as for the log)."""
        return await self._sql_log()

    async def run_export(self, out: Path) -> str:
        """The training export in OpenAI chat format into `out`, as `/export` sends it; a one-line summary."""
        from bot.store.export import ExportOptions

        stats = await self.export_log(
            ExportOptions(out=out, format="openai", history_turns=self.settings.rag.history_turns)
        )
        dropped = sum(stats.dropped.values())
        return (
            f"{stats.samples_written} samples from {stats.conversations_read} conversations "
            f"({dropped} dropped, {sum(stats.redactions.values())} redactions)"
        )

    async def aclose(self) -> None:
        for name in ("_log", "_generator", "_kb"):
            component = getattr(self, name)
            if component is None:
                continue
            try:
                await component.close()
            except Exception:
                log.exception("close failed", extra={"component": name.strip("_")})
            setattr(self, name, None)
        if self._embedder is not None:
            try:
                self._embedder.close()
            except Exception:
                log.exception("close failed", extra={"component": "embedder"})
            self._embedder = None
        self._pipeline = None
        self._conversations = None
        self._admin = None
