"""Hong Kong and Taiwan readers: regional vocabulary and mainland-only facts (issue 14)."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.i18n import to_traditional as bot_traditional
from coach.services.library import shared_catalog
from scripts_library import regions
from scripts_library.convert import convert_rendered, to_traditional
from scripts_library.loader import load_library
from tests.conftest import BotHarness

MAINLAND_ONLY = ("prefer_deposit.pension_account", "prefer_deposit.savings_bonds")


@pytest.fixture(scope="module")
def library():
    return load_library()


def _shown(library, script_id: str, region: str) -> str:  # type: ignore[no-untyped-def]
    rendered = convert_rendered(library.get(script_id).render("zh", region=region), region)
    return "\n".join(rendered.texts() + [rendered.short or ""])


def test_deposit_insurance_is_localised_per_region(library):
    hk = _shown(library, "prefer_deposit.insurance_by_person", "hk")
    assert "存款保障計劃" in hk and "80萬港元" in hk and "50萬" not in hk
    tw = _shown(library, "prefer_deposit.insurance_by_person", "tw")
    assert "存款保險" in tw and "300萬新臺幣" in tw and "50萬" not in tw
    mainland = library.get("prefer_deposit.insurance_by_person").render("zh")
    assert "50万元" in mainland.steps[-2][1]


def test_other_amounts_of_500000_are_left_alone(library):
    # "比如50万元" in a cash example is not the deposit-insurance limit
    hk = _shown(library, "think_it_over.park_cash_meanwhile", "hk")
    assert "50萬元" in hk and "港元" not in hk


def test_risk_rating_wording_per_region(library):
    assert "RR1到RR5" in _shown(library, "fear_of_loss.risk_rating_match", "tw")
    hk = _shown(library, "distrust_sales.suitability_rules", "hk")
    assert "1級到5級" in hk and "第1級到第5級" in hk and "R1" not in hk and "C1" not in hk


def test_savings_bond_sentences_are_dropped_or_reworded(library):
    for region in regions.REGIONS:
        text = _shown(library, "fear_of_loss.no_fluctuation_option", region)
        assert "國債" not in text.replace("政府", "") or "儲蓄國債" not in text
        assert "儲蓄國債" not in text and "一年期定期存款" in text


def test_mainland_only_scripts_are_hidden_for_hk_and_tw():
    for region in regions.REGIONS:
        assert set(MAINLAND_ONLY) <= regions.hidden_scripts(region)
    assert regions.hidden_scripts(None) == frozenset()
    catalog = shared_catalog()
    deposit = catalog.by_category("objection.prefer_deposit", team_id=None)
    assert {s.id for s in deposit} >= set(MAINLAND_ONLY)
    hk = catalog.by_category("objection.prefer_deposit", team_id=None, region="hk")
    assert not {s.id for s in hk} & set(MAINLAND_ONLY) and len(hk) == len(deposit) - 2
    found = catalog.ask("个人养老金账户能省个税吗", team_id=None, region="tw")
    assert found.script is None or found.script.id not in MAINLAND_ONLY


def test_no_mainland_only_fact_reaches_hk_or_tw(library):
    """The check: every occurrence is localised, dropped or its script hidden."""
    for region in regions.REGIONS:
        hidden = regions.hidden_scripts(region)
        for script in library:
            if script.id in hidden:
                continue
            for path, text in script.text_fields():
                if not path.startswith(("en.", "triggers")):
                    assert regions.residual_facts(text, region) == [], (region, script.id, path)


def test_check_lists_each_mainland_fact_per_region(capsys):
    assert main(["scripts", "regions", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["unhandled"] == []
    for region in ("hk", "tw"):
        entries = data["regions"][region]
        facts = {e["fact"] for e in entries}
        assert facts == {"deposit_insurance_limit", "personal_pension_account", "savings_bonds",
                         "product_registry", "product_risk_rating", "client_risk_tolerance"}
        assert all(":" in e["where"] and e["action"] in ("localised", "hidden", "script hidden")
                   for e in entries)
        pension = [e for e in entries if e["fact"] == "personal_pension_account"]
        assert pension and {e["action"] for e in pension} == {"script hidden"}
    assert main(["scripts", "regions", "--region", "hk"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hk: ") and "80萬港元" in out and "tw:" not in out


def test_check_fails_on_an_unhandled_fact(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text(
        "category: closing\nscripts:\n  - id: x.one\n    title: 促成\n    triggers: [怎么促成]\n"
        "    say: \"开个个人养老金账户，明年少交个税。\"\n", encoding="utf-8")
    assert main(["scripts", "regions", "--dir", str(tmp_path)]) == 0  # dropped: handled
    (tmp_path / "a.yaml").write_text(
        "category: closing\nscripts:\n  - id: x.one\n    title: 促成\n    triggers: [怎么促成]\n"
        "    say: \"存款受存款保险保护，每家银行50万元以内。\"\n", encoding="utf-8")
    assert main(["scripts", "regions", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "80萬港元" in out and "300萬新臺幣" in out


@pytest.mark.parametrize("text, locale, expected", [
    ("您的账户", "zh-Hant-HK", "您的戶口"),
    ("您的账户", "zh-Hant-TW", "您的帳戶"),
    ("存款保险", "zh-Hant-HK", "存款保障計劃"),
    ("每月定投", "zh-Hant-HK", "每月月供"),
    ("每月定投", "zh-Hant-TW", "每月定期定額"),
    ("很多大额存单支持转让", "zh-Hant-TW", "很多大額定存支援轉讓"),
    ("感谢您一年的信任和支持！", "zh-Hant-TW", "感謝您一年的信任和支持！"),
    ("我支持你的决定", "zh-Hant-TW", "我支持你的決定"),
    ("来网点找理财经理", "zh-Hant-TW", "來分行找理財專員"),
    ("您的账户", "zh-Hans", "您的账户"),
    ("your account", "en", "your account"),
])
def test_vocabulary_layer_after_conversion(text, locale, expected):
    assert bot_traditional(text, locale) == expected


def test_script_conversion_uses_the_vocabulary_too():
    assert to_traditional("先开户口还是账户", "hk") == "先開戶口還是戶口"
    assert to_traditional("手机银行", "tw") == "行動銀行"


async def test_hk_user_sees_hk_deposit_protection(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor", language="zh-Hant-HK"))
    card = (await chat.send("存款有没有保障"))[-1]
    data = next(d for _, d in card.buttons if d.startswith("sc f "))
    full = (await chat.press(data, message=card))[-1]
    text = card.text + full.text
    assert "80萬港元" in text and "存款保障計劃" in text and "50萬" not in text


async def test_tw_user_does_not_get_the_pension_account_script(harness: BotHarness) -> None:
    tw = harness.chat(harness.person("advisor", language="zh-Hant-TW"))
    card = (await tw.send("存款能不能省点个税"))[-1]
    assert "養老金" not in card.text and "個稅" not in card.text
    mainland = harness.chat(harness.person("advisor"))
    card = (await mainland.send("存款能不能省点个税"))[-1]
    assert "个人养老金账户" in card.text
