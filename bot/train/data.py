"""Reading and validating the export's OpenAI chat JSONL (no heavy imports: works without the train extra)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from bot.domain import ChatMessage

ROLES = ("system", "user", "assistant")
MAX_REPORTED_ERRORS = 20


class DataError(ValueError):
    """The training or evaluation file is unusable; the message names the file and the bad lines."""


@dataclass(frozen=True, slots=True)
class ChatSample:
    """One conversation from the file; `line` is its 1-based line number, for messages that point at it."""

    line: int
    messages: tuple[ChatMessage, ...]

    @property
    def reference(self) -> str:
        """The last assistant message: the answer that evaluation scores."""
        for message in reversed(self.messages):
            if message.role == "assistant":
                return message.content
        raise DataError(f"line {self.line}: no assistant message")

    @property
    def prompt(self) -> tuple[ChatMessage, ...]:
        """Every message before the last assistant message: what the model sees when it answers."""
        last = max(i for i, m in enumerate(self.messages) if m.role == "assistant")
        return self.messages[:last]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _parse_line(raw: str, lineno: int) -> ChatSample:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict) or "messages" not in record:
        raise DataError(f'line {lineno}: expected an object with a "messages" list (OpenAI chat format)')
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        raise DataError(f'line {lineno}: "messages" must be a non-empty list')
    parsed: list[ChatMessage] = []
    for index, message in enumerate(messages):
        where = f"line {lineno}, message {index + 1}"
        if not isinstance(message, dict):
            raise DataError(f"{where}: expected an object with role and content")
        role = message.get("role")
        content = message.get("content")
        if role is None:
            raise DataError(f'{where}: missing "role"')
        if role not in ROLES:
            raise DataError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise DataError(f'{where}: "content" must be a string')
        parsed.append(ChatMessage(role=role, content=content))
    roles = [m.role for m in parsed]
    if "assistant" not in roles:
        raise DataError(f"line {lineno}: no assistant message to learn from")
    if "user" not in roles:
        raise DataError(f"line {lineno}: no user message")
    if "system" in roles[1:]:
        raise DataError(f"line {lineno}: a system message may only come first")
    if not any(m.content.strip() for m in parsed if m.role == "assistant"):
        raise DataError(f"line {lineno}: the assistant answer is empty")
    return ChatSample(line=lineno, messages=tuple(parsed))


# The export's other formats, told by the first record's keys: one line naming the format, not one error per
# line for a file that is well formed in another shape.
_OTHER_FORMATS = (("ShareGPT", ("conversations",)), ("Alpaca", ("instruction", "output")))


def _refuse_other_export_format(path: Path, text: str) -> None:
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return
    if not isinstance(record, dict) or "messages" in record:
        return
    for name, keys in _OTHER_FORMATS:
        if all(key in record for key in keys):
            raise DataError(
                f'{path}: this is {name}, not the OpenAI chat format (one {{"messages": [...]}} per line) '
                "that fine-tuning reads; export with --format openai"
            )


def load_chat_jsonl(path: Path) -> list[ChatSample]:
    """Read every sample, collecting all bad lines into one `DataError` so a user fixes them in one go."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    samples: list[ChatSample] = []
    errors: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    _refuse_other_export_format(path, text)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            samples.append(_parse_line(raw, lineno))
        except DataError as exc:
            errors.append(str(exc))
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = len(errors) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        raise DataError(f"{path}: {len(errors)} bad line(s):\n  " + "\n  ".join(shown) + tail)
    if not samples:
        raise DataError(f"{path}: no samples (the file is empty)")
    return samples


def write_chat_jsonl(path: Path, samples: list[list[ChatMessage]]) -> None:
    """Write samples atomically (temp file, then rename), one JSON object per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for messages in samples:
            record = {"messages": [{"role": m.role, "content": m.content} for m in messages]}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)
