"""Register staff from CSV (``coach users import``): the whole file or nothing.

Columns (header row, UTF-8 or GBK): ``telegram_id``, ``role`` (advisor, lead, referrer,
admin), ``team`` (required except for admins; the team must exist), ``name``, and
optionally ``username``. Read with the client import's reader
(:class:`coach.services.client_import.CsvRows`), the same rules apply:

1. every row is checked first and every problem reported as ``(line, problem)`` in
   plain words; with any problem nothing at all is written;
2. otherwise every row is written with :func:`coach.services.people.add_user` in the
   caller's one transaction: a person already registered is updated (role, team, name),
   so importing the same file twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.clock import Clock
from coach.digits import is_ascii_digits
from coach.services import people
from coach.services.client_import import MAX_FIELD, Row
from coach.vocabulary import Role
from storage.models import Team

__all__ = ["COLUMNS", "REQUIRED", "PeopleReport", "import_people"]

COLUMNS = ("telegram_id", "role", "team", "name", "username")
REQUIRED = ("telegram_id", "role")
MAX_ID = 2**63 - 1  # a database BIGINT
_ROLES = tuple(str(r.value) for r in people.ROLES)
_TEAMLESS = (Role.ADMIN.value,)
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")  # Telegram: 5-32 characters


@dataclass(frozen=True)
class _Person:
    line: int
    telegram_id: int
    role: str
    team: str | None
    name: str | None
    username: str | None


@dataclass
class PeopleReport:
    rows: int = 0
    added: int = 0
    updated: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


def _check(line: int, row: dict[str, str], teams: dict[str, str],
           seen: dict[int, int]) -> tuple[_Person | None, list[str]]:
    """The row as a person to write, or every problem with it (one sentence each)."""
    if "\0error" in row:
        return None, [row["\0error"]]
    problems = [f"{key}: longer than {MAX_FIELD} characters" for key in COLUMNS
                if len(row.get(key, "")) > MAX_FIELD]
    tid_text = row.get("telegram_id", "")
    # ASCII digits only ("²".isdigit() is True) and within a database BIGINT
    tid = int(tid_text) if is_ascii_digits(tid_text) and len(tid_text) <= 19 else 0
    if not 0 < tid <= MAX_ID:
        problems.append("telegram_id must be a number from 1 to 2^63-1")
    elif tid in seen:
        problems.append(f"telegram_id: the same person as on line {seen[tid]}")
    else:
        seen[tid] = line
    role = row.get("role", "").lower()
    if role not in _ROLES:
        problems.append(f"role: must be one of {', '.join(_ROLES)}"
                        + (f" (not '{row.get('role', '')[:40]}')" if role else ""))
    team_name = row.get("team", "")
    team = teams.get(team_name.lower()) if team_name else None
    if team_name and team is None:
        problems.append(f"team: there is no team called '{team_name[:80]}' "
                        "(create it first: coach teams add NAME)")
    elif not team_name and role in _ROLES and role not in _TEAMLESS:
        problems.append(f"team: required for role {role}")
    username = row.get("username", "").removeprefix("@") or None
    if username is not None and not _USERNAME.fullmatch(username):
        problems.append("username: not a Telegram username (5-32 letters, digits or _)")
    if problems:
        return None, problems
    return _Person(line, tid, role, team, row.get("name") or None, username), []


def import_people(session: Session, rows: Iterable[Row], *, clock: Clock,
                  timezone: str) -> PeopleReport:
    """Check every row, then (only if all are good) register or update each person.

    Nothing is committed here: the caller's session is the one transaction, and it must
    roll back when ``problems`` is not empty (nothing was written then anyway).
    """
    report = PeopleReport()
    teams = {name.lower(): name for name in session.scalars(select(Team.name))}
    seen: dict[int, int] = {}
    people_to_write: list[_Person] = []
    for line, row in rows:
        report.rows += 1
        person, problems = _check(line, row, teams, seen)
        report.problems.extend((line, problem) for problem in problems)
        if person is not None:
            people_to_write.append(person)
    if report.problems:
        return report
    for person in people_to_write:
        known = people.find_user(session, person.telegram_id) is not None
        people.add_user(session, telegram_id=person.telegram_id, role=person.role,
                        team_name=person.team, name=person.name, username=person.username,
                        clock=clock, timezone=timezone)
        if known:
            report.updated += 1
        else:
            report.added += 1
    return report
