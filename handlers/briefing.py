"""/briefing: the lead's morning briefing, composed, previewed, broadcast, acknowledged."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callback
from bot.callback import ID, TOKEN, one_of
from bot.context import CoachContext
from bot.guard import reply, requires, service_errors
from bot.jobs import briefings as briefing_jobs
from bot.services import in_session
from coach.actor import Me
from coach.services import briefing, people
from coach.services.errors import ServiceError
from coach.vocabulary import Role
from handlers._flow import cancel_flow
from handlers.help import stale_button

TARGETS, PER_ADVISOR, PRODUCTS, MARKET, MOTTO, PHOTO, PREVIEW, EDIT = range(8)
DRAFT = "briefing"
STEPS = [(TARGETS, "targets"), (PER_ADVISOR, "per_advisor"), (PRODUCTS, "products"),
         (MARKET, "market"), (MOTTO, "motto"), (PHOTO, "photo"), (PREVIEW, "preview")]
DEFAULT_TIME = "08:15"
BUTTONS = ("skip", "tpl", "grp", "ng", "edit", "reset", "now", "at", "rep", "x")
log = logging.getLogger(__name__)


async def _numbers(context: CoachContext) -> briefing.TeamNumbers:
    me, svc = context.caller, context.svc
    return await in_session(svc, briefing.yesterday_numbers, me.team_id or 0,
                            now=svc.clock.now(), tz=me.timezone)


def _draft(context: CoachContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})  # type: ignore[no-any-return]


async def _ask(update: Update, context: CoachContext, state: int, *,
               error: str | None = None, **extra: Any) -> int:
    step = "edit" if state == EDIT else dict(STEPS)[state]
    draft = _draft(context)
    if step == "preview" and error is None:
        await reply(update, context, "briefing_message", p=draft, n=await _numbers(context),
                    delivery_id=None, preview=True, personal=None, show_targets=True)
    if step == "per_advisor":
        extra["advisors"] = [name for _, name in
                             await in_session(context.svc, _advisor_names, context)]
    await reply(update, context, "briefing_step", step=step, draft=draft, error=error,
                styles=briefing.STYLES, default_time=DEFAULT_TIME, **extra)
    return state


def _advisor_names(session: Any, context: CoachContext) -> list[tuple[int, str]]:
    members = people.team_members(session, context.caller.team_id or 0, roles=("advisor",))
    return [(m.id, m.name) for m in members]


@requires(Role.LEAD)
async def start(update: Update, context: CoachContext) -> int:
    """/briefing: compose today's briefing, step by step; /briefing status: who read it."""
    if context.args and context.args[0].lower() in ("status", "状态", "狀態"):
        await show_status(update, context)
        return ConversationHandler.END
    if context.caller.team_id is None:
        await reply(update, context, "errors", code="team_required", role="lead")
        return ConversationHandler.END
    context.user_data[DRAFT] = {"style": "standard", "nudge": briefing.NUDGE_CHOICES[0],
                                "time": DEFAULT_TIME}
    return await _ask(update, context, TARGETS)


def _next(state: int) -> int:
    return STEPS[[s for s, _ in STEPS].index(state) + 1][0]


def _text(update: Update, limit: int = 800) -> str:
    return (update.message.text or "").strip()[:limit] if update.message else ""


async def take_targets(update: Update, context: CoachContext) -> int:
    """(1) Today's team targets, free text."""
    text = _text(update)
    if not text:
        return await _ask(update, context, TARGETS)
    _draft(context)["targets"] = text
    return await _ask(update, context, PER_ADVISOR)


async def take_advisor_targets(update: Update, context: CoachContext) -> int:
    """(2) Optional per-advisor targets: one "name: target" per line."""
    try:
        rows = await in_session(context.svc, briefing.parse_advisor_targets, context.caller,
                                _text(update, 2000))
    except ServiceError as err:
        await reply(update, context, "errors", code=err.code, **err.params)
        return await _ask(update, context, PER_ADVISOR)
    _draft(context)["per_advisor"] = rows
    return await _ask(update, context, PRODUCTS)


async def take_products(update: Update, context: CoachContext) -> int:
    """(3) Focus products: catalogue codes/names, or "name R2: selling points" per line."""
    products = await in_session(context.svc, briefing.parse_products, _text(update, 2000))
    if not products:
        return await _ask(update, context, PRODUCTS)
    _draft(context)["products"] = products
    return await _ask(update, context, MARKET)


def _free_text(state: int, key: str):  # type: ignore[no-untyped-def]
    async def take(update: Update, context: CoachContext) -> int:
        _draft(context)[key] = _text(update)
        return await _ask(update, context, _next(state))

    take.__name__ = f"take_{key}"
    return take


async def take_photo(update: Update, context: CoachContext) -> int:
    """(6) An optional photo or document (e.g. the product flyer)."""
    message = update.message
    assert message is not None
    draft = _draft(context)
    if message.photo:
        draft["photo"], draft["document"] = message.photo[-1].file_id, None
    elif message.document:
        draft["document"], draft["photo"] = message.document.file_id, None
    return await _ask(update, context, PREVIEW)


async def take_edit(update: Update, context: CoachContext) -> int:
    """The lead's own wording of the briefing body (numbers stay filled in)."""
    text = _text(update, 3000)
    if text:
        _draft(context)["text"] = text
    return await _ask(update, context, PREVIEW)


async def take_time(update: Update, context: CoachContext) -> int:
    """A typed "HH:MM" on the preview: the schedule buttons use that time."""
    value = _text(update).replace("：", ":")
    svc = context.svc
    when = briefing.parse_when(value, now=svc.clock.now(), tz=context.caller.timezone)
    if when is None:
        return await _ask(update, context, PREVIEW, error="time")
    _draft(context)["time"] = when.astimezone(ZoneInfo(context.caller.timezone)).strftime("%H:%M")
    return await _ask(update, context, PREVIEW)


async def button(update: Update, context: CoachContext) -> int | None:
    """``bf skip|tpl S|grp|ng|edit|reset|now|at HH:MM|rep HH:MM|x`` inside the flow."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "bf", one_of(*BUTTONS), TOKEN, optional=1)
    if parsed is None:
        await stale_button(update, context)
        return None
    await query.answer()
    parts = [p for p in ("bf", *parsed) if p is not None]
    draft = _draft(context)
    action = parts[1]
    if action == "skip":
        state = {k: s for s, k in STEPS}.get(parts[2] if len(parts) > 2 else "", PHOTO)
        return await _ask(update, context, _next(state) if state < PREVIEW else PREVIEW)
    if action == "tpl" and len(parts) == 3 and parts[2] in briefing.STYLES:
        draft["style"] = parts[2]
        return await _ask(update, context, PREVIEW)
    if action == "grp":
        draft["group"] = not draft.get("group")
        return await _ask(update, context, PREVIEW)
    if action == "ng":
        choices = briefing.NUDGE_CHOICES
        current = draft.get("nudge", choices[0])
        draft["nudge"] = choices[(choices.index(current) + 1) % len(choices)
                                  if current in choices else 0]
        return await _ask(update, context, PREVIEW)
    if action == "edit":
        body = context.svc.renderer.text("briefing_message", context.locale, me=context.me,
                                         p={**draft, "text": None}, n=await _numbers(context),
                                         delivery_id=None, preview=True, personal=None,
                                         show_targets=False, body_only=True)
        # already escaped HTML without tags: shown as is inside <pre>
        return await _ask(update, context, EDIT, body=Markup(body))
    if action == "reset":
        draft.pop("text", None)
        return await _ask(update, context, PREVIEW)
    if action == "x":
        context.user_data.pop(DRAFT, None)
        await reply(update, context, "cancelled", had_flow=True)
        return ConversationHandler.END
    if action in ("now", "at", "rep"):
        finished: int = await _finish(update, context, action,
                                      parts[2] if len(parts) == 3 else None)
        return finished
    return await _ask(update, context, PREVIEW)


@service_errors(ConversationHandler.END)
async def _finish(update: Update, context: CoachContext, action: str, at: str | None) -> int:
    svc, me = context.svc, context.caller
    draft = dict(_draft(context))
    send_at = None
    if action in ("at", "rep"):
        send_at = briefing.parse_when(at or "", now=svc.clock.now(), tz=me.timezone)
        if send_at is None:
            return await _ask(update, context, PREVIEW, error="time")
    payload = {k: v for k, v in draft.items() if k not in ("group", "nudge", "time")}

    def create(s: Session) -> tuple[int, datetime | None, datetime | None, int]:
        row = briefing.create(s, me, payload, now=svc.clock.now(), send_at=send_at,
                              repeat_workdays=action == "rep",
                              include_group=bool(draft.get("group")),
                              nudge=draft.get("nudge"))
        started = (briefing.start_sending(s, row.id, now=svc.clock.now(),
                                          region=svc.settings.holiday_region)
                   if send_at is None else 0)
        return row.id, row.send_at, row.nudge_at, started

    briefing_id, when, nudge_at, started = await in_session(svc, create)
    context.user_data.pop(DRAFT, None)
    await reply(update, context, "briefing_scheduled", now=send_at is None, when=when,
                members=started, repeat=action == "rep", briefing_id=briefing_id,
                nudge_at=nudge_at)
    if send_at is None:
        briefing_jobs.kick(context.application)
    return ConversationHandler.END




cancel = cancel_flow(DRAFT)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    text = filters.TEXT & ~filters.COMMAND
    # typed as the base: the flow's lists mix handlers of several return types
    buttons: BaseHandler[Update, CoachContext, object] = CallbackQueryHandler(
        button, r"^bf (skip|tpl|grp|ng|edit|reset|now|at|rep|x)( |$)")
    return ConversationHandler(
        entry_points=[CommandHandler("briefing", start)],
        states={
            TARGETS: [MessageHandler(text, take_targets)],
            PER_ADVISOR: [MessageHandler(text, take_advisor_targets), buttons],
            PRODUCTS: [MessageHandler(text, take_products), buttons],
            MARKET: [MessageHandler(text, _free_text(MARKET, "market")), buttons],
            MOTTO: [MessageHandler(text, _free_text(MOTTO, "motto")), buttons],
            PHOTO: [MessageHandler(filters.PHOTO | filters.Document.ALL, take_photo), buttons],
            PREVIEW: [MessageHandler(text, take_time), buttons],
            EDIT: [MessageHandler(text, take_edit), buttons],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="briefing", persistent=True, allow_reentry=True)


# --- members, status, group -------------------------------------------------------------


async def acknowledge(update: Update, context: CoachContext) -> None:
    """Button ``bf ack <delivery>``: "got it" (only the member it was sent to)."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "bf ack", ID)
    if parsed is None:
        await stale_button(update, context)
        return
    svc = context.svc
    try:
        await in_session(svc, briefing.ack, context.caller, parsed[0], now=svc.clock.now())
    except ServiceError:
        await query.answer()
        return
    await query.answer(svc.renderer.text("briefing_acked", context.locale, me=context.me))


async def show(update: Update, context: CoachContext) -> None:
    """Button ``bf show <id>`` (from the morning checklist): read the briefing again."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "bf show", ID)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    svc, me = context.svc, context.caller

    def read(s: Session) -> tuple[dict[str, Any], briefing.TeamNumbers]:
        row = briefing.get_for_member(s, me, parsed[0])
        numbers = briefing.yesterday_numbers(s, row.team_id, now=row.sent_at or svc.clock.now(),
                                             tz=me.timezone)
        return dict(row.payload), numbers

    try:
        payload, numbers = await in_session(svc, read)
    except ServiceError:
        await reply(update, context, "errors", code="briefing_not_found")
        return
    await reply(update, context, "briefing_message", p=payload, n=numbers, delivery_id=None,
                preview=False, personal=briefing.personal_target(payload, me.user_id),
                show_targets=me.role in ("lead", "admin"))  # not referrers: targets are for leads


def _latest_status(s: Session, me: Me) -> briefing.BriefingStatus | None:
    latest = briefing.latest_for_team(s, me)
    return briefing.status(s, latest) if latest else None


@requires(Role.LEAD)
async def show_status(update: Update, context: CoachContext) -> None:
    """/briefing status (or /briefing_status): who acknowledged the latest briefing."""
    data = await in_session(context.svc, _latest_status, context.caller)
    await reply(update, context, "briefing_status", st=data, nudge=False)


@requires(Role.LEAD)
async def link_group(update: Update, context: CoachContext) -> None:
    """/linkgroup, sent by the lead in the team's group chat."""
    chat = update.effective_chat
    if chat is None or chat.type == "private":
        await reply(update, context, "usage", command="linkgroup")
        return
    team = await in_session(context.svc, briefing.link_group, context.caller, chat.id)
    await reply(update, context, "group_linked", team=team)


# --- sending ----------------------------------------------------------------------------












