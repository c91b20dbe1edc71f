"""Start-up shared by ``coach run``, ``coach console`` and tests: settings → services."""

from __future__ import annotations

import logging

from bot.services import Services
from bot.settings import Settings
from coach.clock import Clock, SystemClock
from storage.db import Database
from storage.migrate import upgrade

__all__ = ["make_services", "configure_logging"]


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=getattr(logging, level.upper(), logging.INFO))
    # httpx logs every request URL, and the URL carries the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def make_services(settings: Settings, *, clock: Clock | None = None,
                  migrate: bool = True) -> Services:
    """Upgrade the database schema and wire the long-lived services."""
    if migrate:
        upgrade(settings.database_url)
    return Services(settings=settings, db=Database(settings.database_url),
                    clock=clock or SystemClock())
