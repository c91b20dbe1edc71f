"""The one sender: claims outbox rows under a lease, sends each once, marks it.

For every message the bot sends on its own (``coach.services.outbox``):

1. claim a small batch (``OUTBOX_BATCH``) with a lease (``LEASE_SECONDS``), commit;
   up to ``OUTBOX_CONCURRENCY`` chats of it are served at once, each chat's rows in order;
2. for each row, right before sending, renew the lease in its own short transaction;
   a lost lease (another worker took the row after ours ran out) → skip it; a person
   who blocked the bot (or was disabled) is never sent to;
3. send through ``bot.notifier`` with ``max_waits=0`` — PTB's ``AIORateLimiter`` is
   the only thing that waits on a 429 — and a send timeout of ``OUTBOX_SEND_TIMEOUT``;
4. mark the outcome in its own short transaction: ``sent``; ``blocked`` (403, the
   person is marked inactive); pending again after a backoff (429: ``retry_after``;
   timeouts, network errors, 5xx: 2 s doubling up to 30 s, jittered — see
   ``outbox.backoff``); ``failed`` (400, or ``OUTBOX_MAX_ATTEMPTS`` tries and
   ``OUTBOX_RETRY_MINUTES`` since it was queued, whichever comes later).

If the mark cannot be saved (the database went away right after the send), the row
keeps its renewed lease, so no worker takes it before the lease ends; the outcome is
kept in memory and saved on the next run. Only a crash in that window (or a lost answer
from Telegram: counted in ``coach_outbox_ambiguous``) sends a message twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup
from telegram.ext import Application

from bot import metrics, notifier
from bot.scheduler import unreachable_reason, worker_name
from bot.services import Services, run_db
from coach.services import outbox
from coach.vocabulary import DeliveryStatus

__all__ = ["deliver_outbox", "deliver_soon", "outcome_hooks"]

log = logging.getLogger(__name__)

MAX_BATCHES = 50  # per run: a long backlog is continued by the next tick
LINGER_POLL_S = 1.0  # while a run waits for a retry, it looks for new work this often
MAX_LINGER_PASSES = 120  # bound on the extra passes of one run, whatever the clock does
_sleep: Callable[[float], Any] = asyncio.sleep  # tests replace it to move a fake clock
_UNRECORDED = "outbox.unrecorded"

Hook = Callable[[Session, outbox.Claimed, notifier.Delivery, datetime], None]


def outcome_hooks() -> dict[str, Hook]:
    """A feature's own bookkeeping for its kind of message, run in the same transaction
    as the final mark (a briefing delivery becomes sent / blocked / failed)."""
    from bot.jobs import briefings  # it imports this module to send at once

    return {briefings.KIND: briefings.record_outcome}


@dataclass(frozen=True)
class _Unrecorded:
    item: outbox.Claimed
    delivery: notifier.Delivery
    worker: str


def _new_worker() -> str:
    """Unique per run, so two runs in one process never share a lease."""
    return f"{worker_name()[:50]}:{uuid.uuid4().hex[:8]}"


async def deliver_outbox(app: Application, *,  # type: ignore[type-arg]
                         linger: bool = True) -> None:
    """Send every due outbox message (up to ``MAX_BATCHES`` batches per pass).

    With ``linger`` (the tick), a message that falls due within ``OUTBOX_LINGER_SECONDS``
    (default ``TICK_SECONDS``) of the run's start, a retry after its backoff, is sent
    when it is due rather than a tick later: the run sleeps (yielding the event loop)
    until then, at most ``LINGER_POLL_S`` at a time so what is queued meanwhile goes
    out too. The next turn of the tick is skipped while a run is still going.
    """
    svc: Services = app.bot_data["services"]
    worker = _new_worker()
    budget = _linger_budget(svc) if linger else 0.0
    started = time.monotonic()
    if not await run_db(_record_leftovers, app, svc):
        return  # the database is still away: try again next tick
    for _ in range(MAX_LINGER_PASSES + 1):
        if not await _one_pass(app, svc, worker):
            return  # the database failed, or a backlog longer than a pass: next tick
        left = budget - (time.monotonic() - started)
        if left <= 0:
            return
        try:
            due = await run_db(_next_due, svc)
        except Exception:  # noqa: BLE001 - no database: the next tick tries again
            log.exception("outbox: could not read when the next message is due")
            return
        if due is None or due > left:
            return  # nothing waiting, or due after the next tick anyway
        await _sleep(min(max(due, 0.01), LINGER_POLL_S))


def _linger_budget(svc: Services) -> float:
    setting = svc.settings.outbox_linger_seconds
    return float(svc.settings.tick_seconds if setting is None else setting)


def _next_due(svc: Services) -> float | None:
    """Seconds until the next message can be claimed (0 or less: now); None if none waits."""
    with svc.db.session() as s:
        moment = outbox.next_due(s)
    return None if moment is None else (moment - svc.clock.now()).total_seconds()


async def _one_pass(app: Application, svc: Services,  # type: ignore[type-arg]
                    worker: str) -> bool:
    """Claim and send batches until nothing is due; False if the database failed or the
    pass stopped at ``MAX_BATCHES`` (the rest is for the next run)."""

    def claim() -> list[outbox.Claimed]:
        with svc.db.session() as s:
            return outbox.claim(s, now=svc.clock.now(), worker=worker,
                                lease_seconds=svc.settings.lease_seconds,
                                limit=svc.settings.outbox_batch)

    for _ in range(MAX_BATCHES):
        try:
            batch = await run_db(claim)  # database work off the event loop
        except Exception as err:  # noqa: BLE001 - no database, nothing claimed: next tick
            if unreachable_reason(err) is not None:
                # the database is away (nothing was waiting to be saved, so the check
                # above passed): the scheduler's one line per outage says it, no traceback
                raise
            log.exception("outbox: could not claim messages")
            return False
        if not batch:
            return True
        if not await _deliver_batch(app, svc, batch, worker):
            return False  # the database failed: leave the rest to their leases
        await asyncio.sleep(0)  # let updates in between batches
    return False


async def _deliver_batch(app: Application, svc: Services,  # type: ignore[type-arg]
                         batch: list[outbox.Claimed], worker: str) -> bool:
    """Send a claimed batch, ``OUTBOX_CONCURRENCY`` chats at a time; False if the
    database failed (nothing more is started; what is in flight finishes).

    One chat's messages go one after another in claim order (a person reads them in
    order, and a 403 stops the rest of theirs); different chats overlap, so the
    round trips of one message (renew, send, mark) no longer pace the whole batch.
    PTB's rate limiter still paces the sends.
    """
    chats: dict[int, list[outbox.Claimed]] = {}
    for item in batch:
        chats.setdefault(item.telegram_id, []).append(item)
    slots = asyncio.Semaphore(svc.settings.outbox_concurrency)
    failed = False

    async def one_chat(items: list[outbox.Claimed]) -> None:
        nonlocal failed
        async with slots:
            for item in items:
                if failed:
                    return
                if not await _deliver_one(app, svc, item, worker):
                    failed = True
                    return

    async with asyncio.TaskGroup() as group:
        for items in chats.values():
            group.create_task(one_chat(items))
    return not failed


def deliver_soon(app: Application) -> Any:  # type: ignore[type-arg]
    """Send what a handler just enqueued without waiting for the tick.

    A running bot starts a task (the update is answered meanwhile); a bot driven
    step by step (tests, console) gets a coroutine to await.
    """
    # one pass: the tick's run is the one that waits for retries
    if app.running:
        app.create_task(deliver_outbox(app, linger=False), name="outbox-now")
        return asyncio.sleep(0)
    return deliver_outbox(app, linger=False)


async def _deliver_one(app: Application, svc: Services,  # type: ignore[type-arg]
                       item: outbox.Claimed, worker: str) -> bool:
    """Send one claimed row; False if the database failed (stop the batch)."""

    def still_ours() -> bool:
        """Renew the lease; a row for someone who blocked the bot is closed unsent."""
        with svc.db.session() as s:
            if not outbox.renew(s, item.id, worker=worker, now=svc.clock.now(),
                                lease_seconds=svc.settings.lease_seconds):
                metrics.OUTBOX_LEASE_LOST.inc()
                log.warning("outbox %s: lease lost, another worker has it: skipped", item.id)
                return False
            refusal = outbox.recipient_refusal(s, item.telegram_id)
            if refusal is None:
                return True
            _mark(s, item, notifier.Delivery(
                DeliveryStatus.BLOCKED if refusal == "blocked" else DeliveryStatus.FAILED,
                error=f"recipient {refusal}"), worker, svc, sent_to_telegram=False)
            return False

    def record(delivery: notifier.Delivery) -> None:
        with svc.db.session() as s:
            _mark(s, item, delivery, worker, svc, sent_to_telegram=True)

    try:
        if not await run_db(still_ours):
            return True
    except Exception as err:  # noqa: BLE001 - not sent: its lease lets it be retried later
        _log_db_error(err, "outbox %s: could not renew the lease: not sent", item.id)
        return False
    delivery = await _send(app, svc, item)
    if delivery.ambiguous:
        metrics.OUTBOX_AMBIGUOUS.inc()
    try:
        await run_db(record, delivery)
    except Exception as err:  # noqa: BLE001 - the send happened: never resend it for this error
        metrics.OUTBOX_UNRECORDED.inc()
        _log_db_error(err, "outbox %s: %s to chat %s but the outcome could not be saved; the "
                      "lease is kept (no worker takes it for %s s), saving again next run",
                      item.id, delivery.status, item.telegram_id, svc.settings.lease_seconds)
        app.bot_data.setdefault(_UNRECORDED, []).append(_Unrecorded(item, delivery, worker))
        return False
    return True


def _log_db_error(err: Exception, message: str, *args: object) -> None:
    """One line when the database is unreachable (an outage is expected); a traceback else."""
    reason = unreachable_reason(err)
    if reason is None:
        log.error(message, *args, exc_info=err)
    else:
        log.error(message + " (database unreachable: %s)", *args, reason)


def _record_leftovers(app: Application, svc: Services) -> bool:  # type: ignore[type-arg]
    """Save outcomes a database error kept from being saved; False if it still fails."""
    pending: list[_Unrecorded] = app.bot_data.get(_UNRECORDED, [])
    while pending:
        left = pending[0]
        try:
            with svc.db.session() as s:
                _mark(s, left.item, left.delivery, left.worker, svc, sent_to_telegram=True)
        except (SQLAlchemyError, OSError):  # still no database
            log.warning("outbox: %d outcomes still waiting to be saved", len(pending))
            return False
        except Exception:  # noqa: BLE001 - a bug, not the database: do not block the queue
            log.exception("outbox %s: outcome dropped", left.item.id)
        pending.pop(0)
    return True


async def _send(app: Application, svc: Services,  # type: ignore[type-arg]
                item: outbox.Claimed) -> notifier.Delivery:
    payload = item.payload
    markup = (InlineKeyboardMarkup.de_json(payload["markup"], app.bot)
              if payload.get("markup") else None)
    timeout = svc.settings.outbox_send_timeout
    try:
        if payload.get("photo") or payload.get("document"):
            return await notifier.send_attachment(
                app.bot, item.telegram_id, photo=payload.get("photo"),
                document=payload.get("document"), caption=payload.get("text") or None,
                markup=markup, max_waits=0, timeout=timeout)
        return await notifier.send_text(app.bot, item.telegram_id, payload["text"],
                                        markup=markup, max_waits=0, timeout=timeout,
                                        skip_parts=item.parts_sent)
    except Exception as err:  # noqa: BLE001 - a bug for one message must not stop the rest
        log.exception("outbox %s: sending failed", item.id)
        return notifier.Delivery(DeliveryStatus.RETRY, error=type(err).__name__)


def _mark(session: Session, item: outbox.Claimed, delivery: notifier.Delivery, worker: str,
          svc: Services, *, sent_to_telegram: bool) -> None:
    """Record one outcome (and the feature's own bookkeeping) in ``session``."""
    now = svc.clock.now()
    status = delivery.status
    st = svc.settings
    if status == DeliveryStatus.RETRY and outbox.give_up(
            item.attempts, queued_at=item.created_at, now=now,
            max_attempts=st.outbox_max_attempts,
            retry_for=timedelta(minutes=st.outbox_retry_minutes)):
        status = DeliveryStatus.FAILED
        log.warning("outbox %s: given up after %d tries (%s)", item.id, item.attempts,
                    delivery.error)
    if status == DeliveryStatus.SENT:
        held = outbox.mark_sent(session, item.id, worker=worker, now=now,
                                telegram_message_id=delivery.message_id)
    elif status == DeliveryStatus.BLOCKED:
        held = outbox.mark_blocked(session, item.id, worker=worker,
                                   telegram_id=item.telegram_id if sent_to_telegram else None)
    elif status == DeliveryStatus.FAILED:
        held = outbox.mark_failed(session, item.id, worker=worker,
                                  error=delivery.error or "failed")
    else:
        wait = outbox.backoff(item.attempts, retry_after=delivery.retry_after)
        held = outbox.mark_retry(session, item.id, worker=worker, at=now + wait,
                                 error=delivery.error or "retry",
                                 parts_sent=delivery.parts_sent)
    if not held:  # our lease ran out during the send and someone else has the row now
        log.warning("outbox %s: %s, but the lease had passed to another worker", item.id,
                    status)
        return
    if status == DeliveryStatus.SENT and item.kind.startswith("digest_"):
        metrics.DIGESTS_SENT.labels(kind=item.kind.removeprefix("digest_")).inc()
    final = delivery if status == delivery.status else notifier.Delivery(
        status, error=delivery.error)
    hook = outcome_hooks().get(item.kind)
    if status != DeliveryStatus.RETRY and hook is not None:
        hook(session, item, final, now)
