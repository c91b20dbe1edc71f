"""The one gate every update passes: duplicate, flood, registration and role checks.

Runs in handler group -3. It finds the registered person behind an update and
puts them on ``context.me``; anyone else gets one polite sentence and nothing
else they send reaches a feature (except ``/start CODE``, which registers them).
Role checks for individual handlers use :func:`requires`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from telegram import Message, Update
from telegram import User as TelegramUser
from telegram.ext import ApplicationHandlerStop

from bot import flowstate
from bot.context import CoachContext, Me
from bot.i18n import from_telegram, normalize_locale
from bot.services import Services, run_db
from coach.privacy import Audience
from coach.services import people
from coach.services.errors import ServiceError
from coach.services.people import Profile
from coach.textsplit import is_too_long, split_message
from coach.vocabulary import Role
from storage.models import ProcessedUpdate, User

__all__ = ["apologise", "audience_of", "private_audience", "guard", "requires", "reply",
           "me_from_user", "service_errors"]

log = logging.getLogger(__name__)
_PROCESSED = cast(Table, ProcessedUpdate.__table__)
Handler = Callable[[Update, CoachContext], Coroutine[Any, Any, Any]]


def me_from_user(user: User | Profile) -> Me:
    """The caller as services see them, from their row (guard) or their profile (handlers)."""
    return Me(user_id=user.id, telegram_id=user.telegram_id, name=user.name, role=user.role,
              team_id=user.team_id, locale=normalize_locale(user.language),
              timezone=user.timezone)


def _is_start_with_code(update: Update, bot_username: str | None) -> bool:
    """Exactly ``/start CODE`` (or ``/start@ThisBot CODE``): not ``/startx``, not another bot."""
    message = update.message
    parts = ((message.text or "") if message else "").split()
    if len(parts) != 2:
        return False
    command, _, addressee = parts[0].partition("@")
    if command != "/start":
        return False
    return not addressee or (bot_username is not None
                             and addressee.lower() == bot_username.lower())


@dataclass(frozen=True)
class _Admission:
    first_time: bool  # False: Telegram delivered this update id before
    me: Me | None = None  # the registered caller
    disabled: bool = False  # switched off by an admin
    profile: Profile | None = None  # the caller's whole row, for handlers that need more


def _admit(svc: Services, update_id: int, tg_user: TelegramUser, locale: str,
           read_flow: Callable[[Session], None] | None) -> _Admission:
    """The guard's database work in ONE unit of work (one connection, one commit).

    Finds the caller (:func:`_identify`), reads their flow state with ``read_flow`` (see
    :func:`bot.flowstate.reader_for`) and records ``update_id``, in one transaction:
    fewer round trips per update than three separate units, with the same outcome. A
    duplicate update id rolls everything back and stops the update. If anything fails,
    the update id is not recorded either, so a redelivery is handled, not dropped.

    The reads come first and the insert last, right before the commit: on SQLite the
    write lock is taken at the first write, so it is held for one insert, never while
    the caller is looked up (a slow lookup must not stall every other chat's guard).
    """
    with svc.db.session() as s:
        caller, disabled, revive = _identify(s, svc, tg_user, locale)
        if read_flow is not None:
            read_flow(s)
        if revive and caller is not None:
            people.revive_caller(s, caller.id, username=tg_user.username)
            caller = replace(caller, username=tg_user.username or caller.username)
        try:
            # a Core insert into the table: no ORM object to build, track and flush, no
            # ORM statement handling, on every update
            s.execute(insert(_PROCESSED).values(update_id=update_id,
                                                processed_at=svc.clock.now()))
        except IntegrityError:
            s.rollback()
            return _Admission(first_time=False)
        return _Admission(first_time=True, me=me_from_user(caller) if caller else None,
                          disabled=disabled, profile=caller)


def audience_of(update: Update, context: CoachContext) -> Audience:
    """Who reads a reply: a private chat with the caller, or a group (or unknown: strict)."""
    chat = update.effective_chat
    return Audience(private=chat is not None and chat.type == "private",
                    privacy_mode=context.svc.settings.privacy_mode)


def private_audience(privacy_mode: bool) -> Audience:
    """A message sent by the bot on its own (a job, a notice) to one person privately."""
    return Audience(private=True, privacy_mode=privacy_mode)


async def reply(update: Update, context: CoachContext, template: str, /, **ctx: Any) -> None:
    """Render ``template`` for the caller and answer in the same chat.

    Client names, phones and notes in it follow the masking rule for this chat
    (``coach.privacy.reveals``); pass ``own=`` for a message about one client.
    """
    ctx.setdefault("audience", audience_of(update, context))
    rendered = context.svc.renderer.render(template, context.locale, me=context.me, **ctx)
    message = update.callback_query.message if update.callback_query else update.effective_message
    # a button under a message older than 48 hours comes with an InaccessibleMessage:
    # it cannot be replied to, but its chat can still be written to
    chat = message.chat if message is not None else update.effective_chat
    if chat is None:
        return
    chunks = split_message(rendered.text) or [rendered.text]  # buttons go on the last one
    for i, chunk in enumerate(chunks):
        markup = rendered.markup if i == len(chunks) - 1 else None
        if isinstance(message, Message) and message.is_accessible:
            await message.reply_text(chunk, reply_markup=markup)
        else:
            await context.bot.send_message(chat.id, chunk, reply_markup=markup)


async def _refuse_too_long(update: Update, context: CoachContext) -> None:
    """Text or inline queries over MAX_INPUT_CHARS are answered politely, not processed."""
    if update.inline_query is not None and is_too_long(update.inline_query.query):
        await update.inline_query.answer([], cache_time=0, is_personal=True)
        raise ApplicationHandlerStop
    message = update.message or update.edited_message
    if message is not None and is_too_long(message.text or message.caption):
        await reply(update, context, "errors", code="too_long")
        raise ApplicationHandlerStop


async def guard(update: Update, context: CoachContext) -> None:
    """Identify the caller or stop the update here.

    When the database cannot be reached the update stops here too, after one
    "please try again" reply: without an identified caller no feature may run.
    """
    try:
        await _guard(update, context)
    except SQLAlchemyError as err:
        log.warning("guard could not reach the database on update %s: %s",
                    update.update_id, type(err).__name__)
        await apologise(update, context)
        raise ApplicationHandlerStop from None


async def apologise(update: Update, context: CoachContext) -> None:
    """One short "please try again" (the database failed); a failure to send it is only logged."""
    try:
        if update.inline_query is not None:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        await reply(update, context, "errors", code="internal")
    except Exception:  # noqa: BLE001 - the update is stopped either way
        log.warning("could not send the guard apology")


async def _guard(update: Update, context: CoachContext) -> None:
    tg_user = update.effective_user
    if tg_user is None or tg_user.is_bot:
        raise ApplicationHandlerStop
    svc = context.svc
    context.locale = from_telegram(tg_user.language_code)
    admission = await run_db(_admit, svc, update.update_id, tg_user, context.locale,
                             flowstate.reader_for(context.application, update))
    if not admission.first_time:
        log.info("duplicate update %s ignored", update.update_id)
        raise ApplicationHandlerStop
    if update.inline_query is not None:
        # one query per keystroke: inline has its own budget and is refused silently,
        # so typing "@bot …" never locks anyone out of normal messages
        inline = svc.inline_flood
        if inline is not None and not inline.hit(tg_user.id).allowed:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
            raise ApplicationHandlerStop
        verdict = None
    else:
        # "is not None": an idle FloodLimiter has len() 0, so it is falsy
        verdict = svc.flood.hit(tg_user.id) if svc.flood is not None else None
    if verdict is not None and not verdict.allowed:
        chat = update.effective_chat
        if verdict.first_refusal and chat is not None and chat.type == "private":
            await reply(update, context, "flood", retry_after=verdict.retry_after_s)
        if update.callback_query:
            await update.callback_query.answer()
        raise ApplicationHandlerStop
    me, disabled = admission.me, admission.disabled
    if me is not None:
        context.me = me
        context.profile = admission.profile
        context.locale = me.locale
    if context.me is not None:
        await _refuse_too_long(update, context)
        return
    if _is_start_with_code(update, context.bot.username) and not disabled:
        return
    await _turn_away(update, context)
    raise ApplicationHandlerStop


def _identify(s: Session, svc: Services, tg_user: TelegramUser,
              locale: str) -> tuple[Profile | None, bool, bool]:
    """The registered caller (``None`` for a stranger), whether an admin disabled them,
    and whether their row needs :func:`people.revive_caller`.

    Part of the guard's unit of work (:func:`_admit`): admins in ADMIN_TELEGRAM_IDS are
    created on first contact; a person who had blocked the bot is active again and a
    changed @username is saved (the write is left to the caller, after the reads).
    """
    caller = people.find_caller(s, tg_user.id)
    if caller is None and tg_user.id in svc.settings.admin_ids:
        caller = people.Caller.of(people.ensure_admin(
            s, telegram_id=tg_user.id, name=tg_user.full_name, username=tg_user.username,
            language=locale, timezone=svc.settings.default_timezone, clock=svc.clock))
    if caller is not None and caller.disabled:
        return None, True, False  # switched off by an admin: a stranger, never revived
    if caller is None:
        return None, False, False
    # they came back after blocking the bot, or changed their @username
    revive = not caller.active or bool(tg_user.username
                                       and caller.profile.username != tg_user.username)
    return caller.profile, False, revive


async def _turn_away(update: Update, context: CoachContext) -> None:
    if update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
        return
    text = context.svc.renderer.text("not_registered", context.locale)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
        return
    chat = update.effective_chat
    if chat is not None and chat.type == "private" and update.effective_message is not None:
        await update.effective_message.reply_text(text)


def service_errors(result: Any = None) -> Callable[[Callable[..., Coroutine[Any, Any, Any]]],
                                                   Callable[..., Coroutine[Any, Any, Any]]]:
    """Turn an expected refusal (``ServiceError``) into the ``errors`` reply.

    The one place a service's refusal becomes words: the caller gets the message for
    ``err.code`` (with its params; button handlers answer their query first, as always),
    and the handler returns ``result`` (``ConversationHandler.END`` for a flow step that ends).
    """

    def decorate(func: Callable[..., Coroutine[Any, Any, Any]]
                 ) -> Callable[..., Coroutine[Any, Any, Any]]:
        @functools.wraps(func)
        async def wrapper(update: Update, context: CoachContext, *args: Any) -> Any:
            try:
                return await func(update, context, *args)
            except ServiceError as err:
                await reply(update, context, "errors", code=err.code, **err.params)
                return result

        return wrapper

    return decorate


def requires(*roles: Role) -> Callable[[Handler], Handler]:
    """Let only callers with one of ``roles`` (or an admin) reach the handler."""

    def decorate(func: Handler) -> Handler:
        @functools.wraps(func)
        async def wrapper(update: Update, context: CoachContext) -> Any:
            me = context.me
            if me is None or (me.role not in roles and me.role != Role.ADMIN):
                if update.callback_query is not None:
                    await update.callback_query.answer()
                await reply(update, context, "errors", code="role_forbidden")
                return None
            return await func(update, context)

        return wrapper

    return decorate
