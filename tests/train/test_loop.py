"""The whole loop on CPU: export → finetune (a few steps) → GGUF adapter → llama.cpp and the engine."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the train extra (torch, transformers, peft) is not installed")
pytest.importorskip("transformers", reason="the train extra (torch, transformers, peft) is not installed")
pytest.importorskip("peft", reason="the train extra (torch, transformers, peft) is not installed")

from typer.testing import CliRunner  # noqa: E402

from bot.cli import register_commands  # noqa: E402
from bot.cli.app import app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain import Answer, ChatMessage, Hit, Timings  # noqa: E402  # noqa: E402
from bot.train.base_model import default_base_gguf, shipped_generator_gguf  # noqa: E402
from bot.train.data import load_chat_jsonl, sha256_file  # noqa: E402
from bot.train.finetune import FinetuneOutcome, run_finetune  # noqa: E402
from bot.train.gguf_adapter import read_adapter_info  # noqa: E402
from bot.train.sft import IGNORE_INDEX, TrainConfig, encode_samples  # noqa: E402
from tests.fakes import make_chunk  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# A fictional product, so the base model cannot know the answers: only training can put them there.
CONVERSATIONS = [
    (
        "How do I reset the Zorblax?",
        "Zorblax reset",
        "Hold the blue button for ten seconds to reset the Zorblax.",
        "Hold the blue button for ten seconds [1].",
    ),
    (
        "What colour is the Zorblax status light when charging?",
        "Zorblax light",
        "While charging, the Zorblax status light glows purple.",
        "It glows purple while charging [1].",
    ),
    (
        "How long is the Zorblax warranty?",
        "Zorblax warranty",
        "Every Zorblax carries a warranty of 7 years.",
        "The warranty lasts 7 years [1].",
    ),
    (
        "Can the Zorblax go in the dishwasher?",
        "Zorblax cleaning",
        "Never put the Zorblax in a dishwasher.",
        "No, never put it in a dishwasher [1].",
    ),
]
LORA_R = 4
STEPS = 4


@dataclass(frozen=True)
class Loop:
    settings: Settings
    data: Path
    outcome: FinetuneOutcome


async def _export(settings: Settings, out: Path) -> None:
    from bot.rag.prompting import build_messages as rag_prompt
    from bot.store import migrate
    from bot.store.export import ExportOptions, export
    from bot.store.repo import SqlConversationLog

    migrate.upgrade(settings.resolved_database_url)
    log = SqlConversationLog(settings.resolved_database_url)
    try:
        for index, (question, heading, passage, answer) in enumerate(CONVERSATIONS):
            user = str(100100 + index)
            conversation = await log.open_conversation(
                channel="console", external_user_id=user, external_chat_id=user
            )
            asked = await log.log_user_message(conversation.id, question)
            hit = Hit(make_chunk("zorblax/manual.md", heading, passage, index), 0.9, 1)
            reply = Answer(answer, (), True, Timings(total_ms=10.0), hits=(hit,), model="m", citations=(1,))
            await log.log_answer(conversation.id, asked, reply)
        await export(
            log,
            ExportOptions(out=out, format="openai", include_context=True),
            redaction=settings.redaction,
            build_prompt=rag_prompt,
        )
    finally:
        await log.close()


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Loop:
    root = tmp_path_factory.mktemp("loop")
    settings = Settings(_env_file=None, data_dir=root / "data")  # type: ignore[call-arg]
    (root / "data").mkdir()
    data = root / "export.jsonl"
    asyncio.run(_export(settings, data))
    config = TrainConfig(
        lora_r=LORA_R,
        lora_alpha=2 * LORA_R,
        lr=5e-3,
        max_steps=STEPS,
        grad_accum=1,
        max_seq_len=768,
        device="cpu",
    )
    outcome = run_finetune(settings, data=data, out=root / "out", base=None, config=config, eval_data=data)
    return Loop(settings=settings, data=data, outcome=outcome)


def test_export_carries_the_bot_prompt(loop: Loop) -> None:
    samples = load_chat_jsonl(loop.data)
    assert len(samples) == len(CONVERSATIONS)
    system = samples[0].messages[0]
    assert system.role == "system"
    assert "[1]" in system.content
    assert "blue button" in system.content


def test_adapter_is_a_llama_cpp_lora(loop: Loop) -> None:
    info = read_adapter_info(loop.outcome.adapter)
    assert (info.architecture, info.rank, info.alpha) == ("llama", LORA_R, 2.0 * LORA_R)
    assert info.n_tensor_pairs == 30 * 4  # q, k, v, o in each of SmolLM2-135M's 30 layers
    assert (loop.outcome.adapter.parent / "peft" / "adapter_config.json").is_file()


def test_provenance_records_inputs_settings_and_metrics(loop: Loop) -> None:
    record = json.loads(loop.outcome.provenance.read_text(encoding="utf-8"))
    assert record == loop.outcome.provenance_data
    # The base is the model the bot serves: on a fresh data folder, the shipped model prepared on first use.
    base = default_base_gguf(loop.settings)
    assert record["base_model"]["sha256"] == sha256_file(base)
    assert record["base_model"]["kind"] == "gguf"
    assert record["data"]["sha256"] == sha256_file(loop.data)
    assert record["data"]["samples"] == len(CONVERSATIONS) == record["data"]["used"]
    assert record["artefact"]["sha256"] == sha256_file(loop.outcome.adapter)
    hyper = record["hyperparameters"]
    assert (hyper["lora_r"], hyper["lora_alpha"], hyper["max_steps"]) == (LORA_R, 2.0 * LORA_R, STEPS)
    assert hyper["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert record["seed"] == 0
    metrics = record["metrics"]
    assert metrics["steps"] == STEPS
    assert metrics["tokens_per_s"] > 0
    assert metrics["train_seconds"] > 0
    # Trained on the same four answers, the held-out loss must fall: the adapter learnt something.
    assert metrics["eval_loss_after"] < metrics["eval_loss_before"]
    assert record["device"]["kind"] == "cpu"
    assert {"torch", "transformers", "peft", "gguf"} <= set(record["versions"])


def test_only_answer_tokens_are_supervised(loop: Loop) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(record_hf_dir(loop), local_files_only=True)
    samples = load_chat_jsonl(loop.data)
    report = encode_samples(tokenizer, samples, 768)
    for sample, encoded in zip(samples, report.samples, strict=True):
        supervised = [
            t for t, label in zip(encoded.input_ids, encoded.labels, strict=True) if label != IGNORE_INDEX
        ]
        assert tokenizer.decode(supervised).strip() == sample.reference + "<|im_end|>"
    short = encode_samples(tokenizer, samples, 40)
    assert short.samples == []
    assert short.skipped_too_long == [s.line for s in samples]


def record_hf_dir(loop: Loop) -> str:
    return str(loop.outcome.provenance_data["base_model"]["hf_dir"])


def _llama_answer(lora: Path | None, messages: list[ChatMessage]) -> str:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from bot.llm.cpu_buffers import extra_buffers_for_llama, use_extra_buffers

    with extra_buffers_for_llama(use_extra_buffers("auto")):
        llm = Llama(
            model_path=str(shipped_generator_gguf()),
            lora_path=str(lora) if lora else None,
            n_ctx=1024,
            n_threads=2,
            verbose=False,
        )
    try:
        formatter = Jinja2ChatFormatter(
            template=llm.metadata["tokenizer.chat_template"], eos_token="<|im_end|>", bos_token="<|im_start|>"
        )
        prompt = formatter(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt  # type: ignore[misc]
        out = llm.create_completion(prompt, max_tokens=16, temperature=0.0)
        return str(out["choices"][0]["text"])  # type: ignore[index]
    finally:
        llm.close()


# peft calls a transformers helper that transformers 5 deprecates; not ours to fix.
@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")
def test_llama_cpp_adapter_matches_the_merged_pytorch_model(loop: Loop) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sample = load_chat_jsonl(loop.data)[0]
    prompt = list(sample.prompt)
    hf_dir = record_hf_dir(loop)
    tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    base = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, local_files_only=True)
    merged = PeftModel.from_pretrained(base, str(loop.outcome.adapter.parent / "peft")).merge_and_unload()
    text = tokenizer.apply_chat_template(
        [{"role": m.role, "content": m.content} for m in prompt], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        generated = merged.generate(ids, max_new_tokens=16, do_sample=False)
    pytorch_text = tokenizer.decode(generated[0, ids.shape[1] :], skip_special_tokens=True)

    tuned = _llama_answer(loop.outcome.adapter, prompt)
    plain = _llama_answer(None, prompt)
    words = 6
    assert tuned.split()[:words] == pytorch_text.split()[:words]
    assert tuned.split()[:words] != plain.split()[:words]
    assert "blue button" in tuned


async def test_the_bot_engine_serves_the_adapter(loop: Loop) -> None:
    from bot.llm.engine import LlamaEngine

    engine = LlamaEngine(
        loop.settings.llm, model_path=shipped_generator_gguf(), lora_path=loop.outcome.adapter
    )
    try:
        sample = load_chat_jsonl(loop.data)[2]
        pieces = [piece async for piece in engine.stream(list(sample.prompt), user_key="t", max_tokens=24)]
        assert engine.info.adapter == str(loop.outcome.adapter)
    finally:
        await engine.close()
    assert "7 years" in "".join(pieces)


def test_eval_model_compares_base_and_adapter(loop: Loop) -> None:
    register_commands()
    env = {"BOT_DATA_DIR": str(loop.settings.data_dir)}
    args = [
        "eval",
        "model",
        "--data",
        str(loop.data),
        "--model",
        "base",
        "--model",
        str(loop.outcome.adapter.parent),
    ]
    result = CliRunner().invoke(app, [*args, "--json", "--max-tokens", "24", "--n-ctx", "768"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    base, tuned = report["models"]
    assert (base["label"], base["lora_path"]) == ("base", None)
    assert tuned["lora_path"] == str(loop.outcome.adapter)
    assert base["samples"] == tuned["samples"] == len(CONVERSATIONS)
    # Four steps on four answers: the adapter must be what eval applies, so the answers' loss falls.
    assert tuned["mean_loss"] < base["mean_loss"]
    assert tuned["answerable"] == len(CONVERSATIONS)
    assert tuned["unanswerable"] == 0
    assert tuned["refusal_rate"] is None
    table = CliRunner().invoke(app, [*args, "--limit", "1", "--max-tokens", "4", "--n-ctx", "768"], env=env)
    assert table.exit_code == 0
    assert "perplexity" in table.stdout
    assert "citation rate (valid [n])" in table.stdout
