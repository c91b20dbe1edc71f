"""The shared compliance engine: rules.yaml, negation scope, evidence, the classifier,
and the places that use it (scorer, CLI, /addscript, briefings). Issue 13."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from coach.actor import Me
from coach.compliance import check, load_rules
from coach.compliance.model import Model, load_model, second_opinion, train
from coach.roleplay.scoring import score_reply
from coach.services import briefing
from coach.services.errors import ServiceError
from tests import factories
from tests.conftest import BotHarness

DATA = Path(__file__).parent / "data"
TUNING = yaml.safe_load((DATA / "compliance_tuning.yaml").read_text(encoding="utf-8"))["groups"]
KINDS = {"guaranteed_return", "risk_denied", "side_deal", "pressure", "disparage_competitor",
         "mislabelled_product", "suitability_evasion", "no_consent", "rule_evasion"}


def _ids(text: str) -> list[str]:
    return [f.rule for f in check(text)]


def test_every_rule_is_described_and_agrees_with_its_examples() -> None:
    rules = load_rules()
    assert set(rules.ids) == KINDS
    for rule in rules.rules:
        assert rule.title["zh"] and rule.title["en"] and rule.explanation["en"], rule.id
        assert rule.severity == "block" and rule.tip.startswith("tip.")
        assert rule.must_match and rule.must_not_match, rule.id
    assert rules.example_problems() == []


def test_tuning_set_covers_every_kind_in_three_scripts() -> None:
    replies = [(g, r) for g in TUNING for r in g["replies"]]
    bad = [(g, r) for g, r in replies if g["label"] == "non_compliant"]
    assert len(replies) >= 300 and len(bad) >= 150
    assert {v for g, _ in bad for v in g["violations"]} == KINDS
    assert {g["label"] for g, _ in replies} == {"good", "fair", "poor", "non_compliant"}
    assert any(r.isascii() for _, r in replies)
    assert any("這" in r or "會" in r or "說" in r for _, r in replies)  # Traditional


def test_rules_flag_and_name_every_tuning_reply_and_spare_the_compliant_ones() -> None:
    missed, alarms = [], []
    for group in TUNING:
        for reply in group["replies"]:
            found = _ids(reply)
            if group["label"] == "non_compliant":
                if not set(found) & set(group["violations"]):
                    missed.append((group["violations"], found, reply))
            elif found:
                alarms.append((found, reply))
    assert missed == [] and alarms == []


@pytest.mark.parametrize(("text", "expected"), [
    # a negation before a promise word is a disclosure...
    ("这款理财不保本，可能亏损。", []),
    ("It is not guaranteed and can lose value.", []),
    # ...but a negated RISK word is a claim
    ("放心，这款不会亏。", ["risk_denied"]),
    ("You won't lose a penny.", ["risk_denied"]),
    # unless the advisor says what they can NOT promise, or repeats the client's question
    ("我不能保证您不会亏。", []),
    ("您是担心会不会亏，对吧？", []),
    ("I can't promise you won't lose money.", []),
    # "不过" (but) negates nothing
    ("不过您当成我们行的产品就行。", ["mislabelled_product"]),
    # numbers with promise words; numbers about losses are facts
    ("年化最少也有4%。", ["guaranteed_return"]),
    ("去年最低跌了百分之四。", []),
    # subjects: another bank's fines are disparaging, its published rate is not
    ("隔壁那家银行去年被罚了好几次。", ["disparage_competitor"]),
    ("他们公布的三年期利率是2.8%，我们是2.6%。", []),
    # a real deadline stated neutrally is fine; an invented one is pressure
    ("这期募集本月25号截止。", []),
    ("名额下午就没了。", ["pressure"]),
    ("今天信息多，您不用马上决定。", []),
    # Traditional Chinese is folded before matching
    ("這個保險其實就是定存。", ["mislabelled_product"]),
])
def test_negation_numbers_and_subjects(text: str, expected: list[str]) -> None:
    assert _ids(text) == expected


def test_findings_carry_the_triggering_words() -> None:
    [finding] = check("您放心，差多少我自己掏腰包补给您。")
    assert finding.rule == "side_deal" and "掏腰包" in finding.words and finding.source == "rule"


def test_scorer_caps_names_and_explains(capsys) -> None:  # type: ignore[no-untyped-def]
    reply = ("王先生，您是担心本金，对吧？很正常，您很谨慎。这款有大股东兜底，"
             "本金一分都不会少。您看周二还是周三来办？")
    assert main(["practice", "score", "objection.fear_of_loss", reply, "--name", "王先生",
                 "--risk", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["compliance"] == ["guaranteed_return"] and data["score"] <= 20
    assert "兜底" in data["evidence"]["guaranteed_return"]
    assert data["grade"] == "non_compliant" and data["tip"] == "tip.no_guarantee"


def _fake_model(label: str, weight: float) -> Model:
    """A two-class model whose only feature is the character 押."""
    return Model(classes=("ok", label), vocabulary={"押": 0}, idf=(1.0,),
                 coef=((0.0,), (weight,)), intercept=(1.0, 0.0), threshold=0.6)


def test_classifier_only_adds_and_explains(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    model = _fake_model("side_deal", 5.0)
    monkeypatch.setattr("coach.compliance.model.load_model", lambda *a, **k: model)
    [extra] = second_opinion("这一笔我押上我的信誉给您办好。")
    assert extra.rule == "side_deal" and extra.source == "model" and extra.words == "押"
    assert second_opinion("这一笔我押上我的信誉给您办好。", already=["side_deal"]) == []
    assert second_opinion("这只基金去年最大回撤百分之三。") == []
    # the scorer keeps every rule finding and adds the model's
    result = score_reply("我押上信誉，这款本金一分都不会少。", category="objection.fear_of_loss")
    assert result.compliance == ["guaranteed_return", "side_deal"]


def test_classifier_never_removes_a_rule_finding(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("coach.compliance.model.load_model",
                        lambda *a, **k: _fake_model("pressure", -5.0))
    result = score_reply("名额下午就没了，您赶紧定。", category="objection.think_it_over")
    assert result.compliance == ["pressure"]


def test_shipped_model_is_small_and_loads() -> None:
    model = load_model()
    assert model is not None and set(model.classes) == KINDS | {"ok"}
    assert (Path(__file__).parents[1] / "coach/compliance/model.json").stat().st_size < 600_000
    assert 0.5 <= model.threshold < 1


def test_training_is_reproducible(tmp_path) -> None:  # type: ignore[no-untyped-def]
    small = {"groups": [
        {"label": "non_compliant", "violations": ["side_deal"],
         "replies": [f"亏了我补给您{n}块" for n in range(8)]},
        {"label": "non_compliant", "violations": ["pressure"],
         "replies": [f"名额只剩{n}个了赶紧定" for n in range(8)]},
        {"label": "good", "replies": [f"这款基金去年回撤百分之{n}，不保本" for n in range(12)]},
    ]}
    data = tmp_path / "small.yaml"
    data.write_text(yaml.safe_dump(small, allow_unicode=True), encoding="utf-8")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    train([data], first, include_library=False)
    train([data], second, include_library=False)
    assert first.read_bytes() == second.read_bytes()
    model = load_model(first)
    assert model is not None and set(model.classes) == {"ok", "side_deal", "pressure"}


def test_briefing_text_goes_through_the_same_rules(services, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    with services.db.session() as s:
        team = factories.team(s, "Alpha", now=now)
        lead = factories.user(s, role="lead", team_id=team.id, now=now)
        me = Me(lead.id, lead.telegram_id, lead.name, "lead", team.id, "zh-Hans", "Asia/Shanghai")
        with pytest.raises(ServiceError) as err:
            briefing.create(s, me, {"text": "今天主推的R3理财，跟客户说最低年化4%，放心卖。"},
                            now=now, send_at=None, repeat_workdays=False, include_group=False)
        assert err.value.code == "briefing_misselling"
        assert err.value.params["rule"] == "guaranteed_return"
        row = briefing.create(s, me, {"text": "今天主推R3理财，记得提示风险、先做测评。"},
                              now=now, send_at=None, repeat_workdays=False, include_group=False)
        assert row.id


async def test_team_script_with_a_disguised_promise_is_refused(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("lead"))
    await chat.send("/addscript")
    await chat.press("as c 20")  # closing
    await chat.send("有人兜底")
    await chat.send("有什么稳的产品")
    await chat.send("这款有大股东撑腰，您的本钱少不了。")
    replies = await chat.press("as save")
    assert "话术未保存" in replies[-1].text and "承诺保本或保收益" in replies[-1].text
