"""The training-export formats: one registry entry per format, read by the writer, validation and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.domain import ChatMessage

# (the prompt as the bot saw it, redacted; the answer to learn; whether the prompt carries the passages)
# → one JSON record.
SampleWriter = Callable[[Sequence[ChatMessage], str, bool], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str  # what `--format` takes
    suffix: str  # the file name ending `--out` must have
    description: str  # one line for `--format`'s help
    shape: str  # the documented record shape (README and tests validate against it)
    write_sample: SampleWriter


def _openai(prompt: Sequence[ChatMessage], output: str, include_context: bool) -> dict[str, Any]:
    return {
        "messages": [{"role": m.role, "content": m.content} for m in prompt]
        + [{"role": "assistant", "content": output}]
    }


def _sharegpt(prompt: Sequence[ChatMessage], output: str, include_context: bool) -> dict[str, Any]:
    turns = _alternate(
        [("human" if m.role == "user" else "gpt", m.content) for m in prompt if m.role != "system"]
        + [("gpt", output)]
    )
    record: dict[str, Any] = {"conversations": [{"from": who, "value": text} for who, text in turns]}
    if include_context:
        record["system"] = "\n\n".join(m.content for m in prompt if m.role == "system")
    return record


def _alpaca(prompt: Sequence[ChatMessage], output: str, include_context: bool) -> dict[str, Any]:
    rest = [m for m in prompt if m.role != "system"]
    if include_context:
        instruction = "\n\n".join(m.content for m in prompt if m.role == "system")
        input_text = rest[0].content if len(rest) == 1 else _render(rest)
    else:
        instruction = rest[-1].content
        input_text = _render(rest[:-1])
    return {"instruction": instruction, "input": input_text, "output": output}


def _alternate(turns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """ShareGPT trainers expect human/gpt to alternate, human first: merge runs, drop a leading gpt turn."""
    merged: list[tuple[str, str]] = []
    for who, text in turns:
        if merged and merged[-1][0] == who:
            merged[-1] = (who, merged[-1][1] + "\n\n" + text)
        else:
            merged.append((who, text))
    while merged and merged[0][0] != "human":
        merged.pop(0)
    return merged


def _render(messages: Sequence[ChatMessage]) -> str:
    labels = {"user": "User", "assistant": "Assistant", "system": "System"}
    return "\n\n".join(f"{labels[m.role]}: {m.content}" for m in messages)


# Adding a format is one entry here: the CLI's help, option validation and the writer all read it.
FORMATS: Mapping[str, ExportFormat] = MappingProxyType(
    {
        f.name: f
        for f in (
            ExportFormat(
                "openai",
                ".jsonl",
                "{messages:[{role,content}]}",
                '{"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}  '
                "(the last message is the assistant's)",
                _openai,
            ),
            ExportFormat(
                "sharegpt",
                ".jsonl",
                "{conversations:[{from:human|gpt,value}]}",
                '{"conversations": [{"from": "human"|"gpt", "value": str}, ...], "system": str}  '
                "(human/gpt alternate, human first, gpt last; `system` only with --include-context)",
                _sharegpt,
            ),
            ExportFormat(
                "alpaca",
                ".jsonl",
                "{instruction,input,output}",
                '{"instruction": str, "input": str, "output": str}',
                _alpaca,
            ),
        )
    }
)


def format_help() -> str:
    """`--format`'s help: every format with its record shape in brief."""
    return "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values()) + "."


def get_format(name: str) -> ExportFormat:
    """The registered format called `name`; ValueError naming the choices otherwise."""
    found = FORMATS.get(name)
    if found is None:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return found


__all__ = ["FORMATS", "ExportFormat", "SampleWriter", "format_help", "get_format"]
