"""Role-play scenario schema, loader and validator.

A scenario is one customer persona and a small graph of customer turns. After
each advisor reply the engine follows the turn's ``good``, ``weak`` or
``non_compliant`` branch to the next turn (or to ``end``). Scenarios live as
YAML in ``scripts_library/scenarios/``; :func:`validate_scenarios` reports
problems as ``file:line: message`` so authors can fix them quickly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "Branches",
    "CATEGORIES",
    "DEFAULT_ROOT",
    "END",
    "GOALS",
    "LANGS",
    "MAX_TURNS",
    "MIN_TURNS",
    "Branch",
    "Persona",
    "Problem",
    "Scenario",
    "ScenarioError",
    "Text",
    "Turn",
    "load_scenarios",
    "validate_scenarios",
]

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "scripts_library" / "scenarios"
END = "end"
LANGS: tuple[str, ...] = ("zh", "en")
MIN_TURNS, MAX_TURNS = 3, 6

# Stable category ids (docs/CONVENTIONS.md); kept here so the engine has no
# import-time dependency on the script library.
CATEGORIES: frozenset[str] = frozenset(
    {
        "objection.fee_too_high", "objection.return_too_low", "objection.fear_of_loss",
        "objection.past_loss", "objection.think_it_over", "objection.ask_family",
        "objection.no_money", "objection.other_bank_better", "objection.liquidity",
        "objection.no_time", "objection.distrust_sales", "objection.already_have",
        "objection.prefer_deposit", "objection.market_timing", "opening.phone_call",
        "opening.invitation", "discovery.spin", "pitch.fab", "pitch.numbers",
        "signals.buying", "closing", "followup.post_sale", "followup.new_account",
        "crosssell", "referral.handoff", "complaint", "greeting.holiday",
    }
)

GOALS: frozenset[str] = frozenset(
    {
        "book_meeting", "sell_savings_plan", "renew_maturing", "cross_sell_card",
        "sell_fund", "sell_insurance", "upgrade_tier", "win_back", "open_online_banking",
    }
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(_Model):
    """One line in Simplified Chinese and English (both required by the validator)."""

    zh: str = ""
    en: str = ""

    def get(self, lang: str) -> str:
        """The text in ``lang``; falls back to the other language when empty."""
        primary = self.en if lang == "en" else self.zh
        return primary or self.zh or self.en


class Persona(_Model):
    name: Text
    age: int = Field(ge=16, le=100)
    situation: Text


class Branch(_Model):
    """Where a reply of one grade leads: a turn id or ``end``, optionally with a reaction."""

    next: str
    reaction: Text | None = None


def _as_branch(value: Any) -> Any:
    # YAML shorthand: ``good: t2`` means ``good: {next: t2}``
    return {"next": value} if isinstance(value, str) else value


class Branches(_Model):
    good: Branch
    weak: Branch
    non_compliant: Branch

    @field_validator("good", "weak", "non_compliant", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _as_branch(value)

    def items(self) -> list[tuple[str, Branch]]:
        return [("good", self.good), ("weak", self.weak), ("non_compliant", self.non_compliant)]


class Turn(_Model):
    """One customer line; ``end: true`` turns close the session with that line."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    category: str
    customer: Text
    branches: Branches | None = None
    end: bool = False
    outcome: Literal["success", "lost"] = "success"
    model_answer: Text | None = None


class Scenario(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: Text
    persona: Persona
    goal: str
    difficulty: int = Field(ge=1, le=3)
    requires_risk_disclosure: bool = False
    recommended_for: list[str] = Field(default_factory=list)
    start: str | None = None
    turns: list[Turn]
    source_file: str | None = None

    @property
    def start_id(self) -> str:
        return self.start or (self.turns[0].id if self.turns else END)

    def turn(self, turn_id: str) -> Turn:
        for turn in self.turns:
            if turn.id == turn_id:
                return turn
        raise KeyError(f"{self.id}: no turn {turn_id!r}")

    def categories(self) -> set[str]:
        """Every category the scenario trains (its turns and ``recommended_for``)."""
        return {t.category for t in self.turns} | set(self.recommended_for)


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding, printed as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ScenarioError(ValueError):
    """Raised by :func:`load_scenarios` when the shipped scenarios do not validate."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---------------------------------------------------------------- loading


def load_scenarios(root: Path | str | None = None) -> dict[str, Scenario]:
    """Load every ``*.yaml`` scenario under ``root`` (default: the shipped ones), by id.

    Raises :class:`ScenarioError` listing every problem when anything is wrong.
    """
    if root is None:
        return dict(_load_default())
    return _load(Path(root))


@lru_cache(maxsize=1)
def _load_default() -> tuple[tuple[str, Scenario], ...]:
    return tuple(_load(DEFAULT_ROOT).items())


def _load(root: Path) -> dict[str, Scenario]:
    scenarios, problems = _parse_all(root)
    if problems:
        raise ScenarioError(problems)
    return {s.id: s for s in scenarios}


def validate_scenarios(root: Path | str | None = None) -> list[Problem]:
    """Every problem in the scenarios under ``root``; an empty list means all is well."""
    return _parse_all(Path(root) if root is not None else DEFAULT_ROOT)[1]


def _parse_all(root: Path) -> tuple[list[Scenario], list[Problem]]:
    problems: list[Problem] = []
    scenarios: list[Scenario] = []
    files = sorted(root.glob("*.yaml")) if root.is_dir() else []
    if not files:
        problems.append(Problem(str(root), 0, "no scenario files (*.yaml) found"))
    seen: dict[str, str] = {}
    for path in files:
        scenario, found = _parse_file(path)
        problems += found
        if scenario is None:
            continue
        if scenario.id in seen:
            problems.append(Problem(str(path), 1, f"duplicate scenario id {scenario.id!r} "
                                                  f"(also in {seen[scenario.id]})"))
            continue
        seen[scenario.id] = str(path)
        scenarios.append(scenario)
    return scenarios, problems


def _parse_file(path: Path) -> tuple[Scenario | None, list[Problem]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, 0, f"cannot read file: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(name, (mark.line + 1) if mark else 0, f"invalid YAML: {exc}")]
    lines = _line_map(node)
    if not isinstance(data, dict):
        return None, [Problem(name, 1, "a scenario file must be a mapping")]
    try:
        scenario = Scenario.model_validate({**data, "source_file": name})
    except ValidationError as exc:
        return None, [_pydantic_problem(name, lines, err) for err in exc.errors()]
    return scenario, [Problem(name, line, msg) for line, msg in _check(scenario, data, lines)]


def _line_map(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each key path (``("turns", 2, "customer")``) to its 1-based line."""
    out: dict[tuple[Any, ...], int] = {}
    if node is None:
        return out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            out.update(_line_map(value, sub))
            out[sub] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(_line_map(item, (*path, i)))
    return out


def _line(lines: dict[tuple[Any, ...], int], path: Iterable[Any]) -> int:
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _pydantic_problem(name: str, lines: dict[tuple[Any, ...], int], err: Any) -> Problem:
    loc = tuple(err.get("loc", ()))
    where = ".".join(str(p) for p in loc) or "scenario"
    return Problem(name, _line(lines, loc), f"{where}: {err.get('msg', 'invalid')}")


# ---------------------------------------------------------------- semantic checks


def _check(
    scenario: Scenario, data: dict[str, Any], lines: dict[tuple[Any, ...], int]
) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    found += _check_header(scenario, lines)
    found += _check_turns(scenario, lines)
    if not any(msg.startswith("duplicate turn id") for _, msg in found):
        found += _check_graph(scenario, lines)
    return found


def _missing_langs(text: Text | None) -> list[str]:
    if text is None:
        return list(LANGS)
    return [lang for lang in LANGS if not getattr(text, lang)]


def _check_header(s: Scenario, lines: dict[tuple[Any, ...], int]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for field, text in (("title", s.title), ("persona.name", s.persona.name),
                        ("persona.situation", s.persona.situation)):
        for lang in _missing_langs(text):
            found.append((_line(lines, field.split(".")), f"{field}: missing {lang} text"))
    if s.goal not in GOALS:
        found.append((_line(lines, ["goal"]), f"unknown goal {s.goal!r}"))
    for i, cat in enumerate(s.recommended_for):
        if cat not in CATEGORIES:
            found.append((_line(lines, ["recommended_for", i]), f"unknown category {cat!r}"))
    if not MIN_TURNS <= len(s.turns) <= MAX_TURNS:
        found.append((_line(lines, ["turns"]),
                      f"{len(s.turns)} turns; a scenario needs {MIN_TURNS}-{MAX_TURNS}"))
    return found


def _check_turns(s: Scenario, lines: dict[tuple[Any, ...], int]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    ids: set[str] = set()
    for i, turn in enumerate(s.turns):
        at = ("turns", i)
        if turn.id in ids or turn.id == END:
            found.append((_line(lines, at), f"duplicate turn id {turn.id!r}"))
        ids.add(turn.id)
        if turn.category not in CATEGORIES:
            found.append((_line(lines, (*at, "category")),
                          f"turn {turn.id}: unknown category {turn.category!r}"))
        for lang in _missing_langs(turn.customer):
            found.append((_line(lines, (*at, "customer")),
                          f"turn {turn.id}: customer line missing {lang} text"))
        if turn.model_answer is not None:
            for lang in _missing_langs(turn.model_answer):
                found.append((_line(lines, (*at, "model_answer")),
                              f"turn {turn.id}: model answer missing {lang} text"))
        found += _check_branches(turn, at, lines)
    return found


def _check_branches(
    turn: Turn, at: tuple[Any, ...], lines: dict[tuple[Any, ...], int]
) -> list[tuple[int, str]]:
    if turn.end:
        if turn.branches is not None:
            return [(_line(lines, (*at, "branches")),
                     f"turn {turn.id}: an end turn cannot have branches")]
        return []
    if turn.branches is None:
        return [(_line(lines, at), f"turn {turn.id}: needs branches (or end: true)")]
    found: list[tuple[int, str]] = []
    nc = turn.branches.non_compliant
    if nc.reaction is None:
        found.append((_line(lines, (*at, "branches", "non_compliant")),
                      f"turn {turn.id}: non_compliant branch needs a customer reaction"))
    for grade, branch in turn.branches.items():
        if branch.reaction is not None:
            for lang in _missing_langs(branch.reaction):
                found.append((_line(lines, (*at, "branches", grade, "reaction")),
                              f"turn {turn.id}: {grade} reaction missing {lang} text"))
    return found


def _edges(s: Scenario) -> dict[str, list[tuple[str, str]]]:
    """turn id → [(grade, target)] for every non-end turn."""
    return {
        t.id: [(grade, b.next) for grade, b in t.branches.items()]
        for t in s.turns
        if not t.end and t.branches is not None
    }


def _check_graph(s: Scenario, lines: dict[tuple[Any, ...], int]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    index = {t.id: i for i, t in enumerate(s.turns)}
    edges = _edges(s)
    if s.start is not None and s.start not in index:
        found.append((_line(lines, ["start"]), f"start turn {s.start!r} does not exist"))
        return found
    for tid, outs in edges.items():
        for grade, target in outs:
            if target != END and target not in index:
                found.append((_line(lines, ("turns", index[tid], "branches", grade)),
                              f"turn {tid}: {grade} branch leads to unknown turn {target!r}"))
    if found:
        return found
    reachable = _reachable(s.start_id, edges)
    for t in s.turns:
        if t.id not in reachable:
            found.append((_line(lines, ("turns", index[t.id])), f"turn {t.id} is unreachable"))
    exits = _can_exit(s, edges)
    for tid in sorted(reachable - exits, key=index.__getitem__):
        found.append((_line(lines, ("turns", index[tid])),
                      f"turn {tid} is in a cycle with no way to end"))
    if not found and not _good_path_ends(s, edges):
        found.append((_line(lines, ["turns"]),
                      "following only good branches never reaches a successful end"))
    return found


def _reachable(start: str, edges: dict[str, list[tuple[str, str]]]) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        tid = stack.pop()
        if tid == END or tid in seen:
            continue
        seen.add(tid)
        stack += [target for _, target in edges.get(tid, [])]
    return seen


def _can_exit(s: Scenario, edges: dict[str, list[tuple[str, str]]]) -> set[str]:
    """Turns from which some path reaches an end turn or ``end``."""
    ok = {t.id for t in s.turns if t.end}
    changed = True
    while changed:
        changed = False
        for tid, outs in edges.items():
            if tid not in ok and any(t == END or t in ok for _, t in outs):
                ok.add(tid)
                changed = True
    return ok


def _good_path_ends(s: Scenario, edges: dict[str, list[tuple[str, str]]]) -> bool:
    tid, seen = s.start_id, set()
    while tid != END and tid not in seen:
        seen.add(tid)
        turn = s.turn(tid)
        if turn.end:
            return turn.outcome == "success"
        tid = dict(edges[tid])["good"]
    return tid == END
