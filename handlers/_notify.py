"""Telling leads (and other overseers) about something one of their advisors did."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from bot import notifier
from bot.context import CoachContext
from coach.privacy import Audience
from coach.services.oversight import Recipient
from coach.vocabulary import DeliveryStatus

__all__ = ["notify"]

log = logging.getLogger(__name__)


async def notify(context: CoachContext, recipients: Iterable[Recipient], template: str,
                 /, **ctx: Any) -> int:
    """Send ``template`` to each recipient in their language; returns how many got it.

    The recipients are never the client's advisor: the masking rule treats every line
    as someone else's client, read in a private chat.
    """
    svc = context.svc
    sent = 0
    for person in recipients:
        rendered = svc.renderer.render(template, person.language, me=None, tz=person.timezone,
                                       audience=Audience(private=True,
                                                         privacy_mode=svc.settings.privacy_mode),
                                       own=False, **ctx)
        delivery = await notifier.send_text(context.bot, person.telegram_id, rendered.text,
                                            markup=rendered.markup)
        if delivery.status == DeliveryStatus.BLOCKED:
            notifier.mark_blocked(svc.db, person.telegram_id)
        elif delivery.status != DeliveryStatus.SENT:
            log.warning("notification %s to user %s: %s", template, person.user_id,
                        delivery.status)
        sent += delivery.status == DeliveryStatus.SENT
    return sent
