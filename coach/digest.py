"""The morning checklist: what an advisor should do today, ranked, from plain rows.

No SQL here: :mod:`coach.services.digest` fetches rows for a batch of advisors
with set-based queries and hands each advisor's rows to :func:`build_checklist`.
Cadence thresholds come from :class:`CadenceConfig` (settings, per tier).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

__all__ = ["AdvisorRows", "CadenceConfig", "Checklist", "Item", "build_checklist",
           "birthday_in", "SECTIONS"]

SECTIONS = ("appointments", "followups", "maturities", "birthdays", "cadence")
TIER_RANK = {"private": 0, "premier": 1, "wealth": 2, "mass": 3}
PAGE_SIZE = 25


@dataclass(frozen=True)
class CadenceConfig:
    vip_tiers: tuple[str, ...] = ("premier", "private")
    vip_contact_days: int = 30
    vip_meeting_days: int = 90
    new_account_days: int = 3
    post_sale_days: int = 7
    risk_valid_days: int = 180
    risk_warning_days: int = 30
    question_days: int = 10
    escalate_advisor_days: int = 3
    maturity_days: int = 7


@dataclass(frozen=True)
class ClientRow:
    id: int
    name: str
    tier: str
    birthday: date | None = None
    last_contact_at: datetime | None = None
    last_meeting_at: datetime | None = None
    opened_on: date | None = None
    risk_assessed_on: date | None = None


@dataclass
class AdvisorRows:
    """Everything one advisor's checklist needs, fetched in bulk."""

    clients: dict[int, ClientRow] = field(default_factory=dict)
    appointments: list[tuple[int, datetime, str | None]] = field(default_factory=list)
    followups: list[tuple[int, int, str, datetime]] = field(default_factory=list)  # id, client
    maturities: list[tuple[int, str, date]] = field(default_factory=list)
    last_sales: dict[int, datetime] = field(default_factory=dict)
    questions: list[tuple[int, int | None, str, datetime]] = field(default_factory=list)
    calls_yesterday: int = 0


@dataclass(frozen=True)
class Item:
    section: str
    kind: str
    client_id: int | None
    client_name: str
    tier: str
    when: datetime | date | None = None
    days: int = 0  # overdue or "in N days"
    detail: str | None = None
    item_id: int | None = None

    @property
    def rank(self) -> tuple[int, int, int, str]:
        return (SECTIONS.index(self.section), TIER_RANK.get(self.tier, 4), -self.days,
                self.client_name)


@dataclass
class Checklist:
    items: list[Item]
    holidays: list[tuple[date, str, str]]
    call_target: int
    calls_yesterday: int
    briefing_id: int | None = None
    has_clients: bool = True

    def page(self, number: int, size: int = PAGE_SIZE) -> list[Item]:
        return self.items[number * size:(number + 1) * size]

    def pages(self, size: int = PAGE_SIZE) -> int:
        return max(1, -(-len(self.items) // size))


def birthday_in(birthday: date, start: date, days: int) -> date | None:
    """This year's (or next year's) birthday if it falls within ``days`` of ``start``.

    29 February is celebrated on 28 February in other years.
    """
    for year in (start.year, start.year + 1):
        try:
            day = birthday.replace(year=year)
        except ValueError:
            day = date(year, 2, 28)
        if start <= day < start + timedelta(days=days):
            return day
    return None


def build_checklist(rows: AdvisorRows, *, today: date, now: datetime, config: CadenceConfig,
                    holidays: list[tuple[date, str, str]], call_target: int,
                    briefing_id: int | None = None) -> Checklist:
    """Every item for today, ranked: section, then tier (most valuable first), then overdue."""
    clients = rows.clients
    items: list[Item] = []

    def client(cid: int) -> ClientRow:
        return clients.get(cid) or ClientRow(cid, "", "mass")

    for cid, starts_at, note in rows.appointments:
        c = client(cid)
        items.append(Item("appointments", "appointment", cid, c.name, c.tier, starts_at,
                          detail=note))
    for fid, cid, reason, due in rows.followups:
        c = client(cid)
        overdue = max(0, (now - due).days)
        kind = "overdue_flag" if overdue >= config.escalate_advisor_days else (
            "overdue" if due.date() < today and overdue else "due")
        items.append(Item("followups", kind, cid, c.name, c.tier, due, overdue, reason, fid))
    for cid, product, maturity in rows.maturities:
        c = client(cid)
        items.append(Item("maturities", "maturity", cid, c.name, c.tier, maturity,
                          (maturity - today).days, product))
    for c in clients.values():
        if c.birthday is not None:
            day = birthday_in(c.birthday, today, 7)
            if day is not None:
                items.append(Item("birthdays", "birthday_today" if day == today else "birthday",
                                  c.id, c.name, c.tier, day, (day - today).days))
        items += _cadence(c, rows, today=today, now=now, config=config)
    for qid, cid, _text, asked in rows.questions:
        c = client(cid) if cid else ClientRow(0, "", "mass")
        items.append(Item("cadence", "question", cid, c.name, c.tier, asked,
                          (now - asked).days, item_id=qid))
    items.sort(key=lambda item: item.rank)
    return Checklist(items, holidays, call_target, rows.calls_yesterday, briefing_id,
                     has_clients=bool(clients))


def _cadence(c: ClientRow, rows: AdvisorRows, *, today: date, now: datetime,
             config: CadenceConfig) -> list[Item]:
    out = []
    if c.tier in config.vip_tiers:
        if c.last_contact_at is None or now - c.last_contact_at > timedelta(
                days=config.vip_contact_days):
            days = (now - c.last_contact_at).days if c.last_contact_at else 0
            out.append(Item("cadence", "vip_contact", c.id, c.name, c.tier, c.last_contact_at,
                            days))
        if c.last_meeting_at is None or now - c.last_meeting_at > timedelta(
                days=config.vip_meeting_days):
            days = (now - c.last_meeting_at).days if c.last_meeting_at else 0
            out.append(Item("cadence", "vip_meeting", c.id, c.name, c.tier, c.last_meeting_at,
                            days))
    if c.opened_on is not None and today - c.opened_on >= timedelta(
            days=config.new_account_days) and today - c.opened_on <= timedelta(days=30):
        contacted = c.last_contact_at is not None and c.last_contact_at.date() >= c.opened_on
        if not contacted:
            out.append(Item("cadence", "new_account", c.id, c.name, c.tier, c.opened_on,
                            (today - c.opened_on).days))
    sold = rows.last_sales.get(c.id)
    if sold is not None and now - sold >= timedelta(days=config.post_sale_days) and (
            c.last_contact_at is None or c.last_contact_at <= sold):
        out.append(Item("cadence", "post_sale", c.id, c.name, c.tier, sold, (now - sold).days))
    if c.risk_assessed_on is not None:
        expires = c.risk_assessed_on + timedelta(days=config.risk_valid_days)
        if expires < today:
            out.append(Item("cadence", "risk_expired", c.id, c.name, c.tier, expires,
                            (today - expires).days))
        elif expires <= today + timedelta(days=config.risk_warning_days):
            out.append(Item("cadence", "risk_expiring", c.id, c.name, c.tier, expires,
                            (expires - today).days))
    return out
