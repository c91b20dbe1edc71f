"""Seed a database for the fault tests through the services: due follow-ups, a briefing.

Telegram ids come from the caller (random per test) so runs sharing one PostgreSQL
database never collide. Rows are written the way the features write them, so the
bot under test finds exactly what it would find in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from coach.actor import Me
from coach.clock import FixedClock
from coach.services import briefing, people
from storage.db import Database
from storage.models import Client, FollowUp, User

__all__ = ["Briefing", "Reminders", "seed_advisors", "seed_briefing", "seed_reminders"]


@dataclass(frozen=True)
class Reminders:
    followup_ids: list[int]
    advisor_ids: list[int]  # Telegram ids, one private chat each


@dataclass(frozen=True)
class Briefing:
    briefing_id: int
    lead_id: int            # the lead's Telegram id
    member_ids: list[int]   # Telegram ids of the members it goes to


def _users(db: Database, team: str, role: str, telegram_ids: list[int],
           now: datetime) -> tuple[int, list[int]]:
    """Register ``telegram_ids`` in ``team``; return the team id and the users' row ids."""
    with db.session() as s:
        team_id = people.get_or_create_team(s, team, clock=FixedClock(now)).id
        rows = [User(telegram_id=tid, name=f"{role}{tid}", username=f"u{tid}", role=role,
                     team_id=team_id, language="en", created_at=now,
                     digest_paused=True)  # no checklists in the way of what is tested
                for tid in telegram_ids]
        s.add_all(rows)
        s.flush()
        return team_id, [row.id for row in rows]


def seed_reminders(url: str, count: int, *, first_telegram_id: int,
                   per_advisor: int = 10) -> Reminders:
    """``count`` follow-ups due a minute ago, ``per_advisor`` for each advisor."""
    now = datetime.now(UTC)
    db = Database(url)
    try:
        advisors = [first_telegram_id + i for i in range(-(-count // per_advisor))]
        _, user_ids = _users(db, f"R{first_telegram_id}", "advisor", advisors, now)
        with db.session() as s:
            clients = [Client(advisor_id=user_ids[i // per_advisor], name=f"Client {i:04d}",
                              tier="wealth", created_at=now) for i in range(count)]
            s.add_all(clients)
            s.flush()
            followups = [FollowUp(client_id=c.id, advisor_id=c.advisor_id, kind="call",
                                  reason="interested_thinking", status="pending",
                                  due_at=now - timedelta(minutes=1), created_at=now)
                         for c in clients]
            s.add_all(followups)
            s.flush()
            return Reminders([f.id for f in followups], advisors)
    finally:
        db.dispose()


def seed_briefing(url: str, members: int, *, first_telegram_id: int) -> Briefing:
    """A lead and ``members`` advisors; a briefing due now (the bot's tick starts it)."""
    now = datetime.now(UTC)
    db = Database(url)
    try:
        lead_tid = first_telegram_id
        member_tids = [first_telegram_id + 1 + i for i in range(members)]
        team_id, (lead_id,) = _users(db, f"B{first_telegram_id}", "lead", [lead_tid], now)
        _users(db, f"B{first_telegram_id}", "advisor", member_tids, now)
        lead = Me(lead_id, lead_tid, f"lead{lead_tid}", "lead", team_id, "en", "Asia/Shanghai")
        with db.session() as s:
            row = briefing.create(s, lead, {"targets": "20 calls each", "style": "short"},
                                  now=now, send_at=now, repeat_workdays=False,
                                  include_group=False, nudge="off")
            return Briefing(row.id, lead_tid, member_tids)
    finally:
        db.dispose()


def seed_advisors(url: str, telegram_ids: list[int], *, clients: tuple[str, ...] = ()) -> None:
    """Advisors (English speakers) in one team, each with the named ``clients``."""
    now = datetime.now(UTC)
    db = Database(url)
    try:
        _, user_ids = _users(db, f"A{telegram_ids[0]}", "advisor", telegram_ids, now)
        with db.session() as s:
            s.add_all([Client(advisor_id=uid, name=name, tier="wealth", created_at=now)
                       for uid in user_ids for name in clients])
    finally:
        db.dispose()
