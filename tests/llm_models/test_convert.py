"""The torch-free converter: its GGUF loads in llama.cpp and embeds like the original model."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot.llm.embedder import LlamaEmbedder
from bot.llm.gguf_convert import ConversionError, convert_bert_dir, convert_bert_zip
from tests.llm_models.conftest import PreparedModels
from tests.llm_models.numpy_bert import NumpyBert

SENTENCES = [
    "How do I reset my password?",
    "The parcel never arrived and the tracking page has not changed for a week.",
    "Python is a programming language that lets you work quickly and integrate systems more effectively.",
    "Héllo wörld! Ünïcode façade, naïve café — 東京 and emojis 🚀.",
    "a",
    "Why does my order show as pending after I paid with a credit card two days ago?",
]


def test_gguf_matches_numpy_reference(embedder: LlamaEmbedder, model_dir: Path) -> None:
    reference = NumpyBert(model_dir).embed(SENTENCES)
    ours = embedder.embed(SENTENCES)
    cosines = (reference * ours).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines
    # A different sentence must not match: the check is not vacuous.
    assert float(reference[0] @ ours[1]) < 0.9


@pytest.mark.slow
def test_gguf_matches_sentence_transformers(embedder: LlamaEmbedder, model_dir: Path) -> None:
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(model_dir), device="cpu")
    reference = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    cosines = (np.asarray(reference, dtype=np.float32) * embedder.embed(SENTENCES)).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_tokenizer_matches_hugging_face(embedder: LlamaEmbedder, model_dir: Path) -> None:
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    # Hangul is left out on purpose: llama.cpp's WordPiece does not decompose it as Hugging Face's NFD does.
    texts = [*SENTENCES, "e-mail: support@example.com, order #4471 (2x) for $19.99!", "ÀÉÎÕÜ ß ﬁ naïve"]
    for text in texts:
        expected = hf.encode(text, add_special_tokens=False).ids
        got = embedder._llm.tokenize(text.encode(), add_bos=False, special=False)
        assert got == expected, text
        assert embedder.count_tokens(text) == len(expected)


def test_gguf_metadata_is_a_bert_embedder(prepared_models: PreparedModels) -> None:
    import gguf

    reader = gguf.GGUFReader(prepared_models.embedder)
    fields = reader.fields
    assert fields["general.architecture"].contents() == "bert"
    assert fields["general.type"].contents() == "model"
    assert fields["bert.pooling_type"].contents() == int(gguf.PoolingType.MEAN)
    assert fields["bert.attention.causal"].contents() is False
    assert fields["bert.context_length"].contents() == 512
    assert fields["tokenizer.ggml.model"].contents() == "bert"
    assert len(fields["tokenizer.ggml.tokens"].data) == 30522
    assert fields["tokenizer.ggml.token_type_count"].contents() == 2
    assert fields["tokenizer.ggml.bos_token_id"].contents() == 101
    assert fields["tokenizer.ggml.seperator_token_id"].contents() == 102
    names = {t.name for t in reader.tensors}
    assert len(names) == 5 + 6 * 16  # embeddings + 16 tensors per layer; pooler dropped
    assert not any(n.startswith("pooler") for n in names)


def test_conversion_is_deterministic(tmp_path: Path, prepared_models: PreparedModels) -> None:
    again = convert_bert_zip(
        prepared_models.model_zip, tmp_path / "again.gguf", outtype="f16", name="all-MiniLM-L6-v2"
    )
    assert again.read_bytes() == prepared_models.embedder.read_bytes()
    assert list(tmp_path.iterdir()) == [again]  # no temp file left behind


def _copy_model(model_dir: Path, target: Path) -> Path:
    shutil.copytree(model_dir, target)
    return target


def test_non_bert_model_is_refused(tmp_path: Path, model_dir: Path) -> None:
    folder = _copy_model(model_dir, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="llama", architectures=["LlamaForCausalLM"])
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConversionError, match="only BERT"):
        convert_bert_dir(folder, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


def test_missing_weights_leave_no_file(tmp_path: Path, model_dir: Path) -> None:
    folder = _copy_model(model_dir, tmp_path / "m")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ConversionError, match=r"model\.safetensors is missing"):
        convert_bert_dir(folder, tmp_path / "out" / "e.gguf")
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_unknown_tensor_is_refused_and_cleaned_up(tmp_path: Path, model_dir: Path) -> None:
    from safetensors.numpy import load_file, save_file

    folder = _copy_model(model_dir, tmp_path / "m")
    tensors = load_file(folder / "model.safetensors")
    tensors["encoder.extra.weight"] = np.zeros((2, 2), dtype=np.float32)
    save_file(tensors, folder / "model.safetensors")
    out_dir = tmp_path / "out"
    with pytest.raises(ConversionError, match="cannot map tensor"):
        convert_bert_dir(folder, out_dir / "e.gguf")
    assert list(out_dir.iterdir()) == []


def test_bad_archives_are_refused(tmp_path: Path) -> None:
    not_zip = tmp_path / "model.zip"
    not_zip.write_bytes(b"this is not a zip")
    with pytest.raises(ConversionError, match="not a readable zip"):
        convert_bert_zip(not_zip, tmp_path / "a.gguf")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape.txt", "x")
    with pytest.raises(ConversionError, match="unsafe member"):
        convert_bert_zip(evil, tmp_path / "b.gguf")
    assert not (tmp_path.parent / "escape.txt").exists()
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("README.txt", "no model here")
    with pytest.raises(ConversionError, match=r"config\.json is missing"):
        convert_bert_zip(empty, tmp_path / "c.gguf")
