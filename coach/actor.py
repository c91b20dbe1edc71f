"""Who is acting: the registered caller as services see them (no Telegram types)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Me", "ROLES"]

ROLES = ("advisor", "lead", "referrer", "admin")


@dataclass(frozen=True)
class Me:
    """The registered person behind an update, as the guard found them."""

    user_id: int
    telegram_id: int
    name: str
    role: str
    team_id: int | None
    locale: str
    timezone: str

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def manages_team(self) -> bool:
        return self.role in ("lead", "admin")
