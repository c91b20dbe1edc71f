"""Digest jobs: the morning checklist and the evening work logs, claimed per person and day
and queued in the outbox (``bot/jobs/outbox.py`` sends them)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup
from telegram.ext import Application

from bot.delivery import enqueue
from bot.guard import me_from_user, private_audience
from bot.render import Rendered as RenderedMessage
from bot.services import Services, run_db
from coach.cadence import CadenceConfig
from coach.clock import local_day
from coach.services import digest, people, team_morning
from coach.vocabulary import Role

BATCH = 200  # advisors per set of checklist queries


def cadence_config(svc: Services) -> CadenceConfig:
    return CadenceConfig.from_settings(svc.settings)


async def _send_due(app: Application, kind: str) -> None:  # type: ignore[type-arg]
    """Claim, build and queue every ``kind`` digest due now, batch by batch.

    Each person is claimed (a ``digest_log`` row, marked sent) in the transaction that
    queues their message in the outbox, so a restart or a second instance never sends
    twice; delivery trouble (retries, a blocked chat) is the outbox worker's business.
    """
    svc: Services = app.bot_data["services"]
    st, now = svc.settings, svc.clock.now()

    def find_due() -> list[Any]:
        with svc.db.session() as s:
            return digest.due_people(
                s, now=now, kind=kind,
                default_time=st.digest_time if kind == "morning" else st.wrapup_time,
                catch_up_until=st.digest_catch_up_until if kind == "morning" else None,
                region=st.holiday_region)

    def claim_and_queue(batch: list[Any]) -> None:
        with svc.db.session() as s:
            claimed = [item for item in batch if digest.claim(
                s, user_id=item.user.id, kind=kind, local_date=item.local_date, now=now,
                lease_seconds=st.lease_seconds)]
            if not claimed:
                return
            users = [people.profile(s, item.user.id) for item in claimed]
            rendered = _render_batch(svc, s, kind, users, now)
            for item in claimed:
                text, markup = rendered[item.user.id]
                enqueue(s, RenderedMessage(text, markup), to=item.user.telegram_id,
                        kind=f"digest_{kind}", now=now,
                        key=f"digest:{kind}:{item.user.id}:{item.local_date}")
                digest.mark_sent(s, user_id=item.user.id, kind=kind,
                                 local_date=item.local_date, now=now, ok=True)

    # database work and rendering run off the event loop, batch by batch, so a
    # 5,000-person digest never holds up the updates or the other jobs
    due = await run_db(find_due)
    for start in range(0, len(due), BATCH):
        await run_db(claim_and_queue, due[start:start + BATCH])
        await asyncio.sleep(0)  # let waiting updates in between batches


Rendered = tuple[str, InlineKeyboardMarkup | None]


def _render_batch(svc: Services, session: Session, kind: str, users: list[people.Profile],
                  now: datetime) -> dict[int, Rendered]:
    """Every message of one batch, from one set of queries."""
    st = svc.settings
    out: dict[int, Rendered] = {}
    if kind == "morning":
        config = cadence_config(svc)
        lists = digest.checklists(session, users, now=now, config=config,
                                  region=st.holiday_region, call_target=st.daily_call_target)
        # leads also get their team's morning (all of it when they have no clients)
        mornings = team_morning.mornings(session, [u for u in users if u.role == Role.LEAD],
                                         now=now, config=config)
        for user in users:
            me = me_from_user(user)
            r = svc.renderer.render("digest", me.locale, me=me, c=lists[user.id], page=0,
                                    morning=True, team=mornings.get(user.id),
                                    audience=private_audience(st.privacy_mode))
            out[user.id] = (r.text, r.markup)
        return out
    if kind == "lead_wrapup":
        teams = digest.team_work_logs(session, [u.team_id for u in users if u.team_id],
                                      now=now, target=st.daily_call_target)
    own = digest.work_logs(session, [u for u in users if kind == "wrapup" or not u.team_id],
                           now=now, target=st.daily_call_target)
    for user in users:
        me = me_from_user(user)
        day = local_day(now, user.timezone)
        if kind == "lead_wrapup" and user.team_id:
            r = svc.renderer.render("team_worklog", me.locale, me=me, day=day,
                                    logs=teams[user.team_id])
        else:
            r = svc.renderer.render("worklog", me.locale, me=me, day=day, logs=[own[user.id]])
        out[user.id] = (r.text, r.markup)
    return out



async def morning_checklists(app: Application) -> None:  # type: ignore[type-arg]
    await _send_due(app, "morning")


async def evening_work_logs(app: Application) -> None:  # type: ignore[type-arg]
    await _send_due(app, "wrapup")
    await _send_due(app, "lead_wrapup")
