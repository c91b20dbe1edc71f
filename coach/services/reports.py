"""Team numbers for leads: today's table, week/month reports, overdue follow-ups, referrals.

Set-based: each figure is one grouped query over the team, never a loop of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.clock import local_day
from coach.services.errors import ServiceError
from coach.services.followups import ACTIVE
from storage.models import (
    Briefing,
    BriefingDelivery,
    Client,
    FollowUp,
    Interaction,
    PracticeAssignment,
    PracticeSession,
    Referral,
    User,
)

__all__ = ["AdvisorNumbers", "PeriodReport", "ReferrerNumbers", "TeamToday",
           "overdue_for_team", "period", "reassign", "team_today"]


@dataclass
class AdvisorNumbers:
    user_id: int
    name: str
    calls: int = 0
    meetings: int = 0
    sales: int = 0
    amount: Decimal = Decimal(0)
    overdue: int = 0
    practice: int = 0
    practice_avg: int | None = None
    assignments_done: int = 0
    assignments_open: int = 0
    acked: bool | None = None


@dataclass(frozen=True)
class TeamToday:
    day: date
    advisors: list[AdvisorNumbers]
    referrals_today: dict[str, int]
    referrals_month: dict[str, int]


def _lead_team(me: Me) -> int:
    if me.role not in ("lead", "admin") or me.team_id is None:
        raise ServiceError("role_forbidden")
    return me.team_id


def _advisors(session: Session, team_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.team_id == team_id,
                                                   User.role == "advisor").order_by(User.name)))


def _fill(session: Session, numbers: dict[int, AdvisorNumbers], start: datetime, end: datetime,
          now: datetime, overdue_days: int) -> None:
    ids = list(numbers)
    for advisor_id, channel, outcome, n, amount in session.execute(select(
            Interaction.advisor_id, Interaction.channel, Interaction.outcome, func.count(),
            func.sum(Interaction.amount)).where(
            Interaction.advisor_id.in_(ids), Interaction.occurred_at >= start,
            Interaction.occurred_at < end).group_by(
            Interaction.advisor_id, Interaction.channel, Interaction.outcome)):
        row = numbers[advisor_id]
        row.calls += n if channel == "phone" else 0
        row.meetings += n if channel in ("meeting", "visit") else 0
        if outcome == "sale":
            row.sales += n
            row.amount += Decimal(amount or 0)
    for advisor_id, n in session.execute(select(FollowUp.advisor_id, func.count()).where(
            FollowUp.advisor_id.in_(ids), FollowUp.status.in_(ACTIVE),
            FollowUp.kind != "meeting_reminder",
            FollowUp.due_at < now - timedelta(days=overdue_days)).group_by(FollowUp.advisor_id)):
        numbers[advisor_id].overdue = n
    for user_id, n, avg in session.execute(select(
            PracticeSession.user_id, func.count(), func.avg(PracticeSession.total_score)).where(
            PracticeSession.user_id.in_(ids), PracticeSession.started_at >= start,
            PracticeSession.started_at < end).group_by(PracticeSession.user_id)):
        numbers[user_id].practice = n
        numbers[user_id].practice_avg = round(avg) if avg is not None else None
    for advisor_id, status, n in session.execute(select(
            PracticeAssignment.advisor_id, PracticeAssignment.status, func.count()).where(
            PracticeAssignment.advisor_id.in_(ids)).group_by(
            PracticeAssignment.advisor_id, PracticeAssignment.status)):
        if status == "done":
            numbers[advisor_id].assignments_done = n
        else:
            numbers[advisor_id].assignments_open = n


def _referral_counts(session: Session, team_id: int, since: datetime) -> dict[str, int]:
    return {name: n for name, n in session.execute(
        select(User.name, func.count()).join(Referral, Referral.referrer_id == User.id)
        .where(Referral.team_id == team_id, Referral.created_at >= since)
        .group_by(User.name).order_by(User.name))}


@dataclass
class ReferrerNumbers:
    """One referrer's referrals in a period: by outcome and by day."""

    name: str
    total: int = 0
    accepted: int = 0
    declined: int = 0
    pending: int = 0
    per_day: dict[date, int] = field(default_factory=dict)


def _referrers(session: Session, team_id: int, start: datetime, end: datetime,
               tz: str) -> list[ReferrerNumbers]:
    """Set-based: one grouped query for outcomes, one narrow query for the day buckets."""
    out: dict[str, ReferrerNumbers] = {}
    for name, status, n in session.execute(
            select(User.name, Referral.status, func.count())
            .join(Referral, Referral.referrer_id == User.id)
            .where(Referral.team_id == team_id, Referral.created_at >= start,
                   Referral.created_at < end).group_by(User.name, Referral.status)):
        row = out.setdefault(name, ReferrerNumbers(name))
        row.total += n
        if status in ("accepted", "declined", "pending"):
            setattr(row, status, getattr(row, status) + n)
    zone = ZoneInfo(tz)
    for name, created in session.execute(
            select(User.name, Referral.created_at).join(Referral, Referral.referrer_id == User.id)
            .where(Referral.team_id == team_id, Referral.created_at >= start,
                   Referral.created_at < end)):
        day = created.astimezone(zone).date()
        per_day = out[name].per_day
        per_day[day] = per_day.get(day, 0) + 1
    return [out[name] for name in sorted(out)]


def _day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return datetime.combine(day, time(0), zone), datetime.combine(day + timedelta(days=1),
                                                                  time(0), zone)


def team_today(session: Session, me: Me, *, now: datetime, overdue_days: int = 3) -> TeamToday:
    team_id = _lead_team(me)
    day = local_day(now, me.timezone)
    start, end = _day_bounds(day, me.timezone)
    advisors = _advisors(session, team_id)
    numbers = {a.id: AdvisorNumbers(a.id, a.name) for a in advisors}
    if numbers:
        _fill(session, numbers, start, end, now, overdue_days)
        latest = session.scalar(select(func.max(Briefing.id)).where(
            Briefing.team_id == team_id, Briefing.status == "sent", Briefing.sent_at >= start))
        if latest is not None:
            acked = dict(session.execute(select(BriefingDelivery.user_id,
                                                BriefingDelivery.acked_at).where(
                BriefingDelivery.briefing_id == latest)).all())
            for row in numbers.values():
                row.acked = acked.get(row.user_id) is not None
    month_start, _ = _day_bounds(day.replace(day=1), me.timezone)
    return TeamToday(day, list(numbers.values()), _referral_counts(session, team_id, start),
                     _referral_counts(session, team_id, month_start))


@dataclass(frozen=True)
class PeriodReport:
    kind: str
    start: date
    end: date  # inclusive
    advisors: list[AdvisorNumbers]
    daily: list[tuple[date, int, int]] = field(default_factory=list)  # day, calls, sales
    referrals: dict[str, int] = field(default_factory=dict)
    complaints: Any | None = None  # service_records.ComplaintCounts when that module exists
    referrers: list[ReferrerNumbers] = field(default_factory=list)


def period(session: Session, me: Me, kind: str, *, now: datetime) -> PeriodReport:
    """``week`` (last 7 days) or ``month`` (this calendar month) for the lead's team."""
    if kind not in ("week", "month"):
        raise ServiceError("period_invalid")
    team_id = _lead_team(me)
    today = local_day(now, me.timezone)
    first = today - timedelta(days=6) if kind == "week" else today.replace(day=1)
    start, _ = _day_bounds(first, me.timezone)
    _, end = _day_bounds(today, me.timezone)
    advisors = _advisors(session, team_id)
    numbers = {a.id: AdvisorNumbers(a.id, a.name) for a in advisors}
    daily: dict[date, list[int]] = {first + timedelta(days=i): [0, 0]
                                    for i in range((today - first).days + 1)}
    if numbers:
        _fill(session, numbers, start, end, now, 3)
        zone = ZoneInfo(me.timezone)
        for when, channel, outcome in session.execute(select(
                Interaction.occurred_at, Interaction.channel, Interaction.outcome).where(
                Interaction.advisor_id.in_(list(numbers)), Interaction.occurred_at >= start,
                Interaction.occurred_at < end)):
            bucket = daily.setdefault(when.astimezone(zone).date(), [0, 0])
            bucket[0] += channel == "phone"
            bucket[1] += outcome == "sale"
    referrers = _referrers(session, team_id, start, end, me.timezone)
    return PeriodReport(kind, first, today, list(numbers.values()),
                        [(d, c, s) for d, (c, s) in sorted(daily.items())],
                        {r.name: r.total for r in referrers},
                        _complaints(session, team_id, today.replace(day=1), me.timezone),
                        referrers=referrers)


def _complaints(session: Session, team_id: int, month: date, tz: str) -> Any | None:
    try:
        from coach.services.service_records import complaint_counts
    except ImportError:  # pragma: no cover - the compliance module is optional
        return None
    return complaint_counts(session, team_id, month, tz=tz)


@dataclass(frozen=True)
class OverdueLine:
    id: int
    advisor: str
    client: str
    reason: str
    due_at: datetime
    days: int


def overdue_for_team(session: Session, me: Me, *, now: datetime, days: int = 3
                     ) -> tuple[list[OverdueLine], list[tuple[int, str]]]:
    """The team's follow-ups overdue by more than ``days``, and who could take them."""
    team_id = _lead_team(me)
    advisors = _advisors(session, team_id)
    rows = session.execute(select(FollowUp.id, User.name, Client.name, FollowUp.reason,
                                  FollowUp.due_at)
                           .join(User, User.id == FollowUp.advisor_id)
                           .join(Client, Client.id == FollowUp.client_id)
                           .where(User.team_id == team_id, FollowUp.status.in_(ACTIVE),
                                  FollowUp.kind != "meeting_reminder",
                                  FollowUp.due_at < now - timedelta(days=days))
                           .order_by(FollowUp.due_at)).all()
    return ([OverdueLine(r[0], r[1], r[2], r[3], r[4], (now - r[4]).days) for r in rows],
            [(a.id, a.name) for a in advisors if a.active])


@dataclass(frozen=True)
class Reassigned:
    """Who got a follow-up, who had it, and whether the client moved too."""

    name: str
    telegram_id: int
    language: str
    previous_name: str
    previous_telegram_id: int
    previous_language: str
    client_name: str
    with_client: bool


def reassign_targets(session: Session, me: Me, followup_id: int) -> list[tuple[int, str]]:
    """Active advisors of the lead's team a follow-up can go to: everyone but its owner."""
    team_id = _lead_team(me)
    row = session.get(FollowUp, followup_id)
    if row is None:
        raise ServiceError("followup_not_found")
    return [(a.id, a.name) for a in _advisors(session, team_id)
            if a.active and a.id != row.advisor_id]


def reassign(session: Session, me: Me, followup_id: int, to_user_id: int, *,
             with_client: bool = False) -> Reassigned:
    """Move a team follow-up to another advisor of the same team.

    The client stays with its advisor unless the lead explicitly hands it over
    (``with_client``): covering one overdue call must not quietly move a book.
    """
    team_id = _lead_team(me)
    row = session.get(FollowUp, followup_id)
    target = session.get(User, to_user_id)
    owner = session.get(User, row.advisor_id) if row else None
    if row is None or owner is None or owner.team_id != team_id:
        raise ServiceError("followup_not_found")
    if (target is None or target.team_id != team_id or target.role != "advisor"
            or target.id == owner.id):
        raise ServiceError("member_not_found", name=str(to_user_id))
    row.advisor_id, row.status, row.escalated_lead_at = target.id, "pending", None
    client = session.get(Client, row.client_id)
    if client is not None and with_client:
        client.advisor_id = target.id
    return Reassigned(target.name, target.telegram_id, target.language, owner.name,
                      owner.telegram_id, owner.language, client.name if client else "",
                      with_client)


