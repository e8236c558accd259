"""Knowledge files and uploads read declared charsets as site pages do (validate.py using filetypes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.kb.loaders import load_file
from bot.kb.validate import UnsafeFileError, validate_upload

ZH = "朱镕基和张喆是我们的客户。请问退货需要多长时间？我们会在三个工作日内处理您的申请。"


def page(charset: str | None) -> bytes:
    meta = f'<meta charset="{charset}">' if charset else ""
    html = f"<html><head>{meta}<title>Returns</title></head><body><h1>Returns</h1><p>{ZH}</p></body></html>"
    return html.encode("gbk")


def test_a_gb2312_file_with_gbk_characters_is_loaded_and_uploaded(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "returns.html").write_bytes(page("gb2312"))
    document = load_file(tmp_path / "returns.html", tmp_path, 20.0)
    assert ZH in "\n".join(s.text for s in document.sections)
    assert validate_upload("returns.html", page("gb2312"), settings.kb) == "returns.html"


def test_an_undeclared_gbk_file_is_diagnosed_with_the_local_advice(tmp_path: Path) -> None:
    (tmp_path / "returns.html").write_bytes(page(None))
    with pytest.raises(UnsafeFileError, match="looks like Chinese text in GBK/GB18030; save it as UTF-8"):
        load_file(tmp_path / "returns.html", tmp_path, 20.0)
