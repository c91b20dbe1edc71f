"""Logging outcomes through the Application, and the follow-ups that result."""

from __future__ import annotations

from sqlalchemy import func, select

from coach.services import followups
from storage.models import Appointment, Client, FollowUp, Interaction
from tests import factories
from tests.conftest import BotHarness


def _client(harness: BotHarness, owner, name: str = "王建国", **kw) -> int:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        from coach.services import people

        user = people.find_user(s, owner.id)
        return factories.client(s, advisor_id=user.id, name=name, now=harness.clock.now(),
                                **kw).id


def _count(harness: BotHarness, model) -> int:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


async def test_one_line_log_confirm_and_save(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    client_id = _client(harness, advisor)
    chat = harness.chat(advisor)
    confirm = (await chat.send("/log 王建国 有兴趣 周五下午3点再打"))[-1]
    assert "王建国" in confirm.text and "11-27 15:00" in confirm.text
    assert [d for _, d in confirm.buttons] == ["lg ok", "lg e", "lg x"]
    saved = (await chat.press("lg ok"))[-1]
    assert "已保存" in saved.text
    with harness.services.db.session() as s:
        interaction = s.scalars(select(Interaction)).one()
        assert (interaction.client_id, interaction.outcome) == (client_id, "interested_thinking")
        followup = s.scalars(select(FollowUp)).one()
        assert followup.due_at.isoformat() == "2026-11-27T07:00:00+00:00"
        client = s.get(Client, client_id)
        assert client is not None and client.last_contact_at == harness.clock.now()


async def test_sale_records_amount_and_product(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor, "Chen Mei")
    chat = harness.chat(advisor)
    await chat.send("/log Chen sale 500k 稳健理财 next tuesday")
    await chat.press("lg ok")
    with harness.services.db.session() as s:
        interaction = s.scalars(select(Interaction)).one()
        assert (interaction.amount, interaction.product) == (500000, "稳健理财")
        followup = s.scalars(select(FollowUp)).one()
        assert (followup.kind, followup.due_at.date().isoformat()) == ("service_call",
                                                                       "2026-12-01")


async def test_meeting_creates_appointment_and_two_reminders(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor, "刘桂兰")
    chat = harness.chat(advisor)
    await chat.send("/log 刘桂兰 约了 12月3号下午2点")
    await chat.press("lg ok")
    assert _count(harness, Appointment) == 1
    with harness.services.db.session() as s:
        kinds = [f.kind for f in s.scalars(select(FollowUp).order_by(FollowUp.due_at))]
    assert kinds == ["meeting_reminder", "meeting_reminder"]


async def test_several_matches_give_buttons_and_none_offers_to_add(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    first = _client(harness, advisor, "王建国")
    _client(harness, advisor, "王建华")
    chat = harness.chat(advisor)
    choose = (await chat.send("/log 王建 没接"))[-1]
    assert len([d for _, d in choose.buttons if d.startswith("lg p ")]) == 2
    confirm = (await chat.press(f"lg p {first}"))[-1]
    assert "王建国" in confirm.text and "未接通" in confirm.text
    await chat.press("lg x")
    offer = (await chat.send("/log 赵六 有兴趣"))[-1]
    assert ("➕ 新增客户 赵六", "lg new") in offer.buttons
    confirm = (await chat.press("lg new"))[-1]
    assert "赵六" in confirm.text
    await chat.press("lg ok")
    assert _count(harness, Interaction) == 1


async def test_past_date_is_asked_about_not_guessed(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    question = (await chat.send("/log 王建国 有兴趣 11月1日"))[-1]
    assert "已经过去" in question.text
    assert _count(harness, Interaction) == 0
    confirm = (await chat.send("12/3"))[-1]
    assert "12-03" in confirm.text
    await chat.press("lg ok")
    with harness.services.db.session() as s:
        assert s.scalars(select(FollowUp)).one().due_at.date().isoformat() == "2026-12-03"


async def test_missing_outcome_gives_buttons(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    step = (await chat.send("/log 王建国"))[-1]
    assert "沟通结果" in step.text
    confirm = (await chat.press("lg o sale"))[-1]
    assert "成交" in confirm.text


async def test_guided_flow_and_cancel_saves_nothing(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    await chat.send("/log")
    await chat.send("王建国")
    await chat.press("lg ch meeting")
    await chat.press("lg o interested_thinking")
    await chat.send("下周二上午10点")
    confirm = (await chat.send("带了产品资料"))[-1]
    assert "12-01 10:00" in confirm.text and "带了产品资料" in confirm.text
    assert "没有保存" in (await chat.send("/cancel"))[-1].text
    assert _count(harness, Interaction) == 0
    await chat.send("/log")
    await chat.send("王建国")
    await chat.press("lg ch visit")
    await chat.press("lg o other")
    await chat.press("lg nx none")
    await chat.press("lg nt -")
    await chat.press("lg ok")
    with harness.services.db.session() as s:
        interaction = s.scalars(select(Interaction)).one()
        client = s.get(Client, interaction.client_id)
        assert interaction.channel == "visit" and client is not None
        assert client.last_meeting_at == harness.clock.now()
    assert _count(harness, FollowUp) == 0


async def test_log_button_on_client_card(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    client_id = _client(harness, advisor)
    chat = harness.chat(advisor)
    step = (await chat.press_data(f"lg c {client_id}"))[-1]
    assert "沟通方式" in step.text


async def test_cannot_log_against_another_advisors_client(harness: BotHarness) -> None:
    mine = harness.person("advisor")
    other = harness.person("advisor")
    theirs = _client(harness, other, "李秀英")
    chat = harness.chat(mine)
    reply = (await chat.send("/log 李秀英 成交 10万"))[-1]
    assert "您名下没有叫" in reply.text  # not found among mine
    refused = (await chat.press_data(f"lg c {theirs}"))[-1]
    assert "没有找到" in refused.text
    assert _count(harness, Interaction) == 0


async def test_duplicate_update_records_one_interaction(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    confirm = (await chat.send("/log 王建国 有兴趣"))[-1]
    payload = harness.telegram.push_update(
        harness.telegram.callback_update(advisor, confirm, "lg ok"))
    await chat.redeliver(payload)
    await chat.redeliver(payload)
    assert _count(harness, Interaction) == 1


async def test_logging_closes_open_followups_and_firm_decline_keeps_away(
        harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    client_id = _client(harness, advisor)
    with harness.services.db.session() as s:
        user_id = s.get(Client, client_id).advisor_id  # type: ignore[union-attr]
        s.add(FollowUp(client_id=client_id, advisor_id=user_id, kind="call", reason="manual",
                       due_at=harness.clock.now(), status="pending",
                       created_at=harness.clock.now()))
    chat = harness.chat(advisor)
    await chat.send("/log 王建国 别再打了")
    saved = (await chat.press("lg ok"))[-1]
    assert "前不再联系" in saved.text
    with harness.services.db.session() as s:
        assert [f.status for f in s.scalars(select(FollowUp))] == ["done"]
        client = s.get(Client, client_id)
        assert client is not None and str(client.do_not_contact_until) == "2027-02-23"


async def test_followups_list_and_week(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    await chat.send("/log 王建国 有兴趣 明天")
    await chat.press("lg ok")
    assert "没有待办跟进" in (await chat.send("/followups"))[-1].text
    week = (await chat.send("/week"))[-1]
    assert "王建国" in week.text
    harness.clock.advance(days=5)
    overdue = (await chat.send("/followups"))[-1]
    assert "🔴" in overdue.text and "逾期4天" in overdue.text


def test_followups_service_refuses_other_advisors(services) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from coach.actor import Me
    from coach.services.errors import ServiceError

    with services.db.session() as s:
        owner = factories.user(s, now=services.clock.now())
        other = factories.user(s, now=services.clock.now())
        client = factories.client(s, advisor_id=owner.id, now=services.clock.now())
        row = FollowUp(client_id=client.id, advisor_id=owner.id, kind="call", reason="manual",
                       due_at=services.clock.now(), status="pending",
                       created_at=services.clock.now())
        s.add(row)
        s.flush()
        me = Me(other.id, other.telegram_id, other.name, "advisor", None, "zh-Hans",
                "Asia/Shanghai")
        with pytest.raises(ServiceError):
            followups.complete(s, me, row.id, clock=services.clock)
