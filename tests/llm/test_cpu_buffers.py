"""ggml's extra CPU buffer types: the AMX rule, and that every llama.cpp load gets `use_extra_bufts` from it.

The loads are checked with stand-ins for `Llama` and `llama_model_load_from_file` that record the model params
llama-cpp-python would pass to llama.cpp; no real model is loaded.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import llama_cpp
import pytest

from bot.config import LLMSettings
from bot.llm import cpu_buffers
from bot.llm.base import ModelError
from bot.llm.cpu_buffers import (
    ExtraBuffers,
    cpuinfo_has_amx,
    extra_buffers_enabled,
    extra_buffers_for_llama,
    use_extra_buffers,
)
from bot.llm.embedder import LlamaEmbedder
from bot.llm.engine import LlamaEngine, ModelLoadError, raw_decode
from tests.llm_models.gguf_files import write_gguf

SAPPHIRE_RAPIDS = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: fpu vme de pse tsc msr avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 avx512_fp16 amx_tile amx_int8
vmx flags\t: vnmi preemption_timer invvpid ept_x_only
bugs\t\t: spectre_v1 spectre_v2

processor\t: 1
flags\t\t: fpu vme de pse tsc msr avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 avx512_fp16 amx_tile amx_int8
"""
ICE_LAKE = """\
processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8375C
flags\t\t: fpu vme de pse tsc msr avx2 avx512f avx512_vnni avx512_bf16
vmx flags\t: amx_tile_lookalike
"""
GRAVITON = """\
processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid sve
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [(SAPPHIRE_RAPIDS, True), (ICE_LAKE, False), (GRAVITON, False), ("", False)],
    ids=["amx", "avx512-only", "arm", "empty"],
)
def test_cpuinfo_has_amx_reads_the_flags_lines(text: str, expected: bool) -> None:
    assert cpuinfo_has_amx(text) is expected


def test_one_amx_flag_is_enough() -> None:
    assert cpuinfo_has_amx("flags\t\t: fpu sse2 amx_tile\n")
    assert not cpuinfo_has_amx("flags\t\t: fpu sse2 amx\n")  # a whole flag, not a prefix


@pytest.mark.parametrize(
    ("choice", "has_amx", "expected"),
    [
        ("auto", True, False),
        ("auto", False, True),
        ("on", True, True),
        ("on", False, True),
        ("off", True, False),
        ("off", False, False),
    ],
)
def test_the_rule(choice: ExtraBuffers, has_amx: bool, expected: bool) -> None:
    assert extra_buffers_enabled(choice, has_amx=has_amx) is expected


def test_host_has_amx_reads_proc_cpuinfo_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "cpuinfo"
    fake.write_text(SAPPHIRE_RAPIDS)
    monkeypatch.setattr(cpu_buffers, "CPUINFO", fake)
    cpu_buffers.host_has_amx.cache_clear()
    try:
        assert cpu_buffers.host_has_amx()
        fake.write_text(ICE_LAKE)
        assert cpu_buffers.host_has_amx()  # cached: read once per process
        cpu_buffers.host_has_amx.cache_clear()
        fake.unlink()
        assert not cpu_buffers.host_has_amx()  # no /proc/cpuinfo (not Linux): no AMX known
    finally:
        cpu_buffers.host_has_amx.cache_clear()


@pytest.fixture
def amx(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process runs on a CPU with AMX, and nothing has been logged yet."""
    monkeypatch.setattr(cpu_buffers, "host_has_amx", lambda: True)
    monkeypatch.setattr(cpu_buffers, "_logged", set())


@pytest.mark.usefixtures("amx")
def test_the_choice_is_logged_once_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.llm"):
        assert use_extra_buffers("auto") is False
        assert use_extra_buffers("auto") is False
        assert use_extra_buffers("on") is True
    lines = [r for r in caplog.records if r.name == "bot.llm"]
    assert [r.getMessage() for r in lines] == [
        "llama.cpp extra CPU buffer types (AMX, weight repacking) off",
        "llama.cpp extra CPU buffer types (AMX, weight repacking) on",
    ]
    assert "AMX" in lines[0].reason  # type: ignore[attr-defined]
    assert lines[1].reason == "set to on"  # type: ignore[attr-defined]


def default_extra_bufts() -> bool:
    """What `Llama.__init__` would pass to llama.cpp: it starts from this module function's params."""
    return bool(llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts)


def test_override_applies_inside_the_block_and_is_restored() -> None:
    original = llama_cpp.llama_cpp.llama_model_default_params
    assert default_extra_bufts() is True  # llama.cpp's own default
    with extra_buffers_for_llama(False):
        assert default_extra_bufts() is False
    assert llama_cpp.llama_cpp.llama_model_default_params is original
    with pytest.raises(ValueError, match="load failed"), extra_buffers_for_llama(False):
        raise ValueError("load failed")
    assert llama_cpp.llama_cpp.llama_model_default_params is original
    assert default_extra_bufts() is True


class RecordingLlama:
    """Stands in for `llama_cpp.Llama`: records the params it would load with, then fails like a bad file."""

    seen: list[bool]

    def __init__(self, **kwargs: Any) -> None:
        type(self).seen.append(default_extra_bufts())
        raise ValueError("stand-in: no model loaded")


@pytest.fixture
def recording_llama(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    seen: list[bool] = []
    monkeypatch.setattr(RecordingLlama, "seen", seen, raising=False)
    monkeypatch.setattr(llama_cpp, "Llama", RecordingLlama)
    return seen


@pytest.mark.usefixtures("amx")
@pytest.mark.parametrize(("choice", "expected"), [("auto", False), ("on", True), ("off", False)])
def test_engine_loads_with_the_setting(
    recording_llama: list[bool], tmp_path: Path, choice: ExtraBuffers, expected: bool
) -> None:
    model = write_gguf(tmp_path / "tiny.gguf")
    with pytest.raises(ModelLoadError, match="stand-in"):
        LlamaEngine(LLMSettings(cpu_extra_buffers=choice), model_path=model, lora_path=None)
    assert recording_llama == [expected]
    assert default_extra_bufts() is True  # restored after the load


def test_auto_keeps_extra_buffers_without_amx(
    monkeypatch: pytest.MonkeyPatch, recording_llama: list[bool], tmp_path: Path
) -> None:
    monkeypatch.setattr(cpu_buffers, "host_has_amx", lambda: False)
    with pytest.raises(ModelLoadError):
        LlamaEngine(LLMSettings(), model_path=write_gguf(tmp_path / "tiny.gguf"), lora_path=None)
    assert recording_llama == [True]


@pytest.mark.usefixtures("amx")
@pytest.mark.parametrize(("choice", "expected"), [("auto", False), ("on", True)])
def test_embedder_follows_the_same_rule(
    recording_llama: list[bool], tmp_path: Path, choice: ExtraBuffers, expected: bool
) -> None:
    model = write_gguf(tmp_path / "bert.gguf", arch="bert")
    with pytest.raises(ModelError, match="stand-in"):
        LlamaEmbedder(model, n_threads=1, batch_size=1, cpu_extra_buffers=choice)
    assert recording_llama == [expected]


@pytest.mark.usefixtures("amx")
@pytest.mark.parametrize(("choice", "expected"), [("auto", False), ("on", True)])
def test_bench_baseline_loads_with_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, choice: ExtraBuffers, expected: bool
) -> None:
    seen: list[bool] = []

    def load(path: bytes, params: Any) -> None:
        seen.append(bool(params.use_extra_bufts))
        # None: llama.cpp could not load it

    monkeypatch.setattr(llama_cpp, "llama_model_load_from_file", load)
    model = write_gguf(tmp_path / "tiny.gguf")
    with pytest.raises(ModelLoadError):
        raw_decode(model, LLMSettings(cpu_extra_buffers=choice), [1, 2, 3], 4)
    assert seen == [expected]
