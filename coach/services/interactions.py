"""Recording a contact: the interaction, the cadence clock, closed and new follow-ups.

``record_outcome`` is one unit of work: insert the interaction, reset the client's
contact clock (and meeting clock for meetings and visits), close the follow-ups
this contact fulfils, plan the next ones with :mod:`coach.policy`, and keep away
from clients who refused firmly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.clock import Clock
from coach.logline import parse_log_line
from coach.outcomes import Outcome
from coach.policy import PolicyConfig, plan_followups
from coach.services.clients import Lookup, get_visible_client, lookup
from coach.services.errors import ServiceError
from storage.models import Appointment, Client, FollowUp, Interaction

__all__ = ["CHANNELS", "LogDraft", "LoggedOutcome", "Prepared", "prepare", "record_outcome",
           "suggest_next"]

CHANNELS = ("phone", "meeting", "message", "visit")
IN_PERSON = ("meeting", "visit")


@dataclass
class LogDraft:
    """What the advisor said, before it is saved (kept as JSON between steps)."""

    client_id: int | None = None
    client_name: str | None = None
    channel: str = "phone"
    outcome: str | None = None
    amount: str | None = None
    product: str | None = None
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
        product=parsed.product, notes=parsed.notes,
        due=parsed.due.isoformat() if parsed.due else None, has_time=parsed.has_time,
        next_step="custom" if parsed.due else "default",
        questions=[q for q in parsed.questions if q != "missing_client"])
    found = lookup(session, me, parsed.client) if parsed.client else None
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


def record_outcome(session: Session, me: Me, draft: LogDraft, *, clock: Clock, region: str,
                   config: PolicyConfig | None = None) -> LoggedOutcome:
    """Save the contact and schedule what comes next, all in the caller's transaction."""
    if draft.client_id is None:
        raise ServiceError("client_not_found")
    if draft.outcome not in {o.value for o in Outcome}:
        raise ServiceError("outcome_missing")
    if draft.channel not in CHANNELS:
        raise ServiceError("channel_invalid")
    client = get_visible_client(session, me, draft.client_id)
    if client.advisor_id != me.user_id and not _handed_over(session, me, client.id):
        raise ServiceError("client_not_found")  # a lead reads the team's clients, logs own
    now = clock.now()
    interaction = Interaction(
        client_id=client.id, advisor_id=me.user_id, channel=draft.channel, outcome=draft.outcome,
        amount=Decimal(draft.amount) if draft.amount else None, product=draft.product,
        notes=draft.notes or None, occurred_at=now, created_at=now)
    session.add(interaction)
    session.flush()
    client.last_contact_at = now
    if draft.channel in IN_PERSON:
        client.last_meeting_at = now
    closed = session.execute(
        update(FollowUp).where(FollowUp.client_id == client.id,
                               FollowUp.status.in_(("pending", "sent", "snoozed")),
                               # a future meeting still needs its reminders
                               or_(FollowUp.kind != "meeting_reminder",
                                   FollowUp.due_at <= _end_of_today(now, me.timezone)))
        .values(status="done", done_at=now).execution_options(synchronize_session=False)
    ).rowcount or 0
    if draft.outcome == Outcome.FIRM_DECLINE.value:
        # keep away: every open follow-up of this client is cancelled
        session.execute(update(FollowUp).where(
            FollowUp.client_id == client.id, FollowUp.status.in_(("pending", "snoozed")))
            .values(status="cancelled", done_at=now).execution_options(synchronize_session=False))
    plan = plan_followups(draft.outcome, contacted_at=now,
                          explicit_due=draft.due_at if draft.next_step == "custom" else None,
                          has_time=draft.has_time, tz=me.timezone, region=region,
                          config=config or PolicyConfig())
    created = []
    if draft.next_step != "none":
        for step in plan.steps:
            session.add(FollowUp(client_id=client.id, advisor_id=me.user_id,
                                 interaction_id=interaction.id, kind=step.kind,
                                 reason=step.reason, due_at=step.due_at, status="pending",
                                 created_at=now))
            created.append((step.due_at, step.kind))
    if draft.outcome == Outcome.MEETING_BOOKED.value and draft.due_at is not None:
        session.add(Appointment(client_id=client.id, advisor_id=me.user_id,
                                starts_at=draft.due_at, note=draft.notes or None,
                                created_at=now))
    if plan.do_not_contact_until is not None:
        client.do_not_contact_until = plan.do_not_contact_until
    return LoggedOutcome(interaction.id, client.id, client.name, draft.outcome, created,
                         int(closed), plan.do_not_contact_until)


def _handed_over(session: Session, me: Me, client_id: int) -> bool:
    return session.scalar(select(FollowUp.id).where(
        FollowUp.client_id == client_id, FollowUp.advisor_id == me.user_id,
        FollowUp.original_advisor_id.is_not(None)).limit(1)) is not None


def _end_of_today(now: datetime, tz: str) -> datetime:
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    return datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), zone)


def client_exists(session: Session, client_id: int) -> bool:
    return session.get(Client, client_id) is not None
