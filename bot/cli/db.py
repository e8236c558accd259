"""`python -m bot db ...`: schema migrations and data retention for the conversation log."""

from __future__ import annotations

import re

import typer

from bot.cli.app import console, db_app, fail, get_settings, run_async


def _url() -> str:
    return get_settings().resolved_database_url


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # BOT_DATA_DIR naming a file, a read-only mount, …: say which folder, not a traceback.
            fail(f"cannot create the database folder {folder}: {exc.strerror or exc}")


def _first_line(exc: BaseException) -> str:
    """The exception's first line for a one-line error (Alembic raises some with no message at all)."""
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


def _revision_given(revision: str) -> str:
    revision = revision.strip()
    if not revision:
        fail("give a revision: an id such as 0005, 'head' or 'base' (see `db current`)")
    return revision


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command()
def upgrade(
    revision: str = typer.Argument("head", help="Target revision; default the newest."),
) -> None:
    """Create or migrate the database schema (SQLite by default, BOT_DATABASE_URL for PostgreSQL)."""
    from bot.store.migrate import MigrationError, current_revisions
    from bot.store.migrate import upgrade as do_upgrade

    revision = _revision_given(revision)
    url = _url()
    _ensure_sqlite_dir(url)
    try:
        do_upgrade(url, revision)
        now = current_revisions(url)
    except MigrationError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"upgrade of {_shown(url)} failed: {_first_line(exc)}")
    console.print(f"database {_shown(url)} is at {', '.join(now) or 'base'}", highlight=False)


@db_app.command()
def downgrade(
    revision: str = typer.Argument(
        "-1", help="Target revision: an id, '-1' (one step back) or 'base' (drops everything)."
    ),
    yes: bool = typer.Option(
        False, "--yes", help="Confirm: a downgrade deletes what newer revisions store ('base': everything)."
    ),
) -> None:
    """Migrate the schema back to an older revision (data in removed columns and tables is lost, and so
    are conversations of a channel the older revision does not know). Needs --yes."""
    from bot.store.migrate import MigrationError, current_revisions
    from bot.store.migrate import downgrade as do_downgrade

    revision = _revision_given(revision)
    url = _url()
    if not yes:
        if revision == "base":
            fail("downgrading to base deletes every table and all logged conversations; add --yes to confirm")
        # "-1" is Alembic's word for it, not the admin's: "downgrading to -1" read as a revision named -1.
        steps = re.fullmatch(r"-(\d+)", revision)
        if steps is None:
            target = f"downgrading to {revision}"
        elif steps.group(1) == "1":
            target = "going one revision back"
        else:
            target = f"going {steps.group(1)} revisions back"
        fail(
            f"{target} deletes the tables and columns newer revisions added, with their rows (approved "
            "answers, feedback comments, …); back the database up, then add --yes to confirm"
        )
    try:
        # Read first: on a database never upgraded Alembic fails with "Relative revision -1 didn't produce
        # 1 migrations" (or "not a valid downgrade target"), and would create a missing SQLite file.
        before = current_revisions(url)
    except MigrationError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"cannot read {_shown(url)}: {_first_line(exc)}")
    if not before:
        message = f"the database {_shown(url)} has no schema yet; nothing to downgrade"
        if revision == "base":
            console.print(message, highlight=False)  # already where it was asked to go
            return
        fail(message)
    try:
        do_downgrade(url, revision)
        now = current_revisions(url)
    except MigrationError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"downgrade of {_shown(url)} failed: {_first_line(exc)}")
    console.print(f"database {_shown(url)} is at {', '.join(now) or 'base'}", highlight=False)


@db_app.command()
def current() -> None:
    """Show the database's schema revision and whether it is at the code's head. Exit 1 if not."""
    from bot.store.migrate import UPGRADE_HINT, current_revisions, head_revisions

    url = _url()
    try:
        now = current_revisions(url)
    except Exception as exc:
        fail(f"cannot read {_shown(url)}: {_first_line(exc)}")
    heads = head_revisions()
    at_head = set(now) == set(heads)
    state = "[green]up to date[/]" if at_head else f"[red]outdated[/] (run `{UPGRADE_HINT}`)"
    console.print(
        f"database {_shown(url)}: {', '.join(now) or 'empty'}; head {', '.join(heads)} — {state}",
        highlight=False,
    )
    raise typer.Exit(0 if at_head else 1)


@db_app.command()
def purge(
    older_than: str = typer.Option(..., "--older-than", help="Age limit by last message: 180d, 26w or 12h."),
    yes: bool = typer.Option(False, "--yes", help="Delete after showing the count, without asking."),
) -> None:
    """Delete conversations whose last message is older than the limit. Shows a dry-run count first."""
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError
    from bot.store.repo import SqlConversationLog
    from bot.store.retention import parse_age
    from bot.store.retention import purge as do_purge

    try:
        age = parse_age(older_than)
    except ValueError as exc:
        fail(f"--older-than: {exc}")
    settings = get_settings()

    async def main() -> None:
        log = SqlConversationLog(settings.resolved_database_url)
        try:
            await log.check_schema()
            report = await do_purge(log, age, dry_run=True)
            console.print(
                f"{report.conversations} conversations ({report.messages} messages) have had no message "
                f"since {report.cutoff:%Y-%m-%d %H:%M} UTC",
                highlight=False,
            )
            if report.conversations == 0:
                return
            if not yes and not typer.confirm("Delete them?", default=False):
                console.print("nothing deleted")
                return
            done = await do_purge(log, age, dry_run=False, now=report.cutoff + age)
            console.print(f"deleted {done.conversations} conversations ({done.messages} messages)")
        finally:
            await log.close()

    try:
        run_async(main)
    except (StoreUnavailableError, SchemaOutdatedError) as exc:
        fail(str(exc))


@db_app.command()
def forget(
    user: str = typer.Option(
        ...,
        "--user",
        help="The user's id as the log has it: a Telegram user id, a console user name or a web visitor id, "
        "optionally as CHANNEL:ID (console:alice), the form approved answers name their approver in.",
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete all data of one user: conversations, messages, ratings (a GDPR erasure request). Approved
    answers and candidates built on their questions stay, with the PII in the question and in the answer's
    text (an operator's reply to them may hold their email or phone number) redacted."""
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError
    from bot.store.redact import Redactor
    from bot.store.repo import SqlConversationLog
    from bot.store.retention import forget as do_forget

    user = user.strip()
    channel, _, rest = user.partition(":")
    if rest and channel in ("telegram", "console", "web"):
        user = rest  # users are erased on every channel: the prefix only says where the id came from
    if not user:
        fail("--user needs the user's id, e.g. --user 123456789")
    if not yes and not typer.confirm(f"Delete every conversation of user {user}?", default=False):
        console.print("nothing deleted")
        return
    settings = get_settings()

    async def main() -> None:
        log = SqlConversationLog(settings.resolved_database_url)
        try:
            await log.check_schema()
            # Approved answers to their questions stay (admins' work): the question's PII redacted, and
            # their details taken out of the text where it can hold them.
            report = await do_forget(log, user, Redactor(settings.redaction, known_user_ids=[user]))
        finally:
            await log.close()
        if report.users == 0:
            console.print(f"no user {user} in the log; nothing to delete", highlight=False)
        else:
            console.print(
                f"deleted user {user}: {report.conversations} conversations, {report.messages} messages",
                highlight=False,
            )

    try:
        run_async(main)
    except (StoreUnavailableError, SchemaOutdatedError) as exc:
        fail(str(exc))
