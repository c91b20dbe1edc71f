"""Role-play session engine: a pure state machine over a scenario's turns.

``start`` opens a session, ``answer`` scores one advisor reply and follows the
branch of its grade, ``summary`` sums a session up and suggests the next
scenario. :class:`SessionState` holds only JSON types (``to_dict``/``from_dict``)
so a session can be stored in the database and resumed later.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from statistics import mean
from typing import Any

import yaml

from coach.clock import Clock, SystemClock
from coach.roleplay.model_answers import library_model_answers
from coach.roleplay.scenario import (
    END,
    Branch,
    Branches,
    Persona,
    Scenario,
    Text,
    Turn,
    load_scenarios,
)
from coach.roleplay.scoring import CHECKS, Scorer, TurnScore, score_reply

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_ANSWERS",
    "MAX_VISITS",
    "SessionFinished",
    "SessionState",
    "SessionSummary",
    "TurnRecord",
    "TurnResult",
    "answer",
    "close",
    "current_line",
    "customer_name",
    "is_expired",
    "one_turn_drill",
    "resolve_scenario",
    "start",
    "suggest_next",
    "summary",
]

IDLE_TIMEOUT = timedelta(minutes=30)
MAX_VISITS = 2  # the customer loses patience when a turn would come round a third time
MAX_ANSWERS = 12  # safety net: no session runs longer than this
STATE_VERSION = 1

# Which categories train a technique, for the "practise next" suggestion.
TECHNIQUE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "restate": ("objection.fee_too_high", "objection.fear_of_loss", "objection.distrust_sales"),
    "acknowledge": ("objection.past_loss", "objection.distrust_sales", "objection.fear_of_loss"),
    "compliment": ("objection.ask_family", "objection.think_it_over", "objection.past_loss"),
    "answer_fact": ("pitch.numbers", "objection.return_too_low", "objection.fee_too_high"),
    "benefit_first": ("pitch.fab", "crosssell", "objection.prefer_deposit"),
    "advance": ("signals.buying", "closing", "objection.think_it_over", "objection.no_time"),
    "uses_name": ("opening.phone_call", "followup.new_account"),
    "concise": ("objection.no_time", "opening.phone_call"),
    "no_argue": ("objection.distrust_sales", "objection.past_loss"),
    "relevant": ("objection.fee_too_high", "objection.no_time", "objection.liquidity"),
}
RISK_CATEGORIES_PREFIXES = ("objection.", "pitch.", "signals.", "closing")
_DRILL_FILE = Path(__file__).with_name("drill.yaml")

ModelAnswers = Callable[[str, str], Sequence[str]]


class SessionFinished(ValueError):
    """Raised when a reply is given to a session that has already ended."""


@dataclass
class TurnRecord:
    """One answered customer turn, as stored in the session."""

    turn_id: str
    category: str
    customer_line: str
    reply: str
    score: int
    grade: str
    checks: dict[str, bool]
    compliance: list[str]
    tip: str
    at: str  # ISO 8601, timezone-aware


@dataclass
class SessionState:
    """Everything needed to resume a session; JSON-serialisable through ``to_dict``."""

    scenario_id: str
    lang: str
    current_turn: str | None
    started_at: str
    last_activity: str
    finished: bool = False
    outcome: str | None = None  # success | lost | stalled | expired | abandoned
    records: list[TurnRecord] = field(default_factory=list)
    visits: dict[str, int] = field(default_factory=dict)
    drill: dict[str, Any] | None = None
    # after a weak answer the customer presses the same point in other words (the branch's
    # reaction) instead of repeating their line: that is what they "just said"
    follow_up: str | None = None
    version: int = STATE_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        values = dict(data)
        values["records"] = [TurnRecord(**r) for r in values.get("records", [])]
        return cls(**values)


@dataclass(frozen=True)
class TurnResult:
    """What happened after one reply: the verdict, the customer's answer, the new state."""

    score: TurnScore
    reaction: str | None  # the customer's reaction to this reply (e.g. to a promise)
    customer_line: str | None  # the next customer line, or the closing line at the end
    finished: bool
    outcome: str | None
    model_answer: str | None  # a model answer to the turn just answered
    state: SessionState


@dataclass(frozen=True)
class SessionSummary:
    """A finished (or abandoned) session in numbers."""

    scenario_id: str
    outcome: str | None
    turns: int
    total: int
    per_technique: dict[str, int]  # % of turns that passed each check
    per_category: dict[str, int]  # average score per customer category
    best_turn: int | None  # index into state.records
    weakest_turn: int | None
    weakest_technique: str | None
    compliance: list[str]
    suggested_next_scenario: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- session lifecycle


def _now(clock: Clock | None) -> datetime:
    return (clock or SystemClock()).now()


def start(scenario: Scenario, *, lang: str = "zh", clock: Clock | None = None) -> SessionState:
    """Open a session on the scenario's first turn."""
    now = _now(clock).isoformat()
    first = scenario.start_id
    return SessionState(
        scenario_id=scenario.id, lang=lang, current_turn=first, started_at=now,
        last_activity=now, visits={first: 1},
    )


def current_line(state: SessionState, scenario: Scenario | None = None) -> str | None:
    """What the customer is saying now (None once the session has ended)."""
    if state.finished or state.current_turn is None:
        return None
    if state.follow_up:
        return state.follow_up
    scenario = scenario or resolve_scenario(state)
    return scenario.turn(state.current_turn).customer.get(state.lang)


def answer(
    state: SessionState,
    reply: str,
    scorer: Scorer = score_reply,
    *,
    scenario: Scenario | None = None,
    clock: Clock | None = None,
    model_answers: ModelAnswers | None = None,
) -> TurnResult:
    """Score ``reply`` to the current customer turn and move along its branch.

    ``state`` is not changed; the result carries the new state.
    """
    if state.finished or state.current_turn is None:
        raise SessionFinished(f"session on {state.scenario_id} has ended ({state.outcome})")
    scenario = scenario or resolve_scenario(state)
    turn = scenario.turn(state.current_turn)
    lang = state.lang
    answers = _model_answers(turn, lang, model_answers or library_model_answers)
    said = turn.customer.get(lang)
    if state.follow_up:  # they pressed the point: both lines are what they said
        said = f"{said} {state.follow_up}"
    verdict = scorer(
        reply,
        category=turn.category,
        customer_line=said,
        customer_name=_customer_name(scenario, state),
        requires_risk_disclosure=scenario.requires_risk_disclosure,
        model_answers=answers,
        lang=lang,
    )
    new = copy.deepcopy(state)
    new.last_activity = _now(clock).isoformat()
    new.records.append(_record(turn, lang, reply, verdict, new.last_activity))
    assert turn.branches is not None  # validated: only end turns lack branches
    branch: Branch = getattr(turn.branches, verdict.grade)
    reaction = branch.reaction.get(lang) if branch.reaction else None
    line = _move(new, scenario, branch, verdict.grade)
    return TurnResult(
        score=verdict, reaction=reaction, customer_line=line, finished=new.finished,
        outcome=new.outcome, model_answer=answers[0] if answers else None, state=new,
    )


def _move(state: SessionState, scenario: Scenario, branch: Branch, grade: str) -> str | None:
    """Advance ``state`` along ``branch``; return the next customer line, if any."""
    if branch.next == END:
        _finish(state, "success" if grade == "good" else "lost")
        return None
    visits = state.visits.get(branch.next, 0) + 1
    if visits > MAX_VISITS:
        _finish(state, "lost")
        return None
    if len(state.records) >= MAX_ANSWERS:
        _finish(state, "stalled")
        return None
    state.visits[branch.next] = visits
    # the same turn again: the customer's reaction presses the point, their line is not
    # said twice (a conversation, not a loop)
    again = branch.next == state.current_turn and branch.reaction is not None
    nxt = scenario.turn(branch.next)
    state.current_turn = nxt.id
    state.follow_up = branch.reaction.get(state.lang) if again and branch.reaction else None
    if nxt.end:
        _finish(state, nxt.outcome)
    return None if again else nxt.customer.get(state.lang)


def _finish(state: SessionState, outcome: str) -> None:
    state.finished = True
    state.outcome = outcome
    state.current_turn = None
    state.follow_up = None


def close(state: SessionState, *, outcome: str = "abandoned", clock: Clock | None = None
          ) -> SessionState:
    """End a session early (the advisor quit, or it went idle); returns a new state."""
    new = copy.deepcopy(state)
    if not new.finished:
        _finish(new, outcome)
        new.last_activity = _now(clock).isoformat()
    return new


def is_expired(state: SessionState, now: datetime, idle: timedelta = IDLE_TIMEOUT) -> bool:
    """True when an unfinished session has had no reply for longer than ``idle``."""
    if state.finished:
        return False
    return now - datetime.fromisoformat(state.last_activity) > idle


def _record(turn: Turn, lang: str, reply: str, verdict: TurnScore, at: str) -> TurnRecord:
    return TurnRecord(
        turn_id=turn.id, category=turn.category, customer_line=turn.customer.get(lang),
        reply=reply, score=verdict.score, grade=verdict.grade, checks=dict(verdict.checks),
        # warnings (a missing risk disclosure) are kept with the record so the summary
        # still points the advisor at a scenario that trains disclosures
        compliance=list(verdict.compliance) + list(verdict.warnings), tip=verdict.tip, at=at,
    )


def _model_answers(turn: Turn, lang: str, provider: ModelAnswers) -> tuple[str, ...]:
    own = (turn.model_answer.get(lang),) if turn.model_answer else ()
    return tuple(a for a in (*own, *provider(turn.category, lang)) if a)


def customer_name(state: SessionState, scenario: Scenario | None = None) -> str | None:
    """The customer's name in this session (the scenario's persona; None in a bare drill)."""
    if state.drill is not None:
        return state.drill.get("customer_name") or None
    scenario = scenario or resolve_scenario(state)
    return scenario.persona.name.get(state.lang) or None


def _customer_name(scenario: Scenario, state: SessionState) -> str | None:
    if state.drill is not None:
        return state.drill.get("customer_name") or None
    return scenario.persona.name.get(state.lang) or None


# ---------------------------------------------------------------- drills


def one_turn_drill(
    category: str,
    customer_line: str,
    *,
    lang: str = "zh",
    customer_name: str | None = None,
    requires_risk_disclosure: bool | None = None,
    clock: Clock | None = None,
) -> SessionState:
    """A one-reply session on a single customer line ("practise this" on a library card).

    Risk disclosure is required by default for objections, pitches, buying
    signals and closing, where a product is usually on the table.
    """
    if requires_risk_disclosure is None:
        requires_risk_disclosure = category.startswith(RISK_CATEGORIES_PREFIXES)
    drill = {
        "category": category, "customer_line": customer_line,
        "customer_name": customer_name, "requires_risk_disclosure": requires_risk_disclosure,
    }
    state = start(_drill_scenario(drill), lang=lang, clock=clock)
    state.drill = drill
    return state


@lru_cache(maxsize=1)
def _drill_data() -> dict[str, Any]:
    with open(_DRILL_FILE, encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def _drill_scenario(drill: Mapping[str, Any]) -> Scenario:
    data = _drill_data()
    line = Text(zh=drill["customer_line"], en=drill["customer_line"])
    reactions = {g: Branch(next=END, reaction=Text(**r)) for g, r in data["reactions"].items()}
    category = drill["category"]
    return Scenario(
        id="drill_" + category.replace(".", "_"),
        title=line,
        persona=Persona(name=Text(**data["persona"]["name"]), age=40,
                        situation=Text(**data["persona"]["situation"])),
        goal="book_meeting",
        difficulty=1,
        requires_risk_disclosure=bool(drill["requires_risk_disclosure"]),
        recommended_for=[category],
        turns=[Turn(id="t1", category=category, customer=line, branches=Branches(**reactions))],
    )


def resolve_scenario(
    state: SessionState, scenarios: Mapping[str, Scenario] | None = None
) -> Scenario:
    """The scenario a stored session runs on (drills are rebuilt from the state)."""
    if state.drill is not None:
        return _drill_scenario(state.drill)
    library = scenarios if scenarios is not None else load_scenarios()
    return library[state.scenario_id]


# ---------------------------------------------------------------- summary


def summary(
    state: SessionState, scenarios: Mapping[str, Scenario] | None = None
) -> SessionSummary:
    """Totals, per-technique pass rates, best/weakest turn and what to practise next."""
    records = state.records
    scores = [r.score for r in records]
    per_technique = _per_technique(records)
    per_category: dict[str, list[int]] = {}
    for r in records:
        per_category.setdefault(r.category, []).append(r.score)
    weakest_technique = min(per_technique, key=lambda c: (per_technique[c], CHECKS.index(c)),
                            default=None)
    best = max(range(len(records)), key=lambda i: (scores[i], -i), default=None)
    weakest = min(range(len(records)), key=lambda i: (scores[i], i), default=None)
    compliance = sorted({c for r in records for c in r.compliance})
    total = round(mean(scores)) if scores else 0
    library = scenarios if scenarios is not None else load_scenarios()
    suggestion = suggest_next(
        library, current=state.scenario_id,
        weak_category=records[weakest].category if weakest is not None else None,
        weak_technique=weakest_technique, total=total, compliance=bool(compliance),
        current_difficulty=library[state.scenario_id].difficulty
        if state.scenario_id in library else 1,
    )
    return SessionSummary(
        scenario_id=state.scenario_id, outcome=state.outcome, turns=len(records), total=total,
        per_technique=per_technique,
        per_category={c: round(mean(v)) for c, v in per_category.items()},
        best_turn=best, weakest_turn=weakest, weakest_technique=weakest_technique,
        compliance=compliance, suggested_next_scenario=suggestion,
    )


def _per_technique(records: Sequence[TurnRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for check in CHECKS:
        results = [r.checks[check] for r in records if check in r.checks]
        if results:
            out[check] = round(100 * sum(results) / len(results))
    return out


def suggest_next(
    scenarios: Mapping[str, Scenario],
    *,
    current: str,
    weak_category: str | None,
    weak_technique: str | None,
    total: int,
    compliance: bool,
    current_difficulty: int = 1,
) -> str | None:
    """A different scenario that trains the weakest category/technique, at the right level."""
    target_difficulty = (
        min(3, current_difficulty + 1) if total >= 75
        else current_difficulty if total >= 50
        else max(1, current_difficulty - 1)
    )
    technique_cats = set(TECHNIQUE_CATEGORIES.get(weak_technique or "", ()))

    def rank(s: Scenario) -> tuple[float, str]:
        points = 0.0
        if weak_category and weak_category in s.recommended_for:
            points += 3
        if weak_category and weak_category in {t.category for t in s.turns}:
            points += 2
        if technique_cats & s.categories():
            points += 1
        if compliance and s.requires_risk_disclosure:
            points += 1
        points -= 0.25 * abs(s.difficulty - target_difficulty)
        return (-points, s.id)

    candidates = [s for s in scenarios.values() if s.id != current]
    return min(candidates, key=rank).id if candidates else None
