"""A small Elasticsearch at the HTTP boundary: real JSON shapes, naive BM25 and int8-estimated cosine kNN.

It checks what the client sends (mapping, query types, bulk NDJSON, atomic alias swaps) and records every
request, so tests can assert on the wire protocol as well as on search results. Where a real node refuses
or differs (checked against Elasticsearch 9.2 in tests/kb/test_es_parity.py), it does too: wildcard and
alias deletes, `_id` over 512 bytes, zero vectors under cosine, kNN `k`/`num_candidates` bounds, a result
window over 10000, a `remove` of an alias that is not there, a single node staying yellow with replicas.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.arabic import arabic_folded, arabic_stem
from bot.kb.analysis import THAI_RUN, thai_words
from bot.unicode import MARKS

_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# The standard tokenizer (Unicode word breaks, UAX #29): runs of letters and digits, each CJK character a
# token of its own; a colon between letters ("heading:customs"), a full stop or apostrophe between letters or
# digits ("e.g", "don't", "1.5") and a comma between digits ("1,000") do not break a word.
# Marks written on letters belong to their word there too ("पासवर्ड" is one token).
_ALNUM = rf"(?:[^\W_{_CJK}]|[{MARKS}])+"
_STANDARD = re.compile(
    rf"[{_CJK}]|{_ALNUM}(?:(?:[.'’]|(?<=[^\W\d_]):(?=[^\W\d_])|(?<=\d)[,;](?=\d)){_ALNUM})*", re.UNICODE
)
# Lucene's English stop set, which `english`, `cjk` and `standard` (when configured) use.
_ENGLISH_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
_FRENCH_STOP = frozenset(
    [
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "dans",
        "de",
        "des",
        "du",
        "elle",
        "en",
        "et",
        "eux",
        "il",
        "je",
        "la",
        "le",
        "les",
        "leur",
        "lui",
        "ma",
        "mais",
        "me",
        "même",
        "mes",
        "moi",
        "mon",
        "ne",
        "nos",
        "notre",
        "nous",
        "on",
        "ou",
        "par",
        "pas",
        "pour",
        "qu",
        "que",
        "qui",
        "sa",
        "se",
        "ses",
        "son",
        "sur",
        "ta",
        "te",
        "tes",
        "toi",
        "ton",
        "tu",
        "un",
        "une",
        "vos",
        "votre",
        "vous",
        "c",
        "d",
        "j",
        "l",
        "à",
        "m",
        "n",
        "s",
        "t",
        "y",
        "été",
        "est",
        "sont",
        "comment",
    ]
)
_GERMAN_STOP = frozenset(
    [
        "aber",
        "alle",
        "als",
        "also",
        "am",
        "an",
        "auch",
        "auf",
        "aus",
        "bei",
        "bin",
        "bis",
        "da",
        "damit",
        "dann",
        "das",
        "dass",
        "dem",
        "den",
        "der",
        "des",
        "die",
        "doch",
        "du",
        "ein",
        "eine",
        "einem",
        "einen",
        "einer",
        "er",
        "es",
        "für",
        "hat",
        "ich",
        "ihr",
        "im",
        "in",
        "ist",
        "ja",
        "kann",
        "man",
        "mit",
        "nach",
        "nicht",
        "noch",
        "nur",
        "oder",
        "sich",
        "sie",
        "sind",
        "so",
        "und",
        "uns",
        "von",
        "vor",
        "war",
        "was",
        "wie",
        "wir",
        "wird",
        "zu",
        "zum",
        "zur",
    ]
)
# The built-in language analyzers of the default distribution (no plugins): a name not here is refused,
# as a real node refuses it ("failed to find analyzer").
BUILTIN_ANALYZERS = frozenset(
    [
        "standard",
        "simple",
        "whitespace",
        "stop",
        "keyword",
        "pattern",
        "fingerprint",
        "arabic",
        "armenian",
        "basque",
        "bengali",
        "brazilian",
        "bulgarian",
        "catalan",
        "cjk",
        "czech",
        "danish",
        "dutch",
        "english",
        "estonian",
        "finnish",
        "french",
        "galician",
        "german",
        "greek",
        "hindi",
        "hungarian",
        "indonesian",
        "irish",
        "italian",
        "latvian",
        "lithuanian",
        "norwegian",
        "persian",
        "portuguese",
        "romanian",
        "russian",
        "sorani",
        "spanish",
        "swedish",
        "turkish",
        "thai",
        "serbian",
    ]
)
_SNOWBALL = {
    "english": "porter",
    "french": "french",
    "german": "german",
    "spanish": "spanish",
    "italian": "italian",
    "portuguese": "portuguese",
    "dutch": "dutch",
    "russian": "russian",
    "swedish": "swedish",
    "danish": "danish",
    "norwegian": "norwegian",
    "finnish": "finnish",
}
_STOPS = {"english": _ENGLISH_STOP, "french": _FRENCH_STOP, "german": _GERMAN_STOP, "cjk": _ENGLISH_STOP}


def _cjk_bigrams(tokens: list[str]) -> list[str]:
    """The cjk_bigram filter: adjacent CJK characters pair up; a lone one stays a unigram."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) == 1:
            out.append(run[0])
        out.extend(a + b for a, b in zip(run, run[1:], strict=False))
        run.clear()

    for token in tokens:
        if len(token) == 1 and re.match(rf"[{_CJK}]", token):
            run.append(token)
        else:
            flush()
            out.append(token)
    flush()
    return out


def analyze(text: str, analyzer: str = "english") -> list[str]:
    """Emulates the built-in analyzers closely enough: standard tokens, lower case, the language's stop
    words and Snowball stemming, French elision, CJK bigrams. Raises KeyError for an unknown analyzer."""
    if analyzer not in BUILTIN_ANALYZERS:
        raise KeyError(analyzer)
    text = text.lower()
    if analyzer == "french":
        text = re.sub(r"\b[cdjlmnst]['’]", " ", text)  # elision
    tokens = _STANDARD.findall(text)
    if analyzer == "english":
        tokens = [re.sub(r"['’]s$", "", t) for t in tokens]  # english_possessive_stemmer
    if analyzer == "cjk":
        tokens = _cjk_bigrams(tokens)
    if analyzer == "thai":
        # The `thai` tokenizer cuts Thai text into words by its dictionary (PyThaiNLP's stands in for it).
        tokens = [w for t in tokens for w in (thai_words(t) if THAI_RUN.fullmatch(t) else (t,))]
    stop = _STOPS.get(analyzer, frozenset())
    tokens = [t for t in tokens if t not in stop]
    if analyzer == "arabic":
        # arabic_normalization, then Lucene's light stemmer (light10), which `bot.arabic` follows.
        return [arabic_stem(arabic_folded(t)) for t in tokens]
    algorithm = _SNOWBALL.get(analyzer)
    if algorithm is not None:
        import Stemmer

        stemmer = Stemmer.Stemmer(algorithm)
        tokens = [stemmer.stemWord(t) for t in tokens]
    return tokens


def _text_analyzers(properties: dict[str, Any]) -> dict[str, str]:
    """Indexed text fields and their analyzers (the default `standard` when none is named)."""
    return {
        name: str(spec.get("analyzer", "standard"))
        for name, spec in properties.items()
        if spec.get("type") == "text" and spec.get("index", True)
    }


JSON_HEADERS = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}


@dataclass
class Index:
    name: str
    mappings: dict[str, Any]
    settings: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    visible: dict[str, dict[str, Any]] = field(default_factory=dict)  # what searches see (after refresh)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


class FakeElasticsearch:
    """State and handlers; `start()` serves it on 127.0.0.1."""

    def __init__(self, *, api_key: str | None = None, version: str = "9.2.0") -> None:
        self.version = version
        self.indices: dict[str, Index] = {}
        self.aliases: dict[str, set[str]] = {}
        self.requests: list[Recorded] = []
        self.api_key = api_key
        self.reject_bulk_items = 0  # answer this many bulk items with 429 first, to exercise the back-off
        self.fail_searches = 0  # answer this many searches with 503
        self.search_delay_s = 0.0
        # Refuse every index creation with this (status, error type, reason), as a node at
        # `cluster.max_shards_per_node` does.
        self.refuse_create: tuple[int, str, str] | None = None
        # Apply an `_aliases` request, then hold the answer this long (a client timing out after the swap).
        self.aliases_answer_delay_s = 0.0
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ----------------------------------------------------------------------------------------- plumbing

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @staticmethod
    def _json(body: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, text=json.dumps(body), headers=JSON_HEADERS)

    def _error(self, status: int, kind: str, reason: str) -> web.Response:
        return self._json(
            {
                "error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
                "status": status,
            },
            status,
        )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        content_type = request.headers.get("Content-Type", "")
        body: Any = None
        if raw:
            if "ndjson" in content_type:
                body = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
            else:
                body = json.loads(raw)
        self.requests.append(
            Recorded(request.method, request.path, dict(request.query), body, dict(request.headers))
        )
        if self.api_key is not None and request.headers.get("Authorization") != f"ApiKey {self.api_key}":
            return self._error(401, "security_exception", "missing authentication credentials")
        refused = self._refuse_compat(request)
        if refused is not None:
            return refused
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        try:
            return await self._route(method, parts, request, body)
        except KeyError as exc:
            return self._error(400, "parse_exception", f"missing {exc}")

    def _refuse_compat(self, request: web.Request) -> web.Response | None:
        """A server takes REST API compatibility with its own major version and the one before, as 8.x and
        9.x do: 8.19 answers `compatible-with=9` with this 400 (a HEAD gets the status alone)."""
        major = int(self.version.split(".")[0])
        for header in ("Accept", "Content-Type"):
            asked = re.search(r"compatible-with=(\d+)", request.headers.get(header, ""))
            if asked and int(asked.group(1)) not in (major, major - 1):
                reason = (
                    f"{header} version must be either version {major} or {major - 1}, but found "
                    f"{asked.group(1)}. {header}={request.headers[header]}"
                )
                response = self._json(
                    {
                        "error": {
                            "root_cause": [
                                {
                                    "type": "media_type_header_exception",
                                    "reason": "Invalid media-type value on headers [Accept, Content-Type]",
                                }
                            ],
                            "type": "media_type_header_exception",
                            "reason": "Invalid media-type value on headers [Accept, Content-Type]",
                            "caused_by": {"type": "status_exception", "reason": reason},
                        },
                        "status": 400,
                    },
                    400,
                )
                if request.method == "HEAD":
                    return web.Response(status=400, headers=JSON_HEADERS)
                return response
        return None

    async def _route(
        self, method: str, parts: list[str], request: web.Request, body: Any
    ) -> web.StreamResponse:
        if not parts:
            return self._json(
                {
                    "name": "fake",
                    "cluster_name": "fake",
                    "cluster_uuid": "fake",
                    "version": {"number": self.version, "build_flavor": "default"},
                    "tagline": "You Know, for Search",
                }
            )
        if parts == ["_bulk"] or (len(parts) == 2 and parts[1] == "_bulk"):
            response = self._bulk(body or [])
            if request.query.get("refresh") in ("true", "wait_for", ""):
                for index in self.indices.values():
                    index.visible = dict(index.docs)
            return response
        if parts == ["_aliases"] and method == "POST":
            response = self._update_aliases(body)
            if self.aliases_answer_delay_s:
                import asyncio

                await asyncio.sleep(self.aliases_answer_delay_s)
            return response
        if parts[:2] == ["_cluster", "health"] and method == "GET":
            return self._health(parts[2] if len(parts) > 2 else "*")
        if parts[0] == "_alias" and len(parts) == 2:
            return self._get_alias(method, parts[1])
        if len(parts) == 2 and parts[1] == "_alias":
            return self._get_alias_of(parts[0])
        if len(parts) == 2 and parts[1] == "_refresh":
            return self._refresh(parts[0])
        if len(parts) == 2 and parts[1] == "_count":
            return self._count(parts[0])
        if len(parts) == 2 and parts[1] == "_search":
            return await self._search(parts[0], body or {})
        if len(parts) == 2 and parts[1] == "_mapping":
            if method == "PUT":
                return self._put_mapping(parts[0], body or {})
            if method == "GET":
                return self._get_mapping(parts[0])
        if len(parts) == 1:
            if method == "PUT":
                return self._create(parts[0], body or {})
            if method == "DELETE":
                return self._delete(parts[0])
            if method in ("GET", "HEAD"):
                return self._get_indices(parts[0], method)
        return self._error(
            400, "illegal_argument_exception", f"fake ES has no route {method} /{'/'.join(parts)}"
        )

    # ------------------------------------------------------------------------------------------ indices

    def _resolve(self, expression: str) -> list[str]:
        names: list[str] = []
        for part in expression.split(","):
            if part in self.aliases:
                names.extend(sorted(self.aliases[part]))
            elif "*" in part:
                names.extend(sorted(n for n in self.indices if fnmatch.fnmatch(n, part)))
            elif part in self.indices:
                names.append(part)
        return names

    def _create(self, name: str, body: dict[str, Any]) -> web.Response:
        if self.refuse_create is not None:
            return self._error(*self.refuse_create)
        if name in self.indices or name in self.aliases:
            return self._error(400, "resource_already_exists_exception", f"index [{name}] already exists")
        mappings = body.get("mappings", {})
        props = mappings.get("properties", {})
        vector = props.get("vector", {})
        # An index without a mapping (dynamic) is accepted, as a real node does; the bot's must be exact.
        if props and (vector.get("type") != "dense_vector" or vector.get("similarity") != "cosine"):
            return self._error(
                400, "mapper_parsing_exception", "fake ES expects a cosine dense_vector 'vector'"
            )
        if props and (
            vector.get("index_options", {}).get("type") != "int8_hnsw"
            or not isinstance(vector.get("dims"), int)
        ):
            return self._error(
                400, "mapper_parsing_exception", "fake ES expects int8_hnsw with explicit dims"
            )
        for field_name, analyzer in _text_analyzers(props).items():
            if analyzer not in BUILTIN_ANALYZERS:
                return self._error(
                    400,
                    "mapper_parsing_exception",
                    f"Failed to parse mapping: analyzer [{analyzer}] has not been configured in mappings "
                    f"(field [{field_name}])",
                )
        self.indices[name] = Index(name, mappings, body.get("settings", {}))
        return self._json({"acknowledged": True, "shards_acknowledged": True, "index": name})

    def _put_mapping(self, expression: str, body: dict[str, Any]) -> web.Response:
        # Like ES: `_meta` is replaced as a whole; only known mapping keys are accepted.
        names = self._resolve(expression)
        if not names:
            return self._error(404, "index_not_found_exception", f"no such index [{expression}]")
        unknown = sorted(set(body) - {"_meta", "properties", "dynamic"})
        if unknown:
            return self._error(400, "mapper_parsing_exception", f"unknown mapping parameters {unknown}")
        meta = body.get("_meta")
        if meta is not None and not isinstance(meta, dict):
            return self._error(400, "mapper_parsing_exception", "[_meta] must be an object")
        for name in names:
            if meta is not None:
                self.indices[name].mappings["_meta"] = meta
        return self._json({"acknowledged": True})

    def _get_mapping(self, expression: str) -> web.Response:
        names = self._resolve(expression)
        if not names:
            return self._error(404, "index_not_found_exception", f"no such index [{expression}]")
        return self._json({name: {"mappings": self.indices[name].mappings} for name in names})

    def _delete(self, expression: str) -> web.Response:
        # action.destructive_requires_name defaults to true since 8.0: concrete names only.
        for part in expression.split(","):
            if "*" in part or part == "_all":
                return self._error(
                    400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed"
                )
            if part in self.aliases:
                return self._error(
                    400,
                    "illegal_argument_exception",
                    f"The provided expression [{part}] matches an alias, specify the corresponding concrete "
                    "indices instead.",
                )
        names = self._resolve(expression)
        if not names:
            return self._error(404, "index_not_found_exception", f"no such index [{expression}]")
        for name in names:
            self.indices.pop(name, None)
            for members in self.aliases.values():
                members.discard(name)
        self.aliases = {a: m for a, m in self.aliases.items() if m}
        return self._json({"acknowledged": True})

    def _get_indices(self, expression: str, method: str) -> web.Response:
        names = self._resolve(expression)
        if not names and "*" not in expression:
            return self._error(404, "index_not_found_exception", f"no such index [{expression}]")
        if method == "HEAD":
            return web.Response(status=200, headers=JSON_HEADERS)
        out = {}
        for name in names:
            index = self.indices[name]
            aliases = {a: {} for a, members in self.aliases.items() if name in members}
            out[name] = {
                "aliases": aliases,
                "mappings": index.mappings,
                "settings": {"index": index.settings},
            }
        return self._json(out)

    def _get_alias(self, method: str, alias: str) -> web.StreamResponse:
        members = self.aliases.get(alias)
        if not members:
            if method == "HEAD":
                return web.Response(status=404, headers=JSON_HEADERS)
            return self._json({"error": f"alias [{alias}] missing", "status": 404}, 404)
        if method == "HEAD":
            return web.Response(status=200, headers=JSON_HEADERS)
        return self._json({name: {"aliases": {alias: {}}} for name in sorted(members)})

    def _get_alias_of(self, expression: str) -> web.Response:
        out = {}
        for name in self._resolve(expression):
            out[name] = {"aliases": {a: {} for a, m in self.aliases.items() if name in m}}
        return self._json(out)

    def _update_aliases(self, body: dict[str, Any]) -> web.Response:
        actions = body["actions"]
        staged = {alias: set(members) for alias, members in self.aliases.items()}
        results: list[dict[str, Any]] = []
        removed: set[str] = set()
        for action in actions:
            ((kind, spec),) = action.items()
            index = spec["index"]
            if kind == "remove_index" and "*" in index:
                # Unlike DELETE, a real node expands a wildcard here (destructive_requires_name or not).
                for name in sorted(n for n in self.indices if fnmatch.fnmatch(n, index) and n not in removed):
                    removed.add(name)
                    for members in staged.values():
                        members.discard(name)
                results.append({"action": {"type": kind, "indices": [index]}, "status": 200})
                continue
            if index not in self.indices or index in removed:
                return self._error(404, "index_not_found_exception", f"no such index [{index}]")
            if kind == "remove_index":
                removed.add(index)
                for members in staged.values():
                    members.discard(index)
                results.append({"action": {"type": kind, "indices": [index]}, "status": 200})
                continue
            alias = spec["alias"]
            if alias in self.indices:
                return self._error(
                    400, "invalid_alias_name_exception", f"an index exists with the name [{alias}]"
                )
            summary = {"type": kind, "indices": [index], "aliases": [alias]}
            if kind == "add":
                staged.setdefault(alias, set()).add(index)
                results.append({"action": summary, "status": 200})
            elif kind == "remove":
                if index not in staged.get(alias, set()):
                    missing = {
                        "type": "aliases_not_found_exception",
                        "reason": f"aliases [{alias}] missing",
                        "resource.type": "aliases",
                        "resource.id": alias,
                    }
                    if spec.get("must_exist"):
                        return self._error(404, missing["type"], missing["reason"])
                    # Without must_exist a real node skips it: HTTP 200, `errors: true`, the rest applied.
                    results.append({"action": summary, "status": 404, "error": missing})
                    continue
                staged[alias].discard(index)
                results.append({"action": summary, "status": 200})
            else:
                return self._error(400, "illegal_argument_exception", f"unknown alias action {kind}")
        # All actions apply together or not at all, as in Elasticsearch.
        self.aliases = {a: m for a, m in staged.items() if m}
        for index in removed:
            del self.indices[index]
        if any(r["status"] != 200 for r in results):
            return self._json({"acknowledged": True, "errors": True, "action_results": results})
        return self._json({"acknowledged": True, "errors": False})

    def _health(self, expression: str) -> web.Response:
        names = self._resolve(expression)
        if not names and "*" not in expression:
            return self._error(404, "index_not_found_exception", f"no such index [{expression}]")

        def replicas(settings: dict[str, Any]) -> int:
            flat = settings.get("index", settings)
            expand = str(flat.get("auto_expand_replicas", "false"))
            if expand != "false":
                return int(expand.split("-")[0])  # one node: the lower bound
            return int(flat.get("number_of_replicas", 1))

        # One node: a replica has nowhere to go, so any index asking for one keeps the cluster yellow.
        yellow = any(replicas(self.indices[n].settings) > 0 for n in names)
        return self._json(
            {"cluster_name": "fake", "status": "yellow" if yellow else "green", "number_of_nodes": 1}
        )

    def _refresh(self, expression: str) -> web.Response:
        names = self._resolve(expression)
        if not names:
            return self._error(404, "index_not_found_exception", f"no such index [{expression}]")
        for name in names:
            self.indices[name].visible = dict(self.indices[name].docs)
        return self._json({"_shards": {"total": 1, "successful": 1, "failed": 0}})

    def _count(self, expression: str) -> web.Response:
        names = self._resolve(expression)
        if not names:
            return self._error(404, "index_not_found_exception", f"no such index [{expression}]")
        total = sum(len(self.indices[n].visible) for n in names)
        return self._json(
            {"count": total, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}
        )

    # --------------------------------------------------------------------------------------------- bulk

    def _bulk(self, lines: list[dict[str, Any]]) -> web.Response:
        items = []
        errors = False
        # The request is validated as a whole first: one `_id` over 512 bytes fails all of it.
        i = 0
        while i < len(lines):
            ((op, meta),) = lines[i].items()
            i += 2 if op in ("index", "create", "update") else 1
            size = len(str(meta.get("_id", "")).encode())
            if size > 512:
                return self._error(
                    400,
                    "action_request_validation_exception",
                    f"Validation Failed: 1: id [{meta['_id']}] is too long, must be no longer than 512 "
                    f"bytes but was: {size};",
                )
        i = 0
        while i < len(lines):
            ((op, meta),) = lines[i].items()
            source = lines[i + 1] if op in ("index", "create") else None
            i += 2 if source is not None else 1
            name = meta.get("_index")
            if self.reject_bulk_items > 0:
                self.reject_bulk_items -= 1
                errors = True
                items.append(
                    {
                        op: {
                            "_index": name,
                            "_id": meta.get("_id"),
                            "status": 429,
                            "error": {"type": "es_rejected_execution_exception", "reason": "queue full"},
                        }
                    }
                )
                continue
            if name not in self.indices:
                errors = True
                items.append(
                    {op: {"_index": name, "status": 404, "error": {"type": "index_not_found_exception"}}}
                )
                continue
            index = self.indices[name]
            vector = (source or {}).get("vector")
            dims = index.mappings.get("properties", {}).get("vector", {}).get("dims")
            problem = None
            if vector is not None and dims is not None and len(vector) != dims:
                problem = f"vector needs {dims} dims"
            elif vector is not None and not any(vector):
                problem = (
                    "The [cosine] similarity does not support vectors with zero magnitude. "
                    f"Preview of invalid vector: {vector[:5]}"
                )
            if problem is not None:
                errors = True
                items.append(
                    {
                        op: {
                            "_index": name,
                            "_id": meta.get("_id"),
                            "status": 400,
                            "error": {"type": "document_parsing_exception", "reason": problem},
                        }
                    }
                )
                continue
            unknown = set(source or {}) - set(index.mappings.get("properties", {}))
            if unknown and index.mappings.get("dynamic") == "strict":
                errors = True
                items.append(
                    {
                        op: {
                            "_index": name,
                            "status": 400,
                            "error": {"type": "strict_dynamic_mapping_exception"},
                        }
                    }
                )
                continue
            index.docs[str(meta["_id"])] = source or {}
            items.append({op: {"_index": name, "_id": meta["_id"], "status": 201, "result": "created"}})
        return self._json({"took": 1, "errors": errors, "items": items})

    # ------------------------------------------------------------------------------------------- search

    async def _search(self, expression: str, body: dict[str, Any]) -> web.Response:
        import asyncio

        if self.search_delay_s:
            await asyncio.sleep(self.search_delay_s)
        if self.fail_searches > 0:
            self.fail_searches -= 1
            return self._error(503, "search_phase_execution_exception", "all shards failed")
        names = self._resolve(expression)
        if not names:
            return self._error(404, "index_not_found_exception", f"no such index [{expression}]")
        docs = [(n, doc_id, doc) for n in names for doc_id, doc in self.indices[n].visible.items()]
        size = int(body.get("size", 10))
        if size > 10_000:
            return self._error(
                400,
                "illegal_argument_exception",
                "Result window is too large, from + size must be less than or equal to: [10000] but was "
                f"[{size}].",
            )
        if "aggs" in body:
            properties = {}
            for n in names:
                properties.update(self.indices[n].mappings.get("properties", {}))
            aggregations = self._aggs(docs, body["aggs"], properties)
            if isinstance(aggregations, web.Response):
                return aggregations
            return self._json({**self._envelope([], len(docs)), "aggregations": aggregations})
        if "query" in body and set(body["query"]) == {"match_all"}:
            scored = [(1.0, n, i, d) for n, i, d in docs]
        elif "query" in body and set(body["query"]) == {"term"}:
            ((field_name, value),) = body["query"]["term"].items()
            value = value.get("value") if isinstance(value, dict) else value
            scored = [(1.0, n, i, d) for n, i, d in docs if d.get(field_name) == value]
        elif "query" in body:
            properties: dict[str, Any] = {}
            for n in names:
                properties.update(self.indices[n].mappings.get("properties", {}))
            scored = self._bm25(docs, body["query"], _text_analyzers(properties))
        elif "knn" in body:
            scored = self._knn(docs, body["knn"])
        else:
            return self._error(400, "parsing_exception", "fake ES needs query or knn")
        if isinstance(scored, web.Response):
            return scored
        scored.sort(key=lambda item: (-item[0], item[2]))
        order = body.get("sort")
        if order is not None:
            # One ascending keyword field, paged with search_after, as the vector read-back asks.
            first = order[0] if isinstance(order[0], dict) else {order[0]: "asc"}
            ((sort_field, direction),) = first.items()
            if direction != "asc" or len(order) != 1:
                return self._error(400, "parsing_exception", "fake ES sorts by one field ascending")
            scored = sorted((s for s in scored if sort_field in s[3]), key=lambda s: s[3][sort_field])
            after = body.get("search_after")
            if after is not None:
                scored = [s for s in scored if s[3][sort_field] > after[0]]
        includes = (
            (body.get("_source") or {}).get("includes") if isinstance(body.get("_source"), dict) else None
        )
        hits = []
        for score, name, doc_id, doc in scored[:size]:
            # 9.x leaves dense vectors out of `_source` unless they are asked for by name.
            source = {
                k: v for k, v in doc.items() if (k in includes if includes is not None else k != "vector")
            }
            hit = {"_index": name, "_id": doc_id, "_score": score, "_source": source}
            if order is not None:
                hit["sort"] = [doc[sort_field]]
            hits.append(hit)
        return self._json(self._envelope(hits, len(scored)))

    @staticmethod
    def _envelope(hits: list[dict[str, Any]], total: int) -> dict[str, Any]:
        return {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": total, "relation": "eq"},
                "max_score": hits[0]["_score"] if hits else None,
                "hits": hits,
            },
        }

    def _aggs(
        self, docs: list[tuple[str, str, dict[str, Any]]], aggs: dict[str, Any], properties: dict[str, Any]
    ) -> dict[str, Any] | web.Response:
        out: dict[str, Any] = {}
        for name, spec in aggs.items():
            if "composite" in spec:
                composite = self._composite(docs, spec, properties)
                if isinstance(composite, web.Response):
                    return composite
                out[name] = composite
            elif "cardinality" in spec:
                field_name = spec["cardinality"]["field"]
                out[name] = {"value": len({doc.get(field_name) for _, _, doc in docs})}
            elif "terms" in spec:
                field_name = spec["terms"]["field"]
                counts: dict[Any, int] = {}
                for _, _, doc in docs:
                    if field_name in doc:
                        counts[doc[field_name]] = counts.get(doc[field_name], 0) + 1
                ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
                buckets = [
                    {"key": k, "doc_count": n} for k, n in ranked[: int(spec["terms"].get("size", 10))]
                ]
                out[name] = {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": buckets}
            else:
                raise KeyError(f"aggregation {sorted(spec)}")
        return out

    def _composite(
        self,
        docs: list[tuple[str, str, dict[str, Any]]],
        spec: dict[str, Any],
        properties: dict[str, Any],
    ) -> dict[str, Any] | web.Response:
        """A top-level `composite` aggregation of `terms` sources, paged with `after`, as a node answers it:
        buckets in ascending key order, `after_key` the last bucket's key (left out when there is none)."""
        if set(spec) != {"composite"}:
            return self._error(400, "illegal_argument_exception", "fake ES takes no sub-aggregations here")
        body = spec["composite"]
        if set(body) - {"sources", "size", "after"}:
            return self._error(
                400,
                "x_content_parse_exception",
                f"[composite] unknown field {sorted(set(body) - {'sources', 'size', 'after'})}",
            )
        fields: list[tuple[str, str]] = []
        for source in body["sources"]:
            ((key, kind),) = source.items()
            if set(kind) != {"terms"} or set(kind["terms"]) != {"field"}:
                return self._error(400, "parsing_exception", "fake ES pages terms sources on a field only")
            field_name = kind["terms"]["field"]
            if (properties.get(field_name) or {}).get("type") == "text":
                # The message of a node: text fields keep no doc values to aggregate on.
                return self._error(
                    400,
                    "illegal_argument_exception",
                    "Text fields are not optimised for operations that require per-document field data like "
                    "aggregations and sorting, so these operations are disabled by default. Please use a "
                    f"keyword field instead. Alternatively, set fielddata=true on [{field_name}] in order to "
                    "load field data by uninverting the inverted index.",
                )
            fields.append((key, field_name))
        size = body.get("size", 10)
        after = body.get("after")
        if after is not None:
            if len(after) != len(fields):
                return self._error(
                    400,
                    "illegal_argument_exception",
                    f"[after] has {len(after)} value(s) but [sources] has {len(fields)}",
                )
            missing = [key for key, _ in fields if key not in after]
            if missing:
                return self._error(
                    400, "illegal_argument_exception", f"Missing value for [after.{missing[0]}]"
                )
        counts: dict[tuple[Any, ...], int] = {}
        for _, _, doc in docs:
            # Without `missing_bucket`, a document that lacks a field is in no bucket.
            if all(field_name in doc for _, field_name in fields):
                values = tuple(doc[field_name] for _, field_name in fields)
                counts[values] = counts.get(values, 0) + 1
        ordered = sorted(counts)
        if after is not None:
            start = tuple(after[key] for key, _ in fields)
            ordered = [values for values in ordered if values > start]
        page = ordered[: int(size)]
        buckets = [
            {"key": dict(zip([key for key, _ in fields], values, strict=True)), "doc_count": counts[values]}
            for values in page
        ]
        return {"after_key": buckets[-1]["key"], "buckets": buckets} if buckets else {"buckets": []}

    def _bm25(
        self, docs: list[tuple[str, str, dict[str, Any]]], query: dict[str, Any], analyzers: dict[str, str]
    ) -> Any:
        """`multi_match` (most_fields), alone or as `bool.should` clauses adding up; `match_none`."""
        if query == {"match_none": {}}:
            return []
        if set(query) == {"bool"}:
            clauses = query["bool"].get("should", [])
            if set(query["bool"]) - {"should"} or not clauses:
                return self._error(400, "parsing_exception", "fake ES only accepts bool.should")
        else:
            clauses = [query]
        totals: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        for clause in clauses:
            scored = self._multi_match(docs, clause, analyzers)
            if isinstance(scored, web.Response):
                return scored
            for score, name, doc_id, doc in scored:
                before = totals.get((name, doc_id), (0.0, doc))[0]
                totals[(name, doc_id)] = (before + score, doc)
        return [(score, name, doc_id, doc) for (name, doc_id), (score, doc) in totals.items()]

    def _multi_match(
        self, docs: list[tuple[str, str, dict[str, Any]]], query: dict[str, Any], analyzers: dict[str, str]
    ) -> Any:
        if set(query) != {"multi_match"}:
            return self._error(
                400, "parsing_exception", f"fake ES only accepts multi_match, got {sorted(query)}"
            )
        spec = query["multi_match"]
        if spec.get("type", "best_fields") != "most_fields":
            return self._error(400, "parsing_exception", "fake ES only scores most_fields")
        forced = spec.get("analyzer")
        if forced is not None and forced not in BUILTIN_ANALYZERS:
            return self._error(400, "illegal_argument_exception", f"failed to find analyzer [{forced}]")
        fields: list[tuple[str, float]] = []
        for entry in spec["fields"]:
            pattern, _, boost = entry.partition("^")
            # Field names may be wildcards, expanded over the mapping's text fields as ES does.
            for name in sorted(n for n in analyzers if fnmatch.fnmatch(n, pattern)):
                fields.append((name, float(boost) if boost else 1.0))
        n = len(docs) or 1
        tokenized = {f: [analyze(str(doc.get(f, "")), analyzers[f]) for _, _, doc in docs] for f, _ in fields}
        out = []
        for row, (name, doc_id, doc) in enumerate(docs):
            total = 0.0
            for field_name, boost in fields:
                # The query is analysed by the field's own analyzer unless one is named for it.
                terms = analyze(str(spec["query"]), forced or analyzers[field_name])
                column = tokenized[field_name]
                present = [t for t in column if t]
                avg = sum(len(t) for t in present) / (len(present) or 1) or 1.0
                tokens = column[row]
                for term in set(terms):
                    tf = tokens.count(term)
                    if not tf:
                        continue
                    df = sum(1 for t in column if term in t)
                    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                    total += boost * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(tokens) / avg))
            if total > 0:
                out.append((total, name, doc_id, doc))
        return out

    def _knn(self, docs: list[tuple[str, str, dict[str, Any]]], knn: dict[str, Any]) -> Any:
        vector = knn["query_vector"]
        k, candidates = knn.get("k"), knn.get("num_candidates")
        if knn.get("field") != "vector" or not isinstance(k, int) or not isinstance(candidates, int):
            return self._error(400, "illegal_argument_exception", "bad knn section")
        # The checks and messages of a 9.2 node.
        if k < 1:
            return self._error(400, "illegal_argument_exception", "[k] must be greater than 0")
        if candidates > 10_000:
            return self._error(400, "illegal_argument_exception", "[num_candidates] cannot exceed [10000]")
        if candidates < k:
            return self._error(400, "illegal_argument_exception", "[num_candidates] cannot be less than [k]")
        if not any(vector):
            return self._error(
                400,
                "search_phase_execution_exception",
                "failed to create query: The [cosine] similarity does not support vectors with zero "
                "magnitude.",
            )
        query = _int8(vector)
        out = []
        for name, doc_id, doc in docs:
            stored = doc.get("vector")
            if stored is None:
                continue  # a document without a vector is not in the HNSW graph
            # Scored like int8_hnsw: from scalar-quantized vectors, so an estimate of the cosine.
            out.append(((1 + _cosine(query, _int8(stored))) / 2, name, doc_id, doc))
        out.sort(key=lambda item: -item[0])
        return out[:k]


def _int8(vector: list[float]) -> list[float]:
    """The vector as int8 scalar quantization sees it: 255 levels between its extremes."""
    low, high = min(vector), max(vector)
    step = (high - low) / 255 or 1.0
    return [low + round((x - low) / step) * step for x in vector]


def _cosine(a: list[float], b: list[float]) -> float:
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(x * x for x in b)) or 1.0
    return sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)
