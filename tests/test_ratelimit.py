"""Per-user flood limiter (coach.ratelimit)."""

from __future__ import annotations

import pytest

from coach.clock import FixedClock
from coach.ratelimit import FloodLimiter, Verdict


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def test_allows_up_to_the_limit_then_refuses(clock: FixedClock) -> None:
    limiter = FloodLimiter(limit=3, per_seconds=60, clock=clock)
    assert [limiter.hit(1).allowed for _ in range(3)] == [True, True, True]
    verdict = limiter.hit(1)
    assert verdict == Verdict(allowed=False, retry_after_s=60, first_refusal=True)


def test_warns_once_per_blocked_stretch(clock: FixedClock) -> None:
    limiter = FloodLimiter(limit=2, per_seconds=60, clock=clock)
    limiter.hit(1)
    clock.advance(seconds=10)
    limiter.hit(1)
    first = limiter.hit(1)
    clock.advance(seconds=5)
    second = limiter.hit(1)
    assert first.first_refusal and not first.allowed
    assert not second.first_refusal and not second.allowed
    assert first.retry_after_s == 50
    assert second.retry_after_s == 45


def test_sliding_window_lets_the_user_back_in(clock: FixedClock) -> None:
    limiter = FloodLimiter(limit=2, per_seconds=60, clock=clock)
    limiter.hit(1)
    clock.advance(seconds=30)
    limiter.hit(1)
    assert not limiter.hit(1).allowed
    clock.advance(seconds=29.5)
    assert limiter.hit(1).retry_after_s == 1  # rounded up, never 0 when refused
    clock.advance(seconds=0.5)  # the first action is now 60 s old
    assert limiter.hit(1).allowed
    assert not limiter.hit(1).allowed
    # a new blocked stretch warns again
    clock.advance(seconds=31)
    assert limiter.hit(1).allowed
    assert limiter.hit(1).first_refusal


def test_refused_hits_do_not_extend_the_block(clock: FixedClock) -> None:
    limiter = FloodLimiter(limit=1, per_seconds=10, clock=clock)
    limiter.hit(1)
    for _ in range(9):
        clock.advance(seconds=1)
        assert not limiter.hit(1).allowed
    clock.advance(seconds=1)
    assert limiter.hit(1).allowed


def test_users_are_independent(clock: FixedClock) -> None:
    limiter = FloodLimiter(limit=1, per_seconds=60, clock=clock)
    assert limiter.hit("a").allowed
    assert not limiter.hit("a").allowed
    assert limiter.hit("b").allowed
    limiter.reset("a")
    assert limiter.hit("a").allowed


def test_default_is_thirty_a_minute(clock: FixedClock) -> None:
    limiter = FloodLimiter(clock=clock)
    assert all(limiter.hit(7).allowed for _ in range(30))
    assert not limiter.hit(7).allowed


def test_memory_is_bounded(clock: FixedClock) -> None:
    limiter = FloodLimiter(limit=5, per_seconds=60, clock=clock, max_users=100)
    for user in range(1_000):
        limiter.hit(user)
    assert len(limiter) == 100
    # idle users age out on their own
    clock.advance(seconds=61)
    limiter.hit("fresh")
    assert len(limiter) == 1


def test_per_user_history_is_bounded(clock: FixedClock) -> None:
    limiter = FloodLimiter(limit=3, per_seconds=60, clock=clock)
    for _ in range(1_000):
        limiter.hit(1)
    assert len(limiter._users[1].stamps) == 3


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"per_seconds": 0}, {"max_users": 0}])
def test_rejects_nonsense_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FloodLimiter(**kwargs)  # type: ignore[arg-type]
