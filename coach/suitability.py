"""Decide whether a product may be recommended to a client (the "4S" suitability rule).

A product may be recommended only when all of these hold:

* the client's risk tolerance ``C1``..``C5`` covers the product's rating ``R1``..``R5``
  (``Cn`` may buy ``R1``..``Rn``);
* the client has a risk assessment and it is current.  It is valid for
  ``assessment_valid_days`` (default 180, "six months") **inclusive**: an assessment is
  expired when ``(today - assessed_on).days > assessment_valid_days``.  So with the default,
  an assessment 180 days old is still valid (its last valid day) and 181 days old is expired.
  An assessment dated after ``today`` is a data error (``assessment_in_future``);
* the seller holds the qualification the product requires, if any;
* today lies inside the product's sale window (both ends inclusive, either may be open).

Every failed rule adds a stable reason code, in the fixed order of :class:`Reason`, so the
advisor sees everything that blocks the sale at once.  Bad input (an unknown risk code, a
reversed sale window, a non-positive validity) yields only ``invalid_input`` and
``details["invalid"]`` naming each bad field and its value.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

__all__ = [
    "DEFAULT_ASSESSMENT_VALID_DAYS",
    "Product",
    "ProductLike",
    "Reason",
    "SuitabilityResult",
    "check_suitability",
    "suggest_products",
]

DEFAULT_ASSESSMENT_VALID_DAYS = 180

_LEVELS = range(1, 6)


class Reason(StrEnum):
    """Stable reason codes; the declaration order is the order they are reported in."""

    INVALID_INPUT = "invalid_input"
    ASSESSMENT_MISSING = "assessment_missing"
    ASSESSMENT_IN_FUTURE = "assessment_in_future"
    ASSESSMENT_EXPIRED = "assessment_expired"
    PRODUCT_RISK_ABOVE_TOLERANCE = "product_risk_above_tolerance"
    SELLER_NOT_QUALIFIED = "seller_not_qualified"
    OUTSIDE_SALE_WINDOW = "outside_sale_window"


@dataclass(frozen=True)
class SuitabilityResult:
    """The verdict: ``suitable`` is true exactly when ``reasons`` is empty.

    ``details`` holds JSON-safe facts for templates (levels, ages, ISO dates).
    """

    suitable: bool
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class ProductLike(Protocol):
    """What :func:`suggest_products` needs from a product.

    Optional attributes read with ``getattr``: ``requires`` (qualification code or None),
    ``sale_start`` and ``sale_end`` (dates or None).
    """

    @property
    def name(self) -> str: ...

    @property
    def risk(self) -> str: ...


@dataclass(frozen=True)
class Product:
    """A plain product record satisfying :class:`ProductLike`."""

    name: str
    risk: str
    requires: str | None = None
    sale_start: date | None = None
    sale_end: date | None = None


P = TypeVar("P", bound=ProductLike)


def _level(code: str | None, prefix: str) -> int | None:
    """``"c3"``/``" C3 "`` → 3 for prefix ``"C"``; None when not a valid code."""
    if not isinstance(code, str):
        return None
    text = code.strip().upper()
    if len(text) == 2 and text[0] == prefix and text[1] in "0123456789" and int(text[1]) in _LEVELS:
        return int(text[1])
    return None


def _norm_qual(code: str) -> str:
    return code.strip().upper()


def check_suitability(
    *,
    client_risk: str | None,
    product_risk: str,
    assessed_on: date | None,
    today: date,
    seller_qualifications: Collection[str] = (),
    product_requires: str | None = None,
    sale_window: tuple[date | None, date | None] | None = None,
    assessment_valid_days: int = DEFAULT_ASSESSMENT_VALID_DAYS,
) -> SuitabilityResult:
    """Check every suitability rule and report all that fail (see the module docstring).

    ``client_risk`` None (never assessed) and ``assessed_on`` None both mean
    ``assessment_missing``.  Risk codes are case- and space-insensitive.
    """
    invalid: dict[str, Any] = {}
    client_level = _level(client_risk, "C")
    if client_risk is not None and client_level is None:
        invalid["client_risk"] = client_risk
    product_level = _level(product_risk, "R")
    if product_level is None:
        invalid["product_risk"] = product_risk
    if not isinstance(assessment_valid_days, int) or assessment_valid_days <= 0:
        invalid["assessment_valid_days"] = assessment_valid_days
    start, end = sale_window if sale_window is not None else (None, None)
    if start is not None and end is not None and start > end:
        invalid["sale_window"] = [start.isoformat(), end.isoformat()]
    if invalid:
        return SuitabilityResult(False, [Reason.INVALID_INPUT], {"invalid": invalid})
    assert product_level is not None  # narrowed by the checks above

    reasons: list[str] = []
    details: dict[str, Any] = {
        "client_risk": f"C{client_level}" if client_level else None,
        "product_risk": f"R{product_level}",
        "max_product_risk": f"R{client_level}" if client_level else None,
    }

    if client_level is None or assessed_on is None:
        reasons.append(Reason.ASSESSMENT_MISSING)
    else:
        age = (today - assessed_on).days
        details["assessment_age_days"] = age
        details["assessment_valid_until"] = (
            assessed_on + timedelta(days=assessment_valid_days)
        ).isoformat()
        if age < 0:
            reasons.append(Reason.ASSESSMENT_IN_FUTURE)
        elif age > assessment_valid_days:
            reasons.append(Reason.ASSESSMENT_EXPIRED)

    if client_level is not None and product_level > client_level:
        reasons.append(Reason.PRODUCT_RISK_ABOVE_TOLERANCE)

    if product_requires and product_requires.strip():
        needed = _norm_qual(product_requires)
        held = {_norm_qual(q) for q in seller_qualifications if q and q.strip()}
        details["qualification_required"] = needed
        if needed not in held:
            reasons.append(Reason.SELLER_NOT_QUALIFIED)

    if start is not None or end is not None:
        details["sale_window"] = [d.isoformat() if d else None for d in (start, end)]
        if (start is not None and today < start) or (end is not None and today > end):
            reasons.append(Reason.OUTSIDE_SALE_WINDOW)

    return SuitabilityResult(not reasons, reasons, details)


def suggest_products(
    client_risk: str | None,
    products: Sequence[P],
    *,
    assessed_on: date | None,
    today: date,
    seller_qualifications: Collection[str] = (),
    assessment_valid_days: int = DEFAULT_ASSESSMENT_VALID_DAYS,
) -> list[P]:
    """Return the products suitable for this client and seller today.

    Sorted by risk rating, highest first, then by name.  A missing or expired
    assessment makes the list empty: the client must be assessed again first.
    Products with an invalid rating are left out.
    """
    suitable: list[tuple[int, str, P]] = []
    for product in products:
        result = check_suitability(
            client_risk=client_risk,
            product_risk=product.risk,
            assessed_on=assessed_on,
            today=today,
            seller_qualifications=seller_qualifications,
            product_requires=getattr(product, "requires", None),
            sale_window=(getattr(product, "sale_start", None), getattr(product, "sale_end", None)),
            assessment_valid_days=assessment_valid_days,
        )
        if result.suitable:
            suitable.append((_level(product.risk, "R") or 0, product.name, product))
    suitable.sort(key=lambda item: (-item[0], item[1]))
    return [product for _, _, product in suitable]
