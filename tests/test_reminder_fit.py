"""Reminders fit their reason, and a handled reminder's buttons say so (issue 15)."""

from __future__ import annotations

from bot.jobs.outbox import deliver_outbox
from bot.jobs.reminders import send_due_reminders
from storage.models import FollowUp
from tests import factories
from tests.conftest import BotHarness


def _due(harness: BotHarness, advisor_tid: int, reason: str) -> int:
    from coach.services import people

    with harness.services.db.session() as s:
        owner = people.find_user(s, advisor_tid)
        assert owner is not None
        client = factories.client(s, advisor_id=owner.id, name="陈建国", now=harness.clock.now())
        row = FollowUp(client_id=client.id, advisor_id=owner.id, kind="call", reason=reason,
                       due_at=harness.clock.now(), status="pending",
                       created_at=harness.clock.now())
        s.add(row)
        s.flush()
        return row.id


async def _reminder(harness: BotHarness):  # type: ignore[no-untyped-def]
    before = len(harness.telegram.sent)
    await send_due_reminders(harness.app)
    await deliver_outbox(harness.app)
    return harness.telegram.sent[before]


def _toasts(harness: BotHarness) -> list[str]:
    return [p.get("text") or "" for m, p in harness.telegram.calls if m == "answerCallbackQuery"]


async def test_no_answer_suggests_a_short_reopening(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _due(harness, advisor.id, "no_answer")
    reminder = await _reminder(harness)
    assert "再打一次的简短开场" in reminder.text
    assert "phone_call.retry_after_no_answer" in " ".join(d for _, d in reminder.buttons)


async def test_a_booked_meeting_suggests_preparation(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _due(harness, advisor.id, "meeting_booked")
    reminder = await _reminder(harness)
    assert "见面前准备" in reminder.text and "风险测评" in reminder.text
    assert "lb s meeting_prep." in " ".join(d for _, d in reminder.buttons)


async def test_buttons_of_a_handled_reminder_say_so(harness: BotHarness) -> None:
    advisor = harness.person("advisor")
    _due(harness, advisor.id, "no_answer")
    reminder = await _reminder(harness)
    chat = harness.chat(advisor)
    await chat.press("✅", message=reminder)
    for label in ("✅", "⏰", "📅", "✖", "🗓"):
        replies = await chat.press(label, message=reminder)
        assert replies == [], label
        assert "已处理" in _toasts(harness)[-1], label
