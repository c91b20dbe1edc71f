"""Script variables are filled: the client's form of address and the advisor's own name."""

from __future__ import annotations

import pytest

from bot.jobs.outbox import deliver_outbox
from bot.jobs.reminders import send_due_reminders
from coach.addressing import form_of_address, script_variables
from storage.models import FollowUp
from tests import factories
from tests.conftest import BotHarness


@pytest.mark.parametrize(("name", "salutation", "lang", "expected"), [
    ("陈建国", "mr", "zh", "陈先生"), ("王秀英", "ms", "zh", "王女士"),
    ("欧阳娜娜", "ms", "zh", "欧阳女士"), ("陈建国", None, "zh", "陈建国"),
    ("陈建国", "mr", "en", "Mr Chen"), ("Chen Mei", "ms", "en", "Ms Chen Mei"),
])
def test_form_of_address(name: str, salutation: str | None, lang: str, expected: str) -> None:
    assert form_of_address(name, salutation, lang) == expected


def test_without_a_client_the_placeholder_is_visible() -> None:
    values = script_variables("zh", advisor="林晓峰")
    assert values["client"] == "【客户称呼】" and values["advisor"] == "林晓峰"
    assert "…" not in "".join(script_variables("en", advisor=None).values())


def _client(harness: BotHarness, owner_tid: int, name: str, salutation: str | None) -> int:
    from coach.services import people

    with harness.services.db.session() as s:
        owner = people.find_user(s, owner_tid)
        assert owner is not None
        return factories.client(s, advisor_id=owner.id, name=name, now=harness.clock.now(),
                                salutation=salutation).id


async def test_a_script_typed_for_has_a_placeholder_and_my_name(harness: BotHarness) -> None:
    chat = harness.chat(harness.person("advisor", name="林晓峰"))
    card = (await chat.send("/library"))[-1]
    await chat.press("lb c 14", message=card)  # opening.phone_call
    replies = await chat.press_data("lb s phone_call.dormant_client")
    text = replies[-1].text
    assert "林晓峰" in text and "【客户称呼】" in text and "…" not in text


async def test_a_reminder_speaks_to_its_client_in_my_name(harness: BotHarness) -> None:
    advisor = harness.person("advisor", name="林晓峰")
    client_id = _client(harness, advisor.id, "陈建国", "mr")
    with harness.services.db.session() as s:
        row = harness.user_row(advisor)
        s.add(FollowUp(client_id=client_id, advisor_id=row.id, kind="call", reason="no_answer",
                       due_at=harness.clock.now(), status="pending",
                       created_at=harness.clock.now()))
    before = len(harness.telegram.sent)
    await send_due_reminders(harness.app)
    await deliver_outbox(harness.app)
    reminder = harness.telegram.sent[before]
    assert "陈先生" in reminder.text and "林晓峰" in reminder.text
    assert "…" not in reminder.text.replace("...", "")
    chat = harness.chat(advisor)
    replies = await chat.press("📖", message=reminder)
    assert "陈先生" in replies[-1].text and "林晓峰" in replies[-1].text


async def test_the_card_and_the_log_confirmation_open_the_script_for_the_client(
        harness: BotHarness) -> None:
    advisor = harness.person("advisor", name="林晓峰")
    _client(harness, advisor.id, "王秀英", "ms")
    chat = harness.chat(advisor)
    card = (await chat.send("/client 王秀英"))[-1]
    replies = await chat.press("📖", message=card)
    assert "王女士" in replies[-1].text and "林晓峰" in replies[-1].text
    saved = await chat.send("/log 王秀英 没接")
    saved = await chat.press("lg ok") if "lg ok" in [d for _, d in saved[-1].buttons] else saved
    replies = await chat.press("📖", message=saved[-1])
    assert "王女士" in replies[-1].text


async def test_someone_elses_client_id_gives_the_placeholder(harness: BotHarness) -> None:
    mine = harness.person("advisor", name="林晓峰")
    other = harness.person("advisor")
    theirs = _client(harness, other.id, "陈建国", "mr")
    replies = await harness.chat(mine).press_data(f"lb s phone_call.dormant_client {theirs}")
    assert "陈先生" not in replies[-1].text and "陈建国" not in replies[-1].text
    assert "【客户称呼】" in replies[-1].text
