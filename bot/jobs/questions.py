"""Question reminders: a client's question still unanswered after QUESTION_REMINDER_DAYS."""

from __future__ import annotations

from telegram.ext import Application

from bot import notifier
from bot.guard import private_audience
from bot.services import Services
from coach.services import service_records as records
from coach.vocabulary import DeliveryStatus


async def send_question_reminders(app: Application) -> None:  # type: ignore[type-arg]
    """Remind the advisor once when a question has waited ``QUESTION_REMINDER_DAYS``."""
    svc: Services = app.bot_data["services"]
    with svc.db.session() as s:
        due = records.claim_question_reminders(s, now=svc.clock.now(),
                                               days=svc.settings.question_reminder_days)
    retry = []
    for item in due:
        person = item.to
        rendered = svc.renderer.render("question_reminder", person.language, me=None,
                                       q=item.question, tz=person.timezone,
                                       audience=private_audience(svc.settings.privacy_mode))
        delivery = await notifier.send_text(app.bot, person.telegram_id, rendered.text,
                                            markup=rendered.markup)
        if delivery.status == DeliveryStatus.RETRY:
            retry.append(item.question.id)
        elif delivery.status == DeliveryStatus.BLOCKED:
            notifier.mark_blocked(svc.db, person.telegram_id)
    if retry:
        with svc.db.session() as s:
            records.unclaim_question_reminders(s, retry)
