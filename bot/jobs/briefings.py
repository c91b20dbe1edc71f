"""Briefing jobs: start scheduled briefings, deliver them to members, nudge, report blocked."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from telegram.ext import Application

from bot import notifier
from bot.render import Rendered
from bot.services import Services, run_db
from coach.privacy import redact_for_log
from coach.services import briefing
from coach.vocabulary import DeliveryStatus

SEND_BATCH = 30  # one second of Telegram's overall limit per claim
CAPTION_LIMIT = 1000  # Telegram allows 1024 characters under a photo; keep a margin


log = logging.getLogger(__name__)


def kick(app: Application) -> None:  # type: ignore[type-arg]
    """Start sending at once; the 30-second tick is only the safety net."""
    if app.running:
        app.create_task(broadcast_pending(app), name="briefing-broadcast")


async def broadcast_pending(app: Application, *,  # type: ignore[type-arg]
                            sleep: notifier.Sleep | None = None) -> int:
    """Send every claimable delivery, batch by batch; returns how many were sent.

    Safe to run from several places at once (the "send now" task, the tick, a second
    instance): rows are claimed in the database before sending and marked one by one
    right after, so a crash repeats at most the messages in flight.
    """
    svc: Services = app.bot_data["services"]
    prepared: dict[int, briefing.Prepared] = {}
    sent = 0

    def claim() -> tuple[list[briefing.Claimed], dict[int, str]]:
        with svc.db.session() as s:
            batch = briefing.claim_deliveries(s, now=svc.clock.now(),
                                              lease_seconds=svc.settings.lease_seconds,
                                              limit=SEND_BATCH)
            for briefing_id in {item.briefing_id for item in batch} - prepared.keys():
                prepared[briefing_id] = briefing.prepare(s, briefing_id, now=svc.clock.now())
            return batch, briefing.languages(s, [i.user_id for i in batch if i.user_id])

    while True:
        batch, languages = await run_db(claim)  # off the event loop, batch by batch
        if not batch:
            return sent
        outcomes = await asyncio.gather(*(
            _send_one(app, svc, item, prepared[item.briefing_id],
                      languages.get(item.user_id or 0, svc.settings.default_language), sleep)
            for item in batch))
        sent += sum(outcome == "sent" for outcome in outcomes)
        blocked: dict[int, list[int]] = defaultdict(list)
        refused: dict[int, list[int | None]] = defaultdict(list)
        for item, outcome in zip(batch, outcomes, strict=True):
            if outcome == "blocked" and item.user_id is not None:
                blocked[item.briefing_id].append(item.user_id)
            if outcome == DeliveryStatus.FAILED:  # refused (or given up): the lead must know
                refused[item.briefing_id].append(item.user_id)
        for briefing_id, user_ids in blocked.items():
            await _report_blocked(app, svc, prepared[briefing_id], user_ids)
        for briefing_id, members in refused.items():
            await _report_refused(app, svc, prepared[briefing_id], members)


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


async def _send_one(app: Application, svc: Services, item: briefing.Claimed,  # type: ignore[type-arg]
                    ready: briefing.Prepared, language: str,
                    sleep: notifier.Sleep | None) -> str:
    try:
        delivery = await _deliver(app, svc, item, ready, language, sleep)
    except Exception:  # noqa: BLE001 - one broken message must not stop the broadcast
        log.exception("briefing delivery %s failed", item.delivery_id)
        delivery = notifier.Delivery(DeliveryStatus.RETRY)
    with svc.db.session() as s:  # mark it at once: a crash now repeats nothing sent
        return briefing.finish(s, item.delivery_id, status=delivery.status, now=svc.clock.now(),
                               message_id=delivery.message_id,
                               retry_after=delivery.retry_after)


async def _deliver(app: Application, svc: Services, item: briefing.Claimed,  # type: ignore[type-arg]
                   ready: briefing.Prepared, language: str,
                   sleep: notifier.Sleep | None) -> notifier.Delivery:
    rendered = render_delivery(svc, item, ready, language)
    bot, chat = app.bot, item.chat_id
    photo, document = ready.photo, ready.document
    if (photo or document) and len(rendered.text) <= CAPTION_LIMIT:  # one message, one send
        return await notifier.send_attachment(bot, chat, photo=photo, document=document,
                                              caption=rendered.text, markup=rendered.markup,
                                              sleep=sleep)
    if photo or document:
        # too long for a caption: the file first, so the "got it" button ends the briefing;
        # a crash between the two sends repeats only the file
        attached = await notifier.send_attachment(bot, chat, photo=photo, document=document,
                                                  sleep=sleep)
        if attached.status != "sent":
            return attached
    delivery = await notifier.send_text(bot, chat, rendered.text, markup=rendered.markup,
                                        sleep=sleep)
    return delivery


async def _report_blocked(app: Application, svc: Services,  # type: ignore[type-arg]
                          ready: briefing.Prepared, user_ids: list[int]) -> None:
    with svc.db.session() as s:
        names = briefing.names_of(s, user_ids)
    text = svc.renderer.text("briefing_blocked", ready.lead_language, me=None, names=names)
    await notifier.send_text(app.bot, ready.lead_chat, text)


async def _report_refused(app: Application, svc: Services,  # type: ignore[type-arg]
                          ready: briefing.Prepared, members: list[int | None]) -> None:
    with svc.db.session() as s:
        names = briefing.names_of(s, [m for m in members if m is not None])
    text = svc.renderer.text("briefing_refused", ready.lead_language, me=None, names=names,
                             group=None in members)
    await notifier.send_text(app.bot, ready.lead_chat, text)


async def briefings_tick(app: Application) -> None:  # type: ignore[type-arg]
    """Start scheduled briefings, resume unfinished broadcasts, nudge the leads."""
    svc: Services = app.bot_data["services"]
    with svc.db.session() as s:
        briefing.due_to_start(s, now=svc.clock.now(), region=svc.settings.holiday_region)
    await broadcast_pending(app)
    with svc.db.session() as s:
        nudges = briefing.due_nudges(s, now=svc.clock.now())
    for _id, chat_id, language, data in nudges:
        text = svc.renderer.text("briefing_status", language, me=None, st=data, nudge=True)
        await notifier.send_text(app.bot, chat_id, text)
