"""The widget names a source by its article's title, live and after a reload; older answers by their path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text as sql

from bot.channels.web.chat import history_json
from bot.domain import Source
from bot.store.insights import RetrievedPassage, TranscriptMessage
from tests.fakes import FakeGenerator
from tests.rag.test_source_titles import CLAIMS, DEADLINES, FILING, QUESTION
from tests.web import conftest as web_conftest
from tests.web.conftest import Web, WebFactory, events

REPLY = "Open the shipment in the app to file a claim for a damaged parcel. [1]"
FILING_HREF = "/help/claims/lost-or-damaged-parcels.md#filing-a-claim"
DEADLINES_HREF = "/help/claims/lost-or-damaged-parcels.md#claim-deadlines"


@pytest.fixture
def titled_help_center(monkeypatch: pytest.MonkeyPatch) -> None:
    # The web fixture searches `HELP_CENTER`: here an article whose sections sit under its title.
    monkeypatch.setattr(web_conftest, "HELP_CENTER", [FILING, DEADLINES])


async def set_logged(web: Web, statement: str, see_also: str) -> None:
    async with web.log.transaction(write=True) as conn:
        if statement:
            await conn.execute(sql(statement))
        await conn.execute(sql("UPDATE messages SET see_also = :v WHERE role = 'assistant'"), {"v": see_also})


async def ask(make_web: WebFactory) -> tuple[Web, dict[str, Any]]:
    web = await make_web(generator=FakeGenerator(REPLY))
    session = await web.session()
    response = await web.post("/api/ask", {"text": QUESTION}, session["csrf"])
    return web, events(response.text)[-1][1]


@pytest.mark.usefixtures("titled_help_center")
async def test_sources_and_see_also_show_the_title_live_and_after_a_reload(make_web: WebFactory) -> None:
    web, live = await ask(make_web)
    assert live["sources"] == [
        {"label": "[1]", "title": "Lost or damaged parcels › Filing a claim", "href": FILING_HREF}
    ]
    # The links are the section's, as before: only what the customer reads changed.
    assert live["see_also"] == [
        {"label": "", "title": "Lost or damaged parcels › Claim deadlines", "href": DEADLINES_HREF}
    ]
    answer = (await web.session())["messages"][-1]
    assert answer["sources"] == live["sources"]
    assert answer["see_also"] == live["see_also"]


@pytest.mark.usefixtures("titled_help_center")
async def test_answers_logged_without_titles_show_the_path_after_a_reload(make_web: WebFactory) -> None:
    web, _ = await ask(make_web)
    # As logged before titles were kept: no retrievals.title, no "title" in the see-also list.
    old_see_also = f'[{{"source": "{CLAIMS}", "heading": "Claim deadlines", "url": ""}}]'
    await set_logged(web, "UPDATE retrievals SET title = NULL", old_see_also)
    answer = (await web.session())["messages"][-1]
    assert answer["sources"] == [{"label": "[1]", "title": f"{CLAIMS} › Filing a claim", "href": FILING_HREF}]
    assert answer["see_also"] == [
        {"label": "", "title": f"{CLAIMS} › Claim deadlines", "href": DEADLINES_HREF}
    ]
    # A title that is not text loses only the title: the section is still listed.
    bad_title = f'[{{"source": "{CLAIMS}", "heading": "Claim deadlines", "url": "", "title": 7}}]'
    await set_logged(web, "", bad_title)
    assert (await web.session())["messages"][-1]["see_also"] == answer["see_also"]


def test_history_titles_a_cited_passage_by_its_logged_title() -> None:
    message = TranscriptMessage(
        id=2,
        role="assistant",
        text=REPLY,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        outcome="answered",
        citations=(1,),
        passages=(RetrievedPassage(1, CLAIMS, "Filing a claim", "", "text", 1.0, "Lost or damaged parcels"),),
        see_also=(Source("shipping/times.md", "Shipping times", title="Shipping times"),),
    )
    item = history_json(message)
    assert [s["title"] for s in item["sources"]] == ["Lost or damaged parcels › Filing a claim"]
    assert [s["title"] for s in item["see_also"]] == ["Shipping times"]
