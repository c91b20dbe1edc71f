"""Product catalogue, /product, /suit, /qualify and the suitability step of logging a sale."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.services import Services
from coach.services import people
from coach.services.client_import import import_clients, read_rows
from coach.services.products import import_products, read_product_rows
from coach.tiers import TierThresholds
from storage.models import Holding, Interaction, Product, Qualification
from tests import factories
from tests.conftest import BotHarness

DATA = Path(__file__).parent / "data"
_TAGS = re.compile(r"<[^>]+>")
TODAY = date(2026, 11, 25)  # the harness clock's day in Shanghai


def load_catalogue(services: Services) -> None:
    with services.db.session() as s, (DATA / "products.csv").open(encoding="utf-8") as fh:
        report = import_products(s, read_product_rows(fh))
        assert report.problems == []


def _client(harness: BotHarness, owner, name: str = "王建国", **kw) -> int:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        user = people.find_user(s, owner.id)
        assert user is not None
        return factories.client(s, advisor_id=user.id, name=name, now=harness.clock.now(),
                                **kw).id


def plain(text: str) -> str:
    return _TAGS.sub("", text)


def _qualify(harness: BotHarness, who, code: str) -> None:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        user = people.find_user(s, who.id)
        assert user is not None
        s.add(Qualification(user_id=user.id, code=code, granted_on=TODAY))


# --- catalogue ----------------------------------------------------------------------------


def test_cli_import_upserts_by_code_and_reports_bad_rows(
        services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    assert main(["products", "import", str(DATA / "products.csv")]) == 0
    assert "imported 12 new and 0 updated" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,risk_rating,min_amount,sale_start,sale_end\n"
        "WM090,稳健增利90天(新),R2,5000,,\n"          # update by code
        ",无代码,R2,,,\n"                               # line 3: no code
        "X1,坏评级,R9,,,\n"                             # line 4: bad rating
        "X2,坏窗口,R2,,2026-12-01,2026-11-01\n"        # line 5: reversed window
        "X3,坏金额,R2,lots,,\n"                        # line 6: bad amount
        "NEW1,新产品,r3,1万,,\n", encoding="utf-8")
    assert main(["products", "import", str(bad)]) == 1
    out = capsys.readouterr().out
    for line, code in ((3, "code_invalid"), (4, "rating_invalid"), (5, "sale_window_invalid"),
                       (6, "amount_invalid")):
        assert f"{bad}:{line}: {code}" in out
    assert "nothing imported: 4 rows have problems" in out  # one bad row: nothing written
    with services.db.session() as s:
        assert s.scalars(select(Product).where(Product.code == "WM090")).one().name == "稳健增利90天"
    good = tmp_path / "good.csv"
    good.write_text("code,name,risk_rating,min_amount,sale_start,sale_end\n"
                    "WM090,稳健增利90天(新),R2,5000,,\n"
                    "NEW1,新产品,r3,1万,,\n", encoding="utf-8")
    assert main(["products", "import", str(good)]) == 0
    assert "imported 1 new and 1 updated" in capsys.readouterr().out
    with services.db.session() as s:
        wm = s.scalars(select(Product).where(Product.code == "WM090")).one()
        assert (wm.name, wm.min_amount) == ("稳健增利90天(新)", 5000)
        new = s.scalars(select(Product).where(Product.code == "NEW1")).one()
        assert (new.risk_rating, new.min_amount) == ("R3", 10000)
    assert main(["products", "import", str(tmp_path / "nope.csv")]) == 1


def test_client_import_links_holdings_to_the_catalogue(services: Services) -> None:
    load_catalogue(services)
    with services.db.session() as s:
        advisor = factories.user(s, now=services.clock.now())
        with (DATA / "clients_good.csv").open(encoding="utf-8") as fh:
            import_clients(s, read_rows(fh), advisor=advisor, clock=services.clock,
                           thresholds=TierThresholds(wealth=50_000, premier=500_000,
                                                     private=6_000_000))
    with services.db.session() as s:
        linked = {h.product_name: h.product_id for h in s.scalars(select(Holding))}
        codes = {p.id: p.code for p in s.scalars(select(Product))}
        assert codes[linked["稳健增利90天"]] == "WM090"
        assert codes[linked["沪深300指数基金"]] == "IF300"


async def test_product_card_leads_with_the_benefit(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    chat = harness.chat(harness.person("advisor"))
    card = (await chat.send("/product wm090"))[-1].text
    assert "稳健增利90天" in card and "R2" in card
    assert card.index("客户得到什么") < card.index("优势在哪里") < card.index("产品是什么")
    assert "不保证本金和收益" in card
    listing = (await chat.send("/product"))[-1].text
    assert "PE01" in listing and "CD3Y" in listing
    assert "没有“NOPE”" in (await chat.send("/product NOPE"))[-1].text


# --- /suit -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tolerance", "product", "suitable"), [
    ("C1", "MM01", True), ("C1", "WM090", False), ("C3", "BF01", True),
    ("C3", "IF300", False), ("C4", "IF300", True), ("C5", "IF300", True),
])
async def test_suit_compares_rating_with_tolerance(harness: BotHarness, tolerance: str,
                                                   product: str, suitable: bool) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    _client(harness, advisor, risk=tolerance, assessed_on=TODAY - timedelta(days=30))
    text = plain((await harness.chat(advisor).send(f"/suit 王建国 {product}"))[-1].text)
    assert ("✅ 适合" in text) is suitable and ("⛔ 不适合" in text) is not suitable
    if not suitable:
        assert "高于客户的风险承受能力" in text


async def test_suit_unsuitable_suggests_catalogue_products(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    client_id = _client(harness, advisor, risk="C2", assessed_on=TODAY - timedelta(days=10))
    chat = harness.chat(advisor)
    reply = (await chat.send("/suit 王建国 IF300"))[-1]
    assert "R4 高于客户的风险承受能力 C2（最高可买 R2）" in reply.text
    assert "今天适合该客户的产品" in reply.text
    assert "稳健增利90天" in reply.text and "成长精选混合" not in reply.text
    assert "新春理财" not in reply.text  # not on sale yet
    with harness.services.db.session() as s:
        wm = s.scalars(select(Product).where(Product.code == "WM090")).one()
    assert f"su {client_id} {wm.id}" in [d for _, d in reply.buttons]
    follow = (await chat.press(f"su {client_id} {wm.id}"))[-1]
    assert "✅ 适合" in plain(follow.text)


async def test_assessment_is_valid_six_calendar_months(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    # today 25 November: an assessment of 25 May is valid through today (184 days, not 180)
    _client(harness, advisor, "王建国", risk="C3", assessed_on=date(2026, 5, 25))
    _client(harness, advisor, "李秀英", risk="C3", assessed_on=date(2026, 5, 24))
    chat = harness.chat(advisor)
    fresh = plain((await chat.send("/suit 王建国 BF01"))[-1].text)
    assert "✅ 适合" in fresh and "有效期至 2026-11-25" in fresh
    stale = plain((await chat.send("/suit 李秀英 BF01"))[-1].text)
    assert "⛔ 不适合" in stale and "有效期到2026-11-24" in stale and "请先重新测评" in stale
    assert "测评更新后" in stale  # no suggestions until reassessed


async def test_missing_assessment_is_unsuitable(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    _client(harness, advisor, risk=None, assessed_on=None)
    text = plain((await harness.chat(advisor).send("/suit 王建国 MM01"))[-1].text)
    assert "⛔ 不适合" in text and "没有风险测评记录" in text


async def test_qualification_required_and_granted_by_the_lead(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor", team="Alpha")
    lead = harness.person("lead", team="Alpha")
    other_lead = harness.person("lead", team="Beta")
    _client(harness, advisor, risk="C4", assessed_on=TODAY - timedelta(days=5))
    chat = harness.chat(advisor)
    text = plain((await chat.send("/suit 王建国 GR01"))[-1].text)
    assert "⛔ 不适合" in text and "需要 AFP 资格（任一即可），您目前没有" in text
    handle = f"@u{advisor.id}"
    assert "您的角色不能使用" in (await chat.send(f"/qualify {handle} AFP"))[-1].text
    assert "不在您的团队" in (await harness.chat(other_lead).send(f"/qualify {handle} AFP"))[-1].text
    assert "具备 AFP 资格" in (await harness.chat(lead).send(f"/qualify {handle} afp"))[-1].text
    assert "已经具备" in (await harness.chat(lead).send(f"/qualify {handle} AFP"))[-1].text
    listing = (await harness.chat(lead).send(f"/qualify {handle}"))[-1].text
    assert "AFP" in listing and "2026-11-25" in listing
    text = plain((await chat.send("/suit 王建国 GR01"))[-1].text)
    assert "✅ 适合" in text and "您已具备" in text
    assert "AFP" in (await chat.send("/qualify"))[-1].text
    assert "已取消" in (await harness.chat(lead).send(f"/qualify {handle} -AFP"))[-1].text


async def test_sale_window(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    _client(harness, advisor, risk="C3", assessed_on=TODAY - timedelta(days=5))
    chat = harness.chat(advisor)
    assert "今天在销售期内" in plain((await chat.send("/suit 王建国 WQ01"))[-1].text)
    text = plain((await chat.send("/suit 王建国 SP02"))[-1].text)
    assert "⛔ 不适合" in text and "今天不在销售期内（销售期 2027-01-10 – 2027-02-10）" in text


async def test_suit_buttons_never_trust_callback_data(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    mine, other = harness.person("advisor"), harness.person("advisor", team="Beta")
    _client(harness, mine, risk="C3")
    theirs = _client(harness, other, "李秀英", risk="C3")
    chat = harness.chat(mine)
    reply = (await chat.press_data(f"su {theirs} 1"))[-1]
    assert "没有找到" in reply.text and "李秀英" not in reply.text
    assert "您名下没有与" in plain((await chat.send("/suit 李秀英 BF01"))[-1].text)


# --- a sale logged through /log -------------------------------------------------------------


async def _log_unsuitable_sale(harness: BotHarness, choice: str):  # type: ignore[no-untyped-def]
    load_catalogue(harness.services)
    advisor = harness.person("advisor", team="Alpha", name="林晓峰")
    lead = harness.person("lead", team="Alpha")
    client_id = _client(harness, advisor, risk="C2", assessed_on=TODAY - timedelta(days=20))
    chat = harness.chat(advisor)
    confirm = (await chat.send("/log 王建国 成交 20万 IF300"))[-1]
    assert "lg ok" in [d for _, d in confirm.buttons]
    warning = (await chat.press("lg ok"))[-1]
    assert "不适合该客户" in warning.text and "高于客户的风险承受能力" in warning.text
    assert [d for _, d in warning.buttons] == ["lg ins", "lg uns", "lg x"]
    with harness.services.db.session() as s:
        assert s.scalars(select(Interaction)).all() == []  # not saved silently
    replies = await chat.press(choice)
    return advisor, lead, client_id, replies


async def test_unsuitable_sale_with_signed_acknowledgement(harness: BotHarness) -> None:
    advisor, lead, client_id, replies = await _log_unsuitable_sale(harness, "lg ins")
    assert any("已保存" in r.text for r in replies)
    assert any("附客户签署的确认书" in r.text and "已通知" in r.text for r in replies)
    with harness.services.db.session() as s:
        sale = s.scalars(select(Interaction)).one()
        product = s.scalars(select(Product).where(Product.code == "IF300")).one()
        assert sale.product_id == product.id
        assert sale.unsuitable_reasons == "product_risk_above_tolerance"
        assert sale.client_insisted_at == harness.clock.now()
    notice = harness.telegram.messages_to(lead.id)[-1]
    assert "不适当销售" in notice.text and "林晓峰" in notice.text
    assert "王**" in notice.text and "王建国" not in notice.text  # masked for the lead
    assert "已签署" in notice.text and f"cl {client_id}" in [d for _, d in notice.buttons]


async def test_unsuitable_sale_without_acknowledgement(harness: BotHarness) -> None:
    _advisor, lead, _client_id, replies = await _log_unsuitable_sale(harness, "lg uns")
    assert any("客户未签署确认书" in r.text for r in replies)
    with harness.services.db.session() as s:
        sale = s.scalars(select(Interaction)).one()
        assert sale.unsuitable_reasons == "product_risk_above_tolerance"
        assert sale.client_insisted_at is None
    assert "客户没有签署确认书" in harness.telegram.messages_to(lead.id)[-1].text


async def test_unsuitable_sale_can_be_cancelled(harness: BotHarness) -> None:
    _advisor, lead, _client_id, _replies = await _log_unsuitable_sale(harness, "lg x")
    with harness.services.db.session() as s:
        assert s.scalars(select(Interaction)).all() == []
    assert harness.telegram.messages_to(lead.id) == []


async def test_suitable_sale_saves_directly_and_links_product(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    lead = harness.person("lead")
    _client(harness, advisor, risk="C3", assessed_on=TODAY - timedelta(days=20))
    chat = harness.chat(advisor)
    await chat.send("/log 王建国 成交 10万 稳健增利90天")
    saved = await chat.press("lg ok")
    assert "已保存" in saved[-1].text
    with harness.services.db.session() as s:
        sale = s.scalars(select(Interaction)).one()
        assert sale.product_id is not None and sale.unsuitable_reasons is None
    assert harness.telegram.messages_to(lead.id) == []


async def test_crafted_insist_button_on_a_suitable_sale_records_nothing_extra(
        harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    _client(harness, advisor, risk="C3", assessed_on=TODAY - timedelta(days=20))
    chat = harness.chat(advisor)
    await chat.send("/log 王建国 成交 10万 WM090")
    await chat.press_data("lg ins")
    with harness.services.db.session() as s:
        sale = s.scalars(select(Interaction)).one()
        assert (sale.unsuitable_reasons, sale.client_insisted_at) == (None, None)


# --- clients who need more care (issue 13) -------------------------------------------------


async def test_elderly_client_sale_asks_for_the_extra_steps_first(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    _client(harness, advisor, risk="C3", assessed_on=TODAY - timedelta(days=20),
            birthday=date(1950, 3, 1))
    chat = harness.chat(advisor)
    await chat.send("/log 王建国 成交 10万 稳健增利90天")
    ask = (await chat.press("lg ok"))[-1]
    text = plain(ask.text)
    assert "客户今年76岁" in text and "第二人在场" in text
    assert [d for _, d in ask.buttons] == ["lg xs", "lg x"]
    with harness.services.db.session() as s:
        assert s.scalars(select(Interaction)).all() == []  # nothing saved yet
    saved = await chat.press("lg xs")
    assert any("已保存" in r.text for r in saved)
    with harness.services.db.session() as s:
        sale = s.scalars(select(Interaction)).one()
        assert sale.extra_steps_at == harness.clock.now() and sale.unsuitable_reasons is None


async def test_first_purchase_or_vulnerable_client_can_be_cancelled(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    _client(harness, advisor, risk="C3", assessed_on=TODAY - timedelta(days=20),
            first_purchase=True, vulnerable=True)
    chat = harness.chat(advisor)
    await chat.send("/log 王建国 成交 10万 稳健增利90天")
    text = plain((await chat.press("lg ok"))[-1].text)
    assert "首次购买风险类产品" in text and "弱势客户" in text
    await chat.press("lg x")
    with harness.services.db.session() as s:
        assert s.scalars(select(Interaction)).all() == []


async def test_a_forged_save_without_the_extra_steps_is_refused(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    _client(harness, advisor, risk="C3", assessed_on=TODAY - timedelta(days=20),
            vulnerable=True)
    chat = harness.chat(advisor)
    await chat.send("/log 王建国 成交 10万 稳健增利90天")
    replies = await chat.press_data("lg uns")  # skips the question: the service refuses
    assert any("需要先完成额外步骤" in r.text for r in replies)
    with harness.services.db.session() as s:
        assert s.scalars(select(Interaction)).all() == []


async def test_suit_screen_shows_care_warnings(harness: BotHarness) -> None:
    load_catalogue(harness.services)
    advisor = harness.person("advisor")
    _client(harness, advisor, risk="C3", assessed_on=TODAY - timedelta(days=20),
            birthday=date(1958, 1, 1))
    text = plain((await harness.chat(advisor).send("/suit 王建国 BF01"))[-1].text)
    assert "✅ 适合" in text and "客户今年68岁" in text and "录音录像" in text
