"""Caches every instance keeps, brought up to date each tick when their version moved.

Team scripts (the search index) and client names (log redaction) carry a counter
in ``cache_versions`` (:mod:`storage.versions`), bumped in the transaction of each
change. Each tick compares the counters (one small query each) and reads only what
changed since: a team script saved on one instance is searchable on the others
within one tick, without rebuilding the index; a client added on one instance is
masked in the others' logs within one tick. A failed refresh changes nothing
(the names masked stay masked) and is tried again at the next tick.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application

from bot import logfilter
from bot.services import Services

__all__ = ["refresh_shared_caches"]

log = logging.getLogger(__name__)


def _refresh(svc: Services) -> None:
    logfilter.refresh_names()  # logs and keeps the old names on failure
    try:
        added = svc.refresh_team_scripts()
    except SQLAlchemyError as err:
        log.warning("team scripts not refreshed: %s", type(err).__name__)
        return
    if added:
        log.info("team scripts refreshed: %d added or changed", added)


async def refresh_shared_caches(app: Application) -> None:  # type: ignore[type-arg]
    """Check the cache versions; read what changed (off the event loop)."""
    await asyncio.to_thread(_refresh, app.bot_data["services"])
