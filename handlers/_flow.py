"""Pieces every multi-step flow shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import CoachContext
from bot.guard import reply

__all__ = ["cancel_flow"]


def cancel_flow(*draft_keys: str) -> Callable[[Update, CoachContext], Awaitable[int]]:
    """A /cancel fallback that drops the flow's draft: nothing half-saved remains."""

    async def cancel(update: Update, context: CoachContext) -> int:
        for key in draft_keys:
            context.user_data.pop(key, None)
        await reply(update, context, "cancelled", had_flow=True)
        return ConversationHandler.END

    cancel.__doc__ = "/cancel: drop the draft, save nothing."
    return cancel
