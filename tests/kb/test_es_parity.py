"""The HTTP fake refuses what a real node refuses: each case runs on the fake and on the real node of CI.

These are the review's points where a cluster behaves differently from an earlier, laxer fake (issue 16).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError

from tests.kb.conftest import ESServer, raw_client

MAPPING: dict[str, Any] = {
    "properties": {
        "vector": {
            "type": "dense_vector",
            "dims": 3,
            "index": True,
            "similarity": "cosine",
            "index_options": {"type": "int8_hnsw"},
        }
    }
}


@pytest.fixture
async def client(es_server: ESServer) -> AsyncIterator[AsyncElasticsearch]:
    es = raw_client(es_server.url)
    try:
        for suffix in ("1", "2"):
            await es.indices.create(index=f"{es_server.alias}-{suffix}", mappings=MAPPING)
        yield es
    finally:
        await es.close()


async def test_wildcard_and_alias_deletes_are_refused(
    client: AsyncElasticsearch, es_server: ESServer
) -> None:
    alias = es_server.alias
    await client.indices.update_aliases(actions=[{"add": {"index": f"{alias}-1", "alias": alias}}])
    with pytest.raises(BadRequestError, match="Wildcard expressions or all indices are not allowed"):
        await client.indices.delete(index=f"{alias}-*")
    with pytest.raises(BadRequestError, match="matches an alias"):
        await client.indices.delete(index=alias)
    assert set((await client.indices.get(index=f"{alias}-*")).body) == {f"{alias}-1", f"{alias}-2"}


async def test_removing_a_missing_alias_is_a_silent_no_op_unless_it_must_exist(
    client: AsyncElasticsearch, es_server: ESServer
) -> None:
    alias = es_server.alias
    one, two = f"{alias}-1", f"{alias}-2"
    await client.indices.update_aliases(actions=[{"add": {"index": one, "alias": alias}}])
    response = await client.indices.update_aliases(
        actions=[{"remove": {"index": two, "alias": alias}}, {"add": {"index": two, "alias": alias}}]
    )
    # HTTP 200: the remove is skipped and the add applied, so the alias now has two indices.
    assert response.body["errors"] is True
    assert set((await client.indices.get_alias(name=alias)).body) == {one, two}
    with pytest.raises(NotFoundError, match="aliases_not_found_exception"):
        await client.indices.update_aliases(
            actions=[
                {"remove": {"index": one, "alias": f"{alias}x", "must_exist": True}},
                {"remove": {"index": one, "alias": alias}},
            ]
        )
    assert set((await client.indices.get_alias(name=alias)).body) == {one, two}, "nothing applied"


async def test_an_id_over_512_bytes_fails_the_whole_bulk(
    client: AsyncElasticsearch, es_server: ESServer
) -> None:
    index = f"{es_server.alias}-1"
    operations: list[dict[str, Any]] = [
        {"index": {"_index": index, "_id": "short"}},
        {"vector": [1.0, 0.0, 0.0]},
        {"index": {"_index": index, "_id": "é" * 257}},
        {"vector": [1.0, 0.0, 0.0]},
    ]
    with pytest.raises(BadRequestError, match="too long, must be no longer than 512 bytes"):
        await client.bulk(operations=operations)
    await client.indices.refresh(index=index)
    assert (await client.count(index=index))["count"] == 0


async def test_vectors_cosine_cannot_take_and_knn_bounds(
    client: AsyncElasticsearch, es_server: ESServer
) -> None:
    index = f"{es_server.alias}-1"
    response = await client.bulk(
        operations=[
            {"index": {"_index": index, "_id": "zero"}},
            {"vector": [0.0, 0.0, 0.0]},
            {"index": {"_index": index, "_id": "none"}},
            {},
            {"index": {"_index": index, "_id": "one"}},
            {"vector": [0.3, 0.5, 0.7]},
        ],
        refresh=True,
    )
    statuses = {
        next(iter(item.values()))["_id"]: next(iter(item.values()))["status"] for item in response["items"]
    }
    assert statuses == {"zero": 400, "none": 201, "one": 201}, "zero magnitude refused, no vector accepted"
    knn: dict[str, Any] = {"field": "vector", "query_vector": [0.3, 0.5, 0.7], "k": 5, "num_candidates": 10}
    hits = (await client.search(index=index, knn=knn))["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["one"], "a document without a vector is not a kNN candidate"
    for bad, message in (
        ({"k": 0}, "must be greater than 0"),
        ({"num_candidates": 10_001}, "cannot exceed"),
        ({"query_vector": [0.0, 0.0, 0.0]}, "zero magnitude"),
    ):
        with pytest.raises(BadRequestError, match=message):
            await client.search(index=index, knn={**knn, **bad})
    with pytest.raises(BadRequestError, match="Result window is too large"):
        await client.search(index=index, size=10_001, query={"match_all": {}})


async def test_a_single_node_stays_yellow_with_a_replica(
    client: AsyncElasticsearch, es_server: ESServer
) -> None:
    index = f"{es_server.alias}-3"
    await client.indices.create(index=index, mappings=MAPPING, settings={"number_of_replicas": 1})
    # A real node answers 408 when green is not reached within the timeout; the body still says yellow.
    health = await client.options(ignore_status=408).cluster.health(
        index=index, timeout="2s", wait_for_status="green"
    )
    assert health["status"] == "yellow"


async def test_documents_are_listed_in_pages_of_a_composite_aggregation(
    client: AsyncElasticsearch, es_server: ESServer
) -> None:
    """What `ElasticKB.indexed_sources` asks: buckets in key order, `after_key` to go on from, none left
    out; and what a node refuses (a text field, an `after` that does not fit the sources)."""
    index = f"{es_server.alias}-4"
    mapping = {
        "properties": {**MAPPING["properties"], "source": {"type": "keyword"}, "body": {"type": "text"}}
    }
    await client.indices.create(index=index, mappings=mapping)
    operations: list[dict[str, Any]] = []
    for i, source in enumerate(["b.md", "a.md", "c.md", "a.md", "é.md"]):
        operations += [{"index": {"_index": index, "_id": str(i)}}, {"source": source, "body": "text"}]
    operations += [{"index": {"_index": index, "_id": "nosource"}}, {"body": "a chunk without a source"}]
    await client.bulk(operations=operations, refresh=True)
    sources = [{"source": {"terms": {"field": "source"}}}]
    first = await client.search(
        index=index, size=0, aggs={"s": {"composite": {"size": 2, "sources": sources}}}
    )
    page = first["aggregations"]["s"]
    assert page["buckets"] == [
        {"key": {"source": "a.md"}, "doc_count": 2},
        {"key": {"source": "b.md"}, "doc_count": 1},
    ]
    assert page["after_key"] == {"source": "b.md"}
    rest = await client.search(
        index=index,
        size=0,
        aggs={"s": {"composite": {"size": 2, "sources": sources, "after": page["after_key"]}}},
    )
    assert [b["key"]["source"] for b in rest["aggregations"]["s"]["buckets"]] == ["c.md", "é.md"]
    last = await client.search(
        index=index,
        size=0,
        aggs={"s": {"composite": {"size": 2, "sources": sources, "after": {"source": "é.md"}}}},
    )
    assert last["aggregations"]["s"]["buckets"] == []
    with pytest.raises(BadRequestError, match="Text fields are not optimised"):
        await client.search(
            index=index,
            size=0,
            aggs={"s": {"composite": {"sources": [{"body": {"terms": {"field": "body"}}}]}}},
        )
    with pytest.raises(BadRequestError, match=r"\[after\] has 2 value"):
        await client.search(
            index=index,
            size=0,
            aggs={"s": {"composite": {"sources": sources, "after": {"source": "a.md", "x": "y"}}}},
        )
