"""Who oversees an advisor: the people told about complaints, unsuitable sales, requests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.services.outbox import Notice
from storage.models import User

__all__ = ["Recipient", "notices", "overseers_of", "recipient"]


@dataclass(frozen=True)
class Recipient:
    """Enough to render and send one message to one person."""

    user_id: int
    telegram_id: int
    language: str
    timezone: str


def recipient(user: User) -> Recipient:
    return Recipient(user.id, user.telegram_id, user.language, user.timezone)


def overseers_of(session: Session, advisor_id: int) -> list[Recipient]:
    """The active leads of the advisor's team (not the advisor); admins when there are none."""
    advisor = session.get(User, advisor_id)
    leads: list[User] = []
    if advisor is not None and advisor.team_id is not None:
        leads = list(session.scalars(select(User).where(
            User.team_id == advisor.team_id, User.role == "lead", User.active.is_(True),
            User.id != advisor_id).order_by(User.id)))
    if not leads:
        leads = list(session.scalars(select(User).where(
            User.role == "admin", User.active.is_(True), User.id != advisor_id)
            .order_by(User.id)))
    return [recipient(u) for u in leads]


def notices(recipients: Iterable[Recipient], template: str, *, kind: str, key: str,
            **context: Any) -> list[Notice]:
    """One notice per recipient (``key`` + their user id), for the caller to queue."""
    return [Notice(r.telegram_id, r.language, template, kind, f"{key}:{r.user_id}",
                   dict(context), r.timezone) for r in recipients]
