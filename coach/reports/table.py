"""Short amounts for phone tables; widths and cells come from :mod:`coach.textwidth`."""

from __future__ import annotations

from decimal import Decimal

from coach.textwidth import fit, width

__all__ = ["compact_amount", "fit", "width"]


def compact_amount(value: Decimal | float | int | None, locale: str = "zh-Hans") -> str:
    """At most six columns: 8500, 20万, 20.5万, 123万, 1.2亿 (en: 8,500, 20.5k, 1.2M)."""
    amount = Decimal(value or 0)
    if locale.startswith("zh"):
        for unit, size in (("亿", Decimal(100_000_000)), ("万", Decimal(10_000))):
            if abs(amount) >= size:
                scaled = amount / size
                digits = 0 if abs(scaled) >= 100 else 1
                return _short(scaled, digits) + unit
        return f"{amount:.0f}"
    for unit, size in (("M", Decimal(1_000_000)), ("k", Decimal(1_000))):
        if abs(amount) >= size * (10 if unit == "k" else 1):
            scaled = amount / size
            digits = 0 if abs(scaled) >= 100 else 1
            return _short(scaled, digits) + unit
    return f"{amount:,.0f}"


def _short(value: Decimal, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
