"""/addscript: a lead (or admin) adds a team script step by step."""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callback
from bot.callback import INDEX
from bot.context import CoachContext
from bot.guard import reply, requires
from coach.services.errors import ServiceError
from coach.vocabulary import Role
from handlers._flow import cancel_flow
from handlers.help import stale_button
from scripts_library.schema import CATEGORIES, STEP_KEYS

CATEGORY, TITLE, TRIGGERS, BODY, CONFIRM = range(5)
DRAFT = "addscript"
_SPLIT = re.compile(r"[;；,，、\n]+")


async def _ask(update: Update, context: CoachContext, step: str, error: str | None = None) -> None:
    await reply(update, context, "addscript_step", step=step, error=error,
                draft=context.user_data.get(DRAFT, {}), categories=CATEGORIES)


@requires(Role.LEAD)
async def start(update: Update, context: CoachContext) -> int:
    """Ask for the category."""
    context.user_data[DRAFT] = {}
    await _ask(update, context, "category")
    return CATEGORY


async def pick_category(update: Update, context: CoachContext) -> int:
    """Button ``as c <index>``."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "as c", INDEX)
    if parsed is None:
        await stale_button(update, context)
        return CATEGORY
    await query.answer()
    if parsed[0] >= len(CATEGORIES):
        await _ask(update, context, "category")
        return CATEGORY
    context.user_data.setdefault(DRAFT, {})["category"] = CATEGORIES[parsed[0]]
    await _ask(update, context, "title")
    return TITLE


def _text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


async def take_title(update: Update, context: CoachContext) -> int:
    """The title, then the triggers."""
    title = _text(update)
    if not title or len(title) > 60:
        await _ask(update, context, "title", error="title_invalid")
        return TITLE
    context.user_data[DRAFT]["title"] = title
    await _ask(update, context, "triggers")
    return TRIGGERS


async def take_triggers(update: Update, context: CoachContext) -> int:
    """Customer phrasings separated by commas, then the body."""
    triggers = [t.strip() for t in _SPLIT.split(_text(update)) if t.strip()]
    if not triggers:
        await _ask(update, context, "triggers", error="triggers_invalid")
        return TRIGGERS
    draft = context.user_data[DRAFT]
    draft["triggers"] = triggers[:12]
    draft["steps"] = {}
    await _ask(update, context, _next_body_step(draft))
    return BODY


def _next_body_step(draft: dict[str, Any]) -> str:
    if not draft["category"].startswith("objection."):
        return "confirm" if draft.get("say") else "say"
    missing = [k for k in STEP_KEYS if k not in draft["steps"]]
    return missing[0] if missing else "confirm"


async def take_body(update: Update, context: CoachContext) -> int:
    """One of the five steps (objections) or the talk track (others)."""
    draft = context.user_data[DRAFT]
    text = _text(update)
    step = _next_body_step(draft)
    if not text or len(text) > 1000:
        await _ask(update, context, step, error="body_invalid")
        return BODY
    if step == "say":
        draft["say"] = text
    else:
        draft["steps"][step] = text
    step = _next_body_step(draft)
    await _ask(update, context, step)
    return CONFIRM if step == "confirm" else BODY


async def save(update: Update, context: CoachContext) -> int:
    """Button ``as save``: validate (forbidden phrases too) and store."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = context.user_data.pop(DRAFT, {})
    data = {"category": draft.get("category"), "title": draft.get("title"),
            "triggers": draft.get("triggers", [])}
    if draft.get("steps"):
        data["steps"] = draft["steps"]
    else:
        data["say"] = draft.get("say")
    svc = context.svc
    try:
        with svc.db.session() as s:
            script = svc.catalog.save_team_script(s, context.caller, data, clock=svc.clock)
    except ServiceError as err:
        # template code gets its own explanation; every other refusal the generic one
        await reply(update, context, "script_refused" if err.code == "script_template"
                    else "errors", code=err.code, **err.params)
        return ConversationHandler.END
    await reply(update, context, "addscript_done", script=script)
    return ConversationHandler.END


cancel = cancel_flow(DRAFT)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("addscript", start)],
        states={
            CATEGORY: [CallbackQueryHandler(pick_category, r"^as c \d+$")],
            TITLE: [MessageHandler(text, take_title)],
            TRIGGERS: [MessageHandler(text, take_triggers)],
            BODY: [MessageHandler(text, take_body)],
            CONFIRM: [CallbackQueryHandler(save, r"^as save$")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="addscript",
        persistent=True,
        allow_reentry=True,
    )
