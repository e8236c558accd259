"""Validation of the training file: clear, line-numbered errors, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import register_commands
from bot.cli.app import app
from bot.train.data import DataError, load_chat_jsonl
from bot.train.sft import RECIPE, RECIPE_STEPS, TrainConfig

GOOD = {
    "messages": [
        {"role": "system", "content": "Answer from the passages."},
        {"role": "user", "content": "How do I reset my password?"},
        {"role": "assistant", "content": "Use the reset link [1]."},
    ]
}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_samples_with_prompt_and_reference(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD), "", json.dumps(GOOD)])
    samples = load_chat_jsonl(path)
    assert [s.line for s in samples] == [1, 3]
    assert samples[0].reference == "Use the reset link [1]."
    assert [m.role for m in samples[0].prompt] == ["system", "user"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{not json", "line 2: not valid JSON"),
        (json.dumps({"conversations": []}), 'line 2: expected an object with a "messages" list'),
        (json.dumps({"messages": [{"content": "hi"}]}), 'line 2, message 1: missing "role"'),
        (json.dumps({"messages": [{"role": "bot", "content": "hi"}]}), "role 'bot' is not one of"),
        (json.dumps({"messages": [{"role": "user", "content": 3}]}), '"content" must be a string'),
        (json.dumps({"messages": [{"role": "user", "content": "q"}]}), "line 2: no assistant message"),
        (json.dumps({"messages": [{"role": "assistant", "content": "a"}]}), "line 2: no user message"),
        (
            json.dumps(
                {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]}
            ),
            "the assistant answer is empty",
        ),
        (
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": "q"},
                        {"role": "system", "content": "s"},
                        {"role": "assistant", "content": "a"},
                    ]
                }
            ),
            "a system message may only come first",
        ),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, line: str, expected: str) -> None:
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD), line])
    with pytest.raises(DataError) as info:
        load_chat_jsonl(path)
    assert expected in str(info.value)
    assert "1 bad line(s)" in str(info.value)


def test_every_bad_line_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", ["{", json.dumps(GOOD), "[]", "{"])
    with pytest.raises(DataError) as info:
        load_chat_jsonl(path)
    message = str(info.value)
    assert "3 bad line(s)" in message
    assert "line 1:" in message
    assert "line 3:" in message
    assert "line 4:" in message


def test_empty_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no samples"):
        load_chat_jsonl(_write(tmp_path / "empty.jsonl", [""]))
    with pytest.raises(DataError, match="no such file"):
        load_chat_jsonl(tmp_path / "missing.jsonl")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="not UTF-8"):
        load_chat_jsonl(binary)


def test_finetune_command_rejects_bad_data_before_loading_anything(tmp_path: Path) -> None:
    register_commands()
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD), '{"messages": [{"role": "user"}]}'])
    result = CliRunner().invoke(
        app, ["finetune", "--data", str(path), "--out", str(tmp_path / "out"), "--max-steps", "1"]
    )
    assert result.exit_code == 2
    assert "line 2, message 1" in result.output
    assert "content" in result.output
    assert not (tmp_path / "out").exists()


def test_finetune_command_rejects_unknown_device(tmp_path: Path) -> None:
    register_commands()
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD)])
    result = CliRunner().invoke(
        app, ["finetune", "--data", str(path), "--out", str(tmp_path / "out"), "--device", "tpu"]
    )
    assert result.exit_code == 2
    assert "--device must be cpu, cuda or auto" in result.output


@pytest.mark.parametrize(
    ("flags", "steps", "epochs"),
    [
        ([], RECIPE_STEPS, 1),  # the measured recipe
        (["--epochs", "2"], None, 2),  # whole passes when asked for
        (["--max-steps", "5"], 5, 1),
        (["--epochs", "2", "--max-steps", "5"], 5, 2),  # steps win, as in HF Trainer
    ],
)
def test_finetune_defaults_to_the_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], steps: int | None, epochs: int
) -> None:
    import bot.train.finetune

    seen: list[TrainConfig] = []

    def capture(*args: object, config: TrainConfig, **kwargs: object) -> None:
        seen.append(config)
        raise DataError("stopped by the test")

    monkeypatch.setattr(bot.train.finetune, "run_finetune", capture)
    register_commands()
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD)])
    result = CliRunner().invoke(app, ["finetune", "--data", str(path), "--out", str(tmp_path / "o"), *flags])
    assert "stopped by the test" in result.output
    (config,) = seen
    assert (config.max_steps, config.epochs) == (steps, epochs)
    assert (config.lr, config.grad_accum, config.batch_size) == (RECIPE.lr, RECIPE.grad_accum, 1)


def test_finetune_does_not_write_over_an_earlier_adapter_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.train.finetune

    started: list[Path] = []

    def capture(*args: object, **kwargs: object) -> None:
        started.append(Path(str(kwargs.get("out", args[1] if len(args) > 1 else ""))))
        raise DataError("stopped by the test")

    monkeypatch.setattr(bot.train.finetune, "run_finetune", capture)
    register_commands()
    path = _write(tmp_path / "d.jsonl", [json.dumps(GOOD)])
    out = tmp_path / "served"
    out.mkdir()
    (out / "adapter.gguf").write_bytes(b"GGUF earlier run")
    refused = CliRunner().invoke(app, ["finetune", "--data", str(path), "--out", str(out)])
    assert refused.exit_code == 2
    assert "already holds an adapter" in refused.output
    assert "--force" in refused.output
    assert started == []
    assert (out / "adapter.gguf").read_bytes() == b"GGUF earlier run"
    forced = CliRunner().invoke(app, ["finetune", "--data", str(path), "--out", str(out), "--force"])
    assert "stopped by the test" in forced.output
    assert len(started) == 1


@pytest.mark.parametrize(
    ("record", "name"),
    [
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, "ShareGPT"),
        ({"instruction": "q", "input": "", "output": "a"}, "Alpaca"),
    ],
)
def test_another_export_format_is_named_once(tmp_path: Path, record: dict[str, object], name: str) -> None:
    # The export writes these too; a file in one of them is well formed, just not what finetune reads.
    path = _write(tmp_path / "d.jsonl", [json.dumps(record)] * 16)
    with pytest.raises(DataError) as info:
        load_chat_jsonl(path)
    message = str(info.value)
    assert f"this is {name}" in message
    assert "export with --format openai" in message
    assert "bad line" not in message
    register_commands()
    result = CliRunner().invoke(app, ["finetune", "--data", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.count("export with --format openai") == 1
