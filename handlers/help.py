"""/help, /cancel outside a flow, unknown commands and buttons nobody handles."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rapidfuzz import fuzz, process
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler

from bot.context import CoachContext
from bot.guard import reply

# below this similarity (0-100) a "nearest" command is a guess, not a suggestion
NEAREST_MIN_SCORE = 60
COMMANDS_KEY = "_commands"


async def show_help(update: Update, context: CoachContext) -> None:
    """List the commands for the caller's role."""
    await reply(update, context, "help", role=context.caller.role)


async def cancel(update: Update, context: CoachContext) -> None:
    """/cancel outside any flow: nothing to cancel."""
    await reply(update, context, "cancelled", had_flow=False)


def _commands_of(handlers: Iterable[BaseHandler[Any, Any, Any]]) -> set[str]:
    found: set[str] = set()
    for handler in handlers:
        if isinstance(handler, CommandHandler):
            found |= set(handler.commands)
        elif isinstance(handler, ConversationHandler):
            found |= _commands_of(handler.entry_points)
            found |= _commands_of(handler.fallbacks)
            for state_handlers in handler.states.values():
                found |= _commands_of(state_handlers)
    return found


def registered_commands(context: CoachContext) -> list[str]:
    """Every command some handler answers (computed once per application)."""
    bot_data = context.application.bot_data
    if COMMANDS_KEY not in bot_data:
        every = [h for group in context.application.handlers.values() for h in group]
        bot_data[COMMANDS_KEY] = sorted(_commands_of(every))
    return list(bot_data[COMMANDS_KEY])


def nearest_command(typed: str, commands: list[str]) -> str | None:
    """The registered command closest in spelling to ``typed``; None if none is close."""
    if not typed or not commands:
        return None
    found = process.extractOne(typed.lower(), commands, scorer=fuzz.ratio,
                               score_cutoff=NEAREST_MIN_SCORE)
    return found[0] if found else None


async def unknown_command(update: Update, context: CoachContext) -> None:
    """A /command nobody handles: one line with the nearest command by spelling."""
    message = update.message
    assert message is not None and message.text is not None
    typed = message.text.split()[0].lstrip("/").split("@")[0][:32]
    await reply(update, context, "unknown_command", typed=typed,
                nearest=nearest_command(typed, registered_commands(context)))


async def stale_button(update: Update, context: CoachContext) -> None:
    """A button no handler knows (old message or crafted data): say so, change nothing."""
    query = update.callback_query
    assert query is not None
    await query.answer(context.svc.renderer.text("stale_button", context.locale, me=context.me),
                       show_alert=True)


PRESSED = "_pressed"  # user_data: the last buttons this person pressed, to spot double taps
_REMEMBER = 50


async def pressed_before(update: Update, context: CoachContext) -> bool:
    """True (after a short "already done" toast) when this exact button was pressed before.

    Buttons that create or send something call this first: a double tap (or a tap on the
    same button a minute later) then changes nothing. The key is the chat, the message and
    the button data, so the same action offered again on a new message still works.
    """
    query = update.callback_query
    if query is None:
        return False
    message = query.message
    key = f"{message.chat.id}:{message.message_id}:{query.data}" if message else (
        f"inline:{query.inline_message_id}:{query.data}")
    seen: list[str] = context.user_data.setdefault(PRESSED, [])
    if key in seen:
        await query.answer(context.svc.renderer.text("already_done", context.locale,
                                                     me=context.me))
        return True
    seen.append(key)
    del seen[:-_REMEMBER]
    return False
