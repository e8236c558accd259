"""A `.env` line python-dotenv cannot parse stops the start with one line naming the file and the line.

python-dotenv skips such a line with a log warning, so the setting on it silently kept its default (an
unclosed quote on `BOT_KB__SOURCE` made the bot index `knowledge/`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NoReturn

import pytest

from bot.cli import app
from bot.config import SettingsError, load_settings
from tests.cli import cli_runner
from tests.core.test_cli_errors import run_bot

FIX = (
    "cannot be parsed: close its quotes, keep the name free of spaces and put nothing after a quoted value "
    "(or comment it out with #)"
)


def _refused(**overrides: object) -> str:
    with pytest.raises(SettingsError) as excinfo:
        load_settings(**overrides)
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1, message
    return message


def test_an_unclosed_quote_stops_loading_naming_the_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text('BOT_KB__SOURCE="unterminated\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        message = _refused()
    assert message == f"{(tmp_path / '.env').resolve()} line 1 (BOT_KB__SOURCE) {FIX}"
    assert not [r for r in caplog.records if "could not parse" in r.getMessage()]


def test_a_valid_line_after_the_broken_one_does_not_hide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text('BOT_KB__SOURCE="unterminated\nBOT_KB__TOP_K=3\n', encoding="utf-8")
    assert _refused().endswith(f".env line 1 (BOT_KB__SOURCE) {FIX}")


def test_an_unclosed_quote_that_reaches_the_next_quote_is_refused_too(tmp_path: Path) -> None:
    # The quoted value runs on to the next line's opening quote, and the rest of that line breaks it.
    env = tmp_path / "settings.env"
    env.write_text('BOT_KB__SOURCE="docs\nBOT_LLM__TEMPERATURE="0.5"\n', encoding="utf-8")
    assert _refused(_env_file=env) == f"{env.resolve()} line 1 (BOT_KB__SOURCE) {FIX}"


def test_the_line_number_skips_comments_and_blank_lines_and_every_broken_line_is_counted(
    tmp_path: Path,
) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# support bot\nBOT_KB__TOP_K=3\n\n\n"
        "export BOT_KB__SOURCE = 'docs\n"  # an unclosed quote
        "BOT LOG_LEVEL=debug\n"  # a space in the name
        'BOT_RAG__TOP_K="3" 4\n',  # something after the quoted value
        encoding="utf-8",
    )
    assert _refused(_env_file=env) == f"{env.resolve()} line 5 (BOT_KB__SOURCE) (and lines 6, 7) {FIX}"


def test_a_broken_secret_line_is_named_without_its_value(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("BOT_TELEGRAM__TOKEN='123456:very-secret\n", encoding="utf-8")
    message = _refused(_env_file=env)
    assert "line 1 (BOT_TELEGRAM__TOKEN)" in message
    assert "very-secret" not in message


def test_a_broken_env_file_found_in_a_parent_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text('BOT_KB__SOURCE="unterminated\n', encoding="utf-8")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert _refused(_env_file_depth=1).startswith(f"{(tmp_path / '.env').resolve()} line 1")


def test_valid_env_files_and_no_env_file_still_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().kb.source == Path("knowledge")  # no .env at all
    (tmp_path / ".env").write_text(
        '# comment\n\nexport BOT_KB__SOURCE="docs"\nBOT_KB__TOP_K=3 # inline\n'
        'BOT_EMBEDDINGS__QUERY_PREFIX="two\nlines"\nBOT_UNSET\n',
        encoding="utf-8",
    )
    settings = load_settings()
    assert (settings.kb.source, settings.kb.top_k) == (Path("docs"), 3)
    assert settings.embeddings.query_prefix == "two\nlines"  # a quoted value may span lines
    (tmp_path / ".env").write_text('BOT_KB__SOURCE="unterminated\n', encoding="utf-8")
    assert load_settings(_env_file=None).kb.source == Path("knowledge")  # no file asked for: none read


def test_an_env_file_not_in_utf8_is_still_named_as_such(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_bytes('BOT_KB__SOURCE="caf\u00e9\n'.encode("latin-1"))
    assert _refused(_env_file=env) == (
        f"{env.resolve()} is not UTF-8 text (byte 0xe9 on line 1): save it as UTF-8"
    )


def test_the_cli_stops_with_the_one_line_and_no_dotenv_warnings(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('BOT_KB__SOURCE="unterminated\nBOT_KB__TOP_K=3\n', encoding="utf-8")
    result = run_bot(["config"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # not `BOT_KB__SOURCE=knowledge`
    assert result.stderr.splitlines() == [
        "configuration error:",
        f"  {(tmp_path / '.env').resolve()} line 1 (BOT_KB__SOURCE) {FIX}",
    ]


@pytest.mark.parametrize("args", [["config"], ["health"]])
def test_every_command_that_loads_settings_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / ".env").write_text('BOT_KB__SOURCE="unterminated\n', encoding="utf-8")
    with cli_runner() as runner:
        result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"line 1 (BOT_KB__SOURCE) {FIX}" in result.output
    assert "Traceback" not in result.output


def test_an_unreadable_env_file_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # It ended in a PermissionError traceback (as a user who may not read the file).
    env = tmp_path / ".env"
    env.write_text("BOT_LOG_LEVEL=INFO\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def refuse(self: Path, *args: object, **kwargs: object) -> NoReturn:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(SettingsError, match=r"\.env cannot be read \(Permission denied\)"):
        load_settings()
