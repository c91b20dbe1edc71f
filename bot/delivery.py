"""Put a rendered message in the outbox (``coach.services.outbox``) from bot code.

Jobs and handlers render a template as usual and call :func:`enqueue` inside the
transaction that causes the message; the outbox worker (``bot/jobs/outbox.py``) sends
it. Nothing else sends messages the bot pushes on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot.render import Rendered
from coach.privacy import Audience
from coach.services import outbox

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["enqueue", "queue_notices"]


def enqueue(session: Session, rendered: Rendered | str, *, to: int, kind: str, key: str,
            now: datetime, ref_id: int | None = None, photo: str | None = None,
            document: str | None = None) -> bool:
    """Queue ``rendered`` for chat ``to``; False if ``key`` was queued before (no-op)."""
    if isinstance(rendered, str):
        rendered = Rendered(rendered)
    markup = rendered.markup.to_dict() if rendered.markup is not None else None
    return outbox.enqueue(session, telegram_id=to, kind=kind, dedup_key=key, now=now,
                          text=rendered.text, markup=markup, photo=photo, document=document,
                          ref_id=ref_id)


def queue_notices(session: Session, svc: Services, notices: Iterable[outbox.Notice]) -> int:
    """Render each notice a service returned and queue it; returns how many were new.

    Notices are read privately by someone other than the client's advisor: the
    masking rule treats every line as someone else's client unless the notice says.
    """
    queued = 0
    audience = Audience(private=True, privacy_mode=svc.settings.privacy_mode)
    for notice in notices:
        extra: dict[str, Any] = {} if notice.own is None else {"own": notice.own}
        rendered = svc.renderer.render(notice.template, notice.language, me=None,
                                       tz=notice.timezone or svc.settings.default_timezone,
                                       audience=audience, **extra, **notice.context)
        queued += enqueue(session, rendered, to=notice.telegram_id, kind=notice.kind,
                          key=notice.key, now=svc.clock.now())
    return queued
