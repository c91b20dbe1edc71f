"""Role-play practice through the Application: sessions, resume, expiry, reviews, assignments."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import build_application
from bot.chat import LocalChat
from bot.fakebot import FakeRequest
from coach.services import practice
from storage.models import PracticeAssignment, PracticeSession
from tests.conftest import BotHarness

GOOD = ("刘阿姨，您是担心钱放出去不安全，对吧？这个担心很正常，您很稳健。大额存单有存款保险，"
        "50万以内都有保障，利率比普通定期高一点。您看周二还是周三来网点坐坐？")
SCENARIO = "retiree_fixed_deposits"


def _status(harness: BotHarness) -> list[str]:
    with harness.services.db.session() as s:
        return list(s.scalars(select(PracticeSession.status).order_by(PracticeSession.id)))


async def test_full_session_scores_each_answer_and_summarises(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    listing = (await chat.send("/practice"))[-1]
    assert len(listing.buttons) >= 12
    start = (await chat.press(f"pr s {SCENARIO}"))[-1]
    assert "刘阿姨" in start.text and "💬" in start.text
    replies = []
    for _ in range(8):
        replies = await chat.send(GOOD)
        assert "得分：" in replies[-1].text and "✓" in replies[-1].text
        if "练习结束" in replies[-1].text:
            break
    assert "练习结束" in replies[-1].text
    assert _status(harness) == ["finished"]
    after = (await chat.send("手续费太贵"))[-1]  # back to normal: a script question
    assert "💬" in after.text and any(d.startswith("sc f ") for _, d in after.buttons)


async def test_non_compliant_answer_is_flagged(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await chat.press_data(f"pr s {SCENARIO}")
    replies = await chat.send("刘阿姨放心，这个产品保本保收益，稳赚不赔，今天不买明天就没了！")
    assert "⛔" in replies[-1].text
    score = int(replies[-1].text.split("得分：")[1].split("/")[0])
    assert score <= 20


async def test_session_resumes_after_restart(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.press_data(f"pr s {SCENARIO}")
    await harness.app.update_persistence()
    app2 = build_application(harness.services, request=FakeRequest(harness.telegram),
                             rate_limit=False, jobs=False)
    async with app2:
        replies = await LocalChat(app2, harness.telegram, advisor).send(GOOD)
    assert "得分：" in replies[-1].text


async def test_idle_session_expires(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await chat.press_data(f"pr s {SCENARIO}")
    harness.clock.advance(minutes=31)
    replies = await chat.send(GOOD)
    assert "闲置超过30分钟" in replies[-1].text
    assert _status(harness) == ["expired"]


def test_idle_sessions_are_expired_by_the_tick(services, clock) -> None:  # type: ignore[no-untyped-def]
    from tests import factories

    with services.db.session() as s:
        user = factories.user(s, now=clock.now())
        me = practice_me(user)
        practice.start_scenario(s, me, SCENARIO, clock=clock, lang="zh")
    clock.advance(minutes=29)
    with services.db.session() as s:
        assert practice.expire_idle(s, clock=clock) == []
    clock.advance(minutes=2)
    with services.db.session() as s:
        assert practice.expire_idle(s, clock=clock) == [user.id]


def practice_me(user):  # type: ignore[no-untyped-def]
    from coach.actor import Me

    return Me(user.id, user.telegram_id, user.name, user.role, user.team_id, "zh-Hans",
              "Asia/Shanghai")


async def test_stop_ends_the_session(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await chat.press_data(f"pr s {SCENARIO}")
    await chat.send(GOOD)
    replies = await chat.send("/stop")
    assert "练习结束" in replies[-1].text
    assert _status(harness) == ["stopped"]
    assert "没有进行中的练习" in (await chat.send("/stop"))[-1].text


async def test_practise_this_from_a_script_card(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    card = (await chat.send("手续费太贵了"))[-1]
    drill = next(d for _, d in card.buttons if d.startswith("sc pr "))
    start = (await chat.press(drill, message=card))[-1]
    assert "快速演练" in start.text
    replies = await chat.send("您是觉得费用高对吧？很正常，您算得很细。10万元一年摊下来每天3块钱，您看先定投试试？")
    assert "得分：" in replies[-1].text and "练习结束" in replies[-1].text


async def test_model_answer_button_and_crafted_data(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    other = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.press_data(f"pr s {SCENARIO}")
    feedback = (await chat.send(GOOD))[-1]
    data = next(d for _, d in feedback.buttons if d.startswith("pr m "))
    model = (await chat.press(data, message=feedback))[-1]
    assert "参考回答" in model.text
    refused = (await harness.chat(other).press_data(data))[-1]
    assert "无权查看" in refused.text


async def test_advisor_cannot_see_another_advisors_history(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    peer = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    outsider_lead = harness.person("lead", team="Beta")
    peer_name = harness.user_row(peer).username
    replies = await harness.chat(advisor).send(f"/progress @{peer_name}")
    assert "不在您的团队" in replies[-1].text
    assert "练习记录" in (await harness.chat(lead).send(f"/progress @{peer_name}"))[-1].text
    replies = await harness.chat(outsider_lead).send(f"/progress @{peer_name}")
    assert "不在您的团队" in replies[-1].text


async def test_lead_reviews_and_overrides_a_turn(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    chat = harness.chat(advisor)
    await chat.press_data(f"pr s {SCENARIO}")
    await chat.send(GOOD)
    await chat.send("/stop")
    lead_chat = harness.chat(lead)
    listing = (await lead_chat.send(f"/review @{harness.user_row(advisor).username}"))[-1]
    session_data = listing.buttons[0][1]
    transcript = (await lead_chat.press(session_data, message=listing))[-1]
    assert GOOD[:10] in transcript.text
    session_id = session_data.split()[-1]
    replies = await lead_chat.send(f"/override {session_id} 1 95 开场很自然")
    assert "95" in replies[0].text
    told = harness.telegram.messages_to(advisor.id)[-1]
    assert "负责人点评" in told.text and "95" in told.text and "开场很自然" in told.text
    progress = (await chat.send("/progress"))[-1]
    assert "平均 95/100" in progress.text
    bad = await lead_chat.send(f"/override {session_id} 9 95")
    assert "没有这个轮次" in bad[-1].text
    assert "角色不能使用" in (await chat.send(f"/override {session_id} 1 100"))[-1].text


async def test_assign_to_team_reminds_and_completes(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    replies = await harness.chat(lead).send(f"/assign team {SCENARIO} 2026-11-30")
    assert "2 人" in replies[-1].text
    note = harness.telegram.messages_to(advisor.id)[-1]
    assert "只认定期的刘阿姨" in note.text and note.buttons[0][1] == f"pr s {SCENARIO}"
    harness.clock.advance(days=1, minutes=1)
    with harness.services.db.session() as s:
        due = practice.due_reminders(s, clock=harness.clock)
    assert len(due) == 2
    with harness.services.db.session() as s:
        assert practice.due_reminders(s, clock=harness.clock) == []
    chat = harness.chat(advisor)
    listing = (await chat.send("/practice"))[-1]
    assert listing.buttons[0][1] == f"pr s {SCENARIO}" and "⭐" in listing.buttons[0][0]
    await chat.press(f"pr s {SCENARIO}", message=listing)
    for _ in range(8):
        if "练习结束" in (await chat.send(GOOD))[-1].text:
            break
    with harness.services.db.session() as s:
        statuses = sorted(s.scalars(select(PracticeAssignment.status)))
    assert statuses == ["done", "open"]
    bad = await harness.chat(lead).send("/assign team nope_scenario")
    assert "没有找到叫“nope_scenario”的练习场景" in bad[-1].text
    assert "用法" in (await harness.chat(lead).send("/assign"))[-1].text


async def test_progress_chart_after_five_sessions(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    for _ in range(5):
        await chat.press_data(f"pr s {SCENARIO}")
        await chat.send(GOOD)
        await chat.send("/stop")
    replies = await chat.send("/progress")
    photo = [m for m in replies if m.method == "sendPhoto"]
    assert photo and next(iter(photo[0].files.values())).startswith(b"\x89PNG")
