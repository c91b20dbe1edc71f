"""The product catalogue: find a product, import it from CSV, link holdings and sales to it.

Admins maintain the catalogue with ``coach products import FILE.csv`` (upsert by
``code``). Holdings and logged sales keep the product name as typed; when it equals
a catalogue product's code (any case) or exact name, ``product_id`` points at it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from coach.digits import ascii_int
from coach.services.clients import RATINGS, parse_amount, parse_date
from coach.services.errors import ServiceError
from storage.models import Holding, Interaction, Product

__all__ = [
    "COLUMNS",
    "catalogue_resolver",
    "ProductImport",
    "ProductView",
    "find_product",
    "get_product",
    "import_products",
    "link_catalogue",
    "list_products",
    "product_id_for",
    "product_row",
    "product_view",
    "read_product_rows",
]

COLUMNS = ("code", "name", "type", "risk_rating", "min_amount", "term_days", "sale_start",
           "sale_end", "requires_qualification", "features", "advantages", "benefits")
TYPES = ("wealth", "fund", "deposit", "insurance", "bond", "gold", "other")


@dataclass(frozen=True)
class ProductView:
    """A catalogue product for templates (and a ``ProductLike`` for suggestions)."""

    id: int
    code: str
    name: str
    type: str
    risk: str
    min_amount: Decimal | None
    term_days: int | None
    sale_start: date | None
    sale_end: date | None
    requires: str | None
    features: str | None
    advantages: str | None
    benefits: str | None


def product_view(product: Product) -> ProductView:
    return ProductView(product.id, product.code, product.name, product.type, product.risk_rating,
                       product.min_amount, product.term_days, product.sale_start,
                       product.sale_end, product.requires_qualification, product.features,
                       product.advantages, product.benefits)


def find_product(session: Session, text: str | None) -> ProductView | None:
    """The product whose code (any case) or exact name is ``text``."""
    row = product_row(session, text)
    return product_view(row) if row is not None else None


def get_product(session: Session, product_id: int) -> ProductView | None:
    """The product with this id (the catalogue is not secret: button ids are just checked)."""
    row = session.get(Product, product_id)
    return product_view(row) if row is not None else None


def product_row(session: Session, text: str | None) -> Product | None:
    """The row behind :func:`find_product`, for other services inside the same session."""
    value = (text or "").strip()
    if not value:
        return None
    by_code = session.scalar(select(Product).where(func.upper(Product.code) == value.upper()))
    if by_code is not None:
        return by_code
    return session.scalars(select(Product).where(Product.name == value).order_by(Product.id)
                           ).first()


def list_products(session: Session, *, limit: int = 40) -> list[ProductView]:
    return [product_view(p) for p in session.scalars(
        select(Product).order_by(Product.risk_rating, Product.code).limit(limit))]


def product_id_for(session: Session, text: str | None) -> int | None:
    product = product_row(session, text)
    return product.id if product else None


def catalogue_resolver(session: Session) -> Callable[[str | None], int | None]:
    """A fast ``name or code → product id`` lookup for bulk imports (loaded once)."""
    by_code: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for pid, code, name in session.execute(select(Product.id, Product.code, Product.name)
                                           .order_by(Product.id.desc())):
        by_code[code.upper()] = pid
        by_name[name] = pid

    def resolve(text: str | None) -> int | None:
        value = (text or "").strip()
        return by_code.get(value.upper()) or by_name.get(value) if value else None

    return resolve


def link_catalogue(session: Session) -> int:
    """Point unlinked holdings and sales at the catalogue product they name; returns count."""
    linked = 0
    for product in session.scalars(select(Product)):
        targets = ((Holding, Holding.product_name, Holding.product_id),
                   (Interaction, Interaction.product, Interaction.product_id))
        for model, column, product_id in targets:
            result = session.execute(
                update(model).where(product_id.is_(None),
                                    (column == product.name)
                                    | (func.upper(column) == product.code.upper()))
                .values(product_id=product.id).execution_options(synchronize_session=False))
            linked += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return linked


@dataclass
class ProductImport:
    created: int = 0
    updated: int = 0
    linked: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


MAX_FIELD = 2000


def read_product_rows(lines: Iterable[str] | str) -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` for every data row; the header needs code, name and risk_rating."""
    from coach.services.client_import import CsvRows

    text = lines if isinstance(lines, str) else "".join(lines)
    return list(CsvRows(text, required=("code", "name", "risk_rating")))


def _optional(row: dict[str, str], key: str) -> str | None:
    return row.get(key) or None


def _parse(row: dict[str, str]) -> dict[str, object]:
    if "\0error" in row:
        raise ServiceError("row_invalid", value=row["\0error"])
    for key, value in row.items():
        if len(value) > MAX_FIELD:
            raise ServiceError("too_long", value=f"{key} over {MAX_FIELD} characters")
    code = row.get("code", "")
    if not code or len(code) > 32 or " " in code:
        raise ServiceError("code_invalid", value=code)
    name = row.get("name", "")
    if not name or len(name) > 120:
        raise ServiceError("name_invalid", value=name)
    rating = row.get("risk_rating", "").upper()
    if rating not in RATINGS:
        raise ServiceError("rating_invalid", value=rating)
    kind = (row.get("type") or "wealth").lower()
    if kind not in TYPES:
        raise ServiceError("type_invalid", value=kind)
    min_amount = _optional(row, "min_amount")
    term = _optional(row, "term_days")
    if term is not None and ascii_int(term, low=1, high=100_000) is None:
        raise ServiceError("term_invalid", value=term)
    start, end = _optional(row, "sale_start"), _optional(row, "sale_end")
    sale_start: date | None = parse_date(start) if start else None
    sale_end: date | None = parse_date(end) if end else None
    if sale_start and sale_end and sale_start > sale_end:
        raise ServiceError("sale_window_invalid", value=f"{start} > {end}")
    qualification = _optional(row, "requires_qualification")
    return {
        "code": code, "name": name, "type": kind, "risk_rating": rating,
        "min_amount": parse_amount(min_amount) if min_amount else None,
        "term_days": int(term) if term else None, "sale_start": sale_start,
        "sale_end": sale_end,
        "requires_qualification": qualification.upper() if qualification else None,
        "features": _optional(row, "features"), "advantages": _optional(row, "advantages"),
        "benefits": _optional(row, "benefits"),
    }


def import_products(session: Session, rows: list[tuple[int, dict[str, str]]]) -> ProductImport:
    """Upsert every row by code, or nothing when any row has a problem."""
    report = ProductImport()
    seen: dict[str, int] = {}
    parsed: list[dict[str, object]] = []
    for line, row in rows:
        try:
            values = _parse(row)
        except ServiceError as err:
            detail = ", ".join(str(v) for v in err.params.values())
            report.problems.append((line, f"{err.code}{': ' + detail if detail else ''}"))
            continue
        code = str(values["code"])
        if code.upper() in seen:
            report.problems.append((line, f"duplicate_code: {code} (line {seen[code.upper()]})"))
            continue
        seen[code.upper()] = line
        parsed.append(values)
    if report.problems:
        return report  # validate the whole file first: one bad row, nothing written
    for values in parsed:
        code = str(values["code"])
        existing = session.scalar(select(Product).where(func.upper(Product.code) == code.upper()))
        if existing is None:
            session.add(Product(**values))
            report.created += 1
        else:
            for key, value in values.items():
                setattr(existing, key, value)
            report.updated += 1
    session.flush()
    report.linked = link_catalogue(session)
    return report
