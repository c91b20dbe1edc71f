"""Role-play scenarios and session engine: validation, branching, resume, expiry, summary."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coach.clock import FixedClock
from coach.roleplay import (
    CATEGORIES,
    Scenario,
    ScenarioError,
    SessionFinished,
    SessionState,
    answer,
    close,
    current_line,
    is_expired,
    load_scenarios,
    one_turn_drill,
    start,
    summary,
    validate_scenarios,
)
from coach.roleplay.engine import MAX_VISITS, suggest_next
from coach.roleplay.scenario import MAX_TURNS, MIN_TURNS
from coach.roleplay.scoring import TurnScore, score_reply

SCENARIOS = load_scenarios()
RETIREE = SCENARIOS["retiree_fixed_deposits"]


def no_library(_category: str, _lang: str) -> tuple[str, ...]:
    return ()


def scripted(*grades: str) -> Any:
    """A scorer that hands out the given grades in order (score 90/40/10)."""
    queue: Iterator[str] = iter(grades)

    def scorer(reply: str, **_kwargs: Any) -> TurnScore:
        grade = next(queue)
        score = {"good": 90, "weak": 40, "non_compliant": 10}[grade]
        compliance = ["guaranteed_return"] if grade == "non_compliant" else []
        checks = {"restate": grade == "good", "advance": grade != "weak"}
        return TurnScore(score, checks, compliance, "tip.well_done", grade)

    return scorer


# ---------------------------------------------------------------- shipped content


def test_shipped_scenarios_validate() -> None:
    assert validate_scenarios() == []


def test_there_are_at_least_twelve_varied_scenarios() -> None:
    assert len(SCENARIOS) >= 12
    assert {s.difficulty for s in SCENARIOS.values()} == {1, 2, 3}
    assert len({s.goal for s in SCENARIOS.values()}) >= 6
    for s in SCENARIOS.values():
        assert MIN_TURNS <= len(s.turns) <= MAX_TURNS
        assert s.persona.name.zh and s.persona.name.en
        assert s.recommended_for and set(s.recommended_for) <= CATEGORIES


def test_every_model_answer_scores_good_and_compliant() -> None:
    for s in SCENARIOS.values():
        for turn in s.turns:
            if turn.model_answer is None:
                continue
            for lang in ("zh", "en"):
                result = score_reply(
                    turn.model_answer.get(lang), category=turn.category,
                    customer_line=turn.customer.get(lang),
                    customer_name=s.persona.name.get(lang),
                    requires_risk_disclosure=s.requires_risk_disclosure, lang=lang,
                )
                assert result.grade == "good", (s.id, turn.id, lang, result)


def test_every_answerable_turn_has_a_model_answer() -> None:
    for s in SCENARIOS.values():
        for turn in s.turns:
            assert turn.end or turn.model_answer is not None, (s.id, turn.id)


# ---------------------------------------------------------------- validator


GOOD_YAML = """\
id: tiny
title: {zh: 小测试, en: Tiny test}
persona:
  name: {zh: 王先生, en: Mr Wang}
  age: 40
  situation: {zh: 测试用, en: For tests}
goal: book_meeting
difficulty: 1
recommended_for: [objection.no_time]
turns:
  - id: t1
    category: objection.no_time
    customer: {zh: 我很忙, en: "I am busy"}
    branches:
      good: t2
      weak: t2
      non_compliant:
        next: end
        reaction: {zh: 再见, en: Bye}
  - id: t2
    category: signals.buying
    customer: {zh: "怎么办理？", en: "How do I sign up?"}
    branches:
      good: won
      weak: t2
      non_compliant:
        next: end
        reaction: {zh: 再见, en: Bye}
  - id: won
    end: true
    category: closing
    customer: {zh: 好的, en: Okay}
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def _messages(tmp_path: Path, text: str) -> list[str]:
    return [p.message for p in validate_scenarios(_write(tmp_path, text))]


def test_a_small_valid_scenario_passes(tmp_path: Path) -> None:
    assert validate_scenarios(_write(tmp_path, GOOD_YAML)) == []
    assert set(load_scenarios(tmp_path)) == {"tiny"}


def test_unknown_turn_id_is_reported_with_its_line(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("good: won", "good: wonn")
    problems = validate_scenarios(_write(tmp_path, text))
    assert len(problems) == 1
    problem = problems[0]
    assert "unknown turn 'wonn'" in problem.message
    lines = text.splitlines()
    assert lines[problem.line - 1].strip() == "good: wonn"
    assert str(problem) == f"{problem.file}:{problem.line}: {problem.message}"


def test_unreachable_turn_is_reported(tmp_path: Path) -> None:
    extra = GOOD_YAML + """\
  - id: orphan
    category: objection.no_time
    customer: {zh: 没人到这里, en: Nobody gets here}
    branches: {good: won, weak: won, non_compliant: {next: end, reaction: {zh: 嗯, en: Hm}}}
"""
    assert any("orphan is unreachable" in m for m in _messages(tmp_path, extra))


def test_cycle_without_exit_is_reported(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("good: won", "good: t1").replace(
        "      non_compliant:\n        next: end\n        reaction: {zh: 再见, en: Bye}\n  - id: won",
        "      non_compliant:\n        next: t1\n        reaction: {zh: 再见, en: Bye}\n  - id: won",
    )
    text = text.replace(
        "    branches:\n      good: t2\n      weak: t2\n      non_compliant:\n        next: end",
        "    branches:\n      good: t2\n      weak: t2\n      non_compliant:\n        next: t2",
    )
    messages = _messages(tmp_path, text)
    assert any("cycle with no way to end" in m for m in messages), messages


def test_good_path_must_reach_a_successful_end(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("good: won\n      weak: t2", "good: t1\n      weak: won")
    messages = _messages(tmp_path, text)
    assert any("never reaches a successful end" in m for m in messages), messages


def test_unknown_category_and_missing_language_are_reported(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("category: signals.buying", "category: objection.too_pricey")
    text = text.replace('customer: {zh: 我很忙, en: "I am busy"}', "customer: {zh: 我很忙}")
    messages = _messages(tmp_path, text)
    assert any("unknown category 'objection.too_pricey'" in m for m in messages)
    assert any("customer line missing en text" in m for m in messages)


def test_turn_count_outside_three_to_six_is_reported(tmp_path: Path) -> None:
    head, _, _ = GOOD_YAML.partition("  - id: t2")
    text = head.replace("good: t2\n      weak: t2", "good: end\n      weak: end")
    messages = _messages(tmp_path, text)
    assert any("1 turns; a scenario needs 3-6" in m for m in messages), messages


def test_non_compliant_branch_needs_a_reaction(tmp_path: Path) -> None:
    text = GOOD_YAML.replace(
        "      non_compliant:\n        next: end\n        reaction: {zh: 再见, en: Bye}\n  - id: t2",
        "      non_compliant: end\n  - id: t2",
    )
    assert any("needs a customer reaction" in m for m in _messages(tmp_path, text))


def test_schema_and_yaml_errors_are_reported(tmp_path: Path) -> None:
    assert any("difficulty" in m for m in _messages(tmp_path, GOOD_YAML.replace(
        "difficulty: 1", "difficulty: 7")))
    broken = tmp_path / "broken"
    broken.mkdir()
    problems = validate_scenarios(_write(broken, "id: [unclosed\n"))
    assert problems and "invalid YAML" in problems[0].message


def test_loader_raises_on_problems(tmp_path: Path) -> None:
    _write(tmp_path, GOOD_YAML.replace("good: won", "good: nowhere"))
    with pytest.raises(ScenarioError) as err:
        load_scenarios(tmp_path)
    assert "nowhere" in str(err.value)


# ---------------------------------------------------------------- engine


def test_start_shows_the_first_customer_line() -> None:
    state = start(RETIREE, clock=FixedClock())
    assert state.current_turn == "t1"
    assert current_line(state, RETIREE) == RETIREE.turn("t1").customer.zh
    assert current_line(start(RETIREE, lang="en"), RETIREE) == RETIREE.turn("t1").customer.en


def test_good_answers_walk_to_the_successful_end() -> None:
    state = start(RETIREE, clock=FixedClock())
    seen = []
    scorer = scripted("good", "good", "good")
    while not state.finished:
        seen.append(state.current_turn)
        result = answer(state, "…", scorer, scenario=RETIREE, model_answers=no_library)
        state = result.state
    assert seen == ["t1", "t2", "t3"]
    assert state.outcome == "success"
    assert result.customer_line == RETIREE.turn("won").customer.zh


def test_weak_answer_hardens_then_loses() -> None:
    state = start(RETIREE)
    first = answer(state, "…", scripted("weak"), scenario=RETIREE, model_answers=no_library)
    assert first.state.current_turn == "t1_firm"
    assert first.customer_line == RETIREE.turn("t1_firm").customer.zh
    second = answer(first.state, "…", scripted("weak"), scenario=RETIREE,
                    model_answers=no_library)
    assert second.finished and second.outcome == "lost"
    assert second.customer_line == RETIREE.turn("lost").customer.zh


def test_non_compliant_answer_gets_the_customer_reaction() -> None:
    state = start(RETIREE)
    result = answer(state, "…", scripted("non_compliant"), scenario=RETIREE,
                    model_answers=no_library)
    assert result.reaction == RETIREE.turn("t1").branches.non_compliant.reaction.zh  # type: ignore[union-attr]
    assert result.state.current_turn == "t1_firm"
    assert result.state.records[0].compliance == ["guaranteed_return"]


def test_real_scorer_follows_branches_and_shows_the_model_answer() -> None:
    state = start(RETIREE)
    guarantee = "刘阿姨，这个理财跟存款一样保本，收益还更高，您放心买。"
    result = answer(state, guarantee, scenario=RETIREE, model_answers=no_library)
    assert result.score.grade == "non_compliant"
    assert result.state.current_turn == "t1_firm"
    assert result.model_answer == RETIREE.turn("t1").model_answer.zh  # type: ignore[union-attr]
    good = RETIREE.turn("t1_firm").model_answer.zh  # type: ignore[union-attr]
    result = answer(result.state, good, scenario=RETIREE, model_answers=no_library)
    assert result.score.grade == "good" and result.state.current_turn == "t2"


def test_library_answers_are_appended_to_the_turns_own() -> None:
    def library(category: str, lang: str) -> tuple[str, ...]:
        return (f"library answer for {category}",)

    result = answer(start(RETIREE), "…", scripted("good"), scenario=RETIREE,
                    model_answers=library)
    assert result.model_answer == RETIREE.turn("t1").model_answer.zh  # type: ignore[union-attr]


def test_customer_loses_patience_after_repeated_weak_answers() -> None:
    state = start(RETIREE)
    state = answer(state, "…", scripted("good"), scenario=RETIREE,
                   model_answers=no_library).state
    assert state.current_turn == "t2"
    for _ in range(MAX_VISITS - 1):  # t2 loops back to itself on a weak answer
        result = answer(state, "…", scripted("weak"), scenario=RETIREE, model_answers=no_library)
        state = result.state
        assert state.current_turn == "t2" and result.reaction
    result = answer(state, "…", scripted("weak"), scenario=RETIREE, model_answers=no_library)
    assert result.finished and result.outcome == "lost"


def test_answer_does_not_mutate_the_given_state() -> None:
    state = start(RETIREE)
    before = state.to_dict()
    answer(state, "…", scripted("good"), scenario=RETIREE, model_answers=no_library)
    assert state.to_dict() == before


def test_finished_session_refuses_more_answers() -> None:
    state = close(start(RETIREE))
    assert state.finished and state.outcome == "abandoned"
    with pytest.raises(SessionFinished):
        answer(state, "…", scripted("good"), scenario=RETIREE)


def test_state_round_trips_through_json_and_resumes() -> None:
    clock = FixedClock()
    state = start(RETIREE, clock=clock)
    state = answer(state, "…", scripted("good"), scenario=RETIREE, clock=clock,
                   model_answers=no_library).state
    stored = json.dumps(state.to_dict(), ensure_ascii=False)
    resumed = SessionState.from_dict(json.loads(stored))
    assert resumed == state
    straight = answer(state, "…", scripted("good"), scenario=RETIREE, clock=clock,
                      model_answers=no_library)
    again = answer(resumed, "…", scripted("good"), clock=clock, model_answers=no_library)
    assert again.state == straight.state  # resolved from the shipped scenarios by id


def test_idle_expiry() -> None:
    clock = FixedClock()
    state = start(RETIREE, clock=clock)
    assert not is_expired(state, clock.advance(minutes=29))
    assert is_expired(state, clock.advance(minutes=2))
    state = answer(state, "…", scripted("good"), scenario=RETIREE, clock=clock,
                   model_answers=no_library).state
    assert not is_expired(state, clock.advance(minutes=10))  # the reply reset the timer
    expired = close(state, outcome="expired", clock=clock)
    assert expired.outcome == "expired" and not is_expired(expired, clock.advance(hours=5))


def test_summary_picks_best_and_weakest_and_suggests_another_scenario() -> None:
    state = start(RETIREE)
    grades = scripted("good", "weak", "good", "good")
    while not state.finished:
        state = answer(state, "…", grades, scenario=RETIREE, model_answers=no_library).state
    result = summary(state, SCENARIOS)
    assert result.turns == 4 and result.outcome == "success"
    assert result.best_turn == 0
    assert result.weakest_turn == 1
    assert state.records[1].category == "objection.fear_of_loss"
    assert result.total == round((90 + 40 + 90 + 90) / 4)
    assert result.per_technique == {"restate": 75, "advance": 75}
    suggestion = result.suggested_next_scenario
    assert suggestion is not None and suggestion != RETIREE.id
    trained = SCENARIOS[suggestion].categories()
    assert "objection.fear_of_loss" in trained
    json.dumps(result.to_dict())


def test_suggestion_is_deterministic_and_never_the_same_scenario() -> None:
    for scenario in SCENARIOS.values():
        choice = suggest_next(SCENARIOS, current=scenario.id, weak_category="objection.no_time",
                              weak_technique="advance", total=40, compliance=False)
        assert choice is not None and choice != scenario.id
        again = suggest_next(SCENARIOS, current=scenario.id, weak_category="objection.no_time",
                             weak_technique="advance", total=40, compliance=False)
        assert choice == again


def test_one_turn_drill() -> None:
    clock = FixedClock()
    state = one_turn_drill("objection.fee_too_high", "手续费太高了", customer_name="王先生",
                           clock=clock)
    assert current_line(state) == "手续费太高了"
    resumed = SessionState.from_dict(json.loads(json.dumps(state.to_dict())))
    reply = ("王先生，您是觉得手续费太高了，对吧？这个顾虑很正常，您很细心。"
             "手机上申购打一折只要0.15%，对您来说每年才几十块，投资有风险。您看我把明细发您好吗？")
    result = answer(resumed, reply, model_answers=lambda c, lang: ("示范答案",), clock=clock)
    assert result.finished and result.outcome == "success"
    assert result.score.checks["uses_name"] is True
    assert result.reaction  # the customer reacts, then the drill ends
    assert result.model_answer == "示范答案"
    assert summary(result.state, SCENARIOS).suggested_next_scenario in SCENARIOS


def test_drill_requires_risk_disclosure_for_product_talk_by_default() -> None:
    state = one_turn_drill("objection.fear_of_loss", "会不会亏？")
    result = answer(state, "您放心，我推荐您买这只基金，去年涨了两成。", model_answers=no_library)
    assert "missing_risk_disclosure" in result.score.warnings
    assert result.state.records[0].compliance == ["missing_risk_disclosure"]
    assert result.outcome == "lost"


def test_scenario_lookup_helpers() -> None:
    assert isinstance(RETIREE, Scenario)
    with pytest.raises(KeyError):
        RETIREE.turn("nope")
