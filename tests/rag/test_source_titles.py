"""Sources as customers read them: the article's title and the section's heading, not the file's path."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console

from bot.channels import console as console_module
from bot.channels.telegram.render import render_answer
from bot.config import Settings
from bot.conversation import Reply
from bot.devtools.telegram_html import parse_html
from bot.domain import Answer, Source, Timings
from bot.services import build_pipeline
from tests.fakes import FakeGenerator, FakeKB, make_chunk
from tests.rag.conftest import with_rag

TITLE = "Lost or damaged parcels"
CLAIMS = "claims/lost-or-damaged-parcels.md"
FILING = replace(
    make_chunk(
        CLAIMS, "Filing a claim", "To file a claim for a damaged parcel open the shipment in the app."
    ),
    heading_path=(TITLE, "Filing a claim"),
)
DEADLINES = replace(
    make_chunk(CLAIMS, "Claim deadlines", "A claim for a damaged parcel is filed within 30 days.", 1),
    heading_path=(TITLE, "Claim deadlines"),
)
QUESTION = "How do I file a claim for a damaged parcel?"


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (Source(CLAIMS, "Filing a claim", title=TITLE), "Lost or damaged parcels › Filing a claim"),
        # A one-section document: its heading is its title, said once (whatever the spacing or case).
        (Source("shipping/times.md", "Shipping times", title="Shipping times"), "Shipping times"),
        (Source("shipping/times.md", "shipping  Times", title="Shipping times"), "shipping  Times"),
        (Source("faq.csv", "", title="FAQ"), "FAQ"),
        # No title (an untitled document, a section logged before titles were kept): the path, as before.
        (Source(CLAIMS, "Filing a claim"), "claims/lost-or-damaged-parcels.md › Filing a claim"),
        (Source("notes.txt", ""), "notes.txt"),
        # An approved answer: its article's path and the words "Approved answer", or those words alone.
        (Source("billing/refunds.md", "Approved answer"), "billing/refunds.md › Approved answer"),
        (Source("", "Approved answer"), "Approved answer"),
    ],
)
def test_display_name(source: Source, shown: str) -> None:
    assert source.display_name == shown


def test_a_source_of_a_chunk_takes_its_documents_title() -> None:
    assert Source.of(FILING).title == TITLE
    assert Source.of(replace(FILING, heading="", heading_path=())).title == ""
    # The title is how a section is shown, not which one it is.
    assert Source.of(FILING) == Source(CLAIMS, "Filing a claim")


async def test_the_pipeline_titles_the_cited_sources_and_the_see_also(settings: Settings) -> None:
    shipping = make_chunk(
        "shipping/times.md", "Shipping times", "A damaged parcel ships again in two days.", 2
    )
    kb = FakeKB([FILING, DEADLINES, shipping])
    generator = FakeGenerator("Open the shipment in the app to file a claim for a damaged parcel [1].")
    answer = await build_pipeline(with_rag(settings, min_relevance=0.0), kb, generator).answer(
        QUESTION, user_key="u1"
    )
    assert answer.outcome == "answered"
    assert [s.display_name for s in answer.sources] == ["Lost or damaged parcels › Filing a claim"]
    assert "Lost or damaged parcels › Claim deadlines" in [s.display_name for s in answer.see_also]


async def test_a_quoted_answer_is_titled_too(settings: Settings) -> None:
    chinese = replace(FILING, text="包裹损坏 请在应用中提交索赔。", lang="zh")
    settings = with_rag(settings, min_relevance=0.0, foreign_answer="extract")
    answer = await build_pipeline(settings, FakeKB([chinese]), FakeGenerator()).answer(
        "包裹损坏 怎么提交索赔？", user_key="u1", language="zh"
    )
    assert answer.outcome == "extracted"
    assert [s.display_name for s in answer.sources] == ["Lost or damaged parcels › Filing a claim"]


def titled_answer() -> Answer:
    return Answer(
        "Open the shipment in the app [1].",
        (Source(CLAIMS, "Filing a claim", "https://help.example/claims", TITLE),),
        True,
        Timings(),
        citations=(1,),
        see_also=(Source(CLAIMS, "Claim deadlines", title=TITLE),),
    )


def test_telegram_lists_a_source_by_its_title_and_links_it() -> None:
    shown, entities = parse_html(render_answer(titled_answer())[0])
    assert shown.endswith("Sources\n[1] Lost or damaged parcels › Filing a claim")
    assert CLAIMS not in shown
    assert entities[-1].url == "https://help.example/claims"


def test_the_console_lists_sources_and_see_also_by_their_titles() -> None:
    answer = titled_answer()
    out = Console(file=io.StringIO(), width=200, color_system=None)
    console_module.print_reply(out, Reply("answer", answer.text, answer=answer))
    printed = out.file.getvalue()  # type: ignore[attr-defined]
    assert "  [1] Lost or damaged parcels › Filing a claim <https://help.example/claims>" in printed
    assert "  see also: Lost or damaged parcels › Claim deadlines" in printed
    assert CLAIMS not in printed


@pytest.mark.parametrize(
    ("language", "label"),
    [("zh", "  另请参阅：Lost or damaged parcels"), ("de", "  Siehe auch: Lost"), ("en", "  see also: Lost")],
)
def test_the_console_names_see_also_in_the_customers_language(language: str, label: str) -> None:
    answer = titled_answer()
    out = Console(file=io.StringIO(), width=200, color_system=None)
    console_module.print_reply(out, Reply("answer", answer.text, answer=answer, language=language))
    assert label in out.file.getvalue()  # type: ignore[attr-defined]
