"""Working days and public holidays per region (CN, HK), from ``coach/data/holidays.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

__all__ = ["Holiday", "holidays_between", "is_working_day", "next_working_day", "REGIONS"]

DATA = Path(__file__).with_name("data") / "holidays.yaml"
REGIONS = ("CN", "HK")


@dataclass(frozen=True)
class Holiday:
    date: date
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class _Region:
    holidays: dict[date, Holiday]
    workdays: frozenset[date]


@lru_cache(maxsize=1)
def _calendar() -> dict[str, _Region]:
    raw = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    out = {}
    for region, data in raw.items():
        holidays = {}
        for item in data.get("holidays") or []:
            day = item["date"] if isinstance(item["date"], date) else date.fromisoformat(
                str(item["date"]))
            holidays[day] = Holiday(day, str(item["zh"]), str(item["en"]))
        workdays = frozenset(d if isinstance(d, date) else date.fromisoformat(str(d))
                             for d in data.get("workdays") or [])
        out[str(region)] = _Region(holidays, workdays)
    return out


def _region(region: str) -> _Region:
    try:
        return _calendar()[region.upper()]
    except KeyError:
        known = ", ".join(REGIONS)
        raise ValueError(f"unknown holiday region {region!r}; known: {known}") from None


def is_working_day(day: date, region: str = "CN") -> bool:
    """Monday to Friday unless a public holiday, plus make-up working weekends (调休)."""
    cal = _region(region)
    if day in cal.workdays:
        return True
    return day.weekday() < 5 and day not in cal.holidays


def next_working_day(day: date, region: str = "CN") -> date:
    """The first working day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day, region):
        day += timedelta(days=1)
    return day


def holidays_between(start: date, end: date, region: str = "CN") -> list[Holiday]:
    """Public holidays from ``start`` to ``end`` inclusive, first day of each run only once."""
    cal = _region(region)
    found = sorted((h for d, h in cal.holidays.items() if start <= d <= end), key=lambda h: h.date)
    out: list[Holiday] = []
    previous: Holiday | None = None
    for holiday in found:
        # one greeting per festival even when its days off are split by a weekend
        same_run = previous is not None and previous.name_en == holiday.name_en and (
            holiday.date - previous.date).days <= 4
        if not same_run:
            out.append(holiday)
        previous = holiday
    return out
