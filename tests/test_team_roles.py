"""Issue 11 point 11: what each role may do inside a team (briefing drafts, targets,
practice drills, self-granted qualifications, disabled users, /remove)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.jobs import reminders
from bot.jobs.briefings import briefings_tick
from bot.jobs.digest import morning_checklists
from bot.jobs.outbox import deliver_outbox
from storage.models import Briefing, Client, FollowUp, PracticeSession, StaffAudit
from tests.conftest import BotHarness
from tests.test_reminders import _due_followup


async def _schedule(harness: BotHarness, lead, who: str = "安娜") -> int:  # type: ignore[no-untyped-def]
    """A lead composes a briefing with per-advisor targets and schedules it for later."""
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("团队今天目标：通话120通")
    await chat.send(f"{who} 15通")
    await chat.send("稳健增利90天 R2：到期自动赎回")
    await chat.press("bf skip market")
    await chat.send("加油")
    await chat.press("bf skip photo")
    await chat.press("bf at 08:15")
    with harness.services.db.session() as s:
        return s.scalars(select(Briefing.id).where(Briefing.status == "scheduled")).one()


async def test_a_scheduled_briefing_is_only_the_authors_until_sent(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    member = harness.person("advisor", team="Alpha", name="安娜")
    briefing_id = await _schedule(harness, lead)
    refused = (await harness.chat(member).press_data(f"bf show {briefing_id}"))[-1]
    assert "无法查看" in refused.text and "120通" not in refused.text
    shown = (await harness.chat(lead).press_data(f"bf show {briefing_id}"))[-1]
    assert "120通" in shown.text


async def test_referrers_see_no_per_advisor_targets_and_cannot_drill(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    harness.person("advisor", team="Alpha", name="安娜")
    teller = harness.person("referrer", team="Alpha", name="柜员")
    briefing_id = await _schedule(harness, lead)
    with harness.services.db.session() as s:
        s.get(Briefing, briefing_id).status = "sent"  # type: ignore[union-attr]
    seen = (await harness.chat(teller).press_data(f"bf show {briefing_id}"))[-1]
    assert "120通" in seen.text and "15通" not in seen.text and "安娜" not in seen.text
    lead_view = (await harness.chat(lead).press_data(f"bf show {briefing_id}"))[-1]
    assert "15通" in lead_view.text
    chat = harness.chat(teller)
    card = (await chat.send("手续费太贵了"))[-1]
    assert not any(d.startswith("sc pr ") for _, d in card.buttons)
    advisor_card = (await harness.chat(harness.person("advisor")).send("手续费太贵了"))[-1]
    drill = next(d for _, d in advisor_card.buttons if d.startswith("sc pr "))
    refused = (await chat.press_data(drill))[-1]
    assert "您的角色不能使用" in refused.text
    with harness.services.db.session() as s:
        assert s.scalars(select(PracticeSession)).all() == []


async def test_a_lead_cannot_grant_their_own_qualification(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    co_lead = harness.person("lead", team="Alpha")
    own = f"@u{lead.id}"
    refused = (await harness.chat(lead).send(f"/qualify {own} AFP"))[-1].text
    assert "不能给自己" in refused
    assert "AFP" not in (await harness.chat(lead).send("/qualify"))[-1].text
    assert "具备 AFP 资格" in (await harness.chat(co_lead).send(f"/qualify {own} AFP"))[-1].text


async def test_a_disabled_person_gets_nothing_until_enabled(
        harness: BotHarness, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", harness.services.settings.database_url)
    lead = harness.person("lead", team="Alpha")
    advisor = harness.person("advisor", team="Alpha", name="停用者")
    other = harness.person("advisor", team="Alpha", name="在岗者")
    fid = _due_followup(harness, advisor)
    assert main(["users", "disable", str(advisor.id)]) == 0
    assert main(["users", "disable", "999999"]) == 1
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"{advisor.id}\tadvisor\tAlpha\t停用者\tdisabled" in listing
    assert f"{other.id}\tadvisor\tAlpha\t在岗者\tactive" in listing
    # the bot: turned away like a stranger, and writing again does not switch them on
    chat = harness.chat(advisor)
    for text in ("/today", "/followups", "/start ABCDEFGH", "手续费太贵了"):
        replies = await chat.send(text)
        assert len(replies) == 1 and "仅供已注册" in replies[0].text
    # jobs and broadcasts skip them
    await reminders.send_due_reminders(harness.app)
    await deliver_outbox(harness.app)
    await morning_checklists(harness.app)
    await deliver_outbox(harness.app)
    await _schedule(harness, lead, "在岗者")
    harness.clock.advance(hours=22, minutes=16)
    await briefings_tick(harness.app)
    await deliver_outbox(harness.app)
    assert len(harness.telegram.messages_to(advisor.id)) == 4  # only the four refusals
    assert any("早上好" in m.text for m in harness.telegram.messages_to(other.id))
    assert any("120通" in m.text for m in harness.telegram.messages_to(other.id))
    with harness.services.db.session() as s:
        assert s.get(FollowUp, fid).status == "pending"  # type: ignore[union-attr]
        audit = s.scalars(select(StaffAudit)).all()
        assert [a.action for a in audit] == ["disable"] and audit[0].actor_id is None
    assert main(["users", "enable", str(advisor.id)]) == 0
    assert "enabled" in capsys.readouterr().out
    await reminders.send_due_reminders(harness.app)
    await deliver_outbox(harness.app)
    assert "王建国" in harness.telegram.messages_to(advisor.id)[-1].text
    assert "仅供已注册" not in (await chat.send("/today"))[-1].text


async def test_a_lead_removes_an_advisor_after_confirming(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha", name="周慧琳")
    advisor = harness.person("advisor", team="Alpha", name="离队者")
    other_lead = harness.person("lead", team="Beta")
    fid = _due_followup(harness, advisor)
    chat = harness.chat(lead)
    handle = f"@u{advisor.id}"
    assert "不是您团队" in (await harness.chat(other_lead).send(f"/remove {handle}"))[-1].text
    assert "不能使用" in (await harness.chat(advisor).send(f"/remove @u{lead.id}"))[-1].text
    confirm = (await chat.send(f"/remove {handle}"))[-1]
    assert "离队者" in confirm.text and "1 位客户" in confirm.text
    with harness.services.db.session() as s:  # nothing moved before the button
        assert s.get(FollowUp, fid).advisor_id == harness.user_row(advisor).id  # type: ignore[union-attr]
    ok = next(d for _, d in confirm.buttons if d.startswith("rm ok "))
    done = [m for m in await chat.press(ok, message=confirm) if m.chat_id == lead.id]
    assert "已离开团队" in done[-1].text
    await chat.press(ok, message=confirm)  # a double tap changes nothing more
    told = harness.telegram.messages_to(advisor.id)
    assert len([m for m in told if "移出团队" in m.text]) == 1
    lead_id = harness.user_row(lead).id
    with harness.services.db.session() as s:
        row = s.get(FollowUp, fid)
        assert row is not None and row.advisor_id == lead_id
        assert s.get(Client, row.client_id).advisor_id == lead_id  # type: ignore[union-attr]
        assert harness.user_row(advisor).team_id is None
        audit = s.scalars(select(StaffAudit).where(StaffAudit.action == "remove")).one()
        assert audit.actor_id == lead_id and audit.details["followups"] == 1
    assert "王建国" in (await chat.send("/followups"))[-1].text
