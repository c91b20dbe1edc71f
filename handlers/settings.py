"""/settings: language, time zone and morning digest time."""

from __future__ import annotations

from telegram import Update

from bot import callback
from bot.callback import TOKEN, one_of
from bot.context import CoachContext
from bot.guard import me_from_user, reply, service_errors
from bot.services import in_session
from coach.services import people
from handlers.help import stale_button

FIELDS = {"lang": "language", "tz": "timezone", "dt": "digest_time"}


@service_errors()
async def _apply(update: Update, context: CoachContext, field: str, value: str) -> None:
    svc = context.svc
    user = await in_session(svc, people.update_settings, context.caller.user_id,
                            **{FIELDS[field]: value})
    context.me = me_from_user(user)
    context.locale = context.me.locale
    snapshot = _snapshot(user, svc.settings.digest_time.strftime("%H:%M"))
    await reply(update, context, "settings", s=snapshot, changed=field)


def _snapshot(user: people.Profile, default_digest: str) -> dict[str, str]:
    digest = user.digest_time.strftime("%H:%M") if user.digest_time else default_digest
    return {"language": user.language, "timezone": user.timezone, "digest_time": digest,
            "paused": "1" if user.digest_paused else ""}


async def show_settings(update: Update, context: CoachContext) -> None:
    """/settings, or /settings lang|tz|dt VALUE to change one directly."""
    args = context.args or []
    if len(args) == 2 and args[0] in FIELDS:
        await _apply(update, context, args[0], args[1])
        return
    if args:
        await reply(update, context, "usage", command="settings")
        return
    user = await in_session(context.svc, people.profile, context.caller.user_id)
    snapshot = _snapshot(user, context.svc.settings.digest_time.strftime("%H:%M"))
    await reply(update, context, "settings", s=snapshot, changed=None)


async def settings_button(update: Update, context: CoachContext) -> None:
    """Buttons ``st <field> <value>``."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "st", one_of(*FIELDS), TOKEN)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    field, value = parsed
    await _apply(update, context, field, value)
