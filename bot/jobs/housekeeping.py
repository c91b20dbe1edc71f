"""Housekeeping: the processed-updates (dedup) table does not grow for ever.

Every update id the bot handled is stored so a redelivered update is ignored.
Telegram keeps undelivered updates for 24 hours, so ids older than
``PROCESSED_UPDATES_KEEP_HOURS`` (48 by default) can never come back and are
deleted. The job runs on every tick but deletes at most once an hour per process;
running it on several instances at once is harmless (a plain DELETE by age).
"""

from __future__ import annotations

from datetime import timedelta

from telegram.ext import Application

from bot.services import Services
from coach.services import housekeeping

__all__ = ["prune_processed_updates"]

_EVERY = timedelta(hours=1)
_LAST = "housekeeping.pruned_at"


async def prune_processed_updates(app: Application) -> None:  # type: ignore[type-arg]
    """Delete update ids older than the retention setting (at most hourly)."""
    svc: Services = app.bot_data["services"]
    now = svc.clock.now()
    last = app.bot_data.get(_LAST)
    if last is not None and now - last < _EVERY:
        return
    cutoff = now - timedelta(hours=svc.settings.processed_updates_keep_hours)
    with svc.db.session() as s:
        housekeeping.prune_processed_updates(s, before=cutoff)
    app.bot_data[_LAST] = now
