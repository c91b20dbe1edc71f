"""Settings are typed and validated at start; the holiday calendar comes from a library."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.runtime import warn_about_calendar
from bot.settings import Settings
from coach.calendar import coverage_warnings, holidays_between, is_working_day, region_for
from coach.policy import PolicyConfig, plan_followups


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_admin_ids_are_a_list_of_ints() -> None:
    assert settings(admin_telegram_ids="111, 222,").admin_telegram_ids == [111, 222]
    assert settings(admin_telegram_ids="").admin_ids == frozenset()
    for bad in ("12a", "²", "1" * 30):
        with pytest.raises(ValidationError):
            settings(admin_telegram_ids=bad)


def test_time_zone_and_region_are_checked_at_start() -> None:
    with pytest.raises(ValidationError, match="IANA"):
        settings(default_timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown holiday region"):
        settings(holiday_region="XX")
    assert settings(holiday_region="hk").holiday_region == "HK"


def test_every_policy_interval_is_a_setting() -> None:
    config = PolicyConfig.from_settings(settings(
        followup_thinking_days=5, followup_call_time=time(9, 15),
        followup_firm_decline_quiet_days=60, followup_meeting_lead_minutes=30))
    assert (config.thinking_days, config.call_time) == (5, time(9, 15))
    assert config.firm_decline_quiet_days == 60
    assert config.meeting_lead == timedelta(minutes=30)
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    plan = plan_followups("interested_thinking", contacted_at=monday, config=config)
    assert plan.steps[0].due_at == datetime(2026, 11, 30, 9, 15, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_calendar_reaches_beyond_2027() -> None:
    assert not is_working_day(date(2028, 1, 26))  # Spring Festival 2028
    assert not is_working_day(date(2029, 10, 1), "CN")
    assert not is_working_day(date(2030, 12, 25), "HK")
    assert is_working_day(date(2026, 1, 4))  # a make-up working Sunday (调休)
    names = [h.name_zh for h in holidays_between(date(2028, 9, 25), date(2028, 10, 8))]
    assert "国庆节" in names


def test_region_follows_the_time_zone() -> None:
    assert region_for("Asia/Hong_Kong", "CN") == "HK"
    assert region_for("Asia/Taipei", "CN") == "TW"
    assert region_for("Asia/Shanghai", "HK") == "HK"


def test_start_up_warns_loudly_when_the_next_year_is_unknown(
        caplog: pytest.LogCaptureFixture) -> None:
    # make-up working days are published a year at a time; far ahead they are never known
    with caplog.at_level(logging.WARNING):
        problems = warn_about_calendar("CN", "Asia/Shanghai", today=date(2031, 6, 1))
    assert problems and "HOLIDAY CALENDAR INCOMPLETE" in caplog.text
    assert coverage_warnings(date(2031, 6, 1), "HK") == []


def test_checklist_counts_assessment_validity_like_the_suitability_check() -> None:
    from coach.cadence import CadenceConfig, risk_gap

    config = CadenceConfig(risk_valid_months=6, risk_warning_days=30)
    # assessed 1 June: valid through 1 December (six calendar months), expired on the 2nd
    assert risk_gap(date(2026, 6, 1), today=date(2026, 12, 1), config=config).kind == \
        "risk_expiring"
    assert risk_gap(date(2026, 6, 1), today=date(2026, 12, 2), config=config).kind == \
        "risk_expired"
    # 31 August: valid through the end of February
    assert risk_gap(date(2026, 8, 31), today=date(2027, 2, 28), config=config).kind == \
        "risk_expiring"
