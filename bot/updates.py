"""Concurrent updates, one chat at a time: PTB's update processor for ``coach run``.

Updates of different chats run concurrently (at most ``CONCURRENT_UPDATES`` at once);
updates of one chat (or of one person, for inline queries) run one after another, in
the order they arrived, because a guided flow's next step depends on the previous one.
In one process an :class:`asyncio.Lock` per chat does it (locks are dropped when no
update of that chat waits). Across instances on PostgreSQL a transaction-scoped advisory
lock keyed by the chat is held on a dedicated connection for the whole update, so two
instances never handle the same chat's updates at the same time. SQLite runs one
instance: the in-process lock is enough.

The update being processed is published in :data:`bot.logcontext` context variables
(update id, handler), so log lines and metrics can name it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import BaseUpdateProcessor

from storage.db import Database

__all__ = ["ChatOrderedProcessor", "chat_key", "advisory_key"]

log = logging.getLogger(__name__)
# first half of the two-int advisory lock key: "coac"; other locks use the one-bigint form
LOCK_CLASS = 0x636F6163
LOCK_WAIT_S = 120.0  # a chat held longer than this by another instance is a stuck instance


def chat_key(update: object) -> int | None:
    """What must not run concurrently: the chat, else the person (inline queries)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id  # a private chat's id is the person's id
    return None


def advisory_key(key: int) -> int:
    """Fold a 64-bit chat id into PostgreSQL's signed 32-bit second lock key.

    Two chats folding to the same number only wait for each other; never wrong.
    """
    folded = (key ^ (key >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= (1 << 31) else folded


@dataclass
class _ChatLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates holding or waiting for it; 0 means it can be dropped


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Per-chat order, different chats concurrently, bounded; see the module docstring."""

    def __init__(self, concurrency: int, db: Database | None = None) -> None:
        # PTB's own semaphore only caps queued updates; ours (after the chat lock) caps
        # the ones running, so updates waiting for their chat never take a running slot
        super().__init__(max_concurrent_updates=max(2, concurrency * 64))
        self.concurrency = max(1, concurrency)
        self._running = asyncio.Semaphore(self.concurrency)
        self._chats: dict[int, _ChatLock] = {}
        self._db = db if db is not None and db.is_postgres else None

    @property
    def chats_tracked(self) -> int:
        """Chats with an update running or waiting (the lock table never grows past it)."""
        return len(self._chats)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        entry = self._chats.get(key)
        if entry is None:
            entry = self._chats[key] = _ChatLock()
        entry.users += 1
        try:
            async with entry.lock, self._running, self._across_instances(key):
                await coroutine
        finally:
            entry.users -= 1
            if entry.users == 0 and self._chats.get(key) is entry:
                del self._chats[key]

    @contextlib.asynccontextmanager
    async def _across_instances(self, key: int) -> AsyncIterator[None]:
        if self._db is None:
            yield
            return
        conn = await self._lock_chat(self._db, key)
        try:
            yield
        finally:
            if conn is not None:
                await asyncio.to_thread(_release, conn)

    async def _lock_chat(self, db: Database, key: int) -> Connection | None:
        """Hold the chat's advisory lock on a connection of its own (None: proceed without)."""
        try:
            # the connection and the first try in one trip to a worker thread: the chat
            # is free nearly always, and every hop to a thread costs the loop CPU
            conn, locked = await asyncio.to_thread(_connect_and_try, db, key)
        except SQLAlchemyError as err:
            # the guard will meet the same outage and apologise; nothing runs unidentified
            log.warning("chat lock: database unreachable (%s)", type(err).__name__)
            return None
        if locked:
            return conn
        # try-lock with backoff instead of a blocking lock: no thread waits inside
        # PostgreSQL, and a shutdown can cancel the wait
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.005
        try:
            while True:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.2)
                if await asyncio.to_thread(_try_lock, conn, key):
                    return conn
                if time.monotonic() > deadline:
                    log.warning("chat lock: still held by another instance after %.0f s; "
                                "going ahead", LOCK_WAIT_S)
                    await asyncio.to_thread(_release, conn)
                    return None
        except SQLAlchemyError as err:
            log.warning("chat lock failed (%s); going ahead", type(err).__name__)
            await asyncio.to_thread(_release, conn)
            return None
        except BaseException:
            await asyncio.to_thread(_release, conn)
            raise


def _connect_and_try(db: Database, key: int) -> tuple[Connection, bool]:
    """A connection of its own for the chat lock, and the first try at the lock."""
    conn = db.engine.connect()
    try:
        return conn, _try_lock(conn, key)
    except BaseException:
        _release(conn)
        raise


def _try_lock(conn: Connection, key: int) -> bool:
    # transaction-scoped: released by the rollback in _release, or by PostgreSQL itself
    # when this connection dies with the process
    value = conn.execute(text("SELECT pg_try_advisory_xact_lock(:cls, :key)"),
                         {"cls": LOCK_CLASS, "key": advisory_key(key)}).scalar()
    if not value:
        conn.rollback()  # keep no transaction open between tries
    return bool(value)


def _release(conn: Connection) -> None:
    try:
        conn.rollback()
    except SQLAlchemyError:
        pass  # a dead connection released its locks with it
    finally:
        conn.close()
