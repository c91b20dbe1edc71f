"""Follow-up jobs: due reminders (claimed and sent once), lead escalations, end of leave."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram.ext import Application

from bot import notifier
from bot.guard import private_audience
from bot.scheduler import worker_name
from bot.services import Services
from coach.addressing import script_variables
from coach.clock import local_day
from coach.services import followups, library
from coach.vocabulary import DeliveryStatus

RETRY_AFTER = timedelta(minutes=5)
BATCH = 200  # reminders claimed per tick; the rest wait for the next tick


log = logging.getLogger(__name__)


def _suggested_script(svc: Services, reason: str, kind: str | None = None) -> Any:
    """The script made for the reason, else its category's first; None if the library fails."""
    try:
        catalog = svc.catalog
    except Exception:  # noqa: BLE001 - a reminder without a script beats no reminder
        log.exception("script library unavailable for reminders")
        return None
    return library.script_for_reason(catalog, reason, kind)


def _render_reminder(svc: Services, item: followups.DueReminder) -> notifier.Outgoing:
    script = _suggested_script(svc, item.reason, item.kind)
    # the script speaks to this client, in the advisor's own name
    variables = script_variables("en" if item.language == "en" else "zh",
                                 advisor=item.advisor_name, client_name=item.client_name,
                                 salutation=item.salutation)
    try:
        rendered = svc.renderer.render("reminder", item.language, me=None, r=item,
                                       tz=item.timezone, script=script,
                                       audience=private_audience(svc.settings.privacy_mode),
                                       vars=variables)
    except Exception:  # noqa: BLE001 - e.g. a script whose text the template cannot show
        if script is None:
            raise
        log.exception("reminder %s: script %s not shown", item.followup_id, script.id)
        rendered = svc.renderer.render("reminder", item.language, me=None, r=item,
                                       tz=item.timezone, script=None,
                                       audience=private_audience(svc.settings.privacy_mode),
                                       vars=variables)
    return notifier.Outgoing(item.followup_id, item.telegram_id, rendered.text, rendered.markup)


async def send_due_reminders(app: Application) -> None:  # type: ignore[type-arg]
    """Claim due follow-ups and send each reminder once; failures are retried later."""
    svc: Services = app.bot_data["services"]
    worker = worker_name()
    with svc.db.session() as s:
        ids = followups.claim_due(s, now=svc.clock.now(), lease_seconds=svc.settings.lease_seconds,
                                  worker=worker, limit=BATCH)
    if not ids:
        return
    with svc.db.session() as s:
        items = followups.reminder_details(s, ids)
    outgoing, unsendable = [], set(ids) - {item.followup_id for item in items}
    for item in items:
        try:
            outgoing.append(_render_reminder(svc, item))
        except Exception:  # noqa: BLE001 - one broken reminder must not stop the others
            log.exception("reminder %s could not be rendered", item.followup_id)
            unsendable.add(item.followup_id)
    with svc.db.session() as s:
        for followup_id in unsendable:  # rows we cannot show: stop claiming them
            followups.release(s, followup_id, worker=worker, retry_at=svc.clock.now(),
                              give_up=True)

    def record(message: notifier.Outgoing, delivery: notifier.Delivery) -> None:
        # committed right after each send: a crash later cannot resend this one
        with svc.db.session() as s:
            if delivery.status == DeliveryStatus.SENT:
                followups.mark_sent(s, message.key, worker=worker, now=svc.clock.now())
            else:
                followups.release(s, message.key, worker=worker,
                                  retry_at=svc.clock.now() + RETRY_AFTER,
                                  give_up=delivery.status in (DeliveryStatus.BLOCKED,
                                                              DeliveryStatus.FAILED))

    await notifier.send_all(app.bot, outgoing, db=svc.db, on_result=record)


async def escalate_overdue(app: Application) -> None:  # type: ignore[type-arg]
    """Tell each team lead, once, about follow-ups overdue for ``ESCALATE_LEAD_DAYS``
    working days (on a working day only)."""
    svc: Services = app.bot_data["services"]
    with svc.db.session() as s:
        due = followups.escalations_due(s, now=svc.clock.now(),
                                        days=svc.settings.escalate_lead_days,
                                        region=svc.settings.holiday_region)
    for escalation in due:
        text = svc.renderer.text("escalation", escalation.lead_language, me=None,
                                 items=escalation.items, tz=escalation.lead_timezone,
                                 audience=private_audience(svc.settings.privacy_mode),
                                 days=svc.settings.escalate_lead_days)
        delivery = await notifier.send_text(app.bot, escalation.lead_telegram_id, text,
                                            db=svc.db)
        if delivery.status == DeliveryStatus.RETRY:  # told next tick instead
            with svc.db.session() as s:
                followups.unmark_escalated(s, [item[0] for item in escalation.items])


async def hand_back_after_leave(app: Application) -> None:  # type: ignore[type-arg]
    """After a leave, open follow-ups go back to the advisor, who is told how many."""
    svc: Services = app.bot_data["services"]
    today = local_day(svc.clock.now(), svc.settings.default_timezone)
    with svc.db.session() as s:
        returned = followups.return_from_leave(s, today=today)
    for back in returned:
        text = svc.renderer.text("leave_returned", back.language, me=None, n=back.count)
        await notifier.send_text(app.bot, back.telegram_id, text, db=svc.db)
