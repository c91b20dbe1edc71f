"""The one error handler: log the failure, apologise, tell the developer chat."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import logcontext, metrics
from bot.context import CoachContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: CoachContext) -> None:
    """Log with the traceback (no message text: it may carry client data)."""
    error = context.error
    if isinstance(error, Conflict):
        # 409: another process polls with the same token; PTB retries on its own, so
        # this is an operator's warning on one line, not a bug with a traceback
        log.warning("telegram 409 Conflict: another instance is polling with this token")
        return
    # a BadRequest (Telegram refused what we sent: too long, bad HTML, …) is our bug: it is
    # logged in full and the person who was waiting is told, like any other failure
    if isinstance(error, (Forbidden, TimedOut, NetworkError, RetryAfter)) and not isinstance(
            error, BadRequest):
        log.warning("telegram error: %s", type(error).__name__)
        return
    update_id = update.update_id if isinstance(update, Update) else "-"
    metrics.ERRORS.labels(kind=type(error).__name__).inc()
    logcontext.outcome.set("error")
    log.error("handler failed on update %s", update_id, exc_info=error)
    svc = context.svc
    if isinstance(update, Update) and update.effective_chat is not None:
        text = svc.renderer.text("errors", context.locale, code="internal", me=context.me)
        try:
            await context.bot.send_message(update.effective_chat.id, text)
        except Exception:  # noqa: BLE001 - never let the apology fail louder than the error
            log.warning("could not send the apology")
    if svc.settings.developer_chat_id:
        try:
            await context.bot.send_message(
                svc.settings.developer_chat_id,
                f"⚠️ {type(error).__name__} on update {update_id}")
        except Exception:  # noqa: BLE001
            log.warning("could not tell the developer chat")
