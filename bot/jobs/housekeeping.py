"""Housekeeping: tables that grow with use are pruned to their retention periods.

Processed update ids (``PROCESSED_UPDATES_KEEP_HOURS``, 48), script events
(``SCRIPT_EVENTS_KEEP_DAYS``, 400) and audit rows (``AUDIT_KEEP_DAYS``, seven years;
archived to ``AUDIT_ARCHIVE_DIR`` first when it is set) are pruned by
:func:`coach.services.retention.prune_expired`. The job runs on every tick but prunes
at most once an hour per process, in short batches; running it on several instances at
once is harmless (a row is deleted once).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram.ext import Application

from bot.services import Services
from coach.services.retention import Retention, jsonl_archive, prune_expired

__all__ = ["prune_expired_rows"]

log = logging.getLogger(__name__)
_EVERY = timedelta(hours=1)
_LAST = "housekeeping.pruned_at"


async def prune_expired_rows(app: Application) -> None:  # type: ignore[type-arg]
    """Delete rows past their retention (at most hourly); audit rows archived first if set."""
    svc: Services = app.bot_data["services"]
    now = svc.clock.now()
    last = app.bot_data.get(_LAST)
    if last is not None and now - last < _EVERY:
        return
    settings = svc.settings
    archive = jsonl_archive(settings.audit_archive_dir) if settings.audit_archive_dir else None
    # batches of plain DELETEs: off the event loop so updates keep flowing meanwhile
    deleted = await asyncio.to_thread(prune_expired, svc.db, Retention.from_settings(settings),
                                      now=now, archive=archive)
    app.bot_data[_LAST] = now
    if any(deleted.values()):
        log.info("pruned %s", ", ".join(f"{k}={v}" for k, v in deleted.items() if v))


# the name this job had while it pruned only the duplicate-check ids
prune_processed_updates = prune_expired_rows
