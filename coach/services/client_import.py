"""Import an advisor's clients and holdings from CSV, all or nothing per client.

Columns (header row, UTF-8, Simplified or Traditional names alike): ``name``,
``phone``, ``tier``, ``aum``, ``risk_tolerance``, ``risk_assessed_on``,
``birthday``, ``product``, ``risk_rating``, ``amount``, ``maturity_date``.
Several rows with the same name and phone are one client with several
holdings. A client with any bad row is not imported at all; every problem is
reported as ``line N: problem``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from coach.clock import Clock, local_day
from coach.services.clients import (
    RATINGS,
    ClientDraft,
    holding_from,
    new_client,
    parse_amount,
    parse_date,
    validate_draft,
)
from coach.services.errors import ServiceError
from coach.services.products import catalogue_resolver
from coach.tiers import TierThresholds
from storage.models import User

__all__ = ["ImportReport", "import_clients", "read_rows"]

COLUMNS = ("name", "phone", "tier", "aum", "risk_tolerance", "risk_assessed_on", "birthday",
           "product", "risk_rating", "amount", "maturity_date")


@dataclass
class ImportReport:
    clients: int = 0
    holdings: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Group:
    lines: list[int] = field(default_factory=list)
    draft: ClientDraft | None = None
    holdings: list[tuple[str, str | None, Decimal, date | None]] = field(default_factory=list)
    bad: bool = False


def read_rows(lines: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(lines)
    missing = {"name"} - set(reader.fieldnames or [])
    if missing:
        raise ServiceError("csv_missing_columns", columns=", ".join(sorted(missing)))
    return [(n, {k.strip(): (v or "").strip() for k, v in row.items() if k})
            for n, row in enumerate(reader, start=2)]


def _optional(row: dict[str, str], key: str) -> str | None:
    value = row.get(key, "")
    return value or None


def _parse_row(row: dict[str, str], today: date, thresholds: TierThresholds,
               ) -> tuple[ClientDraft, tuple[str, str | None, Decimal, date | None] | None]:
    aum = _optional(row, "aum")
    assessed = _optional(row, "risk_assessed_on")
    birthday = _optional(row, "birthday")
    risk = _optional(row, "risk_tolerance")
    draft = validate_draft(ClientDraft(
        name=row.get("name", ""), phone=_optional(row, "phone"),
        tier=(_optional(row, "tier") or "").lower() or None,
        aum=parse_amount(aum) if aum else None,
        risk_tolerance=risk.upper() if risk else None,
        risk_assessed_on=parse_date(assessed) if assessed else None,
        birthday=parse_date(birthday) if birthday else None,
    ), today=today, thresholds=thresholds)
    product = _optional(row, "product")
    if product is None:
        return draft, None
    rating = (_optional(row, "risk_rating") or "").upper() or None
    if rating is not None and rating not in RATINGS:
        raise ServiceError("rating_invalid", value=rating)
    amount_text = _optional(row, "amount")
    if amount_text is None:
        raise ServiceError("amount_missing")
    maturity = _optional(row, "maturity_date")
    return draft, (product, rating, parse_amount(amount_text),
                   parse_date(maturity) if maturity else None)


def import_clients(session: Session, rows: list[tuple[int, dict[str, str]]], *,
                   advisor: User, clock: Clock, thresholds: TierThresholds) -> ImportReport:
    """Validate every row, then insert the good clients in one flush."""
    today = local_day(clock.now(), advisor.timezone)
    groups: dict[tuple[str, str], _Group] = {}
    report = ImportReport()
    for line, row in rows:
        key = (row.get("name", "").strip(), row.get("phone", "").strip())
        group = groups.setdefault(key, _Group())
        group.lines.append(line)
        try:
            draft, holding = _parse_row(row, today, thresholds)
        except ServiceError as err:
            detail = ", ".join(f"{v}" for v in err.params.values())
            report.problems.append((line, f"{err.code}{': ' + detail if detail else ''}"))
            group.bad = True
            continue
        group.draft = group.draft or draft
        if holding is not None:
            group.holdings.append(holding)
    now = clock.now()
    clients = []
    for group in groups.values():
        if group.bad or group.draft is None:
            if not group.bad:
                report.problems.append((group.lines[0], "client_name_invalid"))
            continue
        client = new_client(group.draft, advisor_id=advisor.id, now=now, today=today)
        client.opened_on = None  # imported clients are not new accounts
        clients.append((client, group))
    session.add_all([c for c, _ in clients])
    session.flush()
    product_id = catalogue_resolver(session)  # holdings point at catalogue products
    for client, group in clients:
        for product, rating, amount, maturity in group.holdings:
            holding = holding_from(client.id, product, rating, amount, maturity)
            holding.product_id = product_id(product)
            session.add(holding)
            report.holdings += 1
    report.clients = len(clients)
    report.problems.sort()
    return report
