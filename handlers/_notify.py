"""Helpers for the compliance handlers: when to mask names, and telling leads."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from telegram import Update

from bot import notifier
from bot.context import CoachContext
from coach.services.oversight import Recipient
from coach.vocabulary import DeliveryStatus

__all__ = ["notify", "should_mask"]

log = logging.getLogger(__name__)


def should_mask(update: Update, context: CoachContext, *, own: bool) -> bool:
    """Privacy mode masks client names unless the owner reads them in a private chat."""
    if not context.svc.settings.privacy_mode:
        return False
    chat = update.effective_chat
    private = chat is None or chat.type == "private"
    return not (own and private)


async def notify(context: CoachContext, recipients: Iterable[Recipient], template: str,
                 /, **ctx: Any) -> int:
    """Send ``template`` to each recipient in their language; returns how many got it.

    The recipients are never the client's advisor, so names follow privacy mode.
    """
    svc = context.svc
    sent = 0
    for person in recipients:
        rendered = svc.renderer.render(template, person.language, me=None, tz=person.timezone,
                                       mask=svc.settings.privacy_mode, **ctx)
        delivery = await notifier.send_text(context.bot, person.telegram_id, rendered.text,
                                            markup=rendered.markup)
        if delivery.status == DeliveryStatus.BLOCKED:
            notifier.mark_blocked(svc.db, person.telegram_id)
        elif delivery.status != DeliveryStatus.SENT:
            log.warning("notification %s to user %s: %s", template, person.user_id,
                        delivery.status)
        sent += delivery.status == DeliveryStatus.SENT
    return sent
