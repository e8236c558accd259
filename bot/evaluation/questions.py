"""The one reader of labelled-question JSONL files.

One object per line: `{"qid", "question"[, "file", "heading", "anchor", "lang"]}`. `file` and `heading` name
the answering section, `anchor` is a phrase copied from its body (either identifies the gold section, see
`bot.evaluation.scoring`); all null: the question should be refused. `lang` is kept for per-language reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class QuestionsFileError(ValueError):
    """A questions file cannot be used; the message names the file (and the line) and what is wrong."""


@dataclass(frozen=True)
class Question:
    """One labelled question. `file` and `heading` name the gold section and `anchor` quotes its body; without
    either (file and heading, or anchor) it should be refused."""

    qid: str
    question: str
    file: str | None = None
    heading: str | None = None
    anchor: str | None = None
    lang: str | None = None

    @property
    def answerable(self) -> bool:
        return (self.file is not None and self.heading is not None) or self.anchor is not None

    @property
    def expected(self) -> str:
        """The gold section in one line, for reports."""
        where = f"{self.file} :: {self.heading}" if self.file is not None else "any file"
        return f"{where} (anchor {self.anchor!r})" if self.anchor is not None else where


@dataclass(frozen=True)
class BadLine:
    """A line that holds no usable question, for readers that report it and go on (`kb search --queries`)."""

    line: int
    qid: str  # the line's own qid when it has one, else "line-N"
    reason: str


def iter_questions(path: Path) -> Iterator[Question | BadLine]:
    """Each non-empty line as a `Question`, or a `BadLine` saying why it is not one.

    Raises `QuestionsFileError` when the file itself cannot be read. A missing `qid` becomes the line
    number; a `file`, `heading`, `anchor` or `lang` that is not a non-empty string counts as null.
    """
    if path.is_dir():
        raise QuestionsFileError(f"{path} is a folder; give a JSONL file of questions")
    if not path.is_file():
        raise QuestionsFileError(f"questions file not found: {path}")
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _parse(number, line)
    except OSError as exc:
        raise QuestionsFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise QuestionsFileError(f"{path}: not UTF-8 text") from None


def read_questions(path: Path) -> list[Question]:
    """Every question of the file; raises `QuestionsFileError` naming `file:line` at the first bad line."""
    questions: list[Question] = []
    for item in iter_questions(path):
        if isinstance(item, BadLine):
            raise QuestionsFileError(f"{path}:{item.line}: {item.reason}")
        questions.append(item)
    if not questions:
        raise QuestionsFileError(f"{path}: no questions")
    return questions


def _parse(number: int, line: str) -> Question | BadLine:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadLine(number, f"line-{number}", f"not valid JSON ({exc.msg})")
    if not isinstance(row, dict):
        return BadLine(number, f"line-{number}", 'expected an object with a non-empty "question" string')
    raw_qid = row.get("qid")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        qid = str(raw_qid) if raw_qid is not None else f"line-{number}"
        return BadLine(number, qid, 'expected an object with a non-empty "question" string')
    qid = str(raw_qid) if raw_qid is not None else str(number)
    return Question(
        qid=qid,
        question=question,
        file=_label(row.get("file")),
        heading=_label(row.get("heading")),
        anchor=_label(row.get("anchor")),
        lang=_label(row.get("lang")),
    )


def _label(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
