"""Follow-ups as database rows: claim, remind once, snooze, close, escalate, hand over.

Exactly-once reminders: a scheduler tick *claims* due rows (status ``sending`` + a
lease; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, serialised writers on SQLite), queues
one outbox message per row (key ``reminder:<id>:<due>``) and marks it ``sent``, all in
one transaction (``bot/jobs/reminders.py``). Delivery trouble (timeouts, 429, a blocked
chat) is the outbox's business (``coach.services.outbox``); ``due_at`` is never moved by
it (it is the advisor's business date: overdue counts and escalation depend on it). A
claim left ``sending`` by a process that died mid-transaction is rolled back by the
database; one left by an older version is taken again once its lease has expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.calendar import add_working_days, is_working_day, region_for
from coach.clock import Clock
from coach.services import people
from coach.services.errors import ServiceError
from coach.services.outbox import claim_target
from coach.vocabulary import OPEN_FOLLOWUP
from storage.models import Appointment, Client, FollowUp, Interaction, Leave, User

__all__ = [
    "ACTIVE",
    "DueReminder",
    "claim_due",
    "cancel",
    "complete",
    "escalation_moment",
    "escalations_due",
    "FollowUpView",
    "handover",
    "list_for",
    "mark_sent",
    "open_own",
    "OverdueFollowUp",
    "overdue_followups",
    "release",
    "reminder_details",
    "reschedule",
    "return_from_leave",
    "route",
    "snooze_target",
    "unmark_escalated",
]

ACTIVE = OPEN_FOLLOWUP
CLAIMABLE = ("pending", "snoozed")
MAX_LEAVE_DAYS = 92


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    return or_(and_(FollowUp.status.in_(CLAIMABLE), FollowUp.due_at <= now),
               and_(FollowUp.status == "sending", FollowUp.lease_until < now))


def claim_due(session: Session, *, now: datetime, lease_seconds: int, worker: str,
              limit: int = 100) -> list[int]:
    """Atomically take up to ``limit`` due follow-ups for this worker."""
    # A disabled advisor, or one who blocked the bot (active false), gets no reminders;
    # theirs wait, and fire if they are enabled again or write to the bot again.
    disabled = select(User.id).where(User.disabled_at.is_not(None) | User.active.is_(False))
    candidates = (select(FollowUp.id).where(_claimable(now), FollowUp.advisor_id.not_in(disabled))
                  .order_by(FollowUp.due_at).limit(limit))
    target = claim_target(session, FollowUp.id, candidates)  # SKIP LOCKED on PostgreSQL
    if target is None:
        return []
    result = session.execute(
        update(FollowUp)
        .where(target, _claimable(now))
        .values(status="sending", lease_until=now + timedelta(seconds=lease_seconds),
                claimed_by=worker, attempts=FollowUp.attempts + 1)
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False))
    return sorted(result.scalars().all())


def mark_sent(session: Session, followup_id: int, *, worker: str, now: datetime) -> bool:
    """Record a delivered reminder (only if this worker still holds the claim)."""
    result = session.execute(
        update(FollowUp).where(FollowUp.id == followup_id, FollowUp.status == "sending",
                               FollowUp.claimed_by == worker)
        .values(status="sent", sent_at=now, lease_until=None)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, followup_id: int, *, worker: str, retry_at: datetime,
            give_up: bool = False) -> None:
    """A send failed: claimable again from ``retry_at``, or give up (bot blocked).

    Retrying keeps the row ``sending`` with the lease shortened to ``retry_at``:
    :func:`claim_due` takes expired leases, and ``due_at`` stays as the advisor set it.
    """
    values = ({"status": "sent", "lease_until": None} if give_up
              else {"lease_until": retry_at, "claimed_by": None})
    session.execute(
        update(FollowUp).where(FollowUp.id == followup_id, FollowUp.claimed_by == worker,
                               FollowUp.status == "sending")
        .values(**values).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class DueReminder:
    followup_id: int
    telegram_id: int
    language: str
    timezone: str
    client_id: int
    client_name: str
    kind: str
    reason: str
    due_at: datetime
    last_contact_at: datetime | None
    last_outcome: str | None
    note: str | None
    meeting_at: datetime | None = None  # a meeting reminder: the meeting's own time
    meeting_place: str | None = None
    salutation: str | None = None
    advisor_name: str | None = None


def reminder_details(session: Session, ids: list[int]) -> list[DueReminder]:
    rows = session.execute(
        select(FollowUp, Client, User, Appointment).join(Client, Client.id == FollowUp.client_id)
        .join(User, User.id == FollowUp.advisor_id)
        .outerjoin(Appointment, Appointment.id == FollowUp.appointment_id)
        .where(FollowUp.id.in_(ids))).all()
    last = {cid: outcome for cid, outcome in session.execute(
        select(Interaction.client_id, Interaction.outcome)
        .where(Interaction.client_id.in_([c.id for _, c, _, _ in rows]))
        .order_by(Interaction.occurred_at))}
    return [DueReminder(f.id, u.telegram_id, u.language, u.timezone, c.id, c.name, f.kind,
                        f.reason, f.due_at, c.last_contact_at, last.get(c.id), f.note,
                        a.starts_at if a else None, a.place if a else None,
                        c.salutation, u.name)
            for f, c, u, a in rows]


def _own(session: Session, me: Me, followup_id: int) -> FollowUp:
    """A follow-up the caller owns (callback data is never trusted)."""
    row = session.get(FollowUp, followup_id)
    if row is None or row.advisor_id != me.user_id:
        raise ServiceError("followup_not_found")
    return row


@dataclass(frozen=True)
class Handled:
    """How a follow-up was closed, for a button pressed on its old reminder."""

    status: str
    when: datetime | None


def handled(session: Session, me: Me, followup_id: int) -> Handled | None:
    """None while the caller's follow-up is open; else how and when it was closed."""
    row = _own(session, me, followup_id)
    if row.status in ("done", "cancelled", "reassigned"):
        return Handled(row.status, row.done_at)
    return None


@dataclass(frozen=True)
class FollowUpView:
    """One follow-up as handlers see it after a change (no ORM row leaves the session)."""

    id: int
    client_id: int
    status: str
    due_at: datetime
    reason: str
    kind: str

    @classmethod
    def of(cls, row: FollowUp) -> FollowUpView:
        return cls(row.id, row.client_id, row.status, row.due_at, row.reason, row.kind)


def open_own(session: Session, me: Me, followup_id: int) -> FollowUpView:
    """A follow-up the caller owns that is still open (before asking for a new date)."""
    row = _own(session, me, followup_id)
    if row.status not in ACTIVE:
        raise ServiceError("followup_closed")
    return FollowUpView.of(row)


def reschedule(session: Session, me: Me, followup_id: int, due: datetime) -> FollowUpView:
    """Snooze or move a follow-up; it is reminded again at ``due``."""
    row = _own(session, me, followup_id)
    if row.status in ("done", "cancelled", "reassigned"):
        raise ServiceError("followup_closed")
    row.due_at, row.status, row.lease_until, row.claimed_by = due, "snoozed", None, None
    row.escalated_lead_at = None
    return FollowUpView.of(row)


def snooze_target(kind: str, now: datetime, tz: str) -> datetime:
    """``1h`` → an hour from now; ``tomorrow`` → tomorrow 09:00 local."""
    if kind == "1h":
        return now + timedelta(hours=1)
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date() + timedelta(days=1), time(9, 0), ZoneInfo(tz))


def complete(session: Session, me: Me, followup_id: int, *, clock: Clock) -> FollowUpView:
    row = _own(session, me, followup_id)
    if row.status not in ("done", "cancelled"):
        row.status, row.done_at = "done", clock.now()
    return FollowUpView.of(row)


def cancel(session: Session, me: Me, followup_id: int, *, clock: Clock) -> FollowUpView:
    row = _own(session, me, followup_id)
    if row.status not in ("done", "cancelled"):
        row.status, row.done_at = "cancelled", clock.now()
    return FollowUpView.of(row)


@dataclass(frozen=True)
class FollowUpLine:
    id: int
    client_id: int
    client_name: str
    reason: str
    kind: str
    due_at: datetime
    days_overdue: int
    handed_over: bool


def list_for(session: Session, me: Me, *, start: datetime | None, end: datetime,
             now: datetime) -> list[FollowUpLine]:
    """The caller's open follow-ups due before ``end`` (and after ``start`` if given)."""
    query = (select(FollowUp, Client.name).join(Client, Client.id == FollowUp.client_id)
             .where(FollowUp.advisor_id == me.user_id, FollowUp.status.in_(ACTIVE),
                    FollowUp.due_at < end).order_by(FollowUp.due_at))
    if start is not None:
        query = query.where(FollowUp.due_at >= start)
    return [FollowUpLine(f.id, f.client_id, name, f.reason, f.kind, f.due_at,
                         max(0, (now - f.due_at).days), f.original_advisor_id is not None)
            for f, name in session.execute(query)]


class OverdueFollowUp(NamedTuple):
    advisor_id: int
    followup_id: int
    client_name: str
    reason: str
    due_at: datetime


def overdue_followups(session: Session, advisor_ids: list[int], now: datetime,
                      min_days: int) -> list[OverdueFollowUp]:
    """Open follow-ups of ``advisor_ids`` at least ``min_days`` past due, oldest first.

    For the morning checklist and the team views (``ESCALATE_ADVISOR_DAYS`` = the flag).
    """
    if not advisor_ids:
        return []
    rows = session.execute(
        select(FollowUp.advisor_id, FollowUp.id, Client.name, FollowUp.reason, FollowUp.due_at)
        .join(Client, Client.id == FollowUp.client_id)
        .where(FollowUp.advisor_id.in_(advisor_ids), FollowUp.status.in_(ACTIVE),
               FollowUp.due_at <= now - timedelta(days=min_days))
        .order_by(FollowUp.due_at, FollowUp.id))
    return [OverdueFollowUp(*row) for row in rows]


@dataclass(frozen=True)
class Escalation:
    lead_telegram_id: int
    lead_language: str
    lead_timezone: str
    items: list[tuple[int, str, str, str, datetime]]  # id, advisor, client, reason, due


def escalation_moment(due_at: datetime, days: int, *, timezone: str, region: str) -> datetime:
    """When a follow-up due at ``due_at`` is escalated: ``days`` working days later (the
    advisor's calendar, weekends and public holidays skipped), at the same local time."""
    zone = ZoneInfo(timezone)
    local = due_at.astimezone(zone)
    day = add_working_days(local.date(), days, region_for(timezone, region))
    return datetime.combine(day, local.time(), zone)


def escalations_due(session: Session, *, now: datetime, days: int,
                    region: str = "CN") -> list[Escalation]:
    """Claim follow-ups ``days`` working days overdue not yet reported; group them per lead.

    Nothing is claimed on a day off in the advisor's region: those wait for the next
    working day. The claim (setting ``escalated_lead_at``) happens first, so two instances
    never report the same follow-up; :func:`unmark_escalated` undoes it if a send fails.
    """
    # calendar days are a superset: ``days`` working days are at least ``days`` days
    candidates = session.execute(
        select(FollowUp.id, FollowUp.due_at, User.timezone)
        .join(User, User.id == FollowUp.advisor_id)
        .where(FollowUp.status.in_(ACTIVE), FollowUp.escalated_lead_at.is_(None),
               FollowUp.due_at <= now - timedelta(days=days))).all()
    ready = [fid for fid, due_at, tz in candidates
             if now >= escalation_moment(due_at, days, timezone=tz, region=region)
             and is_working_day(now.astimezone(ZoneInfo(tz)).date(), region_for(tz, region))]
    claimed: list[int] = []
    for start in range(0, len(ready), 500):  # IN lists stay small
        claimed += session.execute(
            update(FollowUp).where(FollowUp.id.in_(ready[start:start + 500]),
                                   FollowUp.status.in_(ACTIVE),
                                   FollowUp.escalated_lead_at.is_(None))
            .values(escalated_lead_at=now).returning(FollowUp.id)
            .execution_options(synchronize_session=False)).scalars().all()
    if not claimed:
        return []
    rows = session.execute(
        select(FollowUp, Client.name, User).join(Client, Client.id == FollowUp.client_id)
        .join(User, User.id == FollowUp.advisor_id)
        .where(FollowUp.id.in_(claimed)).order_by(FollowUp.due_at)).all()
    by_team: dict[int, list[tuple[int, str, str, str, datetime]]] = {}
    for followup, client_name, advisor in rows:
        if advisor.team_id is not None:
            by_team.setdefault(advisor.team_id, []).append(
                (followup.id, advisor.name, client_name, followup.reason, followup.due_at))
    out = []
    for team_id, items in by_team.items():
        for lead in session.scalars(select(User).where(User.team_id == team_id,
                                                       User.role == "lead",
                                                       User.active.is_(True))):
            out.append(Escalation(lead.telegram_id, lead.language, lead.timezone, items))
    return out


def unmark_escalated(session: Session, ids: list[int]) -> None:
    session.execute(update(FollowUp).where(FollowUp.id.in_(ids))
                    .values(escalated_lead_at=None).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Handover:
    count: int
    colleague_telegram_id: int
    colleague_language: str
    colleague_name: str
    advisor_name: str
    start: date
    end: date


def handover(session: Session, me: Me, *, advisor_handle: str | None, start: date, end: date,
             colleague_handle: str, tz: str, today: date | None = None) -> Handover:
    """Reassign the advisor's pending follow-ups due within the leave to a colleague."""
    if end < start:
        raise ServiceError("leave_dates_invalid")
    if (end - start).days > MAX_LEAVE_DAYS:
        raise ServiceError("leave_too_long")
    if today is not None and end < today:
        raise ServiceError("leave_in_past")
    advisor = _member(session, me, advisor_handle)
    if advisor.id != me.user_id and me.role not in ("lead", "admin"):
        raise ServiceError("role_forbidden")
    if advisor.role not in ("advisor", "lead"):
        raise ServiceError("member_not_found", name=advisor_handle or advisor.name)
    colleague = _member(session, me, colleague_handle, team_id=advisor.team_id)
    if colleague.id == advisor.id or colleague.role not in ("advisor", "lead"):
        raise ServiceError("colleague_invalid", name=colleague_handle)
    zone = ZoneInfo(tz)
    window_start = datetime.combine(start, time(0), zone)
    window_end = datetime.combine(end + timedelta(days=1), time(0), zone)
    rows = session.scalars(select(FollowUp).where(
        FollowUp.advisor_id == advisor.id, FollowUp.status.in_(CLAIMABLE + ("sent",)),
        FollowUp.due_at >= window_start, FollowUp.due_at < window_end)).all()
    for row in rows:
        row.original_advisor_id = row.original_advisor_id or advisor.id
        row.advisor_id = colleague.id
        row.handover_until = end
        row.status = "pending" if row.status == "sent" else row.status
    # kept, so follow-ups created later but due within the leave go to the colleague too
    session.add(Leave(advisor_id=advisor.id, colleague_id=colleague.id, starts_on=start,
                      ends_on=end))
    return Handover(len(rows), colleague.telegram_id, colleague.language, colleague.name,
                    advisor.name, start, end)


def route(session: Session, row: FollowUp, *, tz: str) -> FollowUp:
    """Give a new follow-up to whoever covers its advisor's leave on the day it is due.

    Call it for every follow-up created for an advisor (logging, a new account…): the
    row keeps its owner in ``original_advisor_id`` and returns after the leave
    (:func:`return_from_leave`), exactly like the rows moved by :func:`handover`.
    """
    if row.original_advisor_id is not None:
        return row  # already with a colleague
    day = row.due_at.astimezone(ZoneInfo(tz)).date()
    leave = session.scalar(select(Leave).where(
        Leave.advisor_id == row.advisor_id, Leave.starts_on <= day, Leave.ends_on >= day)
        .order_by(Leave.id.desc()).limit(1))
    if leave is not None:
        row.original_advisor_id, row.advisor_id = row.advisor_id, leave.colleague_id
        row.handover_until = leave.ends_on
    return row


def _member(session: Session, me: Me, handle: str | None, *, team_id: int | None = None) -> User:
    if handle is None:
        user = session.get(User, me.user_id)
        assert user is not None
        return user
    user = people.find_by_handle(session, handle)
    same_team = user is not None and user.team_id == (team_id if team_id is not None
                                                      else me.team_id)
    if user is None or not (same_team or me.role == "admin"):
        raise ServiceError("member_not_found", name=handle)
    return user


def return_from_leave(session: Session, *, today: date) -> list[Returned]:
    """Hand back open follow-ups whose leave ended before ``today`` (a tick).

    Closed ones stay with the colleague who handled them (the record of who did
    it), but lose ``handover_until``: the colleague no longer sees that client.
    Returns, per advisor back from leave, how many came back. Both steps are
    single UPDATEs, so two instances never hand the same row back twice.
    """
    ended = and_(FollowUp.original_advisor_id.is_not(None), FollowUp.handover_until < today)
    back = session.execute(
        update(FollowUp).where(ended, FollowUp.status.in_(ACTIVE))
        .values(advisor_id=FollowUp.original_advisor_id, original_advisor_id=None,
                handover_until=None)
        .returning(FollowUp.advisor_id).execution_options(synchronize_session=False)
    ).scalars().all()
    session.execute(update(FollowUp).where(ended).values(handover_until=None)
                    .execution_options(synchronize_session=False))
    counts: dict[int, int] = {}
    for advisor_id in back:
        counts[advisor_id] = counts.get(advisor_id, 0) + 1
    out = []
    for advisor_id, n in sorted(counts.items()):
        user = session.get(User, advisor_id)
        if user is not None and user.active:
            out.append(Returned(user.telegram_id, user.language, n))
    return out


@dataclass(frozen=True)
class Returned:
    telegram_id: int
    language: str
    count: int


# which library category helps with a follow-up of each reason (for the reminder's script)
REASON_CATEGORY = {
    "interested_thinking": "objection.think_it_over", "soft_decline": "opening.phone_call",
    "sale": "followup.post_sale", "service_call": "followup.post_sale",
    "new_account": "followup.new_account", "no_answer": "opening.phone_call",
    "meeting_booked": "followup.meeting_prep", "meeting_to_confirm": "opening.invitation",
    "referral": "referral.handoff", "manual": "opening.phone_call",
}


# the one script made for a reason, when its category's first would not fit: after an
# unanswered call a short re-opening, not a whole first-call opening
REASON_SCRIPT = {
    "no_answer": "phone_call.retry_after_no_answer",
}


def preferred_script(reason: str, kind: str | None = None) -> str | None:
    """The id of the script made for ``reason``, if there is one (meetings: none)."""
    return None if kind == "meeting_reminder" else REASON_SCRIPT.get(reason)


def script_category(reason: str, kind: str | None = None) -> str:
    """The script category to suggest in a reminder for ``reason`` (and ``kind``).

    A meeting reminder prepares the meeting already booked; only the call that
    confirms a meeting time still uses the invitation scripts.
    """
    if kind == "meeting_reminder":
        return "followup.meeting_prep"
    return REASON_CATEGORY.get(reason, "opening.phone_call")

