"""/remove @advisor: a lead takes an advisor out of the team (after a confirmation)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from telegram import Update

from bot import callback
from bot.callback import ID, one_of
from bot.context import CoachContext
from bot.delivery import enqueue
from bot.guard import reply, requires, service_errors
from bot.jobs.outbox import deliver_soon
from bot.services import in_session
from coach.services import staff
from coach.vocabulary import Role
from handlers.help import pressed_before, stale_button


@service_errors()
@requires(Role.LEAD)
async def remove(update: Update, context: CoachContext) -> None:
    """/remove @advisor: what would move, with ✅ Remove / ✖ Keep (nothing changes yet)."""
    args = list(context.args or [])
    if len(args) != 1:
        await reply(update, context, "usage", command="remove")
        return
    removal = await in_session(context.svc, staff.find_advisor_to_remove, context.caller, args[0])
    await reply(update, context, "remove_confirm", r=removal)


@service_errors()
@requires(Role.LEAD)
async def remove_button(update: Update, context: CoachContext) -> None:
    """``rm ok <user>`` removes (everything checked again), ``rm no <user>`` keeps."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "rm", one_of("ok", "no"), ID)
    if parsed is None:
        await stale_button(update, context)
        return
    if await pressed_before(update, context):
        return  # removed already: the advisor is not told twice
    await query.answer()
    if parsed[0] == "no":
        await reply(update, context, "remove_done", done=False)
        return
    svc, me = context.svc, context.caller

    def remove_and_tell(s: Session) -> staff.Removal:
        removal = staff.remove_advisor(s, me, parsed[1], clock=svc.clock)
        text = svc.renderer.text("remove_notice", removal.language, me=None,
                                 team=removal.team_name, lead=me.name)
        enqueue(s, text, to=removal.telegram_id, kind="removed", now=svc.clock.now(),
                key=f"removed:{removal.telegram_id}:{svc.clock.now().isoformat()}")
        return removal

    removal = await in_session(svc, remove_and_tell)
    await reply(update, context, "remove_done", done=True, r=removal)
    await deliver_soon(context.application)
