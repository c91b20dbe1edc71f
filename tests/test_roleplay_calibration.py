"""The role-play scorer against hand-labelled replies, scenario validation and the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from coach.roleplay.scenario import load_scenarios, validate_scenarios
from coach.roleplay.scoring import score_reply

DATA = Path(__file__).parent / "data" / "roleplay_labels.yaml"
BLOCKS = yaml.safe_load(DATA.read_text(encoding="utf-8"))
RANKED = ("good", "fair", "poor")


def _score(block: dict, reply: str):  # type: ignore[no-untyped-def,type-arg]
    return score_reply(reply, category=block["category"], customer_line=block["customer"],
                       customer_name=block["name"],
                       requires_risk_disclosure=block.get("risk_disclosure", True),
                       lang="en" if reply.isascii() else "zh")


def test_labelled_set_is_big_enough() -> None:
    replies = [r for b in BLOCKS for rs in b["replies"].values() for r in rs]
    assert len(replies) >= 60 and len(BLOCKS) >= 7
    assert sum(len(b["replies"]["non_compliant"]) for b in BLOCKS) >= 12
    assert sum(r.isascii() for r in replies) >= 12


def test_good_ranks_above_fair_above_poor() -> None:
    pairs = ordered = 0
    for block in BLOCKS:
        scores = {label: [_score(block, r).score for r in block["replies"][label]]
                  for label in RANKED}
        for higher, lower in itertools.combinations(RANKED, 2):
            for a, b in itertools.product(scores[higher], scores[lower]):
                pairs += 1
                ordered += a > b
    assert ordered / pairs >= 0.85, f"{ordered}/{pairs}"


def test_every_non_compliant_reply_is_caught_and_no_good_one_is() -> None:
    for block in BLOCKS:
        for reply in block["replies"]["non_compliant"]:
            verdict = _score(block, reply)
            assert verdict.score <= 20 and verdict.compliance, reply
        for reply in block["replies"]["good"]:
            assert _score(block, reply).compliance == [], reply


def test_shipped_scenarios_validate() -> None:
    assert validate_scenarios() == []
    scenarios = load_scenarios()
    assert len(scenarios) >= 12
    assert {s.difficulty for s in scenarios.values()} == {1, 2, 3}
    assert all(3 <= len(s.turns) <= 6 for s in scenarios.values())


def test_broken_scenarios_are_reported(tmp_path: Path) -> None:
    source = next(Path(load_scenarios()["retiree_fixed_deposits"].source_file or "").parent
                  .glob("retiree_fixed_deposits.yaml"), None)
    assert source is not None
    text = source.read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    first_turn = yaml.safe_load(text)["turns"][0]["category"]
    broken.write_text(text.replace(first_turn, "objection.not_a_category", 1),
                      encoding="utf-8")
    problems = [str(p) for p in validate_scenarios(tmp_path)]
    assert any("objection.not_a_category" in p for p in problems), problems


def test_cli_scores_one_reply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["practice", "score", "objection.fee_too_high",
                 "这个产品保本保收益，稳赚不赔", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["score"] <= 20 and "guaranteed_return" in data["compliance"]
    assert set(data["checks"]) >= {"restate", "acknowledge", "answer_fact", "advance"}
