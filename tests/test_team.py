"""Team numbers, week/month report files, overdue reassignment and referrals."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from coach.services import people
from storage.models import (
    Client,
    Complaint,
    FollowUp,
    Interaction,
    PracticeSession,
    Referral,
)
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


def _referral(harness: BotHarness, referrer, advisor, *, status: str,  # type: ignore[no-untyped-def]
              days_ago: int = 0) -> None:
    with harness.services.db.session() as s:
        who = people.find_user(s, referrer.id)
        s.add(Referral(referrer_id=who.id, team_id=who.team_id,  # type: ignore[union-attr]
                       advisor_id=_uid(harness, advisor), client_name="客", urgency="normal",
                       status=status, created_at=harness.clock.now() - timedelta(days=days_ago)))


async def test_report_week_chart_and_excel(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha", name="安娜")
    bob = harness.person("advisor", team="Alpha", name="博文")
    teller = harness.person("referrer", team="Alpha", name="柜员甲")
    lobby = harness.person("referrer", team="Alpha", name="大堂乙")
    _activity(harness, ann, calls=5, sales=2)
    _activity(harness, ann, calls=4, sales=1, days_ago=3)
    _activity(harness, ann, calls=9, sales=9, days_ago=10)  # outside the week
    _activity(harness, bob, calls=2, sales=0, days_ago=1)
    _referral(harness, teller, ann, status="accepted")
    _referral(harness, teller, bob, status="declined", days_ago=2)
    _referral(harness, lobby, ann, status="pending")
    _referral(harness, lobby, ann, status="accepted", days_ago=9)  # outside the week
    with harness.services.db.session() as s:
        s.add(Complaint(received_by_id=_uid(harness, ann), category="fees", text="x",
                        created_at=harness.clock.now()))
    replies = await harness.chat(lead).send("/report week")
    assert "通话 11 通，成交 3 笔" in replies[0].text and "转介：3" in replies[0].text
    assert "本月投诉：1" in replies[0].text
    photo = next(m for m in replies if m.method == "sendPhoto")
    png = next(iter(photo.files.values()))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 800)
    doc = next(m for m in replies if m.method == "sendDocument")
    book = load_workbook(io.BytesIO(next(iter(doc.files.values()))))
    assert book.sheetnames == ["advisors", "daily", "referrals", "referrals_daily", "practice",
                               "complaints"]
    advisors = list(book["advisors"].iter_rows(values_only=True))
    assert advisors[0][:4] == ("理财经理", "通话", "面谈", "成交")
    assert advisors[1:] == [("博文", 2, 0, 0, 0, 0), ("安娜", 9, 0, 3, 300000, 0),
                            ("合计", 11, 0, 3, 300000, 0)]
    daily = list(book["daily"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == 7 and daily[-1][1:] == (5, 2) and daily[3][1:] == (4, 1)
    assert daily[5][1:] == (2, 0)
    referrals = list(book["referrals"].iter_rows(values_only=True))
    assert referrals[1:] == [("大堂乙", 1, 0, 0, 1), ("柜员甲", 2, 1, 1, 0)]
    per_day = list(book["referrals_daily"].iter_rows(values_only=True))
    assert per_day[0][0] == "转介人" and per_day[0][-2] == "11-25" and len(per_day[0]) == 9
    assert per_day[2] == ("柜员甲", 0, 0, 0, 0, 1, 0, 1, 2)
    complaints = {r[0]: r[1] for r in book["complaints"].iter_rows(values_only=True)}
    assert complaints["本月收到"] == 1 and complaints["fees"] == 1
    assert "用法" in (await harness.chat(lead).send("/report year"))[-1].text


async def test_report_month_and_team_referral_counts(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha", name="安娜")
    teller = harness.person("referrer", team="Alpha", name="柜员甲")
    _activity(harness, ann, calls=3, sales=1, days_ago=20)  # Nov 5: this month
    _activity(harness, ann, calls=7, sales=7, days_ago=30)  # Oct 26: not this month
    _referral(harness, teller, ann, status="accepted")
    _referral(harness, teller, ann, status="accepted", days_ago=10)
    _referral(harness, teller, ann, status="accepted", days_ago=40)
    replies = await harness.chat(lead).send("/report month")
    assert "2026-11-01 – 2026-11-25" in replies[0].text and "通话 3 通" in replies[0].text
    doc = next(m for m in replies if m.method == "sendDocument")
    book = load_workbook(io.BytesIO(next(iter(doc.files.values()))))
    assert book["daily"].max_row == 26  # header + 25 days
    text = (await harness.chat(lead).send("/team"))[-1].text
    assert "柜员甲: 1 / 2" in text


def test_chart_without_a_cjk_font_uses_pinyin(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from coach.reports import fonts, team
    from coach.services.reports import AdvisorNumbers, PeriodReport

    monkeypatch.setattr(fonts, "cjk_font", lambda: None)  # no bundled file, nothing installed
    monkeypatch.setattr(fonts, "_installed", lambda: [])
    assert fonts.label("安娜") == "An Na" and fonts.label("Ann") == "Ann"
    report = PeriodReport("week", date(2026, 11, 19), date(2026, 11, 25),
                          [AdvisorNumbers(1, "安娜", calls=3, sales=1)],
                          [(date(2026, 11, 25), 3, 1)])
    titles = {"calls": "通话", "sales": "成交", "per_advisor": "每人", "per_day": "每天"}
    png = team.team_chart_png(report, titles=titles)
    assert png[:4] == b"\x89PNG" and len(png) > 10_000


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
    assert [label for label, _ in choose.buttons] == ["博文", "👤 博文"]
    crafted = (await chat.press_data(f"ov to {fid} {_uid(harness, outsider)}"))[-1]
    assert "不在您的团队" in crafted.text
    done = (await chat.press_data(f"ov to {fid} {_uid(harness, bob)}"))[0]
    assert "博文" in done.text
    assert "逾期跟进" in harness.telegram.messages_to(bob.id)[-1].text
    with harness.services.db.session() as s:
        assert s.get(FollowUp, fid).advisor_id == _uid(harness, bob)  # type: ignore[union-attr]
        assert s.get(Client, cid).advisor_id == _uid(harness, ann)  # type: ignore[union-attr]
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


async def test_referral_decline_with_reason_redirect_and_rotation(harness: BotHarness) -> None:
    referrer = harness.person("referrer", team="Alpha")
    first = harness.person("advisor", team="Alpha", name="安娜")
    second = harness.person("advisor", team="Alpha", name="博文")
    harness.person("advisor", team="Beta", name="外队")  # never in Alpha's rotation
    await _refer(harness, referrer, "rf a rot")
    await _refer(harness, referrer, "rf a rot")
    await _refer(harness, referrer, "rf a rot")
    assert len(harness.telegram.messages_to(first.id)) == 2  # round robin: 1st and 3rd
    assert len(harness.telegram.messages_to(second.id)) == 1
    notice = harness.telegram.messages_to(first.id)[0]
    intruder = (await harness.chat(second).press(notice.buttons[0][1], message=notice))[-1]
    assert "不属于您" in intruder.text
    reasons = (await harness.chat(first).press(notice.buttons[1][1], message=notice))[-1]
    assert "原因" in reasons.text and len(reasons.buttons) == 5
    referral_id = int(notice.buttons[1][1].split()[-1])
    assert "不属于您" in (await harness.chat(second).press_data(
        f"rf no {referral_id} busy"))[-1].text
    declined = (await harness.chat(first).press(f"rf no {referral_id} busy",
                                                message=reasons))[0]
    assert "已婉拒（目前客户已排满）" in declined.text
    told = harness.telegram.messages_to(referrer.id)[-1]
    assert "无法接手" in told.text and "目前客户已排满" in told.text and "钱**" in told.text
    assert told.buttons == [("↪️ 换一位理财经理", f"rf re {referral_id}")]
    with harness.services.db.session() as s:
        row = s.get(Referral, referral_id)
        assert (row.status, row.decline_reason) == ("declined", "busy")  # type: ignore[union-attr]
    # the referrer passes it on: the advisor who declined is not offered again
    choose = (await harness.chat(referrer).press(told.buttons[0][1], message=told))[-1]
    assert [label for label, _ in choose.buttons] == ["博文", "🔄 团队轮转"]
    assert "角色不能使用" in (await harness.chat(second).press_data(
        f"rf to {referral_id} {_uid(harness, second)}"))[-1].text  # an advisor cannot
    teller = harness.person("referrer", team="Alpha")
    assert "不属于您" in (await harness.chat(teller).press_data(
        f"rf re {referral_id}"))[-1].text  # nor another referrer
    sent = (await harness.chat(referrer).press(f"rf to {referral_id} {_uid(harness, second)}",
                                               message=choose))[0]
    assert "已转介给 博文" in sent.text
    notice2 = harness.telegram.messages_to(second.id)[-1]
    assert "钱女士" in notice2.text and notice2.buttons[0][1] == f"rf ok {referral_id}"
    await harness.chat(second).press(notice2.buttons[0][1], message=notice2)
    again = (await harness.chat(referrer).press(f"rf to {referral_id} rot", message=choose))[-1]
    assert "已经处理过" in again.text
    mine = (await harness.chat(referrer).send("/myreferrals"))[-1].text
    assert mine.count("钱**") == 3 and "已接受" in mine and "待处理" in mine
    with harness.services.db.session() as s:
        assert sorted(s.scalars(select(Referral.status))) == ["accepted", "pending", "pending"]
        assert s.scalar(select(Referral.decline_reason).where(Referral.id == referral_id)) is None


async def test_referrer_cannot_read_clients_or_use_lead_commands(harness: BotHarness) -> None:
    referrer = harness.person("referrer", team="Alpha")
    advisor = harness.person("advisor", team="Alpha")
    with harness.services.db.session() as s:
        factories.client(s, advisor_id=_uid(harness, advisor), now=harness.clock.now())
    chat = harness.chat(referrer)
    for command in ("/client 王建国", "/team", "/report week", "/overdue", "/today"):
        assert "角色不能使用" in (await chat.send(command))[-1].text, command
    with harness.services.db.session() as s:
        client_id = s.scalar(select(Client.id))
    for command in ("/log 王建国 没接", "/followups", "/suit 王建国 WX90", "/export_ics",
                    "/briefing", "/assign"):
        assert "角色不能使用" in (await chat.send(command))[-1].text, command
    crafted = (await chat.press_data(f"cl {client_id}"))[-1]
    assert "王建国" not in crafted.text and "角色不能使用" in crafted.text
    # not even the client they referred themselves, once it belongs to the advisor
    await _refer(harness, referrer, "rf a rot")
    notice = harness.telegram.messages_to(advisor.id)[-1]
    await harness.chat(advisor).press(notice.buttons[0][1], message=notice)
    with harness.services.db.session() as s:
        referred = s.scalars(select(Client).where(Client.name == "钱女士")).one()
    shown = (await chat.press_data(f"cl {referred.id}"))[-1]
    assert "13900001111" not in shown.text and "角色不能使用" in shown.text
    assert "钱女士" not in (await chat.send("/myreferrals"))[-1].text  # masked there too


async def test_overdue_moves_only_the_followup_unless_the_client_is_handed_over(
        harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    ann = harness.person("advisor", team="Alpha", name="安娜")
    bob = harness.person("advisor", team="Alpha", name="博文")
    now = harness.clock.now()
    with harness.services.db.session() as s:
        first = factories.client(s, advisor_id=_uid(harness, ann), now=now)
        second = factories.client(s, advisor_id=_uid(harness, ann), now=now)
        rows = [FollowUp(client_id=c.id, advisor_id=c.advisor_id, kind="call", reason="manual",
                         due_at=now - timedelta(days=4), status="pending", created_at=now)
                for c in (first, second)]
        s.add_all(rows)
        s.flush()
        (f1, f2), (c1, c2) = [r.id for r in rows], (first.id, second.id)
    chat = harness.chat(lead)
    listing = (await chat.send("/overdue"))[-1]
    choose = (await chat.press(f"ov r {f1}", message=listing))[-1]
    # the current owner (安娜) is not offered; each target can take the call or the client
    assert [label for label, _ in choose.buttons] == ["博文", "👤 博文"]
    # ann cannot be chosen by crafted data either
    crafted = (await chat.press_data(f"ov to {f1} {_uid(harness, ann)}"))[-1]
    assert "不在您的团队" in crafted.text
    done = (await chat.press(f"ov to {f1} {_uid(harness, bob)}", message=choose))[0]
    assert "客户仍归原理财经理" in done.text
    assert "替同事" in harness.telegram.messages_to(bob.id)[-1].text
    assert "客户仍归您" in harness.telegram.messages_to(ann.id)[-1].text
    listing = (await chat.send("/overdue"))[-1]
    choose = (await chat.press(f"ov r {f2}", message=listing))[-1]
    await chat.press(f"ov tc {f2} {_uid(harness, bob)}", message=choose)
    assert "移交给了您" in harness.telegram.messages_to(bob.id)[-1].text
    assert "移交给 博文" in harness.telegram.messages_to(ann.id)[-1].text
    with harness.services.db.session() as s:
        assert s.get(FollowUp, f1).advisor_id == _uid(harness, bob)  # type: ignore[union-attr]
        assert s.get(Client, c1).advisor_id == _uid(harness, ann)  # type: ignore[union-attr]
        assert s.get(FollowUp, f2).advisor_id == _uid(harness, bob)  # type: ignore[union-attr]
        assert s.get(Client, c2).advisor_id == _uid(harness, bob)  # type: ignore[union-attr]
