"""One lookup by @handle: case-insensitive, bounded, the same in every feature."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coach.actor import Me
from coach.services import followups, people, practice, suitability_check
from coach.services.errors import ServiceError
from tests import factories

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_handles_are_case_insensitive_and_bounded(services) -> None:  # type: ignore[no-untyped-def]
    with services.db.session() as s:
        team = factories.team(s, now=NOW)
        advisor = factories.user(s, team_id=team.id, now=NOW, username="Chen_SY")
        assert people.find_by_handle(s, "@chen_sy") is advisor
        assert people.find_by_handle(s, " CHEN_SY ") is advisor
        for nobody in ("", "@", None, "@chen sy", "@" + "x" * 40, "@陈思雨", "'; drop table"):
            assert people.find_by_handle(s, nobody) is None


def test_every_feature_finds_the_member_the_same_way(services) -> None:  # type: ignore[no-untyped-def]
    with services.db.session() as s:
        team = factories.team(s, now=NOW)
        lead = factories.user(s, role="lead", team_id=team.id, now=NOW)
        advisor = factories.user(s, team_id=team.id, now=NOW, username="Chen_SY")
        me = Me(lead.id, lead.telegram_id, lead.name, "lead", team.id, "zh-Hans", "Asia/Shanghai")
        for handle in ("@chen_sy", "@CHEN_SY", "@Chen_SY"):
            assert practice.find_member(s, me, handle) is advisor
            assert suitability_check._member(s, me, handle) is advisor  # noqa: SLF001
            assert followups._member(s, me, handle) is advisor  # noqa: SLF001
        with pytest.raises(ServiceError):
            practice.find_member(s, me, "@nobody")


def test_vocabulary_matches_what_is_stored() -> None:
    from coach.services.followups import ACTIVE
    from coach.vocabulary import OPEN_FOLLOWUP, DeliveryStatus, FollowUpStatus, Role

    # members are the stored strings: rows written before the enums read the same
    assert Role("lead") is Role.LEAD and Role.LEAD == "lead"
    assert FollowUpStatus("snoozed") in OPEN_FOLLOWUP and ACTIVE == OPEN_FOLLOWUP
    assert {s.value for s in DeliveryStatus} == {"sent", "blocked", "retry", "failed"}
    assert people.ROLES == ("advisor", "lead", "referrer", "admin")


async def test_a_service_refusal_becomes_the_errors_reply_once() -> None:
    from types import SimpleNamespace

    from bot.guard import service_errors

    said: list[tuple[str, dict[str, object]]] = []

    async def fake_reply(update, context, template, **params):  # type: ignore[no-untyped-def]
        said.append((template, params))

    @service_errors("END")
    async def step(update, context):  # type: ignore[no-untyped-def]
        raise ServiceError("client_not_found", name="王**")

    import bot.guard as guard

    original, guard.reply = guard.reply, fake_reply  # type: ignore[assignment]
    try:
        assert await step(SimpleNamespace(), SimpleNamespace()) == "END"
    finally:
        guard.reply = original  # type: ignore[assignment]
    assert said == [("errors", {"code": "client_not_found", "name": "王**"})]


async def test_a_button_under_an_inaccessible_message_still_gets_an_answer(
        harness, caplog) -> None:  # type: ignore[no-untyped-def]
    from bot.fakebot import SentMessage

    advisor = harness.person("advisor")
    chat = harness.chat(advisor)
    old = SentMessage("sendMessage", advisor.id, 1, "", None, {})
    update = harness.telegram.callback_update(advisor, old, "cl 999999")
    # Telegram sends date 0 for a message the bot can no longer access (older than 48 h)
    update["callback_query"]["message"] = {"chat": {"id": advisor.id, "type": "private"},
                                           "message_id": 1, "date": 0}
    replies = await chat._deliver(update)  # noqa: SLF001
    assert replies and replies[-1].chat_id == advisor.id
    assert "handler failed" not in caplog.text  # answered, not crashed and apologised
