"""Scheduled work; ``bot.app.job_list()`` lists every job beside ``handler_list()``.

Each job is ``async def job(app) -> None``: it wakes up, claims due rows in the database
and acts on them, so a restart or a second instance loses nothing and sends nothing twice.
Jobs never send: they queue messages in the outbox in the transaction that causes them,
and the last job of the list (``outbox.deliver_outbox``) sends them.
The scheduler (``bot.scheduler``) runs every job of the list each tick; one job failing
never stops the others. Tests call ``bot.scheduler.run_ticks`` with a fixed clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram.ext import Application

from bot.jobs import (
    briefings,
    caches,
    digest,
    housekeeping,
    outbox,
    practice,
    questions,
    reminders,
)

__all__ = ["Job", "briefings", "caches", "digest", "housekeeping", "outbox", "practice",
           "questions", "reminders"]

Job = Callable[[Application], Awaitable[None]]  # type: ignore[type-arg]
