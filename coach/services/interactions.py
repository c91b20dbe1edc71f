"""Recording a contact: the interaction, the cadence clock, closed and new follow-ups.

``record_outcome`` is one unit of work: insert the interaction, reset the client's
contact clock (and meeting clock for meetings and visits), close the follow-ups
this contact fulfils, plan the next ones with :mod:`coach.policy`, and keep away
from clients who refused firmly.

Only the client's own advisor (or a colleague covering their leave) may log a
contact: :func:`loggable_client` is the one check, used by every entry point.
Suitability of a sale (issue 8) hooks in after ``record_outcome`` in the same
transaction (``coach.services.suitability_check.after_logged``) and before it in
the handler (the confirmation warning); ``record_outcome`` itself stays neutral.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.clock import Clock, local_day
from coach.logline import parse_log_line
from coach.outcomes import Outcome
from coach.policy import PolicyConfig, plan_followups
from coach.services import followups
from coach.services.clients import ClientRef, Lookup, get_visible_client, lookup
from coach.services.errors import ServiceError
from coach.services.outbox import Notice
from storage.models import Appointment, Client, FollowUp, Interaction, User

__all__ = ["CHANNELS", "LogDraft", "LoggedOutcome", "OPEN", "Prepared", "find_loggable",
           "loggable_client", "prepare", "record_outcome", "suggest_next"]

log = logging.getLogger(__name__)
CHANNELS = ("phone", "meeting", "message", "visit")
IN_PERSON = ("meeting", "visit")
OUTCOMES = frozenset(o.value for o in Outcome)
OPEN = ("pending", "sent", "snoozed")  # what a contact can fulfil ("sending" is mid-delivery)


def _as_owner(me: Me) -> Me:
    """The caller seen as an advisor: their own clients plus those handed over to them.

    A lead may *read* the team's clients, but logs contacts only for their own.
    """
    return replace(me, role="advisor")


def loggable_client(session: Session, me: Me, client_id: int) -> ClientRef:
    """A client the caller may log a contact for, or ``client_not_found``."""
    client = _loggable_row(session, me, client_id)
    return ClientRef(client.id, client.name)


def _loggable_row(session: Session, me: Me, client_id: int) -> Client:
    if me.role not in ("advisor", "lead", "admin"):
        raise ServiceError("role_forbidden")
    return get_visible_client(session, _as_owner(me), client_id)


def find_loggable(session: Session, me: Me, name: str) -> Lookup:
    """Fuzzy-find ``name`` among the clients the caller may log for."""
    return lookup(session, _as_owner(me), name)


@dataclass
class LogDraft:
    """What the advisor said, before it is saved (kept as JSON between steps)."""

    client_id: int | None = None
    client_name: str | None = None
    channel: str = "phone"
    outcome: str | None = None
    amount: str | None = None
    period: str | None = None  # month | quarter | year when the amount is per period
    product: str | None = None
    place: str | None = None  # where a booked meeting takes place
    notes: str = ""
    due: str | None = None  # ISO, aware
    has_time: bool = False
    next_step: str = "default"  # default | custom | none
    questions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogDraft:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def due_at(self) -> datetime | None:
        return datetime.fromisoformat(self.due) if self.due else None


@dataclass(frozen=True)
class Prepared:
    draft: LogDraft
    lookup: Lookup | None
    typed_client: str | None


def prepare(session: Session, me: Me, line: str, *, clock: Clock) -> Prepared:
    """Understand a one-line log and find the client among the caller's own."""
    parsed = parse_log_line(line, now=clock.now(), tz=me.timezone)
    draft = LogDraft(
        outcome=parsed.outcome.value if parsed.outcome else None,
        amount=str(parsed.amount) if parsed.amount is not None else None,
        period=parsed.period if parsed.amount is not None else None,
        product=parsed.product, place=parsed.place, notes=parsed.notes,
        due=parsed.due.isoformat() if parsed.due else None, has_time=parsed.has_time,
        next_step="custom" if parsed.due else "default",
        questions=[q for q in parsed.questions if not q.startswith("missing_")])
    found = find_loggable(session, me, parsed.client) if parsed.client else None
    if found and found.client_id is not None:
        draft.client_id = found.client_id
        draft.client_name = found.choices[0][1]
    return Prepared(draft, found, parsed.client)


def suggest_next(draft: LogDraft, *, now: datetime, tz: str, region: str,
                 config: PolicyConfig | None = None) -> list[tuple[datetime, str]]:
    """The follow-ups saving this draft would create, for the confirmation screen."""
    if not draft.outcome or draft.next_step == "none":
        return []
    explicit = draft.due_at if draft.next_step == "custom" and not draft.questions else None
    plan = plan_followups(draft.outcome, contacted_at=now, explicit_due=explicit,
                          has_time=draft.has_time, tz=tz, region=region,
                          config=config or PolicyConfig())
    return [(step.due_at, step.kind) for step in plan.steps]


@dataclass(frozen=True)
class LoggedOutcome:
    interaction_id: int
    client_id: int
    client_name: str
    outcome: str
    followups: list[tuple[datetime, str]]
    closed: int
    do_not_contact_until: Any = None
    # for others: the referrer of a referred client hears how the contact went
    notices: list[Notice] = field(default_factory=list)


def record_outcome(session: Session, me: Me, draft: LogDraft, *, clock: Clock,
                   policy_config: PolicyConfig | None = None, region: str = "CN",
                   update_id: int | None = None) -> LoggedOutcome:
    """Save the contact and schedule what comes next, all in the caller's transaction.

    ``update_id`` (the Telegram update that confirmed it) is only logged: a
    redelivered update never reaches here, the guard drops it (``ProcessedUpdate``).
    """
    if draft.client_id is None:
        raise ServiceError("client_not_found")
    if draft.outcome not in OUTCOMES:
        raise ServiceError("outcome_missing")
    if draft.channel not in CHANNELS:
        raise ServiceError("channel_invalid")
    client = _loggable_row(session, me, draft.client_id)
    config = policy_config or PolicyConfig()
    now = clock.now()
    interaction = Interaction(
        client_id=client.id, advisor_id=me.user_id, channel=draft.channel, outcome=draft.outcome,
        amount=Decimal(draft.amount) if draft.amount else None, product=draft.product,
        amount_period=draft.period if draft.amount else None,
        notes=draft.notes or None, occurred_at=now, created_at=now)
    session.add(interaction)
    session.flush()
    client.last_contact_at = now
    if draft.channel in IN_PERSON:
        client.last_meeting_at = now
    plan = plan_followups(draft.outcome, contacted_at=now,
                          explicit_due=draft.due_at if draft.next_step == "custom" else None,
                          has_time=draft.has_time, tz=me.timezone, region=region, config=config)
    steps = plan.steps if draft.next_step != "none" else []
    closed = _close_fulfilled(session, client.id, now=now, tz=me.timezone,
                              in_person=draft.channel in IN_PERSON, replaced=bool(steps))
    if draft.outcome == Outcome.FIRM_DECLINE.value:
        # keep away: every open follow-up of this client is cancelled
        session.execute(update(FollowUp).where(
            FollowUp.client_id == client.id, FollowUp.status.in_(OPEN))
            .values(status="cancelled", done_at=now).execution_options(synchronize_session=False))
    covering_until = _covering_until(session, me, client)
    appointment = None
    if draft.outcome == Outcome.MEETING_BOOKED.value and draft.due_at is not None:
        appointment = Appointment(client_id=client.id, advisor_id=me.user_id,
                                  starts_at=draft.due_at, place=(draft.place or None),
                                  note=draft.notes or None, created_at=now)
        session.add(appointment)
        session.flush()
    created = []
    for step in steps:
        row = FollowUp(client_id=client.id, advisor_id=client.advisor_id,
                       interaction_id=interaction.id, kind=step.kind, reason=step.reason,
                       due_at=step.due_at, status="pending", created_at=now)
        if appointment is not None and step.kind == "meeting_reminder":
            row.appointment_id = appointment.id  # the reminder shows this meeting's time/place
        if covering_until is not None and (
                local_day(step.due_at, me.timezone) <= covering_until):
            # a colleague covering a leave keeps what falls within it; the rest is the owner's
            row.advisor_id, row.original_advisor_id = me.user_id, client.advisor_id
            row.handover_until = covering_until
        else:
            followups.route(session, row, tz=me.timezone)  # due in the owner's leave
        session.add(row)
        created.append((step.due_at, step.kind))
    if plan.do_not_contact_until is not None:
        client.do_not_contact_until = plan.do_not_contact_until
    log.info("interaction %s logged by user %s (update %s)", interaction.id, me.user_id,
             update_id)
    return LoggedOutcome(interaction.id, client.id, client.name, draft.outcome, created,
                         closed, plan.do_not_contact_until,
                         _referrer_notices(session, me, client, interaction.id, draft.outcome))


def _referrer_notices(session: Session, me: Me, client: Client, interaction_id: int,
                      outcome: str) -> list[Notice]:
    """The colleague who referred this client hears of each contact (if still active)."""
    referrer = session.get(User, client.referred_by_id) if client.referred_by_id else None
    if referrer is None or not referrer.active:
        return []
    return [Notice(referrer.telegram_id, referrer.language, "refer_outcome",
                   "referral_outcome", f"referral_outcome:{interaction_id}",
                   {"d": None, "outcome": outcome, "client_name": client.name,
                    "advisor": me.name}, referrer.timezone, own=None)]


def _covering_until(session: Session, me: Me, client: Client) -> date | None:
    """The last day of the leave the caller covers for this client's advisor, if any."""
    if client.advisor_id == me.user_id:
        return None
    return session.scalar(select(func.max(FollowUp.handover_until)).where(
        FollowUp.client_id == client.id, FollowUp.advisor_id == me.user_id,
        FollowUp.original_advisor_id == client.advisor_id))


def _close_fulfilled(session: Session, client_id: int, *, now: datetime, tz: str,
                     in_person: bool, replaced: bool) -> int:
    """Mark done the open follow-ups this contact fulfils; returns how many.

    - anything due by the end of today (the contact was what they asked for),
      except meeting reminders, which only a meeting or visit fulfils;
    - later calls and messages too when the new plan replaces them (the next step
      is whatever this contact decided); future meeting reminders always stay.
    """
    end_of_today = _end_of_today(now, tz)
    due_now = FollowUp.due_at < end_of_today
    not_meeting = FollowUp.kind != "meeting_reminder"
    # a call fulfils what is due today except meeting reminders; a meeting fulfils all
    fulfilled = due_now if in_person else and_(due_now, not_meeting)
    if replaced:
        fulfilled = or_(fulfilled, not_meeting)
    result = session.execute(
        update(FollowUp).where(FollowUp.client_id == client_id, FollowUp.status.in_(OPEN),
                               fulfilled)
        .values(status="done", done_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _end_of_today(now: datetime, tz: str) -> datetime:
    zone = ZoneInfo(tz)
    return datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), zone)


def client_exists(session: Session, client_id: int) -> bool:
    return session.get(Client, client_id) is not None
