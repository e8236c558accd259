"""`ask` and `chat`: the console channel from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, console, fail, get_settings, load_questions, print_json, run_async
from bot.evaluation.questions import Question


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
    """Answer a question from the knowledge base with the local model, and show its sources.

    Every question and answer is logged (channel `console`), as in Telegram.
    """
    if (question is None) == (questions is None):
        fail("give either a QUESTION or --questions FILE")
    if questions is not None and conversation_id is not None:
        fail("--conversation cannot be combined with --questions (each line gets its own conversation)")
    batch = load_questions(questions) if questions is not None else None
    settings = get_settings()

    async def _run() -> None:
        from bot.channels.console import ConsoleChannel, print_reply, reply_json
        from bot.services import Services

        async with Services(settings) as services:
            channel = ConsoleChannel(await services.conversations())
            items = batch if batch is not None else [Question(qid="", question=question or "")]
            for item in items:
                try:
                    await channel.start(conversation_id)
                except LookupError as exc:
                    fail(str(exc))
                reply = await channel.ask_once(item.question)
                if reply.kind == "unavailable":
                    fail(f"the conversation log is unavailable, so nothing was answered: {reply.text}")
                if as_json:
                    payload = reply_json(reply)
                    print_json({"qid": item.qid, **payload} if batch is not None else payload)
                else:
                    if batch is not None:
                        console.print(f"[bold]{item.qid}[/] {item.question}", highlight=False)
                    print_reply(console, reply)

    run_async(_run)


@app.command()
def chat() -> None:
    """Chat in the terminal with the same conversation service as Telegram: streamed answers with sources.

    Type /new to start a new conversation, /quit (or Ctrl-D) to leave. Conversations are logged with
    channel `console`.
    """
    settings = get_settings()

    async def _run() -> None:
        from bot.channels.console import ConsoleChannel
        from bot.services import Services

        async with Services(settings) as services:
            await ConsoleChannel(await services.conversations()).chat(console)

    run_async(_run)
