"""Long-lived things every handler and job needs, built once per application.

:func:`run_db` runs a unit of database work off the event loop, so one slow query
never stalls the other chats; :func:`in_session` is the common case of it, one
service call in its own session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.render import Renderer
from bot.settings import Settings
from coach.clock import Clock, SystemClock
from coach.ratelimit import FloodLimiter
from storage.db import Database

if TYPE_CHECKING:
    from coach.services.library import ScriptCatalog

__all__ = ["Services", "in_session", "run_db", "is_locked_error"]

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
LOCKED_RETRIES = 5  # SQLite "database is locked" after the busy timeout: try again, quietly
LOCKED_PAUSE_S = 0.2


def is_locked_error(err: BaseException) -> bool:
    """SQLite's "database is locked" / "database table is locked" (another writer)."""
    return isinstance(err, OperationalError) and "is locked" in str(err.orig)


async def run_db(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a worker thread; its result, or its exception.

    ``fn`` must be a whole unit of work (it opens, commits or rolls back its own
    session), because a SQLite "database is locked" that outlasted the busy timeout is
    retried here a few times before it is raised. Context variables (the update id
    for log lines) travel with it.
    """
    for attempt in range(LOCKED_RETRIES + 1):
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except OperationalError as err:
            if not is_locked_error(err) or attempt == LOCKED_RETRIES:
                raise
            log.info("database busy, retrying (%d/%d)", attempt + 1, LOCKED_RETRIES)
            await asyncio.sleep(LOCKED_PAUSE_S * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


async def in_session(svc: Services, fn: Callable[Concatenate[Session, P], T], /,
                     *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(session, *args, **kwargs)`` in a session of its own, in a worker thread.

    The usual handler step: one service call as one unit of work (committed when it
    returns, rolled back when it raises). A ``ServiceError`` reaches the caller as is,
    for :func:`bot.guard.service_errors` to turn into the friendly reply.
    """

    def unit() -> T:
        with svc.db.session() as s:
            return fn(s, *args, **kwargs)

    return await run_db(unit)


@dataclass
class Services:
    """Settings, database, clock, renderer and the search index, shared read-only."""

    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    renderer: Renderer = field(default_factory=Renderer)
    flood: FloodLimiter | None = None
    inline_flood: FloodLimiter | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    _catalog: ScriptCatalog | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.flood is None:
            self.flood = FloodLimiter(limit=self.settings.flood_limit_per_minute,
                                      per_seconds=60, clock=self.clock)
        if self.inline_flood is None:
            self.inline_flood = FloodLimiter(limit=self.settings.inline_limit_per_minute,
                                             per_seconds=60, clock=self.clock)

    @property
    def catalog(self) -> ScriptCatalog:
        """The script library with this deployment's team scripts (built on first use)."""
        if self._catalog is None:
            from coach.services.library import shared_catalog

            # a running bot does not wait for a category model still training (README)
            catalog = shared_catalog(
                wait_for_model=not self.settings.search_model_background)
            with self.db.session() as s:
                catalog.load_team_scripts(s)
            self._catalog = catalog
        return self._catalog

    def refresh_team_scripts(self) -> int:
        """Add team scripts saved on other instances since the last check; how many.

        One small query when nothing changed. An index not built yet is left alone:
        it reads every team script when it is first used.
        """
        if self._catalog is None:
            return 0
        with self.db.session() as s:
            return self._catalog.refresh_team_scripts(s)
