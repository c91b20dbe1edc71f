"""/help: what the caller's role can do."""

from __future__ import annotations

from telegram import Update

from bot.context import CoachContext
from bot.guard import reply


async def show_help(update: Update, context: CoachContext) -> None:
    """List the commands for the caller's role."""
    await reply(update, context, "help", role=context.caller.role)


async def cancel(update: Update, context: CoachContext) -> None:
    """/cancel outside any flow: nothing to cancel."""
    await reply(update, context, "cancelled", had_flow=False)


async def stale_button(update: Update, context: CoachContext) -> None:
    """A button no handler knows (old message or crafted data): say so, change nothing."""
    query = update.callback_query
    assert query is not None
    await query.answer(context.svc.renderer.text("stale_button", context.locale, me=context.me),
                       show_alert=True)
