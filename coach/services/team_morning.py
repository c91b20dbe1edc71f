"""The team's morning for leads: what the advisors of each lead's team face today.

A lead without clients of their own would otherwise get "you have no clients" every
morning; with this they see the team's follow-ups due and overdue (per advisor), today's
appointments, products maturing soon and who is on leave. A lead who does have clients
gets their own checklist plus a short summary of the same numbers.

Queries are set-based over a batch of leads (one per section for all their teams); each
lead's rows are then picked by their own local day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.cadence import CadenceConfig
from coach.services.followups import ACTIVE
from coach.services.people import Profile
from storage.models import Appointment, Client, FollowUp, Holding, Leave, User

__all__ = ["AdvisorMorning", "TeamFollowUp", "TeamMorning", "mornings"]


@dataclass(frozen=True)
class AdvisorMorning:
    """One advisor's load today; ``on_leave_until``/``covered_by`` when they are away."""

    user_id: int
    name: str
    due_today: int = 0
    overdue: int = 0
    flagged: int = 0  # overdue by at least the flag threshold (🔴)
    appointments: int = 0
    on_leave_until: date | None = None
    covered_by: str | None = None


@dataclass(frozen=True)
class TeamFollowUp:
    advisor: str
    client_name: str
    reason: str
    due_at: datetime
    days_late: int  # 0: due today
    flagged: bool


@dataclass(frozen=True)
class TeamMorning:
    today: date
    advisors: list[AdvisorMorning]
    followups: list[TeamFollowUp] = field(default_factory=list)  # most overdue first
    appointments: list[tuple[datetime, str, str, str | None]] = field(
        default_factory=list)  # when, advisor, client, note
    maturities: list[tuple[date, str, str, str]] = field(
        default_factory=list)  # day, advisor, client, product

    @property
    def due_today(self) -> int:
        return sum(a.due_today for a in self.advisors)

    @property
    def overdue(self) -> int:
        return sum(a.overdue for a in self.advisors)

    @property
    def flagged(self) -> int:
        return sum(a.flagged for a in self.advisors)

    @property
    def on_leave(self) -> list[AdvisorMorning]:
        return [a for a in self.advisors if a.on_leave_until is not None]

    @property
    def most_overdue(self) -> list[AdvisorMorning]:
        """Advisors with overdue follow-ups, the most first (for the short summary)."""
        return sorted((a for a in self.advisors if a.overdue),
                      key=lambda a: (-a.flagged, -a.overdue, a.name))

    @property
    def quiet(self) -> bool:
        """Nothing due, booked or maturing across the team."""
        return not (self.followups or self.appointments or self.maturities)


def _day(now: datetime, tz: str) -> tuple[date, datetime, datetime]:
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    return (today, datetime.combine(today, time(0), zone),
            datetime.combine(today + timedelta(days=1), time(0), zone))


def mornings(session: Session, leads: Sequence[Profile], *, now: datetime, config: CadenceConfig
             ) -> dict[int, TeamMorning]:
    """lead id → their team's morning, for every lead of ``leads`` who has a team."""
    leads = [lead for lead in leads if lead.team_id is not None]
    if not leads:
        return {}
    team_ids = sorted({lead.team_id for lead in leads if lead.team_id is not None})
    advisors = list(session.scalars(select(User).where(
        User.team_id.in_(team_ids), User.role == "advisor", User.active.is_(True),
        User.disabled_at.is_(None)).order_by(User.name, User.id)))
    by_team: defaultdict[int, list[User]] = defaultdict(list)
    for a in advisors:
        by_team[a.team_id or 0].append(a)
    ids = [a.id for a in advisors]
    names = {a.id: a.name for a in advisors}
    zones = {a.id: a.timezone for a in advisors}
    days = {lead.id: _day(now, lead.timezone) for lead in leads}
    first = min(d[0] for d in days.values())
    last = max(d[0] for d in days.values())
    end = max(d[2] for d in days.values())
    start = min(d[1] for d in days.values())

    followups = session.execute(
        select(FollowUp.advisor_id, Client.name, FollowUp.reason, FollowUp.due_at)
        .join(Client, Client.id == FollowUp.client_id)
        .where(FollowUp.advisor_id.in_(ids), FollowUp.status.in_(ACTIVE),
               FollowUp.kind != "meeting_reminder", FollowUp.due_at < end,
               Client.forgotten.is_(False))
        .order_by(FollowUp.due_at)).all() if ids else []
    appointments = session.execute(
        select(Appointment.advisor_id, Appointment.starts_at, Client.name, Appointment.note)
        .join(Client, Client.id == Appointment.client_id)
        .where(Appointment.advisor_id.in_(ids), Appointment.starts_at >= start,
               Appointment.starts_at < end, Client.forgotten.is_(False))
        .order_by(Appointment.starts_at)).all() if ids else []
    maturities = session.execute(
        select(Client.advisor_id, Holding.maturity_date, Client.name, Holding.product_name)
        .join(Client, Client.id == Holding.client_id)
        .where(Client.advisor_id.in_(ids), Client.forgotten.is_(False),
               Holding.maturity_date >= first,
               Holding.maturity_date <= last + timedelta(days=config.maturity_days))
        .order_by(Holding.maturity_date)).all() if ids else []
    leaves = session.execute(
        select(Leave.advisor_id, Leave.starts_on, Leave.ends_on, User.name)
        .join(User, User.id == Leave.colleague_id)
        .where(Leave.advisor_id.in_(ids), Leave.starts_on <= last,
               Leave.ends_on >= first)).all() if ids else []

    out: dict[int, TeamMorning] = {}
    for lead in leads:
        today, day_start, day_end = days[lead.id]
        members = by_team.get(lead.team_id or 0, [])
        # counts per advisor, gathered here and frozen into AdvisorMorning at the end
        counts = {a.id: {"due_today": 0, "overdue": 0, "flagged": 0, "appointments": 0}
                  for a in members}
        away: dict[int, tuple[date, str]] = {}
        team_followups: list[TeamFollowUp] = []
        team_appointments: list[tuple[datetime, str, str, str | None]] = []
        team_maturities: list[tuple[date, str, str, str]] = []
        for advisor_id, client, reason, due in followups:
            row = counts.get(advisor_id)
            if row is None or due >= day_end:
                continue
            # lateness in the advisor's own calendar days, as their checklist counts it
            zone = ZoneInfo(zones[advisor_id])
            late = max(0, (now.astimezone(zone).date() - due.astimezone(zone).date()).days)
            flagged = late >= config.flag_overdue_days
            if late:
                row["overdue"] += 1
                row["flagged"] += flagged
            else:
                row["due_today"] += 1
            team_followups.append(TeamFollowUp(names[advisor_id], client, reason, due, late,
                                               flagged))
        team_followups.sort(key=lambda f: (-f.days_late, f.due_at, f.advisor))
        for advisor_id, starts_at, client, note in appointments:
            if advisor_id in counts and day_start <= starts_at < day_end:
                counts[advisor_id]["appointments"] += 1
                team_appointments.append((starts_at, names[advisor_id], client, note))
        for advisor_id, day, client, product in maturities:
            if advisor_id in counts and day is not None and today <= day <= today + timedelta(
                    days=config.maturity_days):
                team_maturities.append((day, names[advisor_id], client, product))
        for advisor_id, starts_on, ends_on, colleague in leaves:
            if advisor_id in counts and starts_on <= today <= ends_on:
                away[advisor_id] = (ends_on, colleague)
        advisors_today = [
            AdvisorMorning(a.id, a.name, **counts[a.id],
                           on_leave_until=away[a.id][0] if a.id in away else None,
                           covered_by=away[a.id][1] if a.id in away else None)
            for a in members]
        out[lead.id] = TeamMorning(today, advisors_today, team_followups, team_appointments,
                                   team_maturities)
    return out
