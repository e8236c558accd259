"""The scheduled refresh: every source reloaded on an interval; a failure keeps the index, admins are told."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.admin import Admin

log = logging.getLogger("bot.refresh")

# Tells the admins about the knowledge base (`serve` sends it to BOT_TELEGRAM__ADMIN_IDS).
Notify = Callable[[str], Awaitable[None]]


async def refresh_every(admin: Admin, interval_s: float, notify: Notify, stop: asyncio.Event) -> None:
    """Reload every knowledge source each `interval_s` seconds until `stop` is set.

    The same verify-then-swap as an admin's reload, incremental (unchanged files and pages are neither
    fetched in full nor embedded again). A refresh that fails keeps the current index and the admins are
    told, once per failure; the first success after failures tells them it recovered. A round is skipped
    while another reload runs.
    """
    failing = False
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
            return
        except TimeoutError:
            pass
        try:
            result = await admin.refresh()
        except Exception as exc:
            # An unforeseen error must not end this task: nothing awaits it, so it would die silently and
            # the schedule would stop for good. Cancellation (shutdown) is no Exception: it still stops it.
            failing = True
            log.exception("scheduled refresh crashed; the schedule continues")
            await _tell(
                notify,
                f"⚠️ Scheduled knowledge-base refresh failed ({exc.__class__.__name__}); see the bot's log.",
            )
            continue
        if result is None:
            log.info("scheduled refresh skipped: a reload is running")
            continue
        if not result.ok:
            failing = True
            log.error(
                "scheduled refresh failed; the current index keeps serving", extra={"error": result.text}
            )
            await _tell(notify, f"⚠️ Scheduled knowledge-base refresh failed.\n{result.text}")
        elif failing:
            failing = False
            await _tell(notify, f"✅ Scheduled knowledge-base refresh works again.\n{result.text}")
        else:
            log.info("scheduled refresh done", extra={"summary": result.text.splitlines()[0]})


async def _tell(notify: Notify, text: str) -> None:
    try:
        await notify(text)
    except Exception:
        # The refresh itself is what matters; an unreachable chat must not stop the schedule.
        log.warning("could not tell the admins about the refresh", exc_info=True)
