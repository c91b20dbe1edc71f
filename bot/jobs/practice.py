"""Practice housekeeping: assignment reminders and expiring drills."""

from __future__ import annotations

from telegram.ext import Application

from bot import notifier
from bot.services import Services
from coach.services import practice


async def practice_housekeeping(app: Application) -> None:  # type: ignore[type-arg]
    """Expire idle sessions; remind advisors of open assignments once a working day, up to
    the due date."""
    svc: Services = app.bot_data["services"]
    with svc.db.session() as s:
        practice.expire_idle(s, clock=svc.clock)
        due = practice.due_reminders(s, clock=svc.clock, region=svc.settings.holiday_region,
                                     not_before=svc.settings.digest_time)
    for item in due:
        rendered = svc.renderer.render("practice_assigned", item.language, me=None,
                                       scenario_id=item.scenario_id, due=item.due_on)
        await notifier.send_text(app.bot, item.telegram_id, rendered.text, markup=rendered.markup)
