"""The per-chat lock that several instances share: a PostgreSQL advisory lock, on the loop.

Each update of a chat holds ``pg_try_advisory_lock(LOCK_CLASS, chat)`` (session-level)
for as long as it runs, so two instances behind one webhook never handle the same chat
at once (:class:`bot.updates.ChatOrderedProcessor` takes it). The lock is taken and given
back with psycopg's async connection on the event loop itself: two tiny statements that
never block the loop (the socket is awaited), where a worker thread, a pool check-out, a
``BEGIN`` and a ``ROLLBACK`` per update cost the bot more CPU than the lock is worth.
A few autocommit connections are kept for it, apart from the pool the units of work use.

A connection whose state is unknown (an error, a cancelled wait, an unlock that did not
confirm) is closed, never reused: PostgreSQL frees every lock of a session that ends,
and of one that dies with its process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg

__all__ = ["LOCK_CLASS", "AdvisoryChatLocks", "ChatLockUnavailable", "LockConnection",
           "advisory_key"]

log = logging.getLogger(__name__)
# first half of the two-int advisory lock key: "coac"; other locks use the one-bigint form
LOCK_CLASS = 0x636F6163
_TRY = "SELECT pg_try_advisory_lock(%s, %s)"
_UNLOCK = "SELECT pg_advisory_unlock(%s, %s)"
LockConnection = psycopg.AsyncConnection[Any]


class ChatLockUnavailable(Exception):
    """The database could not be asked (down, unreachable, too slow): the text says why."""


def advisory_key(key: int) -> int:
    """Fold a 64-bit chat id into PostgreSQL's signed 32-bit second lock key.

    Two chats folding to the same number only wait for each other; never wrong.
    """
    folded = (key ^ (key >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= (1 << 31) else folded


class AdvisoryChatLocks:
    """Take and give back chat locks over a few async connections of their own.

    ``connect_params``: psycopg's keyword arguments for a connection (host, dbname, …,
    ``connect_timeout``, ``options``), as the engine's own connections get them.
    ``keep``: idle connections kept for the next updates (more are opened when more
    updates run at once, and closed when given back beyond that).
    ``timeout``: seconds one statement (or a connect) may take before the lock is given
    up for this update (the update goes ahead, as when the database is unreachable).
    """

    def __init__(self, connect_params: dict[str, Any], *, keep: int, timeout: float) -> None:
        self._params = {**connect_params, "autocommit": True}
        self._keep = max(1, keep)
        self._timeout = timeout
        self._idle: list[LockConnection] = []
        self.statements = 0  # sent so far (the load bench counts round trips)

    async def try_lock(self, key: int) -> tuple[LockConnection, bool]:
        """A connection and whether the chat's lock was free; raises
        :class:`ChatLockUnavailable` when the database cannot be asked."""
        while self._idle:
            conn = self._idle.pop()
            if conn.closed:
                continue
            try:
                return conn, await self.try_again(conn, key)
            except ChatLockUnavailable as err:
                # a kept connection the server dropped meanwhile (restart, idle timeout):
                # closed by try_again; a fresh one decides whether the database is down
                log.info("chat lock: a kept connection failed (%s); connecting again", err)
        try:
            conn = await asyncio.wait_for(
                psycopg.AsyncConnection.connect(**self._params), self._timeout)
        except (psycopg.Error, OSError, TimeoutError) as err:
            raise ChatLockUnavailable(type(err).__name__) from err
        return conn, await self.try_again(conn, key)

    async def try_again(self, conn: LockConnection, key: int) -> bool:
        """One more try on a connection that holds no lock; raises like :meth:`try_lock`
        (the connection is closed then)."""
        return await self._ask(conn, _TRY, key)

    async def unlock(self, conn: LockConnection, key: int | None) -> None:
        """Give the lock back (``key`` None: none is held) and keep the connection for the
        next update; never raises: a connection that cannot confirm is closed instead."""
        if conn.closed:
            return
        if key is not None:
            try:
                released = await self._ask(conn, _UNLOCK, key)
            except ChatLockUnavailable as err:
                log.warning("chat lock: release failed (%s); connection closed", err)
                return
            if not released:
                log.warning("chat lock: the lock was not held at release; connection closed")
                await self._discard(conn)
                return
        if len(self._idle) < self._keep:
            self._idle.append(conn)
        else:
            await self._discard(conn)

    async def close(self) -> None:
        """Close the idle connections (at shutdown)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._discard(conn)

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def _ask(self, conn: LockConnection, sql: str, key: int) -> bool:
        """One statement; on any failure (a cancelled wait too) the connection is closed:
        its state is unknown, and closing it frees whatever lock it held."""
        self.statements += 1
        try:
            cursor = await asyncio.wait_for(conn.execute(sql, (LOCK_CLASS, advisory_key(key))),
                                            self._timeout)
            row = await cursor.fetchone()
        except BaseException as err:
            await self._discard(conn)
            if isinstance(err, psycopg.Error | OSError | TimeoutError):
                raise ChatLockUnavailable(type(err).__name__) from err
            raise
        return bool(row and row[0])

    @staticmethod
    async def _discard(conn: LockConnection) -> None:
        try:
            await asyncio.wait_for(conn.close(), 5.0)
        except (psycopg.Error, OSError, TimeoutError) as err:
            log.debug("chat lock: closing a connection failed: %s", err)
