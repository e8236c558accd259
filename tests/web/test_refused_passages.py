"""A refused question's closest passages in the admin console: its content gap and its transcript."""

from __future__ import annotations

from bot.rag.pipeline import REFUSAL_TEXT
from tests.web.conftest import Web, WebFactory, events

# Refunds are in the fake help center; Revolut is not, so the question is refused however close its search.
REFUSED = "How long do refunds to my Revolut card take?"


async def ask(web: Web, text: str) -> dict[str, object]:
    session = await web.session()
    return events((await web.post("/api/ask", {"text": text}, session["csrf"])).text)[-1][1]


async def test_a_refused_question_shows_the_article_that_came_closest(make_web: WebFactory) -> None:
    web = await make_web()
    reply = await ask(web, REFUSED)
    # The customer sees the refusal as before: no sources, nothing listed under it.
    assert reply["outcome"] == "refused"
    assert str(reply["text"]).startswith(REFUSAL_TEXT.split(",")[0])
    assert reply["sources"] == []
    assert reply["see_also"] == []
    await web.admin_login()
    gaps = (await web.client.get("/admin/gaps")).text
    assert REFUSED in gaps
    assert "Article retrieved: billing/refunds.md › Refunds (1)" in gaps
    assert "nothing retrieved" not in gaps
    page = (await web.client.get("/admin/conversations/1")).text
    assert "outcome refused" in page
    assert "Retrieved passages" in page
    assert "Refunds are paid back to the original card" in page
    assert "fake-model" not in page, "the model was not asked"
