"""Morning briefings: compose, schedule, broadcast once per member, acknowledge, nudge.

A broadcast is rows: one ``briefing_deliveries`` row per member chat, created when
the briefing goes out. Senders claim pending rows (status ``sending`` + lease)
before sending and mark them ``sent``; a crash mid-broadcast leaves claimed rows
whose lease expires and unclaimed rows still pending, so the next tick resumes
exactly where it stopped without sending anything twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.calendar import next_working_day, region_for
from coach.services.errors import ServiceError
from coach.services.outbox import claim_target
from coach.services.products import product_row
from storage.models import Briefing, BriefingDelivery, Client, Interaction, Team, User

__all__ = ["STYLES", "NUDGE_CHOICES", "BriefingStatus", "BriefingView", "Claimed", "Prepared",
           "TeamNumbers", "Unreported", "ack", "claim_deliveries", "claim_unreported",
           "create", "due_nudges", "due_to_start", "finish", "get_for_member",
           "hand_to_outbox", "languages", "latest_for_team", "link_group", "parse_products",
           "parse_advisor_targets", "parse_when", "personal_target", "prepare",
           "sent_count", "start_sending", "status", "yesterday_numbers"]

STYLES = ("standard", "short", "products", "kickoff")  # layouts in briefing_message.j2
NUDGE_CHOICES = ("09:00", "09:30", "10:00", "11:00", "off")
MAX_ATTEMPTS = 5  # (before the outbox) network failures before a delivery was given up
_RATING = re.compile(r"[(（]?(?<![A-Za-z0-9])[Rr]([1-5])(?![0-9])[)）]?")
_SPLIT_LINES = re.compile(r"[\n;；]+")
_LEAD_PUNCT = " \t:：,，-—·•*"

_HHMM = re.compile(r"([0-9]{1,2}):([0-9]{2})")


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


def personal_target(payload: dict[str, Any], user_id: int | None) -> str | None:
    """The target the lead set for this one advisor in the briefing, if any."""
    return next((target for uid, _name, target in payload.get("per_advisor") or []
                 if uid == user_id), None)


def nudge_time_for(send_at: datetime, choice: str | None, *, tz: str) -> datetime | None:
    """When the lead gets the list of who has not acknowledged.

    ``choice`` is a local "HH:MM" on the sending day (e.g. 09:00), never earlier than
    30 minutes after sending; "off" means no nudge; None means one hour after sending.
    """
    if choice == "off":
        return None
    if not choice:
        return send_at + timedelta(hours=1)
    hh, mm = (int(x) for x in choice.split(":"))
    zone = ZoneInfo(tz)
    at = datetime.combine(send_at.astimezone(zone).date(), time(hh, mm), zone)
    return max(at, send_at + timedelta(minutes=30))


@dataclass(frozen=True)
class BriefingView:
    """A stored briefing as handlers see it (``payload`` is a copy, not the row's JSON)."""

    id: int
    team_id: int
    status: str
    payload: dict[str, Any]
    send_at: datetime | None
    sent_at: datetime | None
    nudge_at: datetime | None

    @classmethod
    def of(cls, row: Briefing) -> BriefingView:
        return cls(row.id, row.team_id, row.status, dict(row.payload), row.send_at, row.sent_at,
                   row.nudge_at)


def create(session: Session, me: Me, payload: dict[str, Any], *, now: datetime,
           send_at: datetime | None, repeat_workdays: bool, include_group: bool,
           nudge: str | None = None) -> BriefingView:
    """Store a composed briefing; ``send_at`` None means now; ``nudge`` "HH:MM"|"off"."""
    if me.role not in ("lead", "admin") or me.team_id is None:
        raise ServiceError("role_forbidden")
    if payload.get("style", "standard") not in STYLES:
        raise ServiceError("briefing_style_invalid")
    _refuse_misselling(payload)
    when = send_at or now
    row = Briefing(team_id=me.team_id, lead_id=me.user_id, payload=payload,
                   body=str(payload.get("text", "")), photo_file_id=payload.get("photo"),
                   document_file_id=payload.get("document"),
                   status="scheduled", send_at=when, repeat_workdays=repeat_workdays,
                   include_group=include_group,
                   nudge_at=nudge_time_for(when, nudge, tz=me.timezone), created_at=now)
    session.add(row)
    session.flush()
    return BriefingView.of(row)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _texts(v)]
    return []


def _refuse_misselling(payload: dict[str, Any]) -> None:
    """A briefing tells advisors what to say: it must pass the same compliance rules as
    the practice scorer and the script library (coach/compliance/rules.yaml)."""
    from coach.compliance import check

    for text in _texts({k: v for k, v in payload.items() if k not in ("photo", "document")}):
        findings = check(text)
        if findings:
            raise ServiceError("briefing_misselling", rule=findings[0].rule,
                               words=findings[0].words)


def parse_products(session: Session, text: str, *, limit: int = 5) -> list[dict[str, Any]]:
    """One focus product per line: a catalogue code or name, or "name R2: selling points".

    Catalogue products bring their risk rating and benefit line with them; typed lines
    keep what the lead wrote (the rating is picked out when written as R1..R5).
    """
    out: list[dict[str, Any]] = []
    for raw in _SPLIT_LINES.split(text):
        line = raw.strip().strip(_LEAD_PUNCT)
        if not line:
            continue
        head = re.split(r"[\s:：,，]", line, maxsplit=1)[0]
        product = product_row(session, line) or product_row(session, head)
        if product is not None:
            rest = line[len(head):].strip(_LEAD_PUNCT) if head != line else ""
            points = rest or product.benefits or product.advantages or product.features or ""
            out.append({"name": product.name, "rating": product.risk_rating,
                        "points": points.strip()[:300]})
        else:
            match = _RATING.search(line)
            if match:
                name, points = line[:match.start()], line[match.end():]
            else:
                name, _, points = re.sub(r"[:：]", ":", line, count=1).partition(":")
            out.append({"name": name.strip(_LEAD_PUNCT)[:120] or line[:120],
                        "rating": f"R{match.group(1)}" if match else None,
                        "points": points.strip(_LEAD_PUNCT)[:300]})
        if len(out) == limit:
            break
    return out


def parse_advisor_targets(session: Session, me: Me, text: str) -> list[list[Any]]:
    """Lines "name: target" for advisors of the lead's team → [[user_id, name, target]]."""
    if me.team_id is None:
        raise ServiceError("team_required", role=me.role)
    advisors = list(session.scalars(select(User).where(
        User.team_id == me.team_id, User.role == "advisor", User.active.is_(True))))
    out: list[list[Any]] = []
    for raw in _SPLIT_LINES.split(text):
        line = raw.strip().strip(_LEAD_PUNCT)
        if not line:
            continue
        parts = re.split(r"[\s:：,，]+", line, maxsplit=1)
        name, target = parts[0], (parts[1] if len(parts) > 1 else "").strip()
        exact = [a for a in advisors if a.name.lower() == name.lower()]
        prefix = [a for a in advisors if a.name.lower().startswith(name.lower())]
        found = exact or (prefix if len(prefix) == 1 else [])
        if len(found) != 1 or not target:
            raise ServiceError("member_not_found", name=name)
        out = [row for row in out if row[0] != found[0].id]
        out.append([found[0].id, found[0].name, target[:200]])
    return out


def start_sending(session: Session, briefing_id: int, *, now: datetime,
                  region: str = "CN") -> int:
    """Create one delivery row per active member (and the linked group); returns how many."""
    # the conditional UPDATE is the claim: of two ticks racing, only one moves it on
    claimed = session.execute(update(Briefing).where(
        Briefing.id == briefing_id, Briefing.status == "scheduled").values(
        status="sent", sent_at=now).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    briefing = session.get(Briefing, briefing_id)
    if not claimed or briefing is None:
        return 0
    session.refresh(briefing)
    members = session.scalars(select(User).where(
        User.team_id == briefing.team_id, User.active.is_(True),
        User.role.in_(("advisor", "lead")), User.id != briefing.lead_id)).all()
    chats: list[tuple[int | None, int]] = [(m.id, m.telegram_id) for m in members]
    team = session.get(Team, briefing.team_id)
    if briefing.include_group and team is not None and team.group_chat_id:
        chats.append((None, team.group_chat_id))
    existing = set(session.scalars(select(BriefingDelivery.chat_id).where(
        BriefingDelivery.briefing_id == briefing.id)))
    for user_id, chat_id in chats:
        if chat_id not in existing:
            session.add(BriefingDelivery(briefing_id=briefing.id, user_id=user_id,
                                         chat_id=chat_id, status="pending"))
    session.flush()
    if briefing.repeat_workdays:
        _schedule_next(session, briefing, now, region)
    return len(chats)


def _schedule_next(session: Session, briefing: Briefing, now: datetime, region: str) -> None:
    lead = session.get(User, briefing.lead_id)
    zone = ZoneInfo(lead.timezone if lead else "Asia/Shanghai")
    assert briefing.send_at is not None
    local = briefing.send_at.astimezone(zone)
    # from today, not from the last send: a bot that was down does not catch up day by day
    day = next_working_day(max(local.date(), now.astimezone(zone).date()),
                           region_for(zone.key, region))
    when = datetime.combine(day, local.time(), zone)
    session.add(Briefing(team_id=briefing.team_id, lead_id=briefing.lead_id,
                         payload=briefing.payload, body=briefing.body,
                         photo_file_id=briefing.photo_file_id,
                         document_file_id=briefing.document_file_id, status="scheduled",
                         send_at=when, repeat_workdays=True, include_group=briefing.include_group,
                         nudge_at=when + ((briefing.nudge_at or when) - briefing.send_at),
                         created_at=now))


def due_to_start(session: Session, *, now: datetime, region: str = "CN") -> list[int]:
    """Scheduled briefings whose time has come, claimed by moving them on at once."""
    ids = list(session.scalars(select(Briefing.id).where(Briefing.status == "scheduled",
                                                         Briefing.send_at <= now)))
    started = []
    for briefing_id in ids:
        if start_sending(session, briefing_id, now=now, region=region):
            started.append(briefing_id)
    return started


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    """Pending rows (not waiting out a retry pause), and claimed rows whose sender died."""
    return or_(and_(BriefingDelivery.status == "pending",
                    or_(BriefingDelivery.lease_until.is_(None),
                        BriefingDelivery.lease_until < now)),
               and_(BriefingDelivery.status == "sending", BriefingDelivery.lease_until < now))


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    briefing_id: int
    chat_id: int
    user_id: int | None


def claim_deliveries(session: Session, *, now: datetime, lease_seconds: int,
                     limit: int = 100) -> list[Claimed]:
    """Atomically take pending deliveries (and ones whose sender died).

    ``UPDATE … WHERE id IN (SELECT … LIMIT n) AND <claimable again> RETURNING id``: two
    senders racing for the same rows each get a disjoint set, whatever the database.
    """
    candidates = (select(BriefingDelivery.id).where(_claimable(now))
                  .order_by(BriefingDelivery.id).limit(limit))
    target = claim_target(session, BriefingDelivery.id, candidates)  # SKIP LOCKED on PG
    if target is None:
        return []
    ids = session.execute(update(BriefingDelivery).where(
        target, _claimable(now)).values(
        status="sending", lease_until=now + timedelta(seconds=lease_seconds),
        attempts=BriefingDelivery.attempts + 1).returning(BriefingDelivery.id)
        .execution_options(synchronize_session=False)).scalars().all()
    if not ids:
        return []
    rows = session.execute(select(BriefingDelivery.id, BriefingDelivery.briefing_id,
                                  BriefingDelivery.chat_id, BriefingDelivery.user_id)
                           .where(BriefingDelivery.id.in_(ids)).order_by(BriefingDelivery.id))
    return [Claimed(*r) for r in rows]


def sent_count(session: Session) -> int:
    """Deliveries sent so far (all briefings): a broadcast run reports the difference."""
    return int(session.scalar(select(func.count(BriefingDelivery.id))
                              .where(BriefingDelivery.status == "sent")) or 0)


def hand_to_outbox(session: Session, delivery_ids: list[int]) -> None:
    """Claimed deliveries now wait in the outbox: no lease (never claimed again here);
    the outbox worker finishes each (:func:`finish`)."""
    session.execute(update(BriefingDelivery).where(BriefingDelivery.id.in_(delivery_ids))
                    .values(lease_until=None).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Unreported:
    """Members of one briefing who did not get it, not yet told to the lead."""

    briefing_id: int
    first_delivery_id: int  # identifies this report (the rows are claimed once)
    lead_telegram_id: int
    lead_language: str
    blocked: list[str]  # names of members who blocked the bot
    refused: list[str]  # names of members Telegram refused (or given up on)
    group_refused: bool  # the linked group chat was refused


def claim_unreported(session: Session, *, now: datetime) -> list[Unreported]:
    """Blocked or failed deliveries not yet reported, grouped per briefing (claimed once)."""
    rows = session.execute(
        update(BriefingDelivery)
        .where(BriefingDelivery.status.in_(("blocked", "failed")),
               BriefingDelivery.reported_at.is_(None))
        .values(reported_at=now)
        .returning(BriefingDelivery.briefing_id, BriefingDelivery.user_id,
                   BriefingDelivery.status, BriefingDelivery.id)
        .execution_options(synchronize_session=False)).all()
    by_briefing: dict[int, list[tuple[int | None, str]]] = {}
    first: dict[int, int] = {}
    for briefing_id, user_id, state, delivery_id in rows:
        by_briefing.setdefault(briefing_id, []).append((user_id, state))
        first[briefing_id] = min(first.get(briefing_id, delivery_id), delivery_id)
    out = []
    for briefing_id, items in sorted(by_briefing.items()):
        row = session.get(Briefing, briefing_id)
        lead = session.get(User, row.lead_id) if row is not None else None
        if lead is None:
            continue
        blocked = [u for u, state in items if state == "blocked" and u is not None]
        refused = [u for u, state in items if state == "failed" and u is not None]
        out.append(Unreported(briefing_id, first[briefing_id], lead.telegram_id, lead.language,
                              names_of(session, blocked) if blocked else [],
                              names_of(session, refused) if refused else [],
                              any(u is None and state == "failed" for u, state in items)))
    return out


def finish(session: Session, delivery_id: int, *, status: str, now: datetime,
           message_id: int | None = None, retry_after: float | None = None) -> str:
    """Record one send: ``sent`` / ``blocked`` / ``failed``, or ``retry`` (a pause, then again).

    A blocked member is marked inactive here, in the same transaction. Returns the
    row's new status ("" when the row was no longer ours to finish).
    """
    row = session.get(BriefingDelivery, delivery_id)
    if row is None or row.status != "sending":
        return ""
    row.lease_until = None
    if status == "retry":
        if row.attempts >= MAX_ATTEMPTS:
            row.status, row.error = "failed", "gave up after retries"
        else:  # wait a little longer each time before anyone claims it again
            pause = max(retry_after or 0, 30 * row.attempts)
            row.status, row.lease_until = "pending", now + timedelta(seconds=pause)
        return row.status
    row.status = status
    if status == "sent":
        row.sent_at, row.message_id = now, message_id
    if status == "blocked" and row.user_id is not None:
        member = session.get(User, row.user_id)
        if member is not None:
            member.active = False
    return row.status


@dataclass(frozen=True)
class Prepared:
    """What every delivery of one briefing shares, loaded once per broadcast run."""

    briefing_id: int
    payload: dict[str, Any]
    numbers: TeamNumbers
    photo: str | None
    document: str | None
    lead_chat: int
    lead_language: str
    group_names: list[str] = field(default_factory=list)  # client names to mask in groups


def prepare(session: Session, briefing_id: int, *, now: datetime) -> Prepared:
    row = session.get(Briefing, briefing_id)
    if row is None:
        raise ServiceError("briefing_not_found")
    lead = session.get(User, row.lead_id)
    assert lead is not None
    names: list[str] = []
    if row.include_group:  # one set query: every client name of the team's advisors
        names = list(session.scalars(select(Client.name).join(User, User.id == Client.advisor_id)
                                     .where(User.team_id == row.team_id).distinct()))
    return Prepared(row.id, dict(row.payload), yesterday_numbers(
        session, row.team_id, now=row.sent_at or now, tz=lead.timezone), row.photo_file_id,
        row.document_file_id, lead.telegram_id, lead.language, names)


def languages(session: Session, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.language).where(User.id.in_(user_ids)))
    return {user_id: language for user_id, language in rows}


def names_of(session: Session, user_ids: list[int]) -> list[str]:
    return list(session.scalars(select(User.name).where(User.id.in_(user_ids or [-1]))
                                .order_by(User.name)))


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
    failed: list[str] = field(default_factory=list)


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
        blocked=[r.name for r in rows if r.status == "blocked"],
        failed=[r.name for r in rows if r.status == "failed"])


def latest_for_team(session: Session, me: Me) -> int | None:
    if me.team_id is None:
        return None
    return session.scalar(select(func.max(Briefing.id)).where(
        Briefing.team_id == me.team_id, Briefing.status == "sent"))


def get_for_member(session: Session, me: Me, briefing_id: int) -> BriefingView:
    """A briefing of the caller's team; before it is sent, only its author or an admin."""
    briefing = session.get(Briefing, briefing_id)
    if briefing is None or briefing.team_id != me.team_id:
        raise ServiceError("briefing_not_found")
    if briefing.status != "sent" and briefing.lead_id != me.user_id and me.role != "admin":
        raise ServiceError("briefing_not_found")  # a draft is the lead's until it goes out
    return BriefingView.of(briefing)


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
    # ASCII digits only: int() also reads "٠٨" and " 8", which are no clock time
    match = _HHMM.fullmatch(text.strip().replace("：", ":"))
    if match is None:
        return None
    try:
        at = time(int(match[1]), int(match[2]))
    except ValueError:
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    when = datetime.combine(local.date(), at, zone)
    return when if when > now else datetime.combine(local.date() + timedelta(days=1), at, zone)

