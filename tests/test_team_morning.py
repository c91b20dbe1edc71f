"""Leads get the team's morning: all of it without clients of their own, a summary with."""

from __future__ import annotations

from datetime import date, timedelta

from bot.jobs.digest import morning_checklists
from bot.jobs.outbox import deliver_outbox
from storage.models import Appointment, FollowUp, Leave
from tests import factories
from tests.conftest import BotHarness


def _uid(harness: BotHarness, fake) -> int:  # type: ignore[no-untyped-def]
    return harness.user_row(fake).id


def _team_day(harness: BotHarness) -> tuple:  # type: ignore[type-arg]
    """Alpha: 安娜 (one follow-up 4 days late, one due at 15:00, an appointment at 14:00, a
    product maturing 11-30), 博文 on leave until 11-27 with 安娜 covering; Beta: 外队."""
    ann = harness.person("advisor", team="Alpha", name="安娜")
    bob = harness.person("advisor", team="Alpha", name="博文")
    other = harness.person("advisor", team="Beta", name="外队")
    now = harness.clock.now()  # Wed 2026-11-25 10:00 in Shanghai
    with harness.services.db.session() as s:
        a, b, o = _uid(harness, ann), _uid(harness, bob), _uid(harness, other)
        late = factories.client(s, advisor_id=a, name="王建国", now=now)
        soon = factories.client(s, advisor_id=a, name="李秀英", now=now)
        s.add(FollowUp(client_id=late.id, advisor_id=a, kind="call", reason="interested_thinking",
                       due_at=now - timedelta(days=4), status="pending", created_at=now))
        s.add(FollowUp(client_id=soon.id, advisor_id=a, kind="call", reason="manual",
                       due_at=now + timedelta(hours=5), status="pending", created_at=now))
        s.add(Appointment(client_id=soon.id, advisor_id=a, starts_at=now + timedelta(hours=4),
                          created_at=now))
        factories.holding(s, client_id=late.id, product="稳健增利90天",
                          maturity=date(2026, 11, 30))
        s.add(Leave(advisor_id=b, colleague_id=a, starts_on=date(2026, 11, 24),
                    ends_on=date(2026, 11, 27)))
        theirs = factories.client(s, advisor_id=o, name="赵外", now=now)
        s.add(FollowUp(client_id=theirs.id, advisor_id=o, kind="call", reason="manual",
                       due_at=now - timedelta(days=2), status="pending", created_at=now))
    return ann, bob, other


async def test_lead_without_clients_gets_the_team_morning(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    _team_day(harness)
    harness.clock.advance(seconds=121)
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    text = harness.telegram.messages_to(lead.id)[-1].text
    assert "早上好！11-25 团队晨报" in text
    assert "您还没有客户" not in text  # not the new-advisor message every day
    assert "安娜 — 今日到期 1 · 逾期 1 (🔴 1) · 约见 1" in text
    assert "博文 — 🏖 休假至 11-27，由 安娜 代班" in text
    assert "1. 🔴 安娜: 王** — 回访：客户在考虑中 (逾期4天)" in text  # names masked as in /overdue
    assert "2. 安娜: 李** — 跟进 15:00" in text
    assert "• 14:00 安娜: 李**" in text
    assert "• 11-30 安娜: 王** — 稳健增利90天" in text
    assert "外队" not in text and "赵" not in text  # another team's book stays out
    assert "/overdue" in text


async def test_lead_with_own_clients_gets_a_short_team_section(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    _team_day(harness)
    with harness.services.db.session() as s:
        mine = factories.client(s, advisor_id=_uid(harness, lead), name="周大福",
                                now=harness.clock.now())
        s.add(FollowUp(client_id=mine.id, advisor_id=_uid(harness, lead), kind="call",
                       reason="manual", due_at=harness.clock.now() - timedelta(hours=1),
                       status="pending", created_at=harness.clock.now()))
    text = (await harness.chat(lead).send("/today"))[-1].text
    assert "周大福" in text  # their own checklist first
    assert "👥 团队今日概况" in text
    assert "跟进：今日到期 1 条，逾期 1 条 (🔴 1) · 约见：1 · 7天内到期：1" in text
    assert "\n逾期最多：安娜 1\n🏖 休假：博文（至 11-27）\n" in text
    assert "王建国" not in text and "外队" not in text
    assert text.index("周大福") < text.index("👥 团队今日概况")


async def test_english_lead_and_an_empty_team(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Gamma", language="en")
    text = (await harness.chat(lead).send("/today"))[-1].text
    assert "Your team on 11-25" in text and "No advisors in your team yet." in text
    harness.person("advisor", team="Gamma", name="Ann")
    text = (await harness.chat(lead).send("/today"))[-1].text
    assert "Ann — due today 0 · overdue 0" in text
    assert "Nothing due across the team today." in text


async def test_advisors_and_leads_without_a_team_keep_their_checklist(
        harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="新人")
    loner = harness.person("lead", team=None)
    assert "团队" not in (await harness.chat(advisor).send("/today"))[-1].text
    assert "您还没有客户" in (await harness.chat(loner).send("/today"))[-1].text
