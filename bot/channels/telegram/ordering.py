"""Concurrent update processing that keeps each chat's updates in arrival order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


@dataclass
class UpdateState:
    """What the handlers of one update share: when it arrived and the message already shown for it."""

    arrival: float = field(default_factory=time.monotonic)
    received: float = field(default_factory=time.time)  # wall clock: workers on other hosts compare it
    reply_chat_id: int | None = None
    reply_message_id: int | None = None  # the bot message answering this update, if any


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Runs different chats concurrently and one chat's updates strictly one after another.

    python-telegram-bot starts one task per update in arrival order; each task takes its chat's FIFO lock
    before the handlers run, so a chat's second message waits for the first answer, while other chats
    are served in parallel. Locks of idle chats are dropped so memory stays flat.
    """

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int | str, tuple[asyncio.Lock, int]] = {}
        self._states: dict[int, UpdateState] = {}

    def state(self, update: object) -> UpdateState:
        """The shared state of `update` (a fresh one when it is processed outside this processor)."""
        if isinstance(update, Update):
            found = self._states.get(update.update_id)
            if found is not None:
                return found
        return UpdateState()

    def forget(self, update: object) -> None:
        if isinstance(update, Update):
            self._states.pop(update.update_id, None)

    @property
    def active_chats(self) -> int:
        return len(self._locks)

    @staticmethod
    def chat_key(update: object) -> int | str:
        if isinstance(update, Update):
            if update.effective_chat is not None:
                return update.effective_chat.id
            if update.effective_user is not None:
                return f"user:{update.effective_user.id}"
            return f"update:{update.update_id}"
        return "other"

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, Update):
            self._states.setdefault(update.update_id, UpdateState())
        if not self.ordered_here(update):
            try:
                await self.run_in_turn(update, coroutine)
            finally:
                self.forget(update)
            return
        key = self.chat_key(update)
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await self.run_in_turn(update, coroutine)
        finally:
            _, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
            self.forget(update)

    async def admit(self, update: Update, payload: str) -> bool:
        """Whether a webhook update is new; one process drops redeliveries in the handlers' gate instead."""
        return True

    def ordered_here(self, update: object) -> bool:
        """Whether the chat's lock in this process orders `update` (always, for one process alone)."""
        return True

    async def run_in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run an update holding its chat's lock; other processes have no say here."""
        await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
