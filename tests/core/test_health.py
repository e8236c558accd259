"""`python -m bot health` (the Docker healthcheck) only looks: it never prepares nor blocks the loop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.config import Settings
from bot.health import Check, run_checks
from tests.fakes import FakeEmbedder
from tests.llm_models.gguf_files import write_gguf


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


async def test_health_on_an_unprepared_data_folder_reports_it_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    converted: list[Path] = []

    def convert(target: Path) -> dict[str, object]:
        # The real conversion writes the GGUF for minutes; recorded here, and refused, to keep the test fast.
        converted.append(target)
        raise AssertionError("health converted the embedder")

    monkeypatch.setattr("bot.llm.registry.prepare_embedder", convert)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    before = _tree(tmp_path)

    checks = _by_name(await run_checks(settings, timeout_s=30))

    assert converted == []
    kb = checks["knowledge base"]
    assert not kb.ok
    assert "not prepared" in kb.detail
    assert "python -m bot models prepare" in kb.detail
    database = checks["database"]
    assert not database.ok
    expected = tmp_path / "data" / "bot.db"
    assert database.detail == f"no database at {expected} yet: run `python -m bot db upgrade`"
    assert _tree(tmp_path) == before


async def test_health_loads_the_embedder_in_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded_on: list[int] = []

    def load(path: Path, **kwargs: object) -> FakeEmbedder:
        loaded_on.append(threading.get_ident())
        return FakeEmbedder()

    monkeypatch.setattr("bot.llm.embedder.LlamaEmbedder", load)
    model = write_gguf(tmp_path / "embedder.gguf", arch="bert", name="stand-in")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        embeddings={"model_path": model},
    )

    checks = _by_name(await run_checks(settings, timeout_s=30))

    assert loaded_on, checks["knowledge base"].detail
    assert threading.get_ident() not in loaded_on


def test_a_model_file_is_sized_as_models_list_sizes_it(tmp_path: Path) -> None:
    from bot.health import describe_file
    from bot.llm.provision import human_size

    model = tmp_path / "m.gguf"
    with model.open("wb") as handle:
        handle.write(b"GGUF")
        handle.truncate(144_800_000)  # sparse: no 145 MB written
    # `health` once said 144.8 MB (10^6) where `models list` said 138.1 MB (2^20) for the same file.
    assert describe_file(model) == f"m.gguf ({human_size(144_800_000)})" == "m.gguf (138.1 MB)"


async def test_an_index_an_older_version_built_is_a_warning_and_an_unreachable_cluster_names_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.kb.conftest import ESServer
    from tests.kb.fake_es import FakeElasticsearch
    from tests.kb.test_elastic import _free_port, _old_index

    monkeypatch.setattr("bot.llm.embedder.LlamaEmbedder", lambda path, **kwargs: FakeEmbedder())
    model = write_gguf(tmp_path / "embedder.gguf", arch="bert", name="stand-in")
    server = FakeElasticsearch()
    await server.start()
    try:
        await _old_index(ESServer(server.url, "kb", server))
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            embeddings={"model_path": model},
            elasticsearch={"url": server.url},
        )
        kb = _by_name(await run_checks(settings, timeout_s=30))["knowledge base"]
    finally:
        await server.stop()
    assert kb.ok
    assert kb.warning
    assert kb.detail.endswith(
        "built by an older version: keyword search is off, run `python -m bot kb reload`"
    )

    port = _free_port()
    down = settings.model_copy(
        update={
            "elasticsearch": settings.elasticsearch.model_copy(update={"url": f"http://127.0.0.1:{port}"})
        }
    )
    kb = _by_name(await run_checks(down, timeout_s=30))["knowledge base"]
    assert not kb.ok
    assert (
        f"cannot connect to http://127.0.0.1:{port} (ConnectionError): check BOT_ELASTICSEARCH__URL"
        in kb.detail
    )


async def test_a_chinese_index_the_shipped_embedder_glossed_is_healthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """health checks the index with the resolved shipped file named as BOT_EMBEDDINGS__MODEL_PATH; that must
    not turn the Chinese gloss off (`auto` is off for a model of one's own), or every glossed index of a
    Chinese help center was reported as built by another embedder."""
    from bot.kb.glossing import GlossingEmbedder
    from bot.services import Services
    from tests.kb.test_glossing import CHINESE_MD

    model = write_gguf(tmp_path / "embedder.gguf", arch="bert", name="stand-in")
    monkeypatch.setattr("bot.llm.embedder.LlamaEmbedder", lambda path, **kwargs: FakeEmbedder())
    monkeypatch.setattr(
        "bot.llm.registry.ModelRegistry.resolve_embedder_path", lambda self, settings, prepare=True: model
    )
    folder = tmp_path / "zh"
    folder.mkdir()
    (folder / "help.md").write_text(CHINESE_MD, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", kb={"source": folder})  # type: ignore[call-arg]
    async with Services(settings) as services:
        assert isinstance(services.embedder(), GlossingEmbedder)
        await services.kb().reload(folder)

    kb = _by_name(await run_checks(settings, timeout_s=30))["knowledge base"]
    assert kb.ok, kb.detail
    assert kb.detail.endswith("1 documents, 2 chunks"), kb.detail


async def test_the_embedder_line_says_whether_chinese_is_glossed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = write_gguf(tmp_path / "embedder.gguf", arch="bert", name="stand-in")
    monkeypatch.setattr(
        "bot.llm.registry.ModelRegistry.resolve_embedder_path", lambda self, settings, prepare=True: model
    )
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    line = _by_name(await run_checks(settings, timeout_s=30))["embedding model"].detail
    assert line.endswith(", Chinese read as its English gloss")
    # Without the dictionary nothing is glossed, whatever the setting says (it said "read as its gloss").
    monkeypatch.setattr("bot.kb.crosslingual.cedict_path", lambda: None)
    line = _by_name(await run_checks(settings, timeout_s=30))["embedding model"].detail
    assert line.endswith(", no dictionary for Chinese")
