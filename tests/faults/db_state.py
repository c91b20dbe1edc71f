"""What the database says was delivered: the other half of the duplicate-window check.

A message Telegram accepted but the database does not yet record as sent is in the
documented window (the process died, or lost Telegram's answer, between the two):
it may be sent again after a restart. Everything else must never be repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from storage.db import Database
from storage.models import BriefingDelivery, FollowUp

__all__ = ["Committed", "committed"]


@dataclass(frozen=True)
class Committed:
    reminders: set[int]   # follow-up ids whose reminder is recorded as sent
    deliveries: set[int]  # briefing delivery ids recorded as sent

    def done(self, reminders: list[int], deliveries: int) -> bool:
        return set(reminders) <= self.reminders and len(self.deliveries) >= deliveries


def committed(url: str, briefing_id: int | None = None) -> Committed:
    db = Database(url)
    try:
        with db.session() as s:
            reminders = set(s.scalars(select(FollowUp.id).where(FollowUp.status == "sent",
                                                                FollowUp.sent_at.is_not(None))))
            query = select(BriefingDelivery.id).where(BriefingDelivery.status == "sent")
            if briefing_id is not None:
                query = query.where(BriefingDelivery.briefing_id == briefing_id)
            return Committed(reminders, set(s.scalars(query)))
    finally:
        db.dispose()
