"""Settings once accepted wrongly: empty paths, a `.env` not in UTF-8, more prompt passages than top_k."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "default"), [("BOT_DATA_DIR", "data"), ("BOT_KB__SOURCE", "knowledge")], ids=["data", "source"]
)
@pytest.mark.parametrize("value", ["", "  "], ids=["empty", "blank"])
def test_an_empty_folder_setting_is_refused_not_read_as_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, env: str, default: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=None)
    assert str(excinfo.value) == (
        f"{env}: got an empty value; unset it for the default ({default}) or name a folder"
    )


def test_an_empty_folder_in_a_json_section_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_KB", '{"source": ""}')
    with pytest.raises(SettingsError, match=r"^BOT_KB__SOURCE: got an empty value"):
        load_settings(_env_file=None)


@pytest.mark.parametrize(
    "env",
    [
        "BOT_LLM__MODEL_PATH",
        "BOT_LLM__LORA_PATH",
        "BOT_EMBEDDINGS__MODEL_PATH",
        "BOT_ELASTICSEARCH__CA_CERTS",
    ],
)
def test_an_empty_file_setting_means_its_default_not_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv(env, "")
    s = load_settings(_env_file=None)
    assert (s.llm.model_path, s.llm.lora_path, s.embeddings.model_path, s.elasticsearch.ca_certs) == (
        None,
        None,
        None,
        None,
    )


def test_an_env_file_not_in_utf8_is_named_with_the_line_and_the_fix(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_bytes("BOT_KB__TOP_K=3\n# caf\u00e9 opening hours\n".encode("latin-1"))
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=env)
    assert str(excinfo.value) == f"{env.resolve()} is not UTF-8 text (byte 0xe9 on line 2): save it as UTF-8"


def test_the_default_env_file_is_named_by_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes(b"BOT_LOG_LEVEL=info\xff\n")
    with pytest.raises(SettingsError, match=r"/\.env is not UTF-8 text \(byte 0xff on line 1\)"):
        load_settings()


def test_more_prompt_passages_than_retrieved_is_refused_naming_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_RAG__PROMPT_PASSAGES", "50")
    monkeypatch.setenv("BOT_KB__TOP_K", "5")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=None)
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith("BOT_RAG__PROMPT_PASSAGES: 50 is more than BOT_KB__TOP_K (5)"), message
    # Up to top_k is fine.
    monkeypatch.setenv("BOT_RAG__PROMPT_PASSAGES", "5")
    monkeypatch.setenv("BOT_KB__TOP_K", "5")
    assert load_settings(_env_file=None).rag.prompt_passages == 5
    # The default (2) means "up to 2": a lone BOT_KB__TOP_K=1 is no contradiction.
    monkeypatch.delenv("BOT_RAG__PROMPT_PASSAGES")
    monkeypatch.setenv("BOT_KB__TOP_K", "1")
    assert load_settings(_env_file=None).kb.top_k == 1
