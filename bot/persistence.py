"""PTB persistence in the database: conversation states and user drafts.

Multi-step flows survive a restart and are visible to a second bot instance
because their state lives in ``state_entries`` (JSON), not in a pickle file.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from sqlalchemy import select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from coach.clock import Clock
from storage.db import Database
from storage.models import StateEntry

__all__ = ["DatabasePersistence"]

USER = "user_data"
CONVERSATION = "conversation"


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Stores user_data and conversations; bot and chat data are not persisted."""

    def __init__(self, db: Database, clock: Clock, update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                        callback_data=False),
            update_interval=update_interval,
        )
        self.db = db
        self.clock = clock

    # --- helpers ----------------------------------------------------------------

    def _load(self, namespace: str) -> dict[str, dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(StateEntry).where(StateEntry.namespace == namespace))
            return {row.key: row.data for row in rows}

    def _save(self, namespace: str, key: str, data: dict[str, Any] | None) -> None:
        with self.db.session() as s:
            row = s.get(StateEntry, (namespace, key))
            if data is None:
                if row is not None:
                    s.delete(row)
                return
            data = json.loads(json.dumps(data, default=str))
            if row is None:
                s.add(StateEntry(namespace=namespace, key=key, data=data,
                                 updated_at=self.clock.now()))
            else:
                row.data = data
                row.updated_at = self.clock.now()

    # --- user data ----------------------------------------------------------------

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return {int(k): v for k, v in self._load(USER).items()}

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        self._save(USER, str(user_id), deepcopy(data) or None)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        self._save(USER, str(user_id), None)

    # --- conversations --------------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        prefix = f"{name}|"
        result: dict[ConversationKey, object] = {}
        for key, value in self._load(CONVERSATION).items():
            if key.startswith(prefix):
                result[tuple(json.loads(key[len(prefix):]))] = value["state"]
        return result

    async def update_conversation(self, name: str, key: ConversationKey,
                                  new_state: object | None) -> None:
        row_key = f"{name}|{json.dumps(list(key))}"
        self._save(CONVERSATION, row_key, None if new_state is None else {"state": new_state})

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
