"""Bank confidentiality: masked names for non-owners, /audit, /forget, crafted buttons, logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.logfilter import RedactingFilter
from coach.services import people
from coach.services.products import import_products, read_product_rows
from storage.models import (
    AccessAudit,
    Appointment,
    Base,
    Client,
    ClientQuestion,
    Complaint,
    FollowUp,
    Interaction,
    Referral,
    ScriptEvent,
    StateEntry,
    UnmetNeed,
)
from tests import factories
from tests.conftest import BotHarness
from tests.test_suitability_bot import DATA, TODAY

NAME, PHONE = "王建国", "13912345678"


def _client(harness: BotHarness, owner, name: str = NAME, **kw) -> int:  # type: ignore[no-untyped-def]
    with harness.services.db.session() as s:
        user = people.find_user(s, owner.id)
        assert user is not None
        return factories.client(s, advisor_id=user.id, name=name, now=harness.clock.now(),
                                phone=PHONE, **kw).id


def _team(harness: BotHarness):  # type: ignore[no-untyped-def]
    advisor = harness.person("advisor", team="Alpha", name="林晓峰")
    lead = harness.person("lead", team="Alpha", name="周慧琳")
    return advisor, lead, _client(harness, advisor)


# --- masking ----------------------------------------------------------------------------------


async def test_client_names_are_masked_wherever_a_non_owner_sees_them(
        harness: BotHarness) -> None:
    with harness.services.db.session() as s, (DATA / "products.csv").open(encoding="utf-8") as fh:
        import_products(s, read_product_rows(fh))
    advisor, lead, client_id = _team(harness)
    with harness.services.db.session() as s:
        row = s.get(Client, client_id)
        assert row is not None
        row.risk_tolerance, row.risk_assessed_on = "C2", TODAY - timedelta(days=5)
    mine, leads = harness.chat(advisor), harness.chat(lead)
    shown: list[str] = []

    # the card: the owner sees everything in private; the lead sees the phone's last 4 only
    own_card = (await mine.send(f"/client {NAME}"))[-1].text
    assert NAME in own_card and PHONE in own_card
    lead_card = (await leads.send(f"/client {NAME}"))[-1].text
    assert PHONE not in lead_card and "****5678" in lead_card
    # in a group chat even the owner's card is masked
    group = (await mine.send(f"/client {NAME}", chat_id=-100, chat_type="group"))[-1].text
    assert NAME not in group and "王**" in group and PHONE not in group and "5678" in group

    await mine.send(f"/complaint {NAME} {NAME}说理财经理推销时没说清楚风险")
    shown.append(harness.telegram.messages_to(lead.id)[-1].text)        # complaint notice
    await mine.send(f"/log {NAME} 成交 5万 IF300")
    await mine.press("lg ok")
    await mine.press("lg ins")
    shown.append(harness.telegram.messages_to(lead.id)[-1].text)        # unsuitable sale
    await mine.send(f"/need {NAME} usd {NAME}想要美元理财")
    shown.append((await leads.send("/complaints"))[-1].text)
    shown.append((await leads.send("/needs"))[-1].text)
    shown.append((await leads.send(f"/audit {NAME}"))[-1].text)
    await mine.send(f"/forget {NAME}")
    shown.append(harness.telegram.messages_to(lead.id)[-1].text)        # deletion request
    assert "不适当销售" in shown[1] and "删除" in shown[-1]
    for text in shown:
        assert NAME not in text and "王**" in text, text
        assert PHONE not in text

    # with privacy mode off the lead sees names (phones stay masked on the card)
    harness.services.settings.privacy_mode = False
    assert NAME in (await leads.send("/complaints"))[-1].text


async def test_audit_lists_every_non_owner_read(harness: BotHarness) -> None:
    advisor, lead, client_id = _team(harness)
    await harness.chat(advisor).send(f"/client {NAME}")  # the owner: not audited
    await harness.chat(lead).send(f"/client {NAME}")
    harness.clock.advance(hours=1)
    text = (await harness.chat(lead).send(f"/audit {NAME}"))[-1].text
    assert "周慧琳" in text and "查看了客户卡片" in text and "10:00" in text
    assert "林晓峰" not in text
    assert "您的角色不能使用" in (await harness.chat(advisor).send(f"/audit {NAME}"))[-1].text
    with harness.services.db.session() as s:
        actions = [a.action for a in s.scalars(select(AccessAudit).order_by(AccessAudit.id))]
        assert actions == ["view", "audit"]
        assert all(a.client_id == client_id for a in s.scalars(select(AccessAudit)))


# --- /forget --------------------------------------------------------------------------------------


def _personal_data_everywhere(harness: BotHarness, client_id: int, advisor_id: int) -> None:
    now = harness.clock.now()
    with harness.services.db.session() as s:
        client = s.get(Client, client_id)
        assert client is not None
        client.notes = f"{NAME}的女儿在英国读书"
        factories.holding(s, client_id=client_id)
        s.add_all([
            Interaction(client_id=client_id, advisor_id=advisor_id, outcome="sale",
                        amount=100_000, product="稳健增利90天", notes=f"{NAME}很满意，电话{PHONE}",
                        occurred_at=now, created_at=now),
            FollowUp(client_id=client_id, advisor_id=advisor_id, reason="manual",
                     note=f"给{NAME}回电", due_at=now + timedelta(days=1), created_at=now),
            Appointment(client_id=client_id, advisor_id=advisor_id, starts_at=now,
                        note=f"{NAME}来网点", created_at=now),
            Complaint(client_id=client_id, received_by_id=advisor_id, text=f"{NAME}嫌费用高",
                      created_at=now),
            ClientQuestion(client_id=client_id, advisor_id=advisor_id, text="到期能续吗",
                           answer=f"已告诉{NAME}", created_at=now),
            UnmetNeed(client_id=client_id, advisor_id=advisor_id, tag="usd", text="美元",
                      created_at=now),
            Referral(referrer_id=advisor_id, client_name=NAME, phone=PHONE, need="理财",
                     client_id=client_id, created_at=now),
            ScriptEvent(user_id=advisor_id, query=f"{NAME}说手续费太贵", kind="miss",
                        created_at=now),
            StateEntry(namespace="user_data", key="424242",
                       data={"log": {"client_name": NAME, "notes": f"call {PHONE}"}},
                       updated_at=now),
        ])


def _find_personal_data(harness: BotHarness) -> list[str]:
    found = []
    with harness.services.db.session() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(table.select()).mappings():
                for column, value in row.items():
                    text = json.dumps(value, ensure_ascii=False, default=str)
                    if NAME in text or PHONE in text or PHONE[-8:] in text:
                        found.append(f"{table.name}.{column}: {text}")
    return found


async def test_forget_on_request_leaves_no_personal_data(harness: BotHarness) -> None:
    advisor, lead, client_id = _team(harness)
    advisor_id = harness.user_row(advisor).id
    _personal_data_everywhere(harness, client_id, advisor_id)
    assert _find_personal_data(harness)
    harness.app.user_data[advisor.id]["log"] = {"client_name": NAME, "client_id": client_id}

    mine = harness.chat(advisor)
    sent = (await mine.send(f"/forget {NAME}"))[-1].text
    assert "已发送给您的团队负责人" in sent
    request = harness.telegram.messages_to(lead.id)[-1]
    assert [d for _, d in request.buttons] == [f"fg ok {client_id}", f"fg no {client_id}"]
    # an advisor cannot approve their own request with crafted data
    assert "您的角色不能使用" in (await mine.press_data(f"fg ok {client_id}"))[-1].text
    with harness.services.db.session() as s:
        assert s.get(Client, client_id).forgotten is False  # type: ignore[union-attr]

    done = (await harness.chat(lead).press(f"fg ok {client_id}", message=request))[-1].text
    assert "已删除" in done and NAME not in done
    assert "已删除" in harness.telegram.messages_to(advisor.id)[-1].text
    assert _find_personal_data(harness) == []
    assert NAME not in json.dumps(harness.app.user_data[advisor.id], ensure_ascii=False)
    with harness.services.db.session() as s:
        client = s.get(Client, client_id)
        assert client is not None and client.forgotten and client.phone is None
        sale = s.scalars(select(Interaction)).one()  # anonymous numbers stay
        assert (sale.outcome, sale.amount, sale.notes) == ("sale", 100_000, None)
        assert s.scalars(select(FollowUp)).one().status == "cancelled"
        assert s.scalars(select(Complaint)).one().client_id == client_id
    # never shows again, to anyone
    assert "您名下没有与" in (await mine.send(f"/client {NAME}"))[-1].text
    assert "没有找到" in (await harness.chat(lead).press_data(f"cl {client_id}"))[-1].text
    complaints = (await harness.chat(lead).send("/complaints"))[-1].text
    assert "已删除的客户" in complaints


async def test_forget_buttons_recheck_the_team_and_decline_keeps_data(
        harness: BotHarness) -> None:
    advisor, lead, client_id = _team(harness)
    stranger_lead = harness.person("lead", team="Beta")
    await harness.chat(advisor).send(f"/forget {NAME}")
    request = harness.telegram.messages_to(lead.id)[-1]
    reply = (await harness.chat(stranger_lead).press_data(f"fg ok {client_id}",
                                                           message=request))[-1].text
    assert "没有找到" in reply
    kept = (await harness.chat(lead).press(f"fg no {client_id}", message=request))[-1].text
    assert "已保留" in kept
    assert "未获批准" in harness.telegram.messages_to(advisor.id)[-1].text
    with harness.services.db.session() as s:
        client = s.get(Client, client_id)
        assert client is not None and client.name == NAME and not client.forgotten


async def test_admin_forgets_after_confirming(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    admin = harness.person("admin", team=None)
    client_id = _client(harness, advisor)
    chat = harness.chat(admin)
    confirm = (await chat.send(f"/forget {NAME}"))[-1]
    assert "王**" in confirm.text and NAME not in confirm.text
    await chat.press(f"fg ok {client_id}")
    with harness.services.db.session() as s:
        assert s.get(Client, client_id).forgotten  # type: ignore[union-attr]


# --- logs -------------------------------------------------------------------------------------------


def test_log_filter_redacts_messages_arguments_and_tracebacks() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter(names=lambda: [NAME, "Chen Mei"]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("call %s at %s", NAME, PHONE)
        try:
            raise ValueError("bad client Chen Mei 138-0013-8000 on 2026-11-25")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "王**" in text and "****5678" in text and "Chen***" in text and "****8000" in text
    assert NAME not in text and PHONE not in text and "Chen Mei" not in text
    assert "2026-11-25" in text and "ValueError" in text


def test_configure_logging_installs_the_filter() -> None:
    from bot import logfilter
    from bot.runtime import configure_logging

    root = logging.getLogger()
    before = list(root.handlers)
    added = logging.StreamHandler()
    root.addHandler(added)
    try:
        configure_logging("INFO")
        assert any(isinstance(f, RedactingFilter) for f in added.filters)
        assert logfilter.install() is logfilter._FILTER
    finally:
        root.removeHandler(added)
        assert [h for h in root.handlers if h not in before] == []


@pytest.mark.parametrize("privacy", [True])
def test_privacy_mode_is_on_by_default(privacy: bool) -> None:
    from bot.settings import Settings

    assert Settings(_env_file=None).privacy_mode is privacy  # type: ignore[call-arg]


async def test_inline_results_carry_only_script_text(harness: BotHarness) -> None:
    advisor, _lead, _client_id = _team(harness)
    answer = await harness.chat(advisor).inline(f"{NAME} 手续费太贵")
    assert answer is not None and answer["results"]
    dumped = json.dumps(answer["results"], ensure_ascii=False)
    assert NAME not in dumped and PHONE not in dumped and "王**" not in dumped
