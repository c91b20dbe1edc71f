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
from bot.services import in_session
from coach.services.errors import ServiceError
from coach.services.script_drafts import DRAFT_STEPS, DraftRefused
from coach.vocabulary import Role
from handlers._flow import cancel_flow
from handlers.help import stale_button
from scripts_library.schema import CATEGORIES, STEP_KEYS

CATEGORY, TITLE, TRIGGERS, BODY, CONFIRM = range(5)
DRAFT = "addscript"
_SPLIT = re.compile(r"[;；,，、\n]+")
_STATES = {"category": CATEGORY, "title": TITLE, "triggers": TRIGGERS, "confirm": CONFIRM}


def _next_step(draft: dict[str, Any]) -> str:
    """The first step the draft still lacks, in asking order; ``confirm`` when complete.

    A refused or edited step is simply taken out of the draft, so this asks for it
    again and then comes straight back to the confirmation: the rest is kept.
    """
    for step in ("category", "title", "triggers"):
        if step not in draft:
            return step
    if not draft["category"].startswith("objection."):
        return "say" if "say" not in draft else "confirm"
    steps = draft.setdefault("steps", {})
    return next((k for k in STEP_KEYS if k not in steps), "confirm")


async def _ask(update: Update, context: CoachContext, error: str | None = None,
               refused: dict[str, list[dict[str, Any]]] | None = None,
               order: list[str] | None = None) -> int:
    """Ask for the next step the draft lacks (with its reasons, if it was refused)."""
    draft = context.user_data.setdefault(DRAFT, {})
    step = _next_step(draft)
    await reply(update, context, "addscript_step", step=step, error=error, draft=draft,
                categories=CATEGORIES, reasons=draft.get("reasons", {}).get(step, []),
                steps=DRAFT_STEPS, refused=refused, order=order or [])
    return _STATES.get(step, BODY)


def _forget(draft: dict[str, Any], step: str) -> None:
    """Take one step's answer out of the draft, so that step is asked again."""
    if step in STEP_KEYS:
        draft.get("steps", {}).pop(step, None)
    else:
        draft.pop(step, None)


def _answered(draft: dict[str, Any], step: str) -> None:
    draft.get("reasons", {}).pop(step, None)


@requires(Role.LEAD)
async def start(update: Update, context: CoachContext) -> int:
    """Ask for the category."""
    context.user_data[DRAFT] = {}
    return await _ask(update, context)


async def pick_category(update: Update, context: CoachContext) -> int:
    """Button ``as c <index>``: first, or again after a refusal or an edit."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "as c", INDEX)
    if parsed is None:
        await stale_button(update, context)
        return CATEGORY
    await query.answer()
    draft = context.user_data.setdefault(DRAFT, {})
    if parsed[0] < len(CATEGORIES):
        category = CATEGORIES[parsed[0]]
        if "category" in draft and (category.startswith("objection.")
                                    != draft["category"].startswith("objection.")):
            # five steps and one talk track do not convert: the text is asked again
            draft.pop("say", None)
            draft.pop("steps", None)
        draft["category"] = category
        _answered(draft, "category")
    return await _ask(update, context)


async def edit(update: Update, context: CoachContext) -> int:
    """Button ``as e <step index>`` on the confirmation: ask that one step again."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "as e", INDEX)
    draft = context.user_data.get(DRAFT)
    if parsed is None or parsed[0] >= len(DRAFT_STEPS) or not draft:
        await stale_button(update, context)
        return CONFIRM if draft else ConversationHandler.END
    await query.answer()
    _forget(draft, DRAFT_STEPS[parsed[0]])
    return await _ask(update, context)


def _text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


async def take_title(update: Update, context: CoachContext) -> int:
    """The title, then the next step the draft lacks."""
    title = _text(update)
    if not title or len(title) > 60:
        return await _ask(update, context, error="title_invalid")
    context.user_data[DRAFT]["title"] = title
    _answered(context.user_data[DRAFT], "title")
    return await _ask(update, context)


async def take_triggers(update: Update, context: CoachContext) -> int:
    """Customer phrasings separated by commas, then the next step the draft lacks."""
    triggers = [t.strip() for t in _SPLIT.split(_text(update)) if t.strip()]
    if not triggers:
        return await _ask(update, context, error="triggers_invalid")
    draft = context.user_data[DRAFT]
    draft["triggers"] = triggers[:12]
    _answered(draft, "triggers")
    return await _ask(update, context)


async def take_body(update: Update, context: CoachContext) -> int:
    """One of the five steps (objections) or the talk track (others)."""
    draft = context.user_data[DRAFT]
    text = _text(update)
    step = _next_step(draft)
    if not text or len(text) > 1000:
        return await _ask(update, context, error="body_invalid")
    if step == "say":
        draft["say"] = text
    else:
        draft.setdefault("steps", {})[step] = text
    _answered(draft, step)
    return await _ask(update, context)


async def save(update: Update, context: CoachContext) -> int:
    """Button ``as save``: validate (forbidden phrases too) and store.

    A refused draft is kept: each failed step is taken out of it and asked again with
    its reasons, in the lead's language; /cancel drops it.
    """
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = context.user_data.get(DRAFT) or {}
    if _next_step(draft) != "confirm":  # an old ✅ under a draft that is being fixed
        return await _ask(update, context)
    data = {"category": draft.get("category"), "title": draft.get("title"),
            "triggers": draft.get("triggers", [])}
    if draft.get("steps"):
        data["steps"] = draft["steps"]
    else:
        data["say"] = draft.get("say")
    svc = context.svc
    try:
        script = await in_session(svc, svc.catalog.save_team_draft, context.caller, data,
                                  clock=svc.clock)
    except DraftRefused as err:
        reasons: dict[str, list[dict[str, Any]]] = {}
        for problem in err.problems:
            reasons.setdefault(problem.step, []).append({"code": problem.code, **problem.params})
        for step in err.steps:
            _forget(draft, step)
        draft["reasons"] = reasons
        return await _ask(update, context, refused=reasons, order=err.steps)
    except ServiceError as err:
        # not the content (who may save, where): say why; the draft is kept for /cancel
        await reply(update, context, "script_refused" if err.code == "script_template"
                    else "errors", code=err.code, **err.params)
        if err.code in ("role_forbidden", "team_required"):
            context.user_data.pop(DRAFT, None)
            return ConversationHandler.END
        return CONFIRM
    context.user_data.pop(DRAFT, None)
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
            CONFIRM: [CallbackQueryHandler(save, r"^as save$"),
                      CallbackQueryHandler(edit, r"^as e \d+$")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="addscript",
        persistent=True,
        allow_reentry=True,
    )
