"""Team numbers, week/month report files, overdue reassignment and referrals."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from coach.services import people
from storage.models import Client, FollowUp, Interaction, PracticeSession, Referral
from tests import factories
from tests.conftest import BotHarness


def _uid(harness: BotHarness, fake) -> int:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        return people.find_user(s, fake.id).id  # type: ignore[union-attr]


def _activity(harness: BotHarness, advisor, *, calls: int, sales: int,  # type: ignore[no-untyped-def]
              days_ago: int = 0) -> None:
    now = harness.clock.now() - timedelta(days=days_ago)
    with harness.services.db.session() as s:
        uid = _uid(harness, advisor)
        client = factories.client(s, advisor_id=uid, now=now, name=f"客{uid}{days_ago}")
        for i in range(calls):
            s.add(Interaction(client_id=client.id, advisor_id=uid, channel="phone",
                              outcome="sale" if i < sales else "no_answer",
                              amount=Decimal(100_000) if i < sales else None,
                              occurred_at=now - timedelta(minutes=5), created_at=now))


async def test_team_table_against_fixture_data(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha", name="安娜")
    bob = harness.person("advisor", team="Alpha", name="博文")
    harness.person("advisor", team="Beta", name="外队")
    _activity(harness, ann, calls=5, sales=2)
    _activity(harness, bob, calls=3, sales=0)
    _activity(harness, bob, calls=4, sales=1, days_ago=2)  # not today
    with harness.services.db.session() as s:
        s.add(PracticeSession(user_id=_uid(harness, ann), scenario_id="x", state={},
                              status="finished", total_score=80, started_at=harness.clock.now(),
                              updated_at=harness.clock.now()))
    text = (await harness.chat(lead).send("/team"))[-1].text
    lines = {line.split()[0]: line.split() for line in text.split("<pre>")[1].split("\n")[1:3]}
    assert lines["安娜"][1:4] == ["5", "0", "2"] and lines["安娜"][4] == "20万"
    assert lines["安娜"][6] == "1"
    assert lines["博文"][1:4] == ["3", "0", "0"]
    assert "外队" not in text


async def test_report_week_chart_and_excel(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha", name="安娜")
    _activity(harness, ann, calls=5, sales=2)
    _activity(harness, ann, calls=4, sales=1, days_ago=3)
    _activity(harness, ann, calls=9, sales=9, days_ago=10)  # outside the week
    replies = await harness.chat(lead).send("/report week")
    assert "通话 9 通，成交 3 笔" in replies[0].text
    photo = next(m for m in replies if m.method == "sendPhoto")
    png = next(iter(photo.files.values()))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 800)
    doc = next(m for m in replies if m.method == "sendDocument")
    book = load_workbook(io.BytesIO(next(iter(doc.files.values()))))
    assert book.sheetnames[:4] == ["advisors", "daily", "referrals", "practice"]
    assert list(book["advisors"].iter_rows(min_row=2, values_only=True))[0][:4] == (
        "安娜", 9, 0, 3)
    daily = list(book["daily"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == 7 and daily[-1][1:] == (5, 2) and daily[3][1:] == (4, 1)
    assert "用法" in (await harness.chat(lead).send("/report year"))[-1].text


async def test_overdue_reassign_within_team_only(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha", name="安娜")
    bob = harness.person("advisor", team="Alpha", name="博文")
    outsider = harness.person("advisor", team="Beta")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        client = factories.client(s, advisor_id=_uid(harness, ann), now=now)
        row = FollowUp(client_id=client.id, advisor_id=client.advisor_id, kind="call",
                       reason="manual", due_at=now - timedelta(days=4), status="pending",
                       created_at=now)
        s.add(row)
        s.flush()
        fid, cid = row.id, client.id
    chat = harness.chat(lead)
    listing = (await chat.send("/overdue"))[-1]
    assert "王**" in listing.text and listing.buttons[0][1] == f"ov r {fid}"
    choose = (await chat.press(f"ov r {fid}", message=listing))[-1]
    assert [label for label, _ in choose.buttons] == ["博文", "安娜"]
    crafted = (await chat.press_data(f"ov to {fid} {_uid(harness, outsider)}"))[-1]
    assert "不在您的团队" in crafted.text
    done = (await chat.press_data(f"ov to {fid} {_uid(harness, bob)}"))[0]
    assert "博文" in done.text
    assert "逾期跟进" in harness.telegram.messages_to(bob.id)[-1].text
    with harness.services.db.session() as s:
        assert s.get(FollowUp, fid).advisor_id == _uid(harness, bob)  # type: ignore[union-attr]
        assert s.get(Client, cid).advisor_id == _uid(harness, bob)  # type: ignore[union-attr]
    assert "角色不能使用" in (await harness.chat(ann).send("/overdue"))[-1].text


async def _refer(harness: BotHarness, referrer, target: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    chat = harness.chat(referrer)
    await chat.send("/refer")
    await chat.send("钱女士")
    await chat.send("13900001111")
    await chat.send("三年定期下周到期，想了解稳健一点的产品")
    await chat.press("rf u this_week")
    return await chat.press(target)


async def test_referral_accept_creates_client_and_follow_up(harness: BotHarness) -> None:
    referrer = harness.person("referrer", team="Alpha")
    advisor = harness.person("advisor", team="Alpha", name="安娜")
    sent = await _refer(harness, referrer, "安娜")
    assert "已转介给 安娜" in sent[0].text
    notice = harness.telegram.messages_to(advisor.id)[-1]
    assert "钱女士" in notice.text and notice.buttons[0][1].startswith("rf ok ")
    accepted = (await harness.chat(advisor).press(notice.buttons[0][1], message=notice))[0]
    assert "已成为您的客户" in accepted.text
    told = harness.telegram.messages_to(referrer.id)[-1]
    assert "已接受" in told.text and "钱**" in told.text and "钱女士" not in told.text
    with harness.services.db.session() as s:
        client = s.scalars(select(Client).where(Client.name == "钱女士")).one()
        assert client.referred_by_id == _uid(harness, referrer)
        followup = s.scalars(select(FollowUp).where(FollowUp.client_id == client.id)).one()
        assert (followup.reason, followup.due_at.date().isoformat()) == ("referral",
                                                                          "2026-11-26")
    # the referrer hears of the outcome when the advisor logs it
    chat = harness.chat(advisor)
    await chat.send("/log 钱女士 约了 周五下午3点")
    await chat.press("lg ok")
    assert "已约见面" in harness.telegram.messages_to(referrer.id)[-1].text
    mine = (await harness.chat(referrer).send("/myreferrals"))[-1]
    assert "钱**" in mine.text and "已接受" in mine.text
    again = (await harness.chat(advisor).press(notice.buttons[0][1], message=notice))[-1]
    assert "已经处理过" in again.text


async def test_referral_decline_and_rotation(harness: BotHarness) -> None:
    referrer = harness.person("referrer", team="Alpha")
    first = harness.person("advisor", team="Alpha")
    second = harness.person("advisor", team="Alpha")
    await _refer(harness, referrer, "rf a rot")
    await _refer(harness, referrer, "rf a rot")
    assert len(harness.telegram.messages_to(first.id)) == 1
    assert len(harness.telegram.messages_to(second.id)) == 1
    notice = harness.telegram.messages_to(first.id)[-1]
    intruder = (await harness.chat(second).press(notice.buttons[0][1], message=notice))[-1]
    assert "不属于您" in intruder.text
    declined = (await harness.chat(first).press(notice.buttons[1][1], message=notice))[0]
    assert "已婉拒" in declined.text
    assert "无法接手" in harness.telegram.messages_to(referrer.id)[-1].text
    with harness.services.db.session() as s:
        assert sorted(s.scalars(select(Referral.status))) == ["declined", "pending"]


async def test_referrer_cannot_read_clients_or_use_lead_commands(harness: BotHarness) -> None:
    referrer = harness.person("referrer", team="Alpha")
    advisor = harness.person("advisor", team="Alpha")
    with harness.services.db.session() as s:
        factories.client(s, advisor_id=_uid(harness, advisor), now=harness.clock.now())
    chat = harness.chat(referrer)
    for command in ("/client 王建国", "/team", "/report week", "/overdue", "/today"):
        assert "角色不能使用" in (await chat.send(command))[-1].text, command
