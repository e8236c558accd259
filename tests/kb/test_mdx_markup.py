"""Docusaurus Markdown and MDX are indexed as their pages read: no ESM, admonition fences or JSX tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb.filetypes import file_type
from bot.kb.loaders import Document, is_supported, load_bytes
from bot.kb.parsers import parse_markdown
from bot.kb.validate import safe_file_name

# A Docusaurus 3 doc as its authors write them: MDX imports and an export at the top, admonitions with and
# without a title, tabs (one with its tag over several lines, as Prettier writes a long one), and a code
# block that shows the same markup and keeps it.
INSTALL_MDX = """\
---
title: Installing the app
---

import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';
import {
  Highlight,
  Badge,
} from '@site/src/components';

export const Shop = ({children}) => (
  <span className="shop">{children}</span>
);

The app runs on phones and tablets.

:::note

You need a Parcelly account first.

:::

## Installing

<Tabs groupId="os">
  <TabItem value="ios" label="iOS" default>

Open the **App Store** and search for Parcelly.

  </TabItem>
  <TabItem
    value="android"
    label="Android"
  >

- Open Google Play.
- Search for Parcelly.

  </TabItem>
</Tabs>

:::tip Save space

Remove the old app first.

:::

:::caution[on mobile data]
Updates wait for Wi-Fi.
:::

## For developers

```jsx
import Tabs from '@theme/Tabs';

:::note
<Tabs>
  <TabItem value="ios" label="iOS">
```

export your parcels as CSV from the portal.
"""


def load_mdx(text: str, name: str = "install.mdx") -> Document:
    return load_bytes(name, Path(name).suffix, text.encode())


def test_mdx_markup_is_left_out_and_what_it_says_kept() -> None:
    doc = load_mdx(INSTALL_MDX)
    assert doc.title == "Installing the app"
    assert [(s.heading_path, s.text) for s in doc.sections] == [
        (
            ("Installing the app",),
            "The app runs on phones and tablets.\n\nNote: You need a Parcelly account first.",
        ),
        (
            ("Installing the app", "Installing"),
            "iOS: Open the **App Store** and search for Parcelly.\n\n"
            "Android:\n- Open Google Play.\n- Search for Parcelly.\n\n"
            "Save space: Remove the old app first.\n\n"
            "On mobile data: Updates wait for Wi-Fi.",
        ),
        (
            # Code is quoted as written, its markup included; a sentence that starts with "export" is a
            # sentence.
            ("Installing the app", "For developers"),
            "```jsx\nimport Tabs from '@theme/Tabs';\n\n:::note\n<Tabs>\n"
            '  <TabItem value="ios" label="iOS">\n'
            "```\n\nexport your parcels as CSV from the portal.",
        ),
    ]


@pytest.mark.parametrize("name", ["install.md", "install.mdx", "install.markdown"])
def test_a_docusaurus_md_file_is_read_as_mdx_too(name: str) -> None:
    # Docusaurus reads its .md files as MDX: the trial's "import Tabs from '@theme/Tabs';" was in one.
    doc = load_mdx(INSTALL_MDX, name)
    text = "\n".join(s.text for s in doc.sections if s.heading != "For developers")
    for markup in ("import", "export", "@theme", ":::", "<Tabs", "TabItem", "</", "=>"):
        assert markup not in text


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        # Lower-case titles as the page shows them, a title that ends in a colon, a nested admonition.
        (":::warning\nNo refunds after 30 days.\n:::", "Warning: No refunds after 30 days."),
        (":::tip saving money\nUse lockers.\n:::", "Saving money: Use lockers."),
        (":::info Heads up:\nLockers close at 22:00.\n:::", "Heads up: Lockers close at 22:00."),
        (
            "::::danger\nBefore you start:\n\n:::note\nInner.\n:::\n\nOuter again.\n::::",
            "Danger: Before you start:\n\nNote: Inner.\n\nOuter again.",
        ),
        # A title leads no list, table or quote: it stands on its line before them.
        (":::note\n- one\n- two\n:::", "Note:\n- one\n- two"),
        (":::note\n\n```bash\nparcelly login\n```\n:::", "Note:\n```bash\nparcelly login\n```"),
        # An empty admonition says nothing; a stray fence is markup all the same.
        (":::note\n:::\n\nText.\n\n:::", "Text."),
        # A tab without a label shows its value; a tab's text on the tag's line; Docusaurus 2's values prop.
        (
            '<Tabs>\n<TabItem value="npm">\n\nnpm install parcelly\n\n</TabItem>\n</Tabs>',
            "npm: npm install parcelly",
        ),
        ('<TabItem value="yarn" label="Yarn">yarn add parcelly</TabItem>', "Yarn: yarn add parcelly"),
        (
            "<Tabs\n  defaultValue=\"apple\"\n  values={[\n    {label: 'Apple', value: 'apple'},\n  ]}>\n"
            '<TabItem value="apple">An apple.</TabItem>\n</Tabs>',
            "apple: An apple.",
        ),
        # Components with no label keep their text; self-closing ones leave nothing.
        (
            "<Details>\n\nThe parcel waits 3 days.\n\n</Details>\n\n<DocCardList />",
            "The parcel waits 3 days.",
        ),
        # "import" and "export" in sentences, and indented, are text.
        ("import your contacts from the old phone.", "import your contacts from the old phone."),
        ("Text.\n    import Tabs from '@theme/Tabs';", "Text.\n    import Tabs from '@theme/Tabs';"),
        # An import inside a component is no statement of the module: MDX reads it as text.
        ("<Note>\nimport Tabs from '@theme/Tabs';\n</Note>", "import Tabs from '@theme/Tabs';"),
        ("import './custom.css';\n\nStyled.", "Styled."),
        ("export default function Layout() {}\n\nText.", "Text."),
        # HTML's own (lower-case) elements are not JSX components: they are rendered as HTML.
        ("<details>\n<summary>More</summary>\n\nHidden.\n</details>", "More\n\nHidden."),
    ],
)
def test_mdx_markup_cases(markdown: str, text: str) -> None:
    _, sections, _ = parse_markdown("# Help\n\n" + markdown + "\n", "help")
    assert [s.text for s in sections] == [text]


def test_mdx_is_a_markdown_file() -> None:
    kind = file_type(".MDX")
    assert kind is not None
    assert kind.name == "Markdown"
    assert is_supported(Path("docs/install.mdx"))
    assert safe_file_name("install.mdx") == "install.mdx"


def test_long_lines_of_tags_load_in_linear_time() -> None:
    # Each line is read once: a tail of closing tags searched from every position was quadratic.
    _, sections, _ = parse_markdown("<A>x" + "</A>" * 100_000 + "\n\n" + "<A>" * 100_000, "tags")
    assert [s.text for s in sections] == ["x"]


# An MkDocs Material page as its authors write them: admonitions with and without a title, one with an empty
# title, a collapsible one ("???+") holding a second paragraph and code, and a code block that shows the
# markup and keeps it.
MKDOCS_MD = """\
# Invoices

Invoices are issued on your billing date.

!!! tip "Send invoices to your accountant"
    Add up to 3 extra email addresses under **Billing contacts**.

!!! warning
    Issued invoices cannot be edited.

???+ note "Corrections"
    Contact support within 60 days.

    We issue a credit note:

    ```bash
    curl https://api.example.com/v1/credit_notes
    ```

!!! info ""
    Credit notes are numbered CN-1 onwards.

!!!

```markdown
!!! note
    kept as written
```
"""


def test_mkdocs_admonitions_are_read_as_the_page_shows_them() -> None:
    doc = load_mdx(MKDOCS_MD, "invoices.md")
    assert [s.text for s in doc.sections] == [
        "Invoices are issued on your billing date.\n\n"
        "Send invoices to your accountant: Add up to 3 extra email addresses under **Billing contacts**.\n\n"
        "Warning: Issued invoices cannot be edited.\n\n"
        "Corrections: Contact support within 60 days.\n\n"
        "We issue a credit note:\n\n"
        "```bash\ncurl https://api.example.com/v1/credit_notes\n```\n\n"
        "Credit notes are numbered CN-1 onwards.\n\n"
        "!!!\n\n"
        "```markdown\n!!! note\n    kept as written\n```"
    ]
