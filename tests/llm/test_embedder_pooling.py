"""The embedder's pooling, read from GGUF metadata or set; its prefixes as settings; how both are shown."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bot.config import EmbeddingSettings, Settings, SettingsError, load_settings
from bot.llm.base import ModelError
from bot.llm.embedder import PoolingChoice, choose_pooling, describe_embedder, embedding_space
from bot.llm.gguf_file import inspect_gguf


def write_embedder_header(path: Path, pooling: int | None, *, arch: str = "bert") -> Path:
    """A structurally valid GGUF of an embedding architecture, with `<arch>.pooling_type` = `pooling`."""
    import gguf

    writer = gguf.GGUFWriter(path, arch)
    writer.add_name("tiny-embedder")
    writer.add_context_length(128)
    writer.add_embedding_length(8)
    if pooling is not None:
        writer.add_pooling_type(gguf.PoolingType(pooling))
    writer.add_tensor("token_embd.weight", np.ones((16, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize(("code", "name"), [(1, "mean"), (2, "cls"), (3, "last")])
def test_auto_takes_the_pooling_the_gguf_metadata_names(tmp_path: Path, code: int, name: str) -> None:
    info = inspect_gguf(write_embedder_header(tmp_path / "e.gguf", code))
    assert info.pooling == name
    assert choose_pooling(info, "auto") == PoolingChoice(name, "GGUF metadata", name)


def test_an_explicit_pooling_overrides_the_metadata(tmp_path: Path) -> None:
    info = inspect_gguf(write_embedder_header(tmp_path / "e.gguf", 1))
    choice = choose_pooling(info, "cls")
    assert (choice.name, choice.source, choice.model_pooling) == ("cls", "BOT_EMBEDDINGS__POOLING", "mean")
    assert not choice.is_models_own
    assert choose_pooling(info, "mean").is_models_own


@pytest.mark.parametrize("pooling", [None, 0, 77], ids=["absent", "none", "unknown"])
def test_no_usable_pooling_in_the_metadata_is_mean_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, pooling: int | None
) -> None:
    path = tmp_path / "e.gguf"
    if pooling == 77:
        # gguf.PoolingType refuses an unknown value: write a known one, then patch the stored number.
        write_embedder_header(path, 1)
        raw = bytearray(path.read_bytes())
        at = raw.index(b"bert.pooling_type") + len(b"bert.pooling_type") + 4  # past the value type
        raw[at : at + 4] = (77).to_bytes(4, "little")
        path.write_bytes(bytes(raw))
    else:
        write_embedder_header(path, pooling)
    info = inspect_gguf(path)
    assert info.pooling == ("none" if pooling == 0 else None)
    with caplog.at_level(logging.WARNING, logger="bot.llm.embedder"):
        choice = choose_pooling(info, "auto")
    assert (choice.name, choice.source) == ("mean", "default")
    assert any("BOT_EMBEDDINGS__POOLING" in r.getMessage() for r in caplog.records)
    # Explicit, no warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.llm.embedder"):
        assert choose_pooling(info, "last").name == "last"
    assert caplog.records == []


def test_a_reranker_is_refused_unless_the_pooling_is_set(tmp_path: Path) -> None:
    info = inspect_gguf(write_embedder_header(tmp_path / "rerank.gguf", 4))
    with pytest.raises(ModelError, match="reranker.*BOT_EMBEDDINGS__POOLING"):
        choose_pooling(info, "auto")
    assert choose_pooling(info, "cls").name == "cls"


def test_the_space_names_the_file_and_what_changes_its_vectors(tmp_path: Path) -> None:
    info = inspect_gguf(write_embedder_header(tmp_path / "e5.gguf", 1))
    own = choose_pooling(info, "auto")
    folder = tmp_path / "elsewhere" / "e5.gguf"
    assert embedding_space(info.path, own, "", "") == "e5.gguf"
    assert embedding_space(folder, own, "", "") == "e5.gguf", "moving the data folder keeps the space"
    assert embedding_space(info.path, choose_pooling(info, "mean"), "", "") == "e5.gguf"
    assert embedding_space(info.path, choose_pooling(info, "cls"), "", "") == "e5.gguf pooling=cls"
    spaces = {
        embedding_space(info.path, own, "query: ", "passage: "),
        embedding_space(info.path, own, "query: ", ""),
        embedding_space(info.path, own, "", "passage: "),
        embedding_space(info.path, own, "passage: ", "query: "),
        embedding_space(info.path, own, "", ""),
    }
    assert len(spaces) == 5, "each prefix, on its own side, is part of the space"


def test_describe_embedder_from_the_header_alone(tmp_path: Path) -> None:
    path = write_embedder_header(tmp_path / "e.gguf", 2)
    plain = describe_embedder(path, EmbeddingSettings())
    assert plain == "tiny-embedder (bert, 8-dim), cls pooling (GGUF metadata), no prefixes"
    e5 = EmbeddingSettings(pooling="mean", query_prefix="query: ", passage_prefix="passage: ")
    assert describe_embedder(path, e5) == (
        "tiny-embedder (bert, 8-dim), mean pooling (BOT_EMBEDDINGS__POOLING), "
        "query prefix 'query: ', passage prefix 'passage: '"
    )


def test_settings_keep_the_prefixes_exactly_and_refuse_an_unknown_pooling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    defaults = Settings(_env_file=None).embeddings  # type: ignore[call-arg]
    assert (defaults.pooling, defaults.query_prefix, defaults.passage_prefix) == ("auto", "", "")
    env = tmp_path / ".env"
    # The trailing space is part of e5's prefix: a quoted value in a .env file keeps it.
    env.write_text(
        'BOT_EMBEDDINGS__QUERY_PREFIX="query: "\nBOT_EMBEDDINGS__PASSAGE_PREFIX="passage: "\n'
        "BOT_EMBEDDINGS__POOLING=cls\n"
    )
    settings = load_settings(_env_file=env)
    assert settings.embeddings.query_prefix == "query: "
    assert settings.embeddings.passage_prefix == "passage: "
    assert settings.embeddings.pooling == "cls"
    monkeypatch.setenv("BOT_EMBEDDINGS__POOLING", "none")
    with pytest.raises(SettingsError, match="BOT_EMBEDDINGS__POOLING.*'auto', 'mean', 'cls' or 'last'"):
        load_settings(_env_file=None)


def test_a_chat_model_without_pooling_is_refused_unless_the_pooling_is_set(tmp_path: Path) -> None:
    info = inspect_gguf(write_embedder_header(tmp_path / "chat.gguf", None, arch="llama"))
    with pytest.raises(ModelError, match="chat model.*BOT_EMBEDDINGS__POOLING"):
        choose_pooling(info, "auto")
    assert choose_pooling(info, "last") == PoolingChoice("last", "BOT_EMBEDDINGS__POOLING", None)
