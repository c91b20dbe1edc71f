"""Small builders for test data, straight into the database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from storage.models import Client, Holding, Team, User

_ids = count(100)


def team(s: Session, name: str = "Alpha", *, now: datetime) -> Team:
    row = Team(name=name, created_at=now)
    s.add(row)
    s.flush()
    return row


def user(s: Session, *, role: str = "advisor", team_id: int | None = None, name: str | None = None,
         telegram_id: int | None = None, now: datetime, **extra: Any) -> User:
    tid = telegram_id or 10_000 + next(_ids)
    extra.setdefault("username", f"u{tid}")
    row = User(telegram_id=tid, name=name or f"{role}{tid}", role=role, team_id=team_id,
               created_at=now, **extra)
    s.add(row)
    s.flush()
    return row


def client(s: Session, *, advisor_id: int, name: str = "王建国", now: datetime,
           tier: str = "premier", aum: int = 800_000, risk: str | None = "C3",
           assessed_on: date | None = date(2026, 9, 1), phone: str | None = "13800001234",
           **extra: Any) -> Client:
    row = Client(advisor_id=advisor_id, name=name, tier=tier, aum=Decimal(aum),
                 risk_tolerance=risk, risk_assessed_on=assessed_on, phone=phone,
                 created_at=now, **extra)
    s.add(row)
    s.flush()
    return row


def holding(s: Session, *, client_id: int, product: str = "稳健增利90天", amount: int = 100_000,
            rating: str = "R2", maturity: date | None = None) -> Holding:
    row = Holding(client_id=client_id, product_name=product, amount=Decimal(amount),
                  risk_rating=rating, maturity_date=maturity)
    s.add(row)
    s.flush()
    return row


def quiet_timezone(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is about 03:00 now: no checklist or wrap-up is due.

    End-to-end tests start real ``coach run`` processes whose first tick runs at once; in a
    zone where it is the middle of the night, that tick sends nobody a morning checklist, so
    the test sees only the replies it asked for, whatever the wall clock says.
    """
    utc_hour = (now or datetime.now(UTC)).hour
    offset = (3 - utc_hour) % 24
    if offset > 14:  # Etc/GMT zones span UTC-12 .. UTC+14
        offset -= 24
    # POSIX sign convention: Etc/GMT-8 is UTC+8
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"
