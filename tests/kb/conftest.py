"""Fixtures for the knowledge-base tests: a small multi-format corpus and every backend behind one factory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.config import Settings
from bot.kb.base import Embedder, KnowledgeBase
from bot.kb.crosslingual import ChineseEnglishDictionary
from tests.conftest import REAL_ES_URL
from tests.fakes import FakeEmbedder
from tests.kb.fake_es import FakeElasticsearch
from tests.kb.site_server import HelpSite

if TYPE_CHECKING:
    from elasticsearch import AsyncElasticsearch

    from bot.admin import Admin
    from bot.domain import Chunk
    from bot.kb.embedded import EmbeddedKB, _Snapshot
    from tests.fakes_log import ApprovedAnswersToReview

SHIPPING_MD = """\
# Shipping guide

Everything about sending parcels with Parcelly.

## Sending a parcel abroad

International parcels need a customs declaration form. Fill in the customs declaration online before
you drop the parcel off; the courier prints it for you.

## Parcel size limits

The maximum weight is 25 kilograms. The longest side may be 120 centimetres.

```
# this is code, not a heading
print("hello")
```
"""

API_RST = """\
==============
Developer API
==============

.. contents::

Authentication
--------------

API keys are sent in the Authorization header. Rotate a key from the dashboard at any time.

Rate limits
~~~~~~~~~~~

Each key may make 100 requests per minute; beyond that the API answers 429 Too Many Requests.
"""

HELP_HTML = """\
<html><head><title>Contact us</title><script>var tracking = "ignore me";</script></head>
<body><nav>Home | Help</nav>
<h1>Contact support</h1>
<p>Our agents help with anything the assistant cannot answer.</p>
<h2>Opening hours</h2>
<p>Support is open Monday to Friday, nine to five, and on Saturday mornings.</p>
</body></html>
"""

FAQ_CSV = """\
question,answer
How do I reset my password?,"Open settings, choose reset password, and follow the link we email you."
Can I pay with PayPal?,"Yes: PayPal, debit and credit cards are accepted at checkout."
"""

NOTES_TXT = """\
Locker troubleshooting

If the locker door does not open, press the green help button and scan the pickup code again.
"""


def write_corpus(root: Path, *, with_bad: bool = True) -> Path:
    """Five good documents in five formats, plus (optionally) one binary file renamed to .md."""
    (root / "guide").mkdir(parents=True, exist_ok=True)
    (root / "guide" / "shipping.md").write_text(SHIPPING_MD, encoding="utf-8")
    (root / "api.rst").write_text(API_RST, encoding="utf-8")
    (root / "help.html").write_text(HELP_HTML, encoding="utf-8")
    (root / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    (root / "notes.txt").write_text(NOTES_TXT, encoding="utf-8")
    if with_bad:
        (root / "broken.md").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "knowledge")


@pytest.fixture
async def site() -> AsyncIterator[HelpSite]:
    """The help-center website on loopback (tests/kb/site_server.py), for the website-source tests."""
    server = HelpSite()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **overrides)  # type: ignore[call-arg]


KBFactory = Callable[[Embedder], KnowledgeBase]


@pytest.fixture
async def fake_es() -> AsyncIterator[FakeElasticsearch]:
    server = FakeElasticsearch()
    await server.start()
    yield server
    await server.stop()


def _backends() -> Iterator[Any]:
    yield pytest.param("embedded", id="embedded")
    yield pytest.param("elastic-fake", id="elastic-fake")
    yield pytest.param(
        "elastic-real",
        id="elastic-real",
        marks=[
            pytest.mark.integration,
            pytest.mark.skipif(not REAL_ES_URL, reason="BOT_ELASTICSEARCH__URL not set: no real cluster"),
        ],
    )


@pytest.fixture(params=list(_backends()))
async def kb_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KBFactory]:
    """Builds a fresh KB of the parametrised backend; every KB made is closed (and real indices dropped)."""
    made: list[KnowledgeBase] = []
    server: FakeElasticsearch | None = None
    kind = request.param
    alias = f"kbtest{uuid.uuid4().hex[:8]}" if kind == "elastic-real" else "kb"
    if kind == "elastic-fake":
        server = FakeElasticsearch()
        await server.start()
    request.node.fake_es = server

    def make(embedder: Embedder) -> KnowledgeBase:
        kb: KnowledgeBase
        if kind == "embedded":
            from bot.kb.embedded import EmbeddedKB

            settings = make_settings(tmp_path)
            kb = EmbeddedKB(settings.kb, settings.index_dir, embedder)
        else:
            from bot.kb.elastic import ElasticKB

            url = server.url if server is not None else REAL_ES_URL
            settings = make_settings(tmp_path, elasticsearch={"url": url, "alias": alias})
            kb = ElasticKB(settings.kb, settings.elasticsearch, embedder)
        made.append(kb)
        return kb

    yield make
    if kind == "elastic-real":
        await drop_indices(REAL_ES_URL, alias)
    for kb in made:
        await kb.close()
    if server is not None:
        await server.stop()


def raw_client(url: str) -> AsyncElasticsearch:
    """A plain client for a test's own requests; it speaks to 8.x and 9.x servers as the bot does."""
    from elasticsearch import AsyncElasticsearch

    from bot.kb.elastic import negotiating_transport

    return AsyncElasticsearch(url, request_timeout=30, transport_class=negotiating_transport())


async def drop_indices(url: str, alias: str) -> None:
    """Delete every index of `alias` by its concrete name, the only delete a cluster accepts since 8.0
    (`action.destructive_requires_name`: wildcard and alias deletes are refused)."""
    client = raw_client(url)
    try:
        found = await client.indices.get(index=f"{alias}-*,{alias}", ignore_unavailable=True)
        for name in sorted(found.body):
            await client.options(ignore_status=404).indices.delete(index=name)
    finally:
        await client.close()


def _servers() -> Iterator[Any]:
    yield pytest.param("fake", id="fake")
    yield pytest.param(
        "real",
        id="real",
        marks=[
            pytest.mark.integration,
            pytest.mark.skipif(not REAL_ES_URL, reason="BOT_ELASTICSEARCH__URL not set: no real cluster"),
        ],
    )


@dataclass
class ESServer:
    """An Elasticsearch to test against: the HTTP fake (`fake` set) or the real node of the CI run."""

    url: str
    alias: str
    fake: FakeElasticsearch | None


@pytest.fixture(params=list(_servers()))
async def es_server(request: pytest.FixtureRequest) -> AsyncIterator[ESServer]:
    """The fake, and the real node when one is configured; a fresh alias on the real one, cleaned after."""
    if request.param == "fake":
        server = FakeElasticsearch()
        await server.start()
        try:
            yield ESServer(server.url, "kb", server)
        finally:
            await server.stop()
        return
    alias = f"kbtest{uuid.uuid4().hex[:8]}"
    try:
        yield ESServer(REAL_ES_URL, alias, None)
    finally:
        await drop_indices(REAL_ES_URL, alias)


def folder_admin(
    tmp_path: Path, corpus: Path, approved: ApprovedAnswersToReview | None = None
) -> tuple[Admin, EmbeddedKB]:
    """The admin actions over an embedded index of `corpus` alone (no configured source list), every upload
    let through by its check."""
    from bot.admin import Admin
    from bot.kb.embedded import EmbeddedKB
    from tests.fakes_log import MemoryConversationLog

    settings = make_settings(tmp_path)
    kb = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder())
    admin = Admin(
        kb,
        MemoryConversationLog(),
        kb_source=corpus,
        exports_dir=tmp_path / "exports",
        check_upload=lambda name, data: name,
        approved=approved,  # type: ignore[arg-type]
    )
    return admin, kb


# The format of CC-CEDICT: traditional simplified [pinyin] /sense/sense/.
CEDICT = """\
# CC-CEDICT test excerpt
包裹 包裹 [bao1 guo3] /to wrap up/to bind up/bundle/parcel/package/CL:個|个[ge4]/
丟 丢 [diu1] /to lose/to put aside/to throw/
忘記 忘记 [wang4 ji4] /to forget/
密碼 密码 [mi4 ma3] /secret code/ciphertext/password/PIN/
退款 退款 [tui4 kuan3] /to refund/refund/
快遞 快递 [kuai4 di4] /express delivery/
櫃 柜 [gui4] /cupboard/cabinet/wardrobe/
柳 柳 [liu3] /willow/surname Liu/
北京 北京 [Bei3 jing1] /Beijing, capital of the People's Republic of China/
打 打 [da3] /to beat/to strike/to hit/
開發 开发 [kai1 fa1] /to exploit (a resource)/to develop/
開 开 [kai1] /to open/to write out (a prescription, check, invoice etc)/
發票 发票 [fa1 piao4] /invoice/receipt or bill for purchase/
票 票 [piao4] /ticket/ballot/
安卓 安卓 [An1 zhuo2] /Android (operating system for mobile devices)/
安 安 [an1] /content/calm/
卓 卓 [zhuo1] /outstanding/
網絡 网络 [Wang3 luo4] /Internet/
網絡 网络 [wang3 luo4] /network (computing, telecommunications, transport etc)/
咋 咋 [za2] /loud noise/
多 多 [duo1] /many/much/Taiwan pr. [duo2] when it means "how"/
支付寶 支付宝 [Zhi1 fu4 bao3] /Alipay, online payment platform/
行 行 [xing2] /to walk/OK/
英國 英国 [Ying1 guo2] /United Kingdom/
微信 微信 [Wei1 xin4] /Weixin or WeChat (mobile text and voice messaging service)/
"""


@pytest.fixture
def dictionary(tmp_path: Path) -> ChineseEnglishDictionary:
    """CC-CEDICT's format, a few entries: the Chinese–English tests' dictionary."""
    path = tmp_path / "cedict.txt"
    path.write_text(CEDICT, encoding="utf-8")
    return ChineseEnglishDictionary(path)


def outdated_without_meta(path: Path, key: str) -> str | None:
    """What an embedded index at `path` says needs a reload (`_Snapshot.outdated`) once its meta `key` is
    deleted, as an index written before that key was does."""
    import contextlib
    import sqlite3

    from bot.kb.embedded import _Snapshot

    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (key,))
    snapshot = _Snapshot(path)
    try:
        return snapshot.outdated
    finally:
        snapshot.retire()


def language_chunks(sections: list[tuple[str, str, str, str]]) -> list[Chunk]:
    """One chunk per (language, source, heading, text) section, numbered in order."""
    from dataclasses import replace

    from tests.fakes import make_chunk

    return [
        replace(make_chunk(source, heading, text, n), lang=lang)
        for n, (lang, source, heading, text) in enumerate(sections)
    ]


def index_snapshot(tmp_path: Path, chunks: list[Chunk]) -> _Snapshot:
    """An embedded index of `chunks` (unit vectors of three dimensions) written in `tmp_path`, opened."""
    import numpy as np

    from bot.kb.embedded import _Snapshot, write_index

    path = tmp_path / "kb-test.sqlite"
    write_index(path, chunks, np.ones((len(chunks), 3), dtype=np.float32), {"dim": "3"})
    return _Snapshot(path)


def first_heading(tmp_path: Path, chunks: list[Chunk], question: str, lang: str) -> str:
    """The heading BM25 ranks first for `question` (in `lang`) in a current index of `chunks`."""
    snapshot = index_snapshot(tmp_path, chunks)
    try:
        assert snapshot.outdated is None
        rows = snapshot.bm25(question, 5, lang)
        assert rows, question
        return snapshot.chunks[rows[0][0]].heading
    finally:
        snapshot.retire()
