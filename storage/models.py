"""SQLAlchemy 2.0 typed models: the single source of truth for the schema.

Every time is a timezone-aware UTC instant (:class:`UTCDateTime`); calendar
days (birthdays, maturities, leave) are plain dates. Schema changes go through
Alembic (``storage/migrations``), never ``create_all``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

__all__ = [
    "Base",
    "Team",
    "User",
    "InviteCode",
    "Client",
    "Holding",
    "Interaction",
    "FollowUp",
    "Appointment",
    "StateEntry",
    "CacheVersion",
    "ProcessedUpdate",
    "ScriptEvent",
    "TeamScript",
    "DigestLog",
    "Briefing",
    "BriefingDelivery",
    "Referral",
    "PracticeSession",
    "PracticeReview",
    "PracticeAssignment",
    "Product",
    "Qualification",
    "Complaint",
    "ClientQuestion",
    "UnmetNeed",
    "AccessAudit",
    "StaffAudit",
    "OutboxMessage",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(16, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, Decimal: Money}


# --- people -----------------------------------------------------------------


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    rotation_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]

    members: Mapped[list[User]] = relationship(back_populates="team")


class User(Base):
    """Anyone registered: advisor, lead, referrer or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    language: Mapped[str] = mapped_column(String(16), default="zh-Hans")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    digest_time: Mapped[time | None] = mapped_column(Time)
    digest_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    call_target: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set by ``coach users disable``: unlike ``active`` (blocked the bot), writing to the
    # bot again does not undo it; only ``coach users enable`` does.
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    team: Mapped[Team | None] = relationship(back_populates="members")


class InviteCode(Base):
    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Qualification(Base):
    __tablename__ = "qualifications"
    __table_args__ = (UniqueConstraint("user_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    granted_on: Mapped[date] = mapped_column(Date)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# --- the book of clients ------------------------------------------------------


class Client(Base):
    """A client of exactly one advisor. ``last_contact_at`` is the cadence clock."""

    __tablename__ = "clients"
    __table_args__ = (Index("ix_clients_advisor_name", "advisor_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # "mr" / "ms" when known: scripts then say 陈先生 / 王女士 instead of the full name
    salutation: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16), default="mass")
    aum: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    risk_tolerance: Mapped[str | None] = mapped_column(String(2))
    risk_assessed_on: Mapped[date | None] = mapped_column(Date)
    birthday: Mapped[date | None] = mapped_column(Date)  # the birth date (age at a sale)
    # clients who need more care at a sale (issue 13): first purchase of a risk product,
    # vulnerable (illness, disability, limited understanding...)
    first_purchase: Mapped[bool] = mapped_column(Boolean, default=False,
                                                 server_default=false())
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    opened_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    last_contact_at: Mapped[datetime | None]
    last_meeting_at: Mapped[datetime | None]
    do_not_contact_until: Mapped[date | None] = mapped_column(Date)
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    forgotten: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    holdings: Mapped[list[Holding]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="Holding.id"
    )


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(32), default="wealth")
    risk_rating: Mapped[str] = mapped_column(String(2))
    min_amount: Mapped[Decimal | None]
    term_days: Mapped[int | None] = mapped_column(Integer)
    sale_start: Mapped[date | None] = mapped_column(Date)
    sale_end: Mapped[date | None] = mapped_column(Date)
    requires_qualification: Mapped[str | None] = mapped_column(String(32))
    features: Mapped[str | None] = mapped_column(Text)
    advantages: Mapped[str | None] = mapped_column(Text)
    benefits: Mapped[str | None] = mapped_column(Text)


class Holding(Base):
    __tablename__ = "holdings"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(120))
    risk_rating: Mapped[str | None] = mapped_column(String(2))
    amount: Mapped[Decimal]
    maturity_date: Mapped[date | None] = mapped_column(Date, index=True)
    purchased_on: Mapped[date | None] = mapped_column(Date)

    client: Mapped[Client] = relationship(back_populates="holdings")


class Interaction(Base):
    """One logged contact: a call, meeting, message or visit, and its outcome."""

    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_advisor_time", "advisor_id", "occurred_at"),
        Index("ix_interactions_client_time", "client_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    outcome: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal | None]
    product: Mapped[str | None] = mapped_column(String(120))
    # the amount is paid per month / quarter / year ("每月1.5w定投"); None: a single sum
    amount_period: Mapped[str | None] = mapped_column(String(8))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    unsuitable_reasons: Mapped[str | None] = mapped_column(String(200))
    client_insisted_at: Mapped[datetime | None]
    extra_steps_at: Mapped[datetime | None]  # second person present, explanation recorded
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]


class FollowUp(Base):
    """Something the advisor must do for a client at ``due_at``.

    Rows move pending → sending (claimed under a lease) → sent → done, or to
    snoozed / cancelled / reassigned. The lease lets a crashed sender's row be
    retried by whichever instance ticks next.
    """

    __tablename__ = "followups"
    __table_args__ = (
        Index("ix_followups_status_due", "status", "due_at"),
        Index("ix_followups_advisor_status", "advisor_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    original_advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL")
    )
    # a meeting reminder's own meeting (its time and place are shown in the reminder)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(24), default="call")
    reason: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    handover_until: Mapped[date | None] = mapped_column(Date)
    escalated_lead_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Leave(Base):
    """An advisor's leave and who covers it: follow-ups due within it go to the colleague,
    including those created after the handover (``coach.services.followups.route``)."""

    __tablename__ = "leaves"
    __table_args__ = (Index("ix_leaves_advisor_end", "advisor_id", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    colleague_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_advisor_start", "advisor_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


# --- bot plumbing -------------------------------------------------------------


class StateEntry(Base):
    """PTB persistence (conversation states, user drafts) as JSON rows."""

    __tablename__ = "state_entries"

    namespace: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class CacheVersion(Base):
    """A counter per cache every instance keeps (team scripts, client names), bumped in
    the transaction that changes what is cached (:mod:`storage.versions`)."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime | None]


class ProcessedUpdate(Base):
    """Telegram update ids already handled, so a redelivered update is ignored."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(index=True)


# --- script library -----------------------------------------------------------


class ScriptEvent(Base):
    """A script shown, liked or disliked, or a query that found nothing."""

    __tablename__ = "script_events"
    __table_args__ = (Index("ix_script_events_kind_time", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    script_id: Mapped[str | None] = mapped_column(String(80))
    query: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]


class TeamScript(Base):
    __tablename__ = "team_scripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    script_id: Mapped[str] = mapped_column(String(80), unique=True)
    data: Mapped[dict[str, Any]]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # the cache_versions "team_scripts" value of the change that wrote this row: an
    # instance reads only the rows newer than the version it has
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


# --- digests and briefings ----------------------------------------------------


class DigestLog(Base):
    """One row per person, kind and local day: the digest is sent at most once."""

    __tablename__ = "digest_log"
    __table_args__ = (UniqueConstraint("user_id", "kind", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="sending")
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class Briefing(Base):
    __tablename__ = "briefings"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    payload: Mapped[dict[str, Any]]
    body: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    document_file_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    send_at: Mapped[datetime | None]
    repeat_workdays: Mapped[bool] = mapped_column(Boolean, default=False)
    include_group: Mapped[bool] = mapped_column(Boolean, default=False)
    nudge_at: Mapped[datetime | None]
    nudged_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class BriefingDelivery(Base):
    """One message of a broadcast: queued in the outbox, sent once, acknowledged.

    ``sending`` without a lease means "in the outbox": the outbox worker finishes it.
    """

    __tablename__ = "briefing_deliveries"
    __table_args__ = (
        UniqueConstraint("briefing_id", "chat_id"),
        Index("ix_briefing_deliveries_status", "briefing_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(ForeignKey("briefings.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    # a blocked or refused delivery told to the lead (once, with the others of its run)
    reported_at: Mapped[datetime | None]


class Referral(Base):
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client_name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(32))
    need: Mapped[str | None] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decline_reason: Mapped[str | None] = mapped_column(String(32))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


# --- practice -----------------------------------------------------------------


class PracticeSession(Base):
    __tablename__ = "practice_sessions"
    __table_args__ = (Index("ix_practice_sessions_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="active")
    total_score: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class PracticeReview(Base):
    __tablename__ = "practice_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("practice_sessions.id", ondelete="CASCADE"))
    turn_index: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    score_override: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class PracticeAssignment(Base):
    __tablename__ = "practice_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario_id: Mapped[str] = mapped_column(String(80))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("practice_sessions.id", ondelete="SET NULL")
    )
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


# --- service records and audit ------------------------------------------------


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(32), default="other")
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class ClientQuestion(Base):
    __tablename__ = "client_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]


class UnmetNeed(Base):
    __tablename__ = "unmet_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    tag: Mapped[str] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class AccessAudit(Base):
    """Who other than the owning advisor opened a client's card, and when."""

    __tablename__ = "access_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    viewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(24), default="view")
    created_at: Mapped[datetime]


class StaffAudit(Base):
    """Changes to who may use the bot: disable/enable (CLI) and a lead's /remove."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the CLI
    target_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    action: Mapped[str] = mapped_column(String(24))  # disable | enable | remove
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


# --- delivery -----------------------------------------------------------------


class OutboxMessage(Base):
    """One message the bot sends on its own, written in the transaction that caused it.

    ``payload`` is already rendered (``text``, optional ``markup`` as Bot API JSON,
    optional ``photo``/``document`` file ids): the worker (``bot/jobs/outbox.py``) only
    sends. ``dedup_key`` is unique, so enqueuing the same notice twice is a no-op.
    Rows move pending → sending (claimed under a lease) → sent | blocked | failed; a
    passing failure puts the row back to pending with ``next_attempt_at`` later.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)  # the chat (a person or a group)
    kind: Mapped[str] = mapped_column(String(32))  # reminder, escalation, briefing, …
    payload: Mapped[dict[str, Any]]
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    # the row of the feature this message belongs to (a briefing delivery's id), for the
    # feature's own bookkeeping when the outcome is known
    ref_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)  # of a long, split text
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
