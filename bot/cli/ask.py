"""`ask` and `chat`: the console channel from the command line."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import app, console, fail, get_settings, id_parser, load_questions, print_json, run_async
from bot.evaluation.questions import Question

if TYPE_CHECKING:
    from bot.channels.console import ConsoleChannel
    from bot.conversation import ConversationService, Reply, Waiting
    from bot.domain import Delta, Outcome
    from bot.services import Services

# ConsoleChannel.start's line for an unknown conversation: a number no row can have says the same.
NO_CONVERSATION = "conversation {id} not found"
# Outcomes of a question the bot could not answer for a technical reason (the knowledge base or the model
# down, every answer slot taken): `ask` exits `NOT_ANSWERED_EXIT` after printing them, so a script can tell
# them from an answer or a refusal (exit 0), and from a usage error (exit 2).
NOT_ANSWERED: frozenset[Outcome] = frozenset({"kb_unavailable", "model_error", "busy"})
NOT_ANSWERED_EXIT = 3
# The commands `chat` knows (ConsoleChannel.chat handles them); any other "/word" is a mistyped command.
CHAT_COMMANDS = "/new starts a new conversation; /quit or /exit (or Ctrl-D) leaves"
KNOWN_COMMANDS = ("/new", "/quit", "/exit")
# A first word of "/" and a name, as in "/bogus" or "/help me": a command, not a question. "/etc/hosts is
# missing" is not one (its first word holds another "/").
_SLASH_COMMAND = re.compile(r"/[^\W\d]\w*")


@app.command()
def ask(
    question: str | None = typer.Argument(None, help="The question; omit it when using --questions."),
    conversation_id: int | None = typer.Option(
        None, "--conversation", help="Continue this logged conversation.", parser=id_parser(NO_CONVERSATION)
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

    Every question and answer is logged (channel `console`), as in Telegram. Exits 3 when a question could
    not be answered for a technical reason (knowledge base or model unavailable, busy: outcome
    kb_unavailable, model_error or busy), after printing that reply; a refusal is an answer (exit 0).
    """
    if (question is None) == (questions is None):
        fail("give either a QUESTION or --questions FILE")
    if question is not None and not question.strip():
        # Refused here, before a conversation is opened: the service would answer "type your question"
        # and exit 0, leaving an empty conversation in the log.
        fail("the question is empty; give the QUESTION to answer")
    if questions is not None and conversation_id is not None:
        fail("--conversation cannot be combined with --questions (each line gets its own conversation)")
    batch = load_questions(questions) if questions is not None else None
    settings = get_settings()

    async def _run() -> int:
        from bot.channels.console import ConsoleChannel, print_reply, reply_json
        from bot.services import Services

        not_answered = 0
        async with Services(settings) as services:
            await require_built_kb(services)
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
                if reply.answer is not None and reply.answer.outcome in NOT_ANSWERED:
                    not_answered += 1
                # The logged answer's id: `answers approve --answer-id` corrects and approves it by this.
                if as_json:
                    payload = {**reply_json(reply), "answer_id": reply.answer_id}
                    print_json({"qid": item.qid, **payload} if batch is not None else payload)
                else:
                    if batch is not None:
                        console.print(f"[bold]{item.qid}[/] {item.question}", highlight=False)
                    print_reply(console, reply)
                    if reply.answer_id is not None:
                        console.print(f"[dim]answer {reply.answer_id}[/]", highlight=False)
        return not_answered

    if run_async(_run):
        raise typer.Exit(NOT_ANSWERED_EXIT)


@app.command()
def chat() -> None:
    """Chat in the terminal with the same conversation service as Telegram: streamed answers with sources.

    Type /new to start a new conversation, /quit (or Ctrl-D) to leave. Conversations are logged with
    channel `console`.
    """
    settings = get_settings()

    async def _run() -> None:
        from bot.services import Services

        async with Services(settings) as services:
            await require_built_kb(services)
            await chat_channel(await services.conversations()).chat(console)

    run_async(_run)


async def require_built_kb(services: Services) -> None:
    """Stop before anything is asked or logged when no knowledge base was ever built: the admin is told to
    run `kb reload`, not, as a customer is, to try again in a few minutes. A knowledge base that is down is
    answered as in production (the reply says so, and `ask` exits `NOT_ANSWERED_EXIT`)."""
    from bot.kb.base import KBNotBuiltError, KBUnavailableError

    try:
        await services.kb().stats()
    except KBNotBuiltError as exc:
        fail(str(exc))
    except KBUnavailableError:
        return


def unknown_command(text: str) -> str | None:
    """The slash command `text` starts with, when `chat` did not take it as a command (it handles /new,
    /quit and /exit alone on the line before asking); None for a question."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return first if _SLASH_COMMAND.fullmatch(first) else None


def chat_channel(conversations: ConversationService) -> ConsoleChannel:
    """The console channel for `chat`: an unknown slash command gets the list of commands, instead of going
    to the model as a question (and into the log) like "/bogus"."""
    from bot.channels.console import ConsoleChannel
    from bot.conversation import Reply

    class ChatChannel(ConsoleChannel):
        def ask(self, text: str) -> AsyncIterator[Delta | Waiting | Reply]:
            command = unknown_command(text)
            if command is None:
                return super().ask(text)
            return self._commands(command)

        async def _commands(self, command: str) -> AsyncIterator[Delta | Waiting | Reply]:
            # `chat` takes its commands alone on the line: "/new please" reaches here too.
            wrong = (
                f"{command} takes nothing after it" if command in KNOWN_COMMANDS else f"{command} is unknown"
            )
            notice = f"{wrong}. Chat commands: {CHAT_COMMANDS}; anything else is a question."
            yield Reply(kind="notice", text=notice, conversation_id=self.conversation_id)

    return ChatChannel(conversations)
