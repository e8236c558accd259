"""ggml's extra CPU buffer types (AMX, weight repacking): on by default, off by default on CPUs with AMX.

When llama.cpp loads a model it puts the weights a CPU kernel can use in an "extra" buffer type: the AMX
buffer (Intel AMX tile kernels, compiled into a wheel built with `-march=native` on an AMX Xeon) or the repack
buffer (weights reordered for the AVX2/AVX512/NEON kernels). On an AMX Xeon in a Firecracker VM, the AMX
kernel dies with SIGSEGV at its first tile instruction (`ldtilecfg`) on every generation; ggml's own start-up
check (`arch_prctl(ARCH_REQ_XCOMP_PERM)`) passes there, so ggml cannot tell. `use_extra_bufts = False` in the
model params (llama.cpp's `--no-extra-bufts`) keeps every weight in a plain CPU buffer. That turns repacking
off as well, since llama.cpp has no switch for the AMX buffer alone.

`BOT_LLM__CPU_EXTRA_BUFFERS` chooses "on", "off", or "auto": off exactly when /proc/cpuinfo lists AMX.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("bot.llm")

ExtraBuffers = Literal["auto", "on", "off"]

# The flags Linux shows for AMX (Sapphire Rapids and later); ggml's AMX kernels need amx_int8 and amx_tile.
AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex"})
CPUINFO = Path("/proc/cpuinfo")


def cpuinfo_has_amx(cpuinfo: str) -> bool:
    """Whether a /proc/cpuinfo text lists an AMX flag on one of its `flags` lines."""
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "flags" and not AMX_FLAGS.isdisjoint(value.split()):
            return True
    return False


@functools.cache
def host_has_amx() -> bool:
    """`cpuinfo_has_amx` for this machine, read once; False where there is no /proc/cpuinfo."""
    try:
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return cpuinfo_has_amx(text)


def extra_buffers_enabled(choice: ExtraBuffers, *, has_amx: bool) -> bool:
    """The rule: "on" and "off" as said; "auto" is off on a CPU with AMX, on elsewhere."""
    if choice == "auto":
        return not has_amx
    return choice == "on"


_logged: set[str] = set()
_logged_lock = threading.Lock()


def use_extra_buffers(choice: ExtraBuffers) -> bool:
    """`extra_buffers_enabled` on this machine; says once per process (per setting) what it chose and why."""
    has_amx = host_has_amx()
    enabled = extra_buffers_enabled(choice, has_amx=has_amx)
    with _logged_lock:
        if choice in _logged:
            return enabled
        _logged.add(choice)
    if choice == "auto":
        reason = "the CPU has AMX, whose ggml kernels crash in some VMs" if has_amx else "the CPU has no AMX"
    else:
        reason = f"set to {choice}"
    log.info(
        "llama.cpp extra CPU buffer types (AMX, weight repacking) %s",
        "on" if enabled else "off",
        extra={"setting": choice, "amx": has_amx, "reason": reason},
    )
    return enabled


def set_extra_buffers(params: Any, enabled: bool) -> None:
    """Set `use_extra_bufts` on a `llama_model_params`; a llama-cpp-python without it cannot turn them off."""
    if hasattr(type(params), "use_extra_bufts"):  # a ctypes field is a descriptor on the class
        params.use_extra_bufts = enabled
    elif not enabled:
        raise RuntimeError(
            "this llama-cpp-python has no llama_model_params.use_extra_bufts; "
            "install the version in constraints.txt or set BOT_LLM__CPU_EXTRA_BUFFERS=on"
        )


_params_lock = threading.Lock()


@contextlib.contextmanager
def extra_buffers_for_llama(enabled: bool) -> Iterator[None]:
    """Within this block, `llama_cpp.Llama(...)` loads its model with `use_extra_bufts = enabled`.

    `Llama.__init__` (llama-cpp-python 0.3.x) starts from `llama_cpp.llama_cpp.llama_model_default_params()`
    and loads the model before it returns, with no argument for this field: so for the block the module
    function is replaced by one that sets the field. The lock keeps concurrent loads (an engine reload, the
    embedder) from restoring each other's replacement; `finally` restores the original even if the load fails.
    Build the `Llama` and nothing else inside the block.
    """
    import llama_cpp.llama_cpp as low  # the module `Llama.__init__` calls through

    with _params_lock:
        original = low.llama_model_default_params

        def defaults() -> Any:
            params = original()
            set_extra_buffers(params, enabled)
            return params

        low.llama_model_default_params = defaults
        try:
            yield
        finally:
            low.llama_model_default_params = original
