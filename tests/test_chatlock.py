"""The cross-instance chat lock (bot.chatlock) on a real PostgreSQL: taken and given back
on the event loop, connections reused, and a connection in an unknown state never reused."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from storage.db import Database


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("the cross-instance chat lock is PostgreSQL's advisory lock")
    return db_url


def _locks(url: str, **kwargs: Any) -> Any:
    from bot.chatlock import AdvisoryChatLocks
    from bot.updates import _lock_params

    db = Database(url, connect_timeout=2, statement_timeout=5)
    try:
        params = _lock_params(db)
    finally:
        db.dispose()
    return AdvisoryChatLocks(params, keep=kwargs.pop("keep", 2), timeout=kwargs.pop("timeout", 5.0))


async def test_a_held_chat_is_refused_to_another_session_until_given_back(pg_url: str) -> None:
    one, two = _locks(pg_url), _locks(pg_url)
    try:
        conn, locked = await one.try_lock(-1001234567890)
        assert locked
        other, second = await two.try_lock(-1001234567890)
        assert not second  # the other instance must wait
        assert await two.try_again(other, 777)  # a different chat is free
        await two.unlock(other, 777)
        await one.unlock(conn, -1001234567890)
        again, third = await two.try_lock(-1001234567890)
        assert third
        await two.unlock(again, -1001234567890)
    finally:
        await one.close()
        await two.close()


async def test_connections_are_kept_for_the_next_updates_up_to_keep(pg_url: str) -> None:
    locks = _locks(pg_url, keep=2)
    try:
        held = [await locks.try_lock(chat) for chat in (1, 2, 3)]
        assert all(ok for _conn, ok in held)
        for (conn, _ok), chat in zip(held, (1, 2, 3), strict=True):
            await locks.unlock(conn, chat)
        assert locks.idle == 2  # the third was closed, not kept
        first = held[2][0]
        assert first.closed
        conn, ok = await locks.try_lock(4)
        assert ok and conn in (held[0][0], held[1][0])  # reused: no new connection
        await locks.unlock(conn, 4)
        assert locks.statements == 3 + 3 + 1 + 1
    finally:
        await locks.close()
    assert locks.idle == 0


async def test_a_wait_cancelled_mid_statement_closes_its_connection(pg_url: str) -> None:
    """A connection whose statement was cut off is in an unknown state: never reused."""
    locks = _locks(pg_url)
    try:
        conn, ok = await locks.try_lock(5)
        await locks.unlock(conn, 5)
        conn = (await locks.try_lock(6))[0]
        await locks.unlock(conn, 6)

        async def slow(*_args: Any, **_kwargs: Any) -> Any:
            await asyncio.sleep(10)

        conn.execute = slow  # type: ignore[method-assign]
        task = asyncio.create_task(locks.try_lock(7))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert conn.closed and locks.idle == 0
    finally:
        await locks.close()


async def test_a_release_that_fails_closes_the_connection_and_frees_the_lock(
        pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from bot.chatlock import ChatLockUnavailable

    one, two = _locks(pg_url), _locks(pg_url)
    try:
        conn, ok = await one.try_lock(8)
        assert ok

        async def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise ChatLockUnavailable("OperationalError")

        conn.execute = broken  # type: ignore[method-assign]
        with caplog.at_level(logging.WARNING, logger="bot.chatlock"):
            await one.unlock(conn, 8)  # never raises
        assert conn.closed and one.idle == 0
        assert "release failed" in caplog.text
        other, free = await two.try_lock(8)  # the closed session's lock went with it
        assert free
        await two.unlock(other, 8)
    finally:
        await one.close()
        await two.close()


async def test_an_unreachable_database_raises_one_clear_error() -> None:
    pytest.importorskip("psycopg")
    from bot.chatlock import AdvisoryChatLocks, ChatLockUnavailable

    locks = AdvisoryChatLocks({"host": "127.0.0.1", "port": 1, "dbname": "x", "user": "x",
                               "connect_timeout": 1}, keep=1, timeout=3.0)
    with pytest.raises(ChatLockUnavailable, match="OperationalError"):
        await locks.try_lock(9)
    assert locks.idle == 0


async def test_a_kept_connection_the_server_dropped_is_replaced_not_reported(
        pg_url: str) -> None:
    """After a database restart (or an idle timeout) every kept connection is dead: the
    next update connects again and gets its lock instead of going ahead without one."""
    from sqlalchemy import text

    locks = _locks(pg_url)
    try:
        conn, ok = await locks.try_lock(11)
        await locks.unlock(conn, 11)
        assert locks.idle == 1
        pid = conn.info.backend_pid
        db = Database(pg_url)
        try:
            with db.engine.begin() as c:
                c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            db.dispose()
        fresh, locked = await locks.try_lock(11)
        assert locked and fresh is not conn and conn.closed
        await locks.unlock(fresh, 11)
    finally:
        await locks.close()
