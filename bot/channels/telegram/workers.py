"""Several webhook workers behind one proxy: each update once, each chat in order, through shared state."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.channels.telegram.ordering import ChatOrderedProcessor
from bot.store.base import StoreUnavailableError
from bot.store.shared import SharedState

log = logging.getLogger("bot.channels.telegram.workers")

# How often a waiting update asks whether its chat's earlier updates are done: quick at first (the
# earlier one is often finishing), then at most four times a second per waiting update.
FIRST_POLL_S = 0.02
MAX_POLL_S = 0.25
# Finished updates stay this long (a late redelivery is still recognised here, and the delivery claims
# in the log catch any later one); idle flood windows go with them.
KEEP_FINISHED_S = 3600.0
PURGE_EVERY_S = 600.0


def worker_name() -> str:
    """This process among the workers: host, pid and a random tag (a restarted pid is another worker)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class SharedOrderedProcessor(ChatOrderedProcessor):
    """`ChatOrderedProcessor` across processes: webhook updates go through a `SharedState` ledger.

    The webhook handler records each update (`admit`) before answering Telegram, so a redelivery is
    acknowledged and dropped, and the Bot API — which sends a chat's next update only once the previous
    one was acknowledged — finds it recorded. An update then runs only when its chat has no earlier
    unfinished update held by a live worker. Workers renew the leases of what they hold; one whose lease
    ran out (its worker died) is taken over by another worker from the stored payload, and the log's
    delivery claim makes sure one already begun is not answered twice.
    """

    def __init__(
        self,
        shared: SharedState,
        *,
        lease_s: float,
        worker: str | None = None,
        max_concurrent_updates: int = 256,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.shared = shared
        self.lease_s = lease_s
        self.worker = worker or worker_name()
        self._held: set[int] = set()  # updates this worker holds a lease on
        # Taken over from a dead worker: older than what this worker may already be running for the chat,
        # so ordered by the ledger alone (behind the local lock, a later update waiting for it would
        # wait forever).
        self._taken: set[int] = set()
        self._application: Application | None = None  # type: ignore[type-arg]
        self._keeper: asyncio.Task[None] | None = None
        self.taken_over = 0

    def attach(self, application: Application) -> None:  # type: ignore[type-arg]
        """The Application whose queue receives updates taken over from dead workers."""
        self._application = application

    async def admit(self, update: Update, payload: str) -> bool:
        try:
            fresh = await self.shared.register(
                update.update_id,
                str(self.chat_key(update)),
                payload,
                worker=self.worker,
                lease_s=self.lease_s,
            )
        except StoreUnavailableError as exc:
            # Processed here without cross-worker order; the handlers' gate tells the user about the database.
            log.error("update not recorded", extra={"update_id": update.update_id, "error": str(exc)})
            return True
        if fresh:
            self._held.add(update.update_id)
        else:
            log.info("redelivered update dropped", extra={"update_id": update.update_id})
        return fresh

    def ordered_here(self, update: object) -> bool:
        return not (isinstance(update, Update) and update.update_id in self._taken)

    async def run_in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update) or update.update_id not in self._held:
            await coroutine
            return
        try:
            await self._wait_for_turn(update)
            await coroutine
        finally:
            self._held.discard(update.update_id)
            self._taken.discard(update.update_id)
            try:
                await self.shared.finish(update.update_id)
            except StoreUnavailableError as exc:
                # Its lease runs out and another worker takes it over; the delivery claim drops it there.
                log.warning(
                    "update not marked done", extra={"update_id": update.update_id, "error": str(exc)}
                )

    async def _wait_for_turn(self, update: Update) -> None:
        key = str(self.chat_key(update))
        delay = FIRST_POLL_S
        started = time.monotonic()
        while True:
            try:
                if not await self.shared.blocked(update.update_id, key):
                    break
            except StoreUnavailableError as exc:
                log.warning(
                    "chat order unknown; going on", extra={"update_id": update.update_id, "error": str(exc)}
                )
                break
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, MAX_POLL_S)
        waited = time.monotonic() - started
        if waited > 1.0:
            log.info(
                "waited for the chat's earlier update",
                extra={"update_id": update.update_id, "wait_s": waited},
            )

    async def keep(self) -> None:
        """Renew this worker's leases, take over dead workers' updates and purge old rows, until cancelled."""
        every = self.lease_s / 3
        last_purge = time.monotonic()
        while True:
            await asyncio.sleep(every)
            try:
                await self.shared.renew(sorted(self._held), worker=self.worker, lease_s=self.lease_s)
                await self._take_over()
                if time.monotonic() - last_purge > PURGE_EVERY_S:
                    last_purge = time.monotonic()
                    await self.shared.purge(older_than_s=KEEP_FINISHED_S)
            except StoreUnavailableError as exc:
                log.warning("shared state unavailable; retrying", extra={"error": str(exc)})

    async def _take_over(self) -> None:
        application = self._application
        if application is None:
            return
        for taken in await self.shared.take_over(worker=self.worker, lease_s=self.lease_s):
            try:
                data = json.loads(taken.payload)
                update = Update.de_json(data, application.bot)
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
                log.error("stored update unreadable", extra={"update_id": taken.update_id, "error": str(exc)})
                await self.shared.finish(taken.update_id)
                continue
            self.taken_over += 1
            log.warning(
                "update taken over from a silent worker",
                extra={"update_id": taken.update_id, "attempts": taken.attempts},
            )
            self._held.add(taken.update_id)
            self._taken.add(taken.update_id)
            await application.update_queue.put(update)

    async def initialize(self) -> None:
        if self._keeper is None:
            self._keeper = asyncio.create_task(self.keep(), name="shared-state-keeper")

    async def shutdown(self) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        if self._held:
            # Stopping (a deploy): what this worker still holds is handed on now, not after the lease.
            try:
                await self.shared.renew(sorted(self._held), worker=self.worker, lease_s=0)
            except StoreUnavailableError as exc:
                log.warning("leases not handed on; they run out", extra={"error": str(exc)})
            log.info("updates handed on at shutdown", extra={"count": len(self._held)})
