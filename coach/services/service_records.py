"""Service records: complaints, questions a client is still waiting on, unmet product needs.

Who sees what follows the client rules: an advisor their own records, a lead their
team's, an admin all. Complaints stay open until resolved (the lead is told of each
new one); a question must be answered within two weeks (reminder at
``question_reminder_days``); needs are counted per tag each month for the lead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.clock import Clock, local_day
from coach.complaints import CATEGORIES, guess_category
from coach.services.clients import get_visible_client, lookup
from coach.services.errors import ServiceError
from coach.services.oversight import Recipient, overseers_of, recipient
from scripts_library.normalize import normalize
from storage.models import Client, ClientQuestion, Complaint, UnmetNeed, User

__all__ = [
    "ComplaintCounts",
    "ComplaintLine",
    "NeedGroup",
    "OpenQuestion",
    "answer_question",
    "claim_question_reminders",
    "complaint_counts",
    "list_complaints",
    "list_questions",
    "needs_this_month",
    "open_questions",
    "record_complaint",
    "record_need",
    "record_question",
    "resolve_complaint",
    "split_client",
]

MAX_TEXT = 2000
_TAG = re.compile(r"^[\w.+-]{1,40}$")


# --- "/cmd CLIENT text": which words name the client -----------------------------------


def _same(a: str, b: str) -> bool:
    return normalize(a).replace(" ", "") == normalize(b).replace(" ", "")


def split_client(session: Session, me: Me, words: list[str], *, min_rest: int = 1
                 ) -> tuple[int, list[str]]:
    """The client named by the first words (one to three) and the words after them.

    A longer exact name wins ("Chen Mei 费用太高" is Chen Mei, not Chen); otherwise the
    first word must find one clear client among those ``me`` may see.
    """
    longest = min(3, len(words) - min_rest)
    if longest < 1:
        raise ServiceError("usage")
    for k in range(longest, 0, -1):
        query = " ".join(words[:k])
        found = lookup(session, me, query)
        if found.client_id is not None and _same(query, found.choices[0][1]):
            return found.client_id, words[k:]
    found = lookup(session, me, words[0])
    if found.client_id is not None:
        return found.client_id, words[1:]
    if found.choices:
        raise ServiceError("client_ambiguous", query=words[0],
                           names=[name for _, name in found.choices],
                           own=all(cid in found.owned for cid, _ in found.choices))
    raise ServiceError("client_not_found")


def _clean_text(words: list[str] | str) -> str:
    text = (" ".join(words) if isinstance(words, list) else words).strip()
    if not text:
        raise ServiceError("usage")
    if len(text) > MAX_TEXT:
        raise ServiceError("too_long")
    return text


def _team_user_ids(team_id: int | None) -> Select[int]:
    return select(User.id).where(User.team_id == team_id)


def _month_bounds(month: date | str, tz: str) -> tuple[datetime, datetime]:
    if isinstance(month, str):
        year, mon = (int(part) for part in month.split("-")[:2])
        month = date(year, mon, 1)
    zone = ZoneInfo(tz)
    start = datetime.combine(month.replace(day=1), time(0), zone)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime.combine(following, time(0), zone)


def _client_names(session: Session, ids: set[int | None]) -> dict[int, tuple[str, bool, int]]:
    """client id → (name, forgotten, advisor id); a forgotten client's name is ``""``."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.execute(select(Client.id, Client.name, Client.forgotten, Client.advisor_id)
                           .where(Client.id.in_(wanted)))
    return {r.id: ("" if r.forgotten else r.name, r.forgotten, r.advisor_id) for r in rows}


def _staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {r.id: r.name for r in session.execute(
        select(User.id, User.name).where(User.id.in_(ids)))}


# --- complaints -------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintLine:
    id: int
    client_id: int | None
    client_name: str
    forgotten: bool
    own: bool  # the client is the viewer's own
    received_by: str
    category: str
    text: str
    status: str
    resolution: str | None
    created_at: datetime
    resolved_at: datetime | None


def _complaint_scope(me: Me) -> Select[Complaint]:
    query = select(Complaint)
    if me.role == "admin":
        return query
    if me.role == "lead" and me.team_id is not None:
        team = _team_user_ids(me.team_id)
        return query.where(or_(Complaint.received_by_id.in_(team), Complaint.client_id.in_(
            select(Client.id).where(Client.advisor_id.in_(team)))))
    if me.role in ("advisor", "lead"):
        return query.where(or_(Complaint.received_by_id == me.user_id, Complaint.client_id.in_(
            select(Client.id).where(Client.advisor_id == me.user_id))))
    return query.where(Complaint.id.is_(None))


def _complaint_lines(session: Session, me: Me, rows: list[Complaint]) -> list[ComplaintLine]:
    clients = _client_names(session, {r.client_id for r in rows})
    staff = _staff_names(session, {r.received_by_id for r in rows})
    lines = []
    for r in rows:
        name, forgotten, owner = clients.get(r.client_id or 0, ("", True, None))
        lines.append(ComplaintLine(r.id, r.client_id, name, forgotten, owner == me.user_id,
                                   staff.get(r.received_by_id, "-"), r.category, r.text,
                                   r.status, r.resolution, r.created_at, r.resolved_at))
    return lines


def record_complaint(session: Session, me: Me, client_id: int, text: str, *, clock: Clock,
                     category: str | None = None) -> tuple[ComplaintLine, list[Recipient]]:
    """Save a complaint received by ``me``; returns it and the leads to tell."""
    if me.role not in ("advisor", "lead", "admin"):
        raise ServiceError("role_forbidden")
    client = get_visible_client(session, me, client_id, clock=clock, action="complaint")
    body = _clean_text(text)
    chosen = category if category in CATEGORIES else guess_category(body)
    row = Complaint(client_id=client.id, received_by_id=me.user_id, category=chosen, text=body,
                    status="open", created_at=clock.now())
    session.add(row)
    session.flush()
    notify = [r for r in overseers_of(session, client.advisor_id) if r.user_id != me.user_id]
    return _complaint_lines(session, me, [row])[0], notify


def list_complaints(session: Session, me: Me, *, status: str = "open") -> list[ComplaintLine]:
    rows = list(session.scalars(_complaint_scope(me).where(Complaint.status == status)
                                .order_by(Complaint.created_at, Complaint.id).limit(50)))
    return _complaint_lines(session, me, rows)


def resolve_complaint(session: Session, me: Me, complaint_id: int, note: str, *,
                      clock: Clock) -> ComplaintLine:
    row = session.scalar(_complaint_scope(me).where(Complaint.id == complaint_id))
    if row is None:
        raise ServiceError("complaint_not_found", id=complaint_id)
    if row.status != "open":
        raise ServiceError("complaint_closed", id=complaint_id)
    row.resolution = _clean_text(note)
    row.status = "resolved"
    row.resolved_at = clock.now()
    return _complaint_lines(session, me, [row])[0]


@dataclass(frozen=True)
class ComplaintCounts:
    """One team's complaints in one month (for the lead's monthly report)."""

    received: int
    resolved: int
    still_open: int
    by_category: dict[str, int] = field(default_factory=dict)


def complaint_counts(session: Session, team_id: int, month: date | str, *,
                     tz: str = "Asia/Shanghai") -> ComplaintCounts:
    """Complaints received in ``month`` (a date in it, or ``"YYYY-MM"``) by the team,
    or about the team's clients; ``resolved`` counts those resolved in the month."""
    start, end = _month_bounds(month, tz)
    team = _team_user_ids(team_id)
    scope = or_(Complaint.received_by_id.in_(team), Complaint.client_id.in_(
        select(Client.id).where(Client.advisor_id.in_(team))))
    received = session.execute(
        select(Complaint.category, Complaint.status, func.count()).where(
            scope, Complaint.created_at >= start, Complaint.created_at < end)
        .group_by(Complaint.category, Complaint.status)).all()
    by_category: dict[str, int] = {}
    still_open = 0
    for category, status, n in received:
        by_category[category] = by_category.get(category, 0) + n
        still_open += n if status == "open" else 0
    resolved = session.scalar(select(func.count()).select_from(Complaint).where(
        scope, Complaint.resolved_at >= start, Complaint.resolved_at < end)) or 0
    return ComplaintCounts(sum(by_category.values()), int(resolved), still_open,
                           dict(sorted(by_category.items())))


# --- questions the client is waiting on -------------------------------------------------


@dataclass(frozen=True)
class OpenQuestion:
    id: int
    client_id: int | None
    client_name: str
    advisor_id: int
    own: bool
    text: str
    created_at: datetime
    age_days: int


def _question_scope(me: Me) -> Select[ClientQuestion]:
    query = select(ClientQuestion)
    if me.role == "admin":
        return query
    if me.role == "lead" and me.team_id is not None:
        return query.where(ClientQuestion.advisor_id.in_(_team_user_ids(me.team_id)))
    return query.where(ClientQuestion.advisor_id == me.user_id)


def _question_lines(session: Session, rows: list[ClientQuestion], now: datetime,
                    viewer_id: int | None) -> list[OpenQuestion]:
    clients = _client_names(session, {r.client_id for r in rows})
    return [OpenQuestion(r.id, r.client_id, clients.get(r.client_id or 0, ("", True, 0))[0],
                         r.advisor_id, r.advisor_id == viewer_id, r.text, r.created_at,
                         (now - r.created_at).days) for r in rows]


def record_question(session: Session, me: Me, client_id: int, text: str, *,
                    clock: Clock) -> OpenQuestion:
    """A question ``me`` could not answer on the spot: ``me`` owes the client an answer."""
    if me.role not in ("advisor", "lead"):
        raise ServiceError("role_forbidden")
    client = get_visible_client(session, me, client_id, clock=clock, action="question")
    row = ClientQuestion(client_id=client.id, advisor_id=me.user_id, text=_clean_text(text),
                         status="open", created_at=clock.now())
    session.add(row)
    session.flush()
    return _question_lines(session, [row], clock.now(), me.user_id)[0]


def list_questions(session: Session, me: Me, *, clock: Clock) -> list[OpenQuestion]:
    rows = list(session.scalars(_question_scope(me).where(ClientQuestion.status == "open")
                                .order_by(ClientQuestion.created_at, ClientQuestion.id)
                                .limit(50)))
    return _question_lines(session, rows, clock.now(), me.user_id)


def answer_question(session: Session, me: Me, question_id: int, answer: str, *,
                    clock: Clock) -> OpenQuestion:
    row = session.scalar(_question_scope(me).where(ClientQuestion.id == question_id))
    if row is None:
        raise ServiceError("question_not_found", id=question_id)
    if row.status != "open":
        raise ServiceError("question_closed", id=question_id)
    row.answer = _clean_text(answer)
    row.status = "answered"
    row.answered_at = clock.now()
    return _question_lines(session, [row], clock.now(), me.user_id)[0]


def open_questions(session: Session, advisor_ids: list[int], older_than_days: int,
                   now: datetime) -> list[OpenQuestion]:
    """Open questions of these advisors asked at least ``older_than_days`` days before
    ``now``, oldest first (for the morning checklist)."""
    if not advisor_ids:
        return []
    cutoff = now - timedelta(days=older_than_days)
    rows = list(session.scalars(select(ClientQuestion).where(
        ClientQuestion.advisor_id.in_(advisor_ids), ClientQuestion.status == "open",
        ClientQuestion.created_at <= cutoff)
        .order_by(ClientQuestion.created_at, ClientQuestion.id)))
    return _question_lines(session, rows, now, None)


@dataclass(frozen=True)
class QuestionReminder:
    question: OpenQuestion
    to: Recipient


def claim_question_reminders(session: Session, *, now: datetime, days: int
                             ) -> list[QuestionReminder]:
    """Mark open questions ``days`` old as reminded (once) and return who to remind.

    The claim is made in the transaction that queues the reminder in the outbox, so
    two instances never remind twice and delivery trouble is the outbox's business.
    """
    cutoff = now - timedelta(days=days)
    ids = list(session.scalars(
        update(ClientQuestion).where(ClientQuestion.status == "open",
                                     ClientQuestion.reminded_at.is_(None),
                                     ClientQuestion.created_at <= cutoff)
        .values(reminded_at=now).returning(ClientQuestion.id)))
    if not ids:
        return []
    rows = list(session.scalars(select(ClientQuestion).where(ClientQuestion.id.in_(ids))
                                .order_by(ClientQuestion.id)))
    people = {u.id: u for u in session.scalars(
        select(User).where(User.id.in_({r.advisor_id for r in rows})))}
    reminders = []
    for row in rows:
        advisor = people[row.advisor_id]
        if not advisor.active:
            continue
        line = _question_lines(session, [row], now, advisor.id)[0]
        reminders.append(QuestionReminder(line, recipient(advisor)))
    return reminders


# --- unmet needs --------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedLine:
    client_id: int | None
    client_name: str
    own: bool
    advisor_name: str
    text: str | None
    created_at: datetime


@dataclass(frozen=True)
class NeedGroup:
    tag: str
    count: int
    items: list[NeedLine]


def _tag(value: str) -> str:
    tag = value.strip().lstrip("#").lower()
    if not _TAG.match(tag):
        raise ServiceError("tag_invalid", value=value)
    return tag


def record_need(session: Session, me: Me, client_id: int, tag: str, text: str | None, *,
                clock: Clock) -> tuple[str, str]:
    """A product the client asked for that we could not offer; returns (client, tag)."""
    if me.role not in ("advisor", "lead"):
        raise ServiceError("role_forbidden")
    client = get_visible_client(session, me, client_id, clock=clock, action="need")
    clean_tag = _tag(tag)
    body = (text or "").strip()
    if len(body) > MAX_TEXT:
        raise ServiceError("too_long")
    session.add(UnmetNeed(client_id=client.id, advisor_id=me.user_id, tag=clean_tag,
                          text=body or None, created_at=clock.now()))
    return client.name, clean_tag


def needs_this_month(session: Session, me: Me, *, clock: Clock) -> list[NeedGroup]:
    """This month's needs (caller's time zone) grouped by tag, most frequent first."""
    today = local_day(clock.now(), me.timezone)
    start, end = _month_bounds(today, me.timezone)
    query = select(UnmetNeed).where(UnmetNeed.created_at >= start, UnmetNeed.created_at < end)
    if me.role == "lead" and me.team_id is not None:
        query = query.where(UnmetNeed.advisor_id.in_(_team_user_ids(me.team_id)))
    elif me.role != "admin":
        query = query.where(UnmetNeed.advisor_id == me.user_id)
    rows = list(session.scalars(query.order_by(UnmetNeed.created_at, UnmetNeed.id)))
    clients = _client_names(session, {r.client_id for r in rows})
    staff = _staff_names(session, {r.advisor_id for r in rows})
    groups: dict[str, list[NeedLine]] = {}
    for r in rows:
        name, _forgotten, owner = clients.get(r.client_id or 0, ("", True, None))
        groups.setdefault(r.tag, []).append(NeedLine(
            r.client_id, name, owner == me.user_id, staff.get(r.advisor_id, "-"), r.text,
            r.created_at))
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [NeedGroup(tag, len(items), items) for tag, items in ordered]
