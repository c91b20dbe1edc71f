"""Complaints, client questions (2-week rule) and unmet needs, through the Application."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.scheduler import run_ticks
from coach.complaints import guess_category
from coach.services import people
from coach.services.service_records import complaint_counts, open_questions
from storage.models import ClientQuestion, Complaint, UnmetNeed
from tests import factories
from tests.conftest import BotHarness


def _client(harness: BotHarness, owner, name: str = "王建国", **kw) -> int:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        user = people.find_user(s, owner.id)
        assert user is not None
        return factories.client(s, advisor_id=user.id, name=name, now=harness.clock.now(),
                                **kw).id


def _user_id(harness: BotHarness, fake) -> int:  # type: ignore[no-untyped-def]
    return harness.user_row(fake).id


@pytest.mark.parametrize(("text", "category"), [
    ("嫌申购费和管理费太高", "fees"), ("手續費太貴了", "fees"),
    ("在网点排队等了一个小时", "service"), ("基金亏了20%，净值一直跌", "product"),
    ("柜员态度很差，很不耐烦", "staff"), ("the fee is too high", "fees"),
    ("想换个联系方式", "other"),
])
def test_complaint_category_from_keywords(text: str, category: str) -> None:
    assert guess_category(text) == category


async def test_complaint_life_cycle_and_lead_notice(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="林晓峰")
    lead = harness.person("lead", team="Alpha")
    outsider = harness.person("advisor", team="Beta")
    client_id = _client(harness, advisor, "王建国")
    chat = harness.chat(advisor)
    saved = (await chat.send("/complaint 王建国 嫌基金管理费太高，要求退费"))[-1].text
    assert "已登记 王建国 的投诉" in saved and "费用" in saved and "已通知" in saved
    with harness.services.db.session() as s:
        row = s.scalars(select(Complaint)).one()
        assert (row.client_id, row.category, row.status) == (client_id, "fees", "open")
        assert row.received_by_id == _user_id(harness, advisor)
        assert row.created_at == harness.clock.now()
    notice = harness.telegram.messages_to(lead.id)[-1]
    assert f"新投诉 #{row.id}" in notice.text and "林晓峰" in notice.text
    assert "王**" in notice.text and "王建国" not in notice.text
    assert "管理费太高" in notice.text
    # open until resolved: the advisor sees it, the lead sees it (masked), an outsider doesn't
    assert f"#{row.id}" in (await chat.send("/complaints"))[-1].text
    lead_list = (await harness.chat(lead).send("/complaints"))[-1].text
    assert f"#{row.id}" in lead_list and "王**" in lead_list and "王建国" not in lead_list
    other = harness.chat(outsider)
    assert "没有未结的投诉" in (await other.send("/complaints"))[-1].text
    assert "没有您可以查看的投诉" in (await other.send(f"/resolve {row.id} 已处理"))[-1].text
    done = (await harness.chat(lead).send(f"/resolve {row.id} 已退还部分费用并致歉"))[-1].text
    assert f"投诉 #{row.id}" in done and "已处理完毕" in done
    assert "已经处理完毕" in (await chat.send(f"/resolve {row.id} again"))[-1].text
    assert "没有未结的投诉" in (await chat.send("/complaints"))[-1].text
    with harness.services.db.session() as s:
        row = s.scalars(select(Complaint)).one()
        assert (row.status, row.resolution) == ("resolved", "已退还部分费用并致歉")


async def test_complaint_usage_and_unknown_client(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor, "王建国")
    chat = harness.chat(advisor)
    assert "用法：/complaint" in (await chat.send("/complaint 王建国"))[-1].text
    assert "您名下" in (await chat.send("/complaint 赵钱孙 服务不好"))[-1].text


async def test_two_word_latin_name_is_the_client(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    client_id = _client(harness, advisor, "Chen Mei")
    _client(harness, advisor, "Chen Wei")
    await harness.chat(advisor).send("/complaint Chen Mei waited too long in the queue")
    with harness.services.db.session() as s:
        row = s.scalars(select(Complaint)).one()
        assert (row.client_id, row.text, row.category) == (
            client_id, "waited too long in the queue", "service")


def test_monthly_complaint_counts(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    other = harness.person("advisor", team="Beta")
    mine, theirs = _client(harness, advisor), _client(harness, other, "李秀英")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        me_id, other_id = _user_id(harness, advisor), _user_id(harness, other)
        rows = [
            (mine, me_id, "fees", now - timedelta(days=3), "open", None),
            (mine, me_id, "service", now - timedelta(days=10), "resolved", now),
            (mine, me_id, "fees", now - timedelta(days=40), "resolved", now - timedelta(days=1)),
            (theirs, other_id, "staff", now, "open", None),
        ]
        for client_id, by, category, at, status, resolved in rows:
            s.add(Complaint(client_id=client_id, received_by_id=by, category=category, text="x",
                            status=status, created_at=at, resolved_at=resolved))
        team_id = harness.user_row(advisor).team_id
        assert team_id is not None
    with harness.services.db.session() as s:
        counts = complaint_counts(s, team_id, date(2026, 11, 1))
        assert (counts.received, counts.resolved, counts.still_open) == (2, 2, 1)
        assert counts.by_category == {"fees": 1, "service": 1}
        october = complaint_counts(s, team_id, "2026-10")
        assert (october.received, october.resolved) == (1, 0)


async def test_question_life_cycle_reminder_and_checklist_feed(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor, "王建国")
    chat = harness.chat(advisor)
    saved = (await chat.send("/question 王建国 美元理财到期后能否自动续期？"))[-1].text
    assert "已记录 王建国 的问题" in saved and "10 天后我会提醒您" in saved
    with harness.services.db.session() as s:
        qid = s.scalars(select(ClientQuestion)).one().id
    assert f"#{qid}" in (await chat.send("/questions"))[-1].text
    advisor_id = _user_id(harness, advisor)

    harness.clock.advance(days=9)
    await run_ticks(harness.app)
    assert not any("仍在等待答复" in m.text for m in harness.telegram.messages_to(advisor.id))
    with harness.services.db.session() as s:
        assert open_questions(s, [advisor_id], 10, harness.clock.now()) == []
        assert len(open_questions(s, [advisor_id], 7, harness.clock.now())) == 1

    harness.clock.advance(days=1)
    await run_ticks(harness.app)
    await run_ticks(harness.app)
    reminders = [m for m in harness.telegram.messages_to(advisor.id) if "仍在等待答复" in m.text]
    assert len(reminders) == 1 and "王建国" in reminders[0].text  # the owner: not masked
    assert f"/answer {qid}" in reminders[0].text
    with harness.services.db.session() as s:
        (item,) = open_questions(s, [advisor_id], 10, harness.clock.now())
        assert (item.id, item.client_name, item.age_days) == (qid, "王建国", 10)
        assert "自动续期" in item.text

    done = (await chat.send(f"/answer {qid} 可以，到期前一周确认即可"))[-1].text
    assert "已答复" in done
    assert "已经答复" in (await chat.send(f"/answer {qid} again"))[-1].text
    assert "没有待答复的问题" in (await chat.send("/questions"))[-1].text
    with harness.services.db.session() as s:
        row = s.get(ClientQuestion, qid)
        assert row is not None and (row.status, row.answered_at) == ("answered",
                                                                     harness.clock.now())
        assert open_questions(s, [advisor_id], 10, harness.clock.now()) == []


async def test_question_of_another_advisor_cannot_be_answered(harness: BotHarness) -> None:
    owner, other = harness.person("advisor"), harness.person("advisor")
    _client(harness, owner)
    await harness.chat(owner).send("/question 王建国 赎回几天到账？")
    with harness.services.db.session() as s:
        qid = s.scalars(select(ClientQuestion)).one().id
    text = (await harness.chat(other).send(f"/answer {qid} T+1"))[-1].text
    assert "没有您可以查看的问题" in text


async def test_needs_grouped_by_tag_for_the_lead(harness: BotHarness) -> None:
    first = harness.person("advisor", team="Alpha", name="林晓峰")
    second = harness.person("advisor", team="Alpha", name="陈思雨")
    lead = harness.person("lead", team="Alpha")
    outsider = harness.person("advisor", team="Beta")
    _client(harness, first, "王建国")
    _client(harness, second, "李秀英")
    _client(harness, outsider, "黄美玲")
    saved = (await harness.chat(first).send("/need 王建国 usd 想要美元理财"))[-1].text
    assert "王建国" in saved and "usd" in saved
    await harness.chat(second).send("/need 李秀英 USD 孩子留学要用美元")
    await harness.chat(second).send("/need 李秀英 #gold")
    await harness.chat(outsider).send("/need 黄美玲 usd 美元")
    assert "不能作为标签" in (await harness.chat(first).send("/need 王建国 usd!! 美元"))[-1].text
    with harness.services.db.session() as s:
        assert sorted(n.tag for n in s.scalars(select(UnmetNeed))) == ["gold", "usd", "usd",
                                                                       "usd"]
    text = (await harness.chat(lead).send("/needs"))[-1].text
    assert text.index("usd") < text.index("gold") and "usd</b> · 2" in text
    assert "王**" in text and "李**" in text and "王建国" not in text and "黄" not in text
    assert "林晓峰" in text and "美元理财" in text
    own = (await harness.chat(first).send("/needs"))[-1].text
    assert "王建国" in own and "李" not in own
    harness.clock.advance(days=10)  # December: a new month starts empty
    assert "本月没有" in (await harness.chat(lead).send("/needs"))[-1].text
