"""Morning-checklist lines open their script, spoken to the line's client (issue 15)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot import callback
from bot.callback import ID, TOKEN
from coach.digest import SCRIPT_BY_KIND
from coach.services import library
from storage.models import Client, FollowUp, Interaction
from tests import factories
from tests.conftest import BotHarness


def _toasts(harness: BotHarness) -> list[str]:
    return [str(p.get("text") or "") for m, p in harness.telegram.calls
            if m == "answerCallbackQuery"]


def _book(harness: BotHarness, advisor_id: int) -> dict[str, int]:
    """One client per kind of checklist line; returns name → client id."""
    now = harness.clock.now()  # Wed 2026-11-25 10:00 Shanghai
    recent = dict(last_contact_at=now - timedelta(days=1), last_meeting_at=now - timedelta(days=1))
    ids: dict[str, int] = {}
    with harness.services.db.session() as s:
        b = factories.client(s, advisor_id=advisor_id, name="王建国", salutation="mr", now=now,
                             **recent)
        s.add(FollowUp(client_id=b.id, advisor_id=advisor_id, kind="call",
                       reason="interested_thinking", due_at=now - timedelta(hours=1),
                       status="pending", created_at=now))
        c = factories.client(s, advisor_id=advisor_id, name="到期客户", now=now, **recent)
        factories.holding(s, client_id=c.id, maturity=date(2026, 11, 30))
        d = factories.client(s, advisor_id=advisor_id, name="李秀英", salutation="ms", now=now,
                             birthday=date(1970, 11, 25), **recent)
        e = factories.client(s, advisor_id=advisor_id, name="测评将到期", now=now,
                             assessed_on=date(2026, 6, 10), **recent)
        f = factories.client(s, advisor_id=advisor_id, name="新开户", now=now, tier="mass",
                             opened_on=date(2026, 11, 20))
        g = factories.client(s, advisor_id=advisor_id, name="成交客户", now=now, tier="wealth",
                             last_contact_at=now - timedelta(days=8))
        s.add(Interaction(client_id=g.id, advisor_id=advisor_id, channel="phone",
                          outcome="sale", amount=Decimal(100000),
                          occurred_at=now - timedelta(days=8), created_at=now))
        h = factories.client(s, advisor_id=advisor_id, name="久未联系", now=now,
                             last_contact_at=now - timedelta(days=40),
                             last_meeting_at=now - timedelta(days=10))
        for client in (b, c, d, e, f, g, h):
            ids[client.name] = client.id
    return ids


def _script_button(message, number: int) -> str:  # type: ignore[no-untyped-def]
    return next(data for label, data in message.buttons if label == f"📖 {number}")


def _line_number(message, name: str) -> int:  # type: ignore[no-untyped-def]
    line = next(line for line in message.text.splitlines() if name in line)
    return int(line.split(".")[0].lstrip("🔴🟠 "))


async def test_every_line_about_a_client_has_a_script_button(harness: BotHarness) -> None:
    advisor = harness.person("advisor", name="林晓峰")
    _book(harness, harness.user_row(advisor).id)
    message = (await harness.chat(advisor).send("/today"))[-1]
    scripted = [data for label, data in message.buttons if label.startswith("📖")]
    kinds = {callback.parse(data, "dg s", TOKEN, ID)[0] for data in scripted}  # type: ignore[index]
    # follow-up, maturity, birthday, expiring assessment, welcome call, service call, no contact
    assert kinds == {"f", "maturity", "birthday_today", "risk_expiring", "new_account",
                     "post_sale", "vip_contact"}
    assert all(len(data.encode()) <= callback.MAX_BYTES for data in scripted)
    # every kind's script exists in the shared library
    catalog = library.shared_catalog()
    assert all(catalog.library.get(sid) is not None for sid in SCRIPT_BY_KIND.values())


async def test_a_line_opens_its_script_for_that_client(harness: BotHarness) -> None:
    advisor = harness.person("advisor", name="林晓峰")
    _book(harness, harness.user_row(advisor).id)
    chat = harness.chat(advisor)
    message = (await chat.send("/today"))[-1]
    birthday = _script_button(message, _line_number(message, "李秀英"))
    text = (await chat.press(birthday, message=message))[-1].text
    assert "林晓峰" in text and "今天是李女士的生日" in text
    assert "【客户称呼】" not in text and "【您的姓名】" not in text
    followup = _script_button(message, _line_number(message, "王建国"))
    text = (await chat.press(followup, message=message))[-1].text
    assert "要再考虑" in text  # the reason's script, as the reminder would suggest
    assert "【客户称呼】" not in text


async def test_a_line_whose_row_is_gone_says_so(harness: BotHarness) -> None:
    advisor = harness.person("advisor", name="林晓峰")
    other = harness.person("advisor", name="陈思雨")
    ids = _book(harness, harness.user_row(advisor).id)
    chat = harness.chat(advisor)
    message = (await chat.send("/today"))[-1]
    followup = _script_button(message, _line_number(message, "王建国"))
    maturity = _script_button(message, _line_number(message, "到期客户"))
    with harness.services.db.session() as s:
        for row in s.query(FollowUp).filter(FollowUp.client_id == ids["王建国"]):
            row.status, row.done_at = "done", harness.clock.now()
        s.get(Client, ids["到期客户"]).advisor_id = harness.user_row(other).id  # type: ignore[union-attr]
    sent = len(harness.telegram.sent)
    await chat.press(followup, message=message)
    assert "已处理" in _toasts(harness)[-1]
    await chat.press(maturity, message=message)
    assert "已不在您的名下" in _toasts(harness)[-1]
    assert len(harness.telegram.sent) == sent  # toasts only, no script shown
    # crafted data: refused, nothing shown
    await chat.press_data("dg s f 999999", message=message)
    await chat.press_data("dg s rm_rf 1", message=message)
    await chat.press_data("dg s f ٣", message=message)
    assert len(harness.telegram.sent) == sent
    assert len(_toasts(harness)[-3:]) == 3 and all(_toasts(harness)[-3:])


async def test_english_advisor_gets_the_english_script(harness: BotHarness) -> None:
    advisor = harness.person("advisor", name="Lin Xiaofeng", language="en")
    _book(harness, harness.user_row(advisor).id)
    chat = harness.chat(advisor)
    message = (await chat.send("/today"))[-1]
    birthday = _script_button(message, _line_number(message, "李秀英"))
    text = (await chat.press(birthday, message=message))[-1].text
    assert "Lin Xiaofeng" in text and "Ms Li" in text
