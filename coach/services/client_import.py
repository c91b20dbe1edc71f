"""Import an advisor's clients and holdings from CSV: the whole file or nothing.

Columns (header row, UTF-8 or GBK, Simplified or Traditional names alike):
``name``, ``phone``, ``tier``, ``aum``, ``risk_tolerance``, ``risk_assessed_on``,
``birthday``, ``first_purchase``, ``vulnerable`` (yes/no, set when a client is added),
``product``, ``risk_rating``, ``amount``, ``maturity_date``. Several
rows with the same name and phone are one client with several holdings.

Two passes over the rows, so a 100,000-row file never sits in memory as objects:

1. validate every row; any problem is reported as ``line N: problem`` (the
   problem names the column, never the value: no client data on screen) and
   nothing at all is written;
2. write in batches (committed one by one when the caller passes ``on_batch``, so
   a bot on the same SQLite file is not locked out; a crash half-way is completed
   by importing the file again). A client already in the advisor's book (same name and
   phone) is matched, not added again: its fields are updated when they differ
   and only holdings it does not have yet are added. Re-importing a file
   therefore changes nothing. ``dry_run`` runs the same pass and rolls back,
   listing what would change.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
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
from storage.models import Client, Holding, User

__all__ = ["COLUMNS", "CsvRows", "ImportReport", "import_clients", "read_rows"]

COLUMNS = ("name", "phone", "tier", "aum", "risk_tolerance", "risk_assessed_on", "birthday",
           "first_purchase", "vulnerable", "product", "risk_rating", "amount", "maturity_date")
_YES = {"1", "y", "yes", "true", "是", "x", "✓"}
_NO = {"", "0", "n", "no", "false", "否"}
MAX_FIELD = 200  # longer than any real value; a 1 MB "name" is a broken file
BATCH = 1000
# which column a validation error is about (the value itself is never printed)
_CODE_COLUMN = {"client_name_invalid": "name", "phone_invalid": "phone", "tier_invalid": "tier",
                "risk_invalid": "risk_tolerance"}
_UPDATABLE = ("tier", "aum", "risk_tolerance", "risk_assessed_on", "birthday")

Row = tuple[int, dict[str, str]]
HoldingKey = tuple[str, str | None, Decimal, date | None]


@dataclass
class ImportReport:
    clients: int = 0  # added
    updated: int = 0
    unchanged: int = 0
    holdings: int = 0  # added
    rows: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    changes: list[tuple[int, str]] = field(default_factory=list)  # dry run: what would change


class CsvRows:
    """The data rows of a CSV text as ``(line, row)``; can be iterated more than once."""

    def __init__(self, text: str, required: Iterable[str] = ("name",)) -> None:
        self._text = text
        try:
            header = next(csv.reader(io.StringIO(text)), [])
        except csv.Error:
            header = []
        self.fieldnames = [h.strip() for h in header]
        missing = set(required) - set(self.fieldnames)
        if missing:
            raise ServiceError("csv_missing_columns", columns=", ".join(sorted(missing)))

    def __iter__(self) -> Iterator[Row]:
        reader = csv.reader(io.StringIO(self._text))
        next(reader, None)
        names = self.fieldnames
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                yield reader.line_num, {"\0error": f"unreadable CSV row ({err})"}
                continue
            if not any(v.strip() for v in values) and len(values) <= len(names):
                continue  # blank line
            row = {k: (v or "").strip() for k, v in zip(names, values, strict=False) if k}
            if len(values) > len(names):
                row["\0error"] = f"{len(values)} fields, the header has {len(names)}"
            yield reader.line_num, row


def read_rows(lines: Iterable[str]) -> list[Row]:
    """All rows of a small CSV (tests, the bot); big files go through :class:`CsvRows`."""
    return list(CsvRows("".join(lines)))


class _RowProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _optional(row: dict[str, str], key: str) -> str | None:
    return row.get(key, "") or None


def _flag(row: dict[str, str], key: str) -> bool:
    """A yes/no column (empty means no); anything else is a problem on that line."""
    value = row.get(key, "").strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise _RowProblem(f"{key}: flag_invalid")


def _column(column: str, parse: Any, value: str) -> Any:
    try:
        return parse(value)
    except ServiceError as err:
        raise _RowProblem(f"{column}: {err.code}") from None


# how scripts address the client: 陈先生 / 王女士 (optional column)
_SALUTATIONS = {"mr": "mr", "先生": "mr", "ms": "ms", "mrs": "ms", "女士": "ms"}


def _parse_row(row: dict[str, str], today: date, thresholds: TierThresholds,
               ) -> tuple[ClientDraft, HoldingKey | None]:
    if "\0error" in row:
        raise _RowProblem(row["\0error"])
    for key, value in row.items():
        if len(value) > MAX_FIELD:
            raise _RowProblem(f"{key}: longer than {MAX_FIELD} characters")
    aum = _optional(row, "aum")
    assessed = _optional(row, "risk_assessed_on")
    birthday = _optional(row, "birthday")
    risk = _optional(row, "risk_tolerance")
    try:
        draft = validate_draft(ClientDraft(
            name=row.get("name", ""), phone=_optional(row, "phone"),
            salutation=_SALUTATIONS.get((_optional(row, "salutation") or "").lower()),
            tier=(_optional(row, "tier") or "").lower() or None,
            aum=_column("aum", parse_amount, aum) if aum else None,
            risk_tolerance=risk.upper() if risk else None,
            risk_assessed_on=_column("risk_assessed_on", parse_date, assessed) if assessed
            else None,
            birthday=_column("birthday", parse_date, birthday) if birthday else None,
            first_purchase=_flag(row, "first_purchase"), vulnerable=_flag(row, "vulnerable"),
        ), today=today, thresholds=thresholds)
    except ServiceError as err:
        column = _CODE_COLUMN.get(err.code, "risk_assessed_on or birthday")
        raise _RowProblem(f"{column}: {err.code}") from None
    product = _optional(row, "product")
    if product is None:
        return draft, None
    rating = (_optional(row, "risk_rating") or "").upper() or None
    if rating is not None and rating not in RATINGS:
        raise _RowProblem("risk_rating: rating_invalid")
    amount_text = _optional(row, "amount")
    if amount_text is None:
        raise _RowProblem("amount: amount_missing")
    maturity = _optional(row, "maturity_date")
    return draft, (product, rating, _column("amount", parse_amount, amount_text),
                   _column("maturity_date", parse_date, maturity) if maturity else None)


def _key(row: dict[str, str]) -> tuple[str, str]:
    return row.get("name", "").strip(), row.get("phone", "").strip()


def validate_rows(rows: Iterable[Row], *, today: date,
                  thresholds: TierThresholds) -> ImportReport:
    """Pass 1: every problem of the file, keeping nothing else in memory."""
    report = ImportReport()
    for line, row in rows:
        report.rows += 1
        try:
            _parse_row(row, today, thresholds)
        except _RowProblem as problem:
            report.problems.append((line, problem.message))
    return report


def import_clients(session: Session, rows: Iterable[Row], *, advisor: User, clock: Clock,
                   thresholds: TierThresholds, dry_run: bool = False,
                   batch: int = BATCH,
                   on_batch: Callable[[], None] | None = None) -> ImportReport:
    """Validate the whole file; when it is clean, add or update its clients in batches.

    ``rows`` is iterated twice (use :class:`CsvRows` or a list). With any problem
    nothing is written. ``dry_run`` lists the changes in ``report.changes`` and
    leaves the database as it was.

    ``on_batch`` (the CLI passes ``session.commit``) is called after every ``batch``
    rows are written: short transactions, so the bot writing to the same SQLite
    file waits far less than its busy timeout. The file was validated as a whole
    first, so an import stopped half-way (a crash) is completed by running it again:
    rows already written are matched on name + phone and not added twice.
    """
    today = local_day(clock.now(), advisor.timezone)
    report = validate_rows(rows, today=today, thresholds=thresholds)
    if report.problems:
        return report
    now = clock.now()
    book: dict[tuple[str, str], int] = {}
    current: dict[int, tuple[Any, ...]] = {}  # the updatable fields of clients already there
    for cid, name, phone, *values in session.execute(
            select(Client.id, Client.name, Client.phone,
                   *(getattr(Client, f) for f in _UPDATABLE))
            .where(Client.advisor_id == advisor.id, Client.forgotten.is_(False))):
        book[(name, phone or "")] = cid
        current[cid] = tuple(values)
    # hashes, not the tuples: a 100,000-holding book then costs ~6 MB instead of ~45 MB
    # (a 64-bit collision would skip one identical-looking holding: far below any real risk)
    known_holdings: set[int] = set()
    for cid, product, rating, amount, maturity in session.execute(
            select(Holding.client_id, Holding.product_name, Holding.risk_rating, Holding.amount,
                   Holding.maturity_date).join(Client, Client.id == Holding.client_id)
            .where(Client.advisor_id == advisor.id)):
        known_holdings.add(hash((cid, (product, rating, Decimal(amount), maturity))))
    product_id = catalogue_resolver(session)
    pending: list[tuple[Client, int, HoldingKey | None]] = []

    def flush_pending() -> None:
        if not pending:
            return
        session.flush()  # new clients get their ids
        for client, _line, _ in pending:
            book.setdefault((client.name, client.phone or ""), client.id)
        for client, line, holding in pending:
            if holding is not None:
                _add_holding(client.id, holding, line)
        pending.clear()
        session.flush()  # the holdings too, before they are let go
        session.expunge_all()  # keep memory flat: written rows are not needed again

    def _add_holding(cid: int, holding: HoldingKey, line: int) -> None:
        key = hash((cid, holding))
        if key in known_holdings:
            return
        known_holdings.add(key)
        product, rating, amount, maturity = holding
        row = holding_from(cid, product, rating, amount, maturity)
        row.product_id = product_id(product)
        session.add(row)
        report.holdings += 1
        if dry_run:
            report.changes.append((line, "add holding"))

    new_keys: dict[tuple[str, str], Client] = {}
    since_commit = 0
    for line, raw in rows:
        draft, holding = _parse_row(raw, today, thresholds)
        key = (draft.name, draft.phone or "")
        cid = book.get(key)
        if cid is None and key in new_keys:
            pending.append((new_keys[key], line, holding))
        elif cid is None:
            client = new_client(draft, advisor_id=advisor.id, now=now, today=today)
            client.opened_on = None  # imported clients are not new accounts
            session.add(client)
            new_keys[key] = client
            pending.append((client, line, holding))
            report.clients += 1
            if dry_run:
                report.changes.append((line, "add client"))
        else:
            if cid in current:  # first row of a client already in the book (popped: once)
                _update(session, cid, draft, current.pop(cid), line, report, dry_run)
            if holding is not None:
                _add_holding(cid, holding, line)
        since_commit += 1
        if len(pending) >= batch or (on_batch is not None and since_commit >= batch):
            flush_pending()
            new_keys.clear()
            session.flush()  # updates of existing clients too
            if on_batch is not None:
                on_batch()
            since_commit = 0
    flush_pending()
    session.flush()
    return report


def _update(session: Session, cid: int, draft: ClientDraft, values: tuple[Any, ...], line: int,
            report: ImportReport, dry_run: bool) -> None:
    """Bring an existing client in line with the file; count it updated or unchanged.

    ``values`` are the client's fields as loaded up front, so an unchanged client
    (the usual case when a file is imported again) costs no query at all.
    """
    stored = dict(zip(_UPDATABLE, values, strict=True))
    changed = [name for name in _UPDATABLE
               if getattr(draft, name) is not None and getattr(draft, name) != stored[name]]
    if changed:
        client = session.get(Client, cid)
        assert client is not None
        for name in changed:
            setattr(client, name, getattr(draft, name))
        report.updated += 1
        if dry_run:
            report.changes.append((line, "update client: " + ", ".join(changed)))
    else:
        report.unchanged += 1
