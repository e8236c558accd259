"""Elasticsearch knowledge base: BM25 `multi_match` plus kNN fused in the app; alias-swapped reload."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bot.chinese import to_simplified
from bot.config import ElasticsearchSettings, KBSettings
from bot.domain import Chunk, Hit
from bot.kb.analysis import (
    MAX_QUERY_LANGUAGES,
    analyzer,
    describe_languages,
    es_analyzer,
    indexed_text,
    languages_of,
    load_segmenters,
    query_words,
    question_language,
    segmenters_needed,
    word_parts,
)
from bot.kb.base import (
    OUTLINE_CHUNKS,
    Embedder,
    EmbedderUsers,
    KBNotBuiltError,
    KBStats,
    KBUnavailableError,
    ProgressCallback,
    ReloadError,
    ReloadReport,
    SearchMode,
    check_search_mode,
    outline_of,
    reports_from_json,
    reports_to_json,
)
from bot.kb.calibration import Calibration, fit_calibration, stored_calibration, with_vocabulary
from bot.kb.chunking import heading_text
from bot.kb.fusion import DENSE_WEIGHT, FUSION_DEPTH, FusionMethod, collapse_sections, fuse_hits
from bot.kb.glossing import prepare_embedding
from bot.kb.reload import (
    EMBED_BATCH,
    NOT_RECORDED,
    Corpus,
    Sources,
    build_corpus,
    describe_changes,
    embedder_id,
    other_space,
    report_progress,
    same_embedder,
)
from bot.kb.vocabulary import VocabularyBridge, build_vocabulary_bridge
from bot.stemmers import OWN_STEMMERS

if TYPE_CHECKING:
    from elastic_transport import AsyncTransport
    from elasticsearch import AsyncElasticsearch

    from bot.kb.crosslingual import QueryTranslator

log = logging.getLogger("bot.kb")

# The heading field's weight beside the text field. Each field scores with its own BM25 statistics here, so
# a word of the short headings has a high IDF of its own, where the embedded backend's one FTS5 score (heading
# weight 2) counts it within the whole chunk: with 2 as well, headings outweighed the text (sample help
# center BM25 hit@1 0.591 against 0.636 embedded). Measured 2026-12-05 on a real node, hybrid hit@1 / hit@5
# / MRR with 2 → 1: sample help center 0.682 / 0.932 / 0.795 → 0.750 / 0.932 / 0.838, its customer wording
# 0.333 / 0.767 / 0.476 → 0.367 / 0.767 / 0.508, Python FAQ 0.900 / 0.983 / 0.937 → 0.900 / 0.983 / 0.939,
# Debian Reference en 0.767 / 0.933 / 0.844 → 0.867 / 0.933 / 0.895, fr 0.533 / 0.800 / 0.638 → 0.567 /
# 0.833 / 0.670, zh 0.425 / 0.725 / 0.564 → 0.525 / 0.750 / 0.620.
HEADING_BOOST = 1
CALIBRATION_TTL_S = 30.0
MAX_QUERY_CHARS = 1000
# Bulk back-off on 429 (the cluster is shedding load): retries and first pause, doubling each time.
BULK_MAX_RETRIES = 5
BULK_INITIAL_BACKOFF_S = 1.0
BULK_MAX_BACKOFF_S = 30.0
ADMIN_TIMEOUT_S = 60.0
# Elasticsearch's own ceilings: `size` past index.max_result_window and kNN `num_candidates` past 10000 are
# refused with a 400, so searches never ask for more.
MAX_RESULT_WINDOW = 10_000
MAX_NUM_CANDIDATES = 10_000
# Bytes per bulk request: aiohttp warns that a body above 1 MiB sent as raw bytes may block the event loop
# (a 2,000-page site export reached it), and the bulk helper's default allows 100 MB.
BULK_MAX_BYTES = 1_000_000
# A document `_id` longer than this (in UTF-8 bytes) fails the whole bulk request.
MAX_ID_BYTES = 512
# Another process's reload may swap the alias between our read and our `_aliases` request; each attempt
# re-reads the alias first.
SWAP_ATTEMPTS = 3
# Vectors read back per request when a reload reuses the serving index's vectors.
VECTOR_PAGE = 1000
# Documents listed per request by `indexed_sources` (composite aggregation buckets; a node refuses more
# than `search.max_buckets`, 65,536 by default).
SOURCES_PAGE = 1000
_SOURCE_FIELDS = [
    "chunk_id",
    "source",
    "heading",
    "heading_path",
    "position",
    "body",
    "content_hash",
    "url",
    "lang",
]
# BM25 searches one pair of text fields per analyzer: a chunk's heading and text go into the pair of its
# document's language (`bot.kb.analysis.es_analyzer`), e.g. `bm25_text_cjk` and `bm25_heading_cjk`.
TEXT_FIELD = "bm25_text_"
_WORD_COLON = re.compile(r"(?<=[^\W\d_]):(?=[^\W\d_])")
HEADING_FIELD = "bm25_heading_"


def index_mapping(dims: int, languages: Iterable[str] = ("en",)) -> dict[str, Any]:
    """The explicit mapping: text analysed per document language, keyword metadata, int8-HNSW vectors.

    Each analyzer the documents' `languages` need (built-in ones only: `cjk`, `english`, `french`, …,
    `standard` otherwise) gets its own heading and text field.
    """
    analyzed: dict[str, Any] = {}
    for name in sorted({es_analyzer(lang) for lang in languages}):
        analyzed[TEXT_FIELD + name] = {"type": "text", "analyzer": name}
        analyzed[HEADING_FIELD + name] = {"type": "text", "analyzer": name}
    return {
        "dynamic": "strict",
        "properties": {
            "chunk_id": {"type": "keyword"},
            "source": {"type": "keyword"},
            "heading": {"type": "keyword", "ignore_above": 2048},
            "heading_path": {"type": "keyword", "ignore_above": 2048},
            "position": {"type": "integer"},
            "lang": {"type": "keyword"},
            # The bm25 fields hold heading path + body analysed; `body` is what is shown, not indexed.
            **analyzed,
            "body": {"type": "text", "index": False},
            "content_hash": {"type": "keyword"},
            "url": {"type": "keyword", "index": False},
            "vector": {
                "type": "dense_vector",
                "dims": dims,
                "index": True,
                "similarity": "cosine",
                "index_options": {"type": "int8_hnsw"},
            },
        },
    }


# One shard; replicas 0 on a single node (which would stay yellow with the default 1) and 1 once the cluster
# has a second node to hold it. Refresh is explicit, once, after the bulk load.
INDEX_SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "auto_expand_replicas": "0-1",
    "refresh_interval": "-1",
}


def doc_id(chunk_id: str) -> str:
    """The document `_id` of a chunk: its id when short enough, else a digest of it.

    The chunk id is the relative path plus position, so a deep or non-ASCII path can pass the 512-byte
    `_id` limit; the full id always stays in the `chunk_id` field.
    """
    if len(chunk_id.encode("utf-8")) <= MAX_ID_BYTES:
        return chunk_id
    return "sha256:" + hashlib.sha256(chunk_id.encode("utf-8")).hexdigest()


def indexable_vector(vector: npt.NDArray[np.float32]) -> list[float] | None:
    """The vector as sent, or None for one `cosine` cannot take (zero magnitude, NaN, infinity).

    Such a chunk is indexed without a vector: BM25 still finds it, kNN skips it.
    """
    values = [float(x) for x in vector]
    norm = math.fsum(x * x for x in values)
    if not math.isfinite(norm) or norm == 0.0:
        return None
    return values


def _cosine(stored: Any, vector: npt.NDArray[np.float32]) -> float | None:
    """Exact cosine of a stored vector (from `_source`) and the query; None when it cannot be had."""
    if not isinstance(stored, list):
        return None
    vec = np.asarray(stored, dtype=np.float32)
    if vec.shape != vector.shape:
        return None
    norms = float(np.linalg.norm(vec)) * float(np.linalg.norm(vector))
    return float(vec @ vector) / norms if norms > 0 else None


# The REST API version the client asks for, newest first: client 9 sends `compatible-with=9`, which an 8.x
# server refuses with a 400 ("Accept version must be either version 8 or 7"); asked for 8, a 9.x server
# answers in its 8-compatible form, as the 8.x client would get. So the first refusal steps down, once.
COMPAT_VERSIONS = ("9", "8")
SUPPORTED_SERVERS = "Elasticsearch 8.12 or newer 8.x, or 9.x"


@functools.cache
def negotiating_transport() -> type[AsyncTransport]:
    """An AsyncTransport that asks for REST API compatibility 9, and 8 once a server refuses 9."""
    from elastic_transport import AsyncTransport, TransportApiResponse

    class NegotiatingTransport(AsyncTransport):
        compat = COMPAT_VERSIONS[0]

        async def perform_request(  # type: ignore[override]
            self, method: str, target: str, **kwargs: Any
        ) -> TransportApiResponse:
            asked = self.compat
            response = await super().perform_request(
                method, target, **{**kwargs, "headers": _with_compat(kwargs.get("headers"), asked)}
            )
            older = COMPAT_VERSIONS[COMPAT_VERSIONS.index(asked) + 1 :]
            refused = response.meta.status == 400 and _refuses_version(response.body)
            # A HEAD answer has no body to read the reason from; the retry's answer tells.
            if older and (refused or (response.meta.status == 400 and method == "HEAD")):
                headers = _with_compat(kwargs.get("headers"), older[0])
                retried = await super().perform_request(method, target, **{**kwargs, "headers": headers})
                if refused or retried.meta.status != 400:
                    self.compat = older[0]
                    log.info("the server takes an older REST API version", extra={"compat": older[0]})
                    return retried
            if response.meta.status == 400 and method == "HEAD":
                # Refused in every version: the same path read with GET carries the reason to report.
                return await super().perform_request("GET", target, **kwargs)
            return response

    return NegotiatingTransport


def _with_compat(headers: Any, version: str) -> Any:
    if not hasattr(headers, "copy"):  # the transport's DEFAULT sentinel
        return headers
    out = headers.copy()
    for name in ("accept", "content-type"):
        value = out.get(name)
        if isinstance(value, str):
            out[name] = re.sub(r"compatible-with=\d+", f"compatible-with={version}", value)
    return out


def es_reason(exc: BaseException) -> str | None:
    """Elasticsearch's own reason from an error answer (`error.root_cause[0].reason`, else `error.reason`).

    It names indices, settings and limits, never a credential; the client's exception text, which can carry
    URLs, is not used.
    """
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return error[:300]
    if not isinstance(error, dict):
        return None
    causes = error.get("root_cause")
    if isinstance(causes, list) and causes and isinstance(causes[0], dict):
        reason = causes[0].get("reason")
        if isinstance(reason, str) and reason:
            return reason[:300]
    reason = error.get("reason")
    return reason[:300] if isinstance(reason, str) and reason else None


def public_url(url: str) -> str:
    """The URL as shown: without the `user:password@` part."""
    return re.sub(r"//[^/@]*@", "//", url)


def _refuses_version(body: Any) -> bool:
    """Whether an error body is the server refusing the REST API version asked for."""
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("type") == "media_type_header_exception"


class _SwapUncertainError(ReloadError):
    """The alias swap's answer was lost: the new index may be serving, so it must not be dropped."""


def bm25_query(
    query: str, lang: str, bridged: Sequence[str] = (), languages: Sequence[str] = ()
) -> dict[str, Any]:
    """The BM25 query: the question's words analysed for its language across every document language's
    fields, and as each field's own analyzer reads them (so a mixed knowledge base matches its documents
    in their own language too). `bridged` words (`bot.kb.vocabulary`) are searched with them.

    The words are those the embedded backend searches (`query_words`, for `lang` and the knowledge base's
    most frequent `languages`): the built-in analyzers' stop lists are short (`english` keeps "how", "can",
    "my"), and their words, matched in every passage, put "Can I send a parcel…?" FAQ entries first for any
    question that starts so (with `HEADING_BOOST`, measured on a real node 2026-12-05: README, "Elasticsearch
    in production").
    multi_match analyses the words as plain text; query_string would parse user text as syntax. Vietnamese
    words come as the embedded index's terms (`toned_term`, …), which its fields hold (`indexed_text`) and
    `standard` keeps as they are: an index written before 2026-12-07 finds only the words typed without marks
    until `kb reload`.
    """
    fields = [f"{TEXT_FIELD}*", f"{HEADING_FIELD}*^{HEADING_BOOST}"]
    # The standard tokenizer keeps "heading:customs" one word (a colon between letters does not break a
    # word in UAX #29), which no document holds; the embedded backend reads two words there, and so does this.
    typed = _WORD_COLON.sub(" ", query[:MAX_QUERY_CHARS])
    keys = list(dict.fromkeys([lang, *languages]))[:MAX_QUERY_LANGUAGES]
    # Traditional Chinese comes folded into Simplified, as Chinese documents' BM25 fields are written, and as
    # typed too for an index written before folding (`bot.kb.analysis.indexed_text`); a Japanese question's
    # kanji are not Traditional Chinese (`query_words` folds for a Chinese analysis only).
    words = query_words(typed, keys)
    if bridged:
        words = list(dict.fromkeys([*words, *query_words(" ".join(bridged), keys)]))
    if not words:
        return {"match_none": {}}  # stop words only: nothing to match, as on the embedded backend
    text = " ".join(words)
    return {
        "bool": {
            "should": [
                {
                    "multi_match": {
                        "query": text,
                        "fields": fields,
                        "type": "most_fields",
                        "analyzer": es_analyzer(lang),
                    }
                },
                {"multi_match": {"query": text, "fields": fields, "type": "most_fields"}},
            ]
        }
    }


def _own_stems(word: str) -> set[str]:
    """The stems `word` has in the languages stemmed by `bot.stemmers`, where they differ from it."""
    lower = word.lower()
    return {stem for lang in sorted(OWN_STEMMERS) if (stem := analyzer(lang).stem(lower)) != lower}


def outdated_mapping(index: dict[str, Any]) -> str | None:
    """Why an index (its GET `_mapping` entry) cannot serve keyword search: built by a version of the bot
    before the text and heading fields this one searches (`TEXT_FIELD`, `HEADING_FIELD`); None if it can."""
    properties = (index.get("mappings") or {}).get("properties") or {}
    if any(name.startswith(TEXT_FIELD) for name in properties) and any(
        name.startswith(HEADING_FIELD) for name in properties
    ):
        return None
    return "built by an older version: keyword search is off, run `python -m bot kb reload`"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


def _chunk_from_source(source: dict[str, Any]) -> Chunk:
    path = source.get("heading_path") or []
    if isinstance(path, str):
        path = [path]
    return Chunk(
        id=str(source.get("chunk_id", "")),
        source=str(source.get("source", "")),
        heading=str(source.get("heading", "")),
        heading_path=tuple(str(p) for p in path),
        position=int(source.get("position", 0)),
        text=str(source.get("body", "")),
        content_hash=str(source.get("content_hash", "")),
        url=str(source.get("url", "") or ""),
        lang=str(source.get("lang", "") or "und"),
    )


class ElasticKB:
    """Production backend. Searches read only the alias; reloads write `<alias>-<utc timestamp>` indices."""

    name = "elasticsearch"

    def __init__(
        self,
        settings: KBSettings,
        elasticsearch: ElasticsearchSettings,
        embedder: Embedder,
        *,
        embed_batch: int = EMBED_BATCH,
        translator: QueryTranslator | None = None,
    ) -> None:
        """`elasticsearch` says where the cluster and alias are; `embed_batch` is texts per embedder call;
        `translator` as for `EmbeddedKB`."""
        self._settings = settings
        self._translator = translator
        self._es_settings = elasticsearch
        self._embedder = embedder
        # Searches and reloads hold the embedder they started with: `use_embedder` waits for them.
        self._users = EmbedderUsers()
        self._embed_batch = embed_batch
        self._alias = elasticsearch.alias
        self._index_re = re.compile(rf"^{re.escape(self._alias)}-\d{{20}}$")
        self._client: AsyncElasticsearch | None = None
        self._reload_lock = asyncio.Lock()
        # (physical index, its calibration, when read): re-read after CALIBRATION_TTL_S, so a reload by
        # another process reaches this one within that time.
        self._calibration: tuple[str, Calibration, float] | None = None
        # Read with it: why the index behind the alias cannot serve this embedder (built by another), or None.
        self._stale: str | None = None
        # The index whose outdated mapping (`outdated_mapping`) was last warned of.
        self._warned_outdated: str | None = None
        # (physical index, its vocabulary bridge or None); another process's index gets its bridge built in
        # the background on its first search (`_bridge_task`), and searches go without it meanwhile.
        self._bridge: tuple[str, VocabularyBridge | None] | None = None
        self._bridge_task: tuple[str, asyncio.Task[VocabularyBridge | None]] | None = None
        # How hybrid search fuses its two lists: the same code and default as the embedded backend.
        self.fusion: FusionMethod = settings.fusion

    def _es(self) -> AsyncElasticsearch:
        if self._client is None:
            from elasticsearch import AsyncElasticsearch

            cfg = self._es_settings
            kwargs: dict[str, Any] = {
                "request_timeout": cfg.request_timeout_s,
                "max_retries": 1,
                "retry_on_timeout": False,
                "transport_class": negotiating_transport(),
            }
            if cfg.api_key is not None:
                kwargs["api_key"] = cfg.api_key.get_secret_value()
            elif cfg.username:
                password = cfg.password.get_secret_value() if cfg.password is not None else ""
                kwargs["basic_auth"] = (cfg.username, password)
            if cfg.url.startswith("https://"):
                kwargs["verify_certs"] = cfg.verify_certs
                if cfg.ca_certs is not None:
                    kwargs["ca_certs"] = str(cfg.ca_certs)
            self._client = AsyncElasticsearch(cfg.url, **kwargs)
        return self._client

    def _describe(self, exc: BaseException) -> str:
        """What went wrong, for an operator: the error type, Elasticsearch's reason, and for the failures a
        setting causes, the setting to check. The client's exception text can carry URLs with credentials, so
        it is never used; the URL is shown without them."""
        from elastic_transport import ConnectionError, ConnectionTimeout, TlsError
        from elasticsearch import ApiError, AuthenticationException, AuthorizationException

        url = public_url(self._es_settings.url)
        kind = exc.__class__.__name__
        if isinstance(exc, ApiError) and _refuses_version(exc.body):
            return (
                f"the server refused REST API versions {' and '.join(COMPAT_VERSIONS)}; "
                f"this bot supports {SUPPORTED_SERVERS}"
            )
        if isinstance(exc, TlsError):
            return (
                f"TLS with {url} failed ({kind}): check http:// or https:// in BOT_ELASTICSEARCH__URL "
                "(the node's own setting decides), and BOT_ELASTICSEARCH__CA_CERTS"
            )
        if isinstance(exc, ConnectionTimeout):
            return (
                f"no answer from {url} within {self._es_settings.request_timeout_s:g} s ({kind}): "
                "check BOT_ELASTICSEARCH__URL, or raise BOT_ELASTICSEARCH__REQUEST_TIMEOUT_S"
            )
        if isinstance(exc, ConnectionError):
            return f"cannot connect to {url} ({kind}): check BOT_ELASTICSEARCH__URL"
        reason = es_reason(exc)
        if isinstance(exc, AuthenticationException):
            return (
                f"{url} refused the credentials ({kind} 401): check BOT_ELASTICSEARCH__USERNAME and "
                "BOT_ELASTICSEARCH__PASSWORD, or BOT_ELASTICSEARCH__API_KEY"
            )
        if isinstance(exc, AuthorizationException):
            return (
                f"{url} denied it ({kind} 403" + (f": {reason}" if reason else "") + "): the user of "
                "BOT_ELASTICSEARCH__USERNAME or BOT_ELASTICSEARCH__API_KEY lacks a privilege on "
                f"{self._alias!r} and {self._alias}-*"
            )
        if isinstance(exc, ApiError):
            return f"{kind} {exc.status_code}" + (f": {reason}" if reason else "")
        return kind

    def _unavailable(self, what: str, exc: BaseException) -> KBUnavailableError:
        return KBUnavailableError(f"Elasticsearch {what} failed: {self._describe(exc)}")

    # ------------------------------------------------------------------------------------------ search

    async def use_embedder(self, embedder: Embedder) -> None:
        """Search and reload with `embedder` from now on (SIGHUP after `models use --embedder`): whether the
        index behind the alias is its is read again on the next search. Searches already running finish on
        the previous embedder; returns once none is left."""
        previous = self._embedder
        if embedder is previous:
            return
        self._embedder = embedder
        # Read for the previous embedder: whether the index was its, and the bridge of its words' vectors.
        self._calibration = None
        self._stale = None
        self._bridge = None
        await self._stop_bridge()
        await self._users.released(previous)

    async def prepare_search(self, query: str) -> None:
        if segmenters_needed(query):
            await asyncio.to_thread(load_segmenters, query)
        await prepare_embedding(self._embedder, query)

    async def search(
        self, query: str, k: int = 5, mode: SearchMode = "hybrid", lang: str | None = None
    ) -> list[Hit]:
        check_search_mode(mode)
        if k <= 0 or not query.strip():
            return []
        with self._users.hold(self._embedder) as embedder:
            return await self._search(query, None, k, mode, lang, embedder)

    async def search_vector(
        self,
        query: str,
        vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: SearchMode = "hybrid",
        lang: str | None = None,
    ) -> list[Hit]:
        """Search with an already embedded query; BM25 and kNN requests run concurrently in hybrid mode.

        `lang` is the question's language; None detects it from `query`.
        """
        check_search_mode(mode)
        if mode != "bm25" and vector is None:
            raise ValueError(f"{mode} search needs the query vector")
        if k <= 0:
            return []
        with self._users.hold(self._embedder) as embedder:
            return await self._search(query, vector, k, mode, lang, embedder)

    async def _search(
        self,
        query: str,
        vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: SearchMode,
        lang: str | None,
        embedder: Embedder,
    ) -> list[Hit]:
        """The search of `search` and `search_vector`: `vector` None embeds `query` with `embedder` (unless in
        bm25 mode), once the index behind the alias is known to be that embedder's."""
        calibration = await self._serving_calibration()
        # A short question's language leans on the knowledge base's, as the pipeline's gate does.
        prior = calibration.prior_languages()
        language = lang if lang else await asyncio.to_thread(question_language, query, prior)
        if embedder is not self._embedder:
            # SIGHUP brought another embedder since this search started: the check above was for that one.
            raise KBUnavailableError("the embedder changed while this question was searched; ask again")
        if vector is None and mode != "bm25":
            vector = (await asyncio.to_thread(embedder.embed_queries, [query]))[0]
        weight = DENSE_WEIGHT
        if mode == "hybrid":
            weight = calibration.dense_weight_for(language)
        bridged: list[str] = []
        if mode != "dense" and self._calibration is not None:
            bridge = await self._bridge_for(self._calibration[0], calibration)
            if bridge is not None:
                languages = [
                    language,
                    *(fit.lang for fit in calibration.languages),
                    *calibration.bridge_vocabulary(),
                ]
                written_in = [fit.lang for fit in calibration.languages]
                bridged = await asyncio.to_thread(bridge.bridge_words, query, languages, written_in)
        # Analysed for the question's language and the knowledge base's most frequent ones, as embedded.
        kb_languages = [fit.lang for fit in sorted(calibration.languages, key=lambda fit: -fit.questions)]
        return await self._search_in(
            self._alias, query, vector, k, mode, language, weight, bridged, kb_languages
        )

    async def _bridge_for(self, index: str, calibration: Calibration) -> VocabularyBridge | None:
        """The vocabulary bridge of `index`'s stored words, or None while it is being embedded.

        Embedding 20,000 words takes longer than a search may wait, so it runs once per index and process
        in a task of its own that no search's deadline cancels; until it is done searches use the question's
        own words, as without a bridge.
        """
        cached = self._bridge
        if cached is not None and cached[0] == index:
            return cached[1]
        task = self._bridge_task
        if task is not None and task[0] == index:
            if not task[1].done():
                return None
            self._bridge_task = None
            bridge = None if task[1].cancelled() or task[1].exception() else task[1].result()
            if self._calibration is not None and self._calibration[0] == index:
                self._bridge = (index, bridge)
            return bridge
        words = calibration.bridge_vocabulary()
        self._bridge_task = (
            index,
            asyncio.create_task(build_vocabulary_bridge(words, self._embedder, index)),
        )
        return None

    async def _search_in(
        self,
        target: str,
        query: str,
        vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: SearchMode,
        lang: str = "en",
        dense_weight: float = DENSE_WEIGHT,
        bridged: Sequence[str] = (),
        kb_languages: Sequence[str] = (),
    ) -> list[Hit]:
        """Search the index or alias `target` (a reload calibrates on its new index before the swap);
        `kb_languages`: the documents' languages, most frequent first."""
        from elasticsearch import ApiError, TransportError

        depth = min(max(k * 3, FUSION_DEPTH), MAX_RESULT_WINDOW)
        if vector is not None and indexable_vector(vector) is None:
            # Cosine has no direction for a zero (or NaN) query vector, and ES refuses it with a 400.
            vector = None
        try:
            if mode == "dense" and vector is None:
                return []
            if mode == "bm25" or vector is None:
                bm25 = await self._bm25(
                    target, query, lang, depth, with_vectors=False, bridged=bridged, kb_languages=kb_languages
                )
                dense: list[tuple[Chunk, float]] = []
            elif mode == "dense":
                bm25, dense = [], await self._knn(target, vector, depth)
            else:
                bm25, dense = await asyncio.gather(
                    self._bm25(
                        target,
                        query,
                        lang,
                        depth,
                        with_vectors=True,
                        bridged=bridged,
                        kb_languages=kb_languages,
                    ),
                    self._knn(target, vector, depth),
                )
        except (ApiError, TransportError) as exc:
            if isinstance(exc, ApiError) and exc.status_code == 404:
                raise await self._missing_alias() from exc
            raise self._unavailable("search", exc) from exc
        chunks: list[Chunk] = []
        ids: dict[str, int] = {}
        vectors: dict[int, npt.NDArray[np.float32]] = {}

        def intern(chunk: Chunk, vec: list[float] | None = None) -> int:
            if chunk.id not in ids:
                ids[chunk.id] = len(chunks)
                chunks.append(chunk)
            row = ids[chunk.id]
            if vec is not None:
                vectors[row] = np.asarray(vec, dtype=np.float32)
            return row

        bm25_rows = [(intern(c, vec), s) for c, s, vec in bm25]
        dense_rows = [(intern(c), s) for c, s in dense]
        cosine: dict[int, float] = {row: s for row, s in dense_rows}
        if vector is not None:
            for row, vec in vectors.items():
                exact = _cosine(vec.tolist(), vector)
                if row not in cosine and exact is not None:
                    cosine[row] = exact
        sections = [(c.source, c.heading_path) for c in chunks]
        return fuse_hits(
            chunks,
            collapse_sections(bm25_rows, sections),
            collapse_sections(dense_rows, sections),
            k,
            mode,
            cosine,
            self.fusion,
            dense_weight,
        )

    async def _bm25(
        self,
        target: str,
        query: str,
        lang: str,
        depth: int,
        *,
        with_vectors: bool,
        bridged: Sequence[str] = (),
        kb_languages: Sequence[str] = (),
    ) -> list[tuple[Chunk, float, list[float] | None]]:
        # Vectors come back only for hybrid search, which scores BM25-only hits by cosine: 384 floats
        # of JSON per hit is most of the response.
        response = await self._es().search(
            index=target,
            query=bm25_query(query, lang, bridged, kb_languages),
            size=depth,
            source={"includes": [*_SOURCE_FIELDS, "vector"] if with_vectors else list(_SOURCE_FIELDS)},
        )
        out = []
        for hit in response["hits"]["hits"]:
            source = hit.get("_source", {})
            vec = source.get("vector")
            out.append((_chunk_from_source(source), float(hit.get("_score") or 0.0), vec))
        return out

    async def _knn(
        self, target: str, vector: npt.NDArray[np.float32], depth: int
    ) -> list[tuple[Chunk, float]]:
        response = await self._es().search(
            index=target,
            knn={
                "field": "vector",
                "query_vector": [float(x) for x in vector],
                "k": depth,
                "num_candidates": min(max(100, depth * 2), MAX_NUM_CANDIDATES),
            },
            size=depth,
            source={"includes": [*_SOURCE_FIELDS, "vector"]},
        )
        out = []
        for hit in response["hits"]["hits"]:
            source = hit.get("_source", {})
            # int8_hnsw scores are estimates from quantized vectors, while BM25-only hits get the exact
            # cosine and the refusal gate reads both: rescore every hit exactly from its stored vector
            # (ES's own (1 + cos) / 2 score only when the vector did not come back).
            exact = _cosine(source.get("vector"), vector)
            score = exact if exact is not None else 2.0 * float(hit.get("_score") or 0.0) - 1.0
            out.append((_chunk_from_source(source), score))
        out.sort(key=lambda item: -item[1])
        return out

    # ------------------------------------------------------------------------------------------ reload

    @contextlib.asynccontextmanager
    async def _reloading(self) -> AsyncIterator[Embedder]:
        """This object's reload lock, and the embedder the whole reload embeds with (held, so a switch of
        embedders waits for the reload to end)."""
        async with self._reload_lock:
            with self._users.hold(self._embedder) as embedder:
                yield embedder

    async def reload(self, source: Sources, progress: ProgressCallback | None = None) -> ReloadReport:
        from elastic_transport import ConnectionTimeout
        from elasticsearch import ApiError, TransportError

        async with self._reloading() as embedder:
            es = self._es()
            # Cheap calls first: an unreachable cluster, wrong credentials or an index holding the alias's
            # name would otherwise show only after minutes of embedding.
            try:
                await self._check_alias_name(es)
            except (ApiError, TransportError) as exc:
                raise ReloadError(
                    f"Elasticsearch reload failed checking the alias {self._alias!r}, before any work: "
                    f"{self._describe(exc)}; nothing was changed"
                ) from exc
            cache, previous = await self._replaced(es, embedder)
            corpus = await build_corpus(
                source,
                self._settings,
                embedder,
                progress,
                cache,
                embed_batch=self._embed_batch,
                previous=previous,
            )
            index = f"{self._alias}-{_stamp()}"
            # Set once a cancelled swap hands `index` to `_settle_cancelled_swap`, which alone may drop it.
            settling = False
            # Whether `index` may exist, so a failure drops only an index this reload made.
            created = False
            # What the reload was doing, for its error message.
            stage = f"checking the alias {self._alias!r}"
            try:
                await self._check_alias_name(es)  # again: the embedding may have taken minutes
                stage = f"creating the index {index}"
                try:
                    await self._create_index(es, index, corpus, embedder)
                except ConnectionTimeout:
                    created = True  # the answer was lost, not necessarily the request
                    raise
                created = True
                stage = f"indexing into {index}"
                await self._build_index(es, index, corpus, progress)
                stage = f"calibrating the gate on {index}"
                calibration = await asyncio.to_thread(
                    with_vocabulary, await self._calibrate(index, corpus, embedder), corpus.chunks
                )
                # Embedded before the swap, so the first searches on the new index do not wait for it.
                bridge = await build_vocabulary_bridge(calibration.bridge_vocabulary(), embedder, index)
                stage = f"storing the gate in {index}"
                # The gate travels in the index's own mapping, so the alias swap switches both at once.
                await es.options(request_timeout=ADMIN_TIMEOUT_S).indices.put_mapping(
                    index=index,
                    meta={
                        "calibration": calibration.to_json(),
                        "embedder": embedder_id(embedder),
                        # What this reload changed, and what each source gave, for `kb stats`.
                        **({"changes": describe_changes(corpus.changes)} if corpus.changes else {}),
                        "sources": reports_to_json(corpus.sources),
                    },
                )
                if embedder is not self._embedder:
                    raise ReloadError(
                        "the embedder changed during the reload (SIGHUP after `models use --embedder`), so "
                        f"the index {index} it built with the previous one was not swapped in: run "
                        "`python -m bot kb reload` again"
                    )
                report_progress(progress, "swapping", 0, 1)
                stage = f"swapping the alias {self._alias!r} to {index}"
                try:
                    old = await self._swap_alias(es, index)
                except asyncio.CancelledError as exc:
                    # Ctrl-C or a shutdown with `_aliases` in flight: the cluster may apply it all the same.
                    # Shielded, so a second cancel cannot cut the check short and have `index` dropped blind.
                    settling = True
                    if await asyncio.shield(self._settle_cancelled_swap(es, index, exc)):
                        self._calibration = (index, calibration, time.monotonic())
                        self._bridge = (index, bridge)
                        self._stale = None
                    raise
                self._calibration = (index, calibration, time.monotonic())
                self._bridge = (index, bridge)
                self._stale = None
            except _SwapUncertainError:
                raise
            except ReloadError:
                if created:
                    await self._drop_quietly(es, index)
                raise
            except (ApiError, TransportError, OSError) as exc:
                if created:
                    await self._drop_quietly(es, index)
                if isinstance(exc, ApiError) and exc.status_code == 404:
                    # A reload that started later may have swapped in and dropped this one's index.
                    await self._give_way_to_newer(es, index, exc)
                # The alias is only ever moved by the swap, so it points where it did; with no answer from
                # the cluster, whether that serves is not known here.
                serving = (
                    "the current knowledge base keeps serving"
                    if isinstance(exc, ApiError)
                    else f"the alias {self._alias!r} was not changed"
                )
                raise ReloadError(
                    f"Elasticsearch reload failed {stage}: {self._describe(exc)}; {serving}"
                ) from exc
            except BaseException:
                if created and not settling:
                    await self._drop_quietly(es, index)
                raise
            await self._drop_old(es, keep=index, previous=old)
            report_progress(progress, "swapping", 1, 1)
            report = ReloadReport(
                files=corpus.files,
                chunks=len(corpus.chunks),
                skipped=corpus.skipped,
                seconds=round(time.perf_counter() - corpus.started, 3),
                index=index,
                changes=corpus.changes,
                sources=corpus.sources,
            )
            log.info(
                "kb reloaded",
                extra={
                    "backend": self.name,
                    "index": index,
                    "files": report.files,
                    "chunks": report.chunks,
                    "embedded": corpus.embedded,
                    "skipped": len(report.skipped),
                    "seconds": report.seconds,
                },
            )
            return report

    async def _calibrate(self, index: str, corpus: Corpus, embedder: Embedder) -> Calibration:
        """Fit the refusal gate on the new index; a failure keeps the default gate, never the reload."""
        from elasticsearch import ApiError, TransportError

        async def search(
            query: str, vector: npt.NDArray[np.float32], k: int, mode: SearchMode, lang: str, weight: float
        ) -> list[Hit]:
            return await self._search_in(index, query, vector, k, mode, lang, weight, (), kb_languages)

        kb_languages = list(languages_of([chunk.lang for chunk in corpus.chunks]))

        try:
            return await fit_calibration(corpus.chunks, embedder, search, self._translator)
        except (
            ValueError,
            ArithmeticError,
            RuntimeError,
            KBUnavailableError,
            ApiError,
            TransportError,
        ) as exc:
            log.warning("gate calibration failed; the default gate serves", exc_info=True)
            return Calibration(reason=f"default gate: calibration failed ({exc.__class__.__name__})")

    async def missing_words(self, words: Sequence[str]) -> frozenset[str]:
        """Each word, and each part of it, searched alone, counting no hits, across every language's BM25
        fields (concurrently). A word is missing when neither it nor all of its parts are found: the standard
        tokenizer keeps `mylist.join` whole, which no chunk holds although both words are there (the
        embedded backend splits every joined word)."""
        from elasticsearch import ApiError, TransportError

        if not words:
            return frozenset()
        fields = [f"{TEXT_FIELD}*", f"{HEADING_FIELD}*"]
        # Asked whole and in parts: the index holds "os.path.isdir" as one token where a chunk has it so,
        # and "mylist" and "join" apart where chunks do.
        folded = {word: to_simplified(word) for word in words}
        parts = {word: word_parts(folded[word]) or [folded[word]] for word in words}
        # Ukrainian and Hebrew fields hold their words' stems (`indexed_text`), which `standard` is given as
        # they are: a word is found by its stem there too ("Приватбанк" is "приват").
        stems = {word: _own_stems(folded[word]) for word in words}
        unique = sorted(
            {part for split in parts.values() for part in split}
            | set(folded.values())
            | {stem for found in stems.values() for stem in found}
        )

        async def found(part: str) -> bool:
            query = {
                "multi_match": {"query": part, "fields": fields, "type": "most_fields", "operator": "and"}
            }
            response = await self._es().search(index=self._alias, query=query, size=0, terminate_after=1)
            return int(response["hits"]["total"]["value"]) > 0

        try:
            present = dict(zip(unique, await asyncio.gather(*(found(part) for part in unique)), strict=True))
        except (ApiError, TransportError) as exc:
            raise self._unavailable("vocabulary check", exc) from exc
        return frozenset(
            word
            for word, split in parts.items()
            if not present[folded[word]]
            and not all(present[p] for p in split)
            and not any(present[stem] for stem in stems[word])
        )

    async def calibration(self) -> Calibration:
        """The gate stored with the index behind the alias; the default when it cannot be read."""
        from elasticsearch import ApiError, TransportError

        cached = self._calibration
        if cached is not None and time.monotonic() - cached[2] < CALIBRATION_TTL_S:
            return cached[1]
        try:
            response = await self._es().indices.get_mapping(index=self._alias)
        except (ApiError, TransportError) as exc:
            log.warning("reading the calibration failed", extra={"error": exc.__class__.__name__})
            return cached[1] if cached is not None else Calibration()
        mappings: dict[str, Any] = dict(response)
        index = min(mappings, default="")
        body: Any = mappings.get(index) or {}
        meta: Any = (body.get("mappings") or {}).get("_meta") or {}
        stored = meta.get("calibration")
        built_by, current = meta.get("embedder"), embedder_id(self._embedder)
        outdated = outdated_mapping(body) if index != self._alias else None
        if outdated is not None and self._warned_outdated != index:
            # Once per index and process (the mapping is re-read every CALIBRATION_TTL_S), not per search.
            self._warned_outdated = index
            log.warning("index " + outdated, extra={"index": index})
        if cached is not None and cached[0] == index:
            calibration = cached[1]
        elif isinstance(stored, str):
            calibration = stored_calibration(stored, index)
        elif outdated is not None:
            calibration = Calibration(
                reason="default gate: the index predates this version (no per-language text fields, so BM25 "
                "finds nothing): run `python -m bot kb reload`"
            )
        else:
            calibration = Calibration()
        # Chinese is analysed by `cjk` (with Japanese and Korean: an index of those is treated as holding it).
        properties = (body.get("mappings") or {}).get("properties") or {}
        holds_chinese = TEXT_FIELD + es_analyzer("zh") in properties
        if index == self._alias:
            # A concrete index holds the alias's name: a reload is refused until it goes, so it never serves.
            self._stale = self._alias_taken()
        elif isinstance(built_by, str) and not same_embedder(built_by, current, holds_chinese=holds_chinese):
            # Same dimension, other space (another model, pooling or prefix): its cosines would be noise. An
            # index from before this was recorded is taken as it is.
            why = other_space(built_by, current).removeprefix("the index ")
            self._stale = f"the index {index} {why}: run `python -m bot kb reload`"
        else:
            self._stale = None
        self._calibration = (index, calibration, time.monotonic())
        return calibration

    async def _serving_calibration(self) -> Calibration:
        """`calibration()`, refusing an index whose vectors another embedder made."""
        calibration = await self.calibration()
        if self._stale is not None:
            raise KBUnavailableError(self._stale)
        return calibration

    async def _create_index(
        self, es: AsyncElasticsearch, index: str, corpus: Corpus, embedder: Embedder
    ) -> None:
        await es.options(request_timeout=ADMIN_TIMEOUT_S).indices.create(
            index=index,
            settings=INDEX_SETTINGS,
            mappings=index_mapping(embedder.dim, {chunk.lang for chunk in corpus.chunks}),
        )

    async def _build_index(
        self, es: AsyncElasticsearch, index: str, corpus: Corpus, progress: ProgressCallback | None
    ) -> None:
        from elasticsearch.helpers import async_streaming_bulk

        total = len(corpus.chunks)

        async def actions() -> AsyncIterator[dict[str, Any]]:
            for chunk, vector in zip(corpus.chunks, corpus.vectors, strict=True):
                yield {
                    "_index": index,
                    "_id": doc_id(chunk.id),
                    "_source": {
                        "chunk_id": chunk.id,
                        "source": chunk.source,
                        "heading": chunk.heading,
                        "heading_path": list(chunk.heading_path),
                        "position": chunk.position,
                        "lang": chunk.lang,
                        TEXT_FIELD + es_analyzer(chunk.lang): indexed_text(
                            heading_text(chunk.heading_path) + "\n" + chunk.text, chunk.lang
                        ),
                        HEADING_FIELD + es_analyzer(chunk.lang): indexed_text(chunk.heading, chunk.lang),
                        "body": chunk.text,
                        "content_hash": chunk.content_hash,
                        "url": chunk.url,
                        **({} if (values := indexable_vector(vector)) is None else {"vector": values}),
                    },
                }

        done = 0
        report_progress(progress, "indexing", 0, total)
        async for ok, item in async_streaming_bulk(
            es.options(request_timeout=ADMIN_TIMEOUT_S),
            actions(),
            chunk_size=self._es_settings.bulk_chunk_size,
            max_chunk_bytes=BULK_MAX_BYTES,
            max_retries=BULK_MAX_RETRIES,
            initial_backoff=BULK_INITIAL_BACKOFF_S,
            max_backoff=BULK_MAX_BACKOFF_S,
            raise_on_error=False,
            raise_on_exception=True,
        ):
            if not ok:
                result: Any = next(iter(item.values()), {})
                reason = result.get("error", item) if isinstance(result, dict) else item
                raise ReloadError(f"Elasticsearch refused a chunk: {str(reason)[:200]}")
            done += 1
            if done % 100 == 0 or done == total:
                report_progress(progress, "indexing", done, total)
        report_progress(progress, "verifying", 0, total)
        await es.options(request_timeout=ADMIN_TIMEOUT_S).indices.refresh(index=index)
        count = int((await es.count(index=index))["count"])
        if count != total:
            raise ReloadError(f"the new index {index} holds {count} chunks, expected {total}")
        report_progress(progress, "verifying", total, total)

    async def _current_indices(self, es: AsyncElasticsearch) -> list[str]:
        from elasticsearch import NotFoundError

        try:
            response = await es.indices.get_alias(name=self._alias)
        except NotFoundError:
            return []
        return sorted(response.body.keys())

    async def _replaced(
        self, es: AsyncElasticsearch, embedder: Embedder
    ) -> tuple[dict[str, npt.NDArray[np.float32]], list[tuple[str, str, str]]]:
        """The serving index's vectors by content hash, when `embedder` made them, so a reload embeds only
        chunks whose text changed, and its chunks (id, source, content hash) for the reload's report. Any
        failure here only means embedding everything and reporting every chunk as added."""
        from elasticsearch import ApiError, TransportError

        previous: list[tuple[str, str, str]] = []
        try:
            serving = await self._current_indices(es)
            if len(serving) != 1:
                return {}, []
            (index,) = serving
            mapping = (await es.indices.get_mapping(index=index)).body.get(index) or {}
            built_by = ((mapping.get("mappings") or {}).get("_meta") or {}).get("embedder")
            reuse = isinstance(built_by, str) and same_embedder(built_by, embedder_id(embedder))
            fields = ["chunk_id", "source", "content_hash", *(["vector"] if reuse else [])]
            cache: dict[str, npt.NDArray[np.float32]] = {}
            after: list[Any] | None = None
            while True:
                # Paged by chunk id (search_after): no window limit, no scroll context left behind.
                page = await es.options(request_timeout=ADMIN_TIMEOUT_S).search(
                    index=index,
                    query={"match_all": {}},
                    sort=[{"chunk_id": "asc"}],
                    size=VECTOR_PAGE,
                    source={"includes": fields},
                    search_after=after,
                )
                hits = page["hits"]["hits"]
                for hit in hits:
                    source = hit.get("_source") or {}
                    digest, vector = source.get("content_hash"), source.get("vector")
                    if isinstance(digest, str) and isinstance(vector, list):
                        cache[digest] = np.asarray(vector, dtype=np.float32)
                    chunk_id, path = source.get("chunk_id"), source.get("source")
                    if isinstance(digest, str) and isinstance(chunk_id, str) and isinstance(path, str):
                        previous.append((chunk_id, path, digest))
                if len(hits) < VECTOR_PAGE:
                    return cache, previous
                after = hits[-1]["sort"]
        except (ApiError, TransportError, KeyError, TypeError, ValueError) as exc:
            log.warning(
                "reading the serving vectors failed; every chunk is embedded",
                extra={"error": exc.__class__.__name__},
            )
            return {}, []

    def _alias_taken(self) -> str:
        return (
            f"an index named {self._alias!r} exists where the alias {self._alias!r} should be; "
            "delete or rename that index, or set BOT_ELASTICSEARCH__ALIAS to another name"
        )

    async def _check_alias_name(self, es: AsyncElasticsearch) -> None:
        """Refuse, before any work, when a concrete index holds the alias's name: no swap could succeed."""
        if await es.indices.exists(index=self._alias) and not await es.indices.exists_alias(name=self._alias):
            raise ReloadError(self._alias_taken())

    async def _missing_alias(self) -> KBUnavailableError:
        """Why no index serves: one holding the alias's name (a reload is refused then, so it is not the
        advice), or no reload yet."""
        from elasticsearch import ApiError, TransportError

        try:
            taken = bool(await self._es().indices.exists(index=self._alias))
        except (ApiError, TransportError):
            taken = False
        if taken:
            return KBUnavailableError(self._alias_taken())
        return KBNotBuiltError(f"no index behind the alias {self._alias!r}: run `python -m bot kb reload`")

    async def _swap_alias(self, es: AsyncElasticsearch, index: str) -> list[str]:
        """Point the alias at `index` alone, in one atomic `_aliases` request; returns the indices it left.

        Every `remove` says `must_exist`: without it a remove of an alias that another process's reload
        already moved is a silent no-op (HTTP 200, `errors: true`), and both reloads would go on to drop
        each other's index. With it the whole request is refused, and the swap is redone from a fresh read.
        Of two overlapping reloads the one that started later read the files later, so it wins: a reload
        that finds a later-stamped index serving gives up.
        """
        from elasticsearch import NotFoundError, TransportError

        admin = es.options(request_timeout=ADMIN_TIMEOUT_S)
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            old = await self._current_indices(es)
            self._refuse_if_newer(old, index)
            actions: list[dict[str, Any]] = [
                {"remove": {"index": name, "alias": self._alias, "must_exist": True}} for name in old
            ]
            actions.append({"add": {"index": index, "alias": self._alias}})
            try:
                response = await admin.indices.update_aliases(actions=actions)
            except NotFoundError:
                # Another reload moved the alias after our read (or dropped an index we meant to remove).
                if attempt == SWAP_ATTEMPTS:
                    raise
                continue
            except TransportError as exc:
                # No answer (a timeout, a dropped connection): the swap may have been applied.
                return await self._settle_lost_swap(es, index, old, exc)
            if response.body.get("errors"):
                raise ReloadError(
                    f"Elasticsearch applied only part of the alias swap: {str(response.body)[:300]}"
                )
            return old
        raise AssertionError("unreachable")

    def _refuse_if_newer(self, serving: list[str], index: str, cause: BaseException | None = None) -> None:
        newer = [name for name in serving if self._index_re.match(name) and name > index]
        if newer:
            raise ReloadError(
                f"a reload that started after this one has already swapped in {newer[0]}; "
                "its newer content serves"
            ) from cause

    async def _give_way_to_newer(self, es: AsyncElasticsearch, index: str, exc: BaseException) -> None:
        """Say so when `index` is gone because a later reload serves now (it drops older indices)."""
        from elasticsearch import ApiError, TransportError

        try:
            serving = await self._current_indices(es)
        except (ApiError, TransportError):
            return
        self._refuse_if_newer(serving, index, exc)

    async def _settle_lost_swap(
        self, es: AsyncElasticsearch, index: str, old: list[str], exc: BaseException
    ) -> list[str]:
        """After a swap whose answer was lost, read where the alias points: never drop a serving index."""
        from elasticsearch import ApiError, TransportError

        try:
            current = await es.options(request_timeout=ADMIN_TIMEOUT_S).indices.get_alias(name=self._alias)
            serving = set(current.body.keys())
        except (ApiError, TransportError) as again:
            raise _SwapUncertainError(
                f"the alias swap to {index} got no answer ({exc.__class__.__name__}) and the alias could "
                f"not be read ({again.__class__.__name__}): {index} is kept, as it may be serving; "
                "the next reload removes whichever index is left over"
            ) from exc
        if index in serving:
            log.warning("the alias swap answered late but was applied", extra={"index": index})
            return old
        raise ReloadError(
            f"the alias swap to {index} got no answer ({exc.__class__.__name__}) and was not applied; "
            "the current knowledge base keeps serving"
        ) from exc

    async def _settle_cancelled_swap(
        self, es: AsyncElasticsearch, index: str, exc: asyncio.CancelledError
    ) -> bool:
        """After a reload cancelled during its alias swap, settle it as a swap whose answer was lost: drop
        `index` only when the alias, read back, does not name it. Returns whether `index` serves."""
        try:
            await self._settle_lost_swap(es, index, [], exc)
        except _SwapUncertainError:
            log.warning(
                "reload cancelled during the alias swap, and the alias could not be read: the new index is "
                "kept, as it may be serving; the next reload removes whichever index is left over",
                extra={"index": index},
            )
            return False
        except ReloadError:
            await self._drop_quietly(es, index)
            return False
        return True

    async def _drop_old(self, es: AsyncElasticsearch, keep: str, previous: list[str]) -> None:
        """Drop this alias's older indices, except the one serving and the ones it replaced.

        The index just swapped out is kept until the next reload: searches that resolved the alias a moment
        ago may still be reading it. Indices stamped later than `keep` belong to reloads that started after
        this one (another process may be building one now) and are left to them. The deletes go in one
        `_aliases` request that first asserts the alias is still on `keep` (`remove` with `must_exist`, then
        `add` back): if another process's reload swapped in the meantime, the cluster refuses all of it, so
        an index that has just started serving is never deleted. Only concrete names are used: clusters
        refuse wildcard and alias deletes (`action.destructive_requires_name`).
        """
        from elasticsearch import ApiError, NotFoundError, TransportError

        try:
            response = await es.indices.get(index=f"{self._alias}-*", expand_wildcards="open,closed")
        except (ApiError, TransportError) as exc:
            log.warning("listing old indices failed", extra={"error": exc.__class__.__name__})
            return
        spared = set(previous) | {keep}
        stale = sorted(n for n in response.body if n not in spared and self._index_re.match(n) and n < keep)
        if not stale:
            return
        actions: list[dict[str, Any]] = [
            {"remove": {"index": keep, "alias": self._alias, "must_exist": True}},
            {"add": {"index": keep, "alias": self._alias}},
            *({"remove_index": {"index": name}} for name in stale),
        ]
        try:
            await es.options(request_timeout=ADMIN_TIMEOUT_S).indices.update_aliases(actions=actions)
        except NotFoundError:
            # The alias moved on (another reload swapped since), or another reload dropped one of them.
            log.info("old indices left to the reload that came after", extra={"indices": stale})
        except (ApiError, TransportError) as exc:
            log.warning(
                "dropping old indices failed", extra={"indices": stale, "error": exc.__class__.__name__}
            )

    async def _drop_quietly(self, es: AsyncElasticsearch, index: str) -> None:
        from elasticsearch import ApiError, TransportError

        try:
            await es.options(request_timeout=ADMIN_TIMEOUT_S, ignore_status=404).indices.delete(index=index)
        except (ApiError, TransportError) as exc:
            log.warning("dropping an index failed", extra={"index": index, "error": exc.__class__.__name__})

    # ----------------------------------------------------------------------------------- stats, health

    async def stats(self) -> KBStats:
        from elasticsearch import ApiError, TransportError

        es = self._es()
        try:
            indices = await self._current_indices(es)
            if not indices:
                raise await self._missing_alias()
            count = int((await es.count(index=self._alias))["count"])
            response = await es.search(
                index=self._alias,
                size=0,
                aggs={
                    "sources": {"cardinality": {"field": "source"}},
                    "languages": {"terms": {"field": "lang", "size": 100}},
                },
            )
            mapping = (await es.indices.get_mapping(index=indices[0])).body.get(indices[0]) or {}
        except (ApiError, TransportError) as exc:
            raise self._unavailable("stats", exc) from exc
        meta = (mapping.get("mappings") or {}).get("_meta") or {}
        outdated = outdated_mapping(mapping)
        changes = meta.get("changes")
        recorded = meta.get("sources")
        documents = int(response["aggregations"]["sources"]["value"])
        buckets = (response["aggregations"].get("languages") or {}).get("buckets") or []
        languages = {str(b["key"]): int(b["doc_count"]) for b in buckets}
        index = indices[0]
        built_at = None
        stamp = index.rsplit("-", 1)[-1]
        if stamp.isdigit() and len(stamp) == 20:
            built_at = (
                datetime.strptime(stamp, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC).isoformat(timespec="seconds")
            )
        return KBStats(
            backend=self.name,
            index=index,
            documents=documents,
            chunks=count,
            built_at=built_at,
            extra={
                "alias": self._alias,
                "url": public_url(self._es_settings.url),
                "languages": describe_languages(languages),
                "embedder": embedder_id(self._embedder),
                "last reload": changes if isinstance(changes, str) else NOT_RECORDED,
                **(await self._serving_calibration()).describe(),
                # `health` reports a knowledge base that serves with a warning as degraded.
                **({"warning": outdated} if outdated is not None else {}),
            },
            sources=reports_from_json(recorded if isinstance(recorded, str) else None),
        )

    async def indexed_sources(self) -> frozenset[str]:
        """Every `source` behind the alias, paged with a composite aggregation (a `terms` one would stop at
        its size without saying so; a composite one pages through any number of documents)."""
        from elasticsearch import ApiError, NotFoundError, TransportError

        # An index built by another embedder cannot serve (searches refuse it): neither can its documents.
        await self._serving_calibration()
        found: set[str] = set()
        after: dict[str, Any] | None = None
        try:
            while True:
                composite: dict[str, Any] = {
                    "size": SOURCES_PAGE,
                    "sources": [{"source": {"terms": {"field": "source"}}}],
                    **({"after": after} if after is not None else {}),
                }
                response = await self._es().search(
                    index=self._alias, size=0, aggs={"sources": {"composite": composite}}
                )
                page = response["aggregations"]["sources"]
                buckets = page.get("buckets") or []
                found.update(str(bucket["key"]["source"]) for bucket in buckets)
                after = page.get("after_key")
                if len(buckets) < SOURCES_PAGE or not after:
                    return frozenset(found)
        except NotFoundError as exc:
            raise await self._missing_alias() from exc
        except (ApiError, TransportError) as exc:
            raise self._unavailable("listing the documents", exc) from exc

    async def outline(self, source: str) -> tuple[Chunk, ...]:
        """The document's chunks by `position` (a term query on the keyword `source`), bodies left out."""
        from elasticsearch import ApiError, NotFoundError, TransportError

        fields = ["chunk_id", "source", "heading", "heading_path", "position", "url", "lang"]
        try:
            response = await self._es().search(
                index=self._alias,
                query={"term": {"source": source}},
                sort=[{"position": "asc"}],
                size=OUTLINE_CHUNKS,
                source={"includes": fields},
            )
        except NotFoundError as exc:
            raise await self._missing_alias() from exc
        except (ApiError, TransportError) as exc:
            raise self._unavailable("outline", exc) from exc
        return outline_of(_chunk_from_source(hit.get("_source") or {}) for hit in response["hits"]["hits"])

    async def ping(self) -> None:
        from elasticsearch import ApiError, TransportError

        try:
            exists = await self._es().indices.exists_alias(name=self._alias)
        except (ApiError, TransportError) as exc:
            raise self._unavailable("ping", exc) from exc
        if not exists:
            raise await self._missing_alias()
        await self._serving_calibration()

    async def _stop_bridge(self) -> None:
        """Cancel the vocabulary bridge being embedded, if any (its thread stops before its next batch)."""
        if self._bridge_task is not None:
            task, self._bridge_task = self._bridge_task[1], None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def close(self) -> None:
        await self._stop_bridge()
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
