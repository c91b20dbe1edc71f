"""Who may use the bot: switching a person off (``coach users disable``) and a lead's /remove.

* Disabling sets ``User.disabled_at`` and ``User.active = False``. Every job and broadcast
  already skips inactive people; the guard turns a disabled person away like a stranger and,
  unlike a person who blocked the bot and came back, never switches them on again. Only
  ``coach users enable`` does.
* ``/remove @advisor`` (a lead, for an advisor of their own team): the advisor leaves the
  team; their clients and open follow-ups become the lead's, to hand on to someone else.
  Every change is written to ``staff_audit``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.clock import Clock
from coach.services import people
from coach.services.errors import ServiceError
from coach.vocabulary import OPEN_FOLLOWUP
from storage.models import Client, FollowUp, StaffAudit, Team, User

__all__ = [
    "Removal",
    "StatusChange",
    "find_advisor_to_remove",
    "remove_advisor",
    "set_disabled",
]

_OPEN = OPEN_FOLLOWUP


@dataclass(frozen=True)
class StatusChange:
    telegram_id: int
    name: str
    disabled: bool
    changed: bool  # False when the person already was in that state


def set_disabled(session: Session, telegram_id: int, disabled: bool, *, clock: Clock
                 ) -> StatusChange:
    """Switch a person off (or on again), audited; ``user_not_found`` when unknown."""
    user = session.scalar(select(User).where(User.telegram_id == telegram_id))
    if user is None:
        raise ServiceError("user_not_found", telegram_id=telegram_id)
    already = (user.disabled_at is not None) == disabled
    if not already:
        user.disabled_at = clock.now() if disabled else None
        user.active = not disabled
        session.add(StaffAudit(actor_id=None, target_id=user.id, team_id=user.team_id,
                               action="disable" if disabled else "enable", details={},
                               created_at=clock.now()))
    return StatusChange(user.telegram_id, user.name, disabled, not already)


@dataclass(frozen=True)
class Removal:
    """What ``/remove`` will do (the confirmation screen) or did (the result)."""

    user_id: int
    name: str
    telegram_id: int
    language: str
    team_name: str
    clients: int
    followups: int


def _lead_team(me: Me) -> int:
    if me.role not in ("lead", "admin"):
        raise ServiceError("role_forbidden")
    if me.team_id is None:
        raise ServiceError("team_required", role=me.role)
    return me.team_id


def _advisor(session: Session, me: Me, *, handle: str | None = None,
             user_id: int | None = None) -> User:
    team_id = _lead_team(me)
    if handle is not None:
        user = people.find_by_handle(session, handle)
    else:
        user = session.get(User, user_id) if user_id is not None else None
    shown = handle or str(user_id)
    if user is not None and user.id == me.user_id:
        raise ServiceError("remove_self")
    if (user is None or user.team_id != team_id or user.role != "advisor"
            or user.disabled_at is not None):
        raise ServiceError("remove_not_advisor", name=shown)
    return user


def _summary(session: Session, user: User) -> Removal:
    clients = session.scalar(select(func.count()).select_from(Client).where(
        Client.advisor_id == user.id, Client.forgotten.is_(False))) or 0
    followups = session.scalar(select(func.count()).select_from(FollowUp).where(
        FollowUp.advisor_id == user.id, FollowUp.status.in_(_OPEN))) or 0
    team = session.get(Team, user.team_id) if user.team_id is not None else None
    return Removal(user.id, user.name, user.telegram_id, user.language,
                   team.name if team else "", int(clients), int(followups))


def find_advisor_to_remove(session: Session, me: Me, handle: str) -> Removal:
    """The advisor ``@handle`` of the lead's team and what would move (nothing changes)."""
    if not handle.startswith("@") or len(handle) > 65:
        raise ServiceError("usage")
    return _summary(session, _advisor(session, me, handle=handle))


def remove_advisor(session: Session, me: Me, user_id: int, *, clock: Clock) -> Removal:
    """Take the advisor out of the team; their clients and open follow-ups go to ``me``.

    Everything is checked again here: the button only carries the user id.
    """
    user = _advisor(session, me, user_id=user_id)
    summary = _summary(session, user)
    session.execute(update(Client).where(Client.advisor_id == user.id)
                    .values(advisor_id=me.user_id)
                    .execution_options(synchronize_session=False))
    session.execute(update(FollowUp).where(FollowUp.advisor_id == user.id,
                                           FollowUp.status.in_(_OPEN))
                    .values(advisor_id=me.user_id, original_advisor_id=None)
                    .execution_options(synchronize_session=False))
    # Follow-ups a colleague holds during this advisor's leave come back to the lead instead.
    session.execute(update(FollowUp).where(FollowUp.original_advisor_id == user.id,
                                           FollowUp.status.in_(_OPEN))
                    .values(original_advisor_id=me.user_id)
                    .execution_options(synchronize_session=False))
    session.add(StaffAudit(actor_id=me.user_id, target_id=user.id, team_id=user.team_id,
                           action="remove",
                           details={"clients": summary.clients,
                                    "followups": summary.followups, "to": me.user_id},
                           created_at=clock.now()))
    user.team_id = None
    session.flush()
    return summary
