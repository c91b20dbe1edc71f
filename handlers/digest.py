"""Morning checklist and end-of-day work log: /today, /log_today, pause/resume, the ticks."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application

from bot import notifier
from bot.context import CoachContext
from bot.guard import me_from_user, reply, requires
from bot.scheduler import register_tick
from bot.services import Services
from coach.actor import Me
from coach.cadence import CadenceConfig
from coach.digest import Checklist
from coach.reports.worklog_xlsx import COLUMNS, OUTCOMES, team_worklog_xlsx
from coach.services import digest, people
from storage.models import User

BATCH = 200  # advisors per set of checklist queries


def cadence_config(svc: Services) -> CadenceConfig:
    return CadenceConfig.from_settings(svc.settings)


def _checklist(svc: Services, user_id: int) -> Checklist:
    with svc.db.session() as s:
        user = people.get_user(s, user_id)
        return digest.checklists(s, [user], now=svc.clock.now(), config=cadence_config(svc),
                                 region=svc.settings.holiday_region,
                                 call_target=svc.settings.daily_call_target)[user.id]


@requires("advisor", "lead")
async def today(update: Update, context: CoachContext) -> None:
    """/today: the morning checklist on demand."""
    checklist = _checklist(context.svc, context.caller.user_id)
    await reply(update, context, "digest", c=checklist, page=0, morning=False)


@requires("advisor", "lead")
async def page(update: Update, context: CoachContext) -> None:
    """Button ``dg p <n>``: another page of the checklist (rebuilt for the caller)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    number = query.data.split()[-1]
    checklist = _checklist(context.svc, context.caller.user_id)
    wanted = int(number) if number.isdigit() else 0
    await reply(update, context, "digest", c=checklist,
                page=min(wanted, checklist.pages() - 1), morning=False)


def _logs_for(session: Session, me: Me, svc: Services, now: datetime) -> list[digest.WorkLog]:
    target = svc.settings.daily_call_target
    if me.role == "lead" and me.team_id is not None:
        return digest.team_work_logs(session, [me.team_id], now=now, target=target)[me.team_id]
    user = people.get_user(session, me.user_id)
    return list(digest.work_logs(session, [user], now=now, target=target).values())


def _is_team_view(me: Me) -> bool:
    return me.role in ("lead", "admin") and me.team_id is not None


@requires("advisor", "lead")
async def log_today(update: Update, context: CoachContext) -> None:
    """/log_today: my day in numbers; a lead gets the team's (``/log_today xlsx``: Excel)."""
    svc, me = context.svc, context.caller
    if (context.args or [""])[0].lower() == "xlsx" and _is_team_view(me):
        await _send_xlsx(update, context)
        return
    now = svc.clock.now()
    with svc.db.session() as s:
        logs = _logs_for(s, me, svc, now)
    day = now.astimezone(ZoneInfo(me.timezone)).date()
    await reply(update, context, "team_worklog" if _is_team_view(me) else "worklog",
                logs=logs, day=day)


@requires("lead")
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
    with svc.db.session() as s:
        logs = _logs_for(s, me, svc, now)
    day = now.astimezone(ZoneInfo(me.timezone)).date()
    headers = {key: svc.renderer.text("worklog_xlsx_title", context.locale, me=me, key=key)
               for key in ("title", "total", *COLUMNS, *OUTCOMES)}
    message = update.effective_message
    assert message is not None
    await message.reply_document(team_worklog_xlsx(day, logs, headers=headers),
                                 filename=f"worklog-{day.isoformat()}.xlsx")


@requires("advisor", "lead")
async def pause(update: Update, context: CoachContext) -> None:
    """/pause_digest and /resume_digest."""
    paused = bool(update.message and (update.message.text or "").startswith("/pause"))
    with context.svc.db.session() as s:
        people.get_user(s, context.caller.user_id).digest_paused = paused
    await reply(update, context, "digest_paused", paused=paused)


# --- ticks -------------------------------------------------------------------------------


async def _send_due(app: Application, kind: str) -> None:  # type: ignore[type-arg]
    """Claim, build and send every ``kind`` digest due now, batch by batch.

    Each person is claimed first (a ``digest_log`` row), so a restart or a second
    instance never sends twice; a send that must be retried drops the claim; a
    blocked chat (403) marks that person inactive and the others still get theirs.
    """
    svc: Services = app.bot_data["services"]
    st, now = svc.settings, svc.clock.now()
    with svc.db.session() as s:
        due = digest.due_people(
            s, now=now, kind=kind,
            default_time=st.digest_time if kind == "morning" else st.wrapup_time,
            catch_up_until=st.digest_catch_up_until if kind == "morning" else None,
            region=st.holiday_region)
    for start in range(0, len(due), BATCH):
        batch = due[start:start + BATCH]
        with svc.db.session() as s:
            claimed = [item for item in batch if digest.claim(
                s, user_id=item.user.id, kind=kind, local_date=item.local_date, now=now,
                lease_seconds=st.lease_seconds)]
        if not claimed:
            continue
        with svc.db.session() as s:
            users = [people.get_user(s, item.user.id) for item in claimed]
            rendered = _render_batch(svc, s, kind, users, now)
        for item in claimed:
            text, markup = rendered[item.user.id]
            delivery = await notifier.send_text(app.bot, item.user.telegram_id, text,
                                                markup=markup)
            with svc.db.session() as s:
                digest.mark_sent(s, user_id=item.user.id, kind=kind, local_date=item.local_date,
                                 now=svc.clock.now(), ok=delivery.status != "retry")
            if delivery.status == "blocked":
                notifier.mark_blocked(svc.db, item.user.telegram_id)


Rendered = tuple[str, InlineKeyboardMarkup | None]


def _render_batch(svc: Services, session: Session, kind: str, users: list[User],
                  now: datetime) -> dict[int, Rendered]:
    """Every message of one batch, from one set of queries."""
    st = svc.settings
    out: dict[int, Rendered] = {}
    if kind == "morning":
        lists = digest.checklists(session, users, now=now, config=cadence_config(svc),
                                  region=st.holiday_region, call_target=st.daily_call_target)
        for user in users:
            me = me_from_user(user)
            r = svc.renderer.render("digest", me.locale, me=me, c=lists[user.id], page=0,
                                    morning=True)
            out[user.id] = (r.text, r.markup)
        return out
    if kind == "lead_wrapup":
        teams = digest.team_work_logs(session, [u.team_id for u in users if u.team_id],
                                      now=now, target=st.daily_call_target)
    own = digest.work_logs(session, [u for u in users if kind == "wrapup" or not u.team_id],
                           now=now, target=st.daily_call_target)
    for user in users:
        me = me_from_user(user)
        day = _local_date(now, user.timezone)
        if kind == "lead_wrapup" and user.team_id:
            r = svc.renderer.render("team_worklog", me.locale, me=me, day=day,
                                    logs=teams[user.team_id])
        else:
            r = svc.renderer.render("worklog", me.locale, me=me, day=day, logs=[own[user.id]])
        out[user.id] = (r.text, r.markup)
    return out


def _local_date(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


@register_tick
async def morning_checklists(app: Application) -> None:  # type: ignore[type-arg]
    await _send_due(app, "morning")


@register_tick
async def evening_work_logs(app: Application) -> None:  # type: ignore[type-arg]
    await _send_due(app, "wrapup")
    await _send_due(app, "lead_wrapup")
