"""Morning briefing: compose, schedule, send to each member once, 403, 429, crash resume,
acks, nudges, group masking, attachments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.chat import LocalChat
from bot.jobs.briefings import briefings_tick, broadcast_pending
from bot.jobs.outbox import deliver_outbox
from coach.actor import Me
from coach.services import briefing, people
from storage.models import Briefing, BriefingDelivery, Interaction, Product, User
from tests import factories
from tests.conftest import BotHarness


async def _compose(harness: BotHarness, lead, *, send: str = "bf now",  # type: ignore[no-untyped-def]
                   per_advisor: str | None = None) -> list[Any]:
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("团队今天目标：通话120通，成交5笔")
    if per_advisor:
        await chat.send(per_advisor)
    else:
        await chat.press("bf skip per_advisor")
    await chat.send("稳健增利90天 R2：业绩比较基准2.8%-3.2%，到期自动赎回")
    await chat.press("bf skip market")
    await chat.send("一起加油！")
    replies = await chat.press("bf skip photo")
    assert "今日目标" in replies[0].text and "通话120通" in replies[0].text
    return await chat.press(send)


async def _photo(chat: LocalChat, harness: BotHarness, lead, file_id: str) -> None:  # type: ignore[no-untyped-def]
    update = harness.telegram.message_update(lead, "")
    del update["message"]["text"]
    update["message"]["photo"] = [{"file_id": file_id, "file_unique_id": "u", "width": 10,
                                   "height": 10}]
    await chat._deliver(update)


def _uid(harness: BotHarness, fake) -> int:  # type: ignore[no-untyped-def]
    return harness.user_row(fake).id


async def test_send_now_reaches_every_member_once_with_ack_button(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    members = [harness.person("advisor", team="Alpha") for _ in range(3)]
    outsider = harness.person("advisor", team="Beta")
    replies = await _compose(harness, lead)
    assert "3 位团队成员" in replies[-1].text
    assert "10:30" in replies[-1].text  # 09:00 has passed: the unread list half an hour later
    await broadcast_pending(harness.app)
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    for member in members:
        got = harness.telegram.messages_to(member.id)
        assert len(got) == 1 and "晨会简报" in got[0].text
        assert got[0].buttons[0] == ("✅ 收到", got[0].buttons[0][1])
        assert got[0].buttons[0][1].startswith("bf ack ")
    assert harness.telegram.messages_to(outsider.id) == []
    # acknowledgement (twice is fine), crafted acks refused, status for the lead
    first = harness.telegram.messages_to(members[0].id)[0]
    await harness.chat(members[0]).press(first.buttons[0][1], message=first)
    await harness.chat(members[0]).press(first.buttons[0][1], message=first)
    await harness.chat(members[1]).press_data(first.buttons[0][1])  # someone else's delivery
    await harness.chat(members[1]).press_data("bf ack 999999")
    status = (await harness.chat(lead).send("/briefing status"))[-1].text
    assert "✅ 1" in status and "⏳ 2" in status
    assert "⏳ 2" in (await harness.chat(lead).send("/briefing_status"))[-1].text
    # the unread list once, at the nudge time, naming who has not acknowledged
    harness.clock.advance(minutes=29)
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert not [m for m in harness.telegram.messages_to(lead.id) if "可以提醒一下" in m.text]
    harness.clock.advance(minutes=2)
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    nudges = [m for m in harness.telegram.messages_to(lead.id) if "可以提醒一下" in m.text]
    assert len(nudges) == 1
    waiting = {harness.user_row(m).name for m in members[1:]}
    assert all(name in nudges[0].text for name in waiting)


async def test_yesterday_numbers_are_filled_in(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha")
    other_team = harness.person("advisor", team="Beta")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        for fake, outcome, amount, days in ((ann, "sale", 200_000, 1), (ann, "no_answer", 0, 1),
                                            (ann, "sale", 50_000, 0),  # today: not yesterday
                                            (other_team, "sale", 90_000, 1)):
            uid = harness.user_row(fake).id
            client = factories.client(s, advisor_id=uid, now=now, name=f"客户{uid}{days}")
            s.add(Interaction(client_id=client.id, advisor_id=uid, channel="phone",
                              outcome=outcome, amount=Decimal(amount) if amount else None,
                              occurred_at=now - timedelta(days=days), created_at=now))
    await _compose(harness, lead)
    await broadcast_pending(harness.app)
    text = harness.telegram.messages_to(ann.id)[0].text
    assert "通话 2 通，面谈 0 次，成交 1 笔（20万）" in text


async def test_layouts_edit_per_advisor_targets_and_catalogue_products(
        harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha", name="安娜")
    bob = harness.person("advisor", team="Alpha", name="博文")
    with harness.services.db.session() as s:
        s.add(Product(code="WX90", name="稳享90天", type="wealth", risk_rating="R2",
                      benefits="到期资金自动回到活期，方便安排"))
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("通话100通")
    unknown = await chat.send("外人：10通")
    assert "不在您的团队" in unknown[0].text  # not an advisor of this team: asked again
    await chat.send("安娜：12通电话\n博：8通，1次面谈")
    await chat.send("WX90\n金选债基 (R3) 回撤小，适合定投")
    await chat.press("bf skip market")
    await chat.press("bf skip motto")
    preview = await chat.press("bf skip photo")
    text = preview[0].text
    assert "稳享90天 (R2): 到期资金自动回到活期" in text
    assert "金选债基 (R3): 回撤小，适合定投" in text
    assert "安娜: 12通电话" in text and "博文: 8通，1次面谈" in text
    # pick another layout: the preview changes, the choice is ticked
    kickoff = await chat.press("bf tpl kickoff")
    assert "周一开工" in kickoff[0].text and "每天十通用心的电话" in kickoff[0].text
    assert ("☑️ 🚀 周一开工", "bf tpl kickoff") in kickoff[-1].buttons
    short = await chat.press("bf tpl short")
    assert "稳享90天 / 金选债基" in short[0].text
    # edit the text: the body is offered to copy, the numbers stay automatic
    offer = (await chat.press("bf edit"))[-1]
    body = offer.text.split("<pre>")[1]
    assert "通话100通" in body and "昨日" not in body and "<b>" not in body
    edited = await chat.send("今天主推稳享90天，下午三点前每人至少约到一位客户。")
    assert "下午三点前" in edited[0].text and "昨日" in edited[0].text
    await chat.press("bf now")
    await broadcast_pending(harness.app)
    to_ann = harness.telegram.messages_to(ann.id)[0].text
    assert "下午三点前" in to_ann and "您今天的目标</b>: 12通电话" in to_ann
    assert "博文" not in to_ann  # members see their own target only
    assert "您今天的目标</b>: 8通，1次面谈" in harness.telegram.messages_to(bob.id)[0].text


async def test_schedule_today_then_nudge_at_nine(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    members = [harness.person("advisor", team="Alpha") for _ in range(2)]
    replies = await _compose(harness, lead, send="bf at 08:15")  # Wednesday 10:00 now
    assert "11-26 08:15" in replies[-1].text and "09:00" in replies[-1].text
    with harness.services.db.session() as s:
        row = s.scalars(select(Briefing)).one()
        assert row.status == "scheduled" and not row.repeat_workdays
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    harness.clock.advance(hours=22, minutes=14)  # Thursday 08:14
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert all(harness.telegram.messages_to(m.id) == [] for m in members)
    harness.clock.advance(minutes=2)  # 08:16
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert all(len(harness.telegram.messages_to(m.id)) == 1 for m in members)
    ack = harness.telegram.messages_to(members[0].id)[0]
    await harness.chat(members[0]).press(ack.buttons[0][1], message=ack)
    harness.clock.advance(minutes=45)  # 09:01
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    nudge = [m for m in harness.telegram.messages_to(lead.id) if "可以提醒一下" in m.text]
    assert len(nudge) == 1 and harness.user_row(members[1]).name in nudge[0].text
    assert "✅ 1" in nudge[0].text
    harness.clock.advance(days=1)
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert all(len(harness.telegram.messages_to(m.id)) == 1 for m in members)  # once only


async def test_schedule_every_working_day_at_a_typed_time(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    chat = harness.chat(lead)
    await _compose(harness, lead, send="bf ng")  # unread list 09:30 instead of 09:00
    retimed = await chat.send("8:30")
    assert ("🔁 每个工作日08:30", "bf rep 08:30") in retimed[-1].buttons
    assert "bad" not in (await chat.send("bad time"))[-1].text
    replies = await chat.press("bf rep 08:30")
    assert "每个工作日" in replies[-1].text and "09:30" in replies[-1].text
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert harness.telegram.messages_to(member.id) == []  # 10:00 now: first run tomorrow
    harness.clock.advance(hours=22, minutes=31)  # Thursday 08:31
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(member.id)) == 1
    harness.clock.advance(days=1)  # Friday 08:31
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    harness.clock.advance(days=1)  # Saturday: no briefing
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    harness.clock.advance(days=1)  # Sunday: none either
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(member.id)) == 2
    harness.clock.advance(days=1)  # Monday
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(member.id)) == 3
    with harness.services.db.session() as s:
        upcoming = s.scalars(select(Briefing).where(Briefing.status == "scheduled")).one()
        assert upcoming.send_at.isoformat().startswith("2026-12-01")  # type: ignore[union-attr]


async def test_blocked_member_is_reported_and_others_still_receive(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    blocked = harness.person("advisor", team="Alpha", name="屏蔽者")
    fine = [harness.person("advisor", team="Alpha") for _ in range(3)]
    harness.telegram.blocked_chats.add(blocked.id)
    await _compose(harness, lead)
    await broadcast_pending(harness.app)
    assert all(len(harness.telegram.messages_to(f.id)) == 1 for f in fine)
    reports = [m for m in harness.telegram.messages_to(lead.id) if "已屏蔽机器人（" in m.text]
    assert len(reports) == 1 and "已标记为停用" in reports[0].text
    with harness.services.db.session() as s:
        assert s.scalar(select(User.active).where(User.telegram_id == blocked.id)) is False
    assert "已屏蔽机器人: 屏蔽者" in (await harness.chat(lead).send("/briefing status"))[-1].text
    # the next briefing skips them altogether
    await _compose(harness, lead)
    await broadcast_pending(harness.app)
    assert len([m for m in harness.telegram.messages_to(lead.id)
                if "已屏蔽机器人（" in m.text]) == 1
    assert all(len(harness.telegram.messages_to(f.id)) == 2 for f in fine)


async def test_429_is_honoured_and_delivered_once(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    other = harness.person("advisor", team="Alpha")
    harness.telegram.fail_next(member.id, 429, parameters={"retry_after": 3},
                               description="Too Many Requests: retry after 3")
    await _compose(harness, lead)
    assert await broadcast_pending(harness.app) == 1  # the other; the 429 waits its 3 s
    assert harness.telegram.messages_to(member.id) == []
    harness.clock.advance(seconds=3)
    assert await broadcast_pending(harness.app) == 1
    assert len(harness.telegram.messages_to(member.id)) == 1
    assert len(harness.telegram.messages_to(other.id)) == 1


async def test_network_error_is_retried_later_then_given_up(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    flaky = harness.person("advisor", team="Alpha")
    dead = harness.person("advisor", team="Alpha")
    tries = harness.services.settings.outbox_max_attempts
    harness.telegram.fail_next(flaky.id, 502, description="Bad Gateway")
    for _ in range(tries):
        harness.telegram.fail_next(dead.id, 502, description="Bad Gateway")
    await _compose(harness, lead)
    assert await broadcast_pending(harness.app) == 0  # both failed, neither retried at once
    assert harness.telegram.messages_to(flaky.id) == []
    for _ in range(tries):
        harness.clock.advance(hours=1)  # the outbox backs off up to an hour
        await broadcast_pending(harness.app)
    assert len(harness.telegram.messages_to(flaky.id)) == 1
    assert harness.telegram.messages_to(dead.id) == []
    with harness.services.db.session() as s:
        statuses = dict(s.execute(select(BriefingDelivery.chat_id, BriefingDelivery.status)).all())
    assert statuses == {flaky.id: "sent", dead.id: "failed"}
    reports = [m for m in harness.telegram.messages_to(lead.id) if "未送达" in m.text]
    assert len(reports) == 1  # the lead is told once
    assert "未能送达" in (await harness.chat(lead).send("/briefing status"))[-1].text


async def test_crash_mid_broadcast_resumes_without_duplicates(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    members = [harness.person("advisor", team="Alpha") for _ in range(5)]
    await _compose(harness, lead)
    with harness.services.db.session() as s:  # a sender claimed two rows and died
        claimed = briefing.claim_deliveries(s, now=harness.clock.now(), lease_seconds=120,
                                            limit=2)
        assert len(claimed) == 2
        # and one more was sent before the crash
        sent = briefing.claim_deliveries(s, now=harness.clock.now(), lease_seconds=120,
                                         limit=1)[0]
        briefing.finish(s, sent.delivery_id, status="sent", now=harness.clock.now())
    await broadcast_pending(harness.app)
    counts = [len(harness.telegram.messages_to(m.id)) for m in members]
    assert sorted(counts) == [0, 0, 0, 1, 1]  # two leased, one "sent" before the crash
    harness.clock.advance(seconds=121)
    await broadcast_pending(harness.app)
    counts = [len(harness.telegram.messages_to(m.id)) for m in members]
    assert sorted(counts) == [0, 1, 1, 1, 1]  # the pre-crash send is not repeated
    with harness.services.db.session() as s:
        statuses = sorted(s.scalars(select(BriefingDelivery.status)))
    assert statuses == ["sent"] * 5


def test_claims_are_disjoint_and_a_briefing_starts_once(services, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    with services.db.session() as s:
        team = factories.team(s, "Alpha", now=now)
        lead = factories.user(s, role="lead", team_id=team.id, now=now)
        for _ in range(7):
            factories.user(s, role="advisor", team_id=team.id, now=now)
        me = Me(lead.id, lead.telegram_id, lead.name, "lead", team.id, "zh-Hans",
                "Asia/Shanghai")
        row = briefing.create(s, me, {"targets": "x"}, now=now, send_at=None,
                              repeat_workdays=False, include_group=False)
        briefing_id = row.id
    with services.db.session() as s:
        assert briefing.start_sending(s, briefing_id, now=now) == 7
    with services.db.session() as s:  # a second tick racing for the same briefing
        assert briefing.start_sending(s, briefing_id, now=now) == 0
        assert briefing.due_to_start(s, now=now) == []
    seen: list[int] = []
    for _ in range(4):
        with services.db.session() as s:
            seen += [c.delivery_id for c in briefing.claim_deliveries(
                s, now=now, lease_seconds=60, limit=2)]
    assert len(seen) == len(set(seen)) == 7


def test_focus_products_parsing(services, clock) -> None:  # type: ignore[no-untyped-def]
    with services.db.session() as s:
        s.add(Product(code="GD1", name="金选债基", type="fund", risk_rating="R3",
                      advantages="回撤小"))
        s.flush()
        parsed = briefing.parse_products(s, "GD1\n- 稳健增利R2：到期自动赎回；黄金积存：小额起投")
    assert parsed == [
        {"name": "金选债基", "rating": "R3", "points": "回撤小"},
        {"name": "稳健增利", "rating": "R2", "points": "到期自动赎回"},
        {"name": "黄金积存", "rating": None, "points": "小额起投"},
    ]


async def test_briefing_shows_in_the_morning_checklist(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha", name="安娜")
    await _compose(harness, lead, per_advisor="安娜 15通")
    await broadcast_pending(harness.app)
    today = (await harness.chat(member).send("/today"))[-1]
    data = next(d for _, d in today.buttons if d.startswith("bf show "))
    shown = (await harness.chat(member).press(data, message=today))[-1]
    assert "今日目标" in shown.text and "15通" in shown.text
    assert not shown.buttons  # reading it again is not an acknowledgement
    outsider = harness.person("advisor", team="Beta")
    refused = (await harness.chat(outsider).press_data(data))[-1]
    assert "无法查看" in refused.text


async def test_advisors_cannot_brief_and_cancel_sends_nothing(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    for command in ("/briefing", "/briefing status", "/briefing_status", "/team",
                    "/report week", "/overdue"):
        assert "角色不能使用" in (await harness.chat(member).send(command))[-1].text, command
    assert "角色不能使用" in (await harness.chat(member).send(
        "/linkgroup", chat_id=-100999, chat_type="group"))[-1].text
    await harness.chat(member).press_data("bf now")  # no flow: nothing happens
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("目标")
    await chat.send("/cancel")
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    with harness.services.db.session() as s:
        assert s.scalars(select(Briefing)).all() == []
        assert people.get_team(s, "Alpha").group_chat_id is None
    assert not [m for m in harness.telegram.messages_to(member.id) if "晨会简报" in m.text]


async def test_group_gets_it_once_with_client_names_masked(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    with harness.services.db.session() as s:
        factories.client(s, advisor_id=_uid(harness, member), now=harness.clock.now(),
                         name="王建国")
    chat = harness.chat(lead)
    reply = (await chat.send("/linkgroup", chat_id=-100123, chat_type="group"))[-1]
    assert "本群将收到" in reply.text
    assert "团队群" in (await chat.send("/linkgroup"))[-1].text
    await chat.send("/briefing")
    await chat.send("跟进王建国的到期资金，电话13800001234")
    for step in ("per_advisor", "products", "market", "motto", "photo"):
        await chat.press(f"bf skip {step}")
    await chat.press("bf grp")
    await chat.press("bf now")
    await broadcast_pending(harness.app)
    group = [m for m in harness.telegram.messages_to(-100123) if "晨会简报" in m.text]
    assert len(group) == 1 and not group[0].buttons  # no personal ack button in the group
    assert "王**" in group[0].text and "王建国" not in group[0].text
    assert "13800001234" not in group[0].text
    assert "王建国" in harness.telegram.messages_to(member.id)[0].text  # private: as written


async def test_photo_is_the_briefing_with_a_caption(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("目标")
    for step in ("per_advisor", "products", "market", "motto"):
        await chat.press(f"bf skip {step}")
    await _photo(chat, harness, lead, "flyer-123")
    await chat.press("bf now")
    await broadcast_pending(harness.app)
    got = harness.telegram.messages_to(member.id)
    assert [m.method for m in got] == ["sendPhoto"]
    assert got[0].params["photo"] == "flyer-123" and "晨会简报" in got[0].text
    assert got[0].buttons[0][1].startswith("bf ack ")


async def test_long_briefing_sends_the_attachment_first(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("目标")
    for step in ("per_advisor", "products"):
        await chat.press(f"bf skip {step}")
    await chat.send("债市：" + "收益率小幅下行，" * 90)
    await chat.send("加油！" * 100)
    await _photo(chat, harness, lead, "chart-9")
    await chat.press("bf now")
    await broadcast_pending(harness.app)
    got = harness.telegram.messages_to(member.id)
    assert [m.method for m in got] == ["sendPhoto", "sendMessage"]
    assert got[0].params["photo"] == "chart-9" and got[1].buttons[0][1].startswith("bf ack ")


async def test_send_now_starts_sending_without_waiting_for_the_tick(
        harness: BotHarness) -> None:
    import asyncio

    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    started: list[asyncio.Task[object]] = []
    create_task = harness.app.create_task

    def recording_create_task(*args: Any, **kwargs: Any) -> asyncio.Task[object]:
        task = create_task(*args, **kwargs)
        started.append(task)
        return task

    harness.app._running = True  # as under run_polling: create_task is allowed
    harness.app.create_task = recording_create_task  # type: ignore[method-assign]
    try:
        await _compose(harness, lead)
        # recorded when created: under load the task may already be done by now
        broadcasts = [t for t in started if t.get_name() == "briefing-broadcast"]
        assert len(broadcasts) == 1
        await broadcasts[0]
    finally:
        harness.app._running = False
        del harness.app.create_task
    assert len(harness.telegram.messages_to(member.id)) == 1
