"""Question reminders: a client's question still unanswered after QUESTION_REMINDER_DAYS."""

from __future__ import annotations

from telegram.ext import Application

from bot.delivery import enqueue
from bot.guard import private_audience
from bot.services import Services, run_db
from coach.services import service_records as records


async def send_question_reminders(app: Application) -> None:  # type: ignore[type-arg]
    """Remind the advisor once when a question has waited ``QUESTION_REMINDER_DAYS``
    (claimed and queued in the outbox in one transaction, off the event loop)."""
    await run_db(_queue_question_reminders, app.bot_data["services"])


def _queue_question_reminders(svc: Services) -> None:
    with svc.db.session() as s:
        now = svc.clock.now()
        for item in records.claim_question_reminders(s, now=now,
                                                     days=svc.settings.question_reminder_days):
            person = item.to
            rendered = svc.renderer.render("question_reminder", person.language, me=None,
                                           q=item.question, tz=person.timezone,
                                           audience=private_audience(svc.settings.privacy_mode))
            enqueue(s, rendered, to=person.telegram_id, kind="question_reminder", now=now,
                    key=f"question:{item.question.id}")
