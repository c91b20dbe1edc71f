"""Objection questions: any plain text (or /ask TEXT) → the best script."""

from __future__ import annotations

import time

from telegram import Update

from bot import callback, flowstate, metrics
from bot.callback import INDEX
from bot.context import CoachContext
from bot.guard import reply
from bot.services import run_db
from coach.services import library
from coach.services.library import AskResult
from handlers import library as library_handlers
from handlers.help import stale_button
from scripts_library.regions import region_of
from scripts_library.schema import CATEGORIES
from scripts_library.search import SearchResult

LAST_QUERY = "ask"


def _shown(found: AskResult) -> bool:
    """A script card is shown (not a bank-service step, not "not sure")."""
    return (found.result.service is None and found.result.confident
            and found.script is not None)


async def answer_query(update: Update, context: CoachContext, query: str,
                       position: int = 0, *, searched: SearchResult | None = None) -> None:
    """Show the best script for ``query`` (or the closest hits when none is sure).

    ``searched``: the index's result for ``query`` already in hand (the mid-flow
    objection check), so the search is not run twice.
    """
    svc, me = context.svc, context.caller
    region = region_of(context.locale)
    drafts = flowstate.drafts_writer(context.application, update)

    def search_and_record() -> AskResult:
        # one unit of work off the event loop: the search, then its event row and, when
        # a script is shown, the caller's "last question" draft in the same transaction
        started = time.perf_counter()
        found = svc.catalog.ask(query, team_id=me.team_id, position=position, region=region,
                                searched=searched)
        if searched is None:
            metrics.SEARCH_LATENCY.observe(time.perf_counter() - started)
        script = found.script
        with svc.db.session() as s:
            library.record_event(s, user_id=me.user_id, clock=svc.clock, query=query,
                                 kind="shown" if found.result.confident and script else "miss",
                                 script_id=script.id if found.result.confident and script
                                 else None)
            if drafts is not None and _shown(found):
                drafts.write(s, **{LAST_QUERY: query})
        return found

    found = await run_db(search_and_record)
    if drafts is not None:
        drafts.committed()
    script = found.script
    service = found.result.service
    if service is not None:
        # a bank-service request: the next step, never an objection script or a cross-sell
        await reply(update, context, "service_answer", query=query, intent=service.key,
                    next_step=service.text("en" if context.locale == "en" else "zh"))
        return
    if not found.result.confident or script is None:
        await reply(update, context, "script_not_found", query=query,
                    hits=[h for h in found.result.hits[:3] if h.score >= 0.25],
                    categories=CATEGORIES)
        return
    context.user_data[LAST_QUERY] = query
    await reply(update, context, "script_card", script=script, position=position,
                has_next=found.has_next, lang="en" if context.locale == "en" else "zh",
                vars=library_handlers.variables_for(context))


async def ask_text(update: Update, context: CoachContext) -> None:
    """Plain text outside any flow: treat it as what the customer said."""
    assert update.message is not None
    await answer_query(update, context, update.message.text or "")


async def ask_command(update: Update, context: CoachContext) -> None:
    """/ask TEXT."""
    query = " ".join(context.args or [])
    if not query:
        await reply(update, context, "usage", command="ask")
        return
    await answer_query(update, context, query)


async def next_match(update: Update, context: CoachContext) -> None:
    """Button ``sc n <position>``: the next script for the last question."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "sc n", INDEX)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    last = context.user_data.get(LAST_QUERY)
    if not last:
        await reply(update, context, "usage", command="ask")
        return
    await answer_query(update, context, last, position=min(parsed[0], 4))
