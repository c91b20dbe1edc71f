"""/addclient: duplicates, assets → tier, words not codes, local dates, checked input."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import Client
from tests import factories
from tests.conftest import BotHarness


def _existing(harness: BotHarness, owner_tid: int, name: str, phone: str) -> int:
    with harness.services.db.session() as s:
        from coach.services import people

        owner = people.find_user(s, owner_tid)
        assert owner is not None
        return factories.client(s, advisor_id=owner.id, name=name, phone=phone,
                                now=harness.clock.now()).id


async def test_same_name_is_flagged_and_both_are_shown(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    old = _existing(harness, advisor.id, "王建国", "13800001234")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    replies = await chat.send("王建國")  # Traditional spelling of the same name
    await chat.press("ac salute mr")
    assert "可能已经登记过" in replies[-1].text and "13800001234" in replies[-1].text
    assert f"cl {old}" in [d for _, d in replies[-1].buttons]
    await chat.send("13900005678")
    await chat.send("80万")
    await chat.press("C3")
    await chat.press("今天")
    confirm = (await chat.press("跳过"))[-1]
    assert "王建國" in confirm.text and "王建国" in confirm.text  # both shown
    assert any("仍然保存" in label for label, _ in confirm.buttons)


async def test_same_phone_is_flagged(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _existing(harness, advisor.id, "李秀英", "13800001234")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    await chat.send("李小英")
    await chat.press("ac salute -")
    replies = await chat.send("+86 138-0000-1234")
    assert "李秀英" in replies[-1].text and "电话相同" in replies[-1].text


async def test_assets_give_the_tier_in_words(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    await chat.send("赵六")
    await chat.press("ac salute -")
    await chat.send("13911112222")
    replies = await chat.send("80万")
    assert "贵宾客户" in replies[-1].text or "客户层级" in replies[-1].text
    assert "premier" not in replies[-1].text
    labels = [label for label, _ in replies[-1].buttons]
    assert "C1 保守型" in labels and "C5 进取型" in labels
    await chat.press("C4")
    await chat.press("今天")
    confirm = (await chat.press("跳过"))[-1]
    assert "C4 成长型" in confirm.text and "80万" in confirm.text
    await chat.press("✅")
    with harness.services.db.session() as s:
        client = s.scalars(select(Client).where(Client.name == "赵六")).one()
        assert (client.tier, int(client.aum)) == ("premier", 800000)


async def test_today_is_the_advisors_local_date(harness: BotHarness) -> None:
    # 17:30 UTC on the 25th is already 01:30 on the 26th in Shanghai
    harness.clock.set(datetime(2026, 11, 25, 17, 30, tzinfo=UTC))
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    await chat.send("赵六")
    await chat.press("ac salute -")
    await chat.press("跳过")
    await chat.press("跳过")
    await chat.press("大众客户")
    await chat.press("C2")
    confirm = (await chat.press("今天"))[-1]
    await chat.press("跳过")
    await chat.press("✅")
    with harness.services.db.session() as s:
        client = s.scalars(select(Client).where(Client.name == "赵六")).one()
        assert str(client.risk_assessed_on) == "2026-11-26", confirm.text


async def test_phone_and_name_are_checked_kindly(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await chat.send("/addclient")
    replies = await chat.send("12345")
    assert "不像人名" in replies[-1].text
    replies = await chat.send("赵六")
    assert [label for label, _ in replies[-1].buttons][:2] == ["赵先生", "赵女士"]
    replies = await chat.press("ac salute -")
    assert "电话" in replies[-1].text
    for bad in ("123", "1234567890123456", "call me"):
        replies = await chat.send(bad)
        assert "7到15位数字" in replies[-1].text, bad
    replies = await chat.send("021-6888 1234")
    assert "资产" in replies[-1].text
