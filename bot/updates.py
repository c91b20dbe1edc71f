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
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from storage.db import Database

if TYPE_CHECKING:  # psycopg is the PostgreSQL extra: imported only when it is used
    from bot.chatlock import AdvisoryChatLocks, LockConnection

__all__ = ["ChatOrderedProcessor", "chat_key"]

log = logging.getLogger(__name__)
LOCK_WAIT_S = 120.0  # a chat held longer than this by another instance is a stuck instance
# one lock statement (or connect) taking longer: the database is as good as unreachable
LOCK_STATEMENT_TIMEOUT_S = 10.0


def chat_key(update: object) -> int | None:
    """What must not run concurrently: the chat, else the person (inline queries)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id  # a private chat's id is the person's id
    return None


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
        self._locks: AdvisoryChatLocks | None = None
        if db is not None and db.is_postgres:
            from bot.chatlock import AdvisoryChatLocks

            self._locks = AdvisoryChatLocks(_lock_params(db), keep=self.concurrency,
                                            timeout=LOCK_STATEMENT_TIMEOUT_S)

    @property
    def chats_tracked(self) -> int:
        """Chats with an update running or waiting (the lock table never grows past it)."""
        return len(self._chats)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        if self._locks is not None:
            await self._locks.close()

    @property
    def lock_statements(self) -> int:
        """Statements sent for the cross-instance chat lock so far (0 on SQLite)."""
        return self._locks.statements if self._locks is not None else 0

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
        locks = self._locks
        if locks is None:
            yield
            return
        conn = await self._lock_chat(locks, key)
        try:
            yield
        finally:
            if conn is not None:
                await locks.unlock(conn, key)

    async def _lock_chat(self, locks: AdvisoryChatLocks,
                         key: int) -> LockConnection | None:
        """Hold the chat's advisory lock (None: proceed without)."""
        from bot.chatlock import ChatLockUnavailable

        try:
            conn, locked = await locks.try_lock(key)
        except ChatLockUnavailable as err:
            # the guard will meet the same outage and apologise; nothing runs unidentified
            log.warning("chat lock: database unreachable (%s)", err)
            return None
        if locked:
            return conn
        # try-lock with backoff instead of a blocking lock: no session waits inside
        # PostgreSQL, and a shutdown can cancel the wait
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.005
        try:
            while True:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.2)
                if await locks.try_again(conn, key):
                    return conn
                if time.monotonic() > deadline:
                    log.warning("chat lock: still held by another instance after %.0f s; "
                                "going ahead", LOCK_WAIT_S)
                    await locks.unlock(conn, None)
                    return None
        except ChatLockUnavailable as err:
            log.warning("chat lock failed (%s); going ahead", err)
            await locks.unlock(conn, None)
            return None
        except BaseException:
            await locks.unlock(conn, None)
            raise


def _lock_params(db: Database) -> dict[str, Any]:
    """The pool's connection arguments, without SQLAlchemy's adapters (the lock needs none)."""
    params = db.driver_connect_params()
    params.pop("context", None)
    return params
