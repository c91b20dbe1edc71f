"""Edited messages change nothing anywhere; the first edit gets one short hint (issue 11.3)."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Client, ClientQuestion, Complaint, UnmetNeed
from tests import factories
from tests.conftest import BotHarness

HINT = "我不读取编辑过的消息"


def _client(harness: BotHarness, advisor: object, name: str = "王建国") -> int:
    with harness.services.db.session() as s:
        owner = harness.user_row(advisor).id  # type: ignore[arg-type]
        return factories.client(s, advisor_id=owner, name=name, now=harness.clock.now()).id


def _count(harness: BotHarness, model: type) -> int:
    with harness.services.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


async def test_editing_a_complaint_question_or_need_stores_nothing_and_tells_no_one(
        harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    await chat.send("/complaint 王建国 嫌管理费太高")
    await chat.send("/question 王建国 分红什么时候到账")
    await chat.send("/need 王建国 想了解外币理财")
    told_lead = len(harness.telegram.messages_to(lead.id))

    first = await chat.edit("/complaint 王建国 嫌管理费太高，要求退费")
    assert [m.text for m in first] == [harness.services.renderer.text(
        "edit_ignored", "zh-Hans")] and HINT in first[0].text
    assert await chat.edit("/question 王建国 分红和本金什么时候到账") == []  # hint only once
    assert await chat.edit("/need 王建国 想了解美元理财") == []

    assert (_count(harness, Complaint), _count(harness, ClientQuestion),
            _count(harness, UnmetNeed)) == (1, 1, 1)
    assert len(harness.telegram.messages_to(lead.id)) == told_lead


async def test_editing_free_text_is_answered_once_and_never_crashes(
        harness: BotHarness, caplog: object) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    replies = await chat.edit("客户说手续费太高")
    assert len(replies) == 1 and HINT in replies[0].text
    assert await chat.edit("客户说收益太低") == []
    group = await chat.edit("/followups", chat_id=-100500, chat_type="group")
    assert group == []  # the hint was already given to this person
    # English speakers get it in English
    english = harness.chat(harness.person("advisor", language="en"))
    assert "edited messages" in (await english.edit("the fee is too high"))[0].text
    assert "handler failed" not in str(getattr(caplog, "text", ""))


async def test_an_edit_inside_a_flow_is_not_taken_as_an_answer(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    # editing an earlier message while the bot waits for the name: only the hint
    assert [HINT in m.text for m in await chat.edit("赵六")] == [True]
    await chat.send("钱七")
    await chat.press("ac salute -")
    await chat.send("13900001111")
    await chat.send("80万")
    await chat.press("ac risk -")
    await chat.press("ac birthday -")
    await chat.press("ac save -")
    with harness.services.db.session() as s:
        names = s.scalars(select(Client.name)).all()
    assert names == ["钱七"]


async def test_a_stranger_editing_is_still_turned_away(harness: BotHarness) -> None:
    stranger = harness.stranger()
    replies = await harness.chat(stranger).edit("hello")
    assert len(replies) == 1 and HINT not in replies[0].text


async def test_an_edit_in_the_log_flow_changes_nothing(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client(harness, advisor)
    chat = harness.chat(advisor)
    await chat.send("/log")  # guided: the bot asks which client
    replies = await chat.edit("王建国")
    assert [HINT in m.text for m in replies] == [True]
    step = (await chat.send("王建国"))[-1]
    assert "王建国" in step.text and step.buttons  # the flow goes on from where it was
    assert await chat.edit("李四") == []
    assert "已取消" in (await chat.send("/cancel"))[-1].text
