"""Teams, people, invite codes and personal settings."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from coach.clock import Clock
from coach.services.errors import ServiceError
from coach.vocabulary import Role
from storage.models import InviteCode, Team, User

__all__ = [
    "ROLES",
    "INVITE_ROLES",
    "Caller",
    "Invite",
    "Profile",
    "RedeemResult",
    "TeamView",
    "add_user",
    "create_invite",
    "create_team",
    "ensure_admin",
    "find_by_handle",
    "find_caller",
    "find_user",
    "get_team",
    "get_user",
    "list_users",
    "profile",
    "set_digest_paused",
    "redeem_invite",
    "revive_caller",
    "team_members",
    "update_settings",
]

ROLES = tuple(Role)
INVITE_ROLES = (Role.ADVISOR, Role.LEAD, Role.REFERRER)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely


@dataclass(frozen=True)
class Profile:
    """A registered person as handlers and templates see them (built inside the session)."""

    id: int
    telegram_id: int
    username: str | None
    name: str
    role: str
    team_id: int | None
    language: str
    timezone: str
    digest_time: time | None
    digest_paused: bool
    call_target: int | None = None

    @classmethod
    def of(cls, user: User) -> Profile:
        return cls(user.id, user.telegram_id, user.username, user.name, user.role, user.team_id,
                   user.language, user.timezone, user.digest_time, bool(user.digest_paused),
                   user.call_target)


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str


@dataclass(frozen=True)
class Invite:
    code: str
    role: str
    expires_at: datetime


@dataclass(frozen=True)
class RedeemResult:
    status: str  # ok | unknown | expired | used | already_registered
    user: Profile | None = None
    team_name: str | None = None


def find_user(session: Session, telegram_id: int) -> User | None:
    return session.scalar(select(User).where(User.telegram_id == telegram_id))


@dataclass(frozen=True)
class Caller:
    """The person behind an update, as the guard reads them on every update."""

    profile: Profile
    active: bool  # False: they had blocked the bot
    disabled: bool  # switched off by an admin (coach users disable)

    @classmethod
    def of(cls, user: User) -> Caller:
        return cls(Profile.of(user), bool(user.active), user.disabled_at is not None)


# the guard's lookup on every update: the table's columns (a Core statement, built once),
# not an ORM object built, tracked and expired per update
_USERS = User.__table__.c
_FIND_CALLER = select(_USERS.id, _USERS.telegram_id, _USERS.username, _USERS.name,
                      _USERS.role, _USERS.team_id, _USERS.language, _USERS.timezone,
                      _USERS.digest_time, _USERS.digest_paused, _USERS.call_target,
                      _USERS.active, _USERS.disabled_at
                      ).where(_USERS.telegram_id == bindparam("telegram_id"))


def find_caller(session: Session, telegram_id: int) -> Caller | None:
    """The registered person with this Telegram id, in one indexed read (or None)."""
    row = session.execute(_FIND_CALLER, {"telegram_id": telegram_id}).first()
    if row is None:
        return None
    (user_id, tg_id, username, name, role, team_id, language, timezone, digest_time,
     digest_paused, call_target, active, disabled_at) = row
    return Caller(Profile(user_id, tg_id, username, name, role, team_id, language, timezone,
                          digest_time, bool(digest_paused), call_target),
                  active=bool(active), disabled=disabled_at is not None)


def revive_caller(session: Session, user_id: int, *, username: str | None) -> None:
    """They wrote again: active once more (after blocking the bot), @username as now."""
    values: dict[str, object] = {"active": True}
    if username:
        values["username"] = username
    session.execute(update(User).where(User.id == user_id).values(**values))


_HANDLE = re.compile(r"@?([A-Za-z0-9_]{1,32})")


def find_by_handle(session: Session, handle: str | None) -> User | None:
    """The person with Telegram ``@username`` ``handle``; the one lookup by handle.

    Telegram usernames are case-insensitive and at most 32 ASCII letters, digits or
    underscores, so ``@Chen_SY`` and ``chen_sy`` are the same person and anything else
    is nobody (never a database error). Who may see that person is the caller's rule.
    """
    match = _HANDLE.fullmatch((handle or "").strip())
    if match is None:
        return None
    return session.scalar(select(User).where(
        func.lower(User.username) == match.group(1).lower()).order_by(User.id).limit(1))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise ServiceError("not_registered")
    return user


def profile(session: Session, user_id: int) -> Profile:
    """The caller's own record (settings, digest screens)."""
    return Profile.of(get_user(session, user_id))


def set_digest_paused(session: Session, user_id: int, paused: bool) -> Profile:
    user = get_user(session, user_id)
    user.digest_paused = paused
    return Profile.of(user)


def get_team(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    if team is None:
        raise ServiceError("team_not_found", team=name)
    return team


def create_team(session: Session, name: str, *, clock: Clock) -> TeamView:
    name = name.strip()
    if not name or len(name) > 80:
        raise ServiceError("team_name_invalid")
    if session.scalar(select(Team).where(func.lower(Team.name) == name.lower())):
        raise ServiceError("team_exists", team=name)
    team = Team(name=name, created_at=clock.now())
    session.add(team)
    session.flush()
    return TeamView(team.id, team.name)


def ensure_admin(session: Session, *, telegram_id: int, name: str, username: str | None,
                 language: str, timezone: str, clock: Clock) -> User:
    """Register an admin listed in ``ADMIN_TELEGRAM_IDS`` on first contact."""
    user = find_user(session, telegram_id)
    if user is None:
        user = User(telegram_id=telegram_id, name=name, username=username, role="admin",
                    language=language, timezone=timezone, created_at=clock.now())
        session.add(user)
        session.flush()
    return user


def create_invite(session: Session, *, role: str, team_name: str, created_by: int | None,
                  clock: Clock, ttl_days: int) -> Invite:
    """A single-use code; a lead (user id ``created_by``) may invite to their own team only."""
    if role not in INVITE_ROLES:
        raise ServiceError("role_invalid", role=role)
    creator = get_user(session, created_by) if created_by is not None else None
    team = get_team(session, team_name)
    if creator is not None and creator.role == "lead" and creator.team_id != team.id:
        raise ServiceError("not_your_team", team=team.name)
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    invite = InviteCode(code=code, role=role, team_id=team.id,
                        created_by_id=creator.id if creator else None,
                        expires_at=clock.now() + timedelta(days=ttl_days), created_at=clock.now())
    session.add(invite)
    session.flush()
    return Invite(invite.code, invite.role, invite.expires_at)


def redeem_invite(session: Session, *, code: str, telegram_id: int, name: str,
                  username: str | None, language: str, timezone: str, clock: Clock) -> RedeemResult:
    """Register ``telegram_id`` with the invite's role and team; codes are single-use."""
    if find_user(session, telegram_id) is not None:
        return RedeemResult("already_registered")
    invite = session.scalar(
        select(InviteCode).where(InviteCode.code == code.strip().upper()).with_for_update()
    )
    if invite is None:
        return RedeemResult("unknown")
    if invite.used_at is not None:
        return RedeemResult("used")
    if invite.expires_at <= clock.now():
        return RedeemResult("expired")
    user = User(telegram_id=telegram_id, name=name[:80] or str(telegram_id), username=username,
                role=invite.role, team_id=invite.team_id, language=language, timezone=timezone,
                created_at=clock.now())
    session.add(user)
    session.flush()
    invite.used_at = clock.now()
    invite.used_by_id = user.id
    team = session.get(Team, invite.team_id) if invite.team_id else None
    return RedeemResult("ok", user=Profile.of(user), team_name=team.name if team else None)


def add_user(session: Session, *, telegram_id: int, role: str, team_name: str | None,
             name: str | None, clock: Clock, language: str = "zh-Hans",
             timezone: str = "Asia/Shanghai", username: str | None = None) -> User:
    """Create or update a person (admin CLI and CSV import)."""
    if role not in ROLES:
        raise ServiceError("role_invalid", role=role)
    team = get_team(session, team_name) if team_name else None
    if role in ("advisor", "lead", "referrer") and team is None:
        raise ServiceError("team_required", role=role)
    user = find_user(session, telegram_id)
    if user is None:
        user = User(telegram_id=telegram_id, name=name or str(telegram_id), role=role,
                    team_id=team.id if team else None, language=language, timezone=timezone,
                    username=username, created_at=clock.now())
        session.add(user)
    else:
        user.role = role
        user.team_id = team.id if team else None
        if name:
            user.name = name
        if username:
            user.username = username
    session.flush()
    return user


def list_users(session: Session) -> list[tuple[User, str | None]]:
    rows = session.execute(
        select(User, Team.name).outerjoin(Team, User.team_id == Team.id).order_by(User.id)
    )
    return [(u, t) for u, t in rows]


def team_members(session: Session, team_id: int, *, roles: tuple[str, ...] = ("advisor", "lead"),
                 active_only: bool = True) -> list[Profile]:
    query = select(User).where(User.team_id == team_id, User.role.in_(roles))
    if active_only:
        query = query.where(User.active.is_(True))
    return [Profile.of(u) for u in session.scalars(query.order_by(User.name))]


def update_settings(session: Session, user_id: int, *, language: str | None = None,
                    timezone: str | None = None, digest_time: str | None = None) -> Profile:
    """Change a person's language, time zone or digest time; validates each."""
    user = session.get(User, user_id)
    if user is None:
        raise ServiceError("not_registered")
    if language is not None:
        if language not in ("zh-Hans", "zh-Hant-HK", "zh-Hant-TW", "en"):
            raise ServiceError("language_invalid", value=language)
        user.language = language
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ServiceError("timezone_invalid", value=timezone) from None
        user.timezone = timezone
    if digest_time is not None:
        user.digest_time = parse_hhmm(digest_time)
    return Profile.of(user)


def parse_hhmm(value: str) -> time:
    try:
        parsed = datetime.strptime(value.strip().replace("：", ":"), "%H:%M").time()
    except ValueError:
        raise ServiceError("time_invalid", value=value) from None
    return parsed


def get_or_create_team(session: Session, name: str, *, clock: Clock) -> TeamView:
    try:
        team = get_team(session, name)
        return TeamView(team.id, team.name)
    except ServiceError:
        return create_team(session, name, clock=clock)
