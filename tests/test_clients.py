"""Clients: lookup, card, /addclient flow, access rules and CSV import."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.services import Services
from coach.actor import Me
from coach.services import clients
from coach.services.client_import import import_clients, read_rows
from coach.services.errors import ServiceError
from coach.tiers import TierThresholds
from storage.models import AccessAudit, Client, FollowUp, Holding
from tests import factories
from tests.conftest import BotHarness

DATA = Path(__file__).parent / "data"


def _client_for(harness: BotHarness, owner_tid: int, name: str, **kw: object) -> int:
    with harness.services.db.session() as s:
        from coach.services import people

        owner = people.find_user(s, owner_tid)
        assert owner is not None
        return factories.client(s, advisor_id=owner.id, name=name, now=harness.clock.now(),
                                **kw).id  # type: ignore[arg-type]


async def test_client_card_by_fuzzy_and_traditional_name(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client_for(harness, advisor.id, "王建国")
    chat = harness.chat(advisor)
    for query in ("王建国", "王建國", "wangjianguo", "王健国"):
        replies = await chat.send(f"/client {query}")
        assert "王建国" in replies[-1].text and "13800001234" in replies[-1].text, query


async def test_several_matches_give_buttons(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    first = _client_for(harness, advisor.id, "王建国")
    _client_for(harness, advisor.id, "王建华")
    chat = harness.chat(advisor)
    replies = await chat.send("/client 王建")
    assert replies[-1].buttons and len(replies[-1].buttons) == 2
    replies = await chat.press(f"cl {first}")
    assert "王建国" in replies[-1].text


async def test_advisor_cannot_see_another_advisors_client(harness: BotHarness) -> None:
    mine = harness.person("advisor")
    other = harness.person("advisor")
    theirs = _client_for(harness, other.id, "李秀英")
    chat = harness.chat(mine)
    replies = await chat.send("/client 李秀英")
    assert "您名下没有与" in replies[-1].text and "1234" not in replies[-1].text
    replies = await chat.press_data(f"cl {theirs}")
    assert "没有找到" in replies[-1].text and "李秀英" not in replies[-1].text


async def test_lead_sees_team_but_not_other_team_and_access_is_audited(
        harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    outsider = harness.person("advisor", team="Beta")
    lead = harness.person("lead", team="Alpha")
    ours = _client_for(harness, advisor.id, "刘桂兰")
    _client_for(harness, outsider.id, "黄美玲")
    chat = harness.chat(lead)
    replies = await chat.send("/client 刘桂兰")
    assert "刘**" in replies[-1].text and "刘桂兰" not in replies[-1].text  # not the owner
    assert "13800001234" not in replies[-1].text and "1234" in replies[-1].text  # masked
    replies = await chat.send("/client 黄美玲")
    assert "没有与" in replies[-1].text
    with harness.services.db.session() as s:
        audits = s.scalars(select(AccessAudit)).all()
        assert [(a.client_id, a.action) for a in audits] == [(ours, "view")]


async def test_referrer_cannot_read_clients(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _client_for(harness, advisor.id, "王建国")
    referrer = harness.person("referrer")
    replies = await harness.chat(referrer).send("/client 王建国")
    assert "角色不能使用" in replies[-1].text


async def test_addclient_guided_flow_saves_and_schedules_callback(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    await chat.send("赵六")
    await chat.press("ac salute -")
    await chat.send("139-1111-2222")
    await chat.press("跳过")  # no assets typed: the tier is chosen
    await chat.press("理财客户")
    await chat.press("C2")
    await chat.send("2026-09-01")
    replies = await chat.press("跳过")
    assert "赵六" in replies[-1].text and "C2 稳健型" in replies[-1].text
    replies = await chat.press("✅")
    assert "赵六" in replies[-1].text
    with harness.services.db.session() as s:
        client = s.scalars(select(Client).where(Client.name == "赵六")).one()
        assert (client.tier, client.risk_tolerance, str(client.risk_assessed_on)) == (
            "wealth", "C2", "2026-09-01")
        followup = s.scalars(select(FollowUp).where(FollowUp.client_id == client.id)).one()
        assert followup.reason == "new_account"
        assert followup.due_at.date().isoformat() == "2026-11-30"  # Sat 28th → Monday


async def test_addclient_bad_input_is_asked_again_and_cancel_saves_nothing(
        harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    await chat.send("赵六")
    await chat.press("ac salute -")
    replies = await chat.send("not a phone")
    assert "不像电话号码" in replies[-1].text
    await chat.press("跳过")
    await chat.press("跳过")
    await chat.press("大众客户")
    await chat.press("C1")
    replies = await chat.send("2026-02-30")
    assert "没看懂这个日期" in replies[-1].text
    replies = await chat.send("/cancel")
    assert "没有保存" in replies[-1].text
    with harness.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == 0


async def test_addclient_resumes_after_restart(harness: BotHarness, services: Services) -> None:
    from bot.app import build_application
    from bot.chat import LocalChat
    from bot.fakebot import FakeRequest

    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    await chat.send("/addclient")
    await chat.send("孙七")
    await chat.press("ac salute -")
    await harness.app.update_persistence()
    app2 = build_application(services, request=FakeRequest(harness.telegram), rate_limit=False,
                             jobs=False)
    async with app2:
        chat2 = LocalChat(app2, harness.telegram, advisor)
        replies = await chat2.send("13800009999")
        assert "资产" in replies[-1].text


def _thresholds() -> TierThresholds:
    return TierThresholds()


def _advisor(services: Services) -> Me:
    with services.db.session() as s:
        team = factories.team(s, now=services.clock.now())
        user = factories.user(s, team_id=team.id, now=services.clock.now())
        return Me(user.id, user.telegram_id, user.name, "advisor", team.id, "zh-Hans",
                  "Asia/Shanghai")


def test_import_good_file(services: Services) -> None:
    me = _advisor(services)
    with services.db.session() as s, (DATA / "clients_good.csv").open(encoding="utf-8") as fh:
        from coach.services import people

        advisor = people.get_user(s, me.user_id)
        report = import_clients(s, read_rows(fh), advisor=advisor, clock=services.clock,
                                thresholds=_thresholds())
    assert (report.clients, report.holdings, report.problems) == (3, 3, [])
    with services.db.session() as s:
        wang = s.scalars(select(Client).where(Client.name == "王建國")).one()
        assert len(wang.holdings) == 2 and wang.tier == "premier"
        chen = s.scalars(select(Client).where(Client.name == "Chen Mei")).one()
        assert chen.tier == "premier" and str(chen.birthday) == "1980-02-29"


def test_import_bad_rows_are_reported_not_imported(services: Services) -> None:
    me = _advisor(services)
    with services.db.session() as s, (DATA / "clients_bad.csv").open(encoding="utf-8") as fh:
        from coach.services import people

        advisor = people.get_user(s, me.user_id)
        report = import_clients(s, read_rows(fh), advisor=advisor, clock=services.clock,
                                thresholds=_thresholds())
    lines = [line for line, _ in report.problems]
    assert lines == [2, 3, 4, 5, 8]
    assert report.clients == 0  # a file with any bad row writes nothing (not even 吴芳)
    with services.db.session() as s:
        assert s.scalars(select(Client.name)).all() == []
        assert s.scalar(select(func.count()).select_from(Holding)) == 0


def test_cli_import_reports_file_and_line(services: Services, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    me = _advisor(services)
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    code = main(["clients", "import", str(DATA / "clients_bad.csv"),
                 "--advisor", str(me.telegram_id)])
    out = capsys.readouterr().out
    assert code == 1
    assert "clients_bad.csv:2: risk_tolerance: risk_invalid" in out
    assert "nothing imported: 5 of 7 rows" in out
    assert main(["clients", "import", str(DATA / "nope.csv"), "--advisor", "1"]) == 1


def test_add_client_validation(services: Services) -> None:
    me = _advisor(services)
    with pytest.raises(ServiceError) as err, services.db.session() as s:
        clients.add_client(s, me, clients.ClientDraft(name="", tier="mass"), clock=services.clock,
                           thresholds=_thresholds())
    assert err.value.code == "client_name_invalid"
