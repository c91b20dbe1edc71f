"""Reminders: claimed once, sent once, retried after a crash; buttons; escalation; leave."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from bot.app import build_application
from bot.fakebot import FakeRequest
from coach.services import followups
from handlers import reminders
from storage.db import Database
from storage.models import FollowUp, User
from tests import factories
from tests.conftest import BotHarness


def _due_followup(harness: BotHarness, owner, *, minutes_ago: int = 1,  # type: ignore[no-untyped-def]
                  name: str = "王建国", reason: str = "interested_thinking") -> int:
    from coach.services import people

    with harness.services.db.session() as s:
        user = people.find_user(s, owner.id)
        client = factories.client(s, advisor_id=user.id, name=name, now=harness.clock.now())
        row = FollowUp(client_id=client.id, advisor_id=user.id, kind="call", reason=reason,
                       due_at=harness.clock.now() - timedelta(minutes=minutes_ago),
                       status="pending", created_at=harness.clock.now())
        s.add(row)
        s.flush()
        return row.id


async def run_ticks(app) -> None:  # type: ignore[no-untyped-def]
    """The reminder ticks only (the morning checklist tick would add its own message)."""
    for tick in (reminders.send_due_reminders, reminders.escalate_overdue,
                 reminders.hand_back_after_leave):
        await tick(app)


def _status(harness: BotHarness, followup_id: int) -> str:
    with harness.services.db.session() as s:
        row = s.get(FollowUp, followup_id)
        assert row is not None
        return row.status


async def test_tick_sends_each_due_reminder_once(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    fid = _due_followup(harness, advisor)
    _due_followup(harness, advisor, minutes_ago=-60, name="李秀英")  # not due yet
    await run_ticks(harness.app)
    await run_ticks(harness.app)
    sent = harness.telegram.messages_to(advisor.id)
    assert len(sent) == 1 and "王建国" in sent[0].text
    assert [d for _, d in sent[0].buttons][:2] == [f"fu d {fid}", sent[0].buttons[1][1]]
    assert "推荐话术" in sent[0].text
    assert _status(harness, fid) == "sent"


async def test_restart_does_not_resend(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _due_followup(harness, advisor)
    await run_ticks(harness.app)
    app2 = build_application(harness.services, request=FakeRequest(harness.telegram),
                             rate_limit=False, jobs=False)
    async with app2:
        await run_ticks(app2)
    assert len(harness.telegram.messages_to(advisor.id)) == 1


async def test_crash_after_claim_is_sent_once_after_lease_expiry(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    fid = _due_followup(harness, advisor)
    with harness.services.db.session() as s:  # a worker claims, then dies before sending
        assert followups.claim_due(s, now=harness.clock.now(), lease_seconds=120,
                                   worker="dead") == [fid]
    await run_ticks(harness.app)
    assert harness.telegram.messages_to(advisor.id) == []
    harness.clock.advance(seconds=121)
    await run_ticks(harness.app)
    await run_ticks(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 1
    assert _status(harness, fid) == "sent"


def test_two_schedulers_never_claim_the_same_row(services) -> None:  # type: ignore[no-untyped-def]
    with services.db.session() as s:
        user = factories.user(s, now=services.clock.now())
        client = factories.client(s, advisor_id=user.id, now=services.clock.now())
        for i in range(60):
            s.add(FollowUp(client_id=client.id, advisor_id=user.id, kind="call", reason="manual",
                           due_at=services.clock.now() - timedelta(minutes=i), status="pending",
                           created_at=services.clock.now()))
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def worker(name: str) -> None:
        db = Database(services.settings.database_url)
        for _ in range(10):
            with db.session() as s:
                claimed[name] += followups.claim_due(s, now=services.clock.now(),
                                                     lease_seconds=120, worker=name, limit=7)
        db.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = claimed["a"] + claimed["b"]
    assert len(everything) == 60 and len(set(everything)) == 60


async def test_blocked_advisor_does_not_stop_the_others(harness: BotHarness) -> None:
    blocked = harness.person("advisor")
    fine = harness.person("advisor")
    _due_followup(harness, blocked)
    fid = _due_followup(harness, fine, name="李秀英")
    harness.telegram.blocked_chats.add(blocked.id)
    await run_ticks(harness.app)
    assert len(harness.telegram.messages_to(fine.id)) == 1
    assert _status(harness, fid) == "sent"
    with harness.services.db.session() as s:
        row = s.scalar(select(User).where(User.telegram_id == blocked.id))
        assert row is not None and row.active is False


async def test_transient_error_is_retried_later(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    fid = _due_followup(harness, advisor)
    harness.telegram.fail_next(advisor.id, 500, description="Internal Server Error")
    await run_ticks(harness.app)
    assert _status(harness, fid) == "pending"
    harness.clock.advance(minutes=6)
    await run_ticks(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 1


async def test_snooze_tomorrow_pick_date_cancel_done(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    fid = _due_followup(harness, advisor)
    chat = harness.chat(advisor)
    await run_ticks(harness.app)
    reminder = harness.telegram.messages_to(advisor.id)[-1]
    reply = (await chat.press(f"fu h {fid}", message=reminder))[-1]
    assert "11-25 11:00" in reply.text  # 10:00 + 1 hour
    await run_ticks(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 2  # the reply, no new reminder
    harness.clock.advance(hours=1, minutes=1)
    await run_ticks(harness.app)
    assert "王建国" in harness.telegram.messages_to(advisor.id)[-1].text
    reply = (await chat.press_data(f"fu t {fid}"))[-1]
    assert "11-26 09:00" in reply.text
    await chat.press_data(f"fu p {fid}")
    assert "已经过去" in (await chat.send("11月1日"))[-1].text
    assert "12-03 15:00" in (await chat.send("12/3 15:00"))[-1].text
    with harness.services.db.session() as s:
        row = s.get(FollowUp, fid)
        assert row is not None and row.due_at.isoformat() == "2026-12-03T07:00:00+00:00"
    done = (await chat.press_data(f"fu d {fid}"))[-1]
    assert ("📝 记录结果", done.buttons[0][1]) == done.buttons[0]
    assert _status(harness, fid) == "done"
    fid2 = _due_followup(harness, advisor, name="李秀英")
    await chat.press_data(f"fu x {fid2}")
    assert _status(harness, fid2) == "cancelled"


async def test_buttons_for_another_advisors_followup_are_refused(harness: BotHarness) -> None:
    owner = harness.person("advisor")
    intruder = harness.person("advisor")
    fid = _due_followup(harness, owner)
    chat = harness.chat(intruder)
    for action in "dhtx":
        reply = (await chat.press_data(f"fu {action} {fid}"))[-1]
        assert "不属于您" in reply.text
    assert _status(harness, fid) == "pending"


async def test_escalation_flag_and_lead_message_once(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    fid = _due_followup(harness, advisor, minutes_ago=60 * 24 * 3 + 1)
    chat = harness.chat(advisor)
    assert "🔴" in (await chat.send("/followups"))[-1].text  # day 3: flagged to the advisor
    await run_ticks(harness.app)
    assert harness.telegram.messages_to(lead.id) == []
    harness.clock.advance(days=2)
    await run_ticks(harness.app)
    await run_ticks(harness.app)
    to_lead = harness.telegram.messages_to(lead.id)
    assert len(to_lead) == 1 and "逾期5天" in to_lead[0].text and "王**" in to_lead[0].text
    with harness.services.db.session() as s:
        assert s.get(FollowUp, fid).escalated_lead_at is not None  # type: ignore[union-attr]


async def test_leave_handover_and_return(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    colleague = harness.person("advisor", team="Alpha")
    fid = _due_followup(harness, advisor, minutes_ago=-60 * 24 * 7)  # due Dec 2
    chat = harness.chat(advisor)
    colleague_name = harness.user_row(colleague).username
    reply = (await chat.send(f"/leave 2026-12-01 2026-12-05 @{colleague_name}"))
    assert "1" in reply[-1].text and "交给" in reply[-1].text
    told = harness.telegram.messages_to(colleague.id)[-1]
    assert "休假" in told.text
    with harness.services.db.session() as s:
        row = s.get(FollowUp, fid)
        assert row is not None and row.advisor_id == harness.user_row(colleague).id
    card = (await harness.chat(colleague).send("/client 王建国"))[-1]
    assert "王建国" in card.text  # the colleague may open handed-over clients
    harness.clock.advance(days=11)
    await run_ticks(harness.app)
    with harness.services.db.session() as s:
        row = s.get(FollowUp, fid)
        assert row is not None and row.advisor_id == harness.user_row(advisor).id


async def test_leave_bad_input(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor", team="Alpha"))
    outsider = harness.person("advisor", team="Beta")
    assert "用法" in (await chat.send("/leave tomorrow"))[-1].text
    assert "用法" in (await chat.send("/leave 2026-12-05 2026-13-01 @x"))[-1].text
    bad = (await chat.send("/leave 2026-12-05 2026-12-01 @x"))[-1]
    assert "结束日不能早于" in bad.text
    other = harness.user_row(outsider).username
    assert "不在您的团队" in (await chat.send(f"/leave 2026-12-01 2026-12-05 @{other}"))[-1].text


async def test_export_ics(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _due_followup(harness, advisor)
    replies = await harness.chat(advisor).send("/export_ics")
    doc = replies[-1]
    assert doc.method == "sendDocument"
    data = next(iter(doc.files.values())).decode()
    assert data.startswith("BEGIN:VCALENDAR\r\n") and data.endswith("END:VCALENDAR\r\n")
    assert "BEGIN:VEVENT" in data and "DTSTART:20261125T015900Z" in data
    assert all(len(line.encode()) <= 75 for line in data.split("\r\n"))
