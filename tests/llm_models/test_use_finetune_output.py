"""`models use` takes a finetune output folder, and refuses an adapter already merged into the model."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

import bot.cli.models  # noqa: F401 - registers the commands on the shared apps
from bot.cli.app import app
from bot.train.merge import MERGE_ADAPTER_KEY, MERGE_ADAPTER_NAME_KEY, MERGE_BASE_KEY, MERGE_QUANT_KEY
from tests.llm_models.gguf_files import write_gguf

runner = CliRunner()


def write_merged(path: Path, adapter: Path) -> Path:
    """A stand-in model whose header says `adapter` was merged into it, as `models merge` writes it."""
    merged = {
        MERGE_BASE_KEY: "0" * 64,
        MERGE_ADAPTER_KEY: hashlib.sha256(adapter.read_bytes()).hexdigest(),
        MERGE_ADAPTER_NAME_KEY: "run1 LoRA",
        MERGE_QUANT_KEY: "Q8_0",
    }
    return write_gguf(path, strings=merged)


def test_an_adapter_is_not_put_on_a_model_it_is_merged_into(data_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "ft" / "run1"
    run.mkdir(parents=True)
    adapter = write_gguf(run / "adapter.gguf", kind="adapter")
    merged = write_merged(run / "merged.Q8_0.gguf", adapter)
    result = runner.invoke(app, ["models", "use", str(merged)])
    assert result.exit_code == 0, result.output
    assert "merged model" in result.output

    result = runner.invoke(app, ["models", "use", str(adapter)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "already has the adapter" in text
    assert "apply the fine-tune twice" in text
    assert "Traceback" not in result.output
    # Nothing changed: the merged model is still the choice, without an adapter.
    active = (data_dir / "models" / "active.json").read_text()
    assert str(merged) in active
    assert str(adapter) not in active

    # Another adapter is not this one: it goes on top as before.
    other = write_gguf(tmp_path / "other.gguf", kind="adapter", name="other")
    result = runner.invoke(app, ["models", "use", str(other)])
    assert result.exit_code == 0, result.output


def test_a_finetune_output_folder_means_its_adapter(data_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "ft"
    run.mkdir()
    adapter = write_gguf(run / "adapter.gguf", kind="adapter")
    result = runner.invoke(app, ["models", "use", str(run)])
    assert result.exit_code == 0, result.output
    assert "LoRA adapter" in result.output
    assert str(adapter) in (data_dir / "models" / "active.json").read_text()

    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["models", "use", str(empty)])
    assert result.exit_code == 2, result.output
    assert "without adapter.gguf" in " ".join(result.output.split())
    assert "not found" not in result.output
