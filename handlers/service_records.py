"""/complaint, /complaints, /resolve, /question, /questions, /answer, /need, /needs."""

from __future__ import annotations

from sqlalchemy.orm import Session
from telegram import Update

from bot import callback
from bot.context import CoachContext
from bot.delivery import queue_notices
from bot.guard import reply, requires
from bot.jobs.outbox import deliver_soon
from bot.services import Services, in_session
from coach.actor import Me
from coach.services import service_records as records
from coach.services.errors import ServiceError
from coach.services.oversight import notices
from coach.vocabulary import STAFF_ROLES


async def _error(update: Update, context: CoachContext, err: ServiceError,
                 command: str) -> None:
    if err.code == "usage":
        await reply(update, context, "usage", command=command)
    else:
        await reply(update, context, "errors", code=err.code, **err.params)


def _id_and_text(args: list[str]) -> tuple[int, str] | None:
    record_id = callback.ascii_int(args[0].removeprefix("#"), low=1) if args else None
    if len(args) < 2 or record_id is None:
        return None
    return record_id, " ".join(args[1:])


# --- complaints -----------------------------------------------------------------------------


def _record_complaint(s: Session, svc: Services, me: Me, args: list[str]
                      ) -> tuple[records.ComplaintLine, int]:
    """Save the complaint and queue the leads' notices in the same transaction."""
    client_id, rest = records.split_client(s, me, args)
    line, leads = records.record_complaint(s, me, client_id, " ".join(rest), clock=svc.clock)
    told = queue_notices(s, svc, notices(leads, "complaint_notice", kind="complaint_notice",
                                         key=f"complaint:{line.id}", c=line))
    return line, told


@requires(*STAFF_ROLES)
async def complaint(update: Update, context: CoachContext) -> None:
    """/complaint CLIENT text: record it (category guessed) and tell the team lead."""
    svc, me = context.svc, context.caller
    try:
        line, told = await in_session(svc, _record_complaint, svc, me,
                                      list(context.args or []))
    except ServiceError as err:
        await _error(update, context, err, "complaint")
        return
    await deliver_soon(context.application)
    await reply(update, context, "complaint_saved", c=line, told=told, own=line.own)


@requires(*STAFF_ROLES)
async def list_complaints(update: Update, context: CoachContext) -> None:
    """/complaints: the open ones (a lead: the team's; an advisor: their own)."""
    items = await in_session(context.svc, records.list_complaints, context.caller)
    await reply(update, context, "complaints_list", items=items)


@requires(*STAFF_ROLES)
async def resolve(update: Update, context: CoachContext) -> None:
    """/resolve ID note: close a complaint with how it was handled."""
    parsed = _id_and_text(list(context.args or []))
    if parsed is None:
        await reply(update, context, "usage", command="resolve")
        return
    svc = context.svc
    try:
        line = await in_session(svc, records.resolve_complaint, context.caller, parsed[0],
                                parsed[1], clock=svc.clock)
    except ServiceError as err:
        await _error(update, context, err, "resolve")
        return
    await reply(update, context, "complaint_resolved", c=line, own=line.own)


# --- questions ---------------------------------------------------------------------------------


def _record_question(s: Session, svc: Services, me: Me, args: list[str]
                     ) -> records.OpenQuestion:
    client_id, rest = records.split_client(s, me, args)
    return records.record_question(s, me, client_id, " ".join(rest), clock=svc.clock)


@requires(*STAFF_ROLES)
async def question(update: Update, context: CoachContext) -> None:
    """/question CLIENT text: a question to answer within two weeks."""
    svc, me = context.svc, context.caller
    try:
        line = await in_session(svc, _record_question, svc, me, list(context.args or []))
    except ServiceError as err:
        await _error(update, context, err, "question")
        return
    await reply(update, context, "question_saved", q=line,
                days=svc.settings.question_reminder_days, own=line.own)


@requires(*STAFF_ROLES)
async def list_questions(update: Update, context: CoachContext) -> None:
    """/questions: open questions, oldest first."""
    svc = context.svc
    items = await in_session(svc, records.list_questions, context.caller, clock=svc.clock)
    await reply(update, context, "questions_list", items=items)


@requires(*STAFF_ROLES)
async def answer(update: Update, context: CoachContext) -> None:
    """/answer ID reply: the question is answered and closed."""
    parsed = _id_and_text(list(context.args or []))
    if parsed is None:
        await reply(update, context, "usage", command="answer")
        return
    svc = context.svc
    try:
        line = await in_session(svc, records.answer_question, context.caller, parsed[0],
                                parsed[1], clock=svc.clock)
    except ServiceError as err:
        await _error(update, context, err, "answer")
        return
    await reply(update, context, "question_answered", q=line, own=line.own)




# --- unmet needs ---------------------------------------------------------------------------------


def _record_need(s: Session, svc: Services, me: Me, args: list[str]) -> tuple[str, str]:
    client_id, rest = records.split_client(s, me, args)
    return records.record_need(s, me, client_id, rest[0], " ".join(rest[1:]), clock=svc.clock)


@requires(*STAFF_ROLES)
async def need(update: Update, context: CoachContext) -> None:
    """/need CLIENT tag text: a product the client wanted and we could not offer."""
    svc, me = context.svc, context.caller
    try:
        name, tag = await in_session(svc, _record_need, svc, me, list(context.args or []))
    except ServiceError as err:
        await _error(update, context, err, "need")
        return
    await reply(update, context, "need_saved", name=name, tag=tag, own=True)


@requires(*STAFF_ROLES)
async def list_needs(update: Update, context: CoachContext) -> None:
    """/needs: this month's unmet needs grouped by tag (a lead: the team's)."""
    svc = context.svc
    groups = await in_session(svc, records.needs_this_month, context.caller, clock=svc.clock)
    await reply(update, context, "needs_list", groups=groups)
