"""Morning checklists and end-of-day work logs, for many advisors at once.

Queries are set-based: one query per section for a whole batch of advisors
(``advisor_id IN (…)``), never one per client. Sending is recorded in
``digest_log`` (unique per person, kind and local day) and claimed before the
message goes out, so a restart or a second instance never sends one twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import extract, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coach.cadence import CadenceConfig, ClientFacts
from coach.calendar import holidays_between, is_working_day, region_for
from coach.digest import AdvisorRows, Checklist, build_checklist
from coach.services.followups import ACTIVE
from coach.services.people import Profile
from coach.services.service_records import open_questions
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


def _local_day(now: datetime, tz: str) -> tuple[date, datetime, datetime]:
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    return today, datetime.combine(today, time(0), zone), datetime.combine(
        today + timedelta(days=1), time(0), zone)


_FACTS = (Client.id, Client.advisor_id, Client.name, Client.tier, Client.birthday,
          Client.last_contact_at, Client.last_meeting_at, Client.opened_on,
          Client.risk_assessed_on)


def _facts(row: Any) -> ClientFacts:
    return ClientFacts(row.id, row.name, row.tier, row.birthday, row.last_contact_at,
                       row.last_meeting_at, row.opened_on, row.risk_assessed_on)


def checklists(session: Session, advisors: Sequence[Profile], *, now: datetime,
               config: CadenceConfig, region: str, call_target: int) -> dict[int, Checklist]:
    """The morning checklist of each advisor, in a fixed number of queries per batch.

    Advisors of one batch may live in different time zones: each query covers the
    union of their local days (a superset), and rows are then sorted out per advisor.
    """
    if not advisors:
        return {}
    ids = [a.id for a in advisors]
    rows: dict[int, AdvisorRows] = {a.id: AdvisorRows() for a in advisors}
    days = {a.id: _local_day(now, a.timezone) for a in advisors}
    span = _Span(first=min(d[0] for d in days.values()), last=max(d[0] for d in days.values()),
                 start=min(d[1] for d in days.values()), end=max(d[2] for d in days.values()))
    _book(session, rows, ids, config, span)
    _appointments(session, rows, ids, days, span)
    _followups(session, rows, ids, days, span)
    _maturities(session, rows, ids, days, config, span)
    _sales(session, rows, ids, now, config)
    _questions(session, rows, ids, now, config)
    _needed_clients(session, rows)
    _calls_yesterday(session, rows, days)
    briefings = _briefings_today(session, advisors, days)
    out = {}
    for advisor in advisors:
        today = days[advisor.id][0]
        holidays = [(h.date, h.name_zh, h.name_en) for h in holidays_between(
            today, today + timedelta(days=config.greeting_days - 1),
            region_for(advisor.timezone, region))]
        out[advisor.id] = build_checklist(
            rows[advisor.id], today=today, now=now, config=config, holidays=holidays,
            call_target=advisor.call_target or call_target,
            briefing_id=briefings.get(advisor.id), tz=advisor.timezone)
    return out


@dataclass(frozen=True)
class _Span:
    """The local days of a whole batch: first/last calendar day, start/end instants."""

    first: date
    last: date
    start: datetime
    end: datetime


def _book(session: Session, rows: dict[int, AdvisorRows], ids: list[int],
          config: CadenceConfig, span: _Span) -> None:
    """Clients any rule may pick today (a superset: the rules decide), and who has any."""
    for advisor_id, n in session.execute(select(Client.advisor_id, func.count(Client.id)).where(
            Client.advisor_id.in_(ids), Client.forgotten.is_(False))
            .group_by(Client.advisor_id)):
        rows[advisor_id].has_clients = n > 0
    months = sorted({(span.first + timedelta(days=n)).month
                     for n in range((span.last - span.first).days + config.greeting_days + 1)})
    may_pick = [extract("month", Client.birthday).in_(months),
                Client.opened_on >= span.first - timedelta(days=config.new_account_window_days),
                # a month is at least 28 days: a superset of what risk_gap picks
                Client.risk_assessed_on <= span.last - timedelta(
                    days=28 * config.risk_valid_months - config.risk_warning_days)]
    if config.cadence_tiers:
        may_pick.append(Client.tier.in_(config.cadence_tiers))
    for c in session.execute(select(*_FACTS).where(
            Client.advisor_id.in_(ids), Client.forgotten.is_(False), or_(*may_pick))):
        rows[c.advisor_id].clients[c.id] = _facts(c)


def _appointments(session: Session, rows: dict[int, AdvisorRows], ids: list[int],
                  days: dict[int, tuple[date, datetime, datetime]], span: _Span) -> None:
    for a in session.execute(select(Appointment.advisor_id, Appointment.client_id,
                                    Appointment.starts_at, Appointment.note).where(
            Appointment.advisor_id.in_(ids), Appointment.starts_at >= span.start,
            Appointment.starts_at < span.end).order_by(Appointment.starts_at)):
        _, start, end = days[a.advisor_id]
        if start <= a.starts_at < end:
            rows[a.advisor_id].appointments.append((a.client_id, a.starts_at, a.note))


def _followups(session: Session, rows: dict[int, AdvisorRows], ids: list[int],
               days: dict[int, tuple[date, datetime, datetime]], span: _Span) -> None:
    """Open follow-ups due by the end of the advisor's day (overdue ones included)."""
    for f in session.execute(select(FollowUp.advisor_id, FollowUp.id, FollowUp.client_id,
                                    FollowUp.reason, FollowUp.due_at).where(
            FollowUp.advisor_id.in_(ids), FollowUp.status.in_(ACTIVE),
            FollowUp.kind != "meeting_reminder", FollowUp.due_at < span.end)
            .order_by(FollowUp.due_at)):
        if f.due_at < days[f.advisor_id][2]:
            rows[f.advisor_id].followups.append((f.id, f.client_id, f.reason, f.due_at))


def _maturities(session: Session, rows: dict[int, AdvisorRows], ids: list[int],
                days: dict[int, tuple[date, datetime, datetime]], config: CadenceConfig,
                span: _Span) -> None:
    ahead = timedelta(days=config.maturity_days)
    for h in session.execute(select(Client.advisor_id, Holding.client_id, Holding.product_name,
                                    Holding.maturity_date).join(Client).where(
            Client.advisor_id.in_(ids), Client.forgotten.is_(False),
            Holding.maturity_date >= span.first, Holding.maturity_date <= span.last + ahead)
            .order_by(Holding.maturity_date)):
        today = days[h.advisor_id][0]
        if today <= h.maturity_date <= today + ahead:
            rows[h.advisor_id].maturities.append((h.client_id, h.product_name, h.maturity_date))


def _sales(session: Session, rows: dict[int, AdvisorRows], ids: list[int], now: datetime,
           config: CadenceConfig) -> None:
    """Each client's latest sale in the post-sale window (for the service call rule)."""
    since = now - timedelta(days=config.post_sale_window_days + 1)
    for advisor_id, client_id, sold in session.execute(select(
            Interaction.advisor_id, Interaction.client_id, func.max(Interaction.occurred_at))
            .where(Interaction.advisor_id.in_(ids), Interaction.occurred_at >= since,
                   Interaction.outcome == "sale")
            .group_by(Interaction.advisor_id, Interaction.client_id)):
        rows[advisor_id].last_sales[client_id] = sold


def _needed_clients(session: Session, rows: dict[int, AdvisorRows]) -> None:
    """Clients named by follow-ups, appointments, maturities, sales or questions but not
    loaded by :func:`_book` (one query for the batch)."""
    wanted: defaultdict[int, set[int]] = defaultdict(set)
    for advisor_id, r in rows.items():
        named = ([c for _, c, _, _ in r.followups] + [c for c, _, _ in r.appointments]
                 + [c for c, _, _ in r.maturities] + list(r.last_sales)
                 + [c for _, c, _, _ in r.questions if c])
        for cid in named:
            if cid not in r.clients:
                wanted[cid].add(advisor_id)
    if not wanted:
        return
    for c in session.execute(select(*_FACTS).where(Client.id.in_(list(wanted)),
                                                   Client.forgotten.is_(False))):
        for advisor_id in wanted[c.id]:
            rows[advisor_id].clients[c.id] = _facts(c)


def _questions(session: Session, rows: dict[int, AdvisorRows], ids: list[int], now: datetime,
               config: CadenceConfig) -> None:
    for q in open_questions(session, ids, config.question_days, now):
        rows[q.advisor_id].questions.append((q.id, q.client_id, q.text, q.created_at))


def _calls_yesterday(session: Session, rows: dict[int, AdvisorRows],
                     days: dict[int, tuple[date, datetime, datetime]]) -> None:
    ids = list(rows)
    earliest = min(start for _, start, _ in days.values()) - timedelta(days=1)
    latest = max(start for _, start, _ in days.values())
    for advisor_id, when in session.execute(select(Interaction.advisor_id,
                                                   Interaction.occurred_at).where(
            Interaction.advisor_id.in_(ids), Interaction.occurred_at >= earliest,
            Interaction.occurred_at < latest, Interaction.channel == "phone")):
        start = days[advisor_id][1]
        if start - timedelta(days=1) <= when < start:
            rows[advisor_id].calls_yesterday += 1


def _briefings_today(session: Session, advisors: Sequence[Profile],
                     days: dict[int, tuple[date, datetime, datetime]]) -> dict[int, int]:
    """advisor id → the latest briefing their team's lead sent during their local today."""
    teams = {a.team_id for a in advisors if a.team_id}
    if not teams:
        return {}
    since = min(start for _, start, _ in days.values())
    sent: defaultdict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for team_id, bid, sent_at in session.execute(select(
            Briefing.team_id, Briefing.id, Briefing.sent_at).where(
            Briefing.team_id.in_(teams), Briefing.status == "sent", Briefing.sent_at >= since)):
        if sent_at is not None:
            sent[team_id].append((sent_at, bid))
    out = {}
    for a in advisors:
        _, start, end = days[a.id]
        today = [bid for at, bid in sent.get(a.team_id or 0, []) if start <= at < end]
        if today:
            out[a.id] = max(today)
    return out


# --- scheduling -------------------------------------------------------------------------


@dataclass(frozen=True)
class DueDigest:
    user: Profile
    kind: str  # morning | wrapup | lead_wrapup
    local_date: date


def due_people(session: Session, *, now: datetime, kind: str, default_time: time,
               catch_up_until: time | None, region: str) -> list[DueDigest]:
    """Who should get ``kind`` now: past their time, working day, not paused, not yet sent.

    A morning checklist missed at its time (the bot was down) is still due until
    ``catch_up_until``; someone whose own time is later than that gets the rest of the day.
    """
    roles = ("advisor", "lead") if kind == "morning" else (
        ("lead",) if kind == "lead_wrapup" else ("advisor",))
    users = session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True),
                                               User.digest_paused.is_(False))
                            .order_by(User.id)).all()
    candidates: list[DueDigest] = []
    for user in users:
        local = now.astimezone(ZoneInfo(user.timezone))
        at = (user.digest_time or default_time) if kind == "morning" else default_time
        until = catch_up_until if catch_up_until is not None and catch_up_until > at else None
        if local.time() < at or (until is not None and local.time() >= until):
            continue
        if is_working_day(local.date(), region_for(user.timezone, region)):
            candidates.append(DueDigest(Profile.of(user), kind, local.date()))
    if not candidates:
        return []
    # the unique (user_id, kind, local_date) index answers this; chunked for IN limits
    sent: set[tuple[int, date]] = set()
    dates = sorted({c.local_date for c in candidates})
    for chunk in range(0, len(candidates), 500):
        ids = [c.user.id for c in candidates[chunk:chunk + 500]]
        sent.update((r.user_id, r.local_date) for r in session.execute(
            select(DigestLog.user_id, DigestLog.local_date).where(
                DigestLog.user_id.in_(ids), DigestLog.kind == kind,
                DigestLog.local_date.in_(dates), DigestLog.status == "sent")))
    return [c for c in candidates if (c.user.id, c.local_date) not in sent]


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


@dataclass(frozen=True)
class WorkLog:
    """One advisor's day in numbers (the evening work log)."""

    name: str
    calls: int = 0
    meetings: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    sales: int = 0
    sales_amount: Decimal = Decimal(0)
    followups_created: int = 0
    overdue: int = 0
    target: int = 10


def work_logs(session: Session, advisors: Sequence[Profile], *, now: datetime, target: int
              ) -> dict[int, WorkLog]:
    """Today's numbers per advisor (their local day), in three queries for the batch.

    "Still overdue": open follow-ups whose time has passed (meeting reminders aside).
    """
    if not advisors:
        return {}
    ids = [a.id for a in advisors]
    days = {a.id: _local_day(now, a.timezone) for a in advisors}
    # counted up per advisor, then frozen into one WorkLog each
    counts: dict[int, Counter[str]] = {a.id: Counter() for a in advisors}
    outcomes: dict[int, Counter[str]] = {a.id: Counter() for a in advisors}
    sales_amount: dict[int, Decimal] = {a.id: Decimal(0) for a in advisors}
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
        tally = counts[advisor_id]
        tally["calls"] += channel == "phone"
        tally["meetings"] += channel in ("meeting", "visit")
        outcomes[advisor_id][outcome] += 1
        if outcome == "sale":
            tally["sales"] += 1
            sales_amount[advisor_id] += amount or Decimal(0)
    for advisor_id, created in session.execute(select(FollowUp.advisor_id, FollowUp.created_at)
                                               .where(FollowUp.advisor_id.in_(ids),
                                                      FollowUp.created_at >= earliest,
                                                      FollowUp.created_at < latest)):
        _, start, end = days[advisor_id]
        counts[advisor_id]["followups_created"] += start <= created < end
    for advisor_id, n in session.execute(select(FollowUp.advisor_id, func.count()).where(
            FollowUp.advisor_id.in_(ids), FollowUp.status.in_(ACTIVE),
            FollowUp.kind != "meeting_reminder", FollowUp.due_at < now)
            .group_by(FollowUp.advisor_id)):
        counts[advisor_id]["overdue"] = n
    return {a.id: WorkLog(a.name, outcomes=dict(outcomes[a.id]),
                          sales_amount=sales_amount[a.id],
                          target=a.call_target or target, **counts[a.id])
            for a in advisors}


def team_work_logs(session: Session, team_ids: list[int], *, now: datetime, target: int
                   ) -> dict[int, list[WorkLog]]:
    """Each team's work logs, one per active advisor sorted by name (batch: 4 queries)."""
    if not team_ids:
        return {}
    advisors = [Profile.of(u) for u in session.scalars(select(User).where(
        User.team_id.in_(team_ids), User.role == "advisor", User.active.is_(True))
        .order_by(User.name, User.id))]
    logs = work_logs(session, advisors, now=now, target=target)
    out: dict[int, list[WorkLog]] = {team_id: [] for team_id in team_ids}
    for a in advisors:
        out[a.team_id or 0].append(logs[a.id])
    return out
