"""Talk to the real ``Application`` as a person would, without Telegram.

:class:`LocalChat` turns typed text, button presses and inline queries into
``Update`` objects, feeds them to ``Application.process_update`` and returns
what the bot sent back through the fake Bot API. ``coach console`` and the
handler tests both use it, so they exercise exactly the production handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.fakebot import FakeTelegram, FakeUser, SentMessage

__all__ = ["LocalChat"]


@dataclass
class LocalChat:
    """A conversation between one or more fake people and the bot."""

    app: Application  # type: ignore[type-arg]
    telegram: FakeTelegram
    user: FakeUser
    last_buttons_message: SentMessage | None = field(default=None)

    async def _deliver(self, payload: dict[str, Any]) -> list[SentMessage]:
        before = len(self.telegram.sent)
        update_dict = self.telegram.push_update(payload)
        # consume it from the queue, as getUpdates with the next offset would
        self.telegram.wait_for_updates(update_dict["update_id"] + 1, 0)
        await self.app.process_update(Update.de_json(update_dict, self.app.bot))
        new = self.telegram.sent[before:]
        for message in new:
            if message.buttons and message.chat_id == self.user.id:
                self.last_buttons_message = message
        return new

    async def redeliver(self, payload: dict[str, Any]) -> list[SentMessage]:
        """Feed an already-built update again (Telegram redelivering it)."""
        before = len(self.telegram.sent)
        await self.app.process_update(Update.de_json(payload, self.app.bot))
        return self.telegram.sent[before:]

    async def send(self, text: str, *, user: FakeUser | None = None,
                   chat_id: int | None = None, chat_type: str = "private") -> list[SentMessage]:
        """Type ``text`` (a message or a /command) and return the bot's replies."""
        who = user or self.user
        return await self._deliver(
            self.telegram.message_update(who, text, chat_id=chat_id, chat_type=chat_type))

    async def edit(self, text: str, *, user: FakeUser | None = None,
                   chat_id: int | None = None, chat_type: str = "private") -> list[SentMessage]:
        """Edit an earlier message so it reads ``text`` (Telegram sends the whole new text)."""
        who = user or self.user
        message = self.telegram.message_update(who, text, chat_id=chat_id,
                                               chat_type=chat_type)["message"]
        return await self._deliver({"edited_message": {**message,
                                                       "edit_date": message["date"] + 5}})

    async def press(self, which: int | str, *, message: SentMessage | None = None,
                    user: FakeUser | None = None) -> list[SentMessage]:
        """Press a button of ``message`` (default: the last one with buttons).

        ``which`` is a 1-based button number, the exact callback data, or the
        start of a button label.
        """
        target = message or self.last_buttons_message
        if target is None:
            raise LookupError("no message with buttons to press")
        data = self.resolve_button(target, which)
        return await self._deliver(self.telegram.callback_update(user or self.user, target, data))

    async def press_data(self, data: str, *, message: SentMessage | None = None,
                         user: FakeUser | None = None) -> list[SentMessage]:
        """Send callback ``data`` as if a button carried it (crafted-data tests)."""
        target = message or self.last_buttons_message or SentMessage(
            "sendMessage", (user or self.user).id, 1, "", None, {})
        return await self._deliver(self.telegram.callback_update(user or self.user, target, data))

    async def inline(self, query: str, *, user: FakeUser | None = None) -> dict[str, Any] | None:
        """Type ``@bot query`` in any chat; returns the bot's inline answer."""
        before = len(self.telegram.answers)
        await self._deliver(self.telegram.inline_update(user or self.user, query))
        return self.telegram.answers[-1] if len(self.telegram.answers) > before else None

    @staticmethod
    def resolve_button(message: SentMessage, which: int | str) -> str:
        buttons = message.buttons
        if isinstance(which, int):
            return buttons[which - 1][1]
        for _label, data in buttons:
            if data == which:
                return data
        for label, data in buttons:
            if label.startswith(which) or which in label:
                return data
        raise LookupError(f"no button {which!r} in {[b[0] for b in buttons]}")
