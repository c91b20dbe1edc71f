"""Morning checklists and end-of-day work logs, for many advisors at once.

Queries are set-based: one query per section for a whole batch of advisors
(``advisor_id IN (…)``), never one per client. Sending is recorded in
``digest_log`` (unique per person, kind and local day) and claimed before the
message goes out, so a restart or a second instance never sends one twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import extract, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coach.calendar import holidays_between, is_working_day
from coach.digest import AdvisorRows, CadenceConfig, Checklist, ClientRow, build_checklist
from coach.services.followups import ACTIVE
from storage.models import (
    Appointment,
    Briefing,
    Client,
    DigestLog,
    FollowUp,
    Holding,
    Interaction,
    User,
)

__all__ = ["DueDigest", "WorkLog", "checklists", "claim", "due_people", "mark_sent",
           "region_for", "team_work_logs", "work_logs"]


def region_for(timezone: str, default: str) -> str:
    """Public-holiday calendar for a person: Hong Kong time zone → HK, else the default."""
    return "HK" if timezone in ("Asia/Hong_Kong", "Asia/Macau") else default


def _local_day(now: datetime, tz: str) -> tuple[date, datetime, datetime]:
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    return today, datetime.combine(today, time(0), zone), datetime.combine(
        today + timedelta(days=1), time(0), zone)


def checklists(session: Session, advisors: list[User], *, now: datetime, config: CadenceConfig,
               region: str, call_target: int) -> dict[int, Checklist]:
    """The morning checklist of each advisor, in a fixed number of queries."""
    if not advisors:
        return {}
    ids = [a.id for a in advisors]
    rows: dict[int, AdvisorRows] = {a.id: AdvisorRows() for a in advisors}
    # everyone in one batch is assumed to share "today" closely enough for the window
    # queries; the per-advisor day is applied when rows are sorted out below
    tz_of = {a.id: a.timezone for a in advisors}
    days = {a.id: _local_day(now, a.timezone) for a in advisors}
    earliest = min(start for _, start, _ in days.values())
    latest = max(end for _, _, end in days.values())
    today_any = min(today for today, _, _ in days.values())

    for c in session.execute(select(
            Client.id, Client.advisor_id, Client.name, Client.tier, Client.birthday,
            Client.last_contact_at, Client.last_meeting_at, Client.opened_on,
            Client.risk_assessed_on).where(
            Client.advisor_id.in_(ids), Client.forgotten.is_(False),
            or_(Client.tier.in_(config.vip_tiers),
                extract("month", Client.birthday).in_(_birthday_months(today_any)),
                Client.opened_on >= today_any - timedelta(days=30),
                Client.risk_assessed_on <= today_any - timedelta(
                    days=config.risk_valid_days - config.risk_warning_days)))):
        rows[c.advisor_id].clients[c.id] = ClientRow(c[0], *c[2:])
    for a in session.execute(select(Appointment.advisor_id, Appointment.client_id,
                                    Appointment.starts_at, Appointment.note).where(
            Appointment.advisor_id.in_(ids), Appointment.starts_at >= earliest,
            Appointment.starts_at < latest)):
        _, start, end = days[a.advisor_id]
        if start <= a.starts_at < end:
            rows[a.advisor_id].appointments.append((a.client_id, a.starts_at, a.note))
    for f in session.execute(select(FollowUp.advisor_id, FollowUp.id, FollowUp.client_id,
                                    FollowUp.reason, FollowUp.due_at).where(
            FollowUp.advisor_id.in_(ids), FollowUp.status.in_(ACTIVE),
            FollowUp.kind != "meeting_reminder", FollowUp.due_at < latest)
            .order_by(FollowUp.due_at)):
        if f.due_at < days[f.advisor_id][2]:
            rows[f.advisor_id].followups.append((f.id, f.client_id, f.reason, f.due_at))
    for h in session.execute(select(Client.advisor_id, Holding.client_id, Holding.product_name,
                                    Holding.maturity_date).join(Client).where(
            Client.advisor_id.in_(ids), Client.forgotten.is_(False),
            Holding.maturity_date >= today_any,
            Holding.maturity_date <= today_any + timedelta(days=config.maturity_days + 1))):
        today = days[h.advisor_id][0]
        if today <= h.maturity_date <= today + timedelta(days=config.maturity_days):
            rows[h.advisor_id].maturities.append((h.client_id, h.product_name, h.maturity_date))
    for s in session.execute(select(Interaction.advisor_id, Interaction.client_id,
                                    func.max(Interaction.occurred_at)).where(
            Interaction.advisor_id.in_(ids), Interaction.outcome == "sale",
            Interaction.occurred_at >= now - timedelta(days=30))
            .group_by(Interaction.advisor_id, Interaction.client_id)):
        rows[s[0]].last_sales[s[1]] = s[2]
    _needed_clients(session, rows)
    _questions(session, rows, ids, now, config)
    _calls_yesterday(session, rows, days)
    briefings = _briefings_today(session, advisors, earliest)
    out = {}
    for advisor in advisors:
        today = days[advisor.id][0]
        adv_region = region_for(tz_of[advisor.id], region)
        holidays = [(h.date, h.name_zh, h.name_en)
                    for h in holidays_between(today, today + timedelta(days=6), adv_region)]
        out[advisor.id] = build_checklist(
            rows[advisor.id], today=today, now=now, config=config, holidays=holidays,
            call_target=advisor.call_target or call_target,
            briefing_id=briefings.get(advisor.team_id) if advisor.team_id else None)
    return out


def _birthday_months(today: date) -> list[int]:
    return sorted({today.month, (today + timedelta(days=8)).month})


def _needed_clients(session: Session, rows: dict[int, AdvisorRows]) -> None:
    """Clients named by follow-ups, appointments, maturities or sales but not loaded yet."""
    wanted: defaultdict[int, set[int]] = defaultdict(set)
    for advisor_id, r in rows.items():
        named = ([c for _, c, _, _ in r.followups] + [c for c, _, _ in r.appointments]
                 + [c for c, _, _ in r.maturities] + list(r.last_sales))
        for cid in named:
            if cid not in r.clients:
                wanted[cid].add(advisor_id)
    if not wanted:
        return
    for c in session.execute(select(
            Client.id, Client.advisor_id, Client.name, Client.tier, Client.birthday,
            Client.last_contact_at, Client.last_meeting_at, Client.opened_on,
            Client.risk_assessed_on).where(Client.id.in_(list(wanted)))):
        for advisor_id in wanted[c.id]:
            rows[advisor_id].clients[c.id] = ClientRow(c[0], *c[2:])


def _questions(session: Session, rows: dict[int, AdvisorRows], ids: list[int], now: datetime,
               config: CadenceConfig) -> None:
    try:
        from coach.services.service_records import open_questions
    except ImportError:  # pragma: no cover - service records are optional
        return
    for q in open_questions(session, ids, config.question_days, now):
        rows[q.advisor_id].questions.append((q.id, q.client_id, q.text, q.created_at))


def _calls_yesterday(session: Session, rows: dict[int, AdvisorRows],
                     days: dict[int, tuple[date, datetime, datetime]]) -> None:
    ids = list(rows)
    earliest = min(start for _, start, _ in days.values()) - timedelta(days=1)
    latest = max(start for _, start, _ in days.values())
    for advisor_id, when in session.execute(select(Interaction.advisor_id,
                                                   Interaction.occurred_at).where(
            Interaction.advisor_id.in_(ids), Interaction.channel == "phone",
            Interaction.occurred_at >= earliest, Interaction.occurred_at < latest)):
        start = days[advisor_id][1]
        if start - timedelta(days=1) <= when < start:
            rows[advisor_id].calls_yesterday += 1


def _briefings_today(session: Session, advisors: list[User], since: datetime) -> dict[int, int]:
    teams = {a.team_id for a in advisors if a.team_id}
    if not teams:
        return {}
    return {team: bid for team, bid in session.execute(
        select(Briefing.team_id, func.max(Briefing.id)).where(
            Briefing.team_id.in_(teams), Briefing.status == "sent",
            Briefing.sent_at >= since).group_by(Briefing.team_id))}


# --- scheduling -------------------------------------------------------------------------


@dataclass(frozen=True)
class DueDigest:
    user: User
    kind: str  # morning | wrapup | lead_wrapup
    local_date: date


def due_people(session: Session, *, now: datetime, kind: str, default_time: time,
               catch_up_until: time | None, region: str) -> list[DueDigest]:
    """Who should get ``kind`` now: past their time, working day, not paused, not yet sent."""
    roles = ("advisor", "lead") if kind == "morning" else (
        ("lead",) if kind == "lead_wrapup" else ("advisor",))
    users = session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True),
                                               User.digest_paused.is_(False))).all()
    sent = {(row.user_id, row.local_date) for row in session.execute(
        select(DigestLog.user_id, DigestLog.local_date).where(
            DigestLog.kind == kind, DigestLog.status == "sent",
            DigestLog.local_date >= (now - timedelta(days=1)).date()))}
    out = []
    for user in users:
        local = now.astimezone(ZoneInfo(user.timezone))
        at = (user.digest_time or default_time) if kind == "morning" else default_time
        if local.time() < at or (catch_up_until is not None and local.time() >= catch_up_until):
            continue
        if not is_working_day(local.date(), region_for(user.timezone, region)):
            continue
        if (user.id, local.date()) not in sent:
            out.append(DueDigest(user, kind, local.date()))
    return out


def claim(session: Session, *, user_id: int, kind: str, local_date: date, now: datetime,
          lease_seconds: int) -> bool:
    """Reserve one digest; False if it was sent or another worker holds a live claim."""
    try:
        with session.begin_nested():
            session.add(DigestLog(user_id=user_id, kind=kind, local_date=local_date,
                                  status="sending",
                                  lease_until=now + timedelta(seconds=lease_seconds)))
        return True
    except IntegrityError:
        result = session.execute(update(DigestLog).where(
            DigestLog.user_id == user_id, DigestLog.kind == kind,
            DigestLog.local_date == local_date, DigestLog.status == "sending",
            DigestLog.lease_until < now).values(
            lease_until=now + timedelta(seconds=lease_seconds)))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(session: Session, *, user_id: int, kind: str, local_date: date, now: datetime,
              ok: bool) -> None:
    """After the send: ``sent``, or drop the claim so the next tick retries."""
    query = select(DigestLog).where(DigestLog.user_id == user_id, DigestLog.kind == kind,
                                    DigestLog.local_date == local_date)
    row = session.scalars(query).first()
    if row is None:
        return
    if ok:
        row.status, row.sent_at, row.lease_until = "sent", now, None
    else:
        session.delete(row)


# --- end of day ---------------------------------------------------------------------------


@dataclass
class WorkLog:
    name: str
    calls: int = 0
    meetings: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    sales: int = 0
    sales_amount: Decimal = Decimal(0)
    followups_created: int = 0
    overdue: int = 0
    target: int = 10


def work_logs(session: Session, advisors: list[User], *, now: datetime, target: int,
              overdue_days: int = 1) -> dict[int, WorkLog]:
    """Today's numbers per advisor (their local day), in four queries."""
    if not advisors:
        return {}
    ids = [a.id for a in advisors]
    days = {a.id: _local_day(now, a.timezone) for a in advisors}
    logs = {a.id: WorkLog(a.name, target=a.call_target or target) for a in advisors}
    earliest = min(s for _, s, _ in days.values())
    latest = max(e for _, _, e in days.values())
    for advisor_id, channel, outcome, amount, when in session.execute(select(
            Interaction.advisor_id, Interaction.channel, Interaction.outcome,
            Interaction.amount, Interaction.occurred_at).where(
            Interaction.advisor_id.in_(ids), Interaction.occurred_at >= earliest,
            Interaction.occurred_at < latest)):
        _, start, end = days[advisor_id]
        if not start <= when < end:
            continue
        log = logs[advisor_id]
        log.calls += channel == "phone"
        log.meetings += channel in ("meeting", "visit")
        log.outcomes[outcome] = log.outcomes.get(outcome, 0) + 1
        if outcome == "sale":
            log.sales += 1
            log.sales_amount += amount or Decimal(0)
    for advisor_id, created in session.execute(select(FollowUp.advisor_id, FollowUp.created_at)
                                               .where(FollowUp.advisor_id.in_(ids),
                                                      FollowUp.created_at >= earliest,
                                                      FollowUp.created_at < latest)):
        _, start, end = days[advisor_id]
        logs[advisor_id].followups_created += start <= created < end
    overdue: defaultdict[int, int] = defaultdict(int)
    for advisor_id, n in session.execute(select(FollowUp.advisor_id, func.count()).where(
            FollowUp.advisor_id.in_(ids), FollowUp.status.in_(ACTIVE),
            FollowUp.kind != "meeting_reminder",
            FollowUp.due_at < now - timedelta(days=overdue_days)).group_by(FollowUp.advisor_id)):
        overdue[advisor_id] = n
    for advisor_id, log in logs.items():
        log.overdue = overdue[advisor_id]
    return logs


def team_work_logs(session: Session, team_id: int, *, now: datetime, target: int
                   ) -> list[WorkLog]:
    advisors = session.scalars(select(User).where(
        User.team_id == team_id, User.role == "advisor", User.active.is_(True))
        .order_by(User.name)).all()
    logs = work_logs(session, list(advisors), now=now, target=target)
    return [logs[a.id] for a in advisors]

