"""Onboarding through the real Application: invites, roles, strangers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.models import InviteCode, StateEntry, User
from tests.conftest import ADMIN_ID, BotHarness


async def _invite(harness: BotHarness, role: str = "advisor") -> str:
    admin = harness.stranger(ADMIN_ID)
    chat = harness.chat(admin)
    await chat.send("/newteam Alpha")
    replies = await chat.send(f"/invite {role} Alpha")
    with harness.services.db.session() as s:
        code = s.scalars(select(InviteCode.code).order_by(InviteCode.id.desc())).first()
    assert code is not None and code in replies[-1].text
    return code


async def test_admin_creates_team_and_invite_then_person_registers(harness: BotHarness) -> None:
    code = await _invite(harness, "advisor")
    newcomer = harness.stranger(4242)
    replies = await harness.chat(newcomer).send(f"/start {code}")
    assert "您已加入团队 Alpha" in replies[-1].text
    row = harness.user_row(newcomer)
    assert row.role == "advisor"
    help_text = (await harness.chat(newcomer).send("/help"))[-1].text
    assert "/client" in help_text and "/newteam" not in help_text


async def test_reused_code_is_refused(harness: BotHarness) -> None:
    code = await _invite(harness)
    await harness.chat(harness.stranger(4242)).send(f"/start {code}")
    replies = await harness.chat(harness.stranger(4343)).send(f"/start {code}")
    assert "已经被使用过" in replies[-1].text
    with harness.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.telegram_id == 4343)) == 0


async def test_expired_code_is_refused(harness: BotHarness) -> None:
    code = await _invite(harness)
    harness.clock.advance(days=7, seconds=1)
    replies = await harness.chat(harness.stranger(4242)).send(f"/start {code}")
    assert "已过期" in replies[-1].text
    with harness.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.telegram_id == 4242)) == 0


async def test_unknown_code(harness: BotHarness) -> None:
    replies = await harness.chat(harness.stranger()).send("/start NOPE1234")
    assert "无法识别这个邀请码" in replies[-1].text


COMMANDS = ["/help", "/settings", "/client 王", "/newteam X", "/invite advisor Alpha", "/addclient",
            "/log 王建国 有兴趣", "/today", "/followups", "/team", "/practice", "/library",
            "客户说手续费太高", "/start"]


async def test_stranger_gets_one_sentence_for_everything_and_nothing_is_stored(
        harness: BotHarness) -> None:
    stranger = harness.stranger(777, language="en")
    chat = harness.chat(stranger)
    with harness.services.db.session() as s:
        users_before = s.scalar(select(func.count()).select_from(User))
    for command in COMMANDS:
        replies = await chat.send(command)
        assert len(replies) == 1, command
        if command == "/start":
            assert "invite" in replies[0].text
        else:
            assert replies[0].text == ("Sorry, this assistant is only for registered bank staff. "
                                       "Please ask your team lead for an invite code."), command
        assert not replies[0].buttons
    with harness.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(User)) == users_before
        assert s.scalar(select(func.count()).select_from(StateEntry)) == 0


async def test_stranger_in_chinese_gets_chinese(harness: BotHarness) -> None:
    replies = await harness.chat(harness.stranger(778, language="zh-hk")).send("/help")
    assert "抱歉" in replies[0].text and "銀行" in replies[0].text


async def test_advisor_cannot_create_teams_or_invites(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    for command in ("/newteam Beta", "/invite advisor Alpha"):
        replies = await chat.send(command)
        assert "您的角色不能使用这个功能" in replies[-1].text


async def test_lead_invites_only_to_own_team(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    harness.person("lead", team="Beta")
    replies = await harness.chat(lead).send("/invite advisor Beta")
    assert "只能对自己的团队" in replies[-1].text


async def test_settings_change_language_timezone_and_digest(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("/settings")
    replies = await chat.press("English")
    assert "Saved" in replies[-1].text
    replies = await chat.send("/settings tz Europe/London")
    assert "Europe/London" in replies[-1].text
    replies = await chat.send("/settings dt 07:45")
    assert "07:45" in replies[-1].text
    replies = await chat.send("/settings tz Mars/Base")
    assert "Mars/Base" in replies[-1].text
    row = harness.user_row(advisor)
    assert (row.language, row.timezone, row.digest_time.strftime("%H:%M")) == (
        "en", "Europe/London", "07:45")
    await chat.send("/settings lang zh-Hant-HK")
    replies = await chat.send("/help")
    assert "我能幫您做什麼" in replies[-1].text


async def test_duplicate_update_is_handled_once(harness: BotHarness) -> None:
    admin = harness.stranger(ADMIN_ID)
    chat = harness.chat(admin)
    payload = harness.telegram.push_update(harness.telegram.message_update(admin, "/newteam Gamma"))
    first = await chat.redeliver(payload)
    second = await chat.redeliver(payload)
    assert len(first) == 1 and second == []


async def test_invite_ttl_is_seven_days(harness: BotHarness) -> None:
    await _invite(harness)
    with harness.services.db.session() as s:
        invite = s.scalars(select(InviteCode)).first()
        assert invite is not None
        assert invite.expires_at - harness.clock.now() == timedelta(days=7)


async def test_one_log_line_per_update_without_client_data(harness: BotHarness, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    advisor = harness.person("advisor")
    caplog.set_level(logging.INFO, logger="coach.updates")
    await harness.chat(advisor).send("/client 王建国 13800001234")
    lines = [r.getMessage() for r in caplog.records if r.name == "coach.updates"]
    assert len(lines) == 1
    assert f"user={advisor.id}" in lines[0] and "handler=find_client" in lines[0]
    assert "ms=" in lines[0] and "王建国" not in lines[0] and "13800001234" not in lines[0]
