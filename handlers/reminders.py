"""Follow-up reminders: the scheduler ticks, reminder buttons, /followups, /week, /leave, ics."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callback
from bot.callback import ID, one_of
from bot.context import CoachContext
from bot.delivery import enqueue
from bot.guard import reply, requires, service_errors
from bot.jobs.outbox import deliver_soon
from bot.services import in_session, run_db
from coach.clock import local_day, local_midnight
from coach.dates import parse_date
from coach.ics import followups_calendar
from coach.privacy import mask_name
from coach.services import followups
from coach.services.errors import ServiceError
from coach.vocabulary import STAFF_ROLES
from handlers._flow import cancel_flow, objection_instead

PICK_DATE = 0
log = logging.getLogger(__name__)






# --- ticks --------------------------------------------------------------------------








# --- reminder buttons ------------------------------------------------------------------


def _parse(update: Update) -> tuple[str, int] | None:
    query = update.callback_query
    parsed = callback.parse(query.data if query else None, "fu", one_of(*"dhtxp"), ID)
    return (parsed[0], parsed[1]) if parsed else None


async def _toast_if_handled(update: Update, context: CoachContext, followup_id: int) -> bool:
    """A button on a reminder already handled: a toast says how, nothing changes."""
    query = update.callback_query
    assert query is not None
    try:
        closed = await in_session(context.svc, followups.handled, context.caller, followup_id)
    except ServiceError:
        return False  # not theirs: the action itself refuses, as before
    if closed is None:
        return False
    await query.answer(context.svc.renderer.text(
        "followup_handled", context.locale, me=context.me, h=closed,
        tz=context.caller.timezone), show_alert=False)
    return True


@service_errors()
@requires(*STAFF_ROLES)
async def reminder_button(update: Update, context: CoachContext) -> None:
    """``fu d|h|t|x <id>``: done, +1 hour, tomorrow 9:00, cancel."""
    query = update.callback_query
    assert query is not None
    parsed = _parse(update)
    if parsed is None:
        await query.answer()
        return
    action, followup_id = parsed
    svc, me = context.svc, context.caller
    if await _toast_if_handled(update, context, followup_id):
        return
    await query.answer()
    if action not in ("d", "x", "h", "t"):
        return

    def apply() -> tuple[int, datetime]:
        with svc.db.session() as s:
            if action == "d":
                row = followups.complete(s, me, followup_id, clock=svc.clock)
            elif action == "x":
                row = followups.cancel(s, me, followup_id, clock=svc.clock)
            else:
                target = followups.snooze_target("1h" if action == "h" else "tomorrow",
                                                 svc.clock.now(), me.timezone)
                row = followups.reschedule(s, me, followup_id, target)
            return row.client_id, row.due_at

    client_id, due = await run_db(apply)  # off the event loop
    await reply(update, context, "followup_updated", action=action, due=due, client_id=client_id)


@service_errors(ConversationHandler.END)
@requires(*STAFF_ROLES)
async def pick_date_start(update: Update, context: CoachContext) -> int:
    """``fu p <id>``: ask for a date."""
    query = update.callback_query
    assert query is not None
    parsed = _parse(update)
    if parsed is not None and await _toast_if_handled(update, context, parsed[1]):
        return ConversationHandler.END
    await query.answer()
    if parsed is None:
        return ConversationHandler.END
    await in_session(context.svc, followups.open_own, context.caller, parsed[1])
    context.user_data["fu_pick"] = parsed[1]
    await reply(update, context, "followup_pick_date")
    return PICK_DATE


@service_errors(ConversationHandler.END)
async def pick_date_text(update: Update, context: CoachContext) -> int:
    """The typed date: "下周二上午10点", "12/3", "tomorrow 3pm"."""
    assert update.message is not None
    svc, me = context.svc, context.caller
    parsed = parse_date(update.message.text or "", svc.clock.now(), me.timezone)
    if (parsed is None or parsed.due is None) and await objection_instead(
            update, context, "pick_date"):
        return PICK_DATE
    if parsed is None or parsed.due is None or parsed.questions:
        await reply(update, context, "followup_pick_date",
                    error=(parsed.questions[0] if parsed and parsed.questions else "unreadable"))
        return PICK_DATE
    due = parsed.due if parsed.has_time else datetime.combine(
        parsed.due.date(), time(9, 0), ZoneInfo(me.timezone))
    row = await in_session(svc, followups.reschedule, me,
                           int(context.user_data.pop("fu_pick", 0)), due)
    client_id = row.client_id
    await reply(update, context, "followup_updated", action="p", due=due, client_id=client_id)
    return ConversationHandler.END


pick_date_cancel = cancel_flow("fu_pick")


def pick_date_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(pick_date_start, r"^fu p \d+$")],
        states={PICK_DATE: [MessageHandler(filters.TEXT & ~filters.COMMAND, pick_date_text)]},
        fallbacks=[CommandHandler("cancel", pick_date_cancel)],
        name="pick_date", persistent=True, allow_reentry=True)


# --- lists, leave, calendar ------------------------------------------------------------


@requires(*STAFF_ROLES)
async def list_today(update: Update, context: CoachContext) -> None:
    """/followups: due today and overdue (overdue stay until handled)."""
    svc, me = context.svc, context.caller
    now = svc.clock.now()
    items = await in_session(svc, followups.list_for, me, start=None,
                             end=local_midnight(now, me.timezone, 1), now=now)
    await reply(update, context, "followups_list", items=items, week=False,
                flag_days=svc.settings.escalate_advisor_days)


@requires(*STAFF_ROLES)
async def list_week(update: Update, context: CoachContext) -> None:
    """/week: the next 7 days."""
    svc, me = context.svc, context.caller
    now = svc.clock.now()
    items = await in_session(svc, followups.list_for, me, start=local_midnight(now, me.timezone),
                             end=local_midnight(now, me.timezone, 8), now=now)
    await reply(update, context, "followups_list", items=items, week=True,
                flag_days=svc.settings.escalate_advisor_days)


def _leave_args(args: list[str]) -> tuple[str | None, date, date, str] | None:
    who = args[0] if args and args[0].startswith("@") and len(args) == 4 else None
    rest = args[1:] if who else args
    if len(rest) != 3 or not rest[2].startswith("@"):
        return None
    try:
        return who, date.fromisoformat(rest[0]), date.fromisoformat(rest[1]), rest[2]
    except ValueError:
        return None


@service_errors()
@requires(*STAFF_ROLES)
async def leave(update: Update, context: CoachContext) -> None:
    """/leave START END @colleague (or a lead: /leave @advisor START END @colleague)."""
    parsed = _leave_args(context.args or [])
    if parsed is None:
        await reply(update, context, "usage", command="leave")
        return
    who, start, end, colleague = parsed
    svc = context.svc
    me = context.caller
    today = local_day(svc.clock.now(), me.timezone)

    def hand_over(s: Session) -> followups.Handover:
        result = followups.handover(s, me, advisor_handle=who, start=start, end=end,
                                    colleague_handle=colleague, tz=me.timezone, today=today)
        if result.count:
            text = svc.renderer.text("leave_colleague", result.colleague_language, me=None,
                                     h=result)
            now = svc.clock.now()
            enqueue(s, text, to=result.colleague_telegram_id, kind="leave_colleague", now=now,
                    key=f"leave_colleague:{result.colleague_telegram_id}:{start}:{end}:"
                        f"{now.isoformat()}")
        return result

    result = await in_session(svc, hand_over)
    await reply(update, context, "leave_done", h=result)
    await deliver_soon(context.application)


@requires(*STAFF_ROLES)
async def export_ics(update: Update, context: CoachContext) -> None:
    """/export_ics: pending follow-ups as a calendar file for the phone."""
    svc, me = context.svc, context.caller
    now = svc.clock.now()
    items = await in_session(svc, followups.list_for, me, start=None,
                             end=now + timedelta(days=366), now=now)
    data = followups_calendar(
        items, now=now,
        reason_text=lambda code: svc.renderer.text("reason_name", context.locale, me=me,
                                                   code=code),
        # the file ends up in a phone calendar (often synced to a cloud): privacy mode
        # keeps client names out of it
        name_text=mask_name if svc.settings.privacy_mode else None)
    assert update.effective_message is not None
    await update.effective_message.reply_document(
        data, filename="followups.ics",
        caption=svc.renderer.text("ics_caption", context.locale, me=me, n=len(items)))
