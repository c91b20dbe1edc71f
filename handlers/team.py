"""Team numbers for leads: /team, /report week|month (chart + Excel), /overdue with reassign."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session
from telegram import Update

from bot import callback
from bot.callback import ID
from bot.context import CoachContext
from bot.delivery import enqueue
from bot.guard import reply, requires, service_errors
from bot.jobs.outbox import deliver_soon
from bot.services import Services, in_session
from coach.actor import Me
from coach.reports.team import team_chart_png, team_report_xlsx
from coach.services import reports
from coach.services.errors import ServiceError
from coach.vocabulary import Role
from handlers.help import pressed_before, stale_button

LABELS = ("advisor", "calls", "meetings", "sales", "amount", "overdue", "day", "referrer",
          "referrals", "sessions", "average", "assigned_done", "assigned_open", "complaints",
          "per_advisor", "per_day", "total", "accepted", "declined", "pending", "count",
          "received", "resolved", "still_open")


def _labels(context: CoachContext) -> dict[str, str]:
    renderer = context.svc.renderer
    return {key: renderer.text("report_label", context.locale, me=context.me, key=key)
            for key in LABELS}


@service_errors()
@requires(Role.LEAD)
async def team(update: Update, context: CoachContext) -> None:
    """/team: today's table per advisor, plus referral counts."""
    svc = context.svc
    data = await in_session(svc, reports.team_today, context.caller, now=svc.clock.now(),
                            overdue_days=svc.settings.escalate_advisor_days)
    await reply(update, context, "team_today", t=data)


@requires(Role.LEAD)
async def report(update: Update, context: CoachContext) -> None:
    """/report week|month: summary, chart (PNG) and Excel workbook."""
    kind = (context.args or ["week"])[0].lower()
    svc = context.svc
    try:
        data = await in_session(svc, reports.period, context.caller, kind, now=svc.clock.now())
    except ServiceError as err:
        await reply(update, context, "usage" if err.code == "period_invalid" else "errors",
                    command="report", code=err.code)
        return
    await reply(update, context, "team_report", r=data)
    labels = _labels(context)
    message = update.effective_message
    assert message is not None
    # drawing and the workbook are CPU work: off the event loop, other chats keep flowing
    chart = await asyncio.to_thread(team_chart_png, data, titles=labels)
    workbook = await asyncio.to_thread(team_report_xlsx, data, headers=labels)
    await message.reply_photo(chart)
    await message.reply_document(workbook,
                                 filename=f"team-{kind}-{data.end.isoformat()}.xlsx")


@service_errors()
@requires(Role.LEAD)
async def overdue(update: Update, context: CoachContext) -> None:
    """/overdue: follow-ups of the team more than 3 days overdue, to reassign."""
    svc = context.svc
    lines, _ = await in_session(svc, reports.overdue_for_team, context.caller,
                                now=svc.clock.now(), days=svc.settings.escalate_advisor_days)
    await reply(update, context, "team_overdue", lines=lines)


def _reassign_and_tell(s: Session, svc: Services, me: Me, followup_id: int, user_id: int,
                       with_client: bool) -> reports.Reassigned:
    """Move the follow-up and queue a word to the new and the previous owner, together."""
    now = svc.clock.now()
    done = reports.reassign(s, me, followup_id, user_id, with_client=with_client)
    text = svc.renderer.text("team_reassigned_notice", done.language, me=None,
                             client=done.client_name, with_client=with_client)
    enqueue(s, text, to=done.telegram_id, kind="reassigned", now=now,
            key=f"reassigned:{followup_id}:{done.telegram_id}:{now.isoformat()}")
    # the previous owner must not find the call gone without a word
    text = svc.renderer.text("team_reassigned_previous", done.previous_language, me=None,
                             name=done.name, client=done.client_name, with_client=with_client)
    enqueue(s, text, to=done.previous_telegram_id, kind="reassigned", now=now,
            key=f"reassigned:{followup_id}:{done.previous_telegram_id}:{now.isoformat()}")
    return done


@requires(Role.LEAD)
async def overdue_button(update: Update, context: CoachContext) -> None:
    """``ov r <followup>`` → pick an advisor; ``ov to <followup> <user>`` moves the
    follow-up only; ``ov tc <followup> <user>`` hands over the client as well."""
    query = update.callback_query
    assert query is not None
    pick = callback.parse(query.data, "ov r", ID)
    move = callback.parse(query.data, "ov to", ID, ID)
    hand_over = callback.parse(query.data, "ov tc", ID, ID)
    with_client = hand_over is not None
    move = move or hand_over
    if pick is None and move is None:
        await stale_button(update, context)
        return
    if move is not None and await pressed_before(update, context):
        return  # reassigned already; the advisor is not told twice
    await query.answer()
    svc = context.svc
    try:
        if pick is not None:
            advisors = await in_session(svc, reports.reassign_targets, context.caller, pick[0])
            await reply(update, context, "team_reassign", followup_id=pick[0],
                        advisors=advisors)
            return
        if move is not None:
            done = await in_session(svc, _reassign_and_tell, svc, context.caller, move[0],
                                    move[1], with_client)
            await reply(update, context, "team_reassigned", name=done.name,
                        with_client=with_client)
            await deliver_soon(context.application)
    except ServiceError as err:
        await reply(update, context, "errors", code=err.code, **err.params)
