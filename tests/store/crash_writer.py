"""Child process of the SIGKILL test: logs turns and reports each answer as sent only after its commit."""

from __future__ import annotations

import asyncio
import sys

from bot.domain import Answer, Hit, Timings
from bot.store.repo import SqlConversationLog
from tests.fakes import make_chunk


async def main(url: str, start: int, end: int) -> None:
    log = SqlConversationLog(url)
    conv = await log.open_conversation(channel="console", external_user_id="crash", external_chat_id="crash")
    print("ready", flush=True)
    for n in range(start, end):
        question_id = await log.log_user_message(conv.id, f"question {n}")
        hits = tuple(
            Hit(make_chunk(f"doc{i}.md", "H", f"passage {n}.{i} " * 20, i), 1.0, i + 1) for i in range(3)
        )
        answer = Answer(f"answer {n}", (), True, Timings(total_ms=float(n)), hits=hits, model="m")
        await log.log_answer(conv.id, question_id, answer)
        # Only now may the channel send the answer; the parent treats this line as "the user saw it".
        print(f"sent {n}", flush=True)
    await log.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
