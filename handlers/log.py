"""/log: record a call outcome in one line or a few taps, confirm, schedule what's next."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import CoachContext
from bot.guard import reply, requires
from coach.dates import parse_date
from coach.services import clients, interactions, suitability_check
from coach.services.errors import ServiceError
from coach.services.interactions import LogDraft
from handlers import referrals, suitability

CLIENT, PICK, CHANNEL, OUTCOME, NEXT, NOTES, CONFIRM = range(7)
DRAFT, MODE, TYPED = "log", "log_mode", "log_typed"
STATE_OF = {"client": CLIENT, "pick": PICK, "channel": CHANNEL, "outcome": OUTCOME,
            "next": NEXT, "notes": NOTES, "confirm": CONFIRM}


def _draft(context: CoachContext) -> LogDraft:
    return LogDraft.from_dict(context.user_data.get(DRAFT, {}))


def _keep(context: CoachContext, draft: LogDraft) -> None:
    context.user_data[DRAFT] = draft.to_dict()


def _next_step(context: CoachContext, draft: LogDraft) -> str:
    guided = context.user_data.get(MODE) == "guided"
    if draft.client_id is None:
        return "pick" if context.user_data.get(TYPED) else "client"
    if guided and not context.user_data.get("log_channel_set"):
        return "channel"
    if draft.outcome is None:
        return "outcome"
    if draft.questions or (guided and not context.user_data.get("log_next_set")):
        return "next"
    if guided and not context.user_data.get("log_notes_set"):
        return "notes"
    return "confirm"


async def _show(update: Update, context: CoachContext, error: str | None = None) -> int:
    draft = _draft(context)
    step = _next_step(context, draft)
    if error is None and step == "next" and draft.questions:
        error = draft.questions[0]
    svc, me = context.svc, context.caller
    choices: list[tuple[int, str]] = []
    if step == "pick":
        with svc.db.session() as s:
            choices = clients.lookup(s, me, context.user_data[TYPED]).choices
    plan = interactions.suggest_next(draft, now=svc.clock.now(), tz=me.timezone,
                                     region=svc.settings.holiday_region) if step in (
        "next", "confirm") else []
    await reply(update, context, "log_step", step=step, d=draft, error=error, choices=choices,
                typed=context.user_data.get(TYPED), plan=plan)
    return STATE_OF[step]


def _reset(context: CoachContext, mode: str) -> None:
    for key in (DRAFT, TYPED, "log_channel_set", "log_next_set", "log_notes_set"):
        context.user_data.pop(key, None)
    context.user_data[MODE] = mode


@requires("advisor", "lead")
async def start(update: Update, context: CoachContext) -> int:
    """/log LINE (one line) or /log (guided)."""
    line = " ".join(context.args or [])
    _reset(context, "line" if line else "guided")
    if not line:
        _keep(context, LogDraft())
        return await _show(update, context)
    svc = context.svc
    with svc.db.session() as s:
        prepared = interactions.prepare(s, context.caller, line, clock=svc.clock)
    _keep(context, prepared.draft)
    if prepared.draft.client_id is None and prepared.typed_client:
        context.user_data[TYPED] = prepared.typed_client
    return await _show(update, context)


@requires("advisor", "lead")
async def start_for_client(update: Update, context: CoachContext) -> int:
    """Button ``lg c <client>`` on a card or reminder: guided, client known."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    _reset(context, "guided")
    client_id = query.data.split()[-1]
    try:
        with context.svc.db.session() as s:
            client = clients.get_visible_client(s, context.caller, int(client_id))
            draft = LogDraft(client_id=client.id, client_name=client.name)
    except (ServiceError, ValueError):
        await reply(update, context, "errors", code="client_not_found")
        return ConversationHandler.END
    _keep(context, draft)
    return await _show(update, context)


async def typed_client(update: Update, context: CoachContext) -> int:
    """The client's name, typed."""
    assert update.message is not None
    context.user_data[TYPED] = (update.message.text or "").strip()[:80]
    with context.svc.db.session() as s:
        found = clients.lookup(s, context.caller, context.user_data[TYPED])
    if found.client_id is not None:
        draft = _draft(context)
        draft.client_id, draft.client_name = found.client_id, found.choices[0][1]
        _keep(context, draft)
    return await _show(update, context)


async def button(update: Update, context: CoachContext) -> int:
    """Every ``lg …`` button inside the flow."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    parts = query.data.split()
    action, value = parts[1], (parts[2] if len(parts) > 2 else "")
    draft = _draft(context)
    svc, me = context.svc, context.caller
    if action == "p" and value.isdigit():
        try:
            with svc.db.session() as s:
                client = clients.get_visible_client(s, me, int(value))
                draft.client_id, draft.client_name = client.id, client.name
        except ServiceError:
            return await _show(update, context, error="client_not_found")
    elif action == "new" and context.user_data.get(TYPED):
        try:
            with svc.db.session() as s:
                client = clients.add_client(
                    s, me, clients.ClientDraft(name=context.user_data[TYPED], tier="mass"),
                    clock=svc.clock, thresholds=svc.settings.tier_thresholds,
                    callback_days=svc.settings.new_account_callback_days)
                draft.client_id, draft.client_name = client.id, client.name
        except ServiceError as err:
            return await _show(update, context, error=err.code)
    elif action == "ch" and value in interactions.CHANNELS:
        draft.channel = value
        context.user_data["log_channel_set"] = True
    elif action == "o":
        draft.outcome = value
    elif action == "nx" and value in ("ok", "none"):
        if value == "none":
            draft.next_step = "none"
        elif draft.questions:  # a doubtful date: fall back to the policy's suggestion
            draft.next_step, draft.due = "default", None
        elif draft.next_step == "none":
            draft.next_step = "default"
        draft.questions = []
        context.user_data["log_next_set"] = True
    elif action == "nt":
        context.user_data["log_notes_set"] = True
    elif action == "e":
        context.user_data[MODE] = "guided"
        for key in ("log_channel_set", "log_next_set", "log_notes_set"):
            context.user_data.pop(key, None)
    elif action == "ok":
        if await suitability.warn_if_unsuitable(update, context, draft):
            return CONFIRM  # unsuitable sale: the advisor chooses "lg ins" or "lg uns"
        return await _save(update, context, draft)
    elif action in ("ins", "uns"):  # issue 8: client insists (signed) / save as unsuitable
        return await _save(update, context, draft, insisted=action == "ins")
    elif action == "x":
        return await cancel(update, context)
    _keep(context, draft)
    return await _show(update, context)


async def typed_date(update: Update, context: CoachContext) -> int:
    """A date typed at the "next step" question."""
    assert update.message is not None
    svc, me = context.svc, context.caller
    parsed = parse_date(update.message.text or "", svc.clock.now(), me.timezone)
    if parsed is None or parsed.due is None or parsed.questions:
        return await _show(update, context, error=(parsed.questions[0] if parsed and
                                                   parsed.questions else "unreadable"))
    draft = _draft(context)
    draft.due, draft.has_time = parsed.due.isoformat(), parsed.has_time
    draft.next_step, draft.questions = "custom", []
    context.user_data["log_next_set"] = True
    _keep(context, draft)
    return await _show(update, context)


async def typed_notes(update: Update, context: CoachContext) -> int:
    assert update.message is not None
    draft = _draft(context)
    draft.notes = (update.message.text or "").strip()[:1000]
    context.user_data["log_notes_set"] = True
    _keep(context, draft)
    return await _show(update, context)


async def _save(update: Update, context: CoachContext, draft: LogDraft, *,
                insisted: bool = False) -> int:
    svc = context.svc
    try:
        with svc.db.session() as s:
            logged = interactions.record_outcome(s, context.caller, draft, clock=svc.clock,
                                                 region=svc.settings.holiday_region)
            flag = suitability_check.after_logged(
                s, context.caller, logged.interaction_id, clock=svc.clock, insisted=insisted,
                valid_days=svc.settings.risk_assessment_valid_days)
    except ServiceError as err:
        await reply(update, context, "errors", code=err.code)
        return ConversationHandler.END
    _reset(context, "line")
    await reply(update, context, "log_saved", r=logged)
    await suitability.after_sale_saved(update, context, flag)
    await referrals.tell_referrer(context, logged.client_id, logged.client_name, logged.outcome)
    return ConversationHandler.END


async def cancel(update: Update, context: CoachContext) -> int:
    """/cancel or ✖: nothing is saved."""
    _reset(context, "line")
    await reply(update, context, "cancelled", had_flow=True)
    return ConversationHandler.END


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    text = filters.TEXT & ~filters.COMMAND
    buttons = CallbackQueryHandler(button, r"^lg (p|new|ch|o|nx|nt|e|ok|ins|uns|x)( |$)")
    return ConversationHandler(
        entry_points=[CommandHandler("log", start),
                      CallbackQueryHandler(start_for_client, r"^lg c \d+$")],
        states={
            CLIENT: [MessageHandler(text, typed_client)],
            PICK: [buttons, MessageHandler(text, typed_client)],
            CHANNEL: [buttons],
            OUTCOME: [buttons],
            NEXT: [buttons, MessageHandler(text, typed_date)],
            NOTES: [buttons, MessageHandler(text, typed_notes)],
            CONFIRM: [buttons],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="log", persistent=True, allow_reentry=True)
