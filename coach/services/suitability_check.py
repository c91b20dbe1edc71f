"""Suitability against the catalogue: /suit, the sale check in /log, seller qualifications.

Wraps :func:`coach.suitability.check_suitability` with database facts: the client's
tolerance and assessment date (client access through ``get_visible_client``), the
product's rating, required qualification and sale window, and the seller's
:class:`~storage.models.Qualification` rows. The /log flow calls :func:`check_sale`
before saving a sale (to show the advisor why it is unsuitable) and
:func:`after_logged` in the same transaction as ``record_outcome`` (to link the
catalogue product and flag an unsuitable sale, with the client's acknowledgement).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.actor import Me
from coach.clock import Clock, local_day
from coach.services import people
from coach.services.clients import get_visible_client
from coach.services.errors import ServiceError
from coach.services.outbox import Notice
from coach.services.oversight import Recipient, notices, overseers_of
from coach.services.products import ProductView, product_row, product_view
from coach.suitability import (
    DEFAULT_ASSESSMENT_VALID_MONTHS,
    DEFAULT_ELDERLY_AGE,
    DEFAULT_TOP_RISK_QUALIFICATIONS,
    check_suitability,
    suggest_products,
)
from storage.models import Interaction, Product, Qualification, User

__all__ = [
    "ProductView",
    "SuitRules",
    "QualificationLine",
    "SaleFlag",
    "SuitCheck",
    "after_logged",
    "check_client_product",
    "check_sale",
    "grant_qualification",
    "list_qualifications",
    "product_view",
    "qualifications_of",
    "revoke_qualification",
]

_QUAL_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{1,31}$")
MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class SuitRules:
    """The settings the suitability check reads (bot.settings: RISK_ASSESSMENT_VALID_MONTHS,
    TOP_RISK_QUALIFICATIONS, ELDERLY_CLIENT_AGE)."""

    valid_months: int = DEFAULT_ASSESSMENT_VALID_MONTHS
    top_risk_qualifications: tuple[str, ...] = DEFAULT_TOP_RISK_QUALIFICATIONS
    elderly_age: int = DEFAULT_ELDERLY_AGE

    @classmethod
    def from_settings(cls, settings: Any) -> SuitRules:
        quals = tuple(q.strip().upper() for q in str(settings.top_risk_qualifications).split(",")
                      if q.strip())
        return cls(int(settings.risk_assessment_valid_months), quals,
                   int(settings.elderly_client_age))


def qualifications_of(session: Session, user_id: int, *, today: date | None = None) -> list[str]:
    query = select(Qualification.code).where(Qualification.user_id == user_id)
    if today is not None:
        query = query.where(Qualification.granted_on <= today)
    return sorted(session.scalars(query))


@dataclass(frozen=True)
class SuitCheck:
    """One client × product verdict with everything the screen shows."""

    client_id: int
    client_name: str
    own: bool
    risk_tolerance: str | None
    assessed_on: date | None
    product: ProductView
    suitable: bool
    reasons: list[str]
    details: dict[str, Any]
    qualifications: list[str]
    valid_months: int
    suggestions: list[ProductView] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # elderly, first risk purchase, vulnerable
    extra_steps: list[str] = field(default_factory=list)  # to do before the sale is saved

    @property
    def needs_extra_steps(self) -> bool:
        return bool(self.extra_steps)


def check_client_product(session: Session, me: Me, client_id: int, product_id: int, *,
                         clock: Clock, rules: SuitRules | None = None) -> SuitCheck:
    """Check catalogue product ``product_id`` for a client ``me`` may see, sold by ``me`` today."""
    product = session.get(Product, product_id)
    if product is None:
        raise ServiceError("product_not_found", value="")
    return _check(session, me, client_id, product, clock=clock, rules=rules)


def _check(session: Session, me: Me, client_id: int, product: Product, *,
           clock: Clock, rules: SuitRules | None = None, audit: bool = True,
           suggest: bool = True) -> SuitCheck:
    rules = rules or SuitRules()
    client = get_visible_client(session, me, client_id, clock=clock if audit else None,
                                action="suitability")
    today = local_day(clock.now(), me.timezone)
    held = qualifications_of(session, me.user_id, today=today)
    result = check_suitability(
        client_risk=client.risk_tolerance, product_risk=product.risk_rating,
        assessed_on=client.risk_assessed_on, today=today, seller_qualifications=held,
        product_requires=product.requires_qualification,
        sale_window=(product.sale_start, product.sale_end),
        assessment_valid_months=rules.valid_months,
        top_risk_qualifications=rules.top_risk_qualifications,
        birth_date=client.birthday, first_purchase=bool(client.first_purchase),
        vulnerable=bool(client.vulnerable), elderly_age=rules.elderly_age)
    suggestions: list[ProductView] = []
    if suggest and not result.suitable:
        catalogue = [product_view(p) for p in session.scalars(
            select(Product).where(Product.id != product.id).order_by(Product.code))]
        suggestions = suggest_products(
            client.risk_tolerance, catalogue, assessed_on=client.risk_assessed_on, today=today,
            seller_qualifications=held, assessment_valid_months=rules.valid_months,
            top_risk_qualifications=rules.top_risk_qualifications)[:MAX_SUGGESTIONS]
    return SuitCheck(client.id, client.name, client.advisor_id == me.user_id,
                     client.risk_tolerance, client.risk_assessed_on, product_view(product),
                     result.suitable, [str(r) for r in result.reasons], result.details, held,
                     rules.valid_months, suggestions, list(result.warnings),
                     list(result.extra_steps))


def check_sale(session: Session, me: Me, *, client_id: int | None, outcome: str | None,
               product: str | None, clock: Clock,
               rules: SuitRules | None = None) -> SuitCheck | None:
    """The verdict for a sale about to be logged; None when there is nothing to check
    (not a sale, or the product is not in the catalogue)."""
    if outcome != "sale" or client_id is None:
        return None
    row = product_row(session, product)
    if row is None:
        return None
    return _check(session, me, client_id, row, clock=clock, rules=rules, audit=False)


@dataclass(frozen=True)
class SaleFlag:
    """An unsuitable sale that was saved: who sold what to whom, and who must be told."""

    interaction_id: int
    client_id: int
    client_name: str
    advisor_name: str
    product_code: str
    product_name: str
    amount: Decimal | None
    reasons: list[str]
    insisted_at: datetime | None
    notify: list[Recipient]

    @property
    def notices(self) -> list[Notice]:
        """The lead (or admins) must hear of it: queued with the sale, in its transaction."""
        return notices(self.notify, "sale_flag_notice", kind="sale_flag",
                       key=f"sale_flag:{self.interaction_id}", f=self)


def after_logged(session: Session, me: Me, interaction_id: int, *, clock: Clock,
                 rules: SuitRules | None = None, insisted: bool = False,
                 extra_steps: bool = False) -> SaleFlag | None:
    """Link the logged contact to the catalogue; flag it when it was an unsuitable sale.

    Called in the same transaction as ``record_outcome``. The check runs again here
    (never trusting what the confirmation screen showed); ``insisted`` records the
    client's signed acknowledgement only when the sale really is unsuitable. A sale to a
    client who needs more care (elderly, first risk purchase, vulnerable) is refused with
    ``extra_steps_required`` -- rolling the whole save back -- unless ``extra_steps``
    confirms a second person was present and the explanation was recorded.
    """
    interaction = session.get(Interaction, interaction_id)
    if interaction is None or interaction.advisor_id != me.user_id:
        raise ServiceError("client_not_found")
    product = product_row(session, interaction.product)
    if product is None:
        return None
    interaction.product_id = product.id
    if interaction.outcome != "sale":
        return None
    check = _check(session, me, interaction.client_id, product, clock=clock, rules=rules,
                   audit=False, suggest=False)
    if check.needs_extra_steps:
        if not extra_steps:
            raise ServiceError("extra_steps_required")
        interaction.extra_steps_at = clock.now()
    if check.suitable:
        return None
    interaction.unsuitable_reasons = ",".join(check.reasons)[:200]
    if insisted:
        interaction.client_insisted_at = clock.now()
    advisor = session.get(User, me.user_id)
    return SaleFlag(interaction.id, check.client_id, check.client_name,
                    advisor.name if advisor else "-", product.code, product.name,
                    interaction.amount, check.reasons, interaction.client_insisted_at,
                    overseers_of(session, me.user_id))


# --- qualifications ------------------------------------------------------------------


@dataclass(frozen=True)
class QualificationLine:
    code: str
    granted_on: date
    granted_by: str | None


def _member(session: Session, me: Me, handle: str | None) -> User:
    """The caller, or ``@username`` when the caller leads their team (or is an admin)."""
    if not handle:
        user = session.get(User, me.user_id)
        assert user is not None
        return user
    user = people.find_by_handle(session, handle)
    if user is None or user.role not in ("advisor", "lead"):
        raise ServiceError("member_not_found", name=handle)
    if user.id != me.user_id and not (
            me.role == "admin" or (me.role == "lead" and user.team_id == me.team_id)):
        raise ServiceError("member_not_found", name=handle)
    return user


def list_qualifications(session: Session, me: Me, handle: str | None
                        ) -> tuple[str, list[QualificationLine]]:
    user = _member(session, me, handle)
    rows = session.execute(
        select(Qualification, User.name).outerjoin(User, Qualification.granted_by_id == User.id)
        .where(Qualification.user_id == user.id).order_by(Qualification.code)).all()
    return user.name, [QualificationLine(q.code, q.granted_on, by) for q, by in rows]


def _may_grant(me: Me) -> None:
    if me.role not in ("lead", "admin"):
        raise ServiceError("role_forbidden")


def _code(value: str) -> str:
    code = value.strip().upper()
    if not _QUAL_CODE.match(code):
        raise ServiceError("qualification_invalid", value=value)
    return code


def grant_qualification(session: Session, me: Me, handle: str, code: str, *, clock: Clock,
                        on: date | None = None) -> tuple[str, str, bool]:
    """Record that ``@handle`` holds ``code`` (a lead for their team, or an admin).

    Returns (member name, code, created); granting again keeps the original date.
    """
    _may_grant(me)
    if not handle.startswith("@"):
        raise ServiceError("member_not_found", name=handle)
    user = _member(session, me, handle)
    if user.id == me.user_id and me.role != "admin":
        raise ServiceError("qualification_self")  # four eyes: an admin or another lead grants
    qual = _code(code)
    existing = session.scalar(select(Qualification).where(
        Qualification.user_id == user.id, Qualification.code == qual))
    if existing is not None:
        return user.name, qual, False
    granted_on = on or local_day(clock.now(), me.timezone)
    session.add(Qualification(user_id=user.id, code=qual, granted_on=granted_on,
                              granted_by_id=me.user_id))
    return user.name, qual, True


def revoke_qualification(session: Session, me: Me, handle: str, code: str) -> tuple[str, str]:
    _may_grant(me)
    user = _member(session, me, handle)
    qual = _code(code)
    row = session.scalar(select(Qualification).where(
        Qualification.user_id == user.id, Qualification.code == qual))
    if row is None:
        raise ServiceError("qualification_not_held", name=user.name, qualification=qual)
    session.delete(row)
    return user.name, qual
