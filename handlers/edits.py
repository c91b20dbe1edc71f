"""Edited messages are not read: the bot acts on what was sent, once.

Telegram delivers an edit as a new update carrying the whole new text. Acting on
it would store a /complaint, /question or /need a second time (and tell the lead
again), or feed a flow an answer to a question it asked earlier. So one rule
holds everywhere: an edit changes nothing. The first time a person edits a
message the bot says so once, kindly; after that edits are ignored silently.
"""

from __future__ import annotations

from telegram import Update

from bot.context import CoachContext
from bot.guard import reply

__all__ = ["HINT_SHOWN", "ignore_edit"]

HINT_SHOWN = "edit_hint_shown"  # in user_data (persisted): the hint is given once per person


async def ignore_edit(update: Update, context: CoachContext) -> None:
    """An edited message: nothing happens; the first time, say how to correct it."""
    if context.user_data.get(HINT_SHOWN):
        return
    context.user_data[HINT_SHOWN] = True
    await reply(update, context, "edit_ignored")
