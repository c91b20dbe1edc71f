"""The morning checklist: what an advisor should do today, ranked, from plain rows.

No SQL here: :mod:`coach.services.digest` fetches rows for a batch of advisors
with set-based queries and hands each advisor's rows to :func:`build_checklist`.
Which clients are overdue for contact is decided by :mod:`coach.cadence`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from coach.cadence import CadenceConfig, ClientFacts, client_gaps, question_overdue

__all__ = ["AdvisorRows", "CadenceConfig", "Checklist", "ClientRow", "FOLLOWUP_SCRIPT", "Item",
           "PAGE_SIZE", "SCRIPT_BY_KIND", "SECTIONS", "birthday_in", "build_checklist"]

SECTIONS = ("appointments", "followups", "maturities", "birthdays", "cadence")
TIER_RANK = {"private": 0, "premier": 1, "wealth": 2, "mass": 3}
PAGE_SIZE = 25
# buttons: cadence and follow-up items lead to logging a call, the others to the card
LOG_SECTIONS = frozenset({"followups", "cadence"})
# 📖 buttons: the shared script for each kind of line about a client (follow-ups go by
# their reason, as in the reminder; see coach.services.checklist_scripts)
SCRIPT_BY_KIND = {
    "appointment": "meeting_prep.confirm_and_bring",
    "maturity": "phone_call.maturing_deposit",
    "birthday_today": "phone_call.birthday",
    "birthday": "holiday.birthday",
    "vip_contact": "phone_call.dormant_client",
    "vip_meeting": "invitation.asset_review",
    "new_account": "new_account.three_day_call",
    "post_sale": "post_sale.one_week_call",
    "risk_expiring": "invitation.risk_assessment_renewal",
    "risk_expired": "invitation.risk_assessment_renewal",
}
FOLLOWUP_SCRIPT = "f"  # the kind field of a follow-up line's 📖 button

ClientRow = ClientFacts  # the row shape the service hands over


@dataclass
class AdvisorRows:
    """Everything one advisor's checklist needs, fetched in bulk."""

    clients: dict[int, ClientFacts] = field(default_factory=dict)
    appointments: list[tuple[int, datetime, str | None]] = field(default_factory=list)
    followups: list[tuple[int, int, str, datetime]] = field(default_factory=list)  # id, client
    maturities: list[tuple[int, str, date]] = field(default_factory=list)
    last_sales: dict[int, datetime] = field(default_factory=dict)
    questions: list[tuple[int, int | None, str, datetime]] = field(default_factory=list)
    calls_yesterday: int = 0
    has_clients: bool = False  # any client at all, not only those loaded above


@dataclass(frozen=True)
class Item:
    """One line of the checklist. ``days``: how late, or how far ahead (shown);
    ``urgency``: higher is more pressing (ranking only)."""

    section: str
    kind: str
    client_id: int | None
    client_name: str
    tier: str
    when: datetime | date | None = None
    days: int = 0
    detail: str | None = None
    item_id: int | None = None
    urgency: int = 0

    @property
    def rank(self) -> tuple[int, int, int, str]:
        if self.section == "appointments":  # a schedule reads in time order
            return (0, 0, -self.urgency, "")
        return (SECTIONS.index(self.section), TIER_RANK.get(self.tier, 4), -self.urgency,
                self.client_name)

    @property
    def action(self) -> str | None:
        """Callback data of the item's button: log an outcome, or open the card."""
        if not self.client_id:
            return None
        return f"lg c {self.client_id}" if self.section in LOG_SECTIONS else f"cl {self.client_id}"

    @property
    def script_action(self) -> str | None:
        """Callback data of the line's 📖 button (a script for this client), if it has one.

        ``dg s f <follow-up id>`` or ``dg s <kind> <client id>``: at most 44 bytes.
        """
        if self.section == "followups" and self.item_id:
            return f"dg s {FOLLOWUP_SCRIPT} {self.item_id}"
        if self.client_id and self.kind in SCRIPT_BY_KIND:
            return f"dg s {self.kind} {self.client_id}"
        return None


@dataclass(frozen=True)
class Checklist:
    items: list[Item]
    holidays: list[tuple[date, str, str]]
    call_target: int
    calls_yesterday: int
    briefing_id: int | None = None
    has_clients: bool = True
    today: date | None = None

    def page(self, number: int, size: int = PAGE_SIZE) -> list[Item]:
        return self.items[number * size:(number + 1) * size]

    def pages(self, size: int = PAGE_SIZE) -> int:
        return max(1, -(-len(self.items) // size))

    def count(self, section: str) -> int:
        return sum(1 for i in self.items if i.section == section)


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
                    briefing_id: int | None = None, tz: str = "Asia/Shanghai") -> Checklist:
    """Every item for today, ranked: section, then tier (most valuable first), then urgency."""
    clients = rows.clients
    zone = ZoneInfo(tz)
    items: list[Item] = []

    def client(cid: int | None) -> ClientFacts:
        return clients.get(cid or 0) or ClientFacts(cid or 0, "", "mass")

    for cid, starts_at, note in rows.appointments:
        c = client(cid)
        items.append(Item("appointments", "appointment", cid, c.name, c.tier, starts_at,
                          detail=note, urgency=-int(starts_at.timestamp())))
    for fid, cid, reason, due in rows.followups:
        c = client(cid)
        late = max(0, (today - due.astimezone(zone).date()).days)  # in the advisor's days
        kind = ("overdue_flag" if late >= config.flag_overdue_days
                else "overdue" if late else "due")
        items.append(Item("followups", kind, cid, c.name, c.tier, due, late, reason, fid,
                          urgency=late))
    for cid, product, maturity in rows.maturities:
        c = client(cid)
        ahead = (maturity - today).days
        items.append(Item("maturities", "maturity", cid, c.name, c.tier, maturity, ahead,
                          product, urgency=-ahead))
    for c in clients.values():
        if c.birthday is not None:
            day = birthday_in(c.birthday, today, config.greeting_days)
            if day is not None:
                ahead = (day - today).days
                items.append(Item("birthdays", "birthday_today" if ahead == 0 else "birthday",
                                  c.id, c.name, c.tier, day, ahead, urgency=-ahead))
        for gap in client_gaps(c, today=today, now=now, config=config,
                               last_sale=rows.last_sales.get(c.id)):
            items.append(Item("cadence", gap.kind, c.id, c.name, c.tier, gap.since, gap.days,
                              urgency=gap.urgency))
    for qid, asker, _text, asked in rows.questions:
        if not question_overdue(asked, now=now, config=config):
            continue
        c = client(asker)
        late = (now - asked).days
        items.append(Item("cadence", "question", asker, c.name, c.tier, asked, late, item_id=qid,
                          urgency=(late - config.question_days) * 100
                          // max(config.question_days, 1)))
    items.sort(key=lambda item: item.rank)
    return Checklist(items, holidays, call_target, rows.calls_yesterday, briefing_id,
                     has_clients=rows.has_clients or bool(clients), today=today)
