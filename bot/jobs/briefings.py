"""Briefing jobs: start scheduled briefings, queue each member's message, nudge, report.

Every message goes through the outbox (``coach.services.outbox``): deliveries are
claimed and queued in one transaction (``briefing:<delivery id>``), the outbox worker
sends them and finishes the delivery row in the same transaction as its own mark
(:func:`record_outcome`); members who blocked the bot or could not be reached are told
to the lead once per run (``briefing_blocked`` / ``briefing_refused``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session
from telegram.ext import Application

from bot import notifier
from bot.delivery import enqueue
from bot.jobs import outbox as outbox_worker
from bot.render import Rendered
from bot.services import Services, run_db
from coach.privacy import redact_for_log
from coach.services import briefing
from coach.services import outbox as outbox_service
from coach.vocabulary import DeliveryStatus

SEND_BATCH = 200  # deliveries claimed, rendered and queued in one transaction
MAX_BATCHES = 20  # per run; a bigger team continues next tick
KIND = "briefing"

log = logging.getLogger(__name__)


def kick(app: Application) -> None:  # type: ignore[type-arg]
    """Start sending at once; the 30-second tick is only the safety net."""
    if app.running:
        app.create_task(broadcast_pending(app), name="briefing-broadcast")


async def broadcast_pending(app: Application) -> int:  # type: ignore[type-arg]
    """Queue every claimable delivery, send the outbox, report who did not get it.

    Returns how many deliveries became ``sent`` during this run. Safe to run from
    several places at once (the "send now" task, the tick, a second instance).
    """
    svc: Services = app.bot_data["services"]
    before = await run_db(_sent_count, svc)
    await queue_deliveries(app)
    # one pass each: the outbox's own tick is the run that waits for retries
    await outbox_worker.deliver_outbox(app, linger=False)
    if await run_db(report_undelivered, svc):
        await outbox_worker.deliver_outbox(app, linger=False)
    return await run_db(_sent_count, svc) - before


def _sent_count(svc: Services) -> int:
    with svc.db.session() as s:
        return briefing.sent_count(s)


async def queue_deliveries(app: Application) -> int:  # type: ignore[type-arg]
    """Claim pending deliveries and queue one outbox message each; returns how many."""
    svc: Services = app.bot_data["services"]
    prepared: dict[int, briefing.Prepared] = {}

    def claim_and_queue() -> int:
        with svc.db.session() as s:
            now = svc.clock.now()
            batch = briefing.claim_deliveries(s, now=now,
                                              lease_seconds=svc.settings.lease_seconds,
                                              limit=SEND_BATCH)
            for briefing_id in {item.briefing_id for item in batch} - prepared.keys():
                prepared[briefing_id] = briefing.prepare(s, briefing_id, now=now)
            languages = briefing.languages(s, [i.user_id for i in batch if i.user_id])
            for item in batch:
                ready = prepared[item.briefing_id]
                rendered = render_delivery(
                    svc, item, ready,
                    languages.get(item.user_id or 0, svc.settings.default_language))
                enqueue(s, rendered, to=item.chat_id, kind=KIND, now=now,
                        key=f"briefing:{item.delivery_id}", ref_id=item.delivery_id,
                        photo=ready.photo, document=ready.document)
            briefing.hand_to_outbox(s, [item.delivery_id for item in batch])
            return len(batch)

    queued = 0
    for _ in range(MAX_BATCHES):
        count = await run_db(claim_and_queue)  # off the event loop, batch by batch
        queued += count
        if count < SEND_BATCH:
            break
    return queued


def render_delivery(svc: Services, item: briefing.Claimed, ready: briefing.Prepared,
                    language: str) -> Rendered:
    """The message one chat gets: a member's own target and ack button; a group, masked."""
    group = item.user_id is None
    rendered = svc.renderer.render(
        "briefing_message", language, me=None, p=ready.payload, n=ready.numbers,
        delivery_id=None if group else item.delivery_id, preview=False,
        personal=None if group else briefing.personal_target(ready.payload, item.user_id),
        show_targets=group)
    if group:  # privacy: no client names or phone numbers in a group chat
        return Rendered(redact_for_log(rendered.text, ready.group_names), rendered.markup)
    return rendered


def record_outcome(session: Session, item: outbox_service.Claimed,
                   delivery: notifier.Delivery, now: datetime) -> None:
    """The outbox's final outcome for one briefing message, on its delivery row."""
    if item.ref_id is None:
        return
    status = {DeliveryStatus.SENT: "sent", DeliveryStatus.BLOCKED: "blocked"}.get(
        delivery.status, "failed")
    briefing.finish(session, item.ref_id, status=status, now=now,
                    message_id=delivery.message_id)


def report_undelivered(svc: Services) -> int:
    """Tell each lead, once, who blocked the bot or could not be reached; returns how
    many reports were queued."""
    queued = 0
    with svc.db.session() as s:
        now = svc.clock.now()
        for report in briefing.claim_unreported(s, now=now):
            stamp = f"{report.briefing_id}:{report.first_delivery_id}"
            if report.blocked:
                text = svc.renderer.text("briefing_blocked", report.lead_language, me=None,
                                         names=report.blocked)
                queued += enqueue(s, text, to=report.lead_telegram_id, kind="briefing_report",
                                  now=now, key=f"briefing_blocked:{stamp}")
            if report.refused or report.group_refused:
                text = svc.renderer.text("briefing_refused", report.lead_language, me=None,
                                         names=report.refused, group=report.group_refused)
                queued += enqueue(s, text, to=report.lead_telegram_id, kind="briefing_report",
                                  now=now, key=f"briefing_refused:{stamp}")
    return queued


async def briefings_tick(app: Application) -> None:  # type: ignore[type-arg]
    """Start scheduled briefings, queue their deliveries, report, nudge the leads."""
    svc: Services = app.bot_data["services"]

    def start_due() -> None:
        with svc.db.session() as s:
            briefing.due_to_start(s, now=svc.clock.now(), region=svc.settings.holiday_region)

    def queue_nudges() -> None:
        with svc.db.session() as s:
            now = svc.clock.now()
            for briefing_id, chat_id, language, data in briefing.due_nudges(s, now=now):
                text = svc.renderer.text("briefing_status", language, me=None, st=data,
                                         nudge=True)
                enqueue(s, text, to=chat_id, kind="briefing_nudge", now=now,
                        key=f"briefing_nudge:{briefing_id}")

    await run_db(start_due)
    await queue_deliveries(app)
    await run_db(report_undelivered, svc)
    await run_db(queue_nudges)
