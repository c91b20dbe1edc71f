"""Morning briefing: compose, send to each member once, 403, 429, crash resume, acks, nudges."""

from __future__ import annotations

from sqlalchemy import select

from coach.services import briefing
from handlers.briefing import briefings_tick, broadcast_pending
from storage.models import BriefingDelivery, User
from tests.conftest import BotHarness


async def _compose(harness: BotHarness, lead, *, send: str = "bf now"):  # type: ignore[no-untyped-def]
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("团队今天目标：通话120通，成交5笔")
    await chat.send("稳健增利90天 R2：业绩比较基准2.8%-3.2%，到期自动赎回")
    await chat.press("bf skip market")
    await chat.send("一起加油！")
    replies = await chat.press("bf skip photo")
    assert "今日目标" in replies[0].text and "通话120通" in replies[0].text
    return await chat.press(send)


async def test_send_now_reaches_every_member_once_with_ack_button(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    members = [harness.person("advisor", team="Alpha") for _ in range(3)]
    outsider = harness.person("advisor", team="Beta")
    replies = await _compose(harness, lead)
    assert "3 位团队成员" in replies[-1].text
    await broadcast_pending(harness.app)
    await briefings_tick(harness.app)
    for member in members:
        got = harness.telegram.messages_to(member.id)
        assert len(got) == 1 and "晨会简报" in got[0].text
        assert got[0].buttons[0][1].startswith("bf ack ")
    assert harness.telegram.messages_to(outsider.id) == []
    # acknowledgement, crafted acks refused, status for the lead
    first = harness.telegram.messages_to(members[0].id)[0]
    await harness.chat(members[0]).press(first.buttons[0][1], message=first)
    await harness.chat(members[1]).press_data(first.buttons[0][1])  # someone else's delivery
    status = (await harness.chat(lead).send("/briefing_status"))[-1].text
    assert "✅ 1" in status and "⏳ 2" in status
    # nudge list once, after the nudge time
    harness.clock.advance(hours=1, minutes=1)
    await briefings_tick(harness.app)
    await briefings_tick(harness.app)
    nudges = [m for m in harness.telegram.messages_to(lead.id) if "还未确认" in m.text]
    assert len(nudges) == 1


async def test_blocked_member_is_reported_and_others_still_receive(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    blocked = harness.person("advisor", team="Alpha", name="屏蔽者")
    fine = harness.person("advisor", team="Alpha")
    harness.telegram.blocked_chats.add(blocked.id)
    await _compose(harness, lead)
    await broadcast_pending(harness.app)
    assert len(harness.telegram.messages_to(fine.id)) == 1
    assert any("屏蔽者" in m.text for m in harness.telegram.messages_to(lead.id))
    with harness.services.db.session() as s:
        assert s.scalar(select(User.active).where(User.telegram_id == blocked.id)) is False


async def test_429_is_honoured_and_delivered_once(harness: BotHarness) -> None:
    import bot.notifier as notifier_module

    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    harness.telegram.fail_next(member.id, 429, parameters={"retry_after": 3},
                               description="Too Many Requests: retry after 3")
    original = notifier_module._sleep
    notifier_module._sleep = fake_sleep
    try:
        await _compose(harness, lead)
        await broadcast_pending(harness.app)
    finally:
        notifier_module._sleep = original
    assert waits == [3.0]
    assert len(harness.telegram.messages_to(member.id)) == 1


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


async def test_schedule_every_working_day(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    replies = await _compose(harness, lead, send="bf rep 08:15")
    assert "每个工作日" in replies[-1].text
    await briefings_tick(harness.app)
    assert harness.telegram.messages_to(member.id) == []  # 10:00 now: first run tomorrow
    harness.clock.advance(hours=22, minutes=16)  # Thursday 08:16
    await briefings_tick(harness.app)
    assert len(harness.telegram.messages_to(member.id)) == 1
    harness.clock.advance(days=1)  # Friday 08:16
    await briefings_tick(harness.app)
    harness.clock.advance(days=1)  # Saturday: no briefing
    await briefings_tick(harness.app)
    assert len(harness.telegram.messages_to(member.id)) == 2


async def test_briefing_shows_in_the_morning_checklist(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    await _compose(harness, lead)
    await broadcast_pending(harness.app)
    today = (await harness.chat(member).send("/today"))[-1]
    data = next(d for _, d in today.buttons if d.startswith("bf show "))
    shown = (await harness.chat(member).press(data, message=today))[-1]
    assert "今日目标" in shown.text


async def test_advisors_cannot_brief_and_cancel_sends_nothing(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    assert "角色不能使用" in (await harness.chat(member).send("/briefing"))[-1].text
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("目标")
    await chat.send("/cancel")
    await briefings_tick(harness.app)
    assert len(harness.telegram.messages_to(member.id)) == 1  # only the refusal


async def test_link_group(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    chat = harness.chat(lead)
    reply = (await chat.send("/linkgroup", chat_id=-100123, chat_type="group"))[-1]
    assert "本群将收到" in reply.text
    assert "团队群" in (await chat.send("/linkgroup"))[-1].text
    await chat.send("/briefing")
    await chat.send("目标")
    await chat.press("bf skip products")
    await chat.press("bf skip market")
    await chat.press("bf skip motto")
    await chat.press("bf skip photo")
    await chat.press("bf grp")
    await chat.press("bf now")
    await broadcast_pending(harness.app)
    group = harness.telegram.messages_to(-100123)
    assert len(group) == 2 and not group[-1].buttons  # no personal ack button in the group


async def test_photo_is_attached_to_the_briefing(harness: BotHarness) -> None:
    from bot.chat import LocalChat

    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha")
    chat: LocalChat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("目标")
    await chat.press("bf skip products")
    await chat.press("bf skip market")
    await chat.press("bf skip motto")
    photo = harness.telegram.message_update(lead, "")
    del photo["message"]["text"]
    photo["message"]["photo"] = [{"file_id": "flyer-123", "file_unique_id": "u", "width": 10,
                                  "height": 10}]
    await chat._deliver(photo)
    await chat.press("bf now")
    await broadcast_pending(harness.app)
    got = harness.telegram.messages_to(member.id)
    assert [m.method for m in got] == ["sendPhoto", "sendMessage"]
    assert got[0].params["photo"] == "flyer-123"
