"""/client NAME (fuzzy find, card) and the guided /addclient flow."""

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
from coach.services import clients
from coach.services.errors import ServiceError

NAME, PHONE, TIER, RISK, ASSESSED, BIRTHDAY, CONFIRM = range(7)
DRAFT = "addclient"


async def show_card(update: Update, context: CoachContext, client_id: int) -> None:
    svc = context.svc
    try:
        with svc.db.session() as s:
            card = clients.load_card(s, context.caller, client_id, clock=svc.clock,
                                     assessment_valid_days=svc.settings.risk_assessment_valid_days)
    except ServiceError as err:
        await reply(update, context, "errors", code=err.code)
        return
    chat = update.effective_chat  # privacy mode: no client names in group chats
    await reply(update, context, "client_card", card=card, mask=svc.settings.privacy_mode
                and chat is not None and chat.type != "private")


@requires("advisor", "lead")
async def find_client(update: Update, context: CoachContext) -> None:
    """/client NAME: the card of one clear match, or buttons to choose."""
    query = " ".join(context.args or [])
    if not query:
        await reply(update, context, "usage", command="client")
        return
    with context.svc.db.session() as s:
        found = clients.lookup(s, context.caller, query)
    if found.client_id is not None:
        await show_card(update, context, found.client_id)
        return
    await reply(update, context, "client_choices", query=query, choices=found.choices)


@requires("advisor", "lead")
async def open_card(update: Update, context: CoachContext) -> None:
    """Button ``cl <id>``: open a card (ownership re-checked by the service)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    parts = query.data.split()
    if len(parts) == 2 and parts[1].isdigit():
        await show_card(update, context, int(parts[1]))


# --- /addclient -----------------------------------------------------------------


async def _ask(update: Update, context: CoachContext, step: str, error: str | None = None) -> None:
    context.user_data.setdefault(DRAFT, {})["_step"] = step
    await reply(update, context, "addclient_step", step=step, error=error,
                draft=context.user_data.get(DRAFT, {}))


@requires("advisor", "lead")
async def add_start(update: Update, context: CoachContext) -> int:
    """Start the flow: ask for the name."""
    context.user_data[DRAFT] = {}
    await _ask(update, context, "name")
    return NAME


async def add_name(update: Update, context: CoachContext) -> int:
    """Take the name, ask for the phone."""
    text = (update.message.text or "").strip() if update.message else ""
    if not text or len(text) > 80:
        await _ask(update, context, "name", error="client_name_invalid")
        return NAME
    context.user_data[DRAFT]["name"] = text
    await _ask(update, context, "phone")
    return PHONE


async def add_phone(update: Update, context: CoachContext) -> int:
    """Take the phone (digits, + and -), ask for the tier."""
    text = (update.message.text or "").strip() if update.message else ""
    if not text.replace("+", "").replace("-", "").replace(" ", "").isdigit():
        await _ask(update, context, "phone", error="phone_invalid")
        return PHONE
    context.user_data[DRAFT]["phone"] = text
    await _ask(update, context, "tier")
    return TIER


async def add_button(update: Update, context: CoachContext) -> int:
    """Buttons ``ac <field> <value>`` for skip, tier, risk, assessment date, save."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    _, field, value = query.data.split(" ", 2)
    draft = context.user_data.setdefault(DRAFT, {})
    if field == "save":
        return await _save(update, context)
    if field == "assessed" and value == "today":
        value = context.svc.clock.now().date().isoformat()
    if value != "-":
        draft[field] = value
    next_step = {"phone": ("tier", TIER), "tier": ("risk", RISK), "risk": ("assessed", ASSESSED),
                 "assessed": ("birthday", BIRTHDAY), "birthday": ("confirm", CONFIRM)}[field]
    if field == "risk" and value == "-":
        next_step = ("birthday", BIRTHDAY)
    await _ask(update, context, next_step[0])
    return next_step[1]


async def add_date(update: Update, context: CoachContext) -> int:
    """A typed date for the assessment or the birthday."""
    text = (update.message.text or "").strip() if update.message else ""
    state_field = "assessed" if context.user_data[DRAFT].get("_step") == "assessed" else "birthday"
    try:
        day = clients.parse_date(text)
    except ServiceError:
        await _ask(update, context, state_field, error="date_invalid")
        return ASSESSED if state_field == "assessed" else BIRTHDAY
    context.user_data[DRAFT][state_field] = day.isoformat()
    next_step = ("birthday", BIRTHDAY) if state_field == "assessed" else ("confirm", CONFIRM)
    await _ask(update, context, next_step[0])
    return next_step[1]


async def _save(update: Update, context: CoachContext) -> int:
    data = context.user_data.pop(DRAFT, {})
    draft = clients.ClientDraft.from_dict({
        "name": data.get("name"), "phone": data.get("phone"), "tier": data.get("tier"),
        "risk_tolerance": data.get("risk"), "risk_assessed_on": data.get("assessed"),
        "birthday": data.get("birthday")})
    svc = context.svc
    try:
        with svc.db.session() as s:
            client = clients.add_client(s, context.caller, draft, clock=svc.clock,
                                        thresholds=svc.settings.tier_thresholds,
                                        callback_days=svc.settings.new_account_callback_days)
            client_id, name = client.id, client.name
    except ServiceError as err:
        await reply(update, context, "errors", code=err.code)
        return ConversationHandler.END
    await reply(update, context, "addclient_done", name=name, client_id=client_id)
    return ConversationHandler.END


async def add_cancel(update: Update, context: CoachContext) -> int:
    """/cancel: drop the draft, save nothing."""
    context.user_data.pop(DRAFT, None)
    await reply(update, context, "cancelled", had_flow=True)
    return ConversationHandler.END


async def add_unexpected(update: Update, context: CoachContext) -> int | None:
    """Text where a button was expected: ask again."""
    await reply(update, context, "addclient_step", step="use_buttons", error=None,
                draft=context.user_data.get(DRAFT, {}))
    return None


def add_client_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("addclient", add_start)],
        states={
            NAME: [MessageHandler(text, add_name)],
            PHONE: [MessageHandler(text, add_phone), CallbackQueryHandler(add_button, r"^ac ")],
            TIER: [CallbackQueryHandler(add_button, r"^ac ")],
            RISK: [CallbackQueryHandler(add_button, r"^ac ")],
            ASSESSED: [MessageHandler(text, add_date), CallbackQueryHandler(add_button, r"^ac ")],
            BIRTHDAY: [MessageHandler(text, add_date), CallbackQueryHandler(add_button, r"^ac ")],
            CONFIRM: [CallbackQueryHandler(add_button, r"^ac ")],
        },
        fallbacks=[CommandHandler("cancel", add_cancel), MessageHandler(text, add_unexpected)],
        name="addclient",
        persistent=True,
        allow_reentry=True,
    )
