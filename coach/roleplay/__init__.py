"""Role-play practice: the bot plays a customer, scores the advisor, shows a model answer.

Pure domain code (no Telegram, no SQL). Public API:

- scenarios: :func:`load_scenarios`, :func:`validate_scenarios`, :class:`Scenario`
- scoring: :func:`score_reply` → :class:`TurnScore`, :func:`tip_text`
- sessions: :func:`start`, :func:`answer` → :class:`TurnResult`, :func:`summary`,
  :func:`one_turn_drill`, :func:`is_expired`, :func:`close`, :class:`SessionState`
"""

from __future__ import annotations

from coach.roleplay.engine import (
    IDLE_TIMEOUT,
    SessionFinished,
    SessionState,
    SessionSummary,
    TurnRecord,
    TurnResult,
    answer,
    close,
    current_line,
    is_expired,
    one_turn_drill,
    resolve_scenario,
    start,
    summary,
)
from coach.roleplay.scenario import (
    CATEGORIES,
    Problem,
    Scenario,
    ScenarioError,
    load_scenarios,
    validate_scenarios,
)
from coach.roleplay.scoring import CHECKS, TurnScore, score_reply, tip_text

__all__ = [
    "CATEGORIES",
    "CHECKS",
    "IDLE_TIMEOUT",
    "Problem",
    "Scenario",
    "ScenarioError",
    "SessionFinished",
    "SessionState",
    "SessionSummary",
    "TurnRecord",
    "TurnResult",
    "TurnScore",
    "answer",
    "close",
    "current_line",
    "is_expired",
    "load_scenarios",
    "one_turn_drill",
    "resolve_scenario",
    "score_reply",
    "start",
    "summary",
    "tip_text",
    "validate_scenarios",
]
