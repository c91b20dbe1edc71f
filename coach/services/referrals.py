"""Referrals from lobby managers and tellers: hand over, accept or decline, follow up.

An accepted referral becomes a client of the advisor (``referred_by_id`` kept)
with a follow-up the next working day; the referrer hears what became of it,
including later call outcomes, with the client's name masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.calendar import next_working_day, region_for
from coach.policy import PolicyConfig, urgent_call
from coach.services.errors import ServiceError
from coach.services.outbox import Notice
from coach.services.people import Profile
from storage.models import Client, FollowUp, Referral, Team, User

__all__ = ["DECLINE_REASONS", "URGENCIES", "Decision", "ReferralView", "advisors_for", "create",
           "decide", "mine", "redirect", "redirect_choices", "referrer_of"]

URGENCIES = ("today", "this_week", "normal")
DECLINE_REASONS = ("busy", "not_my_area", "not_suitable", "already_client", "other")


def advisors_for(session: Session, me: Me) -> list[tuple[int, str]]:
    if me.team_id is None:
        raise ServiceError("team_required", role=me.role)
    return [(u.id, u.name) for u in session.scalars(select(User).where(
        User.team_id == me.team_id, User.role == "advisor", User.active.is_(True))
        .order_by(User.name))]


def _rotation(session: Session, team_id: int, *, skip: int | None = None) -> User:
    """The next advisor of the team in turn (``Team.rotation_index``), never ``skip``."""
    advisors = [u for u in session.scalars(select(User).where(
        User.team_id == team_id, User.role == "advisor", User.active.is_(True))
        .order_by(User.id)) if u.id != skip]
    if not advisors:
        raise ServiceError("no_advisors")
    # lock the team row: two referrals at the same moment go to two different advisors
    team = session.get(Team, team_id, with_for_update=True)
    assert team is not None
    chosen = advisors[team.rotation_index % len(advisors)]
    team.rotation_index += 1
    return chosen


def _team_advisor(session: Session, me: Me, advisor_id: int | None, *,
                  skip: int | None = None) -> User:
    assert me.team_id is not None
    if advisor_id is None:
        return _rotation(session, me.team_id, skip=skip)
    advisor = session.get(User, advisor_id)
    if advisor is None or advisor.team_id != me.team_id or advisor.role != "advisor" \
            or not advisor.active:
        raise ServiceError("member_not_found", name=str(advisor_id))
    return advisor


@dataclass(frozen=True)
class ReferralView:
    """A referral as the referrer's screens and the advisor's notice show it."""

    id: int
    client_name: str
    phone: str | None
    need: str | None
    urgency: str
    status: str
    decline_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Referral) -> ReferralView:
        return cls(row.id, row.client_name, row.phone, row.need, row.urgency, row.status,
                   row.decline_reason, row.created_at)


def create(session: Session, me: Me, *, name: str, phone: str | None, need: str,
           urgency: str, advisor_id: int | None, now: datetime
           ) -> tuple[ReferralView, Profile]:
    """Record a referral to a chosen advisor of the team, or the next one in rotation."""
    if me.role not in ("referrer", "lead", "admin") or me.team_id is None:
        raise ServiceError("role_forbidden")
    if not name.strip() or urgency not in URGENCIES:
        raise ServiceError("referral_invalid")
    advisor = _team_advisor(session, me, advisor_id)
    row = Referral(referrer_id=me.user_id, team_id=me.team_id, advisor_id=advisor.id,
                   client_name=name.strip()[:80], phone=phone, need=need[:500], urgency=urgency,
                   status="pending", created_at=now)
    session.add(row)
    session.flush()
    return ReferralView.of(row), Profile.of(advisor)


@dataclass(frozen=True)
class Decision:
    referral_id: int
    accepted: bool
    client_id: int | None
    client_name: str
    referrer_telegram_id: int
    referrer_language: str
    advisor_name: str
    reason: str | None = None
    advisor_id: int | None = None
    # accepted: when the call reminder fires, in the advisor's own time zone, and how many
    # of their calendar days from now (0 today, 1 tomorrow)
    remind_at: datetime | None = None
    remind_in_days: int | None = None


def decide(session: Session, me: Me, referral_id: int, *, accept: bool, now: datetime,
           reason: str | None = None, region: str = "CN",
           config: PolicyConfig | None = None) -> Decision:
    """The advisor accepts (a client with a next-working-day call) or declines, saying why.

    An urgent ("today") referral's call reminder comes within two hours, but in the
    advisor's working hours (:func:`coach.policy.urgent_call`).
    """
    row = session.get(Referral, referral_id)
    if row is None or row.advisor_id != me.user_id:
        raise ServiceError("referral_not_found")
    if row.status != "pending":
        raise ServiceError("referral_decided")
    if not accept and reason not in DECLINE_REASONS:
        raise ServiceError("referral_invalid")
    row.status, row.decided_at = ("accepted" if accept else "declined"), now
    row.decline_reason = None if accept else reason
    client_id = remind_at = remind_in_days = None
    if accept:
        client = Client(advisor_id=me.user_id, name=row.client_name, phone=row.phone,
                        tier="mass", notes=row.need, referred_by_id=row.referrer_id,
                        opened_on=None, created_at=now)
        session.add(client)
        session.flush()
        zone = ZoneInfo(me.timezone)
        holidays = region_for(me.timezone, region)
        day = next_working_day(now.astimezone(zone).date(), holidays)
        due = datetime.combine(day, time(10, 0), zone)
        if row.urgency == "today":
            due = min(due, urgent_call(now, tz=me.timezone, region=holidays,
                                         config=config or PolicyConfig()))
        session.add(FollowUp(client_id=client.id, advisor_id=me.user_id, kind="call",
                             reason="referral", note=row.need, due_at=due, status="pending",
                             created_at=now))
        row.client_id = client_id = client.id
        remind_at = due.astimezone(zone)
        remind_in_days = (remind_at.date() - now.astimezone(zone).date()).days
    referrer = session.get(User, row.referrer_id)
    assert referrer is not None
    return Decision(row.id, accept, client_id, row.client_name, referrer.telegram_id,
                    referrer.language, me.name, row.decline_reason, me.user_id,
                    remind_at, remind_in_days)


def _declined_own(session: Session, me: Me, referral_id: int) -> Referral:
    row = session.get(Referral, referral_id)
    if row is None or row.referrer_id != me.user_id or me.team_id is None:
        raise ServiceError("referral_not_found")
    if row.status != "declined":
        raise ServiceError("referral_decided")
    return row


def redirect_choices(session: Session, me: Me, referral_id: int) -> list[tuple[int, str]]:
    """Advisors who could take a declined referral: the team's, except who declined it."""
    row = _declined_own(session, me, referral_id)
    return [a for a in advisors_for(session, me) if a[0] != row.advisor_id]


def redirect(session: Session, me: Me, referral_id: int, advisor_id: int | None, *,
             now: datetime) -> tuple[ReferralView, Profile]:
    """The referrer hands a declined referral to another advisor (or the next in turn).

    The same row goes back to ``pending``: one client, one referral in the counts.
    """
    row = _declined_own(session, me, referral_id)
    previous = row.advisor_id
    advisor = _team_advisor(session, me, advisor_id, skip=previous)
    if advisor.id == previous:
        raise ServiceError("member_not_found", name=advisor.name)
    row.advisor_id, row.status, row.decided_at, row.decline_reason = (
        advisor.id, "pending", None, None)
    return ReferralView.of(row), Profile.of(advisor)


def mine(session: Session, me: Me, *, limit: int = 20) -> list[tuple[ReferralView, str]]:
    """The caller's own referrals, newest first, with the advisor's name (nothing else)."""
    rows = session.execute(select(Referral, User.name).join(User, User.id == Referral.advisor_id)
                           .where(Referral.referrer_id == me.user_id)
                           .order_by(Referral.id.desc()).limit(limit)).all()
    return [(ReferralView.of(r), name) for r, name in rows]


def referrer_of(session: Session, client_id: int) -> tuple[int, str] | None:
    """(telegram id, language) of whoever referred this client, if anyone."""
    client = session.get(Client, client_id)
    if client is None or client.referred_by_id is None:
        return None
    referrer = session.get(User, client.referred_by_id)
    return (referrer.telegram_id, referrer.language) if referrer and referrer.active else None


def advisor_notice(row: ReferralView, advisor: Profile, referrer_name: str, *,
                   now: datetime) -> Notice:
    """The advisor a referral (or a redirect) goes to is told, with accept/decline buttons."""
    return Notice(advisor.telegram_id, advisor.language, "refer_notice", "referral",
                  f"referral:{row.id}:{advisor.id}:{now.isoformat()}",
                  {"r": {"name": row.client_name, "phone": row.phone, "need": row.need,
                         "urgency": row.urgency},
                   "referrer": referrer_name, "referral_id": row.id},
                  advisor.timezone, own=None)


def decision_notice(decision: Decision, *, can_redirect: bool) -> Notice:
    """The referrer hears whether the advisor took the client (and may redirect if not)."""
    verdict = "accepted" if decision.accepted else "declined"
    return Notice(decision.referrer_telegram_id, decision.referrer_language, "refer_outcome",
                  "referral_decided", f"referral_decided:{decision.referral_id}:{verdict}",
                  {"d": decision, "outcome": None, "can_redirect": can_redirect}, own=None)
