"""What the database says was delivered: the other half of the duplicate-window check.

A message Telegram accepted but the database does not yet record as sent is in the
documented window (the process died, or lost Telegram's answer, between the two):
it may be sent again after a restart. Everything else must never be repeated.

Where an ``outbox`` table exists (issue 17: every pushed message is a row there) its
rows are the record: ``reminder:<follow-up id>:…`` and ``briefing:<delivery id>`` keys
with status ``sent``. Before it, the feature rows themselves are.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, select, text

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
            ours = select(BriefingDelivery.id)
            if briefing_id is not None:
                ours = ours.where(BriefingDelivery.briefing_id == briefing_id)
            mine = set(s.scalars(ours))
            if inspect(s.connection()).has_table("outbox"):
                keys = s.execute(text("SELECT dedup_key, ref_id FROM outbox WHERE status = 'sent' "
                                      "AND (dedup_key LIKE 'reminder:%' OR "
                                      "dedup_key LIKE 'briefing:%')")).all()
                reminders = {int(k.split(":")[1]) for k, _ in keys if k.startswith("reminder:")}
                deliveries = {int(r) for k, r in keys if k.startswith("briefing:") and r} & mine
                return Committed(reminders, deliveries)
            reminders = set(s.scalars(select(FollowUp.id).where(FollowUp.status == "sent",
                                                                FollowUp.sent_at.is_not(None))))
            deliveries = set(s.scalars(select(BriefingDelivery.id).where(
                BriefingDelivery.status == "sent"))) & mine
            return Committed(reminders, deliveries)
    finally:
        db.dispose()
