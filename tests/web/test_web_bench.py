"""`bench load --channel web` on a synthetic answer stream: every visitor answered over HTTP, no error."""

from __future__ import annotations

from bot.config import Settings
from bot.devtools.load_bench import NoKnowledgeBase, SyntheticPipeline
from bot.devtools.web_bench import run_web_bench


async def test_web_bench_answers_every_visitor_without_errors(settings: Settings) -> None:
    result = await run_web_bench(
        settings,
        SyntheticPipeline(tokens=12, token_ms=1.0, first_token_ms=5.0),
        NoKnowledgeBase(),
        users=4,
        messages=3,
        timeout_s=60,
    )
    assert result.errors == {}
    assert result.answered == 12
    assert result.api_calls == {"GET /api/session": 4, "POST /api/ask": 12}
    assert all(first <= final for first, final in zip(result.first_ms, result.final_ms, strict=True))
    assert result.outcomes == {"answered": 12}
