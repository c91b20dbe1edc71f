"""/log: record a call outcome in one line or a few taps, confirm, schedule what's next.

One line (``/log 王建国 有兴趣 周五下午3点再打``) asks only what it could not understand
(which client, the outcome, a doubtful date), then shows a confirmation. Guided
(``/log``, or 📝 on a client card or a reminder) walks client → channel → outcome
→ next step → notes → confirm; ✏️ on the confirmation re-walks it with every
answer kept. The draft lives in ``user_data`` (persisted): a restart resumes the
flow, /cancel or ✖ leaves nothing saved.
"""

from __future__ import annotations

from typing import Any

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
from bot.delivery import queue_notices
from bot.guard import reply, requires
from bot.jobs.outbox import deliver_soon
from bot.services import in_session, run_db
from bot.settings import Settings
from coach.dates import parse_date
from coach.outcomes import Outcome, detect_outcome
from coach.policy import PolicyConfig
from coach.services import clients, interactions, library, suitability_check
from coach.services.errors import ServiceError
from coach.services.interactions import LogDraft
from coach.vocabulary import STAFF_ROLES
from handlers import suitability
from handlers._flow import cancel_flow, objection_instead
from handlers.help import pressed_before, stale_button
from scripts_library.normalize import to_simplified

CLIENT, PICK, CHANNEL, OUTCOME, NEXT, NOTES, CONFIRM = range(7)
DRAFT, MODE, TYPED, SEEN = "log", "log_mode", "log_typed", "log_seen"
EXTRA_STEPS = "log_extra_steps"  # issue 13: the extra steps for a client who needs care
STATE_OF = {"client": CLIENT, "pick": PICK, "channel": CHANNEL, "outcome": OUTCOME,
            "next": NEXT, "notes": NOTES, "confirm": CONFIRM}
OUTCOMES = [o.value for o in Outcome]
DATE_QUESTIONS = ("date_in_past", "ambiguous_date", "ambiguous_time", "invalid_date",
                  "alternative_dates", "weekday_mismatch", "unclear_date")
BUTTONS = ("p", "new", "ch", "o", "nx", "nt", "e", "ok", "ins", "uns", "xs", "x")


def policy_config(settings: Settings) -> PolicyConfig:
    """The follow-up policy with the bank's configured intervals."""
    return PolicyConfig.from_settings(settings)


# --- the draft and where the flow stands ---------------------------------------------


def _draft(context: CoachContext) -> LogDraft:
    return LogDraft.from_dict(context.user_data.get(DRAFT, {}))


def _keep(context: CoachContext, draft: LogDraft, *, seen: str | None = None) -> None:
    context.user_data[DRAFT] = draft.to_dict()
    if seen is not None and seen not in context.user_data.setdefault(SEEN, []):
        context.user_data[SEEN].append(seen)


def _next_step(context: CoachContext, draft: LogDraft) -> str:
    """The first step still to answer: guided asks everything, one line only what's missing."""
    guided = context.user_data.get(MODE) == "guided"
    seen = set(context.user_data.get(SEEN, []))
    if draft.client_id is None:
        return "pick" if context.user_data.get(TYPED) else "client"
    if guided and "client" not in seen:
        return "client"
    if guided and "channel" not in seen:
        return "channel"
    if draft.outcome is None or (guided and "outcome" not in seen):
        return "outcome"
    if draft.questions or (guided and "next" not in seen):
        return "next"
    if guided and "notes" not in seen:
        return "notes"
    return "confirm"


def _reset(context: CoachContext, mode: str | None) -> None:
    for key in (DRAFT, TYPED, SEEN, MODE):
        context.user_data.pop(key, None)
    if mode is not None:
        context.user_data[MODE] = mode


async def _show(update: Update, context: CoachContext, error: str | None = None) -> int:
    """Render the current step (with ``error`` on top) and return its state."""
    draft = _draft(context)
    step = _next_step(context, draft)
    if error is None and step == "next" and draft.questions:
        error = draft.questions[0]
    svc, me = context.svc, context.caller
    choices: list[tuple[int, str]] = []
    typed = context.user_data.get(TYPED)
    if step == "pick":
        choices = (await in_session(svc, interactions.find_loggable, me, typed or "")).choices
    plan = interactions.suggest_next(
        draft, now=svc.clock.now(), tz=me.timezone, region=svc.settings.holiday_region,
        config=policy_config(svc.settings)) if step in ("next", "confirm") else []
    await reply(update, context, "log_step", step=step, d=draft, error=error, choices=choices,
                typed=typed, can_add=_looks_like_name(typed), plan=plan,
                outcomes=OUTCOMES, channels=interactions.CHANNELS)
    return STATE_OF[step]


def _looks_like_name(text: str | None) -> bool:
    """Offer to add a new client only for something name-like (not "123")."""
    return bool(text) and any(ch.isalpha() for ch in text or "")


# --- entry points -----------------------------------------------------------------------


@requires(*STAFF_ROLES)
async def start(update: Update, context: CoachContext) -> int:
    """/log LINE (one line) or /log (guided)."""
    line = " ".join(context.args or [])
    _reset(context, "line" if line else "guided")
    if not line:
        _keep(context, LogDraft())
        return await _show(update, context)
    svc = context.svc
    prepared = await in_session(svc, interactions.prepare, context.caller, line, clock=svc.clock)
    _keep(context, prepared.draft)
    if prepared.draft.client_id is None and prepared.typed_client:
        context.user_data[TYPED] = prepared.typed_client[:80]
    return await _show(update, context)


@requires(*STAFF_ROLES)
async def start_for_client(update: Update, context: CoachContext) -> int:
    """Button ``lg c <client>`` on a card, a list or a reminder: guided, client known."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "lg c", ID)
    if parsed is None:
        await stale_button(update, context)
        return ConversationHandler.END
    await query.answer()
    _reset(context, "guided")
    try:
        client = await in_session(context.svc, interactions.loggable_client, context.caller,
                                  parsed[0])
        draft = LogDraft(client_id=client.id, client_name=client.name)
    except ServiceError:
        _reset(context, None)
        await reply(update, context, "errors", code="client_not_found")
        return ConversationHandler.END
    _keep(context, draft, seen="client")
    return await _show(update, context)


# --- typed answers ------------------------------------------------------------------------


async def typed_client(update: Update, context: CoachContext) -> int:
    """The client's name, typed (at the client or the pick step)."""
    assert update.message is not None
    typed = (update.message.text or "").strip()[:80]
    context.user_data[TYPED] = typed
    found = await in_session(context.svc, interactions.find_loggable, context.caller, typed)
    draft = _draft(context)
    if found.client_id is not None:
        draft.client_id, draft.client_name = found.client_id, found.choices[0][1]
        _keep(context, draft, seen="client")
    elif not found.choices and await objection_instead(update, context, "log"):
        return _state(context)  # "客户说手续费太贵" is not a client: the script, flow kept
    else:  # several or none: the pick step shows them (or offers to add)
        draft.client_id = draft.client_name = None
        _keep(context, draft)
    return await _show(update, context)


async def typed_date(update: Update, context: CoachContext) -> int:
    """A date typed at the "next step" question."""
    assert update.message is not None
    svc, me = context.svc, context.caller
    parsed = parse_date(update.message.text or "", svc.clock.now(), me.timezone)
    if (parsed is None or parsed.due is None) and await objection_instead(update, context, "log"):
        return _state(context)
    if parsed is None or parsed.due is None or parsed.questions:
        return await _show(update, context, error=(parsed.questions[0] if parsed and
                                                   parsed.questions else "unreadable"))
    draft = _draft(context)
    draft.due, draft.has_time = parsed.due.isoformat(), parsed.has_time
    draft.next_step, draft.questions = "custom", []
    _keep(context, draft, seen="next")
    return await _show(update, context)


async def typed_outcome(update: Update, context: CoachContext) -> int:
    """Text at the outcome step: understood if it names one ("有兴趣", "sale")."""
    assert update.message is not None
    found = detect_outcome(to_simplified(update.message.text or ""))
    if found is None and await objection_instead(update, context, "log"):
        return _state(context)
    if found is None:
        return await _show(update, context, error="use_buttons")
    draft = _draft(context)
    draft.outcome = found[0].value
    _keep(context, draft, seen="outcome")
    return await _show(update, context)


async def use_buttons(update: Update, context: CoachContext) -> int:
    """Text where only buttons make sense: an objection's script, or the step again."""
    if await objection_instead(update, context, "log"):
        return _state(context)
    return await _show(update, context, error="use_buttons")


def _state(context: CoachContext) -> int:
    """The state of the step the draft is at (the flow stays where it was)."""
    return STATE_OF[_next_step(context, _draft(context))]


async def typed_notes(update: Update, context: CoachContext) -> int:
    assert update.message is not None
    draft = _draft(context)
    draft.notes = (update.message.text or "").strip()[:1000]
    _keep(context, draft, seen="notes")
    return await _show(update, context)


# --- buttons ------------------------------------------------------------------------------


async def button(update: Update, context: CoachContext) -> int | None:
    """Every ``lg …`` button inside the flow; values are checked, never trusted."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "lg", one_of(*BUTTONS), TOKEN, optional=1)
    if parsed is None:
        await stale_button(update, context)
        return None
    if parsed[0] == "new" and await pressed_before(update, context):
        return None  # a double tap on "➕ Add NAME": the client exists already
    await query.answer()
    action, value = parsed[0], parsed[1] or ""
    draft = _draft(context)
    if action == "x":
        return await cancel(update, context)
    if action in ("ok", "ins", "uns", "xs"):
        if _next_step(context, draft) != "confirm":  # a stale button from an earlier step
            return await _show(update, context)
        if action == "xs":  # issue 13: second person present, explanation recorded
            context.user_data[EXTRA_STEPS] = True
            action = "ok"
        extra = bool(context.user_data.get(EXTRA_STEPS))
        if action == "ok" and not extra and await suitability.ask_extra_steps(
                update, context, draft):
            return CONFIRM  # the advisor confirms "lg xs" or cancels
        if action == "ok" and await suitability.warn_if_unsuitable(update, context, draft):
            return CONFIRM  # issue 8: unsuitable sale, the advisor picks "lg ins" or "lg uns"
        return await _save(update, context, draft, insisted=action == "ins", extra_steps=extra)
    try:
        seen = await _apply(context, draft, action, value)
    except ServiceError as err:
        return await _show(update, context, error=err.code)
    _keep(context, draft, seen=seen)
    return await _show(update, context)


async def _apply(context: CoachContext, draft: LogDraft, action: str, value: str) -> str | None:
    """Change ``draft`` for one button; returns the step it answered (None: nothing)."""
    svc, me = context.svc, context.caller
    client_id = callback.ascii_int(value, low=1)
    if action == "p" and client_id is not None:
        client = await in_session(svc, interactions.loggable_client, me, client_id)
        draft.client_id, draft.client_name = client.id, client.name
        return "client"
    if action == "new" and _looks_like_name(context.user_data.get(TYPED)):
        added = await in_session(
            svc, clients.add_client, me,
            clients.ClientDraft(name=context.user_data[TYPED], tier="mass"),
            clock=svc.clock, thresholds=svc.settings.tier_thresholds,
            callback_days=svc.settings.new_account_callback_days)
        draft.client_id, draft.client_name = added.id, added.name
        context.user_data.pop(TYPED, None)  # added: no later "➕ Add" can add it again
        return "client"
    if action == "ch" and value in interactions.CHANNELS:
        draft.channel = value
        return "channel"
    if action == "o" and value in OUTCOMES:
        draft.outcome = value
        return "outcome"
    if action == "nx":
        return _next_button(draft, value)
    if action == "nt":
        return "notes"  # skip (or keep the notes already there)
    if action == "e":  # ✏️ edit: walk every step again, answers kept
        context.user_data[MODE] = "guided"
        context.user_data[SEEN] = []
    return None


def _next_button(draft: LogDraft, value: str) -> str | None:
    if value == "none":
        draft.next_step, draft.questions = "none", []
    elif value == "y" and draft.questions == ["ambiguous_date"] and draft.due:
        draft.next_step, draft.questions = "custom", []  # "yes, that date (next year)"
    elif value == "ok":
        if draft.questions:  # a doubtful date is dropped: the policy's suggestion instead
            draft.next_step, draft.due, draft.has_time = "default", None, False
        elif draft.next_step == "none":
            draft.next_step = "default"
        draft.questions = []
    else:
        return None
    return "next"


# --- save and cancel ------------------------------------------------------------------------


async def _save(update: Update, context: CoachContext, draft: LogDraft, *,
                insisted: bool = False, extra_steps: bool = False) -> int:
    svc = context.svc
    context.user_data.pop(EXTRA_STEPS, None)
    me = context.caller

    def save() -> tuple[Any, Any, int]:
        # one transaction, off the event loop: the outcome, its follow-ups, the check
        with svc.db.session() as s:
            logged = interactions.record_outcome(
                s, me, draft, clock=svc.clock, policy_config=policy_config(
                    svc.settings), region=svc.settings.holiday_region,
                update_id=update.update_id)
            flag = suitability_check.after_logged(
                s, me, logged.interaction_id, clock=svc.clock, insisted=insisted,
                rules=suitability_check.SuitRules.from_settings(svc.settings),
                extra_steps=extra_steps)
            # the lead (an unsuitable sale) and the referrer hear of it: queued with the save
            told = queue_notices(s, svc, flag.notices if flag is not None else [])
            queue_notices(s, svc, logged.notices)
            return logged, flag, told

    try:
        logged, flag, told = await run_db(save)
    except ServiceError as err:
        _reset(context, None)
        await reply(update, context, "errors", code=err.code)
        return ConversationHandler.END
    _reset(context, None)
    # 📖 the script for the next call (the follow-up's reason is the outcome), to this client
    script = (library.script_for_reason(svc.catalog, logged.outcome) if logged.followups
              else None)
    await reply(update, context, "log_saved", r=logged,
                script_id=script.id if script is not None and len(script.id) < 48 else None)
    await deliver_soon(context.application)
    if flag is not None:
        await reply(update, context, "sale_flag_saved", f=flag, told=told)
    return ConversationHandler.END


cancel = cancel_flow(DRAFT, TYPED, SEEN, MODE, EXTRA_STEPS)  # /cancel or ✖: nothing is saved


def conversation() -> ConversationHandler[Any]:
    text = filters.TEXT & ~filters.COMMAND
    # typed as the base: the flow's lists mix handlers of several return types
    buttons: BaseHandler[Update, CoachContext, object] = CallbackQueryHandler(
        button, r"^lg (p|new|ch|o|nx|nt|e|ok|ins|uns|xs|x)( |$)")
    return ConversationHandler(
        entry_points=[CommandHandler("log", start),
                      CallbackQueryHandler(start_for_client, r"^lg c \d+$")],
        states={
            CLIENT: [buttons, MessageHandler(text, typed_client)],
            PICK: [buttons, MessageHandler(text, typed_client)],
            CHANNEL: [buttons, MessageHandler(text, use_buttons)],
            OUTCOME: [buttons, MessageHandler(text, typed_outcome)],
            NEXT: [buttons, MessageHandler(text, typed_date)],
            NOTES: [buttons, MessageHandler(text, typed_notes)],
            CONFIRM: [buttons, MessageHandler(text, use_buttons)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="log", persistent=True, allow_reentry=True)
