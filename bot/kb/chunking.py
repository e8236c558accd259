"""Cut sections into chunks sized by the embedder's own tokenizer, each keeping its heading."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain import Chunk
from bot.kb.markup import FENCE, TABLE_ROW, is_table_rule
from bot.kb.parsers import Document, Section

# The Embedder protocol counts content tokens only; `max_tokens` already leaves room for [CLS]/[SEP].
SPECIAL_TOKENS = 0
HEADING_SEPARATOR = " > "
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+(?=\S)")
# The word a full stop ends, where it may be an abbreviation's: a single letter ("м. Київ", "z. B.").
_LAST_WORD = re.compile(r"(?:^|[\s(«“\"'])([^\W\d_])\.$")
# Han, kana and Hangul: Chinese and Japanese end a sentence or a clause with no space after it.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3041-\u30ff\u31f0-\u31ff\uff66-\uff9d\uac00-\ud7af"
# Closing brackets and quotes that stay with the sentence they end (「…。」); ASCII quotes open as often.
_CLOSERS = "」』）〕】〉》〗〙〛｣”’)\\]"
# A CJK sentence end (。！？, half-width ｡, or ASCII !? after a CJK character), its closers and any space.
_CJK_SENTENCE_END = re.compile(rf"(?:[。！？｡]|(?<=[{_CJK}])[!?])[。！？｡!?]*[{_CLOSERS}]*\s*")
# Where an over-long CJK sentence is cut before any character budget: after a comma or semicolon.
_CJK_CLAUSE_END = re.compile(r"[、，；､]\s*")
# A table's or figure's caption on its own line: "Table 6.8. List of SSH configuration files", "Tabelle 6.8.",
# "表 6.1". Its number is dotted or ends in a full stop or colon, and its title ends in no full stop: "Step 3
# says …" and "Version 2.0 is out." are prose. Looser than the extracts' caption rule (whose title starts
# with no lower-case letter): an extract never quotes a caption, so a statement taken for one would be lost,
# while here it only moves on into the next chunk with what follows it; and captions do start with a command
# or a lower-case word ("表1.6 umask 値の例", "Tabla 4.1. los tres archivos…").
_CAPTION = re.compile(
    r"^[^\W\d_]{1,15}\s?\d{1,3}(?:(?:[.-]\d{1,3})+[.:：]?|[.:：])(?:\s+\S.{0,150}(?<![.!?。！？]))?$"
)


def _words_only(text: str) -> str:
    """`text` without the markup the loaders add to keep code and tables whole: fence lines, table rules and
    a row's outer pipes. Chunk sizes are counted on it, so a fenced command or a table takes the room its
    words take, and a page's chunks cut where its words do, whatever markup its loader writes."""
    lines: list[str] = []
    for line in text.split("\n"):
        if FENCE.match(line) or is_table_rule(line):
            continue
        lines.append(line.strip().strip("|").strip() if TABLE_ROW.match(line) else line)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    chunk_tokens: int
    overlap_tokens: int
    max_tokens: int  # the embedder's context, special tokens included


def heading_text(heading_path: Sequence[str]) -> str:
    """The searchable heading field: the whole path, so a section's context counts as its title."""
    return HEADING_SEPARATOR.join(part for part in heading_path if part)


def embedding_text(chunk: Chunk) -> str:
    """What the dense side embeds: the heading path first, so a question matches its entry's title."""
    head = heading_text(chunk.heading_path)
    return f"{head}\n{chunk.text}" if head else chunk.text


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class _Unit:
    text: str
    tokens: int
    joiner: str  # placed before this unit when it follows another


def _introduces(text: str) -> bool:
    """Whether a unit only introduces what follows it: a lead-in that ends with a colon ("Use one of these
    commands:") or a caption line alone. Cut from its table, list or code, neither half reads right: the
    extract of the one is a label (never quoted), and the other has lost what it is about."""
    last = text.rstrip().rsplit("\n", 1)[-1].strip()
    return last.endswith((":", "：")) or ("\n" not in text.strip() and _CAPTION.match(last) is not None)


def _sentence_pieces(paragraph: str) -> list[str]:
    """`paragraph` cut after each sentence's (or clause's) end, but not after an abbreviation's full stop: one
    followed by a lower-case letter, which begins no sentence in any alphabet ("… окремі тарифи (див. розділ
    нижче).", "e.g. the"), or that ends a single letter ("м. Київ"). A Ukrainian help center's long paragraph
    was cut after "див." (see), and its chunk opened with "розділ нижче).", quoted as the answer's first
    words."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE.finditer(paragraph):
        before, after = paragraph[start : match.start()], paragraph[match.end() :]
        if before.endswith(".") and (after[:1].islower() or _LAST_WORD.search(before)):
            continue
        pieces.append(before)
        start = match.end()
    pieces.append(paragraph[start:])
    return pieces


def _cut_after(text: str, ends: re.Pattern[str], joiner: str) -> list[tuple[str, str]]:
    """`text` cut after each of `ends` (its space dropped), each piece with what joins it to the one before:
    `joiner` for the first, a space where the cut dropped one, else nothing."""
    out: list[tuple[str, str]] = []
    start = 0
    for match in ends.finditer(text):
        if match.end() == len(text):
            break
        end = match.end()
        piece = text[start:end]
        out.append((piece.rstrip(), joiner))
        joiner = " " if piece != piece.rstrip() else ""
        start = end
    out.append((text[start:], joiner))
    return out


class Chunker:
    """Greedy packing of paragraphs (then sentences, CJK clauses, then words) into token-bounded chunks."""

    def __init__(self, config: ChunkingConfig, count_tokens: Callable[[str], int]) -> None:
        self._config = config
        self._count = count_tokens

    def _size(self, text: str) -> int:
        """Tokens a piece takes against the chunk budget: its words' (the context limit counts them all)."""
        return self._count(_words_only(text))

    def chunk_document(self, document: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        for section in document.sections:
            for body in self.split_section(section):
                position = len(chunks)
                chunks.append(
                    Chunk(
                        id=f"{document.source}#{position}",
                        source=document.source,
                        heading=section.heading,
                        heading_path=section.heading_path,
                        position=position,
                        text=body,
                        content_hash=content_hash(heading_text(section.heading_path) + "\n" + body),
                        url=section.url,
                    )
                )
        return chunks

    def _room(self, heading_path: Sequence[str]) -> int:
        head = heading_text(heading_path)
        head_tokens = self._count(head + "\n") if head else 0
        # A pathological heading longer than the context still leaves a usable body size; its own tail
        # is cut by the embedder, the body is never lost.
        return max(16, self._config.max_tokens - SPECIAL_TOKENS - head_tokens)

    def split_section(self, section: Section) -> list[str]:
        room = self._room(section.heading_path)
        # Body tokens aimed for under this heading: the embedded text must fit the embedder's context.
        budget = min(self._config.chunk_tokens, room)
        units = self._units(section.text, budget)
        return self._pack(units, budget, room)

    def _units(self, text: str, budget: int) -> list[_Unit]:
        units: list[_Unit] = []
        for paragraph in re.split(r"\n\s*\n", text):
            paragraph = paragraph.strip("\n")
            if not paragraph.strip():
                continue
            tokens = self._size(paragraph)
            if tokens <= budget:
                units.append(_Unit(paragraph, tokens, "\n\n"))
                continue
            first = True
            for sentence, joiner in self._sentences(paragraph, budget):
                units.append(_Unit(sentence, self._size(sentence), "\n\n" if first else joiner))
                first = False
        return units

    def _sentences(self, paragraph: str, budget: int) -> list[tuple[str, str]]:
        """The sentences of an over-long paragraph (its lines, for code or lists), each with what joins it to
        the one before: a space, or nothing between CJK sentences (their clauses, then words, where one is
        longer than `budget`)."""
        out: list[tuple[str, str]] = []
        lines = [line for line in paragraph.split("\n") if line.strip()]
        if len(lines) > 1 and all(TABLE_ROW.match(line) for line in lines):
            # A table's rows, each whole, one a line: a row cut in two, or rows run into one line, reads as
            # neither (an HTML page's tables are written so by its loader).
            for line in lines:
                if self._size(line) <= budget:
                    out.append((line, "\n"))
                else:
                    out.extend((words, " ") for words in self._words(line, budget))
            return out
        pieces = _sentence_pieces(paragraph)
        if len(pieces) == 1 and "\n" in paragraph:
            pieces = paragraph.split("\n")  # code or lists: lines are the natural unit
        for piece in pieces:
            for sentence, joiner in _cut_after(piece, _CJK_SENTENCE_END, " "):
                if self._size(sentence) <= budget:
                    out.append((sentence, joiner))
                    continue
                for clause, between in _cut_after(sentence, _CJK_CLAUSE_END, joiner):
                    if self._size(clause) <= budget:
                        out.append((clause, between))
                        continue
                    for words in self._words(clause, budget):
                        out.append((words, between))
                        between = " "
        return out

    def _words(self, text: str, budget: int) -> list[str]:
        """Split an over-long run of text at word boundaries (at characters for one giant word)."""
        words = text.split()
        out: list[str] = []
        current: list[str] = []
        for word in words:
            while self._count(word) > budget:
                # One token is at least one character, so `budget` characters always fit.
                cut = max(1, budget)
                if current:
                    out.append(" ".join(current))
                    current = []
                out.append(word[:cut])
                word = word[cut:]
            if not word:
                continue
            candidate = " ".join([*current, word])
            if current and self._size(candidate) > budget:
                out.append(" ".join(current))
                current = [word]
            else:
                current.append(word)
        if current:
            out.append(" ".join(current))
        return out

    def _pack(self, units: list[_Unit], budget: int, hard_limit: int) -> list[str]:
        chunks: list[str] = []
        current: list[_Unit] = []
        used = 0
        pending = units[::-1]  # a stack: a block cut into its lines goes back on it
        while pending:
            unit = pending.pop()
            cost = unit.tokens + (1 if current else 0)
            if current and used + cost > budget:
                # What introduces this unit goes on with it into the next chunk, where it fits there; where
                # it does not, the block (a table, a list, code) is cut into its lines, so that its first ones
                # stay with their introduction.
                carried = self._introduction(current, budget - unit.tokens)
                lines = [] if carried or not _introduces(current[-1].text) else self._lines(unit, budget)
                if len(lines) > 1:
                    pending.extend(lines[::-1])
                    continue
                kept = current[: len(current) - len(carried)]
                chunks.append(self._join(kept))
                current = carried or self._overlap(kept, budget - unit.tokens)
                used = sum(u.tokens + 1 for u in current)
            current.append(unit)
            used += unit.tokens + (1 if len(current) > 1 else 0)
        if current:
            chunks.append(self._join(current))
        return [piece for text in chunks if text.strip() for piece in self._fit(text, hard_limit)]

    def _lines(self, unit: _Unit, budget: int) -> list[_Unit]:
        """A block of several lines as its pieces (`_sentences`: a table's rows, code's lines), or itself."""
        if "\n" not in unit.text.strip():
            return [unit]
        pieces = self._sentences(unit.text, budget)
        return [
            _Unit(text, self._size(text), unit.joiner if n == 0 else joiner)
            for n, (text, joiner) in enumerate(pieces)
        ]

    @staticmethod
    def _introduction(current: list[_Unit], room: int) -> list[_Unit]:
        """The trailing units of `current` that introduce the next one (`_introduces`), when they fit in
        `room` and are not the whole chunk."""
        tail: list[_Unit] = []
        for unit in reversed(current):
            if not _introduces(unit.text):
                break
            tail.insert(0, unit)
        if len(tail) == len(current) or sum(u.tokens + 1 for u in tail) > room:
            return []
        return tail

    def _overlap(self, previous: list[_Unit], room: int) -> list[_Unit]:
        """The trailing sentences of the previous chunk, up to the overlap size, to carry context over."""
        limit = min(self._config.overlap_tokens, room)
        kept: list[_Unit] = []
        used = 0
        for unit in reversed(previous):
            if used + unit.tokens + 1 > limit:
                break
            kept.insert(0, unit)
            used += unit.tokens + 1
        if len(kept) == len(previous):
            return []  # never repeat a whole chunk
        return kept

    @staticmethod
    def _join(units: list[_Unit]) -> str:
        parts = [units[0].text]
        for unit in units[1:]:
            parts.append(unit.joiner + unit.text)
        return "".join(parts).strip()

    def _fit(self, text: str, hard_limit: int) -> list[str]:
        # Token counts of pieces do not add up exactly; halve the rare chunk that overshoots the context.
        if self._count(text) <= hard_limit or " " not in text.strip():
            return [text]
        words = text.split(" ")
        middle = len(words) // 2
        return self._fit(" ".join(words[:middle]), hard_limit) + self._fit(
            " ".join(words[middle:]), hard_limit
        )
