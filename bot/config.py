"""The bot's one `Settings` object: every `BOT_` environment variable, validated once at start."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from dotenv.parser import Original, parse_stream
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.sources import ENV_FILE_SENTINEL

ENV_PREFIX = "BOT_"
NESTED_DELIMITER = "__"


def _split_csv(value: Any) -> Any:
    """Accept `1,2,3` as well as JSON lists: operators type the former into .env files."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return []
        if stripped.startswith("["):
            import json

            return json.loads(stripped)
        return [part.strip() for part in stripped.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


_HTTP_URL = re.compile(r"^https?://[^\s/]+")


def website_url_problem(url: str) -> str | None:
    """Why `url` cannot be crawled as a website source (None when it can): http(s), a host, a valid port."""
    if not _HTTP_URL.match(url):
        return f"a website source must be an http(s) URL, got {url!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port outside 0-65535 or not a number
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if not parts.hostname:
        return f"{url!r} names no host"
    return None


def http_url(example: str, *, optional: bool = True, keep_trailing_slash: bool = False) -> AfterValidator:
    """The check of every URL setting: http(s) with a host, surrounding whitespace trimmed.

    `optional` lets the value be empty (the feature is off); a trailing slash is dropped unless the URL is
    a prefix that something is appended to (Telegram's base URLs get the token appended).
    """
    expected = f"must be an http(s) URL such as {example}" + (", or empty" if optional else "")

    def check(value: str) -> str:
        value = value.strip()
        if not value and optional:
            return value
        if not _HTTP_URL.match(value):
            raise ValueError(expected)
        return value if keep_trailing_slash else value.rstrip("/")

    return AfterValidator(check)


_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration_s(value: Any) -> Any:
    """Accept `90`, `90s`, `30m`, `6h` or `1d` (an empty value is 0: off)."""
    if isinstance(value, str):
        if not value.strip():
            return 0.0
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"must be a duration such as 30m, 6h or 1d (or seconds), got {value!r}")
        return float(match.group(1)) * _DURATION_UNITS[(match.group(2) or "s").lower()]
    return value


def _folder_not_empty(value: Any, default: object) -> Any:
    """Refuse an empty folder setting: `Path("")` is the working directory, so `BOT_DATA_DIR=` would put the
    database and models there and `BOT_KB__SOURCE=` would index whatever lies in it."""
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"got an empty value; unset it for the default ({default}) or name a folder")
    return value


def _empty_path_is_unset(value: Any) -> Any:
    """An optional file setting left empty means "none" (its default), as its description says, not `.`."""
    return None if isinstance(value, str) and not value.strip() else value


class CrawlSettings(BaseModel):
    """How website sources are crawled (`kb sync`, `BOT_KB__SOURCES`): politely, within limits."""

    max_pages: int = Field(default=2000, ge=1, le=200_000, description="Pages fetched per site and sync.")
    concurrency: int = Field(default=2, ge=1, le=32, description="Requests in flight to one site at once.")
    delay_s: float = Field(
        default=0.25, ge=0, le=60, description="Seconds between requests to a site (robots.txt may ask more)."
    )
    timeout_s: float = Field(default=15.0, gt=0, le=300, description="Deadline for one whole page request.")
    max_page_mb: float = Field(default=5.0, gt=0, le=100, description="Pages larger than this are skipped.")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Other hosts a site's links may lead to (comma-separated); default: the start host only.",
    )
    user_agent: str = Field(
        default="support-bot (+knowledge-base sync)",
        min_length=1,
        description="User-Agent sent, and the name robots.txt rules are matched against.",
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _HOST.match(host):
                raise ValueError(f"{host!r} is not a host name such as docs.example.com (a port may follow)")
        return [host.lower() for host in value]


class KBSettings(BaseModel):
    """Where the help-center documents live and how they are cut and searched."""

    source: Path = Field(
        default=Path("knowledge"), description="Folder of knowledge documents (uploads are saved here)."
    )
    sources: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Folders and site URLs (page, site root or sitemap.xml), comma-separated; empty: source.",
    )
    refresh_interval: float = Field(
        default=0.0,
        ge=0,
        le=30 * 86400,
        description="`serve` reloads every source this often (30m, 6h, 1d; 0 = never).",
    )
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    chunk_tokens: int = Field(default=200, ge=32, le=512, description="Target chunk size in embedder tokens.")
    chunk_overlap: int = Field(default=32, ge=0, le=256, description="Token overlap between split chunks.")
    max_file_mb: float = Field(default=20.0, gt=0, le=1024, description="Files larger than this are skipped.")
    # An upload is embedded while the admin waits, and cannot be stopped: about 7,400 characters a second with
    # the shipped embedder on 2 cores, so 500,000 is about a minute (a 5 MB text file took about ten).
    max_upload_chars: int = Field(
        default=500_000,
        ge=0,
        le=1_000_000_000,
        description="Characters of text one uploaded document (Telegram, admin console) may add; larger: "
        "copy it into the knowledge folder and `kb reload`. 0 = no limit.",
    )
    top_k: int = Field(default=5, ge=1, le=50, description="Passages retrieved per question.")
    search_timeout_s: float = Field(default=3.0, gt=0, le=60, description="Deadline for one KB search.")
    fusion: Literal["convex", "rrf"] = Field(
        default="convex", description="Hybrid fusion: normalised score blend (convex) or RRF k=60."
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _sources_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("sources")
    @classmethod
    def _sources_valid(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for item in (v.strip() for v in value):
            if "://" in item and (problem := website_url_problem(item)) is not None:
                raise ValueError(problem)
            if item and item not in out:
                out.append(item)
        return out

    @field_validator("refresh_interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> Any:
        return _duration_s(value)

    @field_validator("source", mode="before")
    @classmethod
    def _source_not_empty(cls, value: Any) -> Any:
        return _folder_not_empty(value, cls.model_fields["source"].default)

    def source_list(self) -> list[str]:
        """The sources a reload reads: `sources`, or the `source` folder alone."""
        return list(self.sources) or [str(self.source)]

    @model_validator(mode="after")
    def _overlap_below_size(self) -> KBSettings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("chunk_overlap must be smaller than chunk_tokens")
        return self


class ElasticsearchSettings(BaseModel):
    """The production knowledge base. Empty `url` selects the embedded backend."""

    url: Annotated[str, http_url("https://localhost:9200")] = Field(
        default="", description="Elasticsearch URL; empty = embedded SQLite/numpy backend."
    )
    alias: str = Field(
        default="kb", pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Alias searched by the bot."
    )
    api_key: SecretStr | None = Field(default=None, description="API key (base64 `id:key` form).")
    username: str | None = Field(default=None, description="Basic-auth user, if no API key.")
    password: SecretStr | None = Field(default=None, description="Basic-auth password.")
    ca_certs: Path | None = Field(default=None, description="CA certificate file for TLS.")
    verify_certs: bool = Field(default=True, description="Verify the server's TLS certificate.")
    request_timeout_s: float = Field(default=3.0, gt=0, le=300, description="Timeout of one search request.")
    bulk_chunk_size: int = Field(default=1000, ge=1, le=10000, description="Documents per bulk request.")

    @field_validator("ca_certs", mode="before")
    @classmethod
    def _no_ca_file(cls, value: Any) -> Any:
        return _empty_path_is_unset(value)


class LLMSettings(BaseModel):
    """The generator: an in-process GGUF model, or a llama.cpp server."""

    model_path: Path | None = Field(default=None, description="GGUF model; empty = shipped SmolLM2-135M.")
    lora_path: Path | None = Field(
        default=None, description="Optional GGUF LoRA adapter on top of the model."
    )
    server_url: Annotated[str, http_url("http://127.0.0.1:8080")] = Field(
        default="", description="llama.cpp server URL; set = remote backend."
    )
    server_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Several llama.cpp server URLs (comma-separated or a JSON list); set = a pool of them.",
    )
    server_check_s: float = Field(
        default=10.0, gt=0, le=3600, description="Seconds between health checks of each pooled server."
    )
    server_retry_s: float = Field(
        default=5.0, gt=0, le=3600, description="First wait before a failed pooled server is tried again."
    )
    server_api_key: SecretStr | None = Field(default=None, description="Bearer token for the server.")
    n_ctx: int = Field(default=2048, ge=256, le=131072, description="Context window in tokens.")
    n_threads: int = Field(default=0, ge=0, le=512, description="CPU threads; 0 = all cores.")
    n_batch: int = Field(default=512, ge=8, le=8192, description="Prompt batch size.")
    flash_attn: bool = Field(default=True, description="Flash attention (faster prompts on CPU).")
    cpu_extra_buffers: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="llama.cpp's extra CPU weight buffers (AMX, repacking); auto = off on CPUs with AMX.",
    )
    max_tokens: int = Field(default=256, ge=1, le=8192, description="Answer length limit in tokens.")
    temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    timeout_s: float = Field(default=60.0, gt=0, le=3600, description="Wall-clock limit of one generation.")
    queue_size: int = Field(default=32, ge=1, le=10000, description="Waiting generations before 'busy'.")
    wait_notice_s: float = Field(
        default=3.0,
        ge=0.5,
        le=600,
        description="Tell a customer their place in line and an estimate when their answer has not started "
        "after this many seconds (and others are ahead).",
    )
    wait_update_s: float = Field(
        default=30.0,
        ge=5,
        le=3600,
        description="Update that notice at most this often, and only when the place or estimate changed "
        "enough (Telegram limits edits).",
    )
    parallel: int = Field(
        default=4, ge=1, le=64, description="Answers decoded together in one batch (in-process model)."
    )
    seed: int = Field(default=0, ge=0, description="Sampling seed, for reproducible answers.")

    @field_validator("server_urls", mode="before")
    @classmethod
    def _server_urls_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("model_path", "lora_path", mode="before")
    @classmethod
    def _no_model_file(cls, value: Any) -> Any:
        return _empty_path_is_unset(value)

    @field_validator("server_urls")
    @classmethod
    def _server_urls_http(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for url in value:
            url = url.strip().rstrip("/")
            if not _HTTP_URL.match(url):
                raise ValueError(f"{url!r} is not an http(s) URL such as http://10.0.0.5:8080")
            if url not in out:
                out.append(url)
        return out

    @model_validator(mode="after")
    def _one_server_is_a_pool_of_one(self) -> LLMSettings:
        # `server_url` stays the switch to the remote backend everywhere (models, health): it names the
        # first pooled server, and a lone `server_url` is a pool of one.
        if self.server_urls and not self.server_url:
            self.server_url = self.server_urls[0]
        elif self.server_url and not self.server_urls:
            self.server_urls = [self.server_url]
        elif self.server_url and self.server_url not in self.server_urls:
            self.server_urls = [self.server_url, *self.server_urls]
        return self


class EmbeddingSettings(BaseModel):
    """The embedder used for dense retrieval."""

    model_path: Path | None = Field(default=None, description="GGUF embedder; empty = all-MiniLM-L6-v2.")
    n_threads: int = Field(default=0, ge=0, le=512, description="CPU threads; 0 = all cores.")
    batch_size: int = Field(default=32, ge=1, le=1024, description="Texts per embedding batch.")
    # Named as llama.cpp's `--pooling`; "none" and "rank" are left out: neither gives a sentence vector.
    pooling: Literal["auto", "mean", "cls", "last"] = Field(
        default="auto",
        description="How token vectors become one; `auto` = the GGUF metadata's (mean if it names none).",
    )
    query_prefix: str = Field(
        default="",
        max_length=200,
        description="Put before every question, e.g. `query: ` for e5 models.",
    )
    passage_prefix: str = Field(
        default="",
        max_length=200,
        description="Put before every knowledge-base passage, e.g. `passage: ` for e5 models.",
    )

    gloss_chinese: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Embed Chinese text (passages and questions) as its English dictionary gloss, for an "
        "English embedder; `auto` = on for the shipped all-MiniLM-L6-v2 and its fine-tunes, off with a "
        "`model_path` of your own. Changing it asks for `kb reload` on a knowledge base with Chinese.",
    )

    @field_validator("model_path", mode="before")
    @classmethod
    def _no_model_file(cls, value: Any) -> Any:
        return _empty_path_is_unset(value)

    def glosses_chinese(self) -> bool:
        """Whether `gloss_chinese` is on: `auto` trusts only an embedder of one's own to read Chinese."""
        return self.gloss_chinese == "on" or (self.gloss_chinese == "auto" and self.model_path is None)

    def with_model(self, path: Path) -> EmbeddingSettings:
        """These settings naming the file `path` (the resolved shipped model, a fine-tune being scored), the
        gloss decided as it was: naming the shipped model's file does not make it one of one's own."""
        gloss: Literal["on", "off"] = "on" if self.glosses_chinese() else "off"
        return self.model_copy(update={"model_path": path, "gloss_chinese": gloss})


class RAGSettings(BaseModel):
    """How retrieval turns into an answer, or into an honest refusal."""

    min_relevance: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Refuse when the gate fitted at the last reload (see `kb stats`) gives the passages a "
        "lower probability of answering the question than this.",
    )
    confident_relevance: float = Field(
        default=0.7,
        ge=0.0,
        le=1.0,
        description="An answer the gate gives a probability below this (and at least `min_relevance`) opens "
        "by saying it may not be exactly what was asked; 0 never says so.",
    )
    refuse_unknown_names: bool = Field(
        default=True,
        description="Refuse a question that names a product, command or place (a capitalised, mixed-case "
        "or Latin-in-CJK word) the knowledge base never mentions.",
    )
    translate_questions: bool = Field(
        default=True,
        description="Search a question in a language the help center is not written in through a bilingual "
        "dictionary into the help center's language (Chinese into English: CC-CEDICT), and quote the passage "
        "found, saying what language it is in; off: such a question is refused with a note naming the help "
        "center's languages.",
    )
    foreign_answer: Literal["auto", "extract", "generate"] = Field(
        default="auto",
        description="A question not in English: `extract` quotes the best passage in its language, "
        "`generate` asks the model to answer in it; `auto` quotes with English-only models (the shipped "
        "SmolLM2, also behind a llama-server) and with a server whose model is not known yet.",
    )
    copy_check: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Show a sentence of the model's own only when most of its words are copied from its "
        "passage in runs of four or more (a small model goes wrong where it rephrases); `auto` checks for "
        "models under 1B parameters (the shipped SmolLM2), not for larger ones or servers that do not say.",
    )
    history_turns: int = Field(default=6, ge=0, le=100, description="Past messages kept in the prompt.")
    prompt_passages: int = Field(
        default=2, ge=1, le=50, description="Best retrieved passages given to the model (at most kb.top_k)."
    )
    passage_tokens: int = Field(
        default=120,
        ge=32,
        le=4096,
        description="Each passage is cut to this many model tokens in the prompt.",
    )
    condense: bool = Field(default=True, description="Rewrite follow-ups into standalone questions.")
    ungrounded: Literal["extract", "caveat", "refuse"] = Field(
        default="extract",
        description="An answer no passage supports: quote the best passage, add a caveat, or refuse.",
    )


TELEGRAM_API = "https://api.telegram.org/bot"
TELEGRAM_FILES = "https://api.telegram.org/file/bot"


class TelegramSettings(BaseModel):
    """The Telegram channel."""

    token: SecretStr | None = Field(default=None, description="Bot token from @BotFather.")
    base_url: Annotated[str, http_url(TELEGRAM_API, optional=False, keep_trailing_slash=True)] = Field(
        default=TELEGRAM_API, description="Bot API base URL."
    )
    base_file_url: Annotated[str, http_url(TELEGRAM_FILES, optional=False, keep_trailing_slash=True)] = Field(
        default=TELEGRAM_FILES, description="File download URL."
    )
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, description="Admin user ids.")
    operator_chat_id: int | None = Field(default=None, description="Chat that receives handoffs.")
    webhook_url: Annotated[str, http_url("https://bot.example.com/telegram", keep_trailing_slash=True)] = (
        Field(default="", description="Public webhook URL; empty = long polling.")
    )
    webhook_listen: str = Field(default="0.0.0.0", description="Address the webhook server binds.")  # noqa: S104
    webhook_port: int = Field(default=8443, ge=1, le=65535, description="Port the webhook server binds.")
    webhook_secret: SecretStr | None = Field(default=None, description="Webhook secret_token.")
    edit_interval_s: float = Field(default=1.5, ge=0.0, le=60, description="Seconds between streaming edits.")
    flood_messages: int = Field(default=5, ge=1, le=1000, description="Messages allowed per flood window.")
    flood_window_s: float = Field(default=10.0, gt=0, le=3600, description="Flood window in seconds.")
    max_upload_mb: float = Field(default=10.0, gt=0, le=50, description="Largest admin upload accepted.")
    request_timeout_s: float = Field(default=15.0, gt=0, le=300, description="Bot API request timeout.")
    shared_state: Literal["auto", "memory", "database"] = Field(
        default="auto",
        description="Where webhook workers share update order and flood windows; auto: PostgreSQL.",
    )
    update_lease_s: float = Field(
        default=30.0, ge=2, le=600, description="Seconds before a silent worker's update is taken over."
    )

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("admin_ids")
    @classmethod
    def _admin_ids_positive(cls, value: list[int]) -> list[int]:
        for uid in value:
            if uid <= 0:
                raise ValueError("admin ids are positive Telegram user ids")
        return value


_ORIGIN = re.compile(r"^https?://[^\s/?#]+$")


class WebSettings(BaseModel):
    """The web channel (chat widget) and the admin console in the browser."""

    enabled: bool = Field(default=False, description="`serve` runs the web channel beside Telegram.")
    host: str = Field(default="127.0.0.1", description="Address the web server binds.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port the web server binds.")
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Sites that may embed the widget (https://shop.example.com); the server's own is always.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Cookie signing key; empty = generated once into the data dir."
    )
    admin_token: SecretStr | None = Field(
        default=None, description="Admin console login token (16+ characters); empty = console off."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="Proxies whose X-Forwarded-For/-Proto headers are trusted."
    )
    ip_requests_per_minute: int = Field(
        default=120, ge=1, le=100_000, description="Requests one client address may make per minute."
    )
    max_body_kb: int = Field(default=16, ge=1, le=1024, description="Largest chat request body accepted.")
    admin_session_hours: float = Field(
        default=12.0, gt=0, le=720, description="How long an admin console login lasts."
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        out = []
        for origin in value:
            origin = origin.strip().rstrip("/")
            if not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin such as https://shop.example.com (no path)")
            out.append(origin.lower())
        return out

    @field_validator("admin_token", "secret_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_token")
    @classmethod
    def _token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (or empty to turn the console off)")
        return value


_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "CN", "BR", "ES", "RU", "JP", "IT", "KR", "TW", "ID")


class RedactionSettings(BaseModel):
    """PII redaction applied to exports and to logged user text."""

    phone_regions: Annotated[list[str], NoDecode] = Field(
        # Where our customers write from: Chinese mobile numbers ("13812345678") and Brazilian ones
        # ("(11) 98765-4321") reached the training export with the first five alone. An Italian trial's
        # "333 1234567" fits another region's format by chance, "339 1234567" and "011 19536405" only IT's.
        # Each region is one more pass of the matcher, and IT's formats also fit decimals ("0.17266028") and
        # order numbers ("ordine n. 3401234567"), which the redactor tells apart. A Korean trial's mobile
        # numbers fit CN's and IT's formats by chance, Incheon's "032 8128 6570" only KR's; KR's also fit the
        # help center's own nationwide number ("1666-0420"), which the redactor leaves. A Taiwanese trial's
        # mobile numbers ("0912-345-678") fit DE's, FR's and IT's; a landline grouped "03 253 5345" only TW's.
        # An Indonesian trial's "wa 6281234567890" (the country code without its plus, as WhatsApp links
        # write it) fits only ID's, which reads the 62 as Indonesia's code.
        default_factory=lambda: list(_PHONE_REGIONS),
        description="Regions whose national phone formats are recognised.",
    )
    extra_patterns: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra regexes to redact as <CUSTOM>."
    )

    @field_validator("phone_regions", "extra_patterns", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        out = []
        for region in value:
            code = region.strip().upper()
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ValueError(f"{region!r} is not a two-letter region code such as US or DE")
            out.append(code)
        # Imported here: the phone metadata is only needed when the setting is read.
        from phonenumbers import SUPPORTED_REGIONS

        unknown = [code for code in out if code not in SUPPORTED_REGIONS]
        if unknown:
            # An unknown code would recognise no phone numbers at all, and their digits would reach the log.
            named = ", ".join(unknown)
            raise ValueError(f"{named}: not a region with phone number formats (such as US, DE, CN)")
        return out

    @field_validator("extra_patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}") from exc
        return value


class Settings(BaseSettings):
    """Everything configurable. Built once in `load_settings()` and passed down."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(default=Path("data"), description="Models, embedded index and SQLite database.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite in the data dir.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    log_format: Literal["console", "json"] = Field(default="console", description="Log line format.")
    log_user_text: bool = Field(default=False, description="Log user text at INFO (off = redacted).")

    kb: KBSettings = Field(default_factory=KBSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    rag: RAGSettings = Field(default_factory=RAGSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_not_empty(cls, value: Any) -> Any:
        return _folder_not_empty(value, cls.model_fields["data_dir"].default)

    @field_validator("data_dir")
    @classmethod
    def _data_dir(cls, value: Path) -> Path:
        # Caught here, every command says it in one line (not a FileExistsError from deep in a store).
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file; BOT_DATA_DIR must name a folder (created when missing)")
        return value

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        value = value.strip()
        if value and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError(
                "must be a SQLAlchemy URL: sqlite+aiosqlite:///path.db or postgresql+asyncpg://user:pw@host/db"
            )
        return value

    @model_validator(mode="after")
    def _prompt_passages_within_top_k(self) -> Settings:
        # The prompt can only take passages that were retrieved, so a larger count would be ignored without
        # a word. Only an explicit BOT_RAG__PROMPT_PASSAGES is held to it: the default (2) just means "up
        # to 2", and BOT_KB__TOP_K=1 alone stays valid.
        passages, top_k = self.rag.prompt_passages, self.kb.top_k
        if "prompt_passages" in self.rag.model_fields_set and passages > top_k:
            raise ValueError(
                f"BOT_RAG__PROMPT_PASSAGES: {passages} is more than BOT_KB__TOP_K ({top_k}), the passages "
                f"retrieved per question; lower it to {top_k} at most or raise BOT_KB__TOP_K"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The async URL to connect with; SQLite under the data dir unless configured."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'bot.db').resolve()}"
        url = self.database_url
        if url.startswith("sqlite://"):
            url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+asyncpg://" + url[len("postgresql://") :]
        return url

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


class SettingsError(Exception):
    """A configuration problem, phrased for the operator: one line per bad setting."""


def _env_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return ENV_PREFIX + NESTED_DELIMITER.join(p.upper() for p in parts)


_NAMED_MESSAGE = re.compile(rf"^({ENV_PREFIX}[A-Z0-9_]+): (.*)$", re.DOTALL)


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's report into one line per setting, naming the env var and what it expects."""
    by_name: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        name = _env_name(err["loc"]) if err["loc"] else "BOT_*"
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        # A check across sections has no location of its own: its message starts with the setting to change.
        if not err["loc"] and (named := _NAMED_MESSAGE.match(msg)):
            name, msg = named.group(1), named.group(2)
        given = err.get("input")
        shown = "" if isinstance(given, dict | list) or given is None else f" (got {str(given)[:60]!r})"
        if "got " in msg:
            shown = ""  # the validator's message already shows the value
        # Secrets must never be echoed back, even when they are the invalid value.
        if any(word in name for word in ("TOKEN", "PASSWORD", "SECRET", "API_KEY")):
            shown = ""
        by_name.setdefault(name, []).append(f"{msg}{shown}")
    lines = []
    for name, problems in by_name.items():
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        lines.append(f"{name}: {problems[0]}{more}")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build `Settings` from the environment and `.env`; raise `SettingsError` with actionable lines."""
    try:
        _check_env_file_syntax(overrides)
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
    except UnicodeDecodeError as exc:  # before ValueError, its base: only a settings file is read as bytes
        raise SettingsError(_undecodable_env_file(exc, overrides)) from None
    except ValueError as exc:  # pydantic-settings raises this for undecodable JSON values
        raise SettingsError(f"invalid setting: {exc}") from None


def _undecodable_env_file(exc: UnicodeDecodeError, overrides: dict[str, Any]) -> str:
    """Which `.env` file is not in its encoding, where, and what to do: the codec's own message names no
    file, and the operator has to find the byte (a Latin-1 "é" from an old editor, say)."""
    encoding = (
        overrides.get("_env_file_encoding") or Settings.model_config.get("env_file_encoding") or "utf-8"
    )
    for path in _env_files(overrides):
        try:
            data = path.read_bytes()
            data.decode(encoding)
        except UnicodeDecodeError as bad:
            line = data.count(b"\n", 0, bad.start) + 1
            return (
                f"{path.resolve()} is not {encoding.upper()} text (byte 0x{data[bad.start]:02x} on line "
                f"{line}): save it as {encoding.upper()}"
            )
        except OSError:
            continue
    return f"a settings file is not {encoding.upper()} text ({exc.reason}): save .env as {encoding.upper()}"


def _env_files(overrides: dict[str, Any]) -> list[Path]:
    """The settings files `Settings(**overrides)` reads, found as pydantic-settings finds them: `_env_file`
    (left out or `Path("")`: the configured `.env`), each searched up `env_file_depth` parent folders."""
    given = overrides.get("_env_file", ENV_FILE_SENTINEL)
    if given == ENV_FILE_SENTINEL:
        given = Settings.model_config.get("env_file")
    depth = overrides.get("_env_file_depth")
    if depth is None:
        depth = Settings.model_config.get("env_file_depth") or 0
    candidates = [given] if isinstance(given, str | os.PathLike) else list(given or ())
    found: list[Path] = []
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if not path.is_file() and not path.is_absolute():
            path = next((p / path for p in islice(Path.cwd().parents, depth) if (p / path).is_file()), path)
        if path.is_file():
            found.append(path)
    return found


_ENV_LINE_NAME = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=")


def _check_env_file_syntax(overrides: dict[str, Any]) -> None:
    """Refuse a settings file with a line python-dotenv cannot parse (an unclosed quote, say): it would skip
    that line with a log warning, and the setting on it would silently keep its default."""
    encoding = (
        overrides.get("_env_file_encoding") or Settings.model_config.get("env_file_encoding") or "utf-8"
    )
    for path in _env_files(overrides):
        try:
            with path.open(encoding=encoding) as stream:
                broken = [_statement(binding.original) for binding in parse_stream(stream) if binding.error]
        except OSError as exc:
            # pydantic-settings would raise it from deep inside (a PermissionError traceback).
            raise SettingsError(
                f"{path.resolve()} cannot be read ({exc.strerror or exc.__class__.__name__}): let the bot's "
                "user read it, or remove it"
            ) from None
        if not broken:
            continue
        (line, text), *others = broken
        name = _ENV_LINE_NAME.match(text)
        named = f" ({name.group(1)})" if name else ""  # the value is not shown: it may be a secret
        more = f" (and line{'s' if len(others) > 1 else ''} {', '.join(str(n) for n, _ in others)})"
        raise SettingsError(
            f"{path.resolve()} line {line}{named}{more if others else ''} cannot be parsed: close its "
            "quotes, keep the name free of spaces and put nothing after a quoted value (or comment it out "
            "with #)"
        )


def _statement(original: Original) -> tuple[int, str]:
    """The line a statement python-dotenv could not parse starts on, and its text: python-dotenv's own
    text and line number include the blank lines before it."""
    text = original.string.lstrip()
    return original.line + original.string.count("\n", 0, len(original.string) - len(text)), text


def unknown_settings(names: Iterable[str]) -> list[tuple[str, str | None]]:
    """The `BOT_` names among `names` that are not settings (a typo is otherwise ignored without a word),
    each with the closest setting's name when one is close."""
    known = [env for env, _, _ in settings_reference()]
    # A whole section as JSON (BOT_LLM='{"parallel": 2}') is read too.
    sections = {env.rsplit(NESTED_DELIMITER, 1)[0] for env in known if NESTED_DELIMITER in env}
    found: list[tuple[str, str | None]] = []
    for name in sorted(set(names)):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known or upper in sections:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
        found.append((name, close[0] if close else None))
    return found


def settings_reference() -> list[tuple[str, str, str]]:
    """(env var, default, description) of every setting, in order; the docs are generated from it."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            env = f"{prefix}{name.upper()}"
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, env + NESTED_DELIMITER)
                continue
            if info.default_factory is not None:
                default: Any = info.default_factory()  # type: ignore[call-arg]
            else:
                default = info.default
            rows.append((env, _render_default(default), info.description or ""))

    walk(Settings, ENV_PREFIX)
    return rows


def _render_default(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def render_env_example() -> str:
    """The contents of `.env.example`: every setting with its default, commented out."""
    lines = [
        "# Every setting of the bot, with its default. Copy to .env and uncomment what you change.",
        "# Nested sections use a double underscore: BOT_LLM__MODEL_PATH. Lists accept 1,2,3.",
        "",
    ]
    section = ""
    for env, default, description in settings_reference():
        current = env.split(NESTED_DELIMITER)[0] if NESTED_DELIMITER in env else "BOT_"
        if current != section:
            section = current
            if lines[-1] != "":
                lines.append("")
        lines.append(f"# {description}" if description else f"# {env}")
        lines.append(f"# {env}={default}")
    return "\n".join(lines) + "\n"
