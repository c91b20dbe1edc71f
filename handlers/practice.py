"""Role-play practice: /practice, answering the customer, /stop, /progress, reviews, /assign."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callback
from bot.callback import ID, INDEX, TOKEN
from bot.context import CoachContext
from bot.delivery import enqueue
from bot.guard import reply, requires, service_errors
from bot.jobs.outbox import deliver_soon
from bot.services import in_session
from coach.services import practice
from coach.vocabulary import STAFF_ROLES, Role
from handlers.help import pressed_before, stale_button

ANSWERING = 0
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")  # a due date closes /assign


def _lang(context: CoachContext) -> str:
    return "en" if context.locale == "en" else "zh"


@requires(*STAFF_ROLES)
async def list_scenarios(update: Update, context: CoachContext) -> None:
    """/practice: scenarios, assigned and recommended first."""
    items = await in_session(context.svc, practice.choices, context.caller)
    await reply(update, context, "practice_list", items=items, lang=_lang(context))


@service_errors(ConversationHandler.END)
async def start_scenario(update: Update, context: CoachContext) -> int | None:
    """Button ``pr s <scenario>``: the customer speaks first."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "pr s", TOKEN)
    if parsed is None:
        await stale_button(update, context)
        return ConversationHandler.END
    if await pressed_before(update, context):
        return None  # a double tap: the session started by the first tap goes on
    await query.answer()
    if context.me is None or context.me.role not in ("advisor", "lead", "admin"):
        return ConversationHandler.END
    svc = context.svc
    _, scenario, line = await in_session(svc, practice.start_scenario, context.caller, parsed[0],
                                         clock=svc.clock, lang=_lang(context))
    await reply(update, context, "practice_start", scenario=scenario, line=line,
                lang=_lang(context))
    return ANSWERING


@service_errors(ConversationHandler.END)
async def start_drill(update: Update, context: CoachContext) -> int | None:
    """Button ``sc pr <script_id>`` on a script card: one-turn drill on that objection."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "sc pr", TOKEN)
    if parsed is None:
        await stale_button(update, context)
        return ConversationHandler.END
    if await pressed_before(update, context):
        return None
    await query.answer()
    svc = context.svc
    script = svc.catalog.get(parsed[0], team_id=context.caller.team_id)
    if script is None or not script.triggers:
        await reply(update, context, "errors", code="scenario_not_found")
        return ConversationHandler.END
    _, line = await in_session(svc, practice.start_drill, context.caller,
                               category=script.category, customer_line=script.triggers[0],
                               clock=svc.clock, lang=_lang(context))
    await reply(update, context, "practice_start", scenario=None, line=line, lang=_lang(context))
    return ANSWERING


@service_errors(ConversationHandler.END)
async def answer(update: Update, context: CoachContext) -> int:
    """The advisor's reply: score it, show feedback and the customer's next line."""
    assert update.message is not None
    svc = context.svc
    outcome = await in_session(svc, practice.reply, context.caller, update.message.text or "",
                               clock=svc.clock)
    if outcome.result is None:
        await reply(update, context, "errors", code="practice_expired")
        return ConversationHandler.END
    await reply(update, context, "practice_feedback", o=outcome, lang=_lang(context))
    return ConversationHandler.END if outcome.result.finished else ANSWERING


async def stop(update: Update, context: CoachContext) -> int:
    """/stop: end the session and show what was practised."""
    svc = context.svc
    summary = await in_session(svc, practice.stop, context.caller, clock=svc.clock)
    await reply(update, context, "practice_stopped", summary=summary, lang=_lang(context))
    return ConversationHandler.END


@service_errors()
async def show_model_answer(update: Update, context: CoachContext) -> None:
    """Button ``pr m <session> <turn>``: the model answer for that turn."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "pr m", ID, INDEX)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    line, model = await in_session(context.svc, practice.model_answer, context.caller,
                                   parsed[0], parsed[1], _lang(context))
    await reply(update, context, "practice_model", line=line, model=model)


@service_errors()
@requires(*STAFF_ROLES)
async def show_progress(update: Update, context: CoachContext) -> None:
    """/progress [@advisor]: history and technique averages (chart from 5 sessions)."""
    handle = context.args[0] if context.args else None
    data = await in_session(context.svc, practice.progress, context.caller, handle)
    await reply(update, context, "practice_progress", p=data)
    if data.sessions >= 5 and update.effective_message is not None:
        from coach.reports.practice_chart import progress_png

        chart = await asyncio.to_thread(progress_png, data)  # CPU work: keep the loop free
        await update.effective_message.reply_photo(chart, caption=data.user_name)


@service_errors()
@requires(Role.LEAD)
async def review_list(update: Update, context: CoachContext) -> None:
    """/review @advisor: their recent sessions, to open one."""
    handle = context.args[0] if context.args else None
    if not handle:
        await reply(update, context, "usage", command="review")
        return
    name, rows = await in_session(context.svc, practice.last_sessions, context.caller, handle)
    items = [(r.id, r.scenario_id, r.total_score, r.started_at) for r in rows]
    await reply(update, context, "practice_review_list", name=name, items=items)


@service_errors()
@requires(Role.LEAD)
async def review_open(update: Update, context: CoachContext) -> None:
    """Button ``pr v <session>``: the transcript with scores, overrides and comments."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "pr v", ID)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    data = await in_session(context.svc, practice.review, context.caller, parsed[0])
    await reply(update, context, "practice_review", r=data)


@service_errors()
@requires(Role.LEAD)
async def override(update: Update, context: CoachContext) -> None:
    """/override SESSION TURN SCORE|- [comment]: change a turn's score, tell the advisor."""
    args = context.args or []
    session_id = callback.ascii_int(args[0], low=1) if args else None
    turn = callback.ascii_int(args[1], low=1, high=callback.MAX_INDEX) if len(args) > 1 else None
    score = callback.ascii_int(args[2], high=callback.MAX_INDEX) if len(args) > 2 else None
    if session_id is None or turn is None or (score is None and args[2] != "-"):
        await reply(update, context, "usage", command="override")
        return
    svc = context.svc

    def override_and_tell(s: Session) -> practice.Review:
        data = practice.override_turn(s, context.caller, session_id, turn - 1,
                                      score, " ".join(args[3:]), clock=svc.clock)
        text = svc.renderer.text("practice_overridden", context.locale, me=context.me, r=data,
                                 turn=turn, score=score, comment=" ".join(args[3:]))
        enqueue(s, text, to=data.advisor_telegram_id, kind="practice_override",
                now=svc.clock.now(),
                key=f"practice_override:{session_id}:{turn}:{svc.clock.now().isoformat()}")
        return data

    data = await in_session(svc, override_and_tell)
    await reply(update, context, "practice_review", r=data)
    await deliver_soon(context.application)


@service_errors()
@requires(Role.LEAD)
async def assign(update: Update, context: CoachContext) -> None:
    """/assign @advisor|team SCENARIO [YYYY-MM-DD]: the advisors are told at once.

    SCENARIO: the number shown in /practice, or a title (it may contain spaces), exact or
    a piece of it that only one scenario has.
    """
    args = context.args or []
    due: date | None = None
    if len(args) > 2 and _DATE.match(args[-1]):
        try:
            due = date(*(int(part) for part in args[-1].split("-")))
        except ValueError:
            await reply(update, context, "errors", code="date_invalid", value=args[-1])
            return
        args = args[:-1]
    if len(args) < 2:
        await reply(update, context, "usage", command="assign")
        return
    svc = context.svc

    def assign_and_tell(s: Session) -> tuple[str, list[str]]:
        scenario_id, members = practice.assign(s, context.caller, args[0], " ".join(args[1:]),
                                               due, clock=svc.clock)
        now = svc.clock.now()
        for member in members:
            rendered = svc.renderer.render("practice_assigned", member.language, me=None,
                                           scenario_id=scenario_id, due=due)
            enqueue(s, rendered, to=member.telegram_id, kind="practice_assigned", now=now,
                    key=f"practice_assigned:{member.telegram_id}:{scenario_id}:{now.isoformat()}")
        return scenario_id, [m.name for m in members]

    scenario_id, names = await in_session(svc, assign_and_tell)
    await deliver_soon(context.application)
    await reply(update, context, "practice_assign_done", names=names,
                scenario_id=scenario_id, due=due)


def conversation() -> ConversationHandler:  # type: ignore[type-arg]
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(start_scenario, r"^pr s \S+$"),
                      CallbackQueryHandler(start_drill, r"^sc pr \S+$")],
        states={ANSWERING: [MessageHandler(filters.TEXT & ~filters.COMMAND, answer)]},
        fallbacks=[CommandHandler(["stop", "cancel"], stop)],
        name="practice",
        persistent=True,
        allow_reentry=True,
    )


