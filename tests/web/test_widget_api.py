"""The widget's API over the real SQLite log: streamed answers, history, feedback, handoff, flood rule."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import pytest

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.channels.web import texts as web_texts
from bot.channels.web.chat import ACTIONS_PER_MINUTE, ANSWER_TASK
from bot.channels.web.deps import FloodRule
from bot.conversation import WAIT_MARK, Customer
from bot.domain import Turn
from tests.fakes import FakeGenerator
from tests.web.conftest import BASE, SUPPORTED, GatedGenerator, WebFactory, events


class Desk:
    """An operator desk that accepts every handoff."""

    available = True

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.forwarded: list[str] = []
        self.left: list[int] = []

    async def open_handoff(
        self, conversation_id: int, customer: Customer, reason: str, transcript: Sequence[Turn], **_: str
    ) -> bool:
        self.opened.append(conversation_id)
        return True

    async def forward(self, conversation_id: int, customer: Customer, text: str, **_: str) -> None:
        self.forwarded.append(text)

    async def handoff_left(self, conversation_id: int, customer: Customer) -> None:
        self.left.append(conversation_id)


async def test_answer_streams_with_sources_and_is_logged_as_web(make_web: WebFactory) -> None:
    web = await make_web(desk=Desk())
    session = await web.session()
    cookie = web.client.cookies.jar
    assert any(c.name == "bot_visitor" for c in cookie)
    response = await web.post("/api/ask", {"text": "How long do refunds take?"}, session["csrf"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    found = events(response.text)
    assert [name for name, _ in found][-1] == "reply"
    assert any(name == "delta" for name, _ in found)
    reply = found[-1][1]
    assert reply["kind"] == "answer"
    assert reply["rateable"]
    assert reply["offer_human"]
    # Listed with the mark the answer's text cites it by.
    assert "[1]" in reply["text"]
    # By its title (the help center's chunks here are one-section documents: the heading is the title).
    assert reply["sources"] == [
        {"label": "[1]", "title": "Refunds", "href": "/help/billing/refunds.md#refunds"}
    ]
    conversation = await web.log.get_conversation(1)
    assert conversation is not None
    assert conversation.channel == "web"


async def test_the_other_sections_the_search_found_are_listed_under_see_also(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    response = await web.post("/api/ask", {"text": "How long do refunds or shipping take?"}, session["csrf"])
    reply = events(response.text)[-1][1]
    assert reply["sources"][0]["title"] == "Refunds"
    assert reply["see_also"] == [
        {"label": "", "title": "Shipping times", "href": "/help/shipping/times.md#shipping-times"}
    ]
    assert session["labels"]["seeAlso"] == "See also"


async def test_see_also_is_shown_again_after_a_reload(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    response = await web.post("/api/ask", {"text": "How long do refunds or shipping take?"}, session["csrf"])
    live = events(response.text)[-1][1]
    assert live["see_also"]
    again = await web.session()
    answer = again["messages"][-1]
    assert answer["role"] == "assistant"
    # The same list, titles and links, as the live answer showed.
    assert answer["see_also"] == live["see_also"]
    assert answer["sources"] == live["sources"]


async def test_answers_logged_without_see_also_show_none_after_a_reload(make_web: WebFactory) -> None:
    from sqlalchemy import text as sql

    web = await make_web()
    session = await web.session()
    await web.post("/api/ask", {"text": "How long do refunds or shipping take?"}, session["csrf"])
    # As an answer logged before revision 0008 (NULL), or a value that is not a list of sections.
    for stored in (None, "not json", '{"source": "a.md"}', '[1, {"source": 2, "heading": "x"}]'):
        async with web.log.transaction(write=True) as conn:
            await conn.execute(
                sql("UPDATE messages SET see_also = :v WHERE role = 'assistant'"), {"v": stored}
            )
        answer = (await web.session())["messages"][-1]
        assert answer["see_also"] == [], stored
        assert answer["sources"][0]["title"] == "Refunds"


async def test_history_survives_a_reload_and_belongs_to_the_visitor(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    await web.post("/api/ask", {"text": "How long do refunds take?"}, session["csrf"])
    again = await web.session()
    assert [m["role"] for m in again["messages"]] == ["user", "assistant"]
    assert again["messages"][1]["sources"][0]["href"] == "/help/billing/refunds.md#refunds"
    assert again["messages"][1]["sources"][0]["label"] == "[1]"
    web.client.cookies.clear()
    stranger = await web.session()
    assert stranger["messages"] == []


async def test_an_answer_goes_on_when_the_page_is_reloaded_while_it_streams(make_web: WebFactory) -> None:
    generator = GatedGenerator(
        "Refunds are paid back to the original card. It takes five business days from the return. [1]"
    )
    web = await make_web(generator=generator)
    session = await web.session()
    asking = asyncio.create_task(web.post("/api/ask", {"text": "How long do refunds take?"}, session["csrf"]))
    await generator.paused.wait()  # the first sentence is written, the rest is not
    asking.cancel()  # the page is reloaded: the connection that asked goes away
    with contextlib.suppress(asyncio.CancelledError):
        await asking

    reloaded = await web.session()
    assert [m["role"] for m in reloaded["messages"]] == ["user"]
    assert reloaded["pending"] is True, "the widget is told the answer is still being written"
    generator.gate.set()
    resumed = events((await web.client.get("/api/resume")).text)
    assert [name for name, _ in resumed][0] == "delta", "followed again from its first event"
    reply = resumed[-1][1]
    assert (resumed[-1][0], reply["kind"]) == ("reply", "answer")
    assert "five business days" in reply["text"]

    again = await web.session()
    assert [m["role"] for m in again["messages"]] == ["user", "assistant"]
    assert again["messages"][1]["text"] == reply["text"]
    assert again["pending"] is False
    # Shown after the reload, it maps back like any answer.
    rated = await web.post(
        "/api/feedback", {"answer_id": reply["answer_id"], "rating": "up"}, session["csrf"]
    )
    assert rated.status_code == 200, rated.text


async def test_an_answer_logged_while_the_reload_reads_the_history_is_still_followed(
    make_web: WebFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The answer is logged (and its writing ends) after the reload read the history, which then holds the
    # question only: the widget must still be told to follow it, or it shows the question unanswered.
    generator = GatedGenerator("Refunds are paid back to the card. It takes five business days. [1]")
    web = await make_web(generator=generator)
    session = await web.session()
    asking = asyncio.create_task(web.post("/api/ask", {"text": "How long do refunds take?"}, session["csrf"]))
    await generator.paused.wait()
    read = web.deps.insights.transcript

    async def read_then_finish(*args: Any, **kwargs: Any) -> Any:
        messages = await read(*args, **kwargs)
        generator.gate.set()
        await asking  # the whole answer streamed: logged, and its writing ended
        return messages

    monkeypatch.setattr(web.deps.insights, "transcript", read_then_finish)
    reloaded = await web.session()
    monkeypatch.undo()
    assert [m["role"] for m in reloaded["messages"]] == ["user"]
    assert reloaded["pending"] is True
    resumed = events((await web.client.get("/api/resume")).text)
    assert "five business days" in resumed[-1][1]["text"]


async def test_a_visitor_has_one_answer_written_at_a_time(make_web: WebFactory) -> None:
    generator = GatedGenerator("Refunds are paid back to the card. It takes five business days. [1]")
    web = await make_web(generator=generator)
    session = await web.session()
    first = asyncio.create_task(web.post("/api/ask", {"text": "How long do refunds take?"}, session["csrf"]))
    await generator.paused.wait()
    # A second tab asks meanwhile: told to wait, nothing queued or logged for it.
    # Bounded: without the rule the second answer would wait behind the paused first one.
    second = await asyncio.wait_for(web.post("/api/ask", {"text": "And shipping?"}, session["csrf"]), 30)
    assert second.status_code == 429
    assert "still being answered" in second.json()["error"]
    generator.gate.set()
    await first
    third = await web.post("/api/ask", {"text": "And shipping?"}, session["csrf"])
    assert third.status_code == 200
    roles = [m["role"] for m in (await web.session())["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]


async def test_stopping_the_server_stops_the_answers_still_being_written(make_web: WebFactory) -> None:
    import httpx

    from bot.channels.web.app import build_app

    generator = GatedGenerator("Refunds are paid back to the original card. It takes five business days. [1]")
    web = await make_web(generator=generator)
    app = build_app(web.deps)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client,
    ):
        csrf = (await client.get("/api/session")).json()["csrf"]
        sent = {"origin": BASE, "x-csrf-token": csrf}
        asking = asyncio.create_task(client.post("/api/ask", json={"text": "refunds?"}, headers=sent))
        await generator.paused.wait()
        asking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asking
        writing = [t for t in asyncio.all_tasks() if t.get_name() == ANSWER_TASK]
        assert writing, "the answer goes on without the connection"
    # The server's stop (its lifespan's end) has ended it: nothing is left running on a closed log.
    assert all(t.done() for t in writing)


async def test_nothing_to_resume_is_a_clear_not_found(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    assert (await web.client.get("/api/resume")).status_code == 404
    await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])
    assert (await web.session())["pending"] is False
    web.client.cookies.clear()
    assert (await web.client.get("/api/resume")).status_code == 401


async def test_feedback_reaches_only_the_visitors_own_answer(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    found = events((await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])).text)
    answer_id = found[-1][1]["answer_id"]
    down = await web.post("/api/feedback", {"answer_id": answer_id, "rating": "down"}, session["csrf"])
    assert down.status_code == 200, down.text
    comment = await web.post(
        "/api/feedback", {"answer_id": answer_id, "comment": "Too vague"}, session["csrf"]
    )
    assert comment.json()["text"] == texts.FEEDBACK_COMMENT_SAVED
    gaps = await web.deps.insights.gap_questions(30, 10)
    assert [(g.rating, g.comment, g.question) for g in gaps] == [("down", "Too vague", "refunds?")]

    web.client.cookies.clear()
    other = await web.session()
    refused = await web.post("/api/feedback", {"answer_id": answer_id, "rating": "up"}, other["csrf"])
    assert refused.status_code == 404
    bad = await web.post("/api/feedback", {"answer_id": "x", "rating": "up"}, other["csrf"])
    assert bad.status_code == 400


async def test_handoff_without_operators_says_so(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])
    response = await web.post("/api/handoff", {}, session["csrf"])
    assert response.json() == {"text": texts.HANDOFF_UNAVAILABLE, "handoff": "none"}


async def test_operator_reply_reaches_the_widget_by_polling(make_web: WebFactory) -> None:
    desk = Desk()
    web = await make_web(desk=desk)
    session = await web.session()
    await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])
    response = await web.post("/api/handoff", {}, session["csrf"])
    assert response.json() == {"text": texts.HANDOFF_REQUESTED, "handoff": "requested"}
    assert desk.opened == [1]
    forwarded = events((await web.post("/api/ask", {"text": "hello?"}, session["csrf"])).text)
    assert forwarded[-1][1]["kind"] == "forwarded"
    delivery = await web.conversations.operator_reply(1, "Hi, I'm Sam from support.")
    assert delivery.conversation is not None
    assert delivery.conversation.channel == "web"
    updates = (await web.client.get("/api/updates?after=2")).json()
    assert updates["handoff"] == "active"
    assert [m["text"] for m in updates["messages"]] == ["Hi, I'm Sam from support."]
    later = (await web.client.get(f"/api/updates?after={updates['last_id']}")).json()
    assert later["messages"] == []


async def test_flood_rule_gives_one_notice_then_refuses(make_web: WebFactory) -> None:
    web = await make_web(flood=FloodRule(2, 60.0))
    session = await web.session()
    for _ in range(2):
        answered = events((await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])).text)
        assert answered[-1][1]["kind"] == "answer"
    notice = events((await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])).text)
    # Every earlier question was answered: the notice says to slow down, not that it will answer "the ones
    # before this one" (Telegram's text, which a new user read after five answered questions).
    assert notice[-1][1] == {"kind": "notice", "text": web_texts.FLOOD, "sources": [], "refused": True}
    assert "before this one" not in web_texts.FLOOD
    dropped = await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])
    assert dropped.status_code == 429
    # What the widget shows for it (`message`, in the visitor's language), not the label's fallback.
    assert dropped.json()["message"] == web_texts.FLOOD


async def test_a_question_refused_while_one_is_answered_takes_no_flood_allowance(
    make_web: WebFactory,
) -> None:
    generator = GatedGenerator("Refunds are paid back to the card. It takes five business days. [1]")
    web = await make_web(generator=generator, flood=FloodRule(2, 60.0))
    session = await web.session()
    first = asyncio.create_task(web.post("/api/ask", {"text": "How long do refunds take?"}, session["csrf"]))
    await generator.paused.wait()
    for _ in range(3):
        busy = await asyncio.wait_for(web.post("/api/ask", {"text": "And?"}, session["csrf"]), 30)
        assert busy.status_code == 429
        # Telegram's text is true here: the question before this one is being answered.
        assert busy.json()["message"] == tg_texts.FLOOD
    generator.gate.set()
    await first
    # The refused ones were not counted: the second question of the allowance is answered.
    second = events((await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])).text)
    assert second[-1][1]["kind"] == "answer"


async def test_length_rule_and_bad_bodies_are_clear(make_web: WebFactory) -> None:
    web = await make_web(max_body_kb=64)
    session = await web.session()
    too_long = events((await web.post("/api/ask", {"text": "x" * 9000}, session["csrf"])).text)
    assert too_long[-1][1]["kind"] == "notice"
    assert too_long[-1][1]["text"] == texts.PIPELINE_TEXTS["too_long"]
    not_json = await web.client.post(
        "/api/ask",
        content=b"hello",
        headers={"origin": BASE, "x-csrf-token": session["csrf"], "content-type": "application/json"},
    )
    assert (not_json.status_code, not_json.json()["error"]) == (400, "the body must be JSON")
    wrong = await web.post("/api/ask", {"question": "x"}, session["csrf"])
    assert wrong.status_code == 400


async def test_new_conversation_starts_over(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])
    response = await web.post("/api/new", {}, session["csrf"])
    assert response.json()["text"] == texts.NEW_CONVERSATION
    assert (await web.session())["messages"] == []


async def test_typing_new_during_a_handoff_starts_over_as_the_button_does(make_web: WebFactory) -> None:
    # The handoff notice says "Send /new if you'd rather continue with me": typed in the widget, it went to
    # the operators as a message.
    desk = Desk()
    web = await make_web(desk=desk)
    session = await web.session()
    await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])
    handoff = await web.post("/api/handoff", {}, session["csrf"])
    assert handoff.json() == {"text": texts.HANDOFF_REQUESTED, "handoff": "requested"}
    assert "/new" in texts.HANDOFF_REQUESTED
    typed = events((await web.post("/api/ask", {"text": " /new "}, session["csrf"])).text)
    assert typed == [("reply", {"kind": "new_conversation", "text": texts.NEW_CONVERSATION, "sources": []})]
    assert desk.forwarded == [], "not a message for the operators"
    assert desk.left == [1], "the operators are told the visitor started over"
    again = await web.session()
    assert (again["handoff"], again["messages"]) == ("none", [])
    # The new conversation is the bot's again: a question is answered, not forwarded.
    answer = events((await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])).text)[-1][1]
    assert answer["kind"] == "answer"
    assert desk.forwarded == []


async def test_typing_new_in_a_fresh_chat_is_not_a_question(make_web: WebFactory) -> None:
    generator = FakeGenerator(SUPPORTED)
    web = await make_web(generator=generator)
    session = await web.session()
    await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])
    asked = len(generator.prompts)
    typed = events((await web.post("/api/ask", {"text": "/NEW"}, session["csrf"])).text)
    assert typed[-1][1]["kind"] == "new_conversation"
    assert len(generator.prompts) == asked, "nothing looked up"
    assert (await web.session())["messages"] == [], "nothing logged: a new, empty conversation"
    # In the visitor's language, as the button's notice is.
    german = {"accept-language": "de-DE,de;q=0.9"}
    web.client.cookies.clear()
    session = (await web.client.get("/api/session", headers=german)).json()
    typed = events((await web.post("/api/ask", {"text": "/new"}, session["csrf"], **german)).text)
    assert typed[-1][1]["text"] == texts.translate(texts.NEW_CONVERSATION, "de") != texts.NEW_CONVERSATION


async def test_a_typed_new_has_the_buttons_rate_limit(make_web: WebFactory) -> None:
    web = await make_web(flood=FloodRule(2, 60.0))
    session = await web.session()
    for _ in range(ACTIONS_PER_MINUTE):
        typed = await web.post("/api/ask", {"text": "/new"}, session["csrf"])
        assert events(typed.text)[-1][1]["kind"] == "new_conversation"
    refused = [
        await web.post("/api/ask", {"text": "/new"}, session["csrf"]),
        await web.post("/api/new", {}, session["csrf"]),
    ]
    assert [r.status_code for r in refused] == [429, 429]
    # The widget shows `message`: the buttons' limit counts a minute, not the questions' few seconds.
    assert {r.json()["message"] for r in refused} == {web_texts.TOO_MANY_PRESSES}
    # Not counted as messages: questions still have the flood rule's allowance.
    answer = events((await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])).text)[-1][1]
    assert answer["kind"] == "answer"


async def test_labels_follow_the_browser_language(make_web: WebFactory) -> None:
    web = await make_web()
    response = await web.client.get("/api/session", headers={"accept-language": "de-DE,de;q=0.9"})
    labels = response.json()["labels"]
    assert labels["human"] == texts.translate("Talk to a human", "de") != "Talk to a human"
    # The widget's own labels too (the accessible names are "Message" and "Send" in English).
    assert (labels["message"], labels["send"], labels["new"]) == ("Nachricht", "Senden", "Neues Gespräch")
    # What the widget shows for a refused request (429, 503): never the API's English `error`.
    assert labels["flood"] == texts.translate(web_texts.FLOOD, "de") != web_texts.FLOOD
    assert labels["dbDown"] == texts.translate(texts.DB_DOWN, "de") != texts.DB_DOWN
    assert response.json()["language"] == "de"  # the widget's `lang`, for screen readers
    assert response.json()["dir"] == "ltr"  # and its `dir`
    # An Arabic browser's widget is laid out right to left.
    arabic = (await web.client.get("/api/session", headers={"accept-language": "ar-SA,ar;q=0.9"})).json()
    assert (arabic["language"], arabic["dir"], arabic["labels"]["send"]) == ("ar", "rtl", "إرسال")
    # So is a Persian browser's.
    persian = (await web.client.get("/api/session", headers={"accept-language": "fa-IR,fa;q=0.9"})).json()
    assert (persian["language"], persian["dir"], persian["labels"]["send"]) == ("fa", "rtl", "ارسال")
    # And a Hebrew browser's.
    hebrew = (await web.client.get("/api/session", headers={"accept-language": "he-IL,he;q=0.9"})).json()
    assert (hebrew["language"], hebrew["dir"], hebrew["labels"]["send"]) == ("he", "rtl", "שליחה")
    english = (await web.client.get("/api/session", headers={"accept-language": "en-GB"})).json()["labels"]
    assert (english["message"], english["send"]) == ("Message", "Send")
    # A browser in Taiwan's Chinese gets Traditional characters, one in mainland Chinese Simplified.
    taiwan = (await web.client.get("/api/session", headers={"accept-language": "zh-TW,zh;q=0.9"})).json()
    mainland = (await web.client.get("/api/session", headers={"accept-language": "zh-CN"})).json()
    assert (taiwan["labels"]["message"], mainland["labels"]["message"]) == ("訊息", "消息")


async def test_a_waiting_answer_keeps_the_connection_alive() -> None:
    from collections.abc import AsyncIterator

    from bot.channels.web.chat import _with_keepalive

    closed: list[bool] = []

    async def slow() -> AsyncIterator[str]:
        try:
            await asyncio.sleep(0.25)
            yield "first"
            await asyncio.sleep(10)
            yield "never"
        finally:
            closed.append(True)

    stream = _with_keepalive(slow(), 0.1)
    seen = [await anext(stream) for _ in range(3)]
    assert seen[:2] == [None, None]
    assert seen[2] in ("first", None)
    while seen[-1] != "first":
        seen.append(await anext(stream))
    await stream.aclose()
    assert closed == [True], "a visitor who leaves stops following the answer"


async def test_a_waiting_visitor_is_told_their_place_in_the_stream(
    make_web: WebFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_LLM__WAIT_NOTICE_S", "0.5")
    # The first checked sentence takes about a second to write.
    web = await make_web(
        generator=FakeGenerator("Refunds are paid back within five business days. [1]", delay_s=0.1)
    )
    ahead = web.conversations.line.join("telegram:someone")  # another customer's answer, still waiting
    session = await web.session()
    found = events((await web.post("/api/ask", {"text": "How long do refunds take?"}, session["csrf"])).text)
    web.conversations.line.leave(ahead)
    names = [name for name, _ in found]
    assert names[0] == "waiting"
    assert names.count("waiting") == 1
    assert names[1:] == ["delta", "reply"]
    assert found[0][1] == {
        "text": f"{WAIT_MARK}You're number 2 in line. I'll start on your answer as soon as it's your turn.",
        "position": 2,
        "estimate_s": None,
    }

    await web.admin_login()
    overview = (await web.client.get("/admin")).text
    assert "Waiting now: 0" in overview
    assert "place-in-line notices: 1" in overview


async def test_a_refusal_cannot_be_rated_by_posting_its_id(make_web: WebFactory) -> None:
    web = await make_web(generator=FakeGenerator("I don't know."))
    session = await web.session()
    reply = events((await web.post("/api/ask", {"text": "refunds?"}, session["csrf"])).text)[-1][1]
    assert reply["outcome"] == "refused"
    assert not reply["rateable"]
    rated = await web.post(
        "/api/feedback", {"answer_id": reply["answer_id"], "rating": "down"}, session["csrf"]
    )
    assert rated.status_code == 404
    assert rated.json()["message"] == texts.FEEDBACK_EXPIRED, "what the visitor reads"
    # The refusal is a content gap of its own; no rating was stored on it.
    assert [g.rating for g in await web.deps.insights.gap_questions(30, 10)] == [None]


async def test_lone_surrogates_in_a_question_or_comment_are_replaced_not_a_crash(
    make_web: WebFactory,
) -> None:
    web = await make_web()
    session = await web.session()
    # A JSON escape of a lone surrogate: valid JSON, but no UTF-8 store or detector can take it.
    body = '{"text": "refunds \\ud800 please"}'
    response = await web.client.post(
        "/api/ask",
        content=body,
        headers={"content-type": "application/json", "x-csrf-token": session["csrf"], "origin": BASE},
    )
    reply = events(response.text)[-1][1]
    assert reply["kind"] == "answer", reply
    again = await web.session()
    assert again["messages"][0]["text"] == "refunds \ufffd please"
    comment = (
        '{"answer_id": %d, "rating": "down", "comment": "bad \\udc80"}' % reply["answer_id"]  # noqa: UP031
    )
    saved = await web.client.post(
        "/api/feedback",
        content=comment,
        headers={"content-type": "application/json", "x-csrf-token": session["csrf"], "origin": BASE},
    )
    assert saved.status_code == 200, saved.text
    gaps = await web.deps.insights.gap_questions(30, 10)
    assert [(g.rating, g.comment) for g in gaps] == [("down", "bad \ufffd")]


async def test_deeply_nested_json_is_a_bad_request(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    response = await web.client.post(
        "/api/ask",
        content="[" * 8000 + "]" * 8000,
        headers={"content-type": "application/json", "x-csrf-token": session["csrf"], "origin": BASE},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "the body must be JSON"}


@pytest.mark.parametrize("after", ["²", "٣", "-1", "99999999999999999999999", "1e3"])
async def test_updates_take_only_ascii_message_ids(make_web: WebFactory, after: str) -> None:
    web = await make_web()
    await web.session()
    response = await web.client.get("/api/updates", params={"after": after})
    assert response.status_code == 400
    assert response.json() == {"error": "after must be a message id"}


def test_an_approved_answer_without_an_article_lists_its_label_and_links_nowhere() -> None:
    from bot.channels.web.chat import sources_json
    from bot.domain import Source

    # A console or Telegram correction cites no article: "/help/" would be the help center's 404.
    assert sources_json([("", Source("", "Approved answer"))], sections=False) == [
        {"label": "", "title": "Approved answer", "href": ""}
    ]
    # Its heading is a label, not a section of the article: the link opens the article.
    assert sources_json([("", Source("billing/refunds.md", "Approved answer"))], sections=False) == [
        {"label": "", "title": "billing/refunds.md › Approved answer", "href": "/help/billing/refunds.md"}
    ]


async def test_without_an_operator_chat_no_person_is_offered(make_web: WebFactory) -> None:
    # A web-only deployment: a "Talk to a human" button would only ever say nobody is available.
    web = await make_web()
    session = await web.session()
    reply = events((await web.post("/api/ask", {"text": "zzz qqq"}, session["csrf"])).text)[-1][1]
    assert reply["outcome"] == "refused"
    assert not reply["offer_human"]
    assert reply["text"] == "I'm sorry, I couldn't find this in our help center, so I'd rather not guess."


async def test_asking_for_a_person_without_an_operator_chat_says_nobody_is_available(
    make_web: WebFactory,
) -> None:
    # Looked up, "human" was answered with the help center's "tap Talk to a human", a button the widget does
    # not show without operators; in French it was refused and told to ask in English.
    web = await make_web()
    session = await web.session()
    for text, language in (("human", "en"), ("/human", "en"), ("Je veux parler à un humain", "fr")):
        reply = events((await web.post("/api/ask", {"text": text}, session["csrf"])).text)[-1][1]
        assert reply["outcome"] == "person_asked"
        assert reply["text"] == texts.translate(texts.HANDOFF_UNAVAILABLE, language)
        assert not reply["offer_human"]
        assert not reply["rateable"]
        assert not reply["handed_off"]
    assert (await web.session())["handoff"] == "none"


def test_an_approved_answer_read_again_links_its_article_as_it_did_live() -> None:
    from datetime import UTC, datetime

    from bot.channels.web.chat import history_json
    from bot.store.insights import RetrievedPassage, TranscriptMessage

    passage = RetrievedPassage(1, "billing/refunds.md", "Approved answer", "", "Refunds take 5 days.", 1.0)
    logged = TranscriptMessage(
        7,
        "assistant",
        "Refunds take 5 days.",
        datetime.now(UTC),
        outcome="approved",
        citations=(1,),
        passages=(passage,),
    )
    (source,) = history_json(logged)["sources"]
    assert source["href"] == "/help/billing/refunds.md", (
        "no #approved-answer: the article has no such section"
    )


async def test_an_arabic_answer_lays_the_widget_out_right_to_left(make_web: WebFactory) -> None:
    # Its labels follow the answer's language, and so does their direction (`dir` on the widget).
    web = await make_web()
    session = await web.session()
    assert session["dir"] == "ltr"

    async def ask(text: str) -> dict[str, Any]:
        return events((await web.post("/api/ask", {"text": text}, session["csrf"])).text)[-1][1]

    arabic = await ask("طردي لم يصل بعد، ماذا أفعل؟")
    assert (arabic["language"], arabic["dir"], arabic["labels"]["sources"]) == ("ar", "rtl", "المصادر")
    persian = await ask("سفارشم هنوز نرسیده، باید چه کار کنم؟")
    assert (persian["language"], persian["dir"], persian["labels"]["sources"]) == ("fa", "rtl", "منابع")
    hebrew = await ask("ההזמנה שלי עדיין לא הגיעה, מה עושים?")
    assert (hebrew["language"], hebrew["dir"], hebrew["labels"]["sources"]) == ("he", "rtl", "מקורות")
    english = await ask("How long do refunds take?")
    assert (english["language"], english["dir"]) == ("en", "ltr")
