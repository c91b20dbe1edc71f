"""Injectable clocks: nothing in the product calls ``datetime.now()`` directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["Clock", "SystemClock", "FixedClock", "local_day", "local_midnight"]


def local_day(moment: datetime, tz: str) -> date:
    """The calendar day ``moment`` falls on for someone in time zone ``tz``."""
    return moment.astimezone(ZoneInfo(tz)).date()


def local_midnight(moment: datetime, tz: str, days: int = 0) -> datetime:
    """Midnight (aware) starting the local day of ``moment``, moved on by ``days``."""
    return datetime.combine(local_day(moment, tz) + timedelta(days=days), time(0), ZoneInfo(tz))


class Clock(Protocol):
    """Something that tells the current time, always timezone-aware (UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock for tests: stands still until told to move."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC))

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.current = when
