"""Role-play practice sessions: start, answer, stop, expire, review, assign, progress.

The engine (``coach.roleplay.engine``) is pure; this module stores each
session's state as JSON in ``practice_sessions`` so a restart resumes it, and
enforces who may see whose practice (self, their lead, an admin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.calendar import is_working_day, region_for
from coach.clock import Clock
from coach.roleplay import engine, pick
from coach.roleplay.scenario import Scenario, load_scenarios
from coach.services import people
from coach.services.errors import ServiceError
from storage.models import PracticeAssignment, PracticeReview, PracticeSession, User

__all__ = [
    "PastSession",
    "Progress",
    "ReplyOutcome",
    "ScenarioChoice",
    "assign",
    "choices",
    "find_scenario",
    "expire_idle",
    "find_member",
    "override_turn",
    "progress",
    "reply",
    "review",
    "start_drill",
    "start_scenario",
    "stop",
]

IDLE = engine.IDLE_TIMEOUT


@dataclass(frozen=True)
class ScenarioChoice:
    scenario: Scenario
    recommended: bool
    assigned_due: date | None = None
    number: int = 0  # as ``/assign`` takes it (fixed order, see coach.roleplay.pick)


def scenarios() -> dict[str, Scenario]:
    return load_scenarios()


def scenario_title(scenario_id: str, lang: str = "zh") -> str:
    """Display title of a scenario (the id itself if it is unknown)."""
    scenario = scenarios().get(scenario_id)
    return scenario.title.get("en" if lang == "en" else "zh") if scenario else scenario_id


def choices(session: Session, me: Me) -> list[ScenarioChoice]:
    """Every scenario, assigned and suggested first, then by difficulty."""
    assigned = {a.scenario_id: a.due_on for a in session.scalars(
        select(PracticeAssignment).where(PracticeAssignment.advisor_id == me.user_id,
                                         PracticeAssignment.status == "open"))}
    last = session.scalars(select(PracticeSession).where(
        PracticeSession.user_id == me.user_id, PracticeSession.status == "finished")
        .order_by(PracticeSession.id.desc()).limit(1)).first()
    suggested = (last.state.get("suggested_next") if last else None) or None
    out = [ScenarioChoice(s, s.id in assigned or s.id == suggested, assigned.get(s.id), n)
           for n, s in enumerate(pick.numbered(scenarios().values()), start=1)]
    out.sort(key=lambda c: (not c.recommended, c.scenario.difficulty, c.scenario.id))
    return out


def _active(session: Session, me: Me) -> PracticeSession | None:
    return session.scalars(select(PracticeSession).where(
        PracticeSession.user_id == me.user_id, PracticeSession.status == "active")
        .order_by(PracticeSession.id.desc()).limit(1)).first()


def _close_active(session: Session, me: Me, *, clock: Clock, status: str = "stopped") -> None:
    row = _active(session, me)
    if row is not None:
        state = engine.close(engine.SessionState.from_dict(row.state["engine"]),
                             outcome="abandoned", clock=clock)
        _store(row, state, clock, status=status)


def _store(row: PracticeSession, state: engine.SessionState, clock: Clock, *,
           status: str | None = None, summary: engine.SessionSummary | None = None) -> None:
    data: dict[str, Any] = {"engine": state.to_dict()}
    if summary is not None:
        data["summary"] = summary.to_dict()
        data["suggested_next"] = summary.suggested_next_scenario
    row.state = data
    row.updated_at = clock.now()
    if status is not None:
        row.status = status
        if status != "active":
            row.finished_at = clock.now()
    if summary is not None:
        row.total_score = summary.total


PRACTICE_ROLES = ("advisor", "lead", "admin")  # referrers refer clients; they do not sell


def _new(session: Session, me: Me, state: engine.SessionState, clock: Clock) -> PracticeSession:
    if me.role not in PRACTICE_ROLES:
        raise ServiceError("role_forbidden")
    _close_active(session, me, clock=clock)
    row = PracticeSession(user_id=me.user_id, scenario_id=state.scenario_id,
                          state={"engine": state.to_dict()}, status="active",
                          started_at=clock.now(), updated_at=clock.now())
    session.add(row)
    session.flush()
    return row


def start_scenario(session: Session, me: Me, scenario_id: str, *, clock: Clock,
                   lang: str) -> tuple[int, Scenario, str]:
    """Open a session; returns its id, the scenario and the customer's first line."""
    scenario = scenarios().get(scenario_id)
    if scenario is None:
        raise ServiceError("scenario_not_found")
    state = engine.start(scenario, lang=lang, clock=clock)
    row = _new(session, me, state, clock)
    return row.id, scenario, engine.current_line(state, scenario) or ""


def start_drill(session: Session, me: Me, *, category: str, customer_line: str, clock: Clock,
                lang: str) -> tuple[int, str]:
    """A one-turn drill on one objection ("practise this" from a script card)."""
    state = engine.one_turn_drill(category, customer_line, lang=lang, clock=clock)
    row = _new(session, me, state, clock)
    return row.id, customer_line


@dataclass(frozen=True)
class ReplyOutcome:
    session_id: int
    turn_index: int
    result: engine.TurnResult | None
    summary: engine.SessionSummary | None = None
    expired: bool = False
    customer_name: str | None = None  # who the tips should name ("赵总", not an example)


def reply(session: Session, me: Me, text: str, *, clock: Clock) -> ReplyOutcome:
    """Score an answer in the caller's active session and move the customer along."""
    row = _active(session, me)
    if row is None:
        raise ServiceError("no_practice")
    state = engine.SessionState.from_dict(row.state["engine"])
    if engine.is_expired(state, clock.now(), IDLE):
        # stored, not raised: the expiry must be committed
        _store(row, engine.close(state, outcome="expired", clock=clock), clock, status="expired")
        return ReplyOutcome(row.id, -1, None, expired=True)
    result = engine.answer(state, text, clock=clock)
    summary = None
    if result.finished:
        summary = engine.summary(result.state)
        _store(row, result.state, clock, status="finished", summary=summary)
        _complete_assignment(session, me, row)
    else:
        _store(row, result.state, clock)
    return ReplyOutcome(row.id, len(result.state.records) - 1, result, summary,
                        customer_name=engine.customer_name(state))


def stop(session: Session, me: Me, *, clock: Clock) -> engine.SessionSummary | None:
    """End the active session now; the summary of what was answered, if anything."""
    row = _active(session, me)
    if row is None:
        return None
    state = engine.close(engine.SessionState.from_dict(row.state["engine"]), clock=clock)
    summary = engine.summary(state) if state.records else None
    _store(row, state, clock, status="stopped", summary=summary)
    return summary


def expire_idle(session: Session, *, clock: Clock) -> list[int]:
    """Mark sessions idle for over 30 minutes as expired (a scheduler tick)."""
    expired = []
    for row in session.scalars(select(PracticeSession).where(
            PracticeSession.status == "active",
            PracticeSession.updated_at < clock.now() - IDLE)):
        state = engine.close(engine.SessionState.from_dict(row.state["engine"]),
                             outcome="expired", clock=clock)
        _store(row, state, clock, status="expired")
        expired.append(row.user_id)
    return expired


def _complete_assignment(session: Session, me: Me, row: PracticeSession) -> None:
    for assignment in session.scalars(select(PracticeAssignment).where(
            PracticeAssignment.advisor_id == me.user_id,
            PracticeAssignment.scenario_id == row.scenario_id,
            PracticeAssignment.status == "open")):
        assignment.status = "done"
        assignment.session_id = row.id


# --- leads: who may see whom -----------------------------------------------------------


def find_member(session: Session, me: Me, handle: str | None) -> User:
    """The caller, or ``@username`` if the caller may see them (their lead, or an admin)."""
    if not handle:
        user = session.get(User, me.user_id)
        assert user is not None
        return user
    user = people.find_by_handle(session, handle)
    if user is None or not _may_see(me, user):
        raise ServiceError("member_not_found", name=handle)
    return user


def _may_see(me: Me, user: User) -> bool:
    if user.id == me.user_id or me.role == "admin":
        return True
    return me.role == "lead" and user.team_id == me.team_id


@dataclass(frozen=True)
class Progress:
    user_name: str
    sessions: int = 0
    average: int | None = None
    per_technique: dict[str, int] = field(default_factory=dict)
    history: list[tuple[datetime, str, int | None, dict[str, int]]] = field(default_factory=list)
    open_assignments: list[tuple[str, date | None]] = field(default_factory=list)


def progress(session: Session, me: Me, handle: str | None = None) -> Progress:
    user = find_member(session, me, handle)
    rows = session.scalars(select(PracticeSession).where(
        PracticeSession.user_id == user.id, PracticeSession.status.in_(("finished", "stopped")),
        PracticeSession.total_score.is_not(None)).order_by(PracticeSession.started_at)).all()
    overrides = _overrides(session, [r.id for r in rows])
    history: list[tuple[datetime, str, int | None, dict[str, int]]] = []
    sums: dict[str, list[int]] = {}
    totals = []
    for row in rows:
        per = dict(row.state.get("summary", {}).get("per_technique", {}))
        total = overrides.get(row.id, row.total_score)
        totals.append(total or 0)
        history.append((row.started_at, row.scenario_id, total, per))
        for technique, value in per.items():
            sums.setdefault(technique, []).append(value)
    open_assignments = [(a.scenario_id, a.due_on) for a in session.scalars(
        select(PracticeAssignment).where(PracticeAssignment.advisor_id == user.id,
                                         PracticeAssignment.status == "open"))]
    return Progress(user_name=user.name, sessions=len(rows),
                    average=round(sum(totals) / len(totals)) if totals else None,
                    per_technique={t: round(sum(v) / len(v)) for t, v in sums.items()},
                    history=history, open_assignments=open_assignments)


def _overrides(session: Session, session_ids: list[int]) -> dict[int, int]:
    """Session totals recomputed with the lead's per-turn overrides."""
    if not session_ids:
        return {}
    reviews = session.scalars(select(PracticeReview).where(
        PracticeReview.session_id.in_(session_ids), PracticeReview.score_override.is_not(None))
        .order_by(PracticeReview.id)).all()
    if not reviews:
        return {}
    by_session: dict[int, dict[int, int]] = {}
    for r in reviews:
        by_session.setdefault(r.session_id, {})[r.turn_index] = int(r.score_override or 0)
    out = {}
    for row in session.scalars(select(PracticeSession).where(
            PracticeSession.id.in_(list(by_session)))):
        scores = [rec["score"] for rec in row.state["engine"]["records"]]
        for index, value in by_session[row.id].items():
            if 0 <= index < len(scores):
                scores[index] = value
        out[row.id] = round(sum(scores) / len(scores)) if scores else 0
    return out


@dataclass(frozen=True)
class Review:
    session_id: int
    advisor: str
    advisor_telegram_id: int
    scenario_id: str
    status: str
    records: list[dict[str, Any]]
    overrides: dict[int, tuple[int | None, str | None]]
    total: int | None


def review(session: Session, me: Me, session_id: int) -> Review:
    row = session.get(PracticeSession, session_id)
    owner = session.get(User, row.user_id) if row else None
    if row is None or owner is None or not _may_see(me, owner):
        raise ServiceError("practice_not_found")
    overrides = {r.turn_index: (r.score_override, r.comment) for r in session.scalars(
        select(PracticeReview).where(PracticeReview.session_id == row.id)
        .order_by(PracticeReview.id))}
    total = _overrides(session, [row.id]).get(row.id, row.total_score)
    return Review(row.id, owner.name, owner.telegram_id, row.scenario_id, row.status,
                  list(row.state["engine"]["records"]), overrides, total)


@dataclass(frozen=True)
class PastSession:
    id: int
    scenario_id: str
    total_score: int | None
    started_at: datetime


def last_sessions(session: Session, me: Me, handle: str | None
                  ) -> tuple[str, list[PastSession]]:
    """The member's name and their last eight closed sessions, newest first."""
    user = find_member(session, me, handle)
    rows = session.scalars(select(PracticeSession).where(
        PracticeSession.user_id == user.id, PracticeSession.status != "active")
        .order_by(PracticeSession.id.desc()).limit(8)).all()
    return user.name, [PastSession(r.id, r.scenario_id, r.total_score, r.started_at)
                       for r in rows]


def override_turn(session: Session, me: Me, session_id: int, turn_index: int,
                  score: int | None, comment: str | None, *, clock: Clock) -> Review:
    """A lead changes one turn's score and/or comments on it; the advisor is told."""
    if me.role not in ("lead", "admin"):
        raise ServiceError("role_forbidden")
    current = review(session, me, session_id)
    if current.advisor_telegram_id == me.telegram_id:
        raise ServiceError("role_forbidden")
    if not 0 <= turn_index < len(current.records):
        raise ServiceError("turn_not_found")
    if score is not None and not 0 <= score <= 100:
        raise ServiceError("score_invalid")
    session.add(PracticeReview(session_id=session_id, turn_index=turn_index,
                               reviewer_id=me.user_id, score_override=score,
                               comment=(comment or None), created_at=clock.now()))
    session.flush()
    return review(session, me, session_id)


def find_scenario(query: str) -> Scenario:
    """The scenario ``query`` names: its number in ``/practice``, its title (exact, or a
    piece only one title has; Simplified or Traditional) or its id.

    Raises ``scenario_unclear`` with the candidates (number, scenario) otherwise.
    """
    found = pick.pick(query, pick.numbered(scenarios().values()))
    if found.scenario is None:
        raise ServiceError("scenario_unclear", query=query, candidates=list(found.candidates),
                           ambiguous=len(found.candidates) < len(scenarios()))
    return found.scenario


def assign(session: Session, me: Me, target: str, scenario: str, due: date | None, *,
           clock: Clock) -> tuple[str, list[people.Profile]]:
    """Assign a scenario (see :func:`find_scenario`) to ``@advisor`` or to ``team`` (every
    advisor of the lead's team); returns the scenario id and who got it."""
    if me.role not in ("lead", "admin"):
        raise ServiceError("role_forbidden")
    scenario_id = find_scenario(scenario).id
    if target.lower() in ("team", "all", "全队", "团队"):
        if me.team_id is None:
            raise ServiceError("team_required", role=me.role)
        members = list(session.scalars(select(User).where(
            User.team_id == me.team_id, User.role == "advisor", User.active.is_(True))))
    else:
        member = find_member(session, me, target)
        if member.role != "advisor":
            raise ServiceError("member_not_found", name=target)
        members = [member]
    for member in members:
        session.add(PracticeAssignment(advisor_id=member.id, assigned_by_id=me.user_id,
                                       scenario_id=scenario_id, due_on=due, status="open",
                                       reminded_at=clock.now(), created_at=clock.now()))
    session.flush()
    return scenario_id, [people.Profile.of(m) for m in members]


@dataclass(frozen=True)
class AssignmentReminder:
    telegram_id: int
    language: str
    scenario_id: str
    due_on: date | None


def due_reminders(session: Session, *, clock: Clock, region: str = "CN",
                  not_before: time = time(8, 30)) -> list[AssignmentReminder]:
    """Open assignments whose advisor was not reminded yet today (marks them).

    Once a working day per assignment, from the advisor's morning time (their own digest
    time, else ``not_before``): weekends and public holidays of their region are skipped,
    so the reminder comes the next working day; and only up to the due date: after it, the
    assignment stays open in ``/progress`` but the advisor is not reminded again.
    """
    now = clock.now()
    out = []
    rows = session.execute(select(PracticeAssignment, User).join(
        User, User.id == PracticeAssignment.advisor_id).where(
        PracticeAssignment.status == "open", User.active.is_(True),
        or_(PracticeAssignment.reminded_at.is_(None),
            PracticeAssignment.reminded_at < now - timedelta(hours=1)),
        # a superset in any time zone: the exact day is checked below
        or_(PracticeAssignment.due_on.is_(None),
            PracticeAssignment.due_on >= now.date() - timedelta(days=1)))).all()
    for assignment, user in rows:
        zone = ZoneInfo(user.timezone)
        local = now.astimezone(zone)
        today = local.date()
        if assignment.due_on is not None and today > assignment.due_on:
            continue
        last = assignment.reminded_at
        if ((last is not None and last.astimezone(zone).date() >= today)
                or not is_working_day(today, region_for(user.timezone, region))
                or local.time() < (user.digest_time or not_before)):
            continue
        assignment.reminded_at = now
        out.append(AssignmentReminder(user.telegram_id, user.language, assignment.scenario_id,
                                      assignment.due_on))
    return out


def model_answer(session: Session, me: Me, session_id: int, turn_index: int,
                 lang: str) -> tuple[str, str]:
    """The customer line of a turn and a model answer for it (scenario's own, else library)."""
    from coach.roleplay.model_answers import library_model_answers

    current = review(session, me, session_id)
    if not 0 <= turn_index < len(current.records):
        raise ServiceError("turn_not_found")
    record = current.records[turn_index]
    scenario = scenarios().get(current.scenario_id)
    own = None
    if scenario is not None:
        try:
            turn = scenario.turn(record["turn_id"])
            own = turn.model_answer.get(lang) if turn.model_answer else None
        except KeyError:
            own = None
    answers = library_model_answers(record["category"], lang, limit=1)
    return record["customer_line"], own or (answers[0] if answers else "")
