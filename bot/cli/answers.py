"""Approved answers: `answers approve|list|edit|retire|fit`, and the review after `kb reload`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import (
    answers_app,
    console,
    err_console,
    fail,
    get_settings,
    id_parser,
    print_json,
    run_async,
)
from bot.unicode import encodable, has_words

if TYPE_CHECKING:
    from bot.kb.base import ReloadReport
    from bot.services import Services
    from bot.store.base import ApprovedAnswer, ApprovedAnswerStore


# What an unknown id says, whether no row has it or no row can (see `id_parser`).
NO_APPROVED = "there is no approved answer {id} (see `answers list --all`)"
NO_LOGGED = (
    "there is no bot answer {id} in the log (`ask` prints each answer's id as `answer N`; /stats in Telegram "
    "and the admin console list them)"
)
NO_CANDIDATE = "there is no candidate {id} (see `answers list --candidates`)"
# Why a question must have words: it is matched by embedding, and texts of only emoji or symbols embed close
# together, so "😀😀" approved was served to "👍", "🙏🙏🙏" and every other such message.
WORDLESS_QUESTION = "has no words, only emoji or symbols: it would match every such message"
# The redactor's placeholders as the admin is told about them: one (with its article), and several.
# Spelled out, as no rule makes "an IBAN", "a user id" and "matches of …" from the bare nouns.
PERSONAL_DATA = {
    "EMAIL": ("an email address", "email addresses"),
    "PHONE": ("a phone number", "phone numbers"),
    "CARD": ("a card number", "card numbers"),
    "IBAN": ("an IBAN", "IBANs"),
    "BANK_ACCOUNT": ("a bank account number", "bank account numbers"),
    "ID_NUMBER": ("a national ID number", "national ID numbers"),
    "HANDLE": ("a chat handle (Telegram, QQ or WeChat)", "chat handles (Telegram, QQ or WeChat)"),
    "USER_ID": ("a user id", "user ids"),
    "SECRET": ("an API key or token", "API keys or tokens"),
    "CUSTOM": ("a match of BOT_REDACTION__EXTRA_PATTERNS", "matches of BOT_REDACTION__EXTRA_PATTERNS"),
}
ALLOW_PERSONAL_DATA = typer.Option(
    False,
    "--allow-personal-data",
    help="Serve the text with the emails, phone numbers, … it contains: for public contacts such as the "
    "support address (without it, such a text is refused).",
)


def approver() -> str:
    """Who approves from this terminal (recorded with the answer)."""
    from bot.channels.console import console_user

    return f"console:{console_user()}"


def skip_reason(folder: Path, source: str, max_file_mb: float) -> str | None:
    """Why a reload leaves the file `source` (relative to `folder`) out of the knowledge base, as `kb reload`
    lists it; None when it is indexed as a document. The reload's own per-file rules (`load_documents`): a
    file of the folder that is binary, empty or unreadable is skipped, and customers can never find it."""
    from bot.kb.reload import load_one

    root = folder.resolve()
    loaded = load_one(root / source, root, max_file_mb)
    return loaded if isinstance(loaded, str) else None


def not_indexed(source: str, reason: str) -> str:
    return (
        f"{source} is not in the knowledge base: `kb reload` skips it ({reason}); fix the file and "
        "reload, or cite another document"
    )


def not_reloaded(source: str) -> str:
    return (
        f"{source} is in the knowledge folder but not in the knowledge base the bot answers from (added or "
        "renamed after the last reload), so customers cannot be shown it and a later change to it would go "
        "unnoticed; run `python -m bot kb reload` (or /reload in Telegram) and try again"
    )


async def check_indexed(services: Services, source: str, what: str, otherwise: str = "") -> None:
    """Refuse to cite `source` unless the serving index holds it: a file in the folder is not enough, as one
    put there after the last reload is neither shown to customers nor compared by the next reload's review
    with the version approved. Raises `ValueError` (and nothing is stored): its message starts with `what`
    (the option or answer concerned) and ends with `otherwise` (what else the admin can do)."""
    from bot.kb.base import KBUnavailableError
    from bot.llm.base import ModelError

    try:
        indexed = await services.kb().indexed_sources()
    except (KBUnavailableError, ModelError) as exc:
        raise ValueError(
            f"{what}: cannot check that {source} is in the knowledge base: {exc}{otherwise}"
        ) from exc
    if source in indexed:
        return
    folder = services.settings.kb.source
    if not any(read.resolve() == folder.resolve() for read in services.kb_folders()):
        # No reload reads the folder `--source` names files of: reloading would not help.
        raise ValueError(
            f"{what}: {source} is in {folder} (BOT_KB__SOURCE), which is not one of the knowledge sources "
            f"(BOT_KB__SOURCES), so no reload indexes it; add that folder there and reload{otherwise}"
        )
    raise ValueError(f"{what}: {not_reloaded(source)}{otherwise}")


async def knowledge_folders(services: Services, configured: Path) -> list[Path]:
    """The folders `--source` names a file of: those the serving index was built from (`kb reload --source
    X` serves X's articles), then BOT_KB__SOURCE. With BOT_KB__SOURCE alone, a file of the help center
    being served was "not a document in the knowledge folder knowledge"."""
    from bot.kb.base import KBUnavailableError

    try:
        reports = (await services.kb().stats()).sources
    except KBUnavailableError:
        reports = ()
    served = [Path(report.name) for report in reports if report.kind == "folder"]
    return list(dict.fromkeys([*served, configured]))


def held_by(folders: Sequence[Path], source: str) -> tuple[Path, str] | None:
    """The first of `folders` that holds `source` (a path relative to a knowledge folder) and the file's
    sha256 there: the hash the next reload's review compares with is the served folder's (`kb reload
    --source X` serves X's articles; with BOT_KB__SOURCE's, an answer edited after a reload from another
    folder was flagged as changed again by the next reload of that same folder). None when none holds it."""
    from bot.admin import source_hash

    for folder in folders:
        digest = source_hash(folder, source)
        if digest is not None:
            return folder, digest
    return None


def resolve_source(folders: Sequence[Path], given: str, max_file_mb: float) -> tuple[str, str]:
    """(source path relative to its knowledge folder, the sha256 `held_by` gives) for `--source`, from the
    first of `folders` where it names a file; a clear error when none does, or when it is one the reload
    skips (binary, empty, …): an approved answer must never cite an article customers cannot find. Relative
    to a folder, or any path inside one."""
    for folder in folders:
        root = folder.resolve()
        for path in (root / given, Path(given).resolve()):
            resolved = path.resolve()
            if resolved.is_relative_to(root) and resolved.is_file():
                source = resolved.relative_to(root).as_posix()
                reason = skip_reason(root, source, max_file_mb)
                if reason is not None:
                    fail(f"--source {given}: {not_indexed(source, reason)}")
                held = held_by(folders, source)
                if held is not None:
                    return source, held[1]
    named = " or ".join(str(folder) for folder in folders)
    return fail(
        f"--source {given}: not a document in the knowledge folder {named} (the served index's, then "
        "BOT_KB__SOURCE); give its path relative to that folder, as `kb search` shows it"
    )


def _text(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not value.strip():
        fail(f"--{what} is empty; give the {what} to approve")
    if what == "text" and not has_words(value):
        fail("--text needs words, not only emoji or symbols: it is served as the whole answer")
    if what == "question" and not has_words(value):
        fail(f"--question {WORDLESS_QUESTION}; give the question in words")
    # A terminal in another encoding passes undecodable bytes as lone surrogates, which the log cannot store.
    return encodable(value).strip()


def personal_data(text: str) -> str:
    """The personal data the redactor finds in `text`, named for the admin ("an email address and 2 phone
    numbers"); "" when there is none."""
    from bot.store.redact import Redactor

    return _named(Redactor(get_settings().redaction).redact(text).counts)


def _named(counts: Mapping[str, int]) -> str:
    """Redaction counts named for the admin ("an email address and 2 phone numbers"); "" for none."""
    named = [
        PERSONAL_DATA[kind][0] if count == 1 else f"{count} {PERSONAL_DATA[kind][1]}"
        for kind, count in counts.items()
        if count and kind in PERSONAL_DATA
    ]
    return " and ".join([", ".join(named[:-1]), named[-1]]) if len(named) > 1 else "".join(named)


def check_personal_data(text: str, what: str, allowed: bool) -> None:
    """Refuse (`ValueError`, before anything is stored) a text about to be served that holds personal data,
    unless `allowed`: an approved answer goes to every customer who asks its question, and an operator's
    reply or a pasted message may carry one customer's email or phone number."""
    if allowed:
        return
    found = personal_data(text)
    if found:
        raise ValueError(
            f"{what} contains {found}: an approved answer is shown to every customer who asks this "
            "question. Give a --text without it, or add --allow-personal-data if it is a public contact "
            "(such as the support address)"
        )


def _without_personal_data(question: str, answer_id: int) -> str:
    """A customer's logged question, as an approved question: with the personal data the deployment's
    redactor finds replaced by placeholders, as an operator's reply is kept as a candidate. It is shown on
    every list of approved answers, and it was written by one customer ("refund to my IBAN DE89 …"); the
    placeholders do not change what it asks."""
    from bot.store.redact import Redactor

    result = Redactor(get_settings().redaction).redact(question)
    found = _named(result.counts)
    if not found:
        return question
    redacted: str = result.text
    err_console.print(
        f"note: bot answer {answer_id}'s question contains {found}: it is approved with placeholders in "
        f"its place: {redacted}",
        highlight=False,
        markup=False,
    )
    return redacted


def _row(answer: ApprovedAnswer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "status": answer.status,
        "question": answer.question,
        "text": answer.text,
        "source": answer.source,
        "approved_by": answer.approved_by,
        "approved_at": answer.approved_at.isoformat(),
        "updated_at": answer.updated_at.isoformat(),
        "corrects_answer_id": answer.corrects_answer_id,
        "review_reason": answer.review_reason or None,
    }


def _show(answer: ApprovedAnswer, verb: str) -> None:
    where = f", citing {answer.source}" if answer.source else ""
    # markup off: a question or a path may hold brackets.
    console.print(
        f"Approved answer #{answer.id} {verb} ({answer.status}{where}).", highlight=False, markup=False
    )


async def _store(services: Services) -> ApprovedAnswerStore:

    # A fresh data folder: the embedded log is created (and migrated) on first use, as `ask` does.
    await asyncio.to_thread(services.settings.data_dir.mkdir, parents=True, exist_ok=True)
    return await services.approved_store()


def _run(body: Any) -> Any:
    """Run a command body against the store; database errors are one clear line."""
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError

    try:
        return run_async(body)
    except (StoreUnavailableError, SchemaOutdatedError) as exc:
        fail(str(exc), 1)
    except LookupError as exc:
        fail(str(exc).strip("'\""))
    except ValueError as exc:
        fail(str(exc))


@answers_app.command("approve")
def approve(
    question: Annotated[str | None, typer.Option("--question", help="The question it answers.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="The approved answer.")] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="The article it cites: a document of the knowledge folder."),
    ] = None,
    answer_id: Annotated[
        int | None,
        typer.Option(
            "--answer-id",
            help="Correct this logged answer (its question is taken from the log).",
            parser=id_parser(NO_LOGGED),
        ),
    ] = None,
    candidate: Annotated[
        int | None,
        typer.Option(
            "--candidate",
            help="Approve this operator reply (see `answers list --candidates`).",
            parser=id_parser(NO_CANDIDATE),
        ),
    ] = None,
    allow_personal_data: bool = ALLOW_PERSONAL_DATA,
) -> None:
    """Store an approved answer: later questions that match it closely get it at once (outcome
    `approved`). From a question and text, a logged answer (--answer-id, also kept as its correction for
    the training export) or an operator's candidate (--candidate, --text/--question/--source override).
    A text with personal data (emails, phone numbers, …) is refused unless --allow-personal-data."""
    settings = get_settings()
    if answer_id is not None and candidate is not None:
        fail("give --answer-id or --candidate, not both")
    question, text = _text(question, "question"), _text(text, "text")
    if text is not None:
        try:
            check_personal_data(text, "--text", allow_personal_data)
        except ValueError as exc:
            fail(str(exc))
    if candidate is None and text is None:
        fail("--text is required: the approved answer")
    if candidate is None and answer_id is None and question is None:
        fail("--question is required (or --answer-id to take it from the log)")
    by = approver()

    async def run() -> tuple[ApprovedAnswer, bool]:
        """The approved answer, and whether it replaced the text of one already served."""
        from bot.rag.approved import SERVED_STATUSES, same_question, served_answer_to_replace
        from bot.services import Services

        async with Services(settings) as services:
            article = (
                resolve_source(
                    await knowledge_folders(services, settings.kb.source), source, settings.kb.max_file_mb
                )
                if source is not None
                else None
            )
            if article is not None:
                await check_indexed(services, article[0], f"--source {source}")
            store = await _store(services)
            served = await store.list_approved(SERVED_STATUSES)

            async def activate(approved_id: int, new_text: str | None) -> ApprovedAnswer:
                """Serve `approved_id` with the new text (None keeps it) and the cited article, if given."""
                return await store.update_approved(
                    approved_id,
                    text=new_text,
                    source=article[0] if article else None,
                    source_hash=article[1] if article else None,
                    status="active",
                    approved_by=by,
                    keep_personal_data=allow_personal_data,
                )

            if candidate is not None:
                found = await store.get_approved(candidate)
                if found is None or found.status != "candidate":
                    raise LookupError(NO_CANDIDATE.format(id=candidate))
                if question is None and not has_words(found.question):
                    # Its question is the customer's message the operator replied to.
                    raise ValueError(f"candidate {candidate}'s question {WORDLESS_QUESTION}; give --question")
                if text is None:
                    # Kept redacted since it was stored; one stored before that still has what it had.
                    check_personal_data(
                        found.text, f"candidate {candidate} (an operator's reply)", allow_personal_data
                    )
                existing = served_answer_to_replace(served, question or found.question)
                if existing is None:
                    if question is not None:
                        await store.update_approved(candidate, question=question)
                    return await activate(candidate, text), False
                # The question is already approved: its answer takes the candidate's text, and the
                # candidate is done with.
                await store.update_approved(candidate, status="retired")  # still shows its operator
                return await activate(existing.id, text or found.text), True
            if text is None:
                raise ValueError("--text is required: the approved answer")
            corrected: int | None = None  # the approved answer the corrected logged answer served
            if answer_id is not None:
                logged = await store.logged_answer(answer_id)
                if logged is None:
                    raise LookupError(NO_LOGGED.format(id=answer_id))
                question_text = question or _without_personal_data(logged.standalone, answer_id)
                if not has_words(question_text):
                    # Refused before the correction is stored: nothing is kept from a refused command.
                    raise ValueError(
                        f"bot answer {answer_id}'s question {WORDLESS_QUESTION}; give --question"
                    )
                log = await services.conversation_log()
                await log.add_correction(answer_id, by, text)
                served_by = next((a for a in served if a.id == logged.approved_id), None)
                # The approved answer that was served is the one corrected, unless --question names
                # another question (the served one may have been a near match): then that question's.
                if served_by is not None and same_question(served_by.question, question_text):
                    corrected = served_by.id
            elif question is None:
                raise ValueError("--question is required (or --answer-id to take it from the log)")
            else:
                question_text = question
            existing = served_answer_to_replace(served, question_text, corrected)
            if existing is not None:
                # One approved answer per question: the new text replaces the served one (as a Telegram
                # or web correction does) instead of a second answer that would contest it.
                return await activate(existing.id, text), True
            made = await store.add_approved(
                question=question_text,
                text=text,
                approved_by=by,
                source=article[0] if article else None,
                source_hash=article[1] if article else None,
                corrects_answer_id=answer_id,
                keep_personal_data=allow_personal_data,
            )
            return made, False

    answer, replaced = _run(run)
    # Worded otherwise ("Sundays" for "Sundays?"): the admin sees which approved question it is.
    worded = f' (as "{answer.question}")' if question is not None and answer.question != question else ""
    _show(
        answer,
        f"replaced: its question was already approved{worded}, the text is new" if replaced else "approved",
    )
    _note_placeholders(answer)


def _note_placeholders(answer: ApprovedAnswer) -> None:
    """Say so when the served text shows placeholders: an operator's reply is kept with its personal data
    redacted, and "<EMAIL>" reads oddly to customers."""
    from bot.store.redact import PLACEHOLDERS

    shown = [f"<{kind}>" for kind in PLACEHOLDERS if f"<{kind}>" in answer.text]
    if shown:
        err_console.print(
            f"note: customers see {', '.join(shown)} where personal data was redacted from the text; "
            f"reword it with `python -m bot answers edit {answer.id} --text …`",
            highlight=False,
            markup=False,
        )


@answers_app.command("list")
def list_answers(
    json_out: bool = typer.Option(False, "--json", help="One JSON object per line."),
    candidates: bool = typer.Option(False, "--candidates", help="Operator replies waiting for approval."),
    all_: bool = typer.Option(False, "--all", help="Also retired answers and candidates."),
) -> None:
    """The approved answers that are served, and those flagged `needs_review` (not served until edited)."""
    settings = get_settings()

    async def run() -> list[ApprovedAnswer]:
        from bot.services import Services

        async with Services(settings) as services:
            store = await _store(services)
            if candidates:
                return await store.list_approved(["candidate"])
            return await store.list_approved([] if all_ else ["active", "needs_review"])

    rows: list[ApprovedAnswer] = _run(run)
    if json_out:
        for row in rows:
            print_json(_row(row))
        return
    if not rows:
        console.print("No candidates." if candidates else "No approved answers yet.")
        return
    for row in rows:
        flag = f"  ⚠ needs review: {row.review_reason}" if row.status == "needs_review" else ""
        status = "" if row.status == "active" else f" [{row.status}]"
        console.print(f"#{row.id}{status} Q: {row.question}{flag}", highlight=False, markup=False)
        console.print(f"    A: {row.text}", highlight=False, markup=False)
        meta = [f"source {row.source}" if row.source else "no source"]
        meta.append(f"by {row.approved_by} {row.approved_at:%Y-%m-%d %H:%M} UTC")
        if row.corrects_answer_id is not None:
            meta.append(f"corrects answer #{row.corrects_answer_id}")
        console.print("    " + " · ".join(meta), highlight=False, markup=False, style="dim")


@answers_app.command("edit")
def edit(
    approved_id: int = typer.Argument(
        ..., help="The approved answer's id (see `answers list`).", parser=id_parser(NO_APPROVED)
    ),
    question: Annotated[str | None, typer.Option("--question", help="New question.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="New answer text.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="New cited article.")] = None,
    no_source: bool = typer.Option(False, "--no-source", help="Cite no article."),
    allow_personal_data: bool = ALLOW_PERSONAL_DATA,
) -> None:
    """Change an approved answer and approve it again: a `needs_review` answer is served again (with no
    option, it is confirmed as it is, against the article as it is now). A new --text with personal data
    (emails, phone numbers, …) is refused unless --allow-personal-data."""
    settings = get_settings()
    if source is not None and no_source:
        fail("give --source or --no-source, not both")
    question, text = _text(question, "question"), _text(text, "text")
    by = approver()

    async def run() -> ApprovedAnswer:
        from bot.services import Services

        async with Services(settings) as services:
            folders = await knowledge_folders(services, settings.kb.source)
            given = resolve_source(folders, source, settings.kb.max_file_mb) if source is not None else None
            if given is not None:
                await check_indexed(services, given[0], f"--source {source}")
            store = await _store(services)
            found = await store.get_approved(approved_id)
            if found is None:
                raise LookupError(NO_APPROVED.format(id=approved_id))
            if found.status == "retired":
                raise ValueError(f"approved answer {approved_id} is retired; approve a new one instead")
            if text is not None and found.status != "candidate":  # a candidate is served once approved
                check_personal_data(text, "--text", allow_personal_data)
            if question is None and found.status != "candidate" and not has_words(found.question):
                # Stored before such questions were refused: it is approved again only with a new question.
                raise ValueError(
                    f"approved answer {approved_id}'s question {WORDLESS_QUESTION}; give --question"
                )
            cited = given
            if cited is None and not no_source and found.source:
                # Reviewed against the article as it is now: its current hash is the one approved.
                held = held_by(folders, found.source)
                if held is None:
                    raise ValueError(
                        f"{found.source} is no longer in the knowledge folder; give --source or --no-source"
                    )
                root, digest = held
                reason = skip_reason(root, found.source, settings.kb.max_file_mb)
                if reason is not None:
                    raise ValueError(f"{not_indexed(found.source, reason)}; give --source or --no-source")
                await check_indexed(
                    services,
                    found.source,
                    f"approved answer {approved_id}'s article",
                    ", or give --source or --no-source",
                )
                cited = (found.source, digest)
            return await store.update_approved(
                approved_id,
                question=question,
                text=text,
                source=cited[0] if cited else None,
                source_hash=cited[1] if cited else None,
                clear_source=no_source,
                status="candidate" if found.status == "candidate" else "active",
                # A candidate keeps its operator until an admin approves it (`approve --candidate`).
                approved_by=None if found.status == "candidate" else by,
                keep_personal_data=allow_personal_data,
            )

    _show(_run(run), "saved")


@answers_app.command("retire")
def retire(
    approved_id: int = typer.Argument(..., help="The approved answer's id.", parser=id_parser(NO_APPROVED)),
) -> None:
    """Stop serving an approved answer (it stays listed with `answers list --all`)."""
    settings = get_settings()

    async def run() -> tuple[ApprovedAnswer, bool]:
        from bot.services import Services

        async with Services(settings) as services:
            store = await _store(services)
            found = await store.get_approved(approved_id)
            if found is None:
                raise LookupError(NO_APPROVED.format(id=approved_id))
            if found.status == "retired":
                return found, False
            return await store.update_approved(approved_id, status="retired"), True

    answer, changed = _run(run)
    _show(answer, "retired" if changed else "was already retired; nothing changed")


@answers_app.command("fit")
def fit(json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON.")) -> None:
    """Fit the matching threshold on the active approved answers and print how it separates them (the
    bot refits by itself whenever the set changes; this shows the figures)."""
    settings = get_settings()

    async def run() -> dict[str, Any] | None:
        from dataclasses import asdict

        from bot.services import Services, build_approved

        async with Services(settings) as services:
            store = await _store(services)
            matcher = build_approved(store, services.embedder, services.kb())
            found = await matcher.refresh()
            return None if found is None else asdict(found)

    figures = _run(run)
    if figures is None:
        console.print("No active approved answers: nothing to fit.")
        return
    if json_out:
        print_json(figures)
        return
    from bot.rag.approved import ApprovedFit

    console.print(ApprovedFit(**figures).describe(), highlight=False)


async def review_after_reload(
    services: Services, folders: Path | Sequence[Path], report: ReloadReport
) -> list[int]:
    """`kb reload`'s review of approved answers whose article changed (as Telegram's /reload does); the
    ids flagged. A database that cannot be reached is a warning: the new index serves either way."""
    from bot.admin import describe_review, review_approved
    from bot.store.base import SchemaOutdatedError, StoreUnavailableError

    try:
        flagged = await review_approved(await services.approved_store(), folders, report)
    except (StoreUnavailableError, SchemaOutdatedError) as exc:
        err_console.print(f"warning: approved answers not checked: {exc}", highlight=False, markup=False)
        return []
    if flagged:
        err_console.print(describe_review(flagged), highlight=False, markup=False)
    return [a.id for a in flagged]
