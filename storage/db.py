"""Engine and sessions: one session per unit of work, never a global one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "make_engine"]


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


def make_engine(url: str, *, connect_timeout: float | None = None,
                statement_timeout: float | None = None, busy_timeout: float = 10.0,
                **kwargs: Any) -> Engine:
    """Create an engine for SQLite or PostgreSQL with the same behaviour.

    ``connect_timeout`` and ``statement_timeout`` (seconds; PostgreSQL) make a hung
    database fail fast instead of freezing the bot; ``busy_timeout`` (seconds; SQLite)
    is how long a writer waits for another one before "database is locked".
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": busy_timeout}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(round(busy_timeout * 1000)))
        return engine
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if connect_timeout:
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
    if statement_timeout:
        connect_args["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    except ModuleNotFoundError as err:  # the driver is an optional extra
        raise RuntimeError(f"the database driver {err.name!r} is not installed; for "
                           "PostgreSQL: pip install -e '.[postgres]'") from err


class Database:
    """Owns the engine and hands out sessions as units of work."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        from storage.versions import track_client_names  # imports the models: not at the top

        track_client_names(self._factory)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: commit on success, roll back on any exception."""
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
