"""Reminders: claimed once, sent once, retried after a crash; buttons; escalation; leave."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from bot.app import build_application
from bot.fakebot import FakeRequest
from bot.jobs import reminders
from bot.jobs.outbox import deliver_outbox
from coach.services import followups
from storage.db import Database
from storage.models import FollowUp, OutboxMessage, User
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
                 reminders.hand_back_after_leave, deliver_outbox):
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


def _outbox(harness: BotHarness, kind: str = "reminder") -> list[OutboxMessage]:
    with harness.services.db.session() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


async def test_transient_error_is_retried_later(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    fid = _due_followup(harness, advisor)
    with harness.services.db.session() as s:
        due = s.get(FollowUp, fid).due_at  # type: ignore[union-attr]
    harness.telegram.fail_next(advisor.id, 500, description="Internal Server Error")
    await run_ticks(harness.app)
    assert _status(harness, fid) == "sent"  # reminded: the outbox holds the message
    [row] = _outbox(harness)
    assert (row.status, row.attempts) == ("pending", 1) and "Internal" in (row.last_error or "")
    await run_ticks(harness.app)  # the first backoff is 1-2 s: not yet
    assert harness.telegram.messages_to(advisor.id) == []
    harness.clock.advance(seconds=2)
    await run_ticks(harness.app)
    await run_ticks(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 1
    [row] = _outbox(harness)
    assert (row.status, row.attempts) == ("sent", 2)
    with harness.services.db.session() as s:
        fu = s.get(FollowUp, fid)
        assert fu is not None and fu.status == "sent" and fu.due_at == due  # never moved


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
    assert len(to_lead) == 1 and "逾期5个工作日" in to_lead[0].text and "王**" in to_lead[0].text
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


# --- claims, the scheduler, the notifier -----------------------------------------------------


def test_interleaved_claimers_and_a_late_worker(services) -> None:  # type: ignore[no-untyped-def]
    """Two databases (two processes): no row twice; a worker whose lease expired loses it."""
    now = services.clock.now()
    with services.db.session() as s:
        user = factories.user(s, now=now)
        client = factories.client(s, advisor_id=user.id, now=now)
        for i in range(5):
            s.add(FollowUp(client_id=client.id, advisor_id=user.id, kind="call", reason="manual",
                           due_at=now - timedelta(minutes=i), status="pending", created_at=now))
    first, second = Database(services.settings.database_url), Database(
        services.settings.database_url)
    try:
        with first.session() as s:
            a = followups.claim_due(s, now=now, lease_seconds=60, worker="a", limit=3)
        with second.session() as s:
            b = followups.claim_due(s, now=now, lease_seconds=600, worker="b", limit=3)
        with second.session() as s:
            assert followups.claim_due(s, now=now, lease_seconds=600, worker="b") == []
        assert len(a) == 3 and len(b) == 2 and not set(a) & set(b)
        later = now + timedelta(seconds=61)  # "a" hung: its leases expire, "b" takes them
        with second.session() as s:
            assert followups.claim_due(s, now=later, lease_seconds=60, worker="b") == sorted(a)
        with first.session() as s:  # "a" wakes up: it no longer holds the claim
            assert not followups.mark_sent(s, a[0], worker="a", now=later)
        with second.session() as s:
            assert followups.mark_sent(s, a[0], worker="b", now=later)
            row = s.get(FollowUp, a[0])
            assert row is not None and (row.status, row.attempts) == ("sent", 2)
    finally:
        first.dispose()
        second.dispose()


async def test_a_failing_tick_does_not_stop_the_others(harness: BotHarness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot import scheduler

    advisor = harness.person("advisor")
    _due_followup(harness, advisor)

    async def broken(app) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    await scheduler.run_ticks(harness.app, [broken, reminders.send_due_reminders, deliver_outbox])
    assert len(harness.telegram.messages_to(advisor.id)) == 1


def test_install_jobs_registers_one_repeating_task_per_job(services) -> None:  # type: ignore[no-untyped-def]
    from bot import scheduler

    app = build_application(services, request=FakeRequest(harness_telegram()), rate_limit=False)
    from bot.app import job_list

    scheduled = scheduler.install_jobs(app, job_list(), every=services.settings.tick_seconds)
    # each job on its own: a slow one never delays the others
    assert [j.name for j in scheduled] == [f"coach-{job.__name__}" for job in job_list()]
    assert reminders.send_due_reminders in job_list()
    assert reminders.escalate_overdue in job_list()
    assert reminders.hand_back_after_leave in job_list()
    assert len(set(job_list())) == len(job_list()) == 11


def harness_telegram():  # type: ignore[no-untyped-def]
    from bot.fakebot import FakeTelegram

    return FakeTelegram()


async def test_429_is_retried_after_retry_after_without_waiting(harness: BotHarness,
                                                                 monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot import notifier

    waited: list[float] = []

    async def no_wait(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(notifier, "_sleep", no_wait)
    advisor = harness.person("advisor")
    other = harness.person("advisor")
    fid = _due_followup(harness, advisor)
    _due_followup(harness, other, name="李秀英")
    harness.telegram.fail_next(advisor.id, 429, description="Too Many Requests: retry after 7",
                               parameters={"retry_after": 7})
    await run_ticks(harness.app)
    # no second retry loop: nobody waited, the others were served, the row waits 7 s
    assert waited == [] and harness.telegram.messages_to(advisor.id) == []
    assert len(harness.telegram.messages_to(other.id)) == 1
    mine = next(r for r in _outbox(harness) if r.telegram_id == advisor.id)
    assert mine.status == "pending"
    assert mine.next_attempt_at == harness.clock.now() + timedelta(seconds=7)
    harness.clock.advance(seconds=6)
    await run_ticks(harness.app)
    assert harness.telegram.messages_to(advisor.id) == []
    harness.clock.advance(seconds=1)
    await run_ticks(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 1
    assert _status(harness, fid) == "sent"


async def test_reminder_without_the_script_library(harness: BotHarness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.services import Services

    def broken(self):  # type: ignore[no-untyped-def]
        raise ImportError("library not built yet")

    monkeypatch.setattr(Services, "catalog", property(broken))
    advisor = harness.person("advisor")
    _due_followup(harness, advisor)
    await run_ticks(harness.app)
    sent = harness.telegram.messages_to(advisor.id)
    assert len(sent) == 1 and "王建国" in sent[0].text and "推荐话术" not in sent[0].text


async def test_reminder_shows_last_contact_and_a_script_by_reason(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    with harness.services.db.session() as s:
        from coach.services import people

        user = people.find_user(s, advisor.id)
        factories.client(s, advisor_id=user.id, name="王建国", now=harness.clock.now())
    await chat.send("/log 王建国 成交 20万 稳健理财")
    await chat.press("lg ok")
    harness.clock.advance(days=8)
    await run_ticks(harness.app)
    reminder = harness.telegram.messages_to(advisor.id)[-1]
    assert "售后回访" in reminder.text and "上次联系" in reminder.text and "11-25" in reminder.text
    assert "推荐话术" in reminder.text
    assert any(d.startswith("lb s ") for _, d in reminder.buttons)  # the post-sale script


# --- buttons: ownership and bad input -------------------------------------------------------


async def test_pick_date_is_checked_and_bad_dates_are_refused(harness: BotHarness) -> None:
    owner = harness.person("advisor")
    intruder = harness.person("advisor")
    fid = _due_followup(harness, owner)
    refused = (await harness.chat(intruder).press_data(f"fu p {fid}"))[-1]
    assert "不属于您" in refused.text
    chat = harness.chat(owner)
    await chat.press_data(f"fu p {fid}")
    assert "没看懂这个日期" in (await chat.send("whenever"))[-1].text
    assert "没有这个日期" in (await chat.send("2026-02-30"))[-1].text
    assert "没有保存" in (await chat.send("/cancel"))[-1].text
    await chat.press_data(f"fu d {fid}")
    assert (await chat.press_data(f"fu p {fid}")) == []  # a toast says it was handled
    toasts = [p.get("text") for m, p in harness.telegram.calls if m == "answerCallbackQuery"]
    assert "已处理" in (toasts[-1] or "")
    with harness.services.db.session() as s:
        row = s.get(FollowUp, fid)
        assert row is not None and row.status == "done"
    assert await chat.press_data("fu d notanumber") == []  # answered quietly, nothing changes


async def test_snooze_resets_escalation_and_closed_rows_cannot_be_snoozed(
        harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    fid = _due_followup(harness, advisor)
    await chat.press_data(f"fu x {fid}")
    assert (await chat.press_data(f"fu h {fid}")) == []  # a toast says it was handled
    toasts = [p.get("text") for m, p in harness.telegram.calls if m == "answerCallbackQuery"]
    assert "已取消" in (toasts[-1] or "")
    assert _status(harness, fid) == "cancelled"


# --- escalation query, leave details, calendar --------------------------------------------------


def test_overdue_followups_query(services) -> None:  # type: ignore[no-untyped-def]
    now = services.clock.now()
    with services.db.session() as s:
        user = factories.user(s, now=now)
        client = factories.client(s, advisor_id=user.id, now=now)
        for days, status in ((4, "pending"), (3, "sent"), (2, "pending"), (5, "done")):
            s.add(FollowUp(client_id=client.id, advisor_id=user.id, kind="call", reason="manual",
                           due_at=now - timedelta(days=days), status=status, created_at=now))
        user_id = user.id
    with services.db.session() as s:
        rows = followups.overdue_followups(s, [user_id], now, 3)
        assert [(r[0], r[2], (now - r[4]).days) for r in rows] == [
            (user_id, "王建国", 4), (user_id, "王建国", 3)]
        assert followups.overdue_followups(s, [], now, 3) == []


async def test_lead_hands_over_for_an_advisor_and_colleague_covers(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    colleague = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    fid = _due_followup(harness, advisor, minutes_ago=-60 * 24 * 7)  # Dec 2, 10:01
    _due_followup(harness, advisor, minutes_ago=-60 * 24 * 20, name="李秀英")  # after the leave
    who, to = harness.user_row(advisor).username, harness.user_row(colleague).username
    assert "已经结束" in (await harness.chat(lead).send(
        f"/leave @{who} 2026-11-01 2026-11-05 @{to}"))[-1].text
    done = (await harness.chat(lead).send(f"/leave @{who} 2026-12-01 2026-12-05 @{to}"))[-1]
    assert "1" in done.text
    helper = harness.chat(colleague)
    assert "您名下没有" in (await helper.send("/client 李秀英"))[-1].text  # not handed over
    harness.clock.advance(days=7, minutes=2)
    await run_ticks(harness.app)
    reminder = harness.telegram.messages_to(colleague.id)[-1]
    assert "王建国" in reminder.text
    done_reply = (await helper.press(f"fu d {fid}", message=reminder))[-1]
    await helper.press(1, message=done_reply)  # 📝 log what happened
    await helper.press("lg ch phone")
    await helper.press("lg o interested_thinking")
    await helper.send("12/4 15:00")
    await helper.press("lg nt -")
    await helper.press("lg ok")
    with harness.services.db.session() as s:
        new = s.scalars(select(FollowUp).where(FollowUp.interaction_id.is_not(None))).one()
        assert new.advisor_id == harness.user_row(colleague).id  # due in the leave
        assert new.original_advisor_id == harness.user_row(advisor).id
    harness.clock.advance(days=4)
    await run_ticks(harness.app)
    assert "欢迎回来" in harness.telegram.messages_to(advisor.id)[-1].text
    with harness.services.db.session() as s:
        back = s.get(FollowUp, new.id)
        assert back is not None and back.advisor_id == harness.user_row(advisor).id
    assert "您名下没有" in (await helper.send("/client 王建国"))[-1].text  # visibility ended


async def test_export_ics_masks_names_folds_and_escapes(harness: BotHarness) -> None:
    from coach.ics import fold

    advisor = harness.person("advisor")
    from types import SimpleNamespace

    from coach.ics import followups_calendar

    _due_followup(harness, advisor, name="欧阳娜娜")
    replies = await harness.chat(advisor).send("/export_ics")
    data = next(iter(replies[-1].files.values())).decode()
    assert "SUMMARY:欧阳** · " in data and "娜娜" not in data  # privacy mode masks names
    item = SimpleNamespace(id=7, client_name="Chen; Li, Jr", reason="sale",
                           due_at=harness.clock.now())
    text = followups_calendar([item], now=harness.clock.now(), reason_text=str).decode()
    assert "SUMMARY:Chen\\; Li\\, Jr · sale\r\n" in text
    assert "UID:followup-" in data and "DTSTAMP:20261125T020000Z" in data
    long = "SUMMARY:" + "长" * 60
    folded = fold(long)
    assert folded.replace("\r\n ", "") == long
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    empty = await harness.chat(harness.person("advisor")).send("/export_ics")
    assert "BEGIN:VEVENT" not in next(iter(empty[-1].files.values())).decode()
