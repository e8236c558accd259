"""Builds the model's chat prompt from the versioned templates in `bot/prompts/`; also used by the export."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from string import Template

from bot.domain import ChatMessage, Turn
from bot.domain import Passage as Passage  # re-exported: the prompt builder takes these

PROMPT_NAME = "answer"
_VERSION_FILE = re.compile(rf"^{PROMPT_NAME}-v(\d+)\.system\.txt$")


def _latest_version() -> str:
    versions = []
    for entry in resources.files("bot.prompts").iterdir():
        match = _VERSION_FILE.match(entry.name)
        if match:
            versions.append(int(match.group(1)))
    if not versions:
        raise RuntimeError(f"no {PROMPT_NAME}-v<N>.system.txt template in bot/prompts")
    return f"{PROMPT_NAME}-v{max(versions)}"


PROMPT_VERSION: str = _latest_version()


@dataclass(frozen=True)
class PromptTemplates:
    version: str
    system: str
    passages: Template
    passage: Template
    question: Template
    prefill: str  # the start of every answer, written for the model to continue ("" = none)
    # After the current question when it is not in English (`${language}`: "Chinese"); None = no such part.
    language: Template | None = None


@cache
def load_templates(version: str = PROMPT_VERSION) -> PromptTemplates:
    """Read one versioned template set (`<version>.<part>.txt`)."""
    root = resources.files("bot.prompts")

    def part(name: str) -> str:
        return root.joinpath(f"{version}.{name}.txt").read_text(encoding="utf-8")

    prefill_file = root.joinpath(f"{version}.prefill.txt")
    language_file = root.joinpath(f"{version}.language.txt")

    return PromptTemplates(
        version=version,
        system=part("system").strip(),
        passages=Template(part("passages").strip()),
        passage=Template(part("passage").strip()),
        question=Template(part("question").strip()),
        prefill=prefill_file.read_text(encoding="utf-8").strip() if prefill_file.is_file() else "",
        language=(
            Template(language_file.read_text(encoding="utf-8").strip()) if language_file.is_file() else None
        ),
    )


# Text that a chat template or the passage block would read as structure. Untrusted text (passages and
# user messages) is tokenized with special tokens enabled, so `<|im_start|>system` inside a document
# would otherwise become a real role switch.
_STRUCTURE = re.compile(r"<\|[^|>]{0,40}\|>|</?s>|\[/?INST\]|<</?SYS>>|</?passages>", re.IGNORECASE)


def cut_at_structure(text: str) -> str:
    """The model's text up to the first prompt delimiter or chat-template token it reproduces.

    A small model that writes `</passages>` has stopped answering and started echoing its prompt;
    nothing after that point is meant for the user.
    """
    match = _STRUCTURE.search(text)
    return text if match is None else text[: match.start()]


def neutralize(text: str) -> str:
    """Defuse chat-template special tokens and our own delimiters inside untrusted text."""
    return _STRUCTURE.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›").replace("[", "("), text)


def passage_title(passage: Passage) -> str:
    name = passage.source.rsplit("/", 1)[-1]
    return f"{passage.heading} ({name})" if passage.heading else name


def render_passages(passages: Sequence[Passage], templates: PromptTemplates | None = None) -> str:
    tpl = templates or load_templates()
    blocks = [
        tpl.passage.substitute(n=i, title=neutralize(passage_title(p)), text=neutralize(p.text.strip()))
        for i, p in enumerate(passages, start=1)
    ]
    return tpl.passages.substitute(passages="\n\n".join(blocks))


def system_message(passages: Sequence[Passage], templates: PromptTemplates | None = None) -> ChatMessage:
    """Fixed rules first (a stable KV-cache prefix), then the passages."""
    tpl = templates or load_templates()
    return ChatMessage("system", tpl.system + "\n\n" + render_passages(passages, tpl))


def user_message(text: str, templates: PromptTemplates | None = None) -> ChatMessage:
    tpl = templates or load_templates()
    return ChatMessage("user", tpl.question.substitute(question=neutralize(text.strip())))


def build_messages(
    question: str, passages: Sequence[Passage], history: Sequence[Turn] = (), *, language: str = ""
) -> list[ChatMessage]:
    """The whole prompt in a fixed order: system rules → passages → history → question.

    History user turns go through the same template as the question, so a follow-up's prompt starts with
    exactly the previous prompt and answer, and the engine reuses their KV cache. `language` (a name such
    as "Chinese"; "" for English) adds the template's rule to answer in it after the current question only.
    """
    tpl = load_templates()
    messages = [system_message(passages, tpl)]
    for turn in history:
        if turn.role == "user":
            messages.append(user_message(turn.text, tpl))
        else:  # the bot's answer, or an operator's reply: both speak for the support side
            messages.append(ChatMessage("assistant", neutralize(turn.text.strip())))
    current = user_message(question, tpl)
    if language and tpl.language is not None:
        current = ChatMessage("user", current.content + "\n\n" + tpl.language.substitute(language=language))
    messages.append(current)
    return messages


_LIST_MARK = re.compile(r"^(?:\d+[.)]|[-*\u2022])\s+")
_FIRST_WORD = re.compile(r"[A-Za-z]+")
_CITATION_MARK = re.compile(r"\[(\d+)\]")


def _opening(answer: str, passage: str, number: int, prefill: str) -> str:
    body = _LIST_MARK.sub("", answer, count=1)
    first = _FIRST_WORD.match(body)
    if first and first.group()[1:].islower():
        word = first.group().lower()
        # In lower case as a word of its own elsewhere ("python.exe" does not make "Python" a common word).
        if re.search(rf"(?<!\S){word}(?=[\s,;:!?)]|\.(?:\s|$))", passage):
            body = word + body[len(word) :]
    opening = _CITATION_MARK.sub(f"[{number}]", prefill, count=1)
    return f"{opening} {body}"


def with_prefill(answer: str, passage: str, number: int, prefill: str) -> str:
    """The reference answer as the bot would serve it: its prefill naming passage `number`, then the answer.

    At run time the prompt's prefill ("According to [1],") is written for the model, which continues it; a
    reference that starts the same way teaches that continuation instead of a different opening. A leading
    list mark is dropped, and the first word is lower-cased when the passage also has it in lower case
    (so "Backup codes let you…" reads "According to [2], backup codes let you…", and "Python" stays).
    """
    if not prefill:
        return f"{answer} [{number}]"
    return f"{_opening(answer, passage, number, prefill)} [{number}]"


def prefilled_answer(answer: str, passages: Sequence[Passage]) -> str:
    """A logged answer as a training target after the bot's prompt (the export's `--include-context`): opening
    with the prefill as `with_prefill` shapes a reference, naming the first passage it cites (else [1]).

    The bot's model answers start with the prefill it was given; a quote of a passage and an admin's
    correction do not, and a model trained on both would learn an opening the bot never asks for. An answer
    that already starts with the prefill (naming any passage), or a prompt version without one, is kept as
    it is; an answer that cites its passages keeps its own marks, one that cites none gets `[n]` at the end.
    """
    prefill = load_templates().prefill
    if not prefill or _prefill_pattern(prefill).match(answer):
        return answer
    cited = [n for n in map(int, _CITATION_MARK.findall(answer)) if 1 <= n <= len(passages)]
    number = cited[0] if cited else 1
    passage = passages[number - 1].text if number <= len(passages) else ""
    if _CITATION_MARK.search(answer):
        return _opening(answer, passage, number, prefill)
    return with_prefill(answer, passage, number, prefill)


@cache
def _prefill_pattern(prefill: str) -> re.Pattern[str]:
    """The prefill with any passage number in its mark ("According to [2]," opens as the prefill does)."""
    return re.compile(
        r"\s*" + r"\[\d+\]".join(re.escape(part) for part in _CITATION_MARK.split(prefill)[::2])
    )


class QuestionTooLongError(Exception):
    """Even with no history and no passages the question does not fit the context with an answer."""

    def __init__(self, question_tokens: int, limit: int) -> None:
        super().__init__(f"question takes {question_tokens} tokens; at most {limit} fit")
        self.question_tokens = question_tokens
        self.limit = limit


@dataclass(frozen=True)
class BudgetedPrompt:
    messages: list[ChatMessage]
    passages: tuple[Passage, ...]  # the ones kept, in rank order
    history: tuple[Turn, ...]  # the ones kept, oldest first
    prompt_tokens: int
    dropped_history: int
    dropped_passages: int


def fit_budget(
    question: str,
    passages: Sequence[Passage],
    history: Sequence[Turn],
    *,
    count_chat_tokens: Callable[[Sequence[ChatMessage]], int],
    n_ctx: int,
    max_tokens: int,
    language: str = "",
) -> BudgetedPrompt:
    """Make system + passages + history + question + answer fit `n_ctx`, counting with the model's tokenizer.

    Drops the oldest history turn first (user/assistant pairs stay together by dropping from the front),
    then the lowest-ranked passage, keeping at least one. The question is never cut: if it does not fit
    with one passage, `QuestionTooLongError` tells the caller to say so.
    """
    limit = n_ctx - max_tokens
    kept_history = list(history)
    kept_passages = list(passages)
    while True:
        messages = build_messages(question, kept_passages, kept_history, language=language)
        used = count_chat_tokens(messages)
        if used <= limit:
            return BudgetedPrompt(
                messages=messages,
                passages=tuple(kept_passages),
                history=tuple(kept_history),
                prompt_tokens=used,
                dropped_history=len(history) - len(kept_history),
                dropped_passages=len(passages) - len(kept_passages),
            )
        if kept_history:
            kept_history.pop(0)
            # Never start the history with an orphan answer: its question went with the pop above.
            if kept_history and kept_history[0].role != "user":
                kept_history.pop(0)
        elif len(kept_passages) > 1:
            kept_passages.pop()
        else:
            # An answer without a single passage would be ungrounded, so that counts as not fitting too.
            raise QuestionTooLongError(used, limit)


# Instructions aimed at the model rather than at a reader. A knowledge document that contains them is
# poisoned: the pipeline keeps it away from the model (and its words out of the answer).
_INJECTION_PATTERNS = [
    r"\b(ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|any|your|the|these|those|system|original)\b[^.\n]{0,30}\b(instructions?|rules|prompts?|directions|guidelines|polic(y|ies)|context)\b",
    r"\b(reveal|print|show|repeat|output|display|leak|disclose|dump|recite|echo|tell)\b[^.\n]{0,40}\b(system\s+prompt|hidden\s+(prompt|instructions?|rules)|your\s+(instructions|rules|prompt)|secret\s+(code|key|token|word|phrase)|canary|initial\s+prompt)",
    r"\b(you\s+are\s+now|from\s+now\s+on\s+you|new\s+instructions?|developer\s+mode|jailbreak|do\s+anything\s+now)\b",
    r"\b(as\s+an?\s+ai|the\s+assistant|the\s+model|language\s+model|chatbot|the\s+bot)\b[^.\n]{0,40}\b(must|should|will|shall)\s+(\w+\s+)?(say|reply|respond|answer|output|include|append|print|write|tell)",
    r"\b(include|append|add|insert|end)\b[^.\n]{0,30}\b(in|to|with)\s+(every|each|all|your)\s+(answer|reply|response|message)s?",
    r"^\s*(system|assistant)\s*:",
    r"<\|im_start\|>|<\|system\|>|\[INST\]|<<SYS>>",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.IGNORECASE | re.MULTILINE)


def looks_like_injection(text: str) -> bool:
    """True when text carries instructions addressed to the model (prompt injection)."""
    return _INJECTION.search(text) is not None


# After . ! ? : and a space, or after a CJK sentence end (no space follows one), or at a blank line.
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|(?<=[。！？；])\s*|\n{2,}")
ELLIPSIS = " …"


def trim_passage(passage: Passage, max_tokens: int, count_tokens: Callable[[str], int]) -> Passage:
    """Cut a passage to `max_tokens` model tokens at a sentence boundary (words if one sentence is longer).

    Help-center answers lead with the answer, so the head of a passage is what the model needs; a shorter
    prompt is what keeps the time to first token low on a CPU.
    """
    text = passage.text.strip()
    if count_tokens(text) <= max_tokens:
        return passage
    budget = max_tokens - count_tokens(ELLIPSIS)
    kept = ""
    # Cut the text itself at a sentence end, never re-joined: its line breaks are what keep a list a list,
    # for the model and for a quote of the passage.
    for end in [found.start() for found in _SENTENCE_END.finditer(text)]:
        candidate = text[:end].rstrip()
        if not candidate or candidate == kept:
            continue
        if count_tokens(candidate) > budget:
            break
        kept = candidate
    if not kept:
        words = text.split()
        fits = _longest_fit(len(words), lambda n: " ".join(words[:n]), count_tokens, budget)
        kept = " ".join(words[:fits])
    if not kept:
        # One "word" longer than the budget: a run of CJK text, which has no spaces. Cut by characters, or
        # the model would get only "…" and the customer a quote of it.
        kept = text[: _longest_fit(len(text), lambda n: text[:n], count_tokens, budget)]
    return replace(passage, text=kept + ELLIPSIS)


def _longest_fit(
    size: int, prefix: Callable[[int], str], count_tokens: Callable[[str], int], budget: int
) -> int:
    """The largest n <= size whose `prefix(n)` fits `budget` tokens (binary search; 0 when none does)."""
    low, high = 0, size
    while low < high:
        mid = (low + high + 1) // 2
        if count_tokens(prefix(mid)) <= budget:
            low = mid
        else:
            high = mid - 1
    return low
