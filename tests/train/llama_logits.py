"""The next-token logits llama.cpp computes for a prompt, with or without a LoRA adapter (train tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def next_token_logits(model: Path, prompt: bytes, lora: Path | None = None) -> np.ndarray:
    from llama_cpp import Llama

    from bot.llm.cpu_buffers import extra_buffers_for_llama, use_extra_buffers

    with extra_buffers_for_llama(use_extra_buffers("auto")):
        llm = Llama(
            model_path=str(model),
            lora_path=str(lora) if lora else None,
            n_ctx=128,
            n_threads=2,
            logits_all=True,
            verbose=False,
        )
    try:
        llm.eval(llm.tokenize(prompt, add_bos=False))
        return np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
    finally:
        llm.close()
