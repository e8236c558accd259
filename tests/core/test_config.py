"""Settings: defaults, env parsing, and one actionable line for every validation error path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings, render_env_example, settings_reference
from tests.conftest import ROOT


def test_defaults_are_embedded_and_offline(tmp_path: Path) -> None:
    s = load_settings(_env_file=None)
    assert s.data_dir == Path("data")
    assert s.elasticsearch.url == ""
    assert s.llm.server_url == ""
    assert s.kb.source == Path("knowledge")
    assert s.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert s.resolved_database_url.endswith("/data/bot.db")


def test_nested_env_and_csv_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_LLM__MODEL_PATH", "/models/x.gguf")
    monkeypatch.setenv("BOT_TELEGRAM__ADMIN_IDS", "11, 22,33")
    monkeypatch.setenv("BOT_TELEGRAM__TOKEN", "123:abc")
    monkeypatch.setenv("BOT_REDACTION__PHONE_REGIONS", "us,de")
    s = load_settings(_env_file=None)
    assert s.llm.model_path == Path("/models/x.gguf")
    assert s.telegram.admin_ids == [11, 22, 33]
    assert s.telegram.token is not None
    assert s.telegram.token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(s)
    assert s.redaction.phone_regions == ["US", "DE"]


def test_json_list_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TELEGRAM__ADMIN_IDS", "[5, 6]")
    assert load_settings(_env_file=None).telegram.admin_ids == [5, 6]


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("BOT_KB__TOP_K=7\nBOT_LOG_LEVEL=debug\n")
    s = load_settings(_env_file=env)
    assert s.kb.top_k == 7
    assert s.log_level == "DEBUG"


def test_database_url_normalised_to_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_DATABASE_URL", "postgresql://u:p@db/bot")
    assert load_settings(_env_file=None).resolved_database_url == "postgresql+asyncpg://u:p@db/bot"
    monkeypatch.setenv("BOT_DATABASE_URL", "sqlite:///x.db")
    assert load_settings(_env_file=None).resolved_database_url == "sqlite+aiosqlite:///x.db"


# Every validator and constraint the operator can trip, with the env var the message must name.
INVALID = [
    ("BOT_DATABASE_URL", "mysql://x", "BOT_DATABASE_URL", "SQLAlchemy URL"),
    ("BOT_LOG_LEVEL", "loud", "BOT_LOG_LEVEL", "DEBUG"),
    ("BOT_LOG_FORMAT", "xml", "BOT_LOG_FORMAT", "console"),
    ("BOT_LOG_USER_TEXT", "maybe", "BOT_LOG_USER_TEXT", "boolean"),
    ("BOT_KB__CHUNK_TOKENS", "8", "BOT_KB__CHUNK_TOKENS", "greater than or equal to 32"),
    ("BOT_KB__CHUNK_OVERLAP", "300", "BOT_KB__CHUNK_OVERLAP", "less than or equal"),
    ("BOT_KB__TOP_K", "zero", "BOT_KB__TOP_K", "integer"),
    ("BOT_KB__MAX_FILE_MB", "-1", "BOT_KB__MAX_FILE_MB", "greater than 0"),
    ("BOT_KB__MAX_UPLOAD_CHARS", "-1", "BOT_KB__MAX_UPLOAD_CHARS", "greater than or equal to 0"),
    ("BOT_KB__MAX_UPLOAD_CHARS", "5MB", "BOT_KB__MAX_UPLOAD_CHARS", "integer"),
    ("BOT_KB__SEARCH_TIMEOUT_S", "0", "BOT_KB__SEARCH_TIMEOUT_S", "greater than 0"),
    ("BOT_KB__FUSION", "max", "BOT_KB__FUSION", "convex"),
    ("BOT_ELASTICSEARCH__URL", "localhost:9200", "BOT_ELASTICSEARCH__URL", "http(s) URL"),
    ("BOT_ELASTICSEARCH__ALIAS", "KB Alias", "BOT_ELASTICSEARCH__ALIAS", "pattern"),
    ("BOT_ELASTICSEARCH__VERIFY_CERTS", "perhaps", "BOT_ELASTICSEARCH__VERIFY_CERTS", "boolean"),
    ("BOT_ELASTICSEARCH__REQUEST_TIMEOUT_S", "-3", "BOT_ELASTICSEARCH__REQUEST_TIMEOUT_S", "greater than 0"),
    (
        "BOT_ELASTICSEARCH__BULK_CHUNK_SIZE",
        "0",
        "BOT_ELASTICSEARCH__BULK_CHUNK_SIZE",
        "greater than or equal",
    ),
    ("BOT_LLM__SERVER_URL", "ftp://x", "BOT_LLM__SERVER_URL", "http(s) URL"),
    ("BOT_LLM__SERVER_URLS", "http://a:8080,b:8080", "BOT_LLM__SERVER_URLS", "http(s) URL"),
    ("BOT_LLM__SERVER_CHECK_S", "0", "BOT_LLM__SERVER_CHECK_S", "greater than 0"),
    ("BOT_LLM__SERVER_RETRY_S", "-1", "BOT_LLM__SERVER_RETRY_S", "greater than 0"),
    ("BOT_LLM__N_CTX", "100", "BOT_LLM__N_CTX", "greater than or equal to 256"),
    ("BOT_LLM__N_THREADS", "-1", "BOT_LLM__N_THREADS", "greater than or equal to 0"),
    ("BOT_LLM__N_BATCH", "1", "BOT_LLM__N_BATCH", "greater than or equal"),
    ("BOT_LLM__MAX_TOKENS", "0", "BOT_LLM__MAX_TOKENS", "greater than or equal to 1"),
    ("BOT_LLM__TEMPERATURE", "3", "BOT_LLM__TEMPERATURE", "less than or equal to 2"),
    ("BOT_LLM__TIMEOUT_S", "0", "BOT_LLM__TIMEOUT_S", "greater than 0"),
    ("BOT_LLM__QUEUE_SIZE", "0", "BOT_LLM__QUEUE_SIZE", "greater than or equal to 1"),
    ("BOT_LLM__PARALLEL", "0", "BOT_LLM__PARALLEL", "greater than or equal to 1"),
    ("BOT_LLM__PARALLEL", "65", "BOT_LLM__PARALLEL", "less than or equal to 64"),
    ("BOT_LLM__WAIT_NOTICE_S", "0", "BOT_LLM__WAIT_NOTICE_S", "greater than or equal to 0.5"),
    ("BOT_LLM__WAIT_UPDATE_S", "1", "BOT_LLM__WAIT_UPDATE_S", "greater than or equal to 5"),
    ("BOT_LLM__SEED", "-5", "BOT_LLM__SEED", "greater than or equal to 0"),
    ("BOT_LLM__FLASH_ATTN", "sometimes", "BOT_LLM__FLASH_ATTN", "boolean"),
    ("BOT_LLM__CPU_EXTRA_BUFFERS", "amx", "BOT_LLM__CPU_EXTRA_BUFFERS", "'auto', 'on' or 'off'"),
    ("BOT_EMBEDDINGS__BATCH_SIZE", "0", "BOT_EMBEDDINGS__BATCH_SIZE", "greater than or equal to 1"),
    ("BOT_EMBEDDINGS__N_THREADS", "x", "BOT_EMBEDDINGS__N_THREADS", "integer"),
    ("BOT_EMBEDDINGS__POOLING", "none", "BOT_EMBEDDINGS__POOLING", "'auto', 'mean', 'cls' or 'last'"),
    ("BOT_EMBEDDINGS__GLOSS_CHINESE", "yes", "BOT_EMBEDDINGS__GLOSS_CHINESE", "'auto', 'on' or 'off'"),
    ("BOT_EMBEDDINGS__QUERY_PREFIX", "q" * 201, "BOT_EMBEDDINGS__QUERY_PREFIX", "at most 200 characters"),
    ("BOT_EMBEDDINGS__PASSAGE_PREFIX", "p" * 201, "BOT_EMBEDDINGS__PASSAGE_PREFIX", "at most 200 characters"),
    ("BOT_RAG__MIN_RELEVANCE", "1.5", "BOT_RAG__MIN_RELEVANCE", "less than or equal to 1"),
    ("BOT_RAG__CONFIDENT_RELEVANCE", "-0.1", "BOT_RAG__CONFIDENT_RELEVANCE", "greater than or equal to 0"),
    ("BOT_RAG__HISTORY_TURNS", "-1", "BOT_RAG__HISTORY_TURNS", "greater than or equal to 0"),
    ("BOT_RAG__CONDENSE", "nah", "BOT_RAG__CONDENSE", "boolean"),
    ("BOT_RAG__REFUSE_UNKNOWN_NAMES", "perhaps", "BOT_RAG__REFUSE_UNKNOWN_NAMES", "boolean"),
    ("BOT_RAG__TRANSLATE_QUESTIONS", "sometimes", "BOT_RAG__TRANSLATE_QUESTIONS", "boolean"),
    ("BOT_RAG__PROMPT_PASSAGES", "0", "BOT_RAG__PROMPT_PASSAGES", "greater than or equal to 1"),
    ("BOT_RAG__PASSAGE_TOKENS", "8", "BOT_RAG__PASSAGE_TOKENS", "greater than or equal to 32"),
    ("BOT_RAG__UNGROUNDED", "ignore", "BOT_RAG__UNGROUNDED", "extract"),
    ("BOT_RAG__FOREIGN_ANSWER", "translate", "BOT_RAG__FOREIGN_ANSWER", "'auto', 'extract' or 'generate'"),
    ("BOT_RAG__COPY_CHECK", "sometimes", "BOT_RAG__COPY_CHECK", "'auto', 'on' or 'off'"),
    ("BOT_KB__SOURCES", "knowledge,ftp://files.example.com/", "BOT_KB__SOURCES", "must be an http(s) URL"),
    ("BOT_KB__REFRESH_INTERVAL", "weekly", "BOT_KB__REFRESH_INTERVAL", "duration such as 30m, 6h or 1d"),
    ("BOT_KB__REFRESH_INTERVAL", "60d", "BOT_KB__REFRESH_INTERVAL", "less than or equal to 2592000"),
    ("BOT_KB__CRAWL__MAX_PAGES", "0", "BOT_KB__CRAWL__MAX_PAGES", "greater than or equal to 1"),
    ("BOT_KB__CRAWL__CONCURRENCY", "0", "BOT_KB__CRAWL__CONCURRENCY", "greater than or equal to 1"),
    ("BOT_KB__CRAWL__DELAY_S", "-1", "BOT_KB__CRAWL__DELAY_S", "greater than or equal to 0"),
    ("BOT_KB__CRAWL__TIMEOUT_S", "0", "BOT_KB__CRAWL__TIMEOUT_S", "greater than 0"),
    ("BOT_KB__CRAWL__MAX_PAGE_MB", "0", "BOT_KB__CRAWL__MAX_PAGE_MB", "greater than 0"),
    (
        "BOT_KB__CRAWL__ALLOWED_HOSTS",
        "https://cdn.example.com/",
        "BOT_KB__CRAWL__ALLOWED_HOSTS",
        "not a host name",
    ),
    ("BOT_KB__CRAWL__USER_AGENT", "", "BOT_KB__CRAWL__USER_AGENT", "at least 1 character"),
    ("BOT_TELEGRAM__ADMIN_IDS", "alice,bob", "BOT_TELEGRAM__ADMIN_IDS", "integer"),
    ("BOT_TELEGRAM__ADMIN_IDS", "-5", "BOT_TELEGRAM__ADMIN_IDS", "positive"),
    ("BOT_TELEGRAM__OPERATOR_CHAT_ID", "ops", "BOT_TELEGRAM__OPERATOR_CHAT_ID", "integer"),
    ("BOT_TELEGRAM__BASE_URL", "api.telegram.org", "BOT_TELEGRAM__BASE_URL", "http(s) URL"),
    ("BOT_TELEGRAM__BASE_FILE_URL", "x", "BOT_TELEGRAM__BASE_FILE_URL", "http(s) URL"),
    ("BOT_TELEGRAM__WEBHOOK_URL", "example.com/hook", "BOT_TELEGRAM__WEBHOOK_URL", "http(s) URL"),
    ("BOT_TELEGRAM__WEBHOOK_PORT", "70000", "BOT_TELEGRAM__WEBHOOK_PORT", "less than or equal to 65535"),
    ("BOT_TELEGRAM__EDIT_INTERVAL_S", "-1", "BOT_TELEGRAM__EDIT_INTERVAL_S", "greater than or equal to 0"),
    ("BOT_TELEGRAM__FLOOD_MESSAGES", "0", "BOT_TELEGRAM__FLOOD_MESSAGES", "greater than or equal to 1"),
    ("BOT_TELEGRAM__FLOOD_WINDOW_S", "0", "BOT_TELEGRAM__FLOOD_WINDOW_S", "greater than 0"),
    ("BOT_TELEGRAM__MAX_UPLOAD_MB", "100", "BOT_TELEGRAM__MAX_UPLOAD_MB", "less than or equal to 50"),
    ("BOT_TELEGRAM__REQUEST_TIMEOUT_S", "0", "BOT_TELEGRAM__REQUEST_TIMEOUT_S", "greater than 0"),
    ("BOT_TELEGRAM__SHARED_STATE", "redis", "BOT_TELEGRAM__SHARED_STATE", "'auto', 'memory' or 'database'"),
    ("BOT_TELEGRAM__UPDATE_LEASE_S", "1", "BOT_TELEGRAM__UPDATE_LEASE_S", "greater than or equal to 2"),
    ("BOT_WEB__ENABLED", "maybe", "BOT_WEB__ENABLED", "boolean"),
    ("BOT_WEB__PORT", "70000", "BOT_WEB__PORT", "less than or equal to 65535"),
    ("BOT_WEB__ALLOWED_ORIGINS", "shop.example.com/chat", "BOT_WEB__ALLOWED_ORIGINS", "is not an origin"),
    ("BOT_WEB__ADMIN_TOKEN", "short", "BOT_WEB__ADMIN_TOKEN", "at least 16 characters"),
    ("BOT_WEB__IP_REQUESTS_PER_MINUTE", "0", "BOT_WEB__IP_REQUESTS_PER_MINUTE", "greater than or equal to 1"),
    ("BOT_WEB__MAX_BODY_KB", "0", "BOT_WEB__MAX_BODY_KB", "greater than or equal to 1"),
    ("BOT_WEB__ADMIN_SESSION_HOURS", "0", "BOT_WEB__ADMIN_SESSION_HOURS", "greater than 0"),
    ("BOT_REDACTION__PHONE_REGIONS", "USA", "BOT_REDACTION__PHONE_REGIONS", "two-letter region"),
    ("BOT_REDACTION__PHONE_REGIONS", "US,XX,ZZ", "BOT_REDACTION__PHONE_REGIONS", "XX, ZZ: not a region"),
    ("BOT_REDACTION__EXTRA_PATTERNS", "(unclosed", "BOT_REDACTION__EXTRA_PATTERNS", "not a valid regex"),
]


@pytest.mark.parametrize(
    ("env", "value", "named", "expects"), INVALID, ids=[f"{e}={v}" for e, v, *_ in INVALID]
)
def test_each_invalid_setting_gives_one_actionable_line(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str, expects: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=None)
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(named + ":"), message
    assert expects in message, message
    assert "Traceback" not in message


def test_every_leaf_setting_has_an_error_case_or_is_free_text() -> None:
    """New settings must come with a validation test (or be explicitly free-form)."""
    free_form = {
        "BOT_DATA_DIR",
        "BOT_KB__SOURCE",
        "BOT_ELASTICSEARCH__API_KEY",
        "BOT_ELASTICSEARCH__USERNAME",
        "BOT_ELASTICSEARCH__PASSWORD",
        "BOT_ELASTICSEARCH__CA_CERTS",
        "BOT_LLM__MODEL_PATH",
        "BOT_LLM__LORA_PATH",
        "BOT_LLM__SERVER_API_KEY",
        "BOT_EMBEDDINGS__MODEL_PATH",
        "BOT_TELEGRAM__TOKEN",
        "BOT_TELEGRAM__WEBHOOK_LISTEN",
        "BOT_TELEGRAM__WEBHOOK_SECRET",
        "BOT_WEB__HOST",
        "BOT_WEB__SECRET_KEY",
        "BOT_WEB__FORWARDED_ALLOW_IPS",
    }
    tested = {env for env, *_ in INVALID}
    missing = [env for env, *_ in settings_reference() if env not in tested and env not in free_form]
    assert missing == []


def test_secret_values_never_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TELEGRAM__TOKEN", "supersecret-token-value")
    monkeypatch.setenv("BOT_TELEGRAM__WEBHOOK_PORT", "0")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=None)
    assert "supersecret" not in str(excinfo.value)


def test_several_errors_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_KB__TOP_K", "0")
    monkeypatch.setenv("BOT_LLM__N_CTX", "1")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=None)
    lines = str(excinfo.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["BOT_KB__TOP_K", "BOT_LLM__N_CTX"]


def test_env_example_is_generated_and_complete() -> None:
    example = (ROOT / ".env.example").read_text()
    assert example == render_env_example(), (
        "regenerate with: python -m bot config --env-example > .env.example"
    )
    for env, _, _ in settings_reference():
        assert f"# {env}=" in example


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [env for env, _, _ in settings_reference() if f"`{env}`" not in readme]
    assert missing == []


def test_settings_object_is_the_only_env_reader() -> None:
    """No module reads the environment directly: configuration flows through Settings."""
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        text = path.read_text()
        if "os.getenv(" in text or "os.environ[" in text or "os.environ.get(" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_settings_constructible_directly() -> None:
    s = Settings(_env_file=None, kb={"top_k": 3})  # type: ignore[call-arg]
    assert s.kb.top_k == 3


def test_a_data_dir_that_is_a_file_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "notes.txt"))
    with pytest.raises(SettingsError, match=r"BOT_DATA_DIR: .*is a file; BOT_DATA_DIR must name a folder"):
        load_settings(_env_file=None)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "not-yet"))
    assert load_settings(_env_file=None).data_dir == tmp_path / "not-yet"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("https://help.example:99999/", "Port out of range"),
        ("https://help.example:http/", "not a valid URL"),
        ("ftp://help.example/", "must be an http"),
    ],
)
def test_website_sources_are_checked_when_settings_load(
    monkeypatch: pytest.MonkeyPatch, url: str, problem: str
) -> None:
    monkeypatch.setenv("BOT_KB__SOURCES", url)
    with pytest.raises(SettingsError, match=f"BOT_KB__SOURCES: .*{problem}"):
        load_settings(_env_file=None)


def test_unknown_bot_variables_are_named_with_the_closest_setting() -> None:
    from bot.config import unknown_settings

    found = unknown_settings(["BOT_LLM__PARALEL", "BOT_KB__TOP_K", "PATH", "BOT_ZZZ", "bot_rag__top_k"])
    assert found == [
        ("BOT_LLM__PARALEL", "BOT_LLM__PARALLEL"),
        ("BOT_ZZZ", None),
        ("bot_rag__top_k", "BOT_KB__TOP_K"),
    ]
    # A whole section given as JSON is read, so it is no typo.
    assert unknown_settings(["BOT_LLM", "BOT_KB__CRAWL"]) == []
    # Every setting the reference lists is known, nested sections included.
    assert unknown_settings([env for env, _, _ in settings_reference()]) == []


def test_the_cli_warns_about_a_setting_that_does_not_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app, register_commands

    register_commands()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / ".env").write_text("BOT_KB__TOPK=3\n")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert (
        "warning: BOT_KB__TOPK is not a setting and is ignored; did you mean BOT_KB__TOP_K?" in result.output
    )
