"""Raw HTML in Markdown and in FAQ answers is indexed as the page shows it: text, not tags."""

from __future__ import annotations

import json

import pytest

from bot.kb.parsers import parse_faq_csv, parse_faq_jsonl, parse_markdown


def _text(markdown: str) -> str:
    _, sections, _ = parse_markdown("# Help\n\n" + markdown + "\n", "help")
    assert len(sections) == 1
    return sections[0].text


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        # Inline elements hold their text.
        ("Press <kbd>Ctrl</kbd>+<kbd>S</kbd> to save.", "Press Ctrl+S to save."),
        ('Text in <span style="color:red">red</span> and <b>bold</b>.', "Text in red and bold."),
        ('See <a href="https://x.example/fees">the fees</a>.', "See the fees."),
        # A line break breaks the line; at a line's end it is that line's end, not a paragraph's.
        ("Open the app.<br>Tap Send.", "Open the app.\nTap Send."),
        ("Open the app.<br/>\nTap Send.", "Open the app.\nTap Send."),
        # An image says its alt text, as a Markdown image does.
        ('Tap the <img src="gear.png" alt="gear"> icon.', "Tap the gear icon."),
        # Entities are the characters they stand for (a no-break space a space, as in HTML pages' text);
        # "&para=2" (no semicolon) is no entity.
        ("AT&amp;T&nbsp;customers pay &euro;5.", "AT&T customers pay €5."),
        ("Open ?a=1&para=2 in the app.", "Open ?a=1&para=2 in the app."),
        # Placeholders and keys the author meant to show are not HTML's elements, and stay.
        ("Run ssh <username>@host, then press <Enter>.", "Run ssh <username>@host, then press <Enter>."),
        ("Parcels under 5 kg < 10 kg > 2 kg.", "Parcels under 5 kg < 10 kg > 2 kg."),
        # Named like an inline element, but not opened and closed in the line: a placeholder, as written.
        ("Text YES <code> to 12345.", "Text YES <code> to 12345."),
        (
            "Export <date>_<time>.csv, then type PAY <amount> <var>.",
            "Export <date>_<time>.csv, then type PAY <amount> <var>.",
        ),
        ("Press <kbd>Ctrl</kbd> and enter <code>.", "Press Ctrl and enter <code>."),
        # Code is shown as written.
        ("Use `<div>` and `&amp;` in templates.", "Use `<div>` and `&amp;` in templates."),
        *[(code, code) for code in ["```html\n<p>kept</p> <!-- kept --> {/* kept */}\n```"]],
        # HTML blocks are rendered as an HTML page's text: rows of a table, items of a list.
        (
            "<table>\n<tr><th>Plan</th><th>Price</th></tr>\n<tr><td>Plus</td><td>&euro;4.99</td></tr>\n</table>",
            "| Plan | Price |\n| --- | --- |\n| Plus | €4.99 |",
        ),
        ("<ul>\n<li>Small</li>\n<li>Large</li>\n</ul>", "- Small\n- Large"),
        ('<div align="center">\n<p>Centred text.</p>\n</div>', "Centred text."),
        ("Before.\n\n<script>\ntrack();\n\nmore();\n</script>\n\nAfter.", "Before.\n\nAfter."),
        # Comments, HTML's and MDX's, are not shown.
        ("Shown. <!-- hidden --> {/* TODO: screenshots */} Too.", "Shown. Too."),
        ("Shown.\n\n{/*\n  a note for writers\n*/}\n\nToo.", "Shown.\n\nToo."),
        # A component in a line holds its text; one that closes itself shows nothing.
        ('Click <Button variant="primary">Save</Button> now.', "Click Save now."),
        ('Plans: <Badge text="Pro" /> only.', "Plans: only."),
    ],
)
def test_raw_html_in_markdown_reads_as_the_page_shows_it(markdown: str, text: str) -> None:
    assert _text(markdown) == text


def test_a_help_desk_faq_exported_with_html_answers_is_indexed_as_text() -> None:
    csv_text = (
        "question,answer\n"
        '"How do I <b>reset</b> my PIN?","<p>Open <strong>Settings</strong>.</p><ul><li>Tap Reset</li>'
        '<li>Confirm</li></ul><p>Done &amp; dusted.</p>"\n'
        '"Can I call?","Yes.<br>Call us on weekdays."\n'
        '"How heavy?","Up to 5 kg < 10 kg."\n'
    )
    _, sections, _ = parse_faq_csv(csv_text, "faq")
    assert [(s.heading, s.text) for s in sections] == [
        ("How do I reset my PIN?", "Open Settings.\n\n- Tap Reset\n- Confirm\n\nDone & dusted."),
        ("Can I call?", "Yes.\nCall us on weekdays."),
        ("How heavy?", "Up to 5 kg < 10 kg."),
    ]
    jsonl = json.dumps({"question": "Fees?", "answer": "<p>Free&nbsp;under 2&nbsp;kg.</p>"}) + "\n"
    _, sections, _ = parse_faq_jsonl(jsonl, "faq")
    assert [s.text for s in sections] == ["Free under 2 kg."]


def test_a_comment_over_a_code_fence_is_left_out_with_the_fence() -> None:
    # A fence that opens inside a comment is commented out with it: the key in it is never indexed.
    markdown = (
        "Refunds take 5 days.\n\n<!-- TODO internal: check with billing\n```\n"
        "curl -H 'Authorization: Bearer sk_live_123' https://api.example/refunds\n```\n"
        "Do not publish -->\n\nContact us."
    )
    assert _text(markdown) == "Refunds take 5 days.\n\nContact us."
    # A comment in a fence is code, shown as written, and does not hide the text after the fence.
    code = "```\n<!-- kept\n```\nShown."
    assert _text(code) == code


@pytest.mark.parametrize("opener", ["{/*", "<!--", "x {/* "])
def test_unclosed_comment_openers_are_text_and_parse_in_linear_time(opener: str) -> None:
    # 200 KB of openers with no closer: each one used to be tried to the text's end (minutes for this).
    # No closer is left, so nothing is a comment and all of it is kept.
    markdown = opener * (200_000 // len(opener))
    assert _text(markdown) == markdown.strip()


def test_an_indented_code_block_is_shown_as_written() -> None:
    # CommonMark's indented code: 4 spaces after a blank line (or under another such line) is code.
    code = "Run this:\n\n    <div>code</div>\n    echo '<b>hi</b>'\n\nThen <b>save</b>."
    assert _text(code) == "Run this:\n\n    <div>code</div>\n    echo '<b>hi</b>'\n\nThen save."
    # A list item's continuation, indented under it, is the item's text, not code.
    assert _text("1. Open <b>Settings</b>\n\n    Tap <b>Reset</b>.") == "1. Open Settings\n\n    Tap Reset."


def test_a_plain_text_faq_answer_keeps_its_lines_and_loses_its_comments() -> None:
    # One HTML block under plain-text steps: the answer is Markdown's text, its lines kept.
    answers = [
        "To return an item:\n1. Open your orders\n2. Tap Return\n\n<p>Questions?</p>",
        "<!-- internal note --> Visible answer",
        "Call us.\n<!-- the number changes in May -->",
    ]
    jsonl = "".join(json.dumps({"question": f"Q{i}?", "answer": a}) + "\n" for i, a in enumerate(answers))
    _, sections, _ = parse_faq_jsonl(jsonl, "faq")
    assert [s.text for s in sections] == [
        "To return an item:\n1. Open your orders\n2. Tap Return\n\nQuestions?",
        "Visible answer",
        "Call us.",
    ]


def test_a_readme_markdown_export_loses_its_closing_feedback_lines() -> None:
    # How ReadMe pages read when exported as Markdown: the stamp, a rule, the prompt and its buttons.
    text = "Wait and retry.\n\nUpdated 11 days ago\n\n---\n\nDid this page help you?\n\nYes\n\nNo\n\n"
    text += "Copy Page"
    assert _text(text) == "Wait and retry."
    assert _text("Can I pay cash?\n\nNo") == "Can I pay cash?\n\nNo"
    # A last answer before the prompt is the page's: only the prompt and what follows it go.
    assert _text("Can I return opened items?\n\nNo\n\nWas this article helpful?\n\nYes\nNo") == (
        "Can I return opened items?\n\nNo"
    )


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        # A backslash escape shows its character: a Vietnamese telecom trial quoted "\\*100\\*mã thẻ#".
        (r"Bấm \*100\*mã thẻ# rồi gọi.", "Bấm *100*mã thẻ# rồi gọi."),
        (r"Step 1\. is no list, \# no heading, \[no link\].", "Step 1. is no list, # no heading, [no link]."),
        (r"A folder: C:\\Temp", r"A folder: C:\Temp"),
        # In code, and a table cell's "|", it stays as written.
        (r"Type `\*.pdf` in the filter.", r"Type `\*.pdf` in the filter."),
        ("| Plan | Note |\n|---|---|\n| Pro | a \\| b |", "| Plan | Note |\n|---|---|\n| Pro | a \\| b |"),
    ],
)
def test_a_backslash_escape_reads_as_its_character_outside_code(markdown: str, text: str) -> None:
    assert _text(markdown) == text
