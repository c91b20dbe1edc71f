"""Per-user flood limiter: at most ``limit`` actions in any ``per_seconds`` sliding window.

Only allowed actions are counted, so a user who keeps typing while refused is let in
again as soon as their oldest counted action leaves the window.  ``first_refusal`` is
true once per blocked stretch, so the bot warns once instead of on every message.

Memory is bounded: each user keeps at most ``limit`` timestamps, users whose window is
empty are dropped as they age out, and beyond ``max_users`` the least recently seen user
is forgotten (which at worst lets that user start a fresh window).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field

from coach.clock import Clock, SystemClock

__all__ = ["FloodLimiter", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one action.  ``retry_after_s`` is 0 when allowed, else at least 1."""

    allowed: bool
    retry_after_s: int = 0
    first_refusal: bool = False


_ALLOWED = Verdict(True)


@dataclass(slots=True)
class _UserWindow:
    stamps: deque[float]
    warned_until: float = field(default=-math.inf)


class FloodLimiter:
    """Sliding-window counter per user id, driven by an injectable :class:`Clock`."""

    def __init__(
        self,
        limit: int = 30,
        per_seconds: float = 60,
        clock: Clock | None = None,
        *,
        max_users: int = 10_000,
    ) -> None:
        if limit < 1 or per_seconds <= 0 or max_users < 1:
            raise ValueError("limit, per_seconds and max_users must be positive")
        self.limit = limit
        self.per_seconds = float(per_seconds)
        self.max_users = max_users
        self._clock: Clock = clock or SystemClock()
        self._users: OrderedDict[Hashable, _UserWindow] = OrderedDict()

    def __len__(self) -> int:
        """How many users are currently tracked."""
        return len(self._users)

    def hit(self, user_id: Hashable) -> Verdict:
        """Record one action by ``user_id`` if the window allows it, and say so."""
        now = self._clock.now().timestamp()
        self._forget_idle(now)
        window = self._users.get(user_id)
        if window is None:
            window = _UserWindow(deque(maxlen=self.limit))
            self._users[user_id] = window
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)
        else:
            self._users.move_to_end(user_id)

        stamps = window.stamps
        horizon = now - self.per_seconds
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        if len(stamps) < self.limit:
            stamps.append(now)
            return _ALLOWED

        free_at = stamps[0] + self.per_seconds
        retry_after = max(1, math.ceil(free_at - now))
        first = now >= window.warned_until
        if first:
            window.warned_until = free_at
        return Verdict(False, retry_after, first)

    def reset(self, user_id: Hashable) -> None:
        """Forget everything about ``user_id`` (e.g. after an admin unblocks them)."""
        self._users.pop(user_id, None)

    def _forget_idle(self, now: float) -> None:
        # Least recently seen users sit at the front; drop them once nothing of theirs
        # is left in the window.  Amortised O(1) per hit.
        horizon = now - self.per_seconds
        while self._users:
            window = next(iter(self._users.values()))
            idle = (not window.stamps or window.stamps[-1] <= horizon) and (
                window.warned_until <= now
            )
            if not idle:
                break
            self._users.popitem(last=False)
