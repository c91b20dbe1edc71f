"""Clients: who may see which, fuzzy lookup, the client card, adding and importing.

Access rule, enforced here and nowhere else: an advisor sees only their own
clients, a lead sees the clients of their team, an admin sees all, a referrer
sees none. Every read by someone other than the owning advisor is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from coach.actor import Me
from coach.clock import Clock, local_day
from coach.digits import is_ascii_digits
from coach.names import ambiguous, match_names
from coach.privacy import mask_phone
from coach.services.errors import ServiceError
from coach.suitability import assessment_valid_until
from coach.tiers import TierThresholds, tier_for_aum
from scripts_library.normalize import normalize
from storage.models import AccessAudit, Client, FollowUp, Holding, Interaction, User

__all__ = [
    "ClientCard",
    "ClientRef",
    "ClientDraft",
    "Duplicate",
    "Lookup",
    "RISK_LEVELS",
    "TIERS",
    "add_client",
    "address_of",
    "find_duplicates",
    "normalize_phone",
    "get_visible_client",
    "load_card",
    "lookup",
    "visible_clients",
]

TIERS = ("mass", "wealth", "premier", "private")
RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")
RATINGS = ("R1", "R2", "R3", "R4", "R5")
# the advisor's own clients inside "own or handed over" (visible_clients): an alias, so
# the subquery does not correlate with the outer clients; built once, because building
# one copies every column of the table (a tenth of the bot's CPU when it was per call)
_OWN = aliased(Client)
# a follow-up not closed yet, as equalities: an IN over literals is an "expanding"
# parameter, rendered into the SQL again on every execution (a card, every /log)
_STILL_OPEN = tuple(FollowUp.status == status
                    for status in ("pending", "sending", "sent", "snoozed"))


def visible_clients(me: Me) -> Select[Client]:
    """The clients ``me`` may see, as a query to refine."""
    query = select(Client).where(Client.forgotten.is_(False))
    if me.role == "admin":
        return query
    if me.role == "lead" and me.team_id is not None:
        team_advisors = select(User.id).where(User.team_id == me.team_id)
        return query.where(Client.advisor_id.in_(team_advisors))
    if me.role in ("advisor", "lead"):
        # a colleague covering a leave sees the clients handed over to them, until the
        # leave ends (handover_until is cleared then, on closed rows too)
        handed_over = select(FollowUp.client_id).where(
            FollowUp.advisor_id == me.user_id, FollowUp.original_advisor_id.is_not(None),
            or_(*_STILL_OPEN, FollowUp.handover_until.is_not(None)))
        # "own OR handed over" as one IN over a UNION: with an OR, PostgreSQL cannot use
        # the advisor index and scans every client of the bank (76 ms at 300,000 clients)
        return query.where(Client.id.in_(union_all(
            select(_OWN.id).where(_OWN.advisor_id == me.user_id), handed_over)))
    return query.where(Client.id.is_(None))


def get_visible_client(session: Session, me: Me, client_id: int, *, clock: Clock | None = None,
                       action: str = "view") -> Client:
    """Load a client ``me`` may see (callback data is never trusted) or refuse."""
    client = session.scalar(visible_clients(me).where(Client.id == client_id))
    if client is None:
        raise ServiceError("client_not_found")
    if clock is not None and client.advisor_id != me.user_id:
        session.add(AccessAudit(client_id=client.id, viewer_id=me.user_id, action=action,
                                created_at=clock.now()))
    return client


def address_of(session: Session, me: Me, client_id: int) -> tuple[str, str | None]:
    """(name, salutation) of a client ``me`` may see, for a script spoken to them."""
    client = get_visible_client(session, me, client_id)
    return client.name, client.salutation


@dataclass(frozen=True)
class Lookup:
    """The result of looking a client up by name."""

    client_id: int | None
    choices: list[tuple[int, str]] = field(default_factory=list)
    owned: frozenset[int] = frozenset()  # the ids among ``choices`` that are the caller's own


def lookup(session: Session, me: Me, query: str, *, limit: int = 6) -> Lookup:
    """One clear match, several to choose from, or none."""
    rows = session.execute(visible_clients(me).with_only_columns(
        Client.id, Client.name, Client.advisor_id)).all()
    owned = frozenset(r.id for r in rows if r.advisor_id == me.user_id)
    results = match_names(query.strip(), [(r.id, r.name) for r in rows], limit=limit)
    if not results:
        return Lookup(None)
    clear = len(results) == 1 or (not ambiguous(results) and results[0].score >= 80)
    if clear:
        return Lookup(results[0].key, [(results[0].key, results[0].name)],
                      owned & {results[0].key})
    return Lookup(None, [(r.key, r.name) for r in results],
                  owned & {r.key for r in results})


@dataclass(frozen=True)
class HoldingLine:
    product: str
    rating: str | None
    amount: Decimal
    maturity: date | None


@dataclass(frozen=True)
class ContactLine:
    when: datetime
    channel: str
    outcome: str
    notes: str | None


@dataclass(frozen=True)
class ClientCard:
    id: int
    name: str
    phone: str
    tier: str
    aum: Decimal
    risk_tolerance: str | None
    risk_assessed_on: date | None
    assessment_expired: bool
    birthday: date | None
    advisor_name: str
    own: bool
    holdings: list[HoldingLine]
    contacts: list[ContactLine]
    pending_followups: list[tuple[datetime, str]]
    covering: bool = False  # ``own`` because the reader covers the advisor's leave


def load_card(session: Session, me: Me, client_id: int, *, clock: Clock,
              assessment_valid_months: int = 6) -> ClientCard:
    client = get_visible_client(session, me, client_id, clock=clock)
    # a colleague covering a leave acts for the owner: they must be able to call the client
    covering = client.advisor_id != me.user_id and session.scalar(
        select(FollowUp.id).where(FollowUp.client_id == client.id,
                                  FollowUp.advisor_id == me.user_id,
                                  FollowUp.original_advisor_id.is_not(None)).limit(1)) is not None
    own = client.advisor_id == me.user_id or covering
    # the owner is the caller most of the time: their name is known, no second users read
    advisor_name = (me.name if client.advisor_id == me.user_id
                    else session.scalar(select(User.name).where(User.id == client.advisor_id)))
    contacts = session.scalars(
        select(Interaction).where(Interaction.client_id == client.id)
        .order_by(Interaction.occurred_at.desc()).limit(5))
    followups = session.execute(
        select(FollowUp.due_at, FollowUp.reason).where(
            FollowUp.client_id == client.id, FollowUp.status.in_(("pending", "sent", "snoozed")))
        .order_by(FollowUp.due_at).limit(5)).all()
    today = local_day(clock.now(), me.timezone)
    expired = (client.risk_assessed_on is None
               or today > assessment_valid_until(client.risk_assessed_on,
                                                 assessment_valid_months))
    return ClientCard(
        id=client.id, name=client.name,
        phone=(client.phone or "-") if own else mask_phone(client.phone) or "-",
        tier=client.tier, aum=client.aum, risk_tolerance=client.risk_tolerance,
        risk_assessed_on=client.risk_assessed_on, assessment_expired=expired,
        birthday=client.birthday, advisor_name=advisor_name or "-", own=own,
        covering=covering,
        holdings=[HoldingLine(h.product_name, h.risk_rating, h.amount, h.maturity_date)
                  for h in client.holdings],
        contacts=[ContactLine(i.occurred_at, i.channel, i.outcome, i.notes) for i in contacts],
        pending_followups=[(row.due_at, row.reason) for row in followups],
    )


@dataclass
class ClientDraft:
    """What the /addclient flow or an import row collected, before validation."""

    name: str = ""
    phone: str | None = None
    tier: str | None = None
    aum: Decimal | None = None
    salutation: str | None = None
    risk_tolerance: str | None = None
    risk_assessed_on: date | None = None
    birthday: date | None = None
    first_purchase: bool = False  # has never bought a risk product (issue 13)
    vulnerable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal | date) else v)
                for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientDraft:
        return cls(
            name=data.get("name") or "", phone=data.get("phone"), tier=data.get("tier"),
            salutation=data.get("salutation") if data.get("salutation") in ("mr", "ms") else None,
            aum=Decimal(data["aum"]) if data.get("aum") else None,
            risk_tolerance=data.get("risk_tolerance"),
            risk_assessed_on=parse_date(data["risk_assessed_on"])
            if data.get("risk_assessed_on") else None,
            birthday=parse_date(data["birthday"]) if data.get("birthday") else None,
            first_purchase=bool(data.get("first_purchase")),
            vulnerable=bool(data.get("vulnerable")))


def parse_date(value: str) -> date:
    """``YYYY-MM-DD`` (also with / or . separators, or 20260301); raises ServiceError."""
    text = value.strip().replace("/", "-").replace(".", "-")
    if len(text) == 8 and is_ascii_digits(text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ServiceError("date_invalid", value=value) from None


MAX_AMOUNT = Decimal(10) ** 15  # a quadrillion yuan: beyond any client's holdings


def parse_amount(value: str) -> Decimal:
    text = value.strip().replace(",", "").replace("¥", "").replace("元", "").lower()
    factor = Decimal(1)
    for suffix, mult in (("万", 10_000), ("w", 10_000), ("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            text, factor = text[: -len(suffix)], Decimal(mult)
            break
    try:
        amount = Decimal(text) * factor
    except InvalidOperation:
        raise ServiceError("amount_invalid", value=value) from None
    # Decimal accepts "NaN", "inf" and "1e999"; none of them is an amount of money
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise ServiceError("amount_invalid", value=value)
    return amount


_PHONE_SEPARATORS = str.maketrans("", "", " -()（）")


def normalize_phone(value: str) -> str:
    """The phone as typed, separators removed; 7-15 digits (an optional leading +).

    Raises ``ServiceError("phone_invalid")`` for anything else ("abc", "123").
    """
    text = value.strip().translate(_PHONE_SEPARATORS)
    digits = text[1:] if text.startswith("+") else text
    if not is_ascii_digits(digits) or not 7 <= len(digits) <= 15:
        raise ServiceError("phone_invalid", value=value)
    return text


def _phone_key(phone: str | None) -> str | None:
    """Digits only, without China's country code: "+86 138…" and "138…" are one phone."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits or None


@dataclass(frozen=True)
class Duplicate:
    """An existing client who is probably the one being added again."""

    id: int
    name: str
    phone: str | None
    tier: str
    same_name: bool
    same_phone: bool
    own: bool = False  # the caller's own client (names and phones unmasked in private)


def find_duplicates(session: Session, me: Me, *, name: str | None,
                    phone: str | None) -> list[Duplicate]:
    """Clients ``me`` can see with the same name (after normalising) or the same phone."""
    wanted_name = normalize(name) if name else None
    wanted_phone = _phone_key(phone)
    if not wanted_name and not wanted_phone:
        return []
    found = []
    for client in session.scalars(visible_clients(me).order_by(Client.id)):
        same_name = bool(wanted_name) and normalize(client.name) == wanted_name
        same_phone = wanted_phone is not None and _phone_key(client.phone) == wanted_phone
        if same_name or same_phone:
            own = client.advisor_id == me.user_id
            found.append(Duplicate(client.id, client.name,
                                   client.phone if own else mask_phone(client.phone),
                                   client.tier, same_name, same_phone, own))
    return found[:5]


def validate_draft(draft: ClientDraft, *, today: date, thresholds: TierThresholds) -> ClientDraft:
    """Check every field; returns a draft with the tier filled in from AUM if missing."""
    name = draft.name.strip()
    if not name or len(name) > 80:
        raise ServiceError("client_name_invalid")
    phone = normalize_phone(draft.phone) if draft.phone else None
    tier = draft.tier
    if tier is None and draft.aum is not None:
        tier = tier_for_aum(draft.aum, thresholds).value
    if tier not in TIERS:
        raise ServiceError("tier_invalid", value=str(draft.tier))
    if draft.risk_tolerance is not None and draft.risk_tolerance not in RISK_LEVELS:
        raise ServiceError("risk_invalid", value=draft.risk_tolerance)
    if draft.risk_assessed_on is not None and draft.risk_assessed_on > today:
        raise ServiceError("date_in_future", value=str(draft.risk_assessed_on))
    if draft.birthday is not None and draft.birthday > today:
        raise ServiceError("date_in_future", value=str(draft.birthday))
    return ClientDraft(name=name, phone=phone, salutation=draft.salutation, tier=tier,
                       aum=draft.aum,
                       risk_tolerance=draft.risk_tolerance,
                       risk_assessed_on=draft.risk_assessed_on, birthday=draft.birthday,
                       first_purchase=draft.first_purchase, vulnerable=draft.vulnerable)


def new_client(draft: ClientDraft, *, advisor_id: int, now: datetime, today: date) -> Client:
    return Client(advisor_id=advisor_id, name=draft.name, phone=draft.phone,
                  salutation=draft.salutation,
                  tier=draft.tier or "mass", aum=draft.aum or Decimal(0),
                  risk_tolerance=draft.risk_tolerance, risk_assessed_on=draft.risk_assessed_on,
                  birthday=draft.birthday, first_purchase=draft.first_purchase,
                  vulnerable=draft.vulnerable, opened_on=today, created_at=now)


@dataclass(frozen=True)
class ClientRef:
    """A client named back to the caller after a change (id for buttons, name for text)."""

    id: int
    name: str


def add_client(session: Session, me: Me, draft: ClientDraft, *, clock: Clock,
               thresholds: TierThresholds, callback_days: int = 3) -> ClientRef:
    """Save a new client of ``me`` and schedule the new-account callback."""
    if me.role not in ("advisor", "lead"):
        raise ServiceError("role_forbidden")
    tz = ZoneInfo(me.timezone)
    today = clock.now().astimezone(tz).date()
    draft = validate_draft(draft, today=today, thresholds=thresholds)
    client = new_client(draft, advisor_id=me.user_id, now=clock.now(), today=today)
    session.add(client)
    session.flush()
    schedule_new_account_call(session, client, tz=tz, now=clock.now(), days=callback_days)
    return ClientRef(client.id, client.name)


def schedule_new_account_call(session: Session, client: Client, *, tz: ZoneInfo, now: datetime,
                              days: int) -> FollowUp:
    """The policy's new-account callback for a client just added."""
    from coach.policy import PolicyConfig, plan_new_client

    step = plan_new_client(opened_at=now, tz=tz.key, config=PolicyConfig(new_account_days=days))
    from coach.services.followups import route

    followup = FollowUp(client_id=client.id, advisor_id=client.advisor_id, kind=step.kind,
                        reason=step.reason, due_at=step.due_at, status="pending", created_at=now)
    route(session, followup, tz=tz.key)  # added during the advisor's leave: the colleague calls
    session.add(followup)
    return followup


def holding_from(client_id: int, product: str, rating: str | None, amount: Decimal,
                 maturity: date | None) -> Holding:
    return Holding(client_id=client_id, product_name=product, risk_rating=rating, amount=amount,
                   maturity_date=maturity)
