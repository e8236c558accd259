"""`ask` and `chat`: the answer pipeline in a terminal."""

from __future__ import annotations

import getpass
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import (
    app,
    console,
    err_console,
    fail,
    get_settings,
    print_json,
    run_async,
)
from bot.config import Settings

if TYPE_CHECKING:
    from bot.domain import Answer, Turn
    from bot.rag.pipeline import Pipeline
    from bot.services import Services
    from bot.store.base import ConversationLog

CHANNEL = "console"


# -- shared helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    file: str | None = None
    heading: str | None = None


def read_questions(path: Path) -> list[Question]:
    """Read JSONL lines of `{"qid", "question"[, "file", "heading"]}`; fail naming the line of bad input."""
    if not path.is_file():
        fail(f"questions file not found: {path}")
    questions: list[Question] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                fail(f"{path}:{number}: not valid JSON ({exc.msg})")
            if not isinstance(row, dict) or not isinstance(row.get("question"), str):
                fail(f'{path}:{number}: expected an object with a "question" string')
            qid = row.get("qid", number)
            file, heading = row.get("file"), row.get("heading")
            questions.append(
                Question(
                    qid=str(qid),
                    question=row["question"],
                    file=file if isinstance(file, str) else None,
                    heading=heading if isinstance(heading, str) else None,
                )
            )
    if not questions:
        fail(f"{path}: no questions")
    return questions


def answer_json(answer: Answer, conversation_id: int | None) -> dict[str, Any]:
    """The exact shape other tools parse (see the README)."""
    return {
        "answer": answer.text,
        "grounded": answer.grounded,
        "sources": [{"source": s.source, "heading": s.heading} for s in answer.sources],
        "timings": {
            "retrieval_ms": round(answer.timings.retrieval_ms, 1),
            "ttft_ms": None if answer.timings.ttft_ms is None else round(answer.timings.ttft_ms, 1),
            "total_ms": round(answer.timings.total_ms, 1),
        },
        "conversation_id": conversation_id,
    }


def print_answer(answer: Answer, conversation_id: int | None) -> None:
    console.print(answer.text, markup=False, highlight=False)
    for n, source in enumerate(answer.sources, start=1):
        heading = f" › {source.heading}" if source.heading else ""
        url = f" <{source.url}>" if source.url else ""
        console.print(f"  [{n}] {source.source}{heading}{url}", markup=False, highlight=False)
    first = "-" if answer.timings.ttft_ms is None else f"{answer.timings.ttft_ms:.0f} ms"
    conv = f", conversation {conversation_id}" if conversation_id is not None else ""
    console.print(
        f"[dim]{answer.outcome}; retrieval {answer.timings.retrieval_ms:.0f} ms, first token {first}, "
        f"total {answer.timings.total_ms:.0f} ms{conv}[/]",
        highlight=False,
    )


def console_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "console"


async def open_log(services: Services) -> ConversationLog | None:
    """The conversation log when it can be used; otherwise one warning and answers go unlogged."""
    try:
        return await services.conversation_log()
    except Exception as exc:
        err_console.print(
            f"[yellow]warning:[/] conversations are not logged: {type(exc).__name__}: {exc}", highlight=False
        )
        return None


class Conversation:
    """One console conversation: history from the log, and every turn written to it when available."""

    def __init__(self, store: ConversationLog | None, settings: Settings, user: str) -> None:
        self._store = store
        self._settings = settings
        self._user = user
        self.id: int | None = None
        self._local: list[Turn] = []

    async def start(self, conversation_id: int | None = None) -> None:
        self._local = []
        self.id = None
        if self._store is None:
            if conversation_id is not None:
                fail("--conversation needs the conversation log, which is not available")
            return
        if conversation_id is not None:
            ref = await self._store.get_conversation(conversation_id)
            if ref is None:
                fail(f"conversation {conversation_id} not found")
            self.id = ref.id
            return
        ref = await self._store.open_conversation(
            channel="console",
            external_user_id=self._user,
            external_chat_id=f"{CHANNEL}:{self._user}",
            new=True,
        )
        self.id = ref.id

    async def history(self) -> list[Turn]:
        limit = self._settings.rag.history_turns
        if self._store is not None and self.id is not None:
            return await self._store.history(self.id, limit) if limit else []
        return self._local[-limit:] if limit else []

    @property
    def user_key(self) -> str:
        return f"{CHANNEL}:{self.id if self.id is not None else self._user}"

    async def log_question(self, text: str) -> int | None:
        if self._store is None or self.id is None:
            return None
        return await self._store.log_user_message(self.id, text)

    async def log_answer(self, question: str, reply_to: int | None, answer: Answer) -> None:
        from bot.domain import Turn

        self._local += [Turn("user", question), Turn("assistant", answer.text)]
        if self._store is not None and self.id is not None and reply_to is not None:
            await self._store.log_answer(self.id, reply_to, answer)


async def ask_one(
    pipeline: Pipeline, conversation: Conversation, question: str
) -> AsyncIterator[Any]:  # yields Delta | Answer
    history = await conversation.history()
    message_id = await conversation.log_question(question)
    final = None
    async for event in pipeline.stream(question, history, user_key=conversation.user_key):
        from bot.domain import Answer

        if isinstance(event, Answer):
            final = event
        yield event
    if final is not None:
        await conversation.log_answer(question, message_id, final)


# -- ask ------------------------------------------------------------------------------------------------


@app.command()
def ask(
    question: str | None = typer.Argument(None, help="The question; omit it when using --questions."),
    conversation_id: int | None = typer.Option(
        None, "--conversation", help="Continue this logged conversation."
    ),
    questions: Annotated[
        Path | None,
        typer.Option(
            "--questions", help="JSONL file of {qid, question}: each answered in its own new conversation."
        ),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per line with --questions)."),
) -> None:
    """Answer a question from the knowledge base with the local model, and show its sources."""
    if (question is None) == (questions is None):
        fail("give either a QUESTION or --questions FILE")
    if questions is not None and conversation_id is not None:
        fail("--conversation cannot be combined with --questions (each line gets its own conversation)")
    batch = read_questions(questions) if questions is not None else None
    settings = get_settings()

    async def _run() -> None:
        from bot.domain import Answer
        from bot.services import Services

        async with Services(settings) as services:
            pipeline = services.pipeline()
            store = await open_log(services)
            items = batch if batch is not None else [Question(qid="", question=question or "")]
            for item in items:
                conversation = Conversation(store, settings, console_user())
                await conversation.start(conversation_id)
                final: Answer | None = None
                async for event in ask_one(pipeline, conversation, item.question):
                    if isinstance(event, Answer):
                        final = event
                if final is None:  # the pipeline always ends with an Answer
                    fail("no answer was produced")
                if as_json:
                    payload = answer_json(final, conversation.id)
                    if batch is not None:
                        payload = {"qid": item.qid, **payload}
                    print_json(payload)
                else:
                    if batch is not None:
                        console.print(f"[bold]{item.qid}[/] {item.question}", highlight=False)
                    print_answer(final, conversation.id)

    run_async(_run)


# -- chat -----------------------------------------------------------------------------------------------


@app.command()
def chat() -> None:
    """Chat in the terminal with the same pipeline as Telegram: streamed answers with sources.

    Type /new to start a new conversation, /quit (or Ctrl-D) to leave. Conversations are logged with
    channel `console`.
    """
    settings = get_settings()

    async def _run() -> None:
        import asyncio

        from rich.live import Live
        from rich.text import Text

        from bot.domain import Delta
        from bot.services import Services

        async with Services(settings) as services:
            pipeline = services.pipeline()
            store = await open_log(services)
            conversation = Conversation(store, settings, console_user())
            await conversation.start()
            console.print("[bold]Support chat[/] - ask a question; /new starts over, /quit leaves.")
            while True:
                try:
                    line = await asyncio.to_thread(console.input, "[bold cyan]you>[/] ")
                except (EOFError, KeyboardInterrupt):
                    console.print()
                    return
                text = line.strip()
                if not text:
                    continue
                if text in ("/quit", "/exit"):
                    return
                if text == "/new":
                    await conversation.start()
                    console.print("[dim]new conversation[/]")
                    continue
                streamed = ""
                final: Answer | None = None
                with Live(Text("…"), console=console, refresh_per_second=12, transient=True) as live:
                    async for event in ask_one(pipeline, conversation, text):
                        if isinstance(event, Delta):
                            streamed += event.text
                            live.update(Text(streamed))
                        else:
                            final = event
                if final is not None:
                    console.print("[bold green]bot>[/] ", end="")
                    print_answer(final, conversation.id)

    run_async(_run)
