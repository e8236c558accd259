"""The one gold-match rule: the labelled file at a path boundary with a matching normalised heading, or the
labelled anchor in the chunk text."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain import Answer, Hit, Passage, Source, Timings
from bot.evaluation.answers import answers_report, cites_gold
from bot.evaluation.questions import Question
from bot.evaluation.scoring import gold_match, gold_rank, heading_matches, normalise_heading
from tests.fakes import make_chunk

GOLD = Question("q1", "How do I pay?", "faq.md", "Payment")
UUID = Question(
    "zh-1",
    "怎么用 UUID 挂载分区？",
    "ch09.zh-cn.html",
    "9.6.3. 使用 UUID 访问分区",
    anchor="mount the partition  by\nUUID",
    lang="zh",
)


@pytest.mark.parametrize(
    ("source", "heading", "expected"),
    [
        ("faq.md", "Payment", True),
        ("help/faq.md", "Payment", True),
        ("help/old-faq.md", "Payment", False),  # a bare suffix match would count this as gold
        ("billingfaq.md", "Payment", False),
        ("faq.md", "Payments", False),  # containment is by whole words
        ("faq.md", "payment.", True),  # case and punctuation do not count
        ("faq.md", "3.2. Payment", True),  # nor a section number
        ("faq.md", "Payment and refunds", True),  # the chunk's heading contains the label
        ("faq.md", "Pay", False),  # ...but the label must be within it, not the other way round
        ("faq.md", "Prepayment", False),
    ],
)
def test_gold_match(source: str, heading: str, expected: bool) -> None:
    assert gold_match(make_chunk(source, heading, "text"), GOLD) is expected


def test_an_unanswerable_question_has_no_gold() -> None:
    question = Question("q2", "Weather?")
    assert not question.answerable
    assert not gold_match(make_chunk("faq.md", "Payment", "Payment"), question)
    assert not gold_match(make_chunk("faq.md", "", ""), question)


def test_an_anchor_alone_makes_a_question_answerable() -> None:
    assert Question("q3", "?", anchor="a phrase").answerable
    assert not Question("q4", "?", file="faq.md").answerable


@pytest.mark.parametrize(
    ("heading", "normalised"),
    [
        ("9.6.3. Using UUID to access partitions", "using uuid to access partitions"),
        ("A.1. The Debian maze", "the debian maze"),
        ("A. Appendix", "appendix"),
        ("12. Programming", "programming"),
        ("2.2.1. apt vs. apt-get / apt-cache vs. aptitude", "apt vs apt get apt cache vs aptitude"),
        ("9.6.3. 使用 UUID 访问分区", "使用 uuid 访问分区"),
        ("1.2.「文件系统」：权限（chmod）", "文件系统 权限 chmod"),
        ("4.3.好的密码", "好的密码"),
        ("9.6.3.Using", "9 6 3 using"),  # a number glued to a word is not a section number
        ("3.1.2. « Le chargeur d’amorçage »", "le chargeur d amorçage"),
        ('The "$HOME" directory', "the home directory"),
        ("Can I create my own functions in C++?", "can i create my own functions in c++"),
        ("C# and F# + more", "c# and f# more"),
        ("Ｆｕｌｌ－ｗｉｄｔｈ　ＵＵＩＤ", "full width uuid"),
        # Not section numbers: a year, a lone capital word, an abbreviation.
        ("2024 prices", "2024 prices"),
        ("A quick start", "a quick start"),
        ("U.S. customs", "u s customs"),
        ("Chapter 9. System tips", "chapter 9 system tips"),
        ("  Spaced \n\t out  ", "spaced out"),
        ("1.2.3.", ""),
    ],
)
def test_normalise_heading(heading: str, normalised: str) -> None:
    assert normalise_heading(heading) == normalised


@pytest.mark.parametrize(
    ("heading", "label", "expected"),
    [
        ("9.6.3. 使用 UUID 访问分区", "9.6.3. 使用 UUID 访问分区", True),
        ("使用UUID访问分区", "9.6.3. 使用 UUID 访问分区", False),  # spaces between words are kept
        ("9.6.3. 使用 UUID 访问分区（推荐）", "使用 UUID 访问分区", True),
        ("提示：使用 UUID 访问分区", "使用 UUID 访问分区", True),
        ("系统提示访问分区", "访问分区", True),  # no word boundaries in Chinese
        ("9.6.3. Using UUID", "9.6.4. Using UUID", True),  # numbers are ignored on both sides
        ("Using UUIDs", "Using UUID", False),
        ("Can I create my own functions in C++?", "Can I create my own functions in C?", False),
        ("Anything", "1.2.", False),  # a label that normalises to nothing matches nothing
        ("", "", False),
    ],
)
def test_heading_matches(heading: str, label: str, expected: bool) -> None:
    assert heading_matches(heading, label) is expected


def test_the_anchor_matches_with_whitespace_and_case_ignored() -> None:
    text = "You can\nMount the partition by   UUID, which survives\tdevice renaming."
    assert gold_match(make_chunk("other/ch09.en.html", "Tip", text), UUID)
    # Any file, any heading: the anchor identifies the section's body.
    assert gold_match(make_chunk("notes.md", "", text), UUID)
    assert not gold_match(make_chunk("ch09.zh-cn.html", "Tip", "mount the partition by label"), UUID)
    assert not gold_match(make_chunk("ch09.zh-cn.html", "Tip", "mount the partition byUUID"), UUID)


def test_the_path_boundary_holds_with_a_normalised_heading() -> None:
    assert gold_match(make_chunk("debian/ch09.zh-cn.html", "9.6.3. 使用 UUID 访问分区", "x"), UUID)
    assert not gold_match(make_chunk("xch09.zh-cn.html", "9.6.3. 使用 UUID 访问分区", "x"), UUID)
    assert not gold_match(make_chunk("ch09.fr.html", "9.6.3. 使用 UUID 访问分区", "x"), UUID)


def test_sources_and_passages_are_judged_too() -> None:
    assert gold_match(Source("debian/ch09.zh-cn.html", "使用 UUID 访问分区"), UUID)
    assert not gold_match(Source("ch09.zh-cn.html", "Tip"), UUID)  # a source has no text to hold the anchor
    assert gold_match(Passage("ch01.html", "Tip", "… mount the partition by UUID …"), UUID)


def test_gold_rank_is_the_first_matching_hit() -> None:
    hits = [
        Hit(chunk=make_chunk("help/old-faq.md", "Payment", "x"), score=0.9, rank=1),
        Hit(chunk=make_chunk("help/faq.md", "Payment", "y"), score=0.8, rank=2),
    ]
    assert gold_rank(hits, GOLD) == 2
    assert gold_rank(hits[:1], GOLD) is None


def test_gold_rank_finds_the_anchor() -> None:
    toc = make_chunk("ch09.en.html", "Chapter 9. System tips", "9.6.3. Using UUID")  # a chapter's contents
    hits = [
        Hit(chunk=toc, score=0.9, rank=1),
        Hit(chunk=make_chunk("ch09.en.html", "Tip", "Mount the partition by UUID."), score=0.8, rank=2),
    ]
    assert gold_rank(hits, UUID) == 2


def _answer(cited: tuple[int, ...], sources: tuple[Source, ...] = (), outcome: str = "answered") -> Answer:
    hits = (
        Hit(chunk=make_chunk("ch09.en.html", "Tip", "nothing to see"), score=0.9, rank=1),
        Hit(chunk=make_chunk("ch09.en.html", "Caution", "mount the partition by UUID"), score=0.8, rank=2),
    )
    timings = Timings()
    return Answer("t", sources, True, timings, outcome=outcome, hits=hits, citations=cited)


def test_a_citation_is_judged_on_the_cited_passage_text() -> None:
    assert cites_gold(UUID, _answer((2,)))
    assert not cites_gold(UUID, _answer((1,)))
    assert not cites_gold(UUID, _answer((3,)))  # a number beyond the passages names nothing
    assert cites_gold(UUID, _answer((), (Source("ch09.zh-cn.html", "9.6.3. 使用 UUID 访问分区"),)))


def test_the_report_counts_anchor_citations() -> None:
    rows = [(UUID, _answer((2,))), (UUID, _answer((1,))), (Question("u", "?"), _answer((1,)))]
    report = answers_report(rows)
    assert report["answerable"] == 2
    assert report["unanswerable"] == 1
    assert report["citation_accuracy"] == 0.5
    assert report["gold_in_passages"] == 1.0
    assert report["refusal_recall"] == 0.0


def test_the_report_counts_the_gold_section_listed_under_see_also_as_shown() -> None:
    gold = Source("ch09.zh-cn.html", "9.6.3. 使用 UUID 访问分区")
    listed = replace(_answer((1,)), see_also=(Source("ch01.en.html", "Other"), gold))
    unlisted = replace(_answer((1,)), see_also=(Source("ch01.en.html", "Other"),))
    report = answers_report([(UUID, _answer((2,))), (UUID, listed), (UUID, unlisted)])
    assert report["citation_accuracy"] == 0.333
    assert report["gold_shown"] == 0.667


def test_the_report_repeats_the_quality_figures_per_language() -> None:
    french = Question("f", "?", lang="fr")
    rows = [(UUID, _answer((2,))), (UUID, _answer((1,))), (french, _answer((1,)))]
    report = answers_report(rows)
    by_language = report["languages"]
    assert list(by_language) == ["zh", "fr"]  # most questions first
    assert by_language["zh"]["citation_accuracy"] == 0.5
    assert by_language["fr"]["questions"] == 1
    assert by_language["fr"]["refusal_recall"] == 0.0
    assert set(by_language["fr"]) == {
        "questions",
        "refusal_recall",
        "false_refusal_rate",
        "citation_accuracy",
        "gold_shown",
        "unsure",
        "outcomes",
    }
