"""The shared half of a reload: walk the folder, load, chunk and embed, reporting skips and progress."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.config import KBSettings
from bot.domain import Chunk
from bot.kb.analysis import CJK_LANGUAGES, THAI_RUN, thai_words
from bot.kb.base import (
    ChangeCounts,
    Embedder,
    ProgressCallback,
    ReloadChanges,
    ReloadError,
    ReloadProgress,
    ReloadStage,
    SkippedFile,
    SourceReport,
)
from bot.kb.chunking import Chunker, ChunkingConfig, embedding_text
from bot.kb.filetypes import supported_list
from bot.kb.glossing import GLOSS_MARK, GlossingEmbedder
from bot.kb.loaders import Document, LoadError, is_supported, iter_files, load_file, relative_source
from bot.kb.sources import DocumentSource, SourceError, folder_source
from bot.kb.validate import UnsafeFileError
from bot.language import (
    DOCUMENT_SAMPLE_CHARS,
    NON_LATIN_SCRIPT,
    UNDETERMINED,
    detect_document_language,
    normalize,
)
from bot.unicode import LETTER, latin

log = logging.getLogger("bot.kb")

EMBED_BATCH = 32
_FOLDERS = re.compile(r"[\\/]")
MAX_FILES = 20_000


@dataclass(frozen=True, slots=True)
class Corpus:
    """Everything a backend needs to build an index: chunks, their vectors (row i = chunk i), the report."""

    chunks: tuple[Chunk, ...]
    vectors: npt.NDArray[np.float32]
    files: int
    skipped: tuple[SkippedFile, ...]
    started: float  # time.perf_counter() at the start, for the report's duration
    embedded: int  # chunks that needed the embedder (the rest came from the previous index)
    changes: ReloadChanges | None = None  # against the index being replaced (`previous` of build_corpus)
    sources: tuple[SourceReport, ...] = ()


def compare_chunks(
    previous: Sequence[tuple[str, str, str]], chunks: Sequence[Chunk], embedded: int
) -> ReloadChanges:
    """The reload's changes against the index it replaces, whose chunks are `previous` (id, source,
    content hash): a file changed when any of its chunks did, was added or went away (renamed: both)."""
    before = {chunk_id: digest for chunk_id, _, digest in previous}
    after = {chunk.id: chunk.content_hash for chunk in chunks}

    def files(rows: Mapping[str, str], source_of: Mapping[str, str]) -> dict[str, frozenset[tuple[str, str]]]:
        out: dict[str, set[tuple[str, str]]] = {}
        for chunk_id, digest in rows.items():
            out.setdefault(source_of[chunk_id], set()).add((chunk_id, digest))
        return {source: frozenset(items) for source, items in out.items()}

    old_files = files(before, {chunk_id: source for chunk_id, source, _ in previous})
    new_files = files(after, {chunk.id: chunk.source for chunk in chunks})
    return ReloadChanges(
        files=_counts(old_files, new_files),
        chunks=_counts(before, after),
        embedded=embedded,
        changed_sources=frozenset(
            s for s in old_files.keys() & new_files.keys() if old_files[s] != new_files[s]
        ),
        removed_sources=frozenset(old_files.keys() - new_files.keys()),
        # An index that replaced one always had chunks (a reload that would leave none is refused).
        compared=bool(previous),
    )


def _counts(before: Mapping[str, object], after: Mapping[str, object]) -> ChangeCounts:
    both = before.keys() & after.keys()
    changed = sum(1 for key in both if before[key] != after[key])
    return ChangeCounts(
        added=len(after.keys() - before.keys()),
        changed=changed,
        removed=len(before.keys() - after.keys()),
        unchanged=len(both) - changed,
    )


# What `kb stats` says of an index built before reloads recorded their changes.
NOT_RECORDED = "not recorded (built before reload reports)"


def describe_changes(changes: ReloadChanges) -> str:
    """One line for people: "files 1 changed, 9 unchanged; chunks 3 changed, 345 unchanged; 3 embedded"."""

    def part(name: str, counts: ChangeCounts) -> str:
        kinds = ("added", "changed", "removed", "unchanged")
        listed = [f"{getattr(counts, kind)} {kind}" for kind in kinds if getattr(counts, kind)]
        return f"{name} " + (", ".join(listed) or "none")

    return f"{part('files', changes.files)}; {part('chunks', changes.chunks)}; {changes.embedded} embedded"


def embedder_id(embedder: Embedder) -> str:
    """Identifies the embedding space, so vectors are only reused, and searched, by the same model."""
    if isinstance(embedder, GlossingEmbedder):
        return f"{embedder_id(embedder.inner)}{GLOSS_MARK}{embedder.glosser.gloss_name}"
    space = f"{type(embedder).__name__}:{embedder.dim}"
    return f"{space}:{embedder.model_id}" if embedder.model_id else space


def same_embedder(stored: str, current: str, *, holds_chinese: bool = True) -> bool:
    """Whether an index's vectors (`stored`, its `embedder_id`) are in the configured embedder's space.

    Indexes built before prefixes and pooling were configurable named the model file by its whole path; the
    file name is what counts, so they stay valid for the same model with no prefix. An index without Chinese
    (`holds_chinese` false) has the same vectors with the Chinese gloss as without (`bot.kb.glossing`):
    turning it on, or upgrading to the version that brought it, does not stop an English help center until
    its next reload.
    """
    if stored == current:
        return True
    if not holds_chinese:
        stored, current = stored.split(GLOSS_MARK)[0], current.split(GLOSS_MARK)[0]
        if stored == current:
            return True
    kind, _, rest = stored.partition(":")
    dim, _, model = rest.partition(":")
    folders = _FOLDERS.split(model)
    return len(folders) > 1 and f"{kind}:{dim}:{folders[-1]}" == current


def other_space(stored: str, current: str) -> str:
    """Why an index whose vectors are in `stored`'s space cannot serve `current`'s (both `embedder_id`s), in
    the words an admin acts on: a gloss turned on or off is a setting to set back, not another model."""
    stored_model, glossed_then, _ = stored.partition(GLOSS_MARK)
    current_model, glossed_now, _ = current.partition(GLOSS_MARK)
    if bool(glossed_then) != bool(glossed_now) and same_embedder(stored_model, current_model):
        then, now = ("on", "off") if glossed_then else ("off", "on")
        return (
            f"the index was built with the Chinese gloss {then} and BOT_EMBEDDINGS__GLOSS_CHINESE now turns "
            f"it {now} (or set it back)"
        )
    return f"the index was built with the embedder {stored}, the configured one is {current}"


def describe_skips(skipped: Sequence[SkippedFile]) -> str:
    shown = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:10])
    return shown + (f" (and {len(skipped) - 10} more)" if len(skipped) > 10 else "")


def report_progress(progress: ProgressCallback | None, stage: ReloadStage, done: int, total: int) -> None:
    if progress is None:
        return
    try:
        progress(ReloadProgress(stage=stage, done=done, total=total))
    except Exception:
        # A broken progress display (say, a failed Telegram edit) must not abort the reload.
        log.warning("progress callback failed", exc_info=True, extra={"stage": stage})


def load_documents(source: Path, max_file_mb: float) -> tuple[list[Document], list[SkippedFile]]:
    """Load every supported file under `source`; a bad file becomes one line in `skipped`."""
    if not source.exists():
        raise ReloadError(f"the knowledge folder {source} does not exist")
    if not source.is_dir():
        raise ReloadError(f"the knowledge source {source} is not a folder")
    root = source.resolve()
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    seen = 0

    def skip_folder(folder: Path, reason: str) -> None:
        # The knowledge folder itself by the name it was configured with, any other by its path inside it.
        skipped.append(SkippedFile(str(source) if folder == root else relative_source(folder, root), reason))

    for path in iter_files(root, skip_folder):
        seen += 1
        rel = relative_source(path, root)
        if seen > MAX_FILES:
            skipped.append(SkippedFile(rel, f"more than {MAX_FILES} files in the knowledge folder"))
            break
        loaded = load_one(path, root, max_file_mb)
        if isinstance(loaded, str):
            skipped.append(SkippedFile(rel, loaded))
            continue
        documents.append(loaded)
    return documents, skipped


def load_one(path: Path, root: Path, max_file_mb: float) -> Document | str:
    """The document a reload makes of the file `path` under `root`, or why it skips it (the report's line).

    The one rule set for a file, so that whatever asks whether a file is in the knowledge base (an approved
    answer's `--source`) gets the reload's own answer."""
    if any(part.startswith(".") for part in path.relative_to(root).parts):
        return "hidden files and folders are not read"  # `iter_files` never yields them
    if not is_supported(path):
        return f"unsupported file type; supported: {supported_list()}"
    try:
        document = load_file(path, root, max_file_mb)
    except (LoadError, UnsafeFileError) as exc:
        return str(exc)
    except Exception as exc:  # a parser bug on one hostile file must not stop the reload
        log.warning("loader crashed", exc_info=True, extra={"file": relative_source(path, root)})
        return f"could not be parsed ({exc.__class__.__name__})"
    if not document.sections:
        return "no text found"
    return document


def make_chunker(settings: KBSettings, embedder: Embedder) -> Chunker:
    config = ChunkingConfig(
        chunk_tokens=settings.chunk_tokens,
        overlap_tokens=settings.chunk_overlap,
        max_tokens=embedder.max_tokens,
    )
    return Chunker(config, embedder.count_tokens)


def _chunk_documents(
    documents: Sequence[Document], settings: KBSettings, embedder: Embedder
) -> tuple[list[Chunk], list[Document], list[SkippedFile]]:
    chunker = make_chunker(settings, embedder)
    chunks: list[Chunk] = []
    kept: list[Document] = []
    skipped: list[SkippedFile] = []
    for document in documents:
        try:
            pieces = chunker.chunk_document(document)
        except Exception as exc:
            log.warning("chunking failed", exc_info=True, extra={"file": document.source})
            skipped.append(
                SkippedFile(document.source, f"could not be split into chunks ({exc.__class__.__name__})")
            )
            continue
        if pieces:
            chunks.extend(chunk_languages(pieces))
            kept.append(document)
    return chunks, kept, skipped


Sources = Path | Sequence[DocumentSource]


def as_sources(source: Sources, settings: KBSettings) -> list[DocumentSource]:
    """A reload's sources: a bare folder path is the one folder source."""
    if isinstance(source, Path):
        return [folder_source(source, settings)]
    return list(source)


async def load_sources(
    sources: Sequence[DocumentSource],
) -> tuple[list[Document], list[SkippedFile], tuple[SourceReport, ...]]:
    """Every source's documents, in order. A document named like one of an earlier source (the same
    relative path in two folders) is skipped with the reason; a source that cannot be read fails the
    reload, or its documents would silently leave the index."""
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    reports: list[SourceReport] = []
    owner: dict[str, str] = {}
    for source in sources:
        try:
            loaded = await source.load()
        except SourceError as exc:
            message = str(exc)
            prefix = "" if source.name in message else f"{source.name}: "
            raise ReloadError(f"{prefix}{message}; the current knowledge base keeps serving") from exc
        skipped.extend(loaded.skipped)
        for document in loaded.documents:
            if document.source in owner:
                skipped.append(
                    SkippedFile(document.source, f"also in {owner[document.source]}; that one is kept")
                )
                continue
            owner[document.source] = source.name
            documents.append(document)
        reports.append(loaded.report)
    return documents, skipped, tuple(reports)


# A document's language is voted by this many samples spread over it, each weighted by how much it says
# (`_content`): its first pages alone can be untranslated (a partly translated manual chapter, an English
# preamble).
LANGUAGE_SAMPLES = 8
# Han and kana, written without spaces: their characters are counted, not their words.
_SPACELESS = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\u3041-\u30ff\u31f0-\u31ff\uff66-\uff9d]"
)
# A word's letters with the marks written on them (Devanagari's vowel signs would cut "पासवर्ड" in three).
_LETTERS = re.compile(rf"{LETTER}+")
_CJK_SCRIPT = re.compile(rf"{_SPACELESS.pattern}|[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
# Han or kana characters that say as much as one word of a spaced script: the Debian Reference's chapters
# take 2.9 Japanese and 1.8 Chinese characters per word of the English original.
SPACELESS_CHARACTERS_PER_WORD = 2


def _content(text: str) -> float:
    """How much `text` says, in words: Latin text takes two or three times the characters of Japanese or
    Chinese for the same content, and weighed by characters a Japanese chapter's samples of commands and
    untranslated notes outvoted its Japanese ones (the Japanese Debian Reference's chapter 9 was English)."""
    spaceless = len(_SPACELESS.findall(text))
    # Thai, written without spaces too, by its words (`thai_words`): a run of it is a phrase or a sentence.
    thai = sum(len(thai_words(run)) for run in THAI_RUN.findall(text))
    rest = THAI_RUN.sub(" ", _SPACELESS.sub(" ", text))
    return len(_LETTERS.findall(rest)) + thai + spaceless / SPACELESS_CHARACTERS_PER_WORD


def document_language(pieces: Sequence[Chunk]) -> list[Chunk]:
    """The chunks of one document, each labelled with the language most of the document is written in."""
    step = max(1, len(pieces) // LANGUAGE_SAMPLES)
    votes: dict[str, float] = {}
    for piece in pieces[::step]:
        text = piece.text[: DOCUMENT_SAMPLE_CHARS // 2]
        found = detect_document_language(text)
        if found != UNDETERMINED:
            votes[found] = votes.get(found, 0.0) + _content(text)
    lang = max(sorted(votes), key=lambda code: votes[code]) if votes else UNDETERMINED
    return [replace(piece, lang=lang) for piece in pieces]


def chunk_languages(pieces: Sequence[Chunk]) -> list[Chunk]:
    """The chunks of one document labelled for search: with the document's language (`document_language`),
    but a chunk the detector is sure is Chinese, Japanese or Korean with that language where the document's
    is written in another script, and a chunk written mostly in another non-Latin script (Cyrillic, Greek,
    …) with its language where the document's is written in the Latin script. A partly translated chapter
    can be more English than Japanese (chapter 7 of the Japanese Debian Reference): its translated passages
    are then still quoted for a question in their language (`bot.rag.pipeline.Pipeline._quote_for`). A CJK
    document's chunks keep its language, its commands, tables and untranslated notes as much as a Chinese
    passage quoting a few kana: they belong to its sections, and the detector's guess on code is no
    language."""
    labelled = document_language(pieces)
    if not labelled or normalize(labelled[0].lang) in CJK_LANGUAGES:
        return labelled
    latin_document = normalize(labelled[0].lang) not in NON_LATIN_SCRIPT
    out: list[Chunk] = []
    for piece in labelled:
        # The same for another script: two chapters of the Russian Debian FAQ, more English (commands,
        # untranslated notes) than Russian, had their Russian sections searched without Russian stemming, and
        # their quotes opened with "Our help center is written in English".
        if _CJK_SCRIPT.search(piece.text):
            allowed = CJK_LANGUAGES
        elif latin_document and _mostly_other_script(piece.text):
            allowed = NON_LATIN_SCRIPT
        else:
            out.append(piece)
            continue
        found = detect_document_language(piece.text)
        out.append(replace(piece, lang=found) if found in allowed else piece)
    return out


def _mostly_other_script(text: str) -> bool:
    """Whether most of `text`'s letters are outside the Latin script (Cyrillic, Greek, Arabic, …)."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(1 for ch in letters if not latin(ch)) * 2 > len(letters)


def folder_report(source: Path, corpus: Corpus) -> SourceReport:
    """The report of a corpus built from one folder outside a reload (a benchmark's synthetic corpus)."""
    from bot.kb.sources import now_iso

    return SourceReport(
        name=str(source),
        kind="folder",
        documents=corpus.files,
        skipped=len(corpus.skipped),
        seconds=round(time.perf_counter() - corpus.started, 3),
        refreshed_at=now_iso(),
    )


async def build_corpus(
    source: Sources,
    settings: KBSettings,
    embedder: Embedder,
    progress: ProgressCallback | None = None,
    cache: Mapping[str, npt.NDArray[np.float32]] | None = None,
    *,
    embed_batch: int = EMBED_BATCH,
    previous: Sequence[tuple[str, str, str]] = (),
) -> Corpus:
    """Load, chunk and embed `source` (a folder, or the configured folders and sites). Raises
    `ReloadError` when a source cannot be read or nothing usable is left.

    `cache` maps content hashes to vectors of the index being replaced, so an unchanged chunk is not
    embedded again, and `previous` lists its chunks (id, source, content hash) for the report of what
    changed; `embed_batch` texts go to the embedder per call. CPU work runs in worker threads; progress
    is reported from the event loop.
    """
    started = time.perf_counter()
    report_progress(progress, "loading", 0, 0)
    sources = as_sources(source, settings)
    loaded, skipped, reports = await load_sources(sources)
    chunks, documents, unchunked = await asyncio.to_thread(_chunk_documents, loaded, settings, embedder)
    skipped += unchunked
    report_progress(progress, "loading", len(documents), len(documents) + len(skipped))
    if not chunks:
        detail = f" Skipped: {describe_skips(skipped)}" if skipped else ""
        where = ", ".join(s.name for s in sources)
        raise ReloadError(
            f"no usable text found in {where}; the current knowledge base keeps serving.{detail}"
        )
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    todo: list[int] = []
    for row, chunk in enumerate(chunks):
        cached = cache.get(chunk.content_hash) if cache else None
        if cached is not None and cached.shape == (embedder.dim,):
            vectors[row] = cached
        else:
            todo.append(row)
    batch = max(1, embed_batch)
    report_progress(progress, "embedding", 0, len(todo))
    for start in range(0, len(todo), batch):
        rows = todo[start : start + batch]
        texts = [embedding_text(chunks[row]) for row in rows]
        try:
            out = await asyncio.to_thread(embedder.embed_passages, texts)
        except Exception as exc:
            raise ReloadError(
                f"embedding failed ({exc.__class__.__name__}: {exc}); "
                "the current knowledge base keeps serving"
            ) from exc
        if out.shape != (len(rows), embedder.dim):
            raise ReloadError(
                f"the embedder returned shape {out.shape}, expected {(len(rows), embedder.dim)}"
            )
        vectors[rows] = out
        report_progress(progress, "embedding", min(start + batch, len(todo)), len(todo))
    if not np.all(np.isfinite(vectors)):
        raise ReloadError("the embedder returned non-finite values; the current knowledge base keeps serving")
    return Corpus(
        chunks=tuple(chunks),
        vectors=vectors,
        files=len(documents),
        skipped=tuple(skipped),
        started=started,
        embedded=len(todo),
        changes=compare_chunks(previous, chunks, len(todo)),
        sources=reports,
    )
