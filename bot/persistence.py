"""PTB persistence in the database: conversation states and user drafts.

Multi-step flows survive a restart and continue on any bot instance because
their state lives in ``state_entries`` (JSON), not in a pickle file, and is
read before and written after every update (:mod:`bot.flowstate`).

PTB's own persistence cycle (load everything at start, write what changed every
``update_interval``) is switched off on purpose: loading at start is useless
when each update reloads, and the timed writer would put this process's copy
over what another instance saved in between (the "8 of 20 contact logs lost
with two instances" fault).
"""

from __future__ import annotations

import contextlib
import json
from copy import deepcopy
from typing import Any, cast

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from coach.clock import Clock
from storage.db import Database
from storage.models import StateEntry

__all__ = ["DatabasePersistence", "conversation_row_key"]

USER = "user_data"
CONVERSATION = "conversation"
# PTB's timed writer has nothing to do (each update writes its own state), so it
# wakes up rarely
IDLE_INTERVAL_S = 3600.0
_STATES = cast(Table, StateEntry.__table__)


def conversation_row_key(name: str, key: ConversationKey) -> str:
    """The ``state_entries`` key of one conversation of one flow."""
    return f"{name}|{json.dumps(list(key))}"


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Stores user_data and conversations; bot and chat data are not persisted."""

    def __init__(self, db: Database, clock: Clock,
                 update_interval: float = IDLE_INTERVAL_S) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                        callback_data=False),
            update_interval=update_interval,
        )
        self.db = db
        self.clock = clock
        upsert = (postgresql.insert(_STATES) if db.is_postgres else sqlite.insert(_STATES))
        self._upsert = upsert.on_conflict_do_update(
            index_elements=[_STATES.c.namespace, _STATES.c.key],
            set_={"data": upsert.excluded.data, "updated_at": upsert.excluded.updated_at})

    # --- helpers ----------------------------------------------------------------

    def _put(self, session: Session, namespace: str, key: str,
             data: dict[str, Any] | None) -> None:
        """Write or delete one row in one statement (an upsert, not a read then a write)."""
        self._put_many(session, [(namespace, key, data)])

    def _put_many(self, session: Session,
                  rows: list[tuple[str, str, dict[str, Any] | None]]) -> None:
        """Write (data) or delete (None) rows: one upsert for all the writes, one delete
        for all the deletes. Core statements on the table: no ORM handling per update."""
        now = self.clock.now()
        values = [{"namespace": namespace, "key": key, "data": _jsonable(data),
                   "updated_at": now} for namespace, key, data in rows if data is not None]
        gone = [(_STATES.c.namespace == namespace) & (_STATES.c.key == key)
                for namespace, key, data in rows if data is None]
        if gone:
            session.execute(delete(_STATES).where(or_(*gone)))
        if values:
            # the rows as parameters of one cached statement (never a multi-row VALUES
            # literal: SQLAlchemy cannot cache that and compiles it on every call)
            session.execute(self._upsert, values)

    def _save(self, namespace: str, key: str, data: dict[str, Any] | None) -> None:
        with self.db.session() as s:
            self._put(s, namespace, key, data)

    # --- one update's state (bot.flowstate) ---------------------------------------

    def read_flow_state(self, user_id: int, conversation_keys: list[str],
                        session: Session | None = None
                        ) -> tuple[dict[str, Any], dict[str, object]]:
        """The user's drafts and the stored state of each listed conversation, in one query.

        In ``session`` when given (the guard's unit of work), else in a session of its own.
        """
        columns = _STATES.c
        wanted = (columns.namespace == USER) & (columns.key == str(user_id))
        if conversation_keys:
            wanted = wanted | ((columns.namespace == CONVERSATION)
                               & columns.key.in_(conversation_keys))
        user_data: dict[str, Any] = {}
        states: dict[str, object] = {}
        with contextlib.nullcontext(session) if session is not None else self.db.session() as s:
            # the three columns, not ORM objects: nothing here is changed through them
            for namespace, key, data in s.execute(
                    select(columns.namespace, columns.key, columns.data).where(wanted)):
                if namespace == USER:
                    user_data = deepcopy(data)
                else:
                    states[key] = data["state"]
        return user_data, states

    def write_drafts(self, session: Session, user_id: int,
                     user_data: dict[Any, Any]) -> None:
        """The caller's drafts ({}: none left) in ``session``, someone else's unit of work."""
        self._put(session, USER, str(user_id), user_data or None)

    def write_flow_state(self, user_id: int, user_data: dict[Any, Any] | None,
                         states: dict[str, object | None]) -> None:
        """Write drafts (None: unchanged, {}: none left) and flow states in one transaction."""
        rows: list[tuple[str, str, dict[str, Any] | None]] = []
        if user_data is not None:
            rows.append((USER, str(user_id), user_data or None))
        rows += [(CONVERSATION, row_key, None if state is None else {"state": state})
                 for row_key, state in states.items()]
        if not rows:
            return
        with self.db.session() as s:
            self._put_many(s, rows)  # drafts and flow states: one statement for the writes

    # --- user data: read and written per update, never in bulk -----------------------

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        return None  # written right after the update by bot.flowstate

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None  # read right before the update by bot.flowstate

    async def drop_user_data(self, user_id: int) -> None:
        self._save(USER, str(user_id), None)

    # --- conversations: likewise ------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        return {}

    async def update_conversation(self, name: str, key: ConversationKey,
                                  new_state: object | None) -> None:
        return None

    # --- not persisted ----------------------------------------------------------------

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def flush(self) -> None:
        return None
