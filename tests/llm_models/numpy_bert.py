"""A plain numpy BERT forward pass with mean pooling: the reference the converted GGUF is checked against."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

_erf = np.frompyfunc(math.erf, 1, 1)


def _layer_norm(
    x: npt.NDArray[np.float64], w: npt.NDArray[np.float64], b: npt.NDArray[np.float64], eps: float
):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _gelu(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # The exact erf form, as PyTorch's default nn.GELU computes it.
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


class NumpyBert:
    """all-MiniLM-L6-v2 (any BERT + mean pooling) in float64 numpy, from the unpacked model folder."""

    def __init__(self, model_dir: Path) -> None:
        import json

        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.w = {
            k.removeprefix("bert."): v.astype(np.float64)
            for k, v in load_file(model_dir / "model.safetensors").items()
            if v.dtype != np.int64
        }
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(256)  # sentence-transformers' max_seq_length for this model

    def embed_one(self, text: str) -> npt.NDArray[np.float32]:
        cfg, w = self.config, self.w
        eps = float(cfg["layer_norm_eps"])
        n_head = int(cfg["num_attention_heads"])
        ids = self.tokenizer.encode(text).ids
        n = len(ids)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        d = x.shape[1]
        hd = d // n_head
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."

            def lin(t: npt.NDArray[np.float64], name: str, p: str = p) -> npt.NDArray[np.float64]:
                # einsum without optimize stays off BLAS: its thread pool crawls on a busy shared CPU.
                return np.einsum("ij,kj->ik", t, w[p + name + ".weight"]) + w[p + name + ".bias"]

            q = lin(x, "attention.self.query").reshape(n, n_head, hd).transpose(1, 0, 2)
            k = lin(x, "attention.self.key").reshape(n, n_head, hd).transpose(1, 0, 2)
            v = lin(x, "attention.self.value").reshape(n, n_head, hd).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(1, 0, 2).reshape(n, d)
            x = _layer_norm(
                x + lin(ctx, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            h = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(
                x + lin(h, "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                eps,
            )
        pooled = x.mean(axis=0)
        return (pooled / np.linalg.norm(pooled)).astype(np.float32)

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return np.stack([self.embed_one(t) for t in texts])
