"""Elasticsearch on the wire: mapping, query shapes, bulk back-off, the atomic alias swap, auth, outages."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from bot.kb import elastic, vocabulary
from bot.kb.base import KBUnavailableError, ReloadError, ReloadReport
from bot.kb.elastic import ElasticKB
from tests.fakes import FakeEmbedder
from tests.kb.conftest import ESServer, make_settings, raw_client
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
            assert clause["multi_match"]["fields"] == ["bm25_text_*", "bm25_heading_*^1"]
            # The words, as the embedded backend searches them: no syntax, no stop words ("OR").
            assert clause["multi_match"]["query"] == "customs declaration title"
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
        assert max(bulks) < refresh < count < swap
        assert swaps[0].body["actions"] == [
            {"remove": {"index": first.index, "alias": "kb", "must_exist": True}},
            {"add": {"index": second.index, "alias": "kb"}},
        ]
        # The index swapped out stays until the next reload (searches in flight may still read it).
        assert not [c for c in calls if c[0] == "DELETE"]
        assert set(fake_es.indices) == {first.index, second.index}
        assert fake_es.aliases == {"kb": {second.index}}
        third = await kb.reload(corpus)
        assert set(fake_es.indices) == {second.index, third.index}
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


# ------------------------------------------------------------------------------------------------------
# The review's findings (issue 16): each runs on the fake and, in CI, on a real node.


def _on(server: ESServer, tmp_path: Path, embedder: FakeEmbedder | None = None, **es: object) -> ElasticKB:
    settings = make_settings(tmp_path, elasticsearch={"url": server.url, "alias": server.alias, **es})
    return ElasticKB(settings.kb, settings.elasticsearch, embedder or FakeEmbedder())


async def _indices(server: ESServer) -> tuple[set[str], set[str]]:
    """(every index of the alias's family, the indices behind the alias)."""
    client = raw_client(server.url)
    try:
        family = set((await client.indices.get(index=f"{server.alias}-*")).body)
        behind = await client.options(ignore_status=404).indices.get_alias(name=server.alias)
        return family, set(behind.body) if behind.meta.status == 200 else set()
    finally:
        await client.close()


def _hold_first_alias_read(kb: ElasticKB, barrier: asyncio.Barrier) -> None:
    """Make the reload's first read of the alias wait for the other reload's, as two processes may."""
    original = kb._current_indices
    calls = 0

    async def held(es: Any) -> list[str]:
        nonlocal calls
        calls += 1
        out = await original(es)
        if calls == 1:
            await barrier.wait()
        return out

    kb._current_indices = held  # type: ignore[method-assign]


async def test_two_overlapping_reloads_leave_one_index_serving(
    es_server: ESServer, corpus: Path, tmp_path: Path
) -> None:
    """Finding 1: both read the alias, then both swap; neither may drop the index the alias lands on.

    The one that started later read the files later, so its index must be the one serving; the other
    either swapped first and was replaced, or finds the newer index and says so.
    """
    first, second = _on(es_server, tmp_path), _on(es_server, tmp_path)
    try:
        await first.reload(corpus)
        barrier = asyncio.Barrier(2)
        _hold_first_alias_read(first, barrier)
        _hold_first_alias_read(second, barrier)
        results = await asyncio.gather(first.reload(corpus), second.reload(corpus), return_exceptions=True)
        reports = [r for r in results if isinstance(r, ReloadReport)]
        errors = [r for r in results if not isinstance(r, ReloadReport)]
        assert all(isinstance(e, ReloadError) and "started after this one" in str(e) for e in errors), errors
        family, behind = await _indices(es_server)
        assert behind == {max(r.index for r in reports)}
        assert behind <= family
        for kb in (first, second):
            hits = await kb.search("customs declaration abroad", k=1)
            assert hits[0].chunk.heading == "Sending a parcel abroad"
    finally:
        await first.close()
        await second.close()


async def test_a_reload_whose_index_a_later_reload_dropped_says_the_later_one_serves(
    es_server: ESServer, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The later reload swaps in and drops the earlier one's unfinished index; the earlier one, back from its
    last step before the swap, must say a later reload serves, not that Elasticsearch failed."""
    first, second = _on(es_server, tmp_path), _on(es_server, tmp_path)
    entered, release = threading.Event(), threading.Event()
    # The bridge's build in its worker thread (`build_vocabulary_bridge` runs it), the reload's last step.
    real = vocabulary.vocabulary_bridge
    calls = 0

    def held(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # the first reload's: it waits here while the second one runs to the end
            entered.set()
            release.wait(30)
        return real(*args)

    monkeypatch.setattr(vocabulary, "vocabulary_bridge", held)
    try:
        earlier = asyncio.create_task(first.reload(corpus))
        assert await asyncio.to_thread(entered.wait, 30)
        later = await second.reload(corpus)
        release.set()
        with pytest.raises(ReloadError, match="a reload that started after this one has already swapped in"):
            await earlier
        _, behind = await _indices(es_server)
        assert behind == {later.index}
        hits = await first.search("customs declaration abroad", k=1)
        assert hits[0].chunk.heading == "Sending a parcel abroad"
    finally:
        release.set()
        await first.close()
        await second.close()


async def test_a_swap_whose_answer_is_lost_keeps_the_index_it_applied(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 2 (fault injection, fake only): `_aliases` applied, its answer past the client's timeout."""
    server = FakeElasticsearch()
    await server.start()
    kb = _kb(tmp_path, server.url)
    try:
        await kb.reload(corpus)
        monkeypatch.setattr(elastic, "ADMIN_TIMEOUT_S", 0.5)
        server.aliases_answer_delay_s = 1.5
        report = await kb.reload(corpus)
        assert server.aliases == {"kb": {report.index}}
        assert report.index in server.indices
        server.aliases_answer_delay_s = 0.0
        hits = await kb.search("customs declaration abroad", k=1)
        assert hits[0].chunk.heading == "Sending a parcel abroad"
    finally:
        await kb.close()
        await server.stop()


async def test_a_long_or_non_ascii_path_indexes(es_server: ESServer, tmp_path: Path) -> None:
    """Finding 5: the chunk id (relative path + position) can pass the 512-byte `_id` limit."""
    root = tmp_path / "deep"
    folder = root.joinpath(*["配送と返品のよくある質問" * 4] * 4)  # 580 bytes of folders
    folder.mkdir(parents=True)
    (folder / "livraison-à-l-étranger.md").write_text(
        "# Customs\n\n## Sending abroad\n\nParcels abroad need a customs declaration form.\n",
        encoding="utf-8",
    )
    kb = _on(es_server, tmp_path)
    try:
        report = await kb.reload(root)
        assert report.chunks >= 1
        hits = await kb.search("customs declaration abroad", k=1)
        assert hits[0].chunk.source.endswith("livraison-à-l-étranger.md")
        assert len(hits[0].chunk.id.encode()) > 512, "the full id comes back, not the digest"
    finally:
        await kb.close()


async def test_a_concrete_index_named_like_the_alias_is_refused_before_any_work(
    es_server: ESServer, corpus: Path, tmp_path: Path
) -> None:
    """Finding 6: no swap can succeed; say so plainly, and leave that index alone."""
    client = raw_client(es_server.url)
    embedder = FakeEmbedder()
    kb = _on(es_server, tmp_path, embedder)
    try:
        await client.indices.create(index=es_server.alias)
        with pytest.raises(ReloadError, match="an index named .* exists where the alias"):
            await kb.reload(corpus)
        assert embedder.passages == [], "refused before embedding"
        assert await client.indices.exists(index=es_server.alias)
        assert set((await client.indices.get(index=f"{es_server.alias}-*")).body) == set()
    finally:
        await client.options(ignore_status=404).indices.delete(index=es_server.alias)
        await client.close()
        await kb.close()


async def test_a_single_node_cluster_is_green_after_a_reload(
    es_server: ESServer, corpus: Path, tmp_path: Path
) -> None:
    """Finding 6: replicas follow the cluster (0 on one node, 1 with two), so one node is not left yellow."""
    kb = _on(es_server, tmp_path)
    client = raw_client(es_server.url)
    try:
        report = await kb.reload(corpus)
        health = await client.options(ignore_status=408).cluster.health(
            index=report.index, wait_for_status="green", timeout="10s"
        )
        assert health["status"] == "green"
    finally:
        await client.close()
        await kb.close()


async def test_dense_scores_are_exact_cosines(es_server: ESServer, corpus: Path, tmp_path: Path) -> None:
    """Finding 6: int8_hnsw scores are estimates; the gate reads dense scores beside BM25-only hits'
    exact cosines, so every dense score is the exact cosine of the stored vector."""
    embedder = FakeEmbedder()
    kb = _on(es_server, tmp_path, embedder)
    client = raw_client(es_server.url)
    try:
        await kb.reload(corpus)
        query = "customs declaration for international parcels abroad"
        hits = await kb.search(query, k=5, mode="dense")
        assert len(hits) >= 3
        vector = embedder.embed([query])[0]
        for hit in hits:
            found = await client.search(
                index=es_server.alias,
                query={"term": {"chunk_id": hit.chunk.id}},
                source={"includes": ["vector"]},
            )
            stored = np.asarray(found["hits"]["hits"][0]["_source"]["vector"], dtype=np.float32)
            exact = float(stored @ vector) / float(np.linalg.norm(stored) * np.linalg.norm(vector))
            assert hit.dense_score == pytest.approx(exact, abs=1e-6)
    finally:
        await client.close()
        await kb.close()


async def test_the_index_swapped_out_serves_until_the_next_reload(
    es_server: ESServer, corpus: Path, tmp_path: Path
) -> None:
    """Finding 6: a search that resolved the alias just before the swap may still be reading the old index."""
    kb = _on(es_server, tmp_path)
    try:
        first = await kb.reload(corpus)
        second = await kb.reload(corpus)
        assert await _indices(es_server) == ({first.index, second.index}, {second.index})
        third = await kb.reload(corpus)
        assert await _indices(es_server) == ({second.index, third.index}, {third.index})
    finally:
        await kb.close()


class ZeroForSome(FakeEmbedder):
    """Embeds any text holding 'blank' as the zero vector (an embedder's answer to nothing it knows)."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = super().embed(texts)
        for row, text in enumerate(texts):
            if "blank" in text.lower():
                out[row] = 0.0
        return out


async def test_zero_vectors_and_huge_k_never_fail(es_server: ESServer, corpus: Path, tmp_path: Path) -> None:
    """Finding 7: cosine refuses zero vectors (a document's or a query's), kNN caps num_candidates at
    10000 and a search's window at 10000; none of that may fail a reload or a question."""
    (corpus / "blank.md").write_text("# Blank page\n\n## Blank\n\nThis blank page is blank.\n")
    kb = _on(es_server, tmp_path, ZeroForSome())
    try:
        report = await kb.reload(corpus)
        assert report.files == 6
        hits = await kb.search("blank page", k=3, mode="hybrid")  # a zero query vector: BM25 answers
        assert hits[0].chunk.source == "blank.md"
        assert await kb.search("blank page", k=3, mode="dense") == []
        assert await kb.search("customs declaration abroad", k=3, mode="bm25")
        many = await kb.search("customs declaration abroad", k=20_000, mode="hybrid")
        assert many[0].chunk.heading == "Sending a parcel abroad"
    finally:
        await kb.close()


async def test_an_8x_server_is_spoken_to_in_its_rest_api_version(corpus: Path, tmp_path: Path) -> None:
    """Finding 4: client 9 asks for `compatible-with=9`, which 8.x refuses; the bot steps down to 8 once."""
    server = FakeElasticsearch(version="8.19.5")
    await server.start()
    kb = _kb(tmp_path, server.url)
    try:
        with pytest.raises(KBUnavailableError, match="kb reload"):
            await kb.ping()  # a HEAD first: its 400 has no body, and the retry tells
        report = await kb.reload(corpus)
        await kb.ping()
        hits = await kb.search("customs declaration abroad", k=1)
        assert hits[0].chunk.heading == "Sending a parcel abroad"
        assert (await kb.stats()).index == report.index
        last = server.requests[-1].headers
        assert "compatible-with=8" in last["Accept"]
        asked_9 = [r for r in server.requests if "compatible-with=9" in r.headers.get("Accept", "")]
        assert len(asked_9) == 1, "asked in version 9 once, then remembered"
    finally:
        await kb.close()
        await server.stop()


async def test_a_server_of_an_unsupported_version_is_named_in_the_error(tmp_path: Path) -> None:
    server = FakeElasticsearch(version="7.17.0")
    await server.start()
    kb = _kb(tmp_path, server.url)
    try:
        supported = r"supports Elasticsearch 8\.12 or newer 8\.x, or 9\.x"
        with pytest.raises(KBUnavailableError, match=supported):
            await kb.ping()
        with pytest.raises(KBUnavailableError, match=supported):
            await kb.search("customs", mode="bm25")
    finally:
        await kb.close()
        await server.stop()


async def test_a_reload_embeds_only_chunks_whose_text_changed(
    es_server: ESServer, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The serving index's vectors are read back by content hash (paged), as the embedded backend reuses
    its own: nothing changed, nothing embedded; one file changed, only its chunks."""
    monkeypatch.setattr(elastic, "VECTOR_PAGE", 3)
    embedder = FakeEmbedder()
    kb = _on(es_server, tmp_path, embedder)
    try:
        first = await kb.reload(corpus)
        assert len(embedder.passages) == first.chunks
        embedder.passages.clear()
        await kb.reload(corpus)
        assert embedder.passages == []
        (corpus / "notes.txt").write_text(
            "Locker troubleshooting\n\nIf the locker door jams, call the hotline printed on the locker.\n"
        )
        await kb.reload(corpus)
        assert len(embedder.passages) == 1
        assert "hotline" in embedder.passages[0]
        hits = await kb.search("customs declaration abroad", k=1, mode="dense")
        assert hits[0].chunk.heading == "Sending a parcel abroad"
        assert (await kb.search("locker door jams hotline", k=1))[0].chunk.source == "notes.txt"
    finally:
        await kb.close()


# ------------------------------------------------------------------------------------------------------
# A new admin's trial (issue 17): errors say what failed and what to check, and a reload checks first.

MAX_SHARDS = (
    "Validation Failed: 1: this action would add [1] shards, but this cluster currently has [1]/[1] "
    "maximum normal shards open;"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_index_creation_names_the_stage_and_the_reason_once(
    fake_es: FakeElasticsearch, corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As a node at `cluster.max_shards_per_node` answers: the stage, the error type and ES's own reason."""
    kb = _kb(tmp_path, fake_es.url)
    try:
        first = await kb.reload(corpus)
        fake_es.refuse_create = (400, "validation_exception", MAX_SHARDS)
        with pytest.raises(ReloadError) as info:
            await kb.reload(corpus)
        text = str(info.value)
        assert re.fullmatch(
            rf"Elasticsearch reload failed creating the index kb-\d{{20}}: BadRequestError 400: "
            rf"{re.escape(MAX_SHARDS)}; the current knowledge base keeps serving",
            text,
        ), text
        assert "dropping an index failed" not in caplog.text, "it never created one"
        assert fake_es.aliases == {"kb": {first.index}}
    finally:
        await kb.close()


async def test_a_reload_checks_the_cluster_and_the_credentials_before_embedding(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    embedder = FakeEmbedder()
    url = f"http://user:s3cret@127.0.0.1:{_free_port()}"
    settings = make_settings(tmp_path, elasticsearch={"url": url, "request_timeout_s": 0.5})
    down = ElasticKB(settings.kb, settings.elasticsearch, embedder)
    try:
        with pytest.raises(ReloadError) as info:
            await down.reload(corpus)
    finally:
        await down.close()
    text = str(info.value)
    assert embedder.passages == [], "nothing is embedded for a cluster that cannot take it"
    assert "before any work" in text
    assert f"cannot connect to http://127.0.0.1:{url.rsplit(':', 1)[1]} (ConnectionError)" in text
    assert "check BOT_ELASTICSEARCH__URL" in text
    assert "s3cret" not in text
    assert "user:" not in text
    assert "keeps serving" not in text, "with the cluster down, nothing is known to serve"
    assert "dropping an index failed" not in caplog.text

    server = FakeElasticsearch(api_key="c2VjcmV0OmtleQ==")
    await server.start()
    wrong = _kb(tmp_path, server.url, api_key="d3Jvbmc6a2V5")
    wrong._embedder = embedder
    try:
        with pytest.raises(ReloadError) as info:
            await wrong.reload(corpus)
    finally:
        await wrong.close()
        await server.stop()
    assert embedder.passages == []
    assert "refused the credentials (AuthenticationException 401)" in str(info.value)
    assert "BOT_ELASTICSEARCH__USERNAME" in str(info.value)
    assert "BOT_ELASTICSEARCH__API_KEY" in str(info.value)
    assert "d3Jvbmc6a2V5" not in str(info.value)


async def test_connection_errors_name_the_url_and_the_setting_to_check(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    port = _free_port()
    down = _kb(tmp_path, f"http://elastic:pw1234@127.0.0.1:{port}", request_timeout_s=0.5)
    tls = _kb(tmp_path, fake_es.url.replace("http://", "https://"), request_timeout_s=2)
    try:
        with pytest.raises(KBUnavailableError) as info:
            await down.ping()
        assert str(info.value) == (
            f"Elasticsearch ping failed: cannot connect to http://127.0.0.1:{port} (ConnectionError): "
            "check BOT_ELASTICSEARCH__URL"
        )
        with pytest.raises(KBUnavailableError) as info:
            await tls.ping()
        assert "(TlsError): check http:// or https:// in BOT_ELASTICSEARCH__URL" in str(info.value)
    finally:
        await down.close()
        await tls.close()


async def test_an_index_holding_the_alias_name_is_named_everywhere(
    es_server: ESServer, corpus: Path, tmp_path: Path
) -> None:
    """`health`, `kb stats` and searches say what the reload says, not "run kb reload" (which is refused),
    and no search reads that index."""
    client = raw_client(es_server.url)
    kb = _on(es_server, tmp_path)
    taken = f"an index named '{es_server.alias}' exists where the alias '{es_server.alias}' should be"
    try:
        await client.indices.create(index=es_server.alias)
        with pytest.raises(KBUnavailableError, match=taken):
            await kb.ping()
        with pytest.raises(KBUnavailableError, match=taken):
            await kb.stats()
        with pytest.raises(KBUnavailableError, match=taken):
            await kb.search("customs declaration", mode="bm25")
        with pytest.raises(ReloadError, match=taken):
            await kb.reload(corpus)
    finally:
        await client.options(ignore_status=404).indices.delete(index=es_server.alias)
        await client.close()
        await kb.close()


async def _old_index(server: ESServer) -> None:
    """An index as a version before per-language text fields built it: `text` and `heading`, no gate."""
    client = raw_client(server.url)
    index = f"{server.alias}-20250101000000000000"
    try:
        await client.indices.create(
            index=index,
            mappings={
                "properties": {
                    "chunk_id": {"type": "keyword"},
                    "source": {"type": "keyword"},
                    "heading": {"type": "text", "analyzer": "english"},
                    "text": {"type": "text", "analyzer": "english"},
                    "lang": {"type": "keyword"},
                    "vector": {
                        "type": "dense_vector",
                        "dims": 64,
                        "index": True,
                        "similarity": "cosine",
                        "index_options": {"type": "int8_hnsw"},
                    },
                }
            },
        )
        document = {"chunk_id": "a.md#0", "source": "a.md", "heading": "Customs", "text": "customs forms"}
        await client.bulk(operations=[{"index": {"_index": index, "_id": "a.md#0"}}, document], refresh=True)
        await client.indices.update_aliases(actions=[{"add": {"index": index, "alias": server.alias}}])
    finally:
        await client.close()


async def test_an_index_an_older_version_built_is_named_in_stats_and_searches_warn_once(
    es_server: ESServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await _old_index(es_server)
    kb = _on(es_server, tmp_path)
    try:
        stats = await kb.stats()
        assert stats.extra["warning"] == (
            "built by an older version: keyword search is off, run `python -m bot kb reload`"
        )
        with caplog.at_level("WARNING", logger="bot.kb"):
            await kb.search("customs", mode="bm25")
            kb._calibration = None  # the gate is re-read after CALIBRATION_TTL_S: the check is not redone
            await kb.search("customs", mode="bm25")
        assert caplog.text.count("built by an older version") == 1
    finally:
        await kb.close()
