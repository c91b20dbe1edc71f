"""Place a client in a tier by assets under management, and spot clients who outgrew theirs.

Tiers, lowest to highest: mass < wealth < premier < private.  Each threshold is the
*minimum* AUM of its tier (inclusive), so with the defaults 49,999.99 is mass and
50,000 is wealth.  Thresholds differ between banks: they come from configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import total_ordering

__all__ = ["DEFAULT_THRESHOLDS", "Amount", "Tier", "TierThresholds", "outgrown", "tier_for_aum"]

Amount = Decimal | int | float | str


@total_ordering
class Tier(Enum):
    """Client tier; compares by :attr:`rank` (``Tier.PRIVATE`` is the highest)."""

    MASS = "mass"
    WEALTH = "wealth"
    PREMIER = "premier"
    PRIVATE = "private"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank < other.rank


_RANKS = {tier: rank for rank, tier in enumerate(Tier)}


def _decimal(value: Amount, what: str) -> Decimal:
    """Exact decimal of a number or numeric string (``"1,200,000"`` allowed)."""
    text = value.replace(",", "").strip() if isinstance(value, str) else str(value)
    try:
        number = None if isinstance(value, bool) else Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class TierThresholds:
    """Minimum AUM of each tier above mass, strictly increasing and positive."""

    wealth: Decimal = Decimal("50000")
    premier: Decimal = Decimal("500000")
    private: Decimal = Decimal("6000000")

    def __post_init__(self) -> None:
        values = [_decimal(getattr(self, name), name) for name in ("wealth", "premier", "private")]
        for name, value in zip(("wealth", "premier", "private"), values, strict=True):
            object.__setattr__(self, name, value)
        if not 0 < values[0] < values[1] < values[2]:
            raise ValueError(
                "tier thresholds must satisfy 0 < wealth < premier < private, "
                f"got {values[0]}, {values[1]}, {values[2]}"
            )

    @classmethod
    def from_mapping(cls, config: Mapping[str, Amount]) -> TierThresholds:
        """Build from ``{"wealth": ..., "premier": ..., "private": ...}``; missing keys default."""
        unknown = set(config) - {"wealth", "premier", "private"}
        if unknown:
            raise ValueError(f"unknown tier threshold(s): {', '.join(sorted(unknown))}")
        return cls(**{k: _decimal(v, k) for k, v in config.items()})

    def minimum(self, tier: Tier) -> Decimal:
        """The smallest AUM that belongs to ``tier``."""
        return {
            Tier.MASS: Decimal(0),
            Tier.WEALTH: self.wealth,
            Tier.PREMIER: self.premier,
            Tier.PRIVATE: self.private,
        }[tier]


DEFAULT_THRESHOLDS = TierThresholds()


def tier_for_aum(aum: Amount, thresholds: TierThresholds = DEFAULT_THRESHOLDS) -> Tier:
    """The tier an AUM belongs to; each threshold is inclusive.  Negative AUM is an error."""
    value = _decimal(aum, "aum")
    if value < 0:
        raise ValueError(f"aum must not be negative, got {aum!r}")
    for tier in (Tier.PRIVATE, Tier.PREMIER, Tier.WEALTH):
        if value >= thresholds.minimum(tier):
            return tier
    return Tier.MASS


def outgrown(
    current_tier: Tier, aum: Amount, thresholds: TierThresholds = DEFAULT_THRESHOLDS
) -> Tier | None:
    """The higher tier a client now qualifies for, or None when no hand-up is due.

    Only moves up count: a client whose AUM fell below their tier is not "outgrown".
    """
    tier = tier_for_aum(aum, thresholds)
    return tier if tier > current_tier else None
