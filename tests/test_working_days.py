"""Escalations and practice reminders count working days and never go out on a day off."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.jobs.outbox import deliver_outbox
from bot.jobs.practice import practice_housekeeping
from bot.jobs.reminders import escalate_overdue
from coach.calendar import add_working_days
from storage.models import FollowUp
from tests import factories
from tests.conftest import BotHarness

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(day: str, hhmm: str = "10:05") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(("start", "n", "expected"), [
    (date(2026, 11, 27), 3, date(2026, 12, 2)),   # Friday + 3: over the weekend
    (date(2026, 12, 31), 1, date(2027, 1, 4)),    # New Year's Day, then a weekend
    (date(2027, 2, 3), 2, date(2027, 2, 11)),     # Chinese New Year: 5-10 February off
    (date(2026, 11, 25), 0, date(2026, 11, 25)),
])
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n, "CN") == expected


def _overdue(harness: BotHarness, advisor, due: datetime) -> None:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        uid = harness.user_row(advisor).id
        client = factories.client(s, advisor_id=uid, now=due)
        s.add(FollowUp(client_id=client.id, advisor_id=uid, kind="call", reason="manual",
                       due_at=due, status="pending", created_at=due))


async def _escalated_at(harness: BotHarness, due: datetime, ticks: list[datetime]) -> list[bool]:
    """For each tick time: did the lead get the escalation by then?"""
    harness.clock.set(due)
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    _overdue(harness, advisor, due)
    seen = []
    for when in ticks:
        harness.clock.set(when)
        await escalate_overdue(harness.app)
        await deliver_outbox(harness.app)
        seen.append(bool(harness.telegram.messages_to(lead.id)))
    return seen


async def test_escalation_counts_working_days_over_a_weekend(harness: BotHarness) -> None:
    # due Friday 11-27 10:00; ESCALATE_LEAD_DAYS = 5 working days → Friday 12-04 10:00
    # (five calendar days would have been Wednesday 12-02)
    seen = await _escalated_at(harness, _at("2026-11-27", "10:00"), [
        _at("2026-12-02"), _at("2026-12-03"), _at("2026-12-04", "09:59"), _at("2026-12-04")])
    assert seen == [False, False, False, True]


async def test_escalation_is_never_sent_on_a_weekend(harness: BotHarness) -> None:
    # its moment (Friday 12-04 10:00) passed while the bot was down: not on Saturday or
    # Sunday, but first thing on Monday
    seen = await _escalated_at(harness, _at("2026-11-27", "10:00"), [
        _at("2026-12-05"), _at("2026-12-06", "18:00"), _at("2026-12-07", "08:00")])
    assert seen == [False, False, True]


async def test_escalation_skips_new_year_and_chinese_new_year(harness: BotHarness) -> None:
    # due Thursday 12-31: 1-3 January are off → five working days end Friday 01-08
    seen = await _escalated_at(harness, _at("2026-12-31", "10:00"), [
        _at("2027-01-01"), _at("2027-01-05"), _at("2027-01-07"), _at("2027-01-08")])
    assert seen == [False, False, False, True]


async def test_escalation_waits_out_the_spring_festival(harness: BotHarness) -> None:
    # due Wednesday 2027-02-03: 4, 11, 12, 15, 16 February are the five working days
    seen = await _escalated_at(harness, _at("2027-02-03", "10:00"), [
        _at("2027-02-08"), _at("2027-02-10"), _at("2027-02-15"), _at("2027-02-16")])
    assert seen == [False, False, False, True]


async def test_assignment_reminders_skip_days_off_and_stop_at_the_due_date(
        harness: BotHarness) -> None:
    harness.clock.set(_at("2026-12-31", "10:00"))  # Thursday, before New Year's Day
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    await harness.chat(lead).send("/assign team 1 2027-01-05")
    assert len(harness.telegram.messages_to(advisor.id)) == 1  # the assignment itself
    reminded = []
    for when in (_at("2027-01-01"), _at("2027-01-02"), _at("2027-01-03"),  # holiday, weekend
                 _at("2027-01-04", "08:00"),  # a working day, but before the morning
                 _at("2027-01-04", "09:00"), _at("2027-01-05", "09:00"),  # up to the due date
                 _at("2027-01-06", "09:00"), _at("2027-01-07", "09:00")):  # past it: no more
        harness.clock.set(when)
        before = len(harness.telegram.messages_to(advisor.id))
        await practice_housekeeping(harness.app)
        await deliver_outbox(harness.app)
        reminded.append(len(harness.telegram.messages_to(advisor.id)) - before)
    assert reminded == [0, 0, 0, 0, 1, 1, 0, 0]
    assert "2027-01-05" in harness.telegram.messages_to(advisor.id)[-1].text


async def test_assignment_without_a_due_date_is_reminded_on_working_days(
        harness: BotHarness) -> None:
    harness.clock.set(_at("2027-02-03", "10:00"))  # Wednesday before the Spring Festival
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    await harness.chat(lead).send("/assign team 2")
    reminded = []
    for day in ("2027-02-04", "2027-02-05", "2027-02-08", "2027-02-10", "2027-02-11"):
        harness.clock.set(_at(day))
        before = len(harness.telegram.messages_to(advisor.id))
        await practice_housekeeping(harness.app)
        await deliver_outbox(harness.app)
        reminded.append(len(harness.telegram.messages_to(advisor.id)) - before)
    assert reminded == [1, 0, 0, 0, 1]
