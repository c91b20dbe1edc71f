"""Morning checklist and end-of-day work log: /today, /log_today, pause/resume, the ticks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application

from bot import notifier
from bot.context import CoachContext
from bot.guard import reply, requires
from bot.scheduler import register_tick
from bot.services import Services
from coach.digest import CadenceConfig
from coach.reports.worklog_xlsx import team_worklog_xlsx
from coach.services import digest, people

BATCH = 200


def cadence_config(svc: Services) -> CadenceConfig:
    st = svc.settings
    return CadenceConfig(
        vip_contact_days=st.vip_contact_days, vip_meeting_days=st.vip_meeting_days,
        new_account_days=st.new_account_callback_days,
        post_sale_days=st.post_sale_callback_days,
        risk_valid_days=st.risk_assessment_valid_days,
        risk_warning_days=st.risk_expiry_warning_days,
        question_days=st.question_reminder_days,
        escalate_advisor_days=st.escalate_advisor_days)


def _checklist(svc: Services, user_id: int):  # type: ignore[no-untyped-def]
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
    """Button ``dg p <n>``: more of the checklist."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    number = query.data.split()[-1]
    checklist = _checklist(context.svc, context.caller.user_id)
    wanted = int(number) if number.isdigit() else 0
    await reply(update, context, "digest", c=checklist,
                page=min(wanted, checklist.pages() - 1), morning=False)


@requires("advisor", "lead")
async def log_today(update: Update, context: CoachContext) -> None:
    """/log_today: my day in numbers; a lead gets the team's (``/log_today xlsx``: Excel)."""
    svc, me = context.svc, context.caller
    now = svc.clock.now()
    with svc.db.session() as s:
        if me.role == "lead" and me.team_id is not None:
            logs = digest.team_work_logs(s, me.team_id, now=now,
                                         target=svc.settings.daily_call_target)
        else:
            user = people.get_user(s, me.user_id)
            logs = list(digest.work_logs(s, [user], now=now,
                                         target=svc.settings.daily_call_target).values())
    day = now.astimezone(ZoneInfo(me.timezone)).date()
    if (context.args or [""])[0].lower() == "xlsx" and me.role == "lead":
        headers = {"title": svc.renderer.text("worklog_xlsx_title", context.locale, me=me)}
        data = team_worklog_xlsx(day, logs, headers=headers)
        assert update.effective_message is not None
        await update.effective_message.reply_document(data, filename=f"worklog-{day}.xlsx")
        return
    template = "team_worklog" if me.role == "lead" else "worklog"
    await reply(update, context, template, logs=logs, day=day)


@requires("advisor", "lead")
async def pause(update: Update, context: CoachContext) -> None:
    """/pause_digest and /resume_digest."""
    paused = bool(update.message and (update.message.text or "").startswith("/pause"))
    with context.svc.db.session() as s:
        people.get_user(s, context.caller.user_id).digest_paused = paused
    await reply(update, context, "digest_paused", paused=paused)


# --- ticks -------------------------------------------------------------------------------


async def _send_due(app: Application, kind: str) -> None:  # type: ignore[type-arg]
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
        claimed = []
        with svc.db.session() as s:
            for item in batch:
                if digest.claim(s, user_id=item.user.id, kind=kind, local_date=item.local_date,
                                now=now, lease_seconds=st.lease_seconds):
                    claimed.append(item)
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


def _render_batch(svc: Services, session, kind: str, users, now: datetime):  # type: ignore[no-untyped-def]
    out = {}
    if kind == "morning":
        lists = digest.checklists(session, users, now=now, config=cadence_config(svc),
                                  region=svc.settings.holiday_region,
                                  call_target=svc.settings.daily_call_target)
        for user in users:
            r = svc.renderer.render("digest", user.language, me=_me(user), c=lists[user.id],
                                    page=0, morning=True)
            out[user.id] = (r.text, r.markup)
        return out
    for user in users:
        day = now.astimezone(ZoneInfo(user.timezone)).date()
        if kind == "lead_wrapup" and user.team_id is not None:
            logs = digest.team_work_logs(session, user.team_id, now=now,
                                         target=svc.settings.daily_call_target)
            r = svc.renderer.render("team_worklog", user.language, me=_me(user), logs=logs,
                                    day=day)
        else:
            logs = list(digest.work_logs(session, [user], now=now,
                                         target=svc.settings.daily_call_target).values())
            r = svc.renderer.render("worklog", user.language, me=_me(user), logs=logs, day=day)
        out[user.id] = (r.text, r.markup)
    return out


def _me(user):  # type: ignore[no-untyped-def]
    from bot.guard import me_from_user

    return me_from_user(user)


@register_tick
async def morning_checklists(app: Application) -> None:  # type: ignore[type-arg]
    await _send_due(app, "morning")


@register_tick
async def evening_work_logs(app: Application) -> None:  # type: ignore[type-arg]
    await _send_due(app, "wrapup")
    await _send_due(app, "lead_wrapup")
