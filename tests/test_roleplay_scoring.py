"""Role-play scorer: calibration against hand-labelled replies, plus one test per check."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from coach.roleplay.cues import load_cues
from coach.roleplay.scoring import CHECKS, TurnScore, name_variants, score_reply, tip_text

CALIBRATION = Path(__file__).parent / "data" / "roleplay_calibration.yaml"
RANK = {"good": 3, "fair": 2, "poor": 1}
# measured on the calibration set: 117 of 120 cross-label pairs ranked right
PAIR_RANKING_FLOOR = 0.975


def _items() -> list[dict[str, Any]]:
    data = yaml.safe_load(CALIBRATION.read_text(encoding="utf-8"))
    items = []
    for group in data["groups"]:
        for reply in group["replies"]:
            lang = reply.get("lang", "zh")
            items.append({
                "category": group["category"],
                "customer_line": group["customer_line"][lang],
                "customer_name": group["customer_name"][lang],
                "risk": group["requires_risk_disclosure"],
                "lang": lang,
                "label": reply["label"],
                "text": reply["text"],
            })
    return items


ITEMS = _items()


def _score(item: dict[str, Any]) -> TurnScore:
    return score_reply(
        item["text"], category=item["category"], customer_line=item["customer_line"],
        customer_name=item["customer_name"], requires_risk_disclosure=item["risk"],
        lang=item["lang"],
    )


SCORED = [(item, _score(item)) for item in ITEMS]


# ---------------------------------------------------------------- calibration


def test_calibration_set_is_big_and_varied_enough() -> None:
    labels = [i["label"] for i in ITEMS]
    assert len(ITEMS) >= 72
    assert len({i["category"] for i in ITEMS}) >= 8
    assert labels.count("non_compliant") >= 12
    english = sum(i["lang"] == "en" for i in ITEMS) / len(ITEMS)
    assert 0.15 <= english <= 0.35


def _pair_ranking() -> tuple[int, int]:
    ok = total = 0
    by_category: dict[str, list[tuple[str, int]]] = {}
    for item, result in SCORED:
        if item["label"] in RANK:
            by_category.setdefault(item["category"], []).append((item["label"], result.score))
    for replies in by_category.values():
        for (la, sa), (lb, sb) in itertools.combinations(replies, 2):
            if RANK[la] == RANK[lb]:
                continue
            total += 1
            high, low = (sa, sb) if RANK[la] > RANK[lb] else (sb, sa)
            ok += high > low
    return ok, total


def test_scorer_ranks_good_above_fair_above_poor() -> None:
    ok, total = _pair_ranking()
    assert total >= 100
    assert ok / total >= PAIR_RANKING_FLOOR, f"{ok}/{total} pairs ranked right"


def test_every_non_compliant_reply_is_caught() -> None:
    """Mis-selling is capped and named; a reply whose only fault is a missing risk
    disclosure (not mis-selling, issue 13) carries the warning and loses points."""
    missed = [
        (item["text"], result.score, result.compliance, result.warnings)
        for item, result in SCORED
        if item["label"] == "non_compliant"
        and not (result.score <= 20 and result.compliance and result.grade == "non_compliant")
        and not (result.warnings == ["missing_risk_disclosure"]
                 and result.tip == "tip.add_risk_disclosure")
    ]
    assert missed == []


def test_no_good_reply_is_flagged_non_compliant() -> None:
    flagged = [
        (item["text"], result.compliance)
        for item, result in SCORED
        if item["label"] == "good" and result.compliance
    ]
    assert flagged == []


def test_good_replies_grade_good_and_poor_replies_do_not() -> None:
    for item, result in SCORED:
        if item["label"] == "good":
            assert result.grade == "good", item["text"]
        if item["label"] == "poor":
            assert result.grade != "good", item["text"]


# ---------------------------------------------------------------- result shape


def test_result_shape_and_determinism() -> None:
    reply = "王先生，您是觉得费用高对吧？很正常。申购费打一折只要0.15%。您看我发您明细好吗？"
    first = score_reply(reply, category="objection.fee_too_high", customer_name="王先生")
    again = score_reply(reply, category="objection.fee_too_high", customer_name="王先生")
    assert first == again
    assert 0 <= first.score <= 100
    assert set(first.checks) == set(CHECKS)
    assert first.grade in {"good", "weak", "non_compliant"}
    assert first.tip.startswith("tip.")
    assert first.to_dict()["checks"] == first.checks


def test_uses_name_is_only_checked_when_a_name_is_given() -> None:
    result = score_reply("您是担心费用高吧？很正常。", category="objection.fee_too_high")
    assert "uses_name" not in result.checks


def test_empty_reply_scores_zero() -> None:
    result = score_reply("   ", category="objection.fee_too_high")
    assert result.score == 0 and result.grade == "weak" and result.tip == "tip.concise_short"


def test_traditional_chinese_scores_like_simplified() -> None:
    simplified = "您是擔心虧本吧？這個擔心很正常。"
    assert score_reply(simplified, category="objection.fear_of_loss").score == score_reply(
        "您是担心亏本吧？这个担心很正常。", category="objection.fear_of_loss"
    ).score


# ---------------------------------------------------------------- one test per check


def _checks(reply: str, **kwargs: Any) -> dict[str, bool]:
    kwargs.setdefault("category", "objection.fee_too_high")
    return score_reply(reply, **kwargs).checks


@pytest.mark.parametrize(
    ("reply", "line", "expected"),
    [
        ("您是担心费用太高，对吧？", "", True),  # cue phrase
        ("So you're saying the fee is too high?", "", True),
        ("手续费太高这件事，我们来算一下。", "这个手续费太高了", True),  # echoes the customer
        ("我们这只基金业绩很好。", "这个手续费太高了", False),
        ("我们这只基金过去的业绩很好。其实您是担心费用吧。", "", False),  # restating belongs at the start
    ],
)
def test_restate(reply: str, line: str, expected: bool) -> None:
    assert _checks(reply, customer_line=line)["restate"] is expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("这个顾虑很正常。", True),
        ("您说得对，确实不便宜。", True),
        ("That makes sense, many clients ask that.", True),
        ("我理解您的意思是费用高。", False),  # a restatement, not an acknowledgement
        ("费用是1.2%。", False),
    ],
)
def test_acknowledge(reply: str, expected: bool) -> None:
    assert _checks(reply)["acknowledge"] is expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("您很谨慎，这是好事。", True),
        ("您考虑得很周到。", True),
        ("看得出您很有经验。", True),
        ("Good question.", True),
        ("费用是1.2%。", False),
    ],
)
def test_compliment(reply: str, expected: bool) -> None:
    assert _checks(reply)["compliment"] is expected


@pytest.mark.parametrize(
    ("reply", "line", "expected"),
    [
        ("申购费打一折，只要0.15%。", "", True),
        ("持有三年，每年才五十块左右。", "", True),
        ("For example, the fee is waived after six months.", "", True),
        ("这个产品挺好的，大家都买。", "", False),
        ("1.5%还贵啊？", "申购费1.5%太贵了", False),  # echoing the customer's number is no fact
        ("就耽误您两分钟，这个产品很好。", "", False),  # asking for time is no fact
    ],
)
def test_answer_fact(reply: str, line: str, expected: bool) -> None:
    assert _checks(reply, customer_line=line)["answer_fact"] is expected


def test_answer_fact_counts_similarity_to_a_model_answer() -> None:
    model = "王先生，您担心费用，这很正常，您算得很仔细，持有越久摊下来越少，您看我给您算一下好吗"
    reply = "王先生，您担心费用，这很正常，您算得很仔细，持有越久摊下来就越少，我给您算算好吗"
    assert _checks(reply)["answer_fact"] is False
    assert _checks(reply, model_answers=[model])["answer_fact"] is True


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("对您来说，这意味着每年省下一笔钱。", True),
        ("这样您就可以随时取用。", True),
        ("Which means you can take it out any day.", True),
        ("这只基金的经理很有名。", False),
    ],
)
def test_benefit_first(reply: str, expected: bool) -> None:
    assert _checks(reply)["benefit_first"] is expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("您看我把明细发您，好吗？", True),
        ("您看周二还是周三来网点？", True),
        ("我帮您预约下周二上午。", True),
        ("先拿一万试试看。", True),
        ("这期募集到周五截止。", True),  # a real deadline
        ("Would Tuesday or Wednesday suit you?", True),
        ("费用就是这样，没办法。", False),
    ],
)
def test_advance(reply: str, expected: bool) -> None:
    assert _checks(reply)["advance"] is expected


@pytest.mark.parametrize(
    ("reply", "name", "expected"),
    [
        ("王先生，您好。", "王先生", True),
        ("王总，您好。", "王先生", True),  # same surname, another honorific
        ("Mr Wang, hello.", "王先生", True),  # pinyin of the surname
        ("Auntie Liu, good morning.", "Auntie Liu", True),
        ("李先生，您好。", "王先生", False),
        ("您好。", "王先生", False),
    ],
)
def test_uses_name(reply: str, name: str, expected: bool) -> None:
    assert _checks(reply, customer_name=name)["uses_name"] is expected


def test_name_variants() -> None:
    variants = name_variants("刘阿姨")
    assert "刘阿姨" in variants and "刘女士" in variants and "auntie liu" in variants


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("好的。", False),  # too short
        ("您是担心费用高吧？这个很正常，申购费打一折只要0.15%。", True),
        ("费用" * 120, False),  # too long for zh
        ("Fair point, the fee is 0.15% through the app.", True),
        ("Okay, bye.", False),  # too few English words
    ],
)
def test_concise(reply: str, expected: bool) -> None:
    assert _checks(reply)["concise"] is expected


def test_a_long_but_otherwise_complete_reply_gets_the_too_long_tip() -> None:
    good = ("您是担心费用高吧？这个顾虑很正常，您很细心。申购费打一折只要0.15%，"
            "对您来说每年才几十块。您看我把明细发您，好吗？")
    result = score_reply(good * 6, category="objection.fee_too_high")
    assert [name for name, ok in result.checks.items() if not ok] == ["concise"]
    assert result.tip == "tip.concise_long"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("您想多了，哪有那么容易亏。", False),
        ("You're wrong about that.", False),
        ("这个担心很正常。", True),
    ],
)
def test_no_argue(reply: str, expected: bool) -> None:
    assert _checks(reply)["no_argue"] is expected


# ---------------------------------------------------------------- compliance


def _compliance(reply: str, risk: bool = False, category: str = "objection.fear_of_loss"
                ) -> list[str]:
    return score_reply(reply, category=category, requires_risk_disclosure=risk).compliance


@pytest.mark.parametrize(
    "reply",
    [
        "这个产品保本，您放心。",
        "稳赚不赔的。",
        "我保证收益有4%。",
        "肯定能赚钱。",
        "跟存款一样保本。",
        "This fund is guaranteed to beat deposits.",
        "It's completely risk-free.",
    ],
)
def test_guaranteed_return_is_flagged(reply: str) -> None:
    assert "guaranteed_return" in _compliance(reply)


@pytest.mark.parametrize(
    "reply", ["这个没有任何风险。", "买了绝对不会亏。", "You can't lose with this one."]
)
def test_a_negated_risk_word_is_a_claim(reply: str) -> None:
    assert "risk_denied" in _compliance(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "这款产品不保本，有波动风险。",
        "我不能保证收益，过往业绩不代表未来。",
        "投资并不是零风险的。",
        "您是担心会不会亏本，对吧？",
        "您是希望保本的，对吧？",
        "定期存款本身是保本的，理财不是。",
        "I can't guarantee any return.",
        "Returns are not guaranteed and there is risk.",
        "No investment is risk-free.",
    ],
)
def test_honest_risk_wording_is_not_a_guarantee(reply: str) -> None:
    assert "guaranteed_return" not in _compliance(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "那家银行就是忽悠人的。",
        "别的银行的收益都是虚标的。",
        "They are scammers over there.",
        "That other bank will rip you off.",
    ],
)
def test_disparaging_a_competitor_is_flagged(reply: str) -> None:
    assert "disparage_competitor" in _compliance(reply)


def test_a_respectful_comparison_is_not_disparaging() -> None:
    reply = "各家银行的产品各有特点，我们一起比一比费用和期限。"
    assert _compliance(reply) == []


@pytest.mark.parametrize(
    "reply",
    [
        "不买就没了。",
        "今天必须定下来。",
        "错过了您会后悔的。",
        "这是最后机会。",
        "This is your last chance.",
        "You must decide today.",
    ],
)
def test_pressure_is_flagged(reply: str) -> None:
    assert "pressure" in _compliance(reply)


def test_a_real_deadline_is_not_pressure() -> None:
    assert _compliance("这一期募集到本周五截止，您看周四来办理好吗？") == []


def _warnings(reply: str, risk: bool = False) -> list[str]:
    return score_reply(reply, category="objection.fear_of_loss",
                       requires_risk_disclosure=risk).warnings


def test_missing_risk_disclosure_only_when_required() -> None:
    reply = "我推荐您买这只基金，去年涨了20%。"
    assert _warnings(reply, risk=True) == ["missing_risk_disclosure"]
    assert _compliance(reply, risk=True) == []  # a warning, not mis-selling
    assert _warnings(reply, risk=False) == []
    assert _warnings(reply + "投资有风险，过往业绩不代表未来。", risk=True) == []
    assert _warnings("我今天不推荐任何产品，只想了解您的打算。", risk=True) == []
    assert _warnings("我帮您预约周二来网点聊聊。", risk=True) == []


def test_a_missing_disclosure_lowers_the_score_without_capping_it() -> None:
    reply = ("王先生，您是担心亏本对吧？这个顾虑很正常，您很细心。这只债券基金过去三年"
             "年化3%左右，对您来说比活期多一些。您看周二还是周三来办理？")
    plain = score_reply(reply, category="objection.fear_of_loss", customer_name="王先生")
    risky = score_reply(reply, category="objection.fear_of_loss", customer_name="王先生",
                        requires_risk_disclosure=True)
    assert risky.warnings == ["missing_risk_disclosure"] and risky.compliance == []
    assert 20 < risky.score < plain.score
    assert risky.tip == "tip.add_risk_disclosure" and risky.grade != "non_compliant"


def test_compliance_caps_the_score_and_sets_the_tip() -> None:
    reply = ("王先生，您是担心亏本对吧？这个顾虑很正常，您很谨慎。这只基金保本，"
             "年化4%，对您来说很划算。您看周二还是周三来办理？")
    result = score_reply(reply, category="objection.fear_of_loss", customer_name="王先生")
    assert result.compliance == ["guaranteed_return"]
    assert result.score <= 20
    assert result.grade == "non_compliant"
    assert result.tip == "tip.no_guarantee"


# ---------------------------------------------------------------- tips


def test_every_tip_code_has_zh_and_en_text() -> None:
    cues = load_cues()
    from coach.roleplay.scoring import CHECK_TIPS, COMPLIANCE_TIPS

    codes = {*CHECK_TIPS.values(), *COMPLIANCE_TIPS.values(), "tip.well_done",
             "tip.concise_short", "tip.concise_long"}
    for code in codes:
        assert cues.tips[code]["zh"] and cues.tips[code]["en"], code
    assert tip_text("tip.add_fact", "en").startswith("Answer with")
    assert tip_text("tip.unknown") == "tip.unknown"


def test_weakest_check_drives_the_tip() -> None:
    reply = "王先生，您是担心费用高吧？这个很正常，您很细心。申购费只要0.15%，对您来说很省。"
    result = score_reply(reply, category="objection.fee_too_high", customer_name="王先生")
    assert result.checks["advance"] is False
    assert result.tip == "tip.advance"
