"""The KB commands' exact output shapes, with the fake embedder standing in for the model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.services import Services
from tests.cli import cli_runner
from tests.fakes import FakeEmbedder


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    embedder = FakeEmbedder()
    monkeypatch.setattr(Services, "embedder", lambda self: embedder)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    with cli_runner() as runner:
        yield runner


def _json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_reload_search_stats_shapes(cli: CliRunner, corpus: Path, tmp_path: Path) -> None:
    result = cli.invoke(app, ["kb", "reload", "--source", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    (report,) = _json_lines(result.stdout)
    assert set(report) == {
        "backend",
        "index",
        "files",
        "chunks",
        "embedded",
        "skipped",
        "seconds",
        "sources",
        "needs_review",
    }
    kinds = {"total", "added", "changed", "removed", "unchanged"}
    assert report["files"] == {"total": 5, "added": 5, "changed": 0, "removed": 0, "unchanged": 0}
    chunks = report["chunks"]
    assert isinstance(chunks, dict)
    assert set(chunks) == kinds
    assert chunks["added"] == chunks["total"] == report["embedded"]
    assert report["skipped"] == [
        {"path": "broken.md", "reason": "the content is a ZIP archive, not Markdown"}
    ]

    result = cli.invoke(
        app, ["kb", "search", "customs declaration abroad", "--k", "2", "--mode", "bm25", "--json"]
    )
    assert result.exit_code == 0, result.output
    (payload,) = _json_lines(result.stdout)
    hits = payload["hits"]
    assert isinstance(hits, list)
    assert 1 <= len(hits) <= 2
    assert set(hits[0]) == {"source", "heading", "score", "text"}
    assert (hits[0]["source"], hits[0]["heading"]) == ("guide/shipping.md", "Sending a parcel abroad")

    result = cli.invoke(app, ["kb", "search", "opening hours"])
    assert result.exit_code == 0
    assert "Opening hours" in result.stdout

    result = cli.invoke(app, ["kb", "stats", "--json"])
    (stats,) = _json_lines(result.stdout)
    assert stats["backend"] == "embedded"
    assert stats["chunks"] == chunks["total"]
    assert stats["documents"] == 5
    assert stats["extra"]["circuit"] == "closed"  # type: ignore[index]


def test_batch_search_one_line_per_query(cli: CliRunner, corpus: Path, tmp_path: Path) -> None:
    assert cli.invoke(app, ["kb", "reload", "--source", str(corpus)]).exit_code == 0
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"qid": "a", "question": "reset my password"}\n\n'
        '{"qid": "b", "question": "maximum weight kilograms"}\n'
        "not json\n"
        '{"qid": "c"}\n',
        encoding="utf-8",
    )
    result = cli.invoke(app, ["kb", "search", "--queries", str(queries), "--k", "3", "--json"])
    lines = _json_lines(result.stdout)
    assert [line["qid"] for line in lines] == ["a", "b", "line-4", "c"]
    assert lines[0]["hits"][0]["heading"] == "How do I reset my password?"  # type: ignore[index]
    assert lines[1]["hits"][0]["heading"] == "Parcel size limits"  # type: ignore[index]
    assert "line 4: not valid JSON" in str(lines[2]["error"])
    assert 'line 5: expected an object with a non-empty "question" string' in str(lines[3]["error"])
    assert result.exit_code == 1


def test_clear_errors_instead_of_tracebacks(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["kb", "search", "anything"])
    assert result.exit_code == 2
    assert "kb reload" in result.output
    assert "Traceback" not in result.output
    result = cli.invoke(app, ["kb", "reload", "--source", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.split())
    result = cli.invoke(app, ["kb", "search", "x", "--mode", "fuzzy"])
    assert result.exit_code == 2
    assert "--mode" in result.output
    result = cli.invoke(app, ["kb", "search"])
    assert result.exit_code == 2
    assert "--queries" in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = cli.invoke(app, ["kb", "search", "--queries", str(empty)])
    assert result.exit_code == 2
    assert "no questions in it" in result.output


def test_eval_retrieval_reports_each_mode(cli: CliRunner, corpus: Path, tmp_path: Path) -> None:
    questions = tmp_path / "dev.jsonl"
    questions.write_text(
        '{"qid": "1", "question": "customs declaration abroad", "file": "shipping.md", '
        '"heading": "Sending a parcel abroad"}\n'
        '{"qid": "2", "question": "pay with paypal", "file": "faq.csv", '
        '"heading": "Can I pay with PayPal?", "lang": "xx"}\n'
        '{"qid": "3", "question": "weather tomorrow", "file": null, "heading": null}\n',
        encoding="utf-8",
    )
    result = cli.invoke(
        app, ["eval", "retrieval", "--source", str(corpus), "--questions", str(questions), "--json"]
    )
    assert result.exit_code == 0, result.output
    (payload,) = _json_lines(result.stdout)
    assert payload["answerable"] == 2
    assert payload["questions"] == 3
    for mode in ("bm25", "dense", "hybrid"):
        assert payload["modes"][mode] == {"hit@1": 1.0, "hit@5": 1.0, "mrr": 1.0}  # type: ignore[index]
    # Per language: the `lang` label groups a question; one without it is grouped by its detected language.
    languages = payload["languages"]
    assert isinstance(languages, dict)
    assert len(languages) == 2
    assert languages["xx"]["hybrid"] == {"hit@1": 1.0, "hit@5": 1.0, "mrr": 1.0}
    assert not (tmp_path / "data" / "index").exists(), "eval uses a scratch index"
    text = cli.invoke(app, ["eval", "retrieval", "--source", str(corpus), "--questions", str(questions)])
    assert text.exit_code == 0, text.output
    assert "per language" in text.output
    assert "xx     hybrid    1.000  1.000  1.000" in text.output
    # Only questions the documents do not answer: nothing to score, said before any indexing (not zeros).
    unanswerable = tmp_path / "refuse.jsonl"
    unanswerable.write_text('{"qid": "3", "question": "weather tomorrow"}\n', encoding="utf-8")
    none = cli.invoke(app, ["eval", "retrieval", "--source", str(corpus), "--questions", str(unanswerable)])
    assert none.exit_code != 0
    assert "no answerable question" in " ".join(none.output.split())


def test_bench_retrieval_prints_figures(cli: CliRunner) -> None:
    result = cli.invoke(
        app, ["bench", "retrieval", "--sizes", "200", "--queries", "5", "--runs", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    (payload,) = _json_lines(result.stdout)
    row = payload["sizes"][0]  # type: ignore[index]
    assert row["chunks"] == 200
    for key in ("hybrid", "bm25", "dense", "naive_hybrid"):
        assert row[key]["p95_ms"] >= row[key]["p50_ms"] > 0
    assert payload["query_embedding"]["p50_ms"] >= 0  # type: ignore[index]


def test_a_relative_source_is_recorded_as_the_folder_it_names(
    cli: CliRunner, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "knowledge" means nothing to `kb stats` run from another folder, nor to the index's report.
    monkeypatch.chdir(tmp_path)
    result = cli.invoke(app, ["kb", "reload", "--source", "knowledge", "--json"])
    assert result.exit_code == 0, result.output
    (report,) = _json_lines(result.stdout)
    assert [s["name"] for s in report["sources"]] == [str(corpus)]


def test_reload_says_how_many_chunks_kept_their_vectors(cli: CliRunner, corpus: Path) -> None:
    first = cli.invoke(app, ["kb", "reload", "--source", str(corpus)])
    assert first.exit_code == 0, first.output
    assert "kept their vectors" not in first.stdout, "nothing was there to keep its vectors"
    extra = "# Extra\n\nA new section about parcel lockers at night.\n"
    (corpus / "extra.md").write_text(extra, encoding="utf-8")
    second = cli.invoke(app, ["kb", "reload", "--source", str(corpus), "--json"])
    (report,) = _json_lines(second.stdout)
    chunks = report["chunks"]
    assert isinstance(chunks, dict)
    kept = chunks["total"] - report["embedded"]
    assert kept > 0
    third = cli.invoke(app, ["kb", "reload", "--source", str(corpus)])
    assert f"(the other {chunks['total']} kept their vectors)" in " ".join(third.stdout.split())


def test_only_a_terminal_wraps_lines() -> None:
    import io

    from bot.cli.app import _CliConsole

    line = "x" * 50 + " " + "y" * 50
    for terminal, lines in ((True, 2), (False, 1)):
        out = io.StringIO()
        _CliConsole(file=out, width=80, force_terminal=terminal, color_system=None).print(line)
        assert len(out.getvalue().splitlines()) == lines, (terminal, out.getvalue())


def test_piped_output_is_not_wrapped(cli: CliRunner, corpus: Path) -> None:
    result = cli.invoke(app, ["kb", "reload", "--source", str(corpus)])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("Reloaded")]
    # One line however long: the index's file name is not cut at 80 columns.
    assert len(line) > 80
    assert line.endswith(").")


def test_a_failed_search_is_reported_for_its_question_and_the_batch_goes_on(
    cli: CliRunner, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.kb.embedded import EmbeddedKB

    assert cli.invoke(app, ["kb", "reload", "--source", str(corpus)]).exit_code == 0
    search = EmbeddedKB.search

    async def slow_search(self: EmbeddedKB, query: str, *args: Any, **kwargs: Any) -> Any:
        if query == "slow":
            await asyncio.sleep(5)
        return await search(self, query, *args, **kwargs)

    monkeypatch.setattr(EmbeddedKB, "search", slow_search)
    monkeypatch.setenv("BOT_KB__SEARCH_TIMEOUT_S", "0.2")
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"qid": "a", "question": "slow"}\n{"qid": "b", "question": "maximum weight kilograms"}\n',
        encoding="utf-8",
    )
    result = cli.invoke(app, ["kb", "search", "--queries", str(queries), "--k", "3", "--json"])
    lines = _json_lines(result.stdout)
    assert [line["qid"] for line in lines] == ["a", "b"]
    assert lines[0]["hits"] == []
    assert lines[0]["error"] == "search failed: knowledge base search timed out after 0.2 s"
    assert lines[1]["hits"][0]["heading"] == "Parcel size limits"  # type: ignore[index]
    assert result.exit_code == 1
    assert "1 of 2 lines" in result.stderr
    # Without --json, the reason is printed under the question.
    result = cli.invoke(app, ["kb", "search", "--queries", str(queries), "--k", "3"])
    assert "a slow\n   search failed: knowledge base search timed out after 0.2 s\n" in result.stdout
    assert "Parcel size limits" in result.stdout
    assert result.exit_code == 1


def test_an_interrupted_reload_says_where_the_knowledge_base_stands(
    cli: CliRunner, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C ended `kb reload` with exit 130 and not a word.
    import bot.cli.kb

    def interrupted(factory: Any) -> Any:
        factory().close()  # the coroutine is never run
        raise KeyboardInterrupt

    monkeypatch.setattr(bot.cli.kb, "run_async", interrupted)
    result = cli.invoke(app, ["kb", "reload", "--source", str(corpus)])
    assert result.exit_code == 130
    said = " ".join(result.output.split())
    assert "reload interrupted: the knowledge base serves the index it served before" in said
