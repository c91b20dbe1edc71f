"""Client tiers by AUM (coach.tiers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from coach.tiers import DEFAULT_THRESHOLDS, Tier, TierThresholds, outgrown, tier_for_aum


@pytest.mark.parametrize(
    ("aum", "tier"),
    [
        (0, Tier.MASS),
        (49_999.99, Tier.MASS),
        (50_000, Tier.WEALTH),
        (Decimal("499999.99"), Tier.WEALTH),
        ("500,000", Tier.PREMIER),
        (5_999_999, Tier.PREMIER),
        (6_000_000, Tier.PRIVATE),
        (10**9, Tier.PRIVATE),
    ],
)
def test_default_thresholds_are_inclusive_minimums(aum: object, tier: Tier) -> None:
    assert tier_for_aum(aum) is tier  # type: ignore[arg-type]


def test_rank_orders_tiers() -> None:
    assert [t.rank for t in Tier] == [0, 1, 2, 3]
    assert Tier.MASS < Tier.WEALTH < Tier.PREMIER < Tier.PRIVATE
    assert max(Tier) is Tier.PRIVATE
    assert sorted([Tier.PRIVATE, Tier.MASS, Tier.PREMIER]) == [
        Tier.MASS,
        Tier.PREMIER,
        Tier.PRIVATE,
    ]


def test_thresholds_are_configurable() -> None:
    thresholds = TierThresholds.from_mapping({"wealth": "100000", "premier": 1_000_000})
    assert thresholds.private == Decimal("6000000")
    assert tier_for_aum(60_000, thresholds) is Tier.MASS
    assert tier_for_aum(100_000, thresholds) is Tier.WEALTH
    assert thresholds.minimum(Tier.PREMIER) == Decimal("1000000")
    assert DEFAULT_THRESHOLDS.minimum(Tier.MASS) == 0


@pytest.mark.parametrize(
    "config",
    [
        {"wealth": 0},
        {"wealth": 600_000},  # above premier
        {"premier": 6_000_000},  # equal to private
        {"gold": 1},
        {"wealth": "lots"},
    ],
)
def test_bad_thresholds_are_rejected(config: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TierThresholds.from_mapping(config)  # type: ignore[arg-type]


@pytest.mark.parametrize("aum", [-1, float("nan"), float("inf"), "abc", True])
def test_bad_aum_is_rejected(aum: object) -> None:
    with pytest.raises(ValueError):
        tier_for_aum(aum)  # type: ignore[arg-type]


def test_outgrown_reports_the_new_tier_only_upwards() -> None:
    assert outgrown(Tier.WEALTH, 520_000) is Tier.PREMIER
    assert outgrown(Tier.MASS, 7_000_000) is Tier.PRIVATE
    assert outgrown(Tier.PREMIER, 520_000) is None
    assert outgrown(Tier.PREMIER, 10_000) is None  # fell below: not a hand-up
    assert outgrown(Tier.PRIVATE, 10**10) is None
