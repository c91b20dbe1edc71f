"""Practice housekeeping: assignment reminders and expiring drills."""

from __future__ import annotations

from telegram.ext import Application

from bot.delivery import enqueue
from bot.services import Services, run_db
from coach.services import practice


async def practice_housekeeping(app: Application) -> None:  # type: ignore[type-arg]
    """Expire idle sessions; remind advisors of open assignments once a working day, up to
    the due date (off the event loop)."""
    await run_db(_housekeeping, app.bot_data["services"])


def _housekeeping(svc: Services) -> None:
    with svc.db.session() as s:
        practice.expire_idle(s, clock=svc.clock)
        now = svc.clock.now()
        for item in practice.due_reminders(s, clock=svc.clock,
                                           region=svc.settings.holiday_region,
                                           not_before=svc.settings.digest_time):
            rendered = svc.renderer.render("practice_assigned", item.language, me=None,
                                           scenario_id=item.scenario_id, due=item.due_on)
            enqueue(s, rendered, to=item.telegram_id, kind="practice_reminder", now=now,
                    key=f"practice:{item.telegram_id}:{item.scenario_id}:{now.isoformat()}")
