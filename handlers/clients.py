"""/client NAME (fuzzy find, card) and the guided /addclient flow."""

from __future__ import annotations

from zoneinfo import ZoneInfo

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
from bot.callback import ID, TOKEN, one_of
from bot.context import CoachContext
from bot.guard import reply, requires, service_errors
from bot.services import in_session
from coach.addressing import SALUTATIONS, form_of_address
from coach.names import plausible_person_name
from coach.services import clients, library
from coach.services.errors import ServiceError
from coach.tiers import tier_for_aum
from coach.vocabulary import STAFF_ROLES
from handlers._flow import cancel_flow, objection_instead
from handlers.help import stale_button

NAME, SALUTE, PHONE, AUM, TIER, RISK, ASSESSED, BIRTHDAY, CONFIRM = range(9)
DRAFT = "addclient"
# the values each ``ac <field> <value>`` button can carry; anything else is crafted
ADD_VALUES: dict[str, tuple[str, ...]] = {
    "salute": (*SALUTATIONS, "-"), "phone": ("-",), "aum": ("-",), "tier": clients.TIERS,
    "risk": (*clients.RISK_LEVELS, "-"),
    "assessed": ("today", "-"), "birthday": ("-",), "save": ("-",)}


@service_errors()
async def show_card(update: Update, context: CoachContext, client_id: int) -> None:
    svc = context.svc
    card = await in_session(svc, clients.load_card, context.caller, client_id, clock=svc.clock,
                            assessment_valid_months=svc.settings.risk_assessment_valid_months)
    # 📖 opens the script for the next follow-up's reason (or a call opening), to this client
    script = library.script_for_reason(
        svc.catalog, card.pending_followups[0][1] if card.pending_followups else "manual")
    await reply(update, context, "client_card", card=card,
                script_id=script.id if script is not None and len(script.id) < 48 else None)


@requires(*STAFF_ROLES)
async def find_client(update: Update, context: CoachContext) -> None:
    """/client NAME: the card of one clear match, or buttons to choose."""
    query = " ".join(context.args or [])
    if not query:
        await reply(update, context, "usage", command="client")
        return
    found = await in_session(context.svc, clients.lookup, context.caller, query)
    if found.client_id is not None:
        await show_card(update, context, found.client_id)
        return
    await reply(update, context, "client_choices", query=query, choices=found.choices,
                owned=found.owned)


@requires(*STAFF_ROLES)
async def open_card(update: Update, context: CoachContext) -> None:
    """Button ``cl <id>``: open a card (ownership re-checked by the service)."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "cl", ID)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    await show_card(update, context, parsed[0])


# --- /addclient -----------------------------------------------------------------
# name → phone → assets (the tier follows from them; asked only when skipped) → risk
# → assessment date → birthday → confirm. A likely duplicate (same name or phone) is
# shown next to the new client from the step that found it until the confirmation.


async def _ask(update: Update, context: CoachContext, step: str, error: str | None = None) -> None:
    draft = context.user_data.setdefault(DRAFT, {})
    draft["_step"] = step
    dups = []
    if draft.get("dups"):
        dups = await in_session(context.svc, clients.find_duplicates, context.caller,
                                name=draft.get("name"), phone=draft.get("phone"))
    lang = "en" if context.locale == "en" else "zh"
    forms = {t: form_of_address(draft.get("name", ""), t, lang) for t in SALUTATIONS}
    await reply(update, context, "addclient_step", step=step, error=error, draft=draft,
                dups=dups, forms=forms)


def _text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


async def _refuse(update: Update, context: CoachContext, step: str, error: str,
                  state: int) -> int:
    """Text that does not fit the step: the objection's script, or the step again."""
    if not await objection_instead(update, context, "addclient"):
        await _ask(update, context, step, error=error)
    return state


async def _note_duplicates(context: CoachContext) -> None:
    draft = context.user_data[DRAFT]
    found = await in_session(context.svc, clients.find_duplicates, context.caller,
                             name=draft.get("name"), phone=draft.get("phone"))
    draft["dups"] = [d.id for d in found]


@requires(*STAFF_ROLES)
async def add_start(update: Update, context: CoachContext) -> int:
    """Start the flow: ask for the name."""
    context.user_data[DRAFT] = {}
    await _ask(update, context, "name")
    return NAME


async def add_name(update: Update, context: CoachContext) -> int:
    """Take the name (a real one, not a sentence), ask for the phone."""
    text = " ".join(_text(update).split())
    if not plausible_person_name(text):
        return await _refuse(update, context, "name", "client_name_not_real", NAME)
    context.user_data[DRAFT]["name"] = text
    await _note_duplicates(context)
    await _ask(update, context, "salute")
    return SALUTE


async def add_phone(update: Update, context: CoachContext) -> int:
    """Take the phone (7-15 digits), ask for the assets."""
    try:
        phone = clients.normalize_phone(_text(update))
    except ServiceError:
        return await _refuse(update, context, "phone", "phone_invalid", PHONE)
    context.user_data[DRAFT]["phone"] = phone
    await _note_duplicates(context)
    await _ask(update, context, "aum")
    return AUM


async def add_aum(update: Update, context: CoachContext) -> int:
    """Take the assets under management; the tier follows from the bank's thresholds."""
    try:
        aum = clients.parse_amount(_text(update))
    except ServiceError:
        return await _refuse(update, context, "aum", "amount_invalid", AUM)
    draft = context.user_data[DRAFT]
    draft["aum"] = str(aum)
    draft["tier"] = tier_for_aum(aum, context.svc.settings.tier_thresholds).value
    await _ask(update, context, "risk")
    return RISK


async def add_button(update: Update, context: CoachContext) -> int | None:
    """Buttons ``ac <field> <value>`` for skip, tier, risk, assessment date, save."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "ac", one_of(*ADD_VALUES), TOKEN)
    if parsed is None or parsed[1] not in ADD_VALUES[parsed[0]]:
        await stale_button(update, context)
        return None
    await query.answer()
    field, value = parsed
    draft = context.user_data.setdefault(DRAFT, {})
    if field == "save":
        saved: int = await _save(update, context)
        return saved
    if field == "assessed" and value == "today":  # the advisor's own calendar day
        value = context.svc.clock.now().astimezone(
            ZoneInfo(context.caller.timezone)).date().isoformat()
    if value != "-":
        draft[field] = value
    steps = {"salute": ("phone", PHONE), "phone": ("aum", AUM), "aum": ("tier", TIER),
             "tier": ("risk", RISK),
             "risk": ("assessed", ASSESSED), "assessed": ("birthday", BIRTHDAY),
             "birthday": ("confirm", CONFIRM)}
    if field not in steps:  # crafted data: show the current step again
        step = draft.get("_step", "name")
        await _ask(update, context, step)
        return STATE_OF.get(step, NAME)
    next_step = steps[field]
    if field == "risk" and value == "-":
        next_step = ("birthday", BIRTHDAY)
    await _ask(update, context, next_step[0])
    return next_step[1]


async def add_date(update: Update, context: CoachContext) -> int:
    """A typed date for the assessment or the birthday."""
    text = _text(update)
    state_field = "assessed" if context.user_data[DRAFT].get("_step") == "assessed" else "birthday"
    try:
        day = clients.parse_date(text)
    except ServiceError:
        return await _refuse(update, context, state_field, "date_invalid",
                             ASSESSED if state_field == "assessed" else BIRTHDAY)
    context.user_data[DRAFT][state_field] = day.isoformat()
    next_step = ("birthday", BIRTHDAY) if state_field == "assessed" else ("confirm", CONFIRM)
    await _ask(update, context, next_step[0])
    return next_step[1]


@service_errors(ConversationHandler.END)
async def _save(update: Update, context: CoachContext) -> int:
    data = context.user_data.pop(DRAFT, {})
    draft = clients.ClientDraft.from_dict({
        "name": data.get("name"), "salutation": data.get("salute"), "phone": data.get("phone"),
        "tier": data.get("tier"),
        "aum": data.get("aum"), "risk_tolerance": data.get("risk"),
        "risk_assessed_on": data.get("assessed"), "birthday": data.get("birthday")})
    svc = context.svc
    draft = clients.ClientDraft.from_dict({
        "name": data.get("name"), "phone": data.get("phone"), "tier": data.get("tier"),
        "aum": data.get("aum"), "risk_tolerance": data.get("risk"),
        "risk_assessed_on": data.get("assessed"), "birthday": data.get("birthday")})
    client = await in_session(svc, clients.add_client, context.caller, draft, clock=svc.clock,
                              thresholds=svc.settings.tier_thresholds,
                              callback_days=svc.settings.new_account_callback_days)
    client_id, name = client.id, client.name
    await reply(update, context, "addclient_done", name=name, client_id=client_id)
    return ConversationHandler.END


add_cancel = cancel_flow(DRAFT)


async def add_unexpected(update: Update, context: CoachContext) -> int | None:
    """Text where a button was expected: an objection's script, or ask again."""
    if not await objection_instead(update, context, "addclient"):
        await reply(update, context, "addclient_step", step="use_buttons", error=None,
                    draft=context.user_data.get(DRAFT, {}), dups=[], forms={})
    return None


STATE_OF = {"name": NAME, "salute": SALUTE, "phone": PHONE, "aum": AUM, "tier": TIER, "risk": RISK,
            "assessed": ASSESSED, "birthday": BIRTHDAY, "confirm": CONFIRM}


def add_client_conversation() -> ConversationHandler:  # type: ignore[type-arg]
    text = filters.TEXT & ~filters.COMMAND
    # typed as the base: the flow's lists mix handlers of several return types
    buttons: BaseHandler[Update, CoachContext, object] = CallbackQueryHandler(add_button, r"^ac ")
    return ConversationHandler(
        entry_points=[CommandHandler("addclient", add_start)],
        states={
            NAME: [MessageHandler(text, add_name)],
            SALUTE: [buttons],
            PHONE: [MessageHandler(text, add_phone), buttons],
            AUM: [MessageHandler(text, add_aum), buttons],
            TIER: [buttons],
            RISK: [buttons],
            ASSESSED: [MessageHandler(text, add_date), buttons],
            BIRTHDAY: [MessageHandler(text, add_date), buttons],
            CONFIRM: [buttons],
        },
        fallbacks=[CommandHandler("cancel", add_cancel), MessageHandler(text, add_unexpected)],
        name="addclient",
        persistent=True,
        allow_reentry=True,
    )
