"""Follow-up policy table: each outcome, weekends, holidays, explicit dates, meetings."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from coach.calendar import holidays_between, is_working_day, next_working_day
from coach.outcomes import Outcome
from coach.policy import plan_followups, plan_new_client

SH = ZoneInfo("Asia/Shanghai")
WED_10 = datetime(2026, 11, 25, 10, 0, tzinfo=SH)
WED_16 = datetime(2026, 11, 25, 16, 0, tzinfo=SH)


def local(plan_steps):  # type: ignore[no-untyped-def]
    return [(s.due_at.astimezone(SH).strftime("%a %m-%d %H:%M"), s.kind) for s in plan_steps]


@pytest.mark.parametrize(("outcome", "contacted", "expected"), [
    (Outcome.INTERESTED_THINKING, WED_10, [("Mon 11-30 10:00", "call")]),  # Sat 28th → Monday
    (Outcome.SALE, WED_10, [("Wed 12-02 10:00", "service_call")]),
    (Outcome.SOFT_DECLINE, WED_10, [("Wed 12-02 10:00", "message"), ("Mon 12-07 10:00", "call")]),
    (Outcome.NO_ANSWER, WED_10, [("Thu 11-26 15:00", "retry")]),  # morning call → afternoon
    (Outcome.NO_ANSWER, WED_16, [("Thu 11-26 10:00", "retry")]),  # afternoon → morning
    (Outcome.FIRM_DECLINE, WED_10, []),
    (Outcome.NOT_SUITABLE, WED_10, []),
    (Outcome.OTHER, WED_10, []),
    (Outcome.MEETING_BOOKED, WED_10, [("Thu 11-26 10:00", "call")]),  # no date: confirm it
])
def test_default_plan(outcome: Outcome, contacted: datetime, expected: list) -> None:  # type: ignore[type-arg]
    plan = plan_followups(outcome, contacted_at=contacted, tz="Asia/Shanghai")
    assert local(plan.steps) == expected


def test_firm_decline_keeps_away_for_90_days() -> None:
    plan = plan_followups("firm_decline", contacted_at=WED_10, tz="Asia/Shanghai")
    assert plan.do_not_contact_until is not None
    assert plan.do_not_contact_until.isoformat() == "2027-02-23"


def test_explicit_date_overrides_even_on_a_weekend() -> None:
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=SH)
    plan = plan_followups("interested_thinking", contacted_at=WED_10, explicit_due=saturday,
                          has_time=True, tz="Asia/Shanghai")
    assert local(plan.steps) == [("Sat 11-28 15:00", "call")]


def test_explicit_date_without_time_gets_the_call_time() -> None:
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=SH)
    plan = plan_followups("sale", contacted_at=WED_10, explicit_due=friday, has_time=False,
                          tz="Asia/Shanghai")
    assert local(plan.steps) == [("Fri 11-27 10:00", "service_call")]


def test_meeting_reminders_morning_and_one_hour_before() -> None:
    meeting = datetime(2026, 12, 3, 14, 0, tzinfo=SH)
    plan = plan_followups("meeting_booked", contacted_at=WED_10, explicit_due=meeting,
                          has_time=True, tz="Asia/Shanghai")
    assert local(plan.steps) == [("Thu 12-03 08:30", "meeting_reminder"),
                                 ("Thu 12-03 13:00", "meeting_reminder")]


def test_meeting_at_nine_gets_only_the_hour_before() -> None:
    meeting = datetime(2026, 12, 3, 9, 0, tzinfo=SH)
    plan = plan_followups("meeting_booked", contacted_at=WED_10, explicit_due=meeting,
                          has_time=True, tz="Asia/Shanghai")
    assert local(plan.steps) == [("Thu 12-03 08:00", "meeting_reminder")]


def test_holidays_are_skipped() -> None:
    before_national_day = datetime(2026, 9, 28, 10, 0, tzinfo=SH)  # +3 = Oct 1 (holiday)
    plan = plan_followups("interested_thinking", contacted_at=before_national_day,
                          tz="Asia/Shanghai")
    assert local(plan.steps) == [("Thu 10-08 10:00", "call")]


def test_hong_kong_region() -> None:
    before_christmas = datetime(2026, 12, 22, 10, 0, tzinfo=ZoneInfo("Asia/Hong_Kong"))
    plan = plan_followups("interested_thinking", contacted_at=before_christmas,
                          tz="Asia/Hong_Kong", region="HK")
    assert plan.steps[0].due_at.date().isoformat() == "2026-12-28"


def test_new_client_callback() -> None:
    step = plan_new_client(opened_at=WED_10, tz="Asia/Shanghai")
    assert (step.due_at.astimezone(SH).strftime("%a %m-%d %H:%M"), step.reason) == (
        "Mon 11-30 10:00", "new_account")


def test_times_are_aware() -> None:
    plan = plan_followups("sale", contacted_at=datetime(2026, 11, 25, 2, tzinfo=UTC),
                          tz="Europe/London")
    assert plan.steps[0].due_at.tzinfo is not None


def test_calendar() -> None:
    from datetime import date

    assert not is_working_day(date(2026, 10, 1))
    assert is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert next_working_day(date(2026, 11, 27)) == date(2026, 11, 30)
    names = [h.name_en for h in holidays_between(date(2026, 9, 20), date(2026, 10, 8))]
    assert names == ["Mid-Autumn Festival", "National Day"]
    with pytest.raises(ValueError):
        is_working_day(date(2026, 1, 1), "XX")
