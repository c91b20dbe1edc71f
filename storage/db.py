"""Engine and sessions: one session per unit of work, never a global one.

A session opened on the asyncio event loop blocks every chat until its query ends,
so the bot runs each unit of work in a worker thread (``bot.services.run_db``).
:func:`off_loop_only` marks code (an update being handled, a job) where that rule holds;
a session opened there on a thread with a running event loop is reported: a
warning in production, an error (:class:`SessionOnLoopError`) once the test
harness calls ``set_loop_check("raise")``. Code outside the mark (the CLI, domain
tests, a test's own setup) is never checked.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "PING_IDLE_S", "SessionOnLoopError", "check_off_loop", "make_engine",
           "off_loop_only",
           "set_loop_check"]

log = logging.getLogger(__name__)
LoopCheck = Literal["off", "warn", "raise"]
_loop_check: LoopCheck = "warn"
# True while an update is handled; asyncio.to_thread copies it into the worker thread,
# which has no running loop, so only a session opened on the loop itself is caught
_off_loop_only: ContextVar[bool] = ContextVar("coach_db_off_loop_only", default=False)
_warned: set[tuple[str, int]] = set()


class SessionOnLoopError(RuntimeError):
    """A database session was opened on the event loop where only worker threads may."""


def set_loop_check(mode: LoopCheck) -> None:
    """What a session opened on the loop inside :func:`off_loop_only` does: warn (default),
    raise (the test suite) or nothing."""
    global _loop_check
    _loop_check = mode


@contextmanager
def off_loop_only() -> Iterator[None]:
    """Within this block (and tasks and threads started from it), sessions belong off the loop."""
    token = _off_loop_only.set(True)
    try:
        yield
    finally:
        _off_loop_only.reset(token)


def _caller() -> tuple[str, int]:
    """File and line that opened the session (skipping this module and contextlib)."""
    for frame in reversed(traceback.extract_stack(limit=8)[:-1]):
        if not frame.filename.endswith(("contextlib.py", "storage/db.py")):
            return frame.filename, frame.lineno or 0
    return "?", 0


def check_off_loop(what: str = "database session opened") -> None:
    """Report ``what`` (blocking work: a session, a search) if it runs on the event loop
    inside :func:`off_loop_only`; the sessions of :class:`Database` call it themselves."""
    _check_off_loop(what)


def _check_off_loop(what: str = "database session opened") -> None:
    if _loop_check == "off" or not _off_loop_only.get():
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread (run_db) or plain synchronous code: fine
    where = _caller()
    if _loop_check == "raise":
        raise SessionOnLoopError(f"{what} on the event loop at {where[0]}:"
                                 f"{where[1]}; run the unit of work with bot.services.run_db")
    if where not in _warned:  # once per place: a hot path must not flood the log
        _warned.add(where)
        log.warning("%s on the event loop at %s:%d (blocks every chat)", what, *where)


def _sqlite_pragmas(busy_ms: int) -> Any:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the scheduler read while a handler writes; the busy timeout makes a
        # second writer (a thread, a second process) wait for the lock instead of failing.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return apply


PING_IDLE_S = 5.0  # default of DB_PING_IDLE_SECONDS
_LAST_USED = "coach_last_used"  # key in a pooled connection's info: time.monotonic()


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Check a pooled PostgreSQL connection on check-out only if it sat idle ``idle_s``.

    SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` on every check-out: one round trip
    per unit of work (a sixth of the bot's database calls under load). What goes stale
    is a connection left idle: a database restarted or failed over while nobody used
    it, a firewall or ``idle_session_timeout`` closing it. Those are pinged; a dead one
    is replaced, and the pool's older connections with it, before anyone uses it. A
    connection used within ``idle_s`` is handed out as is: if the server died in that
    moment, the first statement on it fails as a disconnect, which invalidates the
    whole pool at once (SQLAlchemy's rule), so one unit of work fails (the guard
    apologises, jobs retry on the next tick) and the next ones get new connections.
    """
    dialect = engine.dialect

    def stamp(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last < idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as err:
            if dialect.is_disconnect(err, dbapi_connection, None):  # type: ignore[arg-type]
                # the pool reconnects (and drops every older connection), then retries
                raise InvalidatePoolError(f"stale connection: {err}") from err
            raise

    event.listen(engine, "connect", stamp)  # a new connection is as good as just used
    event.listen(engine, "checkin", stamp)
    event.listen(engine, "checkout", check)


def _pg_connect_args(connect_timeout: float | None, statement_timeout: float | None,
                     extra: dict[str, Any]) -> dict[str, Any]:
    """The driver's arguments for PostgreSQL's timeouts, on top of ``extra``."""
    connect_args = dict(extra)
    if connect_timeout:
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
    if statement_timeout:
        connect_args["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
    return connect_args


def make_engine(url: str, *, connect_timeout: float | None = None,
                statement_timeout: float | None = None, busy_timeout: float = 10.0,
                ping_idle: float = PING_IDLE_S, **kwargs: Any) -> Engine:
    """Create an engine for SQLite or PostgreSQL with the same behaviour.

    ``connect_timeout`` and ``statement_timeout`` (seconds; PostgreSQL) make a hung
    database fail fast instead of freezing the bot; ``busy_timeout`` (seconds; SQLite)
    is how long a writer waits for another one before "database is locked";
    ``ping_idle`` (seconds; PostgreSQL) is how long a pooled connection may sit unused
    before it is checked on check-out (:func:`_ping_when_idle`; 0: on every check-out).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": busy_timeout}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(round(busy_timeout * 1000)))
        return engine
    connect_args = _pg_connect_args(connect_timeout, statement_timeout,
                                    kwargs.pop("connect_args", {}))
    try:
        engine = create_engine(url, connect_args=connect_args, **kwargs)
    except ModuleNotFoundError as err:  # the driver is an optional extra
        raise RuntimeError(f"the database driver {err.name!r} is not installed; for "
                           "PostgreSQL: pip install -e '.[postgres]'") from err
    _ping_when_idle(engine, max(0.0, ping_idle))
    return engine


class Database:
    """Owns the engine and hands out sessions as units of work."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._pg_args = _pg_connect_args(engine_kwargs.get("connect_timeout"),
                                         engine_kwargs.get("statement_timeout"),
                                         engine_kwargs.get("connect_args", {}))
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        from storage.versions import track_client_names  # imports the models: not at the top

        track_client_names(self._factory)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def driver_connect_params(self) -> dict[str, Any]:
        """psycopg's keyword arguments for a connection like the pool's (PostgreSQL only):
        for work that talks to the driver directly (:mod:`bot.chatlock`)."""
        _args, params = self.engine.dialect.create_connect_args(self.engine.url)
        return {**params, **self._pg_args}

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: commit on success, roll back on any exception."""
        _check_off_loop()
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
