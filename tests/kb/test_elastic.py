"""Elasticsearch on the wire: mapping, query shapes, bulk back-off, the atomic alias swap, auth, outages."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from bot.kb import elastic
from bot.kb.base import KBUnavailableError, ReloadError
from bot.kb.elastic import ElasticKB
from tests.fakes import FakeEmbedder
from tests.kb.conftest import make_settings
from tests.kb.fake_es import FakeElasticsearch


def _kb(tmp_path: Path, url: str, **es: object) -> ElasticKB:
    settings = make_settings(tmp_path, elasticsearch={"url": url, **es})
    return ElasticKB(settings.kb, settings.elasticsearch, FakeEmbedder())


async def test_mapping_and_queries_on_the_wire(
    fake_es: FakeElasticsearch, corpus: Path, tmp_path: Path
) -> None:
    kb = _kb(tmp_path, fake_es.url)
    try:
        report = await kb.reload(corpus)
        assert re.fullmatch(r"kb-\d{20}", report.index)
        create = next(r for r in fake_es.requests if r.method == "PUT" and r.path == f"/{report.index}")
        props = create.body["mappings"]["properties"]
        assert create.body["mappings"]["dynamic"] == "strict"
        # The sample corpus is English: one pair of fields, analysed by the built-in `english` analyzer.
        assert props["bm25_text_english"] == {"type": "text", "analyzer": "english"}
        assert props["bm25_heading_english"] == {"type": "text", "analyzer": "english"}
        assert not [name for name in props if name.startswith("bm25_") and "english" not in name]
        assert props["heading"]["type"] == "keyword"
        assert props["lang"] == {"type": "keyword"}
        assert props["source"]["type"] == "keyword"
        assert props["vector"] == {
            "type": "dense_vector",
            "dims": 64,
            "index": True,
            "similarity": "cosine",
            "index_options": {"type": "int8_hnsw"},
        }
        fake_es.requests.clear()
        await kb.search('customs "declaration" OR title:*', k=3, mode="hybrid")
        searches = [r for r in fake_es.requests if r.path == "/kb/_search"]
        assert len(searches) == 2
        bodies = [r.body for r in searches]
        match = next(b for b in bodies if "query" in b)
        assert "query_string" not in str(bodies)
        for clause in match["query"]["bool"]["should"]:
            assert clause["multi_match"]["fields"] == ["bm25_text_*", "bm25_heading_*^2"]
            assert clause["multi_match"]["query"] == 'customs "declaration" OR title:*'
        # Analysed for the question's language, and by each field's own analyzer.
        assert [c["multi_match"].get("analyzer") for c in match["query"]["bool"]["should"]] == [
            "english",
            None,
        ]
        knn = next(b for b in bodies if "knn" in b)["knn"]
        assert knn["field"] == "vector"
        assert len(knn["query_vector"]) == 64
        assert knn["num_candidates"] >= knn["k"]
        assert "vector" in match["_source"]["includes"], "hybrid scores BM25-only hits by cosine"

        fake_es.requests.clear()
        await kb.search("customs declaration", k=3, mode="bm25")
        (only,) = [r.body for r in fake_es.requests if r.path == "/kb/_search"]
        assert "vector" not in only["_source"]["includes"], "BM25 alone has no use for the vectors"
    finally:
        await kb.close()


async def test_reload_bulks_refreshes_counts_then_swaps_in_one_request(
    fake_es: FakeElasticsearch, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(elastic, "BULK_INITIAL_BACKOFF_S", 0.01)
    kb = _kb(tmp_path, fake_es.url, bulk_chunk_size=4)
    try:
        first = await kb.reload(corpus)
        fake_es.requests.clear()
        fake_es.reject_bulk_items = 2  # the cluster sheds load: the client must back off and retry
        progress = []
        second = await kb.reload(corpus, progress.append)
        calls = [(r.method, r.path) for r in fake_es.requests]
        bulks = [i for i, c in enumerate(calls) if c[1] == "/_bulk"]
        assert len(bulks) >= second.chunks // 4 + 1  # chunk_size honoured, plus the retried items
        refresh = calls.index(("POST", f"/{second.index}/_refresh"))
        count = next(i for i, c in enumerate(calls) if c[1] == f"/{second.index}/_count")
        swaps = [r for r in fake_es.requests if r.path == "/_aliases"]
        assert len(swaps) == 1
        swap = calls.index(("POST", "/_aliases"))
        drop = calls.index(("DELETE", f"/{first.index}"))
        assert max(bulks) < refresh < count < swap < drop
        assert swaps[0].body["actions"] == [
            {"remove": {"index": first.index, "alias": "kb"}},
            {"add": {"index": second.index, "alias": "kb"}},
        ]
        assert set(fake_es.indices) == {second.index}
        assert fake_es.aliases == {"kb": {second.index}}
        assert {p.stage for p in progress} >= {"loading", "embedding", "indexing", "verifying", "swapping"}
    finally:
        await kb.close()


async def test_rejected_documents_abort_the_reload_and_leave_the_alias(
    fake_es: FakeElasticsearch, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(elastic, "BULK_MAX_RETRIES", 0)
    kb = _kb(tmp_path, fake_es.url)
    try:
        first = await kb.reload(corpus)
        fake_es.reject_bulk_items = 1
        with pytest.raises(ReloadError, match="refused"):
            await kb.reload(corpus)
        assert fake_es.aliases == {"kb": {first.index}}
        assert set(fake_es.indices) == {first.index}, "the half-built index is dropped"
        assert (await kb.search("customs declaration", k=1))[0].chunk.heading == "Sending a parcel abroad"
    finally:
        await kb.close()


async def test_api_key_is_sent_and_never_shown(corpus: Path, tmp_path: Path) -> None:
    server = FakeElasticsearch(api_key="c2VjcmV0OmtleQ==")
    await server.start()
    good = _kb(tmp_path, server.url, api_key="c2VjcmV0OmtleQ==")
    bad = _kb(tmp_path, server.url, api_key="d3Jvbmc6a2V5")
    try:
        await good.reload(corpus)
        assert server.requests[-1].headers["Authorization"] == "ApiKey c2VjcmV0OmtleQ=="
        with pytest.raises(KBUnavailableError) as info:
            await bad.search("customs")
        assert "401" in str(info.value)
        assert "d3Jvbmc6a2V5" not in str(info.value)
    finally:
        await good.close()
        await bad.close()
        await server.stop()


async def test_outages_become_kb_unavailable(
    fake_es: FakeElasticsearch, corpus: Path, tmp_path: Path
) -> None:
    kb = _kb(tmp_path, fake_es.url)
    try:
        with pytest.raises(KBUnavailableError, match="kb reload"):
            await kb.search("customs")
        with pytest.raises(KBUnavailableError, match="kb reload"):
            await kb.ping()
        await kb.reload(corpus)
        fake_es.fail_searches = 2  # the client retries once
        with pytest.raises(KBUnavailableError, match="503"):
            await kb.search("customs", mode="bm25")
        assert await kb.search("customs", mode="bm25")
    finally:
        await kb.close()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = _kb(tmp_path, f"http://127.0.0.1:{port}", request_timeout_s=0.5)
    try:
        with pytest.raises(KBUnavailableError, match="ConnectionError"):
            await down.search("customs")
        with pytest.raises(KBUnavailableError):
            await down.ping()
    finally:
        await down.close()


async def test_stats_reads_the_alias(fake_es: FakeElasticsearch, corpus: Path, tmp_path: Path) -> None:
    kb = _kb(tmp_path, fake_es.url.replace("http://", "http://user:pw@"))
    try:
        report = await kb.reload(corpus)
        stats = await kb.stats()
        assert (stats.backend, stats.index, stats.chunks, stats.documents) == (
            "elasticsearch",
            report.index,
            report.chunks,
            5,
        )
        assert stats.built_at
        assert "pw" not in stats.extra["url"]
    finally:
        await kb.close()


async def test_chinese_documents_get_the_cjk_analyzer_and_unknown_analyzers_are_refused(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    from elasticsearch import AsyncElasticsearch, BadRequestError

    root = tmp_path / "zh"
    root.mkdir()
    (root / "returns.md").write_text(
        "# 退货\n\n## 退款需要多长时间\n\n仓库收到退货后五个工作日内退款，钱会退回到原来的付款方式。\n",
        encoding="utf-8",
    )
    kb = _kb(tmp_path, fake_es.url)
    try:
        report = await kb.reload(root)
        create = next(r for r in fake_es.requests if r.method == "PUT" and r.path == f"/{report.index}")
        props = create.body["mappings"]["properties"]
        assert props["bm25_text_cjk"] == {"type": "text", "analyzer": "cjk"}
        assert "bm25_text_english" not in props
        bulk = next(r for r in fake_es.requests if r.path.endswith("_bulk"))
        source = bulk.body[1]
        assert source["lang"] == "zh"
        assert "仓库收到退货" in source["bm25_text_cjk"]
        fake_es.requests.clear()
        hits = await kb.search("退款要多久？", k=1, mode="bm25")
        assert hits[0].chunk.heading == "退款需要多长时间"
        (search,) = [r.body for r in fake_es.requests if r.path == "/kb/_search"]
        assert search["query"]["bool"]["should"][0]["multi_match"]["analyzer"] == "cjk"
    finally:
        await kb.close()
    client = AsyncElasticsearch(fake_es.url)
    try:
        with pytest.raises(BadRequestError, match="smartcn"):
            await client.indices.create(
                index="plugin",
                mappings={
                    "properties": {
                        "t": {"type": "text", "analyzer": "smartcn"},
                        "vector": {
                            "type": "dense_vector",
                            "dims": 4,
                            "similarity": "cosine",
                            "index_options": {"type": "int8_hnsw"},
                        },
                    }
                },
            )
        with pytest.raises(BadRequestError, match="failed to find analyzer"):
            await client.search(
                index=report.index,
                query={
                    "multi_match": {
                        "query": "x",
                        "fields": ["bm25_text_*"],
                        "type": "most_fields",
                        "analyzer": "ik_smart",
                    }
                },
            )
    finally:
        await client.close()
