"""Stale PostgreSQL connections are checked only when they sat idle (storage.db).

``pool_pre_ping`` cost a ``SELECT 1`` round trip per unit of work; now a pooled
connection is pinged on check-out only after ``DB_PING_IDLE_SECONDS`` unused. These
tests kill a connection's server process the way a restart or a firewall would, and
check what the next unit of work sees. PostgreSQL only (SQLite has no server).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import Database


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (DATABASE_URL=postgresql+psycopg://…)")
    return db_url


@pytest.fixture
def admin(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    yield db
    db.dispose()


def _backend(db: Database) -> int:
    with db.session() as s:
        return int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(admin: Database, pid: int) -> None:
    with admin.session() as s:
        assert s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    time.sleep(0.2)  # the server closes the socket


def _count_pings(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    real = db.engine.dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(db.engine.dialect, "do_ping", do_ping)
    return pings


def test_a_connection_used_moments_ago_is_not_pinged(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(pg_url, ping_idle=30, pool_size=1, max_overflow=0)
    try:
        pings = _count_pings(db, monkeypatch)
        first = _backend(db)
        for _ in range(5):
            assert _backend(db) == first  # the same pooled connection, no check
        assert pings == []
    finally:
        db.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_use(
        pg_url: str, admin: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(pg_url, ping_idle=0.3, pool_size=1, max_overflow=0)
    try:
        pings = _count_pings(db, monkeypatch)
        dead = _backend(db)
        _kill(admin, dead)  # a restart or a firewall while the bot was quiet
        time.sleep(0.3)
        # no error reaches the unit of work: the ping found it dead, the pool reconnected
        assert _backend(db) != dead
        assert pings == [1]
    finally:
        db.dispose()


def test_a_connection_killed_just_after_use_fails_once_then_the_pool_recovers(
        pg_url: str, admin: Database) -> None:
    """The documented window: one unit of work fails, every older connection is dropped."""
    db = Database(pg_url, ping_idle=60, pool_size=2, max_overflow=0)
    try:
        with db.session() as a, db.session() as b:  # two pooled connections
            pids = [int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())
                    for s in (a, b)]
        for pid in pids:
            _kill(admin, pid)  # the server restarted: both are dead
        with pytest.raises(OperationalError) as failure:
            _backend(db)
        assert failure.value.connection_invalidated
        # the disconnect invalidated the whole pool: the other dead one is not handed out
        assert _backend(db) not in pids
        assert _backend(db) not in pids
    finally:
        db.dispose()


def test_zero_pings_on_every_check_out(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(pg_url, ping_idle=0, pool_size=1, max_overflow=0)
    try:
        pings = _count_pings(db, monkeypatch)
        for _ in range(3):
            _backend(db)
        assert len(pings) == 3
    finally:
        db.dispose()
