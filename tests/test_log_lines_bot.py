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


# --- the loop after logging ------------------------------------------------------------


async def test_meeting_reminder_shows_its_meeting_and_a_preparation_script(
        harness: BotHarness) -> None:
    from datetime import datetime

    from storage.models import Appointment, FollowUp
    from tests.test_reminders import run_ticks

    advisor = harness.person("advisor")
    _client(harness, advisor, "刘桂兰")
    chat = harness.chat(advisor)
    await chat.send("/log 刘桂兰 约了 12月3号下午2点 在南山支行见")
    await chat.press("lg ok")
    with harness.services.db.session() as s:
        appointment = s.scalars(select(Appointment)).one()
        assert appointment.place == "南山支行"
        reminders = s.scalars(select(FollowUp).order_by(FollowUp.due_at)).all()
        assert [r.appointment_id for r in reminders] == [appointment.id, appointment.id]
    harness.clock.set(datetime.fromisoformat("2026-12-03T08:31:00+08:00"))
    await run_ticks(harness.app)
    sent = harness.telegram.messages_to(advisor.id)[-1]
    assert "12-03 14:00" in sent.text and "南山支行" in sent.text  # the meeting, not 08:30
    assert "见面前确认时间地点" in sent.text  # a preparation script, not an invitation


async def test_followups_created_during_a_leave_go_to_the_covering_colleague(
        harness: BotHarness) -> None:
    from storage.models import FollowUp

    advisor = harness.person("advisor", team="Alpha")
    colleague = harness.person("advisor", team="Alpha")
    _client(harness, advisor, "王建国")
    _client(harness, advisor, "李秀英")
    chat = harness.chat(advisor)
    to = harness.user_row(colleague).username
    assert "交给" in (await chat.send(f"/leave 2026-12-01 2026-12-10 @{to}"))[-1].text
    # logged after the handover, due within the leave: the colleague's
    await chat.send("/log 王建国 有兴趣 12月3日下午3点再打")
    await chat.press("lg ok")
    # due after the leave: stays with the advisor
    await chat.send("/log 李秀英 有兴趣 12月15日再打")
    await chat.press("lg ok")
    with harness.services.db.session() as s:
        rows = {r.due_at.date().isoformat(): r for r in s.scalars(select(FollowUp))}
    within, after = rows["2026-12-03"], rows["2026-12-15"]
    assert within.advisor_id == harness.user_row(colleague).id
    assert within.original_advisor_id == harness.user_row(advisor).id
    assert after.advisor_id == harness.user_row(advisor).id and after.original_advisor_id is None
    card = (await harness.chat(colleague).send("/client 王建国"))[-1]
    assert "王建国" in card.text  # the colleague may open the client whose call it is
