"""Cross-feature notices are returned by services and queued with the change that caused
them: a notice Telegram could not take at once is retried by the outbox, not lost."""

from __future__ import annotations

from sqlalchemy import select

from bot.jobs.outbox import deliver_outbox
from storage.models import OutboxMessage
from tests.conftest import BotHarness
from tests.test_service_records import _client


def _kinds(harness: BotHarness) -> dict[str, str]:
    with harness.services.db.session() as s:
        return {r.kind: r.status for r in s.scalars(select(OutboxMessage))}


async def test_a_complaint_notice_survives_a_telegram_outage(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha", name="林晓峰")
    lead = harness.person("lead", team="Alpha")
    _client(harness, advisor, "王建国")
    harness.telegram.fail_next(lead.id, 502, description="Bad Gateway")
    saved = (await harness.chat(advisor).send("/complaint 王建国 嫌管理费太高"))[-1].text
    assert "已登记" in saved
    assert harness.telegram.messages_to(lead.id) == []  # Telegram was down for the lead
    assert _kinds(harness) == {"complaint_notice": "pending"}
    harness.clock.advance(seconds=30)
    await deliver_outbox(harness.app)
    notice = harness.telegram.messages_to(lead.id)
    assert len(notice) == 1 and "林晓峰" in notice[0].text and "王**" in notice[0].text


async def test_the_sale_flag_is_queued_with_the_sale(harness: BotHarness,
                                                     monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests import test_suitability_bot

    real_person = harness.person

    def person(role: str = "advisor", **kw):  # type: ignore[no-untyped-def]
        fake = real_person(role, **kw)
        if role == "lead":  # Telegram fails once for the lead, right when the sale is saved
            harness.telegram.fail_next(fake.id, 500, description="Internal Server Error")
        return fake

    monkeypatch.setattr(harness, "person", person)
    _advisor, lead, _client_id, replies = await test_suitability_bot._log_unsuitable_sale(
        harness, "lg ins")
    assert any("已保存" in r.text for r in replies)
    assert harness.telegram.messages_to(lead.id) == []
    assert _kinds(harness)["sale_flag"] == "pending"
    harness.clock.advance(seconds=30)
    await deliver_outbox(harness.app)
    assert "不适当销售" in harness.telegram.messages_to(lead.id)[-1].text
    assert _kinds(harness)["sale_flag"] == "sent"


async def test_a_rolled_back_change_queues_no_notice(harness: BotHarness) -> None:
    advisor = harness.person("advisor", team="Alpha")
    harness.person("lead", team="Alpha")
    reply = (await harness.chat(advisor).send("/complaint 没有这个人 内容"))[-1].text
    assert "王" not in reply
    assert _kinds(harness) == {}

