"""/assign names a scenario by its /practice number or its title; unclear names change nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from coach.roleplay.pick import numbered, pick
from coach.services import practice
from storage.models import PracticeAssignment
from tests.conftest import BotHarness

CATALOGUE = numbered(practice.scenarios().values())


def _number(scenario_id: str) -> int:
    return [s.id for s in CATALOGUE].index(scenario_id) + 1


def test_number_exact_title_and_id() -> None:
    assert pick(str(_number("past_fund_loss")), CATALOGUE).scenario.id == "past_fund_loss"  # type: ignore[union-attr]
    assert pick("只认定期的刘阿姨", CATALOGUE).scenario.id == "retiree_fixed_deposits"  # type: ignore[union-attr]
    assert pick("Auntie Liu trusts only fixed deposits", CATALOGUE).scenario.id == (  # type: ignore[union-attr]
        "retiree_fixed_deposits")
    assert pick("market_timing_worry", CATALOGUE).scenario.id == "market_timing_worry"  # type: ignore[union-attr]


def test_traditional_and_unambiguous_partial_titles() -> None:
    assert pick("只認定期的劉阿姨", CATALOGUE).scenario.id == "retiree_fixed_deposits"  # type: ignore[union-attr]
    assert pick("劉阿姨", CATALOGUE).scenario.id == "retiree_fixed_deposits"  # type: ignore[union-attr]
    assert pick("赵总", CATALOGUE).scenario.id == "busy_business_owner"  # type: ignore[union-attr]
    assert pick("wait for a DIP", CATALOGUE).scenario.id == "market_timing_worry"  # type: ignore[union-attr]


def test_ambiguous_and_unknown_offer_candidates() -> None:
    both = pick("阿姨", CATALOGUE)
    assert both.scenario is None
    assert {s.id for _, s in both.candidates} == {"retiree_fixed_deposits",
                                                  "maturing_wealth_product"}
    for query in ("0", str(len(CATALOGUE) + 1), "股票期权", ""):
        unknown = pick(query, CATALOGUE)
        assert unknown.scenario is None and len(unknown.candidates) == len(CATALOGUE)
    assert [n for n, _ in pick("?", CATALOGUE).candidates] == list(
        range(1, len(CATALOGUE) + 1))


def _assignments(harness: BotHarness) -> list[tuple[str, str]]:
    with harness.services.db.session() as s:
        return [(a.scenario_id, str(a.due_on)) for a in s.scalars(
            select(PracticeAssignment).order_by(PracticeAssignment.id))]


async def test_lead_assigns_by_the_number_shown_in_practice(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    lead = harness.person("lead", team="Alpha")
    listing = (await harness.chat(lead).send("/practice"))[-1]
    shown = {data.removeprefix("pr s "): label for label, data in listing.buttons}
    n = _number("past_fund_loss")
    assert shown["past_fund_loss"].startswith(f"{n}. ")  # the number on the button …
    assert "/assign team" in listing.text
    done = (await harness.chat(lead).send(f"/assign team {n} 2026-12-10"))[-1]
    assert "基金亏过三成的孙先生" in done.text  # … is the scenario assigned
    assert _assignments(harness) == [("past_fund_loss", "2026-12-10")]
    note = harness.telegram.messages_to(advisor.id)[-1]
    assert note.buttons[0][1] == "pr s past_fund_loss"


async def test_lead_assigns_by_title_with_spaces_or_traditional(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    lead = harness.person("lead", team="Alpha")
    row = harness.user_row(advisor)
    await harness.chat(lead).send(f"/assign @{row.username} 只認定期的劉阿姨")
    await harness.chat(lead).send("/assign team Mr Qian wants to wait 2026-12-04")
    assert _assignments(harness) == [("retiree_fixed_deposits", "None"),
                                     ("market_timing_worry", "2026-12-04")]


async def test_unclear_scenario_lists_choices_and_assigns_nothing(harness: BotHarness) -> None:
    harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    chat = harness.chat(lead)
    ambiguous = (await chat.send("/assign team 阿姨 2026-12-10"))[-1].text
    assert "有几个练习场景都符合“阿姨”" in ambiguous
    assert f"{_number('retiree_fixed_deposits')}. 只认定期的刘阿姨" in ambiguous
    assert f"{_number('maturing_wealth_product')}. 理财到期想取出来的郭阿姨" in ambiguous
    assert "孙先生" not in ambiguous
    unknown = (await chat.send("/assign team 99"))[-1].text
    assert "没有找到叫“99”的练习场景" in unknown and "1. " in unknown and "孙先生" in unknown
    bad_day = (await chat.send("/assign team 1 2026-02-30"))[-1].text
    assert "日期" in bad_day
    with harness.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(PracticeAssignment)) == 0


async def test_english_lead_gets_english_choices(harness: BotHarness) -> None:
    harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha", language="en")
    text = (await harness.chat(lead).send("/assign team Auntie"))[-1].text
    assert "Several scenarios match" in text and "Auntie Liu trusts only fixed deposits" in text
