"""Decide whether a product may be recommended to a client (the "4S" suitability rule).

A product may be recommended only when all of these hold:

* the client's risk tolerance ``C1``..``C5`` covers the product's rating ``R1``..``R5``
  (``Cn`` may buy ``R1``..``Rn``);
* the client has a risk assessment and it is current.  As the manuals say, it is valid
  for six **calendar months**, inclusive: an assessment of 1 June is valid through
  1 December (31 August: through 28/29 February, the month's last day).  A caller may
  still pass ``assessment_valid_days`` to count days instead.  An assessment dated after
  ``today`` is a data error (``assessment_in_future``);
* the seller holds one of the qualifications the product accepts; a product may list
  several ("AFP,CFP"), and a highest-risk (R5) product that lists none still needs one of
  ``top_risk_qualifications`` (AFP, CFP, EFP by default);
* today lies inside the product's sale window (both ends inclusive, either may be open).

Some clients need more care even when the sale is suitable: an elderly client (65 or
older by default), a first purchase of a risk product (R2 and above), a vulnerable client.
These add ``warnings`` and the ``extra_steps`` the sale needs before it is saved (a second
person present, a recorded explanation); they never make a sale unsuitable by themselves.

Every failed rule adds a stable reason code, in the fixed order of :class:`Reason`, so the
advisor sees everything that blocks the sale at once.  Bad input (an unknown risk code, a
reversed sale window, a non-positive validity) yields only ``invalid_input`` and
``details["invalid"]`` naming each bad field and its value.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

__all__ = [
    "DEFAULT_ASSESSMENT_VALID_DAYS",
    "DEFAULT_ASSESSMENT_VALID_MONTHS",
    "DEFAULT_ELDERLY_AGE",
    "DEFAULT_TOP_RISK_QUALIFICATIONS",
    "EXTRA_STEPS",
    "CareWarning",
    "age_on",
    "assessment_valid_until",
    "care_warnings",
    "Product",
    "ProductLike",
    "Reason",
    "SuitabilityResult",
    "check_suitability",
    "suggest_products",
]

DEFAULT_ASSESSMENT_VALID_DAYS = 180  # only when a caller counts days explicitly
DEFAULT_ASSESSMENT_VALID_MONTHS = 6
DEFAULT_ELDERLY_AGE = 65
DEFAULT_TOP_RISK_QUALIFICATIONS: tuple[str, ...] = ("AFP", "CFP", "EFP")
# what a sale to a client who needs more care must do before it is saved
EXTRA_STEPS: tuple[str, ...] = ("second_person_present", "recorded_explanation")

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


class CareWarning(StrEnum):
    """Clients who need more care; the declaration order is the reporting order."""

    ELDERLY_CLIENT = "elderly_client"
    FIRST_RISK_PURCHASE = "first_risk_purchase"
    VULNERABLE_CLIENT = "vulnerable_client"


@dataclass(frozen=True)
class SuitabilityResult:
    """The verdict: ``suitable`` is true exactly when ``reasons`` is empty.

    ``details`` holds JSON-safe facts for templates (levels, ages, ISO dates).
    ``warnings`` (elderly, first risk purchase, vulnerable) do not block the sale; when
    there are any, ``extra_steps`` lists what must be done before it is saved.
    """

    suitable: bool
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra_steps: list[str] = field(default_factory=list)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def assessment_valid_until(assessed_on: date,
                           months: int = DEFAULT_ASSESSMENT_VALID_MONTHS) -> date:
    """The last day an assessment is valid: 1 June → 1 December; 31 Aug → 28/29 Feb."""
    return _add_months(assessed_on, months)


def age_on(birth_date: date, today: date) -> int:
    """Whole years of age on ``today`` (a 29 February birthday counts on 1 March)."""
    years = today.year - birth_date.year
    return years - ((today.month, today.day) < (birth_date.month, birth_date.day))


def care_warnings(*, product_level: int, today: date, birth_date: date | None = None,
                  first_purchase: bool = False, vulnerable: bool = False,
                  elderly_age: int = DEFAULT_ELDERLY_AGE) -> tuple[list[str], dict[str, Any]]:
    """Warnings for a client who needs more care, and facts for the templates."""
    warnings: list[str] = []
    details: dict[str, Any] = {}
    if birth_date is not None and birth_date <= today:
        age = age_on(birth_date, today)
        details["client_age"] = age
        if age >= elderly_age:
            warnings.append(CareWarning.ELDERLY_CLIENT)
    if first_purchase and product_level >= 2:
        warnings.append(CareWarning.FIRST_RISK_PURCHASE)
    if vulnerable:
        warnings.append(CareWarning.VULNERABLE_CLIENT)
    return warnings, details


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
    product_requires: str | Collection[str] | None = None,
    sale_window: tuple[date | None, date | None] | None = None,
    assessment_valid_days: int | None = None,
    assessment_valid_months: int = DEFAULT_ASSESSMENT_VALID_MONTHS,
    top_risk_qualifications: Collection[str] = DEFAULT_TOP_RISK_QUALIFICATIONS,
    birth_date: date | None = None,
    first_purchase: bool = False,
    vulnerable: bool = False,
    elderly_age: int = DEFAULT_ELDERLY_AGE,
) -> SuitabilityResult:
    """Check every suitability rule and report all that fail (see the module docstring).

    ``client_risk`` None (never assessed) and ``assessed_on`` None both mean
    ``assessment_missing``.  Risk codes are case- and space-insensitive.
    ``product_requires`` is one code, a comma-separated list or a collection: any one
    of them qualifies the seller.
    """
    invalid: dict[str, Any] = {}
    client_level = _level(client_risk, "C")
    if client_risk is not None and client_level is None:
        invalid["client_risk"] = client_risk
    product_level = _level(product_risk, "R")
    if product_level is None:
        invalid["product_risk"] = product_risk
    if assessment_valid_days is not None and (
            not isinstance(assessment_valid_days, int) or assessment_valid_days <= 0):
        invalid["assessment_valid_days"] = assessment_valid_days
    if not isinstance(assessment_valid_months, int) or assessment_valid_months <= 0:
        invalid["assessment_valid_months"] = assessment_valid_months
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
        valid_until = (
            assessed_on + timedelta(days=assessment_valid_days)
            if assessment_valid_days is not None
            else assessment_valid_until(assessed_on, assessment_valid_months)
        )
        details["assessment_valid_until"] = valid_until.isoformat()
        if age < 0:
            reasons.append(Reason.ASSESSMENT_IN_FUTURE)
        elif today > valid_until:
            reasons.append(Reason.ASSESSMENT_EXPIRED)

    if client_level is not None and product_level > client_level:
        reasons.append(Reason.PRODUCT_RISK_ABOVE_TOLERANCE)

    accepted = _accepted(product_requires)
    if not accepted and product_level == 5:
        accepted = [_norm_qual(q) for q in top_risk_qualifications if q and q.strip()]
    if accepted:
        held = {_norm_qual(q) for q in seller_qualifications if q and q.strip()}
        details["qualification_required"] = "/".join(accepted)
        details["qualifications_accepted"] = accepted
        if not held & set(accepted):
            reasons.append(Reason.SELLER_NOT_QUALIFIED)

    if start is not None or end is not None:
        details["sale_window"] = [d.isoformat() if d else None for d in (start, end)]
        if (start is not None and today < start) or (end is not None and today > end):
            reasons.append(Reason.OUTSIDE_SALE_WINDOW)

    warnings, care = care_warnings(
        product_level=product_level, today=today, birth_date=birth_date,
        first_purchase=first_purchase, vulnerable=vulnerable, elderly_age=elderly_age)
    details.update(care)
    return SuitabilityResult(not reasons, reasons, details, [str(w) for w in warnings],
                             list(EXTRA_STEPS) if warnings else [])


def _accepted(requires: str | Collection[str] | None) -> list[str]:
    """The qualification codes a product accepts, in order, without repeats."""
    if requires is None:
        return []
    items = requires.split(",") if isinstance(requires, str) else list(requires)
    return list(dict.fromkeys(_norm_qual(q) for q in items if q and q.strip()))


def suggest_products(
    client_risk: str | None,
    products: Sequence[P],
    *,
    assessed_on: date | None,
    today: date,
    seller_qualifications: Collection[str] = (),
    assessment_valid_days: int | None = None,
    assessment_valid_months: int = DEFAULT_ASSESSMENT_VALID_MONTHS,
    top_risk_qualifications: Collection[str] = DEFAULT_TOP_RISK_QUALIFICATIONS,
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
            assessment_valid_months=assessment_valid_months,
            top_risk_qualifications=top_risk_qualifications,
        )
        if result.suitable:
            suitable.append((_level(product.risk, "R") or 0, product.name, product))
    suitable.sort(key=lambda item: (-item[0], item[1]))
    return [product for _, _, product in suitable]
