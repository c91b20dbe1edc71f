"""Start-up shared by ``coach run``, ``coach console`` and tests: settings → services."""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot import logfilter
from bot.services import Services
from bot.settings import Settings
from coach.clock import Clock, SystemClock
from storage.db import Database
from storage.migrate import upgrade

__all__ = ["make_services", "configure_logging", "warn_about_calendar"]

log = logging.getLogger(__name__)


def configure_logging(level: str = "INFO", *, secrets: tuple[str, ...] = ()) -> None:
    """Log format and levels; redaction of ``secrets`` (the token), names and phones."""
    for secret in secrets:
        logfilter.add_secret(secret)
    logfilter.install()  # before the first line: nothing is ever logged unredacted
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=getattr(logging, level.upper(), logging.INFO))
    # httpx logs every request URL, and the URL carries the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logfilter.install()  # again: the handler basicConfig just added gets the filter too


def make_services(settings: Settings, *, clock: Clock | None = None,
                  migrate: bool = True) -> Services:
    """Upgrade the database schema and wire the long-lived services."""
    if migrate:
        upgrade(settings.database_url)
    services = Services(settings=settings, db=Database(settings.database_url),
                        clock=clock or SystemClock())
    logfilter.attach_names(logfilter.client_names_from(services.db))
    return services


def warn_about_calendar(region: str, timezone: str, *, today: date | None = None) -> list[str]:
    """Log a loud warning for each gap in the holiday calendar of the next twelve months."""
    from coach.calendar import coverage_warnings

    today = today or datetime.now(ZoneInfo(timezone)).date()
    problems = coverage_warnings(today, region)
    for problem in problems:
        log.warning("HOLIDAY CALENDAR INCOMPLETE: %s; working days may be wrong", problem)
    return problems
