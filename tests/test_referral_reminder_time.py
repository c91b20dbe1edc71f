"""Accepting a referral says when the call reminder really comes, in the advisor's own time;
an urgent one comes within two hours, but never outside working hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.jobs import reminders
from bot.jobs.outbox import deliver_outbox
from bot.scheduler import run_ticks
from coach.policy import PolicyConfig, urgent_call
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
    # within two hours would be 04:00, in the night: the start of their working day instead
    assert "I'll remind you to call today at 09:00." in text
    assert _due(harness, "Europe/London") == "11-25 09:00"


SHANGHAI = ZoneInfo("Asia/Shanghai")


def _reminders(harness: BotHarness, advisor) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.text for m in harness.telegram.messages_to(advisor.id) if "⏰" in m.text]


async def _ticks_at(harness: BotHarness, local: datetime) -> None:
    harness.clock.set(local.astimezone(UTC))
    await run_ticks(harness.app, [reminders.send_due_reminders, deliver_outbox])


@pytest.mark.parametrize("accepted, says, due", [
    # Wednesday 23:30: not at 01:30, but Thursday when the working day starts
    (datetime(2026, 11, 25, 23, 30, tzinfo=SHANGHAI), "明天（周四 11-26）09:00", "11-26 09:00"),
    # Thursday 03:00: not at 05:00, but 09:00 the same day
    (datetime(2026, 11, 26, 3, 0, tzinfo=SHANGHAI), "今天 09:00", "11-26 09:00"),
])
async def test_urgent_referral_at_night_waits_for_working_hours_and_comes_once(
        harness: BotHarness, accepted: datetime, says: str, due: str) -> None:
    harness.clock.set(accepted.astimezone(UTC))
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    text = await _accept(harness, advisor, "today")
    assert f"{says} 我会提醒您联系" in text
    assert _due(harness) == due
    two_hours_later = accepted + timedelta(hours=2)
    for moment in (two_hours_later, datetime(2026, 11, 26, 8, 59, tzinfo=SHANGHAI)):
        await _ticks_at(harness, moment)
        assert _reminders(harness, advisor) == []  # nothing in the night
    for hour, minute in ((9, 0), (9, 1), (10, 30)):  # due, then the ticks after: sent once
        await _ticks_at(harness, datetime(2026, 11, 26, hour, minute, tzinfo=SHANGHAI))
    sent = _reminders(harness, advisor)
    assert len(sent) == 1 and "钱" in sent[0]


async def test_urgent_referral_on_friday_night_waits_for_monday(harness: BotHarness) -> None:
    harness.clock.set(datetime(2026, 11, 27, 23, 30, tzinfo=SHANGHAI).astimezone(UTC))
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    text = await _accept(harness, advisor, "today")
    assert "下一个工作日 周一 11-30 09:00" in text
    assert _due(harness) == "11-30 09:00"


async def test_urgent_referral_late_in_the_day_comes_before_the_day_ends(
        harness: BotHarness) -> None:
    harness.clock.set(datetime(2026, 11, 25, 17, 0, tzinfo=SHANGHAI).astimezone(UTC))
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    text = await _accept(harness, advisor, "today")
    assert "今天 18:00 我会提醒您联系" in text  # not 19:00, not tomorrow
    assert _due(harness) == "11-25 18:00"


def test_urgent_call_times_follow_the_configured_working_hours() -> None:
    config = PolicyConfig(day_start=time(8, 0), day_end=time(20, 0))
    at = datetime(2026, 11, 25, 19, 0, tzinfo=SHANGHAI)
    assert urgent_call(at, tz="Asia/Shanghai", config=config) == at.replace(hour=20)
    night = datetime(2026, 11, 25, 22, 0, tzinfo=SHANGHAI)
    assert urgent_call(night, tz="Asia/Shanghai", config=config) == datetime(
        2026, 11, 26, 8, 0, tzinfo=SHANGHAI)
    day = datetime(2026, 11, 25, 11, 0, tzinfo=SHANGHAI)
    assert urgent_call(day, tz="Asia/Shanghai", config=config) == day + timedelta(hours=2)


def test_working_hours_must_make_a_day() -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    with pytest.raises(ValidationError, match="FOLLOWUP_DAY_END .* later than"):
        Settings(_env_file=None, followup_day_start="18:00",  # type: ignore[call-arg]
                 followup_day_end="09:00")
