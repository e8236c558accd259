"""Embedded knowledge base: SQLite FTS5 BM25 plus exact cosine over a numpy matrix, fused in the app."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
import re
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bot.config import KBSettings
from bot.domain import Chunk, Hit
from bot.kb.analysis import (
    FALLBACK_QUESTION_LANGUAGE,
    MAX_QUERY_LANGUAGES,
    THAI_RUN,
    TONED,
    analyzer,
    describe_languages,
    language_key,
    languages_of,
    load_segmenters,
    query_terms,
    question_language,
    segmenters_needed,
)
from bot.kb.base import (
    Embedder,
    EmbedderUsers,
    KBNotBuiltError,
    KBStats,
    KBUnavailableError,
    ProgressCallback,
    ReloadError,
    ReloadReport,
    ReloadRunningError,
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
    folder_report,
    other_space,
    report_progress,
    same_embedder,
)
from bot.kb.vocabulary import VocabularyBridge, vocabulary_bridge
from bot.language import ACCENTS_LEFT_OUT, prior_languages
from bot.stemmers import OWN_STEMMERS
from bot.unicode import DOTTED_I_LANGUAGES, LATIN_COMBINING_MARKS, SCRIPT_MARKS

if TYPE_CHECKING:
    from bot.kb.crosslingual import QueryTranslator

if sys.platform != "win32":
    # Windows has no fcntl (the README's setups are Linux and Docker only). There reloads are serialised
    # within one EmbeddedKB only (its asyncio lock), as before: two processes reloading one folder at once
    # can still leave the pointer naming a deleted file.
    import fcntl

log = logging.getLogger("bot.kb")

# 2: chunks carry their document's language; FTS5 holds terms analysed for it (bot.kb.analysis).
SCHEMA_VERSION = "2"
# The meta key of an index whose Vietnamese (`TONED`) rows hold their words with and without their marks
# (since 2026-12-07); one written before holds them as written, and is searched as it was until `kb reload`.
TONED_META = "toned"
# The meta key of an index whose Turkish rows are lower-cased and folded as questions are since 2026-12-07
# ("İade" as "iade", "ı" as "i"): one written before holds "kapı" where a question now searches "kapi", so
# `kb stats` and `health` warn until `kb reload`.
TURKISH_META = "turkish"
TURKISH_ANALYSIS = "2026-12-07"
# The meta key of an index whose words keep the marks written on their letters (Devanagari's vowel signs,
# Thai's vowels and tones) and whose Thai is cut into words, since 2026-12-08; one written before holds
# "पासवर्ड" as three pieces where a question now searches one word, so `kb stats` and `health` warn until
# `kb reload`.
WORDS_META = "words"
WORDS_ANALYSIS = "2026-12-08"
# The meta key of an index whose Arabic is folded and light-stemmed as Elasticsearch's `arabic` analyzer reads
# it, each stem beside its letter pairs (`bot.arabic`), and whose Polish is compared without its letters'
# marks ("ł" as "l" in every language compared without accents), since 2026-12-10; one written before holds
# Snowball's Arabic stems ("طاق" for "بطاقة"), or stems without their pairs, and "ł" where a question now
# searches "l".
FOLDED_META = "folded"
FOLDED_ANALYSIS = "2026-12-10"
FOLDED_LANGUAGES = frozenset({"ar", "pl"})
# The meta key of an index whose Greek is stemmed without its accents (Snowball's Greek stemmer read "ϊ" as
# "η") and whose Persian is folded as Elasticsearch's `persian` analyzer folds it (Arabic's normalization,
# Persian and Arabic-Indic digits as "0"–"9"), since 2026-12-11; one written before holds "προηοντ" where a
# question now searches "προιοντ", and "۲۰۰" where it searches "200".
GREEK_PERSIAN_META = "greek_persian"
GREEK_PERSIAN_ANALYSIS = "2026-12-11"
GREEK_PERSIAN_LANGUAGES = frozenset({"el", "fa"})
# The meta key of an index whose Ukrainian and Hebrew words are stemmed (`bot.stemmers`) since 2026-12-12; one
# written before holds them as written ("замовленням", "בחשבון") where a question now searches "замовл" and
# "חשבון".
STEMMED_META = "own_stemmers"
STEMMED_ANALYSIS = "2026-12-12"
# Text whose index terms that change made different: a mark another script writes on a letter, or Thai
# (the Latin accents of decomposed text were composed before indexing, then as now).
_MARKED_TEXT = re.compile(f"[{SCRIPT_MARKS}]|{THAI_RUN.pattern}")
POINTER = "current.json"
# Held (flock) by the reload that writes the folder: another one's `_drop_old` would delete the file this one
# builds, or swap the pointer to a file that one then deletes. It names the holder's pid.
RELOAD_LOCK = "reload.lock"
INDEX_GLOB = "kb-*.sqlite"
# Field weights for BM25: a term in the section heading counts twice (title boosting).
HEADING_WEIGHT = 2.0
TEXT_WEIGHT = 1.0
POINTER_CHECK_S = 1.0
# The text is analysed before FTS5 sees it (segmented, stop words out, stemmed for its language): FTS5
# only splits the terms on spaces and folds case and diacritics. The marks written on letters are part of
# their word there too (`tokenchars`; quoted for the SQL string the tokenizer is given in): unicode61 splits
# at them, "पासवर्ड" into "प", "सवर" and "ड", and a word's frequency was its commonest letter's.
TOKENIZER = "unicode61 remove_diacritics 2 tokenchars ''" + SCRIPT_MARKS + LATIN_COMBINING_MARKS + "''"
# The tokenizer of an index written before (`WORDS_META`), which its scratch tables must split as it did.
TOKENIZER_BEFORE_WORDS = "unicode61 remove_diacritics 2"
# Query terms in more than this share of chunks are left out of BM25 (see `selective_terms`).
MAX_DF_FRACTION = 0.35
MIN_QUERY_TERMS = 2


def _outdated(meta: Mapping[str, str], chunks: Sequence[Chunk], languages: Iterable[str]) -> str | None:
    """Why an index must be reloaded before questions find what it holds (written before an analysis its
    queries now use), or None."""
    if meta.get(TURKISH_META) != TURKISH_ANALYSIS and any(
        language_key(lang) in DOTTED_I_LANGUAGES for lang in languages
    ):
        return (
            "its Turkish text was indexed before Turkish was lower-cased and folded as questions are "
            "(2026-12-07): run `kb reload`"
        )
    if meta.get(FOLDED_META) != FOLDED_ANALYSIS and (
        any(language_key(lang) in FOLDED_LANGUAGES for lang in languages)
        or any("ł" in c.text.lower() and language_key(c.lang) in ACCENTS_LEFT_OUT for c in chunks)
    ):
        return (
            "its Arabic or Polish text was indexed before Arabic was folded and light-stemmed beside its "
            "letter pairs and Polish read without its letters' marks (2026-12-10): run `kb reload`"
        )
    if meta.get(GREEK_PERSIAN_META) != GREEK_PERSIAN_ANALYSIS and any(
        language_key(lang) in GREEK_PERSIAN_LANGUAGES for lang in languages
    ):
        return (
            "its Greek or Persian text was indexed before Greek was stemmed without its accents and Persian "
            "folded as Elasticsearch's `persian` analyzer reads it (2026-12-11): run `kb reload`"
        )
    if meta.get(STEMMED_META) != STEMMED_ANALYSIS and any(
        language_key(lang) in OWN_STEMMERS for lang in languages
    ):
        return (
            "its Ukrainian or Hebrew text was indexed before its words were stemmed (2026-12-12): run "
            "`kb reload`"
        )
    # Only an index written before scans its text: a current one says so in its meta.
    if meta.get(WORDS_META) != WORDS_ANALYSIS and any(_MARKED_TEXT.search(c.text) for c in chunks):
        return (
            "its text was indexed before words kept the marks written on their letters and Thai was cut into "
            "words (2026-12-08): questions in Hindi, Thai and other such scripts miss it; run `kb reload`"
        )
    return None


def _fts_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression that treats every term as a quoted string: no user syntax survives."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


class _Snapshot:
    """One immutable index file opened for searching: chunk metadata, the vector matrix and FTS5."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Autocommit: the scratch-table writes of `document_frequency` must not leave a transaction open,
        # which would hold a lock on the file (a reload stores the gate in it before the swap).
        try:
            self._conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            # A pointer naming a file that is gone (deleted by hand, or a crashed swap) is no traceback.
            raise KBUnavailableError(
                f"index {path.name} cannot be opened ({exc.__class__.__name__}); run `kb reload`"
            ) from exc
        self._lock = threading.Lock()
        try:
            meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("schema") != SCHEMA_VERSION:
                raise KBUnavailableError(
                    f"index {path.name} has schema {meta.get('schema')}; run `kb reload`"
                )
            self.meta: dict[str, str] = meta
            rows = self._conn.execute(
                "SELECT id, source, heading, heading_path, position, text, content_hash, url, lang"
                " FROM chunks ORDER BY rowid"
            ).fetchall()
            self.chunks: list[Chunk] = [
                Chunk(
                    id=row[0],
                    source=row[1],
                    heading=row[2],
                    heading_path=tuple(json.loads(row[3])),
                    position=row[4],
                    text=row[5],
                    content_hash=row[6],
                    url=row[7],
                    lang=row[8],
                )
                for row in rows
            ]
            dim = int(meta["dim"])
            blob = self._conn.execute("SELECT data FROM matrix").fetchone()[0]
            self.matrix: npt.NDArray[np.float32] = np.frombuffer(blob, dtype=np.float32).reshape(-1, dim)
            if self.matrix.shape[0] != len(self.chunks):
                raise KBUnavailableError(f"index {path.name} is inconsistent; run `kb reload`")
            # Scratch tables in the connection's own temp schema (the index file stays read-only).
            tokenizer = TOKENIZER if meta.get(WORDS_META) == WORDS_ANALYSIS else TOKENIZER_BEFORE_WORDS
            self._conn.executescript(
                f"""
                CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, fts, row);
                CREATE VIRTUAL TABLE temp.probe USING fts5(x, tokenize='{tokenizer}');
                CREATE VIRTUAL TABLE temp.probe_vocab USING fts5vocab(temp, probe, row);
                """
            )
        except (sqlite3.Error, KeyError, ValueError, TypeError) as exc:
            self._conn.close()
            raise KBUnavailableError(
                f"index {path.name} is unreadable ({exc.__class__.__name__}); run `kb reload`"
            ) from exc
        except BaseException:
            self._conn.close()
            raise
        self._df_cache: dict[str, int] = {}
        self.toned = meta.get(TONED_META) == ",".join(sorted(TONED))
        stored = meta.get("calibration")
        self.calibration = Calibration() if stored is None else stored_calibration(stored, path.name)
        self.sources = frozenset(c.source for c in self.chunks)
        self.documents = len(self.sources)
        self.sections = [(c.source, c.heading_path) for c in self.chunks]
        self.languages = languages_of([c.lang for c in self.chunks])
        self.holds_chinese = any(language_key(lang) == "zh" for lang in self.languages)
        self.outdated = _outdated(meta, self.chunks, self.languages)
        # The languages its customers likely write in: a short question's language leans on them.
        self.prior = prior_languages(self.languages)
        self._users = 0
        self._retired = False
        self._bridge: VocabularyBridge | None = None
        self._bridge_built = False
        self._bridge_lock = threading.Lock()

    def bridge(self, embedder: Embedder) -> VocabularyBridge | None:
        """The vocabulary bridge of this index's words, embedded on first use (a reload builds it before the
        swap); None when the index stored no words, or embedding them failed (logged once)."""
        with self._bridge_lock:
            if not self._bridge_built:
                self._bridge_built = True
                self._bridge = vocabulary_bridge(
                    self.calibration.bridge_vocabulary(), embedder, self.path.name, self._stored_vectors()
                )
            return self._bridge

    def _stored_vectors(self) -> dict[str, npt.NDArray[np.float32]]:
        """The vocabulary's vectors the reload stored (float16), so this process need not embed the words."""
        try:
            with self._lock:
                rows = self._conn.execute("SELECT lang, dim, data FROM vocabulary_vectors").fetchall()
        except sqlite3.Error:
            return {}  # an index from before the bridge, or a reload that could not store them
        out = {}
        for lang, dim, data in rows:
            flat = np.frombuffer(data, dtype=np.float16)
            if dim > 0 and flat.size % dim == 0:
                out[str(lang)] = flat.reshape(-1, dim).astype(np.float32)
        return out

    # Reference counting lets a swap retire a snapshot while searches on it finish.
    def acquire(self) -> None:
        with self._lock:
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            close = self._retired and self._users == 0
        if close:
            self._conn.close()

    def retire(self) -> None:
        with self._lock:
            self._retired = True
            close = self._users == 0
        if close:
            self._conn.close()

    def query_languages(self, lang: str) -> list[str]:
        """The languages a query in `lang` is analysed for: its own, then the index's most frequent."""
        return list(dict.fromkeys([lang, *list(self.languages)[: MAX_QUERY_LANGUAGES - 1]]))

    def bm25(
        self, query: str, depth: int, lang: str = "en", bridged: Sequence[str] = ()
    ) -> list[tuple[int, float]]:
        languages = self.query_languages(lang)
        terms = query_terms(query, languages, toned=self.toned)
        if bridged:
            # After the query's own terms, so the cap on those never cuts a bridged word.
            bridged_terms = query_terms(" ".join(bridged), languages, toned=self.toned)
            terms = list(dict.fromkeys([*terms, *bridged_terms]))
        terms = self.selective_terms(terms)
        if not terms:
            return []
        sql = "SELECT rowid, bm25(fts, ?, ?) AS score FROM fts WHERE fts MATCH ? ORDER BY score LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, (HEADING_WEIGHT, TEXT_WEIGHT, _fts_query(terms), depth)).fetchall()
        # FTS5's bm25() is negative (lower is better); flip it so higher is better like everywhere else.
        return [(int(rowid) - 1, -float(score)) for rowid, score in rows]

    def selective_terms(self, terms: list[str]) -> list[str]:
        """Drop terms found in most chunks: their BM25 weight is near zero, yet scoring every chunk they
        match dominates the query's cost on a large index. The rarest terms are always kept."""
        if len(terms) <= MIN_QUERY_TERMS:
            return terms
        limit = MAX_DF_FRACTION * max(1, len(self.chunks))
        # A term no chunk holds scores nothing, so it must not count as one of the terms kept: a query is
        # analysed for each of the index's languages, and the forms of one that holds few chunks (unstemmed
        # "getting" beside English "get") are absent. Counted, they pushed out the frequent terms that did
        # match, and a question of common words (or a reload's self-check) found nothing at all.
        frequencies = [(df, term) for term in terms if (df := self.document_frequency(term)) > 0]
        kept = [term for df, term in frequencies if df <= limit]
        if len(kept) < MIN_QUERY_TERMS:
            rarest = {term for _, term in sorted(frequencies)[:MIN_QUERY_TERMS]}
            kept = [term for term in terms if term in rarest]
        return kept

    def finds(self, row: int, terms: Sequence[str]) -> bool:
        """Whether the FTS5 row of chunk `row` (0-based) holds every one of `terms` (index terms)."""
        sql = "SELECT 1 FROM fts WHERE fts MATCH ? AND rowid = ?"
        match = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
        with self._lock:
            return self._conn.execute(sql, (match, row + 1)).fetchone() is not None

    def document_frequency(self, term: str) -> int:
        """Chunks containing `term` after the index's own tokenizer (stemming included); cached."""
        cached = self._df_cache.get(term)
        if cached is not None:
            return cached
        with self._lock:
            # The index's tokenizer, run on the term through a scratch FTS5 table, gives the indexed forms.
            self._conn.execute("INSERT INTO temp.probe(rowid, x) VALUES (1, ?)", (term,))
            stems = [row[0] for row in self._conn.execute("SELECT term FROM temp.probe_vocab")]
            self._conn.execute("DELETE FROM temp.probe")
            counts = []
            for stem in stems:
                row = self._conn.execute("SELECT doc FROM temp.vocab WHERE term = ?", (stem,)).fetchone()
                counts.append(int(row[0]) if row else 0)
            # A phrase ("sort list") is in no more chunks than its rarest word.
            df = (min(counts) if " " in term.strip() else max(counts)) if counts else 0
        if len(self._df_cache) > 100_000:
            self._df_cache.clear()
        self._df_cache[term] = df
        return df

    def dense(
        self, vector: npt.NDArray[np.float32], depth: int
    ) -> tuple[list[tuple[int, float]], npt.NDArray[np.float32]]:
        # einsum stays on the calling thread: BLAS's matrix-vector product spreads over a thread pool that
        # only fights concurrent searches for the cores (measured twice as slow on the 2-core host).
        query = vector.astype(np.float32, copy=False)
        scores: npt.NDArray[np.float32] = np.einsum("ij,j->i", self.matrix, query)
        depth = min(depth, scores.shape[0])
        if depth <= 0:
            return [], scores
        top = np.argpartition(-scores, depth - 1)[:depth]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top], scores


@dataclass(frozen=True, slots=True)
class _Built:
    path: Path
    chunks: int


def write_index(
    path: Path, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32], meta: dict[str, str]
) -> None:
    """Write a complete index file (never one that serves): chunks, FTS5 table and the vector matrix."""
    if vectors.shape[0] != len(chunks):
        raise ReloadError("chunks and vectors differ in number")
    if path.exists():
        path.unlink()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(
            f"""
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE chunks(
                rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL, heading TEXT NOT NULL,
                heading_path TEXT NOT NULL, position INTEGER NOT NULL, text TEXT NOT NULL,
                content_hash TEXT NOT NULL, url TEXT NOT NULL, lang TEXT NOT NULL);
            CREATE TABLE matrix(data BLOB NOT NULL);
            CREATE VIRTUAL TABLE fts USING fts5(
                heading, text, content='', tokenize='{TOKENIZER}');
            """
        )
        conn.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    i + 1,
                    c.id,
                    c.source,
                    c.heading,
                    json.dumps(list(c.heading_path), ensure_ascii=False),
                    c.position,
                    c.text,
                    c.content_hash,
                    c.url,
                    c.lang,
                )
                for i, c in enumerate(chunks)
            ),
        )
        # The heading path is prefixed into the text field too, so a section's context is searchable.
        # Both are analysed for the chunk's language first (bot.kb.analysis).
        conn.executemany(
            "INSERT INTO fts(rowid, heading, text) VALUES (?, ?, ?)",
            (
                (
                    i + 1,
                    analyzer(c.lang).text(c.heading),
                    analyzer(c.lang).text(heading_text(c.heading_path) + "\n" + c.text),
                )
                for i, c in enumerate(chunks)
            ),
        )
        conn.execute(
            "INSERT INTO matrix(data) VALUES (?)",
            (np.ascontiguousarray(vectors, dtype=np.float32).tobytes(),),
        )
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            sorted(
                {
                    **meta,
                    "schema": SCHEMA_VERSION,
                    TONED_META: ",".join(sorted(TONED)),
                    TURKISH_META: TURKISH_ANALYSIS,
                    FOLDED_META: FOLDED_ANALYSIS,
                    GREEK_PERSIAN_META: GREEK_PERSIAN_ANALYSIS,
                    STEMMED_META: STEMMED_ANALYSIS,
                    WORDS_META: WORDS_ANALYSIS,
                }.items()
            ),
        )
        conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        conn.commit()
    finally:
        conn.close()


# Chunks `verify_index` looks past one without words for another to probe with.
PROBE_SCAN = 50
PROBE_TERMS = 3


def probe_terms(chunk: Chunk) -> list[str]:
    """Up to `PROBE_TERMS` distinct index terms of `chunk`, as `write_index` wrote its text field (stop
    words kept); none for a chunk without a letter or digit ("!!!", a row of emoji)."""
    text = analyzer(chunk.lang).text(heading_text(chunk.heading_path) + "\n" + chunk.text)
    terms = [term for term in dict.fromkeys(text.split()) if any(ch.isalnum() for ch in term)]
    return terms[:PROBE_TERMS]


def verify_index(snapshot: _Snapshot, chunks: Sequence[Chunk]) -> None:
    """Check a new index before it serves: its rows are `chunks`, in order, and its full-text rows hold their
    chunks' words (the first, middle and last chunk with words). Raises `ReloadError` otherwise.

    The probe asks FTS5 for the chunk's own index terms in the chunk's own row, not for its rank in a search:
    a short chunk ("OK", "How do I pay? With a card."), one of stop words only, or one outranked by a longer
    chunk is legitimately not first for its words, and a search query drops stop words and frequent terms.
    Such a failure therefore means a broken index file, never one document, so the whole reload fails.
    """
    if len(snapshot.chunks) != len(chunks):
        raise ReloadError(
            f"the new index holds {len(snapshot.chunks)} chunks, expected {len(chunks)}; "
            "the current knowledge base keeps serving"
        )
    for row, (stored, chunk) in enumerate(zip(snapshot.chunks, chunks, strict=True)):
        if (stored.id, stored.content_hash) != (chunk.id, chunk.content_hash):
            raise ReloadError(
                f"the new index holds chunk {stored.id} in row {row + 1}, expected {chunk.id}; "
                "the current knowledge base keeps serving"
            )
    for anchor in sorted({0, len(chunks) // 2, len(chunks) - 1}):
        for row in range(anchor, min(anchor + PROBE_SCAN, len(chunks))):
            terms = probe_terms(chunks[row])
            if not terms:
                continue  # nothing to search by; dense search still finds it
            if not snapshot.finds(row, terms):
                raise ReloadError(
                    f"the new index does not find chunk {row + 1} ({chunks[row].source}) by its own words; "
                    "the current knowledge base keeps serving"
                )
            break


def _other_space(snapshot: _Snapshot, embedder: Embedder) -> str | None:
    """Why the index's vectors are not in `embedder`'s space (another dimension, or another model, pooling or
    prefix: its cosines would be noise), or None when they are."""
    if int(snapshot.meta.get("dim", "0")) != embedder.dim:
        return (
            f"the index was built with a {snapshot.meta.get('dim')}-dimension embedder, the configured one "
            f"has {embedder.dim}"
        )
    stored, current = snapshot.meta.get("embedder", ""), embedder_id(embedder)
    if stored and not same_embedder(stored, current, holds_chinese=snapshot.holds_chinese):
        return other_space(stored, current)
    return None


class EmbeddedKB:
    """Single-machine backend: one SQLite file per build, swapped in atomically through a pointer file."""

    name = "embedded"

    def __init__(
        self,
        settings: KBSettings,
        index_dir: Path,
        embedder: Embedder,
        *,
        embed_batch: int = EMBED_BATCH,
        translator: QueryTranslator | None = None,
    ) -> None:
        """`index_dir` holds the index files and their pointer; `embed_batch` is texts per embedder call;
        `translator` the dictionary questions in other languages are searched through, for whose translations
        the reload fits a gate too (`bot.kb.calibration`)."""
        self._settings = settings
        self._translator = translator
        self._embedder = embedder
        # Searches and reloads hold the embedder they started with: `use_embedder` waits for them.
        self._users = EmbedderUsers()
        self._embed_batch = embed_batch
        self._dir = index_dir
        self._snapshot: _Snapshot | None = None
        self._pointer_mtime: int | None = None
        self._pointer_checked = 0.0
        self._open_lock = threading.Lock()
        self._reload_lock = asyncio.Lock()
        self._pool: ThreadPoolExecutor | None = None
        # How hybrid search fuses its two lists; "rrf" keeps Reciprocal Rank Fusion (k=60) available.
        self.fusion: FusionMethod = settings.fusion

    # ------------------------------------------------------------------------------------ snapshots

    def _read_pointer(self) -> tuple[Path, int] | None:
        pointer = self._dir / POINTER
        try:
            stat = pointer.stat()
            data = json.loads(pointer.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise KBUnavailableError(
                f"the index pointer {pointer} is unreadable ({exc.__class__.__name__})"
            ) from exc
        name = data.get("file") if isinstance(data, dict) else None
        if not isinstance(name, str) or "/" in name or "\\" in name or not name.startswith("kb-"):
            raise KBUnavailableError(f"the index pointer {pointer} is invalid; run `python -m bot kb reload`")
        return self._dir / name, stat.st_mtime_ns

    def _current(self) -> _Snapshot:
        """The serving snapshot, reopened when another process (say, the CLI) swapped the pointer."""
        now = time.monotonic()
        snapshot = self._snapshot
        if snapshot is not None and now - self._pointer_checked < POINTER_CHECK_S:
            return snapshot
        with self._open_lock:
            self._pointer_checked = now
            pointed = self._read_pointer()
            if pointed is None:
                if self._snapshot is not None:
                    return self._snapshot
                raise KBNotBuiltError(
                    "the knowledge base has not been built yet: run `python -m bot kb reload`"
                )
            path, mtime = pointed
            if self._snapshot is not None and (self._snapshot.path == path or mtime == self._pointer_mtime):
                self._pointer_mtime = mtime
                return self._snapshot
            fresh = _Snapshot(path)
            self._check_embedder(fresh)
            self._install(fresh)
            self._pointer_mtime = mtime
            return fresh

    def _check_embedder(self, snapshot: _Snapshot) -> None:
        problem = _other_space(snapshot, self._embedder)
        if problem is not None:
            snapshot.retire()
            raise KBUnavailableError(f"{problem}: run `python -m bot kb reload`")

    def _install(self, fresh: _Snapshot) -> None:
        old, self._snapshot = self._snapshot, fresh
        if old is not None and old is not fresh:
            old.retire()

    async def use_embedder(self, embedder: Embedder) -> None:
        """Search and reload with `embedder` from now on (SIGHUP after `models use --embedder`): the index is
        checked against it again on the next search. Searches already running finish on the previous
        embedder and the index they took; returns once none is left."""
        previous = self._embedder
        if embedder is previous:
            return
        # In a thread: the lock may be held while a search opens an index file.
        await asyncio.to_thread(self._swap_embedder, embedder)
        await self._users.released(previous)

    def _swap_embedder(self, embedder: Embedder) -> None:
        with self._open_lock:
            self._embedder = embedder
            # The serving index was checked against the previous embedder: reopened and checked again.
            retired, self._snapshot = self._snapshot, None
            self._pointer_mtime = None
        if retired is not None:
            retired.retire()

    # ------------------------------------------------------------------------------------------ search

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
        # The question is embedded once the index is taken, in the thread that searches it: both stay the
        # ones it started with, whatever embedder SIGHUP brings meanwhile.
        with self._users.hold(self._embedder) as embedder:
            return await asyncio.to_thread(self._search_now, query, None, k, mode, lang, embedder)

    async def search_vector(
        self,
        query: str,
        vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: SearchMode = "hybrid",
        lang: str | None = None,
    ) -> list[Hit]:
        """Search with an already embedded query; SQLite and numpy run in a worker thread.

        `lang` is the question's language; None detects it from `query`.
        """
        check_search_mode(mode)
        if mode != "bm25" and vector is None:
            raise ValueError(f"{mode} search needs the query vector")
        if k <= 0:
            return []
        with self._users.hold(self._embedder) as embedder:
            return await asyncio.to_thread(self._search_now, query, vector, k, mode, lang, embedder)

    def _search_now(
        self,
        query: str,
        vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: SearchMode,
        lang: str | None,
        embedder: Embedder,
    ) -> list[Hit]:
        """Search the serving index; `vector` None embeds `query` with `embedder` (unless in bm25 mode)."""
        snapshot = self._current()
        snapshot.acquire()
        try:
            if _other_space(snapshot, embedder) is not None:
                # SIGHUP brought another embedder between this search's start and its taking the index.
                raise KBUnavailableError("the embedder changed while this question was searched; ask again")
            if vector is None and mode != "bm25":
                vector = embedder.embed_queries([query])[0]
            lang = lang or question_language(query, snapshot.prior)
            weight = snapshot.calibration.dense_weight_for(lang)
            bridge = snapshot.bridge(embedder) if mode != "dense" else None
            bridged = (
                bridge.bridge_words(query, snapshot.query_languages(lang), snapshot.languages)
                if bridge is not None
                else []
            )
            return self._search(
                snapshot,
                query,
                vector,
                k,
                mode,
                self.fusion,
                self._dense_pool(),
                lang=lang,
                dense_weight=weight,
                bridged=bridged,
            )
        except sqlite3.Error as exc:
            raise KBUnavailableError(f"the embedded index failed: {exc.__class__.__name__}") from exc
        finally:
            snapshot.release()

    def _dense_pool(self) -> ThreadPoolExecutor:
        with self._open_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-dense")
            return self._pool

    @staticmethod
    def _search(
        snapshot: _Snapshot,
        query: str,
        vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: SearchMode,
        fusion: FusionMethod,
        pool: Executor | None = None,
        *,
        lang: str = "en",
        dense_weight: float = DENSE_WEIGHT,
        bridged: Sequence[str] = (),
    ) -> list[Hit]:
        # Both sides go deeper than k: collapsing to one chunk per section, and the fusion, need candidates.
        depth = max(k * 3, FUSION_DEPTH)
        want_dense = mode != "bm25" and vector is not None
        # SQLite and numpy both release the GIL, so in hybrid mode the cosine scan runs on a second core
        # while FTS5 ranks: the search costs the slower of the two instead of their sum.
        pending = (
            pool.submit(snapshot.dense, vector, depth)
            if pool is not None and want_dense and mode == "hybrid" and vector is not None
            else None
        )
        bm25 = snapshot.bm25(query, depth, lang, bridged) if mode != "dense" else []
        dense: list[tuple[int, float]] = []
        cosine: dict[int, float] = {}
        if want_dense and vector is not None:
            dense, scores = pending.result() if pending is not None else snapshot.dense(vector, depth)
            # The cosine is known for every chunk, so hits found only by BM25 carry it too.
            cosine = {row: float(scores[row]) for row, _ in bm25}
        return fuse_hits(
            snapshot.chunks,
            collapse_sections(bm25, snapshot.sections),
            collapse_sections(dense, snapshot.sections),
            k,
            mode,
            cosine,
            fusion,
            dense_weight,
        )

    # ------------------------------------------------------------------------------------------ reload

    async def reload(self, source: Sources, progress: ProgressCallback | None = None) -> ReloadReport:
        async with self._reload_lock:
            with self._reloading(), self._users.hold(self._embedder) as embedder:
                return await self._reload_locked(source, progress, embedder)

    async def _reload_locked(
        self, source: Sources, progress: ProgressCallback | None, embedder: Embedder
    ) -> ReloadReport:
        """The reload itself, run holding both locks (this object's and the index folder's), all of it with
        `embedder`."""
        cache, previous = await asyncio.to_thread(self._replaced, embedder)
        corpus = await build_corpus(
            source,
            self._settings,
            embedder,
            progress,
            cache,
            embed_batch=self._embed_batch,
            previous=previous,
        )
        report_progress(progress, "indexing", 0, len(corpus.chunks))
        fresh = await asyncio.to_thread(self._build, corpus, progress, embedder)
        try:
            calibration = await asyncio.to_thread(
                with_vocabulary, await self._calibrate(fresh, corpus, embedder), corpus.chunks
            )
            fresh.calibration = calibration
            # Embedded before the swap (and stored with the index), so no search waits for it.
            await asyncio.to_thread(fresh.bridge, embedder)
            built = await self._swap_in_thread(fresh, calibration, progress, embedder)
        except BaseException:
            self._discard(fresh)
            raise
        report = ReloadReport(
            files=corpus.files,
            chunks=built.chunks,
            skipped=corpus.skipped,
            seconds=round(time.perf_counter() - corpus.started, 3),
            index=built.path.name,
            changes=corpus.changes,
            sources=corpus.sources,
        )
        log.info(
            "kb reloaded",
            extra={
                "backend": self.name,
                "index": built.path.name,
                "files": report.files,
                "chunks": report.chunks,
                "skipped": len(report.skipped),
                "embedded": corpus.embedded,
                "seconds": report.seconds,
            },
        )
        return report

    @contextlib.contextmanager
    def _reloading(self) -> Iterator[None]:
        """Make sure the index folder can be written, then hold its reload lock for the whole reload.

        Both are checked before anything is loaded or embedded: a read-only data folder used to fail only
        when the index file was created, minutes later and without naming the folder. The lock is an
        flock, so a reload that dies (killed, crashed) releases it with its file descriptor; it is not
        waited for: a second reload fails at once, changing nothing.
        """
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            # The lock file may be writable in a folder that is not (where the index files go).
            probe, probe_path = tempfile.mkstemp(prefix=".write-check-", dir=self._dir)
            os.close(probe)
            os.unlink(probe_path)
            fd = os.open(self._dir / RELOAD_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ReloadError(
                f"cannot write the index folder {self._dir}: {exc.strerror or exc}; "
                "the current knowledge base keeps serving"
            ) from exc
        try:
            locked = self._lock_folder(fd)
            try:
                yield
            finally:
                if locked:
                    # Cleared before the release, so a reload refused later never names a pid long gone.
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # releases the flock

    def _lock_folder(self, fd: int) -> bool:
        """Take the reload lock on `fd` without waiting; True when taken (False: no locking here)."""
        if sys.platform == "win32":
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # The holder writes its pid just after it locks: in that instant there is none to name yet.
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise ReloadRunningError(
                f"another reload is running{f' (pid {holder})' if holder.isdigit() else ''}; try again when "
                "it ends; the current knowledge base keeps serving"
            ) from None
        except OSError as exc:
            # A file system without locks (some network mounts): refusing every reload would be worse.
            log.warning(
                "the index folder cannot be locked; concurrent reloads are not prevented",
                extra={"folder": str(self._dir), "error": f"{exc.__class__.__name__}: {exc}"},
            )
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        return True

    def _replaced(
        self, embedder: Embedder
    ) -> tuple[dict[str, npt.NDArray[np.float32]], list[tuple[str, str, str]]]:
        """The serving index's vectors by content hash (when `embedder` made them), and its chunks (id,
        source, content hash) for the reload's report; nothing when there is no readable index."""
        try:
            snapshot = self._current()
        except KBUnavailableError:
            return {}, []
        previous = [(c.id, c.source, c.content_hash) for c in snapshot.chunks]
        if not same_embedder(snapshot.meta.get("embedder", ""), embedder_id(embedder)):
            return {}, previous
        return {c.content_hash: snapshot.matrix[i] for i, c in enumerate(snapshot.chunks)}, previous

    def _build_and_swap(self, corpus: Corpus, progress: ProgressCallback | None) -> _Built:
        """Build and serve an index with no calibration (the default gate): for corpora built elsewhere."""
        embedder = self._embedder
        fresh = self._build(corpus, progress, embedder)
        try:
            return self._swap_in(fresh, None, progress, embedder)
        except BaseException:
            self._discard(fresh)
            raise

    def _build(self, corpus: Corpus, progress: ProgressCallback | None, embedder: Embedder) -> _Snapshot:
        """Write and verify a new index file of `embedder`'s vectors; it serves nothing until `_swap_in`."""
        self._dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        final = self._dir / f"kb-{stamp}.sqlite"
        partial = final.with_suffix(".building")
        try:
            write_index(
                partial,
                corpus.chunks,
                corpus.vectors,
                {
                    "dim": str(embedder.dim),
                    "embedder": embedder_id(embedder),
                    "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "source": ", ".join(report.name for report in corpus.sources),
                    "sources": reports_to_json(corpus.sources),
                    "chunks": str(len(corpus.chunks)),
                    # What this reload changed, for `kb stats`.
                    **({"changes": describe_changes(corpus.changes)} if corpus.changes else {}),
                },
            )
            report_progress(progress, "verifying", 0, len(corpus.chunks))
            os.replace(partial, final)
            fresh = _Snapshot(final)
            try:
                verify_index(fresh, corpus.chunks)
            except ReloadError:
                fresh.retire()
                raise
        except (OSError, sqlite3.Error, KBUnavailableError) as exc:
            for leftover in (partial, final):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise ReloadError(
                f"building the index failed ({exc.__class__.__name__}: {exc}); "
                "the current knowledge base keeps serving"
            ) from exc
        except BaseException:
            for leftover in (partial, final):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise
        return fresh

    async def _calibrate(self, fresh: _Snapshot, corpus: Corpus, embedder: Embedder) -> Calibration:
        """Fit the refusal gate on the new index; a failure keeps the default gate, never the reload."""

        async def search(
            query: str, vector: npt.NDArray[np.float32], k: int, mode: SearchMode, lang: str, weight: float
        ) -> list[Hit]:
            return await asyncio.to_thread(
                self._search, fresh, query, vector, k, mode, self.fusion, lang=lang, dense_weight=weight
            )

        try:
            return await fit_calibration(corpus.chunks, embedder, search, self._translator)
        except (ValueError, ArithmeticError, sqlite3.Error, RuntimeError) as exc:
            log.warning("gate calibration failed; the default gate serves", exc_info=True)
            return Calibration(reason=f"default gate: calibration failed ({exc.__class__.__name__}: {exc})")

    def _swap_in(
        self,
        fresh: _Snapshot,
        calibration: Calibration | None,
        progress: ProgressCallback | None,
        embedder: Embedder,
    ) -> _Built:
        """Store the calibration in the new file, then point readers at it (the one atomic step). `embedder`
        built it: an index of an embedder SIGHUP replaced meanwhile is refused, it could not serve."""
        final = fresh.path
        if calibration is not None:
            bridge = fresh.bridge(embedder)
            try:
                with contextlib.closing(sqlite3.connect(final)) as conn, conn:
                    conn.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('calibration', ?)", (calibration.to_json(),)
                    )
                    # Float16 halves the file's share (cosines to 0.6 need no more); a serving process reads
                    # them instead of embedding the words on its first search.
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS vocabulary_vectors("
                        "lang TEXT PRIMARY KEY, dim INTEGER NOT NULL, data BLOB NOT NULL)"
                    )
                    for lang, matrix in (bridge.vectors() if bridge is not None else {}).items():
                        conn.execute(
                            "INSERT OR REPLACE INTO vocabulary_vectors VALUES (?, ?, ?)",
                            (lang, int(matrix.shape[1]), matrix.astype(np.float16).tobytes()),
                        )
            except sqlite3.Error as exc:
                raise ReloadError(
                    f"storing the calibration failed ({exc.__class__.__name__}: {exc}); "
                    "the current knowledge base keeps serving"
                ) from exc
            fresh.calibration = calibration
        report_progress(progress, "swapping", 0, 1)
        with self._open_lock:
            if embedder is not self._embedder:
                raise ReloadError(
                    "the embedder changed during the reload (SIGHUP after `models use --embedder`), so the "
                    "index it built with the previous one was not swapped in: run `python -m bot kb reload` "
                    "again"
                )
            self._write_pointer(final)
            self._install(fresh)
            self._pointer_mtime = (self._dir / POINTER).stat().st_mtime_ns
            self._pointer_checked = time.monotonic()
        self._drop_old(keep=final)
        report_progress(progress, "swapping", 1, 1)
        return _Built(path=final, chunks=len(fresh.chunks))

    async def _swap_in_thread(
        self,
        fresh: _Snapshot,
        calibration: Calibration | None,
        progress: ProgressCallback | None,
        embedder: Embedder,
    ) -> _Built:
        """`_swap_in` in a worker thread, which a cancelled reload waits for before it goes on.

        A thread cannot be stopped: were the caller's cleanup to run while it swaps, it would delete the file
        the pointer is about to name, and the swap would then drop the previous index too, leaving none. Once
        the thread is done, `_discard` knows whether the new index serves (then it is kept).
        """
        loop = asyncio.get_running_loop()
        # A plain future, not a task (as shielding `to_thread` would make): the cancel-all of a loop shutting
        # down passes it by, so it ends only when the thread does. The context is copied as `to_thread` does.
        swap = loop.run_in_executor(
            None, contextvars.copy_context().run, self._swap_in, fresh, calibration, progress, embedder
        )
        try:
            return await asyncio.shield(swap)
        except asyncio.CancelledError:
            while not swap.done():
                # A second Ctrl-C or cancel must not cut the wait short: the swap takes a moment at most.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([swap])
            if not swap.cancelled() and swap.exception() is None:
                log.info(
                    "kb reload cancelled after its swap; the new index serves",
                    extra={"index": fresh.path.name},
                )
            raise

    def _discard(self, fresh: _Snapshot) -> None:
        """Retire and delete a built index that never served (a failed or cancelled reload)."""
        if self._snapshot is fresh:
            return
        fresh.retire()
        with contextlib.suppress(OSError):
            fresh.path.unlink()

    def _write_pointer(self, target: Path) -> None:
        pointer = self._dir / POINTER
        tmp = pointer.with_suffix(".json.tmp")
        payload = json.dumps(
            {"file": target.name, "swapped_at": datetime.now(UTC).isoformat(timespec="seconds")}
        )
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, pointer)  # atomic: readers see the old pointer or the new one, never half

    def _drop_old(self, keep: Path) -> None:
        for path in [*self._dir.glob(INDEX_GLOB), *self._dir.glob("kb-*.building")]:
            if path != keep:
                with contextlib.suppress(OSError):
                    path.unlink()  # open snapshots keep reading the unlinked file until they close

    # ----------------------------------------------------------------------------------- stats, health

    async def stats(self) -> KBStats:
        snapshot = await asyncio.to_thread(self._current)
        return KBStats(
            backend=self.name,
            index=snapshot.path.name,
            documents=snapshot.documents,
            chunks=len(snapshot.chunks),
            built_at=snapshot.meta.get("built_at"),
            extra={
                "path": str(snapshot.path),
                "embedder": snapshot.meta.get("embedder", ""),
                "dim": snapshot.meta.get("dim", ""),
                "source": snapshot.meta.get("source", ""),
                "size_mb": f"{snapshot.path.stat().st_size / 1e6:.1f}" if snapshot.path.exists() else "",
                "languages": describe_languages(snapshot.languages),
                "last reload": snapshot.meta.get("changes", NOT_RECORDED),
                **snapshot.calibration.describe(),
                # `health` reports a knowledge base that serves with a warning as degraded.
                **({"warning": snapshot.outdated} if snapshot.outdated is not None else {}),
            },
            sources=reports_from_json(snapshot.meta.get("sources")),
        )

    async def indexed_sources(self) -> frozenset[str]:
        snapshot = await asyncio.to_thread(self._current)
        return snapshot.sources

    async def calibration(self) -> Calibration:
        snapshot = await asyncio.to_thread(self._current)
        return snapshot.calibration

    async def outline(self, source: str) -> tuple[Chunk, ...]:
        snapshot = await asyncio.to_thread(self._current)
        return outline_of(c for c in snapshot.chunks if c.source == source)

    async def missing_words(self, words: Sequence[str]) -> frozenset[str]:
        if not words:
            return frozenset()
        return await asyncio.to_thread(self._missing_now, list(words))

    def _missing_now(self, words: list[str]) -> frozenset[str]:
        snapshot = self._current()
        snapshot.acquire()
        try:
            missing = set()
            for word in words:
                # Present when any of the index's analyses finds it (a name is often English in any text).
                forms = {
                    " ".join(analyzer(lang).terms(word, stop=False))
                    for lang in snapshot.query_languages(FALLBACK_QUESTION_LANGUAGE)
                } - {""}
                if forms and all(snapshot.document_frequency(form) == 0 for form in forms):
                    missing.add(word)
            return frozenset(missing)
        except sqlite3.Error as exc:
            raise KBUnavailableError(f"the embedded index failed: {exc.__class__.__name__}") from exc
        finally:
            snapshot.release()

    async def ping(self) -> None:
        await asyncio.to_thread(self._current)

    async def close(self) -> None:
        with self._open_lock:
            snapshot, self._snapshot = self._snapshot, None
            pool, self._pool = self._pool, None
        if snapshot is not None:
            snapshot.retire()
        if pool is not None:
            pool.shutdown(wait=True)

    def index_corpus(self, corpus: Corpus, source: Path) -> ReloadReport:
        """Index a ready corpus (chunks with their vectors) and swap it in, with no loading or embedding.

        Synchronous: callers run it in a thread. For corpora built elsewhere, such as synthetic ones.
        """
        if not corpus.sources:
            corpus = replace(corpus, sources=(folder_report(source, corpus),))
        with self._reloading():
            built = self._build_and_swap(corpus, None)
        return ReloadReport(
            files=corpus.files,
            chunks=built.chunks,
            skipped=corpus.skipped,
            seconds=round(time.perf_counter() - corpus.started, 3),
            index=built.path.name,
        )
