"""Issue 12 through the real Application: titles, questions and amounts from one /log line."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Interaction
from tests.conftest import BotHarness
from tests.test_log_flow import _client


async def test_a_form_of_address_finds_the_advisors_client(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor, "王秀英")
    _client(harness, advisor, "李国强")
    chat = harness.chat(advisor)
    confirm = (await chat.send("/log 王阿姨，有兴趣，明天再打"))[-1]
    assert "王秀英" in confirm.text


async def test_two_dates_are_asked_not_guessed(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    asked = (await chat.send("/log 王建国 有兴趣 周四还是周五"))[-1]
    assert "两个日期" in asked.text
    confirm = (await chat.send("周五下午3点"))[-1]
    assert "11-27 15:00" in confirm.text


async def test_amount_and_period_are_saved(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor, "Chen Mei")
    chat = harness.chat(advisor)
    await chat.send("/log Mrs Chen 每月1.5w定投 成交")
    await chat.press("lg ok")
    with harness.services.db.session() as s:
        interaction = s.scalars(select(Interaction)).one()
        assert interaction.amount == 15000 and interaction.outcome == "sale"
