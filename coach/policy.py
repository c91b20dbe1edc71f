"""What happens after a contact: the follow-up policy (per the bank manuals).

- interested_thinking → call again in 3 days (neither too soon nor too late);
- soft_decline → a message in 7 days, then a call 3 days later;
- firm_decline → no contact for 90 days, no follow-up;
- sale → a service call within 7 days;
- no_answer → retry the next working day, at the other half of the day;
- meeting_booked → a reminder the morning of the meeting and one 1 hour before;
- new client → the 3-day new-account call.
An explicit date in the log overrides the default. Computed dates skip weekends
and public holidays; a date the advisor gave is kept as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from coach.calendar import is_working_day
from coach.outcomes import Outcome

__all__ = ["FollowUpPlan", "PlannedFollowUp", "PolicyConfig", "next_working_time",
           "plan_followups", "plan_new_client", "urgent_call"]


@dataclass(frozen=True)
class PolicyConfig:
    thinking_days: int = 3
    soft_decline_message_days: int = 7
    soft_decline_call_after_days: int = 3
    firm_decline_quiet_days: int = 90
    post_sale_days: int = 7
    new_account_days: int = 3
    call_time: time = time(10, 0)
    morning_reminder: time = time(8, 30)
    meeting_lead: timedelta = timedelta(hours=1)
    afternoon_retry: time = time(15, 0)
    morning_retry: time = time(10, 0)
    day_start: time = time(9, 0)  # working hours, for reminders not tied to a set time
    day_end: time = time(18, 0)
    urgent_within: timedelta = timedelta(hours=2)

    @classmethod
    def from_settings(cls, settings: Any) -> PolicyConfig:
        """The policy with the bank's configured intervals (``bot.settings.Settings``)."""
        return cls(thinking_days=settings.followup_thinking_days,
                   soft_decline_message_days=settings.followup_soft_decline_message_days,
                   soft_decline_call_after_days=settings.followup_soft_decline_call_after_days,
                   firm_decline_quiet_days=settings.followup_firm_decline_quiet_days,
                   post_sale_days=settings.post_sale_callback_days,
                   new_account_days=settings.new_account_callback_days,
                   call_time=settings.followup_call_time,
                   morning_reminder=settings.followup_meeting_reminder_time,
                   meeting_lead=timedelta(minutes=settings.followup_meeting_lead_minutes),
                   afternoon_retry=settings.followup_retry_afternoon_time,
                   morning_retry=settings.followup_retry_morning_time,
                   day_start=settings.followup_day_start, day_end=settings.followup_day_end)


@dataclass(frozen=True)
class PlannedFollowUp:
    due_at: datetime
    kind: str  # call | message | meeting_reminder | service_call | new_account_call | retry
    reason: str


@dataclass(frozen=True)
class FollowUpPlan:
    steps: list[PlannedFollowUp] = field(default_factory=list)
    do_not_contact_until: date | None = None


def _working(day: date, region: str) -> date:
    while not is_working_day(day, region):
        day += timedelta(days=1)
    return day


def _at(day: date, when: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, when, tz)


def plan_followups(outcome: Outcome | str, *, contacted_at: datetime,
                   explicit_due: datetime | None = None, has_time: bool = False,
                   tz: str = "Asia/Shanghai", region: str = "CN",
                   config: PolicyConfig = PolicyConfig()) -> FollowUpPlan:
    """The follow-ups (aware datetimes) that ``outcome`` calls for."""
    outcome = Outcome(outcome)
    zone = ZoneInfo(tz)
    local = contacted_at.astimezone(zone)
    today = local.date()
    reason = outcome.value

    def computed(days: int, when: time = config.call_time) -> datetime:
        return _at(_working(today + timedelta(days=days), region), when, zone)

    def explicit_or(default: datetime) -> datetime:
        if explicit_due is None:
            return default
        return explicit_due if has_time else _at(explicit_due.astimezone(zone).date(),
                                                  config.call_time, zone)

    if outcome is Outcome.FIRM_DECLINE:
        return FollowUpPlan([], today + timedelta(days=config.firm_decline_quiet_days))
    if outcome is Outcome.MEETING_BOOKED:
        if explicit_due is None:
            return FollowUpPlan([PlannedFollowUp(computed(1), "call", "meeting_to_confirm")])
        meeting = explicit_due if has_time else _at(explicit_due.astimezone(zone).date(),
                                                     config.call_time, zone)
        steps = []
        morning = _at(meeting.astimezone(zone).date(), config.morning_reminder, zone)
        if morning < meeting - config.meeting_lead and morning > contacted_at:
            steps.append(PlannedFollowUp(morning, "meeting_reminder", reason))
        before = meeting - config.meeting_lead
        if before > contacted_at:
            steps.append(PlannedFollowUp(before, "meeting_reminder", reason))
        return FollowUpPlan(steps)
    if outcome is Outcome.INTERESTED_THINKING:
        return FollowUpPlan([PlannedFollowUp(explicit_or(computed(config.thinking_days)), "call",
                                             reason)])
    if outcome is Outcome.SOFT_DECLINE:
        message = explicit_or(computed(config.soft_decline_message_days))
        call_day = _working(message.astimezone(zone).date()
                            + timedelta(days=config.soft_decline_call_after_days), region)
        return FollowUpPlan([PlannedFollowUp(message, "message", reason),
                             PlannedFollowUp(_at(call_day, config.call_time, zone), "call",
                                             reason)])
    if outcome is Outcome.SALE:
        return FollowUpPlan([PlannedFollowUp(explicit_or(computed(config.post_sale_days)),
                                             "service_call", reason)])
    if outcome is Outcome.NO_ANSWER:
        other_half = config.afternoon_retry if local.hour < 12 else config.morning_retry
        default = _at(_working(today + timedelta(days=1), region), other_half, zone)
        return FollowUpPlan([PlannedFollowUp(explicit_or(default), "retry", reason)])
    # not_suitable / other: only what the advisor asked for
    if explicit_due is not None:
        return FollowUpPlan([PlannedFollowUp(explicit_or(explicit_due), "call", "manual")])
    return FollowUpPlan([])


def plan_new_client(*, opened_at: datetime, tz: str, region: str = "CN",
                    config: PolicyConfig = PolicyConfig()) -> PlannedFollowUp:
    """The new-account call, ``new_account_days`` after opening (next working day)."""
    zone = ZoneInfo(tz)
    day = _working(opened_at.astimezone(zone).date() + timedelta(days=config.new_account_days),
                   region)
    return PlannedFollowUp(_at(day, config.call_time, zone), "new_account_call", "new_account")


def _in_hours(local: datetime, region: str, config: PolicyConfig) -> bool:
    return (is_working_day(local.date(), region)
            and config.day_start <= local.time() <= config.day_end)


def next_working_time(moment: datetime, *, tz: str, region: str = "CN",
                      config: PolicyConfig = PolicyConfig()) -> datetime:
    """``moment`` if it falls in working hours (a working day, ``day_start`` to ``day_end``
    in ``tz``), else the next ``day_start`` of a working day."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    if _in_hours(local, region, config):
        return moment
    if is_working_day(local.date(), region) and local.time() < config.day_start:
        return _at(local.date(), config.day_start, zone)
    return _at(_working(local.date() + timedelta(days=1), region), config.day_start, zone)


def urgent_call(now: datetime, *, tz: str, region: str = "CN",
                config: PolicyConfig = PolicyConfig()) -> datetime:
    """When to remind an advisor of an urgent call: ``urgent_within`` from now, in their
    working hours.

    Asked late in the working day, the reminder comes at its end (still today) rather than
    the next morning; asked at night or on a day off, at the next start of working hours
    (never at 01:30 because the request came at 23:30).
    """
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    wanted = now + config.urgent_within
    if _in_hours(local, region, config):
        return min(wanted, _at(local.date(), config.day_end, zone))
    return next_working_time(wanted, tz=tz, region=region, config=config)
