"""An HTML page declaring a charset that is no text encoding is refused with a reason, never a crash."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.kb.loaders import load_bytes
from bot.kb.validate import UnsafeFileError, validate_upload

# A link with a broken "xn--" label: the one kind of text the `idna` codec refuses (it passes the rest).
PAGE = (
    '<html><head><meta charset="{charset}"><title>Hours</title></head><body><h1>Opening hours</h1>'
    '<p>We open at nine. See <a href="https://www.xn--99999.example/">our shop</a>.</p></body></html>'
)


@pytest.mark.parametrize("charset", ["base64", "hex", "zlib", "idna", "undefined"])
def test_a_charset_that_is_no_text_encoding_is_refused_by_name(settings: Settings, charset: str) -> None:
    data = PAGE.format(charset=charset).encode("ascii")
    expected = f"declares charset '{charset}', which is not a text encoding"
    # An admin's upload (web console, Telegram): the refusal is shown to them, not a server error.
    with pytest.raises(UnsafeFileError, match=expected):
        validate_upload("hours.html", data, settings.kb)
    # A file already in the knowledge folder: the reload skips it with the same reason.
    with pytest.raises(UnsafeFileError, match=expected):
        load_bytes("hours.html", ".html", data)
