"""Simplified and Traditional Chinese: telling which script a text is written in, and converting (OpenCC)."""

from __future__ import annotations

import re
import threading
from typing import Any

from bot.unicode import encodable

# The language tag of Chinese written in Traditional characters (Taiwan, Hong Kong, Macau).
TRADITIONAL = "zh-Hant"
# Tags a channel may give for a Traditional-script user (Telegram sends "zh-hant", others "zh-TW").
TRADITIONAL_TAGS = frozenset(["zh-hant", "zh-tw", "zh-hk", "zh-mo"])

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_lock = threading.Lock()
_converters: dict[str, Any] = {}


def _opencc(config: str) -> Any:
    # The dictionaries ship inside the wheel; loaded once per configuration (2-65 ms), under the lock.
    with _lock:
        converter = _converters.get(config)
        if converter is None:
            import opencc

            converter = _converters[config] = opencc.OpenCC(config)
        return converter


def _clean(text: str) -> str:
    # OpenCC's `tw2sp` and `s2tw` stop at a NUL character (the rest of a passage was lost), and its binding
    # takes only encodable text: both are read as spaces, which no analysis or quote keeps.
    return encodable(text).replace("\x00", " ")


def _convert(config: str, text: str) -> str:
    return str(_opencc(config).convert(_clean(text)))


def has_han(text: str) -> bool:
    """Whether `text` holds a Chinese character (a kanji in Japanese text counts too)."""
    return _HAN.search(text) is not None


def is_traditional(text: str) -> bool:
    """Whether `text` holds Chinese characters only Traditional script uses (一 or 好的 are in both)."""
    if _HAN.search(text) is None:
        return False
    clean = _clean(text)
    return str(_opencc("t2s").convert(clean)) != clean


def to_simplified(text: str, *, words: bool = True) -> str:
    """`text` with Traditional Chinese in it written in Simplified; any other text unchanged.

    Text with Traditional characters is converted by OpenCC's `tw2sp`: characters, and Taiwan's words for
    things as the mainland's (軟體 → 软件, 檔案 → 文件), which characters alone (`t2s`: 软体) would leave
    apart; with `words` false, only the characters (a quoted passage still says what it said). Text
    without any is returned as it is: `tw2sp` would also rewrite Simplified words that read as Taiwan's
    (文件 → 文档, 程序 → 进程)."""
    if not is_traditional(text):
        return text
    return _convert("tw2sp" if words else "t2s", text)


def to_traditional(text: str) -> str:
    """`text` with its Simplified Chinese written in Traditional characters (OpenCC `s2tw`: Taiwan's
    character forms, the words left as written, so a quoted passage still says what it said)."""
    if _HAN.search(text) is None:
        return text
    return _convert("s2tw", text)


def is_traditional_tag(tag: str | None) -> bool:
    """Whether a language tag names Chinese in Traditional script ("zh-Hant", "zh-TW", "zh_HK", …)."""
    code = (tag or "").strip().replace("_", "-").lower()
    return code in TRADITIONAL_TAGS or code.startswith("zh-hant")
