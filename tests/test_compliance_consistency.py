"""The scorer agrees with the library and the scenarios (issue 13, consistency).

Every objection script of the library, read word for word as a reply to its own
category, is graded "good" and nothing is flagged; every scenario model answer
scores at least 85 the way a practice session scores it. Helpers rewrite library
scripts in parallel, so these tests read whatever the library holds today.
"""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from coach.roleplay.engine import _model_answers
from coach.roleplay.model_answers import library_model_answers, script_text
from coach.roleplay.scenario import load_scenarios
from coach.roleplay.scoring import score_reply
from scripts_library.loader import load_library

OBJECTIONS = [s for s in load_library().scripts if s.category.startswith("objection.")]
READINGS = [(s, lang) for s in OBJECTIONS for lang in ("zh", "en") if lang == "zh" or s.en]


def test_there_are_scripts_to_read() -> None:
    assert len(OBJECTIONS) >= 60 and len(READINGS) >= 100


@pytest.mark.parametrize(("script", "lang"), READINGS, ids=[f"{s.id}-{lg}" for s, lg in READINGS])
def test_library_script_read_as_a_reply_is_good_and_clean(script, lang) -> None:  # type: ignore[no-untyped-def]
    text = script_text(script, lang)
    result = score_reply(text, category=script.category, customer_line=script.triggers[0],
                         requires_risk_disclosure=True, lang=lang,
                         model_answers=library_model_answers(script.category, lang))
    assert result.compliance == [], (result.compliance, result.evidence)
    assert result.grade == "good", (result.score, result.checks)


def test_cli_grades_a_library_script_good(capsys) -> None:  # type: ignore[no-untyped-def]
    script = next(s for s in OBJECTIONS if s.category == "objection.fee_too_high")
    assert main(["practice", "score", script.category, script_text(script, "zh"), "--risk",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["grade"] == "good" and data["compliance"] == []


TURNS = [(s, t, lang) for s in load_scenarios().values() for t in s.turns
         if t.model_answer is not None for lang in ("zh", "en")]


@pytest.mark.parametrize(("scenario", "turn", "lang"), TURNS,
                         ids=[f"{s.id}-{t.id}-{lg}" for s, t, lg in TURNS])
def test_scenario_model_answer_scores_at_least_85(scenario, turn, lang) -> None:  # type: ignore[no-untyped-def]
    result = score_reply(
        turn.model_answer.get(lang), category=turn.category,
        customer_line=turn.customer.get(lang), customer_name=scenario.persona.name.get(lang),
        requires_risk_disclosure=scenario.requires_risk_disclosure, lang=lang,
        model_answers=_model_answers(turn, lang, library_model_answers),
    )
    assert result.compliance == [] and result.score >= 85, (result.score, result.checks)


def test_a_library_script_with_a_promise_added_is_still_flagged() -> None:
    script = next(s for s in OBJECTIONS if s.category == "objection.fear_of_loss")
    text = script_text(script, "zh") + "这款是总行兜底的，您的本金一分都不会少。"
    result = score_reply(text, category=script.category, lang="zh",
                         model_answers=library_model_answers(script.category, "zh"))
    assert result.compliance and result.score <= 20 and result.grade == "non_compliant"
