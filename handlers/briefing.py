"""/briefing: the lead's morning briefing, composed, previewed, broadcast, acknowledged."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import notifier
from bot.context import CoachContext
from bot.guard import reply, requires
from bot.scheduler import register_tick
from bot.services import Services
from coach.services import briefing, people
from coach.services.errors import ServiceError
from handlers._flow import cancel_flow

TARGETS, PRODUCTS, MARKET, MOTTO, PHOTO, PREVIEW = range(6)
DRAFT = "briefing"
STEPS = [(TARGETS, "targets"), (PRODUCTS, "products"), (MARKET, "market"), (MOTTO, "motto"),
         (PHOTO, "photo"), (PREVIEW, "preview")]
SEND_BATCH = 30


def _numbers(context: CoachContext):  # type: ignore[no-untyped-def]
    me, svc = context.caller, context.svc
    with svc.db.session() as s:
        return briefing.yesterday_numbers(s, me.team_id or 0, now=svc.clock.now(),
                                          tz=me.timezone)


async def _ask(update: Update, context: CoachContext, state: int) -> int:
    step = dict(STEPS)[state]
    draft = context.user_data.get(DRAFT, {})
    if step == "preview":
        await reply(update, context, "briefing_message", p=draft, n=_numbers(context),
                    delivery_id=None, preview=True)
    await reply(update, context, "briefing_step", step=step, draft=draft)
    return state


@requires("lead")
async def start(update: Update, context: CoachContext) -> int:
    """/briefing: compose today's briefing, step by step."""
    if context.caller.team_id is None:
        await reply(update, context, "errors", code="team_required", role="lead")
        return ConversationHandler.END
    context.user_data[DRAFT] = {"style": "standard"}
    return await _ask(update, context, TARGETS)


def _next(state: int) -> int:
    return STEPS[[s for s, _ in STEPS].index(state) + 1][0]


def _text_step(state: int, key: str):  # type: ignore[no-untyped-def]
    async def take(update: Update, context: CoachContext) -> int:
        assert update.message is not None
        context.user_data.setdefault(DRAFT, {})[key] = (update.message.text or "").strip()[:800]
        return await _ask(update, context, _next(state))

    take.__name__ = f"take_{key}"
    return take


async def take_photo(update: Update, context: CoachContext) -> int:
    """An optional photo or document (e.g. the product flyer)."""
    message = update.message
    assert message is not None
    draft = context.user_data.setdefault(DRAFT, {})
    if message.photo:
        draft["photo"] = message.photo[-1].file_id
    elif message.document:
        draft["document"] = message.document.file_id
    return await _ask(update, context, PREVIEW)


async def button(update: Update, context: CoachContext) -> int:
    """``bf skip|tpl|grp|now|at HH:MM|rep HH:MM|x`` inside the flow."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    parts = query.data.split()
    draft = context.user_data.setdefault(DRAFT, {})
    action = parts[1]
    if action == "skip":
        state = {k: s for s, k in STEPS}[parts[2]] if len(parts) > 2 else PREVIEW
        return await _ask(update, context, _next(state))
    if action == "tpl":
        draft["style"] = "short" if draft.get("style") == "standard" else "standard"
        return await _ask(update, context, PREVIEW)
    if action == "grp":
        draft["group"] = not draft.get("group")
        return await _ask(update, context, PREVIEW)
    if action == "x":
        context.user_data.pop(DRAFT, None)
        await reply(update, context, "cancelled", had_flow=True)
        return ConversationHandler.END
    svc, me = context.svc, context.caller
    send_at = None
    if action in ("at", "rep") and len(parts) == 3:
        send_at = briefing.parse_when(parts[2], now=svc.clock.now(), tz=me.timezone)
    with svc.db.session() as s:
        row = briefing.create(s, me, dict(draft), now=svc.clock.now(), send_at=send_at,
                              repeat_workdays=action == "rep",
                              include_group=bool(draft.get("group")))
        briefing_id, when = row.id, row.send_at
        started = briefing.start_sending(s, row.id, now=svc.clock.now()) if send_at is None else 0
    context.user_data.pop(DRAFT, None)
    await reply(update, context, "briefing_scheduled", now=send_at is None, when=when,
                members=started, repeat=action == "rep", briefing_id=briefing_id)
    if send_at is None and context.application.running:
        # start at once; the 30-second tick is only the safety net
        context.application.create_task(broadcast_pending(context.application))
    return ConversationHandler.END


cancel = cancel_flow(DRAFT)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    text = filters.TEXT & ~filters.COMMAND
    buttons = CallbackQueryHandler(button, r"^bf (skip|tpl|grp|now|at|rep|x)( |$)")
    return ConversationHandler(
        entry_points=[CommandHandler("briefing", start)],
        states={
            TARGETS: [MessageHandler(text, _text_step(TARGETS, "targets"))],
            PRODUCTS: [MessageHandler(text, _text_step(PRODUCTS, "products")), buttons],
            MARKET: [MessageHandler(text, _text_step(MARKET, "market")), buttons],
            MOTTO: [MessageHandler(text, _text_step(MOTTO, "motto")), buttons],
            PHOTO: [MessageHandler(filters.PHOTO | filters.Document.ALL, take_photo), buttons],
            PREVIEW: [buttons],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="briefing", persistent=True, allow_reentry=True)


# --- members, status, group -------------------------------------------------------------


async def acknowledge(update: Update, context: CoachContext) -> None:
    """Button ``bf ack <delivery>``: "got it"."""
    query = update.callback_query
    assert query is not None and query.data is not None
    delivery = query.data.split()[-1]
    svc = context.svc
    try:
        with svc.db.session() as s:
            briefing.ack(s, context.caller, int(delivery) if delivery.isdigit() else -1,
                         now=svc.clock.now())
    except ServiceError:
        await query.answer()
        return
    await query.answer(svc.renderer.text("briefing_acked", context.locale, me=context.me))


async def show(update: Update, context: CoachContext) -> None:
    """Button ``bf show <id>`` (from the morning checklist): read the briefing again."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    svc, me = context.svc, context.caller
    try:
        with svc.db.session() as s:
            row = briefing.get_for_member(s, me, int(query.data.split()[-1]))
            payload = dict(row.payload)
            numbers = briefing.yesterday_numbers(s, row.team_id, now=row.sent_at or svc.clock.now(),
                                                 tz=me.timezone)
    except (ServiceError, ValueError):
        await reply(update, context, "errors", code="briefing_not_found")
        return
    await reply(update, context, "briefing_message", p=payload, n=numbers, delivery_id=None,
                preview=False)


@requires("lead")
async def show_status(update: Update, context: CoachContext) -> None:
    """/briefing_status: who acknowledged today's briefing, who has not."""
    with context.svc.db.session() as s:
        latest = briefing.latest_for_team(s, context.caller)
        data = briefing.status(s, latest) if latest else None
    await reply(update, context, "briefing_status", st=data, nudge=False)


@requires("lead")
async def link_group(update: Update, context: CoachContext) -> None:
    """/linkgroup, sent by the lead in the team's group chat."""
    chat = update.effective_chat
    if chat is None or chat.type == "private":
        await reply(update, context, "usage", command="linkgroup")
        return
    with context.svc.db.session() as s:
        team = briefing.link_group(s, context.caller, chat.id)
    await reply(update, context, "group_linked", team=team)


# --- sending ----------------------------------------------------------------------------


async def broadcast_pending(app: Application) -> int:  # type: ignore[type-arg]
    """Send every claimable delivery; safe to run from several places at once."""
    svc: Services = app.bot_data["services"]
    sent = 0
    while True:
        with svc.db.session() as s:
            batch = briefing.claim_deliveries(s, now=svc.clock.now(),
                                              lease_seconds=svc.settings.lease_seconds,
                                              limit=SEND_BATCH)
            cache = {}
            for item in batch:
                if item.briefing_id not in cache:
                    row = s.get(briefing.Briefing, item.briefing_id)
                    assert row is not None
                    lead = people.get_user(s, row.lead_id)
                    cache[item.briefing_id] = (dict(row.payload), briefing.yesterday_numbers(
                        s, row.team_id, now=row.sent_at or svc.clock.now(), tz=lead.timezone),
                        row.photo_file_id, row.lead_id)
            languages = {u.id: u.language for u in s.scalars(select_users(
                [i.user_id for i in batch if i.user_id]))}
        if not batch:
            return sent
        results = await asyncio.gather(*(_send_one(app, svc, item, cache, languages)
                                         for item in batch))
        with svc.db.session() as s:
            for item, delivery in zip(batch, results, strict=True):
                status = {"sent": "sent", "blocked": "blocked", "failed": "failed"}.get(
                    delivery.status, "pending")
                briefing.finish(s, item.delivery_id, status=status, now=svc.clock.now(),
                                message_id=delivery.message_id)
                sent += status == "sent"
        for item, delivery in zip(batch, results, strict=True):
            if delivery.status == "blocked" and item.user_id:
                await _report_blocked(app, svc, item, cache)


def select_users(ids):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from storage.models import User

    return select(User).where(User.id.in_(ids or [-1]))


async def _send_one(app, svc: Services, item, cache, languages):  # type: ignore[no-untyped-def]
    payload, numbers, _photo, _lead = cache[item.briefing_id]
    if payload.get("photo") or payload.get("document"):
        # the attachment first, so the "got it" button ends the briefing; a crash between
        # the two sends repeats only the attachment
        attached = await notifier.send_attachment(app.bot, item.chat_id,
                                                  photo=payload.get("photo"),
                                                  document=payload.get("document"))
        if attached.status != "sent":
            return attached
    rendered = svc.renderer.render("briefing_message", languages.get(item.user_id, "zh-Hans"),
                                   me=None, p=payload, n=numbers,
                                   delivery_id=item.delivery_id if item.user_id else None,
                                   preview=False)
    return await notifier.send_text(app.bot, item.chat_id, rendered.text, markup=rendered.markup)


async def _report_blocked(app, svc: Services, item, cache) -> None:  # type: ignore[no-untyped-def]
    with svc.db.session() as s:
        lead = people.get_user(s, cache[item.briefing_id][3])
        member = people.get_user(s, item.user_id)
        member.active = False
        lead_chat, lead_language, name = lead.telegram_id, lead.language, member.name
    text = svc.renderer.text("briefing_blocked", lead_language, me=None, name=name)
    await notifier.send_text(app.bot, lead_chat, text)


@register_tick
async def briefings_tick(app: Application) -> None:  # type: ignore[type-arg]
    """Start scheduled briefings, resume unfinished broadcasts, nudge the leads."""
    svc: Services = app.bot_data["services"]
    with svc.db.session() as s:
        briefing.due_to_start(s, now=svc.clock.now())
    await broadcast_pending(app)
    with svc.db.session() as s:
        nudges = briefing.due_nudges(s, now=svc.clock.now())
    for _id, chat_id, language, data in nudges:
        text = svc.renderer.text("briefing_status", language, me=None, st=data, nudge=True)
        await notifier.send_text(app.bot, chat_id, text)
