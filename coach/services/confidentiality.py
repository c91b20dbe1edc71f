"""Bank confidentiality: who opened a client's card (/audit) and forgetting a client (/forget).

Forgetting removes a client's personal data everywhere it can be (the client row,
notes of contacts, follow-ups and appointments, complaint and question texts,
referrals, free text in every other table and the JSON of drafts and sessions)
and keeps the anonymous facts the team's numbers are built on: interactions,
outcomes, amounts, holdings, counts. ``Client.forgotten`` hides the row for good.
An advisor asks; their lead (or an admin) decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, func, or_, select, update
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.clock import Clock
from coach.forget_variants import Needles, needles_for
from coach.services.clients import get_visible_client
from coach.services.errors import ServiceError
from coach.services.oversight import Recipient, overseers_of, recipient
from coach.vocabulary import OPEN_FOLLOWUP
from storage.models import (
    AccessAudit,
    Appointment,
    Base,
    Client,
    ClientQuestion,
    Complaint,
    FollowUp,
    Interaction,
    Referral,
    UnmetNeed,
    User,
)

__all__ = [
    "AuditLine",
    "Forgotten",
    "audit_log",
    "forget_client",
    "forgettable",
    "owner_to_tell",
    "request_forget",
    "Needles",
    "scrub_value",
]

REDACTED = "***"
# Tables whose text is about staff or the bank, never about one client.
_NOT_SWEPT = {"users", "teams", "invite_codes", "products", "qualifications",
              "processed_updates", "alembic_version"}
# Another client may share part of the name ("王五" and "王五一"): names are never swept.
_NOT_SWEPT_COLUMNS = {("clients", "name")}
_OPEN = OPEN_FOLLOWUP


@dataclass(frozen=True)
class AuditLine:
    viewer: str
    role: str
    action: str
    when: datetime


def audit_log(session: Session, me: Me, client_id: int, *, clock: Clock,
              limit: int = 30) -> tuple[int, str, list[AuditLine]]:
    """Who other than the owning advisor read this client, newest first (leads, admins)."""
    if me.role not in ("lead", "admin"):
        raise ServiceError("role_forbidden")
    client = get_visible_client(session, me, client_id, clock=clock, action="audit")
    rows = session.execute(
        select(AccessAudit, User.name, User.role).join(User, AccessAudit.viewer_id == User.id)
        .where(AccessAudit.client_id == client.id)
        .order_by(AccessAudit.created_at.desc(), AccessAudit.id.desc()).limit(limit)).all()
    return client.id, client.name, [AuditLine(name, role, a.action, a.created_at)
                                    for a, name, role in rows]


def request_forget(session: Session, me: Me, client_id: int, *, clock: Clock
                   ) -> tuple[str, list[Recipient]]:
    """An advisor asks to forget their own client; returns the name and who decides."""
    client = get_visible_client(session, me, client_id)
    if client.advisor_id != me.user_id:
        raise ServiceError("client_not_found")
    session.add(AccessAudit(client_id=client.id, viewer_id=me.user_id, action="forget_request",
                            created_at=clock.now()))
    return client.name, [r for r in overseers_of(session, me.user_id) if r.user_id != me.user_id]


@dataclass(frozen=True)
class Forgotten:
    client_id: int
    advisor_id: int
    name: str  # the name that was removed, so the handler can scrub in-memory drafts
    phone: str | None

    @property
    def needles(self) -> Needles:
        """What must not survive anywhere: name (Simplified, Traditional, pinyin), phone
        (as typed, as digits, with any separators and +86)."""
        return needles_for(self.name, self.phone)


def scrub_value(value: Any, needles: Needles | list[str]) -> Any:
    """``value`` (JSON-like) with every needle in every string replaced."""
    if not isinstance(needles, Needles):
        needles = Needles(plain=sorted(needles, key=len, reverse=True))
    return needles.scrub_value(value, REDACTED)


def forget_client(session: Session, me: Me, client_id: int, *, clock: Clock) -> Forgotten:
    """Remove the client's personal data (a lead for their team, or an admin)."""
    if me.role not in ("lead", "admin"):
        raise ServiceError("role_forbidden")
    client = get_visible_client(session, me, client_id)
    name, phone = client.name, client.phone
    now = clock.now()
    client.name = f"deleted #{client.id}"
    client.phone = client.birthday = client.notes = None
    client.forgotten = True
    cid = client.id
    _blank(session, Interaction, Interaction.client_id == cid, notes=None)
    _blank(session, FollowUp, FollowUp.client_id == cid, note=None)
    _blank(session, FollowUp, (FollowUp.client_id == cid) & FollowUp.status.in_(_OPEN),
           status="cancelled", done_at=now)
    _blank(session, Appointment, Appointment.client_id == cid, note=None)
    _blank(session, Complaint, Complaint.client_id == cid, text="", resolution=None)
    _blank(session, ClientQuestion, ClientQuestion.client_id == cid, text="", answer=None)
    _blank(session, ClientQuestion, (ClientQuestion.client_id == cid)
           & (ClientQuestion.status == "open"), status="closed")
    _blank(session, UnmetNeed, UnmetNeed.client_id == cid, text=None)
    _blank(session, Referral, Referral.client_id == cid, client_name=client.name, phone=None,
           need=None)
    session.flush()
    _sweep(session, needles_for(name, phone))
    return Forgotten(cid, client.advisor_id, name, phone)


def _blank(session: Session, model: type[Base], where: Any, **values: Any) -> None:
    session.execute(update(model).where(where).values(**values)
                    .execution_options(synchronize_session=False))


def _sweep(session: Session, needles: Needles) -> None:
    """Replace the name and phone, in every spelling, in free text and JSON of every table."""
    if not needles:
        return
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_SWEPT:
            continue
        keys = list(table.primary_key.columns)
        texts = [c for c in table.columns if isinstance(c.type, String | Text)
                 and not c.primary_key and (table.name, c.name) not in _NOT_SWEPT_COLUMNS]
        for column in texts:
            # every spelling on folded text (whole "+86 139…" first): LIKE, then regex
            for pattern in needles.patterns:
                hits = session.execute(select(*keys, column).where(or_(*(
                    func.lower(column).contains(hint, autoescape=True)
                    for hint in pattern.hints)))).all()
                for row in hits:
                    cleaned = pattern.sub(row[-1], REDACTED)
                    if cleaned != row[-1]:
                        session.execute(table.update()
                                        .where(*[k == row[i] for i, k in enumerate(keys)])
                                        .values({column.name: cleaned}))
            # then exact spellings (Traditional, as stored): one UPDATE each, in the database
            for needle in needles.plain:
                session.execute(table.update().where(column.contains(needle, autoescape=True))
                                .values({column.name: func.replace(column, needle, REDACTED)}))
        for column in (c for c in table.columns if isinstance(c.type, JSON)):
            for row in session.execute(select(*keys, column)).all():
                value = row[-1]
                if not needles.found_in(json.dumps(value, ensure_ascii=False)):
                    continue
                where = [k == row[i] for i, k in enumerate(keys)]
                session.execute(table.update().where(*where)
                                .values({column.name: scrub_value(value, needles)}))


def forgettable(session: Session, me: Me, client_id: int) -> tuple[int, str]:
    """The client a lead or admin is about to forget (for the confirmation screen)."""
    if me.role not in ("lead", "admin"):
        raise ServiceError("role_forbidden")
    client = get_visible_client(session, me, client_id)
    return client.id, client.name


def owner_to_tell(session: Session, me: Me, client_id: int) -> list[Recipient]:
    """The client's advisor, to be told of a lead's decision (nobody when it is the caller)."""
    client = session.get(Client, client_id)
    owner = session.get(User, client.advisor_id) if client else None
    return [recipient(owner)] if owner and owner.id != me.user_id else []
