"""A team's records for the branch's own files: clients, contacts and follow-ups.

Used by ``coach export --team NAME``. The export holds the clients of the team's
current members (forgotten clients are left out: their data was deleted on
request), every logged contact with those clients, and every follow-up for them.
Rows are plain dictionaries of JSON-ready values (ISO dates, amounts as strings),
in a fixed column order, so the JSON file and the spreadsheet show the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from coach.clock import Clock
from coach.services import people
from storage.models import Client, FollowUp, Interaction, User

__all__ = ["CLIENT_COLUMNS", "CONTACT_COLUMNS", "FOLLOWUP_COLUMNS", "TeamExport", "team_export"]

CLIENT_COLUMNS = ("id", "name", "salutation", "phone", "advisor", "tier", "aum",
                  "risk_tolerance", "risk_assessed_on", "birthday", "opened_on",
                  "first_purchase", "vulnerable", "last_contact_at", "notes", "created_at")
CONTACT_COLUMNS = ("id", "client_id", "client", "advisor", "occurred_at", "channel", "outcome",
                   "amount", "amount_period", "product", "notes")
FOLLOWUP_COLUMNS = ("id", "client_id", "client", "advisor", "kind", "reason", "due_at",
                    "status", "done_at", "note")
BATCH = 1000  # client ids per IN (...) query: SQLite allows a few thousand parameters


@dataclass
class TeamExport:
    """One team's records; each list holds rows keyed by its ``*_COLUMNS``."""

    team: str
    exported_at: datetime
    clients: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"team": self.team, "exported_at": self.exported_at.isoformat(),
                "clients": self.clients, "contacts": self.contacts,
                "followups": self.followups}


def _plain(value: Any) -> Any:
    """A JSON-ready value: dates as ISO text, amounts as exact decimal text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def team_export(session: Session, team_name: str, *, clock: Clock) -> TeamExport:
    """Everything of ``team_name`` (raises ServiceError ``team_not_found``)."""
    team = people.get_team(session, team_name)
    export = TeamExport(team=team.name, exported_at=clock.now())
    advisors = {u.id: u.name for u in session.scalars(select(User).where(User.team_id == team.id))}
    clients = session.scalars(
        select(Client).where(Client.advisor_id.in_(advisors), Client.forgotten.is_(False))
        .order_by(Client.id)).all() if advisors else []
    names = {c.id: c.name for c in clients}
    for c in clients:
        export.clients.append({k: _plain(v) for k, v in (
            ("id", c.id), ("name", c.name), ("salutation", c.salutation), ("phone", c.phone),
            ("advisor", advisors.get(c.advisor_id)), ("tier", c.tier), ("aum", c.aum),
            ("risk_tolerance", c.risk_tolerance), ("risk_assessed_on", c.risk_assessed_on),
            ("birthday", c.birthday), ("opened_on", c.opened_on),
            ("first_purchase", c.first_purchase), ("vulnerable", c.vulnerable),
            ("last_contact_at", c.last_contact_at), ("notes", c.notes),
            ("created_at", c.created_at))})
    # contacts and follow-ups may be by someone outside the team now (a colleague who
    # covered a leave, a member who moved): their name is shown all the same
    author = aliased(User)
    for ids in _batches(list(names)):
        for row, who in session.execute(
                select(Interaction, author.name).join(author, author.id == Interaction.advisor_id)
                .where(Interaction.client_id.in_(ids))
                .order_by(Interaction.occurred_at, Interaction.id)):
            export.contacts.append({k: _plain(v) for k, v in (
                ("id", row.id), ("client_id", row.client_id), ("client", names[row.client_id]),
                ("advisor", who), ("occurred_at", row.occurred_at), ("channel", row.channel),
                ("outcome", row.outcome), ("amount", row.amount),
                ("amount_period", row.amount_period), ("product", row.product),
                ("notes", row.notes))})
        for item, who in session.execute(
                select(FollowUp, author.name).join(author, author.id == FollowUp.advisor_id)
                .where(FollowUp.client_id.in_(ids)).order_by(FollowUp.due_at, FollowUp.id)):
            export.followups.append({k: _plain(v) for k, v in (
                ("id", item.id), ("client_id", item.client_id), ("client", names[item.client_id]),
                ("advisor", who), ("kind", item.kind), ("reason", item.reason),
                ("due_at", item.due_at), ("status", item.status), ("done_at", item.done_at),
                ("note", item.note))})
    export.contacts.sort(key=lambda r: (r["occurred_at"], r["id"]))
    export.followups.sort(key=lambda r: (r["due_at"], r["id"]))
    return export
