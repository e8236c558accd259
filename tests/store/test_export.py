"""Training-data export: formats and their shapes, filters, corrections, redaction, split, atomic writes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from bot.config import RedactionSettings, Settings
from bot.domain import Answer, Hit, Outcome, Timings
from bot.rag.citations import supports_correction
from bot.rag.prompting import build_messages
from bot.store.export import ExportError, ExportOptions, ExportStats, export, parse_date, split_paths
from bot.store.formats import FORMATS
from bot.store.models import Message
from bot.store.repo import SqlConversationLog
from tests.fakes import make_chunk

OLD = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


async def run_export(log: SqlConversationLog | str, options: ExportOptions) -> ExportStats:
    """The export as the CLI runs it: default redaction and the bot's own prompt builder."""
    return await export(
        log,
        options,
        redaction=RedactionSettings(),
        build_prompt=build_messages,
        supports=supports_correction,
    )


def _answer(text: str, *, outcome: Outcome = "answered", grounded: bool = True, passages: int = 2) -> Answer:
    hits = tuple(
        Hit(
            make_chunk(f"faq/general{i}.rst", f"Section {i}", f"Passage {i}: Python is free.", i),
            0.9 - i / 10,
            i + 1,
        )
        for i in range(passages)
    )
    return Answer(text, (), grounded, Timings(total_ms=100.0), outcome=outcome, hits=hits, model="m")


async def _turn(log: SqlConversationLog, conv_id: int, question: str, answer: Answer | None) -> int | None:
    q = await log.log_user_message(conv_id, question)
    if answer is None:
        return None
    return await log.log_answer(conv_id, q, answer)


async def _populate(log: SqlConversationLog) -> None:
    open_ = log.open_conversation
    a = await open_(channel="telegram", external_user_id="100100100", external_chat_id="100100100")
    a1 = await _turn(
        log, a.id, "How do I install Python? Mail me at bob@example.com", _answer("Use the installer [1].")
    )
    assert a1 is not None
    await log.add_feedback(a1, "up")
    await _turn(
        log,
        a.id,
        "And on Linux, I'm @bob_the_user",
        _answer("Use apt.", outcome="ungrounded", grounded=False),
    )
    await _turn(log, a.id, "What about Windows?", _answer("The bot is busy.", outcome="busy", passages=0))

    b = await open_(channel="telegram", external_user_id="100200200", external_chat_id="100200200")
    b1 = await _turn(log, b.id, "Is Python free? My id 100200200", _answer("No."))
    b2 = await _turn(log, b.id, "Who maintains it? Call +1 415-555-2671", _answer("Nobody."))
    assert b1 is not None
    assert b2 is not None
    await log.add_feedback(b1, "down")
    await log.add_feedback(b2, "down")
    await log.add_correction(b2, "42", "The PSF maintains it [1].")
    await _turn(log, b.id, "Hello?", None)

    for user in ("100300300", "100400400"):  # two identical conversations: one sample is an exact duplicate
        c = await open_(channel="console", external_user_id=user, external_chat_id=user)
        await _turn(log, c.id, "What is PEP 8?", _answer("A style guide [1]."))

    e = await open_(channel="telegram", external_user_id="100500500", external_chat_id="100500500")
    await _turn(log, e.id, "An old question", _answer("An old answer."))
    async with log.transaction(write=True) as conn:
        await conn.execute(update(Message).where(Message.conversation_id == e.id).values(created_at=OLD))


@pytest.fixture
async def populated(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> AsyncIterator[SqlConversationLog]:
    url = migrated_sqlite(tmp_path / "data" / "bot.db")
    log = SqlConversationLog(url)
    await _populate(log)
    yield log
    await log.close()


def _read(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes().decode("utf-8")
    assert raw.endswith("\n")
    return [json.loads(line) for line in raw.splitlines()]


def validate_openai(record: dict[str, Any]) -> None:
    assert set(record) == {"messages"}
    messages = record["messages"]
    assert messages, record
    for i, m in enumerate(messages):
        assert set(m) == {"role", "content"}
        assert m["role"] in ("system", "user", "assistant")
        assert isinstance(m["content"], str)
        assert m["content"]
        assert m["role"] != "system" or i == 0
    assert messages[-1]["role"] == "assistant"
    assert any(m["role"] == "user" for m in messages)


def validate_sharegpt(record: dict[str, Any]) -> None:
    assert set(record) <= {"conversations", "system"}
    turns = record["conversations"]
    assert [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2)
    assert len(turns) % 2 == 0
    for t in turns:
        assert set(t) == {"from", "value"}
        assert isinstance(t["value"], str)
        assert t["value"]
    assert isinstance(record.get("system", ""), str)


def validate_alpaca(record: dict[str, Any]) -> None:
    assert set(record) == {"instruction", "input", "output"}
    assert all(isinstance(v, str) for v in record.values())
    assert record["instruction"]
    assert record["output"]


VALIDATORS = {"openai": validate_openai, "sharegpt": validate_sharegpt, "alpaca": validate_alpaca}


def _assistant_texts(fmt: str, records: list[dict[str, Any]]) -> list[str]:
    if fmt == "openai":
        return [r["messages"][-1]["content"] for r in records]
    if fmt == "sharegpt":
        return [r["conversations"][-1]["value"] for r in records]
    return [r["output"] for r in records]


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "alpaca"])
async def test_each_format_has_its_documented_shape(
    populated: SqlConversationLog, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out" / f"{fmt}.jsonl"
    stats = await run_export(populated, ExportOptions(out=out, format=fmt))
    records = _read(out)
    for record in records:
        VALIDATORS[fmt](record)
    assert sorted(_assistant_texts(fmt, records)) == sorted(
        [
            "Use the installer [1].",
            "Use apt.",
            "The PSF maintains it [1].",
            "A style guide [1].",
            "An old answer.",
        ]
    )
    assert stats.samples_written == len(records) == 5
    assert stats.conversations_read == 5
    assert stats.answers_seen == 8
    assert dict(stats.dropped) == {
        "not_model_answer:busy": 1,
        "thumbs_down": 1,
        "duplicate": 1,
        "no_answer": 1,
    }
    assert stats.files == (out,)
    text = out.read_text(encoding="utf-8")
    for secret in ("bob@example.com", "@bob_the_user", "415-555-2671", "100200200"):
        assert secret not in text
    assert {"EMAIL", "HANDLE", "PHONE", "USER_ID"} <= set(stats.redactions)
    assert list(out.parent.iterdir()) == [out]  # no temp file left behind


async def test_history_precedes_later_questions(populated: SqlConversationLog, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    await run_export(populated, ExportOptions(out=out))
    by_answer = {r["messages"][-1]["content"]: r["messages"] for r in _read(out)}
    linux = by_answer["Use apt."]
    assert [m["role"] for m in linux] == ["user", "assistant", "user", "assistant"]
    assert linux[0]["content"] == "How do I install Python? Mail me at <EMAIL>"
    assert linux[2]["content"] == "And on Linux, I'm <HANDLE>"
    psf = by_answer["The PSF maintains it [1]."]
    # The 👎 answer before it was left out as a target, and so it is as history: the customer's question
    # stays, the wrong answer is no context to carry on from.
    assert [m["content"] for m in psf] == [
        "Is Python free? My id <USER_ID>",
        "Who maintains it? Call <PHONE>",
        "The PSF maintains it [1].",
    ]


async def test_filters(populated: SqlConversationLog, tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    stats = await run_export(populated, ExportOptions(out=out, min_rating="up"))
    assert sorted(_assistant_texts("openai", _read(out))) == [
        "The PSF maintains it [1].",
        "Use the installer [1].",
    ]
    assert stats.dropped["below_min_rating"] == 4

    stats = await run_export(populated, ExportOptions(out=out, grounded_only=True))
    assert "Use apt." not in _assistant_texts("openai", _read(out))
    assert stats.dropped["ungrounded"] == 1

    stats = await run_export(populated, ExportOptions(out=out, until=parse_date("2025-01-01", end=True)))
    assert _assistant_texts("openai", _read(out)) == ["An old answer."]
    assert stats.conversations_read == 1

    stats = await run_export(populated, ExportOptions(out=out, since=parse_date("2025-01-02")))
    assert "An old answer." not in _assistant_texts("openai", _read(out))
    assert stats.samples_written == 4


async def test_grounded_only_leaves_out_a_correction_given_where_the_model_had_no_passages(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> None:
    log = SqlConversationLog(migrated_sqlite(tmp_path / "data" / "bot.db"))
    try:
        conv = await log.open_conversation(channel="console", external_user_id="u1", external_chat_id="u1")
        refused = await _turn(
            log, conv.id, "Can I pay by cheque?", _answer("I don't know.", outcome="refused", passages=0)
        )
        answered = await _turn(log, conv.id, "Is Python free?", _answer("Nobody knows."))
        assert refused is not None
        assert answered is not None
        await log.add_correction(refused, "42", "No, cheques are not accepted.")
        await log.add_correction(answered, "42", "Yes, Python is free [1].")
        out = tmp_path / "g.jsonl"
        stats = await run_export(log, ExportOptions(out=out, grounded_only=True))
        assert _assistant_texts("openai", _read(out)) == ["Yes, Python is free [1]."]
        assert stats.dropped["ungrounded"] == 1
        # Without --grounded-only both corrections are the labels they are.
        await run_export(log, ExportOptions(out=out))
        assert len(_read(out)) == 2
    finally:
        await log.close()


async def test_a_refusal_by_the_gate_logged_with_the_passages_found_is_still_not_grounded(
    tmp_path: Path, migrated_sqlite: Callable[[Path], str]
) -> None:
    # The gate's refusal is logged with what the search found (for the content gaps) but names no model: the
    # model was given nothing, so an admin's correction of it is no grounded label, and its sample holds no
    # passages. A refusal the model wrote with passages in its prompt names the model and stays grounded.
    log = SqlConversationLog(migrated_sqlite(tmp_path / "data" / "bot.db"))
    try:
        conv = await log.open_conversation(channel="console", external_user_id="u1", external_chat_id="u1")
        gate = replace(_answer("I don't know.", outcome="refused"), model="")
        by_gate = await _turn(log, conv.id, "Can I pay by cheque?", gate)
        by_model = await _turn(
            log, conv.id, "Is Python free?", _answer("I don't know.", outcome="refused", grounded=False)
        )
        assert by_gate is not None
        assert by_model is not None
        await log.add_correction(by_gate, "42", "No, cheques are not accepted.")
        await log.add_correction(by_model, "42", "Yes, Python is free [1].")
        out = tmp_path / "g.jsonl"
        stats = await run_export(log, ExportOptions(out=out, grounded_only=True))
        assert _assistant_texts("openai", _read(out)) == ["Yes, Python is free [1]."]
        assert stats.dropped["ungrounded"] == 1
        await run_export(log, ExportOptions(out=out, include_context=True))
        prompts = {r["messages"][-1]["content"]: r["messages"][0]["content"] for r in _read(out)}
        assert "Passage 0" not in prompts["No, cheques are not accepted."]
        assert "Passage 0: Python is free." in prompts["Yes, Python is free [1]."]
    finally:
        await log.close()


async def test_include_context_rebuilds_the_bots_prompt(
    populated: SqlConversationLog, tmp_path: Path
) -> None:
    out = tmp_path / "ctx.jsonl"
    await run_export(populated, ExportOptions(out=out, include_context=True))
    records = {r["messages"][-1]["content"]: r["messages"] for r in _read(out)}
    first = records["Use the installer [1]."]
    hits = _answer("x").hits
    from bot.rag.prompting import Passage

    expected = build_messages(
        "How do I install Python? Mail me at bob@example.com",
        [Passage(h.chunk.source, h.chunk.heading, h.chunk.text, h.chunk.url) for h in hits],
    )
    assert [m["role"] for m in first] == [m.role for m in expected] + ["assistant"]
    assert first[0]["content"] == expected[0].content  # system rules and the passages, exactly
    assert first[1]["content"] == expected[1].content.replace("bob@example.com", "<EMAIL>")
    assert "Passage 1: Python is free." in first[0]["content"]

    out_sg = tmp_path / "ctx-sg.jsonl"
    await run_export(populated, ExportOptions(out=out_sg, format="sharegpt", include_context=True))
    for record in _read(out_sg):
        validate_sharegpt(record)
        assert "Passage 0: Python is free." in record["system"]
    out_al = tmp_path / "ctx-al.jsonl"
    await run_export(populated, ExportOptions(out=out_al, format="alpaca", include_context=True))
    for record in _read(out_al):
        validate_alpaca(record)
        assert record["instruction"] == expected[0].content


async def test_split_is_by_conversation_and_reproducible(
    populated: SqlConversationLog, tmp_path: Path
) -> None:
    out = tmp_path / "s.jsonl"
    stats = await run_export(populated, ExportOptions(out=out, split=0.6, seed=7))
    train, evaluation = split_paths(out)
    assert (train.name, evaluation.name) == ("s.train.jsonl", "s.eval.jsonl")
    assert not out.exists()
    train_records, eval_records = _read(train), _read(evaluation)
    assert len(train_records) == stats.train_samples
    assert len(eval_records) == stats.eval_samples
    assert stats.train_samples + stats.eval_samples == stats.samples_written == 5
    assert train_records
    assert eval_records
    firsts_train = {r["messages"][0]["content"] for r in train_records}
    firsts_eval = {r["messages"][0]["content"] for r in eval_records}
    assert not firsts_train & firsts_eval  # no conversation on both sides
    before = (train.read_bytes(), evaluation.read_bytes())
    await run_export(populated, ExportOptions(out=out, split=0.6, seed=7))
    assert (train.read_bytes(), evaluation.read_bytes()) == before


async def test_failed_export_leaves_no_file(
    populated: SqlConversationLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "fail"
    out_dir.mkdir()
    (out_dir / "keep.jsonl").write_text('{"old": true}\n')
    calls = 0

    def broken(self: object, text: str) -> object:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise RuntimeError("disk full")
        return original(self, text)  # type: ignore[arg-type]

    from bot.store.redact import Redactor

    original = Redactor.redact
    monkeypatch.setattr(Redactor, "redact", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await run_export(populated, ExportOptions(out=out_dir / "keep.jsonl", split=None))
    assert [p.name for p in out_dir.iterdir()] == ["keep.jsonl"]
    assert (out_dir / "keep.jsonl").read_text() == '{"old": true}\n'


def test_bad_options_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown format 'csv'"):
        ExportOptions(out=tmp_path / "x.jsonl", format="csv")
    with pytest.raises(ExportError, match="--split must be between 0 and 1"):
        ExportOptions(out=tmp_path / "x.jsonl", split=1.5)
    with pytest.raises(ExportError, match=r"\.jsonl"):
        ExportOptions(out=tmp_path / "x.json")
    with pytest.raises(ExportError, match="--since must be before --until"):
        ExportOptions(
            out=tmp_path / "x.jsonl", since=parse_date("2026-02-01"), until=parse_date("2026-01-01")
        )
    with pytest.raises(ExportError, match="not a date"):
        parse_date("yesterday")
    assert parse_date("2026-01-31", end=True) == datetime(2026, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "alpaca"])
async def test_output_loads_with_datasets(populated: SqlConversationLog, tmp_path: Path, fmt: str) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / f"{fmt}.jsonl"
    stats = await run_export(populated, ExportOptions(out=out, format=fmt, include_context=True))
    loaded = datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == stats.samples_written == 5
    expected_columns = {"openai": {"messages"}, "sharegpt": {"conversations", "system"}}
    assert set(loaded.column_names) == expected_columns.get(fmt, {"instruction", "input", "output"})


async def test_cli_export_prints_stats(
    populated: SqlConversationLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app, register_commands

    register_commands()
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    out = tmp_path / "cli.jsonl"
    import asyncio

    # The CLI runs its own event loop; run it in a thread so it does not nest in the test's loop.
    result = await asyncio.to_thread(
        runner.invoke,
        app,
        ["export", "--format", "sharegpt", "--out", str(out), "--split", "0.5", "--seed", "3"],
    )
    assert result.exit_code == 0, result.output
    for line in ("conversations read: 5", "samples written:    5", "thumbs_down 1", "duplicate 1", "EMAIL "):
        assert line in result.output
    assert (tmp_path / "cli.train.jsonl").is_file()
    bad = await asyncio.to_thread(runner.invoke, app, ["export", "--format", "csv", "--out", str(out)])
    assert bad.exit_code == 2
    assert "unknown format 'csv'" in bad.output
    # A seed without a split would be silently ignored: it is refused before anything is read.
    unseeded = await asyncio.to_thread(runner.invoke, app, ["export", "--out", str(out), "--seed", "3"])
    assert unseeded.exit_code != 0
    assert "--seed only seeds the --split shuffle" in unseeded.output


async def test_export_by_url_opens_the_database(populated: SqlConversationLog, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    out = tmp_path / "settings.jsonl"
    stats = await export(
        settings.resolved_database_url,
        ExportOptions(out=out, format="alpaca", history_turns=settings.rag.history_turns),
        redaction=settings.redaction,
    )
    assert stats.samples_written == 5
    for record in _read(out):
        validate_alpaca(record)
    with pytest.raises(ExportError, match="unsupported database"):
        await export("mysql+aiomysql://u@h/db", ExportOptions(out=out), redaction=settings.redaction)


async def test_include_context_needs_a_prompt_builder(populated: SqlConversationLog, tmp_path: Path) -> None:
    out = tmp_path / "ctx.jsonl"
    with pytest.raises(ExportError, match="--include-context needs the bot's prompt builder"):
        await export(populated, ExportOptions(out=out, include_context=True), redaction=RedactionSettings())
    assert not out.exists()


async def test_given_user_ids_are_redacted_wherever_they_appear(
    populated: SqlConversationLog, tmp_path: Path
) -> None:
    conv = await populated.open_conversation(
        channel="telegram", external_user_id="100600600", external_chat_id="100600600"
    )
    await _turn(populated, conv.id, "Can admin 271828 help?", _answer("Admin 271828 can help."))
    out = tmp_path / "ids.jsonl"
    await export(populated, ExportOptions(out=out), redaction=RedactionSettings())
    assert "271828" in out.read_text(encoding="utf-8")  # a bare number is not known to be a user id
    stats = await export(
        populated, ExportOptions(out=out), redaction=RedactionSettings(), redact_user_ids=["271828"]
    )
    text = out.read_text(encoding="utf-8")
    assert "271828" not in text
    assert "Admin <USER_ID> can help." in text
    assert stats.redactions["USER_ID"] >= 2


def test_every_format_is_registered_once_with_a_validator_and_help() -> None:
    assert set(FORMATS) == set(VALIDATORS)
    from bot.store.formats import format_help

    for name, fmt in FORMATS.items():
        assert fmt.name == name
        assert fmt.suffix == ".jsonl"
        assert f"{name}: {fmt.description}" in format_help()
    with pytest.raises(ExportError, match=r"--out must name a \.jsonl file"):
        ExportOptions(out=Path("x.csv"), format="sharegpt")


async def test_served_approved_answers_are_left_out_and_their_correction_is_exported(
    sqlite_log: SqlConversationLog, tmp_path: Path
) -> None:
    conv = await sqlite_log.open_conversation(channel="console", external_user_id="ada", external_chat_id="c")
    wrong = await _turn(sqlite_log, conv.id, "Is Python free?", _answer("It costs money [1]."))
    assert wrong is not None
    await sqlite_log.add_correction(wrong, "admin", "Yes, Python is free.")
    approved = await sqlite_log.add_approved(
        question="Is Python free?", text="Yes, Python is free.", approved_by="admin", corrects_answer_id=wrong
    )
    served = Answer("Yes, Python is free.", (), True, Timings(), outcome="approved", approved_id=approved.id)
    await _turn(sqlite_log, conv.id, "is python free of charge", served)
    out = tmp_path / "o.jsonl"
    stats = await run_export(sqlite_log, ExportOptions(out=out))
    records = _read(out)
    assert [r["messages"][-1]["content"] for r in records] == ["Yes, Python is free."]
    assert dict(stats.dropped) == {"not_model_answer:approved": 1}


async def test_small_talk_is_logged_but_never_a_training_answer(
    sqlite_log: SqlConversationLog, tmp_path: Path
) -> None:
    # Handoff transcripts show small-talk replies (the customer saw them); training samples do not.
    conv = await sqlite_log.open_conversation(channel="console", external_user_id="ada", external_chat_id="c")
    hello = "Hello! What can I help you with? Ask me anything about our service."
    await _turn(sqlite_log, conv.id, "hi", _answer(hello, outcome="small_talk", grounded=False, passages=0))
    await _turn(sqlite_log, conv.id, "Is Python free?", _answer("Yes [1]."))
    assert hello in [t.text for t in await sqlite_log.transcript(conv.id, 10)]
    out = tmp_path / "o.jsonl"
    stats = await run_export(sqlite_log, ExportOptions(out=out))
    (record,) = _read(out)
    assert [m["content"] for m in record["messages"]] == ["hi", "Is Python free?", "Yes [1]."]
    assert dict(stats.dropped) == {"not_model_answer:small_talk": 1}


async def test_an_articles_outline_is_an_answer_in_the_history_but_never_a_target(
    sqlite_log: SqlConversationLog, tmp_path: Path
) -> None:
    # The model was given two passages, not the article: listing its parts from them would be made up.
    conv = await sqlite_log.open_conversation(channel="console", external_user_id="ada", external_chat_id="c")
    parts = "Which of these is your question about?\n• Refund window\n• Late delivery"
    await _turn(sqlite_log, conv.id, "How do I get a refund?", _answer(parts, outcome="outlined"))
    await _turn(sqlite_log, conv.id, "Refund window", _answer("Within 30 days [1]."))
    out = tmp_path / "o.jsonl"
    stats = await run_export(sqlite_log, ExportOptions(out=out))
    (record,) = _read(out)
    assert [m["content"] for m in record["messages"]][-4:] == [
        "How do I get a refund?",
        parts,
        "Refund window",
        "Within 30 days [1].",
    ]
    assert dict(stats.dropped) == {"not_model_answer:outlined": 1}


async def test_an_unsure_answers_lead_is_no_part_of_what_it_teaches(
    sqlite_log: SqlConversationLog, tmp_path: Path
) -> None:
    from bot.texts import UNSURE_LEAD, translate

    conv = await sqlite_log.open_conversation(channel="console", external_user_id="ada", external_chat_id="c")
    lead = translate(UNSURE_LEAD, "de") + "\n\n"
    await _turn(sqlite_log, conv.id, "Ist Python frei?", _answer(lead + "Ja [1]."))
    await _turn(sqlite_log, conv.id, "Und PEP 8?", _answer(UNSURE_LEAD + "\n\nA style guide [1]."))
    # The log keeps what the customer read.
    assert [t.text for t in await sqlite_log.transcript(conv.id, 10)][1] == lead + "Ja [1]."
    out = tmp_path / "o.jsonl"
    await run_export(sqlite_log, ExportOptions(out=out))
    first, second = _read(out)
    assert [m["content"] for m in first["messages"]] == ["Ist Python frei?", "Ja [1]."]
    assert [m["content"] for m in second["messages"]] == [
        "Ist Python frei?",
        "Ja [1].",
        "Und PEP 8?",
        "A style guide [1].",
    ]


async def test_the_note_on_a_quotes_language_is_no_part_of_what_it_teaches(
    sqlite_log: SqlConversationLog, tmp_path: Path
) -> None:
    # A Chinese question answered by an English passage opens with a note that the help center is in English
    # (and may then doubt): the model is taught the quote, not to open every answer with the note.
    from bot.texts import quoted_in_kb_language, unsure_lead

    conv = await sqlite_log.open_conversation(channel="console", external_user_id="li", external_chat_id="c")
    note = quoted_in_kb_language(("en",), "zh") + "\n\n"
    shown = note + unsure_lead("zh") + "To reset your password open the sign in page [1]."
    await _turn(sqlite_log, conv.id, "怎么重置密码？", _answer(shown, outcome="extracted"))
    assert [t.text for t in await sqlite_log.transcript(conv.id, 10)][1] == shown
    out = tmp_path / "o.jsonl"
    await run_export(sqlite_log, ExportOptions(out=out))
    (record,) = _read(out)
    assert [m["content"] for m in record["messages"]] == [
        "怎么重置密码？",
        "To reset your password open the sign in page [1].",
    ]


async def test_history_leaves_out_the_answers_never_taught_and_shows_corrections(
    sqlite_log: SqlConversationLog, tmp_path: Path
) -> None:
    # An uncorrected 👎 answer and a refusal are left out as targets; as history they would still be
    # something a later sample carries on from (and, before the fix, trained on once per later turn).
    conv = await sqlite_log.open_conversation(channel="console", external_user_id="ada", external_chat_id="c")
    wrong = await _turn(sqlite_log, conv.id, "Is Python free?", _answer("It costs 10 euros."))
    sorry = "I'm sorry, I couldn't find this in our help center."
    await _turn(
        sqlite_log, conv.id, "Can I pay by cheque?", _answer(sorry, outcome="refused", grounded=False)
    )
    fixed = await _turn(sqlite_log, conv.id, "Who maintains it?", _answer("Nobody [1]."))
    await _turn(sqlite_log, conv.id, "What is PEP 8?", _answer("A style guide [1]."))
    assert wrong is not None
    assert fixed is not None
    await sqlite_log.add_feedback(wrong, "down")
    await sqlite_log.add_correction(fixed, "admin", "The PSF maintains it [1].")
    for fmt in ("openai", "sharegpt", "alpaca"):
        out = tmp_path / f"{fmt}.jsonl"
        stats = await run_export(sqlite_log, ExportOptions(out=out, format=fmt))
        records = _read(out)
        for record in records:
            VALIDATORS[fmt](record)
        text = out.read_text(encoding="utf-8")
        assert "10 euros" not in text
        assert "couldn't find this" not in text
        assert "Nobody" not in text
        assert dict(stats.dropped) == {"thumbs_down": 1, "not_model_answer:refused": 1}
    out = tmp_path / "openai.jsonl"
    await run_export(sqlite_log, ExportOptions(out=out))
    last = _read(out)[-1]["messages"]
    assert [(m["role"], m["content"]) for m in last] == [
        ("user", "Is Python free?"),
        ("user", "Can I pay by cheque?"),
        ("user", "Who maintains it?"),
        ("assistant", "The PSF maintains it [1]."),
        ("user", "What is PEP 8?"),
        ("assistant", "A style guide [1]."),
    ]


async def test_grounded_only_leaves_out_a_correction_its_passages_do_not_support(
    sqlite_log: SqlConversationLog, tmp_path: Path
) -> None:
    # The correction is exported under the passages the wrong answer was given ("Passage 0: Python is
    # free."); one that cites none of them, or states a figure none of its cited passages holds, is no
    # grounded target.
    conv = await sqlite_log.open_conversation(channel="console", external_user_id="ada", external_chat_id="c")
    corrections = {
        "How long is a parcel kept?": "You have 72 hours to collect it.",
        "Is Python free for long?": "Python is free for 72 hours [1].",
        "Is Python free?": "Yes, Python is free [1].",
        "Is Python 3 free?": "Yes, Python 3 is free [1][2].",
    }
    for question, corrected in corrections.items():
        answer = await _turn(sqlite_log, conv.id, question, _answer("Wrong [1]."))
        assert answer is not None
        await sqlite_log.add_correction(answer, "admin", corrected)
    out = tmp_path / "g.jsonl"
    stats = await run_export(sqlite_log, ExportOptions(out=out, include_context=True, grounded_only=True))
    assert _assistant_texts("openai", _read(out)) == [
        "Yes, Python is free [1].",
        "Yes, Python 3 is free [1][2].",
    ]
    assert dict(stats.dropped) == {"ungrounded": 2}
    stats = await run_export(sqlite_log, ExportOptions(out=out, include_context=True))
    assert len(_read(out)) == 4
    assert not stats.dropped


def _cli_export(tmp_path: Path, data_dir: Path, *args: str) -> Any:
    from bot.cli import app, register_commands

    register_commands()
    return CliRunner().invoke(
        app, ["export", "--out", str(tmp_path / "x.jsonl"), *args], env={"BOT_DATA_DIR": str(data_dir)}
    )


def test_cli_export_on_a_fresh_data_folder_migrates_the_embedded_log_and_says_there_is_nothing(
    tmp_path: Path,
) -> None:
    # As `ask` and `serve` do: the embedded log migrates itself, so a new deployment exports nothing rather
    # than failing with "run python -m bot db upgrade".
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = _cli_export(tmp_path, fresh)
    assert result.exit_code == 0, result.output
    assert "db upgrade" not in result.output
    assert "samples written:    0" in result.output
    assert "warning: 0 samples written, nothing to train on: the log holds no questions" in result.output
    assert (tmp_path / "x.jsonl").read_text(encoding="utf-8") == ""
    # A data folder that is not there is a wrong BOT_DATA_DIR, said as such (not "unable to open database").
    missing = _cli_export(tmp_path, tmp_path / "typo", "--force")
    assert missing.exit_code == 2
    assert "no data folder" in missing.output
    assert not (tmp_path / "typo").exists()


async def test_cli_export_says_why_everything_was_left_out(
    populated: SqlConversationLog, tmp_path: Path
) -> None:
    import asyncio

    out = tmp_path / "x.jsonl"
    result = await asyncio.to_thread(_cli_export, tmp_path, tmp_path / "data", "--until", "2024-12-31")
    assert result.exit_code == 0, result.output
    assert "nothing to train on: the log holds no questions in the --since/--until range" in result.output
    out.unlink()
    # The one answer of that day is unrated: --min-rating up leaves it out, and the warning says so.
    result = await asyncio.to_thread(
        _cli_export, tmp_path, tmp_path / "data", "--until", "2025-01-01", "--min-rating", "up"
    )
    assert result.exit_code == 0, result.output
    assert (
        "warning: 0 samples written, nothing to train on: every answer was left out: below_min_rating 1"
        in (result.output)
    )


def test_export_warnings_say_why_a_file_is_empty() -> None:
    from collections import Counter

    from bot.cli.export import export_warnings

    def stats(**kwargs: Any) -> ExportStats:
        return ExportStats(**kwargs)

    (unanswered,) = export_warnings(
        stats(conversations_read=2, dropped=Counter(no_answer=2)), dated=True, split=False
    )
    assert unanswered.endswith("none of the 2 conversations read has an answer in the --since/--until range")
    (dropped,) = export_warnings(
        stats(conversations_read=2, answers_seen=3, dropped=Counter(thumbs_down=2, ungrounded=1)),
        dated=False,
        split=False,
    )
    assert dropped.endswith("every answer was left out: thumbs_down 2, ungrounded 1")
    (split,) = export_warnings(
        stats(conversations_read=2, answers_seen=2, samples_written=1, train_samples=1),
        dated=False,
        split=True,
    )
    assert split.startswith("the eval file has no samples")
    assert export_warnings(stats(samples_written=1, train_samples=1), dated=False, split=False) == []


async def test_the_help_centers_own_contact_details_are_kept_and_the_customers_redacted(
    sqlite_log: SqlConversationLog, tmp_path: Path
) -> None:
    # A Taiwanese carrier's hotline was exported as "<PHONE>" in every answer quoting it: a model fine-tuned
    # on that answers "call <PHONE>". The help center publishes it; the customer's own number is theirs.
    hit = Hit(
        make_chunk(
            "support/lost-sim.txt",
            "掛失",
            "請立刻撥打 24 小時掛失專線 0800-018-119，或寫信到 help@carrier.example。",
        ),
        0.9,
        1,
    )
    answer = Answer(
        "請立刻撥打 24 小時掛失專線 0800-018-119 [1]。",
        (),
        True,
        Timings(total_ms=1.0),
        hits=(hit,),
        model="m",
    )
    conv = await sqlite_log.open_conversation(channel="telegram", external_user_id="7", external_chat_id="7")
    await _turn(sqlite_log, conv.id, "手機掉了 我的號碼 0912-345-678 怎麼辦", answer)
    # A customer's own address and number that hold the published ones, and the published ones the customer
    # types, are the customer's: only what the help center and the bot wrote keeps them.
    await _turn(sqlite_log, conv.id, "我是 jane.help@carrier.example 電話 02-0800-018-1190", answer)
    out = tmp_path / "t.jsonl"
    await run_export(sqlite_log, ExportOptions(out=out, include_context=True))
    text = out.read_text(encoding="utf-8")
    assert "0912-345-678" not in text
    assert "0800-018-119" in text
    assert "<PHONE>" in text  # the customer's number
    record = _read(out)[0]
    assert record["messages"][-1]["content"].startswith("請立刻撥打 24 小時掛失專線 0800-018-119")
    assert "help@carrier.example" in record["messages"][0]["content"] + record["messages"][1]["content"]
    assert "jane.help" not in text
    assert "0800-018-1190" not in text
