"""Contact-cadence rules: which clients are due a call, a meeting, a callback or a reassessment.

Pure functions over plain data (no SQL, no Telegram). Thresholds live in
:class:`CadenceConfig`, built from settings with :meth:`CadenceConfig.from_settings`;
the contact and meeting intervals are per tier (premier and private by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from coach.suitability import assessment_valid_until

__all__ = ["CadenceConfig", "ClientFacts", "Gap", "TierCadence", "client_gaps",
           "contact_gap", "meeting_gap", "new_account_gap", "parse_tier_cadence",
           "post_sale_gap", "question_overdue", "risk_gap"]


@dataclass(frozen=True)
class TierCadence:
    """How often a client of one tier must be contacted / met (``None``: no rule)."""

    contact_days: int | None = None
    meeting_days: int | None = None


def _default_tiers() -> Mapping[str, TierCadence]:
    vip = TierCadence(contact_days=30, meeting_days=90)
    return MappingProxyType({"premier": vip, "private": vip})


@dataclass(frozen=True)
class CadenceConfig:
    """Every threshold of the morning checklist, in days."""

    tiers: Mapping[str, TierCadence] = field(default_factory=_default_tiers)
    new_account_days: int = 3
    new_account_window_days: int = 30  # older unreached accounts stop being "new"
    post_sale_days: int = 7
    post_sale_window_days: int = 30
    risk_valid_months: int = 6  # calendar months, as the suitability check counts them
    risk_warning_days: int = 30
    question_days: int = 10
    flag_overdue_days: int = 3  # follow-ups this late get the red flag
    maturity_days: int = 7
    greeting_days: int = 7  # birthdays and public holidays ahead

    @property
    def cadence_tiers(self) -> tuple[str, ...]:
        """Tiers with a contact or meeting rule (their clients are always checked)."""
        return tuple(sorted(t for t, c in self.tiers.items()
                            if c.contact_days is not None or c.meeting_days is not None))

    @classmethod
    def from_settings(cls, settings: Any) -> CadenceConfig:
        """From :class:`bot.settings.Settings` (read by attribute, so no import of ``bot``)."""
        tiers = parse_tier_cadence(getattr(settings, "cadence_tiers", "") or "",
                                   contact_days=settings.vip_contact_days,
                                   meeting_days=settings.vip_meeting_days)
        return cls(tiers=tiers, new_account_days=settings.new_account_callback_days,
                   post_sale_days=settings.post_sale_callback_days,
                   risk_valid_months=settings.risk_assessment_valid_months,
                   risk_warning_days=settings.risk_expiry_warning_days,
                   question_days=settings.question_reminder_days,
                   flag_overdue_days=settings.escalate_advisor_days)


def parse_tier_cadence(text: str, *, contact_days: int, meeting_days: int
                       ) -> Mapping[str, TierCadence]:
    """``"private:14/60,wealth:90/-"`` → per-tier rules on top of the VIP defaults.

    Premier and private start with ``contact_days``/``meeting_days``; each listed tier
    replaces its rule, ``-`` meaning "no rule". Raises ``ValueError`` on bad input.
    """
    vip = TierCadence(contact_days, meeting_days)
    tiers: dict[str, TierCadence] = {"premier": vip, "private": vip}
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            tier, days = part.split(":")
            contact, meeting = days.split("/")
            tiers[tier.lower()] = TierCadence(None if contact == "-" else int(contact),
                                              None if meeting == "-" else int(meeting))
        except ValueError:
            raise ValueError(f"bad cadence rule {part!r}; expected tier:contact/meeting "
                             "days, e.g. private:14/60 (- for none)") from None
    return MappingProxyType(tiers)


@dataclass(frozen=True)
class ClientFacts:
    """What the cadence rules need to know about one client."""

    id: int
    name: str
    tier: str
    birthday: date | None = None
    last_contact_at: datetime | None = None
    last_meeting_at: datetime | None = None
    opened_on: date | None = None
    risk_assessed_on: date | None = None


@dataclass(frozen=True)
class Gap:
    """One broken rule. ``days``: how late (or, for ``risk_expiring``, days left).

    ``urgency`` ranks gaps of different rules against each other: how late, in percent
    of the rule's own interval (31 days without contact under a 30-day rule is 3; a
    client never contacted counts as 100); negative when not due yet.
    """

    kind: str  # vip_contact | vip_meeting | new_account | post_sale | risk_expired | risk_expiring
    since: datetime | date | None
    days: int
    urgency: int


def _late(last: datetime | None, now: datetime, limit: int | None, kind: str) -> Gap | None:
    if limit is None:
        return None
    if last is None:  # never: ranked as a whole interval late, not above everything
        return Gap(kind, None, 0, 100)
    if now - last <= timedelta(days=limit):
        return None
    days = (now - last).days
    return Gap(kind, last, days, _percent(days - limit, limit))


def _percent(late: int, interval: int) -> int:
    return late * 100 // max(interval, 1)


def contact_gap(c: ClientFacts, *, now: datetime, config: CadenceConfig) -> Gap | None:
    """Not contacted for longer than the tier allows (30 days for premier/private)."""
    rule = config.tiers.get(c.tier)
    return _late(c.last_contact_at, now, rule.contact_days if rule else None, "vip_contact")


def meeting_gap(c: ClientFacts, *, now: datetime, config: CadenceConfig) -> Gap | None:
    """Not met in person for longer than the tier allows (90 days for premier/private)."""
    rule = config.tiers.get(c.tier)
    return _late(c.last_meeting_at, now, rule.meeting_days if rule else None, "vip_meeting")


def new_account_gap(c: ClientFacts, *, today: date, config: CadenceConfig) -> Gap | None:
    """Account opened ``new_account_days`` ago or more and nobody called since."""
    if c.opened_on is None:
        return None
    age = (today - c.opened_on).days
    if not config.new_account_days <= age <= config.new_account_window_days:
        return None
    if c.last_contact_at is not None and c.last_contact_at.date() >= c.opened_on:
        return None
    return Gap("new_account", c.opened_on, age,
               _percent(age - config.new_account_days, config.new_account_days))


def post_sale_gap(c: ClientFacts, last_sale: datetime | None, *, now: datetime,
                  config: CadenceConfig) -> Gap | None:
    """A sale ``post_sale_days`` ago or more with no contact after it (the service call)."""
    if last_sale is None:
        return None
    age = (now - last_sale).days
    if not config.post_sale_days <= age <= config.post_sale_window_days:
        return None
    if c.last_contact_at is not None and c.last_contact_at > last_sale:
        return None
    return Gap("post_sale", last_sale, age,
               _percent(age - config.post_sale_days, config.post_sale_days))


def risk_gap(assessed_on: date | None, *, today: date, config: CadenceConfig) -> Gap | None:
    """Assessment expired (no risk products until reassessed) or expiring within the warning."""
    if assessed_on is None:
        return None
    # the last valid day, exactly as the suitability check counts it (coach.suitability)
    expires = assessment_valid_until(assessed_on, config.risk_valid_months)
    if expires < today:
        late = (today - expires).days  # blocks any recommendation: at least "never"
        return Gap("risk_expired", expires, late,
                   100 + _percent(late, (expires - assessed_on).days))
    if expires <= today + timedelta(days=config.risk_warning_days):
        left = (expires - today).days
        return Gap("risk_expiring", expires, left, -_percent(left, config.risk_warning_days))
    return None


def question_overdue(asked_at: datetime, *, now: datetime, config: CadenceConfig) -> bool:
    """A client's question still unanswered ``question_days`` after it was asked."""
    return now - asked_at >= timedelta(days=config.question_days)


def client_gaps(c: ClientFacts, *, today: date, now: datetime, config: CadenceConfig,
                last_sale: datetime | None = None) -> list[Gap]:
    """Every cadence rule ``c`` breaks today, in a fixed order."""
    found = [contact_gap(c, now=now, config=config), meeting_gap(c, now=now, config=config),
             new_account_gap(c, today=today, config=config),
             post_sale_gap(c, last_sale, now=now, config=config),
             risk_gap(c.risk_assessed_on, today=today, config=config)]
    return [g for g in found if g is not None]
