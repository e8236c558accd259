"""What `finetune` says around a run: many passes over a small file, a held-out loss that rose, Ctrl-C.

Training itself is faked (the figures a run would return), so these run in a second on CPU.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch", reason="the train extra (torch, transformers, peft) is not installed")
pytest.importorskip("transformers", reason="the train extra (torch, transformers, peft) is not installed")

from bot.cli import register_commands  # noqa: E402
from bot.cli.app import app  # noqa: E402
from bot.train.base_model import BaseModel  # noqa: E402
from bot.train.sft import EncodedSample, TrainConfig, TrainResult, planned_passes, planned_steps  # noqa: E402
from tests.train.test_sft_labels import ChatMLTokenizer  # noqa: E402


def _chats(path: Path, n: int) -> Path:
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": f"a{i} [1]."},
                ]
            }
        )
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class _Tokenizer(ChatMLTokenizer):
    chat_template = "chatml"
    pad_token_id = 0
    eos_token_id = 0


class _Model:
    def save_pretrained(self, folder: str) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)


def fake_training(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **figures: Any) -> list[TrainConfig]:
    """Everything but the training: the run returns `figures` as its TrainResult."""
    import transformers

    import bot.train.finetune
    import bot.train.sft

    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    (hf_dir / "config.json").write_text('{"num_attention_heads": 2}', encoding="utf-8")
    base = BaseModel(hf_dir, tmp_path / "base.gguf", "gguf", "0" * 64, tmp_path / "base.gguf", "llama")
    seen: list[TrainConfig] = []

    def train(
        hf: str,
        tokenizer: Any,
        train: list[EncodedSample],
        evaluation: list[EncodedSample],
        config: TrainConfig,
        *_: Any,
    ) -> tuple[_Model, TrainResult]:
        seen.append(config)
        steps = planned_steps(len(train), config)
        result = TrainResult(
            steps=steps,
            total_steps=steps,
            losses=[1.0] * steps,
            samples_trained=round(planned_passes(len(train), config) * len(train)),
        )
        for name, value in figures.items():
            setattr(result, name, value)
        return _Model(), result

    def write(path: Path, *args: Any, **kwargs: Any) -> None:
        path.write_bytes(b"GGUF adapter")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: _Tokenizer())
    monkeypatch.setattr(bot.train.finetune, "resolve_base", lambda *a: base)
    monkeypatch.setattr(bot.train.finetune, "convert_peft_tensors", lambda *a, **k: {})
    monkeypatch.setattr(bot.train.finetune, "write_lora_gguf", write)
    monkeypatch.setattr(bot.train.sft, "train_lora", train)
    monkeypatch.setattr(bot.train.sft, "lora_state_numpy", lambda model: {})
    return seen


def _finetune(tmp_path: Path, *flags: str) -> tuple[Any, dict[str, Any]]:
    register_commands()
    data = _chats(tmp_path / "chats.jsonl", 10)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["finetune", "--data", str(data), "--out", str(out), *flags])
    assert result.exit_code == 0, result.output
    return result, json.loads((out / "provenance.json").read_text(encoding="utf-8"))


def test_many_passes_over_a_small_file_are_said_before_training_and_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_training(monkeypatch, tmp_path)
    result, record = _finetune(tmp_path)
    # The default 24 steps of 4 samples on 10 samples: 3 steps a pass (4 + 4 + 2), 8 passes.
    assert "warning: 24 steps of 4 samples are 8.0 passes over 10 training samples" in result.output
    assert "--epochs 1" in result.output
    assert record["metrics"]["epochs"] == 8.0
    assert record["hyperparameters"]["epochs"] is None  # --max-steps decided, not the default epochs=1
    assert record["warnings"][0].startswith("24 steps of 4 samples are 8.0 passes")
    assert "serve it:   BOT_LLM__LORA_PATH=" in result.output  # nothing went wrong in the run itself


def test_one_pass_says_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_training(monkeypatch, tmp_path)
    result, record = _finetune(tmp_path, "--epochs", "1")
    assert "warning" not in result.output
    assert record["warnings"] == []
    assert record["metrics"]["epochs"] == 1.0


def test_a_held_out_loss_that_rose_is_said_last_and_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_training(monkeypatch, tmp_path, eval_loss_before=2.090, eval_loss_after=2.654)
    data = _chats(tmp_path / "eval.jsonl", 3)
    result, record = _finetune(tmp_path, "--epochs", "1", "--eval", str(data))
    lines = result.output.splitlines()
    (rose,) = [i for i, line in enumerate(lines) if "held-out loss rose (2.090 → 2.654)" in line]
    assert lines[rose].startswith("warning: ")
    assert lines[rose + 1].startswith("serve it anyway: BOT_LLM__LORA_PATH=")
    assert "serve it:" not in result.output
    assert record["metrics"]["eval_loss_rose"] is True
    assert any("held-out loss rose" in w for w in record["warnings"])


def test_an_interrupted_run_says_so_and_after_how_many_steps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_training(monkeypatch, tmp_path, steps=1, total_steps=6, interrupted=True, samples_trained=4)
    result, record = _finetune(tmp_path, "--epochs", "2")
    assert "warning: training was interrupted after 1 of 6 steps" in result.output
    assert "serve it anyway:" in result.output
    assert record["metrics"]["interrupted"] is True
    assert (record["metrics"]["steps"], record["metrics"]["steps_planned"]) == (1, 6)
    assert record["metrics"]["epochs"] == 0.4
