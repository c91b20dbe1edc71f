"""The product's words, named once: roles, follow-up and delivery statuses, outcomes.

Each is a ``StrEnum``: its members are the strings stored in the database and used in
callback data, so code can compare ``user.role == Role.LEAD`` and rows written before
the enum existed still read the same.
"""

from __future__ import annotations

from enum import StrEnum

from coach.outcomes import Outcome

__all__ = ["DeliveryStatus", "FollowUpStatus", "OPEN_FOLLOWUP", "Outcome", "OutboxStatus", "Role",
           "STAFF_ROLES"]


class Role(StrEnum):
    """What a person may do (``users.role``)."""

    ADVISOR = "advisor"
    LEAD = "lead"
    REFERRER = "referrer"
    ADMIN = "admin"


# the people who own clients and are counted in a team's numbers
STAFF_ROLES = (Role.ADVISOR, Role.LEAD)


class FollowUpStatus(StrEnum):
    """Where a follow-up stands (``followups.status``)."""

    PENDING = "pending"        # waiting for its due time
    SENDING = "sending"        # claimed by a worker under a lease
    SENT = "sent"              # reminder delivered, not yet handled
    SNOOZED = "snoozed"        # moved to a later time by the advisor
    DONE = "done"              # handled: a contact was logged or it was ticked off
    CANCELLED = "cancelled"    # no longer needed (client forgotten, firm decline…)
    REASSIGNED = "reassigned"  # closed here, continued by a colleague


# still needs someone's attention: shown in lists, counted overdue, handed over
OPEN_FOLLOWUP = (FollowUpStatus.PENDING, FollowUpStatus.SENDING, FollowUpStatus.SENT,
                 FollowUpStatus.SNOOZED)


class DeliveryStatus(StrEnum):
    """The one outcome of sending one message (``bot.notifier.Delivery.status``)."""

    SENT = "sent"        # Telegram accepted it
    BLOCKED = "blocked"  # 403: the person blocked the bot; they are marked inactive
    RETRY = "retry"      # 429 beyond the limiter, timeout, network: try again later
    FAILED = "failed"    # a bad request: retrying will not help


class OutboxStatus(StrEnum):
    """Where one outbox message stands (``outbox.status``)."""

    PENDING = "pending"  # waiting for ``next_attempt_at`` (new, or retried after a failure)
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"        # Telegram accepted it
    BLOCKED = "blocked"  # the person blocked the bot (403): never sent again
    FAILED = "failed"    # refused (bad request) or given up after OUTBOX_MAX_ATTEMPTS
