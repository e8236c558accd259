"""The console channel: the conversation service in a terminal (`ask`, `chat`, `quickstart`)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import AsyncIterator
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from bot import texts
from bot.conversation import ConversationService, Customer, Reply, Waiting
from bot.domain import Answer, Delta
from bot.language import UNDETERMINED, normalize


def console_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "console"


def answer_json(answer: Answer, conversation_id: int | None) -> dict[str, Any]:
    """The exact shape other tools parse (see the README)."""
    return {
        "answer": answer.text,
        "outcome": answer.outcome,
        "grounded": answer.grounded,
        "sources": [{"source": s.source, "heading": s.heading} for s in answer.sources],
        "see_also": [{"source": s.source, "heading": s.heading} for s in answer.see_also],
        "timings": {
            "retrieval_ms": round(answer.timings.retrieval_ms, 1),
            "ttft_ms": None if answer.timings.ttft_ms is None else round(answer.timings.ttft_ms, 1),
            "total_ms": round(answer.timings.total_ms, 1),
        },
        "conversation_id": conversation_id,
    }


def reply_json(reply: Reply) -> dict[str, Any]:
    """`answer_json` for any Reply; a fixed notice has no sources and no timings."""
    if reply.answer is not None:
        return answer_json(reply.answer, reply.conversation_id)
    return {
        "answer": reply.text,
        "outcome": None,
        "grounded": False,
        "sources": [],
        "see_also": [],
        "timings": {"retrieval_ms": 0.0, "ttft_ms": None, "total_ms": 0.0},
        "conversation_id": reply.conversation_id,
    }


def print_reply(out: Console, reply: Reply) -> None:
    """The answer with numbered sources and a dim line of outcome and timings; a notice as it is."""
    answer = reply.answer
    if answer is None:
        if reply.kind == "forwarded":
            out.print(
                "[dim]A person from the support team has this conversation; your message was passed on.[/]"
            )
        else:
            out.print(reply.text, markup=False, highlight=False)
        return
    out.print(answer.text, markup=False, highlight=False)
    # Listed by the numbers the text cites them with: the second of three passages is "[2]" here too.
    for label, source in zip(answer.source_labels, answer.sources, strict=True):
        url = f" <{source.url}>" if source.url else ""
        out.print(f"  {label} {source.display_name}{url}", markup=False, highlight=False)
    # An outline's parts are its text already; Telegram and the web offer them as buttons.
    see_also = _see_also_label(reply.language)
    for source in () if answer.outcome == "outlined" else answer.see_also:
        url = f" <{source.url}>" if source.url else ""
        out.print(f"  {see_also}{source.display_name}{url}", markup=False, highlight=False)
    first = "-" if answer.timings.ttft_ms is None else f"{answer.timings.ttft_ms:.0f} ms"
    conv = f", conversation {reply.conversation_id}" if reply.conversation_id is not None else ""
    out.print(
        f"[dim]{answer.outcome}; retrieval {answer.timings.retrieval_ms:.0f} ms, first token {first}, "
        f"total {answer.timings.total_ms:.0f} ms{conv}[/]",
        highlight=False,
    )


def _see_also_label(language: str) -> str:
    """The label of a "see also" line in the customer's language where a catalog translates it: under a
    Chinese answer "另请参阅：", else "see also: "."""
    translated = texts.translate(texts.SEE_ALSO, language)
    if translated == texts.SEE_ALSO:
        return "see also: "
    return translated + ("：" if normalize(language) in ("zh", "ja") else ": ")


class ConsoleChannel:
    """One person at a terminal: each session is its own logged conversation (channel `console`)."""

    def __init__(self, conversations: ConversationService, user: str | None = None) -> None:
        self.conversations = conversations
        name = user or console_user()
        self.customer = Customer("console", name, f"console:{name}", name=name, about=f"{name} (console)")
        self.conversation_id: int | None = None
        self.language = UNDETERMINED  # the language of the last reply: `/new` answers in it

    async def start(self, conversation_id: int | None = None) -> int:
        """Continue a logged conversation, or start a new one; raises LookupError for an unknown id."""
        if conversation_id is not None:
            found = await self.conversations.get(conversation_id)
            if found is None:
                raise LookupError(f"conversation {conversation_id} not found")
            self.conversation_id = found.id
        else:
            self.conversation_id = (await self.conversations.conversation(self.customer, new=True)).id
        return self.conversation_id

    def ask(self, text: str) -> AsyncIterator[Delta | Waiting | Reply]:
        """The service's stream for this conversation: `Delta`s (after any `Waiting`), then one `Reply`."""
        return self.conversations.ask(self.customer, text, conversation_id=self.conversation_id)

    async def ask_once(self, text: str) -> Reply:
        reply: Reply | None = None
        async for item in self.ask(text):
            if isinstance(item, Reply):
                reply = item
        if reply is None:
            raise RuntimeError("the conversation service ended without a Reply")
        return reply

    async def chat(self, out: Console) -> None:
        """The interactive loop: streamed answers, `/new` starts over, `/quit` or Ctrl-D leaves."""
        await self.start()
        out.print("[bold]Support chat[/] - ask a question; /new starts over, /quit leaves.")
        # Questions piped in are not echoed by a terminal: without this the transcript read "you> bot> …".
        echo = not sys.stdin.isatty()
        while True:
            try:
                line = await asyncio.to_thread(out.input, "[bold cyan]you>[/] ")
            except (EOFError, KeyboardInterrupt):
                out.print()
                return
            if echo:
                out.print(line.rstrip("\n"), markup=False, highlight=False)
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                return
            if text == "/new":
                await self.start()
                out.print(texts.translate(texts.NEW_CONVERSATION, self.language), markup=False)
                continue
            streamed = ""
            reply: Reply | None = None
            with Live(Text("…"), console=out, refresh_per_second=12, transient=True) as live:
                async for event in self.ask(text):
                    if isinstance(event, Delta):
                        streamed += event.text
                        live.update(Text(streamed))
                    elif isinstance(event, Waiting):
                        live.update(Text(event.text))
                    else:
                        reply = event
            if reply is not None:
                self.language = reply.language
                out.print("[bold green]bot>[/] ", end="")
                print_reply(out, reply)
