"""Flow state read from the database before each update and written right after it.

Several bot instances may serve one chat (a load balancer in front of webhooks,
or a restart between two steps). A multi-step flow therefore cannot live in the
memory of the process that started it: before an update reaches the features,
:func:`load_flow_state` replaces the caller's ``user_data`` and the state of every
persistent ``ConversationHandler`` for this update's key with what the database
holds; after the update, :func:`save_flow_state` writes them back in one
transaction. PTB's timed persistence writer is a no-op (see
:class:`bot.persistence.DatabasePersistence`): it would write a stale in-memory
copy over what another instance saved meanwhile.

Updates of one chat must still be handled one at a time across instances (the
webhook's per-chat ordering); this module only makes sure each one starts from
the latest saved state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ConversationHandler

from bot.context import CoachContext
from bot.persistence import DatabasePersistence, conversation_row_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from telegram.ext import Application

__all__ = ["DraftsWriter", "FlowScope", "KeyedLocks", "drafts_writer", "load_flow_state",
           "reader_for", "save_flow_state", "scope_for"]

log = logging.getLogger(__name__)


@dataclass
class FlowScope:
    """What one update may read and change: the caller's drafts and flow states."""

    user_id: int
    # (handler, row key in state_entries, conversation key) for each persistent flow
    conversations: list[tuple[ConversationHandler[Any], str, Any]] = field(default_factory=list)
    loaded: bool = False
    loaded_user_data: str = "{}"  # as JSON, to skip a write when nothing changed
    loaded_states: dict[str, object] = field(default_factory=dict)
    # read by the guard in its own unit of work (reader_for); None: not read yet
    prefetched: tuple[dict[str, Any], dict[str, object]] | None = None


class KeyedLocks:
    """An asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: int | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def _persistence(app: Application[Any, Any, Any, Any, Any, Any]) -> DatabasePersistence | None:
    persistence = app.persistence
    return persistence if isinstance(persistence, DatabasePersistence) else None


def _persistent_conversations(app: Application[Any, Any, Any, Any, Any, Any]
                              ) -> list[ConversationHandler[Any]]:
    return [handler for group in app.handlers.values() for handler in group
            if isinstance(handler, ConversationHandler) and handler.persistent and handler.name]


def scope_for(app: Application[Any, Any, Any, Any, Any, Any],
              update: object) -> FlowScope | None:
    """The state ``update`` may touch, or None (no user, or no database persistence)."""
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    if _persistence(app) is None:
        return None
    scope = FlowScope(user_id=update.effective_user.id)
    for handler in _persistent_conversations(app):
        try:
            # PTB keeps the key function private; it is the only way to know which
            # conversation of this handler the update belongs to
            key = handler._get_key(update)
        except (RuntimeError, AttributeError):  # no chat (inline query): no flow there
            continue
        scope.conversations.append((handler, conversation_row_key(str(handler.name), key), key))
    return scope


def _as_json(data: dict[Any, Any]) -> str:
    return json.dumps(data, default=str, sort_keys=True, ensure_ascii=False)


def _apply(app: Application[Any, Any, Any, Any, Any, Any], scope: FlowScope,
           user_data: dict[str, Any], states: dict[str, object]) -> None:
    """Replace what this process remembers for the scope with what was stored."""
    memory = app.user_data[scope.user_id]  # the defaultdict creates it when missing
    memory.clear()
    memory.update(user_data)
    for handler, row_key, key in scope.conversations:
        conversations = handler._conversations
        stored = states.get(row_key)
        # without tracking: loading is not a change that must be written back
        if stored is None:
            data = getattr(conversations, "data", conversations)
            data.pop(key, None)
        elif hasattr(conversations, "update_no_track"):
            conversations.update_no_track({key: stored})
        else:
            conversations[key] = stored
    scope.loaded_user_data = _as_json(user_data)
    scope.loaded_states = dict(states)
    scope.loaded = True


def reader_for(app: Application[Any, Any, Any, Any, Any, Any],
               update: object) -> Callable[[Session], None] | None:
    """Read ``update``'s flow state inside someone else's transaction (the guard's).

    The guard runs first and holds a database session anyway; reading the state there
    saves a unit of work (a connection check-out, a round trip, a commit) per update.
    The state is read under the same per-person and per-chat locks, so it is as fresh
    as a read in :func:`load_flow_state`. None when there is nothing to read.
    """
    scope: FlowScope | None = getattr(app, "flow_scopes", {}).get(id(update))
    persistence = _persistence(app)
    if scope is None or persistence is None:
        return None
    keys = [row_key for _h, row_key, _k in scope.conversations]

    def read(session: Session) -> None:
        assert scope is not None and persistence is not None
        scope.prefetched = persistence.read_flow_state(scope.user_id, keys, session)

    return read


class DraftsWriter:
    """Write the caller's drafts inside a handler's own unit of work.

    A handler whose last database work comes after it knows its drafts (the objection
    search: its event row, then "the last question") writes them in that transaction
    with :meth:`write` (the drafts as they will be), and once the unit of work returned,
    changes ``user_data`` as usual and calls :meth:`committed`: the write after the
    update compares with what is stored now and has nothing left to do. One transaction
    (a connection check-out, a BEGIN, a COMMIT) less per update; the same rows in the
    end. If the unit of work fails, nothing in memory changed and :meth:`committed` is
    never called; anything else the update changes is still written after it.
    """

    def __init__(self, persistence: DatabasePersistence, scope: FlowScope,
                 user_data: dict[Any, Any]) -> None:
        self._persistence = persistence
        self._scope = scope
        self._user_data = user_data
        self._written: str | None = None

    def write(self, session: Session, **changes: Any) -> None:
        """In ``session`` (a worker thread): the drafts with ``changes``, if that is new.

        ``user_data`` itself is not touched here: the handler changes it once the unit
        of work committed.
        """
        after = _as_json({**self._user_data, **changes})
        self._written = None
        if after != self._scope.loaded_user_data:
            self._persistence.write_drafts(session, self._scope.user_id, json.loads(after))
            self._written = after

    def committed(self) -> None:
        """The unit of work that called :meth:`write` committed (on the event loop)."""
        if self._written is not None:
            self._scope.loaded_user_data = self._written
            self._written = None


def drafts_writer(app: Application[Any, Any, Any, Any, Any, Any],
                  update: object) -> DraftsWriter | None:
    """A :class:`DraftsWriter` for ``update``'s caller, or None (flow state not loaded)."""
    scope: FlowScope | None = getattr(app, "flow_scopes", {}).get(id(update))
    persistence = _persistence(app)
    if scope is None or persistence is None or not scope.loaded:
        return None
    return DraftsWriter(persistence, scope, app.user_data[scope.user_id])


async def load_flow_state(update: Update, context: CoachContext) -> None:
    """Handler group -2, right behind the guard: start from the stored state.

    When the database cannot be read the update stops here after one "please try
    again": a flow must never continue from a stale or empty state.
    """
    app = context.application
    scope: FlowScope | None = getattr(app, "flow_scopes", {}).get(id(update))
    persistence = _persistence(app)
    if scope is None or persistence is None:
        return
    if scope.prefetched is not None:  # the guard read it in its unit of work
        user_data, states = scope.prefetched
        scope.prefetched = None
        _apply(app, scope, user_data, states)
        return
    try:
        # off the event loop: other chats' updates go on while this one waits
        user_data, states = await asyncio.to_thread(
            persistence.read_flow_state, scope.user_id,
            [row_key for _h, row_key, _k in scope.conversations])
    except SQLAlchemyError as err:
        log.warning("flow state of update %s could not be read: %s", update.update_id,
                    type(err).__name__)
        from bot.guard import apologise

        await apologise(update, context)
        raise ApplicationHandlerStop from None
    _apply(app, scope, user_data, states)


async def save_flow_state(app: Application[Any, Any, Any, Any, Any, Any],
                          scope: FlowScope) -> None:
    """Write what the update changed (drafts, flow states) in one transaction."""
    persistence = _persistence(app)
    if persistence is None or not scope.loaded:
        return
    user_data = app.user_data.get(scope.user_id, {})
    changed_user = _as_json(user_data) != scope.loaded_user_data
    states: dict[str, object | None] = {}
    for handler, row_key, key in scope.conversations:
        state = handler._conversations.get(key)
        if state != scope.loaded_states.get(row_key):
            states[row_key] = state
    if not changed_user and not states:
        return
    # a JSON copy taken here, on the event loop; written from a thread
    drafts = json.loads(_as_json(user_data)) if changed_user else None
    await asyncio.to_thread(persistence.write_flow_state, scope.user_id, drafts, states)
