"""Build the PTB ``Application``: every handler in one ordered list.

``coach run`` (polling Telegram or a local emulator) and ``coach console`` (the
in-process fake Bot API) both call :func:`build_application`; only the request
class differs.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot import flowstate, jobs, logcontext, metrics, ops
from bot.context import CoachContext
from bot.guard import guard
from bot.jobs import Job
from bot.persistence import DatabasePersistence
from bot.runtime import use_db_threads
from bot.scheduler import install_jobs
from bot.services import Services
from bot.updates import ChatOrderedProcessor
from coach.services import practice as practice_service
from handlers import (
    addscript,
    ask,
    briefing,
    clients,
    confidentiality,
    digest,
    edits,
    errors,
    library,
    log,
    onboarding,
    practice,
    referrals,
    reminders,
    service_records,
    settings,
    staff,
    suitability,
    team,
)
from handlers import help as help_
from handlers._flow import expire_idle_flows
from storage.db import off_loop_only

__all__ = ["build_application", "CoachApplication"]

update_log = logging.getLogger("coach.updates")
# Our flows mix text and button steps on purpose; per-chat tracking is what we want.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)


class CoachApplication(Application):  # type: ignore[type-arg]
    """Flow state per update from the database; one log line per update (no client data)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the updates being processed now -> the flow state each may load and save
        self.flow_scopes: dict[int, flowstate.FlowScope] = {}
        # one update per person at a time in this process: drafts are per person, and a
        # group message must not reload them under a private-chat step running meanwhile
        self.user_locks = flowstate.KeyedLocks()

    async def initialize(self) -> None:
        """Also build the script library and its search index, in a worker thread.

        Before the first update (the console and the tests included), so no handler ever
        builds it, reading every team script, on the event loop. A category model that must
        be trained first is trained in the background unless SEARCH_MODEL_BACKGROUND is
        false (:func:`coach.services.library.shared_catalog`).
        """
        await super().initialize()
        services: Services = self.bot_data["services"]
        await asyncio.to_thread(lambda: services.catalog)

    async def process_update(self, update: object) -> None:
        with off_loop_only():  # every session this update opens belongs in a worker thread
            await self._process_update(update)

    async def _process_update(self, update: object) -> None:
        started = time.perf_counter()
        update_token = logcontext.update_id.set(
            update.update_id if isinstance(update, Update) else None)
        handler_token = logcontext.handler.set(None)
        outcome_token = logcontext.outcome.set("ok")
        scope = flowstate.scope_for(self, update)
        if scope is not None:
            self.flow_scopes[id(update)] = scope
        try:
            async with self.user_locks.hold(scope.user_id if scope is not None else None):
                await super().process_update(update)
                if scope is not None:
                    await self._save_flow_state(update, scope)
        finally:
            self.flow_scopes.pop(id(update), None)
            if isinstance(update, Update):
                user = update.effective_user
                name = logcontext.handler.get() or "-"
                seconds = time.perf_counter() - started
                latency_ms = round(seconds * 1000, 1)
                update_log.info("update=%s user=%s handler=%s ms=%.1f", update.update_id,
                                user.id if user else "-", name, latency_ms,
                                extra={"handler": name, "latency_ms": latency_ms})
                metrics.observe_update(name, logcontext.outcome.get(), seconds)
            logcontext.outcome.reset(outcome_token)
            logcontext.handler.reset(handler_token)
            logcontext.update_id.reset(update_token)

    async def _save_flow_state(self, update: object, scope: flowstate.FlowScope) -> None:
        try:
            await flowstate.save_flow_state(self, scope)
        except SQLAlchemyError as err:
            # the reply is out already; the next step starts from the last saved state
            update_log.warning("flow state of update %s not saved: %s",
                               getattr(update, "update_id", "-"), type(err).__name__)


def named(callback: Callable[..., Coroutine[Any, Any, Any]]
          ) -> Callable[..., Coroutine[Any, Any, Any]]:
    """Remember which handler ran, for the per-update log line."""

    async def wrapper(update: Update, context: CoachContext) -> Any:
        # a context variable, not bot_data: concurrent updates each see their own
        logcontext.handler.set(callback.__name__)
        return await callback(update, context)

    wrapper.__name__ = callback.__name__
    wrapper.__doc__ = callback.__doc__
    return wrapper


def handler_list() -> list[tuple[int, BaseHandler[Any, Any, Any]]]:
    """Every handler of the bot, in the order PTB tries them (group, handler)."""
    return [
        # group -3: the guard sees every update first
        (-3, TypeHandler(Update, guard)),
        # group -2: the caller's drafts and flow states as stored (any instance may have
        # handled their previous step); written back right after the update
        (-2, TypeHandler(Update, flowstate.load_flow_state)),
        # group -1: a flow left idle past FLOW_TIMEOUT_MINUTES is closed before it answers
        (-1, TypeHandler(Update, expire_idle_flows)),
        # edited messages change nothing, in every feature (first in group 0 wins)
        (0, MessageHandler(filters.UpdateType.EDITED, named(edits.ignore_edit))),
        # onboarding and personal settings
        (0, CommandHandler("start", named(onboarding.start))),
        (0, CommandHandler("help", named(help_.show_help))),
        (0, CommandHandler("newteam", named(onboarding.new_team))),
        (0, CommandHandler("invite", named(onboarding.invite))),
        (0, CommandHandler("settings", named(settings.show_settings))),
        (0, CallbackQueryHandler(named(settings.settings_button), pattern=r"^st ")),
        # clients
        (0, clients.add_client_conversation()),
        (0, CommandHandler("client", named(clients.find_client))),
        (0, CallbackQueryHandler(named(clients.open_card), pattern=r"^cl \d+$")),
        # logging outcomes, follow-ups and reminders
        (0, log.conversation()),
        (0, reminders.pick_date_conversation()),
        (0, CallbackQueryHandler(named(reminders.reminder_button), pattern=r"^fu [dhtx] \d+$")),
        (0, CommandHandler("followups", named(reminders.list_today))),
        (0, CommandHandler("week", named(reminders.list_week))),
        (0, CommandHandler("leave", named(reminders.leave))),
        (0, CommandHandler("export_ics", named(reminders.export_ics))),
        # team lead: briefing broadcast
        (0, briefing.conversation()),
        (0, CallbackQueryHandler(named(briefing.acknowledge), pattern=r"^bf ack \d+$")),
        (0, CallbackQueryHandler(named(briefing.show), pattern=r"^bf show \d+$")),
        (0, CommandHandler("briefing_status", named(briefing.show_status))),
        (0, CommandHandler("linkgroup", named(briefing.link_group))),
        # referrals from lobby managers and tellers
        (0, referrals.conversation()),
        (0, CallbackQueryHandler(named(referrals.decide),
                                 pattern=r"^rf (ok \d+|no \d+( [a-z_]+)?)$")),
        (0, CallbackQueryHandler(named(referrals.redirect),
                                 pattern=r"^rf (re \d+|to \d+ (\d+|rot))$")),
        (0, CommandHandler("myreferrals", named(referrals.mine))),
        # team lead: numbers, reports, overdue follow-ups
        (0, CommandHandler("team", named(team.team))),
        (0, CommandHandler("report", named(team.report))),
        (0, CommandHandler("overdue", named(team.overdue))),
        (0, CallbackQueryHandler(named(team.overdue_button), pattern=r"^ov (r|to|tc) ")),
        (0, CommandHandler("remove", named(staff.remove))),
        (0, CallbackQueryHandler(named(staff.remove_button), pattern=r"^rm (ok|no) ")),
        # morning checklist and end-of-day log
        (0, CommandHandler("today", named(digest.today))),
        (0, CallbackQueryHandler(named(digest.page), pattern=r"^dg p \d+$")),
        (0, CallbackQueryHandler(named(digest.line_script), pattern=r"^dg s ")),
        (0, CommandHandler("log_today", named(digest.log_today))),
        (0, CallbackQueryHandler(named(digest.xlsx_button), pattern=r"^dg x$")),
        (0, CommandHandler(["pause_digest", "resume_digest"], named(digest.pause))),
        # role-play practice (its conversation catches the advisor's answers first)
        (0, practice.conversation()),
        (0, CommandHandler("practice", named(practice.list_scenarios))),
        (0, CallbackQueryHandler(named(practice.show_model_answer), pattern=r"^pr m ")),
        (0, CallbackQueryHandler(named(practice.review_open), pattern=r"^pr v \d+$")),
        (0, CommandHandler("stop", named(practice.stop))),
        (0, CommandHandler("progress", named(practice.show_progress))),
        (0, CommandHandler("review", named(practice.review_list))),
        (0, CommandHandler("override", named(practice.override))),
        (0, CommandHandler("assign", named(practice.assign))),
        # script library: browse, feedback, inline mode, team scripts
        (0, addscript.conversation()),
        (0, CommandHandler("library", named(library.browse))),
        (0, CallbackQueryHandler(named(library.browse_button), pattern=r"^lb( |$)")),
        (0, CallbackQueryHandler(named(library.feedback), pattern=r"^sc (up|dn) ")),
        (0, CallbackQueryHandler(named(library.full_steps), pattern=r"^sc f \S+$")),
        (0, CallbackQueryHandler(named(ask.next_match), pattern=r"^sc n \d+$")),
        (0, InlineQueryHandler(named(library.inline_search))),
        (0, CommandHandler("ask", named(ask.ask_command))),
        # products, suitability, service records, confidentiality (issue 8)
        (0, CommandHandler("product", named(suitability.show_product))),
        (0, CallbackQueryHandler(named(suitability.product_button), pattern=r"^pd \d+$")),
        (0, CommandHandler("suit", named(suitability.suit_command))),
        (0, CallbackQueryHandler(named(suitability.suit_button), pattern=r"^su \d+ \d+$")),
        (0, CommandHandler("qualify", named(suitability.qualify))),
        (0, CommandHandler("complaint", named(service_records.complaint))),
        (0, CommandHandler("complaints", named(service_records.list_complaints))),
        (0, CommandHandler("resolve", named(service_records.resolve))),
        (0, CommandHandler("question", named(service_records.question))),
        (0, CommandHandler("questions", named(service_records.list_questions))),
        (0, CommandHandler("answer", named(service_records.answer))),
        (0, CommandHandler("need", named(service_records.need))),
        (0, CommandHandler("needs", named(service_records.list_needs))),
        (0, CommandHandler("audit", named(confidentiality.audit))),
        (0, CommandHandler("forget", named(confidentiality.forget))),
        (0, CallbackQueryHandler(named(confidentiality.forget_button),
                                 pattern=r"^fg (ok|no) \d+$")),
        # nothing matched: /cancel outside a flow
        (0, CommandHandler("cancel", named(help_.cancel))),
        # a /command nobody handles: the nearest one by spelling
        (0, MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE,
                           named(help_.unknown_command))),
        # any other private text is what a customer said: find the script
        (0, MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE,
                           named(ask.ask_text))),
        # keep last: a button nobody handles (stale or crafted) is answered, nothing changes
        (0, CallbackQueryHandler(named(help_.stale_button))),
    ]


def job_list() -> list[Job]:
    """Every scheduled job (``bot/jobs/``), in the order each tick runs them."""
    return [
        jobs.caches.refresh_shared_caches,       # team scripts, client names: what changed
        jobs.reminders.send_due_reminders,       # follow-ups due now: one reminder each
        jobs.reminders.escalate_overdue,         # overdue past ESCALATE_LEAD_DAYS: the lead
        jobs.reminders.hand_back_after_leave,    # leave over: follow-ups back to the advisor
        jobs.digest.morning_checklists,          # DIGEST_TIME in each person's time zone
        jobs.digest.evening_work_logs,           # WRAPUP_TIME: own log, then the team's
        jobs.questions.send_question_reminders,  # clients' questions waiting too long
        jobs.practice.practice_housekeeping,     # idle drills expire, assignment reminders
        jobs.briefings.briefings_tick,           # briefings start; deliveries and nudges
        jobs.housekeeping.prune_expired_rows,  # update ids, script events, audit: retention
        jobs.outbox.deliver_outbox,              # last: sends what the jobs above queued
    ]


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    services: Services = app.bot_data["services"]
    ops.mark_started(app)
    use_db_threads(services.settings)  # enough threads for run_db before the first update
    for hook in services.extras.get("post_init", []):
        await hook(app)
    install_jobs(app, job_list(), every=services.settings.tick_seconds)


async def _post_stop(app: Application) -> None:  # type: ignore[type-arg]
    services: Services = app.bot_data["services"]
    for hook in services.extras.get("post_stop", []):
        await hook(app)


async def _post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    services: Services = app.bot_data["services"]
    for hook in services.extras.get("post_shutdown", []):
        await hook(app)


def build_application(services: Services, *, request: BaseRequest | None = None,
                      updates_request: BaseRequest | None = None,
                      rate_limit: bool = True, jobs: bool = True) -> Application:  # type: ignore[type-arg]
    """Assemble the bot around ``services``; ``request`` swaps the transport."""
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .application_class(CoachApplication)
        .token(settings.telegram_bot_token or "0:console")
        .base_url(settings.telegram_base_url)
        .context_types(ContextTypes(context=CoachContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .persistence(DatabasePersistence(services.db, services.clock))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        # different chats at once, one chat's updates in order (bot/updates.py)
        .concurrent_updates(ChatOrderedProcessor(settings.concurrent_updates, services.db))
    )
    if settings.telegram_base_file_url:
        builder = builder.base_file_url(settings.telegram_base_file_url)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(  # type: ignore[arg-type]
            overall_max_rate=settings.telegram_max_rate, max_retries=5))
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    if not jobs:
        builder = builder.job_queue(None)  # type: ignore[arg-type]
    app = builder.build()
    app.bot_data["services"] = services
    services.renderer.add_global("scenario_title", practice_service.scenario_title)
    for group, handler in handler_list():
        app.add_handler(handler, group=group)
    app.add_error_handler(errors.on_error)
    return app
