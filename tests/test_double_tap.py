"""Double taps: pressing a button that creates something twice creates it once (issue 11.4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from storage.models import (
    Briefing,
    Client,
    FollowUp,
    Interaction,
    PracticeSession,
    Referral,
    ScriptEvent,
)
from tests import factories
from tests.conftest import BotHarness


def _count(harness: BotHarness, model: type, *where: Any) -> int:
    with harness.services.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _uid(harness: BotHarness, who: Any) -> int:
    return harness.user_row(who).id


async def test_add_new_client_from_log_twice_creates_one_client(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    step = (await chat.send("/log 赵雅琴 有兴趣"))[-1]
    data = next(d for _label, d in step.buttons if d == "lg new")
    await chat.press(data, message=step)
    await chat.press(data, message=step)  # the same button again, a second later
    assert _count(harness, Client, Client.name == "赵雅琴") == 1
    assert _count(harness, FollowUp, FollowUp.reason == "new_account") == 1


async def test_saving_a_log_twice_records_one_contact(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    with harness.services.db.session() as s:
        factories.client(s, advisor_id=_uid(harness, advisor), now=harness.clock.now())
    chat = harness.chat(advisor)
    confirm = (await chat.send("/log 王建国 有兴趣 明天下午3点"))[-1]
    await chat.press("lg ok", message=confirm)
    await chat.press("lg ok", message=confirm)
    assert _count(harness, Interaction) == 1


async def test_add_client_save_twice_creates_one(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    await chat.send("/addclient")
    await chat.send("钱七")
    await chat.press("ac salute -")
    for text in ("13900001111", "80万"):
        await chat.send(text)
    await chat.press("ac risk -")
    step = (await chat.press("ac birthday -"))[-1]
    await chat.press("ac save -", message=step)
    await chat.press("ac save -", message=step)
    assert _count(harness, Client) == 1


async def test_practice_start_twice_opens_one_session(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    listing = (await chat.send("/practice"))[-1]
    data = listing.buttons[0][1]
    await chat.press(data, message=listing)
    await chat.press(data, message=listing)
    assert _count(harness, PracticeSession) == 1


async def test_script_vote_twice_counts_once(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor"))
    card = (await chat.send("手续费太高了"))[-1]
    up = next(d for _label, d in card.buttons if d.startswith("sc up "))
    await chat.press(up, message=card)
    await chat.press(up, message=card)
    assert _count(harness, ScriptEvent, ScriptEvent.kind == "up") == 1


async def test_referral_sent_twice_creates_one(harness: BotHarness) -> None:
    referrer = harness.person("referrer", team="Alpha")
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    chat = harness.chat(referrer)
    for text in ("/refer", "钱女士", "13900001111", "想了解稳健一点的产品"):
        await chat.send(text)
    choose = (await chat.press("rf u this_week"))[-1]
    await chat.press("安娜", message=choose)
    await chat.press("安娜", message=choose)
    assert _count(harness, Referral) == 1
    notice = harness.telegram.messages_to(advisor.id)[-1]
    await harness.chat(advisor).press(notice.buttons[0][1], message=notice)
    await harness.chat(advisor).press(notice.buttons[0][1], message=notice)
    assert _count(harness, Client, Client.name == "钱女士") == 1


async def test_reassign_twice_tells_the_advisor_once(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha", name="安娜")
    bob = harness.person("advisor", team="Alpha", name="博文")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        client = factories.client(s, advisor_id=_uid(harness, ann), now=now)
        row = FollowUp(client_id=client.id, advisor_id=client.advisor_id, kind="call",
                       reason="manual", due_at=now - timedelta(days=4), status="pending",
                       created_at=now)
        s.add(row)
        s.flush()
        fid = row.id
    chat = harness.chat(lead)
    listing = (await chat.send("/overdue"))[-1]
    choose = (await chat.press(f"ov r {fid}", message=listing))[-1]
    data = f"ov to {fid} {_uid(harness, bob)}"
    await chat.press(data, message=choose)
    await chat.press(data, message=choose)
    assert len(harness.telegram.messages_to(bob.id)) == 1


async def test_briefing_send_now_twice_sends_one_briefing(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    harness.person("advisor", team="Alpha")
    chat = harness.chat(lead)
    await chat.send("/briefing")
    await chat.send("今天目标：10 通电话")
    for step in ("per_advisor", "products", "market", "motto", "photo"):
        await chat.press(f"bf skip {step}")
    preview = chat.last_buttons_message
    await chat.press("bf now", message=preview)
    await chat.press("bf now", message=preview)
    assert _count(harness, Briefing) == 1
