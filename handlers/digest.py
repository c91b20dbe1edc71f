"""Morning checklist and end-of-day work log: /today, /log_today, pause/resume, the ticks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from telegram import Update

from bot import callback
from bot.callback import ID, INDEX, TOKEN
from bot.context import CoachContext
from bot.guard import reply, requires
from bot.services import Services, in_session, run_db
from coach.actor import Me
from coach.cadence import CadenceConfig
from coach.clock import local_day
from coach.digest import Checklist
from coach.reports.worklog_xlsx import COLUMNS, OUTCOMES, team_worklog_xlsx
from coach.services import checklist_scripts, digest, people, team_morning
from coach.services.errors import ServiceError
from coach.services.team_morning import TeamMorning
from coach.vocabulary import STAFF_ROLES, Role
from handlers.help import stale_button
from handlers.library import show_script


def cadence_config(svc: Services) -> CadenceConfig:
    return CadenceConfig.from_settings(svc.settings)


def _checklist(svc: Services, user: people.Profile) -> tuple[Checklist, TeamMorning | None]:
    """The caller's checklist and, for a lead with a team, the team's morning.

    ``user``: the caller's row as the guard read it in this update (not read again).
    """
    with svc.db.session() as s:
        now, config = svc.clock.now(), cadence_config(svc)
        checklist = digest.checklists(s, [user], now=now, config=config,
                                      region=svc.settings.holiday_region,
                                      call_target=svc.settings.daily_call_target)[user.id]
        teams = team_morning.mornings(s, [user], now=now, config=config) \
            if user.role == Role.LEAD else {}
        return checklist, teams.get(user.id)


def _profile(context: CoachContext) -> people.Profile:
    """The caller's row as the guard read it (set for every registered caller)."""
    if context.profile is None:
        raise RuntimeError("handler reached without the caller's profile")
    return context.profile


@requires(*STAFF_ROLES)
async def today(update: Update, context: CoachContext) -> None:
    """/today: the morning checklist on demand (a lead's includes the team)."""
    checklist, team = await run_db(_checklist, context.svc, _profile(context))
    await reply(update, context, "digest", c=checklist, page=0, morning=False, team=team)


@requires(*STAFF_ROLES)
async def page(update: Update, context: CoachContext) -> None:
    """Button ``dg p <n>``: another page of the checklist (rebuilt for the caller)."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "dg p", INDEX)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    checklist, team = await run_db(_checklist, context.svc, _profile(context))
    wanted = parsed[0]
    await reply(update, context, "digest", c=checklist,
                page=min(wanted, checklist.pages() - 1), morning=False, team=team)


@requires(*STAFF_ROLES)
async def line_script(update: Update, context: CoachContext) -> None:
    """Button ``dg s <kind> <id>``: the script of one checklist line, spoken to its client.

    A line whose follow-up was closed, or whose client is no longer the caller's, says so
    in a toast and shows nothing.
    """
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "dg s", TOKEN, ID)
    if parsed is None:
        await stale_button(update, context)
        return
    svc = context.svc
    try:
        line = await in_session(svc, checklist_scripts.script_for_line, context.caller,
                                svc.catalog, *parsed)
    except ServiceError as err:
        await query.answer(svc.renderer.text(
            "checklist_line_gone", context.locale, me=context.me, code=err.code,
            h=err.params.get("handled"), tz=context.caller.timezone))
        return
    await query.answer()
    await show_script(update, context, line.script, client_id=line.client_id, full=True)


def _logs_for(session: Session, me: Me, svc: Services, now: datetime) -> list[digest.WorkLog]:
    target = svc.settings.daily_call_target
    if me.role == "lead" and me.team_id is not None:
        return digest.team_work_logs(session, [me.team_id], now=now, target=target)[me.team_id]
    user = people.profile(session, me.user_id)
    return list(digest.work_logs(session, [user], now=now, target=target).values())


def _is_team_view(me: Me) -> bool:
    return me.role in ("lead", "admin") and me.team_id is not None


@requires(*STAFF_ROLES)
async def log_today(update: Update, context: CoachContext) -> None:
    """/log_today: my day in numbers; a lead gets the team's (``/log_today xlsx``: Excel)."""
    svc, me = context.svc, context.caller
    if (context.args or [""])[0].lower() == "xlsx" and _is_team_view(me):
        await _send_xlsx(update, context)
        return
    now = svc.clock.now()
    logs = await in_session(svc, _logs_for, me, svc, now)
    day = local_day(now, me.timezone)
    await reply(update, context, "team_worklog" if _is_team_view(me) else "worklog",
                logs=logs, day=day)


@requires(Role.LEAD)
async def xlsx_button(update: Update, context: CoachContext) -> None:
    """Button ``dg x``: the team's work log of today as an Excel file."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if _is_team_view(context.caller):
        await _send_xlsx(update, context)


async def _send_xlsx(update: Update, context: CoachContext) -> None:
    svc, me = context.svc, context.caller
    now = svc.clock.now()
    logs = await in_session(svc, _logs_for, me, svc, now)
    day = local_day(now, me.timezone)
    headers = {key: svc.renderer.text("worklog_xlsx_title", context.locale, me=me, key=key)
               for key in ("title", "total", *COLUMNS, *OUTCOMES)}
    message = update.effective_message
    assert message is not None
    await message.reply_document(team_worklog_xlsx(day, logs, headers=headers),
                                 filename=f"worklog-{day.isoformat()}.xlsx")


@requires(*STAFF_ROLES)
async def pause(update: Update, context: CoachContext) -> None:
    """/pause_digest and /resume_digest."""
    paused = bool(update.message and (update.message.text or "").startswith("/pause"))
    await in_session(context.svc, people.set_digest_paused, context.caller.user_id, paused)
    await reply(update, context, "digest_paused", paused=paused)


# --- ticks -------------------------------------------------------------------------------











