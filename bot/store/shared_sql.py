"""`SharedState` in the conversation log's database, so webhook workers behind one proxy agree."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.models import FloodWindowRow, UpdateLedgerRow, utcnow
from bot.store.repo import SqlConversationLog
from bot.store.shared import MAX_ATTEMPTS, FloodVerdict, TakenUpdate, Window, slide

CHAT_KEY_MAX = 64
FLOOD_KEY_MAX = 64


class SqlSharedState:
    """Implements `bot.store.shared.SharedState` on the log's engine (its timeouts, its error mapping).

    Each call is one short transaction. A redelivery loses the primary-key race on `update_ledger`; a
    flood window is read and written under its row lock (PostgreSQL `FOR UPDATE`; SQLite has one writer).
    """

    def __init__(self, log: SqlConversationLog, *, clock: Callable[[], float] = time.time) -> None:
        self._log = log
        self._clock = clock

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction that does not wait for the disk flush on PostgreSQL.

        This state only coordinates workers: a database crash that loses its last milliseconds loses no
        customer data (the log's own writes stay synchronous, and its delivery claim still stops a second
        answer), and not waiting for the WAL flush takes most of each call's time.
        """
        async with self._log.transaction(write=True) as conn:
            if self._log.dialect == "postgresql":
                await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
            yield conn

    async def register(
        self, update_id: int, chat_key: str, payload: str, *, worker: str, lease_s: float
    ) -> bool:
        values = {
            "update_id": update_id,
            "chat_key": chat_key[:CHAT_KEY_MAX],
            "payload": payload,
            "worker": worker[:64],
            "attempts": 1,
            "received_at": utcnow(),
            "lease_until": self._clock() + lease_s,
        }
        try:
            async with self._write() as conn:
                await conn.execute(insert(UpdateLedgerRow).values(**values))
        except IntegrityError:
            return False
        return True

    async def blocked(self, update_id: int, chat_key: str) -> bool:
        row = UpdateLedgerRow
        query = (
            select(row.update_id)
            .where(
                row.chat_key == chat_key[:CHAT_KEY_MAX],
                row.update_id < update_id,
                row.done_at.is_(None),
                row.lease_until > self._clock(),
            )
            .limit(1)
        )
        async with self._log.transaction() as conn:
            return (await conn.execute(query)).first() is not None

    async def renew(self, update_ids: Sequence[int], *, worker: str, lease_s: float) -> None:
        if not update_ids:
            return
        row = UpdateLedgerRow
        async with self._write() as conn:
            await conn.execute(
                update(row)
                .where(row.update_id.in_(list(update_ids)), row.worker == worker[:64], row.done_at.is_(None))
                .values(lease_until=self._clock() + lease_s)
            )

    async def finish(self, update_id: int) -> None:
        row = UpdateLedgerRow
        async with self._write() as conn:
            await conn.execute(
                update(row)
                .where(row.update_id == update_id, row.done_at.is_(None))
                # Only an unfinished update may need its JSON (a takeover): the customer's text goes now.
                .values(done_at=self._clock(), payload="")
            )

    async def take_over(self, *, worker: str, lease_s: float, limit: int = 20) -> list[TakenUpdate]:
        row = UpdateLedgerRow
        now = self._clock()
        expired = (row.done_at.is_(None), row.lease_until <= now)
        taken: list[TakenUpdate] = []
        async with self._write() as conn:
            # Given up on first, in one statement: an update that killed its workers does not come back.
            await conn.execute(
                update(row).where(*expired, row.attempts >= MAX_ATTEMPTS).values(done_at=now, payload="")
            )
            found = (
                await conn.execute(
                    select(row.update_id, row.chat_key, row.payload, row.attempts)
                    .where(*expired)
                    .order_by(row.update_id)
                    .limit(limit)
                )
            ).all()
            for item in found:
                # Conditional: of two workers sweeping at once, only the first one's update matches.
                result = await conn.execute(
                    update(row)
                    .where(row.update_id == item.update_id, *expired)
                    .values(worker=worker[:64], lease_until=now + lease_s, attempts=item.attempts + 1)
                )
                if result.rowcount == 1:
                    taken.append(TakenUpdate(item.update_id, item.chat_key, item.payload, item.attempts + 1))
        return taken

    async def flood(self, key: str, at: float, *, limit: int, window_s: float) -> FloodVerdict:
        key = key[:FLOOD_KEY_MAX]
        row = FloodWindowRow
        async with self._write() as conn:
            await conn.execute(self._insert_missing(key, at))
            found = (
                await conn.execute(select(row.times, row.noticed).where(row.key == key).with_for_update())
            ).one()
            before = Window(tuple(float(t) for t in json.loads(found.times)), bool(found.noticed))
            after, verdict = slide(before, at, limit, window_s)
            await conn.execute(
                update(row)
                .where(row.key == key)
                .values(times=json.dumps(after.times), noticed=after.noticed, seen_at=max(at, self._clock()))
            )
        return verdict

    def _insert_missing(self, key: str, at: float) -> Any:
        values = {"key": key, "times": "[]", "noticed": False, "seen_at": at}
        if self._log.dialect == "postgresql":
            return postgresql.insert(FloodWindowRow).values(**values).on_conflict_do_nothing()
        return sqlite.insert(FloodWindowRow).values(**values).on_conflict_do_nothing()

    async def purge(self, *, older_than_s: float) -> int:
        cutoff = self._clock() - older_than_s
        async with self._write() as conn:
            done = await conn.execute(delete(UpdateLedgerRow).where(UpdateLedgerRow.done_at < cutoff))
            idle = await conn.execute(delete(FloodWindowRow).where(FloodWindowRow.seen_at < cutoff))
        return int(done.rowcount) + int(idle.rowcount)
