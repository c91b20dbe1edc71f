"""/library browsing, 👍/👎 feedback on a script, and inline mode (@bot 手续费)."""

from __future__ import annotations

import time
from uuid import uuid4

from sqlalchemy.orm import Session
from telegram import InlineQueryResultArticle, InputTextMessageContent, Update

from bot import callback, metrics
from bot.callback import ID, INDEX, TOKEN, one_of
from bot.context import CoachContext
from bot.guard import reply
from bot.i18n import to_traditional
from bot.services import in_session, run_db
from coach.addressing import script_variables
from coach.services import clients, library
from coach.services.errors import ServiceError
from coach.services.library import AskResult
from coach.textsplit import shorten
from handlers.help import pressed_before, stale_button
from scripts_library.regions import region_of
from scripts_library.schema import CATEGORIES, Script
from scripts_library.search import browsable

PAGE = 8



async def browse(update: Update, context: CoachContext) -> None:
    """/library: the category menu."""
    await reply(update, context, "library_menu", categories=CATEGORIES)


async def browse_button(update: Update, context: CoachContext) -> None:
    """Buttons ``lb`` (menu), ``lb c <cat#> [page]`` (a category), ``lb s <id>`` (a script)."""
    query = update.callback_query
    assert query is not None
    category = callback.parse(query.data, "lb c", INDEX, INDEX, optional=1)
    script_id = callback.parse(query.data, "lb s", TOKEN, ID, optional=1)  # [client]
    await query.answer()  # anything else (crafted, stale) shows the category menu
    catalog, me = context.svc.catalog, context.caller
    if category is not None and category[0] < len(CATEGORIES):
        index, page = category[0], category[1] or 0
        scripts = catalog.by_category(CATEGORIES[index], team_id=me.team_id,
                                      region=region_of(context.locale))
        await reply(update, context, "library_category", category=CATEGORIES[index],
                    index=index, scripts=scripts[page * PAGE:(page + 1) * PAGE], page=page,
                    has_more=len(scripts) > (page + 1) * PAGE)
        return
    if script_id is not None:
        script = catalog.get(script_id[0], team_id=me.team_id)
        if script is not None:
            # chosen from the list: the advisor came to read it, so all five steps at once
            await show_script(update, context, script, client_id=script_id[1], full=True)
            return
    await reply(update, context, "library_menu", categories=CATEGORIES)


def variables_for(context: CoachContext, client: tuple[str, str | None] | None = None,
                  ) -> dict[str, str]:
    """Script variables: this client's form of address (or a placeholder), my name."""
    lang = "en" if context.locale == "en" else "zh"
    name, salutation = client if client else (None, None)
    return script_variables(lang, advisor=context.caller.name, client_name=name,
                            salutation=salutation)


async def show_script(update: Update, context: CoachContext, script: Script, *,
                      client_id: int | None = None, full: bool = False) -> None:
    """A script card, spoken to ``client_id``'s client when given (visibility checked)."""
    svc, me = context.svc, context.caller

    def address_and_record(s: Session) -> tuple[str, str | None] | None:
        client = None
        if client_id is not None:
            try:
                client = clients.address_of(s, me, client_id)
            except ServiceError:
                client = None  # not theirs (or crafted): the placeholder version
        library.record_event(s, user_id=me.user_id, kind="shown", script_id=script.id,
                             clock=svc.clock)
        return client

    client = await in_session(svc, address_and_record)
    await reply(update, context, "script_card", script=script, position=0, has_next=False,
                lang="en" if context.locale == "en" else "zh",
                vars=variables_for(context, client), full=full)


async def full_steps(update: Update, context: CoachContext) -> None:
    """Button ``sc f <id>``: the five steps behind a one-breath short answer."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "sc f", TOKEN)
    if parsed is None:
        await stale_button(update, context)
        return
    me = context.caller
    script = context.svc.catalog.get(parsed[0], team_id=me.team_id)
    if script is None:
        await query.answer(context.svc.renderer.text("stale_button", context.locale, me=me))
        return
    await query.answer()
    await reply(update, context, "script_card", script=script, position=0, has_next=False,
                lang="en" if context.locale == "en" else "zh", full=True,
                vars=variables_for(context))


async def feedback(update: Update, context: CoachContext) -> None:
    """Buttons ``sc up <id>`` / ``sc dn <id>``: store the vote, say thanks."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "sc", one_of("up", "dn"), TOKEN)
    if parsed is None:
        await stale_button(update, context)
        return
    if await pressed_before(update, context):
        return  # one vote per card
    vote, script_id = parsed
    me = context.caller
    if context.svc.catalog.get(script_id, team_id=me.team_id) is None:
        # a vote for a script that is gone: a toast says so instead of silence
        await query.answer(context.svc.renderer.text("stale_button", context.locale, me=me))
        return
    svc = context.svc
    await in_session(svc, library.record_event, user_id=me.user_id,
                     kind="up" if vote == "up" else "down", script_id=script_id, clock=svc.clock)
    await query.answer(context.svc.renderer.text("feedback_thanks", context.locale, me=me,
                                                 vote=vote))


async def inline_search(update: Update, context: CoachContext) -> None:
    """Inline mode: matching scripts; choosing one inserts only the script text."""
    inline = update.inline_query
    assert inline is not None
    me = context.caller
    region = region_of(context.locale)
    catalog = context.svc.catalog

    def search() -> AskResult:
        started = time.perf_counter()
        found = catalog.ask(inline.query, team_id=me.team_id, limit=5, region=region)
        metrics.SEARCH_LATENCY.observe(time.perf_counter() - started)
        return found

    found = await run_db(search)  # CPU work too: off the event loop all the same
    lang = "en" if context.locale == "en" else "zh"
    results: list[InlineQueryResultArticle] = []
    service = found.result.service
    if service is not None:
        # a service request gets its next step, never a sales script (same rule as chat)
        rendered = context.svc.renderer.render("service_answer", context.locale, me=me,
                                               query=inline.query, intent=service.key,
                                               next_step=service.text(lang), inline=True)
        results.append(InlineQueryResultArticle(
            id=uuid4().hex[:16], title=context.svc.renderer.text(
                "service_answer", context.locale, me=me, query="", intent=service.key,
                next_step="", title_only=True),
            description=to_traditional(service.text(lang)[:80], context.locale),
            input_message_content=InputTextMessageContent(rendered.text)))
        await inline.answer(results, cache_time=0, is_personal=True)
        return
    # small talk and chatter list nothing; see scripts_library.search.browsable
    for hit in browsable(found.result):
        # inserted into a chat with the customer: plain text, placeholders to fill in
        rendered = context.svc.renderer.render("script_card", context.locale, me=me,
                                               script=hit.script, position=0, has_next=False,
                                               lang=lang, inline=True,
                                               vars=variables_for(context))
        shown = hit.script.render(lang, variables_for(context), region=region)
        title = to_traditional(shown.title, context.locale)
        results.append(InlineQueryResultArticle(
            id=uuid4().hex[:16], title=title,
            description=to_traditional(shown.texts()[1][:80], context.locale),
            # one message only: a long script is cut at a natural boundary to fit
            input_message_content=InputTextMessageContent(shorten(rendered.text))))
    await inline.answer(results, cache_time=0, is_personal=True)
