"""Start-up shared by ``coach run``, ``coach console`` and tests: settings → services."""

from __future__ import annotations

import asyncio
import gc
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot import logfilter
from bot.logcontext import JsonFormatter
from bot.services import Services
from bot.settings import Settings
from coach.clock import Clock, SystemClock
from storage.db import Database
from storage.migrate import upgrade

__all__ = ["make_services", "configure_logging", "warn_about_calendar", "db_threads",
           "use_db_threads"]

log = logging.getLogger(__name__)


def configure_logging(level: str = "INFO", *, secrets: tuple[str, ...] = (),
                      fmt: str = "text") -> None:
    """Log format and levels; redaction of ``secrets`` (the token), names and phones.

    ``fmt="json"`` writes one JSON object a line (:class:`bot.logcontext.JsonFormatter`);
    records are redacted when created, so the formatter only ever sees redacted text.
    """
    for secret in secrets:
        logfilter.add_secret(secret)
    logfilter.install()  # before the first line: nothing is ever logged unredacted
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=getattr(logging, level.upper(), logging.INFO))
    if fmt == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    # httpx logs every request URL, and the URL carries the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # a tick still running when the next is due is skipped by design (max_instances=1)
    logging.getLogger("apscheduler.scheduler").addFilter(_skip_overlapping_ticks)
    logging.getLogger("apscheduler.executors.default").addFilter(_skip_cancelled_runs)
    logfilter.install()  # again: the handler basicConfig just added gets the filter too


def _skip_overlapping_ticks(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in record.getMessage()


def _skip_cancelled_runs(record: logging.LogRecord) -> bool:
    """Stopping, PTB waits for the running ticks while the scheduler starts new ones, then
    cancels those before their first step: nothing ran, nothing to report as an error
    (a run cancelled midway logs its own line, ``bot.scheduler.run_job``)."""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, asyncio.CancelledError)


def db_threads(settings: Settings) -> int:
    """Worker threads (and pooled connections) for database work: two per running update."""
    return 2 * settings.concurrent_updates + 4


def use_db_threads(settings: Settings) -> None:
    """Give the running loop enough worker threads for :func:`bot.services.run_db`.

    asyncio's default is ``min(32, cpus + 4)``, six on a two-core machine: fewer than
    the updates that may wait on the database at once.
    """
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=db_threads(settings), thread_name_prefix="coach-db"))


def settle_heap() -> int:
    """Once start-up is done: collect, then freeze what is left (how many objects).

    The search index, the tokenizer's dictionaries and the client-name list are millions
    of objects that live as long as the process. Frozen, the garbage collector's full
    passes no longer walk them on every run (each took about 0.1 s, a pause for every chat
    in flight); the objects made per update are collected as before. Called by
    ``coach run`` after the application initialised, never in tests (a frozen test
    application would never be collected).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def make_services(settings: Settings, *, clock: Clock | None = None,
                  migrate: bool = True) -> Services:
    """Upgrade the database schema and wire the long-lived services."""
    if migrate:
        upgrade(settings.database_url)
    # each running update may hold two connections (its chat lock on PostgreSQL, and
    # its work), plus the jobs: the pool is sized so updates never wait for each other
    db = Database(settings.database_url, connect_timeout=settings.db_connect_timeout_seconds,
                  statement_timeout=settings.db_statement_timeout_seconds,
                  busy_timeout=settings.db_busy_timeout_seconds,
                  ping_idle=settings.db_ping_idle_seconds,
                  pool_size=db_threads(settings), max_overflow=10)
    services = Services(settings=settings, db=db,
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
