"""/start (with an invite code), /newteam and /invite."""

from __future__ import annotations

from telegram import Update

from bot.context import CoachContext
from bot.guard import me_from_user, reply, requires, service_errors
from bot.services import in_session
from coach.services import people
from coach.vocabulary import Role


async def start(update: Update, context: CoachContext) -> None:
    """Register with an invite code, or greet someone already registered."""
    args = context.args or []
    if context.me is not None or not args:
        await reply(update, context, "welcome", bot_username=context.bot.username)
        return
    svc, tg_user = context.svc, update.effective_user
    assert tg_user is not None
    result = await in_session(
        svc, people.redeem_invite, code=args[0], telegram_id=tg_user.id, name=tg_user.full_name,
        username=tg_user.username, language=context.locale,
        timezone=svc.settings.default_timezone, clock=svc.clock)
    if result.user is not None:
        context.me = me_from_user(result.user)
    await reply(update, context, "invite_redeemed", result=result)


@service_errors()
@requires(Role.ADMIN)
async def new_team(update: Update, context: CoachContext) -> None:
    """Create a team: /newteam NAME."""
    name = " ".join(context.args or [])
    if not name:
        await reply(update, context, "usage", command="newteam")
        return
    svc = context.svc
    team = await in_session(svc, people.create_team, name, clock=svc.clock)
    team_name = team.name
    await reply(update, context, "team_created", team=team_name)


@service_errors()
@requires(Role.ADMIN, Role.LEAD)
async def invite(update: Update, context: CoachContext) -> None:
    """Create a single-use invite code: /invite advisor|lead|referrer TEAM."""
    args = context.args or []
    if len(args) < 2:
        await reply(update, context, "usage", command="invite")
        return
    svc, me = context.svc, context.caller
    code = await in_session(
        svc, people.create_invite, role=args[0].lower(), team_name=" ".join(args[1:]),
        created_by=me.user_id, clock=svc.clock, ttl_days=svc.settings.invite_ttl_days)
    invite_code, expires_at = code.code, code.expires_at
    await reply(update, context, "invite_created", code=invite_code, role=args[0].lower(),
                expires_at=expires_at, bot_username=context.bot.username)
