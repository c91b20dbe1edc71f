"""Accepting a referral says when the call reminder really comes, in the advisor's own time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.models import FollowUp
from tests.conftest import BotHarness


async def _accept(harness: BotHarness, advisor, urgency: str) -> str:  # type: ignore[no-untyped-def]
    chat = harness.chat(harness.person("referrer", team="Alpha", name="柜员甲"))
    await chat.send("/refer")
    await chat.send("钱女士")
    await chat.send("13900001111")
    await chat.send("定期到期，想了解稳健一点的产品")
    await chat.press(f"rf u {urgency}")
    await chat.press("安娜")
    notice = harness.telegram.messages_to(advisor.id)[-1]
    return (await harness.chat(advisor).press(notice.buttons[0][1], message=notice))[0].text


def _due(harness: BotHarness, tz: str = "Asia/Shanghai") -> str:
    with harness.services.db.session() as s:
        due = s.scalars(select(FollowUp).where(FollowUp.reason == "referral")).one().due_at
    return due.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


async def test_normal_referral_on_a_wednesday_says_tomorrow_at_ten(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="安娜")  # clock: Wed 11-25 10:00
    text = await _accept(harness, advisor, "this_week")
    assert "明天（周四 11-26）10:00 我会提醒您联系" in text
    assert _due(harness) == "11-26 10:00"


async def test_urgent_referral_says_today_at_the_real_time(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    text = await _accept(harness, advisor, "today")
    assert "今天 12:00 我会提醒您联系" in text and "下一个工作日" not in text
    assert _due(harness) == "11-25 12:00"


async def test_friday_afternoon_names_monday(harness: BotHarness) -> None:
    harness.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))  # Fri 16:00 in Shanghai
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    text = await _accept(harness, advisor, "normal")
    assert "下一个工作日 周一 11-30 10:00" in text
    assert _due(harness) == "11-30 10:00"


async def test_time_is_the_advisors_own_zone_in_english(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="安娜", language="en",
                             timezone="Europe/London")  # 02:00 Wed in London
    text = await _accept(harness, advisor, "today")
    assert "I'll remind you to call today at 04:00." in text
    assert _due(harness, "Europe/London") == "11-25 04:00"
