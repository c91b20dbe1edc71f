"""Send pushed messages (reminders, digests, briefings) one at a time, safely.

Every outbound call already goes through PTB's ``AIORateLimiter`` (which also
retries a 429 after its ``retry_after``). Here each message gets its own outcome
so one failure never stops the rest: ``sent``; ``blocked`` (403: the person
blocked the bot — they are marked inactive); ``retry`` (timeouts, network
errors, a 429 the limiter gave up on); ``failed`` (a bad request: retrying will
not help).

Pass ``db`` and a 403 also marks the person inactive right here (``mark_blocked``),
so no caller can forget it. Messages the bot sends on its own go through the outbox
(``coach.services.outbox``), whose one worker (``bot/jobs/outbox.py``) calls
:func:`send_text` / :func:`send_attachment` with ``max_waits=0`` (PTB's limiter is then
the only thing that waits on a 429; the row is retried after ``retry_after``) and a
longer ``timeout``. A timed-out send is ``ambiguous``: Telegram may have delivered it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import update
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import metrics
from bot.services import run_db
from coach.textsplit import fits_caption, split_message
from coach.vocabulary import DeliveryStatus
from storage.db import Database
from storage.models import User

__all__ = ["Delivery", "Outgoing", "mark_blocked", "send_all", "send_attachment",
           "send_document", "send_text"]

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[Any]]
_sleep: Sleep = asyncio.sleep  # tests replace this to wait without waiting


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    message_id: int | None = None
    retry_after: float | None = None
    error: str | None = None  # why it was not sent (for the outbox row, never shown)
    ambiguous: bool = False  # timed out: Telegram may have accepted it all the same
    parts_sent: int = 0  # of a split text, how many parts Telegram accepted


def _timeouts(timeout: float | None) -> dict[str, Any]:
    """PTB's per-call timeouts: the answer to a send may take up to ``timeout``."""
    return {} if timeout is None else {"read_timeout": timeout, "write_timeout": timeout}


async def _deliver(call: Callable[[], Awaitable[Message]], chat_id: int, *,
                   sleep: Sleep | None = None, max_waits: int = 2,
                   db: Database | None = None) -> Delivery:
    delivery = await _attempt(call, chat_id, sleep=sleep, max_waits=max_waits)
    metrics.DELIVERIES.labels(outcome=delivery.status.value).inc()
    if delivery.status == DeliveryStatus.BLOCKED and db is not None:
        await run_db(mark_blocked, db, chat_id)  # a write: off the event loop
    return delivery


async def _attempt(call: Callable[[], Awaitable[Message]], chat_id: int, *,
                   sleep: Sleep | None, max_waits: int) -> Delivery:
    for waited in range(max_waits + 1):
        try:
            message = await call()
            return Delivery(DeliveryStatus.SENT, message.message_id)
        except RetryAfter as err:
            wait = float(err.retry_after if isinstance(err.retry_after, int | float)
                         else err.retry_after.total_seconds())
            if waited == max_waits:  # the caller (the outbox) retries the row later
                return Delivery(DeliveryStatus.RETRY, retry_after=wait,
                                error=f"429 retry after {wait:.0f} s")
            log.warning("429 for chat %s: waiting %.0f s", chat_id, wait)
            await (sleep or _sleep)(wait)
        except Forbidden:
            return Delivery(DeliveryStatus.BLOCKED, error="403 blocked")
        except TimedOut:
            # the request went out; Telegram may have delivered it and the answer was lost
            log.warning("send to chat %s timed out (maybe delivered)", chat_id)
            return Delivery(DeliveryStatus.RETRY, error="timed out", ambiguous=True)
        except NetworkError as err:  # BadRequest is a NetworkError in PTB
            if isinstance(err, BadRequest):
                log.warning("bad request to chat %s: %s", chat_id, err.message)
                return Delivery(DeliveryStatus.FAILED, error=f"400 {err.message}")
            log.warning("network error to chat %s: %s", chat_id, type(err).__name__)
            return Delivery(DeliveryStatus.RETRY, error=f"{type(err).__name__}: {err.message}")
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns


async def send_text(bot: Bot, chat_id: int, text: str, *,
                    markup: InlineKeyboardMarkup | None = None,
                    sleep: Sleep | None = None, db: Database | None = None,
                    max_waits: int = 2, timeout: float | None = None,
                    skip_parts: int = 0) -> Delivery:
    """Send ``text``, split into Telegram-sized parts (buttons on the last one).

    The outcome is the first part that was not sent, else the last part's (its
    ``message_id`` is the message carrying the buttons); ``parts_sent`` counts the
    parts Telegram accepted, so a retry can start after them (``skip_parts``).
    """
    parts = split_message(text) or [text]
    delivery = Delivery(DeliveryStatus.SENT)
    for i, part in enumerate(parts):
        if i < skip_parts:
            continue
        buttons = markup if i == len(parts) - 1 else None
        delivery = await _deliver(
            lambda part=part, buttons=buttons: bot.send_message(  # type: ignore[misc]
                chat_id, part, reply_markup=buttons, **_timeouts(timeout)),
            chat_id, sleep=sleep, db=db, max_waits=max_waits)
        if delivery.status != DeliveryStatus.SENT:
            return replace(delivery, parts_sent=i)
    return replace(delivery, parts_sent=len(parts))


async def send_document(bot: Bot, chat_id: int, data: bytes, filename: str, *,
                        caption: str | None = None, sleep: Sleep | None = None,
                        db: Database | None = None) -> Delivery:
    return await _deliver(lambda: bot.send_document(chat_id, data, filename=filename,
                                                    caption=caption), chat_id, sleep=sleep, db=db)


@dataclass(frozen=True)
class Outgoing:
    """One pushed text message; ``key`` is the caller's id for it (a row id)."""

    key: Any
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None


async def send_all(bot: Bot, messages: Iterable[Outgoing], *, db: Database | None = None,
                   sleep: Sleep | None = None,
                   on_result: Callable[[Outgoing, Delivery], Awaitable[Any] | None] | None = None,
                   ) -> dict[Any, Delivery]:
    """Send each message on its own; one failure (even an unexpected error) never stops
    the rest. ``on_result`` runs right after each send (e.g. to commit ``sent``).

    After a 403 the person's other messages in the batch are not tried: they are
    ``blocked`` at once (the person is already marked inactive)."""
    results: dict[Any, Delivery] = {}
    blocked: set[int] = set()
    for message in messages:
        if message.chat_id in blocked:  # a 403 earlier in this batch: not tried again
            delivery = Delivery(DeliveryStatus.BLOCKED)
        else:
            try:
                delivery = await send_text(bot, message.chat_id, message.text,
                                           markup=message.markup, sleep=sleep, db=db)
            except Exception:  # noqa: BLE001 - a bug for one message must not stop the batch
                log.exception("sending to chat %s failed", message.chat_id)
                delivery = Delivery(DeliveryStatus.RETRY)
        if delivery.status == DeliveryStatus.BLOCKED:
            blocked.add(message.chat_id)
        results[message.key] = delivery
        if on_result is not None:
            outcome = on_result(message, delivery)
            if outcome is not None:
                await outcome
    return results


async def send_attachment(bot: Bot, chat_id: int, *, photo: str | None = None,
                          document: str | None = None, caption: str | None = None,
                          markup: InlineKeyboardMarkup | None = None,
                          sleep: Sleep | None = None, max_waits: int = 2,
                          timeout: float | None = None) -> Delivery:
    """Re-send a photo or document the bot already holds (by Telegram ``file_id``).

    ``caption`` and ``markup`` make it a whole message (text and buttons under the file).
    """
    if caption and not fits_caption(caption):
        # too long to go under the file: the file alone, then the text (split if need be)
        attached = await send_attachment(bot, chat_id, photo=photo, document=document,
                                         sleep=sleep, max_waits=max_waits, timeout=timeout)
        if attached.status != DeliveryStatus.SENT:
            return attached
        return await send_text(bot, chat_id, caption, markup=markup, sleep=sleep,
                               max_waits=max_waits, timeout=timeout)
    extra = _timeouts(timeout)
    if photo:
        return await _deliver(lambda: bot.send_photo(chat_id, photo, caption=caption,
                                                     reply_markup=markup, **extra),
                              chat_id, sleep=sleep, max_waits=max_waits)
    if document:
        return await _deliver(lambda: bot.send_document(chat_id, document, caption=caption,
                                                        reply_markup=markup, **extra),
                              chat_id, sleep=sleep, max_waits=max_waits)
    return Delivery(DeliveryStatus.SENT)


def mark_blocked(db: Database, telegram_id: int) -> None:
    """The person blocked the bot: stop pushing to them until they write again."""
    with db.session() as s:
        s.execute(update(User).where(User.telegram_id == telegram_id).values(active=False))
