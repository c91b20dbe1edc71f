"""``coach run``: the bot in polling mode against Telegram (or TELEGRAM_BASE_URL)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("run", help="start the bot (long polling, or --webhook)")
    parser.add_argument("--webhook", action="store_true",
                        help="receive updates on WEBHOOK_URL (with WEBHOOK_SECRET) instead "
                             "of long polling; serves /healthz and /metrics too")
    parser.set_defaults(func=run)


def _warn_about_demo(services: Services) -> None:
    """The console's fictional team in the bot's database: say so (its people are not real)."""
    from sqlalchemy import select

    from storage.demo import DEMO_TEAM
    from storage.models import Team

    with services.db.session() as s:
        if s.scalar(select(Team.id).where(Team.name == DEMO_TEAM)) is not None:
            print(f"coach: warning: this database holds the console's fictional team "
                  f"{DEMO_TEAM}; give the real bot its own DATABASE_URL (or delete the file "
                  "you tried the console on)", file=sys.stderr)


async def _settle_heap(_app: object) -> None:
    from bot.runtime import settle_heap

    log.info("start-up objects frozen for the garbage collector: %d", settle_heap())


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.settings import load_settings

    try:
        settings = load_settings()
    except ValidationError as err:
        print(f"coach: invalid settings: {err.errors()[0]['msg']}", file=sys.stderr)
        return 2
    if not settings.telegram_bot_token:
        print("coach: TELEGRAM_BOT_TOKEN is not set; put it in the environment or in .env "
              "(see .env.example), or try the bot without a token: coach console",
              file=sys.stderr)
        return 2
    if args.webhook and not (settings.webhook_url and settings.webhook_secret):
        print("coach: --webhook needs WEBHOOK_URL (the https address Telegram posts to) and "
              "WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -); see .env.example", file=sys.stderr)
        return 2

    import asyncio

    from sqlalchemy.engine import make_url
    from telegram import Update
    from telegram.error import InvalidToken

    from bot.app import build_application
    from bot.runtime import configure_logging, make_services, warn_about_calendar

    # the token and the database password are never printed, whatever logs them
    password = make_url(settings.database_url).password
    secrets = (settings.telegram_bot_token, settings.webhook_secret,
               *([str(password)] if password else []))
    configure_logging(settings.log_level, secrets=tuple(s for s in secrets if s),
                      fmt=settings.log_format)
    warn_about_calendar(settings.holiday_region, settings.default_timezone)
    services = make_services(settings)
    _warn_about_demo(services)
    app = build_application(services)
    services.extras.setdefault("post_init", []).append(_settle_heap)
    try:
        if args.webhook:
            from bot.webserver import run_webhook

            asyncio.run(run_webhook(app, settings))
            return 0
        if settings.metrics_port:
            from bot.webserver import side_server

            start, stop = side_server(app, settings)
            services.extras.setdefault("post_init", []).append(start)
            services.extras.setdefault("post_stop", []).append(stop)
        app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
                        poll_interval=0.0, timeout=10)
    except InvalidToken:
        # PTB's message quotes the token: say what is wrong without it
        print("coach: Telegram rejected TELEGRAM_BOT_TOKEN (401). Check the token with "
              "@BotFather and set it again in the environment or .env.", file=sys.stderr)
        return 2
    return 0
