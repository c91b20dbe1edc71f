"""The one error handler: log the failure, apologise, tell the developer chat."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Update
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import logcontext, metrics
from bot.context import CoachContext

log = logging.getLogger(__name__)
CONFLICT_REMIND_S = 600.0  # while 409s go on, one reminder line per ten minutes


@dataclass
class ConflictLog:
    """One warning line for the first 409 Conflict, then one reminder per
    ``CONFLICT_REMIND_S`` with how many more came: two pollers with one token get a 409
    every few seconds, forever; a line (or a traceback) per poll buries everything else."""

    clock: Callable[[], float] = time.monotonic
    _last: float | None = None
    _since: int = 0  # 409s not logged since the last line

    def note(self, error: Conflict) -> None:
        now = self.clock()
        if self._last is not None and now - self._last < CONFLICT_REMIND_S:
            self._since += 1
            return
        if "webhook" in str(error.message).lower():
            why = ("a webhook is set for this token (an instance runs with --webhook); "
                   "run every instance with --webhook, or stop the webhook ones")
        else:
            why = ("another instance is polling with this token; use --webhook for "
                   "several instances, or stop the other one")
        more = (f" ({self._since} more 409s in the last {CONFLICT_REMIND_S / 60:.0f} min)"
                if self._last is not None else "")
        log.warning("telegram 409 Conflict: %s; polling goes on and backs off%s", why, more)
        self._last, self._since = now, 0


CONFLICTS = ConflictLog()


async def on_error(update: object, context: CoachContext) -> None:
    """Log with the traceback (no message text: it may carry client data)."""
    error = context.error
    if isinstance(error, Conflict):
        # 409: another process polls with the same token; PTB retries on its own (with a
        # growing pause), so this is an operator's warning on one line, now and then,
        # not a bug with a traceback
        metrics.ERRORS.labels(kind="Conflict").inc()
        CONFLICTS.note(error)
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
