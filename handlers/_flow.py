"""Pieces every multi-step flow shares: /cancel, the idle timeout, objections mid-flow.

A flow (a ``ConversationHandler``) left half-way must not take over later
messages. Two rules keep it in its place:

* :func:`expire_idle_flows` runs before every handler: when the caller has been
  silent for ``FLOW_TIMEOUT_MINUTES``, their open flows end, their drafts are
  dropped and they are told which flow was closed. The clock is the services'
  clock (not PTB's job-queue timer), so it works after a restart, in tests and
  in the console alike.
* :func:`objection_instead` lets a step that cannot use the text it got hand it
  to the script search: if it confidently reads like a customer's objection,
  the advisor gets the script plus a line saying which flow is still open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from bot import metrics
from bot.context import CoachContext
from bot.guard import reply
from bot.services import run_db
from coach.services.library import ScriptCatalog
from coach.services.mid_flow import objection_search
from scripts_library.search import SearchResult

__all__ = ["FLOW_DRAFTS", "cancel_flow", "expire_idle_flows", "objection_instead", "open_flows"]

# The user_data keys each flow (by ConversationHandler name) keeps its draft in;
# a timed-out flow drops them so nothing half-filled is picked up later. Role-play
# ("practice") is not here: its sessions expire on their own, stored, idle rule.
FLOW_DRAFTS: dict[str, tuple[str, ...]] = {
    "addclient": ("addclient",),
    "log": ("log", "log_mode", "log_typed", "log_seen"),
    "pick_date": ("fu_pick",),
    "briefing": ("briefing",),
    "refer": ("refer",),
    "addscript": ("addscript",),
}
LAST_SEEN = "_last_seen_at"

def _timed_objection_search(catalog: ScriptCatalog, text: str, *,
                            team_id: int | None) -> SearchResult | None:
    started = time.perf_counter()
    try:
        return objection_search(catalog, text, team_id=team_id)
    finally:
        metrics.SEARCH_LATENCY.observe(time.perf_counter() - started)


def cancel_flow(*draft_keys: str) -> Callable[[Update, CoachContext], Coroutine[Any, Any, int]]:
    """A /cancel fallback that drops the flow's draft: nothing half-saved remains."""

    async def cancel(update: Update, context: CoachContext) -> int:
        for key in draft_keys:
            context.user_data.pop(key, None)
        await reply(update, context, "cancelled", had_flow=True)
        return ConversationHandler.END

    cancel.__doc__ = "/cancel: drop the draft, save nothing."
    return cancel


def _conversations(context: CoachContext) -> Iterator[ConversationHandler[Any]]:
    for group in context.application.handlers.values():
        for handler in group:
            if isinstance(handler, ConversationHandler) and handler.name in FLOW_DRAFTS:
                yield handler


def _state_key(handler: ConversationHandler[Any], update: Update) -> Any:
    try:
        # PTB keeps conversation states privately; reading and ending one by key is the
        # only way to close a flow from outside its own handlers
        return handler._get_key(update)
    except RuntimeError:  # inline queries have no chat: no flow to look at
        return None


def open_flows(update: Update, context: CoachContext) -> list[str]:
    """Names of the caller's flows that are waiting for an answer in this chat."""
    names = []
    for handler in _conversations(context):
        key = _state_key(handler, update)
        if key is not None and handler._conversations.get(key) is not None:
            names.append(str(handler.name))
    return names


def _end(handler: ConversationHandler[Any], update: Update, context: CoachContext) -> bool:
    key = _state_key(handler, update)
    if key is None or handler._conversations.get(key) is None:
        return False
    handler._update_state(ConversationHandler.END, key)
    for draft_key in FLOW_DRAFTS.get(str(handler.name), ()):
        context.user_data.pop(draft_key, None)
    return True


def seen_step(timeout: timedelta) -> timedelta:
    """How stale the stored "last seen" time may be (a minute, less for short timeouts).

    It lives in the caller's drafts, which are written after an update only when they
    changed: a new time on every message cost every update a database write (a
    transaction of its own for most updates). It is rewritten once it is this old, and
    a flow is closed only after the timeout plus this step, so never early.
    """
    return min(timedelta(minutes=1), timeout / 15)


async def expire_idle_flows(update: Update, context: CoachContext) -> None:
    """Before any handler: close the caller's flows after FLOW_TIMEOUT_MINUTES of silence
    (up to :func:`seen_step` more)."""
    if context.me is None or update.effective_user is None or context.user_data is None:
        return
    svc = context.svc
    now = svc.clock.now()
    last = context.user_data.get(LAST_SEEN)
    last_at = datetime.fromisoformat(last) if last else None
    timeout = timedelta(minutes=svc.settings.flow_timeout_minutes)
    step = seen_step(timeout)
    if last_at is None or abs(now - last_at) >= step:
        context.user_data[LAST_SEEN] = now.isoformat()
    # the stored time is up to one step older than the caller's last message
    if last_at is None or now - last_at < timeout + step:
        return
    closed = [str(h.name) for h in list(_conversations(context)) if _end(h, update, context)]
    if closed:
        await reply(update, context, "flow_expired", flows=closed,
                    minutes=svc.settings.flow_timeout_minutes)


async def objection_instead(update: Update, context: CoachContext, flow: str) -> bool:
    """Text that does not fit the step: if it reads like an objection, show the script.

    Returns True when it answered (the flow stays where it was); False when the
    step should ask again as usual.
    """
    from handlers import ask  # here, not at import: ask imports nothing of the flows

    message = update.message
    text = (message.text or "").strip() if message is not None else ""
    # the search is CPU work: in a worker thread, like every other search
    searched = await run_db(_timed_objection_search, context.svc.catalog, text,
                            team_id=context.caller.team_id) if text else None
    if searched is None:
        return False
    await ask.answer_query(update, context, text, searched=searched)
    await reply(update, context, "flow_still_open", flow=flow)
    return True
