"""/audit CLIENT (who opened the card) and /forget CLIENT (delete personal data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from telegram import Update

from bot import callback
from bot.callback import ID, one_of
from bot.context import CoachContext
from bot.delivery import queue_notices
from bot.guard import reply, requires, service_errors
from bot.jobs.outbox import deliver_soon
from bot.services import Services, in_session
from coach.actor import Me
from coach.services import clients
from coach.services import confidentiality as conf
from coach.services.errors import ServiceError
from coach.services.oversight import Recipient, notices
from coach.vocabulary import STAFF_ROLES, Role
from handlers.help import stale_button


def _one_client(session: Session, me: Me, query: str) -> int:
    found = clients.lookup(session, me, query)
    if found.client_id is not None:
        return found.client_id
    if found.choices:
        raise ServiceError("client_ambiguous", query=query,
                           names=[name for _, name in found.choices],
                           own=all(cid in found.owned for cid, _ in found.choices))
    raise ServiceError("client_not_found")


def _audit_log(s: Session, svc: Services, me: Me, query: str
               ) -> tuple[int, str, list[conf.AuditLine]]:
    return conf.audit_log(s, me, _one_client(s, me, query), clock=svc.clock)


@service_errors()
@requires(Role.LEAD)
async def audit(update: Update, context: CoachContext) -> None:
    """/audit CLIENT: every read of the card by someone other than its advisor."""
    query = " ".join(context.args or [])
    if not query:
        await reply(update, context, "usage", command="audit")
        return
    svc = context.svc
    _, name, lines = await in_session(svc, _audit_log, svc, context.caller, query)
    await reply(update, context, "audit_list", name=name, lines=lines, own=False)


def _ask_to_forget(s: Session, svc: Services, me: Me, query: str) -> tuple[int, str, int]:
    """A lead or admin: the client to confirm; an advisor: the request, queued to the leads."""
    client_id = _one_client(s, me, query)
    if me.role in ("lead", "admin"):
        client_id, name = conf.forgettable(s, me, client_id)
        leads: list[Recipient] = []
    else:
        name, leads = conf.request_forget(s, me, client_id, clock=svc.clock)
    told = queue_notices(s, svc, notices(
        leads, "forget_request_notice", kind="forget_request",
        key=f"forget_request:{client_id}:{svc.clock.now().isoformat()}",
        client_id=client_id, name=name, advisor=me.name))
    return client_id, name, told


@service_errors()
@requires(*STAFF_ROLES)
async def forget(update: Update, context: CoachContext) -> None:
    """/forget CLIENT: an advisor asks their lead; a lead or admin confirms and deletes."""
    query = " ".join(context.args or [])
    if not query:
        await reply(update, context, "usage", command="forget")
        return
    svc, me = context.svc, context.caller
    client_id, name, told = await in_session(svc, _ask_to_forget, svc, me, query)
    await deliver_soon(context.application)
    if me.role in ("lead", "admin"):
        await reply(update, context, "forget_confirm", client_id=client_id, name=name,
                    own=False)
        return
    await reply(update, context, "forget_requested", name=name, told=told, own=True)


def _scrub_memory(context: CoachContext, needles: conf.Needles) -> None:
    """Drafts held in memory (e.g. a /log in progress) lose the name too."""
    for data in context.application.user_data.values():
        cleaned: dict[Any, Any] = conf.scrub_value(dict(data), needles)
        data.clear()
        data.update(cleaned)


@service_errors()
@requires(Role.LEAD)
async def forget_button(update: Update, context: CoachContext) -> None:
    """``fg ok <id>`` deletes, ``fg no <id>`` declines; both re-check the caller's access."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "fg", one_of("ok", "no"), ID)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    verdict, wanted = parsed
    svc, me = context.svc, context.caller

    def decide(s: Session) -> tuple[int, str, conf.Forgotten | None]:
        result = None
        if verdict == "no":
            client_id, name = conf.forgettable(s, me, wanted)
        else:
            result = conf.forget_client(s, me, wanted, clock=svc.clock)
            client_id, name = result.client_id, result.name
        tell = conf.owner_to_tell(s, me, client_id)
        queue_notices(s, svc, notices(
            tell, "forget_decided", kind="forget_decided",
            key=f"forget_decided:{client_id}:{svc.clock.now().isoformat()}",
            client_id=client_id, name=name, done=result is not None))
        return client_id, name, result

    client_id, name, result = await in_session(svc, decide)
    if result is not None:
        _scrub_memory(context, result.needles)
    await deliver_soon(context.application)
    await reply(update, context, "forget_done" if result else "forget_declined",
                client_id=client_id, name=name, own=False)
