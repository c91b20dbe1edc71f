"""A believable, entirely fictional book of business for ``coach console``.

One team (示范支行), a lead, two advisors, a lobby manager and an admin, about
30 clients across the four tiers with holdings, maturities, birthdays and past
contacts, all dated relative to "today" so the morning checklist has content.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Client, FollowUp, Holding, Interaction, Team, User

__all__ = ["DEMO_PEOPLE", "DemoPerson", "seed_demo"]


@dataclass(frozen=True)
class DemoPerson:
    telegram_id: int
    name: str
    role: str
    username: str


DEMO_TEAM = "示范支行理财中心"
DEMO_PEOPLE = {
    "admin": DemoPerson(900001, "系统管理员", "admin", "demo_admin"),
    "lead": DemoPerson(900002, "周慧琳", "lead", "demo_lead"),
    "advisor": DemoPerson(900003, "林晓峰", "advisor", "demo_advisor"),
    "advisor2": DemoPerson(900004, "陈思雨", "advisor", "demo_advisor2"),
    "referrer": DemoPerson(900005, "许大堂", "referrer", "demo_referrer"),
}

# name, tier, aum, risk tolerance, months since assessment
_CLIENTS = [
    ("王建国", "premier", 1_200_000, "C3", 5), ("李秀英", "wealth", 180_000, "C2", 2),
    ("张伟", "mass", 32_000, "C1", 13), ("刘桂兰", "premier", 860_000, "C2", 7),
    ("陈志明", "private", 7_500_000, "C4", 1), ("杨丽", "wealth", 95_000, "C3", 3),
    ("赵强", "wealth", 260_000, "C3", 6), ("黄美玲", "premier", 640_000, "C4", 4),
    ("周建华", "mass", 12_000, None, 0), ("吴晓燕", "wealth", 150_000, "C2", 9),
    ("徐志刚", "premier", 2_100_000, "C5", 2), ("孙红梅", "mass", 46_000, "C1", 4),
    ("马俊杰", "wealth", 310_000, "C3", 1), ("朱玉珍", "premier", 530_000, "C2", 5),
    ("胡国平", "wealth", 78_000, "C2", 11), ("郭静", "mass", 8_000, None, 0),
    ("何家豪", "premier", 980_000, "C4", 3), ("高淑华", "wealth", 120_000, "C1", 6),
    ("罗志远", "wealth", 205_000, "C3", 2), ("梁美华", "private", 6_300_000, "C3", 4),
    ("Chen Mei", "premier", 720_000, "C3", 2), ("David Wong", "wealth", 210_000, "C4", 8),
    ("宋丽娟", "mass", 21_000, "C2", 1), ("谢文斌", "premier", 1_500_000, "C4", 6),
    ("韩雪", "wealth", 66_000, "C2", 3), ("唐国强", "wealth", 140_000, "C3", 10),
    ("冯秀兰", "premier", 910_000, "C2", 1), ("邓超群", "mass", 15_000, "C1", 2),
    ("曹丽萍", "wealth", 88_000, "C3", 5), ("彭海涛", "premier", 560_000, "C3", 12),
]
_PRODUCTS = [("稳健增利90天", "R2"), ("季季享理财", "R2"), ("大额存单3年", "R1"),
             ("沪深300指数基金", "R4"), ("纯债增强基金", "R3"), ("年金保险", "R1"),
             ("货币基金", "R1"), ("平衡配置FOF", "R3")]


def _phone(rng: random.Random) -> str:
    return "13" + "".join(str(rng.randint(0, 9)) for _ in range(9))


def seed_demo(session: Session, *, now: datetime, tz: str = "Asia/Shanghai") -> Team:
    """Create the demo team and book (idempotent: an existing demo team is returned)."""
    team = session.scalar(select(Team).where(Team.name == DEMO_TEAM))
    if team is not None:
        return team
    rng = random.Random(20261125)
    today = now.astimezone(ZoneInfo(tz)).date()
    team = Team(name=DEMO_TEAM, created_at=now)
    session.add(team)
    session.flush()
    users: dict[str, User] = {}
    for key, person in DEMO_PEOPLE.items():
        user = User(telegram_id=person.telegram_id, name=person.name, role=person.role,
                    username=person.username, team_id=None if person.role == "admin" else team.id,
                    timezone=tz, created_at=now)
        session.add(user)
        users[key] = user
    session.flush()
    for i, (name, tier, aum, risk, months) in enumerate(_CLIENTS):
        owner = users["advisor"] if i % 3 != 2 else users["advisor2"]
        _add_client(session, rng, owner, i, name, tier, aum, risk, months, today, now)
    _load_products(session)
    return team


def _load_products(session: Session) -> None:
    """The sample catalogue (tests/data/products.csv), linked to the demo holdings."""
    from pathlib import Path

    from coach.services.products import import_products, read_product_rows

    path = Path(__file__).resolve().parents[1] / "tests" / "data" / "products.csv"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            import_products(session, read_product_rows(fh))


def _add_client(session: Session, rng: random.Random, owner: User, i: int, name: str, tier: str,
                aum: int, risk: str | None, months: int, today: date, now: datetime) -> None:
    birthday = date(1950 + rng.randint(0, 45), today.month, today.day) if i in (0, 13) else (
        date(1950 + rng.randint(0, 45), rng.randint(1, 12), rng.randint(1, 28)))
    if i == 5:  # one birthday later this week
        soon = today + timedelta(days=3)
        birthday = date(1980, soon.month, min(soon.day, 28))
    last_contact = now - timedelta(days=[3, 12, 40, 33, 8, 25, 60, 31, 2, 15][i % 10])
    client = Client(
        advisor_id=owner.id, name=name, phone=_phone(rng) if i % 4 else None, tier=tier,
        aum=Decimal(aum), risk_tolerance=risk,
        risk_assessed_on=today - timedelta(days=30 * months) if risk else None,
        birthday=birthday, opened_on=today - timedelta(days=2 if i == 8 else 400 + i * 20),
        last_contact_at=last_contact, last_meeting_at=now - timedelta(days=20 + i * 7),
        created_at=now - timedelta(days=400),
    )
    session.add(client)
    session.flush()
    for j in range(1 + i % 3):
        product, rating = _PRODUCTS[(i + j) % len(_PRODUCTS)]
        days_left = [2, 5, 20, 45, 90][(i + j) % 5]
        maturity = today + timedelta(days=days_left) if rating != "R4" else None
        session.add(Holding(client_id=client.id, product_name=product, risk_rating=rating,
                            amount=Decimal(max(5000, aum // (2 + j)) // 1000 * 1000),
                            maturity_date=maturity, purchased_on=today - timedelta(days=120)))
    outcome = ["interested_thinking", "no_answer", "sale", "soft_decline", "meeting_booked"][i % 5]
    interaction = Interaction(
        client_id=client.id, advisor_id=owner.id, channel="phone", outcome=outcome,
        amount=Decimal(50000) if outcome == "sale" else None,
        product="稳健增利90天" if outcome == "sale" else None,
        notes=None, occurred_at=last_contact, created_at=last_contact)
    session.add(interaction)
    session.flush()
    if i % 4 == 0:
        # one is six days late: from a Wednesday start (the README's console day) its fifth
        # working day overdue, when the lead hears of it, is the next day
        due = now + timedelta(days=[-6, -1, 0, 2][i % 4 if i % 4 else (i // 4) % 4])
        session.add(FollowUp(client_id=client.id, advisor_id=owner.id,
                             interaction_id=interaction.id, kind="call",
                             reason=outcome, due_at=due, status="pending", created_at=last_contact))
