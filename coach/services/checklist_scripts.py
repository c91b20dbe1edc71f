"""The script behind a morning-checklist line, spoken to that line's client.

Each line about a client (a follow-up due, a welcome or service callback, a birthday,
a maturity, a client not contacted or not met for too long, a risk assessment about
to expire, today's appointment) carries a 📖 button. Its data stays short and never
trusted: ``dg s f <follow-up id>`` for a follow-up (its reason picks the script, as
in the reminder), ``dg s <kind> <client id>`` for the rest. Pressed later, the row it
points to must still be the caller's: a closed follow-up or a client no longer in
the book is refused with a reason the chat shows as a toast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from coach.actor import Me
from coach.digest import FOLLOWUP_SCRIPT, SCRIPT_BY_KIND
from coach.services import clients, followups
from coach.services.errors import ServiceError
from coach.services.library import ScriptCatalog, script_for_reason

if TYPE_CHECKING:
    from scripts_library.schema import Script

__all__ = ["LineScript", "script_for_line"]


@dataclass(frozen=True)
class LineScript:
    """The script to show, and the client it is spoken to."""

    script: Script
    client_id: int


def script_for_line(session: Session, me: Me, catalog: ScriptCatalog, kind: str,
                    ref_id: int) -> LineScript:
    """The script of a checklist line still current for ``me`` (else ``ServiceError``).

    ``checklist_followup_closed`` (with ``handled``), ``checklist_client_gone`` and
    ``checklist_no_script`` are the refusals.
    """
    if kind == FOLLOWUP_SCRIPT:
        try:
            closed = followups.handled(session, me, ref_id)
        except ServiceError:  # not (or no longer) this advisor's follow-up
            raise ServiceError("checklist_client_gone") from None
        if closed is not None:
            raise ServiceError("checklist_followup_closed", handled=closed)
        try:
            row = followups.open_own(session, me, ref_id)
        except ServiceError:  # neither open nor closed by a person (e.g. expired)
            raise ServiceError("checklist_no_script") from None
        script = script_for_reason(catalog, row.reason, row.kind)
        client_id = row.client_id
    elif kind in SCRIPT_BY_KIND:
        script = catalog.get(SCRIPT_BY_KIND[kind], team_id=me.team_id)
        client_id = ref_id
    else:
        raise ServiceError("checklist_no_script")
    try:
        clients.address_of(session, me, client_id)
    except ServiceError:  # forgotten, handed over, or never theirs
        raise ServiceError("checklist_client_gone") from None
    if script is None:
        raise ServiceError("checklist_no_script")
    return LineScript(script, client_id)
