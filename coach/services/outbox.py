"""The outbox: every message the bot sends on its own is a row, sent by one worker.

A feature that must tell someone something calls :func:`enqueue` inside the same
transaction as the change that causes the message (a reminder marked, a referral
accepted, a briefing started). If that transaction rolls back, there is no message;
if it commits, the message will be sent, by whichever instance ticks next.

The payload is rendered at enqueue time (text, optional Bot API markup JSON, optional
photo/document file id), so the worker stays dumb: claim, send, mark. ``dedup_key`` is
unique: enqueuing the same notice twice is a no-op (``reminder:<id>:<due>``, …).

Claiming (:func:`claim`) takes a small batch under a lease: ``FOR UPDATE SKIP LOCKED``
on PostgreSQL, a conditional ``UPDATE … RETURNING`` on SQLite (which serialises
writers). Before each send the worker calls :func:`renew`; a lost lease means another
worker took the row, and this one skips it. The marks (:func:`mark_sent` …) only apply
while this worker still holds the lease.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from coach.vocabulary import OutboxStatus
from storage.models import OutboxMessage, User

__all__ = ["BACKOFF_CAP_S", "BACKOFF_FIRST_S", "Claimed", "Depth", "Notice", "backoff", "claim",
           "claim_target", "depth", "enqueue", "give_up", "mark_blocked", "mark_failed",
           "mark_retry", "mark_sent", "next_due", "recipient_refusal", "renew"]

_ERROR_LENGTH = 200
# the retry schedule after a passing failure (5xx, timeout, lost connection): 2 s doubling
# per attempt, never more than 30 s, so a Telegram hiccup of a minute delays messages by
# seconds after it ends, not by minutes (see backoff())
BACKOFF_FIRST_S = 2.0
BACKOFF_CAP_S = 30.0


@dataclass(frozen=True)
class Notice:
    """A message for someone other than the person acting, caused by a service's change.

    The service returns it with its result; the caller renders ``template`` in the
    recipient's language and queues it (``bot.delivery.queue_notices``) inside the same
    transaction. ``key`` makes it once per event (``complaint:<id>:<user>``…).
    """

    telegram_id: int
    language: str
    template: str
    kind: str
    key: str
    context: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    own: bool | None = False  # the client is not the recipient's own (masking); None: as is


def enqueue(session: Session, *, telegram_id: int, kind: str, dedup_key: str, now: datetime,
            text: str, markup: dict[str, Any] | None = None, photo: str | None = None,
            document: str | None = None, ref_id: int | None = None,
            not_before: datetime | None = None) -> bool:
    """Add one message to the outbox; False if ``dedup_key`` was already there.

    Call it inside the transaction that makes the message true, never after it.
    """
    payload: dict[str, Any] = {"text": text}
    if markup:
        payload["markup"] = markup
    if photo:
        payload["photo"] = photo
    if document:
        payload["document"] = document
    values = {"telegram_id": telegram_id, "kind": kind, "payload": payload,
              "dedup_key": dedup_key[:200], "ref_id": ref_id,
              "status": OutboxStatus.PENDING, "attempts": 0, "parts_sent": 0,
              "next_attempt_at": not_before or now, "created_at": now}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    inserted = session.execute(insert(OutboxMessage).values(**values)
                               .on_conflict_do_nothing(index_elements=["dedup_key"])
                               .returning(OutboxMessage.id)).first()
    return inserted is not None


@dataclass(frozen=True)
class Claimed:
    """One claimed message, as the worker needs it."""

    id: int
    telegram_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one
    parts_sent: int
    ref_id: int | None
    created_at: datetime | None = None  # when it was queued (how long it has been retried)


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    # due and waiting, or claimed by a worker whose lease ran out (it died or hangs)
    return or_(and_(OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now),
               and_(OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.lease_until < now))


def claim(session: Session, *, now: datetime, worker: str, lease_seconds: int,
          limit: int) -> list[Claimed]:
    """Take up to ``limit`` due messages for ``worker``, oldest first."""
    candidates = (select(OutboxMessage.id).where(_claimable(now))
                  .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    target = claim_target(session, OutboxMessage.id, candidates)
    if target is None:
        return []
    rows = session.execute(
        update(OutboxMessage).where(target, _claimable(now))
        .values(status=OutboxStatus.SENDING, lease_owner=worker,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id, OutboxMessage.telegram_id, OutboxMessage.kind,
                   OutboxMessage.payload, OutboxMessage.attempts, OutboxMessage.parts_sent,
                   OutboxMessage.ref_id, OutboxMessage.created_at)
        .execution_options(synchronize_session=False)).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def claim_target(session: Session, column: Any, candidates: Any) -> Any:
    """``column IN (…)`` for a claiming UPDATE; None when nothing is claimable.

    PostgreSQL: the candidate ids are locked first with ``FOR UPDATE SKIP LOCKED`` (rows
    another worker is claiming are skipped, not waited for) and materialised — inside
    ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE)`` PostgreSQL may evaluate the
    sub-select more than once and take more than ``n``. SQLite serialises writers: the
    sub-select is used as is.
    """
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(candidates.scalar_subquery())
    ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
    return column.in_(ids) if ids else None


def _held(row_id: int, worker: str):  # type: ignore[no-untyped-def]
    return and_(OutboxMessage.id == row_id, OutboxMessage.lease_owner == worker,
                OutboxMessage.status == OutboxStatus.SENDING)


def renew(session: Session, message_id: int, *, worker: str, now: datetime,
          lease_seconds: int) -> bool:
    """Extend this worker's lease right before a send; False: the lease was lost.

    A lease that ran out but was not taken by anyone is still ours: claiming a row
    changes its ``lease_owner``, and that is what is checked here.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(_held(message_id, worker))
        .values(lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _finish(session: Session, row_id: int, worker: str, **values: Any) -> bool:
    result = session.execute(
        update(OutboxMessage).where(_held(row_id, worker))
        .values(lease_owner=None, lease_until=None, **values)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(session: Session, message_id: int, *, worker: str, now: datetime,
              telegram_message_id: int | None) -> bool:
    return _finish(session, message_id, worker, status=OutboxStatus.SENT, sent_at=now,
                   message_id=telegram_message_id, last_error=None)


def mark_blocked(session: Session, message_id: int, *, worker: str,
                 telegram_id: int | None = None) -> bool:
    """The person blocked the bot. With ``telegram_id`` (a 403 just now) they are also
    marked inactive: nothing more is pushed to them (their other waiting messages end
    ``blocked`` unsent) until they write to the bot again."""
    if telegram_id is not None:
        session.execute(update(User).where(User.telegram_id == telegram_id)
                        .values(active=False).execution_options(synchronize_session=False))
    return _finish(session, message_id, worker, status=OutboxStatus.BLOCKED,
                   last_error="blocked by the user")


def mark_failed(session: Session, message_id: int, *, worker: str, error: str) -> bool:
    return _finish(session, message_id, worker, status=OutboxStatus.FAILED,
                   last_error=error[:_ERROR_LENGTH])


def mark_retry(session: Session, message_id: int, *, worker: str, at: datetime, error: str,
               parts_sent: int = 0) -> bool:
    """A passing failure: pending again from ``at``; parts of a split text already
    delivered are not sent again."""
    return _finish(session, message_id, worker, status=OutboxStatus.PENDING,
                   next_attempt_at=at, last_error=error[:_ERROR_LENGTH],
                   parts_sent=parts_sent)


def backoff(attempts: int, *, retry_after: float | None = None,
            rand: Callable[[], float] = random.random) -> timedelta:
    """Wait before the next try after ``attempts`` tries.

    A 429: Telegram's ``retry_after`` (at least 1 s). Anything else passing (5xx, a
    timeout, a lost connection): ``BACKOFF_FIRST_S`` doubling per attempt, capped at
    ``BACKOFF_CAP_S``, then scaled by a random factor in [0.5, 1) ("equal jitter") so
    instances and rows that failed together do not all come back in the same second.
    Attempts 1, 2, 3, 4, 5+ wait 1–2, 2–4, 4–8, 8–16 and 15–30 s.
    """
    if retry_after is not None:
        return timedelta(seconds=max(1.0, retry_after))
    ceiling = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** min(max(0, attempts - 1), 16))
    return timedelta(seconds=ceiling * (0.5 + 0.5 * rand()))


def give_up(attempts: int, *, queued_at: datetime | None, now: datetime, max_attempts: int,
            retry_for: timedelta) -> bool:
    """After a passing failure, is this message ``failed`` rather than tried again?

    Only when both hold: it was tried ``max_attempts`` times, and it was queued at
    least ``retry_for`` ago. With retries every 30 s at most, attempts alone would run
    out within minutes of a Telegram outage; counting time too means an outage shorter
    than ``retry_for`` loses nothing, and a message queued long ago (the bot was
    down) still gets ``max_attempts`` tries.
    """
    if attempts < max_attempts:
        return False
    return queued_at is None or now - queued_at >= retry_for


def recipient_refusal(session: Session, telegram_id: int) -> str | None:
    """Why this chat must not be sent to: ``"blocked"`` (the person blocked the bot),
    ``"disabled"`` (``coach users disable``), else None (a person or a group chat)."""
    row = session.execute(select(User.active, User.disabled_at)
                          .where(User.telegram_id == telegram_id)).first()
    if row is None:
        return None
    if row.disabled_at is not None:
        return "disabled"
    return None if row.active else "blocked"


@dataclass(frozen=True)
class Depth:
    waiting: int  # pending or sending
    oldest_seconds: float  # age of the oldest waiting message (0 if none)


def depth(session: Session, *, now: datetime) -> Depth:
    """How many messages wait and for how long (for metrics and health)."""
    waiting = (OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
    count, oldest = session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at))
        .where(waiting)).one()
    if oldest is None:
        return Depth(int(count), 0.0)
    return Depth(int(count), max(0.0, (now - oldest).total_seconds()))


def next_due(session: Session) -> datetime | None:
    """When the next message becomes claimable: the earliest retry of a pending row or
    lease end of a row being sent; None when nothing waits."""
    pending, leased = session.execute(
        select(func.min(OutboxMessage.next_attempt_at).filter(
                   OutboxMessage.status == OutboxStatus.PENDING),
               func.min(OutboxMessage.lease_until).filter(
                   OutboxMessage.status == OutboxStatus.SENDING))).one()
    moments = [m for m in (pending, leased) if m is not None]
    return min(moments) if moments else None
