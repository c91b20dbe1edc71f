"""Working days and public holidays per region (CN, HK, TW), from the ``holidays`` library.

The library is maintained upstream (new years and the State Council's yearly make-up
working days, 调休, arrive with ``pip install -U holidays``), so nothing here ends in a
given year. :func:`coverage_warnings` tells at start-up when the next twelve months are
not fully known, so an operator updates the package before dates go wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib.metadata import version

import holidays as holiday_data

__all__ = ["Holiday", "REGIONS", "add_working_days", "coverage_warnings", "holidays_between",
           "is_working_day", "next_working_day", "region_for", "validate_region"]

REGIONS = ("CN", "HK", "TW")
# the library's language codes for the names an advisor greets clients with
_LANGUAGES = {"CN": ("zh_CN", "en_US"), "HK": ("zh_HK", "en_HK"), "TW": ("zh_TW", "en_US")}
# substituted and observed days are days off, but not festivals to greet anyone for
_NOT_A_FESTIVAL = ("substituted", "observed", "day off", "weekday after", "day following")


@dataclass(frozen=True)
class Holiday:
    date: date
    name_zh: str
    name_en: str


def validate_region(region: str) -> str:
    """The region code in upper case; ``ValueError`` naming the known ones otherwise."""
    code = region.strip().upper()
    if code not in REGIONS:
        raise ValueError(f"unknown holiday region {region!r}; known: {', '.join(REGIONS)}")
    return code


_ZONE_REGIONS = {"Asia/Hong_Kong": "HK", "Asia/Macau": "HK", "Asia/Taipei": "TW"}


def region_for(timezone: str, default: str) -> str:
    """A person's holiday calendar: their time zone's region where it has one, else ``default``."""
    return _ZONE_REGIONS.get(timezone, default)


@lru_cache(maxsize=64)
def _year(region: str, year: int, language: str) -> holiday_data.HolidayBase:
    return holiday_data.country_holidays(region, years=year, language=language)


def _calendar(region: str, year: int, *, english: bool = True) -> holiday_data.HolidayBase:
    zh, en = _LANGUAGES[validate_region(region)]
    return _year(validate_region(region), year, en if english else zh)


def is_working_day(day: date, region: str = "CN") -> bool:
    """Monday to Friday unless a public holiday, plus make-up working weekends (调休)."""
    return bool(_calendar(region, day.year).is_working_day(day))


def next_working_day(day: date, region: str = "CN") -> date:
    """The first working day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day, region):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, n: int, region: str = "CN") -> date:
    """The ``n``-th working day after ``day`` (``day`` itself when ``n`` <= 0).

    "Three working days after Friday" is Wednesday; over a public holiday it is later.
    """
    for _ in range(max(n, 0)):
        day = next_working_day(day, region)
    return day


def _festival(name: str) -> bool:
    lowered = name.lower()
    return not any(word in lowered for word in _NOT_A_FESTIVAL)


def holidays_between(start: date, end: date, region: str = "CN") -> list[Holiday]:
    """Public holidays from ``start`` to ``end`` inclusive, first day of each festival only."""
    found: list[Holiday] = []
    for year in range(start.year, end.year + 1):
        english, chinese = _calendar(region, year), _calendar(region, year, english=False)
        for day, name in sorted(english.items()):
            if start <= day <= end and _festival(name):
                # one day may carry two names ("A; B"): the first is the festival
                found.append(Holiday(day, chinese.get(day, name).split("; ")[0],
                                     name.split("; ")[0]))
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


def coverage_warnings(today: date, region: str) -> list[str]:
    """What the installed calendar does not know for the next twelve months, in words."""
    code = validate_region(region)
    end = today + timedelta(days=365)
    problems = []
    for year in range(today.year, end.year + 1):
        calendar = _calendar(code, year)
        if not calendar:
            problems.append(f"{code} {year}: no public holidays known")
        elif code == "CN" and not any(d.year == year for d in calendar.weekend_workdays):
            problems.append(f"CN {year}: make-up working days (调休) not published in the "
                            f"installed holidays {version('holidays')}; update it "
                            f"(pip install -U holidays) once the State Council announces them")
    return problems
