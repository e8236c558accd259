"""llama.cpp's native log routed into Python logging: silent by default, every line at BOT_LOG_LEVEL=DEBUG."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from typing import Any

log = logging.getLogger("bot.llm.llama_cpp")

# ggml_log_level: 0 none, 1 info, 2 warn, 3 error, 4 debug, 5 "continues the previous message".
_LEVEL_NAMES = {2: "warn", 3: "error"}
_CONT = 5

_install_lock = threading.Lock()
# The ctypes callback must stay referenced for as long as llama.cpp may call it, i.e. the whole process.
_callback: Any = None
# llama.cpp writes a line in pieces (and from worker threads); each thread assembles its own lines.
_partial = threading.local()


def route_llama_log() -> None:
    """Send llama.cpp's log to the `bot.llm.llama_cpp` logger at DEBUG; idempotent.

    Call it after `import llama_cpp` (whose import installs llama-cpp-python's printer) and before loading.

    Without this, llama-cpp-python's own handler prints the loader's and the quantizer's ~300 lines to the
    terminal. Every failure llama.cpp reports also reaches the caller as an exception whose message says
    what to fix, so its own lines are diagnostic detail: shown only when the bot logs at DEBUG.
    """
    global _callback
    with _install_lock:
        if _callback is not None:
            return
        import llama_cpp

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def callback(level: int, text: bytes | None, user_data: ctypes.c_void_p) -> None:
            # An exception here would only be printed by ctypes, never reach anyone: drop it instead.
            with contextlib.suppress(Exception):
                _collect(level, text or b"")

        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        _callback = callback


def native_debug() -> bool:
    """Whether llama.cpp's own output is wanted (the bot logs at DEBUG)."""
    return log.isEnabledFor(logging.DEBUG)


def _collect(level: int, text: bytes) -> None:
    if not log.isEnabledFor(logging.DEBUG):
        _partial.text = ""
        return
    pending: str = getattr(_partial, "text", "")
    if level != _CONT or not pending:
        _partial.level = level if level != _CONT else getattr(_partial, "level", 1)
    pending += text.decode("utf-8", errors="replace")
    *lines, rest = pending.split("\n")
    _partial.text = rest
    for line in lines:
        if line.strip():
            name = _LEVEL_NAMES.get(_partial.level)
            log.debug(line.rstrip(), extra={"native_level": name} if name else None)
