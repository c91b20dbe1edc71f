"""Morning briefings: compose, schedule, broadcast once per member, acknowledge, nudge.

A broadcast is rows: one ``briefing_deliveries`` row per member chat, created when
the briefing goes out. Senders claim pending rows (status ``sending`` + lease)
before sending and mark them ``sent``; a crash mid-broadcast leaves claimed rows
whose lease expires and unclaimed rows still pending, so the next tick resumes
exactly where it stopped without sending anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.calendar import is_working_day
from coach.services.errors import ServiceError
from storage.models import Briefing, BriefingDelivery, Interaction, Team, User

__all__ = ["TeamNumbers", "ack", "claim_deliveries", "create", "due_to_start", "start_sending",
           "status", "yesterday_numbers"]


@dataclass(frozen=True)
class TeamNumbers:
    calls: int
    meetings: int
    sales: int
    amount: Decimal


def yesterday_numbers(session: Session, team_id: int, *, now: datetime, tz: str) -> TeamNumbers:
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=1), time(0), zone)
    end = datetime.combine(today, time(0), zone)
    members = select(User.id).where(User.team_id == team_id)
    rows = session.execute(select(Interaction.channel, Interaction.outcome, Interaction.amount)
                           .where(Interaction.advisor_id.in_(members),
                                  Interaction.occurred_at >= start,
                                  Interaction.occurred_at < end)).all()
    return TeamNumbers(
        calls=sum(r.channel == "phone" for r in rows),
        meetings=sum(r.channel in ("meeting", "visit") for r in rows),
        sales=sum(r.outcome == "sale" for r in rows),
        amount=sum((r.amount or Decimal(0) for r in rows if r.outcome == "sale"), Decimal(0)))


def create(session: Session, me: Me, payload: dict[str, Any], *, now: datetime,
           send_at: datetime | None, repeat_workdays: bool, include_group: bool,
           nudge_after: timedelta = timedelta(hours=1)) -> Briefing:
    """Store a composed briefing; ``send_at`` None means now."""
    if me.role not in ("lead", "admin") or me.team_id is None:
        raise ServiceError("role_forbidden")
    when = send_at or now
    row = Briefing(team_id=me.team_id, lead_id=me.user_id, payload=payload,
                   body=str(payload.get("text", "")), photo_file_id=payload.get("photo"),
                   status="scheduled", send_at=when, repeat_workdays=repeat_workdays,
                   include_group=include_group, nudge_at=when + nudge_after, created_at=now)
    session.add(row)
    session.flush()
    return row


def start_sending(session: Session, briefing_id: int, *, now: datetime) -> int:
    """Create one delivery row per active member (and the linked group); returns how many."""
    briefing = session.get(Briefing, briefing_id)
    if briefing is None or briefing.status not in ("scheduled",):
        return 0
    members = session.scalars(select(User).where(
        User.team_id == briefing.team_id, User.active.is_(True),
        User.role.in_(("advisor", "lead")), User.id != briefing.lead_id)).all()
    chats = [(m.id, m.telegram_id) for m in members]
    team = session.get(Team, briefing.team_id)
    if briefing.include_group and team is not None and team.group_chat_id:
        chats.append((None, team.group_chat_id))
    existing = set(session.scalars(select(BriefingDelivery.chat_id).where(
        BriefingDelivery.briefing_id == briefing.id)))
    for user_id, chat_id in chats:
        if chat_id not in existing:
            session.add(BriefingDelivery(briefing_id=briefing.id, user_id=user_id,
                                         chat_id=chat_id, status="pending"))
    briefing.status, briefing.sent_at = "sent", now
    if briefing.repeat_workdays:
        _schedule_next(session, briefing, now)
    return len(chats)


def _schedule_next(session: Session, briefing: Briefing, now: datetime) -> None:
    lead = session.get(User, briefing.lead_id)
    zone = ZoneInfo(lead.timezone if lead else "Asia/Shanghai")
    assert briefing.send_at is not None
    local = briefing.send_at.astimezone(zone)
    day = local.date() + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    when = datetime.combine(day, local.time(), zone)
    session.add(Briefing(team_id=briefing.team_id, lead_id=briefing.lead_id,
                         payload=briefing.payload, body=briefing.body,
                         photo_file_id=briefing.photo_file_id, status="scheduled",
                         send_at=when, repeat_workdays=True, include_group=briefing.include_group,
                         nudge_at=when + ((briefing.nudge_at or when) - briefing.send_at),
                         created_at=now))


def due_to_start(session: Session, *, now: datetime) -> list[int]:
    """Scheduled briefings whose time has come, claimed by moving them on at once."""
    ids = list(session.scalars(select(Briefing.id).where(Briefing.status == "scheduled",
                                                         Briefing.send_at <= now)))
    started = []
    for briefing_id in ids:
        if start_sending(session, briefing_id, now=now):
            started.append(briefing_id)
    return started


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    return or_(BriefingDelivery.status == "pending",
               and_(BriefingDelivery.status == "sending", BriefingDelivery.lease_until < now))


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    briefing_id: int
    chat_id: int
    user_id: int | None


def claim_deliveries(session: Session, *, now: datetime, lease_seconds: int,
                     limit: int = 100) -> list[Claimed]:
    """Atomically take pending deliveries (and ones whose sender died)."""
    candidates = (select(BriefingDelivery.id).where(_claimable(now))
                  .order_by(BriefingDelivery.id).limit(limit).scalar_subquery())
    ids = session.execute(update(BriefingDelivery).where(
        BriefingDelivery.id.in_(candidates), _claimable(now)).values(
        status="sending", lease_until=now + timedelta(seconds=lease_seconds),
        attempts=BriefingDelivery.attempts + 1).returning(BriefingDelivery.id)
        .execution_options(synchronize_session=False)).scalars().all()
    if not ids:
        return []
    rows = session.execute(select(BriefingDelivery.id, BriefingDelivery.briefing_id,
                                  BriefingDelivery.chat_id, BriefingDelivery.user_id)
                           .where(BriefingDelivery.id.in_(ids)).order_by(BriefingDelivery.id))
    return [Claimed(*r) for r in rows]


def finish(session: Session, delivery_id: int, *, status: str, now: datetime,
           message_id: int | None = None) -> None:
    """``sent`` / ``blocked`` / ``failed``, or ``pending`` again to retry."""
    row = session.get(BriefingDelivery, delivery_id)
    if row is None or row.status != "sending":
        return
    row.status, row.lease_until = status, None
    if status == "sent":
        row.sent_at, row.message_id = now, message_id


def ack(session: Session, me: Me, delivery_id: int, *, now: datetime) -> bool:
    row = session.get(BriefingDelivery, delivery_id)
    if row is None or row.user_id != me.user_id:
        raise ServiceError("briefing_not_found")
    first = row.acked_at is None
    row.acked_at = row.acked_at or now
    return first


@dataclass(frozen=True)
class BriefingStatus:
    briefing_id: int
    sent_at: datetime | None
    acked: list[str]
    waiting: list[str]
    blocked: list[str]


def status(session: Session, briefing_id: int) -> BriefingStatus:
    rows = session.execute(select(BriefingDelivery.status, BriefingDelivery.acked_at, User.name)
                           .join(User, User.id == BriefingDelivery.user_id)
                           .where(BriefingDelivery.briefing_id == briefing_id)
                           .order_by(User.name)).all()
    briefing = session.get(Briefing, briefing_id)
    return BriefingStatus(
        briefing_id, briefing.sent_at if briefing else None,
        acked=[r.name for r in rows if r.acked_at],
        waiting=[r.name for r in rows if not r.acked_at and r.status in ("sent", "sending",
                                                                           "pending")],
        blocked=[r.name for r in rows if r.status == "blocked"])


def latest_for_team(session: Session, me: Me) -> int | None:
    if me.team_id is None:
        return None
    return session.scalar(select(func.max(Briefing.id)).where(
        Briefing.team_id == me.team_id, Briefing.status == "sent"))


def get_for_member(session: Session, me: Me, briefing_id: int) -> Briefing:
    briefing = session.get(Briefing, briefing_id)
    if briefing is None or briefing.team_id != me.team_id:
        raise ServiceError("briefing_not_found")
    return briefing


def due_nudges(session: Session, *, now: datetime) -> list[tuple[int, int, str, BriefingStatus]]:
    """Briefings past their nudge time (claimed once): lead telegram id, language, status."""
    ids = session.execute(update(Briefing).where(
        Briefing.status == "sent", Briefing.nudge_at <= now, Briefing.nudged_at.is_(None))
        .values(nudged_at=now).returning(Briefing.id, Briefing.lead_id)
        .execution_options(synchronize_session=False)).all()
    out = []
    for briefing_id, lead_id in ids:
        lead = session.get(User, lead_id)
        if lead is not None:
            out.append((briefing_id, lead.telegram_id, lead.language,
                        status(session, briefing_id)))
    return out


def link_group(session: Session, me: Me, chat_id: int) -> str:
    if me.role not in ("lead", "admin") or me.team_id is None:
        raise ServiceError("role_forbidden")
    team = session.get(Team, me.team_id)
    assert team is not None
    team.group_chat_id = chat_id
    return team.name


def parse_when(text: str, *, now: datetime, tz: str) -> datetime | None:
    """"08:15" today (tomorrow if past) in the lead's zone; None if unreadable."""
    try:
        hh, mm = (int(x) for x in text.strip().replace("：", ":").split(":"))
        at = time(hh, mm)
    except (ValueError, TypeError):
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    when = datetime.combine(local.date(), at, zone)
    return when if when > now else datetime.combine(local.date() + timedelta(days=1), at, zone)

