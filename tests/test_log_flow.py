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


# --- resume, edit, doubtful dates, bad input -------------------------------------------


async def test_guided_flow_resumes_after_restart(harness: BotHarness) -> None:
    from bot.app import build_application
    from bot.chat import LocalChat
    from bot.fakebot import FakeRequest

    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    await chat.send("/log")
    await chat.send("王建国")
    step = (await chat.press("lg ch meeting"))[-1]
    assert "沟通结果" in step.text
    await harness.app.update_persistence()
    app2 = build_application(harness.services, request=FakeRequest(harness.telegram),
                             rate_limit=False, jobs=False)
    async with app2:
        chat2 = LocalChat(app2, harness.telegram, advisor)
        await chat2.press_data("lg o interested_thinking", message=step)
        await chat2.press_data("lg nx ok", message=step)
        confirm = (await chat2.send("带了资料"))[-1]
        assert "带了资料" in confirm.text and "面谈" in confirm.text
        await chat2.press_data("lg ok", message=confirm)
    with harness.services.db.session() as s:
        interaction = s.scalars(select(Interaction)).one()
        assert (interaction.channel, interaction.notes) == ("meeting", "带了资料")


async def test_edit_walks_the_guided_steps_with_answers_kept(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    client_id = _client(harness, advisor)
    chat = harness.chat(advisor)
    await chat.send("/log 王建国 有兴趣 周五下午3点 想再看看收益")
    client_step = (await chat.press("lg e"))[-1]
    assert ("✓ 王建国", f"lg p {client_id}") in client_step.buttons
    channel = (await chat.press(f"lg p {client_id}"))[-1]
    assert ("✓ 📞 电话", "lg ch phone") in channel.buttons
    outcome = (await chat.press("lg ch phone"))[-1]
    assert any(label.startswith("✓ ") and data == "lg o interested_thinking"
               for label, data in outcome.buttons)
    nxt = (await chat.press("lg o meeting_booked"))[-1]
    assert "11-27 15:00" in nxt.text  # the date typed in the line is kept
    notes = (await chat.press("lg nx ok"))[-1]
    assert "想再看看收益" in notes.text and ("保留", "lg nt -") in notes.buttons
    confirm = (await chat.press("lg nt -"))[-1]
    assert "已约见面" in confirm.text and "想再看看收益" in confirm.text
    await chat.press("lg ok")
    with harness.services.db.session() as s:
        assert s.scalars(select(Interaction)).one().outcome == "meeting_booked"
        appointment = s.scalars(select(Appointment)).one()
        assert appointment.starts_at.isoformat() == "2026-11-27T07:00:00+00:00"


async def test_ambiguous_date_is_asked_and_can_be_confirmed(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    question = (await chat.send("/log 王建国 有兴趣 1/5"))[-1]
    assert "明年" in question.text and _count(harness, Interaction) == 0
    assert ("✅ 是的，2027-01-05", "lg nx y") in question.buttons
    confirm = (await chat.press("lg nx y"))[-1]
    assert "01-05 10:00" in confirm.text
    await chat.press("lg ok")
    with harness.services.db.session() as s:
        assert s.scalars(select(FollowUp)).one().due_at.date().isoformat() == "2027-01-05"


async def test_doubtful_date_accept_takes_the_policy_suggestion(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    question = (await chat.send("/log 王建国 有兴趣 11月1日"))[-1]
    assert "11-30 10:00" in question.text  # 3 working days later, suggested
    confirm = (await chat.press("lg nx ok"))[-1]
    assert "11-30 10:00" in confirm.text and "11-01" not in confirm.text


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    odd = (await chat.send("/log 123 有兴趣"))[-1]
    assert "不像客户姓名" in odd.text and "lg new" not in [d for _, d in odd.buttons]
    missing = (await chat.send("/log 王建国 随便说说"))[-1]
    assert "沟通结果" in missing.text
    assert "请点击下面的按钮" in (await chat.send("嗯嗯"))[-1].text
    await chat.press_data("lg o bogus")  # crafted: ignored
    early = (await chat.press_data("lg ok"))[-1]  # save before the outcome: not saved
    assert "沟通结果" in early.text
    nxt = (await chat.send("有兴趣"))[-1]  # typed at the outcome step: understood
    assert "考虑" in nxt.text
    await chat.send("/cancel")
    await chat.send("/log")
    await chat.send("王建国")
    await chat.press("lg ch phone")
    await chat.press("lg o interested_thinking")
    unreadable = (await chat.send("asdf"))[-1]
    assert "没看懂这个日期" in unreadable.text
    bad_day = (await chat.send("2026-02-30"))[-1]
    assert "没有这个日期" in bad_day.text
    refused = (await chat.press_data("lg p 99999"))[-1]
    assert "没有找到" in refused.text
    await chat.send("/cancel")
    assert _count(harness, Interaction) == 0 and _count(harness, FollowUp) == 0
    assert _count(harness, Client) == 1


async def test_double_tap_on_save_records_one_interaction(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    confirm = (await chat.send("/log 王建国 成交 20万 稳健理财"))[-1]
    await chat.press("lg ok", message=confirm)
    second = await chat.press("lg ok", message=confirm)  # a new update id: a stale button
    assert all("已保存" not in m.text for m in second)
    assert _count(harness, Interaction) == 1


async def test_lead_logs_only_own_clients(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    theirs = _client(harness, advisor, "李秀英")
    chat = harness.chat(lead)
    assert "李**" in (await chat.send("/client 李秀英"))[-1].text  # may read the card, masked
    assert "您名下没有叫" in (await chat.send("/log 李秀英 有兴趣"))[-1].text
    assert "没有找到" in (await chat.press_data(f"lg c {theirs}"))[-1].text
    assert _count(harness, Interaction) == 0


def test_record_outcome_service(services) -> None:  # type: ignore[no-untyped-def]
    """Policy config, fulfilled vs replaced follow-ups, future meeting reminders kept."""
    from datetime import timedelta

    import pytest

    from coach.actor import Me
    from coach.policy import PolicyConfig
    from coach.services import interactions
    from coach.services.errors import ServiceError
    from coach.services.interactions import LogDraft

    now = services.clock.now()
    with services.db.session() as s:
        owner = factories.user(s, now=now)
        other = factories.user(s, now=now)
        client = factories.client(s, advisor_id=owner.id, now=now)
        rows = {}
        for key, kind, days in (("due", "call", 0), ("later", "message", 10),
                                ("meeting", "meeting_reminder", 4)):
            rows[key] = FollowUp(client_id=client.id, advisor_id=owner.id, kind=kind,
                                 reason="manual", due_at=now + timedelta(days=days),
                                 status="pending", created_at=now)
            s.add(rows[key])
        s.flush()
        ids = {k: r.id for k, r in rows.items()}
        client_id = client.id
        me = Me(owner.id, owner.telegram_id, owner.name, "advisor", None, "zh-Hans",
                "Asia/Shanghai")
        intruder = Me(other.id, other.telegram_id, other.name, "advisor", None, "zh-Hans",
                      "Asia/Shanghai")
    with services.db.session() as s, pytest.raises(ServiceError):
        interactions.record_outcome(s, intruder, LogDraft(client_id=client_id, outcome="sale"),
                                    clock=services.clock)
    with services.db.session() as s:  # "other", no next step: only what was due is done
        logged = interactions.record_outcome(
            s, me, LogDraft(client_id=client_id, outcome="other"), clock=services.clock,
            update_id=42)
        assert (logged.closed, logged.followups) == (1, [])
    with services.db.session() as s:
        status = {k: s.get(FollowUp, i).status for k, i in ids.items()}  # type: ignore[union-attr]
    assert status == {"due": "done", "later": "pending", "meeting": "pending"}
    with services.db.session() as s:  # a sale plans a new call: it replaces the later one
        logged = interactions.record_outcome(
            s, me, LogDraft(client_id=client_id, outcome="sale", amount="100000"),
            clock=services.clock, policy_config=PolicyConfig(post_sale_days=5))
        assert [kind for _, kind in logged.followups] == ["service_call"]
        assert logged.followups[0][0].date().isoformat() == "2026-11-30"
    with services.db.session() as s:
        status = {k: s.get(FollowUp, i).status for k, i in ids.items()}  # type: ignore[union-attr]
        assert status == {"due": "done", "later": "done", "meeting": "pending"}
        assert s.scalar(select(func.count()).select_from(Interaction)) == 2
