"""/refer (lobby managers, tellers), the advisor's accept/decline, /myreferrals."""

from __future__ import annotations

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callback
from bot.callback import ID, one_of
from bot.context import CoachContext
from bot.delivery import queue_notices
from bot.guard import reply, requires, service_errors
from bot.jobs.outbox import deliver_soon
from bot.services import in_session
from coach.policy import PolicyConfig
from coach.services import referrals
from coach.services.errors import ServiceError
from coach.vocabulary import STAFF_ROLES, Role
from handlers._flow import cancel_flow
from handlers.help import stale_button

NAME, PHONE, NEED, URGENCY, ADVISOR = range(5)
DRAFT = "refer"
# an advisor's user id, or "rot" for the team rotation
ADVISOR_CHOICE = callback.Field("advisor", lambda text: "rot" if text == "rot" else ID.read(text))


async def _ask(update: Update, context: CoachContext, step: str, state: int,
               **extra: object) -> int:
    await reply(update, context, "refer_step", step=step, **extra)
    return state


@requires(Role.REFERRER, Role.LEAD)
async def start(update: Update, context: CoachContext) -> int:
    """/refer: name → phone → need → urgency → advisor."""
    context.user_data[DRAFT] = {}
    return await _ask(update, context, "name", NAME)


def _text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


async def take_name(update: Update, context: CoachContext) -> int:
    name = _text(update)
    if not name or len(name) > 80:
        return await _ask(update, context, "name", NAME, error=True)
    context.user_data[DRAFT]["name"] = name
    return await _ask(update, context, "phone", PHONE)


async def take_phone(update: Update, context: CoachContext) -> int:
    phone = _text(update)
    if not callback.is_ascii_digits(phone.replace("+", "").replace("-", "").replace(" ", "")):
        return await _ask(update, context, "phone", PHONE, error=True)
    context.user_data[DRAFT]["phone"] = phone
    return await _ask(update, context, "need", NEED)


async def take_need(update: Update, context: CoachContext) -> int:
    need = _text(update)
    if not need:
        return await _ask(update, context, "need", NEED, error=True)
    context.user_data[DRAFT]["need"] = need[:500]
    return await _ask(update, context, "urgency", URGENCY)


async def button(update: Update, context: CoachContext) -> int | None:
    """``rf skip`` (phone), ``rf u <urgency>``, ``rf a <advisor id>|rot``."""
    query = update.callback_query
    assert query is not None
    parsed = (callback.parse(query.data, "rf skip")
              or callback.parse(query.data, "rf u", one_of(*referrals.URGENCIES))
              or callback.parse(query.data, "rf a", ADVISOR_CHOICE))
    if parsed is None:
        await stale_button(update, context)
        return None
    await query.answer()
    parts = query.data.split(" ")  # type: ignore[union-attr]
    draft = context.user_data.setdefault(DRAFT, {})
    svc = context.svc
    if parts[1] == "skip":
        return await _ask(update, context, "need", NEED)
    if parts[1] == "u":
        draft["urgency"] = parts[2]
        choices = await in_session(svc, referrals.advisors_for, context.caller)
        return await _ask(update, context, "advisor", ADVISOR, advisors=choices)
    if parts[1] == "a":
        advisor_id = None if parsed[0] == "rot" else int(parsed[0])
        me = context.caller

        def refer(s: Session) -> str:
            row, advisor = referrals.create(
                s, me, name=draft.get("name", ""), phone=draft.get("phone"),
                need=draft.get("need", ""), urgency=draft.get("urgency", "normal"),
                advisor_id=advisor_id, now=svc.clock.now())
            queue_notices(s, svc, [referrals.advisor_notice(row, advisor, me.name,
                                                            now=svc.clock.now())])
            return advisor.name

        try:
            advisor_name = await in_session(svc, refer)
        except ServiceError as err:
            await reply(update, context, "errors", code=err.code, **err.params)
            return ConversationHandler.END
        context.user_data.pop(DRAFT, None)
        await reply(update, context, "refer_sent", advisor=advisor_name)
        await deliver_soon(context.application)
        return ConversationHandler.END
    return ConversationHandler.END


cancel = cancel_flow(DRAFT)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    text = filters.TEXT & ~filters.COMMAND
    # typed as the base: the flow's lists mix handlers of several return types
    buttons: BaseHandler[Update, CoachContext, object] = CallbackQueryHandler(
        button, r"^rf (skip|u|a)( |$)")
    return ConversationHandler(
        entry_points=[CommandHandler("refer", start)],
        states={NAME: [MessageHandler(text, take_name)],
                PHONE: [MessageHandler(text, take_phone), buttons],
                NEED: [MessageHandler(text, take_need)],
                URGENCY: [buttons], ADVISOR: [buttons]},
        fallbacks=[CommandHandler("cancel", cancel)],
        name="refer", persistent=True, allow_reentry=True)


@service_errors()
@requires(*STAFF_ROLES)
async def decide(update: Update, context: CoachContext) -> None:
    """``rf ok <id>``; ``rf no <id>`` → reason buttons → ``rf no <id> <reason>``."""
    query = update.callback_query
    assert query is not None
    parsed = (callback.parse(query.data, "rf ok", ID)
              or callback.parse(query.data, "rf no", ID, one_of(*referrals.DECLINE_REASONS),
                                optional=1))
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    verdict, referral_id, reason = query.data.split(" ")[1], parsed[0], (  # type: ignore[union-attr]
        parsed[1] if len(parsed) > 1 else None)
    if verdict == "no" and reason is None:
        await reply(update, context, "refer_decline_reasons", referral_id=referral_id,
                    reasons=referrals.DECLINE_REASONS)
        return
    svc = context.svc
    me = context.caller

    def decide(s: Session) -> referrals.Decision:
        decision = referrals.decide(s, me, referral_id, accept=verdict == "ok",
                                    now=svc.clock.now(), reason=reason,
                                    region=svc.settings.holiday_region,
                                    config=PolicyConfig.from_settings(svc.settings))
        others = [a for a in referrals.advisors_for(s, me) if a[0] != me.user_id]
        queue_notices(s, svc, [referrals.decision_notice(decision, can_redirect=bool(others))])
        return decision

    decision = await in_session(svc, decide)
    await reply(update, context, "refer_decided", d=decision)
    await deliver_soon(context.application)


@service_errors()
@requires(Role.REFERRER, Role.LEAD)
async def redirect(update: Update, context: CoachContext) -> None:
    """A declined referral: ``rf re <id>`` → advisor buttons → ``rf to <id> <advisor|rot>``."""
    query = update.callback_query
    assert query is not None
    again = callback.parse(query.data, "rf re", ID)
    moved = callback.parse(query.data, "rf to", ID, ADVISOR_CHOICE)
    if again is None and moved is None:
        await stale_button(update, context)
        return
    await query.answer()
    svc = context.svc
    if again is not None:
        choices = await in_session(svc, referrals.redirect_choices, context.caller, again[0])
        await reply(update, context, "refer_step", step="advisor", advisors=choices,
                    redirect_id=again[0])
        return
    assert moved is not None
    target = None if moved[1] == "rot" else int(moved[1])
    me = context.caller

    def move(s: Session) -> str:
        row, advisor = referrals.redirect(s, me, moved[0], target, now=svc.clock.now())
        queue_notices(s, svc, [referrals.advisor_notice(row, advisor, me.name,
                                                        now=svc.clock.now())])
        return advisor.name

    name = await in_session(svc, move)
    await reply(update, context, "refer_sent", advisor=name)
    await deliver_soon(context.application)


@requires(Role.REFERRER, Role.LEAD)
async def mine(update: Update, context: CoachContext) -> None:
    """/myreferrals: what became of the clients I referred."""
    rows = await in_session(context.svc, referrals.mine, context.caller)
    items = [(r.created_at, r.client_name, name, r.status, r.decline_reason) for r, name in rows]
    await reply(update, context, "refer_mine", items=items)
