"""Morning checklist and work logs: sections, cadence edges, time zones, once per day."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from openpyxl import load_workbook

from bot.app import build_application
from bot.fakebot import FakeRequest
from bot.jobs.digest import evening_work_logs, morning_checklists
from bot.jobs.outbox import deliver_outbox
from coach.digest import CadenceConfig, birthday_in
from coach.services import digest, people
from storage.models import Appointment, DigestLog, FollowUp, Interaction, User
from tests import factories
from tests.conftest import BotHarness

CFG = CadenceConfig()


def _user(harness: BotHarness, fake) -> User:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        user = people.find_user(s, fake.id)
        assert user is not None
        return user


def _checklist(harness: BotHarness, fake):  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        user = people.find_user(s, fake.id)
        return digest.checklists(s, [user], now=harness.clock.now(), config=CFG, region="CN",
                                 call_target=10)[user.id]


def _kinds(checklist) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(i.kind, i.client_name) for i in checklist.items]


def test_birthday_on_feb_29_in_a_non_leap_year() -> None:
    assert birthday_in(date(1980, 2, 29), date(2027, 2, 25), 7) == date(2027, 2, 28)
    assert birthday_in(date(1980, 2, 29), date(2028, 2, 25), 7) == date(2028, 2, 29)
    assert birthday_in(date(1980, 3, 10), date(2026, 11, 25), 7) is None
    assert birthday_in(date(1970, 1, 1), date(2026, 12, 28), 7) == date(2027, 1, 1)


def test_contacted_29_vs_31_days_ago(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        uid = _user(harness, advisor).id
        factories.client(s, advisor_id=uid, name="近联系", now=now,
                         last_contact_at=now - timedelta(days=29),
                         last_meeting_at=now - timedelta(days=10))
        factories.client(s, advisor_id=uid, name="久未联系", now=now,
                         last_contact_at=now - timedelta(days=31),
                         last_meeting_at=now - timedelta(days=10))
        factories.client(s, advisor_id=uid, name="大众客户", tier="mass", now=now,
                         last_contact_at=now - timedelta(days=200))
    kinds = _kinds(_checklist(harness, advisor))
    assert ("vip_contact", "久未联系") in kinds
    assert ("vip_contact", "近联系") not in kinds and ("vip_contact", "大众客户") not in kinds


def test_every_section(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    now = harness.clock.now()  # Wed 2026-11-25 10:00 Shanghai
    with harness.services.db.session() as s:
        uid = _user(harness, advisor).id
        recent = dict(last_contact_at=now - timedelta(days=1),
                      last_meeting_at=now - timedelta(days=1))
        a = factories.client(s, advisor_id=uid, name="约见客户", now=now, **recent)
        s.add(Appointment(client_id=a.id, advisor_id=uid, starts_at=now + timedelta(hours=4),
                          created_at=now))
        b = factories.client(s, advisor_id=uid, name="跟进客户", now=now, **recent)
        s.add(FollowUp(client_id=b.id, advisor_id=uid, kind="call", reason="interested_thinking",
                       due_at=now - timedelta(days=4), status="pending", created_at=now))
        c = factories.client(s, advisor_id=uid, name="到期客户", now=now, **recent)
        factories.holding(s, client_id=c.id, maturity=date(2026, 11, 30))
        factories.holding(s, client_id=c.id, product="远期", maturity=date(2026, 12, 20))
        factories.client(s, advisor_id=uid, name="寿星", now=now, birthday=date(1970, 11, 27),
                         **recent)
        factories.client(s, advisor_id=uid, name="测评将到期", now=now,
                         assessed_on=date(2026, 6, 10), **recent)
        factories.client(s, advisor_id=uid, name="测评已过期", now=now, tier="wealth",
                         assessed_on=date(2026, 5, 1), **recent)
        factories.client(s, advisor_id=uid, name="新开户", now=now, tier="mass",
                         opened_on=date(2026, 11, 20))
        d = factories.client(s, advisor_id=uid, name="成交客户", now=now, tier="wealth",
                             last_contact_at=now - timedelta(days=8))
        s.add(Interaction(client_id=d.id, advisor_id=uid, channel="phone", outcome="sale",
                          amount=Decimal(100000), occurred_at=now - timedelta(days=8),
                          created_at=now))
        s.add(Interaction(client_id=d.id, advisor_id=uid, channel="phone", outcome="no_answer",
                          occurred_at=now - timedelta(days=1), created_at=now))
    checklist = _checklist(harness, advisor)
    kinds = _kinds(checklist)
    assert kinds[0] == ("appointment", "约见客户")
    for expected in [("overdue_flag", "跟进客户"), ("maturity", "到期客户"),
                     ("birthday", "寿星"), ("risk_expiring", "测评将到期"),
                     ("risk_expired", "测评已过期"), ("new_account", "新开户"),
                     ("post_sale", "成交客户")]:
        assert expected in kinds, expected
    assert ("maturity", "到期客户") in kinds and len([k for k in kinds if k[0] == "maturity"]) == 1
    assert checklist.calls_yesterday == 1
    assert [h[2] for h in checklist.holidays] == []


async def test_today_command_paging_and_empty_book(harness: BotHarness) -> None:
    empty = harness.person("advisor")
    text = (await harness.chat(empty).send("/today"))[-1].text
    assert "您还没有客户" in text
    busy = harness.person("advisor")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        uid = _user(harness, busy).id
        for i in range(30):
            factories.client(s, advisor_id=uid, name=f"客户{i:02d}", now=now,
                             last_contact_at=now - timedelta(days=40 + i))
    chat = harness.chat(busy)
    first = (await chat.send("/today"))[-1]
    assert "客户29：已 69 天未联系" in first.text
    more = [d for _, d in first.buttons if d.startswith("dg p ")]
    assert more == ["dg p 1"]
    second = (await chat.press("dg p 1", message=first))[-1]
    assert ("◀️ 上一页", "dg p 0") in second.buttons


async def test_morning_tick_once_per_day_across_restart(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    app2 = build_application(harness.services, request=FakeRequest(harness.telegram),
                             rate_limit=False, jobs=False)
    async with app2:
        await morning_checklists(app2)
        await deliver_outbox(app2)
    assert len(harness.telegram.messages_to(advisor.id)) == 1
    assert "早上好" in harness.telegram.messages_to(advisor.id)[0].text


async def test_catch_up_before_noon_but_not_after(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    harness.clock.set(datetime(2026, 11, 25, 4, 30, tzinfo=UTC))  # 12:30 Shanghai
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert harness.telegram.messages_to(advisor.id) == []
    harness.clock.set(datetime(2026, 11, 26, 0, 0, tzinfo=UTC))  # 08:00: too early
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert harness.telegram.messages_to(advisor.id) == []
    harness.clock.set(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))  # 11:00: bot came back
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 1


async def test_time_zones_hong_kong_vs_london(harness: BotHarness) -> None:
    hk = harness.person("advisor", timezone="Asia/Hong_Kong")
    london = harness.person("advisor", timezone="Europe/London")
    harness.clock.set(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))  # 09:00 HK, 01:00 London
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(hk.id)) == 1
    assert harness.telegram.messages_to(london.id) == []
    harness.clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # 09:00 London, 17:00 HK
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(london.id)) == 1
    assert len(harness.telegram.messages_to(hk.id)) == 1


async def test_weekend_and_holiday_skip(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    harness.clock.set(datetime(2026, 11, 28, 1, 0, tzinfo=UTC))  # Saturday 09:00
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    harness.clock.set(datetime(2026, 10, 1, 1, 0, tzinfo=UTC))  # National Day 09:00
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert harness.telegram.messages_to(advisor.id) == []
    harness.clock.set(datetime(2026, 10, 10, 1, 0, tzinfo=UTC))  # make-up working Saturday
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 1


async def test_pause_and_resume(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    assert "已暂停" in (await chat.send("/pause_digest"))[-1].text
    before = len(harness.telegram.messages_to(advisor.id))
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == before
    assert "已恢复" in (await chat.send("/resume_digest"))[-1].text
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == before + 2


async def test_crashed_digest_claim_is_retried_after_lease(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        user = _user(harness, advisor)
        assert digest.claim(s, user_id=user.id, kind="morning", local_date=date(2026, 11, 25),
                            now=harness.clock.now(), lease_seconds=120)
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert harness.telegram.messages_to(advisor.id) == []
    harness.clock.advance(seconds=121)
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 1
    with harness.services.db.session() as s:
        from sqlalchemy import select

        assert [r.status for r in s.scalars(select(DigestLog))] == ["sent"]


async def test_work_log_and_team_excel(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="林晓峰")
    lead = harness.person("lead", team="Alpha")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        uid = _user(harness, advisor).id
        client = factories.client(s, advisor_id=uid, now=now)
        for outcome, amount in [("sale", 50000), ("no_answer", None), ("interested_thinking",
                                                                       None)]:
            s.add(Interaction(client_id=client.id, advisor_id=uid, channel="phone",
                              outcome=outcome, amount=Decimal(amount) if amount else None,
                              occurred_at=now - timedelta(minutes=30), created_at=now))
        s.add(Interaction(client_id=client.id, advisor_id=uid, channel="meeting",
                          outcome="meeting_booked", occurred_at=now, created_at=now))
    own = (await harness.chat(advisor).send("/log_today"))[-1].text
    assert "通话：3 / 10" in own and "面谈：1" in own and "成交：1 笔（5万）" in own
    team = (await harness.chat(lead).send("/log_today"))[-1].text
    assert "林晓峰" in team and "<pre>" in team
    doc = (await harness.chat(lead).send("/log_today xlsx"))[-1]
    book = load_workbook(io.BytesIO(next(iter(doc.files.values()))))
    rows = list(book["worklog"].iter_rows(values_only=True))
    assert rows[2][:5] == ("林晓峰", 3, 10, 1, 1) and rows[2][5] == 50000
    assert rows[-1][1] == 3
    assert book["outcomes"]["G2"].value == 1  # sale column
    harness.clock.set(datetime.combine(date(2026, 11, 25), time(10, 1), UTC))  # 18:01 local
    await evening_work_logs(harness.app)
    await deliver_outbox(harness.app)
    assert "您的工作日志" in harness.telegram.messages_to(advisor.id)[-1].text
    assert "团队日志" in harness.telegram.messages_to(lead.id)[-1].text


def test_holidays_for_hong_kong_advisors(services) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 12, 22, 2, 0, tzinfo=UTC)
    with services.db.session() as s:
        hk = factories.user(s, now=now, timezone="Asia/Hong_Kong")
        cn = factories.user(s, now=now)
        lists = digest.checklists(s, [hk, cn], now=now, config=CFG, region="CN",
                                  call_target=10)
    assert [h[2] for h in lists[hk.id].holidays][0] == "Christmas Day"
    assert lists[cn.id].holidays == []


def test_feb_29_birthday_in_a_non_leap_year_checklist(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    harness.clock.set(datetime(2027, 2, 25, 2, 0, tzinfo=UTC))  # Thursday 10:00 Shanghai
    now = harness.clock.now()
    with harness.services.db.session() as s:
        factories.client(s, advisor_id=_user(harness, advisor).id, name="闰日寿星", now=now,
                         tier="mass", birthday=date(1980, 2, 29))
    items = [i for i in _checklist(harness, advisor).items if i.section == "birthdays"]
    assert [(i.kind, i.client_name, i.when) for i in items] == [
        ("birthday", "闰日寿星", date(2027, 2, 28))]
    harness.clock.set(datetime(2027, 2, 28, 2, 0, tzinfo=UTC))
    items = [i for i in _checklist(harness, advisor).items if i.section == "birthdays"]
    assert [i.kind for i in items] == ["birthday_today"]


async def test_questions_briefing_holidays_and_buttons(harness: BotHarness) -> None:
    from storage.models import Briefing, ClientQuestion

    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    harness.clock.set(datetime(2026, 12, 28, 1, 0, tzinfo=UTC))  # Monday 09:00 Shanghai
    now = harness.clock.now()
    with harness.services.db.session() as s:
        uid = _user(harness, advisor).id
        team_id = _user(harness, advisor).team_id
        recent = dict(last_contact_at=now - timedelta(days=1), last_meeting_at=now)
        asker = factories.client(s, advisor_id=uid, name="提问客户", tier="mass", now=now)
        s.add(ClientQuestion(client_id=asker.id, advisor_id=uid, text="美元理财的汇率风险？",
                             status="open", created_at=now - timedelta(days=11)))
        fresh = factories.client(s, advisor_id=uid, name="新问题", tier="mass", now=now)
        s.add(ClientQuestion(client_id=fresh.id, advisor_id=uid, text="定投怎么扣款？",
                             status="open", created_at=now - timedelta(days=9)))
        birthday = factories.client(s, advisor_id=uid, name="寿星", now=now,
                                    birthday=date(1975, 12, 30), **recent)
        lead_id = _user(harness, lead).id
        old = Briefing(team_id=team_id, lead_id=lead_id, payload={}, body="昨天", status="sent",
                       created_at=now, sent_at=now - timedelta(days=1))
        today = Briefing(team_id=team_id, lead_id=lead_id, payload={}, body="今天",
                         status="sent", created_at=now, sent_at=now - timedelta(minutes=30))
        s.add_all([old, today])
        s.flush()
        briefing_id = today.id
    message = (await harness.chat(advisor).send("/today"))[-1]
    assert "提问客户：客户问题已 11 天未答复" in message.text and "新问题" not in message.text
    assert "01-01 元旦" in message.text
    assert "寿星 12-30" in message.text
    assert "负责人已发送今日晨会简报" in message.text
    assert ("📣 查看晨会简报", f"bf show {briefing_id}") in message.buttons
    assert ("📞 2. 提问客户", f"lg c {asker.id}") in message.buttons
    assert ("1. 寿星", f"cl {birthday.id}") in message.buttons
    text = (await harness.chat(advisor).press(f"cl {birthday.id}", message=message))[-1].text
    assert "寿星" in text


def test_a_book_with_nothing_due_is_not_an_empty_book(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        factories.client(s, advisor_id=_user(harness, advisor).id, name="普通客户", tier="mass",
                         now=now, assessed_on=None)
    checklist = _checklist(harness, advisor)
    assert checklist.items == [] and checklist.has_clients
    rendered = harness.services.renderer.text("digest", "zh-Hans", me=None, c=checklist, page=0,
                                              morning=True)
    assert "今天没有紧急事项" in rendered and "您还没有客户" not in rendered


async def test_blocked_advisor_is_marked_inactive_and_the_rest_still_get_theirs(
        harness: BotHarness) -> None:
    blocked = harness.person("advisor")
    fine = harness.person("advisor")
    harness.telegram.blocked_chats.add(blocked.id)
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(fine.id)) == 1
    assert harness.user_row(blocked).active is False
    await morning_checklists(harness.app)  # not retried, not resent
    assert len(harness.telegram.messages_to(fine.id)) == 1


async def test_a_morning_time_after_the_catch_up_limit_still_sends(harness: BotHarness) -> None:
    advisor = harness.person("advisor", digest_time=time(13, 0))
    await morning_checklists(harness.app)  # 10:00 local
    assert harness.telegram.messages_to(advisor.id) == []
    harness.clock.set(datetime(2026, 11, 25, 5, 5, tzinfo=UTC))  # 13:05 local
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 1


async def test_lead_gets_the_excel_file_from_the_button(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="周敏")
    lead = harness.person("lead", team="Alpha", language="en")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        uid = _user(harness, advisor).id
        client = factories.client(s, advisor_id=uid, now=now)
        s.add(Interaction(client_id=client.id, advisor_id=uid, channel="phone", outcome="sale",
                          amount=Decimal(20000), occurred_at=now, created_at=now))
        s.add(FollowUp(client_id=client.id, advisor_id=uid, kind="call", reason="manual",
                       due_at=now - timedelta(hours=1), status="pending", created_at=now))
    chat = harness.chat(lead)
    team = (await chat.send("/log_today"))[-1]
    assert "周敏" in team.text and "Team calls: 1 of 10" in team.text
    doc = (await chat.press("dg x", message=team))[-1]
    book = load_workbook(io.BytesIO(next(iter(doc.files.values()))))
    sheet = book["worklog"]
    assert sheet["A1"].value == "Team work log 2026-11-25"
    assert [c.value for c in sheet[2]][:3] == ["Advisor", "Calls", "Call target"]
    assert [c.value for c in sheet[3]] == ["周敏", 1, 10, 0, 1, 20000, 1, 1]
    assert book["outcomes"]["G1"].value == "sale" and book["outcomes"]["G2"].value == 1
    own = (await harness.chat(advisor).send("/log_today xlsx"))[-1]  # advisors get text
    assert not own.files and "通话：1 / 10" in own.text


def test_checklist_queries_do_not_grow_with_the_book(services) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    now = services.clock.now()

    def count_queries(advisors: int, per_advisor: int) -> int:
        with services.db.session() as s:
            users = []
            for _ in range(advisors):
                user = factories.user(s, now=now)
                users.append(user)
                for i in range(per_advisor):
                    c = factories.client(s, advisor_id=user.id, name=f"客户{i}", now=now,
                                         last_contact_at=now - timedelta(days=i * 7))
                    factories.holding(s, client_id=c.id, maturity=date(2026, 11, 27))
                    s.add(FollowUp(client_id=c.id, advisor_id=user.id, kind="call",
                                   reason="manual", due_at=now, status="pending",
                                   created_at=now))
                    s.add(Interaction(client_id=c.id, advisor_id=user.id, channel="phone",
                                      outcome="sale", occurred_at=now - timedelta(days=8),
                                      created_at=now))
            s.flush()
            seen: list[str] = []

            def hook(*args: object) -> None:
                seen.append(str(args[2]))

            event.listen(services.db.engine, "before_cursor_execute", hook)
            try:
                lists = digest.checklists(s, users, now=now, config=CFG, region="CN",
                                          call_target=10)
            finally:
                event.remove(services.db.engine, "before_cursor_execute", hook)
            assert all(len(c.items) >= per_advisor for c in lists.values())
            return len(seen)

    assert count_queries(2, 3) == count_queries(6, 12)
