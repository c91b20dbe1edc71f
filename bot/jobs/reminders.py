"""Follow-up jobs: due reminders, lead escalations, end of leave — all queued in the outbox."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from telegram.ext import Application

from bot import delivery
from bot.guard import private_audience
from bot.render import Rendered
from bot.scheduler import worker_name
from bot.services import Services, run_db
from coach.addressing import script_variables
from coach.clock import local_day
from coach.services import followups, library

BATCH = 100  # reminders claimed, rendered and queued in one transaction
MAX_BATCHES = 20  # per tick; a longer backlog continues next tick


log = logging.getLogger(__name__)


def _suggested_script(svc: Services, reason: str, kind: str | None = None) -> Any:
    """The script made for the reason, else its category's first; None if the library fails."""
    try:
        catalog = svc.catalog
    except Exception:  # noqa: BLE001 - a reminder without a script beats no reminder
        log.exception("script library unavailable for reminders")
        return None
    return library.script_for_reason(catalog, reason, kind)


def _render_reminder(svc: Services, item: followups.DueReminder) -> Rendered:
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
    return rendered


def _queue_batch(svc: Services, worker: str) -> int:
    """Claim up to ``BATCH`` due follow-ups and queue their reminders; how many claimed."""
    with svc.db.session() as s:
        now = svc.clock.now()
        ids = followups.claim_due(s, now=now, lease_seconds=svc.settings.lease_seconds,
                                  worker=worker, limit=BATCH)
        if not ids:
            return 0
        items = followups.reminder_details(s, ids)
        for followup_id in set(ids) - {item.followup_id for item in items}:
            followups.release(s, followup_id, worker=worker, retry_at=now, give_up=True)
        for item in items:
            try:
                rendered = _render_reminder(svc, item)
            except Exception:  # noqa: BLE001 - one broken reminder must not stop the others
                log.exception("reminder %s could not be rendered", item.followup_id)
                followups.release(s, item.followup_id, worker=worker, retry_at=now,
                                  give_up=True)
                continue
            delivery.enqueue(s, rendered, to=item.telegram_id, kind="reminder", now=now,
                             key=f"reminder:{item.followup_id}:{item.due_at.isoformat()}")
            followups.mark_sent(s, item.followup_id, worker=worker, now=now)
        return len(ids)


async def send_due_reminders(app: Application) -> None:  # type: ignore[type-arg]
    """Claim due follow-ups and queue one reminder each, in the transaction that marks
    them reminded (the outbox worker sends; the dedup key makes it once per due time).

    Each batch is one unit of database work off the event loop (``run_db``): a slow or
    hung database never stalls the updates or the other jobs."""
    svc: Services = app.bot_data["services"]
    worker = worker_name()
    for _ in range(MAX_BATCHES):
        if await run_db(_queue_batch, svc, worker) < BATCH:
            return
        await asyncio.sleep(0)  # let waiting updates in between batches


def _escalation_key(lead_telegram_id: int, followup_ids: list[int]) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(followup_ids))).encode()).hexdigest()
    return f"escalation:{lead_telegram_id}:{digest[:24]}"


def _queue_escalations(svc: Services) -> None:
    with svc.db.session() as s:
        now = svc.clock.now()
        due = followups.escalations_due(s, now=now, days=svc.settings.escalate_lead_days,
                                        region=svc.settings.holiday_region)
        for escalation in due:
            text = svc.renderer.text("escalation", escalation.lead_language, me=None,
                                     items=escalation.items, tz=escalation.lead_timezone,
                                     audience=private_audience(svc.settings.privacy_mode),
                                     days=svc.settings.escalate_lead_days)
            delivery.enqueue(s, text, to=escalation.lead_telegram_id, kind="escalation",
                             now=now, key=_escalation_key(escalation.lead_telegram_id,
                                                          [i[0] for i in escalation.items]))


async def escalate_overdue(app: Application) -> None:  # type: ignore[type-arg]
    """Tell each team lead, once, about follow-ups overdue for ``ESCALATE_LEAD_DAYS``
    working days (on a working day only).

    The claim and the lead's message are one transaction: a crash before the send no
    longer loses the escalation (the outbox still holds it). Off the event loop."""
    await run_db(_queue_escalations, app.bot_data["services"])


def _hand_back(svc: Services) -> None:
    today = local_day(svc.clock.now(), svc.settings.default_timezone)
    with svc.db.session() as s:
        returned = followups.return_from_leave(s, today=today)
        for back in returned:
            text = svc.renderer.text("leave_returned", back.language, me=None, n=back.count)
            delivery.enqueue(s, text, to=back.telegram_id, kind="leave_returned",
                             now=svc.clock.now(), key=f"leave_returned:{back.telegram_id}:{today}")


async def hand_back_after_leave(app: Application) -> None:  # type: ignore[type-arg]
    """After a leave, open follow-ups go back to the advisor, who is told how many
    (off the event loop)."""
    await run_db(_hand_back, app.bot_data["services"])
